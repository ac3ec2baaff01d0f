"""Time netfit's Conv2D (forward + backward) at the two mnist_cnn shapes, and a CNN training epoch.

Writes a Markdown section to ``--out``:

1. Conv2D micro-benchmark at batch 128: Conv2D(32, 3×3, relu) on 28×28×1 and
   Conv2D(64, 3×3, relu) on 13×13×32, forward and backward separately, median
   (and min) of ``--repeats`` timed calls after a warm-up, with the GFLOP/s of
   their matrix products (im2col GEMMs: 2·n·P·K·f per product);
2. the time of each layer of one mnist_cnn training step (batch 128);
3. one training epoch of ``netfit.zoo.mnist_cnn()`` (Adam, batch 128, the
   Keras example's 54,000 images after validation_split=0.1), extrapolated from
   ``--steps`` timed steps of ``model.fit`` (or ``--steps 0``: a whole epoch).

BLAS threads: ``--threads N`` sets OPENBLAS_NUM_THREADS (and OMP/MKL) before
NumPy is imported. On a busy machine one thread is often faster and always
steadier than several, which spin while waiting for a core.

    python benchmarks/bench_conv.py --threads 1 --out benchmarks/RESULTS-conv.md
"""
import argparse
import os
import platform
import statistics
import sys
import time

EPOCH_IMAGES = 54_000          # MNIST's 60,000 less validation_split=0.1, as in the Keras example
BATCH = 128


def parse(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=20, help="timed calls per micro-benchmark")
    parser.add_argument("--steps", type=int, default=60, help="timed training steps (0: one whole epoch)")
    parser.add_argument("--threads", type=int, default=None, help="BLAS threads (default: the library's)")
    parser.add_argument("--synthetic", action="store_true", help="random images instead of MNIST")
    parser.add_argument("--out", default="benchmarks/RESULTS-conv.md")
    return parser.parse_args(argv)


def timed(fn, repeats):
    """Median and min seconds of ``repeats`` calls of fn after one warm-up call."""
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), min(times)


def conv_micro(np, repeats):
    """Rows: (label, forward median/min, backward median/min, GFLOP/s fwd, bwd)."""
    from netfit.layers import Conv2D
    rng = np.random.default_rng(0)
    rows = []
    for shape, filters, first in (((28, 28, 1), 32, True), ((13, 13, 32), 64, False)):
        layer = Conv2D(filters, 3, activation="relu")
        layer.setup(shape, rng=rng)
        x = rng.random((BATCH,) + shape, dtype=np.float32)
        a = layer.forward(x)
        delta = rng.standard_normal(a.shape).astype(np.float32)
        fwd = timed(lambda: layer.forward(x, training=True), repeats)
        bwd = timed(lambda: layer.backward(delta, need_input_grad=not first), repeats)
        positions, k = a.shape[1] * a.shape[2], 9 * shape[2]
        gemm = 2 * BATCH * positions * k * filters / 1e9          # GFLOP of one im2col product
        label = (f"Conv2D({filters}, 3×3) on {'×'.join(map(str, shape))}"
                 + (" (first layer: no input gradient)" if first else ""))
        rows.append((label, fwd, bwd, gemm / fwd[0], gemm * (1 if first else 2) / bwd[0]))
    return rows


def cnn_layers(np, nf, x, y, repeats):
    """Median milliseconds of each layer's forward and backward in one training step."""
    model = nf.zoo.mnist_cnn(seed=0)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    model.fit(x[:2 * BATCH], y[:2 * BATCH], batch_size=BATCH, epochs=1, verbose=0)
    xb, yb = x[:BATCH], y[:BATCH]
    times = {layer.name: ([], []) for layer in model.layers}
    for _ in range(repeats):
        a = xb
        for layer in model.layers:
            start = time.perf_counter()
            a = layer.forward(a, training=True)
            times[layer.name][0].append(time.perf_counter() - start)
        delta = model.loss.gradient(a, yb, fused=True)
        for i in range(len(model.layers) - 1, -1, -1):
            layer = model.layers[i]
            start = time.perf_counter()
            delta = layer.backward(delta, need_input_grad=i > 0)
            times[layer.name][1].append(time.perf_counter() - start)
    return [(f"{layer.name} ({type(layer).__name__})", 1e3 * statistics.median(times[layer.name][0]),
             1e3 * statistics.median(times[layer.name][1])) for layer in model.layers]


