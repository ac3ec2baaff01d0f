"""Numerical settings shared by all of netfit: the default float type, deterministic BLAS.

float32 is the default because it halves memory traffic and doubles BLAS speed;
float64 is there for gradient checks and teaching, where every digit matters.

Determinism. netfit draws every random number from generators seeded by the
model's seed, so the same seed gives the same weights, shuffles and dropout
masks. What seeds cannot fix is the BLAS library: a multi-threaded matrix
product may split a sum across threads, and the order of floating-point
additions then depends on the number of threads (and the CPU's kernels), which
can change the last bit. :func:`set_deterministic` (or ``NETFIT_DETERMINISTIC=1``
in the environment) pins BLAS to one thread through the optional
``threadpoolctl`` package; see docs/reliability.md for what is guaranteed.
"""
import os
import warnings

import numpy as np

_SUPPORTED = ("float32", "float64")
_floatx = "float32"
_blas_limits = None          # threadpoolctl's limiter while deterministic mode is on


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


def set_deterministic(enabled=True):
    """Pin BLAS to one thread (``enabled=True``) or give it back its threads (``False``).

    With one BLAS thread, training with the same seed gives bit-identical
    weights and history from run to run and process to process on one machine,
    whatever the number of cores. It needs the optional ``threadpoolctl``
    package (``pip install threadpoolctl``); without it a RuntimeWarning says how
    to pin the threads by hand and nothing changes. Matrix products get slower
    on many-core machines.

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


if os.environ.get("NETFIT_DETERMINISTIC", "").strip().lower() in ("1", "true", "yes", "on"):
    set_deterministic(True)
