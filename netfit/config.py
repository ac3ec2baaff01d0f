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
package (``pip install 'netfit[threads]'``); see docs/reliability.md for what
is guaranteed.

Threads. A matrix product split over several BLAS threads pays for waking and
joining them, and an idle BLAS thread keeps spinning on the second core; for
the small products of a mini-batch step that once cost about what it saved on a
quiet machine (lecture MLP, one epoch at batch 32: 0.84 s on one thread, 0.95 s
on two; with OpenBLAS 0.3.31, 0.66 s in some runs and 1.5 s in others of the same
benchmark, against 0.75–0.78 s on one) and ruins it on a busy one (1.5–33 s with
two), while big batches and convolutions gain (the Keras CNN at batch 128: 62 → 50
ms a step). So :meth:`netfit.Sequential.fit` runs small steps on one thread, and
larger ones of a model of products only (``layer.blas_bound``: Dense and the layers
around it; from :data:`SMALL_PRODUCTS_STEP_FLOPS`) on BLAS's own threads;
:func:`set_threads` overrides it.

Every core. BLAS threads speed up the products only; the rest of a step (im2col,
col2im, pooling, σ') ran on one core. Large steps (and any step under
``set_threads(n)``, n > 1) therefore run on n threads of :mod:`netfit.parallel`'s
pool, each with one BLAS thread (an idle OpenBLAS thread spins on the core the
pool needs): the batch is cut into n shares, each backpropagated on its own
thread (:mod:`netfit.replicas`), or, in deterministic mode and with
BatchNormalization, each pass is split into blocks of batch rows. The same
thread count gives the same bits from run to run; in deterministic mode, any
thread count does (docs/reliability.md).

threadpoolctl. Holding BLAS at a thread count needs the optional ``threadpoolctl``
package (``pip install 'netfit[threads]'``; ``netfit[fast]`` has it too). NumPy
is netfit's only required dependency, so without it: ``"auto"`` trains on one
thread of the pool and BLAS keeps its own threads (netfit before the pool), since
the pool beside a multi-threaded BLAS was slower than one thread (Keras's MNIST
CNN, a step at batch 128 on 2 loaded cores: 45 ms against 41 ms; netfit.parallel);
``set_threads(n)``, n > 1, still runs the pool and warns once; deterministic
mode warns and stays off. That one thread is the cost of a NumPy-only install on
large steps: one epoch of ``zoo.mnist_cnn`` on 512 images at batch 128 took
0.13–0.16 s against 0.11–0.13 s with threadpoolctl (2 cores, niced on a shared
machine; a user measured 0.20–0.28 against 0.13–0.16 s on a quiet one, 1.0
against 0.5 s on a busy one). Nothing warns of it: the README recommends
``netfit[threads]`` for machines with more than one core.
"""
import contextlib
import os
import sys
import threading
import warnings

import numpy as np

from . import backend

_SUPPORTED = ("float32", "float64")
_floatx = "float32"
_blas_limits = None          # threadpoolctl's limiter while deterministic mode is on
_threads = "auto"
_warned_unheld_blas = False  # set_threads(n > 1) without threadpoolctl warns once per process
# Called with no argument after set_threads changes the setting: netfit.parallel registers the
# closing of a pool larger than the new setting needs (config sits below parallel in the imports).
on_set_threads = []
# Under threads "auto", a training step of fewer floating-point operations than this runs on
# one BLAS thread (and no pool). The lecture MLP (101,770 links, 6 flops per link and example)
# at batch 32 (20 M) gains nothing reliable from a second thread: on 2 cores (OpenBLAS 0.3.31,
# 2026-12-08) two BLAS threads took an epoch in 0.66 s in some runs and 1.5 s in others of one
# `make bench` (five interleaved repeats; PyTorch's and plain NumPy's two threads alike), where
# one thread gave 0.75-0.78 s (2026-11-30) and 0.771-0.863 s (2026-12-08, a loaded machine).
# A larger step runs on netfit's pool (netfit.parallel) for models with large passes between
# their products (Keras's MNIST CNN at batch 128, 1.9 G: the pool is 1.3x faster than BLAS's
# threads); models of products only have a bound of their own, below.
SMALL_STEP_FLOPS = 100e6
# The same bound for a model of products only (every layer ``blas_bound``: Dense and what goes
# around it), whose larger steps go to BLAS's own threads rather than the pool (the lecture MLP
# at batch 1024: 0.203-0.219 s against 0.243-0.267 s on the pool). On a machine that runs
# nothing else, BLAS's second thread pays from a smaller step; beside one other busy process it
# costs 2-5x at every size, since each product waits for the thread that lost its core. The
# lecture MLP, one epoch, one BLAS thread against two (benchmarks/RESULTS-small-steps.md,
# `make bench-small-steps`, 2 cores, 2026-12-08, medians of six interleaved runs): quiet, batch
# 48 (29 M) 0.608 against 0.543 s, batch 128 (78 M) 0.404 against 0.305 s; beside one spinning
# process, 0.671 against 2.06 s and 0.451 against 1.01 s. The default keeps SMALL_STEP_FLOPS's
# bound, below which one thread is never much slower; on a machine of your own, a lower bound
# (25e6: the lecture MLP from batch 41) takes the gain.
SMALL_PRODUCTS_STEP_FLOPS = 100e6


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


def available_cores():
    """The cores this process may run on (its CPU affinity), at least 1."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):           # macOS, Windows: no affinity call
        return max(1, os.cpu_count() or 1)


