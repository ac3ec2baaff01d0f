"""Time one training epoch of the lecture MLP (784-128-10, Adam) on MNIST at several batch sizes.

Writes a Markdown table (median, min, max of the repeats; steps per second;
GFLOP/s of the forward+backward products) to ``--out``.

    python benchmarks/bench_mlp.py --out benchmarks/RESULTS.md
"""
import argparse
import os
import platform
import statistics
import sys
import time

import numpy as np

import netfit as nf
from netfit.datasets import mnist


def time_epoch(x, y, batch_size, seed):
    model = nf.zoo.lecture_mlp(seed=seed)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    start = time.perf_counter()
    history = model.fit(x, y, epochs=1, batch_size=batch_size, verbose=0)
    return time.perf_counter() - start, history.history["accuracy"][-1]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[32, 128, 1024])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", default="benchmarks/RESULTS.md")
    args = parser.parse_args(argv)

    (x, y), _ = mnist.load_data()
    x = x.astype("float32") / 255
    # Multiply-adds of forward + the two backward products, per example (the first layer sends no s).
    flops_per_example = 2 * (784 * 128 + 128 * 10) * 2 + 2 * (128 * 10)
    rows = []
    for batch_size in args.batch_sizes:
        times, accs = zip(*(time_epoch(x, y, batch_size, seed) for seed in range(args.repeats)))
        med = statistics.median(times)
        steps = -(-len(x) // batch_size)
        rows.append((batch_size, med, min(times), max(times), steps / med,
                     flops_per_example * len(x) / med / 1e9, statistics.mean(accs)))
        print(f"batch {batch_size:5d}: median {med:.3f} s (min {min(times):.3f}, max {max(times):.3f})", flush=True)

    lines = [
        "# netfit benchmarks", "",
        "## Lecture MLP (Flatten-Dense(128, relu)-Dense(10, softmax), Adam), one MNIST epoch (60,000 images)", "",
        f"Command: `python benchmarks/bench_mlp.py` · {time.strftime('%Y-%m-%d %H:%M')} · "
        f"netfit {nf.__version__}, NumPy {np.__version__}, Python {platform.python_version()}, "
        f"{platform.machine()}, {os.cpu_count()} cores · {args.repeats} repeats", "",
        "| batch size | median s | min s | max s | steps/s | GFLOP/s (fwd+bwd) | train accuracy after 1 epoch |",
        "|---:|---:|---:|---:|---:|---:|---:|",
    ]
    lines += [f"| {b} | {m:.3f} | {lo:.3f} | {hi:.3f} | {sps:,.0f} | {gf:.1f} | {acc:.4f} |"
              for b, m, lo, hi, sps, gf, acc in rows]
    with open(args.out, "w") as handle:
        handle.write("\n".join(lines) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
