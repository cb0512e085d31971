#!/usr/bin/env python3
"""av-sync: audio/video offset of a broadcast's recording, at the start,
after N minutes and after a layout switch.

One WHIP participant publishes `spacecast publish --sync-flash`: black video
that turns white, and silence that beeps, for 100 ms from the same instant
of its pipeline's running time, once a second.  A 720p gallery broadcast of
its space goes to spacecast's own ingest, which records it.  In the
recorded MP4 (decoded by ffmpeg's lavfi: per-frame luma mean, audio RMS
per 1 ms: 20 ms windows would quantise an onset to +-10 ms), each flash
onset is paired with the nearest beep onset: offset = beep - flash
(positive: the audio is late).  Three windows of WINDOW seconds: from 2 s,
from N minutes, and right after a PATCH to a custom layout that moves and
shrinks the tile.  Target |offset| < 40 ms everywhere, and no drift.

Usage: tests/bench/av-sync.py [BUILD_DIR] [MINUTES (10)] [WINDOW_S (20)]
       tests/bench/av-sync.py --encoders [PIPELINES_DIR (pipelines)]
The second form measures each audio encoder fragment alone: a flash/beep
file made by ffmpeg (offset 0 by construction) through x264enc and the
fragment into FLV, as the broadcast output sends it.  Its offset is the
encoder's priming, which the fragment's `priming:` header must state.
"""
import os, subprocess, sys, tempfile, time, urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
bc = __import__("broadcast-cpu")
TARGET_MS = 40
QUIET_DB = -30        # an RMS above this is the beep (it is ~-6 dBFS; silence is digital zero)


def lavfi_frames(graph, tag):
    """(pts_time, value of @tag) per frame out of a lavfi graph."""
    out = subprocess.check_output(["ffprobe", "-v", "error", "-f", "lavfi", "-i", graph,
                                   "-show_entries", f"frame=pts_time:frame_tags={tag}",
                                   "-of", "csv=p=0"]).decode()
    rows = []
    for line in out.split():
        t, _, v = line.partition(",")
        try:
            rows.append((float(t), float(v)))
        except ValueError:
            pass     # "-inf" RMS of digital silence parses; anything else is noise
    return rows


def onsets(rows, threshold, quiet_s):
    """Times where the value rises above threshold after quiet_s below it.
    A window that opens inside a flash or a beep has seen no rise: that
    one is not an onset."""
    out, last_high, seen_quiet = [], None, False
    for t, v in rows:
        if v > threshold:
            if seen_quiet and (last_high is None or t - last_high > quiet_s):
                out.append(t)
            last_high = t
        else:
            seen_quiet = True
    return out


def measure(mp4, start, length):
    src = mp4.replace("\\", "\\\\").replace(":", "\\:").replace(",", "\\,")
    video = lavfi_frames(f"movie={src}:seek_point={start},trim=start={start}:duration={length},"
                         "scale=64:36,signalstats", "lavfi.signalstats.YAVG")
    audio = lavfi_frames(f"amovie={src}:seek_point={start},atrim=start={start}:duration={length},"
                         "pan=mono|c0=c0,asetnsamples=n=48:p=0,astats=metadata=1:reset=1",
                         "lavfi.astats.Overall.RMS_level")
    if not video or not audio:
        raise SystemExit(f"nothing decoded from {start} s")
    lo, hi = min(v for _, v in video), max(v for _, v in video)
    flashes = onsets(video, (lo + hi) / 2, 0.5)
    beeps = onsets(audio, QUIET_DB, 0.5)
    pairs = []
    for f in flashes:
        b = min(beeps, key=lambda b: abs(b - f), default=None)
        if b is not None and abs(b - f) < 0.5:
            pairs.append((f, 1000 * (b - f)))
    return pairs, len(flashes), len(beeps)


def report(name, pairs, n_flash, n_beep):
    if not pairs:
        print(f"{name:<28} no flash/beep pairs ({n_flash} flashes, {n_beep} beeps)")
        return None
    offs = [o for _, o in pairs]
    mean = sum(offs) / len(offs)
    print(f"{name:<28} {len(pairs):>3} pairs ({n_flash} flashes, {n_beep} beeps)  offset ms: "
          f"mean {mean:+6.1f}  min {min(offs):+6.1f}  max {max(offs):+6.1f}")
    return mean, max(abs(o) for o in offs)


