"""Neural-network ops: activations, softmax, cross-entropies, statistics, convolution and pooling.

Names, arguments and defaults are Keras 3's ``keras.ops`` (``keras/src/ops/nn.py``).
The element-wise activations call :mod:`netfit.activations`, whose forms are the
numerically stable ones netfit's layers use (sigmoid through e^(−|z|), softplus as
``logaddexp``, the exact GELU to rounding in float64); their VJPs are δ ⊙ σ'.

Convolution and pooling read windows with :func:`numpy.lib.stride_tricks.sliding_window_view`
(a view, no copy); convolution is then one product, patches (n·P, k·c) @ kernel (k·c, f)
(im2col), and its VJP adds each window offset's slice of δ back into the input (col2im).
They take any number of spatial axes (1-D, 2-D, 3-D), ``channels_last`` by default.
"""
import itertools
import math

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from .. import activations as _act
from ..config import dtype as _default_dtype
from .op import op
from .table import TABLE

_EPS = 1e-7          # Keras's backend.epsilon(): the clip of probabilities that enter a log, normalize's floor
_SIGMOID = _act.Sigmoid()
_SELU = _act.Selu()
_SOFTSIGN = _act.Softsign()
_HARD_SIGMOID = _act.HardSigmoid()
_RELU6 = _act.Relu(max_value=6.0)
_GELU = {True: _act.Gelu(approximate=True), False: _act.Gelu(approximate=False)}


def _float(x):
    """x as an array of a float type (the default float type for integers and booleans)."""
    x = np.asarray(x)
    return x if x.dtype.kind in "fc" else x.astype(_default_dtype())


# ----------------------------------------------------------------------------------------------------------
# Element-wise activations
# ----------------------------------------------------------------------------------------------------------

@op("relu")
def relu(x):
    """max(x, 0)."""
    return np.maximum(x, 0)


@relu.defvjp
def relu_vjp(g, out, x):
    return (g * (x > 0),)                         # σ'(x) = 1 where x > 0, else 0


@op("relu6")
def relu6(x):
    """min(max(x, 0), 6)."""
    return _RELU6.forward(_float(x))


@relu6.defvjp
def relu6_vjp(g, out, x):
    return (g * ((x > 0) & (x < 6)),)             # 1 on the slope, 0 on both flats


@op("sigmoid")
def sigmoid(x):
    """1 / (1 + e^(−x)), computed through e^(−|x|) so that neither side overflows.

    Examples
    --------
    >>> sigmoid(np.array([0.0]))
    array([0.5])
    """
    return _SIGMOID.forward(_float(x))


@sigmoid.defvjp
def sigmoid_vjp(g, out, x):
    return (g * out * (1 - out),)                 # σ' = σ(1 − σ), from the output


@op("softplus")
def softplus(x):
    """log(1 + eˣ), as ``logaddexp(0, x)``."""
    return np.logaddexp(0, _float(x))


@softplus.defvjp
def softplus_vjp(g, out, x):
    return (g * _SIGMOID.forward(_float(x)),)     # softplus' = sigmoid


@op("softsign")
def softsign(x):
    """x / (1 + |x|)."""
    return _SOFTSIGN.forward(_float(x))


@softsign.defvjp
def softsign_vjp(g, out, x):
    return (g / (1 + np.abs(x)) ** 2,)


@op("silu")
def silu(x):
    """x · sigmoid(x) (SiLU; ``swish`` is the same op)."""
    x = _float(x)
    return x * _SIGMOID.forward(x)


@silu.defvjp
def silu_vjp(g, out, x):
    s = _SIGMOID.forward(_float(x))
    return (g * s * (1 + x * (1 - s)),)           # (x s)' = s + x s (1 − s)


TABLE["swish"] = silu                             # keras.ops.swish is keras.ops.silu


