"""What a layer of your own costs: the lecture MLP with Dense written in ``netfit.ops`` against the built-in Dense.

    python benchmarks/bench_ops.py                 # writes benchmarks/RESULTS-ops.md (~20 s on a quiet 2-core machine)
    python benchmarks/bench_ops.py --limit 6000    # a quick look: 6,000 training images a repeat
    make bench-ops                                 # the same, in the bench venv

The issue's target: a Dense written as a custom layer (``build`` + ``add_weight`` + ``call`` with
``ops.matmul``, ``ops.add``, ``ops.relu``; tests/test_custom_layers.py's ``MyDense``) gives the built-in
Dense's gradients to 1e-12 in float64 and trains within 1.5× the built-in's time per epoch on the lecture
MLP, in the same run; and the tape's overhead per op is measured. One process, netfit's pure NumPy path
(``NETFIT_COMPILED=0`` is set before netfit loads) and one BLAS thread (bench_profile's set-up), float32
unless said otherwise. Four sections in RESULTS-ops.md:

1. **Whole epochs** of the lecture MLP (Flatten → Dense(128, relu) → Dense(10, softmax), Adam, sparse
   categorical cross-entropy, batch 32, MNIST's 60,000 training images or ``--limit``): (a) built-in
   Dense layers; (b) the first Dense written with ops (``MyDense``); (c) both written with ops, the last
   with ``ops.softmax``, so that the loss cannot fuse softmax with cross-entropy (δ goes through
   softmax's VJP): a row of its own, not the issue's target. Same start weights (``set_weights``), same
   batch order (the model's seed); each repeat trains a fresh model of every side for one epoch
   (``fit(..., epochs=1, verbose=0)``), the sides' order rotated from repeat to repeat; median (min–max)
   seconds per epoch, the process's CPU seconds, µs per step, custom / built-in of the medians and of
   the minima, and the test accuracy after the epoch.
2. **The tape per op**: ``--op-blocks`` interleaved blocks of ``--op-calls`` calls of ``add`` on
   (32, 128) float32 arrays as plain ``np.add``, as ``ops.add`` with no tape, and as ``ops.add`` under a
   :class:`~netfit.ops.Tape` with traced inputs (recording an entry each), then that tape's backward per
   entry; µs per op and the overhead over NumPy.
3. **One layer's step** at batch 32: forward and forward + backward of the built-in Dense and of the same
   Dense written with ops, called on their models' own records, interleaved blocks; µs per call, so that
   the epoch's difference can be put on the layer.
4. **Gradients**: the float64 max |difference| between each custom model's and the built-in model's
   ``loss_and_gradients`` on 256 training images, same weights (target ≤ 1e-12 for (b)).

When (b)'s ratio is above the target (or with ``--profile``), a fifth section gives cProfile's top
lines (by own time) over ``--profile-steps`` steps of ``fit`` for model (b).
"""
import argparse
import cProfile
import gc
import io
import os
import platform
import pstats
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_profile  # noqa: E402  (first: NETFIT_COMPILED=0 and one BLAS thread, before NumPy loads)

import numpy as np  # noqa: E402

import netfit as nf  # noqa: E402
from netfit import ops  # noqa: E402
from netfit.layers import Dense, Flatten, Layer  # noqa: E402
from netfit.ops import Tape  # noqa: E402
from netfit.ops.value import Value  # noqa: E402

import envinfo  # noqa: E402
import workers  # noqa: E402

HERE = bench_profile.HERE
TARGET = 1.5
BATCH = 32
SIDES = {"a": "(a) built-in Dense layers",
         "b": "(b) first Dense written with ops (MyDense)",
         "c": "(c) both Dense written with ops, softmax unfused"}


