"""Where each `make bench` row's time goes: layer by layer, pass by pass, on one thread (issue 25's first step).

    python benchmarks/bench_profile.py             # writes benchmarks/RESULTS-profile.md
    python benchmarks/bench_profile.py --steps 10  # a quicker look

For each row of ``make bench`` that netfit runs (the lecture MLP's training step at batch 32, 128
and 1024; Keras's mnist_convnet CNN and issue 22's residual CNN at batch 128; predict of the MLP
and of the CNN in batches of 1000), with netfit's pure NumPy path (``NETFIT_COMPILED=0`` is set
before netfit loads), one BLAS thread and ``nf.config.set_threads(1)``, float32, MNIST-shaped
random data (timing does not depend on the values):

- each layer's ``forward`` and ``backward`` in ms per step (or per predict batch), timed where the
  model calls it, and its rate in GFLOP/s: forward 2·links (``layer.count_links()``: one multiply
  and one add per connection, bias included), backward twice that (the weights' gradient and s),
  once for the first layer with weights (no s: nothing before it learns);
- that rate as a percentage of one core's GEMM ceiling (float32 n×n products, measured here first);
- what is left of the step: loss and δ, the optimizer, metrics, batching, the graph's walk.

One thread gives each layer's own cost, free of the threads' hand-offs; `make bench` runs every
core, and the rows' wall times there are the ones the targets are about.
"""
import argparse
import os
import platform
import sys
import time
from pathlib import Path

os.environ.setdefault("NETFIT_COMPILED", "0")
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

import netfit as nf  # noqa: E402
import workers  # noqa: E402

#: (row, model as workers.netfit_model names it, batch, "train" or "predict"), in RESULTS.md's order.
ROWS = [("lecture MLP, training step, batch 32", "mlp", 32, "train"),
        ("lecture MLP, training step, batch 128", "mlp", 128, "train"),
        ("lecture MLP, training step, batch 1024", "mlp", 1024, "train"),
        ("mnist_convnet CNN, training step, batch 128", "cnn", 128, "train"),
        ("residual CNN (issue 22), training step, batch 128", "rescnn", 128, "train"),
        ("predict, lecture MLP, batch 1000", "mlp", 1000, "predict"),
        ("predict, mnist_convnet CNN, batch 1000", "cnn", 1000, "predict")]


def gemm_ceiling(n=1024, repeats=5):
    """One core's float32 GEMM rate in GFLOP/s: the best of ``repeats`` n×n×n products."""
    rng = np.random.default_rng(0)
    a, b = rng.random((n, n), dtype=np.float32), rng.random((n, n), dtype=np.float32)
    out = np.empty((n, n), np.float32)
    np.matmul(a, b, out=out)
    best = min(_seconds(lambda: np.matmul(a, b, out=out)) for _ in range(repeats))
    return 2 * n ** 3 / best / 1e9


def _seconds(fn):
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


_forward_pooled = None


def time_layers(model, passes=("forward", "backward"), fused=None):
    """Wrap each layer's passes with a timer; returns {(layer name, pass): seconds}, filled as the model runs.

    The wrappers sit on the layer objects (instance attributes), where the model's own walk
    (Sequential's chain or the graph's nodes) calls them. Inference's one pass for a Conv2D and
    the MaxPooling2D after it (netfit.layers.conv_pool) counts as the Conv2D's forward, and
    ``fused`` (a dict, if given) gets {conv name: pool name} for each such pair that ran.
    """
    global _forward_pooled
    from netfit.layers import conv_pool
    spent = {}
    _forward_pooled = _forward_pooled or conv_pool.forward_pooled      # netfit's own, before any wrapper

    def pooled(conv, pool, *args):
        start = time.perf_counter()
        try:
            return _forward_pooled(conv, pool, *args)
        finally:
            key = (conv.name, "forward")
            spent[key] = spent.get(key, 0.0) + time.perf_counter() - start
            if fused is not None:
                fused[conv.name] = pool.name
    conv_pool.forward_pooled = pooled
    for layer in model.layers:
        for which in passes:
            method = getattr(layer, which, None)
            if method is None:
                continue

            def timed(*args, _method=method, _key=(layer.name, which), **kwargs):
                start = time.perf_counter()
                try:
                    return _method(*args, **kwargs)
                finally:
                    spent[_key] = spent.get(_key, 0.0) + time.perf_counter() - start
            setattr(layer, which, timed)
    return spent


