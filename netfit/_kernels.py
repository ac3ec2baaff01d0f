"""Optional compiled loops (numba) for the element-wise updates NumPy makes in many passes.

NumPy evaluates an expression one whole-array operation at a time, so Adam's
update over the flat weight vector is ten passes over four vectors: for the
lecture MLP at batch 32 it costs ~100–140 µs a step, more than the forward
pass. One compiled loop makes it a single pass (~35 µs). Where numba is
installed (``pip install netfit[fast]``) :func:`adam_update` uses it; elsewhere,
or with ``NETFIT_COMPILED=0`` in the environment, it returns False and the
caller runs its NumPy code.

The loop performs the same floating-point operations, in the same order and in
the same float type, as the NumPy code it replaces (no fused multiply-add, no
reordering: numba's fastmath stays off), so the weights are bit-identical
either way (tests/test_kernels.py). ``error_model="numpy"`` lets a division by
zero give inf as NumPy does, instead of raising, which is also what lets LLVM
vectorize the loop (4× faster than the default "python" error model here).
"""
import os
import warnings

import numpy as np

_compiled = None        # the compiled Adam loop once built; False when numba is missing or disabled


def enabled():
    """True when compiled loops are in use (numba importable, not disabled by NETFIT_COMPILED=0)."""
    return _adam_loop() is not False


def _adam_loop():
    global _compiled
    if _compiled is None:
        _compiled = False
        if os.environ.get("NETFIT_COMPILED", "").strip().lower() in ("0", "false", "no", "off"):
            return _compiled
        try:
            import numba
        except ImportError:
            return _compiled
        _compiled = numba.njit(nogil=True, cache=True, error_model="numpy")(_adam_python)
    return _compiled


def _adam_python(theta, grad, m, v, b1, b2, eps, c):
    # M ← β₁ M + g;  V ← β₂ V + g²;  θ ← θ − c · M / (√V + ε'), as optimizers.Adam writes it.
    for i in range(theta.shape[0]):
        g = grad[i]
        mi = m[i] * b1 + g
        vi = v[i] * b2 + g * g
        m[i] = mi
        v[i] = vi
        theta[i] -= (mi / (np.sqrt(vi) + eps)) * c


def adam_update(theta, grad, m, v, b1, b2, eps, c):
    """Adam's step in one compiled pass; False (nothing touched) where numba is missing, disabled or broken.

    Shapes
    ------
    theta, grad, m, v : (p,) contiguous arrays of one float type; b1, b2, eps, c : Python floats
    """
    loop = _adam_loop()
    if loop is False:
        return False
    # The loop runs unchecked: refuse anything but four equal, contiguous vectors of one float type.
    if not (theta.ndim == 1 and theta.shape == grad.shape == m.shape == v.shape
            and theta.dtype == grad.dtype == m.dtype == v.dtype and theta.dtype.kind == "f"
            and theta.flags.c_contiguous and grad.flags.c_contiguous
            and m.flags.c_contiguous and v.flags.c_contiguous):
        return False
    real = theta.dtype.type               # NumPy rounds a Python float to the array's type; so must the loop
    try:
        loop(theta, grad, m, v, real(b1), real(b2), real(eps), real(c))
    except Exception as exc:  # noqa: BLE001  (a broken numba install must not stop training)
        _disable(exc)
        return False
    return True


def _disable(exc):
    global _compiled
    _compiled = False
    warnings.warn(f"netfit: the compiled Adam loop failed ({type(exc).__name__}: {exc}); using NumPy from now "
                  f"on. Set NETFIT_COMPILED=0 to silence this, or reinstall numba.", RuntimeWarning, stacklevel=3)
