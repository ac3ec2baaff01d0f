// The playground's panels in a notebook cell (netfit/notebook/widget.py): anywidget's render({model, el}).
//
// Reuse without a build step or a second copy: anywidget hands this file to the browser as a Blob URL, where
// `import ... from "../serve/static/plots.js"` has nothing to resolve against. So the kernel sends the
// playground's own modules (netfit/serve/static/plots.js, pad.js, panels.js, read from the installed package)
// in the trait _modules, dependencies first, and link() below loads each from a Blob URL of its own, its
// `from "./x.js"` rewritten to the Blob URL of x.js (sent before it). The modules run here exactly as in
// `netfit serve`; the playground's style.css comes the same way (widget.py nests it under .netfit-playground).
//
// Kernel and widget talk through traits (settings, status, progress, history, ...: the kernel writes, the
// widget draws) and custom messages ({do, id} -> an answer with the same id, or {kind: "error", message}).

const linked = new Map();                 // the modules' sources -> their namespaces (one link per page)

function load(modules) {
  const key = JSON.stringify(modules);
  if (!linked.has(key)) linked.set(key, link(modules));
  return linked.get(key);
}

async function link(modules) {
  const urls = {}, loaded = {};
  for (const [name, source] of modules) {
    const code = source.replace(/(\bfrom\s*["'])\.\/([\w-]+\.js)(["'])/g, (whole, before, dependency, after) => {
      if (!(dependency in urls)) throw new Error(`netfit widget: ${name} imports ./${dependency}, not sent before it`);
      return before + urls[dependency] + after;
    });
    urls[name] = URL.createObjectURL(new Blob([code], {type: "text/javascript"}));
    loaded[name.replace(/\.js$/, "")] = await import(urls[name]);
  }
  return loaded;
}

const LAYOUT = `
<div class="nw-head">
  <span class="nw-title" data-part="title"></span> <span class="status" data-part="status"></span>
  <button data-part="start">▶ Start</button><button data-part="pause">❚❚ Pause</button>
  <button data-part="step">▶❚ Step one mini-batch</button><button data-part="reset">↺ Reset</button>
  <span class="progress" data-part="progress"></span>
</div>
<p class="error" role="alert" data-part="error"></p>
<div class="curves">
  <figure><figcaption>Loss (cross-entropy) per epoch</figcaption><canvas data-part="loss" width="420" height="240"></canvas></figure>
  <figure><figcaption>Accuracy per epoch</figcaption><canvas data-part="acc" width="420" height="240"></canvas></figure>
</div>
<div class="tooltip" data-part="tooltip" hidden></div>
<div class="draw-row">
  <figure><figcaption>Draw a digit</figcaption><canvas class="nw-pad" data-part="pad" width="200" height="200"></canvas>
    <div><button data-part="clear">Clear</button></div></figure>
  <figure><figcaption>What the net sees</figcaption><canvas class="nw-seen" data-part="seen" width="112" height="112"></canvas></figure>
  <figure class="probs"><figcaption>Class probabilities</figcaption><div data-part="probs"></div>
    <p class="prediction" data-part="prediction"></p></figure>
</div>
<details data-part="delta-box"><summary>Back-propagation for this digit: δ of each layer
  (“Step one mini-batch” trains one step and recomputes it)</summary>
  <div class="controls"><label>Target digit <select data-part="target"></select></label>
    <button data-part="backprop">Show δ and gradients</button> <span data-part="loss-line"></span></div>
  <div class="legend" data-part="legend-delta"></div>
  <div data-part="deltas"></div>
</details>
<details data-part="weights-box" open><summary>First layer's weights</summary>
  <div class="controls"><span data-part="weights-title"></span></div>
  <div class="legend" data-part="legend-w"></div>
  <div class="tiles" data-part="weights"></div>
</details>
<details><summary>The net: summary()</summary><pre data-part="summary"></pre></details>`;

async function render({model, el}) {
  const {plots, pad: padModule, panels} = await load(model.get("_modules"));
  const root = document.createElement("div");
  root.className = "netfit-playground";
  root.innerHTML = LAYOUT;
  el.append(root);
  const part = (name) => root.querySelector(`[data-part="${name}"]`);
  // What this view shows, for the browser tests and the measurements (docs/notebook.md), as window.__netfit is
  // for the playground: root.netfit, and window.__netfitWidgets lists every view on the page.
  const view = {id: Math.random().toString(36).slice(2), history: [], updates: [], status: null, proba: null,
                shown: null, weights: null, current: null, looks: 0, sheet: 0, busy: false, pending: false,
                targetChosen: false, trail: {key: null, items: []}, hover: {}, ready: false};
  root.netfit = view;
  (window.__netfitWidgets = window.__netfitWidgets || []).push(view);

  // -- asking the kernel --------------------------------------------------------------------------------
  const waiting = new Map();
  let asked = 0;
  function ask(content, blob) {
    const id = `${view.id}:${++asked}`;
    return new Promise((resolve, reject) => {
      waiting.set(id, {resolve, reject});
      (blob ? blob.arrayBuffer() : Promise.resolve(null)).then((buffer) =>
        model.send({...content, id}, undefined, buffer ? [buffer] : []));
    });
  }
  function answered(message) {
    const asker = waiting.get(message.id);
    if (!asker) return;                                     // another view's answer
    waiting.delete(message.id);
    if (message.kind === "error") asker.reject(new Error(message.message)); else asker.resolve(message);
  }
  model.on("msg:custom", answered);

  // Errors by what failed: a later success of the same thing clears its own (as in the playground).
  const errors = new Map();
  function showError(error, source) {
    if (error) errors.set(source, String(error.message || error)); else errors.delete(source);
    part("error").textContent = [...errors.values()].join("\n");
  }

  // -- the run: status, progress, curves ----------------------------------------------------------------
  const names = () => model.get("names");
  // The run's state as the model has it now: a message sets every trait before any change handler runs, in no
  // set order, so a handler reads the state here rather than what the status handler last showed.
  const state = () => model.get("status").state;
  function showStatus() {
    const s = model.get("status"), settings = model.get("settings");
    view.status = s.state;
    part("title").textContent = `netfit playground · ${settings.preset} on ${settings.data}`;
    part("status").textContent = s.state;
    part("status").dataset.state = s.state;
    part("start").disabled = s.state === "running";
    part("pause").disabled = s.state !== "running";
    showError(s.error, "train");
    if (s.state === "ready" || s.state === "done")
      part("progress").textContent = `epoch ${s.epoch} of ${s.epochs} done · ${s.steps} steps`;
  }
  function showProgress() {
    const b = model.get("progress");
    if (!b.of) return;
    view.updates.push(performance.now());
    part("progress").textContent = `epoch ${b.epoch + 1} of ${model.get("status").epochs} · batch ${b.batch} of ${b.of}` +
      ` · running loss ${plots.fmt(b.loss)} · accuracy ${(100 * b.accuracy).toFixed(2)}%`;
    if (state() === "paused" && view.current && part("delta-box").open) backprop();         // single steps
  }
  function showHistory() {
    view.history = model.get("history");
    view.hover = panels.epochCurves(part("loss"), part("acc"), view.history);
    if (part("weights-box").open) weights();
  }
  for (const key of ["loss", "acc"]) {
    const canvas = part(key), tip = part("tooltip");
    canvas.addEventListener("mousemove", (e) => {
      const text = view.hover[key] && view.hover[key](e.offsetX * canvas.width / canvas.clientWidth);
      tip.hidden = !text; tip.textContent = text || "";
      tip.style.left = e.clientX + 12 + "px"; tip.style.top = e.clientY + 12 + "px";
    });
    canvas.addEventListener("mouseleave", () => { tip.hidden = true; });
  }
  for (const action of ["start", "pause", "step", "reset"]) {
    part(action).addEventListener("click", async () => {
      try { await ask({do: action}); showError(null, "control"); } catch (e) { showError(e, "control"); }
    });
  }

  // -- drawing: the pad, the probabilities, δ -------------------------------------------------------------
  const pad = padModule.drawingPad(part("pad"), {onStroke: () => look(), onLift: () => look()});
  function clearPad() {
    pad.clear();
    part("prediction").textContent = ""; part("probs").innerHTML = "";
    part("seen").getContext("2d").clearRect(0, 0, 112, 112);
    part("deltas").innerHTML = ""; part("loss-line").textContent = ""; part("legend-delta").innerHTML = "";
    view.current = null; view.proba = null; view.shown = null; view.targetChosen = false; view.sheet++;
    showError(null, "drawing"); showError(null, "backprop");
  }
  part("clear").addEventListener("click", clearPad);

  const look = padModule.oneAtATime(view, async () => {     // one question in flight at a time, the last one wins
    if (!pad.ink) return;
    const sheet = view.sheet;
    try {
      const blob = await pad.png();
      const r = await ask({do: "look"}, blob);
      if (sheet === view.sheet) {
        view.current = {blob, id: ++view.looks};
        view.proba = r.proba;
        const best = panels.prediction(part("seen"), part("probs"), part("prediction"), r, names());
        if (!view.targetChosen) part("target").value = best;
        showError(null, "drawing");
        if (state() !== "running" && part("delta-box").open) backprop();
      }
    } catch (e) { if (sheet === view.sheet) showError(e, "drawing"); }
  });

  async function backprop() {
    if (!view.current) { part("loss-line").textContent = "draw a digit first"; return; }
    const label = Number(part("target").value), sheet = view.sheet, current = view.current;
    try {
      const r = await ask({do: "backprop", label}, current.blob);
      if (sheet !== view.sheet) return;                     // the pad changed meanwhile
      view.shown = r;
      plots.signLegend(part("legend-delta"), "colour of δ and of ∂R/∂kernel, in bars and images");
      panels.lossTrail(part("loss-line"), view.trail, `${current.id}:${r.label}`, r, names());
      panels.deltaPanels(part("deltas"), r, names());
      showError(null, "backprop");
    } catch (e) { if (sheet === view.sheet) showError(e, "backprop"); }
  }
  part("backprop").addEventListener("click", backprop);
  part("target").addEventListener("change", () => { view.targetChosen = true; backprop(); });
  part("delta-box").addEventListener("toggle", () => { if (part("delta-box").open && view.current) backprop(); });

  // -- the first layer's weights ----------------------------------------------------------------------------
  async function weights() {
    try {
      const w = await ask({do: "first_layer"});
      view.weights = w;
      panels.weightTiles(part("weights"), part("weights-title"), part("legend-w"), w);
      showError(null, "weights");
    } catch (e) { showError(e, "weights"); }
  }
  part("weights-box").addEventListener("toggle", () => { if (part("weights-box").open) weights(); });

  // -- the session: a new one at each reset ----------------------------------------------------------------
  function showSession() {
    const target = part("target");
    target.innerHTML = "";
    names().forEach((n, k) => target.add(new Option(String(n), String(k))));
    part("summary").textContent = model.get("summary");
    view.trail = {key: null, items: []};
    clearPad();
  }
  const listeners = [["change:status", showStatus], ["change:progress", showProgress],
                     ["change:history", showHistory], ["change:generation", showSession]];
  for (const [event, handler] of listeners) model.on(event, handler);
  showSession();
  showStatus();
  showHistory();
  view.ready = true;
  root.dataset.ready = "1";
  return () => {
    for (const [event, handler] of listeners) model.off(event, handler);
    model.off("msg:custom", answered);
    window.__netfitWidgets = window.__netfitWidgets.filter((v) => v !== view);
  };
}

export default {render};