@op("gelu")
def gelu(x, approximate=True):
    """x Φ(x), Φ the standard normal distribution function.

    ``approximate=True`` (keras.ops's default; ``keras.activations.gelu`` defaults to
    False) is the tanh form ½ x (1 + tanh(√(2/π) (x + 0.044715 x³))), PyTorch's
    ``approximate="tanh"``; False is the exact x Φ(x) (:class:`netfit.activations.Gelu`).
    """
    return _GELU[bool(approximate)].forward(_float(x))


@gelu.defvjp
def gelu_vjp(g, out, x, approximate=True):
    x = _float(x)
    return _GELU[bool(approximate)].backward(np.asarray(g, x.dtype), x, out), None


@op("elu")
def elu(x, alpha=1.0):
    """x for x > 0, α (eˣ − 1) otherwise."""
    return _act.Elu(alpha).forward(_float(x))


@elu.defvjp
def elu_vjp(g, out, x, alpha=1.0):
    return g * np.where(x > 0, 1.0, out + alpha), None      # α eˣ = out + α on the negative side


@op("selu")
def selu(x):
    """λ x for x > 0, λ α (eˣ − 1) otherwise (λ ≈ 1.0507, α ≈ 1.6733, Keras's constants)."""
    return _SELU.forward(_float(x))


@selu.defvjp
def selu_vjp(g, out, x):
    return (g * np.where(x > 0, _SELU.scale, out + _SELU.scale * _SELU.alpha),)


@op("leaky_relu")
def leaky_relu(x, negative_slope=0.2):
    """x for x ≥ 0, negative_slope · x otherwise."""
    x = _float(x)
    return np.where(x >= 0, x, negative_slope * x).astype(x.dtype, copy=False)


@leaky_relu.defvjp
def leaky_relu_vjp(g, out, x, negative_slope=0.2):
    return g * np.where(x > 0, 1.0, negative_slope), None    # slope c at 0, as netfit.activations.LeakyRelu


@op("hard_sigmoid")
def hard_sigmoid(x):
    """clip(x/6 + ½, 0, 1): Keras 3's (and PyTorch's) slope 1/6, kinks at ±3."""
    return _HARD_SIGMOID.forward(_float(x).copy())


@hard_sigmoid.defvjp
def hard_sigmoid_vjp(g, out, x):
    return (g * ((x > -3) & (x < 3)) / 6.0,)


@op("hard_silu")
def hard_silu(x):
    """x · hard_sigmoid(x): 0 below −3, x above 3, x (x + 3)/6 between (``hard_swish`` is the same op)."""
    x = _float(x)
    return x * _HARD_SIGMOID.forward(x.copy())


@hard_silu.defvjp
def hard_silu_vjp(g, out, x):
    return (g * np.where(x >= 3, 1.0, np.where(x > -3, (2 * x + 3) / 6.0, 0.0)),)


TABLE["hard_swish"] = hard_silu


@op("log_sigmoid")
def log_sigmoid(x):
    """log sigmoid(x) = −softplus(−x), finite for every x."""
    return -np.logaddexp(0, -_float(x))


@log_sigmoid.defvjp
def log_sigmoid_vjp(g, out, x):
    return (g * _SIGMOID.forward(-_float(x)),)    # (log σ(x))' = 1 − σ(x) = σ(−x)


# ----------------------------------------------------------------------------------------------------------
# Softmax and cross-entropies
# ----------------------------------------------------------------------------------------------------------

def _axis(axis):
    return tuple(axis) if isinstance(axis, list) else axis


@op("softmax")
def softmax(x, axis=-1):
    """e^(x_k) / Σ_l e^(x_l) along ``axis`` (an int or a tuple of axes), the maximum subtracted first.

    Examples
    --------
    >>> softmax(np.array([0.0, 0.0])).tolist()
    [0.5, 0.5]
    """
    x, axis = _float(x), _axis(axis)
    e = np.exp(x - np.max(x, axis=axis, keepdims=True))
    return e / np.sum(e, axis=axis, keepdims=True)


@softmax.defvjp
def softmax_vjp(g, out, x, axis=-1):
    return out * (g - np.sum(g * out, axis=_axis(axis), keepdims=True)), None     # J δ = p ⊙ (δ − Σ δ p)


