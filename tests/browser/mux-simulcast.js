// Mux's Node SDKs, unmodified, against spacecast's simulcast targets:
// create with targets, add (rtmp:// and srt://), retrieve, delete, and a
// bad url staying a typed SDK error; first with v15 (@mux/mux-node), then
// with v7 (mux-node-v7, the same package at ^7 under an npm alias), whose
// API and error shape differ.  Driven by tests/integration/test-simulcast.c.
//
//   node mux-simulcast.js BASE_URL TOKEN_ID TOKEN_SECRET RTMP_URL SRT_URL
//
// Prints one "ok SDK STEP" line per step and exits 0; the first failure
// goes to stderr with a non-zero exit.
"use strict";

const Mux = require("@mux/mux-node").default;
const MuxV7 = require("mux-node-v7");

const [baseURL, tokenId, tokenSecret, rtmpURL, srtURL] = process.argv.slice(2);
if (!baseURL || !tokenId || !tokenSecret || !rtmpURL || !srtURL) {
  console.error("usage: node mux-simulcast.js BASE_URL TOKEN_ID TOKEN_SECRET RTMP_URL SRT_URL");
  process.exit(2);
}

function expect(cond, what) {
  if (!cond)
    throw new Error(what);
}

async function v15() {
  const mux = new Mux({ tokenId, tokenSecret, baseURL, maxRetries: 0 });
  const ls = mux.video.liveStreams;

  const stream = await ls.create({
    playback_policy: ["public"],
    simulcast_targets: [{ url: rtmpURL, stream_key: "sdk-one", passthrough: "one" }],
  });
  expect(stream.simulcast_targets.length === 1, "create: one target");
  expect(stream.simulcast_targets[0].status === "idle", "create: target idle");
  console.log("ok v15 create live stream with simulcast_targets");

  const added = await ls.createSimulcastTarget(stream.id, {
    url: rtmpURL, stream_key: "sdk-two", passthrough: "two",
  });
  expect(added.id && added.status === "idle" && added.stream_key === "sdk-two" &&
         added.passthrough === "two" && added.url === rtmpURL, "createSimulcastTarget: fields");
  console.log("ok v15 createSimulcastTarget");

  const got = await ls.retrieveSimulcastTarget(stream.id, added.id);
  expect(got.id === added.id && got.url === rtmpURL, "retrieveSimulcastTarget: same target");
  console.log("ok v15 retrieveSimulcastTarget");

  await ls.deleteSimulcastTarget(stream.id, added.id);
  const after = await ls.retrieve(stream.id);
  expect(after.simulcast_targets.length === 1 &&
         after.simulcast_targets[0].id === stream.simulcast_targets[0].id,
         "deleteSimulcastTarget: the other target stays");
  console.log("ok v15 deleteSimulcastTarget");

  const srt = await ls.createSimulcastTarget(stream.id, { url: srtURL, passthrough: "srt" });
  expect(srt.id && srt.status === "idle" && srt.url === srtURL && srt.stream_key === undefined,
         "createSimulcastTarget srt://: fields");
  const gotSrt = await ls.retrieveSimulcastTarget(stream.id, srt.id);
  expect(gotSrt.url === srtURL, "retrieveSimulcastTarget srt://: same url");
  console.log("ok v15 srt:// target");

  try {
    await ls.createSimulcastTarget(stream.id, { url: "http://example.com/app", stream_key: "k" });
    throw new Error("a bad url was accepted");
  } catch (e) {
    expect(e instanceof Mux.BadRequestError, `bad url: ${e}`);
  }
  console.log("ok v15 bad url is a BadRequestError");
  await ls.delete(stream.id);
}

// v7: `new Mux(id, secret, {baseUrl})`, resources under Video, the
// response's data unwrapped, and a failure rejected with Mux's error body.
async function v7() {
  const { Video } = new MuxV7(tokenId, tokenSecret, { baseUrl: baseURL });
  const ls = Video.LiveStreams;

  const stream = await ls.create({
    playback_policy: "public",
    simulcast_targets: [{ url: rtmpURL, stream_key: "v7-one", passthrough: "one" }],
  });
  expect(stream.simulcast_targets.length === 1 && stream.simulcast_targets[0].status === "idle" &&
         stream.simulcast_targets[0].stream_key === "v7-one", "create: one idle target");
  console.log("ok v7 create live stream with simulcast_targets");

  const added = await ls.createSimulcastTarget(stream.id, {
    url: rtmpURL, stream_key: "v7-two", passthrough: "two",
  });
  expect(added.id && added.status === "idle" && added.stream_key === "v7-two" &&
         added.passthrough === "two" && added.url === rtmpURL, "createSimulcastTarget: fields");
  console.log("ok v7 createSimulcastTarget");

  const got = await ls.getSimulcastTarget(stream.id, added.id);
  expect(got.id === added.id && got.url === rtmpURL, "getSimulcastTarget: same target");
  console.log("ok v7 getSimulcastTarget");

  await ls.deleteSimulcastTarget(stream.id, added.id);
  const after = await ls.get(stream.id);
  expect(after.simulcast_targets.length === 1 &&
         after.simulcast_targets[0].id === stream.simulcast_targets[0].id,
         "deleteSimulcastTarget: the other target stays");
  console.log("ok v7 deleteSimulcastTarget");

  const srt = await ls.createSimulcastTarget(stream.id, { url: srtURL, passthrough: "srt" });
  expect(srt.id && srt.status === "idle" && srt.url === srtURL, "createSimulcastTarget srt://");
  const gotSrt = await ls.getSimulcastTarget(stream.id, srt.id);
  expect(gotSrt.url === srtURL, "getSimulcastTarget srt://: same url");
  console.log("ok v7 srt:// target");

  try {
    await ls.createSimulcastTarget(stream.id, { url: "http://example.com/app", stream_key: "k" });
    throw new Error("a bad url was accepted");
  } catch (e) {
    expect(e && e.type === "invalid_parameters" && e.messages.some((m) => m.includes("url")),
           `bad url: ${JSON.stringify(e)}`);
  }
  console.log("ok v7 bad url is Mux's invalid_parameters error");
  await ls.del(stream.id);
}

async function main() {
  await v15();
  await v7();
}

main().catch((e) => {
  console.error(e && e.stack ? e.stack : e);
  process.exit(1);
});
