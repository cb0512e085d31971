#!/usr/bin/env python3
"""Webhook benchmark: a flood of events to a receiver that takes its time
must not slow the daemon down.

A receiver on loopback answers every webhook after --delay seconds (5 by
default: as long as an attempt may take).  The daemon sends it everything.
Then --writers threads PATCH --streams live streams round robin (each PATCH
is one `video.live_stream.updated` event) at --rate events/s in all for
--seconds, while a prober asks /healthz every 20 ms on its own keep-alive
connection.  Printed: the event rate reached, /healthz latency (median,
p95, p99, max) idle and under the flood, webhooks received, the daemon's
CPU.  Target: /healthz stays under 10 ms.

Usage: tests/bench/webhook-bench.py [--daemon build/src/spacecast]
       [--rate 1000] [--seconds 10] [--delay 5] [--streams 50] [--writers 4]
Not part of meson test.
"""
import argparse
import http.client
import http.server
import json
import os
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
ib = __import__("ingest-bench")


class Receiver(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, delay):
        self.delay = delay
        self.received = 0
        self.lock = threading.Lock()
        super().__init__(("127.0.0.1", 0), Handler)


class Handler(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        time.sleep(self.server.delay)
        with self.server.lock:
            self.server.received += 1
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


def pct(values, p):
    v = sorted(values)
    return v[min(len(v) - 1, int(round(p / 100 * (len(v) - 1))))]


def probe(port, seconds):
    """/healthz every 20 ms for @seconds: latencies in ms."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    out = []
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        t0 = time.monotonic()
        conn.request("GET", "/healthz")
        conn.getresponse().read()
        out.append((time.monotonic() - t0) * 1000)
        time.sleep(0.02)
    conn.close()
    return out


def show(name, lat):
    print(f"  /healthz {name}: n={len(lat)} median {pct(lat, 50):.2f} ms, p95 {pct(lat, 95):.2f}, "
          f"p99 {pct(lat, 99):.2f}, max {max(lat):.2f}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--daemon", default="build/src/spacecast")
    ap.add_argument("--rate", type=float, default=1000)
    ap.add_argument("--seconds", type=float, default=10)
    ap.add_argument("--delay", type=float, default=5)
    ap.add_argument("--streams", type=int, default=50)
    ap.add_argument("--writers", type=int, default=4)
    args = ap.parse_args()

    rx = Receiver(args.delay)
    threading.Thread(target=rx.serve_forever, daemon=True).start()
    tmp = tempfile.mkdtemp(prefix="sc-webhook-bench-")
    d = ib.Daemon(args.daemon, os.path.join(tmp, "data"),
                  (f"--webhook-url=http://127.0.0.1:{rx.server_address[1]}/hook",
                   "--webhook-secret=bench-webhook-secret"))
    ids = [d.api("POST", "/video/v1/live-streams", {"playback_policies": ["public"]})["id"]
           for _ in range(args.streams)]
    idle = probe(d.http, 3)

    sent = [0] * args.writers
    stop_at = time.monotonic() + args.seconds
    per_writer = args.rate / args.writers

    def writer(k):
        conn = http.client.HTTPConnection("127.0.0.1", d.http, timeout=30)
        t0 = time.monotonic()
        n = 0
        while time.monotonic() < stop_at:
            due = t0 + n / per_writer
            now = time.monotonic()
            if due > now:
                time.sleep(due - now)
            body = json.dumps({"passthrough": f"w{k}-{n}"})
            conn.request("PATCH", f"/video/v1/live-streams/{ids[(k + n * args.writers) % len(ids)]}",
                         body, d.headers)
            r = conn.getresponse()
            r.read()
            if r.status != 200:
                raise SystemExit(f"PATCH answered {r.status}")
            n += 1
            sent[k] = n
        conn.close()

    cpu0 = d.cpu_seconds()
    t_start = time.monotonic()
    writers = [threading.Thread(target=writer, args=(k,)) for k in range(args.writers)]
    for w in writers:
        w.start()
    loaded = probe(d.http, args.seconds)
    for w in writers:
        w.join()
    elapsed = time.monotonic() - t_start
    cpu = d.cpu_seconds() - cpu0
    events = sum(sent)
    print(f"webhook flood: {events} events in {elapsed:.1f} s = {events / elapsed:.0f}/s "
          f"(asked {args.rate:.0f}/s), receiver answers after {args.delay:.1f} s")
    show("idle", idle)
    show("under the flood", loaded)
    print(f"  daemon CPU {cpu / elapsed:.2f} CPU-s/s; webhooks received by the end: {rx.received}")
    d.stop()
    rx.shutdown()


if __name__ == "__main__":
    main()
