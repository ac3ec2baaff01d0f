"""Learned standardization: BatchNormalization and LayerNormalization, a = γ x̂ + β with x̂ = (x − μ) / √(σ² + ε).

Both standardize x with a mean μ and variance σ² and then scale and shift it by
learned γ and β. They differ in what the statistics run over:

* BatchNormalization (Ioffe & Szegedy 2015): over the *batch* (and, after a
  Conv2D, over height and width too), one μ and σ² per feature or channel. At
  prediction time it uses moving averages of them instead, so an example's
  output does not depend on the others in its batch.
* LayerNormalization (Ba, Kiros & Hinton 2016): over the *features of each
  example*, one μ and σ² per example, the same at training and prediction.

Backward (both). With m the number of values each μ averages over, g = δ ⊙ γ
(the error at x̂) and ⟨·⟩ the mean over those m values,

    ∂R/∂γ = Σ δ ⊙ x̂,   ∂R/∂β = Σ δ   (sums over everything but γ's own axes)
    s = ∂R/∂x = (g − ⟨g⟩ − x̂ ⟨g ⊙ x̂⟩) / √(σ² + ε)

the last line because μ and σ² depend on every x they average: the two means
are the paths through μ and through σ². BatchNormalization at prediction time
has μ and σ² fixed, so there s = g / √(σ² + ε).

Non-trainable state
-------------------
BatchNormalization's ``moving_mean`` and ``moving_variance`` are weights in
Keras's layout and order (gamma, beta, moving_mean, moving_variance), so they
sit in the model's flat θ like any weight: ``get_weights()``, ``count_params()``,
:mod:`netfit.io` and checkpoints carry them with no extra code. They are
*non-trainable*: a training forward pass updates them by their moving-average
rule, and since a training pass's output does not depend on them their
gradient there is exactly 0, so no optimizer moves them (every netfit
optimizer's step is 0 for a coordinate whose gradient has always been 0, and
no weight-decay penalty covers them). In a prediction-mode pass the layer is
the affine map a = γ (x − μ̄)/√(σ̄² + ε) + β, and ``backward`` then fills their
true partial derivatives, so a finite-difference check holds in both modes.
"""
import math
import numbers

import numpy as np

from .. import initializers
from ..utils import check_flag
from .base import Layer


def _check_axis(axis, where):
    if isinstance(axis, numbers.Integral) and not isinstance(axis, (bool, np.bool_)):
        return (int(axis),)
    if isinstance(axis, (tuple, list)) and axis and all(
            isinstance(a, numbers.Integral) and not isinstance(a, (bool, np.bool_)) for a in axis):
        return tuple(int(a) for a in axis)
    raise TypeError(f"{where}: expected axis an int or a tuple of ints (Keras's meaning: -1 is the last "
                    f"feature axis), got {axis!r}.")


def _check_real(value, where, name, low, high, low_open=True, high_open=True):
    ok = isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_)) and np.isfinite(value)
    if ok:
        ok = (low < value if low_open else low <= value) and (value < high if high_open else value <= high)
    if not ok:
        bounds = f"{'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"
        raise ValueError(f"{where}: expected {name} in {bounds}, got {value!r}.")
    return float(value)


def _axis_text(axis):
    return str(axis[0]) if len(axis) == 1 else str(list(axis))


