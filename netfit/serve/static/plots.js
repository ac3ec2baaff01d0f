// Drawing on <canvas>: training curves with values on hover, grey images, weight tiles, bars, legends.

// One convention for signs everywhere (weights, δ, gradients, activations; bars and images alike):
// negative blue, zero white, positive red. signColour gives a bar's colour, diverging an image's pixel.
export const NEGATIVE = [33, 102, 172], POSITIVE = [178, 24, 43];

// Diverging colour: v in [-1, 1] -> from NEGATIVE through white (0) to POSITIVE.
export function diverging(v) {
  const t = Math.max(-1, Math.min(1, v)), end = t >= 0 ? POSITIVE : NEGATIVE;
  return end.map((c) => Math.round(255 + (c - 255) * Math.abs(t)));
}

export function signColour(v) { return `rgb(${(v < 0 ? NEGATIVE : POSITIVE).join(", ")})`; }

// Sequential colour for activations: black (low) to yellow-white (high); t in [0, 1].
export function heat(t) {
  const u = Math.max(0, Math.min(1, t));
  return [Math.round(255 * Math.min(1, 1.6 * u)), Math.round(255 * u * u), Math.round(255 * Math.max(0, 2 * u - 1))];
}

// values (flat, row-major h x w) -> a canvas of h*scale x w*scale pixels, coloured by colour(value).
export function imageCanvas(values, h, w, scale, colour) {
  const canvas = document.createElement("canvas");
  canvas.width = w * scale; canvas.height = h * scale;
  paint(canvas, values, h, w, colour);
  return canvas;
}

export function paint(canvas, values, h, w, colour) {
  const small = document.createElement("canvas");
  small.width = w; small.height = h;
  const ctx = small.getContext("2d");
  const img = ctx.createImageData(w, h);
  for (let i = 0; i < h * w; i++) {
    const [r, g, b] = colour(values[i]);
    img.data.set([r, g, b, 255], 4 * i);
  }
  ctx.putImageData(img, 0, 0);
  const out = canvas.getContext("2d");
  out.imageSmoothingEnabled = false;
  out.clearRect(0, 0, canvas.width, canvas.height);
  out.drawImage(small, 0, 0, canvas.width, canvas.height);
}

// A colour legend: a bar from lo to hi with its end values (numbers, or words such as "−max").
export function legend(element, colour, lo, hi, label) {
  element.innerHTML = "";
  const values = Array.from({length: 64}, (_, i) => i / 63);
  const bar = imageCanvas(values, 1, 64, 1, colour);
  bar.style.width = "160px"; bar.style.height = "12px";
  const end = (v) => typeof v === "string" ? v : fmt(v);
  element.append(label + ": ", end(lo), " ", bar, " ", end(hi));
}

// The sign convention's legend: blue < 0 < red, each picture or set of bars scaled by its own largest |value|.
export function signLegend(element, label) {
  legend(element, (t) => diverging(2 * t - 1), "−largest |value|", "+largest |value|", label);
  element.append(" (blue < 0 < red)");
}

// A number for the page: "0"; from 0.001 to 10,000 in fixed notation (4 decimals below 1, else 3); else 1.23e-5.
export function fmt(v) {
  if (v === null || v === undefined || Number.isNaN(v)) return "–";
  if (v === 0) return "0";
  const a = Math.abs(v);
  return a < 1e-3 || a >= 1e4 ? v.toExponential(2) : v.toFixed(a < 1 ? 4 : 3);
}

