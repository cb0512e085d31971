// Headless Chromium publishes its fake camera and microphone through
// samples/web/publish.html, driven by tests/integration/test-browser.c.
//
//   node publish.js PAGE_URL WHIP_URL TOKEN
//
// Prints "publishing" once the page has its 201 and the answer applied,
// then waits; a line "stop" on stdin clicks the page's Stop button (which
// DELETEs the session) and prints "stopped".  Exits non-zero, with the
// reason on stderr, on any failure.  Chromium only ever talks to loopback.
"use strict";

const readline = require("readline");
const { withChromium } = require("./chromium");

const [pageUrl, whipUrl, token] = process.argv.slice(2);
if (!pageUrl || !whipUrl || !token) {
  console.error("usage: node publish.js PAGE_URL WHIP_URL TOKEN");
  process.exit(2);
}
const timeoutMs = 90000;

async function waitForStatus(page, wanted) {
  await page.waitForFunction(
    (wanted) => {
      const s = document.getElementById("status").textContent;
      return s === wanted || s.startsWith("error");
    },
    { timeout: timeoutMs, polling: 100 }, wanted);
  const status = await page.$eval("#status", (e) => e.textContent);
  if (status !== wanted)
    throw new Error(`page status "${status}", wanted "${wanted}"`);
}

async function main() {
  await withChromium({ timeoutMs }, async (browser) => {
    const page = await browser.newPage();
    page.on("console", (m) => console.error(`page: ${m.text()}`));
    page.on("pageerror", (e) => console.error(`page error: ${e.message}`));
    const url = new URL(pageUrl);
    url.searchParams.set("whip", whipUrl);
    url.searchParams.set("token", token);
    url.searchParams.set("autostart", "1");
    await page.goto(url.toString(), { timeout: timeoutMs });
    await waitForStatus(page, "publishing");
    console.log("publishing");

    const rl = readline.createInterface({ input: process.stdin });
    for await (const line of rl) {
      if (line.trim() === "stop")
        break;
    }
    rl.close();
    await page.click("#stop");
    await waitForStatus(page, "stopped");
    console.log("stopped");
  });
}

main().then(() => process.exit(0), (e) => {
  console.error(`publish.js: ${e.message}`);
  process.exit(1);
});
