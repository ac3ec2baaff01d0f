"""netfit on a GPU against PyTorch CUDA eager, and on the same machine's CPU cores against PyTorch CPU.

    python benchmarks/gpu.py --mnist DIR            # the whole run, < 5 min on an H200; writes RESULTS-gpu.md
    python benchmarks/gpu.py --smoke --out F.md     # a few seconds on any machine: device cpu, small data

Workloads (MNIST, Adam 1e-3, one epoch = 60,000 images):

- lecture MLP (784-128-10, relu/softmax) epoch at batch 32, 128, 1024;
- Keras's mnist_convnet CNN (nf.zoo.mnist_cnn) epoch at batch 128;
- prediction throughput on the 10,000 test images (batch 1024), NumPy in, NumPy out for both sides.

Each row times ``--repeats`` epochs after one warm-up epoch and reports the median. netfit's
epochs are timed inside one ``fit`` by a callback (x and y are uploaded once, as ``fit`` does;
each epoch ends with netfit's one read of the loss, so the clock stops after the GPU has
finished); PyTorch's with ``torch.cuda.synchronize()`` before each clock read, its data
already on the device and its batches gathered there, as in a hand-written loop. Ratios are
netfit / PyTorch from the same run (below 1: netfit is faster); for prediction, throughput
netfit / PyTorch (above 1: netfit is faster). The CPU rows run on every core of the machine
(the CNN from ``--cpu-cnn-steps`` steps, scaled to an epoch). A peer that cannot be imported
is reported as skipped. ``--smoke`` runs every code path on the CPU in seconds (tests/test_gpu_bench.py).
"""
import argparse
import datetime
import os
import platform
import statistics
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import netfit as nf  # noqa: E402

TARGETS = {"mlp-b32": 0.4, "mlp-b128": 0.6, "mlp-b1024": 0.5, "cnn-b128": 1.5}   # GPU time ratios, issue 16


# -- data ---------------------------------------------------------------------------------------
def load(args):
    """(x, y, x_test, y_test): MNIST scaled to [0, 1], or random digits of the same shapes in --smoke."""
    if args.smoke and not args.mnist:
        rng = np.random.default_rng(0)
        return (rng.random((args.smoke_n, 28, 28), dtype=np.float32), rng.integers(0, 10, args.smoke_n),
                rng.random((256, 28, 28), dtype=np.float32), rng.integers(0, 10, 256))
    (x, y), (xt, yt) = nf.datasets.mnist.load_data(path=args.mnist)
    if args.smoke:
        x, y = x[:args.smoke_n], y[:args.smoke_n]
    return ((x / np.float32(255)).astype(np.float32), y.astype(np.int64), (xt / np.float32(255)).astype(np.float32),
            yt.astype(np.int64))


# -- netfit ---------------------------------------------------------------------------------------
class _EpochClock(nf.callbacks.Callback):
    def on_epoch_begin(self, epoch, logs=None):
        self.start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):                # after the epoch's read of the loss: GPU done
        self.times.append(time.perf_counter() - self.start)

    def __init__(self):
        super().__init__()
        self.times = []


def netfit_model(kind, device):
    model = (nf.zoo.lecture_mlp(seed=0) if kind == "mlp" else nf.zoo.mnist_cnn(seed=0)).to(device)
    model.compile(optimizer=nf.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def netfit_epochs(kind, device, x, y, xt, yt, batch, repeats):
    model = netfit_model(kind, device)
    clock = _EpochClock()
    model.fit(x, y, epochs=1 + repeats, batch_size=batch, verbose=0, callbacks=[clock])
    return clock.times[1:], model.evaluate(xt, yt, batch_size=1024)[1]


def netfit_predict(device, x, repeats):
    model = netfit_model("mlp", device)
    model.build()
    times = []
    for _ in range(1 + repeats):
        t = time.perf_counter()
        out = model.predict(x, batch_size=1024)                  # NumPy in, NumPy out
        times.append(time.perf_counter() - t)
    assert out.shape == (len(x), 10)
    return times[1:]


# -- PyTorch --------------------------------------------------------------------------------------
def torch_net(torch, kind):
    nn = torch.nn
    if kind == "mlp":
        return nn.Sequential(nn.Flatten(), nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 10))
    return nn.Sequential(nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(32, 64, 3), nn.ReLU(),
                         nn.MaxPool2d(2), nn.Flatten(), nn.Dropout(0.5), nn.Linear(1600, 10))


