#!/usr/bin/env python3
"""Simulcast benchmark: the daemon's CPU per simulcast target.

One 720p30 3 Mbit/s H.264/AAC FLV is encoded once and published with
`ffmpeg -re -stream_loop -1 -c copy` into a live stream with N simulcast
targets, all on one local nginx-rtmp (Debian's libnginx-mod-rtmp, `live
on`, started here with its own config).  For each N the daemon's CPU comes
from /proc/PID/stat while the publisher runs (the same ingest and recording
every round); the cost of a target is (CPU(N) - CPU(0)) / N.  A round holds
when every target was broadcasting in the middle of it, the asset's
duration is within 1 s of what was sent, and nginx got every target's
stream (its /stat page: one publisher per key, bytes in ≈ the source rate).
With --srt the targets are srt:// ones instead (re-muxed to MPEG-TS), each
on its own srt-live-transmit listener (srt-tools) that counts what it
receives (a round holds when each got ≈ the source rate).

Usage: tests/bench/simulcast-bench.py [--daemon build/src/spacecast]
       [--seconds 30] [--counts 0,1,2,4,6] [--srt]
Not part of meson test.
"""
import argparse
import importlib.util
import os
import re
import shutil
import subprocess
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
_spec = importlib.util.spec_from_file_location("ingest_bench", os.path.join(HERE, "ingest-bench.py"))
ib = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(ib)

NGINX_MODULE = "/usr/lib/nginx/modules/ngx_rtmp_module.so"


class Nginx:
    def __init__(self, root):
        self.dir = os.path.join(root, "nginx")
        os.makedirs(os.path.join(self.dir, "tmp"))
        self.rtmp, self.http = ib.free_port(), ib.free_port()
        t = os.path.join(self.dir, "tmp")
        with open(os.path.join(self.dir, "nginx.conf"), "w") as f:
            f.write(f"""load_module {NGINX_MODULE};
daemon off; master_process off; worker_processes 1;
pid {self.dir}/nginx.pid; error_log {self.dir}/error.log warn;
events {{ worker_connections 256; }}
rtmp {{ server {{ listen 127.0.0.1:{self.rtmp}; application live {{ live on; }} }} }}
http {{ access_log off; client_body_temp_path {t}; proxy_temp_path {t}; fastcgi_temp_path {t};
  uwsgi_temp_path {t}; scgi_temp_path {t};
  server {{ listen 127.0.0.1:{self.http}; location /stat {{ rtmp_stat all; }} }} }}
""")
        self.proc = subprocess.Popen(["nginx", "-p", self.dir, "-c", "nginx.conf"])
        time.sleep(0.5)

    def stat(self):
        with urllib.request.urlopen(f"http://127.0.0.1:{self.http}/stat", timeout=5) as r:
            return r.read().decode()

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=10)


class SrtListeners:
    """One srt-live-transmit listener per target, counting the bytes it gets."""

    def __init__(self, root, n):
        self.dir = root
        self.procs, self.ports = [], []
        for i in range(n):
            port = ib.free_port()
            out = open(os.path.join(root, f"srt-{port}.ts"), "wb")
            self.procs.append(subprocess.Popen(
                ["srt-live-transmit", "-q", f"srt://127.0.0.1:{port}?mode=listener", "file://con"],
                stdout=out, stderr=subprocess.DEVNULL))
            self.ports.append(port)
        time.sleep(0.3)

    def received(self):
        return [os.path.getsize(os.path.join(self.dir, f"srt-{p}.ts")) for p in self.ports]

    def stop(self):
        for p in self.procs:
            p.kill()
            p.wait()
        for port in self.ports:
            os.unlink(os.path.join(self.dir, f"srt-{port}.ts"))


def target_statuses(d, stream_id):
    return [t["status"] for t in d.api("GET", f"/video/v1/live-streams/{stream_id}")["simulcast_targets"]]


