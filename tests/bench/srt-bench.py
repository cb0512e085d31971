#!/usr/bin/env python3
"""SRT ingest benchmark: the daemon's CPU per SRT publisher, next to RTMP.

One 720p30 3 Mbit/s H.264/AAC clip is encoded once (MPEG-TS and FLV); for
each N, N publishers push it with `ffmpeg -re -stream_loop -1 -c copy` at
once, over SRT (Mux's URL: streamid = stream key, passphrase =
srt_passphrase) and then over RTMP, each to its own live stream that
records.  The daemon's CPU comes from /proc/PID/stat (utime+stime) over
the middle of the run; a run counts when every stream went active over
the protocol asked for.

Usage: tests/bench/srt-bench.py [--daemon build/src/spacecast]
       [--seconds 20] [--counts 1,4]
Not part of meson test.
"""
import argparse
import base64
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

TOKEN_ID = "bench-token-id"
TOKEN_SECRET = "bench-token-secret-0123456789"
CLK_TCK = os.sysconf("SC_CLK_TCK")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Daemon:
    def __init__(self, binary, data_dir, max_srt):
        self.http, self.rtmp, self.srt = free_port(), free_port(), free_port()
        env = dict(os.environ, SPACECAST_TOKEN_ID=TOKEN_ID, SPACECAST_TOKEN_SECRET=TOKEN_SECRET)
        env.pop("G_DEBUG", None)
        os.makedirs(data_dir, exist_ok=True)
        self.log = open(os.path.join(os.path.dirname(data_dir), "daemon.log"), "w")
        self.proc = subprocess.Popen(
            [binary, "serve", f"--http=127.0.0.1:{self.http}", f"--rtmp=127.0.0.1:{self.rtmp}",
             f"--srt=127.0.0.1:{self.srt}", f"--srt-max-connections={max_srt}",
             f"--data-dir={data_dir}", "--log-level=warning"],
            env=env, stdout=self.log, stderr=subprocess.STDOUT)
        auth = base64.b64encode(f"{TOKEN_ID}:{TOKEN_SECRET}".encode()).decode()
        self.headers = {"Authorization": "Basic " + auth, "Content-Type": "application/json"}
        for _ in range(200):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{self.http}/healthz", timeout=2)
                return
            except OSError:
                time.sleep(0.05)
        sys.exit("daemon did not start")

    def api(self, method, path, body=None):
        req = urllib.request.Request(f"http://127.0.0.1:{self.http}{path}", method=method,
                                     headers=self.headers,
                                     data=json.dumps(body).encode() if body is not None else None)
        with urllib.request.urlopen(req, timeout=30) as r:
            return json.loads(r.read() or b"{}").get("data")

    def cpu(self):
        with open(f"/proc/{self.proc.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLK_TCK

    def stop(self):
        self.proc.terminate()
        self.proc.wait(60)


def encode(dirname, seconds=10):
    base = ["ffmpeg", "-hide_banner", "-loglevel", "error", "-y",
            "-f", "lavfi", "-i", "testsrc2=size=1280x720:rate=30",
            "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000", "-t", str(seconds),
            "-c:v", "libx264", "-preset", "veryfast", "-b:v", "3M", "-maxrate", "3M",
            "-bufsize", "6M", "-g", "60", "-pix_fmt", "yuv420p", "-c:a", "aac"]
    ts, flv = os.path.join(dirname, "clip.ts"), os.path.join(dirname, "clip.flv")
    subprocess.run(base + ["-f", "mpegts", ts], check=True)
    subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", "-i", ts, "-c", "copy",
                    "-f", "flv", flv], check=True)
    return ts, flv


def run(d, clip, proto, n, seconds):
    streams = [d.api("POST", "/video/v1/live-streams",
                     {"playback_policies": ["public"], "reconnect_window": 0}) for _ in range(n)]
    pubs = []
    for s in streams:
        if proto == "srt":
            url = (f"srt://127.0.0.1:{d.srt}?streamid={s['stream_key']}"
                   f"&passphrase={s['srt_passphrase']}")
            fmt = "mpegts"
        else:
            url, fmt = f"rtmp://127.0.0.1:{d.rtmp}/app/{s['stream_key']}", "flv"
        pubs.append(subprocess.Popen(
            ["ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin", "-re", "-stream_loop", "-1",
             "-i", clip, "-c", "copy", "-t", str(seconds), "-f", fmt, url]))
    time.sleep(seconds / 4)
    ok = all(d.api("GET", f"/video/v1/live-streams/{s['id']}").get("active_ingest_protocol") == proto
             for s in streams)
    c0, t0 = d.cpu(), time.monotonic()
    time.sleep(seconds / 2)
    share = (d.cpu() - c0) / (time.monotonic() - t0)
    for p in pubs:
        p.wait(seconds * 2)
    return share, ok


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--daemon", default="build/src/spacecast")
    ap.add_argument("--seconds", type=int, default=20)
    ap.add_argument("--counts", default="1,4")
    args = ap.parse_args()
    counts = [int(c) for c in args.counts.split(",")]
    tmp = tempfile.mkdtemp(prefix="srt-bench-")
    try:
        ts, flv = encode(tmp)
        d = Daemon(os.path.abspath(args.daemon), os.path.join(tmp, "data"), max(counts))
        try:
            idle = d.cpu()
            time.sleep(2)
            print(f"idle: {100 * (d.cpu() - idle) / 2:.1f} % of a core")
            for n in counts:
                for proto, clip in (("srt", ts), ("rtmp", flv)):
                    share, ok = run(d, clip, proto, n, args.seconds)
                    print(f"{proto:4} x{n:2}: daemon {100 * share:5.1f} % of a core, "
                          f"{100 * share / n:4.1f} % per stream"
                          f"{'' if ok else '  (NOT all active over ' + proto + ')'}", flush=True)
        finally:
            d.stop()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
