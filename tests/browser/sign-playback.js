// Signs a playback token the way a Mux customer does, with Mux's own Node
// SDK, for tests/integration/test-playback-signed.c:
//
//   node sign-playback.js PLAYBACK_ID KEY_ID KEY_SECRET TYPE [PARAMS_JSON]
//
// TYPE is video or thumbnail; PARAMS_JSON an object of string parameters
// (time, width) signed into the token.  Prints the token.
"use strict";

const Mux = require("@mux/mux-node");

async function main() {
  const [playbackId, keyId, keySecret, type, params] = process.argv.slice(2);
  if (!playbackId || !keyId || !keySecret || !type) {
    console.error("usage: node sign-playback.js PLAYBACK_ID KEY_ID KEY_SECRET TYPE [PARAMS_JSON]");
    process.exit(2);
  }
  // The API credentials are never used: signing happens here.
  const mux = new Mux({ tokenId: "unused", tokenSecret: "unused" });
  const token = await mux.jwt.signPlaybackId(playbackId, {
    keyId,
    keySecret,
    type,
    expiration: "1h",
    ...(params ? { params: JSON.parse(params) } : {}),
  });
  console.log(token);
}

main().catch((e) => {
  console.error(e && e.stack ? e.stack : String(e));
  process.exit(1);
});
