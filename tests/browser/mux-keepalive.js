// The Mux Node SDK against spacecast on one kept-alive connection:
// answers of every kind in a row (201, 204, 200, 404), driven by
// tests/integration/test-http-limits.c.
//
//   node mux-keepalive.js BASE_URL TOKEN_ID TOKEN_SECRET
//
// Without retries, a connection the daemon drops after a 204 shows as an
// error ("socket hang up", "other side closed"); one it drops and the
// client replaces shows as a second socket.  Either fails, with the
// reason on stderr; success prints the socket count and exits 0.
"use strict";

const dc = require("node:diagnostics_channel");
const Mux = require("@mux/mux-node").default;

const [baseURL, tokenId, tokenSecret] = process.argv.slice(2);
if (!baseURL || !tokenId || !tokenSecret) {
  console.error("usage: node mux-keepalive.js BASE_URL TOKEN_ID TOKEN_SECRET");
  process.exit(2);
}

// The local port of the socket each request goes out on (fetch is undici).
const ports = [];
dc.subscribe("undici:client:sendHeaders", (m) => ports.push(m.socket.localPort));

// undici hands a socket back to its pool a tick after the body is read;
// without a pause the next request may open a second one.
const settle = () => new Promise((resolve) => setTimeout(resolve, 50));

async function main() {
  const mux = new Mux({ tokenId, tokenSecret, baseURL, maxRetries: 0 });
  const steps = [];
  const step = async (name, call) => {
    await call();
    steps.push(name);
    await settle();
  };

  let stream, key;
  await step("create live stream (201)", async () => {
    stream = await mux.video.liveStreams.create({ playback_policy: ["public"] });
  });
  await step("delete live stream (204)", () => mux.video.liveStreams.delete(stream.id));
  await step("list live streams (200)", () => mux.video.liveStreams.list());
  await step("create signing key (201)", async () => {
    key = await mux.system.signingKeys.create();
  });
  await step("delete signing key (204)", () => mux.system.signingKeys.delete(key.id));
  await step("get the deleted live stream (404)", async () => {
    try {
      await mux.video.liveStreams.retrieve(stream.id);
    } catch (e) {
      if (e instanceof Mux.NotFoundError)
        return;
      throw e;
    }
    throw new Error("the deleted live stream is still there");
  });

  const sockets = new Set(ports);
  console.log(`${steps.length} requests, ${sockets.size} socket(s): ${steps.join(", ")}`);
  if (ports.length !== steps.length || sockets.size !== 1)
    throw new Error(`expected ${steps.length} requests on one socket, got ports ${ports}`);
}

main().catch((e) => {
  console.error(`mux-keepalive: ${e.stack || e}`);
  process.exit(1);
});
