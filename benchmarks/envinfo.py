"""Facts about the environment a benchmark runs in: BLAS kernel, matmul ceiling, install sizes.

    python benchmarks/envinfo.py blas           # JSON: the BLAS libraries loaded by numpy
    python benchmarks/envinfo.py ceiling        # JSON: numpy float32 GEMM GFLOP/s
    python benchmarks/envinfo.py sizes NAME...  # JSON: installed size of each requirement's closure
    python benchmarks/envinfo.py demo-env       # JSON: `make demo`'s venv, built afresh, on disk after a demo
    python benchmarks/envinfo.py check-peers    # exit 1 unless torch here is a CPU build

Uses only the standard library and numpy (threadpoolctl when present), so it runs in
the project's .venv as well as in the peers' venv.
"""
import ctypes
import json
import os
import subprocess
import sys
import tempfile
import time


# -- BLAS ---------------------------------------------------------------------------------
def blas_info():
    """The BLAS/OpenMP libraries loaded in this process: kernel ("coretype"), threads, version.

    threadpoolctl's answer when it is installed; otherwise the same questions asked of
    each loaded OpenBLAS through ctypes (what threadpoolctl itself does).
    """
    import numpy  # noqa: F401  (loads numpy's BLAS)
    try:
        import threadpoolctl
        return [{k: d.get(k) for k in ("user_api", "internal_api", "prefix", "version", "num_threads",
                                       "architecture", "threading_layer", "filepath")}
                for d in threadpoolctl.threadpool_info()]
    except ImportError:
        pass
    found = []
    try:
        with open("/proc/self/maps") as maps:
            paths = sorted({line.split()[-1] for line in maps if "openblas" in line.lower() and ".so" in line})
    except OSError:
        paths = []
    for path in paths:
        lib = ctypes.CDLL(path)
        info = {"user_api": "blas", "internal_api": "openblas", "filepath": path}
        for prefix in ("scipy_openblas", "openblas"):
            for suffix in ("64_", ""):
                core = getattr(lib, f"{prefix}_get_corename{suffix}", None)
                if core is None:
                    continue
                core.restype = ctypes.c_char_p
                info["architecture"] = core().decode()
                threads = getattr(lib, f"{prefix}_get_num_threads{suffix}")
                info["num_threads"] = int(threads())
                config = getattr(lib, f"{prefix}_get_config{suffix}", None)
                if config is not None:
                    config.restype = ctypes.c_char_p
                    info["version"] = config().decode().split()[1]
                break
            if "architecture" in info:
                break
        found.append(info)
    return found


def blas_threads():
    """Threads numpy's BLAS uses (os.cpu_count() when it cannot be told)."""
    for lib in blas_info():
        if lib.get("user_api") == "blas" and lib.get("num_threads"):
            return int(lib["num_threads"])
    return os.cpu_count() or 1


# -- matmul ceiling -----------------------------------------------------------------------
GEMM_SHAPES = [
    # (label, m, k, n, transpose_a): C (m, n) = A (m, k) @ B (k, n)
    ("MLP batch 32 forward, x·W1", 32, 784, 128, False),
    ("MLP batch 32 ∂R/∂W1 = xᵀ·δ", 784, 32, 128, True),
    ("MLP batch 128 forward", 128, 784, 128, False),
    ("MLP batch 1024 forward", 1024, 784, 128, False),
    ("CNN conv2 im2col, batch 128", 128 * 121, 288, 64, False),
    ("large square", 2048, 2048, 2048, False),
]


