/* The producer console: views over the API, one poll loop per view. */
import { api, credentials, setCredentials, clearCredentials, spaceToken, whep } from "/console/api.js";

const LAYOUTS = ["gallery", "active-speaker", "spotlight", "pip", "single", "crop"];
const $ = (id) => document.getElementById(id);
let poll = null;
let space = null;   /* { id, broadcastId, tiles: Map participant -> {el, close} } */

function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v);
  }
  e.append(...children);
  return e;
}
function button(label, name, onclick) {
  return el("button", { type: "button", "aria-label": name, onclick }, label);
}
function setConn(state, text) {
  $("conn").dataset.state = state;
  $("conn").textContent = text;
}
function showError(err) {
  if (err)
    console.error(String(err.stack || err.message || err));
  $("error").textContent = err ? String(err.message || err) : "";
}
async function act(fn) {
  try { showError(null); await fn(); } catch (e) { showError(e); }
}

function show(view) {
  for (const v of ["signin", "spaces", "space", "streams", "assets"])
    $(v + "-view").hidden = v !== view;
  if (poll) clearInterval(poll);
  poll = null;
  if (view !== "space") leaveSpace();
}
function every(ms, fn) {
  const run = async () => {
    try { await fn(); setConn("connected", "connected"); }
    catch (e) { setConn("error", "error"); showError(e); }
  };
  run();
  poll = setInterval(run, ms);
}

/* Sign in: the credentials are checked with a cheap list call. */
async function signIn(id, secret) {
  setCredentials(id, secret);
  try {
    await api("GET", "/video/v1/spaces?limit=1");
  } catch (e) {
    clearCredentials();
    setConn("error", "signed out");
    throw e;
  }
  setConn("connected", "connected");
  $("nav").hidden = false;
  openSpaces();
}

function openSpaces() {
  show("spaces");
  every(2000, async () => {
    const spaces = await api("GET", "/video/v1/spaces?limit=100");
    $("spaces").replaceChildren(...spaces.map((s) => el("li", {},
      el("span", { class: "status", "data-status": s.status }, s.status),
      el("code", {}, s.id),
      button("Open", "Open space " + s.id, () => openSpace(s.id)))));
  });
}

function leaveSpace() {
  if (!space) return;
  for (const t of space.tiles.values()) t.close && t.close();
  if (space.programClose) space.programClose();
  space = null;
  $("tiles").replaceChildren();
  $("broadcasts").replaceChildren();
  $("program-video").srcObject = null;
}

async function openSpace(id) {
  show("space");
  space = { id, broadcastId: null, broadcast: null, tiles: new Map(), programFor: null };
  $("space-title").textContent = "Space " + id;
  $("events-note").textContent = "Participants and audio levels: polled every second from the " +
    "participants listing (it has the levels, the events stream has not).";
  $("layouts").replaceChildren(...LAYOUTS.map((l, i) =>
    button((i + 1) + " " + l, "Layout " + l, () => act(() => setLayout(l)))));
  every(1000, refreshSpace);
}

/* layout_options travel whole, so one change keeps the others (a labels
 * toggle keeps the spotlight). */
async function patchBroadcast(body) {
  if (!space.broadcastId) throw new Error("no broadcast in this space: create one first");
  if (body.layout_options)
    body.layout_options = { ...((space.broadcast && space.broadcast.layout_options) || {}),
                            ...body.layout_options };
  space.broadcast = await api("PATCH", "/video/v1/spaces/" + space.id + "/broadcasts/" +
                              space.broadcastId, body);
  renderBroadcasts();
}
function setLayout(layout) {
  return patchBroadcast({ layout });
}

async function refreshSpace() {
  const s = space;
  const detail = await api("GET", "/video/v1/spaces/" + s.id);
  const participants = await api("GET", "/video/v1/spaces/" + s.id + "/participants");
  if (s !== space) return;
  s.detail = detail;
  const ids = (detail.broadcasts || []).map((b) => b.id || b);
  if (!s.broadcastId && ids.length) s.broadcastId = ids[0];
  s.broadcasts = await Promise.all(ids.map((b) =>
    api("GET", "/video/v1/spaces/" + s.id + "/broadcasts/" + b)));
  s.broadcast = s.broadcasts.find((b) => b.id === s.broadcastId) || null;
  renderBroadcasts();
  renderTiles(participants);
  await updateProgram();
}

