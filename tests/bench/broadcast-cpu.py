#!/usr/bin/env python3
"""broadcast-cpu: the daemon's CPU for one 720p30 gallery broadcast of 4 WHIP
participants (VP8 640x360 + Opus from the publish CLI), against ffmpeg doing
the same work from 4 VP8 640x360 + Opus files: decode, xstack, libx264
veryfast CBR 3000k GOP 60 no B-frames, AAC 128k, FLV.

CPU is utime+stime from /proc/PID/stat over WINDOW seconds.  The daemon
decodes every participant once whether or not a broadcast runs, so its
broadcast cost is (with broadcast) - (same participants, no broadcast): mixing,
encoding, RTMP out and the ingest recording what it receives.  The matching
ffmpeg figure is (xstack + encode) - (decode only, same inputs, -f null).
Two layouts: gallery as shipped (gaps between tiles, so every tile is scaled)
and gallery with gap 0 (tiles are exactly 640x360: xstack's work).

Usage: tests/bench/broadcast-cpu.py [BUILD_DIR] [WINDOW_S]
"""
import base64, json, os, shutil, socket, subprocess, sys, tempfile, time, urllib.request

BUILD = sys.argv[1] if len(sys.argv) > 1 else "build"
WINDOW = float(sys.argv[2]) if len(sys.argv) > 2 else 30.0
DAEMON = os.path.join(BUILD, "src", "spacecast")
TOK_ID, TOK_SECRET = "bench-id", "bench-secret"
HZ = os.sysconf("SC_CLK_TCK")


def free_port():
    s = socket.socket(); s.bind(("127.0.0.1", 0)); p = s.getsockname()[1]; s.close(); return p


def cpu_s(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / HZ


def measure(pid, window):
    c0, t0 = cpu_s(pid), time.monotonic()
    time.sleep(window)
    return (cpu_s(pid) - c0) / (time.monotonic() - t0)


class Daemon:
    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="sc-bench-")
        self.http, self.rtmp = free_port(), free_port()
        self.base = f"http://127.0.0.1:{self.http}"
        env = dict(os.environ, SPACECAST_TOKEN_ID=TOK_ID, SPACECAST_TOKEN_SECRET=TOK_SECRET)
        env.pop("G_DEBUG", None)
        self.log = open(os.path.join(self.dir, "daemon.log"), "w")
        self.proc = subprocess.Popen([DAEMON, "serve", f"--http=127.0.0.1:{self.http}",
                                      f"--rtmp=127.0.0.1:{self.rtmp}", f"--data-dir={self.dir}",
                                      "--ice-host=127.0.0.1"], env=env,
                                     stdout=self.log, stderr=self.log)
        for _ in range(200):
            try:
                urllib.request.urlopen(self.base + "/healthz"); return
            except Exception:
                time.sleep(0.05)
        raise SystemExit("daemon did not start")

    def req(self, method, path, body=None):
        auth = base64.b64encode(f"{TOK_ID}:{TOK_SECRET}".encode()).decode()
        data = json.dumps(body).encode() if body is not None else None
        r = urllib.request.Request(self.base + path, data=data, method=method,
                                   headers={"Authorization": "Basic " + auth,
                                            "Content-Type": "application/json"})
        with urllib.request.urlopen(r, timeout=60) as resp:
            txt = resp.read()
            return json.loads(txt)["data"] if txt else None

    def stop(self):
        self.proc.terminate(); self.proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


def setup_space(d, n, colours=None, size=(640, 360), pattern=None, extra=None, nice=0):
    key = d.req("POST", "/system/v1/signing-keys")
    space = d.req("POST", "/video/v1/spaces", {})["id"]
    pubs = []
    colours = colours or [0xFF0000, 0x0000FF, 0x00FF00, 0xFFFF00, 0xFF00FF, 0x00FFFF]
    for i in range(n):
        tok = subprocess.check_output([DAEMON, "sign", "--space", space, "--key-id", key["id"],
                                       "--private-key", key["private_key"],
                                       "--participant-id", f"p{i}"]).decode().strip()
        args = [DAEMON, "publish", "--whip", f"{d.base}/rt/v1/spaces/{space}/whip",
                "--token", tok, "--ice-host", "127.0.0.1", "--freq", str(300 + 100 * i),
                "--width", str(size[0]), "--height", str(size[1])]
        args += ["--video-pattern", pattern] if pattern else ["--color", "0x%06X" % colours[i % len(colours)]]
        args += (extra or {}).get(i, [])
        pubs.append(subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                     preexec_fn=(lambda: os.nice(nice)) if nice else None))
        for _ in range(600):
            if len(d.req("GET", f"/video/v1/spaces/{space}/participants")) == i + 1:
                break
            time.sleep(0.1)
        else:
            for p in pubs:
                p.terminate()
            raise SystemExit("participant did not join")
    return space, pubs


