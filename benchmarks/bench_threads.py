"""One model, many threads: what records of calls cost one thread, and what they give many.

Two questions (issue 24 §1):

1. **Cost.** Keeping a call's state in its record (netfit.layers.base.Call) instead of on the
   layer, and holding the weights lock around each step and each inference batch, must not
   make single-thread ``predict`` or ``fit`` slower. This times both on the tree under test
   and on a baseline tree (an earlier commit, checked out by ``--baseline REV`` into a
   temporary git worktree), each in its own process, interleaved, ``--repeats`` times:
   medians, min and max, and the ratio new / baseline per row.
2. **Threads.** ``predict`` throughput of one shared model called from 1, 2, 4 and 8 threads
   (the tree under test only; before records such calls gave wrong answers, so there is no
   baseline to compare with).

    python benchmarks/bench_threads.py --baseline c18e26c          # writes benchmarks/RESULTS-threads.md

Rows (float32, MNIST-shaped random data, 1 BLAS thread per process so that the
comparison is not BLAS's scheduling; fit at netfit's own thread setting):

- predict MLP, one image per call (a web server's request), 2,000 calls;
- predict MLP, 10,000 images, batch 256;
- predict CNN (Keras's mnist_convnet), 1,000 images, batch 128;
- fit MLP, one epoch of 12,000 images at batch 32 and at batch 128;
- fit CNN, 40 steps at batch 128.
"""
import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

ROWS = ["predict MLP 1 image x2000", "predict MLP 10k b256", "predict CNN 1k b128",
        "fit MLP epoch 12k b32", "fit MLP epoch 12k b128", "fit CNN 40 steps b128"]

# The worker runs inside each tree's own netfit (PYTHONPATH=tree): only public API, so any commit works.
WORKER = r'''
import json, sys, time, threading
import numpy as np
import netfit as nf
from netfit.layers import Conv2D, Dense, Dropout, Flatten, MaxPooling2D

def mlp():
    m = nf.Sequential([Flatten(input_shape=(28, 28)), Dense(128, activation="relu"), Dense(10, activation="softmax")], seed=0)
    m.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return m

def cnn():
    m = nf.Sequential([Conv2D(32, 3, activation="relu", input_shape=(28, 28, 1)), MaxPooling2D(2),
                       Conv2D(64, 3, activation="relu"), MaxPooling2D(2), Flatten(), Dropout(0.5),
                       Dense(10, activation="softmax")], seed=0)
    m.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return m

rng = np.random.default_rng(0)
x = rng.random((12000, 28, 28), dtype=np.float32)
y = rng.integers(0, 10, 12000)
m_mlp, m_cnn = mlp(), cnn()
m_mlp.predict(x[:10]); m_cnn.predict(x[:10, :, :, None])

def timed(fn):
    t = time.perf_counter(); fn(); return time.perf_counter() - t

def row(name):
    if name == "predict MLP 1 image x2000":
        one = x[:1]
        return timed(lambda: [m_mlp.predict(one) for _ in range(2000)])
    if name == "predict MLP 10k b256":
        return timed(lambda: m_mlp.predict(x[:10000], batch_size=256))
    if name == "predict CNN 1k b128":
        return timed(lambda: m_cnn.predict(x[:1000, :, :, None], batch_size=128))
    if name == "fit MLP epoch 12k b32":
        return timed(lambda: m_mlp.fit(x, y, epochs=1, batch_size=32, verbose=0))
    if name == "fit MLP epoch 12k b128":
        return timed(lambda: m_mlp.fit(x, y, epochs=1, batch_size=128, verbose=0))
    if name == "fit CNN 40 steps b128":
        return timed(lambda: m_cnn.fit(x[:5120, :, :, None], y[:5120], epochs=1, batch_size=128, verbose=0))
    if name.startswith("threads "):
        k = int(name.split()[1])
        images = x[:64]
        calls = 400 // k
        def work():
            for _ in range(calls):
                m_mlp.predict(images)
        threads = [threading.Thread(target=work) for _ in range(k)]
        t = time.perf_counter()
        for th in threads: th.start()
        for th in threads: th.join()
        return time.perf_counter() - t, calls * k * len(images)
    raise KeyError(name)

for line in sys.stdin:
    name = line.strip()
    result = row(name)
    print(json.dumps({"row": name, "result": result}), flush=True)
'''


def _worker(tree):
    env = {**os.environ, "PYTHONPATH": str(tree), "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1",
           "MKL_NUM_THREADS": "1"}
    env.pop("NETFIT_DATA_DIR", None)
    return subprocess.Popen([sys.executable, "-c", WORKER], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            text=True, env=env, cwd=tempfile.gettempdir())


def _ask(proc, name):
    proc.stdin.write(name + "\n")
    proc.stdin.flush()
    return json.loads(proc.stdout.readline())["result"]


def _baseline_tree(rev):
    folder = Path(tempfile.mkdtemp(prefix="netfit-baseline-"))
    subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(folder), rev], check=True,
                   capture_output=True)
    return folder


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--baseline", required=True, help="git revision to compare with (e.g. c18e26c)")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "RESULTS-threads.md"))
    args = parser.parse_args(argv)
    base = _baseline_tree(args.baseline)
    try:
        sides = {"baseline": _worker(base), "new": _worker(ROOT)}
        times = {(side, r): [] for side in sides for r in ROWS}
        for rep in range(args.repeats):
            for r in ROWS:
                order = list(sides) if rep % 2 == 0 else list(sides)[::-1]      # interleaved, alternating
                for side in order:
                    times[side, r].append(_ask(sides[side], r))
        threads = {}
        for k in (1, 2, 4, 8):
            runs = [_ask(sides["new"], f"threads {k}") for _ in range(args.repeats)]
            threads[k] = statistics.median(images / t for t, images in runs)
        for proc in sides.values():
            proc.stdin.close()
            proc.wait()
    finally:
        subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(base)], capture_output=True)
    head = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True,
                          text=True).stdout.strip()
    lines = ["# Records of calls and the weights lock: single-thread cost, many-thread throughput", "",
             f"`python benchmarks/bench_threads.py --baseline {args.baseline} --repeats {args.repeats}`, "
             f"{time.strftime('%Y-%m-%d')}, {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
             f"one BLAS thread per process, the two trees in two processes, interleaved. New: {head} "
             f"(with uncommitted changes if any); baseline: {args.baseline}.", "",
             "| row | baseline median (min–max) s | new median (min–max) s | new / baseline |", "|---|---:|---:|---:|"]
    for r in ROWS:
        b, n = times["baseline", r], times["new", r]
        lines.append(f"| {r} | {statistics.median(b):.3f} ({min(b):.3f}–{max(b):.3f}) | "
                     f"{statistics.median(n):.3f} ({min(n):.3f}–{max(n):.3f}) | "
                     f"{statistics.median(n) / statistics.median(b):.2f} |")
    lines += ["", "Predict throughput of one shared MLP, batches of 64 images, 400 calls split over k threads "
              "(new tree; every thread's results are the serial ones bit for bit, tests/test_threads.py):", "",
              "| threads | images/s (median) |", "|---:|---:|"]
    lines += [f"| {k} | {v:,.0f} |" for k, v in threads.items()]
    Path(args.out).write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
