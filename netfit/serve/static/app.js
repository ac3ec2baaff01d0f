// The playground page: settings in the URL, live training over Server-Sent Events, drawing, mistakes, weights.
import {bars, fmt, heat, imageCanvas, legend, signLegend} from "./plots.js";
import {drawingPad, oneAtATime} from "./pad.js";
import {deltaPanels, epochCurves, lossTrail, prediction, weightTiles} from "./panels.js";

const $ = (id) => document.getElementById(id);
const token = new URLSearchParams(location.search).get("token") || "";
const KNOBS = ["data", "preset", "optimizer", "lr", "momentum", "batch_size", "weight_decay", "init_scale",
               "standardize", "seed", "epochs", "limit", "test_limit"];
const page = {settings: null, history: [], lastEvent: 0, statusEvent: 0, names: [], status: null, tab: "train",
              hover: {}, updates: [], busy: false, pending: false, looks: 0, trail: {key: null, items: []}};
window.__netfit = page;                       // for the browser tests and the measurements in docs/serve.md

async function api(path, {method = "GET", body, json} = {}) {
  const headers = token ? {"X-Netfit-Token": token} : {};
  if (json !== undefined) { headers["Content-Type"] = "application/json"; body = JSON.stringify(json); }
  const response = await fetch(path, {method, body, headers});
  const type = response.headers.get("content-type") || "";
  const data = type.includes("json") ? await response.json() : await response.text();
  if (!response.ok) throw new Error(data.error || `${response.status} ${response.statusText}`);
  return data;
}

// Errors by what failed ("drawing", "train", "settings", ...): a later success of the same thing clears its own,
// so a stale "no ink" cannot sit beside a good prediction, and a wrong knob stays shown while one draws.
const errors = new Map();
function showError(error, source) {
  if (error) errors.set(source, String(error.message || error)); else errors.delete(source);
  $("error").textContent = [...errors.values()].join("\n");
}

// -- settings <-> form <-> URL ------------------------------------------------------------------
// One layer per line: readable in the text area and short enough for the page's address.
function formatArchitecture(spec) {
  return `{"input_shape": ${JSON.stringify(spec.input_shape)}, "layers": [\n` +
    spec.layers.map((l) => "  " + JSON.stringify(l)).join(",\n") + "\n]}";
}

let editTimer = null;
$("architecture").addEventListener("input", () => {
  page.edited = true;
  clearTimeout(editTimer);
  editTimer = setTimeout(async () => {
    let spec;
    try { spec = JSON.parse($("architecture").value); }
    catch (e) { showError(`architecture: expected JSON, got a syntax error (${e.message}).`, "layers"); return; }
    try {
      const r = await api("/api/summary", {method: "POST", json: {architecture: spec}});
      showError(null, "layers");
      $("summary").textContent = r.text + "\n(edited layers: press Apply to train them)";
    } catch (e) { showError(e, "layers"); }
  }, 250);
});

function readForm() {
  const s = {};
  for (const key of KNOBS) {
    const el = $(key);
    if (el.type === "checkbox") s[key] = el.checked;
    else if (el.tagName === "SELECT" && !["batch_size"].includes(key)) s[key] = el.value;
    else s[key] = el.value === "" ? null : Number(el.value);
  }
  if (page.edited) {
    try { s.architecture = JSON.parse($("architecture").value); s.preset = "custom"; }
    catch (e) { showError(`architecture: expected JSON, got a syntax error (${e.message}).`, "layers"); }
  }
  return s;
}

function fillForm(s) {
  for (const key of KNOBS) {
    const el = $(key);
    if (el.type === "checkbox") el.checked = !!s[key];
    else el.value = s[key] === null || s[key] === undefined ? "" : s[key];
  }
}

function settingsFromHash() {
  const params = new URLSearchParams(location.hash.slice(1));
  const s = {};
  for (const key of KNOBS) {
    if (!params.has(key)) continue;
    const v = params.get(key);
    s[key] = key === "standardize" ? v === "1" : ["data", "preset", "optimizer"].includes(key) ? v : Number(v);
  }
  if (params.has("architecture")) {
    try { s.architecture = JSON.parse(params.get("architecture")); } catch (e) { /* ignored: the preset stays */ }
  }
  return {settings: s, tab: params.get("tab")};
}