def cnn_epoch(np, nf, x, y, steps):
    """Seconds for one epoch of EPOCH_IMAGES images, measured or extrapolated; and the steps timed."""
    model = nf.zoo.mnist_cnn(seed=0)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(x[:2 * BATCH], y[:2 * BATCH], batch_size=BATCH, epochs=1, verbose=0)       # warm-up
    n = EPOCH_IMAGES if steps == 0 else min(steps * BATCH, EPOCH_IMAGES)
    start = time.perf_counter()
    model.fit(x[:n], y[:n], batch_size=BATCH, epochs=1, verbose=0)
    seconds = time.perf_counter() - start
    timed_steps = -(-n // BATCH)
    return seconds * (-(-EPOCH_IMAGES // BATCH)) / timed_steps, timed_steps


def main(argv=None):
    args = parse(argv)
    if args.threads is not None:
        for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
            os.environ[name] = str(args.threads)
        if "numpy" in sys.modules:
            print("warning: NumPy was imported already; --threads may have no effect", file=sys.stderr)
    import numpy as np
    import netfit as nf

    if args.synthetic:
        rng = np.random.default_rng(0)
        x, y = rng.random((EPOCH_IMAGES, 28, 28), dtype=np.float32), rng.integers(0, 10, EPOCH_IMAGES)
        data = "random 28×28 images"
    else:
        from netfit.datasets import mnist
        (x, y), _ = mnist.load_data()
        x = x.astype("float32") / 255
        data = "MNIST"

    micro = conv_micro(np, args.repeats)
    for label, fwd, bwd, gf_f, gf_b in micro:
        print(f"{label}: forward {1e3 * fwd[0]:.2f} ms, backward {1e3 * bwd[0]:.2f} ms", flush=True)
    layers = cnn_layers(np, nf, x, y, max(5, args.repeats // 2))
    epoch, steps = cnn_epoch(np, nf, x, y, args.steps)
    print(f"mnist_cnn epoch ({EPOCH_IMAGES:,} images, batch {BATCH}): {epoch:.1f} s "
          f"({'measured' if args.steps == 0 else f'from {steps} steps'})", flush=True)

    threads = os.environ.get("OPENBLAS_NUM_THREADS", "library default")
    load = f"{os.getloadavg()[0]:.1f}" if hasattr(os, "getloadavg") else "n/a"
    command = " ".join(argv if argv is not None else sys.argv[1:])
    lines = [
        "## Conv2D and mnist_cnn timings", "",
        f"Command: `python benchmarks/bench_conv.py {command}` · {time.strftime('%Y-%m-%d %H:%M')} · "
        f"netfit {nf.__version__}, NumPy {np.__version__}, Python {platform.python_version()}, "
        f"{platform.machine()}, {os.cpu_count()} cores, BLAS threads: {threads} · load average {load} "
        f"at the end (other processes share the cores)", "",
        f"### Conv2D forward and backward, batch {BATCH} ({args.repeats} timed calls each)", "",
        "| layer | forward median ms | forward min ms | backward median ms | backward min ms | "
        "GFLOP/s fwd | GFLOP/s bwd |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    lines += [f"| {label} | {1e3 * f[0]:.2f} | {1e3 * f[1]:.2f} | {1e3 * b[0]:.2f} | {1e3 * b[1]:.2f} | "
              f"{gf_f:.1f} | {gf_b:.1f} |" for label, f, b, gf_f, gf_b in micro]
    lines += ["", f"### One mnist_cnn training step, per layer (batch {BATCH}, {data}; median ms)", "",
              "| layer | forward | backward |", "|---|---:|---:|"]
    lines += [f"| {name} | {f:.2f} | {b:.2f} |" for name, f, b in layers]
    total_f, total_b = sum(f for _, f, _ in layers), sum(b for _, _, b in layers)
    lines += [f"| **total** | {total_f:.2f} | {total_b:.2f} |", "",
              "### mnist_cnn training epoch", "",
              f"{EPOCH_IMAGES:,} {data} images, Adam, batch {BATCH}: **{epoch:.1f} s** per epoch "
              + ("(one whole epoch timed)." if args.steps == 0 else
                 f"(extrapolated from {steps} timed steps of `model.fit`)."), ""]
    with open(args.out, "w", encoding="utf-8") as handle:
        handle.write("\n".join(lines))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
