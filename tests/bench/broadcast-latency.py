#!/usr/bin/env python3
"""broadcast-latency: glass to glass, from a participant's frame being
captured to that frame reaching the ingest inside a broadcast's output.

Four WHIP participants, 720p30 gallery (gap 0, so participant p0 fills the
top-left quadrant exactly).  p0 publishes with --capture-clock: every frame
carries its capture time (wall-clock ms, 32 bits as 8x4 black/white cells).
The broadcast goes to spacecast's own ingest, which records it.  The ingest
logs, with a microsecond timestamp, the moment the first media message of
the session arrives (video.live_stream.active); the output is live, so frame
k arrives at that moment plus its timestamp offset from the first frame.
Latency of a captured frame = its arrival - the capture time it carries, at
its first appearance (the compositor repeats a frame when none is new).

Usage: tests/bench/broadcast-latency.py [BUILD_DIR] [SECONDS]
"""
import datetime, json, os, re, subprocess, sys, tempfile, time, urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
bc = __import__("broadcast-cpu")
SECONDS = float(sys.argv[2]) if len(sys.argv) > 2 else 15.0
COLS, ROWS, BITS = 8, 4, 32


def wait_asset_ready(d, ls):
    for _ in range(600):
        lso = d.req("GET", f"/video/v1/live-streams/{ls}")
        if lso["recent_asset_ids"]:
            a = d.req("GET", f"/video/v1/assets/{lso['recent_asset_ids'][-1]}")
            if a["status"] == "ready":
                return a
        time.sleep(0.1)
    raise SystemExit("asset did not become ready")


def first_media_ms(log_path, ls):
    for line in open(log_path):
        if "event=video.live_stream.active" in line and ls in line:
            ts = re.match(r"ts=(\S+)Z", line).group(1)
            t = datetime.datetime.fromisoformat(ts).replace(tzinfo=datetime.timezone.utc)
            return int(t.timestamp() * 1000)
    raise SystemExit("no video.live_stream.active in the daemon log")


def decode_clock(mp4):
    """(pts_s, clock_ms) per video frame of the top-left 640x360 quadrant."""
    pts = [float(x.strip(",")) for x in subprocess.check_output(
        ["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries", "frame=pts_time",
         "-of", "csv=p=0", mp4]).decode().split()]
    w, h = COLS * 4, ROWS * 4    # 4x4 pixels per cell after scaling
    raw = subprocess.check_output(["ffmpeg", "-v", "error", "-i", mp4, "-map", "0:v:0",
                                   "-vsync", "passthrough",
                                   "-vf", f"crop=640:360:0:0,scale={w}:{h}:flags=area,format=gray",
                                   "-f", "rawvideo", "-"])
    out = []
    for k in range(min(len(pts), len(raw) // (w * h))):
        f = raw[k * w * h:(k + 1) * w * h]
        v = 0
        for bit in range(BITS):
            col, row = bit % COLS, bit // COLS
            v = (v << 1) | (f[(row * 4 + 2) * w + col * 4 + 2] > 128)
        out.append((pts[k], v))
    return out


def main():
    d = bc.Daemon()
    try:
        space, pubs = bc.setup_space(d, 4, extra={0: ["--capture-clock"]})
        ls, b = bc.start_broadcast(d, space, options={"gap": 0})
        time.sleep(SECONDS)
        d.req("POST", f"/video/v1/spaces/{space}/broadcasts/{b}/stop", {})
        a = wait_asset_ready(d, ls)
        t0 = first_media_ms(os.path.join(d.dir, "daemon.log"), ls)
        tmp = tempfile.mkdtemp()
        mp4 = os.path.join(tmp, "out.mp4")
        with urllib.request.urlopen(f"{d.base}/stream/{a['playback_ids'][0]['id']}/highest.mp4") as r, \
                open(mp4, "wb") as f:
            f.write(r.read())
        for p in pubs:
            p.terminate()
    finally:
        d.stop()
    frames = decode_clock(mp4)
    pts0 = frames[0][0]
    seen, lat = set(), []
    for pts, clock in frames:
        arrival = (t0 + round((pts - pts0) * 1000)) % (1 << 32)
        age = (arrival - clock) % (1 << 32)
        if clock in seen or age > 10000:   # repeated frame, or cells not readable
            continue
        seen.add(clock)
        lat.append(age)
    lat.sort()
    if not lat:
        raise SystemExit("no capture clock could be read from the output")
    q = lambda f: lat[min(len(lat) - 1, int(f * len(lat)))]
    print(f"frames recorded {len(frames)}, distinct captured frames read {len(lat)}")
    print(f"capture -> ingest latency ms: min {lat[0]} median {q(0.5)} p95 {q(0.95)} max {lat[-1]}")
    print(f"load average: {os.getloadavg()}")


if __name__ == "__main__":
    main()