function writeHash() {
  const params = new URLSearchParams();
  for (const key of KNOBS) {
    const v = page.settings[key];
    if (v === null || v === undefined) continue;
    params.set(key, key === "standardize" ? (v ? "1" : "0") : String(v));
  }
  if (page.settings.architecture) params.set("architecture", JSON.stringify(page.settings.architecture));
  params.set("tab", page.tab);
  history.replaceState(null, "", location.pathname + location.search + "#" + params.toString());
  $("share-address").value = location.origin + addressWithoutToken();
}

// The token opens this server only. Once the cookie carries it (the page's own response set it), the address
// drops it, so a reload still works and what is copied from the address bar is the setup, never the key: a
// foreign ?token= would only ride along into another playground. Without cookies the token stays.
function addressWithoutToken() {
  const params = new URLSearchParams(location.search);
  params.delete("token");
  const query = params.toString();
  return location.pathname + (query ? "?" + query : "") + location.hash;
}

async function dropTokenFromAddress() {
  if (!new URLSearchParams(location.search).has("token")) return;
  const cookieOnly = await fetch("/api/options", {credentials: "same-origin"});      // no header, no query
  if (cookieOnly.ok) history.replaceState(null, "", addressWithoutToken());
}

$("copy-address").addEventListener("click", async () => {
  const field = $("share-address");
  field.value = location.origin + addressWithoutToken();
  try { await navigator.clipboard.writeText(field.value); $("copied").textContent = "copied"; }
  catch (e) { field.select(); $("copied").textContent = "selected: press Ctrl-C (⌘-C) to copy"; }
});

// -- state ----------------------------------------------------------------------------------------
function render(state, {form = true} = {}) {
  page.settings = state.settings;
  page.names = state.metadata.class_names;
  page.history = state.training.history.slice();
  page.lastEvent = Math.max(page.lastEvent, state.training.last_event);
  if (form) {
    fillForm(state.settings);
    $("architecture").value = formatArchitecture(state.summary.architecture);
    page.edited = false;
  }
  if (!page.edited) {                        // an edited net's preview stays until Apply or a new preset
    $("summary").textContent = state.summary.text +
      `\n${state.summary.train_size.toLocaleString()} training and ${state.summary.test_size.toLocaleString()} test examples`;
  }
  showStatus(state.training, state.training.last_event);
  drawCurves();
  writeHash();
  clearPad();
  if (page.tab === "mistakes") refreshMistakes();
  if (page.tab === "inside") refreshWeights();
  if (page.tab === "share") refreshCode();
}

function setStatus(state, info = {}) {
  page.status = state;
  if (info.epochs !== undefined) page.lastEpoch = info.epochs;   // the epoch this run ends at, over all runs
  const epochs = page.lastEpoch ?? (page.settings ? page.settings.epochs : "");
  $("status").textContent = `${state} · ${page.settings.preset} on ${page.settings.data}`;
  $("status").dataset.state = state;
  $("start").disabled = state === "running";
  $("pause").disabled = state !== "running";
  if ("error" in info) showError(info.error, "train");        // an answer's run: its error, or none
  if ((state === "ready" || state === "done") && info.steps !== undefined)
    $("progress").textContent = `epoch ${page.history.length} of ${epochs} done · ${info.steps} steps`;
}

// The training state reaches the page twice: as a "state" event (its id) and in answers (a control's, /api/state),
// whose last_event is the newest event they include. The two race: Net-1 on 320 digits trains in milliseconds, so
// the stream's "done" can arrive before Start's answer "running". The newer wins; an older one only relabels.
function showStatus(info, version) {
  if (version >= page.statusEvent) { page.statusEvent = version; setStatus(info.state, info); }
  else setStatus(page.status);
}

function drawCurves() {
  page.hover = epochCurves($("loss-chart"), $("acc-chart"), page.history);
}

for (const [id, key] of [["loss-chart", "loss"], ["acc-chart", "acc"]]) {
  $(id).addEventListener("mousemove", (e) => {
    const text = page.hover[key] && page.hover[key](e.offsetX * $(id).width / $(id).clientWidth);
    const tip = $("tooltip");
    tip.hidden = !text; tip.textContent = text || "";
    tip.style.left = e.pageX + 12 + "px"; tip.style.top = e.pageY + 12 + "px";
  });
  $(id).addEventListener("mouseleave", () => { $("tooltip").hidden = true; });
}

