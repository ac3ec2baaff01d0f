"""What a graph costs, step by step (issue 22): where the graph's time goes, apart from the machine's noise.

    python benchmarks/bench_graph_step.py            # writes benchmarks/RESULTS-graph-step.md

Two tables, in one process, one BLAS thread, netfit's pure NumPy path (``NETFIT_COMPILED=0`` is set
before netfit loads), float32, MNIST-shaped random data:

1. **The lecture MLP, Sequential against the same MLP as a graph** (``nf.Model``), batch 32: the
   forward pass, the backward pass, loss and δ, the whole gradient (``netfit.replicas``), and the
   whole training step (gradient, metrics, Adam's update), each timed over ``--calls`` calls per
   block, the two models' blocks interleaved ``--blocks`` times. Medians and minima in µs per call,
   and graph − Sequential: what :mod:`netfit.graph`'s bookkeeping adds to a step.
2. **The residual CNN of `make bench`'s ``rescnn`` row** (benchmarks/workers.py ``residual_cnn``),
   batch 128, one thread: each layer's forward and backward over ``--steps`` steps of ``fit``, and what
   is left (loss, Adam, metrics, the graph's walk): :func:`bench_profile.profile`'s table.
"""
import argparse
import os
import platform
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_profile  # noqa: E402  (first: NETFIT_COMPILED=0 and one BLAS thread, before NumPy loads)

import numpy as np  # noqa: E402

import netfit as nf  # noqa: E402
from netfit import replicas  # noqa: E402

import workers  # noqa: E402

HERE = bench_profile.HERE
PARTS = ("forward", "backward", "loss and δ", "gradient", "training step")


def _mlps(x, y):
    models = {"Sequential": workers.netfit_model("mlp", 0), "graph": workers.netfit_model("mlp-graph", 0)}
    for model in models.values():
        model.fit(x, y, batch_size=len(x), verbose=0)               # buffers made, optimizer state built
    return models


def _part(name, model, x, y, calls_n):
    """Time ``calls_n`` calls of one part of the step on ``model``; µs per call."""
    calls = model._calls
    if name == "forward":
        def once():
            model._forward(x, True, calls)
    elif name == "backward":
        delta = model._output_error(model._forward(x, True, calls), y)

        def once():
            model._backprop(calls, delta)
    elif name == "loss and δ":
        y_pred = model._forward(x, True, calls)

        def once():
            model._data_loss(y_pred, y, None, calls)
            model._output_error(y_pred, y)
    else:
        lane = replicas.Replicas(model, 1)
        metrics = [metric for _, metric in model.metrics]

        def once():
            _, outputs = lane.gradient(x, y)
            if name == "training step":
                for y_share, y_pred in outputs:
                    model._update_metrics(metrics, y_share, y_pred)
                model._apply_step()
    start = time.perf_counter()
    for _ in range(calls_n):
        once()
    return (time.perf_counter() - start) / calls_n * 1e6


def mlp_table(blocks, calls_n):
    rng = np.random.default_rng(0)
    x, y = rng.random((32, 28, 28), dtype=np.float32), rng.integers(0, 10, 32)
    models = _mlps(x, y)
    times = {(part, name): [] for part in PARTS for name in models}
    for b in range(blocks):
        for part in PARTS:
            for name in (("Sequential", "graph") if b % 2 == 0 else ("graph", "Sequential")):
                times[part, name].append(_part(part, models[name], x, y, calls_n))
    rows = ["| part of the step | Sequential, median (min) | graph, median (min) | graph − Sequential, "
            "medians (minima) |", "|---|---:|---:|---:|"]
    for part in PARTS:
        s, g = times[part, "Sequential"], times[part, "graph"]
        rows.append(f"| {part} | {statistics.median(s):.1f} µs ({min(s):.1f} µs) | {statistics.median(g):.1f} µs "
                    f"({min(g):.1f} µs) | {statistics.median(g) - statistics.median(s):+.1f} µs "
                    f"({min(g) - min(s):+.1f} µs) |")
    return rows


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--blocks", type=int, default=40, help="interleaved blocks per part of the MLP step")
    p.add_argument("--calls", type=int, default=200, help="calls per block")
    p.add_argument("--steps", type=int, default=30, help="residual CNN steps timed")
    p.add_argument("--out", default=str(HERE / "RESULTS-graph-step.md"))
    args = p.parse_args(argv)
    lines = ["# What a graph costs, step by step", "",
             f"`python benchmarks/bench_graph_step.py --blocks {args.blocks} --calls {args.calls} --steps "
             f"{args.steps}`, {time.strftime('%Y-%m-%d')}, {platform.machine()}, {os.cpu_count()} cores, "
             f"netfit {nf.__version__} (pure NumPy), one BLAS thread, one process.", "",
             f"The lecture MLP at batch 32, Sequential and graph (`nf.Model`) with the same weights, "
             f"{args.blocks} interleaved blocks of {args.calls} calls per part:", ""]
    lines += mlp_table(args.blocks, args.calls)
    lines += ["", f"`make bench`'s residual CNN at batch 128 on one thread, {args.steps} steps of `fit`: where "
              "the step's time goes.", ""]
    nf.config.set_threads(1)
    lines += bench_profile.profile("rescnn", 128, args.steps, bench_profile.gemm_ceiling(), train=True)
    text = "\n".join(lines) + "\n"
    with open(args.out, "w", encoding="utf-8") as handle:
        handle.write(text)
    print(text + f"\nwrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
