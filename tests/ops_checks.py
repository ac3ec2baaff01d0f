"""Shared checks for netfit.ops: an op's VJP against float64 central differences, through the tape.

``check_gradient(fn, *arrays)`` runs ``fn`` (any composition of ops) on traced
copies of ``arrays``, takes R = Σ c ⊙ fn(...) for a fixed random c, back-propagates
through the tape, and compares each input's δ with (R(x + h e) − R(x − h e)) / 2h.
"""
import numpy as np

from netfit.ops import Tape, Value


def tape_gradients(fn, arrays, c=None, seed=0):
    """(R, [∂R/∂a for a in arrays]) with R = Σ c ⊙ fn(*arrays), through the tape."""
    with Tape() as tape:
        values = [Value(np.array(a, dtype=np.float64), tape) for a in arrays]
        out = fn(*values)
    data = np.asarray(out.data if hasattr(out, "data") else out, dtype=np.float64)
    if c is None:
        c = np.random.default_rng(seed).standard_normal(data.shape)
    R = float(np.sum(c * data))
    grads = tape.backward(out, c) if hasattr(out, "data") else {}
    return R, [grads.get(id(v), np.zeros(np.shape(a))) for v, a in zip(values, arrays)], c


def numeric_gradients(fn, arrays, c, h=1e-6):
    """Central differences of R = Σ c ⊙ fn(*arrays), in float64, for every entry of every input."""
    out = []
    arrays = [np.array(a, dtype=np.float64) for a in arrays]
    for k, a in enumerate(arrays):
        g = np.zeros_like(a)
        for i in np.ndindex(a.shape):
            old = a[i]
            a[i] = old + h
            up = float(np.sum(c * np.asarray(fn(*arrays), dtype=np.float64)))
            a[i] = old - h
            down = float(np.sum(c * np.asarray(fn(*arrays), dtype=np.float64)))
            a[i] = old
            g[i] = (up - down) / (2 * h)
        out.append(g)
    return out


def check_gradient(fn, *arrays, rtol=1e-6, atol=1e-7, seed=0):
    """Assert the tape's δ at each input equals central differences (float64); return the largest error."""
    _, tape_g, c = tape_gradients(fn, arrays, seed=seed)
    num_g = numeric_gradients(fn, arrays, c)
    worst = 0.0
    for k, (t, n) in enumerate(zip(tape_g, num_g)):
        assert t.shape == n.shape, f"input {k}: gradient of shape {t.shape}, expected {n.shape}"
        np.testing.assert_allclose(t, n, rtol=rtol, atol=atol, err_msg=f"input {k}")
        worst = max(worst, float(np.max(np.abs(t - n), initial=0.0)))
    return worst