def torch_epochs(torch, kind, device, x, y, xt, yt, batch, repeats):
    torch.manual_seed(0)
    net = torch_net(torch, kind).to(device)
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    shape = (-1, 1, 28, 28) if kind == "cnn" else (-1, 28, 28)
    X, Y = torch.as_tensor(x).reshape(shape).to(device), torch.as_tensor(y).to(device)
    sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)
    times, n = [], len(x)
    for _ in range(1 + repeats):
        sync()
        t = time.perf_counter()
        perm = torch.randperm(n, device=device)
        for i in range(0, n, batch):
            rows = perm[i:i + batch]
            opt.zero_grad(set_to_none=True)
            loss = torch.nn.functional.cross_entropy(net(X[rows]), Y[rows])
            loss.backward()
            opt.step()
        sync()
        times.append(time.perf_counter() - t)
    net.eval()
    with torch.no_grad():
        XT = torch.as_tensor(xt).reshape(shape).to(device)
        acc = float((net(XT).argmax(1).cpu() == torch.as_tensor(yt)).float().mean())
    return times[1:], acc


def torch_predict(torch, device, x, repeats):
    net = torch_net(torch, "mlp").to(device).eval()
    sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)
    times = []
    with torch.no_grad():
        for _ in range(1 + repeats):
            sync()
            t = time.perf_counter()
            X = torch.as_tensor(x).to(device)
            out = torch.cat([net(X[i:i + 1024]) for i in range(0, len(x), 1024)]).cpu().numpy()
            times.append(time.perf_counter() - t)
    assert out.shape == (len(x), 10)
    return times[1:]


# -- the run --------------------------------------------------------------------------------------
def environment(args, device, torch):
    env = {"date (UTC)": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M"),
           "command": " ".join([os.path.basename(sys.executable)] + sys.argv),
           "machine": f"{platform.node()}, {platform.machine()}, {os.cpu_count()} CPU cores",
           "python": platform.python_version(), "numpy": np.__version__, "netfit": nf.__version__,
           "netfit device": device, "netfit threads": nf.config.threads()}
    if nf.backend.get_device(device).kind == "gpu":
        cupy = nf.backend.get_device(device).xp
        props = cupy.cuda.runtime.getDeviceProperties(nf.backend.get_device(device).index)
        name = props["name"].decode() if isinstance(props["name"], bytes) else props["name"]
        env.update({"cupy": cupy.__version__, "CUDA runtime": cupy.cuda.runtime.runtimeGetVersion(), "GPU": name})
    env["torch"] = torch.__version__ if torch else "not installed: PyTorch rows skipped"
    return env


def run(args):
    start = time.perf_counter()
    try:
        import torch
    except ImportError:
        torch = None
    device = args.device or ("cpu" if args.smoke else "gpu")
    torch_device = "cuda" if nf.backend.parse_device(device)[0] == "gpu" else "cpu"
    x, y, xt, yt = load(args)
    rows, notes = [], []

    def over_budget(name):
        if time.perf_counter() - start > args.budget:
            notes.append(f"{name}: skipped, the run passed its {args.budget:.0f} s budget.")
            return True
        return False

    def epoch_rows(side_device, torch_dev, label, cnn_steps=None):
        for kind, batch in (("mlp", 32), ("mlp", 128), ("mlp", 1024), ("cnn", 128)):
            name = f"{kind}-b{batch}"
            if over_budget(f"{label} {name}"):
                continue
            xs, ys, scale, how = x, y, 1.0, "epoch"
            if kind == "cnn" and cnn_steps and cnn_steps * batch < len(x):
                xs, ys = x[:cnn_steps * batch], y[:cnn_steps * batch]
                scale, how = len(x) / len(xs), f"{cnn_steps} steps × {len(x) / len(xs):.2f}"
            ours, acc = netfit_epochs(kind, side_device, xs, ys, xt, yt, batch, args.repeats)
            row = {"where": label, "workload": name, "how": how, "netfit": statistics.median(ours) * scale,
                   "netfit acc": acc}
            if torch is not None:
                theirs, tacc = torch_epochs(torch, kind, torch_dev, xs, ys, xt, yt, batch, args.repeats)
                row.update({"torch": statistics.median(theirs) * scale, "torch acc": tacc})
            rows.append(row)
            print(_line(row), flush=True)

    label = "GPU" if device != "cpu" and not args.smoke else "CPU (smoke)" if args.smoke and device == "cpu" \
        else f"{device} (smoke)" if args.smoke else "CPU"
    epoch_rows(device, torch_device, label, cnn_steps=args.cpu_cnn_steps if device == "cpu" else None)
    if not over_budget("prediction"):
        row = {"where": label, "workload": f"predict {len(xt) // 1000}k" if len(xt) >= 1000 else "predict",
               "how": "images/s",
               "netfit": len(xt) / statistics.median(netfit_predict(device, xt, args.repeats))}
        if torch is not None:
            row["torch"] = len(xt) / statistics.median(torch_predict(torch, torch_device, xt, args.repeats))
        rows.append(row)
        print(_line(row), flush=True)
    if device != "cpu" and not args.no_cpu:
        if torch is not None:
            torch.set_num_threads(os.cpu_count())
        epoch_rows("cpu", "cpu", f"CPU ({os.cpu_count()} cores)", cnn_steps=args.cpu_cnn_steps)
    report = write(args.out, environment(args, device, torch), rows, notes, time.perf_counter() - start, device)
    print(f"wrote {args.out} ({time.perf_counter() - start:.0f} s)")
    return report