// -- live training ---------------------------------------------------------------------------------
let source = null;
function connect() {
  if (source) source.close();
  source = new EventSource(`/api/events?after=${page.lastEvent}&token=${encodeURIComponent(token)}`);
  const on = (kind, fn) => source.addEventListener(kind, (e) => {
    // The EventSource's own "error" (the connection dropped; it reconnects with Last-Event-ID by itself)
    // carries no data: only the server's events do.
    if (typeof e.data !== "string") return;
    page.lastEvent = Math.max(page.lastEvent, Number(e.lastEventId));
    fn(JSON.parse(e.data), Number(e.lastEventId));
  });
  on("batch", (b) => {
    page.updates.push(performance.now());
    if (page.status === "paused" && page.current && $("backprop").childElementCount) backprop();
    $("progress").textContent = `epoch ${b.epoch + 1} of ${page.lastEpoch ?? page.settings.epochs} · batch ${b.batch} of ${b.of}` +
      ` · running loss ${fmt(b.loss)} · accuracy ${(100 * b.accuracy).toFixed(2)}%`;
  });
  on("epoch", (row) => {
    if (!page.history.some((r) => r.epoch === row.epoch)) page.history.push(row);
    drawCurves();
    if (page.tab === "mistakes") refreshMistakes();
    if (page.tab === "inside") refreshWeights();
  });
  on("state", (s, id) => showStatus(s, id));
  on("error", (e) => showError(e.message, "train"));
  on("reset", async () => {                // a reset, new settings or weights (here or in another tab)
    // Compared once the state is here: this page's own Apply may have rendered the same settings meanwhile.
    // Knobs and layers being edited are kept when nothing changed, and layers being edited always.
    const state = await api("/api/state");
    const same = JSON.stringify(state.settings) === JSON.stringify(page.settings);
    render(state, {form: !same && !page.edited});
  });
}

async function control(action) {
  try { const s = await api(`/api/train/${action}`, {method: "POST"}); showError(null, "train"); showStatus(s, s.last_event); }
  catch (e) { showError(e, "train"); }
}
for (const action of ["start", "pause", "step", "reset"]) $(action).addEventListener("click", () => control(action));

async function apply(settings) {
  $("status").textContent = "building…";
  try {
    render(await api("/api/settings", {method: "POST", json: settings}));
    showError(null, "settings"); showError(null, "layers");
  } catch (e) { showError(e, "settings"); setStatus(page.status || "ready"); }
}
$("apply").addEventListener("click", () => apply(readForm()));
$("data").addEventListener("change", () => apply(readForm()));
$("preset").addEventListener("change", () => {
  if ($("preset").value === "custom") { $("editor").open = true; page.edited = true; }
  else page.edited = false;
  apply(readForm());
});

// -- tabs ---------------------------------------------------------------------------------------------
function showTab(tab) {
  page.tab = tab;
  document.querySelectorAll("#tabs button").forEach((b) => b.classList.toggle("active", b.dataset.tab === tab));
  document.querySelectorAll(".tab").forEach((s) => s.classList.toggle("active", s.id === "tab-" + tab));
  if (page.settings) writeHash();
  if (tab === "mistakes") refreshMistakes();
  if (tab === "inside") refreshWeights();
  if (tab === "share") refreshCode();
}
document.querySelectorAll("#tabs button").forEach((b) => b.addEventListener("click", () => showTab(b.dataset.tab)));

// -- drawing --------------------------------------------------------------------------------------------
// Live while drawing (one request in flight at a time), and once more when the pen is lifted.
const pad = drawingPad($("pad"), {onStroke: () => { $("example-label").textContent = ""; predict(); }, onLift: () => predict()});
function clearPad() {
  pad.clear();
  $("example-label").textContent = ""; $("prediction").textContent = "";
  $("probs").innerHTML = ""; $("activations").innerHTML = "";
  $("seen").getContext("2d").clearRect(0, 0, 168, 168);
  $("backprop").innerHTML = ""; $("backprop-loss").textContent = ""; $("legend-delta").innerHTML = "";
  page.current = null; page.targetChosen = false; page.sheet = (page.sheet || 0) + 1;
  showError(null, "drawing"); showError(null, "backprop");      // they were about this drawing
}
$("clear").addEventListener("click", clearPad);

const predict = oneAtATime(page, async () => {
  if (!pad.ink) return;
  const sheet = page.sheet;
  try {
    const blob = await pad.png();
    const r = await api("/api/predict", {method: "POST", body: blob});
    if (sheet === page.sheet) { page.current = {blob, id: ++page.looks}; showLook(r); showError(null, "drawing"); }   // not cleared meanwhile
  } catch (e) { if (sheet === page.sheet) showError(e, "drawing"); }
});

