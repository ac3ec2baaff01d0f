"""Render a finished bench.Bench run as Markdown (benchmarks/RESULTS.md).

    python benchmarks/report.py benchmarks/RESULTS.json [OUT.md]   # render a saved run again
"""
import datetime
import json
import os
import platform
import subprocess
import sys
import types

import specs

TITLE = {s: t for s, (t, _) in specs.SIDES.items()}
ROWS = [  # key, label, kind
    ("mlp32", "lecture MLP 784-128-10, Adam, one MNIST epoch, batch 32", "time"),
    ("mlp128", "same, batch 128", "time"),
    ("mlp1024", "same, batch 1024", "time"),
    ("cnn128", "Keras mnist_convnet CNN, batch 128, one epoch", "time"),
    ("rescnn128", "small residual CNN (a graph: conv 32, a block of two convs added to its input), batch 128, "
                  "one epoch", "time"),
    ("predict-mlp", "predict MLP, batch 1000, images/s", "rate"),
    ("predict-cnn", "predict CNN, batch 1000, images/s", "rate"),
    ("mem-mlp", "peak memory of the MLP training process", "mem"),
    ("mem-cnn", "peak memory of the CNN training process", "mem"),
]
INSTALL_SETS = {"torch": "torch", "keras-torch": "keras+torch", "keras-jax": "keras+jax",
                "sklearn": "scikit-learn", "netfit-fast": "netfit[fast]"}


def _fmt(value, kind):
    if value is None:
        return "—"
    if kind == "time":
        return f"{value:.3g} s" if value < 100 else f"{value:.0f} s"
    if kind == "rate":
        return f"{value / 1e6:.2f} M" if value >= 1e5 else f"{value / 1e3:.1f} k"
    if kind == "mem":
        return f"{value:,.0f} MB"
    return f"{value:.3g}"


def _cell(res, kind, with_range=True, with_acc=True):
    if not res:
        return "—"
    if "median" not in res:
        return res.get("status", "—")
    text = _fmt(res["median"], kind)
    if with_range and res.get("n", 1) > 1:
        lo, hi = _fmt(res["min"], kind), _fmt(res["max"], kind)
        if lo.split()[-1] == hi.split()[-1]:
            lo = lo.split()[0]                  # one unit for the pair
        text += f" ({lo}–{hi})"
    accs = [a.get("test_acc") for a in res.get("answers", []) if a.get("test_acc") is not None]
    if with_acc and accs:
        text += f", acc {sorted(accs)[len(accs) // 2]:.3f}"
    return text


def _ratio(key, results, side="netfit"):
    """side / PyTorch: time or memory ratio (lower is better), throughput ratio for predict."""
    row = results.get(key, {})
    a, b = row.get(side, {}).get("median"), row.get("torch", {}).get("median")
    return a / b if a and b else None


def _best_peer(row, kind, peers):
    """(side, its median) of the fastest peer in ``row`` (highest images/s for a rate), netfit's own sides aside."""
    medians = {s: row[s]["median"] for s in peers if s not in ("netfit", "netfit-fast") and row.get(s, {}).get("median")}
    if not medians:
        return None, None
    side = (max if kind == "rate" else min)(medians, key=medians.get)
    return side, medians[side]


def _to_best(row, kind, peers, side="netfit"):
    """side / the best peer (lower is better for time and memory; for a rate, higher is better), or None."""
    best, value = _best_peer(row, kind, peers)
    mine = row.get(side, {}).get("median")
    return mine / value if best and mine else None


def _target(key, ratio):
    if key not in specs.TARGETS:
        return "", ""
    bound, op = specs.TARGETS[key]
    if ratio is None:
        return f"{op} {bound}", ""
    met = ratio <= bound if op == "<=" else ratio >= bound
    return f"{op} {bound}", "yes" if met else "**no**"


