#!/usr/bin/env python3
"""broadcast-concurrency: how many 720p30 gallery broadcasts of 4 WHIP
participants one daemon holds at real time on this machine.

For N = 1, 2, ... a fresh daemon gets N spaces of 4 publishers each (the
publish CLI, VP8 640x360 + Opus, run at nice 19 so the daemon is served
first: on a real deployment they are somebody else's machines) and one
broadcast per space.  After a warm-up, each broadcast's health.frames_out is
read twice, WINDOW seconds apart: real time means every broadcast output at
least 29.5 frames/s and dropped none.  Stops at the first N that is not held.

With --shared, the N broadcasts all show the same space of 4 publishers (to
N live streams): participants are received and decoded once, so this counts
what broadcasts alone cost, with the publishers' load fixed.

Usage: tests/bench/broadcast-concurrency.py [BUILD_DIR] [MAX_N] [WINDOW_S] [--shared]
"""
import os, sys, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
bc = __import__("broadcast-cpu")
SHARED = "--shared" in sys.argv
ARGS = [a for a in sys.argv if a != "--shared"]
MAX_N = int(ARGS[2]) if len(ARGS) > 2 else 6
WINDOW = float(ARGS[3]) if len(ARGS) > 3 else 20.0


def machine_busy():
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    return sum(v) - v[3] - v[4], sum(v)


def run(n):
    d = bc.Daemon()
    pubs, paths = [], []
    try:
        for i in range(n):
            if i == 0 or not SHARED:
                space, ps = bc.setup_space(d, 4, nice=19)
                pubs += ps
            ls, b = bc.start_broadcast(d, space)
            paths.append(f"/video/v1/spaces/{space}/broadcasts/{b}")
        time.sleep(5)
        f0 = [d.req("GET", p)["health"] for p in paths]
        c0, (b0, t0) = bc.cpu_s(d.proc.pid), machine_busy()
        w0 = time.monotonic()
        time.sleep(WINDOW)
        f1 = [d.req("GET", p)["health"] for p in paths]
        c1, (b1, t1) = bc.cpu_s(d.proc.pid), machine_busy()
        w = time.monotonic() - w0
    finally:
        for p in pubs:
            p.terminate()
        d.stop()
    fps = [(b["frames_out"] - a["frames_out"]) / w for a, b in zip(f0, f1)]
    dropped = sum(b["frames_dropped"] - a["frames_dropped"] for a, b in zip(f0, f1))
    held = min(fps) >= 29.5 and dropped == 0
    print(f"{n} broadcasts: output fps min {min(fps):.1f} max {max(fps):.1f}, dropped {dropped}, "
          f"daemon {(c1 - c0) / w:.2f} CPU-s/s, machine {100 * (b1 - b0) / (t1 - t0):.0f}% busy "
          f"({os.cpu_count()} cores) -> {'held' if held else 'NOT real time'}", flush=True)
    return held


def main():
    best = 0
    for n in range(1, MAX_N + 1):
        if not run(n):
            break
        best = n
    print(f"concurrent 720p30 4-participant broadcasts held at real time"
          f"{' (one shared space)' if SHARED else ''}: {best}")


if __name__ == "__main__":
    main()