def encoders(pipelines):
    work = tempfile.mkdtemp()
    src = os.path.join(work, "src.mkv")
    subprocess.check_call([
        "ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i",
        "color=black:s=320x180:r=30,geq=lum='if(lt(mod(T\\,1)\\,0.1)\\,235\\,16)':cb=128:cr=128",
        "-f", "lavfi", "-i", "sine=f=1000:r=48000,asetnsamples=n=48,"
        "volume='if(lt(mod(t\\,1)\\,0.1)\\,4\\,0)':eval=frame,aformat=channel_layouts=stereo",
        "-t", "12", "-c:v", "ffv1", "-c:a", "pcm_s16le", src])
    for name in sorted(os.listdir(pipelines)):
        text = open(os.path.join(pipelines, name)).read()
        head = {k.strip(): v.strip() for k, v in (l[1:].split(":", 1) for l in text.splitlines()
                                                   if l.startswith("#") and ":" in l)}
        if head.get("kind") != "audio":
            continue
        desc = " ".join(l for l in text.splitlines() if l.strip() and not l.startswith("#"))
        desc = desc.replace("{audio_rate}", "48000").replace("{audio_bitrate_bps}", "128000")
        out = os.path.join(work, name + ".flv")
        ok = subprocess.call(
            f"gst-launch-1.0 -q filesrc location={src} ! matroskademux name=d "
            f"d.video_0 ! queue ! avdec_ffv1 ! videoconvert ! x264enc tune=zerolatency ! h264parse "
            f"! flvmux name=m streamable=true ! filesink location={out} "
            f"d.audio_0 ! queue ! {desc} ! aacparse ! m.", shell=True,
            stderr=subprocess.DEVNULL) == 0
        stated = int(head.get("priming", "0"))
        if not ok:
            print(f"{name:<28} not runnable here")
            continue
        r = report(name, *measure(out, 1, 10))
        if r:
            print(f"{'':<28} stated priming {stated} samples = {stated / 48:.1f} ms")


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "--encoders":
        return encoders(sys.argv[2] if len(sys.argv) > 2 else "pipelines")
    build = sys.argv[1] if len(sys.argv) > 1 else "build"
    minutes = float(sys.argv[2]) if len(sys.argv) > 2 else 10.0
    W = float(sys.argv[3]) if len(sys.argv) > 3 else 20.0
    bc.DAEMON = os.path.join(build, "src", "spacecast")
    later = minutes * 60
    d = bc.Daemon()
    try:
        space, pubs = bc.setup_space(d, 1, extra={0: ["--sync-flash"]})
        ls, b = bc.start_broadcast(d, space)
        t0 = time.monotonic()     # ~ the recording's 0: its first keyframe
        path = f"/video/v1/spaces/{space}/broadcasts/{b}"
        time.sleep(max(later + W + 1, 2 + W) - (time.monotonic() - t0))
        switch_at = time.monotonic() - t0
        d.req("PATCH", path, {"layout": "custom", "layout_options": {
            "regions": [{"x": 0.5, "y": 0.25, "width": 0.5, "height": 0.5}]}})
        time.sleep(W + 3)
        health = d.req("GET", path)["health"]
        d.req("POST", path + "/stop", {})
        a = None
        for _ in range(600):
            lso = d.req("GET", f"/video/v1/live-streams/{ls}")
            a = d.req("GET", f"/video/v1/assets/{lso['recent_asset_ids'][-1]}")
            if a["status"] != "preparing":
                break
            time.sleep(0.2)
        if a["status"] != "ready":
            raise SystemExit(f"asset {a['status']}: {a.get('errors')}")
        mp4 = os.path.join(tempfile.mkdtemp(), "av-sync.mp4")
        with urllib.request.urlopen(f"{d.base}/stream/{a['playback_ids'][0]['id']}/highest.mp4") as r, \
                open(mp4, "wb") as f:
            f.write(r.read())
        for p in pubs:
            p.terminate()
    finally:
        d.stop()
    print(f"recorded {a['duration']:.1f} s; health at the end: {health['output_fps']:.1f} fps, "
          f"{health['frames_dropped']} dropped, {health['reconnects']} reconnects")
    windows = [("start", 2)]
    if later > 2 + W:
        windows.append((f"after {minutes:g} min", later))
    windows.append(("after the layout switch", switch_at + 1))
    results = []
    for name, start in windows:
        r = report(f"{name} ({start:.0f}-{start + W:.0f} s)", *measure(mp4, start, W))
        if r:
            results.append(r)
    if len(results) == len(windows):
        worst = max(r[1] for r in results)
        drift = results[-1][0] - results[0][0]
        print(f"worst |offset| {worst:.1f} ms (target < {TARGET_MS}: "
              f"{'met' if worst < TARGET_MS else 'NOT met'}); drift start -> end {drift:+.1f} ms")
    print(f"load average: {os.getloadavg()}")


if __name__ == "__main__":
    main()
