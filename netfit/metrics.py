"""Metrics reported during fit and evaluate: batch means, combined by batch size.

"accuracy" means what Keras means: which accuracy is decided by the loss
(argmax against one-hot rows, against integer labels, or p > 0.5).
"""
import numpy as np


def categorical_accuracy(y_pred, y):
    """Fraction of rows whose argmax matches the one-hot target's argmax."""
    return np.count_nonzero(y_pred.argmax(axis=-1) == y.argmax(axis=-1)) / len(y)


def sparse_categorical_accuracy(y_pred, y):
    """Fraction of rows whose argmax equals the integer label."""
    return np.count_nonzero(y_pred.argmax(axis=-1) == y) / len(y)


def binary_accuracy(y_pred, y):
    """Fraction of outputs on the right side of 0.5."""
    return float(np.mean((y_pred > 0.5) == (y > 0.5)))


def binary_accuracy_from_logits(y_pred, y):
    """Fraction of outputs on the right side of logit 0 (σ(z) > 0.5 exactly when z > 0)."""
    return float(np.mean((y_pred > 0) == (y > 0.5)))


def mean_squared_error(y_pred, y):
    """(1/nK) Σ (f − y)²."""
    return float(np.mean((y_pred - y) ** 2))


def mean_absolute_error(y_pred, y):
    """(1/nK) Σ |f − y|."""
    return float(np.mean(np.abs(y_pred - y)))


class R2Score:
    """R² = 1 − Σ_i (y_i − f_i)² / Σ_i (y_i − ȳ)², per output, then averaged over outputs.

    The coefficient of determination, as ``sklearn.metrics.r2_score`` computes it
    (uniform average over outputs; an output with constant targets scores 1 when
    fitted exactly and 0 otherwise). R² is not a mean over examples, so a batch
    mean of per-batch R² values would be wrong: besides ``__call__`` (R² of one
    batch) it offers ``partial`` / ``merge`` / ``result``, which
    :meth:`netfit.Sequential.evaluate` (and so every ``val_r2``) uses to combine
    batches exactly; the training ``r2`` that ``fit`` logs is, like every
    training metric there, a batch-size-weighted mean over the epoch's batches. The
    partial state per output is (n, ȳ, Σ(y − ȳ)², Σ(y − f)²), merged with Chan et
    al.'s pairwise update, so no Σy² − n ȳ² cancellation occurs.

    Shapes
    ------
    y_pred, y : (n, K) or (n,)

    Examples
    --------
    >>> r2 = R2Score()
    >>> y, f = np.array([1.0, 2.0, 3.0, 4.0]), np.array([1.0, 2.0, 3.0, 5.0])
    >>> r2(f, y)
    0.8
    >>> float(r2.result(r2.merge(r2.partial(f[:1], y[:1]), r2.partial(f[1:], y[1:]))))
    0.8
    """

    __name__ = "r2_score"

    def __call__(self, y_pred, y):
        return self.result(self.partial(y_pred, y))

    @staticmethod
    def partial(y_pred, y):
        """Sufficient statistics of one batch: array (4, K) of n, ȳ, Σ(y − ȳ)², Σ(y − f)²."""
        y = np.asarray(y, np.float64).reshape(len(y), -1)
        f = np.asarray(y_pred, np.float64).reshape(len(y), -1)
        mean = y.mean(axis=0)
        return np.stack([np.full(y.shape[1], float(len(y))), mean,
                         ((y - mean) ** 2).sum(axis=0), ((y - f) ** 2).sum(axis=0)])

    @staticmethod
    def merge(a, b):
        """Statistics of the union of two batches (Chan, Golub & LeVeque's pairwise formula)."""
        n = a[0] + b[0]
        delta = b[1] - a[1]
        return np.stack([n, a[1] + delta * b[0] / n, a[2] + b[2] + delta ** 2 * a[0] * b[0] / n, a[3] + b[3]])

    @staticmethod
    def result(stats):
        """R² from merged statistics, averaged over outputs."""
        sst, sse = stats[2], stats[3]
        with np.errstate(divide="ignore", invalid="ignore"):
            r2 = np.where(sst > 0, 1.0 - sse / np.where(sst > 0, sst, 1.0), np.where(sse == 0, 1.0, 0.0))
        return float(r2.mean())


r2_score = R2Score()

_ACCURACY_FOR_LOSS = {
    "categorical_crossentropy": categorical_accuracy,
    "sparse_categorical_crossentropy": sparse_categorical_accuracy,
    "binary_crossentropy": binary_accuracy,
}
_TABLE = {
    "mse": mean_squared_error, "mean_squared_error": mean_squared_error,
    "mae": mean_absolute_error, "mean_absolute_error": mean_absolute_error,
    "r2": r2_score, "r2_score": r2_score,
    "categorical_accuracy": categorical_accuracy,
    "sparse_categorical_accuracy": sparse_categorical_accuracy,
    "binary_accuracy": binary_accuracy,
}


def get(name, loss):
    """Return ``(log_name, fn)`` for a metric name, resolving "accuracy" from ``loss``.

    Examples
    --------
    >>> from netfit import losses
    >>> get("accuracy", losses.get("sparse_categorical_crossentropy"))[0]
    'accuracy'
    """
    if getattr(loss, "from_logits", False) and loss.name == "binary_crossentropy" and \
            name in ("accuracy", "acc", "binary_accuracy"):
        # Outputs are logits: cut at 0, not 0.5 (Keras's BinaryAccuracy keeps 0.5 unless told threshold=0).
        return ("binary_accuracy" if name == "binary_accuracy" else "accuracy"), binary_accuracy_from_logits
    if name in ("accuracy", "acc"):
        fn = _ACCURACY_FOR_LOSS.get(loss.name)
        if fn is None:
            raise ValueError(f"compile: metric 'accuracy' needs a classification loss, got loss "
                             f"{loss.name!r}; use metrics=['mae'] or ['mse'] for regression.")
        return "accuracy", fn
    if isinstance(name, str) and name in _TABLE:
        return name, _TABLE[name]
    raise ValueError(f"compile: unknown metric {name!r}; supported: accuracy, {', '.join(_TABLE)}.")