function showLook(r) {
  const best = prediction($("seen"), $("probs"), $("prediction"), r, page.names);
  showActivations(r.layers);
  if (page.current && page.current.blob && !page.targetChosen) $("target").value = best;
  if (page.status !== "running" && $("backprop").childElementCount) backprop();
}

// δ and gradients of one example, each panel linked to its equation in docs/backprop.md and to the code.
const DOC = "/docs/backprop.md#";
async function backprop() {
  if (!page.current) { $("backprop-loss").textContent = "draw a digit or open one from the mistakes first"; return; }
  const label = Number($("target").value), sheet = page.sheet;
  try {
    const r = page.current.blob
      ? await api(`/api/backprop?label=${label}`, {method: "POST", body: page.current.blob})
      : await api(`/api/backprop/${page.current.index}?label=${label}`);
    if (sheet !== page.sheet) return;                 // the canvas changed meanwhile
    showBackprop(r);
    showError(null, "backprop");
  } catch (e) { if (sheet === page.sheet) showError(e, "backprop"); }
}
$("backprop-go").addEventListener("click", backprop);
$("target").addEventListener("change", () => { page.targetChosen = true; backprop(); });

function showBackprop(r) {
  page.shown = r;                                    // the answer on screen (the browser tests read it)
  signLegend($("legend-delta"), "colour of δ and of ∂R/∂kernel, in bars and images");
  lossTrail($("backprop-loss"), page.trail, `${page.current.id}:${r.label}`, r, page.names);
  deltaPanels($("backprop"), r, page.names, {docs: DOC, source: "/source/"});
}

function showActivations(layers) {
  const box = $("activations");
  box.innerHTML = "";
  legend($("legend-act"), heat, "lowest", "highest", "feature maps: activation, from the layer's lowest to its highest value");
  signLegend($("legend-act-bars"), "bars (dense units): activation");
  for (const layer of layers) {
    if (["Flatten", "Reshape", "Dropout"].includes(layer.type)) continue;
    const v = layer.values;
    const lo = Math.min(...v), hi = Math.max(...v), span = hi - lo || 1;
    const panel = document.createElement("div"); panel.className = "layer";
    const title = document.createElement("h3");
    title.textContent = `${layer.name} (${layer.type}) → ${layer.shape.join("×")} · values ${fmt(lo)} … ${fmt(hi)}`;
    panel.append(title);
    if (layer.shape.length === 3) {
      const [h, w, c] = layer.shape;
      const maps = document.createElement("div"); maps.className = "tiles";
      for (let k = 0; k < c; k++) {
        const m = Array.from({length: h * w}, (_, i) => (v[i * c + k] - lo) / span);
        const tile = imageCanvas(m, h, w, Math.max(1, Math.round(48 / h)), heat);
        tile.title = `map ${k + 1}`; maps.append(tile);
      }
      panel.append(maps);
    } else {
      const shown = v.slice(0, 128);
      const div = document.createElement("div"); div.className = "unit-bars";
      bars(div, shown, shown.map((_, i) => layer === layers[layers.length - 1] ? page.names[i] : `${i + 1}`),
           {signed: true});
      panel.append(div);
      if (v.length > shown.length) panel.append(`(first ${shown.length} of ${v.length} units)`);
    }
    box.append(panel);
  }
}

async function loadExample(index) {
  try {
    const r = await api(`/api/example/${index}`);
    const [h, w] = r.seen.shape;
    const small = imageCanvas(r.seen.pixels, h, w, 1, (v) => [v, v, v]);
    pad.show(small);
    showTab("draw");
    page.current = {index, label: r.label, id: ++page.looks};
    page.sheet = (page.sheet || 0) + 1;                                      // a new digit in the canvas
    $("target").value = r.label;
    showLook(r);
    $("example-label").textContent = `test example #${index}, true digit ${page.names[r.label]}`;
    showError(null, "drawing");
  } catch (e) { showError(e, "drawing"); }
}