class _Standardize(Layer):
    """Shared by both layers: axis, ε, γ/β options, the broadcast shape of the parameters."""

    def __init__(self, axis=-1, epsilon=1e-3, center=True, scale=True, beta_initializer="zeros",
                 gamma_initializer="ones", **kwargs):
        super().__init__(**kwargs)
        where = type(self).__name__
        self.axis = _check_axis(axis, where)
        self.epsilon = _check_real(epsilon, where, "epsilon", 0, np.inf)
        self.center = check_flag(center, where, "center")
        self.scale = check_flag(scale, where, "scale")
        self.beta_initializer = initializers.get(beta_initializer)
        self.gamma_initializer = initializers.get(gamma_initializer)

    def _param_axes(self, input_shape):
        """The axes of one example (0-based, batch excluded) that γ and β run along."""
        ndim = len(input_shape) + 1
        kept = []
        for a in self.axis:
            pos = a + ndim if a < 0 else a
            if not 1 <= pos < ndim:
                raise ValueError(f"{self.display_name}: axis {a} is not a feature axis of inputs with "
                                 f"{ndim - 1} dimension(s) per example (axis 0 is the batch).")
            kept.append(pos - 1)
        return tuple(sorted(set(kept)))

    def _declare(self, input_shape):
        axes = self._param_axes(input_shape)
        self._shape = tuple(input_shape[a] for a in axes)                            # γ's shape
        self._bshape = (1,) + tuple(d if i in axes else 1 for i, d in enumerate(input_shape))
        if self.scale:
            self.add_weight("gamma", self._shape, self.gamma_initializer)
        if self.center:
            self.add_weight("beta", self._shape, self.beta_initializer)
        return axes

    def _gamma_beta(self):
        gamma = self.params["gamma"].reshape(self._bshape) if self.scale else None
        beta = self.params["beta"].reshape(self._bshape) if self.center else None
        return gamma, beta

    def _affine(self, xhat, gamma, beta, call):
        """a = γ x̂ + β."""
        a = call.buffer("a", xhat.shape, xhat.dtype)
        if gamma is not None:
            np.multiply(xhat, gamma, out=a)
        else:
            np.copyto(a, xhat)
        if beta is not None:
            a += beta
        return a

    def _sum(self, arr, axes):
        """Σ over ``axes``, keeping them as size 1. (np.sum: on a (128·26·26, 32) batch it measured
        1.5 ms against 7–24 ms for the BLAS product 1ᵀX that Dense uses for its bias gradient.)"""
        return np.sum(arr, axis=axes, keepdims=True)

    def _mean(self, arr, axes):
        """⟨arr⟩ over ``axes``, keeping them as size 1."""
        return self._sum(arr, axes) * (1.0 / math.prod(arr.shape[a] for a in axes))

    def _param_grads(self, delta, xhat, reduce, grads):
        """∂R/∂γ = Σ δ x̂ and ∂R/∂β = Σ δ over ``reduce`` (batch and statistics axes), into ``grads``."""
        if self.scale:
            grads["gamma"][...] = self._sum(delta * xhat, reduce).reshape(self._shape)
        if self.center:
            grads["beta"][...] = self._sum(delta, reduce).reshape(self._shape)

    def _standardized_backward(self, g, xhat, inv_std, stats_axes, call):
        """s = (g − ⟨g⟩ − x̂ ⟨g x̂⟩) / √(σ² + ε), means over ``stats_axes`` (what μ averaged over)."""
        mean_g = self._mean(g, stats_axes)                                      # path through μ
        mean_gx = self._mean(g * xhat, stats_axes)                              # path through σ²
        s = np.subtract(g, mean_g, out=call.buffer("s", g.shape, g.dtype))
        s -= xhat * mean_gx
        s *= inv_std
        return s

    def get_config(self):
        axis = self.axis[0] if len(self.axis) == 1 else list(self.axis)
        return {**super().get_config(), "axis": axis, "epsilon": self.epsilon, "center": self.center,
                "scale": self.scale, "beta_initializer": initializers.serialize(self.beta_initializer),
                "gamma_initializer": initializers.serialize(self.gamma_initializer)}