def _line(row):
    ratio = row.get("torch") and row["netfit"] / row["torch"]
    return f"{row['where']:16s} {row['workload']:12s} netfit {row['netfit']:10.3f}" + (
        f"  torch {row['torch']:10.3f}  ratio {ratio:.2f}" if ratio else "  torch -")


def write(path, env, rows, notes, seconds, device):
    lines = ["# netfit on a GPU: results", "",
             "Written by `benchmarks/gpu.py` (see its docstring for what is timed and how). Times in seconds",
             "per epoch (median of the repeats after a warm-up), prediction in images per second. Ratio:",
             "netfit / PyTorch time (below 1: netfit is faster); for prediction netfit / PyTorch throughput",
             "(above 1: netfit is faster).", "",
             "## Environment", ""] + [f"- {k}: {v}" for k, v in env.items()] + [f"- run time: {seconds:.0f} s", ""]
    lines += ["## Results", "", "| where | workload | timed | netfit | PyTorch | ratio | target | met | "
              "accuracy netfit / PyTorch |", "|---|---|---|---:|---:|---:|---:|---|---|"]
    for r in rows:
        has = "torch" in r
        predict = r["workload"].startswith("predict")
        ratio = r["netfit"] / r["torch"] if has else None          # times, or for prediction throughputs
        target = TARGETS.get(r["workload"]) if r["where"] == "GPU" else None
        if r["where"] == "GPU" and predict:
            target = 1.0
        met = "" if target is None or ratio is None else (
            "yes" if (ratio >= target if predict else ratio <= target) else "no")
        acc = f"{r['netfit acc']:.4f} / {r['torch acc']:.4f}" if "netfit acc" in r and has else \
            f"{r['netfit acc']:.4f} / -" if "netfit acc" in r else ""
        fmt = "{:,.0f}" if predict else "{:.3f}"
        lines.append(f"| {r['where']} | {r['workload']} | {r['how']} | {fmt.format(r['netfit'])} | "
                     f"{fmt.format(r['torch']) if has else '-'} | {'' if ratio is None else f'{ratio:.2f}'} | "
                     f"{'' if target is None else (f'≥ {target:g}' if predict else f'≤ {target:g}')} | {met} | {acc} |")
    if notes:
        lines += [""] + [f"- {n}" for n in notes]
    if device == "cpu":
        lines += ["", "No GPU in this run (device cpu): the GPU rows and their targets are not measured here."]
    text = "\n".join(lines) + "\n"
    with open(path, "w") as f:
        f.write(text)
    return text


def main(argv=None):
    here = os.path.dirname(os.path.abspath(__file__))
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--device", default=None, help="netfit's device for the GPU rows (default gpu; cpu with --smoke)")
    p.add_argument("--mnist", default=None, help="folder holding MNIST's four .gz files (default: netfit's loader)")
    p.add_argument("--repeats", type=int, default=3, help="timed epochs per row, after one warm-up (default 3)")
    p.add_argument("--cpu-cnn-steps", type=int, default=60,
                   help="CPU CNN rows: steps timed, scaled to an epoch (default 60)")
    p.add_argument("--no-cpu", action="store_true", help="leave out the CPU rows")
    p.add_argument("--budget", type=float, default=270.0, help="seconds after which rows are skipped (default 270)")
    p.add_argument("--out", default=None,
                   help="the results file (default benchmarks/RESULTS-gpu.md; with --smoke, a file in the temp folder)")
    p.add_argument("--smoke", action="store_true", help="every code path in seconds: device cpu, --smoke-n images")
    p.add_argument("--smoke-n", type=int, default=256, help="images per set in --smoke (default 256)")
    args = p.parse_args(argv)
    if args.out is None:            # a smoke run never takes the place of the measured results
        args.out = os.path.join(tempfile.gettempdir(), "netfit-RESULTS-gpu-smoke.md") if args.smoke else \
            os.path.join(here, "RESULTS-gpu.md")
    if args.smoke:
        args.repeats, args.cpu_cnn_steps = 1, 2
    try:                            # no CuPy, no device, a bad --device: one line before any data is read
        nf.backend.get_device(args.device or ("cpu" if args.smoke else "gpu"), "benchmarks/gpu.py --device")
    except (RuntimeError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    run(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
