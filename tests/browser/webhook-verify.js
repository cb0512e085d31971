// Checks spacecast's webhooks with Mux's own Node SDK, unmodified: every
// request in the JSON file given ([{body, signature}]) must unwrap with
// the secret, and the same body with one byte changed must not verify.
// Prints the event types it unwrapped, one per line.
'use strict';
const fs = require('fs');
const Mux = require('@mux/mux-node');

async function main() {
  const [file, secret] = process.argv.slice(2);
  const requests = JSON.parse(fs.readFileSync(file, 'utf8'));
  const mux = new Mux({ tokenId: 'unused', tokenSecret: 'unused', webhookSecret: secret });
  for (const { body, signature } of requests) {
    const headers = { 'mux-signature': signature, 'content-type': 'application/json' };
    const event = await mux.webhooks.unwrap(body, headers);
    const tampered = body.replace(event.id, event.id.slice(0, -1) + (event.id.endsWith('0') ? '1' : '0'));
    let forged = true;
    try {
      await mux.webhooks.verifySignature(tampered, headers, secret);
    } catch (e) {
      forged = false;
    }
    if (forged)
      throw new Error(`a tampered ${event.type} body verified`);
    console.log(event.type);
  }
}

main().catch((e) => {
  console.error(e.message);
  process.exit(1);
});
