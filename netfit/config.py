"""Numerical settings shared by all of netfit: the default float type, BLAS threads, determinism.

float32 is the default because it halves memory traffic and doubles BLAS speed;
float64 is there for gradient checks and teaching, where every digit matters.

Determinism. netfit draws every random number from generators seeded by the
model's seed, so the same seed gives the same weights, shuffles and dropout
masks. What seeds cannot fix is the BLAS library: a multi-threaded matrix
product may split a sum across threads, and the order of floating-point
additions then depends on the number of threads (and the CPU's kernels), which
can change the last bit. :func:`set_deterministic` (or ``NETFIT_DETERMINISTIC=1``
in the environment) pins BLAS to one thread through the ``threadpoolctl``
package; see docs/reliability.md for what is guaranteed.

Threads. A matrix product split over several BLAS threads pays for waking and
joining them, and an idle BLAS thread keeps spinning on the second core; for
the small products of a mini-batch step that costs about what it saves on a
quiet machine (lecture MLP, one epoch at batch 32: 0.84 s on one thread, 0.95 s
on two; batch 128: 0.36 s and 0.33 s on 2 cores) and ruins it on a busy one
(1.5–33 s with two), while big batches and convolutions gain (batch 1024: 0.27 →
0.21 s; the Keras CNN at batch 128: 62 → 50 ms a step). So
:meth:`netfit.Sequential.fit` runs small steps on one thread; :func:`set_threads`
overrides it.

Every core. BLAS threads speed up the products only; the rest of a step (im2col,
col2im, pooling, σ') ran on one core. Large steps (and any step under
``set_threads(n)``, n > 1) therefore run on :mod:`netfit.parallel`'s pool: each
pass, products included, is split into blocks of batch rows, one per thread,
with one BLAS thread per block (an idle OpenBLAS thread spins on the core the
pool needs). The same thread count gives the same bits from run to run; in
deterministic mode, any thread count does (docs/reliability.md).
"""
import contextlib
import os
import warnings

import numpy as np

from . import backend

_SUPPORTED = ("float32", "float64")
_floatx = "float32"
_blas_limits = None          # threadpoolctl's limiter while deterministic mode is on
_threads = "auto"
# A training step of fewer floating-point operations than this runs on one BLAS thread
# under threads "auto". The lecture MLP (101,632 links, 6 flops per link and example) gains
# nothing from a second thread up to batch 128 (78 M) on a quiet 2-core machine and loses
# badly on a busy one; at batch 1024 (624 M) two threads are 25 % faster.
SMALL_STEP_FLOPS = 100e6


def floatx():
    """Return the default float type name, ``"float32"`` or ``"float64"``."""
    return _floatx


def set_floatx(name):
    """Set the default float type for models built from now on.

    Examples
    --------
    >>> import netfit as nf
    >>> nf.config.set_floatx("float64"); nf.config.floatx()
    'float64'
    >>> nf.config.set_floatx("float32")
    """
    global _floatx
    if name not in _SUPPORTED:
        raise ValueError(f"set_floatx: expected one of {_SUPPORTED}, got {name!r}.")
    _floatx = name


def dtype():
    """Return the default float type as a NumPy dtype."""
    return np.dtype(_floatx)


def set_device(name):
    """Set the device of models built from now on: "cpu" (the default), "gpu", "gpu:N" (or "cuda[:N]").

    ``with nf.device("gpu"):`` does the same for one block, ``model.to("gpu")``
    for one model (docs/gpu.md). "gpu" needs CuPy (``pip install 'netfit[gpu]'``)
    and a CUDA device, checked here.

    Examples
    --------
    >>> import netfit as nf
    >>> nf.config.set_device("cpu"); nf.config.device()
    'cpu'
    """
    backend.set_device(name)


def device():
    """The device name models built now get ("cpu", "gpu:0"): see :func:`set_device`."""
    return backend.current_device()


def set_deterministic(enabled=True):
    """Pin BLAS to one thread (``enabled=True``) or give it back its threads (``False``).

    With one BLAS thread, training with the same seed gives bit-identical
    weights and history from run to run and process to process on one machine,
    whatever the number of cores. It needs ``threadpoolctl`` (a dependency of
    netfit); where it is missing a RuntimeWarning says how to pin the threads by
    hand and nothing changes. Matrix products get slower on many-core machines.

    Returns
    -------
    bool
        Whether deterministic mode is now on (see :func:`deterministic`).

    Examples
    --------
    >>> import netfit as nf
    >>> on = nf.config.set_deterministic(True)     # True where threadpoolctl is installed
    >>> nf.config.set_deterministic(False)
    False
    """
    global _blas_limits
    if not isinstance(enabled, (bool, np.bool_)):
        raise TypeError(f"set_deterministic: expected True or False, got {enabled!r}.")
    if not enabled:
        if _blas_limits is not None:
            _blas_limits.restore_original_limits()
            _blas_limits = None
        return False
    if _blas_limits is not None:
        return True
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        warnings.warn("set_deterministic: threadpoolctl is not installed, so BLAS keeps its threads and results "
                      "may differ in the last bit between thread counts. Fix: pip install threadpoolctl, or set "
                      "OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 before starting Python.",
                      RuntimeWarning, stacklevel=2)
        return False
    _blas_limits = threadpool_limits(limits=1, user_api="blas")
    return True


def deterministic():
    """True while :func:`set_deterministic` holds BLAS at one thread."""
    return _blas_limits is not None


def set_threads(value="auto"):
    """Choose the threads :meth:`netfit.Sequential.fit` trains with.

    ``"auto"`` (the default): one thread for steps under :data:`SMALL_STEP_FLOPS`
    floating-point operations, where waking a second thread costs more than it
    saves, and for larger ones one thread per available core (the process's CPU
    affinity) in :mod:`netfit.parallel`'s pool, each block of rows on one BLAS
    thread. An int n: n threads (n = 1: one BLAS thread, no pool). ``None``: leave
    BLAS alone and use no pool. Deterministic mode (:func:`set_deterministic`)
    holds BLAS at one thread; the pool then still splits the passes that do not
    depend on the split (the products run whole), so the bits do not depend on n.
    Needs ``threadpoolctl`` (a dependency of netfit); the previous BLAS count is
    restored when fit returns.

    Examples
    --------
    >>> import netfit as nf
    >>> nf.config.set_threads(1); nf.config.threads()
    1
    >>> nf.config.set_threads("auto")
    """
    global _threads
    ok = value is None or (isinstance(value, str) and value == "auto") or (
        isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_)) and value >= 1)
    if not ok:
        raise ValueError(f"set_threads: expected 'auto', a positive integer or None, got {value!r}.")
    _threads = value if value is None or isinstance(value, str) else int(value)


def threads():
    """The thread setting of fit: "auto", an int, or None (see :func:`set_threads`)."""
    return _threads


def training_threads(step_flops):
    """Context manager holding BLAS at the thread count :func:`set_threads` asks for a step this size."""
    wanted = _threads
    if wanted == "auto":
        wanted = 1 if step_flops < SMALL_STEP_FLOPS else None
    if wanted is None or _blas_limits is not None:
        return contextlib.nullcontext()
    try:
        from threadpoolctl import ThreadpoolController
    except ImportError:          # an optimisation only: without threadpoolctl, BLAS keeps its threads
        return contextlib.nullcontext()
    return ThreadpoolController().limit(limits=wanted, user_api="blas")


if os.environ.get("NETFIT_DETERMINISTIC", "").strip().lower() in ("1", "true", "yes", "on"):
    set_deterministic(True)
