"""Where BLAS's second thread starts to pay for a model of products only (netfit.config.SMALL_PRODUCTS_STEP_FLOPS).

    python benchmarks/bench_small_steps.py               # writes benchmarks/RESULTS-small-steps.md
    python benchmarks/bench_small_steps.py --repeats 3   # a quicker look

The lecture MLP (Flatten → Dense(128, relu) → Dense(10, softmax), Adam) trains one MNIST epoch
(60,000 images; ``NETFIT_DATA_DIR`` or netfit's loader) at each batch size, once with its products
held at one BLAS thread (``nf.config.set_threads(1)``) and once on BLAS's own threads, one per core
(``set_threads(None)``: what ``"auto"`` does from SMALL_PRODUCTS_STEP_FLOPS up), in one process,
the two settings interleaved and their order alternated, with the same start weights and batches.
netfit's pure NumPy path (``NETFIT_COMPILED=0``), float32. Cells: median (min–max) of the repeats;
the last column: one thread / BLAS's threads (above 1: the second thread pays). The step's size
is 6 floating-point operations per link and example (config.SMALL_STEP_FLOPS's count).

Small products wake and join BLAS's threads for little work, and on a busy machine the second
thread may wait for a core; run this on a quiet machine, and read the spread as well as the median.
"""
import argparse
import os
import platform
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("NETFIT_COMPILED", "0")
HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

import numpy as np  # noqa: E402

import netfit as nf  # noqa: E402
from netfit import config, zoo  # noqa: E402

SETTINGS = {"one BLAS thread": 1, "BLAS's own threads": None}


def _epoch(x, y, batch, setting):
    """Seconds for one epoch of the lecture MLP at ``batch`` under thread ``setting``."""
    config.set_threads(setting)
    try:
        model = zoo.lecture_mlp(seed=0)
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
        start = time.perf_counter()
        model.fit(x, y, batch_size=batch, epochs=1, verbose=0, shuffle=False)
        return time.perf_counter() - start
    finally:
        config.set_threads("auto")


def _cell(times):
    return f"{statistics.median(times):.3f} ({min(times):.3f}–{max(times):.3f})"


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--batches", type=int, nargs="+", default=[32, 48, 64, 128])
    p.add_argument("--repeats", type=int, default=6)
    p.add_argument("--out", default=str(HERE / "RESULTS-small-steps.md"))
    args = p.parse_args(argv)
    if not config.can_limit_blas():
        sys.exit("bench_small_steps: holding BLAS at one thread needs threadpoolctl. "
                 "Fix: pip install 'netfit[threads]' (make bench's env has it).")
    (x, y), _ = nf.datasets.mnist.load_data()
    x = (x / np.float32(255)).astype(np.float32)
    links = zoo.lecture_mlp().count_links()
    order = list(SETTINGS)
    times = {(b, s): [] for b in args.batches for s in SETTINGS}
    _epoch(x[:2048], y[:2048], 128, None)                               # warm: imports, pages, BLAS's threads
    load_before = os.getloadavg()
    for r in range(args.repeats):
        for b in args.batches:
            for s in (order if r % 2 == 0 else order[::-1]):
                times[(b, s)].append(_epoch(x, y, b, SETTINGS[s]))
        print(f"repeat {r + 1}/{args.repeats} done", file=sys.stderr)
    load_after = os.getloadavg()
    lines = [
        "# BLAS's second thread for a model of products only: from which step size it pays",
        "",
        f"`python benchmarks/bench_small_steps.py --repeats {args.repeats}`, "
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {platform.machine()}, {os.cpu_count()} cores, "
        f"netfit {nf.__version__} (pure NumPy), numpy {np.__version__}, float32, one process. "
        f"Load average (1, 5, 15 min) before: {' '.join(f'{v:.2f}' for v in load_before)}, "
        f"after: {' '.join(f'{v:.2f}' for v in load_after)}.",
        "",
        f"The lecture MLP ({links:,} links), one MNIST epoch of 60,000 images, Adam; seconds, median (min–max) "
        f"of {args.repeats} interleaved runs. netfit's `\"auto\"` runs a step of this model on BLAS's own "
        f"threads from `netfit.config.SMALL_PRODUCTS_STEP_FLOPS` = {config.SMALL_PRODUCTS_STEP_FLOPS / 1e6:g} M "
        f"floating-point operations up, on one thread below.",
        "",
        "| batch | step, M flops | one BLAS thread | BLAS's own threads | one / own | \"auto\" runs it on |",
        "|---:|---:|---:|---:|---:|---|",
    ]
    for b in args.batches:
        one, own = times[(b, "one BLAS thread")], times[(b, "BLAS's own threads")]
        flops = 6 * links * b
        auto = "BLAS's own threads" if flops >= config.SMALL_PRODUCTS_STEP_FLOPS else "one BLAS thread"
        lines.append(f"| {b} | {flops / 1e6:.1f} | {_cell(one)} | {_cell(own)} | "
                     f"{statistics.median(one) / statistics.median(own):.2f} | {auto} |")
    Path(args.out).write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
