"""Loss functions R and the error δ = ∂R/∂f they send into the network.

Every loss is a batch *mean*, taken here and nowhere else, so each layer's
gradients are already averages over the batch.

Fused pairs. When the output layer's σ is the loss's ``fuses_with`` (softmax
for categorical cross-entropy, sigmoid for binary cross-entropy), the product
of ∂R/∂p and σ' collapses to δ = (p − Y) / n at the output layer's *input* z;
the model then tells that layer to skip σ' (``fused_output``). The loss value
is computed from z as well, with a log-sum-exp that stays finite for any z.

Logits. ``from_logits=True`` (Keras's and PyTorch's option) makes the three
cross-entropies read the model's outputs f as logits z, after a *linear* last
layer: the loss applies softmax (sigmoid) itself, R = −(1/n) Σ_i Σ_k Y_ik
log softmax(z_i)_k, and sends back δ = (softmax(z) − Y) / n, the same δ the
fused pair gives. ``predict`` then returns logits, as in Keras.

Sample weights (Keras's ``sample_weight``, reduction "sum_over_batch_size").
With per-example weights w_i the loss is R = (1/n) Σ_i w_i ℓ_i, where ℓ_i is
example i's loss (``per_example``) and n the batch size, so every δ_i is
scaled by w_i (``weighted_value`` / ``weighted_gradient``). A new loss only
needs ``per_example`` to support them.

Which output each loss expects (``expects``): "distribution" (rows of
probabilities summing to 1: softmax), "probability" (each output in (0, 1):
sigmoid), "logits" (a linear last layer), or None (any output: squared
error). :mod:`netfit.compatibility` checks the model's last activation against it at
compile time (docs/reliability.md, the output–loss–metric table).
"""
import numpy as np

from .utils import check_array, check_labels, label_range_hint

_EPS = 1e-7  # Keras's clip for probabilities that enter a log outside a fused pair.
_TINY = 1e-30  # below this a float32 probability has lost digits to underflow: use the logits.


class Loss:
    """Base class: ``value`` is R averaged over the batch, ``gradient`` is ∂R/∂(output)."""

    name = "loss"
    fuses_with = None
    #: True when targets are class indices rather than values in the model's float type.
    integer_targets = False
    #: What the model's outputs must be: "distribution", "probability", "logits" or None (anything).
    expects = None
    from_logits = False

    def validate(self, y, output_shape, where):
        """Return targets as an array ready for ``value``/``gradient``, or raise a clear error."""
        y = check_array(y, where, "y")
        if y.ndim == 1 and output_shape == (1,):
            y = y[:, None]
        if y.shape[1:] != tuple(output_shape):
            hint = ""
            if y.ndim == 2 and y.shape[0] == output_shape[-1] and len(output_shape) == 1:
                hint = " It looks transposed (one row per output): `y = y.T`."
            elif y.ndim == 2 and len(output_shape) == 1:
                hint = (f" The model has {output_shape[-1]} output(s) and y {y.shape[1]} column(s): end the "
                        f"model with Dense({y.shape[1]}, ...) or select the columns it should predict.")
            raise ValueError(f"{where}: expected y of shape (n, {', '.join(map(str, output_shape))}) to match "
                             f"the model's output, got shape {y.shape}.{hint}")
        return y

    def value(self, y_pred, y, logits=None):
        raise NotImplementedError

    def gradient(self, y_pred, y, fused=False):
        raise NotImplementedError

    def per_example(self, y_pred, y, logits=None):
        """ℓ_i, each example's loss, shape (n,): ``value`` is their mean."""
        raise NotImplementedError(f"{type(self).__name__}: this loss has no per-example values, "
                                  f"so it cannot take sample_weight or class_weight.")

    def weighted_value(self, y_pred, y, sample_weight, logits=None):
        """R = (1/n) Σ_i w_i ℓ_i: Keras's "sum_over_batch_size" with sample weights w (n,)."""
        return float(np.vdot(sample_weight, self.per_example(y_pred, y, logits)) / y_pred.shape[0])

    def weighted_gradient(self, y_pred, y, sample_weight, fused=False):
        """δ_i = w_i · (the unweighted δ_i): ∂/∂f_i of (1/n) Σ_i w_i ℓ_i."""
        delta = self.gradient(y_pred, y, fused=fused)
        delta *= sample_weight.reshape((-1,) + (1,) * (delta.ndim - 1))          # δ_i ← w_i δ_i
        return delta

    def get_config(self):
        """Constructor arguments; ``type(loss)(**config)`` rebuilds it."""
        return {"from_logits": True} if self.from_logits else {}

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"<loss {self.name}{' (' + args + ')' if args else ''}>"


