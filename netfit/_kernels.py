"""Optional compiled loops (numba) where NumPy would make many passes over the same data.

NumPy evaluates an expression one whole-array operation at a time. Three places
in a training step pay for that more than for the arithmetic:

- Adam's update over the flat weight vector is ten passes over four vectors:
  for the lecture MLP at batch 32 it costs ~100–140 µs a step, more than the
  forward pass. One compiled loop makes it a single pass (~35 µs).
- Relu's backward pass, δ ⊙ 1{a > 0}, is two passes in NumPy (the mask, then
  the product) and one loop here: 2.4 → 1.0 ms on the MNIST CNN's first layer.
- Max pooling over windows that tile the image reads each window offset as a
  strided slice and makes two to four passes per offset (maximum, winner,
  masked δ). One loop over the windows reads x once and writes a, the winners
  and, backward, s once: in the MNIST CNN's training step (batch 128) the
  first pooling layer went from 4.9 to 1.7 ms forward and 4.5 to 1.6 ms
  backward, the whole step from 42 to 33 ms.

Where numba is installed (``pip install netfit[fast]``) these functions run the
loops and return True; elsewhere, or with ``NETFIT_COMPILED=0`` in the
environment, they return False and the caller runs its NumPy code. A loop
that fails (a broken numba install) warns once and is not tried again.

Each loop computes what the NumPy code computes, bit for bit
(tests/test_kernels.py): the same floating-point operations, in the same
order and float type (no fused multiply-add, no reordering: numba's fastmath
stays off); comparisons and maxima follow NumPy's rules for ties, signed
zeros and NaN. ``error_model="numpy"`` lets a division by zero give inf as
NumPy does, instead of raising, which is also what lets LLVM vectorize the
loops (4× faster than the default "python" error model for Adam). The loops
are compiled on first use and cached on disk (``cache=True``).
"""
import os
import warnings

import numpy as np

_compiled = None     # None: not looked up yet; False: NumPy only (numba missing or disabled);
                     # else {name: compiled loop, or False once it has failed}


def enabled():
    """True when compiled loops are in use (numba importable, not disabled by NETFIT_COMPILED=0)."""
    return _loops() is not False


def _loops():
    global _compiled
    if _compiled is None:
        _compiled = False
        if os.environ.get("NETFIT_COMPILED", "").strip().lower() in ("0", "false", "no", "off"):
            return _compiled
        try:
            import numba
        except ImportError:
            return _compiled
        # Each loop is compiled (or read from the disk cache) at its first call, for the argument types.
        jit = numba.njit(nogil=True, cache=True, error_model="numpy")
        _compiled = {"Adam": jit(_adam_python), "max-pooling forward": jit(_max_pool_forward_python),
                     "max-pooling backward": jit(_max_pool_backward_python),
                     "relu backward": jit(_relu_backward_python)}
    return _compiled


def _run(name, *args):
    """Run loop ``name`` on args: True, or False (nothing to trust) where it is missing, disabled or broken."""
    loops = _loops()
    loop = False if loops is False else loops.get(name, False)
    if loop is False:
        return False
    try:
        loop(*args)
    except Exception as exc:  # noqa: BLE001  (a broken numba install must not stop training)
        loops[name] = False
        warnings.warn(f"netfit: the compiled {name} loop failed ({type(exc).__name__}: {exc}); using NumPy "
                      f"from now on. Set NETFIT_COMPILED=0 to silence this, or reinstall numba.",
                      RuntimeWarning, stacklevel=3)
        return False
    return True


def _contiguous(*arrays):
    return all(a.flags.c_contiguous for a in arrays)


def _same_or_apart(x, y):
    """True when x and y (contiguous, one shape) are the same memory or do not overlap: an
    element-by-element loop then reads each input before writing that element of the output."""
    return x.ctypes.data == y.ctypes.data or not np.may_share_memory(x, y)


# ---------------------------------------------------------------------------------------- Adam

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
    if _loops() is False:                # NumPy only: skip the checks below
        return False
    # The loop runs unchecked: refuse anything but four equal, contiguous vectors of one float type.
    if not (theta.ndim == 1 and theta.shape == grad.shape == m.shape == v.shape
            and theta.dtype == grad.dtype == m.dtype == v.dtype and theta.dtype.kind == "f"
            and _contiguous(theta, grad, m, v)):
        return False
    real = theta.dtype.type               # NumPy rounds a Python float to the array's type; so must the loop
    return _run("Adam", theta, grad, m, v, real(b1), real(b2), real(eps), real(c))


# ---------------------------------------------------------------------------------------- relu

def _relu_backward_python(delta, a, out, one, zero):
    for i in range(out.shape[0]):
        out[i] = delta[i] * (one if a[i] > 0 else zero)       # δ·1 or δ·0, as NumPy multiplies the mask


def relu_backward(delta, a, out):
    """out = δ ⊙ σ'(z) for relu, σ' = 1 where a > 0, else 0, in one compiled pass instead of two.

    False (nothing trusted) where numba is missing, disabled or broken, or the
    arrays do not fit the loop. The mask is multiplied, not selected, as in
    NumPy: −δ·0 = −0.0 and NaN·0 = NaN. ``out`` may be ``delta``.

    Shapes
    ------
    delta, a, out : one shape, C-contiguous, one float type (float32 or float64)
    """
    if _loops() is False:                # NumPy only: skip the checks below
        return False
    if not (delta.shape == a.shape == out.shape and delta.dtype == a.dtype == out.dtype
            and delta.dtype in (np.float32, np.float64) and _contiguous(delta, a, out)
            and _same_or_apart(out, delta) and _same_or_apart(out, a)):
        return False
    real = delta.dtype.type
    return _run("relu backward", delta.reshape(-1), a.reshape(-1), out.reshape(-1), real(1), real(0))