function renderTiles(participants) {
  const s = space;
  const seen = new Set();
  const opts = (s.broadcast && s.broadcast.layout_options) || {};
  for (const p of participants) {
    const pid = p.participant_id;
    seen.add(pid);
    let t = s.tiles.get(pid);
    if (!t) {
      const video = el("video", { muted: "", playsinline: "", autoplay: "", "aria-label": "Video of " + pid });
      video.muted = true;
      const meter = el("meter", { min: "-60", max: "0", low: "-40", high: "-6",
                                    value: "-60", "aria-label": "Audio level of " + pid });
      const meta = el("div", { class: "meta" });
      const tile = el("button", { type: "button", class: "tile", "data-participant": pid,
                                  "aria-label": "Spotlight " + pid, "aria-pressed": "false",
                                  onclick: () => act(() => patchBroadcast({ layout: "spotlight",
                                    layout_options: { participant_id: pid } })) },
                      video, meta, meter);
      /* Drag a tile onto another to put it there in the layout's order. */
      tile.draggable = true;
      tile.addEventListener("dragstart", (e) => e.dataTransfer.setData("text/plain", pid));
      tile.addEventListener("dragover", (e) => e.preventDefault());
      tile.addEventListener("drop", (e) => {
        e.preventDefault();
        const moved = s.tiles.get(e.dataTransfer.getData("text/plain"));
        if (!moved || moved.tile === tile) return;
        tile.before(moved.tile);
        const order = [...$("tiles").children].map((n) => n.dataset.participant);
        act(() => patchBroadcast({ layout_options: { order } }));
      });
      t = { tile, video, meta, meter, close: null };
      s.tiles.set(pid, t);
      $("tiles").append(tile);
      spaceToken(s.id).then((token) => whep("/rt/v1/spaces/" + s.id + "/participants/" +
                                            encodeURIComponent(pid) + "/whep", token, video))
        .then((close) => { if (space === s) t.close = close; else close(); })
        .catch((e) => { t.meta.dataset.error = e.message; showError(e); });
    }
    const tracks = (p.tracks || []).map((k) => k.type || k).join(", ");
    t.meta.textContent = (p.name || pid) + " · " + (tracks || "no tracks") +
      (t.meta.dataset.error ? " · " + t.meta.dataset.error : "");
    /* dBov from the daemon's level meter; -127 until it has measured. */
    t.meter.value = Math.max(-60, p.audio_level ?? -127);
    t.meter.title = (p.audio_level > -127 ? p.audio_level.toFixed(0) : "-∞") + " dBov";
    const pinned = opts.participant_id === pid || opts.pinned_participant_id === pid;
    t.tile.setAttribute("aria-pressed", String(pinned));
  }
  for (const [pid, t] of s.tiles) {
    if (seen.has(pid)) continue;
    t.close && t.close();
    t.tile.remove();
    s.tiles.delete(pid);
  }
}

function renderBroadcasts() {
  const s = space;
  const b = s.broadcast;
  for (const btn of $("layouts").children)
    btn.setAttribute("aria-pressed", String(!!b && btn.getAttribute("aria-label") === "Layout " + b.layout));
  $("labels").checked = !!(b && b.layout_options && b.layout_options.labels);
  $("broadcasts").replaceChildren(...(s.broadcasts || []).map((bc) => {
    const h = bc.health || {};
    const health = bc.health ? `${h.state}${h.reason ? " (" + h.reason + ")" : ""} · ` +
      `${Number(h.output_fps || 0).toFixed(1)} fps · ${Math.round((h.bitrate || 0) / 1000)} kb/s · ` +
      `dropped ${h.frames_dropped || 0} · reconnects ${h.reconnects || 0}` : "not running";
    return el("li", { "data-broadcast": bc.id },
      el("span", { class: "status", "data-status": bc.status }, bc.status),
      el("code", {}, bc.id), el("span", {}, bc.layout),
      el("span", { class: "note" }, health + (bc.encoder ? " · " + bc.encoder : "")),
      button("Select", "Select broadcast " + bc.id, () => { s.broadcastId = bc.id; refreshSpace(); }),
      button("Start", "Start broadcast " + bc.id, () => act(() =>
        api("POST", "/video/v1/spaces/" + s.id + "/broadcasts/" + bc.id + "/start"))),
      button("Stop", "Stop broadcast " + bc.id, () => act(() =>
        api("POST", "/video/v1/spaces/" + s.id + "/broadcasts/" + bc.id + "/stop"))));
  }));
}

/* The program preview is the broadcast's own WHEP route; where the daemon
 * has none yet its error is shown in place of the picture. */
async function updateProgram() {
  const s = space;
  const b = s.broadcast;
  const want = b && b.status === "active" ? b.id : null;
  if (want === s.programFor) return;
  if (s.programClose) s.programClose();
  s.programClose = null;
  s.programFor = want;
  $("program-video").srcObject = null;
  if (!want) {
    $("program-msg").textContent = "Program preview: no broadcast running.";
    return;
  }
  $("program-msg").textContent = "Program preview: connecting…";
  try {
    const token = await spaceToken(s.id);
    const close = await whep("/rt/v1/spaces/" + s.id + "/broadcasts/" + want + "/whep", token,
                             $("program-video"));
    if (space !== s) return close();
    s.programClose = close;
    $("program-msg").textContent = "";
  } catch (e) {
    $("program-msg").textContent = "Program preview unavailable: " + e.message;
    /* Asked again by the poll after that: the refusal is forgotten. */
    if (e.retryAfter && space === s)
      setTimeout(() => { if (s.programFor === want && !s.programClose) s.programFor = null; },
                 e.retryAfter * 1000);
  }
}

