#!/usr/bin/env python3
"""Ingest benchmark: N concurrent 720p30 3 Mbit/s RTMP publishers recorded
at once by the real daemon.

One 720p30 3 Mbit/s H.264/AAC FLV is encoded once; each publisher pushes it
with `ffmpeg -re -stream_loop -1 -c copy -t SECONDS`, so publishers cost
little.  For each N the daemon's CPU comes from /proc/PID/stat (utime+stime
deltas) while the publishers run, and again while the assets are finalised;
recording keeps up when every asset's duration is within 1 s of what was
sent and no publisher was held back by the daemon reading too slowly (each
publisher's run time within 15 % of SECONDS: starting N ffmpeg processes at
once on a small machine alone takes a few seconds).

Usage: tests/bench/ingest-bench.py [--daemon build/src/spacecast]
       [--seconds 30] [--counts 1,5,10,20] [--more 10]
Not part of meson test.
"""
import argparse
import base64
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

TOKEN_ID = "bench-token-id"
TOKEN_SECRET = "bench-token-secret-0123456789"
CLK_TCK = os.sysconf("SC_CLK_TCK")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Daemon:
    def __init__(self, binary, data_dir, extra=()):
        self.http = free_port()
        self.rtmp = free_port()
        env = dict(os.environ, SPACECAST_TOKEN_ID=TOKEN_ID, SPACECAST_TOKEN_SECRET=TOKEN_SECRET)
        env.pop("G_DEBUG", None)
        os.makedirs(data_dir, exist_ok=True)
        self.log = open(os.path.join(os.path.dirname(data_dir), "daemon.log"), "w")
        self.proc = subprocess.Popen(
            [binary, "serve", f"--http=127.0.0.1:{self.http}", f"--rtmp=127.0.0.1:{self.rtmp}",
             f"--data-dir={data_dir}", "--log-level=warning", *extra],
            env=env, stdout=self.log, stderr=subprocess.STDOUT)
        auth = base64.b64encode(f"{TOKEN_ID}:{TOKEN_SECRET}".encode()).decode()
        self.headers = {"Authorization": "Basic " + auth, "Content-Type": "application/json"}
        for _ in range(200):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{self.http}/healthz", timeout=2)
                return
            except (urllib.error.URLError, ConnectionError):
                time.sleep(0.05)
        raise SystemExit("daemon did not start")

    def api(self, method, path, body=None):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(f"http://127.0.0.1:{self.http}{path}", data=data,
                                     method=method, headers=self.headers)
        with urllib.request.urlopen(req, timeout=60) as r:
            text = r.read()
            return json.loads(text)["data"] if text else None

    def cpu_seconds(self):
        with open(f"/proc/{self.proc.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        # utime and stime are fields 14 and 15; fields[0] here is field 3.
        return (int(fields[11]) + int(fields[12])) / CLK_TCK

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=60)
        self.log.close()


