"""Keras's core ops: conversion to NumPy, top-k, closeness, grids, and control flow written as Python.

Control flow needs nothing special here: custom code runs eagerly (define-by-run), so
``cond`` is Python's ``if``, and ``fori_loop``/``while_loop`` are Python loops; the ops
inside them record on the tape like any other (Keras 3's names and arguments, so code
written for JAX's traced control flow runs as it is).
"""
import numpy as np

from .op import op

__all__ = ["convert_to_numpy", "top_k", "in_top_k", "isclose", "meshgrid", "cond", "fori_loop", "while_loop"]


@op("convert_to_numpy", instead="compute with netfit.ops, or take the value outside what is differentiated")
def convert_to_numpy(x):
    """x as a NumPy array (keras.ops.convert_to_numpy): a copy, without a gradient; a PyTorch, TensorFlow or
    JAX tensor is converted too."""
    return np.array(x)


@op("top_k")
def top_k(x, k, sorted=True):                         # noqa: A002 — keras.ops's argument name
    """(values, indices) of the ``k`` largest entries along the last axis (keras.ops.top_k).

    Shapes: x (..., n) → values (..., k), indices (..., k) int32. With ``sorted`` the
    largest come first (ties: the lower index first); δ flows to the chosen entries.
    """
    x = np.asarray(x)
    if not 1 <= int(k) <= x.shape[-1]:
        raise ValueError(f"ops.top_k: expected 1 <= k <= {x.shape[-1]} (the last axis), got k={k}.")
    order = np.argsort(-x, axis=-1, kind="stable")[..., :int(k)]
    if not sorted:
        order = np.sort(order, axis=-1)
    return [np.take_along_axis(x, order, axis=-1), order.astype(np.int32)]


@top_k.defvjp
def top_k_vjp(g, out, x, k, sorted=True):
    gv = g[0]                                         # δ at the values; the indices carry none
    gx = np.zeros(np.shape(x), gv.dtype)
    np.put_along_axis(gx, out[1].astype(np.intp), gv, axis=-1)    # each value's δ back to where it came from
    return gx, None, None


@op("in_top_k")
def in_top_k(targets, predictions, k):
    """True where ``targets[i]`` is among the ``k`` largest of ``predictions[i]`` (keras.ops.in_top_k); booleans."""
    predictions = np.asarray(predictions)
    targets = np.asarray(targets).astype(np.intp).reshape(-1)
    chosen = np.take_along_axis(predictions, targets[:, None], axis=-1)
    return (predictions > chosen).sum(axis=-1) < int(k)


@op("isclose")
def isclose(x1, x2, rtol=1e-5, atol=1e-8, equal_nan=False):
    """|x1 − x2| ≤ atol + rtol |x2| elementwise (keras.ops.isclose); booleans."""
    return np.isclose(x1, x2, rtol=rtol, atol=atol, equal_nan=equal_nan)


@op("meshgrid")
def meshgrid(*x, indexing="xy"):
    """Coordinate grids from 1-D arrays (keras.ops.meshgrid, NumPy's ``indexing``): one output per input."""
    return list(np.meshgrid(*x, indexing=indexing))


@meshgrid.defvjp
def meshgrid_vjp(g, out, *x, indexing="xy"):
    grads = []
    for k, (gk, xk) in enumerate(zip(g, x)):          # output k repeats x_k along the other axes: sum them
        axis = (1 if k == 0 else 0 if k == 1 else k) if indexing == "xy" and len(x) > 1 else k
        other = tuple(a for a in range(gk.ndim) if a != axis)
        grads.append(gk.sum(axis=other).reshape(np.shape(xk)))
    return tuple(grads)


def cond(pred, true_fn, false_fn):
    """``true_fn()`` if ``pred`` else ``false_fn()`` (keras.ops.cond): Python's ``if``, on a value of any kind."""
    return true_fn() if bool(np.asarray(getattr(pred, "data", pred))) else false_fn()


def fori_loop(lower, upper, body_fun, init_val):
    """``val = body_fun(i, val)`` for i in [lower, upper) (keras.ops.fori_loop): a Python loop."""
    val = init_val
    for i in range(int(lower), int(upper)):
        val = body_fun(i, val)
    return val


def while_loop(cond, body, loop_vars, maximum_iterations=None):    # noqa: A002 — keras.ops's names
    """``loop_vars = body(*loop_vars)`` while ``cond(*loop_vars)`` (keras.ops.while_loop): a Python loop.

    ``loop_vars`` is a tuple or list (unpacked into ``cond`` and ``body``) or a single value.
    """
    several = isinstance(loop_vars, (list, tuple))
    state, done = (tuple(loop_vars) if several else loop_vars), 0
    while bool(np.asarray(getattr(c := (cond(*state) if several else cond(state)), "data", c))):
        if maximum_iterations is not None and done >= maximum_iterations:
            break
        state = body(*state) if several else body(state)
        state = tuple(state) if several and isinstance(state, (list, tuple)) else state
        done += 1
    return list(state) if several and isinstance(loop_vars, list) else state