function openStreams() {
  show("streams");
  const revealed = new Set();
  let ingest = null;
  every(1000, async () => {
    ingest = ingest || await api("GET", "/console/ingest.json");
    const streams = await api("GET", "/video/v1/live-streams?limit=100");
    const rtmp = "rtmp://" + location.hostname + ":" + ingest.rtmp_port + "/app";
    $("streams").replaceChildren(...streams.map((ls) => {
      const base = "/video/v1/live-streams/" + ls.id;
      const confirmed = (what, fn) => () => act(async () => {
        if (confirm(what + " live stream " + ls.id + "?")) await fn();
      });
      /* Mux's SRT URL shape, where the daemon listens for SRT. */
      const srt = ingest.srt_port && ls.srt_passphrase
        ? "srt://" + location.hostname + ":" + ingest.srt_port + "?streamid=" +
          encodeURIComponent(ls.stream_key) + "&passphrase=" + encodeURIComponent(ls.srt_passphrase)
        : null;
      const secret = revealed.has(ls.id)
        ? el("span", {}, el("code", { "data-rtmp": "" }, rtmp), " key ", el("code", { "data-key": "" }, ls.stream_key),
             button("Copy", "Copy RTMP URL and key of " + ls.id, () =>
               act(() => navigator.clipboard.writeText(rtmp + "/" + ls.stream_key))),
             srt ? el("span", {}, " SRT ", el("code", { "data-srt": "" }, srt),
                      button("Copy", "Copy SRT URL of " + ls.id, () =>
                        act(() => navigator.clipboard.writeText(srt)))) : "")
        : button("Reveal", "Reveal RTMP URL and key of " + ls.id, () => revealed.add(ls.id));
      return el("li", { "data-live-stream": ls.id },
        el("span", { class: "status", "data-status": ls.status }, ls.status),
        el("code", {}, ls.id), secret,
        button("Enable", "Enable " + ls.id, confirmed("Enable", () => api("PUT", base + "/enable"))),
        button("Disable", "Disable " + ls.id, confirmed("Disable", () => api("PUT", base + "/disable"))),
        button("Complete", "Complete " + ls.id, confirmed("Complete", () => api("PUT", base + "/complete"))),
        button("Reset key", "Reset stream key of " + ls.id,
               confirmed("Reset the key of", () => api("POST", base + "/reset-stream-key"))));
    }));
  });
}

function openAssets() {
  show("assets");
  every(3000, async () => {
    const assets = await api("GET", "/video/v1/assets?limit=100");
    $("assets").replaceChildren(...assets.map((a) => {
      /* Thumbnails and the MP4 exist once the asset is ready. */
      const pid = a.status === "ready" ? (a.playback_ids || [])[0] : null;
      const thumb = pid ? el("img", { src: "/image/" + pid.id + "/thumbnail.jpg?width=160",
                                      alt: "Thumbnail of " + a.id, width: "160" }) : "";
      return el("li", { "data-asset": a.id }, thumb,
        el("span", { class: "status", "data-status": a.status }, a.status),
        el("code", {}, a.id), el("span", {}, a.duration ? a.duration.toFixed(1) + " s" : ""),
        pid ? button("Play", "Play asset " + a.id, () => {
          $("asset-player").hidden = false;
          $("asset-player").src = "/stream/" + pid.id + "/highest.mp4";
          $("asset-player").play();
        }) : "",
        button("Delete", "Delete asset " + a.id, () => act(async () => {
          if (confirm("Delete asset " + a.id + "?")) await api("DELETE", "/video/v1/assets/" + a.id);
        })));
    }));
  });
}

$("signin").addEventListener("submit", (e) => {
  e.preventDefault();
  act(() => signIn($("token-id").value, $("token-secret").value));
});
$("signout").addEventListener("click", () => {
  clearCredentials();
  $("nav").hidden = true;
  setConn("signed-out", "signed out");
  show("signin");
});
for (const b of document.querySelectorAll("nav [data-view]"))
  b.addEventListener("click", () => ({ spaces: openSpaces, streams: openStreams, assets: openAssets })[b.dataset.view]());
$("ls-create").addEventListener("click", () => act(() =>
  api("POST", "/video/v1/live-streams", { playback_policy: ["public"], new_asset_settings: { playback_policy: ["public"] } })));
$("bc-create").addEventListener("click", () => act(async () => {
  const ls = await api("POST", "/video/v1/live-streams", { playback_policy: ["public"] });
  const b = await api("POST", "/video/v1/spaces/" + space.id + "/broadcasts", { live_stream_id: ls.id });
  space.broadcastId = b.id;
  await refreshSpace();
}));
$("labels").addEventListener("change", () => act(() =>
  patchBroadcast({ layout_options: { labels: $("labels").checked } })));
document.addEventListener("keydown", (e) => {
  if (!space || e.target.tagName === "INPUT") return;
  const i = Number(e.key) - 1;
  if (i >= 0 && i < LAYOUTS.length) act(() => setLayout(LAYOUTS[i]));
});

if (credentials()) {
  $("nav").hidden = false;
  openSpaces();
}
