"""Loss functions R and the error δ = ∂R/∂f they send into the network.

Every loss is a batch *mean*, taken here and nowhere else, so each layer's
gradients are already averages over the batch.

Fused pairs. When the output layer's σ is the loss's ``fuses_with`` (softmax
for categorical cross-entropy, sigmoid for binary cross-entropy), the product
of ∂R/∂p and σ' collapses to δ = (p − Y) / n at the output layer's *input* z;
the model then tells that layer to skip σ' (``fused_output``). The loss value
is computed from z as well, with a log-sum-exp that stays finite for any z.
"""
import numpy as np

from .utils import check_array, check_labels

_EPS = 1e-7  # Keras's clip for probabilities that enter a log outside a fused pair.
_TINY = 1e-30  # below this a float32 probability has lost digits to underflow: use the logits.


class Loss:
    """Base class: ``value`` is R averaged over the batch, ``gradient`` is ∂R/∂(output)."""

    name = "loss"
    fuses_with = None
    #: True when targets are class indices rather than values in the model's float type.
    integer_targets = False

    def validate(self, y, output_shape, where):
        """Return targets as an array ready for ``value``/``gradient``, or raise a clear error."""
        y = check_array(y, where, "y")
        if y.ndim == 1 and output_shape == (1,):
            y = y[:, None]
        if y.shape[1:] != tuple(output_shape):
            raise ValueError(f"{where}: expected y of shape (n, {', '.join(map(str, output_shape))}) to match "
                             f"the model's output, got shape {y.shape}.")
        return y

    def value(self, y_pred, y, logits=None):
        raise NotImplementedError

    def gradient(self, y_pred, y, fused=False):
        raise NotImplementedError

    def __repr__(self):
        return f"<loss {self.name}>"


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


class CategoricalCrossentropy(Loss):
    """R = −(1/n) Σ_i Σ_k Y_ik log p_ik, for one-hot (or soft) targets Y.

    Fused with a softmax output: δ = (p − Y) / n at z.

    Shapes
    ------
    y_pred, y : (n, K); rows of y sum to 1
    """

    name = "categorical_crossentropy"
    fuses_with = "softmax"

    def validate(self, y, output_shape, where):
        arr = np.asarray(y) if not isinstance(y, (str, bytes)) else y
        if getattr(arr, "ndim", 0) == 1 and output_shape[-1] > 1:
            raise ValueError(f"{where}: categorical_crossentropy expects one-hot y of shape (n, {output_shape[-1]}), "
                             f"got integer labels of shape {arr.shape}; use nf.utils.to_categorical(y) or "
                             f"loss='sparse_categorical_crossentropy'.")
        y = super().validate(y, output_shape, where)
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
                             f"nf.utils.to_categorical(y), or divide soft targets by their row sums.")
        return y

    def value(self, y_pred, y, logits=None):
        if logits is not None:
            return float(-np.vdot(y, _log_softmax(logits)) / y.shape[0])
        return float(-np.vdot(y, np.log(np.clip(y_pred, _EPS, 1.0))) / y.shape[0])

    def gradient(self, y_pred, y, fused=False):
        if fused:
            return (y_pred - y) / y.shape[0]                               # δ = (p − Y) / n
        return -y / (np.clip(y_pred, _EPS, 1.0) * y.shape[0])


