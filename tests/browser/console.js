// The producer console (/console/) in headless Chromium, driven by
// tests/integration/test-console.c.
//
//   node console.js SERVER TOKEN_ID TOKEN_SECRET SPACE_ID SHOT_DIR
//
// Wrong credentials first, then the right ones; opens the space (two
// publishers are in it), creates and starts a broadcast, watches its
// program preview show both, clicks a tile to spotlight it and watches the
// preview follow, creates a live stream and prints "PUBLISH <stream key>"
// for the test to push to, then waits for its status to turn active on
// the page.  Screenshots of each view go to SHOT_DIR/console-*.png.  The
// last stdout line is "RESULT <json>"; exits non-zero on any failure.
"use strict";

const fs = require("fs");
const path = require("path");
const { withChromium } = require("./chromium");

const [server, tokenId, tokenSecret, spaceId, shotDir] = process.argv.slice(2);
if (!shotDir) {
  console.error("usage: node console.js SERVER TOKEN_ID TOKEN_SECRET SPACE_ID SHOT_DIR");
  process.exit(2);
}
const timeoutMs = 20000;

async function waitFor(page, what, fn, ...args) {
  try {
    return await page.waitForFunction(fn, { timeout: timeoutMs, polling: 100 }, ...args);
  } catch (e) {
    const err = await page.evaluate(() => JSON.stringify([...document.querySelectorAll(".tile video")]
      .map((v) => [v.readyState, v.videoWidth, v.getVideoPlaybackQuality().totalVideoFrames,
                   v.srcObject && v.srcObject.getTracks().length])) + " " +
      document.querySelector("#error").textContent + " " +
      document.querySelector("#program-msg").textContent).catch(() => "");
    throw new Error(`waiting for ${what}: ${e.message} (page error: "${err}")`);
  }
}

// Lists are redrawn by each poll: the element is found and clicked in one
// step inside the page, so a redraw between the two cannot lose the click.
async function press(page, selector) {
  const found = await page.evaluate((sel) => {
    const n = document.querySelector(sel);
    if (n) n.click();
    return !!n;
  }, selector);
  if (!found)
    throw new Error(`nothing to click at ${selector}`);
}

async function signIn(page, id, secret) {
  await page.$eval("#token-id", (n) => { n.value = ""; });
  await page.$eval("#token-secret", (n) => { n.value = ""; });
  await page.type("#token-id", id);
  await page.type("#token-secret", secret);
  await press(page, "#signin button[type=submit]");
}

// Each tile: playing, frames decoded, and its centre pixel not black.
function tilesPlaying() {
  const out = {};
  for (const tile of document.querySelectorAll(".tile")) {
    const v = tile.querySelector("video");
    if (v.readyState < 2 || !v.videoWidth || v.getVideoPlaybackQuality().totalVideoFrames < 5)
      return null;
    const c = document.createElement("canvas");
    c.width = v.videoWidth;
    c.height = v.videoHeight;
    const ctx = c.getContext("2d");
    ctx.drawImage(v, 0, 0);
    const d = ctx.getImageData(c.width >> 1, c.height >> 1, 1, 1).data;
    const level = tile.querySelector("meter").value;
    if (d[0] + d[1] + d[2] < 30 || level <= -60)
      return null;
    out[tile.dataset.participant] = { frames: v.getVideoPlaybackQuality().totalVideoFrames,
                                      width: v.videoWidth, pixel: [d[0], d[1], d[2]], audio_level: level,
                                      muted: v.muted };
  }
  return Object.keys(out).length >= 2 ? out : null;
}

// The program preview's picture: the share of a 16×9 grid of samples
// that shows each participant's colour (±60 per channel).
function programShares(colors) {
  const v = document.querySelector("#program-video");
  if (!v || v.readyState < 2 || !v.videoWidth)
    return null;
  const c = document.createElement("canvas");
  c.width = v.videoWidth;
  c.height = v.videoHeight;
  const ctx = c.getContext("2d");
  ctx.drawImage(v, 0, 0);
  const shares = {};
  for (const id of Object.keys(colors))
    shares[id] = 0;
  for (let gy = 0; gy < 9; gy++)
    for (let gx = 0; gx < 16; gx++) {
      const d = ctx.getImageData(Math.floor((gx + 0.5) * c.width / 16),
                                 Math.floor((gy + 0.5) * c.height / 9), 1, 1).data;
      for (const [id, rgb] of Object.entries(colors))
        if (rgb.every((x, i) => Math.abs(x - d[i]) <= 60))
          shares[id] += 1 / 144;
    }
  // Whose colour is at a few places: the gallery's two halves, and the
  // spotlight's main tile (the left four fifths) and strip (the right fifth).
  const at = {};
  const where = { left: [0.25, 0.5], right: [0.75, 0.5], main: [0.4, 0.5], strip: [0.9, 0.5] };
  for (const [name, [fx, fy]] of Object.entries(where)) {
    const d = ctx.getImageData(Math.floor(fx * c.width), Math.floor(fy * c.height), 1, 1).data;
    at[name] = Object.keys(colors).find((id) => colors[id].every((x, i) => Math.abs(x - d[i]) <= 60))
      || null;
  }
  return { width: v.videoWidth, height: v.videoHeight,
           frames: v.getVideoPlaybackQuality().totalVideoFrames, shares, at };
}

