// mini-genie play page: frames arrive over a WebSocket (raw RGB bytes + a JSON "frame" message per step);
// actions, resets and uploads go to the JSON API of the same server. See genie/play/server.py for the protocol.
"use strict";

const KEY_LABELS = { ArrowLeft: "←", ArrowRight: "→", ArrowUp: "↑", ArrowDown: "↓", Space: "space" };
const $ = (id) => document.getElementById(id);

// Exposed for the browser test and for curious players (open the console).
const state = window.geniePlay = {
  info: null, session: null, frames: 0, pageFps: 0, last: null, history: [], keymap: {}, connected: false,
  starts: 0, startStep: 0,  // starts streamed so far; the step count when the latest one arrived
};
let context = null;
let image = null;
const frameTimes = [];
const heldKeys = [];  // key codes (or "button:k") currently down, the latest last
let sentAction = undefined;

function actionHue(a) { return (a * 360 / state.info.num_actions + 30) % 360; }

function say(text, isError = false) {
  $("message").textContent = text;
  $("message").className = isError ? "error" : "";
}

async function api(path, options = {}) {
  const response = await fetch(`/api/sessions/${state.session}/${path}`, options);
  const body = await response.json().catch(() => ({ error: `HTTP ${response.status}` }));
  if (!response.ok) throw new Error(body.error || `HTTP ${response.status}`);
  return body;
}

