"""Benchmark netfit against PyTorch, Keras (torch and JAX backends), scikit-learn and plain NumPy.

    python benchmarks/bench.py                       # netfit only (what `make bench` runs)
    python benchmarks/bench.py --peers all --peers-python benchmarks/.venv-peers/bin/python
    python benchmarks/bench.py --workloads mlp --batch-sizes 32 --repeats 1   # a quick look

Every side runs in its own worker process (workers.py), started once and driven over a
pipe, so libraries never share a process or a thread pool. Repeats are interleaved: for
each workload, repeat r runs every side once (the order rotates between repeats), so a
change in the machine's load hits all sides alike. Peak memory is read from a fresh
process per side and workload. Results go to a Markdown file (--out).
"""
import argparse
import json
import os
import select
import shlex
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
import specs  # noqa: E402

WORKLOADS = ["ceiling", "mlp", "graph", "cnn", "rescnn", "scaling", "predict", "accuracy", "memory", "sizes"]
GAP_S = 0.3   # pause between sides, so one side's spinning BLAS/OpenMP threads go idle first


def log(msg):
    print(msg, flush=True)


class Worker:
    """A side's worker process and its result pipe."""

    def __init__(self, side, python, threads, log_dir, timeout, blas_threads=None):
        self.side, self.timeout = side, timeout
        self.info, self.reason = None, None
        r, w = os.pipe()
        env = dict(os.environ)
        if side.startswith("keras-"):
            env["KERAS_BACKEND"] = side.split("-", 1)[1]
        env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        env.update(specs.SIDE_ENV.get(side, {}))
        if blas_threads:
            for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
                env[var] = str(blas_threads)
        self.log_path = os.path.join(log_dir, f"{side}.log")
        cmd = [python, os.path.join(HERE, "workers.py"), side, "--result-fd", str(w)]
        if threads:
            cmd += ["--threads", str(threads)]
        with open(self.log_path, "ab") as logf:
            try:
                self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=logf, stderr=logf,
                                             pass_fds=(w,), env=env, cwd=ROOT)
            except OSError as exc:
                os.close(r)
                os.close(w)
                self.proc, self.reason = None, f"cannot start {python}: {exc}"
                return
        os.close(w)
        self.results = os.fdopen(r)
        ready = self._read(timeout=300)
        if ready.get("ready"):
            self.info = ready
        else:
            self.reason = ready.get("reason") or ready.get("error") or "did not start"
            self.close()

    @property
    def ok(self):
        return self.info is not None

    def _read(self, timeout):
        ready, _, _ = select.select([self.results], [], [], timeout)
        line = self.results.readline() if ready else ""
        if not line:
            tail = ""
            try:
                with open(self.log_path, errors="replace") as f:
                    tail = "".join(f.readlines()[-15:])
            except OSError:
                pass
            if self.proc.poll() is None:
                self.proc.kill()
                return {"error": f"no answer within {timeout:.0f} s (killed); log tail:\n{tail}"}
            return {"error": f"worker exited ({self.proc.wait()}); log tail:\n{tail}"}
        return json.loads(line)

    def call(self, **cmd):
        if self.proc is None or self.proc.poll() is not None:
            return {"error": "worker is not running"}
        self.proc.stdin.write((json.dumps(cmd) + "\n").encode())
        self.proc.stdin.flush()
        return self._read(self.timeout)

    def close(self):
        if self.proc is None:
            return
        if self.proc.poll() is None:
            try:
                self.proc.stdin.write(b'{"op": "quit"}\n')
                self.proc.stdin.close()
                self.proc.wait(timeout=30)
            except (OSError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait()
        self.results.close()
        self.proc = None


def summarize(values):
    return {"median": statistics.median(values), "min": min(values), "max": max(values), "n": len(values)}


class Bench:
    def __init__(self, args):
        self.args = args
        self.log_dir = tempfile.mkdtemp(prefix="netfit-bench-")
        self.pythons = {s: (args.netfit_python if s in specs.NETFIT_ENV_SIDES else args.peers_python)
                        for s in specs.SIDES}
        self.sides = ["netfit"] + [s for s in specs.PEERS if s in args.peers]
        self.workers = {}
        self.skipped = {}          # side -> reason it did not run at all
        self.results = {}          # workload key -> {side: {...}}
        self.notes = []
        self.worker_info = {}
        self.cnn_plan = None
        self.threads = None

    # -- workers ---------------------------------------------------------------------------
    def start(self, side, timeout=None):
        python = self.pythons[side]
        if not python or not os.path.exists(python):
            return None, f"no Python for it ({python or 'no --peers-python given'}; `make bench PEERS=1` makes one)"
        w = Worker(side, python, self.threads, self.log_dir, timeout or self.args.timeout, self.args.blas_threads)
        return (w, None) if w.ok else (None, w.reason)

    def start_all(self):
        for side in self.sides:
            log(f"starting {side} ...")
            w, reason = self.start(side)
            if w is None:
                self.skipped[side] = reason
                log(f"  skipped {side}: {reason.strip().splitlines()[-1]}")
                if side == "netfit":
                    raise SystemExit(f"error: netfit's worker did not start:\n{reason}")
                continue
            self.workers[side] = w
            if side == "netfit":
                self.threads = next((b.get("num_threads") for b in w.info["blas"]
                                     if b.get("user_api") == "blas"), None) or os.cpu_count()
            log(f"  {side}: {json.dumps(w.info['versions'])}")

    def stop_all(self):
        for w in self.workers.values():
            w.close()
        self.workers = {}

    # -- interleaved timing ------------------------------------------------------------------
    def interleave(self, key, cmd, sides, repeats, value):
        """Run ``cmd`` on every side once per repeat, rotating the order; keep ``value(answer)``."""
        sides = [s for s in sides if s in self.workers]
        runs = {s: [] for s in sides}
        status = {}
        for r in range(repeats):
            order = sides[r % len(sides):] + sides[:r % len(sides)] if sides else []
            for side in order:
                if side in status:
                    continue
                ans = self.workers[side].call(**cmd, seed=r, warmup=(r == 0)) if cmd["op"] == "train" \
                    else self.workers[side].call(**cmd)
                if "unsupported" in ans:
                    status[side] = "n/a: " + ans["unsupported"]
                elif "error" in ans:
                    status[side] = "failed: " + ans["error"].strip().splitlines()[-1]
                    log(f"  {side} failed:\n{ans['error']}")
                else:
                    runs[side].append(ans)
                    log(f"  {key} repeat {r + 1}/{repeats} {side:12s} {value(ans):10.4f}"
                        + (f"  test acc {ans['test_acc']:.4f}" if ans.get("test_acc") is not None else ""))
                time.sleep(GAP_S)
        out = {}
        for side in sides:
            if runs[side]:
                out[side] = {**summarize([value(a) for a in runs[side]]), "answers": runs[side]}
            if side in status:
                out.setdefault(side, {})["status"] = status[side]
        self.results[key] = out
        return out

    def run_ceiling(self):
        log("matmul ceiling (numpy float32, netfit's process) ...")
        ans = self.workers["netfit"].call(op="ceiling", budget=self.args.ceiling_budget)
        self.results["ceiling"] = ans.get("ceiling", [])
        for row in self.results["ceiling"]:
            log(f"  {row['label']:32s} {row['shape']:28s} {row['gflops']:7.1f} GFLOP/s")

    def run_mlp(self):
        for b in self.args.batch_sizes:
            log(f"MLP epoch, batch {b} ...")
            sides = [s for s in self.sides if s != "sklearn" or b == 32]
            self.interleave(f"mlp{b}", {"op": "train", "arch": "mlp", "batch": b}, sides,
                            self.args.repeats, lambda a: a["seconds"])

    def run_graph(self):
        """Issue 22: the lecture MLP as a graph (nf.Model) against the same MLP as a Sequential, netfit alone.

        Both run in the same worker process, one after the other in each repeat (the order alternates), so
        the machine's load hits them alike; netfit[fast] does the same in its own worker when it runs.
        """
        sides = [s for s in ("netfit", "netfit-fast") if s in self.workers]
        repeats = self.args.graph_repeats or max(self.args.repeats, 9)
        for b in specs.GRAPH_BATCH_SIZES:
            log(f"graph overhead: lecture MLP epoch, batch {b}, Sequential and nf.Model, {repeats} repeats ...")
            out = {}
            for side in sides:
                runs, status = {"mlp": [], "mlp-graph": []}, None
                for r in range(repeats):
                    for arch in (("mlp", "mlp-graph") if r % 2 == 0 else ("mlp-graph", "mlp")):
                        ans = self.workers[side].call(op="train", arch=arch, batch=b, seed=r, warmup=(r == 0))
                        if "error" in ans or "unsupported" in ans:
                            status = ("n/a: " + ans["unsupported"]) if "unsupported" in ans else \
                                "failed: " + ans["error"].strip().splitlines()[-1]
                            log(f"  {side} {arch}: {status}")
                            break
                        runs[arch].append(ans)
                        log(f"  graph{b} repeat {r + 1}/{repeats} {side:12s} {arch:9s} {ans['seconds']:8.4f} s "
                            f"(CPU {ans.get('cpu_seconds', 0):.4f} s)  test acc {ans['test_acc']:.4f}")
                        time.sleep(GAP_S)
                    if status:
                        break
                if status:
                    out[side] = {"status": status}
                    continue
                out[side] = {arch: {**summarize([a["seconds"] for a in answers]), "answers": answers,
                                    "cpu": summarize([a.get("cpu_seconds", a["seconds"]) for a in answers])}
                             for arch, answers in runs.items()}
                out[side]["paired"] = [g["seconds"] / q["seconds"] for q, g in zip(runs["mlp"], runs["mlp-graph"])]
            self.results[f"graph{b}"] = out

    def _cnn_plan(self):
        steps_full = -(-specs.N_TRAIN // 128)
        steps = self.args.cnn_steps if 0 < self.args.cnn_steps < steps_full else steps_full
        examples = min(steps * 128, specs.N_TRAIN)
        self.cnn_plan = {"steps": steps, "steps_full": steps_full, "examples": examples,
                         "scale": steps_full / steps}
        return steps, steps_full, examples, steps_full / steps

    def run_cnn(self):
        steps, steps_full, examples, scale = self._cnn_plan()
        log(f"CNN, batch 128, {steps} of {steps_full} steps" + (" (extrapolated)" if scale != 1 else "") + " ...")
        self.interleave("cnn128", {"op": "train", "arch": "cnn", "batch": 128, "examples": examples},
                        self.sides, self.args.repeats, lambda a: a["seconds"] * scale)

    def run_rescnn(self):
        steps, steps_full, examples, scale = self._cnn_plan()
        log(f"residual CNN, batch 128, {steps} of {steps_full} steps" + (" (extrapolated)" if scale != 1 else "")
            + " ...")
        self.interleave("rescnn128", {"op": "train", "arch": "rescnn", "batch": 128, "examples": examples},
                        self.sides, self.args.repeats, lambda a: a["seconds"] * scale)

    def run_scaling(self):
        """Issue 16's rows: the CNN and the MLP b1024 epochs on one thread and on each side's default."""
        sides = [s for s in specs.SCALING_SIDES if s in self.sides]
        _, _, examples, scale = self._cnn_plan()
        for key, (label, plan) in specs.SCALING.items():
            cnn = plan["arch"] == "cnn"
            for threads in (1, None):
                log(f"CPU scaling: {label}, {'1 thread' if threads else 'default threads'} ...")
                cmd = {"op": "train", **plan, "threads": threads, **({"examples": examples} if cnn else {})}
                self.interleave(f"scaling-{key}-{threads or 'default'}", cmd, sides, self.args.repeats,
                                (lambda a: a["seconds"] * scale) if cnn else (lambda a: a["seconds"]))

    def run_predict(self):
        for arch in ("mlp", "cnn"):
            log(f"predict {arch}, batch 1000 ...")
            self.interleave(f"predict-{arch}", {"op": "predict", "arch": arch, "batch": 1000},
                            self.sides, self.args.repeats, lambda a: a["images"] / a["seconds"])

    def run_accuracy(self):
        e = self.args.accuracy_epochs
        log(f"accuracy: {e} epochs at batch 32 (netfit and PyTorch, once) ...")
        self.interleave("accuracy", {"op": "train", "arch": "mlp", "batch": 32, "epochs": e},
                        [s for s in ("netfit", "torch") if s in self.sides], 1, lambda a: a["seconds"])

    def run_memory(self):
        steps = self.args.cnn_steps if self.args.cnn_steps > 0 else -(-specs.N_TRAIN // 128)
        plans = {"mem-mlp": {"arch": "mlp", "batch": 128},
                 "mem-cnn": {"arch": "cnn", "batch": 128, "examples": min(steps * 128, specs.N_TRAIN)}}
        for key, plan in plans.items():
            log(f"peak memory, {key} (a fresh process per side) ...")
            out = {}
            for side in self.sides:
                if side in self.skipped or (side == "sklearn" and plan["arch"] == "cnn"):
                    continue
                w, reason = self.start(side)
                if w is None:
                    out[side] = {"status": "failed: " + reason.strip().splitlines()[-1]}
                    continue
                base = w.call(op="peak_memory")
                ans = w.call(op="train", seed=0, warmup=False, evaluate=False, **plan)
                if "error" in ans or "unsupported" in ans:
                    out[side] = {"status": ("n/a: " + ans["unsupported"]) if "unsupported" in ans
                                 else "failed: " + ans["error"].strip().splitlines()[-1]}
                else:
                    mem = w.call(op="peak_memory")
                    out[side] = {**mem, "base_mb": base.get("vmhwm_mb"), "median": mem["vmhwm_mb"], "min": mem["vmhwm_mb"], "max": mem["vmhwm_mb"],
                                 "n": 1}
                    log(f"  {side:12s} {mem['vmhwm_mb']:8.0f} MB (before training: {base.get('vmhwm_mb', 0):.0f} MB)")
                w.close()
                time.sleep(GAP_S)
            self.results[key] = out

    def run_sizes(self):
        log("install sizes ...")
        sets = {"netfit": ["netfit[plot,threads]", "netfit", "netfit[fast]", "numpy"]}
        peer_sets = {"torch": "torch", "keras-torch": "keras+torch", "keras-jax": "keras+jax",
                     "sklearn": "scikit-learn"}
        wanted = [peer_sets[s] for s in self.sides if s in peer_sets and s not in self.skipped]
        out = {}
        for env, python, reqs in (("netfit", self.args.netfit_python, sets["netfit"]),
                                  ("peers", self.args.peers_python, wanted + ["numpy"] if wanted else [])):
            if not reqs or not python or not os.path.exists(python):
                continue
            proc = subprocess.run([python, os.path.join(HERE, "envinfo.py"), "sizes", *reqs],
                                  capture_output=True, text=True)
            if proc.returncode:
                self.notes.append(f"install sizes in the {env} env failed: {proc.stderr.strip()[-300:]}")
                continue
            out[env] = json.loads(proc.stdout)
            for k, v in out[env].items():
                log(f"  {env:7s} {k:16s} {v['mb']:8.1f} MB")
        # What `make demo` really leaves on disk: its venv built afresh by the Makefile's rule.
        proc = subprocess.run([sys.executable, os.path.join(HERE, "envinfo.py"), "demo-env"],
                              capture_output=True, text=True)
        if proc.returncode:
            self.notes.append(f"building `make demo`'s env failed: {proc.stderr.strip()[-300:]}")
        else:
            out["demo-env"] = json.loads(proc.stdout)
            log(f"  make demo's env on disk {out['demo-env']['mb']:8.1f} MB")
        self.results["sizes"] = out

    # -- main --------------------------------------------------------------------------------
    def run(self):
        a = self.args
        import report
        self.meta = report.collect_meta()
        self.started = time.time()
        self.load_before = _loadavg()
        self.start_all()
        try:
            for name, fn in (("ceiling", self.run_ceiling), ("mlp", self.run_mlp), ("graph", self.run_graph),
                             ("cnn", self.run_cnn), ("rescnn", self.run_rescnn),
                             ("scaling", self.run_scaling), ("predict", self.run_predict),
                             ("accuracy", self.run_accuracy)):
                if name in a.workloads:
                    fn()
            self.worker_info = {s: w.info for s, w in self.workers.items()}
        finally:
            self.stop_all()
        if "memory" in a.workloads:
            self.run_memory()
        if "sizes" in a.workloads:
            self.run_sizes()
        self.load_after = _loadavg()
        self.elapsed = time.time() - self.started
        text = report.render(self)
        with open(a.out, "w") as f:
            f.write(text)
        raw = os.path.splitext(a.out)[0] + ".json"
        report.save(self, raw)
        log(f"wrote {a.out} and {raw} ({self.elapsed:.0f} s; worker logs in {self.log_dir})")


def _loadavg():
    try:
        with open("/proc/loadavg") as f:
            return f.read().split()[:3]
    except OSError:
        return None


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    p.add_argument("--peers", nargs="*", default=[],
                   help=f"peers to run beside netfit: 'all' or some of {', '.join(specs.PEERS)}")
    p.add_argument("--peers-python", default=None,
                   help="Python of the peers' venv (torch, keras, jax, scikit-learn, netfit editable)")
    p.add_argument("--netfit-python", default=sys.executable,
                   help="Python that runs netfit and plain NumPy (default: this one)")
    p.add_argument("--workloads", nargs="+", default=WORKLOADS, choices=WORKLOADS + ["all"],
                   help="what to measure (default: all)")
    p.add_argument("--skip", nargs="+", default=[], choices=WORKLOADS, help="workloads to leave out")
    p.add_argument("--batch-sizes", type=int, nargs="+", default=[32, 128, 1024])
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--cnn-steps", type=int, default=0,
                   help="time this many CNN steps (batch 128) and extrapolate to the epoch; 0 = the whole epoch "
                        "(the residual CNN's too)")
    p.add_argument("--accuracy-epochs", type=int, default=15)
    p.add_argument("--graph-repeats", type=int, default=None,
                   help="repeats of the graph-overhead pair (Sequential, nf.Model); default max(--repeats, 9)")
    p.add_argument("--blas-threads", type=int, default=None,
                   help="set OPENBLAS/OMP/MKL_NUM_THREADS for every side (e.g. 1 on a shared machine); "
                        "default: each library's own")
    p.add_argument("--ceiling-budget", type=float, default=0.4, help="seconds per GEMM shape")
    p.add_argument("--timeout", type=float, default=1800, help="seconds one worker command may take")
    p.add_argument("--command", default=None, help="the command line to record in the results")
    p.add_argument("--out", default=os.path.join(HERE, "RESULTS.md"))
    args = p.parse_args(argv)
    if "all" in args.peers:
        args.peers = list(specs.PEERS)
    unknown = set(args.peers) - set(specs.PEERS)
    if unknown:
        p.error(f"unknown peers {sorted(unknown)}; choose from {specs.PEERS}")
    if "all" in args.workloads:
        args.workloads = list(WORKLOADS)
    args.workloads = [w for w in args.workloads if w not in args.skip]
    if args.peers and any(s not in specs.NETFIT_ENV_SIDES for s in args.peers) and not args.peers_python:
        default = os.path.join(HERE, ".venv-peers", "bin", "python")
        args.peers_python = default if os.path.exists(default) else None
    args.command = args.command or " ".join(shlex.quote(x) for x in ["python", "benchmarks/bench.py"] + sys.argv[1:])
    Bench(args).run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
