"""Reductions: sums, means, extremes over axes. Their VJPs spread δ back over what was reduced."""
import numpy as np

from .op import op


def _expand(g, shape, axis, keepdims):
    """δ of a reduction's output reshaped to broadcast against the input (the reduced axes as size 1)."""
    if keepdims or axis is None and g.ndim == 0:
        return g
    axes = range(len(shape)) if axis is None else (axis,) if np.ndim(axis) == 0 else axis
    return np.expand_dims(g, tuple(a % len(shape) for a in axes))


@op("sum")
def sum(x, axis=None, keepdims=False):               # noqa: A001 — keras.ops's name
    """Σ over ``axis`` (all axes when None)."""
    return np.sum(x, axis=_axis(axis), keepdims=keepdims)


@sum.defvjp
def sum_vjp(g, out, x, axis=None, keepdims=False):
    return (np.broadcast_to(_expand(g, np.shape(x), _axis(axis), keepdims), np.shape(x)),)


@op("mean")
def mean(x, axis=None, keepdims=False):
    """The mean over ``axis`` (all axes when None)."""
    return np.mean(x, axis=_axis(axis), keepdims=keepdims)


@mean.defvjp
def mean_vjp(g, out, x, axis=None, keepdims=False):
    count = np.size(x) // max(np.size(out), 1)
    return (np.broadcast_to(_expand(g, np.shape(x), _axis(axis), keepdims) / count, np.shape(x)),)


def _axis(axis):
    return tuple(axis) if isinstance(axis, list) else axis
