// The one way the browser tests start Debian's chromium: headless, fake
// camera and microphone, WebRTC over loopback with plain host candidates
// (no mDNS names the daemon cannot resolve), nothing sent outside this
// machine, no tab throttled in the background, and a throwaway profile.
"use strict";

const fs = require("fs");
const os = require("os");
const path = require("path");
const puppeteer = require("puppeteer-core");

const executablePath = process.env.CHROMIUM || "/usr/bin/chromium";

const flags = [
  "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
  "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream",
  "--allow-loopback-in-peer-connection", "--disable-features=WebRtcHideLocalIpsWithMdns",
  "--autoplay-policy=no-user-gesture-required", "--allow-file-access-from-files",
  "--disable-background-timer-throttling", "--disable-renderer-backgrounding",
  "--disable-backgrounding-occluded-windows",
  "--no-proxy-server", "--disable-background-networking", "--disable-component-update",
  "--disable-sync", "--disable-default-apps", "--no-first-run", "--no-default-browser-check",
];

// Runs fn(browser) and closes the browser and removes its profile however
// fn ends; resolves to what fn resolves to.
async function withChromium({ timeoutMs, protocolTimeoutMs = timeoutMs }, fn) {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), "spacecast-chromium-"));
  let browser = null;
  try {
    browser = await puppeteer.launch({
      executablePath, headless: true, timeout: timeoutMs, protocolTimeout: protocolTimeoutMs,
      args: [...flags, `--user-data-dir=${profile}`],
    });
    return await fn(browser);
  } finally {
    if (browser)
      await browser.close();
    fs.rmSync(profile, { recursive: true, force: true });
  }
}

module.exports = { withChromium };
