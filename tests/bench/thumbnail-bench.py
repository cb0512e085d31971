#!/usr/bin/env python3
"""Thumbnail benchmark: what thumbnails cost, and what they do to the rest
of the daemon, on a 1080p30 recording.

A 1920x1080 H.264/AAC FLV is encoded once and published (-c copy) into a
public live stream; once its asset is ready:
  1. sequential: --count thumbnails at the source width, each at another
     time (no cache hit), one after the other: latency per request;
  2. load: --clients threads fetch thumbnails back to back, each at a time
     never asked before, for --load seconds, while /healthz is asked every
     20 ms: /healthz latency (median, p95, max) and thumbnails/s.
Run it against two builds to compare, on the same machine.

Usage: tests/bench/thumbnail-bench.py [--daemon build/src/spacecast]
       [--seconds 20] [--count 10] [--clients 4] [--load 10]
Not part of meson test.
"""
import argparse
import itertools
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
ib = __import__("ingest-bench")


def encode_source(path, seconds):
    subprocess.run(
        ["ffmpeg", "-hide_banner", "-loglevel", "error", "-y",
         "-f", "lavfi", "-i", "testsrc2=size=1920x1080:rate=30",
         "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000", "-t", str(seconds),
         "-c:v", "libx264", "-preset", "veryfast", "-b:v", "6M", "-g", "60", "-keyint_min", "60",
         "-pix_fmt", "yuv420p", "-c:a", "aac", "-f", "flv", path], check=True)


def record(d, source):
    s = d.api("POST", "/video/v1/live-streams",
              {"playback_policies": ["public"],
               "new_asset_settings": {"playback_policies": ["public"]}, "reconnect_window": 1})
    subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin", "-re",
                    "-i", source, "-c", "copy", "-f", "flv",
                    f"rtmp://127.0.0.1:{d.rtmp}/app/{s['stream_key']}"], check=True)
    for _ in range(600):
        ls = d.api("GET", f"/video/v1/live-streams/{s['id']}")
        if ls.get("recent_asset_ids"):
            a = d.api("GET", f"/video/v1/assets/{ls['recent_asset_ids'][-1]}")
            if a["status"] == "ready":
                return a
        time.sleep(0.1)
    raise SystemExit("asset did not become ready")


def fetch(url):
    t0 = time.monotonic()
    try:
        with urllib.request.urlopen(url, timeout=120) as r:
            r.read()
            status = r.status
    except urllib.error.HTTPError as e:
        status = e.code
    return status, time.monotonic() - t0


def pct(values, p):
    v = sorted(values)
    return v[min(len(v) - 1, int(round(p / 100 * (len(v) - 1))))]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--daemon", default="build/src/spacecast")
    ap.add_argument("--seconds", type=float, default=20)
    ap.add_argument("--count", type=int, default=10)
    ap.add_argument("--clients", type=int, default=4)
    ap.add_argument("--load", type=float, default=10)
    args = ap.parse_args()

    work = tempfile.mkdtemp(prefix="spacecast-thumb-bench-")
    source = os.path.join(work, "source.flv")
    encode_source(source, args.seconds)
    d = ib.Daemon(os.path.abspath(args.daemon), os.path.join(work, "data"))
    try:
        asset = record(d, source)
        pid = asset["playback_ids"][0]["id"]
        duration = asset["duration"]
        base = f"http://127.0.0.1:{d.http}"
        # Times never asked before: a fresh decode every time.
        times = (round((k * 0.7919) % duration, 3) for k in itertools.count(1))
        url = lambda: f"{base}/image/{pid}/thumbnail.jpg?time={next(times)}"

        seq = []
        for _ in range(args.count):
            status, dt = fetch(url())
            assert status == 200, status
            seq.append(dt)
        print(f"sequential 1080p thumbnails: median {statistics.median(seq) * 1000:.0f} ms, "
              f"max {max(seq) * 1000:.0f} ms ({args.count} requests)")

        stop = time.monotonic() + args.load
        lock = threading.Lock()
        done, statuses = [], {}

        def client():
            while time.monotonic() < stop:
                with lock:
                    u = url()
                status, dt = fetch(u)
                with lock:
                    done.append(dt)
                    statuses[status] = statuses.get(status, 0) + 1

        threads = [threading.Thread(target=client) for _ in range(args.clients)]
        for t in threads:
            t.start()
        health = []
        while time.monotonic() < stop:
            status, dt = fetch(f"{base}/healthz")
            assert status == 200, status
            health.append(dt)
            time.sleep(0.02)
        for t in threads:
            t.join()
        print(f"{args.clients} thumbnail clients for {args.load:.0f} s: {len(done) / args.load:.1f} "
              f"thumbnails/s, statuses {statuses}, thumbnail median "
              f"{statistics.median(done) * 1000:.0f} ms")
        print(f"/healthz under that load: median {statistics.median(health) * 1000:.1f} ms, "
              f"p95 {pct(health, 95) * 1000:.1f} ms, max {max(health) * 1000:.1f} ms "
              f"({len(health)} requests)")
    finally:
        d.stop()


if __name__ == "__main__":
    main()