class _CrossEntropy(Loss):
    """The three cross-entropies' ``from_logits`` switch (Keras and PyTorch's option)."""

    def __init__(self, from_logits=False):
        if not isinstance(from_logits, (bool, np.bool_)):
            raise TypeError(f"{type(self).__name__}: expected from_logits True or False, got {from_logits!r}.")
        self.from_logits = bool(from_logits)
        if self.from_logits:
            self.fuses_with = None          # the loss applies softmax/sigmoid itself: nothing to fuse
            self.expects = "logits"


class MeanSquaredError(Loss):
    """R = (1 / nK) Σ_i Σ_k (y_ik − f_k(x_i))², the lecture's R_i summed and averaged.

    δ = ∂R/∂f = 2 (f − y) / nK. With a linear output unit this is already the
    error at z, the regression case of the lecture.

    Shapes
    ------
    y_pred, y : (n, K)
    """

    name = "mean_squared_error"

    def value(self, y_pred, y, logits=None):
        diff = y_pred - y
        return float(np.vdot(diff, diff) / diff.size)

    def gradient(self, y_pred, y, fused=False):
        return (y_pred - y) * (2.0 / y_pred.size)

    def per_example(self, y_pred, y, logits=None):
        diff = (y_pred - y).reshape(len(y_pred), -1)
        return np.einsum("ij,ij->i", diff, diff) / diff.shape[1]                # ℓ_i = (1/K) Σ_k (f_ik − y_ik)²


class CategoricalCrossentropy(_CrossEntropy):
    """R = −(1/n) Σ_i Σ_k Y_ik log p_ik, for one-hot (or soft) targets Y.

    Fused with a softmax output: δ = (p − Y) / n at z. With
    ``from_logits=True`` the outputs are logits z after a linear last layer:
    p = softmax(z) is taken here, and δ = (softmax(z) − Y) / n is the error at z.

    Parameters
    ----------
    from_logits : bool
        Read the model's outputs as logits (Keras's and PyTorch's option).

    Shapes
    ------
    y_pred, y : (n, K); rows of y sum to 1

    Examples
    --------
    >>> loss = CategoricalCrossentropy(from_logits=True)
    >>> round(loss.value(np.array([[0.0, 0.0]]), np.array([[1.0, 0.0]])), 4)    # log 2
    0.6931
    """

    name = "categorical_crossentropy"
    fuses_with = "softmax"
    expects = "distribution"

    def validate(self, y, output_shape, where):
        k = output_shape[-1]
        arr = check_array(y, where, "y")
        if arr.ndim == 1 or (arr.ndim == 2 and arr.shape[1] == 1 and k > 1):
            labels = check_labels(arr, where, "y")
            first = label_range_hint(labels, k, where)
            encode = f"y = nf.utils.to_categorical({'y - 1' if first == 'y - 1' else 'y'}, {k})"
            if first not in (None, "y - 1"):
                raise ValueError(first)
            raise ValueError(f"{where}: categorical_crossentropy expects one-hot y of shape (n, {k}), "
                             f"got integer labels of shape {arr.shape}; encode them: `{encode}`, or use "
                             f"loss='sparse_categorical_crossentropy' with the labels as they are.")
        y = super().validate(arr, output_shape, where)
        if y.min() < 0:
            raise ValueError(f"{where}: expected y rows of non-negative values summing to 1 (one-hot), "
                             f"got a negative entry {float(y.min()):g}; encode labels with "
                             f"nf.utils.to_categorical(y).")
        sums = y.sum(axis=-1)
        if not np.allclose(sums, 1.0, atol=1e-3):
            bad = int(np.argmax(np.abs(sums - 1.0)))
            raise ValueError(f"{where}: expected y rows of non-negative values summing to 1 (one-hot), "
                             f"got rows summing to {float(sums.min()):g}..{float(sums.max()):g} "
                             f"(row {bad} sums to {float(sums[bad]):g}); encode labels with "
                             f"nf.utils.to_categorical(y), or divide soft targets by their row sums: "
                             f"`y = y / y.sum(axis=1, keepdims=True)`.")
        return y

    def value(self, y_pred, y, logits=None):
        if self.from_logits:
            logits = y_pred
        if logits is not None:
            return float(-np.vdot(y, _log_softmax(logits)) / y.shape[0])
        return float(-np.vdot(y, np.log(np.clip(y_pred, _EPS, 1.0))) / y.shape[0])

    def per_example(self, y_pred, y, logits=None):
        if self.from_logits:
            logits = y_pred
        log_p = _log_softmax(logits) if logits is not None else np.log(np.clip(y_pred, _EPS, 1.0))
        return -np.einsum("ij,ij->i", y, log_p)                                 # ℓ_i = −Σ_k Y_ik log p_ik

    def gradient(self, y_pred, y, fused=False):
        if self.from_logits:
            return (_softmax(y_pred) - y) / y.shape[0]                     # δ = (softmax(z) − Y) / n
        if fused:
            return (y_pred - y) / y.shape[0]                               # δ = (p − Y) / n
        return -y / (np.clip(y_pred, _EPS, 1.0) * y.shape[0])