def machine_busy():
    """(busy, total) jiffies of all cores, from /proc/stat."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    idle = v[3] + v[4]
    return sum(v) - idle, sum(v)


def encode_source(path, seconds):
    subprocess.run(
        ["ffmpeg", "-hide_banner", "-loglevel", "error", "-y",
         "-f", "lavfi", "-i", "testsrc2=size=1280x720:rate=30",
         "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000", "-t", str(seconds),
         "-c:v", "libx264", "-preset", "veryfast", "-b:v", "3M", "-maxrate", "3M",
         "-bufsize", "6M", "-g", "60", "-keyint_min", "60", "-pix_fmt", "yuv420p",
         "-c:a", "aac", "-b:a", "128k", "-f", "flv", path], check=True)


def run_round(d, source, n, seconds):
    streams = [d.api("POST", "/video/v1/live-streams",
                     {"playback_policies": ["public"],
                      "new_asset_settings": {"playback_policies": ["public"]},
                      "reconnect_window": 1}) for _ in range(n)]
    cpu0, t0, m0 = d.cpu_seconds(), time.monotonic(), machine_busy()
    pubs, spawned = [], {}
    for s in streams:
        p = subprocess.Popen(
            ["ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin", "-re", "-stream_loop", "-1",
             "-i", source, "-c", "copy", "-t", str(seconds), "-f", "flv",
             f"rtmp://127.0.0.1:{d.rtmp}/app/{s['stream_key']}"])
        pubs.append(p)
        spawned[p.pid] = time.monotonic()
    # Each publisher's own run time: spawning N ffmpeg processes on a small
    # machine staggers their starts, which is not the daemon's doing.
    ended = {}
    while len(ended) < len(pubs):
        for p in pubs:
            if p.pid not in ended and p.poll() is not None:
                ended[p.pid] = time.monotonic()
        if time.monotonic() - t0 > seconds * 4 + 60:
            raise SystemExit("publishers did not finish")
        time.sleep(0.05)
    rcs = [p.returncode for p in pubs]
    wall = time.monotonic() - t0
    pub_wall = max(ended[p.pid] - spawned[p.pid] for p in pubs)
    cpu_rec = d.cpu_seconds() - cpu0
    m1 = machine_busy()
    machine = 100.0 * (m1[0] - m0[0]) / max(1, m1[1] - m0[1])

    # Finalisation: the reconnect window (1 s) expires, then the remux.
    cpu1, t1 = d.cpu_seconds(), time.monotonic()
    assets = []
    for s in streams:
        while True:
            ls = d.api("GET", f"/video/v1/live-streams/{s['id']}")
            recent = ls.get("recent_asset_ids", [])
            if ls["status"] == "idle" and recent:
                a = d.api("GET", f"/video/v1/assets/{recent[-1]}")
                if a["status"] != "preparing":
                    assets.append(a)
                    break
            if time.monotonic() - t1 > 600:
                raise SystemExit("assets not finalised in 10 minutes")
            time.sleep(0.2)
    fin_wall = time.monotonic() - t1
    cpu_fin = d.cpu_seconds() - cpu1

    durations = [a.get("duration", 0.0) if a["status"] == "ready" else 0.0 for a in assets]
    for s, a in zip(streams, assets):
        d.api("DELETE", f"/video/v1/assets/{a['id']}")
        d.api("DELETE", f"/video/v1/live-streams/{s['id']}")
    holds = (all(rc == 0 for rc in rcs) and min(durations) >= seconds - 1.0
             and max(durations) <= seconds + 1.0 and pub_wall <= seconds * 1.15)
    return {
        "n": n, "wall": pub_wall, "cpu_pct": 100.0 * cpu_rec / wall,
        "cpu_per_stream": 100.0 * cpu_rec / wall / n,
        "dur_min": min(durations), "dur_mean": sum(durations) / n,
        "failed": sum(1 for rc in rcs if rc != 0), "fin_wall": fin_wall, "fin_cpu": cpu_fin,
        "holds": holds, "machine": machine,
    }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--daemon", default=os.environ.get("SC_DAEMON", "build/src/spacecast"))
    ap.add_argument("--seconds", type=int, default=30)
    ap.add_argument("--counts", default="1,5,10,20")
    ap.add_argument("--more", type=int, default=10, help="step beyond the counts while it holds")
    ap.add_argument("--max", type=int, default=60)
    args = ap.parse_args()
    if not shutil.which("ffmpeg"):
        raise SystemExit("ffmpeg is needed")

    tmp = tempfile.mkdtemp(prefix="spacecast-bench-")
    try:
        source = os.path.join(tmp, "source-720p30-3M.flv")
        encode_source(source, 20)
        d = Daemon(os.path.abspath(args.daemon), os.path.join(tmp, "data"))
        print(f"# {os.cpu_count()} cores; {args.seconds} s per round; 720p30 H.264 3 Mbit/s + AAC 128k")
        print(f"# CPU in % of one core, from /proc/{d.proc.pid}/stat while the publishers ran;")
        print("# machine %: all cores busy (daemon + publishers), from /proc/stat")
        print(f"{'N':>4} {'pub s':>7} {'CPU %':>7} {'CPU %/stream':>13} {'dur min':>8} "
              f"{'dur mean':>9} {'failed':>6} {'finalise s':>11} {'fin CPU s':>10} {'machine %':>9} holds")
        counts = [int(c) for c in args.counts.split(",")]
        n_idx = 0
        while True:
            if n_idx < len(counts):
                n = counts[n_idx]
            else:
                n = counts[-1] + args.more * (n_idx - len(counts) + 1)
                if n > args.max:
                    break
            r = run_round(d, source, n, args.seconds)
            print(f"{r['n']:>4} {r['wall']:>7.1f} {r['cpu_pct']:>7.1f} {r['cpu_per_stream']:>13.2f} "
                  f"{r['dur_min']:>8.2f} {r['dur_mean']:>9.2f} {r['failed']:>6} {r['fin_wall']:>11.1f} "
                  f"{r['fin_cpu']:>10.1f} {r['machine']:>9.0f} {'yes' if r['holds'] else 'NO'}", flush=True)
            if not r["holds"] and n_idx >= len(counts) - 1:
                break
            n_idx += 1
        d.stop()
    finally:
        if not os.environ.get("SC_KEEP_DATA"):
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
