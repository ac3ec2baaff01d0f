"""Regression metrics: MSE and MAE (means of per-example errors) and R² (merged sums of squares)."""
import numpy as np

from .base import Mean, Metric, _rows, _weights


def _squared_errors(y_true, y_pred):
    return ((_rows(y_pred) - _rows(y_true)) ** 2).mean(axis=1)


def _absolute_errors(y_true, y_pred):
    return np.abs(_rows(y_pred) - _rows(y_true)).mean(axis=1)


class MeanSquaredError(Mean):
    """(1/nK) Σ_i Σ_k (f_ik − y_ik)² over every example seen (Keras's class of that name)."""

    def __init__(self, name="mean_squared_error"):
        super().__init__(_squared_errors, name, "min")


class MeanAbsoluteError(Mean):
    """(1/nK) Σ_i Σ_k |f_ik − y_ik| over every example seen (Keras's class of that name)."""

    def __init__(self, name="mean_absolute_error"):
        super().__init__(_absolute_errors, name, "min")


def _absolute_percentage_errors(y_true, y_pred):
    y = _rows(y_true)
    return (100.0 * np.abs(y - _rows(y_pred)) / np.maximum(np.abs(y), 1e-7)).mean(axis=1)


class MeanAbsolutePercentageError(Mean):
    """(100/nK) Σ_i Σ_k |y_ik − f_ik| / max(|y_ik|, ε), ε = 1e-7, over every example seen (Keras's class)."""

    def __init__(self, name="mean_absolute_percentage_error"):
        super().__init__(_absolute_percentage_errors, name, "min")


def mean_squared_error(y_pred, y):
    """(1/nK) Σ (f − y)²."""
    return float(np.mean((y_pred - y) ** 2))


def mean_absolute_error(y_pred, y):
    """(1/nK) Σ |f − y|."""
    return float(np.mean(np.abs(y_pred - y)))


def r2_score(y_pred, y):
    """R² of one array pair, uniformly averaged over outputs (see :class:`R2Score`)."""
    metric = R2Score()
    metric.update_state(y, y_pred)
    return metric.result()


class R2Score(Metric):
    """R² = 1 − Σ_i w_i (y_i − f_i)² / Σ_i w_i (y_i − ȳ)², per output, then averaged over outputs.

    The coefficient of determination, as ``sklearn.metrics.r2_score`` computes
    it (uniform average over outputs; an output with constant targets scores 1
    when fitted exactly and 0 otherwise; ``sample_weight`` as there). R² is not a
    mean over examples, so a mean of per-batch R² would be wrong. The state per
    output is (W, ȳ, Σw(y − ȳ)², Σw(y − f)²), merged batch by batch with Chan,
    Golub & LeVeque's pairwise update, so no Σy² − W ȳ² cancellation occurs
    (Keras's ``R2Score`` keeps Σy and Σy², which cancels for large means).
    Over fewer than 2 examples R² is not defined (the targets' variance is a
    statistic over one value): the result is NaN, as scikit-learn's (which warns),
    not a 0 or 1 that would read as a score.

    Shapes
    ------
    y_true, y_pred : (n, K) or (n,)

    Examples
    --------
    >>> r2 = R2Score()
    >>> y, f = np.array([1.0, 2.0, 3.0, 4.0]), np.array([1.0, 2.0, 3.0, 5.0])
    >>> r2.update_state(y[:1], f[:1]); r2.update_state(y[1:], f[1:]); r2.result()
    0.8
    """

    default_name = "r2"

    def reset_state(self):
        self.stats = None
        self.count = 0

    def update_state(self, y_true, y_pred, sample_weight=None):
        y = _rows(y_true).astype(np.float64, copy=False)
        self.count += len(y)
        f = _rows(y_pred).astype(np.float64, copy=False).reshape(y.shape)
        w = np.ones(len(y)) if sample_weight is None else _weights(sample_weight, len(y), self.name)
        weight = w.sum()
        if weight == 0:
            return
        mean = w @ y / weight
        part = np.stack([np.full(y.shape[1], weight), mean, w @ (y - mean) ** 2, w @ (y - f) ** 2])
        if self.stats is None:
            self.stats = part
            return
        a = self.stats
        n = a[0] + part[0]
        delta = part[1] - a[1]
        self.stats = np.stack([n, a[1] + delta * part[0] / n, a[2] + part[2] + delta ** 2 * a[0] * part[0] / n,
                               a[3] + part[3]])

    def result(self):
        if self.stats is None:
            return 0.0
        if self.count < 2:                             # one example: its variance is 0 by construction
            return float("nan")
        sst, sse = self.stats[2], self.stats[3]
        with np.errstate(divide="ignore", invalid="ignore"):
            r2 = np.where(sst > 0, 1.0 - sse / np.where(sst > 0, sst, 1.0), np.where(sse == 0, 1.0, 0.0))
        return float(r2.mean())
