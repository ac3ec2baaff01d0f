"""Regression losses on the error e = f − y: squared and absolute error, Huber, log-cosh, Poisson."""
import numpy as np

from .. import backend
from .base import _EPS, Loss, _non_negative, _row_mean


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
        return backend.scalar(np.vdot(diff, diff) / diff.size)

    def gradient(self, y_pred, y, fused=False):
        return (y_pred - y) * (2.0 / y_pred.size)

    def per_example(self, y_pred, y, logits=None):
        diff = (y_pred - y).reshape(len(y_pred), -1)
        return np.einsum("ij,ij->i", diff, diff) / diff.shape[1]                # ℓ_i = (1/K) Σ_k (f_ik − y_ik)²


class MeanAbsoluteError(Loss):
    """R = (1 / nK) Σ_i Σ_k |f_k(x_i) − y_ik|; δ = sign(f − y) / nK (0 where f = y).

    Robust to outliers in y: each example pulls with the same force, however
    far off. Keras's ``mean_absolute_error`` ("mae").

    Shapes
    ------
    y_pred, y : (n, K)
    """

    name = "mean_absolute_error"

    def gradient(self, y_pred, y, fused=False):
        return np.sign(y_pred - y) * (1.0 / y_pred.size)                  # ∂|e|/∂f = sign(e)

    def per_example(self, y_pred, y, logits=None):
        return _row_mean(np.abs(y_pred - y))                                # ℓ_i = (1/K) Σ_k |e_ik|


class MeanAbsolutePercentageError(Loss):
    """R = (100 / nK) Σ_i Σ_k |y_ik − f_ik| / max(|y_ik|, ε) (Keras's ``mean_absolute_percentage_error``, "mape").

    δ = 100 · sign(f − y) / (max(|y|, ε) · nK) (0 where f = y). ε = 1e-7, Keras's
    epsilon, keeps a target of 0 from dividing by zero (its error then counts 10⁹ %).

    Shapes
    ------
    y_pred, y : (n, K)
    """

    name = "mean_absolute_percentage_error"

    def gradient(self, y_pred, y, fused=False):
        scale = 100.0 / (np.maximum(np.abs(y), _EPS) * y_pred.size)
        return (np.sign(y_pred - y) * scale).astype(y_pred.dtype, copy=False)

    def per_example(self, y_pred, y, logits=None):
        return _row_mean(100.0 * np.abs(y - y_pred) / np.maximum(np.abs(y), _EPS))   # ℓ_i = (100/K) Σ_k |e|/|y|


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

    def gradient(self, y_pred, y, fused=False):
        return np.tanh(y_pred - y) * (1.0 / y_pred.size)                  # d log cosh(e)/de = tanh(e)

    def per_example(self, y_pred, y, logits=None):
        e = y_pred - y
        return _row_mean(e + np.logaddexp(0.0, -2.0 * e) - np.log(2.0))     # ℓ_i = (1/K) Σ_k log cosh(e_ik)


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

    def gradient(self, y_pred, y, fused=False):
        return (1.0 - y / (y_pred + _EPS)) * (1.0 / y_pred.size)          # ∂/∂f [f − y log(f + ε)]

    def per_example(self, y_pred, y, logits=None):
        return _row_mean(y_pred - y * np.log(y_pred + _EPS))               # ℓ_i = (1/K) Σ_k (f − y log f)
