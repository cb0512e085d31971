/* WHIP (RFC 9725) and WHEP for the sample pages: one offer/answer with
 * the daemon, and the end of the session.  A classic script rather than a
 * module, so that a page opened from disk can still load it. */
"use strict";

/* Without trickle ICE the offer must carry every candidate: wait for
 * gathering to end. */
function gatheringComplete(pc) {
  if (pc.iceGatheringState === "complete")
    return Promise.resolve();
  return new Promise((resolve) => {
    const check = () => {
      if (pc.iceGatheringState === "complete") {
        pc.removeEventListener("icegatheringstatechange", check);
        resolve();
      }
    };
    pc.addEventListener("icegatheringstatechange", check);
  });
}

/* The daemon's words for a refusal: the messages of a Mux-shaped error. */
async function errorText(response) {
  const body = await response.text();
  try {
    const json = JSON.parse(body);
    if (json.error && json.error.messages)
      return json.error.messages.join("; ");
  } catch (e) { /* not JSON: show it as it is */ }
  return body || response.statusText;
}

/* POSTs @pc's offer to @url (a WHIP or WHEP endpoint) and applies the
 * answer.  Returns the session URL (its Location).  A refusal throws an
 * Error with the daemon's message and the HTTP status in .status. */
async function wishNegotiate(pc, url, token) {
  await pc.setLocalDescription(await pc.createOffer());
  await gatheringComplete(pc);
  const response = await fetch(url, {
    method: "POST",
    headers: { "Content-Type": "application/sdp", "Authorization": "Bearer " + token },
    body: pc.localDescription.sdp,
  });
  if (response.status !== 201) {
    const err = new Error(url + " answered " + response.status + ": " + await errorText(response));
    err.status = response.status;
    throw err;
  }
  const location = response.headers.get("Location");
  await pc.setRemoteDescription({ type: "answer", sdp: await response.text() });
  return location ? new URL(location, url).toString() : null;
}

/* Ends the session at @url; keepalive lets it outlive a closing page. */
function wishDelete(url, token, keepalive) {
  return fetch(url, { method: "DELETE", keepalive: !!keepalive,
                      headers: { "Authorization": "Bearer " + token } });
}
