/* The API seen from the page: Basic credentials from sessionStorage, and
 * every failure turned into an Error whose message is the API's words. */
const KEY = "spacecast-console-credentials";

export function credentials() {
  return sessionStorage.getItem(KEY);
}
export function setCredentials(id, secret) {
  sessionStorage.setItem(KEY, btoa(id + ":" + secret));
}
export function clearCredentials() {
  sessionStorage.removeItem(KEY);
  sessionStorage.removeItem("spacecast-console-signing-key");
}

export async function errorText(response) {
  const body = await response.text();
  try {
    const json = JSON.parse(body);
    if (json.error && json.error.messages)
      return json.error.messages.join("; ");
  } catch (e) { /* not JSON: shown as it is */ }
  return body || response.statusText;
}

export async function api(method, path, body) {
  const headers = { "Authorization": "Basic " + credentials() };
  if (body !== undefined)
    headers["Content-Type"] = "application/json";
  /* "omit": a 401 then reaches the page instead of the browser's own
   * login prompt (the API answers with WWW-Authenticate: Basic). */
  const response = await fetch(path, { method, headers, credentials: "omit",
                                        body: body === undefined ? undefined : JSON.stringify(body) });
  if (!response.ok)
    throw new Error(method + " " + path + ": " + response.status + " " + await errorText(response));
  if (response.status === 204)
    return null;
  const text = await response.text();
  return text ? JSON.parse(text).data : null;
}

/* WHEP and space events take a space JWT, not Basic: the console makes
 * one signing key per tab and signs short-lived subscriber tokens with it
 * in the browser (WebCrypto). */
function b64url(bytes) {
  return btoa(String.fromCharCode(...new Uint8Array(bytes)))
    .replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}
function derLength(n) {
  if (n < 0x80) return [n];
  const out = [];
  while (n) { out.unshift(n & 0xff); n >>= 8; }
  return [0x80 | out.length, ...out];
}
/* PKCS#1 ("RSA PRIVATE KEY") wrapped as PKCS#8, which WebCrypto imports. */
function pkcs1ToPkcs8(pkcs1) {
  const algo = [0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01, 0x05, 0x00];
  const octet = [0x04, ...derLength(pkcs1.length), ...pkcs1];
  const inner = [0x02, 0x01, 0x00, ...algo, ...octet];
  return new Uint8Array([0x30, ...derLength(inner.length), ...inner]);
}
let signingKeyPromise = null;
function signingKey() {
  /* One key for all the tiles that ask at once. */
  if (!signingKeyPromise)
    signingKeyPromise = loadSigningKey().catch((e) => { signingKeyPromise = null; throw e; });
  return signingKeyPromise;
}
async function loadSigningKey() {
  let stored = JSON.parse(sessionStorage.getItem("spacecast-console-signing-key") || "null");
  if (!stored) {
    const key = await api("POST", "/system/v1/signing-keys", {});
    stored = { id: key.id, pem: atob(key.private_key) };
    sessionStorage.setItem("spacecast-console-signing-key", JSON.stringify(stored));
  }
  const b64 = stored.pem.replace(/-----[^-]+-----/g, "").replace(/\s+/g, "");
  let der = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
  if (stored.pem.includes("RSA PRIVATE KEY"))
    der = pkcs1ToPkcs8(der);
  const key = await crypto.subtle.importKey("pkcs8", der, { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" },
                                            false, ["sign"]);
  return { id: stored.id, key };
}
export async function spaceToken(spaceId) {
  const { id, key } = await signingKey();
  const enc = new TextEncoder();
  const header = b64url(enc.encode(JSON.stringify({ alg: "RS256", typ: "JWT", kid: id })));
  const now = Math.floor(Date.now() / 1000);
  const payload = b64url(enc.encode(JSON.stringify({ sub: spaceId, aud: "rt", role: "subscriber",
                                                     exp: now + 3600 })));
  const sig = await crypto.subtle.sign("RSASSA-PKCS1-v1_5", key, enc.encode(header + "." + payload));
  return header + "." + payload + "." + b64url(sig);
}

/* A receive-only WHEP session into @video; returns a function ending it. */
export async function whep(url, token, video) {
  const pc = new RTCPeerConnection({ bundlePolicy: "max-bundle" });
  pc.addTransceiver("video", { direction: "recvonly" });
  pc.addTransceiver("audio", { direction: "recvonly" });
  const stream = new MediaStream();
  pc.addEventListener("track", (e) => { stream.addTrack(e.track); video.srcObject = stream; });
  await pc.setLocalDescription(await pc.createOffer());
  await new Promise((resolve) => {
    if (pc.iceGatheringState === "complete") return resolve();
    pc.addEventListener("icegatheringstatechange", () => {
      if (pc.iceGatheringState === "complete") resolve();
    });
  });
  const response = await fetch(url, { method: "POST", body: pc.localDescription.sdp,
    headers: { "Content-Type": "application/sdp", "Authorization": "Bearer " + token } });
  if (response.status !== 201) {
    pc.close();
    const err = new Error("WHEP " + response.status + ": " + await errorText(response));
    /* A refusal that waiting cures (the program's first frame not yet
     * encoded, the viewers' cap reached) says when to come back. */
    const after = Number(response.headers.get("Retry-After"));
    if (after > 0) err.retryAfter = after;
    throw err;
  }
  const session = response.headers.get("Location");
  await pc.setRemoteDescription({ type: "answer", sdp: await response.text() });
  return () => {
    pc.close();
    if (session)
      fetch(new URL(session, new URL(url, window.location.href)), { method: "DELETE",
        headers: { "Authorization": "Bearer " + token } }).catch(() => {});
  };
}