class SparseCategoricalCrossentropy(_CrossEntropy):
    """R = −(1/n) Σ_i log p_{i, y_i}, for integer class labels y_i.

    Fused with a softmax output: δ = (p − onehot(y)) / n at z. With
    ``from_logits=True``: R = (1/n) Σ_i (log Σ_k e^{z_ik} − z_{i,y_i}) and
    δ = (softmax(z) − onehot(y)) / n.

    Parameters
    ----------
    from_logits : bool
        Read the model's outputs as logits (Keras's and PyTorch's option).

    Shapes
    ------
    y_pred : (n, K); y : (n,) integers in [0, K)
    """

    name = "sparse_categorical_crossentropy"
    fuses_with = "softmax"
    integer_targets = True
    expects = "distribution"

    def validate(self, y, output_shape, where):
        if len(output_shape) != 1:
            raise ValueError(f"{where}: sparse_categorical_crossentropy needs a model output of shape (n, K), "
                             f"got output shape (n, {', '.join(map(str, output_shape))}); add Flatten() "
                             f"and Dense(K, activation='softmax') at the top.")
        y = check_labels(y, where, "y", sparse_loss=True)
        hint = label_range_hint(y, output_shape[-1], where)
        if hint == "y - 1":
            k = output_shape[-1]
            raise ValueError(f"{where}: expected labels in [0, {k - 1}] for a model with {k} outputs, got "
                             f"labels 1..{k}, which look 1-based; shift them: `y = y - 1`.")
        if hint is not None:
            raise ValueError(hint)
        return y

    def value(self, y_pred, y, logits=None):
        rows = np.arange(y.shape[0])
        if self.from_logits:
            return float(-_log_softmax(y_pred)[rows, y].mean())
        p = y_pred[rows, y]
        if logits is not None:
            # p came from the softmax of these logits, so −log p is log-sum-exp(z) − z_y to float
            # precision: four small NumPy calls instead of a log-softmax over all K outputs. Only
            # a p near underflow needs the logits themselves.
            if p.min() > _TINY:
                return float(-np.log(p).mean())
            return float(-_log_softmax(logits)[rows, y].mean())
        return float(-np.log(np.clip(p, _EPS, 1.0)).mean())

    def per_example(self, y_pred, y, logits=None):
        rows = np.arange(y.shape[0])
        if self.from_logits:
            logits = y_pred
        if logits is not None:
            return -_log_softmax(logits)[rows, y]                                 # ℓ_i = −log p_{i, y_i}
        return -np.log(np.clip(y_pred[rows, y], _EPS, 1.0))

    def gradient(self, y_pred, y, fused=False):
        rows, n = np.arange(y.shape[0]), y.shape[0]
        if self.from_logits:
            y_pred, fused = _softmax(y_pred), True                         # p = softmax(z), then as fused
        if fused:
            delta = y_pred / n
            delta[rows, y] -= 1.0 / n                                      # δ = (p − Y) / n
            return delta
        delta = np.zeros_like(y_pred)
        delta[rows, y] = -1.0 / (np.clip(y_pred[rows, y], _EPS, 1.0) * n)
        return delta