def gemm_gflops(m, k, n, transpose_a=False, budget=0.4, dtype="float32"):
    """Best-of GFLOP/s of one numpy GEMM shape (2·m·k·n flops a product), about ``budget`` seconds."""
    import numpy as np
    rng = np.random.default_rng(0)
    a = rng.random((k, m) if transpose_a else (m, k), dtype=np.float32).astype(dtype)
    a = a.T if transpose_a else a
    b = rng.random((k, n), dtype=np.float32).astype(dtype)
    out = np.empty((m, n), dtype)
    np.matmul(a, b, out=out)
    # Calls per timing chunk so that one chunk is ~20 ms.
    t0 = time.perf_counter()
    np.matmul(a, b, out=out)
    one = max(time.perf_counter() - t0, 1e-7)
    reps = max(1, int(0.02 / one))
    best, spent = float("inf"), 0.0
    while spent < budget or best == float("inf"):
        t0 = time.perf_counter()
        for _ in range(reps):
            np.matmul(a, b, out=out)
        dt = time.perf_counter() - t0
        spent += dt
        best = min(best, dt / reps)
    return 2.0 * m * k * n / best / 1e9


def matmul_ceiling(budget=0.4):
    return [{"label": label, "shape": f"({m}x{k}) @ ({k}x{n})" + (" [Aᵀ]" if ta else ""),
             "gflops": gemm_gflops(m, k, n, ta, budget)}
            for label, m, k, n, ta in GEMM_SHAPES]


# -- install sizes ------------------------------------------------------------------------
def _packaging():
    try:
        from packaging.markers import default_environment
        from packaging.requirements import Requirement
    except ImportError:                                   # every venv's pip vendors it
        from pip._vendor.packaging.markers import default_environment
        from pip._vendor.packaging.requirements import Requirement
    return Requirement, default_environment


def _norm(name):
    return name.lower().replace("_", "-").replace(".", "-")


def closure(requirements):
    """Installed distributions that ``requirements`` (e.g. ["netfit[plot]"]) pull in, transitively."""
    from importlib import metadata
    Requirement, default_environment = _packaging()
    installed = {_norm(d.metadata["Name"]): d for d in metadata.distributions()}
    seen, todo, missing = {}, [(r, ()) for r in requirements], []
    while todo:
        text, parent_extras = todo.pop()
        req = Requirement(text)
        if req.marker is not None:
            envs = [dict(default_environment(), extra=e) for e in (parent_extras or ("",))]
            if not any(req.marker.evaluate(env) for env in envs):
                continue
        key = _norm(req.name)
        dist = installed.get(key)
        if dist is None:
            missing.append(req.name)
            continue
        extras = tuple(sorted(req.extras))
        if key in seen and set(extras) <= set(seen[key][1]):
            continue
        prev = seen.get(key, (dist, ()))[1]
        seen[key] = (dist, tuple(sorted(set(prev) | set(extras))))
        for sub in dist.requires or []:
            todo.append((sub, extras))
    return {k: d for k, (d, _) in seen.items()}, sorted(set(missing))


def dist_size(dist):
    """Bytes on disk of a distribution's files (its RECORD), plus an editable project's package."""
    total = 0
    for f in dist.files or []:
        try:
            total += os.path.getsize(dist.locate_file(f))
        except OSError:
            pass
    direct = dist.read_text("direct_url.json")
    if direct and '"editable": true' in direct.replace(" ", "").replace('"editable":true', '"editable": true'):
        url = json.loads(direct)["url"]
        root = url[len("file://"):] if url.startswith("file://") else url
        for pkg in (dist.read_text("top_level.txt") or _norm(dist.metadata["Name"])).split():
            for dirpath, dirnames, filenames in os.walk(os.path.join(root, pkg)):
                dirnames[:] = [d for d in dirnames if d != "__pycache__"]
                total += sum(os.path.getsize(os.path.join(dirpath, f)) for f in filenames)
    return total