@op("log_softmax")
def log_softmax(x, axis=-1):
    """x − max − log Σ e^(x − max) along ``axis``: finite where softmax underflows to 0."""
    x, axis = _float(x), _axis(axis)
    shifted = x - np.max(x, axis=axis, keepdims=True)
    return shifted - np.log(np.sum(np.exp(shifted), axis=axis, keepdims=True))


@log_softmax.defvjp
def log_softmax_vjp(g, out, x, axis=-1):
    return g - np.exp(out) * np.sum(g, axis=_axis(axis), keepdims=True), None      # δ − softmax · Σ δ


def _log_probabilities(output, axis, from_logits):
    """(log p, and the map from δ at log p to δ at ``output``) for the cross-entropies.

    from_logits: log p = log_softmax(output). Otherwise Keras's: p = output / Σ output
    along ``axis``, clipped to [1e-7, 1 − 1e-7] (δ stops where the clip binds).
    """
    output = _float(output)
    if from_logits:
        logp = log_softmax.forward(output, axis)

        def back(d):                                     # d: δ at log p
            return d - np.exp(logp) * np.sum(d, axis=axis, keepdims=True)
        return logp, back
    total = np.sum(output, axis=axis, keepdims=True)
    p = output / total
    c = np.clip(p, _EPS, 1 - _EPS)

    def back(d):
        dp = d / c * ((p >= _EPS) & (p <= 1 - _EPS))     # through log and the clip
        return (dp - np.sum(dp * p, axis=axis, keepdims=True)) / total    # through p = o / Σ o
    return np.log(c), back


def _same_shape(target, output, where):
    if np.shape(target) != np.shape(output):
        raise ValueError(f"ops.{where}: expected target and output of the same shape, got target.shape="
                         f"{np.shape(target)} and output.shape={np.shape(output)}.")


@op("categorical_crossentropy")
def categorical_crossentropy(target, output, from_logits=False, axis=-1):
    """−Σ target · log p along ``axis``, one value per row; p = softmax(output) or output / Σ output.

    Probabilities (``from_logits=False``) are clipped to [1e-7, 1 − 1e-7] before the log,
    as Keras does; logits go through a stable log_softmax. Differentiable in both
    arguments (∂/∂target = −log p: soft labels, distillation).

    Examples
    --------
    >>> round(float(categorical_crossentropy(np.array([0.0, 1.0]), np.array([0.5, 0.5]))), 6)
    0.693147
    """
    _same_shape(target, output, "categorical_crossentropy")
    if np.ndim(output) < 1:
        raise ValueError("ops.categorical_crossentropy: expected target and output of rank 1 or more, got scalars.")
    logp, _ = _log_probabilities(output, axis, from_logits)
    return -np.sum(target * logp, axis=axis)


@categorical_crossentropy.defvjp
def categorical_crossentropy_vjp(g, out, target, output, from_logits=False, axis=-1, need=(True, True)):
    logp, back = _log_probabilities(output, axis, from_logits)
    g = np.expand_dims(g, axis)
    gt = -g * logp if need[0] else None
    go = back(-g * target) if need[1] else None
    return gt, go


def _one_hot(target, output, axis, where):
    """Integer labels ``target`` as one-hot rows along ``axis`` of ``output``'s shape (labels checked)."""
    target, shape = np.asarray(target), np.shape(output)
    if len(shape) < 1:
        raise ValueError(f"ops.{where}: expected output of rank 1 or more, got a scalar.")
    if target.ndim == len(shape) and target.shape[-1] == 1:
        target = target[..., 0]                          # labels as a column, (n, 1): Keras squeezes it
    if target.dtype.kind not in "iub" and not (target.dtype.kind == "f" and np.all(target == np.round(target))):
        raise ValueError(f"ops.{where}: expected integer class labels as target, got {target.dtype} values.")
    axis = axis % len(shape)
    if target.shape != shape[:axis] + shape[axis + 1:]:
        raise ValueError(f"ops.{where}: expected target of shape {shape[:axis] + shape[axis + 1:]} (output's "
                         f"shape without axis {axis}), got {target.shape}.")
    n = shape[axis]
    if target.size and (target.min() < 0 or target.max() >= n):
        raise ValueError(f"ops.{where}: expected labels in [0, {n}), got labels from {target.min():g} to "
                         f"{target.max():g}.")
    classes = np.arange(n).reshape((n,) + (1,) * (len(shape) - axis - 1))
    return np.expand_dims(target.astype(np.int64), axis) == classes


