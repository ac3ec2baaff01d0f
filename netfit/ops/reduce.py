"""Reductions: sums, means, extremes, products, spreads over axes, and cumulative sums and products.

Names and arguments are Keras 3's ``keras.ops`` (``axis=None`` reduces every axis,
``keepdims=False`` drops the reduced axes; an axis may be negative, or a tuple of
axes where Keras takes one). The VJPs spread δ = ∂R/∂out back over what was
reduced: :func:`_expand` puts the reduced axes back as size 1, and broadcasting
does the rest.

Ties: ``max``/``min`` (and ``amax``/``amin``) share δ equally among the entries
equal to the extreme (JAX's rule, and PyTorch's ``amax``/``amin``). ``argmax``,
``argmin`` and ``count_nonzero`` give int32 indices and counts (Keras's dtype),
``any``/``all`` booleans: constants to the tape.

Module-level names shadow Python's ``sum``, ``max``, ``min``, ``any`` and ``all``:
code here uses ``np.*``.

Examples
--------
>>> from netfit.ops import Tape, Value
>>> with Tape() as tape:
...     x = Value(np.array([1.0, 3.0, 3.0]), tape)
...     out = max(x)
>>> tape.backward(out)[id(x)]                    # the two maxima share δ
array([0. , 0.5, 0.5])
>>> logsumexp(np.array([1000.0, 1000.0]))        # no overflow: the max is taken out first
np.float64(1000.6931471805599)
"""
import numpy as np

from .op import op


def _axis(axis):
    return tuple(axis) if isinstance(axis, list) else axis


def _axes(axis, ndim):
    """The reduced axes as a tuple of non-negative ints (every axis for None)."""
    if axis is None:
        return tuple(range(ndim))
    if np.ndim(axis) == 0:
        axis = (axis,)
    return tuple(int(a) % ndim for a in axis) if ndim else ()


def _expand(g, shape, axis, keepdims):
    """δ of a reduction's output reshaped to broadcast against the input (the reduced axes as size 1)."""
    if keepdims or axis is None and g.ndim == 0:
        return g
    return np.expand_dims(g, _axes(axis, len(shape)))


def _count(x, out):
    """How many entries of x each output entry reduces over (N of a mean)."""
    return int(np.size(x)) // (int(np.size(out)) or 1)


# --- sums and means --------------------------------------------------------------------------------

@op("sum")
def sum(x, axis=None, keepdims=False):               # noqa: A001 — keras.ops's name
    """Σ over ``axis`` (all axes when None); keepdims keeps them as size 1."""
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
    return (np.broadcast_to(_expand(g, np.shape(x), _axis(axis), keepdims) / _count(x, out), np.shape(x)),)


@op("var")
def var(x, axis=None, keepdims=False):
    """The variance (1/N) Σ (x − μ)² over ``axis`` (ddof 0, as keras.ops)."""
    return np.var(x, axis=_axis(axis), keepdims=keepdims)


@var.defvjp
def var_vjp(g, out, x, axis=None, keepdims=False):
    axis = _axis(axis)
    centred = x - np.mean(x, axis=axis, keepdims=True)
    return (_expand(g, np.shape(x), axis, keepdims) * centred * (2 / _count(x, out)),)     # 2(xᵢ − μ)/N


@op("std")
def std(x, axis=None, keepdims=False):
    """The standard deviation √var over ``axis`` (ddof 0, as keras.ops).

    δ·(x − μ)/(N·std); where the spread is 0 (all entries equal) δ is 0, where
    PyTorch and JAX give nan (0/0): x − μ is 0 there, and a constant feature
    should not turn the weights into nan.
    """
    return np.std(x, axis=_axis(axis), keepdims=keepdims)


@std.defvjp
def std_vjp(g, out, x, axis=None, keepdims=False):
    axis = _axis(axis)
    centred = x - np.mean(x, axis=axis, keepdims=True)
    s = _expand(out, np.shape(x), axis, keepdims)
    scale = _expand(g, np.shape(x), axis, keepdims) / (_count(x, out) * np.where(s == 0, 1, s))
    return (np.where(s == 0, 0, scale * centred),)          # ∂√v/∂xᵢ = (xᵢ − μ)/(N √v)


