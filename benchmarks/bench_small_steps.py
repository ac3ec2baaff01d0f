"""Where BLAS's second thread starts to pay for a model of products only (netfit.config.SMALL_PRODUCTS_STEP_FLOPS).

    python benchmarks/bench_small_steps.py --busy 1     # writes benchmarks/RESULTS-small-steps.md
    python benchmarks/bench_small_steps.py --repeats 2  # a quicker look, the machine as it is

The lecture MLP (Flatten → Dense(128, relu) → Dense(10, softmax), Adam) trains one MNIST epoch
(60,000 images unless ``--examples`` says; ``NETFIT_DATA_DIR`` or netfit's loader) at each batch
size (32, 48, 64, 128, 256 and 1024 unless ``--batches`` says), once with its products held at
one BLAS thread (``nf.config.set_threads(1)``) and once on BLAS's own threads, one per core
(``set_threads(None)``: what ``"auto"`` does from SMALL_PRODUCTS_STEP_FLOPS up), in one process,
the two settings interleaved and their order alternated, with the same start weights and batches.
netfit's pure NumPy path (``NETFIT_COMPILED=0``), float32. Cells: median (min–max) of the repeats;
the last column: one thread / BLAS's threads (above 1: the second thread pays). The step's size
is 6 floating-point operations per link and example (config.SMALL_STEP_FLOPS's count).

Small products wake and join BLAS's threads for little work, and on a busy machine the second
thread waits for a core at every product. ``--busy K`` times every cell a second time with K other
processes spinning on the CPU (a shared machine, made on purpose): the second table. The report
says what share of the CPU other processes used while each table was timed (/proc/stat, as
``make bench`` reads it), and calls the first table loaded above 5 %.
"""
import argparse
import multiprocessing
import os
import platform
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("NETFIT_COMPILED", "0")
HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

import numpy as np  # noqa: E402

import netfit as nf  # noqa: E402
from netfit import config, zoo  # noqa: E402
from workers import CpuWatch  # noqa: E402  (make bench's reading of /proc/stat)

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


def _spin():
    """Keep one core busy until terminated: another user's work on a shared machine."""
    while True:
        pass


def _time_all(x, y, batches, repeats):
    """{(batch, setting): [seconds, ...]}, the settings interleaved and their order alternated;
    and the share of the machine's CPU that other processes used meanwhile (None without /proc/stat)."""
    order = list(SETTINGS)
    times = {(b, s): [] for b in batches for s in SETTINGS}
    with CpuWatch() as watch:
        for r in range(repeats):
            for b in batches:
                for s in (order if r % 2 == 0 else order[::-1]):
                    times[(b, s)].append(_epoch(x, y, b, SETTINGS[s]))
            print(f"repeat {r + 1}/{repeats} done", file=sys.stderr)
    return times, watch.stats["others_share"]


def _table(times, batches, links):
    lines = ["| batch | step, M flops | one BLAS thread | BLAS's own threads | one / own | \"auto\" runs it on |",
             "|---:|---:|---:|---:|---:|---|"]
    for b in batches:
        one, own = times[(b, "one BLAS thread")], times[(b, "BLAS's own threads")]
        flops = 6 * links * b
        auto = "BLAS's own threads" if flops >= config.SMALL_PRODUCTS_STEP_FLOPS else "one BLAS thread"
        lines.append(f"| {b} | {flops / 1e6:.1f} | {_cell(one)} | {_cell(own)} | "
                     f"{statistics.median(one) / statistics.median(own):.2f} | {auto} |")
    return lines


def _others(share):
    if share is None:
        return "other processes' CPU not known (no /proc/stat)"
    return f"other processes used {100 * share:.0f} % of the machine's CPU meanwhile (/proc/stat less this one's)"


def _cell(times):
    return f"{statistics.median(times):.3f} ({min(times):.3f}–{max(times):.3f})"


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--batches", type=int, nargs="+", default=[32, 48, 64, 128, 256, 1024])
    p.add_argument("--repeats", type=int, default=6)
    p.add_argument("--busy", type=int, default=0, metavar="K",
                   help="time every cell again with K processes spinning on the CPU (default 0: not)")
    p.add_argument("--examples", type=int, default=60_000, help="MNIST training images per epoch (default all)")
    p.add_argument("--out", default=str(HERE / "RESULTS-small-steps.md"))
    args = p.parse_args(argv)
    if not config.can_limit_blas():
        sys.exit("bench_small_steps: holding BLAS at one thread needs threadpoolctl. "
                 "Fix: pip install 'netfit[threads]' (make bench's env has it).")
    (x, y), _ = nf.datasets.mnist.load_data()
    x, y = (x[:args.examples] / np.float32(255)).astype(np.float32), y[:args.examples]
    links = zoo.lecture_mlp().count_links()
    _epoch(x[:2048], y[:2048], 128, None)                               # warm: imports, pages, BLAS's threads
    quiet, quiet_others = _time_all(x, y, args.batches, args.repeats)
    lines = [
        "# BLAS's second thread for a model of products only: from which step size it pays",
        "",
        f"`python benchmarks/bench_small_steps.py {' '.join(sys.argv[1:] if argv is None else argv)}`, "
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {platform.machine()}, {os.cpu_count()} cores, "
        f"netfit {nf.__version__} (pure NumPy), numpy {np.__version__}, float32, one process.",
        "",
        f"The lecture MLP ({links:,} links), one MNIST epoch of {len(x):,} images, Adam; seconds, median (min–max) "
        f"of {args.repeats} interleaved runs. netfit's `\"auto\"` runs a step of this model on BLAS's own "
        f"threads from `netfit.config.SMALL_PRODUCTS_STEP_FLOPS` = {config.SMALL_PRODUCTS_STEP_FLOPS / 1e6:g} M "
        f"floating-point operations up, on one thread below.",
        "",
        f"## The machine as found ({_others(quiet_others)})",
        "",
    ]
    if quiet_others is not None and quiet_others > 0.05:
        lines += ["**A loaded machine**: other work shared the cores, so this is not the quiet-machine figure.", ""]
    lines += _table(quiet, args.batches, links)
    if args.busy:
        spinners = [multiprocessing.Process(target=_spin, daemon=True) for _ in range(args.busy)]
        for proc in spinners:
            proc.start()
        try:
            time.sleep(1)
            busy, busy_others = _time_all(x, y, args.batches, args.repeats)
        finally:
            for proc in spinners:
                proc.terminate()
        lines += ["", f"## With {args.busy} other process{'es' if args.busy > 1 else ''} spinning on the CPU "
                      f"({_others(busy_others)})", ""]
        lines += _table(busy, args.batches, links)
    Path(args.out).write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
