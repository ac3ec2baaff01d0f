"""Keras's loss functions, ``keras.losses.hinge(y_true, y_pred)`` and the rest: ℓ per example, and compile's names.

Keras 3 has each built-in loss as a function as well as a class; a model compiled
with the function (``loss=keras.losses.hinge``) trains with that loss, as with its
name. Here each function computes what Keras's does on NumPy arrays, from the
loss classes' own ``per_example`` (one formula, one place), and :func:`name_of`
tells :func:`netfit.losses.get` which built-in loss a function *is* (by identity:
a function of your own, even one named ``hinge``, is not taken; custom losses are
netfit.ops's).

Keras's argument order (y_true, y_pred), unlike netfit's plain metric functions
(prediction first). The loss is reduced over the last axis only, as Keras's
functions do, so the result has y_pred's shape without its last axis: (n,) for
(n, K) outputs. ``sparse_categorical_crossentropy`` takes integer labels of shape
(n, ...) or (n, ..., 1).

Examples
--------
>>> import numpy as np
>>> hinge(np.array([[0.0, 1.0]]), np.array([[0.3, 0.4]]))        # targets 0/1 become −1/+1
array([0.95])
>>> name_of(hinge), name_of(len)
('hinge', None)
"""
import numpy as np

from .. import tracing
from .crossentropy import BinaryCrossentropy, CategoricalCrossentropy, KLDivergence, SparseCategoricalCrossentropy
from .hinge import CategoricalHinge, Hinge, SquaredHinge
from .regression import Huber, LogCosh, MeanAbsoluteError, MeanAbsolutePercentageError, MeanSquaredError, Poisson


def _per_row(loss, y_true, y_pred):
    """ℓ over the last axis: rows of (…, K) flattened to (m, K), ``loss.per_example``, reshaped to (…).

    On traced values (custom code under a tape, :mod:`netfit.ops`): one tape entry whose
    VJP is the loss's written-out gradient, per row.
    """
    if tracing.any_traced(y_true, y_pred):
        return tracing.handler("loss_rows")(loss, y_true, y_pred)
    y_pred = np.asarray(y_pred, dtype=float) if np.asarray(y_pred).dtype.kind != "f" else np.asarray(y_pred)
    y_true = np.asarray(y_true, dtype=y_pred.dtype)
    if y_pred.ndim == 0:
        raise ValueError(f"{loss.name}: expected y_pred of shape (n, ..., K), got a scalar.")
    if y_true.shape != y_pred.shape:
        raise ValueError(f"{loss.name}: expected y_true of y_pred's shape {y_pred.shape}, got {y_true.shape}.")
    k = y_pred.shape[-1]
    return loss.per_example(y_pred.reshape(-1, k), y_true.reshape(-1, k)).reshape(y_pred.shape[:-1])


def _keras_default(where, name, value, default):
    if value != default:
        raise ValueError(f"{where}: expected {name}={default!r} (netfit's loss has no other), got {value!r}.")


def mean_squared_error(y_true, y_pred):
    """ℓ = mean_k (y_pred − y_true)², over the last axis (Keras's ``mean_squared_error``, ``mse``)."""
    return _per_row(MeanSquaredError(), y_true, y_pred)


def mean_absolute_error(y_true, y_pred):
    """ℓ = mean_k |y_pred − y_true|, over the last axis (Keras's ``mean_absolute_error``, ``mae``)."""
    return _per_row(MeanAbsoluteError(), y_true, y_pred)


def mean_absolute_percentage_error(y_true, y_pred):
    """ℓ = 100 · mean_k |y_true − y_pred| / max(|y_true|, ε), over the last axis (Keras's ``mape``)."""
    return _per_row(MeanAbsolutePercentageError(), y_true, y_pred)


def huber(y_true, y_pred, delta=1.0):
    """ℓ = mean_k of ½e² for |e| ≤ δ, else δ|e| − ½δ², e = y_pred − y_true (Keras's ``huber``)."""
    return _per_row(Huber(delta), y_true, y_pred)


def log_cosh(y_true, y_pred):
    """ℓ = mean_k log cosh(y_pred − y_true) (Keras's ``log_cosh``)."""
    return _per_row(LogCosh(), y_true, y_pred)


