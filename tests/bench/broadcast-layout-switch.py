#!/usr/bin/env python3
"""layout-switch: frames from a PATCH of the layout to the first output frame
showing it, at the daemon level.

Two participants (red, blue), 720p30 gallery.  Just before and just after
the PATCH to single/blue we read health.frames_out: the encoder's output
frame count brackets the PATCH.  The recorded asset holds the same frames
from index 0 (the ingest records the whole broadcast), so the first frame
index whose centre-left pixel is blue instead of red, minus frames_out at
PATCH time, is the switch latency in frames (±the bracket width).

Usage: tests/bench/broadcast-layout-switch.py [BUILD_DIR]
"""
import os, subprocess, sys, tempfile, time, urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
bc = __import__("broadcast-cpu")


def main():
    d = bc.Daemon()
    try:
        space, pubs = bc.setup_space(d, 2, colours=[0xFF0000, 0x0000FF])
        ls, b = bc.start_broadcast(d, space)
        path = f"/video/v1/spaces/{space}/broadcasts/{b}"
        time.sleep(5)
        f0 = d.req("GET", path)["health"]["frames_out"]
        t0 = time.monotonic()
        d.req("PATCH", path, {"layout": "single", "layout_options": {"participant_id": "p1"}})
        t1 = time.monotonic()
        f1 = d.req("GET", path)["health"]["frames_out"]
        time.sleep(4)
        d.req("POST", path + "/stop", {})
        for _ in range(600):
            lso = d.req("GET", f"/video/v1/live-streams/{ls}")
            if lso["recent_asset_ids"]:
                a = d.req("GET", f"/video/v1/assets/{lso['recent_asset_ids'][-1]}")
                if a["status"] == "ready":
                    break
            time.sleep(0.1)
        pid = a["playback_ids"][0]["id"]
        tmp = tempfile.mkdtemp()
        mp4 = os.path.join(tmp, "out.mp4")
        with urllib.request.urlopen(f"{d.base}/stream/{pid}/highest.mp4") as r, open(mp4, "wb") as f:
            f.write(r.read())
        raw = subprocess.check_output(["ffmpeg", "-v", "error", "-i", mp4, "-map", "0:v:0",
                                       "-vsync", "passthrough", "-vf", "scale=64:36,format=rgb24",
                                       "-f", "rawvideo", "-"])
        fsz = 64 * 36 * 3
        n = len(raw) // fsz
        # centre of the left half: red in gallery, blue once single/blue shows.
        off = (18 * 64 + 16) * 3
        first_blue = next((i for i in range(n)
                           if raw[i * fsz + off + 2] > 170 and raw[i * fsz + off] < 80), None)
        for p in pubs:
            p.terminate()
    finally:
        d.stop()
    print(f"frames_out before PATCH {f0}, after {f1} (PATCH took {1000 * (t1 - t0):.0f} ms)")
    print(f"recorded frames {n}; first frame with the new layout: {first_blue}")
    if first_blue is not None:
        print(f"switch latency: {first_blue - f1} .. {first_blue - f0} frames "
              f"({1000 * (first_blue - f1) / 30:.0f} .. {1000 * (first_blue - f0) / 30:.0f} ms at 30 fps)")
    print(f"load average: {os.getloadavg()}")


if __name__ == "__main__":
    main()