async function main() {
  fs.mkdirSync(shotDir, { recursive: true });
  await withChromium({ timeoutMs }, async (browser) => {
    const result = {};
    const page = await browser.newPage();
    await page.setViewport({ width: 1280, height: 720 });
    page.on("console", (m) => console.error(`page: ${m.text()}`));
    page.on("pageerror", (e) => console.error(`page error: ${e.message}`));
    page.on("dialog", (d) => d.accept());
    await page.goto(server + "/console/", { waitUntil: "load" });
    await page.evaluate("window.programShares = " + programShares.toString());

    await signIn(page, tokenId, "wrong-secret");
    await waitFor(page, "the wrong-credentials error",
                  () => document.querySelector("#error").textContent.includes("401"));
    result.wrong_credentials_error = await page.$eval("#error", (n) => n.textContent);
    result.signed_in_after_wrong = await page.$eval("#nav", (n) => !n.hidden);
    await page.screenshot({ path: path.join(shotDir, "console-signin.png") });

    await signIn(page, tokenId, tokenSecret);
    await waitFor(page, "the space in the list",
                  (id) => document.querySelector("#spaces").textContent.includes(id), spaceId);
    result.connection = await page.$eval("#conn", (n) => n.textContent);
    result.space_listed_status = await page.$eval("#spaces .status", (n) => n.textContent);
    await page.screenshot({ path: path.join(shotDir, "console-spaces.png") });

    await press(page, `button[aria-label="Open space ${spaceId}"]`);
    result.tiles = await (await waitFor(page, "two tiles playing", tilesPlaying)).jsonValue();

    await press(page, "#bc-create");
    await waitFor(page, "a broadcast", () => document.querySelector("#broadcasts [data-broadcast]"));
    result.broadcast_id = await page.$eval("#broadcasts [data-broadcast]", (n) => n.dataset.broadcast);
    await press(page, `button[aria-label="Start broadcast ${result.broadcast_id}"]`);
    await waitFor(page, "the broadcast active",
                  () => document.querySelector("#broadcasts .status").textContent === "active");
    const pick = Object.keys(result.tiles).sort()[1];
    const other = Object.keys(result.tiles).sort()[0];
    const colors = {};
    for (const [id, t] of Object.entries(result.tiles))
      colors[id] = t.pixel;
    // The program preview (WHEP of the broadcast) plays the gallery: both
    // colours on screen, side by side.
    result.program_before = await (await waitFor(page, "the program preview showing both tiles",
      (cs) => {
        const s = programShares(cs);
        return s && s.frames >= 5 && Object.values(s.shares).every((x) => x >= 0.15) ? s : null;
      }, colors)).jsonValue();
    result.spotlit = pick;
    const clicked = Date.now();
    await press(page, `.tile[data-participant="${pick}"]`);
    // The spotlit participant fills most of the program, the other a corner.
    result.program_after = await (await waitFor(page, "the program preview spotlighting " + pick,
      (cs, p, o) => {
        const s = programShares(cs);
        return s && s.shares[p] >= 0.4 && s.shares[p] >= 3 * s.shares[o] ? s : null;
      }, colors, pick, other)).jsonValue();
    result.program_switch_ms = Date.now() - clicked;
    await waitFor(page, "the spotlight button pressed",
                  () => document.querySelector('[aria-label="Layout spotlight"]')
                    .getAttribute("aria-pressed") === "true");
    await waitFor(page, "the tile pinned", (p) => document
      .querySelector(`.tile[data-participant="${p}"]`).getAttribute("aria-pressed") === "true", pick);
    // Key 1: gallery, then back to spotlight with key 3.
    await page.keyboard.press("1");
    await waitFor(page, "gallery by key", () => document.querySelector('[aria-label="Layout gallery"]')
      .getAttribute("aria-pressed") === "true");
    await page.keyboard.press("3");
    await waitFor(page, "spotlight by key", () => document
      .querySelector('[aria-label="Layout spotlight"]').getAttribute("aria-pressed") === "true");
    await press(page, "#labels");
    await waitFor(page, "the labels PATCH answered", () => document.querySelector("#labels").checked &&
      !document.querySelector("#error").textContent);
    // Drag the second tile onto the first: the layout's order follows
    // (the page's drag handlers, fed synthetic drag events).
    result.order_before = await page.$$eval("#tiles .tile", (ns) => ns.map((n) => n.dataset.participant));
    result.order = await page.evaluate(() => {
      const tiles = [...document.querySelectorAll("#tiles .tile")];
      const dt = new DataTransfer();
      tiles[1].dispatchEvent(new DragEvent("dragstart", { dataTransfer: dt, bubbles: true }));
      tiles[0].dispatchEvent(new DragEvent("drop", { dataTransfer: dt, bubbles: true, cancelable: true }));
      return [...document.querySelectorAll("#tiles .tile")].map((n) => n.dataset.participant);
    });
    // (the stored order is checked through the API once the script is done)
    await waitFor(page, "the program message settled",
                  () => !document.querySelector("#program-msg").textContent.includes("connecting"));
    result.program_message = await page.$eval("#program-msg", (n) => n.textContent);
    await page.screenshot({ path: path.join(shotDir, "console-space.png") });
    await press(page, `button[aria-label="Stop broadcast ${result.broadcast_id}"]`);
    await waitFor(page, "the broadcast stopped",
                  () => document.querySelector("#broadcasts .status").textContent !== "active");

    await press(page, 'button[data-view="streams"]');
    // The broadcast's own live stream is listed once the first poll is in.
    await waitFor(page, "the live streams list", () => document.querySelector("#streams li"));
    const before = await page.$$eval("#streams [data-live-stream]", (ns) => ns.map((n) => n.dataset.liveStream));
    await press(page, "#ls-create");
    const handle = await waitFor(page, "the new live stream", (known) => {
      for (const n of document.querySelectorAll("#streams [data-live-stream]"))
        if (!known.includes(n.dataset.liveStream)) return n.dataset.liveStream;
      return null;
    }, before);
    const ls = await handle.jsonValue();
    result.live_stream_id = ls;
    await press(page, `button[aria-label="Reveal RTMP URL and key of ${ls}"]`);
    const key = await (await waitFor(page, "the revealed key", (id) => {
      const n = document.querySelector(`[data-live-stream="${id}"] [data-key]`);
      return n && n.textContent;
    }, ls)).jsonValue();
    result.rtmp_url = await page.$eval(`[data-live-stream="${ls}"] [data-rtmp]`, (n) => n.textContent);
    result.status_before = await page.$eval(`[data-live-stream="${ls}"] .status`, (n) => n.textContent);
    process.stdout.write(`PUBLISH ${key}\n`);
    await waitFor(page, "the live stream active", (id) =>
      document.querySelector(`[data-live-stream="${id}"] .status`).textContent === "active", ls);
    result.status_after = "active";
    result.srt_url = await page.$eval(`[data-live-stream="${ls}"] [data-srt]`, (n) => n.textContent);
    await page.screenshot({ path: path.join(shotDir, "console-live-streams.png") });
    // The key actions, each behind a confirm (accepted above): a new key
    // shows on the page, then the stream is disabled.
    result.key_before_reset = key;
    await press(page, `button[aria-label="Reset stream key of ${ls}"]`);
    result.key_after_reset = await (await waitFor(page, "the new key", (id, old) => {
      const n = document.querySelector(`[data-live-stream="${id}"] [data-key]`);
      return n && n.textContent !== old && n.textContent;
    }, ls, key)).jsonValue();
    await press(page, `button[aria-label="Disable ${ls}"]`);
    await waitFor(page, "the live stream disabled", (id) =>
      document.querySelector(`[data-live-stream="${id}"] .status`).textContent === "disabled", ls);

    await press(page, 'button[data-view="assets"]');
    await waitFor(page, "the assets list", () => !document.querySelector("#assets-view").hidden);
    await new Promise((r) => setTimeout(r, 1500));
    await page.screenshot({ path: path.join(shotDir, "console-assets.png") });
    const doomed = await (await waitFor(page, "a ready asset", () => {
      const n = document.querySelector('#assets [data-status="ready"]');
      return n && n.closest("[data-asset]").dataset.asset;
    })).jsonValue();
    // Play the recording in the page, then delete it.
    await press(page, `button[aria-label="Play asset ${doomed}"]`);
    result.played = await (await waitFor(page, "the recording playing", () => {
      const v = document.querySelector("#asset-player");
      return !v.hidden && v.currentTime > 0.5 && v.videoWidth > 0 &&
        { time: v.currentTime, width: v.videoWidth, height: v.videoHeight };
    })).jsonValue();
    await press(page, `button[aria-label="Delete asset ${doomed}"]`);
    await waitFor(page, "the deleted asset gone from the list", (id) =>
      !document.querySelector(`#assets [data-asset="${id}"]`), doomed);
    result.deleted_asset = doomed;
    await page.setViewport({ width: 820, height: 1180 });
    await press(page, 'button[data-view="spaces"]');
    await waitFor(page, "the spaces list", () => document.querySelector("#spaces li"));
    await press(page, `button[aria-label="Open space ${spaceId}"]`);
    await waitFor(page, "two tiles playing at tablet width", tilesPlaying);
    await page.screenshot({ path: path.join(shotDir, "console-tablet.png") });
    process.stdout.write("RESULT " + JSON.stringify(result) + "\n");
  });
}

main().catch((e) => {
  console.error(e.stack || String(e));
  process.exit(1);
});