@op("sparse_categorical_crossentropy")
def sparse_categorical_crossentropy(target, output, from_logits=False, axis=-1):
    """−log p[target] per row: categorical_crossentropy with integer labels (shape of output without ``axis``).

    Labels outside [0, classes) raise (Keras gives such a row a loss of 0). No gradient
    at the labels (integers).
    """
    onehot = _one_hot(target, output, axis, "sparse_categorical_crossentropy")
    logp, _ = _log_probabilities(output, axis, from_logits)
    return -np.sum(np.where(onehot, logp, 0), axis=axis)


@sparse_categorical_crossentropy.defvjp
def sparse_categorical_crossentropy_vjp(g, out, target, output, from_logits=False, axis=-1):
    onehot = _one_hot(target, output, axis, "sparse_categorical_crossentropy")
    _, back = _log_probabilities(output, axis, from_logits)
    return None, back(-np.expand_dims(g, axis) * onehot)


@op("binary_crossentropy")
def binary_crossentropy(target, output, from_logits=False):
    """−(t log p + (1 − t) log(1 − p)), element by element (no reduction, as keras.ops).

    Probabilities are clipped to [1e-7, 1 − 1e-7] as Keras does. Logits use the stable
    softplus(z) − t z (Keras's TensorFlow and JAX backends, PyTorch), not clipped:
    Keras's NumPy backend takes sigmoid then the clip, which differs for |z| > 16.
    Differentiable in both arguments (∂/∂t = −z, or −log(p/(1 − p))).
    """
    _same_shape(target, output, "binary_crossentropy")
    output = _float(output)
    if from_logits:
        return np.logaddexp(0, output) - target * output
    c = np.clip(output, _EPS, 1 - _EPS)
    return -(target * np.log(c) + (1 - target) * np.log1p(-c))


@binary_crossentropy.defvjp
def binary_crossentropy_vjp(g, out, target, output, from_logits=False):
    output = _float(output)
    if from_logits:
        return -g * output, g * (_SIGMOID.forward(output) - target)
    c = np.clip(output, _EPS, 1 - _EPS)
    inside = (output >= _EPS) & (output <= 1 - _EPS)
    return -g * (np.log(c) - np.log1p(-c)), g * inside * ((1 - target) / (1 - c) - target / c)


# ----------------------------------------------------------------------------------------------------------
# Statistics and normalization
# ----------------------------------------------------------------------------------------------------------

def _axes(axes, ndim):
    axes = (axes,) if np.ndim(axes) == 0 else tuple(axes)
    return tuple(sorted(int(a) % ndim for a in axes))


@op("moments")
def moments(x, axes, keepdims=False, synchronized=False):
    """[mean, variance] over ``axes`` (a list of two tensors: an op with two outputs).

    The variance is the two-pass mean((x − mean)²), never negative (Keras's NumPy
    backend uses E[x²] − E[x]², which cancels for large means). ``synchronized`` is
    accepted for Keras's signature and means nothing on one host.

    Examples
    --------
    >>> moments(np.array([1.0, 2.0, 3.0]), axes=[0])
    [array(2.), array(0.66666667)]
    """
    x = _float(x)
    axes = _axes(axes, x.ndim)
    mean = np.mean(x, axis=axes, keepdims=True)
    var = np.mean(np.square(x - mean), axis=axes, keepdims=True)
    if not keepdims:
        mean, var = np.squeeze(mean, axes), np.squeeze(var, axes)
    return [mean, var]


