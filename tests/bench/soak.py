#!/usr/bin/env python3
"""soak: one 720p30 gallery broadcast of 4 WHIP participants (VP8 640x360 +
Opus from the publish CLI) for MINUTES, recorded by spacecast's own ingest.
Every minute: the daemon's RSS (VmRSS), open fds (/proc/PID/fd), threads,
and the broadcast's health.  Growth is counted from the end of the warm-up
(WARMUP minutes: pools, caches and the first segments settle) to the end.
Target: RSS growth < 5 MB, no fd or thread growth, 30 fps throughout.

Usage: tests/bench/soak.py [BUILD_DIR] [MINUTES (30)] [WARMUP_MIN (2)]
"""
import os, sys, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
bc = __import__("broadcast-cpu")
TARGET_MB = 5.0


def sample(pid):
    status = dict(line.split(":", 1) for line in open(f"/proc/{pid}/status"))
    rss_kb = int(status["VmRSS"].split()[0])
    return rss_kb / 1024.0, len(os.listdir(f"/proc/{pid}/fd")), int(status["Threads"])


def main():
    build = sys.argv[1] if len(sys.argv) > 1 else "build"
    minutes = int(sys.argv[2]) if len(sys.argv) > 2 else 30
    warmup = int(sys.argv[3]) if len(sys.argv) > 3 else 2
    if minutes <= warmup:
        raise SystemExit("MINUTES must be more than WARMUP_MIN")
    bc.DAEMON = os.path.join(build, "src", "spacecast")
    d = bc.Daemon()
    rows = []
    try:
        space, pubs = bc.setup_space(d, 4)
        ls, b = bc.start_broadcast(d, space)
        path = f"/video/v1/spaces/{space}/broadcasts/{b}"
        t0 = time.monotonic()
        print(f"{'min':>4} {'RSS MB':>8} {'fds':>5} {'threads':>8} {'fps':>6} "
              f"{'frames_out':>11} {'dropped':>8} {'reconnects':>10}", flush=True)
        for m in range(minutes + 1):
            time.sleep(max(0.0, t0 + 60 * m - time.monotonic()))
            rss, fds, threads = sample(d.proc.pid)
            h = d.req("GET", path).get("health", {})
            rows.append((m, rss, fds, threads))
            print(f"{m:>4} {rss:>8.1f} {fds:>5} {threads:>8} {h.get('output_fps', 0):>6.1f} "
                  f"{h.get('frames_out', 0):>11} {h.get('frames_dropped', 0):>8} "
                  f"{h.get('reconnects', 0):>10}", flush=True)
        d.req("POST", path + "/stop", {})
        for p in pubs:
            p.terminate()
    finally:
        d.stop()
    _, rss_w, fds_w, thr_w = rows[warmup]
    _, rss_e, fds_e, thr_e = rows[-1]
    growth = rss_e - rss_w
    per_hour = growth / (minutes - warmup) * 60
    print(f"growth after the {warmup}-minute warm-up, over {minutes - warmup} min: "
          f"RSS {growth:+.1f} MB ({per_hour:+.1f} MB/h), fds {fds_e - fds_w:+d}, "
          f"threads {thr_e - thr_w:+d}; target < {TARGET_MB:g} MB: "
          f"{'met' if growth < TARGET_MB else 'NOT met'}")
    print(f"load average: {os.getloadavg()}")


if __name__ == "__main__":
    main()