class BatchNormalization(_Standardize):
    """a = γ (x − μ_B) / √(σ²_B + ε) + β with batch statistics while training, moving averages otherwise.

    Training (``fit``): μ_B and σ²_B are the mean and (biased) variance over the
    batch and every axis but ``axis``: per feature after Dense, per channel
    after Conv2D (over n × height × width). Each training pass also updates

        μ̄ ← momentum · μ̄ + (1 − momentum) μ_B,   σ̄² ← momentum · σ̄² + (1 − momentum) σ²_B.

    Any training pass updates them: ``fit``, and also
    ``loss_and_gradients(training=True)``. Prediction (``predict``, ``evaluate``,
    validation, ``loss_and_gradients()``): μ̄ and σ̄² instead. Full-batch
    L-BFGS refuses this layer (it would overwrite the moving statistics with its
    own copy of θ).

    ``trainable = False`` freezes the layer as Keras does: it then runs in
    inference mode even in training passes (μ̄ and σ̄², left unchanged), so
    fine-tuning around a frozen layer keeps all four of its weights (and L-BFGS
    takes such a layer).
    Keras's defaults (momentum 0.99, ε = 1e-3) and weights, in Keras's order:
    gamma, beta, moving_mean, moving_variance, each of shape (C,).

    Short runs: after r training steps the moving averages have moved only
    1 − momentum^r of the way from their start (0, 1), 61 % after 94 steps at
    0.99, so prediction can lag far behind training. Measured on Keras's MNIST
    convnet with BN after each conv (6,000 images, 2 epochs, batch 128): test
    accuracy 0.37 with the moving statistics as trained, 0.95 after refreshing
    them from 1,000 training images, 0.95 with momentum=0.9 (no BN: 0.92).
    Keras behaves the same; use a lower momentum or train longer.

    Where PyTorch differs: its ``momentum=0.1`` is our 1 − momentum, ε = 1e-5,
    and its running variance uses the unbiased batch variance (÷ m − 1); Keras
    and netfit use the biased one (÷ m) for both.

    Parameters
    ----------
    axis : int or tuple of int, default -1
        The axis (or axes) that keep their own statistics, γ and β; Keras's
        meaning (batch axis 0 counted), so -1 is the channels of channels-last images.
    momentum : float in [0, 1), default 0.99
    epsilon : float > 0, default 1e-3
    center, scale : bool, default True
        Learn β (and γ); without them the weight is left out, as in Keras.

    Shapes
    ------
    x : (n, *input_shape)  ->  a : (n, *input_shape)

    Examples
    --------
    >>> import numpy as np
    >>> bn = BatchNormalization(); bn.setup((2,), rng=np.random.default_rng(0), dtype="float64")
    (2,)
    >>> bn.forward(np.array([[1.0, 10.0], [3.0, 30.0]]), training=True).round(3)
    array([[-1., -1.],
           [ 1.,  1.]])
    >>> bn.params["moving_mean"]                     # 0.99 · 0 + 0.01 · (2, 20)
    array([0.02, 0.2 ])
    """

    keras_only = Layer.keras_only + ("beta_regularizer", "gamma_regularizer", "beta_constraint",
                                     "gamma_constraint", "renorm", "renorm_clipping", "renorm_momentum",
                                     "synchronized")

    whole_batch = True

    runs_on_gpu = True

    def __init__(self, axis=-1, momentum=0.99, epsilon=1e-3, center=True, scale=True, beta_initializer="zeros",
                 gamma_initializer="ones", moving_mean_initializer="zeros", moving_variance_initializer="ones",
                 **kwargs):
        super().__init__(axis, epsilon, center, scale, beta_initializer, gamma_initializer, **kwargs)
        self.momentum = _check_real(momentum, "BatchNormalization", "momentum", 0, 1, low_open=False)
        self.moving_mean_initializer = initializers.get(moving_mean_initializer)
        self.moving_variance_initializer = initializers.get(moving_variance_initializer)

    #: Weights that no optimizer trains (Keras's non-trainable weights; :meth:`Layer.trainable_flags`).
    non_trainable = ("moving_mean", "moving_variance")

    def build(self, input_shape):
        axes = self._declare(input_shape)
        self.add_weight("moving_mean", self._shape, self.moving_mean_initializer)
        self.add_weight("moving_variance", self._shape, self.moving_variance_initializer)
        self._reduce = (0,) + tuple(i + 1 for i in range(len(input_shape)) if i not in axes)   # batch + others
        return input_shape

    def values_per_statistic(self, batch):
        """How many numbers each μ_B and σ²_B averages in a training pass on ``batch`` examples.

        ``batch`` after Dense (per feature); ``batch · H · W`` after Conv2D (per channel).
        At 1, x − μ_B is 0 and σ²_B is 0: the output is β whatever the input, and the
        moving variance shrinks toward 0, so predictions go wrong (refused, as PyTorch does).
        """
        return batch * math.prod(self.input_shape[a - 1] for a in self._reduce[1:])

    def single_value_error(self, batch, where, fix=None):
        """The ValueError for a training batch whose statistics would be over one value each."""
        fix = fix or ("train with batch_size of 2 or more (16 or more is usual), or use LayerNormalization, "
                      "whose statistics do not depend on the batch")
        return ValueError(f"{where}: {self.display_name} would compute each batch mean and variance over a single "
                          f"value (a training batch of {batch} example{'s' if batch != 1 else ''} of shape "
                          f"{self.input_shape}): x − μ is 0 and σ² is 0, so its output would be β whatever the "
                          f"input and its moving variance would shrink toward 0 (PyTorch: \"Expected more than 1 "
                          f"value per channel when training\"); {fix}.")

    def forward(self, x, training=False, call=None):
        call = self.record(call)
        self.check_input(x)
        gamma, beta = self._gamma_beta()
        # A frozen layer runs in inference mode (Keras): its moving statistics stay as they are.
        call.training = bool(training) and self.trainable
        if call.training and self.values_per_statistic(x.shape[0]) == 1:
            raise self.single_value_error(x.shape[0], self.display_name)
        xhat = call.buffer("xhat", x.shape, x.dtype)
        if call.training:
            mu = self._mean(x, self._reduce)                                    # μ_B
            np.subtract(x, mu, out=xhat)                                        # x − μ_B
            square = np.square(xhat, out=call.buffer("square", x.shape, x.dtype))
            var = self._mean(square, self._reduce)                              # σ²_B, biased (÷ m)
            rate = 1.0 - self.momentum
            moving_mean, moving_var = self.params["moving_mean"], self.params["moving_variance"]
            moving_mean *= self.momentum
            moving_mean += rate * mu.reshape(self._shape)                       # μ̄ ← ρ μ̄ + (1 − ρ) μ_B
            moving_var *= self.momentum
            moving_var += rate * var.reshape(self._shape)                       # σ̄² ← ρ σ̄² + (1 − ρ) σ²_B
        else:
            mu = self.params["moving_mean"].reshape(self._bshape)
            var = self.params["moving_variance"].reshape(self._bshape)
            np.subtract(x, mu, out=xhat)                                        # x − μ̄
        call.inv_std = 1.0 / np.sqrt(var + self.epsilon)                      # 1 / √(σ² + ε)
        xhat *= call.inv_std                                                    # x̂
        call.xhat = xhat
        return self._affine(xhat, gamma, beta, call)

    def backward(self, delta, call=None):
        call = self.record(call)
        gamma, _ = self._gamma_beta()
        xhat, inv_std, grads = call.xhat, call.inv_std, call.grads
        self._param_grads(delta, xhat, self._reduce, grads)
        g = delta * gamma if gamma is not None else delta                      # error at x̂
        if call.training:
            grads["moving_mean"][...] = 0.0                                     # the output does not use them
            grads["moving_variance"][...] = 0.0
            return self._standardized_backward(g, xhat, inv_std, self._reduce, call) if call.need_input_grad \
                else None
        # Prediction mode: x̂ = (x − μ̄) / √(σ̄² + ε) with μ̄, σ̄² fixed weights.
        s = g * inv_std                                                         # ∂R/∂x
        grads["moving_mean"][...] = -self._sum(s, self._reduce).reshape(self._shape)          # ∂x̂/∂μ̄ = −1/√·
        # ∂x̂/∂σ̄² = −½ (x − μ̄) (σ̄² + ε)^(−3/2) = −½ x̂ / (σ̄² + ε)
        grads["moving_variance"][...] = -0.5 * (self._sum(g * xhat, self._reduce).reshape(self._shape)
                                                * (inv_std * inv_std).reshape(self._shape))
        return s if call.need_input_grad else None

    def get_config(self):
        return {**super().get_config(), "momentum": self.momentum,
                "moving_mean_initializer": initializers.serialize(self.moving_mean_initializer),
                "moving_variance_initializer": initializers.serialize(self.moving_variance_initializer)}