@moments.defvjp
def moments_vjp(g, out, x, axes, keepdims=False, synchronized=False):
    x = _float(x)
    axes = _axes(axes, x.ndim)
    g_mean, g_var = g
    if not keepdims:
        g_mean, g_var = np.expand_dims(g_mean, axes), np.expand_dims(g_var, axes)
    count = math.prod(x.shape[a] for a in axes)
    centered = x - np.mean(x, axis=axes, keepdims=True)
    return (g_mean + 2 * g_var * centered) / count, None     # ∂var/∂x = 2 (x − mean)/N (Σ (x − mean) = 0)


def _along(a, ndim, axis):
    """A per-channel vector ``a`` (or None) shaped to broadcast along ``axis`` of an ndim-array."""
    if a is None:
        return None
    a = np.asarray(a)
    shape = [1] * ndim
    shape[axis % ndim] = a.shape[0] if a.ndim else 1
    return a.reshape(shape)


@op("batch_normalization")
def batch_normalization(x, mean, variance, axis, offset=None, scale=None, epsilon=1e-3):
    """(x − mean) / √(variance + ε) · scale + offset, the statistics per channel along ``axis``.

    ``mean``, ``variance``, ``offset``, ``scale``: vectors of x.shape[axis] entries.
    Differentiable in all five tensors.
    """
    nd = np.ndim(x)
    inv = 1.0 / np.sqrt(_along(variance, nd, axis) + epsilon)
    if scale is not None:
        inv = inv * _along(scale, nd, axis)
    out = (x - _along(mean, nd, axis)) * inv
    return out if offset is None else out + _along(offset, nd, axis)


@batch_normalization.defvjp
def batch_normalization_vjp(g, out, x, mean, variance, axis, offset=None, scale=None, epsilon=1e-3):
    nd = np.ndim(x)
    m, v = _along(mean, nd, axis), _along(variance, nd, axis)
    k = axis % nd
    others = tuple(i for i in range(nd) if i != k)

    def per_channel(a, like):                            # Σ over every axis but ``axis``, to like's shape
        return np.reshape(np.sum(a, axis=others), np.shape(like))

    r = 1.0 / np.sqrt(v + epsilon)
    s = 1.0 if scale is None else _along(scale, nd, axis)
    gx = g * r * s
    g_mean = per_channel(-gx, mean)
    g_var = per_channel(g * (x - m) * s * (-0.5) * r ** 3, variance)
    g_offset = None if offset is None else per_channel(g, offset)
    g_scale = None if scale is None else per_channel(g * (x - m) * r, scale)
    return gx, g_mean, g_var, None, g_offset, g_scale


@op("normalize")
def normalize(x, axis=-1, order=2, epsilon=None):
    """x / max(‖x‖_order, ε) along ``axis`` (ε = 1e-7 by default); order 2: x / √max(Σ x², ε²), as Keras."""
    if isinstance(order, bool) or not isinstance(order, (int, np.integer)) or order < 1:
        raise ValueError(f"ops.normalize: expected order an integer ≥ 1, got {order!r}.")
    x = _float(x)
    if x.ndim == 0:
        x = x[None]
    eps = _EPS if epsilon is None else epsilon
    return x / _norm_floor(x, axis, order, eps)[0]


def _norm_floor(x, axis, order, eps):
    """(max(‖x‖, ε), whether ‖x‖ is above ε) along axis, keepdims."""
    if order == 2:
        norm = np.sqrt(np.sum(x * x, axis=axis, keepdims=True))
    else:
        norm = np.sum(np.abs(x) ** order, axis=axis, keepdims=True) ** (1.0 / order)
    return np.maximum(norm, eps), norm > eps