class MyDense(Layer):
    """The lecture's Dense written with ops (tests/test_custom_layers.py): a = σ(x α + α_0), σ relu or softmax."""

    def __init__(self, units, activation="relu", **kwargs):
        super().__init__(**kwargs)
        self.units, self.act = units, activation

    def build(self, input_shape):
        self.w = self.add_weight(shape=(input_shape[-1], self.units), initializer="glorot_uniform", name="kernel")
        self.b = self.add_weight(shape=(self.units,), initializer="zeros", name="bias")

    def call(self, inputs):
        z = ops.add(ops.matmul(inputs, self.w), self.b)
        if self.act == "relu":
            return ops.relu(z)
        return ops.softmax(z) if self.act == "softmax" else z

    def get_config(self):
        return {**super().get_config(), "units": self.units, "activation": self.act}


def lecture_mlp(side, dtype="float32", seed=0):
    """The lecture MLP for ``side`` (a, b, c of SIDES), compiled and built."""
    first = Dense(128, activation="relu") if side == "a" else MyDense(128, "relu")
    last = MyDense(10, "softmax") if side == "c" else Dense(10, activation="softmax")
    model = nf.Sequential([Flatten(input_shape=(28, 28)), first, last], name=f"lecture_mlp_{side}", seed=seed,
                          dtype=dtype)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.build()
    return model


def _models(start, dtype="float32"):
    """A fresh model of every side with the weights ``start``."""
    models = {}
    for side in SIDES:
        model = lecture_mlp(side, dtype)
        model.set_weights([np.asarray(w, dtype) for w in start])
        models[side] = model
    return models


def _spread(values, fmt="{:.3g}"):
    return f"{fmt.format(statistics.median(values))} ({fmt.format(min(values))}–{fmt.format(max(values))})"