async function post(path, body) {
  return api(path, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
}

// ------------------------------------------------------------------ key map (arrows / space -> latent actions)
function storageKey() { return `genie-play-keys:${state.info.run}:${state.info.num_actions}`; }

function loadKeymap() {
  state.keymap = { ...state.info.keys };
  try {
    const saved = JSON.parse(localStorage.getItem(storageKey()) || "null");
    if (saved && typeof saved === "object") state.keymap = saved;
  } catch (e) { /* a broken entry: keep the server's default */ }
}

function assignKey(action, key) {
  for (const [k, a] of Object.entries(state.keymap)) if (a === action || k === key) delete state.keymap[k];
  if (key) state.keymap[key] = action;
  localStorage.setItem(storageKey(), JSON.stringify(state.keymap));
  renderTiles();
  renderHelp();
}

function keyOf(action) { return Object.keys(state.keymap).find((k) => state.keymap[k] === action) || ""; }

// ------------------------------------------------------------------ holding actions
function actionOfKey(event) {
  const n = Number(event.key);
  if (/^[1-9]$/.test(event.key) && n <= state.info.num_actions) return n - 1;
  if (event.code in state.keymap) return state.keymap[event.code];
  return null;
}

function actionOfHeld(entry) {
  if (entry.startsWith("button:")) return Number(entry.slice(7));
  if (entry.startsWith("digit:")) return Number(entry.slice(6));
  return state.keymap[entry];
}

async function sendHeld() {
  const action = heldKeys.length ? actionOfHeld(heldKeys[heldKeys.length - 1]) : null;
  if (action === sentAction || !state.session) return;
  sentAction = action;
  document.querySelectorAll(".action").forEach((b) => b.classList.toggle("held", Number(b.dataset.action) === action));
  document.querySelectorAll(".tile").forEach((t) => t.classList.toggle("held", Number(t.dataset.action) === action));
  try { await post("action", { action }); } catch (e) { say(e.message, true); }
}

function press(entry) { release(entry); heldKeys.push(entry); sendHeld(); }
function release(entry) {
  const i = heldKeys.indexOf(entry);
  if (i >= 0) heldKeys.splice(i, 1);
  sendHeld();
}

function typing(event) { return ["INPUT", "SELECT", "TEXTAREA"].includes(event.target.tagName); }

document.addEventListener("keydown", (event) => {
  if (!state.info || typing(event) || event.ctrlKey || event.metaKey || event.altKey) return;
  if (event.key === "r" || event.key === "R") { reset({ source: "again" }); return; }
  const action = actionOfKey(event);
  if (action === null) return;
  event.preventDefault();  // arrows and space would scroll the page
  if (!event.repeat) press(/^[1-9]$/.test(event.key) ? `digit:${action}` : event.code);
});

document.addEventListener("keyup", (event) => {
  if (!state.info) return;
  const action = actionOfKey(event);
  if (action !== null) release(/^[1-9]$/.test(event.key) ? `digit:${action}` : event.code);
});

window.addEventListener("blur", () => { heldKeys.length = 0; sendHeld(); });

// ------------------------------------------------------------------ rendering
function renderButtons() {
  const box = $("buttons");
  box.replaceChildren();
  for (let a = 0; a < state.info.num_actions; a++) {
    const button = document.createElement("button");
    button.type = "button";
    button.className = "action";
    button.dataset.action = a;
    button.textContent = `${a + 1} · a=${a}`;
    button.title = `hold: latent action ${a} (key ${a + 1})`;
    button.addEventListener("pointerdown", (e) => { button.setPointerCapture(e.pointerId); press(`button:${a}`); });
    button.addEventListener("pointerup", () => release(`button:${a}`));
    button.addEventListener("pointercancel", () => release(`button:${a}`));
    box.appendChild(button);
  }
}

function renderTiles() {
  const box = $("previews");
  const images = [...box.querySelectorAll("img")].map((img) => img.src);
  box.replaceChildren();
  for (let a = 0; a < state.info.num_actions; a++) {
    const tile = document.createElement("div");
    tile.className = "tile";
    tile.dataset.action = a;
    const img = document.createElement("img");
    img.alt = `preview of latent action ${a}`;
    if (images[a]) img.src = images[a];
    const caption = document.createElement("span");
    caption.textContent = `a=${a} · key ${a + 1}${a === state.info.default_action ? " · default" : ""}`;
    const select = document.createElement("select");
    select.setAttribute("aria-label", `key for latent action ${a}`);
    for (const key of ["", ...Object.keys(KEY_LABELS)]) {
      const option = document.createElement("option");
      option.value = key;
      option.textContent = key ? `key ${KEY_LABELS[key]}` : "no arrow key";
      select.appendChild(option);
    }
    select.value = keyOf(a);
    select.addEventListener("change", () => { assignKey(a, select.value); select.blur(); });
    tile.append(img, caption, select);
    box.appendChild(tile);
  }
}

function renderHelp() {
  const mapped = Object.entries(state.keymap).map(([k, a]) => `${KEY_LABELS[k]} = a=${a}`).join(", ");
  $("help").textContent = `Hold 1…${state.info.num_actions} (or a button) to act; ${mapped || "no arrow keys mapped"}. ` +
    `No key: a=${state.info.default_action}. R: reset.` +
    (state.info.key_controller ? " Arrow keys and no key act as the game's controls: the key controller picks " +
      "each frame's latent action for them (LEFT, RIGHT, JUMP, NOTHING), so the action shown may differ." : "");
}

function renderHistory() {
  const box = $("history");
  box.replaceChildren(...state.history.map((a) => {
    const chip = document.createElement("span");
    chip.className = "chip";
    chip.textContent = a;
    chip.style.background = `hsl(${actionHue(a)} 70% 62%)`;
    return chip;
  }));
}

function drawFrame(buffer) {
  const rgb = new Uint8Array(buffer);
  const rgba = image.data;
  for (let i = 0, j = 0; i < rgb.length; i += 3, j += 4) {
    rgba[j] = rgb[i]; rgba[j + 1] = rgb[i + 1]; rgba[j + 2] = rgb[i + 2]; rgba[j + 3] = 255;
  }
  context.putImageData(image, 0, 0);
  const now = performance.now();
  frameTimes.push(now);
  while (frameTimes.length && frameTimes[0] < now - 1000) frameTimes.shift();
  state.frames += 1;
  state.pageFps = frameTimes.length > 1 ? (frameTimes.length - 1) * 1000 / (now - frameTimes[0]) : 0;
}

function onStats(message) {
  state.last = message;
  state.history.push(message.action);
  if (state.history.length > 64) state.history.shift();
  if (state.frames % 3 === 0) {  // text read-outs need not change at the full frame rate
    $("page-fps").textContent = state.pageFps.toFixed(1);
    $("model-rate").textContent = message.model_steps_per_second.toFixed(0);
    $("step").textContent = message.step;
    $("current-action").textContent = `a=${message.action}`;
    renderHistory();
  }
}

function onStart(message) {
  const where = { episode: `held-out episode ${message.episode}, frame ${message.frame}`,
    upload: `${message.file}, frame ${message.frame}`, blank: "a blank frame (no held-out episodes)" };
  $("start-info").textContent = `Started from ${where[message.source] || message.source}.`;
  if (message.source === "episode") { $("episode").value = message.episode; $("frame").value = message.frame; }
}

function onPreviews(message) {
  document.querySelectorAll("#previews img").forEach((img, a) => { img.src = message.images[a]; });
}

// ------------------------------------------------------------------ starting
async function reset(body) {
  try { onStart(await post("reset", body)); say(""); } catch (e) { say(e.message, true); }
}

async function upload(event) {
  event.preventDefault();
  if (!$("file").files.length) { say("pick an image or a video first", true); return; }
  const form = new FormData($("upload-form"));
  try { onStart(await api("upload", { method: "POST", body: form })); say(""); } catch (e) { say(e.message, true); }
}

function connect() {
  const ws = new WebSocket(`${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/ws`);
  ws.binaryType = "arraybuffer";
  ws.addEventListener("message", (event) => {
    if (typeof event.data !== "string") { drawFrame(event.data); return; }
    const message = JSON.parse(event.data);
    if (message.type === "hello") {
      state.session = message.session;
      state.connected = true;
      $("status").textContent = "connected";
      $("download-gif").href = `/api/sessions/${state.session}/recording.gif`;
      $("download-mp4").href = `/api/sessions/${state.session}/recording.mp4`;
    } else if (message.type === "frame") onStats(message);
    else if (message.type === "start") {
      state.starts += 1;
      state.startStep = state.last ? state.last.step : 0;
      onStart(message);
    }
    else if (message.type === "previews") onPreviews(message);
    else if (message.type === "error") say(message.message, true);
  });
  ws.addEventListener("close", () => {
    state.connected = false;
    $("status").textContent = "disconnected: reload the page to play again";
  });
}

async function main() {
  const response = await fetch("/api/info");
  state.info = await response.json();
  const info = state.info;
  $("run").textContent = info.run;
  $("target-fps").textContent = info.fps;
  $("record-limit").textContent = `${info.record_frames} frames, ${Math.round(info.record_frames / info.fps)} s`;
  const view = $("view");
  view.width = view.height = info.frame_size;
  view.style.width = view.style.height = `${info.frame_size * info.scale}px`;
  context = view.getContext("2d");
  image = context.createImageData(info.frame_size, info.frame_size);
  loadKeymap();
  renderButtons();
  renderTiles();
  renderHelp();
  const episodes = $("episode");
  for (const e of info.episodes) {
    const option = document.createElement("option");
    option.value = e.name;
    option.textContent = `${e.name} (${e.length} frames)`;
    episodes.appendChild(option);
  }
  $("episode-row").hidden = $("random").hidden = info.episodes.length === 0;
  $("random").addEventListener("click", () => reset({ source: "random" }));
  $("reset").addEventListener("click", () => reset({ source: "again" }));
  $("start-episode").addEventListener("click", () =>
    reset({ source: "episode", episode: episodes.value, frame: Number($("frame").value) }));
  $("upload-form").addEventListener("submit", upload);
  $("refresh-previews").addEventListener("click", async () => {
    try { await post("previews", {}); } catch (e) { say(e.message, true); }
  });
  connect();
}

main().catch((e) => say(`could not start: ${e.message}`, true));