@normalize.defvjp
def normalize_vjp(g, out, x, axis=-1, order=2, epsilon=None):
    x = _float(x)
    scalar = x.ndim == 0
    if scalar:
        x = x[None]
    d, above = _norm_floor(x, axis, order, _EPS if epsilon is None else epsilon)
    # y = x / d: δx = δ/d − x Σ(δ x)/d² · ∂‖x‖/∂x, with ∂‖x‖/∂x = sign(x)|x|^(p−1) / ‖x‖^(p−1) (0 under the floor)
    dnorm = np.sign(x) * np.abs(x) ** (order - 1) / d ** (order - 1) * above
    gx = g / d - np.sum(g * x, axis=axis, keepdims=True) / d ** 2 * dnorm
    return (gx[0] if scalar else gx), None, None, None


# ----------------------------------------------------------------------------------------------------------
# Convolution and pooling
# ----------------------------------------------------------------------------------------------------------

def _tuple(value, rank, where, name):
    """An int or a sequence of ``rank`` positive ints, as a tuple."""
    items = (value,) * rank if np.ndim(value) == 0 else tuple(value)
    if len(items) != rank or any(isinstance(v, (bool, np.bool_)) or int(v) != v or v < 1 for v in items):
        raise ValueError(f"ops.{where}: expected {name} a positive integer or {rank} of them, got {value!r}.")
    return tuple(int(v) for v in items)