def sizes(requirement_sets):
    """For each "a+b[x]" set: MB of its closure and the distributions in it."""
    out = {}
    for spec in requirement_sets:
        dists, missing = closure(spec.split("+"))
        per = {dists[k].metadata["Name"] + " " + dists[k].version: dist_size(dists[k]) / 1e6
               for k in sorted(dists)}
        out[spec] = {"mb": sum(per.values()), "dists": per, "missing": missing}
    return out


ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# The venv's own installer, not something the demo needs.
_TOOLING = ("pip", "setuptools", "_distutils_hack", "pkg_resources", "distutils-precedence.pth")
# Top-level names in site-packages that belong to a distribution of another name.
_DIST_OF = {"pil": "pillow", "mpl_toolkits": "matplotlib", "pylab": "matplotlib", "python_dateutil": "dateutil"}


def _du(path):
    total = 0
    for dirpath, _, filenames in os.walk(path):
        total += sum(os.path.getsize(os.path.join(dirpath, f)) for f in filenames
                     if not os.path.islink(os.path.join(dirpath, f)))
    return total if os.path.isdir(path) else os.path.getsize(path)


def demo_env():
    """Build `make demo`'s venv in a temporary folder with the Makefile's own rule, run a one-epoch
    demo in it (so the byte-code it writes on first import is there), and measure site-packages
    on disk, less pip and setuptools, plus netfit's editable source."""
    with tempfile.TemporaryDirectory(prefix="netfit-demo-env-") as tmp:
        venv = os.path.join(tmp, "venv")
        subprocess.run(["make", "-s", f"VENV={venv}", f"{venv}/.installed-plot"], cwd=ROOT, check=True,
                       stdout=subprocess.DEVNULL)
        subprocess.run([os.path.join(venv, "bin", "netfit"), "demo", "--epochs", "1", "--verbose", "0",
                        "--out", os.path.join(tmp, "out")], check=True, stdout=subprocess.DEVNULL)
        site = next(os.path.join(dirpath, d) for dirpath, dirs, _ in os.walk(os.path.join(venv, "lib"))
                    for d in dirs if d == "site-packages")
        parts = {}
        for entry in os.listdir(site):
            base = entry.split("-")[0] if entry.endswith((".dist-info", ".data")) else entry
            if base.lower() in _TOOLING or entry in _TOOLING:
                continue
            key = base.split(".")[0].lower()
            key = _DIST_OF.get(key, "netfit" if key.startswith("__editable__") else key)
            parts[key] = parts.get(key, 0) + _du(os.path.join(site, entry))
        source = 0
        for dirpath, dirnames, filenames in os.walk(os.path.join(ROOT, "netfit")):
            dirnames[:] = [d for d in dirnames if d != "__pycache__"]
            source += sum(os.path.getsize(os.path.join(dirpath, f)) for f in filenames)
        parts["netfit"] = parts.get("netfit", 0) + source
        per = {k: v / 1e6 for k, v in sorted(parts.items(), key=lambda kv: -kv[1])}
        return {"mb": sum(per.values()), "parts": per}


def check_peers():
    """Refuse a CUDA build of torch in the peers' venv (several GB, and not what is benchmarked)."""
    from importlib import metadata
    import torch
    cuda_dists = sorted(d.metadata["Name"] for d in metadata.distributions()
                        if _norm(d.metadata["Name"]).startswith(("nvidia-", "triton")))
    if torch.version.cuda is not None or cuda_dists:
        print(f"error: the peers' venv holds a CUDA build of torch ({torch.__version__}, "
              f"CUDA {torch.version.cuda}; {', '.join(cuda_dists) or 'no nvidia-* packages'}); "
              f"remove benchmarks/.venv-peers and install torch's +cpu wheel.", file=sys.stderr)
        return 1
    print(f"peers' venv: torch {torch.__version__} (CPU build, no nvidia-* packages)")
    return 0


def main(argv):
    if not argv or argv[0] not in ("blas", "ceiling", "sizes", "demo-env", "check-peers"):
        print(__doc__, file=sys.stderr)
        return 2
    if argv[0] == "check-peers":
        return check_peers()
    result = {"blas": blas_info, "ceiling": matmul_ceiling, "demo-env": demo_env}.get(argv[0])
    print(json.dumps(result() if result else sizes(argv[1:]), indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
