// The panels the playground and the notebook widget both draw, from the session's answers (netfit/serve/session.py):
// the curves per epoch, a digit's probabilities, R's trail, δ and gradients per layer, the first layer's weights.
// Used by app.js and by netfit/notebook/widget.js (which loads this file and plots.js from Blob URLs).
import {bars, curves, diverging, fmt, imageCanvas, legend, paint} from "./plots.js";

// Loss and accuracy per epoch, training and test. Returns the two charts' hover functions.
export function epochCurves(lossCanvas, accCanvas, history) {
  const get = (k) => history.map((row) => row[k]);
  return {
    loss: curves(lossCanvas, [
      {name: "training loss", values: get("loss"), colour: "#1f6feb"},
      {name: "test loss", values: get("test_loss"), colour: "#d9480f", dashed: true}]),
    acc: curves(accCanvas, [
      {name: "training accuracy", values: get("accuracy"), colour: "#1f6feb"},
      {name: "test accuracy", values: get("test_accuracy"), colour: "#d9480f", dashed: true}], {percent: true}),
  };
}

// A drawn digit as the net sees it (Session.image_payload) and its class probabilities. Returns the best class.
export function prediction(seenCanvas, probsBox, line, r, names) {
  const [h, w] = r.seen.shape;
  paint(seenCanvas, r.seen.pixels, h, w, (v) => [v, v, v]);
  const best = r.proba.indexOf(Math.max(...r.proba));
  bars(probsBox, r.proba, names.map(String), {highlight: best});
  line.textContent = `Prediction: ${names[best]} (p = ${r.proba[best].toFixed(3)})`;
  return best;
}

// R for one digit and target after each step (single steps recompute it): the trail shows it fall.
// trail = {key, items} is the caller's; a new key (a new picture or target) starts a new trail.
export function lossTrail(line, trail, key, r, names) {
  if (trail.key !== key) { trail.key = key; trail.items = []; }
  const steps = r.steps, last = trail.items[trail.items.length - 1];          // the steps the weights have had
  if (last && last.steps === steps) trail.items.pop();
  trail.items.push({steps, loss: r.loss});
  line.textContent = `R = ${fmt(r.loss)} for target ${names[r.label]} after ${steps} steps`;
  const earlier = trail.items.slice(-6, -1).reverse();
  if (earlier.length) {
    const span = document.createElement("span"); span.className = "trail";
    span.textContent = " · before: " + earlier.map((t) => `${fmt(t.loss)} (step ${t.steps})`).join(", ");
    line.append(span);
  }
}

// A link (a new tab) where the page can open it, else the text alone (the widget has no docs or source pages).
function link(href, text) {
  if (href === null) { const span = document.createElement("span"); span.textContent = text; return span; }
  const a = document.createElement("a"); a.href = href; a.target = "_blank"; a.textContent = text; return a;
}

// δ and gradients per layer (Session.backprop's answer), each panel linked to its equation in docs/backprop.md
// and to the code: links = {docs: "/docs/backprop.md#", source: "/source/"}, or null for plain text.
export function deltaPanels(box, r, names, links = null) {
  const doc = (anchor) => links ? links.docs + anchor : null;
  box.innerHTML = "";
  r.layers.forEach((layer, j) => {
    const output = j === 0, panel = document.createElement("div"); panel.className = "layer";
    const title = document.createElement("h3");
    const what = layer.at_z ? "δ = ∂R/∂z = p − onehot(y) at the output" : output ? "δ = ∂R/∂(output)" : "δ = ∂R/∂(layer output), what the layer above sent back";
    const code = `${layer.code.path}:${layer.code.line}`;
    title.append(`${layer.name} (${layer.type}): ${what} · `,
      link(doc(layer.at_z ? "classification-softmax-with-cross-entropy-fused" : output ? "the-output-error-δ" : "the-back-propagation-equation"), "equation"),
      " · ", link(links ? `${links.source}${layer.code.path}#L${layer.code.line}` : null, code));
    panel.append(title);
    const v = layer.delta, largest = Math.max(0, ...v.map(Math.abs)), top = largest || 1;
    title.append(` · largest |δ| = ${fmt(largest)}`);
    if (layer.shape.length === 3) {
      const [h, w, c] = layer.shape, maps = document.createElement("div"); maps.className = "tiles";
      for (let k = 0; k < c; k++)
        maps.append(imageCanvas(Array.from({length: h * w}, (_, i) => v[i * c + k] / top), h, w, Math.max(1, Math.round(40 / h)), diverging));
      panel.append(maps);
    } else if (v.length <= 128) {
      const div = document.createElement("div"); div.className = "unit-bars";
      bars(div, v, v.map((_, i) => output ? names[i] : `${i + 1}`), {signed: true}); panel.append(div);
    } else {
      const side = Math.round(Math.sqrt(v.length));
      if (side * side === v.length) panel.append(imageCanvas(v.map((x) => x / top), side, side, 3, diverging));
    }
    if (layer.grads.length) {
      const g = document.createElement("p"); g.className = "grads";
      g.append("gradients: ", layer.grads.map((x) => `‖∂R/∂${x.name}‖ = ${fmt(x.norm)} (${x.shape.join("×")})`).join(", "), " · ",
               link(doc(output ? "the-gradient-of-the-output-weights" : "the-gradient-of-the-hidden-weights"), "equation"));
      panel.append(g);
    }
    if (layer.kernel_tiles) {
      const [h, w] = layer.tile_shape, tiles = document.createElement("div"); tiles.className = "tiles";
      const glargest = Math.max(0, ...layer.kernel_tiles.flat().map(Math.abs)), gtop = glargest || 1;
      layer.kernel_tiles.slice(0, 128).forEach((t) => tiles.append(imageCanvas(t.map((x) => x / gtop), h, w, 2, diverging)));
      panel.append(`∂R/∂kernel per unit, as images (blue < 0 < red; largest |∂R/∂α| = ${fmt(glargest)}):`, tiles);
    }
    box.append(panel);
  });
}

// The first layer's weights as images (Session.first_layer's answer): one tile per unit or filter, blue < 0 < red.
export function weightTiles(box, title, legendBox, w) {
  title.textContent = w.layer ? `${w.layer} (${w.type}): ${w.count} ${w.type === "Dense" ? "units" : "filters"}, ` +
    `each ${w.tile_shape.join("×")} weights` : "no layer with weights";
  legend(legendBox, (t) => diverging(2 * t - 1), -w.scale, w.scale, "colour: weight");
  box.innerHTML = "";
  const [h, wd] = w.tile_shape;
  w.tiles.forEach((tile, k) => {
    const c = imageCanvas(tile.map((v) => v / w.scale), h, wd, Math.max(1, Math.round(56 / Math.max(h, wd))), diverging);
    c.title = `${w.type === "Dense" ? "unit" : "filter"} ${k + 1}`; box.append(c);
  });
}
