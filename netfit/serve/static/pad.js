// The drawing pad: white strokes on black, sent to the net as PNG. Shared by the playground (app.js) and the
// notebook widget (netfit/notebook/widget.js); it imports nothing, so the widget can load it from a Blob URL.

// drawingPad(canvas, {onStroke, onLift}) -> {ink, clear(), show(image), png()}.
// The pen's first touch draws nothing yet (a line of length 0): only a stroke that moved leaves ink, and only
// ink is worth sending to the net (a blank canvas has no digit to see). onStroke runs after each piece of
// stroke, onLift when the pen leaves a pad it drew on.
export function drawingPad(canvas, {onStroke = () => {}, onLift = () => {}} = {}) {
  const pen = canvas.getContext("2d");
  let drawing = false, last = null;
  const pad = {
    ink: false,
    clear() { pen.fillStyle = "#000"; pen.fillRect(0, 0, canvas.width, canvas.height); pad.ink = false; },
    show(image) {                              // a picture (a canvas) scaled to the pad, e.g. a test digit
      pen.imageSmoothingEnabled = true;
      pen.fillStyle = "#000"; pen.fillRect(0, 0, canvas.width, canvas.height);
      pen.drawImage(image, 0, 0, canvas.width, canvas.height);
      pad.ink = true;
    },
    png() { return new Promise((resolve) => canvas.toBlob(resolve, "image/png")); },
  };
  const point = (e) => {
    const r = canvas.getBoundingClientRect();
    return [(e.clientX - r.left) * canvas.width / r.width, (e.clientY - r.top) * canvas.height / r.height];
  };
  canvas.addEventListener("pointerdown", (e) => { drawing = true; last = point(e); canvas.setPointerCapture(e.pointerId); });
  canvas.addEventListener("pointermove", (e) => {
    if (!drawing) return;
    const p = point(e);
    if (p[0] === last[0] && p[1] === last[1]) return;
    pen.strokeStyle = "#fff"; pen.lineWidth = 20 * canvas.width / 280; pen.lineCap = "round"; pen.lineJoin = "round";
    pen.beginPath(); pen.moveTo(...last); pen.lineTo(...p); pen.stroke();
    last = p; pad.ink = true;
    onStroke();
  });
  canvas.addEventListener("pointerup", () => { if (drawing) onLift(); drawing = false; });
  pad.clear();
  return pad;
}

// Live answers while drawing: work() runs with at most one call in flight; a call meanwhile asks for one more run
// once it is done (the latest drawing wins). state.busy and state.pending say where it is (the browser tests read them).
export function oneAtATime(state, work) {
  const run = async () => {
    if (state.busy) { state.pending = true; return; }
    state.busy = true;
    try { await work(); } finally { state.busy = false; }
    if (state.pending) { state.pending = false; run(); }
  };
  return run;
}
