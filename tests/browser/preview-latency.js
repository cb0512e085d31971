// Capture -> Chromium render of a program preview, for
// tests/bench/preview-bench.c.  One Chromium page subscribes to the
// preview over WHEP, as the console does, and reads `spacecast publish
// --capture-clock`'s 8x4 cells (wall-clock ms mod 2^32, most significant
// bit first, the cells filling the frame: a "single" layout) off each
// frame it presents (requestVideoFrameCallback), against its own wall
// clock: the same machine's, so the difference is the age of the frame on
// screen.
//
//   node preview-latency.js SERVER WHEP_PATH TOKEN SECONDS
//
// Prints one JSON object on stdout: { "first_frame_ms": n, "ages": [ms...] }
// (one age per distinct captured frame), and exits non-zero, with the
// reason on stderr, when the page fails.
"use strict";

const { withChromium } = require("./chromium");

const [server, whepPath, token, seconds] = process.argv.slice(2);
if (!seconds) {
  console.error("usage: node preview-latency.js SERVER WHEP_PATH TOKEN SECONDS");
  process.exit(2);
}
const timeoutMs = 20000;

async function watch(url, token, seconds) {
  const pc = new RTCPeerConnection({ bundlePolicy: "max-bundle" });
  pc.addTransceiver("video", { direction: "recvonly" });
  pc.addTransceiver("audio", { direction: "recvonly" });
  const video = document.createElement("video");
  video.muted = true;
  video.autoplay = true;
  document.body.append(video);
  pc.addEventListener("track", (e) => {
    if (!video.srcObject) video.srcObject = new MediaStream();
    video.srcObject.addTrack(e.track);
  });
  await pc.setLocalDescription(await pc.createOffer());
  await new Promise((resolve) => {
    if (pc.iceGatheringState === "complete") return resolve();
    pc.addEventListener("icegatheringstatechange", () => {
      if (pc.iceGatheringState === "complete") resolve();
    });
  });
  const posted = Date.now();
  const r = await fetch(url, { method: "POST", body: pc.localDescription.sdp,
    headers: { "Content-Type": "application/sdp", "Authorization": "Bearer " + token } });
  if (r.status !== 201) throw new Error("WHEP " + r.status + ": " + await r.text());
  await pc.setRemoteDescription({ type: "answer", sdp: await r.text() });

  const canvas = document.createElement("canvas");
  const ctx = canvas.getContext("2d", { willReadFrequently: true });
  const ages = [];
  let first = null, last = null, until = null;
  await new Promise((resolve) => {
    const onFrame = () => {
      const now = Date.now();
      if (first === null) {
        first = now - posted;
        until = now + seconds * 1000;
      }
      const w = video.videoWidth, h = video.videoHeight;
      canvas.width = w;
      canvas.height = h;
      ctx.drawImage(video, 0, 0, w, h);
      const px = ctx.getImageData(0, 0, w, h).data;
      let v = 0;
      for (let bit = 0; bit < 32; bit++) {
        const col = bit % 8, row = Math.floor(bit / 8);
        const x = Math.floor((2 * col + 1) * w / 16), y = Math.floor((2 * row + 1) * h / 8);
        v = ((v << 1) | (px[(y * w + x) * 4 + 1] > 128 ? 1 : 0)) >>> 0;
      }
      // A repeated frame counts once, at its first showing; unreadable
      // cells give absurd ages.
      const age = ((now % 4294967296) - v + 4294967296) % 4294967296;
      if (v !== last && age < 10000) ages.push(age);
      last = v;
      if (now >= until) return resolve();
      video.requestVideoFrameCallback(onFrame);
    };
    video.requestVideoFrameCallback(onFrame);
  });
  pc.close();
  fetch(new URL(r.headers.get("Location"), url), { method: "DELETE",
    headers: { "Authorization": "Bearer " + token } }).catch(() => {});
  return { first_frame_ms: first, ages };
}

async function main() {
  await withChromium({ timeoutMs, protocolTimeoutMs: (Number(seconds) + 30) * 1000 }, async (browser) => {
    const page = await browser.newPage();
    page.on("pageerror", (e) => console.error(`page error: ${e.message}`));
    // Same origin as the WHEP route: nothing depends on CORS here.
    await page.goto(server + "/healthz", { waitUntil: "load" });
    const result = await page.evaluate(watch, server + whepPath, token, Number(seconds));
    process.stdout.write(JSON.stringify(result) + "\n");
  });
}

main().catch((e) => {
  console.error(e.stack || String(e));
  process.exit(1);
});