class BinaryCrossentropy(_CrossEntropy):
    """R = −(1/nK) Σ [y log p + (1 − y) log(1 − p)], for targets in [0, 1].

    Fused with a sigmoid output: δ = (p − y) / nK at z. With
    ``from_logits=True``: R = (1/nK) Σ [log(1 + e^z) − y z] and
    δ = (sigmoid(z) − y) / nK. K > 1 outputs are K independent yes/no
    questions (multi-label).

    Parameters
    ----------
    from_logits : bool
        Read the model's outputs as logits (Keras's and PyTorch's option).

    Shapes
    ------
    y_pred, y : (n, K), usually K = 1
    """

    name = "binary_crossentropy"
    fuses_with = "sigmoid"
    expects = "probability"

    def validate(self, y, output_shape, where):
        arr = check_array(y, where, "y")
        k = output_shape[-1]
        if arr.ndim == 1 and len(output_shape) == 1 and k > 1:
            raise ValueError(f"{where}: expected y of shape (n, {k}) (one 0/1 column per output) for "
                             f"binary_crossentropy, got labels of shape {arr.shape}; for one label per example "
                             f"use loss='sparse_categorical_crossentropy' with Dense({k}, activation='softmax'), "
                             f"or give the model one sigmoid output: Dense(1, activation='sigmoid').")
        y = super().validate(arr, output_shape, where)
        if y.min() < 0 or y.max() > 1:
            values = np.unique(y) if y.size <= 1 << 20 else np.array([y.min(), y.max()])
            fix = ""
            if values.size == 2 and values[0] == -1 and values[1] == 1:
                fix = " Labels −1/+1: `y = (y > 0).astype('float32')`."
            elif values.size == 2 and values[0] == 1 and values[1] == 2:
                fix = " Labels 1/2 look 1-based: `y = y - 1`."
            raise ValueError(f"{where}: expected y in [0, 1] for binary_crossentropy, "
                             f"got values from {y.min():g} to {y.max():g}; for class labels 0..K-1 use "
                             f"loss='sparse_categorical_crossentropy' with a softmax output of K units.{fix}")
        return y

    def value(self, y_pred, y, logits=None):
        if self.from_logits:
            logits = y_pred
        if logits is not None:
            return float(np.mean(_softplus_minus(logits, y)))
        p = np.clip(y_pred, _EPS, 1 - _EPS)
        return float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))

    def per_example(self, y_pred, y, logits=None):
        if self.from_logits:
            logits = y_pred
        if logits is not None:
            terms = _softplus_minus(logits, y)
        else:
            p = np.clip(y_pred, _EPS, 1 - _EPS)
            terms = -(y * np.log(p) + (1 - y) * np.log(1 - p))
        return terms.reshape(len(terms), -1).mean(axis=1)                       # ℓ_i = mean over the K outputs

    def gradient(self, y_pred, y, fused=False):
        if self.from_logits:
            return (_sigmoid(y_pred) - y) / y_pred.size                    # δ = (sigmoid(z) − y) / nK
        if fused:
            return (y_pred - y) / y_pred.size                              # δ = (p − y) / nK
        p = np.clip(y_pred, _EPS, 1 - _EPS)
        return (p - y) / (p * (1 - p) * y_pred.size)


def _softplus_minus(z, y):
    """log(1 + e^z) − y z, written so that e^z never overflows."""
    return np.maximum(z, 0) - y * z + np.log1p(np.exp(-np.abs(z)))
class MeanAbsoluteError(Loss):
    """R = (1 / nK) Σ_i Σ_k |f_k(x_i) − y_ik|; δ = sign(f − y) / nK (0 where f = y).

    Robust to outliers in y: each example pulls with the same force, however
    far off. Keras's ``mean_absolute_error`` ("mae").

    Shapes
    ------
    y_pred, y : (n, K)
    """

    name = "mean_absolute_error"

    def value(self, y_pred, y, logits=None):
        return float(np.mean(np.abs(y_pred - y)))

    def gradient(self, y_pred, y, fused=False):
        return np.sign(y_pred - y) * (1.0 / y_pred.size)                  # ∂|e|/∂f = sign(e)

    def per_example(self, y_pred, y, logits=None):
        return _row_mean(np.abs(y_pred - y))                                # ℓ_i = (1/K) Σ_k |e_ik|