def layer_rows(model, spent, per, ceiling, passes=("forward", "backward"), batch=1, fused=None):
    """Markdown rows: each layer's ms per ``per`` calls and GFLOP/s (and % of ``ceiling``) for each pass.

    ``fused``: {conv name: pool name} of the pairs that ran as one pass (their row names both).
    """
    fused = fused or {}
    rows = []
    first = next((layer for layer in model.layers if layer.count_params()), None)
    for layer in model.layers:
        links = layer.count_links() if hasattr(layer, "count_links") else 0
        cells = []
        for which in passes:
            seconds = spent.get((layer.name, which), 0.0) / per
            # backward: the weights' gradient, and s for every layer but the first with weights
            flops = 2 * links * batch * (1 if which == "forward" or layer is first else 2)
            rate = flops / seconds / 1e9 if seconds > 0 and flops else None
            cells.append(f"{seconds * 1e3:.2f} ms")
            cells.append("" if rate is None else f"{rate:.1f} ({100 * rate / ceiling:.0f} %)")
        if any(spent.get((layer.name, which), 0.0) for which in passes):
            label = f"{layer.name} ({type(layer).__name__})"
            if layer.name in fused:
                label += f" and {fused[layer.name]}, one pass (conv_pool)"
            rows.append(f"| {label} | " + " | ".join(cells) + " |")
    return rows


def profile(arch, batch, count, ceiling, train):
    """Rows for ``count`` training steps of ``fit`` (``train``) or ``predict`` batches at ``batch``, after a warm-up."""
    model = workers.netfit_model(arch, 0)
    rng = np.random.default_rng(0)
    x = rng.random((batch * count,) + tuple(model.layers[0].input_shape), dtype=np.float32)
    passes = ("forward", "backward") if train else ("forward",)
    fused = {}
    spent = time_layers(model, passes, fused)
    if train:
        y = rng.integers(0, 10, batch * count)
        model.fit(x[:2 * batch], y[:2 * batch], batch_size=batch, verbose=0)
        run = lambda: model.fit(x, y, batch_size=batch, verbose=0, shuffle=False)     # noqa: E731
    else:
        model.predict(x[:batch], batch_size=batch, verbose=0)
        run = lambda: model.predict(x, batch_size=batch, verbose=0)                   # noqa: E731
    spent.clear()
    total = _seconds(run) / count
    layers = sum(spent.values()) / count
    blank = " |" * (2 * len(passes) - 2)           # the cells left of the last pass's time
    rows = ["| layer |" + "".join(f" {p} | GFLOP/s (% of GEMM) |" for p in passes),
            "|---|" + "---:|---:|" * len(passes)]
    rows += layer_rows(model, spent, count, ceiling, passes=passes, batch=batch, fused=fused)
    what, rest = ("step", "loss and δ, the optimizer, metrics, batching") if train else \
        ("batch", "checks, batching, the output")
    speed = "" if train else f" ({batch / total:,.0f} images/s)"
    rows += [f"| **all layers** |{blank} {layers * 1e3:.2f} ms | |",
             f"| the rest: {rest} |{blank} {(total - layers) * 1e3:.2f} ms ({100 * (total - layers) / total:.0f} % "
             f"of the {what}) | |",
             f"| **the {what}** |{blank} {total * 1e3:.2f} ms{speed} | |"]
    return rows


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=30, help="training steps (or predict batches) timed per row; "
                                                          "the MLP at batch 32 and 128 runs 10× as many")
    p.add_argument("--out", default=str(HERE / "RESULTS-profile.md"))
    args = p.parse_args(argv)
    if args.steps < 1:
        p.error(f"expected --steps of at least 1, got {args.steps}")
    nf.config.set_threads(1)
    ceiling = gemm_ceiling()
    lines = ["# Where each row's time goes, layer by layer, on one thread", "",
             f"`python benchmarks/bench_profile.py --steps {args.steps}`, {time.strftime('%Y-%m-%d')}, "
             f"{platform.machine()}, {os.cpu_count()} cores, netfit {nf.__version__} (pure NumPy), one BLAS "
             f"thread, one process, float32. One core's GEMM ceiling (1024×1024×1024 float32, best of 5): "
             f"**{ceiling:.1f} GFLOP/s**.", ""]
    for title, arch, batch, kind in ROWS:
        steps = args.steps * (10 if arch == "mlp" and batch <= 128 else 1)
        log = f"{title}: {steps} {'steps' if kind == 'train' else 'batches'}"
        print(log, "...", flush=True)
        lines += [f"## {title}", "", f"{steps} {'steps' if kind == 'train' else 'batches'} timed.", ""]
        lines += profile(arch, batch, steps, ceiling, train=kind == "train")
        lines.append("")
    text = "\n".join(lines)
    with open(args.out, "w", encoding="utf-8") as handle:
        handle.write(text)
    print(text + f"\nwrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