def can_limit_blas():
    """True where ``threadpoolctl`` (``pip install 'netfit[threads]'``) is there to hold BLAS at a thread count."""
    try:
        import threadpoolctl  # noqa: F401
    except ImportError:
        return False
    return True


def limit_blas(threads):
    """Hold BLAS at ``threads`` threads until the returned limiter is left or restored; None without threadpoolctl.

    The limiter is threadpoolctl's: a context manager with ``restore_original_limits()``.
    The controller (the list of BLAS libraries loaded) is kept from one call to the next,
    and made anew only when modules were imported since (which may have loaded another
    BLAS, SciPy's or torch's): making one costs ~0.6 ms, a limit on it ~10 µs, and a
    server's ``predict`` comes here at every request.
    """
    global _controller
    try:
        from threadpoolctl import ThreadpoolController
    except ImportError:
        return None
    if _controller is None or _controller[0] != len(sys.modules):
        _controller = (len(sys.modules), ThreadpoolController())
    return _controller[1].limit(limits=threads, user_api="blas")


_controller = None     # (len(sys.modules) when made, threadpoolctl's ThreadpoolController)
_single = {"holders": 0, "limiter": None}     # one_blas_thread's shared hold
_single_lock = threading.Lock()


@contextlib.contextmanager
def one_blas_thread():
    """Hold BLAS at one thread while inside; holds nested or in other threads share one limit.

    BLAS's thread count is one setting for the whole process: two threads each
    limiting it and restoring "their" original on the way out could leave it at
    one thread for good (the second to enter saw one as the original). Here the
    first holder limits and the last to leave restores. Without threadpoolctl,
    or in deterministic mode (already one thread), it does nothing.
    """
    if deterministic():
        yield
        return
    with _single_lock:
        if _single["holders"] == 0:
            _single["limiter"] = limit_blas(1)
        _single["holders"] += 1
    try:
        yield
    finally:
        with _single_lock:
            _single["holders"] -= 1
            if _single["holders"] == 0 and _single["limiter"] is not None:
                _single["limiter"].restore_original_limits()
                _single["limiter"] = None