class Huber(Loss):
    """R = (1 / nK) Σ h(f − y), h(e) = ½ e² for |e| ≤ d, d (|e| − ½ d) beyond (Keras's ``huber``, d = 1).

    Squared error near the target, absolute error far from it (Huber 1964; ESL
    §10.6): δ = e / nK for |e| ≤ d, d · sign(e) / nK beyond, i.e. the error clipped
    to ±d.

    Parameters
    ----------
    delta : float > 0
        d, where the quadratic turns linear. A d other than 1 is part of the
        loss's name ("huber:2.0"), which a model file stores, so it survives
        save and load; ``loss="huber:2.0"`` works in ``compile`` too.

    Shapes
    ------
    y_pred, y : (n, K)

    Raises
    ------
    ValueError
        ``delta`` is not a positive finite number.
    """

    name = "huber"

    def __init__(self, delta=1.0):
        if isinstance(delta, (bool, np.bool_)) or not isinstance(delta, (int, float, np.floating, np.integer)) \
                or not 0 < delta < np.inf:
            raise ValueError(f"Huber: expected delta a positive number (where the loss turns linear), "
                             f"got {delta!r}.")
        self.delta = float(delta)
        if self.delta != 1.0:
            self.name = f"huber:{self.delta!r}"

    def value(self, y_pred, y, logits=None):
        e = np.abs(y_pred - y)
        d = self.delta
        return float(np.mean(np.where(e <= d, 0.5 * e * e, d * e - 0.5 * d * d)))

    def gradient(self, y_pred, y, fused=False):
        e = y_pred - y
        return np.clip(e, -self.delta, self.delta) * (1.0 / y_pred.size)   # h'(e) = e, clipped to ±d

    def per_example(self, y_pred, y, logits=None):
        e, d = np.abs(y_pred - y), self.delta
        return _row_mean(np.where(e <= d, 0.5 * e * e, d * e - 0.5 * d * d))   # ℓ_i = (1/K) Σ_k h(e_ik)


class LogCosh(Loss):
    """R = (1 / nK) Σ log cosh(f − y); δ = tanh(f − y) / nK (Keras's ``log_cosh``).

    Like ½ e² for small errors and |e| − log 2 for large ones. Computed as
    e + softplus(−2e) − log 2, which does not overflow for large |e|.

    Shapes
    ------
    y_pred, y : (n, K)
    """

    name = "log_cosh"

    def value(self, y_pred, y, logits=None):
        e = y_pred - y
        return float(np.mean(e + np.logaddexp(0.0, -2.0 * e) - np.log(2.0)))

    def gradient(self, y_pred, y, fused=False):
        return np.tanh(y_pred - y) * (1.0 / y_pred.size)                  # d log cosh(e)/de = tanh(e)

    def per_example(self, y_pred, y, logits=None):
        e = y_pred - y
        return _row_mean(e + np.logaddexp(0.0, -2.0 * e) - np.log(2.0))     # ℓ_i = (1/K) Σ_k log cosh(e_ik)


class KLDivergence(Loss):
    """R = (1/n) Σ_i Σ_k y_ik log(y_ik / p_ik), y and p clipped to [ε, 1] (Keras's ``kl_divergence``, "kld").

    δ = −y / (p n) where ε < p ≤ 1 (0 where the clip holds p at ε). Summed over the
    K outputs and averaged over the n examples, as Keras does. With a softmax
    output it differs from categorical cross-entropy only by the entropy of y,
    a constant, so the gradients are the same.

    Shapes
    ------
    y_pred, y : (n, K); rows of y are distributions
    """

    name = "kl_divergence"

    def validate(self, y, output_shape, where):
        return _non_negative(super().validate(y, output_shape, where), where, "probabilities", self.name)

    def value(self, y_pred, y, logits=None):
        y = np.clip(y, _EPS, 1.0)
        p = np.clip(y_pred, _EPS, 1.0)
        return float(np.sum(y * np.log(y / p)) / y.shape[0])

    def gradient(self, y_pred, y, fused=False):
        p = np.clip(y_pred, _EPS, 1.0)
        inside = (y_pred > _EPS) & (y_pred <= 1.0)                         # where the clip leaves p alone
        return np.where(inside, -np.clip(y, _EPS, 1.0) / (p * y.shape[0]), 0.0).astype(y_pred.dtype, copy=False)

    def per_example(self, y_pred, y, logits=None):
        y = np.clip(y, _EPS, 1.0)
        return _row_mean(y * np.log(y / np.clip(y_pred, _EPS, 1.0))) * y[0].size   # ℓ_i = Σ_k (a sum, as Keras)