class SparseCategoricalCrossentropy(Loss):
    """R = −(1/n) Σ_i log p_{i, y_i}, for integer class labels y_i.

    Fused with a softmax output: δ = (p − onehot(y)) / n at z.

    Shapes
    ------
    y_pred : (n, K); y : (n,) integers in [0, K)
    """

    name = "sparse_categorical_crossentropy"
    fuses_with = "softmax"
    integer_targets = True

    def validate(self, y, output_shape, where):
        if len(output_shape) != 1:
            raise ValueError(f"{where}: sparse_categorical_crossentropy needs a model output of shape (n, K), "
                             f"got output shape (n, {', '.join(map(str, output_shape))}); add Flatten() "
                             f"and Dense(K, activation='softmax') at the top.")
        y = check_labels(y, where, "y")
        k = output_shape[-1]
        if y.max() >= k:
            raise ValueError(f"{where}: expected labels in [0, {k - 1}] for a model with {k} outputs, "
                             f"got label {int(y.max())}.")
        return y

    def value(self, y_pred, y, logits=None):
        rows = np.arange(y.shape[0])
        p = y_pred[rows, y]
        if logits is not None:
            # p came from the softmax of these logits, so −log p is log-sum-exp(z) − z_y to float
            # precision: four small NumPy calls instead of a log-softmax over all K outputs. Only
            # a p near underflow needs the logits themselves.
            if p.min() > _TINY:
                return float(-np.log(p).mean())
            return float(-_log_softmax(logits)[rows, y].mean())
        return float(-np.log(np.clip(p, _EPS, 1.0)).mean())

    def gradient(self, y_pred, y, fused=False):
        rows, n = np.arange(y.shape[0]), y.shape[0]
        if fused:
            delta = y_pred / n
            delta[rows, y] -= 1.0 / n                                      # δ = (p − Y) / n
            return delta
        delta = np.zeros_like(y_pred)
        delta[rows, y] = -1.0 / (np.clip(y_pred[rows, y], _EPS, 1.0) * n)
        return delta


class BinaryCrossentropy(Loss):
    """R = −(1/nK) Σ [y log p + (1 − y) log(1 − p)], for targets in [0, 1].

    Fused with a sigmoid output: δ = (p − y) / nK at z.

    Shapes
    ------
    y_pred, y : (n, K), usually K = 1
    """

    name = "binary_crossentropy"
    fuses_with = "sigmoid"

    def validate(self, y, output_shape, where):
        y = super().validate(y, output_shape, where)
        if y.min() < 0 or y.max() > 1:
            raise ValueError(f"{where}: expected y in [0, 1] for binary_crossentropy, "
                             f"got values from {y.min():g} to {y.max():g}; for class labels 0..K-1 use "
                             f"loss='sparse_categorical_crossentropy' with a softmax output of K units.")
        return y

    def value(self, y_pred, y, logits=None):
        if logits is not None:
            # log(1 + e^z) − y z, written so that e^z never overflows.
            z = logits
            return float(np.mean(np.maximum(z, 0) - y * z + np.log1p(np.exp(-np.abs(z)))))
        p = np.clip(y_pred, _EPS, 1 - _EPS)
        return float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))

    def gradient(self, y_pred, y, fused=False):
        if fused:
            return (y_pred - y) / y_pred.size                              # δ = (p − y) / nK
        p = np.clip(y_pred, _EPS, 1 - _EPS)
        return (p - y) / (p * (1 - p) * y_pred.size)


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


def _non_negative(y, where, what, name):
    """``y``, or a clear error if it has a negative entry (probabilities, counts)."""
    if y.min() < 0:
        raise ValueError(f"{where}: expected y non-negative ({what}) for {name}, got a negative entry "
                         f"{float(y.min()):g}.")
    return y


def _log_softmax(z):
    shifted = z - z.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


_TABLE = {cls.name: cls for cls in (MeanSquaredError, CategoricalCrossentropy,
                                    SparseCategoricalCrossentropy, BinaryCrossentropy)}
_TABLE.update({cls.name: cls for cls in (MeanAbsoluteError, Huber, LogCosh, KLDivergence, Poisson)})
_ALIASES = {"mse": "mean_squared_error"}
_ALIASES.update({"mae": "mean_absolute_error", "kld": "kl_divergence", "huber_loss": "huber"})


def get(identifier):
    """Return a loss from its Keras name (or "mse"), or a Loss instance.

    Examples
    --------
    >>> get("mse")
    <loss mean_squared_error>
    """
    if isinstance(identifier, Loss):
        return identifier
    if isinstance(identifier, str):
        name = _ALIASES.get(identifier, identifier)
        if name in _TABLE:
            return _TABLE[name]()
        delta = _parameter(identifier, "huber:")                         # "huber:2.0", as a model file stores it
        if delta is not None:
            return Huber(delta)
    raise ValueError(f"losses.get: unknown loss {identifier!r}; supported: "
                     f"{', '.join(list(_TABLE) + list(_ALIASES))}.")


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