class LayerNormalization(_Standardize):
    """a = γ (x − μ_i) / √(σ²_i + ε) + β, μ_i and σ²_i over the features of each example i.

    The statistics run over ``axis`` (default the last axis) within one
    example, so training and prediction compute the same thing and the batch
    size does not matter. γ and β have the shape of those axes. Keras's
    defaults (ε = 1e-3; PyTorch's ``LayerNorm`` uses 1e-5) and weight names.

    Parameters
    ----------
    axis : int or tuple of int, default -1
        Axes normalized together (Keras's meaning, batch axis 0 counted).
    epsilon : float > 0, default 1e-3
    center, scale : bool, default True

    Shapes
    ------
    x : (n, *input_shape)  ->  a : (n, *input_shape)

    Examples
    --------
    >>> import numpy as np
    >>> ln = LayerNormalization(epsilon=1e-9); ln.setup((3,), dtype="float64")
    (3,)
    >>> ln.forward(np.array([[1.0, 2.0, 3.0]])).round(4)
    array([[-1.2247,  0.    ,  1.2247]])
    """

    keras_only = Layer.keras_only + ("beta_regularizer", "gamma_regularizer", "beta_constraint",
                                     "gamma_constraint")

    runs_on_gpu = True

    def build(self, input_shape):
        axes = self._declare(input_shape)
        if math.prod(input_shape[a] for a in axes) == 1:
            raise ValueError(f"{self.display_name}: expected more than one value per example to normalize over, "
                             f"got input shape {tuple(input_shape)} with axis={_axis_text(self.axis)}: the mean "
                             f"of one value is the value, so every output would be β; put it after a layer with "
                             f"more than one unit, or normalize over more axes, or leave it out.")
        self._stats = tuple(a + 1 for a in axes)                                # per example, over these
        self._reduce = (0,) + tuple(i + 1 for i in range(len(input_shape)) if i not in axes)
        return input_shape

    def forward(self, x, training=False, call=None):
        call = self.record(call)
        self.check_input(x)
        gamma, beta = self._gamma_beta()
        mu = self._mean(x, self._stats)                                         # μ_i
        xhat = np.subtract(x, mu, out=call.buffer("xhat", x.shape, x.dtype))   # x − μ_i
        square = np.square(xhat, out=call.buffer("square", x.shape, x.dtype))
        var = self._mean(square, self._stats)                                   # σ²_i (÷ m)
        call.inv_std = 1.0 / np.sqrt(var + self.epsilon)
        xhat *= call.inv_std                                                    # x̂
        call.xhat = xhat
        return self._affine(xhat, gamma, beta, call)

    def backward(self, delta, call=None):
        call = self.record(call)
        gamma, _ = self._gamma_beta()
        self._param_grads(delta, call.xhat, self._reduce, call.grads)
        if not call.need_input_grad:
            return None
        g = delta * gamma if gamma is not None else delta
        return self._standardized_backward(g, call.xhat, call.inv_std, self._stats, call)