# -- 1. whole epochs ---------------------------------------------------------------------------------------
def epochs_table(x, y, xt, yt, repeats):
    start = lecture_mlp("a").get_weights()
    steps = -(-len(x) // BATCH)
    for side, model in _models(start).items():          # warm-up: imports, buffers, the ops' first calls
        model.fit(x[:3 * BATCH], y[:3 * BATCH], batch_size=BATCH, epochs=1, verbose=0)
    wall = {s: [] for s in SIDES}
    cpu = {s: [] for s in SIDES}
    acc = {s: [] for s in SIDES}
    order = list(SIDES)
    for r in range(repeats):
        sides = order[r % len(order):] + order[:r % len(order)]
        for side in sides:
            model = lecture_mlp(side)
            model.set_weights(start)
            gc.collect()
            t0, c0 = time.perf_counter(), time.process_time()
            model.fit(x, y, batch_size=BATCH, epochs=1, verbose=0)
            wall[side].append(time.perf_counter() - t0)
            cpu[side].append(time.process_time() - c0)
            acc[side].append(workers.accuracy(model.predict(xt, batch_size=1000, verbose=0), yt))
            print(f"  repeat {r + 1}/{repeats} {SIDES[side]}: {wall[side][-1]:.2f} s, test accuracy "
                  f"{acc[side][-1]:.4f}", flush=True)
    rows = ["| model | s per epoch, median (min–max) | CPU s, median | µs per step, median | "
            "÷ built-in, medians | ÷ built-in, minima | ÷ built-in, CPU | test accuracy |",
            "|---|---:|---:|---:|---:|---:|---:|---:|"]
    base = statistics.median(wall["a"])
    ratios = {}
    for side in SIDES:
        med = statistics.median(wall[side])
        ratios[side] = (med / base, min(wall[side]) / min(wall["a"]),
                        statistics.median(cpu[side]) / statistics.median(cpu["a"]))
        accs = sorted(set(f"{a:.4f}" for a in acc[side]))
        rows.append(f"| {SIDES[side]} | {_spread(wall[side])} s | {statistics.median(cpu[side]):.3g} s | "
                    f"{med / steps * 1e6:.0f} µs | {ratios[side][0]:.2f} | {ratios[side][1]:.2f} | "
                    f"{ratios[side][2]:.2f} | {' / '.join(accs)} |")
    return rows, ratios, steps


# -- 2. the tape per op ------------------------------------------------------------------------------------
def op_table(blocks, calls):
    rng = np.random.default_rng(0)
    a = rng.standard_normal((BATCH, 128)).astype(np.float32)
    b = rng.standard_normal((BATCH, 128)).astype(np.float32)
    acc = np.zeros_like(a)
    add = ops.add

    def plain():
        t0 = time.perf_counter()
        for _ in range(calls):
            np.add(a, b)
        return time.perf_counter() - t0

    def no_tape():
        t0 = time.perf_counter()
        for _ in range(calls):
            add(a, b)
        return time.perf_counter() - t0

    def in_place():                                      # the array work of add's backward: δ summed into b's
        t0 = time.perf_counter()
        for _ in range(calls):
            np.add(acc, a, out=acc)
        return time.perf_counter() - t0

    def taped():
        """A chain v ← v + b of ``calls`` entries (b traced too, as a bias is): recording, then backward."""
        with Tape() as tape:
            v, bv = Value(a, tape), Value(b, tape)
            t0 = time.perf_counter()
            for _ in range(calls):
                v = add(v, bv)
            t1 = time.perf_counter()
        delta = np.ones_like(a)
        t2 = time.perf_counter()
        grads = tape.backward(v, delta)
        t3 = time.perf_counter()
        assert len(tape.entries) == calls and np.allclose(grads[id(bv)], calls)
        return t1 - t0, t3 - t2

    parts = ("np.add", "ops.add, no tape", "ops.add, recording", "backward per entry", "in-place add")
    times = {p: [] for p in parts}
    for k in range(blocks):
        steps = [("np.add", plain), ("ops.add, no tape", no_tape), ("taped", taped), ("in-place add", in_place)]
        for name, fn in (steps if k % 2 == 0 else steps[::-1]):
            got = fn()
            if name == "taped":
                times["ops.add, recording"].append(got[0] / calls * 1e6)
                times["backward per entry"].append(got[1] / calls * 1e6)
            else:
                times[name].append(got / calls * 1e6)
    med = {p: statistics.median(v) for p, v in times.items()}
    low = {p: min(v) for p, v in times.items()}
    rows = ["| call | µs per op, median (min) | over np.add, medians (minima) |", "|---|---:|---:|"]
    rows.append(f"| `np.add(a, b)` | {med['np.add']:.2f} ({low['np.add']:.2f}) | |")
    for p, label in (("ops.add, no tape", "`ops.add(a, b)`, no tape"),
                     ("ops.add, recording", "`ops.add(v, b)` under a Tape, both traced: records an entry")):
        rows.append(f"| {label} | {med[p]:.2f} ({low[p]:.2f}) | +{med[p] - med['np.add']:.2f} "
                    f"(+{low[p] - low['np.add']:.2f}) |")
    rows.append(f"| `Tape.backward`, per entry of that chain | {med['backward per entry']:.2f} "
                f"({low['backward per entry']:.2f}) | |")
    rows.append(f"| its array work alone: `np.add(acc, g, out=acc)` (δ summed into b's) | "
                f"{med['in-place add']:.2f} ({low['in-place add']:.2f}) | |")
    rows.append(f"| **backward's bookkeeping per entry** (backward − its array work) | "
                f"**{med['backward per entry'] - med['in-place add']:.2f}** | |")
    overhead = {"no tape": med["ops.add, no tape"] - med["np.add"],
                "recording": med["ops.add, recording"] - med["np.add"],
                "backward": med["backward per entry"] - med["in-place add"]}
    return rows, overhead


# -- 3. one layer's step -----------------------------------------------------------------------------------
def layer_table(blocks, calls):
    """Forward, and forward + backward, of the first and the last Dense of models (a) and (c)."""
    rng = np.random.default_rng(0)
    x = rng.random((BATCH, 28, 28), dtype=np.float32)
    y = rng.integers(0, 10, BATCH)
    models = _models(lecture_mlp("a").get_weights())
    cases = []
    for side in ("a", "c"):
        model = models[side]
        model.fit(x, y, batch_size=BATCH, verbose=0)                  # records and buffers made
        calls_ = model._calls
        h0 = model.layers[0].forward(model._feed(x), True, calls_[0])
        h1 = model.layers[1].forward(h0, True, calls_[1])
        for k, (inp, width) in ((1, (h0, 128)), (2, (h1, 10))):
            delta = rng.standard_normal((BATCH, width)).astype(np.float32) / BATCH
            cases.append((side, k, model.layers[k], calls_[k], inp, delta))

    def run(layer, call, inp, delta):
        """µs per call of forward and of backward, each call timed on its own (backward needs its forward)."""
        fwd = bwd = 0.0
        clock = time.perf_counter
        for _ in range(calls):
            t0 = clock()
            layer.forward(inp, True, call)
            t1 = clock()
            layer.backward(delta, call)
            t2 = clock()
            fwd += t1 - t0
            bwd += t2 - t1
        return fwd / calls * 1e6, bwd / calls * 1e6

    times = {}
    for b in range(blocks):
        for case in (cases if b % 2 == 0 else cases[::-1]):
            side, k, layer, call, inp, delta = case
            f, g = run(layer, call, inp, delta)
            times.setdefault((side, k, "forward"), []).append(f)
            times.setdefault((side, k, "backward"), []).append(g)
            times.setdefault((side, k, "forward + backward"), []).append(f + g)
    rows = ["| layer | pass | built-in Dense, µs median (min) | written with ops, µs median (min) | "
            "ops − built-in, medians (minima) |", "|---|---|---:|---:|---:|"]
    extra = {}
    for k, title in ((1, "first: 784 → 128, relu"), (2, "last: 128 → 10, softmax (ops: unfused)")):
        for what in ("forward", "backward", "forward + backward"):
            a, c = times["a", k, what], times["c", k, what]
            ma, mc = statistics.median(a), statistics.median(c)
            rows.append(f"| {title} | {what} | {ma:.1f} ({min(a):.1f}) | {mc:.1f} ({min(c):.1f}) | "
                        f"{mc - ma:+.1f} ({min(c) - min(a):+.1f}) |")
        extra[k] = (statistics.median(times["a", k, "forward + backward"]),
                    statistics.median(times["c", k, "forward + backward"]))
    return rows, extra


# -- 4. gradients ------------------------------------------------------------------------------------------
def gradient_table(x, y):
    start = lecture_mlp("a").get_weights()
    models = _models(start, "float64")
    xs, ys = x[:256].astype(np.float64), y[:256]
    ref_loss, ref = models["a"].loss_and_gradients(xs, ys)
    rows = ["| model | \\|R − R(a)\\| | max \\|∂R/∂w − ∂R/∂w (a)\\| over all weights | ≤ 1e-12 |",
            "|---|---:|---:|---|"]
    worst = {}
    for side in ("b", "c"):
        loss, grads = models[side].loss_and_gradients(xs, ys)
        diff = max(float(np.max(np.abs(g - r))) for g, r in zip(grads, ref))
        worst[side] = diff
        rows.append(f"| {SIDES[side]} | {abs(loss - ref_loss):.1e} | {diff:.1e} | "
                    f"{'yes' if diff <= 1e-12 else '**no**'} |")
    scale = max(float(np.max(np.abs(r))) for r in ref)
    return rows, worst, scale


# -- 5. profile --------------------------------------------------------------------------------------------
def profile_lines(x, y, steps, top=15):
    model = lecture_mlp("b")
    model.fit(x[:3 * BATCH], y[:3 * BATCH], batch_size=BATCH, verbose=0)
    xs, ys = x[:steps * BATCH], y[:steps * BATCH]
    prof = cProfile.Profile()
    prof.enable()
    model.fit(xs, ys, batch_size=BATCH, epochs=1, verbose=0)
    prof.disable()
    out = io.StringIO()
    stats = pstats.Stats(prof, stream=out)
    stats.sort_stats("tottime").print_stats(top)
    text = out.getvalue().replace(str(HERE.parent) + "/", "").replace(os.path.dirname(os.__file__) + "/", "<stdlib>/")
    lines = text.splitlines()
    first = next(i for i, line in enumerate(lines) if "function calls" in line)
    return [line.rstrip() for line in lines[first:] if line.strip() and "Ordered by" not in line]


def _commit():
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=HERE, capture_output=True, text=True,
                              check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "?"


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeats", type=int, default=3, help="whole epochs timed per model, interleaved")
    p.add_argument("--limit", type=int, default=None, help="train on the first N MNIST training images "
                                                           "(default: all 60,000)")
    p.add_argument("--op-blocks", type=int, default=40, help="interleaved blocks of the per-op timings")
    p.add_argument("--op-calls", type=int, default=500, help="calls per block (entries per tape)")
    p.add_argument("--layer-blocks", type=int, default=40, help="interleaved blocks of the layer timings")
    p.add_argument("--layer-calls", type=int, default=200, help="calls per block")
    p.add_argument("--profile", action="store_true", help="add the cProfile section even if (b) meets the target")
    p.add_argument("--profile-steps", type=int, default=400, help="fit steps of model (b) under cProfile")
    p.add_argument("--out", default=str(HERE / "RESULTS-ops.md"))
    args = p.parse_args(argv)
    if args.repeats < 1 or (args.limit is not None and args.limit < BATCH):
        p.error("expected --repeats ≥ 1 and --limit ≥ 32")
    nf.config.set_threads(1)
    began, load0 = time.time(), os.getloadavg()
    x, y, xt, yt = workers.load_mnist()
    if args.limit is not None:
        x, y = x[:args.limit], y[:args.limit]
    blas = "; ".join(f"{b.get('internal_api')} {b.get('version')} kernel {b.get('architecture')}, "
                     f"{b.get('num_threads')} thread(s)" for b in envinfo.blas_info())
    print(f"1. whole epochs, {len(x):,} images, {args.repeats} repeats", flush=True)
    epoch_rows, ratios, steps = epochs_table(x, y, xt, yt, args.repeats)
    print("2. the tape per op", flush=True)
    op_rows, overhead = op_table(args.op_blocks, args.op_calls)
    print("3. one layer's step", flush=True)
    layer_rows, layer_extra = layer_table(args.layer_blocks, args.layer_calls)
    print("4. gradients", flush=True)
    grad_rows, worst, scale = gradient_table(x, y)
    profiled = args.profile or ratios["b"][0] > TARGET
    if profiled:
        print(f"5. cProfile, {args.profile_steps} steps of model (b)", flush=True)
        prof = profile_lines(x, y, min(args.profile_steps, steps))
    took, load1 = time.time() - began, os.getloadavg()

    cmd = "python benchmarks/bench_ops.py" + (" " + " ".join(sys.argv[1:] if argv is None else argv)).rstrip()
    b_ratio = ratios["b"][0]
    a_step, b_step = (layer_extra[1][0], layer_extra[1][1])
    lines = ["# A layer of your own: Dense written with netfit.ops against the built-in Dense", "",
             f"- **Command**: `{cmd}`",
             f"- **Date**: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime(began))} · run took {took:.0f} s",
             f"- **netfit**: {nf.__version__}, commit {_commit()}, pure NumPy (`NETFIT_COMPILED=0`), "
             f"`nf.config.set_threads(1)`, one process",
             f"- **Machine**: {platform.machine()}, {os.cpu_count()} cores, Linux {platform.release()}, "
             f"Python {platform.python_version()}",
             f"- **numpy** {np.__version__}; BLAS (threadpoolctl or its ctypes questions): {blas}",
             f"- **Load average** (1, 5, 15 min) before: {' '.join(f'{v:.2f}' for v in load0)}, after: "
             f"{' '.join(f'{v:.2f}' for v in load1)} (a 2-core machine shared with other work: prefer the "
             f"ratios and the CPU-time column to absolute times)",
             "",
             "## Summary", "",
             f"- **Custom Dense in training**: (b) / (a) = **{b_ratio:.2f}** of the median epoch times "
             f"({ratios['b'][1]:.2f} of the minima, {ratios['b'][2]:.2f} of CPU time); target ≤ {TARGET}: "
             f"{'met' if b_ratio <= TARGET else '**not met**'}.",
             f"- **Tape per op** (`add` on (32, 128) float32): ops.add adds {overhead['no tape']:.2f} µs over "
             f"np.add with no tape, {overhead['recording']:.2f} µs when it records an entry; backward's "
             f"bookkeeping is {overhead['backward']:.2f} µs per entry beyond its array work.",
             f"- **Per step**: the first Dense's forward + backward at batch 32 takes {b_step:.0f} µs written "
             f"with ops against {a_step:.0f} µs built in ({b_step - a_step:+.0f} µs a step).",
             f"- **Gradients** (float64, 256 images): max |difference| (b) {worst['b']:.1e}, (c) {worst['c']:.1e} "
             f"(largest gradient entry {scale:.2g}); target ≤ 1e-12 for (b): "
             f"{'met' if worst['b'] <= 1e-12 else '**not met**'}.",
             "",
             f"## 1. Whole epochs: the lecture MLP at batch 32, {len(x):,} training images"
             + (f" (`--limit {args.limit}`)" if args.limit is not None else ""), "",
             f"Adam, sparse categorical cross-entropy, float32, {steps} steps an epoch; every model from the same "
             f"start weights and batch order, a fresh model each repeat; {args.repeats} repeats, the models' "
             f"order rotated. Ratios are to (a) in the same run. Test accuracy on MNIST's 10,000 test images "
             f"after the epoch (each repeat's, when they differ).", ""]
    lines += epoch_rows
    lines += ["", "Row (c) is not the issue's target: its last layer returns `ops.softmax(z)`, so the loss gets "
              "probabilities and cannot fuse softmax with cross-entropy (δ = p − y at z); δ at p goes through "
              "softmax's VJP instead, which costs time and rounds differently.", "",
              f"## 2. The tape per op: `add` on (32, 128) float32", "",
              f"{args.op_blocks} interleaved blocks of {args.op_calls} calls (one tape of {args.op_calls} entries a "
              f"block: a chain v ← v + b with v and b traced values).", ""]
    lines += op_rows
    lines += ["", "## 3. One layer's step at batch 32, one thread", "",
              f"The layer's `forward` (training) and `backward` called on its model's own record, "
              f"{args.layer_blocks} interleaved blocks of {args.layer_calls} calls, each call's forward and backward "
              f"timed on their own. Built-in: model (a)'s Dense; written with ops: model (c)'s MyDense "
              f"(the same layer as (b)'s first).", ""]
    lines += layer_rows
    lines += ["", "## 4. Gradients in float64", "",
              "`model.loss_and_gradients` on the first 256 training images, each model with (a)'s start weights "
              "in float64; differences to (a).", ""]
    lines += grad_rows
    if profiled:
        lines += ["", f"## 5. Where (b)'s time goes: cProfile of {min(args.profile_steps, steps)} steps of `fit`", "",
                  "Sorted by own time (tottime); cProfile's own cost inflates Python-heavy lines.", "", "```"]
        lines += prof
        lines += ["```"]
    text = "\n".join(lines) + "\n"
    with open(args.out, "w", encoding="utf-8") as handle:
        handle.write(text)
    print(text + f"\nwrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