# ---------------------------------------------------------------------------------------- max pooling
# Windows that tile the image: window (p, q) is rows p·kh … p·kh + kh − 1, columns q·kw … q·kw + kw − 1,
# and its offset k = u·kw + v is pixel (p·kh + u, q·kw + v), the order of layers.pooling's offset loop.
# The innermost loop runs over the contiguous channels, so that LLVM vectorizes it. The batch loop stays
# serial: numba.prange over it halved these loops on two cores with one BLAS thread (MNIST CNN step 41.7 →
# 39.9 ms), but beside two OpenBLAS threads, which spin between products, the step went from 32.6 to 55 ms.


def _max_pool_forward_python(x, a, winner, kh, kw):
    n, out_h, out_w, channels = a.shape
    for i in range(n):
        for p in range(out_h):
            for q in range(out_w):
                for c in range(channels):
                    a[i, p, q, c] = x[i, p * kh, q * kw, c]
                    if winner is not None:                      # (numba compiles this out for None)
                        winner[i, p, q, c] = 0
                for k in range(1, kh * kw):
                    r, col = p * kh + k // kw, q * kw + k % kw
                    for c in range(channels):
                        m, v = a[i, p, q, c], x[i, r, col, c]
                        if winner is not None and v > m:        # strictly greater: the first maximum keeps a tie
                            winner[i, p, q, c] = k
                        # np.maximum(m, v): m if m is NaN, else the larger, v on a tie (so -0.0 after 0.0)
                        a[i, p, q, c] = m if (m != m or m > v) else v


def _max_pool_backward_python(delta, winner, s, kh, kw, one, zero):
    n, out_h, out_w, channels = delta.shape
    h, w = s.shape[1], s.shape[2]
    for i in range(n):
        for r in range(out_h * kh):                             # s row by row, in memory order
            p, u = r // kh, r % kh
            for q in range(out_w):
                for v in range(kw):
                    k, col = u * kw + v, q * kw + v
                    for c in range(channels):
                        # δ times the 0/1 mask, a multiplication as in NumPy (so −δ·0 = −0.0, NaN·0 = NaN)
                        s[i, r, col, c] = delta[i, p, q, c] * (one if winner[i, p, q, c] == k else zero)
            for col in range(out_w * kw, w):                    # columns no window covers
                for c in range(channels):
                    s[i, r, col, c] = zero
        for r in range(out_h * kh, h):                          # rows no window covers
            for col in range(w):
                for c in range(channels):
                    s[i, r, col, c] = zero


def _tiles(x, a, kh, kw):
    """True when (n, H, W, C) x holds a's (n, out_h, out_w, C) kh×kw windows: no loop index can run out."""
    return (x.ndim == a.ndim == 4 and x.shape[0] == a.shape[0] and x.shape[3] == a.shape[3]
            and a.shape[1] * kh <= x.shape[1] and a.shape[2] * kw <= x.shape[2] and kh >= 1 and kw >= 1)


def _holds_offsets(winner, kh, kw):
    return winner.dtype.kind == "u" and kh * kw - 1 <= np.iinfo(winner.dtype).max


def max_pool_forward(x, a, winner, kh, kw):
    """a = the maximum of each kh×kw tile of x, and (winner not None) the offset of its first maximum.

    Writes a and winner in one compiled pass; False (nothing trusted) where numba
    is missing, disabled or broken, or the arrays do not fit the loop. Same
    results as layers.pooling.MaxPooling2D's NumPy code, NaN included: a window
    holding NaN has maximum NaN and its winner is the first maximum of the
    pixels before the first NaN (no comparison with NaN is true).

    Shapes
    ------
    x : (n, H, W, C) float32 or float64, H ≥ out_h·kh, W ≥ out_w·kw  ->  a : (n, out_h, out_w, C), x's type;
    winner : None or (n, out_h, out_w, C) unsigned ints, offset k = u·kw + v of pixel (u, v) of the window.
    All C-contiguous.
    """
    if _loops() is False:                # NumPy only: skip the checks below
        return False
    if not (_tiles(x, a, kh, kw) and x.dtype == a.dtype and x.dtype in (np.float32, np.float64)
            and _contiguous(x, a)):
        return False
    if winner is not None and not (winner.shape == a.shape and _holds_offsets(winner, kh, kw)
                                   and _contiguous(winner)):
        return False
    return _run("max-pooling forward", x, a, winner, int(kh), int(kw))


def max_pool_backward(delta, winner, s, kh, kw):
    """s = δ at each tile's winner, 0 at its other pixels and at the pixels no tile covers.

    Writes every entry of s in one compiled pass; False (nothing trusted) where
    numba is missing, disabled or broken, or the arrays do not fit the loop. As
    in NumPy, the winner's share is δ·1 and the others' δ·0 (−0.0 for a
    negative δ, NaN for an infinite or NaN one).

    Shapes
    ------
    delta : (n, out_h, out_w, C) float32 or float64;  winner : the same shape, unsigned ints;
    s : (n, H, W, C), delta's type, H ≥ out_h·kh, W ≥ out_w·kw. All C-contiguous.
    """
    if _loops() is False:                # NumPy only: skip the checks below
        return False
    if not (_tiles(s, delta, kh, kw) and winner.shape == delta.shape and _holds_offsets(winner, kh, kw)
            and s.dtype == delta.dtype and delta.dtype in (np.float32, np.float64)
            and _contiguous(delta, winner, s)):
        return False
    real = delta.dtype.type
    return _run("max-pooling backward", delta, winner, s, int(kh), int(kw), real(1), real(0))