@op("logsumexp")
def logsumexp(x, axis=None, keepdims=False):
    """ln Σ eˣ over ``axis``, as m + ln Σ e^(x − m) with m the max: no overflow, no underflow.

    δ·softmax(x) over the reduced axes: e^(x − out).
    """
    axis = _axis(axis)
    m = np.max(x, axis=axis, keepdims=True)
    m = np.where(np.isfinite(m), m, 0)                      # all −inf (or an inf): nothing to take out
    with np.errstate(divide="ignore"):                      # all −inf: ln 0 = −inf, the right answer
        out = np.log(np.sum(np.exp(x - m), axis=axis, keepdims=True)) + m
    return out if keepdims else np.squeeze(out, axis=_axes(axis, np.ndim(x)))[()]


@logsumexp.defvjp
def logsumexp_vjp(g, out, x, axis=None, keepdims=False):
    axis = _axis(axis)
    return (_expand(g, np.shape(x), axis, keepdims) * np.exp(x - _expand(out, np.shape(x), axis, keepdims)),)


# --- products ---------------------------------------------------------------------------------------

@op("prod")
def prod(x, axis=None, keepdims=False, dtype=None):
    """Π over ``axis`` (all axes when None), in ``dtype`` (x's by default).

    δ at xᵢ is δ·Π_{j≠i} xⱼ, computed from products to the left and to the right
    of i (no division): exact where some xⱼ are 0.
    """
    return np.prod(x, axis=_axis(axis), keepdims=keepdims, dtype=dtype)


@prod.defvjp
def prod_vjp(g, out, x, axis=None, keepdims=False, dtype=None):
    x = np.asarray(x)
    axes = _axes(_axis(axis), x.ndim)
    kept = [a for a in range(x.ndim) if a not in axes]
    lined = np.transpose(x, kept + list(axes))              # the reduced axes last, flattened into one
    flat = lined.reshape(lined.shape[:len(kept)] + (-1,))
    if flat.shape[-1] == 0:
        return (np.zeros(x.shape, x.dtype),)
    ones = np.ones(flat.shape[:-1] + (1,), flat.dtype)
    left = np.cumprod(np.concatenate([ones, flat[..., :-1]], axis=-1), axis=-1)          # Π_{j<i} xⱼ
    right = np.flip(np.cumprod(np.concatenate([ones, np.flip(flat, -1)[..., :-1]], axis=-1), axis=-1), -1)
    gx = np.reshape(g, flat.shape[:-1] + (1,)) * left * right                            # δ Π_{j≠i} xⱼ
    return (np.transpose(gx.reshape(lined.shape), np.argsort(kept + list(axes))).astype(x.dtype, copy=False),)


@op("cumsum")
def cumsum(x, axis=None, dtype=None):
    """Running sums along ``axis``; with axis None, of the flattened x (a 1-D output), as keras.ops."""
    return np.cumsum(x, axis=axis, dtype=dtype)


@cumsum.defvjp
def cumsum_vjp(g, out, x, axis=None, dtype=None):
    a = 0 if axis is None else axis                         # outᵢ = Σ_{j≤i} xⱼ: δ at xⱼ is Σ_{i≥j} δᵢ
    gx = np.flip(np.cumsum(np.flip(g, a), axis=a), a)
    return (gx.reshape(np.shape(x)).astype(np.asarray(x).dtype, copy=False),)


@op("cumprod")
def cumprod(x, axis=None, dtype=None):
    """Running products along ``axis``; with axis None, of the flattened x (a 1-D output), as keras.ops.

    δ at xₖ is Σ_{i≥k} δᵢ Π_{j≤i, j≠k} xⱼ. Without zeros in x this is
    (Σ_{i≥k} δᵢ outᵢ)/xₖ; with a zero, the VJP runs the exact recurrence
    Sₖ = δₖ + x_{k+1} S_{k+1}, δ at xₖ = (Π_{j<k} xⱼ) Sₖ, one step per entry along the
    axis (a Python loop: slow only for very long axes).
    """
    return np.cumprod(x, axis=axis, dtype=dtype)


@cumprod.defvjp
def cumprod_vjp(g, out, x, axis=None, dtype=None):
    x = np.asarray(x)
    line = x.reshape(-1) if axis is None else x
    a = 0 if axis is None else axis
    xs, gs, outs = (np.moveaxis(np.asarray(v), a, -1) for v in (line, g, out))
    if np.all(xs != 0):
        gx = np.flip(np.cumsum(np.flip(gs * outs, -1), axis=-1), -1) / xs
    else:
        s = np.array(gs, dtype=np.result_type(gs, xs))
        for k in range(xs.shape[-1] - 2, -1, -1):
            s[..., k] += xs[..., k + 1] * s[..., k + 1]      # Sₖ = δₖ + x_{k+1} S_{k+1}
        before = np.cumprod(np.concatenate([np.ones_like(xs[..., :1]), xs[..., :-1]], axis=-1), axis=-1)
        gx = before * s
    return (np.moveaxis(gx, -1, a).reshape(x.shape).astype(x.dtype, copy=False),)


