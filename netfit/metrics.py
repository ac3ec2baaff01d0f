"""Metrics reported during fit and evaluate: batch means, combined by batch size.

"accuracy" means what Keras means: which accuracy is decided by the loss
(argmax against one-hot rows, against integer labels, or p > 0.5).
"""
import numpy as np


def categorical_accuracy(y_pred, y):
    """Fraction of rows whose argmax matches the one-hot target's argmax."""
    return float(np.mean(y_pred.argmax(axis=-1) == y.argmax(axis=-1)))


def sparse_categorical_accuracy(y_pred, y):
    """Fraction of rows whose argmax equals the integer label."""
    return float(np.mean(y_pred.argmax(axis=-1) == y))


def binary_accuracy(y_pred, y):
    """Fraction of outputs on the right side of 0.5."""
    return float(np.mean((y_pred > 0.5) == (y > 0.5)))


def mean_squared_error(y_pred, y):
    """(1/nK) Σ (f − y)²."""
    return float(np.mean((y_pred - y) ** 2))


def mean_absolute_error(y_pred, y):
    """(1/nK) Σ |f − y|."""
    return float(np.mean(np.abs(y_pred - y)))


_ACCURACY_FOR_LOSS = {
    "categorical_crossentropy": categorical_accuracy,
    "sparse_categorical_crossentropy": sparse_categorical_accuracy,
    "binary_crossentropy": binary_accuracy,
}
_TABLE = {
    "mse": mean_squared_error, "mean_squared_error": mean_squared_error,
    "mae": mean_absolute_error, "mean_absolute_error": mean_absolute_error,
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
    if name in ("accuracy", "acc"):
        fn = _ACCURACY_FOR_LOSS.get(loss.name)
        if fn is None:
            raise ValueError(f"compile: metric 'accuracy' needs a classification loss, got loss "
                             f"{loss.name!r}; use metrics=['mae'] or ['mse'] for regression.")
        return "accuracy", fn
    if isinstance(name, str) and name in _TABLE:
        return name, _TABLE[name]
    raise ValueError(f"compile: unknown metric {name!r}; supported: accuracy, {', '.join(_TABLE)}.")