def start_broadcast(d, space, layout="gallery", options=None):
    ls = d.req("POST", "/video/v1/live-streams", {"playback_policy": ["public"],
               "new_asset_settings": {"playback_policy": ["public"]}})["id"]
    body = {"live_stream_id": ls, "layout": layout, "resolution": "1280x720"}
    if options:
        body["layout_options"] = options
    b = d.req("POST", f"/video/v1/spaces/{space}/broadcasts", body)["id"]
    d.req("POST", f"/video/v1/spaces/{space}/broadcasts/{b}/start", {})
    for _ in range(600):
        o = d.req("GET", f"/video/v1/spaces/{space}/broadcasts/{b}")
        if o.get("health", {}).get("state") == "running":
            return ls, b
        time.sleep(0.1)
    raise SystemExit("broadcast did not run")


def ffmpeg_reference(window):
    """(xstack + encode, decode only) CPU-s/s."""
    tmp = tempfile.mkdtemp(prefix="sc-bench-ff-")
    files = []
    for i, c in enumerate(["red", "blue", "green", "yellow"]):
        f = os.path.join(tmp, f"in{i}.webm")
        subprocess.check_call(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i",
                               f"color=c={c}:s=640x360:r=30:d={window + 20}", "-f", "lavfi", "-i",
                               f"sine=f={300 + 100 * i}:d={window + 20}", "-c:v", "libvpx",
                               "-b:v", "1M", "-deadline", "realtime", "-cpu-used", "8",
                               "-c:a", "libopus", f])
        files.append(f)
    inputs = []
    for f in files:
        inputs += ["-re", "-i", f]
    mix = ["-filter_complex",
           "[0:v][1:v][2:v][3:v]xstack=inputs=4:layout=0_0|w0_0|0_h0|w0_h0[v];"
           "[0:a][1:a][2:a][3:a]amix=inputs=4[a]",
           "-map", "[v]", "-map", "[a]", "-c:v", "libx264", "-preset", "veryfast",
           "-tune", "zerolatency", "-x264-params", "scenecut=0:nal-hrd=cbr", "-profile:v", "main",
           "-b:v", "3000k", "-maxrate", "3000k", "-bufsize", "6000k", "-g", "60", "-bf", "0",
           "-c:a", "aac", "-b:a", "128k", "-f", "flv", "/dev/null"]
    decode = ["-map", "0:v", "-map", "0:a", "-map", "1:v", "-map", "1:a", "-map", "2:v",
              "-map", "2:a", "-map", "3:v", "-map", "3:a", "-f", "null", "-"]
    out = []
    for tail in (mix, decode):
        p = subprocess.Popen(["ffmpeg", "-v", "error", "-nostdin", "-y"] + inputs + tail)
        time.sleep(5)
        cpu = measure(p.pid, window)
        if p.poll() is not None:
            raise SystemExit(f"ffmpeg exited early ({p.returncode})")
        p.terminate(); p.wait()
        out.append(cpu)
    shutil.rmtree(tmp, ignore_errors=True)
    return out


def main():
    d = Daemon()
    results = []
    try:
        space, pubs = setup_space(d, 4)
        time.sleep(3)
        base = measure(d.proc.pid, WINDOW)
        for name, options in (("gallery", None), ("gallery, gap 0", {"gap": 0})):
            ls, b = start_broadcast(d, space, options=options)
            time.sleep(3)
            cpu = measure(d.proc.pid, WINDOW)
            h = d.req("GET", f"/video/v1/spaces/{space}/broadcasts/{b}")["health"]
            d.req("POST", f"/video/v1/spaces/{space}/broadcasts/{b}/stop", {})
            results.append((name, cpu, h))
            time.sleep(3)
        for p in pubs:
            p.terminate()
    finally:
        d.stop()
    ff_mix, ff_decode = ffmpeg_reference(WINDOW)
    print(f"daemon, 4 participants, no broadcast: {base:.2f} CPU-s/s")
    for name, cpu, h in results:
        print(f"daemon + 720p30 {name} broadcast: {cpu:.2f} CPU-s/s -> broadcast {cpu - base:.2f} "
              f"(frames_out {h['frames_out']}, dropped {h['frames_dropped']})")
    print(f"ffmpeg decode + xstack + x264 + aac: {ff_mix:.2f} CPU-s/s; decode only: {ff_decode:.2f}"
          f" -> mix and encode {ff_mix - ff_decode:.2f}")
    print(f"load average: {os.getloadavg()}")


if __name__ == "__main__":
    main()