class Poisson(Loss):
    """R = (1 / nK) Σ (f − y log(f + ε)), the Poisson negative log-likelihood up to log y! (Keras's ``poisson``).

    δ = (1 − y / (f + ε)) / nK. The prediction f is a rate, so the output unit
    should be positive (``activation="softplus"`` or ``"exponential"``-like).

    Shapes
    ------
    y_pred, y : (n, K); y counts ≥ 0
    """

    name = "poisson"

    def validate(self, y, output_shape, where):
        return _non_negative(super().validate(y, output_shape, where), where, "counts", self.name)

    def value(self, y_pred, y, logits=None):
        return float(np.mean(y_pred - y * np.log(y_pred + _EPS)))

    def gradient(self, y_pred, y, fused=False):
        return (1.0 - y / (y_pred + _EPS)) * (1.0 / y_pred.size)          # ∂/∂f [f − y log(f + ε)]

    def per_example(self, y_pred, y, logits=None):
        return _row_mean(y_pred - y * np.log(y_pred + _EPS))               # ℓ_i = (1/K) Σ_k (f − y log f)


def _row_mean(terms):
    """Each example's mean over its outputs: (n, ...) -> (n,)."""
    return terms.reshape(len(terms), -1).mean(axis=1)


def _non_negative(y, where, what, name):
    """``y``, or a clear error if it has a negative entry (probabilities, counts)."""
    if y.min() < 0:
        raise ValueError(f"{where}: expected y non-negative ({what}) for {name}, got a negative entry "
                         f"{float(y.min()):g}.")
    return y


def _log_softmax(z):
    shifted = z - z.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def _softmax(z):
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def _sigmoid(z):
    e = np.exp(-np.abs(z))                                                 # never overflows
    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e)).astype(z.dtype, copy=False)


_TABLE = {cls.name: cls for cls in (MeanSquaredError, CategoricalCrossentropy,
                                    SparseCategoricalCrossentropy, BinaryCrossentropy)}
_TABLE.update({cls.name: cls for cls in (MeanAbsoluteError, Huber, LogCosh, KLDivergence, Poisson)})
_ALIASES = {"mse": "mean_squared_error"}
_ALIASES.update({"mae": "mean_absolute_error", "kld": "kl_divergence", "huber_loss": "huber"})


def get(identifier):
    """Return a loss from its Keras name ("mse", "categorical_crossentropy"), its class name, a
    config dict (``{"class_name": "CategoricalCrossentropy", "config": {"from_logits": True}}``,
    as :func:`serialize` writes), or a Loss instance.

    Examples
    --------
    >>> get("mse")
    <loss mean_squared_error>
    >>> get({"class_name": "BinaryCrossentropy", "config": {"from_logits": True}})
    <loss binary_crossentropy (from_logits=True)>
    """
    if isinstance(identifier, Loss):
        return identifier
    config = {}
    if isinstance(identifier, dict) and isinstance(identifier.get("config", {}), dict):
        identifier, config = identifier.get("class_name"), identifier.get("config", {})
    if isinstance(identifier, str):
        name = _ALIASES.get(identifier, identifier)
        cls = _TABLE.get(name) or {c.__name__: c for c in _TABLE.values()}.get(name)
        if cls is not None:
            try:
                return cls(**config)
            except TypeError as exc:
                raise TypeError(f"losses.get: bad config for {cls.__name__}: {exc}.") from None
        delta = _parameter(identifier, "huber:")                         # "huber:2.0", as a model file stores it
        if delta is not None:
            return Huber(delta)
    raise ValueError(f"losses.get: unknown loss {identifier!r}; supported: "
                     f"{', '.join(list(_TABLE) + list(_ALIASES))}, or a Loss such as "
                     f"nf.losses.CategoricalCrossentropy(from_logits=True).")


def serialize(loss):
    """The loss as its name, or as ``{"class_name", "config"}`` when it has options (from_logits)."""
    config = loss.get_config()
    return {"class_name": type(loss).__name__, "config": config} if config else loss.name


def _parameter(name, prefix):
    """The number after ``prefix`` in ``name`` ("huber:2.0" -> 2.0), or None."""
    if not name.startswith(prefix):
        return None
    try:
        return float(name[len(prefix):])
    except ValueError:
        return None


def names():
    """The supported loss names (without aliases such as "mse")."""
    return list(_TABLE)


def aliases():
    """Short names and the loss each stands for, e.g. {"mse": "mean_squared_error"}."""
    return dict(_ALIASES)