def set_deterministic(enabled=True):
    """Pin BLAS to one thread (``enabled=True``) or give it back its threads (``False``).

    With one BLAS thread, training with the same seed gives bit-identical
    weights and history from run to run and process to process on one machine,
    whatever the number of cores: netfit's pool (:mod:`netfit.parallel`) then runs
    the products whole and splits only the passes whose bits do not depend on the
    split. It needs ``threadpoolctl`` (``pip install 'netfit[threads]'``); where it
    is missing a RuntimeWarning says so, and deterministic mode stays off. Setting
    ``OPENBLAS_NUM_THREADS=1`` (or OMP/MKL) by hand is no substitute: netfit cannot
    tell which BLAS NumPy loaded nor whether it read those variables, so it does
    not switch the mode on, and ``set_threads(n)`` still splits the products.
    Matrix products get slower on many-core machines.

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
    return _pin_blas("set_deterministic", stacklevel=3)


def _pin_blas(where, stacklevel):
    """Switch deterministic mode on for :func:`set_deterministic` or ``NETFIT_DETERMINISTIC`` (``where``)."""
    global _blas_limits
    if _blas_limits is None:
        _blas_limits = limit_blas(1)
    if _blas_limits is None:
        warnings.warn(f"{where}: threadpoolctl is not installed, so deterministic mode stays off: BLAS keeps its "
                      f"threads and results may differ in the last bit between thread counts. Fix: pip install "
                      f"'netfit[threads]'.", RuntimeWarning, stacklevel=stacklevel)
    return _blas_limits is not None


def deterministic():
    """True while :func:`set_deterministic` holds BLAS at one thread."""
    return _blas_limits is not None


def set_threads(value="auto"):
    """Choose the threads :meth:`netfit.Sequential.fit` trains with.

    ``"auto"`` (the default): one thread for steps under :data:`SMALL_STEP_FLOPS`
    (100 M) floating-point operations, where waking a second thread costs more than
    it saves, and for larger ones one thread per available core (the process's CPU
    affinity) in :mod:`netfit.parallel`'s pool, each share of the batch
    (:mod:`netfit.replicas`) or block of rows on one BLAS thread; a model of matrix
    products only (Dense layers and the shape, activation and dropout layers around
    them: ``layer.blas_bound``) leaves BLAS its own threads for steps of
    :data:`SMALL_PRODUCTS_STEP_FLOPS` (100 M) or more instead. Both bounds are module
    constants you may set (``nf.config.SMALL_PRODUCTS_STEP_FLOPS = 25e6`` on a machine
    that runs nothing else: benchmarks/RESULTS-small-steps.md). ``predict`` and
    ``evaluate`` follow the same rule for their batches' forward pass, but for batches of
    less work than :data:`netfit.parallel.MIN_FLOPS`, which leave BLAS as it is. An int n: n
    threads (n = 1: one BLAS thread, no pool; the safe choice on a busy machine).
    ``None``: leave BLAS alone and use no pool. Deterministic mode (:func:`set_deterministic`)
    holds BLAS at one thread; the pool then still splits the passes that do not
    depend on the split (the products run whole), so the bits do not depend on n.
    The previous BLAS count is restored when fit returns. Lowering the setting
    closes a pool that has more threads than the new one needs.

    Holding BLAS needs ``threadpoolctl`` (``pip install 'netfit[threads]'``).
    Without it ``"auto"`` trains on one thread and leaves BLAS its own threads
    (the pool beside them was slower than one thread), and an int n > 1 still
    runs the pool, beside BLAS's threads, with one RuntimeWarning per process.

    Raises
    ------
    ValueError
        ``value`` is not "auto" (any case), None or an int ≥ 1; a string of digits
        ("2") is refused too, with the int to pass.

    Warns
    -----
    RuntimeWarning
        n is more than :func:`available_cores`: the threads would take turns on
        the cores, which is slower; or n > 1 without threadpoolctl (once).

    Examples
    --------
    >>> import netfit as nf
    >>> nf.config.set_threads(1); nf.config.threads()
    1
    >>> nf.config.set_threads("auto")
    """
    global _threads
    if isinstance(value, str) and value.strip().lower() == "auto":       # as --threads AUTO
        value = "auto"
    ok = value is None or value == "auto" or (
        isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_)) and value >= 1)
    if not ok:
        where = "set_threads: expected 'auto', a positive integer or None, got"
        if isinstance(value, str) and value.strip().isdigit() and int(value) >= 1:      # as read from a file
            raise ValueError(f"{where} the string {value!r}; pass the int {int(value)}: set_threads({int(value)}).")
        raise ValueError(f"{where} {value!r}. Fix: set_threads('auto') (every core for large steps) or a count "
                         f"such as set_threads(2).")
    _threads = value if value is None or isinstance(value, str) else int(value)
    if isinstance(_threads, int):
        _warn_about_thread_count(_threads)
    for listener in on_set_threads:
        listener()


def _python_setting(value):
    return f"set_threads({value!r})"


def thread_count_problems(n, where="set_threads", setting=_python_setting):
    """What is wrong with training on ``n`` threads here, as messages (none: fine).

    More threads than :func:`available_cores` take turns on the cores, which is
    slower; n > 1 without threadpoolctl runs netfit's pool beside BLAS's own
    threads. ``where`` starts each message, and ``setting(value)`` spells how its
    reader asks for a thread setting (``set_threads(2)``; the CLI passes
    ``--threads 2``), so the fix suits who reads it.
    """
    cores, problems = available_cores(), []
    if n > cores:
        problems.append(f"{where}: expected at most {cores} threads, the cores this process may run on, got {n}: "
                        f"{n} threads would take turns on {cores} cores, which is slower. Fix: {setting('auto')} "
                        f"or {setting(cores)}.")
    if n > 1 and not can_limit_blas():
        problems.append(f"{where}: threadpoolctl is not installed, so BLAS cannot be held at one thread while "
                        f"netfit's pool of {n} threads runs beside BLAS's own threads; that can be slower than "
                        f"one thread. Fix: pip install 'netfit[threads]', or set OPENBLAS_NUM_THREADS=1 "
                        f"OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 before starting Python.")
    return problems


def _warn_about_thread_count(n):
    global _warned_unheld_blas
    for problem in thread_count_problems(n):
        if "threadpoolctl" in problem:                           # once per process
            if _warned_unheld_blas:
                continue
            _warned_unheld_blas = True
        warnings.warn(problem, RuntimeWarning, stacklevel=3)


def threads():
    """The thread setting of fit: "auto", an int, or None (see :func:`set_threads`)."""
    return _threads


def training_threads(step_flops, blas_bound=False):
    """Context manager holding BLAS at the thread count :func:`set_threads` asks for a step this size.

    ``blas_bound``: the model is matrix products only (:data:`SMALL_PRODUCTS_STEP_FLOPS` bounds
    its small steps instead of :data:`SMALL_STEP_FLOPS`).
    """
    wanted = _threads
    if wanted == "auto":
        small = SMALL_PRODUCTS_STEP_FLOPS if blas_bound else SMALL_STEP_FLOPS
        wanted = 1 if step_flops < small else None
    if wanted is None or _blas_limits is not None:
        return contextlib.nullcontext()
    # An optimisation only: without threadpoolctl (netfit[threads]), BLAS keeps its threads.
    if wanted == 1:
        return one_blas_thread()
    return limit_blas(wanted) or contextlib.nullcontext()


_env_deterministic = os.environ.get("NETFIT_DETERMINISTIC", "")
if _env_deterministic.strip().lower() in ("1", "true", "yes", "on"):
    _pin_blas(f"NETFIT_DETERMINISTIC={_env_deterministic}", stacklevel=2)