# --- extremes ----------------------------------------------------------------------------------------

@op("max")
def max(x, axis=None, keepdims=False, initial=None):    # noqa: A001 — keras.ops's name
    """The largest entry over ``axis``, at least ``initial`` if given (NumPy's ``max``).

    δ goes to the entries equal to the max, shared equally among ties; where
    ``initial`` is larger than every entry, to none of them.

    Raises
    ------
    ValueError
        An empty reduction without ``initial`` (NumPy's error).
    """
    return np.max(x, axis=_axis(axis), keepdims=keepdims, initial=initial)


@max.defvjp
def max_vjp(g, out, x, axis=None, keepdims=False, initial=None):
    return (_to_extremes(g, out, x, _axis(axis), keepdims),)


@op("min")
def min(x, axis=None, keepdims=False, initial=None):    # noqa: A001 — keras.ops's name
    """The smallest entry over ``axis``, at most ``initial`` if given; δ shared equally among ties."""
    return np.min(x, axis=_axis(axis), keepdims=keepdims, initial=initial)


@min.defvjp
def min_vjp(g, out, x, axis=None, keepdims=False, initial=None):
    return (_to_extremes(g, out, x, _axis(axis), keepdims),)


@op("amax")
def amax(x, axis=None, keepdims=False):
    """The largest entry over ``axis``: Keras's ``amax``, :func:`max` without ``initial``."""
    return np.max(x, axis=_axis(axis), keepdims=keepdims)


@amax.defvjp
def amax_vjp(g, out, x, axis=None, keepdims=False):
    return (_to_extremes(g, out, x, _axis(axis), keepdims),)


@op("amin")
def amin(x, axis=None, keepdims=False):
    """The smallest entry over ``axis``: Keras's ``amin``, :func:`min` without ``initial``."""
    return np.min(x, axis=_axis(axis), keepdims=keepdims)


@amin.defvjp
def amin_vjp(g, out, x, axis=None, keepdims=False):
    return (_to_extremes(g, out, x, _axis(axis), keepdims),)


def _to_extremes(g, out, x, axis, keepdims):
    """δ to the entries of x equal to their reduction's output (nan to nan), split equally among ties."""
    shape = np.shape(x)
    o = _expand(out, shape, axis, keepdims)
    hit = (x == o) | (np.isnan(x) & np.isnan(o))
    ties = np.sum(hit, axis=_axes(axis, len(shape)), keepdims=True)
    return np.where(hit, _expand(g, shape, axis, keepdims) / np.maximum(ties, 1), 0).astype(g.dtype, copy=False)


@op("argmax")
def argmax(x, axis=None, keepdims=False):
    """The index of the largest entry (the first of ties) along ``axis``, of the flattened x when None; int32."""
    return np.asarray(np.argmax(x, axis=axis, keepdims=keepdims)).astype(np.int32)


@op("argmin")
def argmin(x, axis=None, keepdims=False):
    """The index of the smallest entry (the first of ties) along ``axis``, of the flattened x when None; int32."""
    return np.asarray(np.argmin(x, axis=axis, keepdims=keepdims)).astype(np.int32)


# --- logic and counts ---------------------------------------------------------------------------------

@op("any")
def any(x, axis=None, keepdims=False):                  # noqa: A001 — keras.ops's name
    """Whether some entry is nonzero over ``axis``: booleans."""
    return np.any(x, axis=_axis(axis), keepdims=keepdims)


@op("all")
def all(x, axis=None, keepdims=False):                  # noqa: A001 — keras.ops's name
    """Whether every entry is nonzero over ``axis``: booleans."""
    return np.all(x, axis=_axis(axis), keepdims=keepdims)


@op("count_nonzero")
def count_nonzero(x, axis=None):
    """How many entries are nonzero over ``axis`` (all axes when None): int32, as Keras."""
    return np.asarray(np.count_nonzero(x, axis=_axis(axis))).astype(np.int32)
