"""Peak memory of netfit's predict and evaluate on MNIST with the CNN (netfit.zoo.mnist_cnn).

    python benchmarks/bench_memory.py                      # the 10,000 test images, batch sizes 256 and 1024
    python benchmarks/bench_memory.py --split train --n 10000 60000 --batch-sizes 256 1024   # RESULTS-memory.md
    python benchmarks/bench_memory.py --n 2000 --batch-sizes 256                          # a quick look

predict and evaluate stream the data through the network in batches, so their
memory should grow with the batch size, not with the number of images. Each
measurement runs in a fresh process and reads its peak resident set size (RSS,
from ``getrusage``) three times: after loading MNIST (uint8, as the loader
returns it) and building the CNN; after one batch (the layers' buffers for a
batch now exist); and after the call on all n images. The last growth is what
n costs; the table compares it with the first convolution's output for all n
images (what a non-streaming implementation would hold). Results go to
benchmarks/RESULTS-memory.md (--out).

Skips cleanly (exit 0, nothing written) when MNIST or netfit.zoo.mnist_cnn is
not available.
"""
import argparse
import datetime
import json
import os
import platform
import resource
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
SHARED_DATA = os.path.join(os.path.dirname(ROOT), "shared", "data")


def _peak_rss_bytes():
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024          # Linux reports KiB


def worker(call, n, split, batch_size):
    """Run one measurement in this (fresh) process; print a JSON line."""
    import numpy as np
    import netfit as nf
    from netfit.datasets import mnist
    (x_train, y_train), (x_test, y_test) = mnist.load_data()
    x, y = (x_train, y_train) if split == "train" else (x_test, y_test)
    x, y = x[:n], y[:n].astype(np.int64)
    model = nf.zoo.mnist_cnn(seed=0)
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    loaded = _peak_rss_bytes()
    model.predict(x[:batch_size], batch_size=batch_size)              # the buffers for one batch now exist
    one_batch = _peak_rss_bytes()
    start = time.perf_counter()
    if call == "predict":
        model.predict(x, batch_size=batch_size)
    elif call == "evaluate":
        model.evaluate(x, y, batch_size=batch_size)
    seconds = time.perf_counter() - start
    first = model.layers[0].output_shape
    print(json.dumps({"call": call, "n": int(len(x)), "batch_size": batch_size, "loaded": loaded,
                      "one_batch": one_batch, "peak": _peak_rss_bytes(), "seconds": seconds,
                      "full_first_layer": int(len(x) * np.prod(first) * 4), "outputs": int(len(x) * 10 * 4),
                      "input": int(x.nbytes)}))


def _available():
    if not os.environ.get("NETFIT_DATA_DIR") and os.path.isdir(os.path.join(SHARED_DATA, "mnist")):
        os.environ["NETFIT_DATA_DIR"] = SHARED_DATA
    sys.path.insert(0, ROOT)
    try:
        import netfit.zoo
        from netfit.datasets import _files, mnist
    except ImportError as exc:
        return f"netfit is not importable ({exc})"
    if not hasattr(netfit.zoo, "mnist_cnn"):
        return "netfit.zoo.mnist_cnn does not exist in this netfit"
    if None in _files.find(mnist.SPEC).values():
        return "MNIST is not available offline (set NETFIT_DATA_DIR or run `netfit data fetch mnist`)"
    return None


def _mib(value):
    return f"{value / 2**20:,.1f}"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, nargs="+", default=[10_000], help="numbers of images (default: 10,000)")
    parser.add_argument("--split", choices=("test", "train"), default="test")
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[256, 1024])
    parser.add_argument("--out", default=os.path.join(HERE, "RESULTS-memory.md"))
    parser.add_argument("--worker", nargs=4, metavar=("CALL", "N", "SPLIT", "BATCH"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        call, n, split, batch = args.worker
        worker(call, int(n), split, int(batch))
        return 0
    missing = _available()
    if missing:
        print(f"bench_memory: skipped: {missing}.")
        return 0
    env = {**os.environ, "PYTHONPATH": ROOT + os.pathsep + os.environ.get("PYTHONPATH", "")}
    rows = []
    for n, batch, call in [(n, b, c) for n in args.n for b in args.batch_sizes for c in ("predict", "evaluate")]:
        out = subprocess.run([sys.executable, __file__, "--worker", call, str(n), args.split, str(batch)],
                             capture_output=True, text=True, env=env, check=True)
        row = json.loads(out.stdout.strip().splitlines()[-1])
        rows.append(row)
        print(f"n {row['n']:>6,} batch {batch:>5} {call:<8}: peak RSS {_mib(row['loaded'])} MiB loaded, "
              f"{_mib(row['one_batch'])} MiB after one batch, {_mib(row['peak'])} MiB after all images "
              f"({row['seconds']:.1f} s)", flush=True)
    _write(args, rows)
    print(f"Wrote {args.out}")
    return 0


def _write(args, rows):
    import numpy as np
    worst = max(rows, key=lambda row: row["peak"] - row["one_batch"])
    command = (f"python benchmarks/bench_memory.py --split {args.split} --n {' '.join(map(str, args.n))} "
               f"--batch-sizes {' '.join(map(str, args.batch_sizes))}")
    threads = os.environ.get("OPENBLAS_NUM_THREADS")
    lines = [
        "# Peak memory of predict and evaluate (MNIST, `netfit.zoo.mnist_cnn`)", "",
        f"Written by `{command}` on {datetime.date.today().isoformat()}: {platform.machine()}, {os.cpu_count()} "
        f"CPUs, Python {platform.python_version()}, NumPy {np.__version__}"
        f"{f', OPENBLAS_NUM_THREADS={threads}' if threads else ''}.", "",
        f"Each row is a fresh process. Peak RSS after loading MNIST (both splits, uint8) and building the CNN; "
        f"after predicting one batch (the layers' buffers for a batch now exist); and after the call on the "
        f"first n {args.split} images. *Added* is what the n images cost beyond one batch; *full tensor* is "
        f"what the first convolution's output for all n images would take in float32 (what a non-streaming "
        f"implementation would hold).", "",
        "| n | batch size | call | loaded and built (MiB) | after one batch (MiB) | after all n (MiB) | "
        "added (MiB) | full tensor (MiB) | time (s) |",
        "|---:|---:|---|---:|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        lines.append(f"| {row['n']:,} | {row['batch_size']} | {row['call']} | {_mib(row['loaded'])} | "
                     f"{_mib(row['one_batch'])} | {_mib(row['peak'])} | {_mib(row['peak'] - row['one_batch'])} | "
                     f"{_mib(row['full_first_layer'])} | {row['seconds']:.1f} |")
    lines += ["", f"Memory follows the batch size (the layers' buffers: im2col windows and activations of one batch), "
                  f"not the number of images: the most that all n images added beyond one batch was "
                  f"{_mib(worst['peak'] - worst['one_batch'])} MiB (n = {worst['n']:,}, {worst['call']}, batch "
                  f"{worst['batch_size']}), of which the predictions are {_mib(worst['outputs'])} MiB, against "
                  f"{_mib(worst['full_first_layer'])} MiB for that n's full first-layer tensor. "
                  f"tests/test_faults.py::test_predicting_60000_images_never_holds_a_full_activation_tensor checks "
                  f"the same with tracemalloc on 60,000 images.", ""]
    with open(args.out, "w") as handle:
        handle.write("\n".join(lines))


if __name__ == "__main__":
    sys.exit(main())