def run_round(d, ngx, source, n, seconds, tmp=None):
    keys = [f"bench-{n}-{i}-{time.monotonic_ns()}" for i in range(n)]
    srt = SrtListeners(tmp, n) if ngx is None else None
    if srt:
        targets = [{"url": f"srt://127.0.0.1:{port}?streamid={k}"} for k, port in zip(keys, srt.ports)]
    else:
        targets = [{"url": f"rtmp://127.0.0.1:{ngx.rtmp}/live", "stream_key": k} for k in keys]
    s = d.api("POST", "/video/v1/live-streams", {
        "playback_policies": ["public"], "new_asset_settings": {"playback_policies": ["public"]},
        "reconnect_window": 0, "simulcast_targets": targets})
    p = subprocess.Popen(
        ["ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin", "-re", "-stream_loop", "-1",
         "-i", source, "-c", "copy", "-t", str(seconds), "-f", "flv",
         f"rtmp://127.0.0.1:{d.rtmp}/app/{s['stream_key']}"])
    # Measure from once every target is up to the end of the publish.
    t_start = time.monotonic()
    while n and time.monotonic() - t_start < 15:
        if all(st == "broadcasting" for st in target_statuses(d, s["id"])):
            break
        time.sleep(0.2)
    cpu0, t0 = d.cpu_seconds(), time.monotonic()
    time.sleep(seconds / 2 - (t0 - t_start))
    mid = target_statuses(d, s["id"])
    if srt:
        before = srt.received()
        time.sleep(2)
        rates = [(b - a) * 8 / 2 for a, b in zip(before, srt.received())]
        # 3 Mbit/s of video and 128 kbit/s of audio, TS overhead on top.
        got = sum(1 for r in rates if 2.5e6 < r < 4.5e6)
    else:
        stat = ngx.stat()
        got = sum(1 for k in keys if re.search(rf"<name>{re.escape(k)}</name>", stat))
    rc = p.wait(timeout=seconds * 4 + 60)
    wall = time.monotonic() - t0
    cpu = d.cpu_seconds() - cpu0
    if srt:
        srt.stop()
    while True:
        ls = d.api("GET", f"/video/v1/live-streams/{s['id']}")
        if ls["status"] == "idle" and ls["recent_asset_ids"]:
            a = d.api("GET", f"/video/v1/assets/{ls['recent_asset_ids'][-1]}")
            if a["status"] != "preparing":
                break
        time.sleep(0.2)
    dur = a.get("duration", 0.0)
    d.api("DELETE", f"/video/v1/assets/{a['id']}")
    d.api("DELETE", f"/video/v1/live-streams/{s['id']}")
    holds = (rc == 0 and all(st == "broadcasting" for st in mid) and got == n
             and abs(dur - seconds) <= 1.0)
    return {"n": n, "cpu_pct": 100.0 * cpu / wall, "dur": dur, "got": got, "holds": holds}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--daemon", default=os.environ.get("SC_DAEMON", "build/src/spacecast"))
    ap.add_argument("--seconds", type=int, default=30)
    ap.add_argument("--counts", default="0,1,2,4,6")
    ap.add_argument("--srt", action="store_true", help="srt:// targets on srt-live-transmit listeners")
    args = ap.parse_args()
    if not shutil.which("ffmpeg") or (not args.srt and (not shutil.which("nginx") or
                                                       not os.path.exists(NGINX_MODULE))):
        raise SystemExit("ffmpeg, nginx and libnginx-mod-rtmp are needed")
    if args.srt and not shutil.which("srt-live-transmit"):
        raise SystemExit("srt-live-transmit (srt-tools) is needed for --srt")
    tmp = tempfile.mkdtemp(prefix="spacecast-simulcast-bench-")
    ngx = d = None
    try:
        source = os.path.join(tmp, "source-720p30-3M.flv")
        ib.encode_source(source, 20)
        ngx = None if args.srt else Nginx(tmp)
        d = ib.Daemon(os.path.abspath(args.daemon), os.path.join(tmp, "data"))
        where = ("srt:// targets, one srt-live-transmit listener each" if args.srt
                 else "targets on one local nginx-rtmp")
        print(f"# {os.cpu_count()} cores; {args.seconds} s per round; 720p30 H.264 3 Mbit/s + AAC 128k,"
              f" {where}")
        print(f"# daemon CPU in % of one core, from /proc/{d.proc.pid}/stat while the publisher ran")
        print(f"{'targets':>7} {'CPU %':>7} {'+CPU %/target':>14} {'asset s':>8} {'got':>9} holds")
        base = None
        for n in [int(c) for c in args.counts.split(",")]:
            r = run_round(d, ngx, source, n, args.seconds, tmp)
            if n == 0:
                base = r["cpu_pct"]
            per = (r["cpu_pct"] - base) / n if n and base is not None else float("nan")
            print(f"{n:>7} {r['cpu_pct']:>7.2f} {per:>14.2f} {r['dur']:>8.2f} {r['got']:>9} "
                  f"{'yes' if r['holds'] else 'NO'}", flush=True)
    finally:
        if d:
            d.stop()
        if ngx:
            ngx.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