// Curves per epoch: series = [{name, values, dashed, colour}]. Returns a hover function (x, y) -> text.
export function curves(canvas, series, {percent = false} = {}) {
  const ctx = canvas.getContext("2d");
  const W = canvas.width, H = canvas.height, left = 52, right = 12, top = 12, bottom = 34;
  ctx.clearRect(0, 0, W, H);
  ctx.font = "11px sans-serif"; ctx.fillStyle = "#333"; ctx.strokeStyle = "#999";
  const all = series.flatMap(s => s.values).filter(v => Number.isFinite(v));
  const n = Math.max(1, ...series.map(s => s.values.length));
  let lo = all.length ? Math.min(...all) : 0, hi = all.length ? Math.max(...all) : 1;
  if (percent) { lo = Math.min(lo, 0.9); hi = 1; }
  if (hi - lo < 1e-9) { hi += 0.5; lo -= 0.5; }
  const px = e => left + (n === 1 ? 0.5 : (e - 1) / (n - 1)) * (W - left - right);
  const py = v => top + (1 - (v - lo) / (hi - lo)) * (H - top - bottom);
  ctx.beginPath(); ctx.moveTo(left, top); ctx.lineTo(left, H - bottom); ctx.lineTo(W - right, H - bottom); ctx.stroke();
  for (let k = 0; k <= 4; k++) {
    const v = lo + (hi - lo) * k / 4;
    ctx.fillText(percent ? (100 * v).toFixed(1) + "%" : fmt(v), 2, py(v) + 4);
  }
  ctx.fillText("epoch", W / 2 - 14, H - 4);
  const ticks = Math.min(n, 10);
  for (let k = 0; k < ticks; k++) {
    const e = 1 + Math.round(k * (n - 1) / Math.max(1, ticks - 1));
    ctx.fillText(String(e), px(e) - 3, H - bottom + 14);
  }
  series.forEach((s, j) => {
    ctx.strokeStyle = s.colour; ctx.fillStyle = s.colour; ctx.setLineDash(s.dashed ? [5, 4] : []);
    ctx.lineWidth = 2; ctx.beginPath();
    s.values.forEach((v, i) => { const x = px(i + 1), y = py(v); i ? ctx.lineTo(x, y) : ctx.moveTo(x, y); });
    ctx.stroke();
    s.values.forEach((v, i) => { ctx.beginPath(); ctx.arc(px(i + 1), py(v), 2.5, 0, 7); ctx.fill(); });
    ctx.setLineDash([]); ctx.fillRect(W - right - 150, top + 4 + 14 * j, 14, 3);
    ctx.fillStyle = "#333"; ctx.fillText(s.name, W - right - 130, top + 9 + 14 * j);
  });
  ctx.lineWidth = 1;
  return (x) => {
    if (!all.length) return null;
    const e = Math.max(1, Math.min(n, Math.round(1 + (x - left) / ((W - left - right) / Math.max(1, n - 1)))));
    return `epoch ${e}: ` + series.map(s => `${s.name} ${s.values[e - 1] === undefined ? "–"
      : percent ? (100 * s.values[e - 1]).toFixed(2) + "%" : fmt(s.values[e - 1])}`).join(", ");
  };
}

// Horizontal bars with labels: values in [0, 1] (probabilities, neutral grey) or signed (activations, δ: scaled by
// max |v|, coloured by sign as the images are).
export function bars(element, values, labels, {highlight = -1, signed = false} = {}) {
  element.innerHTML = "";
  const top = Math.max(1e-9, ...values.map(Math.abs));
  values.forEach((v, i) => {
    const row = document.createElement("div"); row.className = "bar" + (i === highlight ? " best" : "");
    const name = document.createElement("span"); name.className = "bar-label"; name.textContent = labels[i];
    const track = document.createElement("span"); track.className = "bar-track";
    const fill = document.createElement("span"); fill.className = "bar-fill";
    fill.style.width = (100 * Math.abs(signed ? v / top : v)).toFixed(1) + "%";
    if (signed) fill.style.background = signColour(v);          // the images' colours (diverging)
    track.append(fill);
    const num = document.createElement("span"); num.className = "bar-value"; num.textContent = signed ? fmt(v) : v.toFixed(3);
    row.append(name, track, num); row.title = `${labels[i]}: ${v}`;
    element.append(row);
  });
}
