// Three Chromium pages in one space through samples/web/space.html, driven
// by tests/integration/test-space-browser.c.  Each page's camera is a solid
// colour (a canvas stream in place of getUserMedia; the microphone stays
// Chromium's fake one), and a fourth page watches with a subscriber token.
//
//   node space.js PAGE_URL SERVER NAME=TOKEN... WATCH_TOKEN
//
// NAME is the participant id and the colour (red, green or blue).  Prints
// one JSON object on stdout with what each page saw:
//   { "pages": { NAME: { "tiles": { PEER: [r,g,b] }, "audio_bytes": { PEER: n } } },
//     "watcher": { ... same ... }, "leave_ms": { NAME: ms }, "watcher_whip_status": 403 }
// and exits non-zero, with the reason on stderr, when a page fails.
"use strict";

const { withChromium } = require("./chromium");

const args = process.argv.slice(2);
if (args.length < 4) {
  console.error("usage: node space.js PAGE_URL SERVER NAME=TOKEN... WATCH_TOKEN");
  process.exit(2);
}
const [pageUrl, server] = args;
const watchToken = args[args.length - 1];
const people = args.slice(2, -1).map((a) => {
  const i = a.indexOf("=");
  return { name: a.slice(0, i), token: a.slice(i + 1) };
});
const colours = { red: [220, 40, 40], green: [40, 200, 60], blue: [40, 60, 220] };
const timeoutMs = 40000;

// Runs in the page before its scripts: the camera becomes a canvas of one
// colour, redrawn so that the stream keeps producing frames.
function fakeCamera(rgb) {
  const real = navigator.mediaDevices.getUserMedia.bind(navigator.mediaDevices);
  navigator.mediaDevices.getUserMedia = async (constraints) => {
    const canvas = document.createElement("canvas");
    canvas.width = 320;
    canvas.height = 240;
    const ctx = canvas.getContext("2d");
    const paint = () => {
      ctx.fillStyle = `rgb(${rgb[0]},${rgb[1]},${rgb[2]})`;
      ctx.fillRect(0, 0, canvas.width, canvas.height);
    };
    paint();
    setInterval(paint, 50);
    const video = canvas.captureStream(15).getVideoTracks()[0];
    const audio = (await real({ audio: true })).getAudioTracks()[0];
    return new MediaStream([video, audio]);
  };
}

async function open(browser, token, rgb) {
  const page = await browser.newPage();
  page.on("console", (m) => console.error(`page: ${m.text()}`));
  page.on("pageerror", (e) => console.error(`page error: ${e.message}`));
  if (rgb)
    await page.evaluateOnNewDocument(fakeCamera, rgb);
  const url = new URL(pageUrl);
  url.searchParams.set("server", server);
  url.searchParams.set("token", token);
  url.searchParams.set("autostart", "1");
  await page.goto(url.toString(), { timeout: timeoutMs });
  await page.waitForFunction(() => {
    const s = document.getElementById("status").textContent;
    return s === "joined" || s.startsWith("error");
  }, { timeout: timeoutMs, polling: 100 });
  const status = await page.$eval("#status", (e) => e.textContent);
  if (status !== "joined")
    throw new Error(`page status "${status}"`);
  return page;
}

// The page's remote tiles once @peers all play video, as centre pixels,
// and each subscription's inbound audio bytes.
async function observe(page, peers) {
  await page.waitForFunction((peers) => {
    return peers.every((p) => {
      const v = document.querySelector(`.tile[data-participant="${p}"] video`);
      return v && v.videoWidth > 0 && v.currentTime > 0.5;
    });
  }, { timeout: timeoutMs, polling: 200 }, peers);
  return page.evaluate(async (peers) => {
    const out = { tiles: {}, audio_bytes: {} };
    const canvas = document.createElement("canvas");
    canvas.width = 32;
    canvas.height = 24;
    const ctx = canvas.getContext("2d", { willReadFrequently: true });
    for (const p of peers) {
      const v = document.querySelector(`.tile[data-participant="${p}"] video`);
      ctx.drawImage(v, 0, 0, canvas.width, canvas.height);
      const d = ctx.getImageData(16, 12, 1, 1).data;
      out.tiles[p] = [d[0], d[1], d[2]];
      let bytes = 0;
      const stats = await remotes.get(p).pc.getStats();
      stats.forEach((s) => {
        if (s.type === "inbound-rtp" && s.kind === "audio")
          bytes += s.bytesReceived;
      });
      out.audio_bytes[p] = bytes;
    }
    return out;
  }, peers);
}

async function main() {
  await withChromium({ timeoutMs }, async (browser) => {
    const result = { pages: {}, leave_ms: {} };
    const pages = {};
    for (const p of people)
      pages[p.name] = await open(browser, p.token, colours[p.name]);
    const watcher = await open(browser, watchToken, null);
    const names = people.map((p) => p.name);
    for (const p of people)
      result.pages[p.name] = await observe(pages[p.name], names.filter((n) => n !== p.name));
    result.watcher = await observe(watcher, names);

    // A subscriber's token watches but cannot publish.
    result.watcher_whip_status = await watcher.evaluate(async (server, token) => {
      const claims = JSON.parse(atob(token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/")));
      const r = await fetch(`${server}/rt/v1/spaces/${claims.sub}/whip`, {
        method: "POST", body: "v=0\r\n",
        headers: { "Content-Type": "application/sdp", "Authorization": "Bearer " + token },
      });
      return r.status;
    }, server, watchToken);

    // The last one leaves: the others lose its tile.
    const leaver = names[names.length - 1];
    const start = Date.now();
    // A background tab does not render: click through the DOM, not the mouse.
    await pages[leaver].evaluate(() => document.getElementById("leave").click());
    for (const n of names.filter((n) => n !== leaver)) {
      await pages[n].waitForFunction((p) => !document.querySelector(`.tile[data-participant="${p}"]`),
                                     { timeout: timeoutMs, polling: 20 }, leaver);
      result.leave_ms[n] = Date.now() - start;
    }
    console.log(JSON.stringify(result));
  });
}

main().then(() => process.exit(0), (e) => {
  console.error(`space.js: ${e.message}`);
  process.exit(1);
});