// -- mistakes -------------------------------------------------------------------------------------------
async function refreshMistakes() {
  try {
    const m = await api(`/api/mistakes?order=${$("order").value}`);
    $("mistake-count").textContent = `${m.errors.toLocaleString()} errors in ${m.total.toLocaleString()} test digits ` +
      `(accuracy ${(100 * m.accuracy).toFixed(2)}%)`;
    const gallery = $("gallery"); gallery.innerHTML = "";
    for (const e of m.shown) {
      const item = document.createElement("button"); item.className = "mistake";
      const [h, w] = e.shape;
      item.append(imageCanvas(e.pixels, h, w, Math.round(84 / h), (v) => [v, v, v]));
      const caption = document.createElement("span");
      caption.textContent = `True digit: ${m.class_names[e.true]}, Prediction: ${m.class_names[e.predicted]}`;
      const conf = document.createElement("small"); conf.textContent = `p = ${e.confidence.toFixed(3)} · #${e.index}`;
      item.append(caption, conf);
      item.addEventListener("click", () => loadExample(e.index));
      gallery.append(item);
    }
    const table = $("confusion"); table.innerHTML = "";
    const head = table.insertRow(); head.insertCell().textContent = "";
    m.class_names.forEach((n) => { head.insertCell().textContent = n; });
    const top = Math.max(...m.confusion.flat());
    m.confusion.forEach((row, i) => {
      const tr = table.insertRow(); tr.insertCell().textContent = m.class_names[i];
      row.forEach((count, j) => {
        const cell = tr.insertCell(); cell.textContent = count;
        const t = count / top;
        cell.style.background = i === j ? `rgba(31,111,235,${0.15 + 0.6 * t})` : count ? `rgba(217,72,15,${0.15 + 0.85 * Math.sqrt(t)})` : "";
        cell.title = `true ${m.class_names[i]}, predicted ${m.class_names[j]}: ${count}`;
      });
    });
    showError(null, "mistakes");
  } catch (e) { showError(e, "mistakes"); }
}
$("refresh-mistakes").addEventListener("click", refreshMistakes);
$("order").addEventListener("change", refreshMistakes);

// -- look inside: first-layer weights ------------------------------------------------------------------
async function refreshWeights() {
  try {
    weightTiles($("weights"), $("weights-title"), $("legend-w"), await api("/api/first-layer"));
    showError(null, "inside");
  } catch (e) { showError(e, "inside"); }
}
$("refresh-weights").addEventListener("click", refreshWeights);

// -- keep and share -------------------------------------------------------------------------------------
async function refreshCode() {
  try { $("code").textContent = await api("/api/export.py"); showError(null, "share"); } catch (e) { showError(e, "share"); }
}
// Uploads answer in any order: each answer renders the server's state, but only the last file chosen
// says whether uploading worked (a slow good file answering late once hid a quick bad file's error).
let uploads = 0;
$("upload").addEventListener("change", async () => {
  const file = $("upload").files[0];
  if (!file) return;
  const mine = ++uploads;
  $("upload").value = "";
  try {
    const state = await api(`/api/weights?name=${encodeURIComponent(file.name)}`, {method: "POST", body: file});
    render(state);
    if (mine === uploads) showError(null, "upload");
  } catch (e) { if (mine === uploads) showError(e, "upload"); }
});

// A pasted or edited address (#...) applies its settings, as on opening the page.
window.addEventListener("hashchange", () => {
  const wanted = settingsFromHash();
  const differs = Object.entries(wanted.settings).some(([k, v]) => JSON.stringify(page.settings[k]) !== JSON.stringify(v));
  if (differs) apply({...page.settings, ...wanted.settings});
  if (wanted.tab && wanted.tab !== page.tab) showTab(wanted.tab);
});

// -- start ----------------------------------------------------------------------------------------------
async function init() {
  try {
    await dropTokenFromAddress();
    const options = await api("/api/options");
    for (let k = 0; k < 10; k++) $("target").add(new Option(String(k), String(k)));
    for (const [id, table] of [["data", options.datasets], ["preset", options.presets]])
      for (const [key, label] of Object.entries(table)) $(id).add(new Option(label, key));
    let state = await api("/api/state");
    const wanted = settingsFromHash();
    const differs = Object.entries(wanted.settings).some(([k, v]) => JSON.stringify(state.settings[k]) !== JSON.stringify(v));
    if (differs) state = await api("/api/settings", {method: "POST", json: {...state.settings, ...wanted.settings}});
    render(state);
    showTab(wanted.tab || "train");
    connect();
    document.body.dataset.ready = "1";
  } catch (e) { showError(e, "page"); $("status").textContent = "error"; }
}
init();