class _Geometry:
    """The windows of a convolution or pooling over the spatial axes of a channels-last array.

    ``span``: each window's extent, (k − 1)·dilation + 1; ``out``: the windows per axis;
    ``pads``: (before, after) per spatial axis. "same": out = ⌈in/stride⌉ and
    max((out − 1)·stride + span − in, 0) padded, the odd one after (bottom/right), as Keras.
    """

    def __init__(self, where, spatial, size, strides, padding, dilation):
        rank = len(spatial)
        self.size = _tuple(size, rank, where, "the window size")
        self.strides = _tuple(strides, rank, where, "strides")
        self.dilation = _tuple(dilation, rank, where, "dilation_rate")
        if any(s > 1 for s in self.strides) and any(d > 1 for d in self.dilation):
            raise ValueError(f"ops.{where}: strides > 1 together with dilation_rate > 1 is not supported (as Keras).")
        padding = str(padding).lower()
        if padding not in ("valid", "same"):
            raise ValueError(f"ops.{where}: expected padding 'valid' or 'same', got {padding!r}.")
        self.spatial = tuple(spatial)
        self.span = tuple((k - 1) * d + 1 for k, d in zip(self.size, self.dilation))
        if padding == "same":
            self.out = tuple(-(-n // s) for n, s in zip(spatial, self.strides))
            total = [max((o - 1) * s + k - n, 0) for o, s, k, n in zip(self.out, self.strides, self.span, spatial)]
            self.pads = tuple((t // 2, t - t // 2) for t in total)
        else:
            if any(k > n for k, n in zip(self.span, spatial)):
                raise ValueError(f"ops.{where}: a window of {self.span} does not fit the input's spatial shape "
                                 f"{tuple(spatial)} with padding='valid'.")
            self.out = tuple((n - k) // s + 1 for n, k, s in zip(spatial, self.span, self.strides))
            self.pads = ((0, 0),) * rank

    def pad(self, x, fill=0):
        if not any(a or b for a, b in self.pads):
            return x
        return np.pad(x, ((0, 0),) + self.pads + ((0, 0),), constant_values=fill)

    def windows(self, xp):
        """(n, *out, c, *size): the windows of the padded xp, a strided view."""
        rank = len(self.spatial)
        axes = tuple(range(1, rank + 1))
        w = sliding_window_view(xp, self.span, axis=axes)
        starts = tuple(slice(None, (o - 1) * s + 1, s) for o, s in zip(self.out, self.strides))
        taps = tuple(slice(None, None, d) for d in self.dilation)
        return w[(slice(None),) + starts + (slice(None),) + taps]

    def offsets(self):
        """Per window offset (u, v, ...): its flat index and the slice of the padded input it reads."""
        for j, offset in enumerate(itertools.product(*(range(k) for k in self.size))):
            yield j, (slice(None),) + tuple(slice(u * d, u * d + (o - 1) * s + 1, s) for u, d, o, s in
                                            zip(offset, self.dilation, self.out, self.strides))

    def crop(self, dxp):
        return dxp[(slice(None),) + tuple(slice(a, a + n) for (a, _), n in zip(self.pads, self.spatial))]

    def padded_shape(self, x):
        return (x.shape[0],) + tuple(n + a + b for n, (a, b) in zip(self.spatial, self.pads)) + (x.shape[-1],)


def _channels_last(x, data_format, where):
    """(x channels-last, the permutation back or None)."""
    fmt = "channels_last" if data_format is None else str(data_format).lower()
    if fmt not in ("channels_last", "channels_first"):
        raise ValueError(f"ops.{where}: expected data_format 'channels_last' or 'channels_first', got {data_format!r}.")
    if np.ndim(x) < 3:
        raise ValueError(f"ops.{where}: expected inputs of rank 3 or more (batch, spatial axes, channels), got "
                         f"shape {np.shape(x)}.")
    if fmt == "channels_last":
        return x, None
    nd = np.ndim(x)
    return np.moveaxis(x, 1, -1), (0, nd - 1) + tuple(range(1, nd - 1))


def _back_to(y, perm):
    return y if perm is None else np.transpose(y, perm)


def _to_last(g, perm):
    return g if perm is None else np.moveaxis(g, 1, -1)


def _conv_parts(inputs, kernel, strides, padding, data_format, dilation_rate):
    x, perm = _channels_last(_float(inputs), data_format, "conv")
    kernel = np.asarray(kernel)
    rank = x.ndim - 2
    if kernel.ndim != rank + 2 or kernel.shape[-2] != x.shape[-1]:
        raise ValueError(f"ops.conv: expected a kernel of shape (spatial window) + (in channels {x.shape[-1]}, "
                         f"filters) for inputs of shape {np.shape(inputs)}, got {kernel.shape}.")
    geo = _Geometry("conv", x.shape[1:-1], kernel.shape[:rank], strides, padding, dilation_rate)
    return x, perm, kernel, geo


def _patches(x, geo):
    """im2col: (n·P, k·c), one row per window, in the kernel's (spatial offsets, channel) order."""
    w = geo.windows(geo.pad(x))                              # (n, *out, c, *size)
    rank = len(geo.spatial)
    order = (0,) + tuple(range(1, rank + 1)) + tuple(range(rank + 2, 2 * rank + 2)) + (rank + 1,)
    return np.transpose(w, order).reshape(-1, math.prod(geo.size) * x.shape[-1])


@op("conv")
def conv(inputs, kernel, strides=1, padding="valid", data_format=None, dilation_rate=1):
    """N-D convolution (cross-correlation, as Keras): out[p, f] = Σ_(u, c) x[p·s + u·d, c] · kernel[u, c, f].

    ``inputs`` (batch, *spatial, channels) (``channels_first``: (batch, channels, *spatial));
    ``kernel`` (*window, channels, filters). ``padding="same"`` pads with zeros, the odd
    pixel bottom/right. As im2col: patches (n·P, k·c) @ kernel (k·c, f).

    Examples
    --------
    >>> conv(np.ones((1, 3, 3, 1)), np.ones((2, 2, 1, 1)))[0, :, :, 0]
    array([[4., 4.],
           [4., 4.]])
    """
    x, perm, kernel, geo = _conv_parts(inputs, kernel, strides, padding, data_format, dilation_rate)
    out = _patches(x, geo) @ kernel.reshape(-1, kernel.shape[-1])
    return _back_to(out.reshape((x.shape[0],) + geo.out + (kernel.shape[-1],)), perm)


@conv.defvjp
def conv_vjp(g, out, inputs, kernel, strides=1, padding="valid", data_format=None, dilation_rate=1,
             need=(True, True)):
    x, perm, kernel, geo = _conv_parts(inputs, kernel, strides, padding, data_format, dilation_rate)
    f = kernel.shape[-1]
    g2 = _to_last(g, perm).reshape(-1, f)                    # (n·P, f)
    gk = (_patches(x, geo).T @ g2).reshape(kernel.shape) if need[1] else None     # Xᵀ δ
    gx = None
    if need[0]:
        dcols = (g2 @ kernel.reshape(-1, f).T).reshape(
            (x.shape[0],) + geo.out + (math.prod(geo.size), x.shape[-1]))          # δ Wᵀ, per window offset
        dxp = np.zeros(geo.padded_shape(x), dcols.dtype)
        for j, where in geo.offsets():                       # col2im: each offset's slice gets its share
            dxp[where] += dcols[..., j, :]
        gx = _back_to(geo.crop(dxp), perm)
    return gx, gk


def _pool_parts(inputs, pool_size, strides, padding, data_format, where):
    x, perm = _channels_last(np.asarray(inputs), data_format, where)
    geo = _Geometry(where, x.shape[1:-1], pool_size, pool_size if strides is None else strides, padding, 1)
    return x, perm, geo


def _lowest(dtype):
    return -np.inf if dtype.kind == "f" else np.iinfo(dtype).min


@op("max_pool")
def max_pool(inputs, pool_size, strides=None, padding="valid", data_format=None):
    """The maximum of each window, channel by channel; ``strides`` None means ``pool_size``.

    "same" pads with −∞ (a padded pixel never wins). δ goes to each window's maximum,
    the first in row-major window order on ties.

    Examples
    --------
    >>> max_pool(np.arange(16.0).reshape(1, 4, 4, 1), 2)[0, :, :, 0]
    array([[ 5.,  7.],
           [13., 15.]])
    """
    x, perm, geo = _pool_parts(inputs, pool_size, strides, padding, data_format, "max_pool")
    w = geo.windows(geo.pad(x, _lowest(x.dtype)))
    return _back_to(w.reshape(w.shape[:-len(geo.size)] + (-1,)).max(axis=-1), perm)


@max_pool.defvjp
def max_pool_vjp(g, out, inputs, pool_size, strides=None, padding="valid", data_format=None):
    x, perm, geo = _pool_parts(inputs, pool_size, strides, padding, data_format, "max_pool")
    w = geo.windows(geo.pad(x, _lowest(x.dtype)))
    winner = w.reshape(w.shape[:-len(geo.size)] + (-1,)).argmax(axis=-1)     # first maximum on ties
    g = _to_last(g, perm)
    dxp = np.zeros(geo.padded_shape(x), g.dtype)
    for j, where in geo.offsets():
        dxp[where] += np.where(winner == j, g, 0)
    return _back_to(geo.crop(dxp), perm), None


@op("average_pool")
def average_pool(inputs, pool_size, strides=None, padding="valid", data_format=None):
    """The mean of each window, channel by channel; with "same" over the real pixels only (as Keras)."""
    x, perm, geo = _pool_parts(_float(inputs), pool_size, strides, padding, data_format, "average_pool")
    w = geo.windows(geo.pad(x))
    total = w.reshape(w.shape[:-len(geo.size)] + (-1,)).sum(axis=-1)
    return _back_to(total / _counts(geo, x.dtype), perm)


def _counts(geo, dtype):
    """Real (unpadded) pixels per window, (1, *out, 1)."""
    ones = np.ones((1,) + geo.spatial + (1,), dtype)
    w = geo.windows(geo.pad(ones))
    return w.reshape(w.shape[:-len(geo.size)] + (-1,)).sum(axis=-1)


@average_pool.defvjp
def average_pool_vjp(g, out, inputs, pool_size, strides=None, padding="valid", data_format=None):
    x, perm, geo = _pool_parts(_float(inputs), pool_size, strides, padding, data_format, "average_pool")
    share = _to_last(g, perm) / _counts(geo, x.dtype)
    dxp = np.zeros(geo.padded_shape(x), share.dtype)
    for _, where in geo.offsets():
        dxp[where] += share
    return _back_to(geo.crop(dxp), perm), None


# The forwards' examples, for doctest (an op is an Op instance, which doctest's finder does not search).
__test__ = {name: o.forward for name, o in TABLE.items() if o.family == "nn"}