def poisson(y_true, y_pred):
    """ℓ = mean_k (y_pred − y_true log(y_pred + ε)) (Keras's ``poisson``)."""
    return _per_row(Poisson(), y_true, y_pred)


def kl_divergence(y_true, y_pred):
    """ℓ = Σ_k y log(y / p), y and p clipped to [ε, 1] (Keras's ``kl_divergence``, ``kld``)."""
    return _per_row(KLDivergence(), y_true, y_pred)


def hinge(y_true, y_pred):
    """ℓ = mean_k max(1 − y f, 0), targets ±1 (0/1 mapped to ∓1) (Keras's ``hinge``)."""
    return _per_row(Hinge(), y_true, y_pred)


def squared_hinge(y_true, y_pred):
    """ℓ = mean_k max(1 − y f, 0)², targets ±1 (0/1 mapped to ∓1) (Keras's ``squared_hinge``)."""
    return _per_row(SquaredHinge(), y_true, y_pred)


def categorical_hinge(y_true, y_pred):
    """ℓ = max(max_k (1 − y_k) f_k − Σ_k y_k f_k + 1, 0) (Keras's ``categorical_hinge``)."""
    return _per_row(CategoricalHinge(), y_true, y_pred)


def categorical_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0, axis=-1):
    """ℓ = −Σ_k y_k log p_k, p clipped to [ε, 1] (softmax of y_pred with from_logits) (Keras's function)."""
    _keras_default("categorical_crossentropy", "label_smoothing", label_smoothing, 0.0)
    _keras_default("categorical_crossentropy", "axis", axis, -1)
    return _per_row(CategoricalCrossentropy(from_logits=from_logits), y_true, y_pred)


def binary_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0, axis=-1):
    """ℓ = mean_k −(y log p + (1 − y) log(1 − p)), p clipped to [ε, 1 − ε] (Keras's function)."""
    _keras_default("binary_crossentropy", "label_smoothing", label_smoothing, 0.0)
    _keras_default("binary_crossentropy", "axis", axis, -1)
    return _per_row(BinaryCrossentropy(from_logits=from_logits), y_true, y_pred)


def sparse_categorical_crossentropy(y_true, y_pred, from_logits=False, ignore_class=None, axis=-1):
    """ℓ = −log p_y for integer labels y, shape (n, ...) or (n, ..., 1) (Keras's function)."""
    _keras_default("sparse_categorical_crossentropy", "ignore_class", ignore_class, None)
    _keras_default("sparse_categorical_crossentropy", "axis", axis, -1)
    if tracing.any_traced(y_true, y_pred):
        return tracing.handler("loss_rows")(SparseCategoricalCrossentropy(from_logits=from_logits), y_true, y_pred)
    y_pred = np.asarray(y_pred, dtype=float) if np.asarray(y_pred).dtype.kind != "f" else np.asarray(y_pred)
    labels = np.asarray(y_true)
    if labels.shape == y_pred.shape[:-1] + (1,):
        labels = labels[..., 0]
    if labels.shape != y_pred.shape[:-1]:
        raise ValueError(f"sparse_categorical_crossentropy: expected y_true of shape {y_pred.shape[:-1]} (one label "
                         f"per row of y_pred), got {labels.shape}.")
    k = y_pred.shape[-1]
    loss = SparseCategoricalCrossentropy(from_logits=from_logits)
    return loss.per_example(y_pred.reshape(-1, k), labels.reshape(-1).astype(np.intp)).reshape(labels.shape)


#: Keras's short names: the same function objects (``keras.losses.mse is keras.losses.mean_squared_error``).
mse, mae, kld, mape = mean_squared_error, mean_absolute_error, kl_divergence, mean_absolute_percentage_error

_FUNCTIONS = (mean_squared_error, mean_absolute_error, mean_absolute_percentage_error, huber, log_cosh, poisson,
              kl_divergence, hinge, squared_hinge,
              categorical_hinge, categorical_crossentropy, binary_crossentropy, sparse_categorical_crossentropy)

__all__ = [f.__name__ for f in _FUNCTIONS] + ["mse", "mae", "kld", "mape"]


def name_of(function):
    """The built-in loss name of one of these functions (by identity), or None for anything else."""
    for candidate in _FUNCTIONS:
        if function is candidate:
            return candidate.__name__
    return None