def _median_acc(res):
    accs = sorted(a["test_acc"] for a in res.get("answers", []) if a.get("test_acc") is not None)
    return accs[len(accs) // 2] if accs else None


def _git(*args):
    try:
        return subprocess.run(["git", *args], capture_output=True, text=True, cwd=os.path.dirname(
            os.path.dirname(os.path.abspath(__file__)))).stdout.strip()
    except OSError:
        return ""


def _cpu():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _mem_gb():
    try:
        with open("/proc/meminfo") as f:
            return int(f.readline().split()[1]) / 1024 ** 2
    except (OSError, ValueError, IndexError):
        return None


def _flops(key):
    if key.startswith("mlp"):
        return specs.FLOPS["mlp"]["train"] * specs.N_TRAIN, int(key[3:])
    if key in ("cnn128", "rescnn128"):
        return specs.FLOPS[key[:-3]]["train"] * specs.N_TRAIN, 128
    if key.startswith("predict-"):
        return specs.FLOPS[key.split("-")[1]]["forward"] * specs.N_TEST, 1000
    return None, None


def collect_meta():
    """Facts about the run that the report needs, taken when the run starts (kept in RESULTS.json)."""
    mem = _mem_gb()
    return {
        "date": f"{datetime.datetime.now().astimezone():%Y-%m-%d %H:%M %Z}",
        "commit": _git("rev-parse", "--short", "HEAD") or "?",
        "dirty": bool(_git("status", "--porcelain", "--", "netfit")),
        "machine": f"{_cpu()}, {os.cpu_count()} cores" + (f", {mem:.0f} GiB" if mem else "")
                   + f", {platform.system()} {platform.release()}, Python {platform.python_version()}",
        "cores": os.cpu_count(),
        "openblas_was": os.environ.get("NETFIT_BENCH_OPENBLAS_WAS"),
        "openblas_now": {k: os.environ[k] for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE") if k in os.environ},
    }


def render(bench):
    a, res, meta = bench.args, bench.results, bench.meta
    sides = [s for s in bench.sides]
    peers = [s for s in sides if s != "netfit"]
    lines = ["# netfit benchmarks", ""]
    dirty = " (+ uncommitted changes to netfit/)" if meta["dirty"] else ""
    lines += [
        f"- **Date**: {meta['date']} · run took {bench.elapsed:.0f} s",
        f"- **Command**: `{a.command}`",
        f"- **netfit**: commit {meta['commit']}{dirty}",
        f"- **Machine**: {meta['machine']}",
        f"- **Load average** (1, 5, 15 min) before: {' '.join(bench.load_before or ['?'])}, after: "
        f"{' '.join(bench.load_after or ['?'])}. With {meta['cores']} cores, a 1-minute load well above the "
        "benchmark's own threads means other work shared the CPU and every figure is slower than on a "
        "quiet machine; the interleaved repeats spread that over all sides, so ratios hold up better "
        "than absolute times.",
        f"- **Repeats**: {a.repeats} per workload, interleaved (every side once per repeat, order "
        "rotated); cells give the median (min–max) and the median test accuracy after training.",
    ]
    lines += _load_line(bench)
    if bench.args.blas_threads:
        lines.append(f"- **Threads**: OPENBLAS/OMP/MKL_NUM_THREADS={bench.args.blas_threads} for every side "
                     "(`--blas-threads`).")
    else:
        lines.append("- **Threads**: each side's defaults: BLAS's own count (one per core), torch at "
                     "`set_num_threads` of that count, XLA its own; netfit (threads \"auto\") runs the MLP's steps "
                     "on one BLAS thread under `netfit.config.SMALL_PRODUCTS_STEP_FLOPS` floating-point operations "
                     "(batch 32 and 128) and on BLAS's own threads from there (batch 1024), and the CNNs' steps "
                     "(over `SMALL_STEP_FLOPS`) on its own pool, one thread per core (one share of the batch per "
                     "thread, `netfit.replicas`, one BLAS thread each); predict follows the same rule for its batches.")
    plan = getattr(bench, "cnn_plan", None)
    if plan and plan["scale"] != 1:
        lines.append(f"- **CNN** (both CNNs): {plan['steps']} of the epoch's {plan['steps_full']} steps were timed "
                     f"(`--cnn-steps {plan['steps']}`, {plan['examples']:,} examples) and the time multiplied "
                     f"by {plan['scale']:.2f}; its accuracy is after those steps only.")
    lines += _env_lines(bench)
    lines += ["", "## Summary", "",
              "netfit/PyTorch is the ratio of medians: time or memory (lower is better), images/s for "
              "predict (higher is better). The best peer is the fastest (or leanest) side of the row other "
              "than netfit's own, and netfit/best the same ratio against it (issue 25). The last column is "
              "the issue's PyTorch figure on this kind of machine, for scale.", ""]
    fast = "netfit-fast" in peers and "torch" in peers
    head = ["workload", "netfit", "PyTorch", "netfit/PyTorch", "target", "met"] + \
        (["netfit[fast]/PyTorch"] if fast else []) + ["best peer", "netfit/best"] + \
        (["netfit[fast]/best"] if fast else []) + [TITLE[s] for s in peers if s != "torch"] + ["issue's PyTorch"]
    lines += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for key, label, kind in ROWS:
        row = res.get(key)
        if row is None:
            continue
        ratio = _ratio(key, res)
        target, met = _target(key, ratio)
        cells = [label, _cell(row.get("netfit"), kind), _cell(row.get("torch"), kind) if "torch" in peers else "—",
                 f"{ratio:.2f}" if ratio else "—", target, met]
        if fast:
            fast_ratio = _ratio(key, res, "netfit-fast")
            cells.append(f"{fast_ratio:.2f}" if fast_ratio else "—")
        best = _best_peer(row, kind, sides)[0]
        to_best = _to_best(row, kind, sides)
        cells += [TITLE[best] if best else "—", f"{to_best:.2f}" if to_best else "—"]
        if fast:
            fast_best = _to_best(row, kind, sides, "netfit-fast")
            cells.append(f"{fast_best:.2f}" if fast_best else "—")
        cells += [_cell(row.get(s), kind) for s in peers if s != "torch"]
        cells.append(specs.ISSUE.get(key, {}).get("torch", ""))
        lines.append("| " + " | ".join(cells) + " |")
    sizes = res.get("sizes", {})
    if sizes:
        demo = sizes.get("demo-env", {}).get("mb") or sizes.get("netfit", {}).get("netfit[plot,threads]", {}).get("mb")
        cells = ["installed environment (site-packages)", f"{demo:,.0f} MB (`make demo`)" if demo else "—",
                 _size(sizes, "torch"), "", f"≤ {specs.INSTALL_TARGET_MB} MB",
                 ("yes" if demo <= specs.INSTALL_TARGET_MB else "**no**") if demo else ""]
        cells += [""] if fast else []
        cells += ["", ""] + ([""] if fast else [])                    # best peer, netfit/best (and [fast])
        cells += [_size(sizes, s) for s in peers if s != "torch"]
        cells.append(specs.ISSUE["install"]["torch"])
        lines.append("| " + " | ".join(cells) + " |")
    acc = res.get("accuracy", {})
    if acc:
        n = acc.get("netfit", {})
        a_n = _median_acc(n)
        lines += ["", f"**Accuracy** after {a.accuracy_epochs} epochs at batch 32 (test set): netfit "
                  f"{a_n:.4f} in {n['median']:.1f} s" if a_n is not None else f"netfit {n.get('status', '—')}"]
        if "torch" in acc and _median_acc(acc["torch"]) is not None:
            lines[-1] += f", PyTorch {_median_acc(acc['torch']):.4f} in {acc['torch']['median']:.1f} s"
        if a_n is not None:
            lines[-1] += (f"; target ≥ {specs.ACCURACY_TARGET}: "
                          f"{'met' if a_n >= specs.ACCURACY_TARGET else '**not met**'}.")
    if bench.skipped:
        lines += ["", "**Skipped sides**:", ""]
        lines += [f"- {TITLE[s]}: {r.strip().splitlines()[-1]}" for s, r in bench.skipped.items()]
    if bench.notes:
        lines += ["", "**Notes**:", ""] + [f"- {n}" for n in bench.notes]
    lines += _graph(bench)
    lines += _scaling(bench)
    lines += _detail(bench)
    lines += _ceiling(bench)
    lines += _memory(bench)
    lines += _sizes(bench)
    lines += _method(bench)
    return "\n".join(lines) + "\n"


def _size(sizes, side):
    spec = INSTALL_SETS.get(side) if side != "numpy" else "numpy"
    env = "netfit" if side in ("numpy", "netfit-fast") else "peers"
    v = sizes.get(env, {}).get(spec, {}).get("mb") if spec else None
    return f"{v:,.0f} MB" if v else "—"


def _env_lines(bench):
    out = []
    was, still = bench.meta["openblas_was"], bench.meta["openblas_now"]
    text = "- **OpenBLAS environment**: "
    if was is not None:
        text += f"before the bench target: `{was}`; the target unsets both for this command only (all sides alike)"
    else:
        text += "run outside `make bench`, so nothing was unset"
    text += f"; now: {', '.join(f'`{k}={v}`' for k, v in still.items()) or 'neither set'}."
    out.append(text)
    info = getattr(bench, "worker_info", {})
    for side, w in info.items():
        blas = "; ".join(f"{b.get('internal_api')} {b.get('version') or ''} kernel {b.get('architecture') or '—'}, "
                         f"{b.get('num_threads')} thread(s)"
                         for b in w.get("blas", []) if b.get("user_api") == "blas") or "—"
        omp = [b for b in w.get("blas", []) if b.get("user_api") == "openmp"]
        if omp:
            blas += "; " + ", ".join(f"{b.get('prefix')} {b.get('num_threads')} thread(s)" for b in omp)
        vers = ", ".join(f"{k} {v}" for k, v in w["versions"].items())
        out.append(f"- **{TITLE[side]}**: {vers} · numpy's BLAS (threadpoolctl or its ctypes questions): {blas} · "
                   f"`{os.path.relpath(w['executable'])}`")
    return out


def _detail(bench):
    res, out = bench.results, ["", "## Details", ""]
    ceiling = {r["label"]: r["gflops"] for r in res.get("ceiling", [])}
    large = ceiling.get("large square")
    for key, label, kind in ROWS:
        row = res.get(key)
        if not row or kind == "mem":
            continue
        flops, _ = _flops(key)
        out += [f"### {label}", "",
                "| side | median | min | max | n | netfit / side | test acc | train acc | GFLOP/s "
                "| % of large-GEMM ceiling | others' CPU |",
                "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
        base = row.get("netfit", {}).get("median")
        for side, r in row.items():
            if "median" not in r:
                out.append(f"| {TITLE[side]} | {r.get('status', '—')} | | | | | | | | |")
                continue
            secs = r["median"] if kind == "time" else specs.N_TEST / r["median"]
            gf = flops / secs / 1e9 if flops else None
            ratio = base / r["median"] if base else None
            trains = [x.get("train_acc") for x in r.get("answers", []) if x.get("train_acc") is not None]
            acc = _median_acc(r)
            cells = [TITLE[side], _fmt(r["median"], kind), _fmt(r["min"], kind), _fmt(r["max"], kind), str(r["n"]),
                     f"{ratio:.2f}" if ratio else "—", f"{acc:.4f}" if acc is not None else "—",
                     f"{sorted(trains)[len(trains) // 2]:.4f}" if trains else "—",
                     f"{gf:.1f}" if gf else "—", f"{100 * gf / large:.0f}%" if gf and large else "—",
                     _others(r.get("answers", []))]
            out.append("| " + " | ".join(cells) + " |")
            if r.get("status"):
                out[-1] += f" {r['status']}"
        inits = {a.get("init") for r in row.values() for a in r.get("answers", []) if a.get("init")}
        if inits:
            out += ["", "Start weights: " + "; ".join(sorted(inits)) + "."]
        out.append("")
    return out


def _scaling(bench):
    """Issue 16's CPU-scaling rows: each side on one thread and at its defaults, the speed-ups and ratios."""
    res, cores = bench.results, bench.meta.get("cores")
    keys = [k for k in specs.SCALING if f"scaling-{k}-1" in res]
    if not keys:
        return []
    out = ["", "## CPU scaling", "",
           "Issue 16: each side trains once on one thread and once at its defaults (netfit: threads "
           "\"auto\", the pool of `netfit.parallel` with one worker per available core for steps of 100 M "
           "floating-point operations or more; PyTorch: `torch.get_num_threads()`), interleaved with the "
           "other sides in the same run. Speed-up = time on 1 thread / time at the default.", "",
           "| workload | side | 1 thread | default threads | threads | speed-up |", "|---|---|---:|---:|---|---:|"]
    speedups, defaults = {}, {}
    for key in keys:
        one, dflt = res.get(f"scaling-{key}-1", {}), res.get(f"scaling-{key}-default", {})
        for side in specs.SCALING_SIDES:
            if side not in one and side not in dflt:
                continue
            a, b = one.get(side, {}).get("median"), dflt.get(side, {}).get("median")
            used = sorted({str(x.get("threads")) for x in dflt.get(side, {}).get("answers", [])})
            speedups[key, side] = a / b if a and b else None
            defaults[key, side] = b
            up = speedups[key, side]
            out.append(f"| {specs.SCALING[key][0]} | {TITLE[side]} | {_cell(one.get(side), 'time', with_acc=False)} "
                       f"| {_cell(dflt.get(side), 'time', with_acc=False)} | {', '.join(used) or '—'} "
                       f"| {f'{up:.2f}×' if up else '—'} |")
    targets = specs.SCALING_TARGETS.get(cores, {})
    out += ["", f"Against PyTorch at default threads, on this machine's {cores} cores (the issue's targets are "
            "for 2 and 16 cores; speed-up target: at least PyTorch's own):", "",
            "| workload | netfit / PyTorch | netfit[fast] / PyTorch | target | met | speed-up netfit, "
            "netfit[fast] / PyTorch | met |", "|---|---:|---:|---|---|---|---|"]
    for key in keys:
        torch = defaults.get((key, "torch"))
        ratios = [defaults.get((key, s)) / torch if defaults.get((key, s)) and torch else None
                  for s in ("netfit", "netfit-fast")]
        bound = targets.get(key)
        met = "" if bound is None or ratios[0] is None else ("yes" if ratios[0] <= bound else "**no**")
        ups = [speedups.get((key, s)) for s in ("netfit", "netfit-fast", "torch")]
        up_met = "" if None in (ups[0], ups[2]) else ("yes" if ups[0] >= ups[2] else "**no**")
        out.append(f"| {specs.SCALING[key][0]} | " + " | ".join(f"{r:.2f}" if r else "—" for r in ratios)
                   + f" | {f'≤ {bound}' if bound else '—'} | {met} | "
                   + ", ".join(f"{u:.2f}×" if u else "—" for u in ups[:2]) + f" / {f'{ups[2]:.2f}×' if ups[2] else '—'}"
                   + f" | {up_met} |")
    return out


def _graph(bench):
    """Issue 22's graph overhead: the lecture MLP as nf.Model against the same MLP as a Sequential."""
    res = bench.results
    keys = [f"graph{b}" for b in specs.GRAPH_BATCH_SIZES if f"graph{b}" in res]
    if not keys:
        return []
    bound = specs.GRAPH_TARGET
    out = ["", "## Graph overhead", "",
           "Issue 22: the lecture MLP built as a graph (`nf.Model(inputs, outputs)`: Input → Flatten → Dense(128, "
           "relu) → Dense(10, softmax)) against the same MLP as a `Sequential` (`zoo.lecture_mlp`), one MNIST epoch "
           "with Adam, same seed and so the same start weights and batches; both in the same worker process, one "
           "after the other in each repeat (the order alternates). Target: graph time ≤ "
           f"{bound:.2f} × the Sequential's, on the medians. Also: the ratio of the fastest runs (what other load "
           "adds is never negative), the median over repeats of graph / Sequential of the same repeat, and the "
           "ratio of the process's CPU time in `fit` (less sensitive to other load than wall time).",
           "", "| batch | side | Sequential | graph | graph / Sequential (medians) | fastest runs | paired ratio "
           "| CPU time ratio | target | met | same test accuracy |",
           "|---:|---|---:|---:|---:|---:|---:|---:|---|---|---|"]
    for key in keys:
        for side, row in res[key].items():
            if "mlp" not in row:
                out.append(f"| {key[5:]} | {TITLE[side]} | {row.get('status', '—')} | | | | | | | | |")
                continue
            seq, graph = row["mlp"], row["mlp-graph"]
            ratio = graph["median"] / seq["median"]
            cpu = graph["cpu"]["median"] / seq["cpu"]["median"]
            paired = sorted(row["paired"])[len(row["paired"]) // 2] if row["paired"] else None
            pairs = list(zip(seq["answers"], graph["answers"]))
            same = bool(pairs) and all(a.get("test_acc") is not None and a["test_acc"] == b.get("test_acc")
                                       for a, b in pairs)
            out.append(f"| {key[5:]} | {TITLE[side]} | {_cell(seq, 'time')} | {_cell(graph, 'time')} | {ratio:.3f} | "
                       f"{graph['min'] / seq['min']:.3f} | " + (f"{paired:.3f}" if paired else "—")
                       + f" | {cpu:.3f} | ≤ {bound:.2f} | "
                       + ("yes" if ratio <= bound else "**no**")
                       + f" | {'yes, every repeat' if same else 'no'} |")
    return out


def _others(answers):
    """Median share of the machine's CPU that other processes used while a side's runs went on."""
    shares = sorted(a["cpu"]["others_share"] for a in answers
                    if a.get("cpu") and a["cpu"].get("others_share") is not None)
    return f"{100 * shares[len(shares) // 2]:.0f}%" if shares else "—"


def _load_line(bench):
    shares = [a["cpu"]["others_share"] for row in bench.results.values() if isinstance(row, dict)
              for r in row.values() if isinstance(r, dict) for a in r.get("answers", [])
              if a.get("cpu") and a["cpu"].get("others_share") is not None]
    if not shares:
        return []
    shares.sort()
    med, top = shares[len(shares) // 2], shares[-1]
    verdict = ("a quiet machine" if top < 0.1 else
               "**a loaded machine: absolute figures are slower than on a quiet one and less repeatable; "
               "prefer the ratios**")
    return [f"- **Other load**: while the timed commands ran, other processes used a median "
            f"{100 * med:.0f}% (at most {100 * top:.0f}%) of the machine's CPU (/proc/stat less this "
            f"benchmark's own CPU time): {verdict}."]


def _ceiling(bench):
    rows = bench.results.get("ceiling")
    if not rows:
        return []
    out = ["## Matmul ceiling and netfit's achieved GFLOP/s", "",
           "numpy float32 `matmul` in netfit's process (same BLAS and threads), best of repeated calls"
           + ("" if bench.args.blas_threads else "; without `--blas-threads` that is BLAS's default count, "
              "while netfit's `fit` runs the MLP up to batch 128 on one thread (`netfit.config.set_threads`)")
           + ":", "",
           "| GEMM | shape | GFLOP/s |", "|---|---|---:|"]
    out += [f"| {r['label']} | {r['shape']} | {r['gflops']:.1f} |" for r in rows]
    by = {r["label"]: r["gflops"] for r in rows}
    large = by.get("large square")
    shape_of = {32: "MLP batch 32 forward, x·W1", 128: "MLP batch 128 forward", 1024: "MLP batch 1024 forward",
                "cnn": "CNN conv2 im2col, batch 128"}
    out += ["", "netfit's useful work (the products of forward and backward, counted as 2·m·k·n; "
            "elementwise work not counted) per second of its median time:", "",
            "| workload | GFLOP per run | netfit GFLOP/s | % of its GEMM shape's ceiling | % of the large-GEMM ceiling |",
            "|---|---:|---:|---:|---:|"]
    for key, label, kind in ROWS:
        r = bench.results.get(key, {}).get("netfit", {})
        if "median" not in r or kind == "mem":
            continue
        flops, batch = _flops(key)
        secs = r["median"] if kind == "time" else specs.N_TEST / r["median"]
        gf = flops / secs / 1e9
        shape = None if key == "rescnn128" else shape_of.get("cnn" if "cnn" in key else batch)
        ref = by.get(shape) if shape else None
        out.append(f"| {label} | {flops / 1e9:.1f} | {gf:.1f} | "
                   + (f"{100 * gf / ref:.0f}% ({ref:.0f})" if ref else "—") + " | "
                   + (f"{100 * gf / large:.0f}%" if large else "—") + " |")
    return out + [""]


def _memory(bench):
    out = []
    for key in ("mem-mlp", "mem-cnn"):
        row = bench.results.get(key)
        if not row:
            continue
        what = ("one MLP epoch at batch 128" if key == "mem-mlp"
                else f"CNN training at batch 128 ({bench.args.cnn_steps or 'all'} steps)")
        if not out:
            out = ["## Peak memory", "",
                   "VmHWM (peak resident set) of a fresh process per side that imports its library, loads "
                   "MNIST through netfit's loader (uint8, then float32 scaled in place: about 235 MB for "
                   "the training set alone), builds the model and trains (no evaluation); ru_maxrss "
                   "agrees. 'Before training' is the same process's peak before the model is built.", ""]
        out += [f"{what}:", "", "| side | peak MB | netfit / side | before training (imports + data) MB "
                "| training's own MB | issue's figure |", "|---|---:|---:|---:|---:|---:|"]
        base = row.get("netfit", {}).get("median")
        for side, r in row.items():
            if "median" not in r:
                out.append(f"| {TITLE[side]} | {r.get('status', '—')} | | | | |")
                continue
            before = r.get("base_mb")
            out.append(f"| {TITLE[side]} | {r['median']:,.0f} | "
                       + (f"{base / r['median']:.2f}" if base else "—") + " | "
                       + (f"{before:,.0f} | {r['median'] - before:,.0f}" if before else "— | —") + " | "
                       + specs.ISSUE.get(key, {}).get(side, "") + " |")
        out.append("")
    return out


def _sizes(bench):
    sizes = bench.results.get("sizes")
    if not sizes:
        return []
    out = ["## Install size", "",
           "Bytes on disk of the distributions a requirement pulls in (transitively, from the installed "
           "packages' metadata and RECORD files; pip and setuptools of the venv itself not counted). "
           "`netfit[plot,threads]` is the set `make demo` installs, counted here with the .pyc of every module.", "",
           "| env | requirement | MB | largest parts |", "|---|---|---:|---|"]
    env_dir = sizes.get("demo-env")
    if env_dir:
        out[2:2] = ["**`make demo`'s environment on disk**: "
                    f"{env_dir['mb']:,.1f} MB — the venv built afresh by the Makefile's own rule "
                    "(`pip install --no-compile -e .[plot,threads]`), after a one-epoch `netfit demo` has written the "
                    "byte-code of what it imports; site-packages less pip and setuptools, plus netfit's source: "
                    + ", ".join(f"{k} {mb:.1f}" for k, mb in list(env_dir["parts"].items())[:6]) + ". "
                    "The summary's figure is this one; the table below counts installed RECORDs "
                    "(with every .pyc pip compiled) in the benchmark's own venvs.", ""]
    for env, sets in sizes.items():
        if env == "demo-env":
            continue
        for spec, v in sets.items():
            parts = sorted(v["dists"].items(), key=lambda kv: -kv[1])[:5]
            out.append(f"| {env} | `{spec}` | {v['mb']:,.1f} | "
                       + ", ".join(f"{k} {mb:.1f}" for k, mb in parts)
                       + (f"; missing: {', '.join(v['missing'])}" if v["missing"] else "") + " |")
    demo = sizes.get("netfit", {})
    if "netfit[plot,threads]" in demo and "numpy" in demo:
        out += ["", f"netfit[plot,threads] beyond a bare numpy: {demo['netfit[plot,threads]']['mb'] - demo['numpy']['mb']:,.1f} MB; "
                f"netfit itself beyond numpy: {demo.get('netfit', {}).get('mb', 0) - demo['numpy']['mb']:,.1f} MB."]
    return out + [""]


def _method(bench):
    out = ["## Method", ""]
    for side in bench.sides:
        out.append(f"- **{TITLE[side]}**: {specs.SIDES[side][1]}.")
    out += [
        "- Same data for all: MNIST from `netfit.datasets.mnist.load_data()`, /255 in float32, int64 labels; "
        "test accuracy on the 10,000 test images after training (not timed).",
        "- Same batch order: epoch e visits the examples as `default_rng([seed, e]).permutation(n)`, netfit's own "
        "fit order; PyTorch and plain NumPy gather their batches by it, Keras and scikit-learn get the data "
        "pre-permuted (copy not timed) with shuffling off. Repeat r uses seed r.",
        "- Same start: netfit's Glorot-uniform kernels and zero biases for the seed, copied into each library "
        "(converted to its layout); scikit-learn cannot be given weights and draws its own Glorot-uniform ones. "
        "Same optimizer: Adam, lr 1e-3, β 0.9/0.999, ε 1e-7 (Keras's; scikit-learn keeps its 1e-8), no weight "
        "decay (scikit-learn alpha=0); loss: sparse categorical cross-entropy on softmax outputs (PyTorch: "
        "`F.cross_entropy` on logits, the idiomatic equivalent). Every side tracks the running loss and "
        "accuracy per step, as `fit` does.",
        "- Timed: the training call only (model construction and, for Keras/JAX, compilation are not: each "
        "side does an untimed warm-up run on one or two batches first, and Keras reuses one compiled model "
        "per batch size, restoring the start weights and zeroing the optimizer state before each repeat).",
        "- Threads: numpy's BLAS count for PyTorch (`torch.set_num_threads`); JAX/XLA keeps its default.",
        "- Predict: `predict` over the 10,000 test images in batches of 1000 (PyTorch: `inference_mode`, "
        "softmax), after one untimed batch.",
        "- Small residual CNN (issue 22): Input (28, 28, 1) → Conv2D(32, 3×3, same, relu) → MaxPooling2D(2) → h; "
        "h → Conv2D(32, 3×3, same, relu) → Conv2D(32, 3×3, same) → Add with h → ReLU → MaxPooling2D(2) → Flatten → "
        "Dense(10, softmax): 34,506 weights. netfit: an `nf.Model` graph; Keras: the functional API; PyTorch: an "
        "`nn.Module` adding the skip in `forward` (its dense kernel's rows reordered to NCHW's flatten order); "
        "plain NumPy and scikit-learn have no such model.",
    ]
    return out


def save(bench, path):
    """Everything render() reads, as JSON, so a run can be rendered again or compared."""
    data = {k: getattr(bench, k, None) for k in ("meta", "results", "sides", "skipped", "notes", "worker_info",
                                                  "load_before", "load_after", "elapsed", "cnn_plan")}
    data["args"] = vars(bench.args)
    with open(path, "w") as f:
        json.dump(data, f, indent=1)


def load(path):
    with open(path) as f:
        data = json.load(f)
    data["args"] = types.SimpleNamespace(**data["args"])
    return types.SimpleNamespace(**data)


if __name__ == "__main__":
    if len(sys.argv) not in (2, 3):
        sys.exit(__doc__)
    text = render(load(sys.argv[1]))
    out = sys.argv[2] if len(sys.argv) == 3 else os.path.splitext(sys.argv[1])[0] + ".md"
    with open(out, "w") as f:
        f.write(text)
    print(f"wrote {out}")
