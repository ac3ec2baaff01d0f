"""Accuracies: categorical, sparse, binary and top-k, each a weighted mean of per-example hits."""
import numbers

import numpy as np

from .. import backend
from .base import Mean, _check_threshold, _labels, _rows


def _categorical_hits(y_true, y_pred):
    return y_pred.argmax(axis=-1) == backend.get_array_module(y_pred).asarray(y_true).argmax(axis=-1)


def _sparse_hits(y_true, y_pred):
    return y_pred.argmax(axis=-1) == backend.get_array_module(y_pred).asarray(y_true).reshape(len(y_pred))


# -- the plain functions (prediction first, one batch at a time) ----------------------------------

def categorical_accuracy(y_pred, y):
    """Fraction of rows whose argmax matches the one-hot target's argmax."""
    return np.count_nonzero(_categorical_hits(y, y_pred)) / len(y)


def sparse_categorical_accuracy(y_pred, y):
    """Fraction of rows whose argmax equals the integer label."""
    return np.count_nonzero(_sparse_hits(y, y_pred)) / len(y)


def binary_accuracy(y_pred, y):
    """Fraction of outputs on the right side of 0.5."""
    return float(np.mean((y_pred > 0.5) == (y > 0.5)))


class BinaryAccuracy(Mean):
    """Fraction of outputs on the right side of ``threshold``: mean_k [(f_k > t) = (y_k > 0.5)] per example."""

    def __init__(self, name="binary_accuracy", threshold=0.5):
        self.threshold = _check_threshold(threshold, "BinaryAccuracy")
        super().__init__(self._hits, name)

    def _hits(self, y_true, y_pred):
        return ((_rows(y_pred) > self.threshold) == (_rows(y_true) > 0.5)).mean(axis=1)

    def get_config(self):
        return {"name": self.name, "threshold": self.threshold}


class TopKCategoricalAccuracy(Mean):
    """Fraction of rows whose target class is among the k largest outputs.

    Ties count as in TensorFlow's ``in_top_k``: the target is in the top k when
    fewer than k outputs are strictly larger than its own. Targets may be one-hot
    rows or integer labels (so it serves as ``sparse_top_k_categorical_accuracy`` too).

    Shapes
    ------
    y_true : (n, K) one-hot or (n,) labels;  y_pred : (n, K)
    """

    def __init__(self, k=5, name="top_k_categorical_accuracy"):
        if isinstance(k, bool) or not isinstance(k, numbers.Integral) or k < 1:
            raise ValueError(f"TopKCategoricalAccuracy: expected k a positive integer, got {k!r}.")
        self.k = int(k)
        super().__init__(self._hits, name)

    def _hits(self, y_true, y_pred):
        target = y_pred[backend.get_array_module(y_pred).arange(len(y_pred)), _labels(y_true, y_pred)]
        return (y_pred > target[:, None]).sum(axis=1) < self.k

    def get_config(self):
        return {"k": self.k, "name": self.name}


class CategoricalAccuracy(Mean):
    """Fraction of rows whose argmax matches the one-hot target's argmax (Keras's class of that name)."""

    def __init__(self, name="categorical_accuracy"):
        super().__init__(_categorical_hits, name)


def _hits_by_shape(y_true, y_pred):
    """Keras 3's choice for metrics=["accuracy"] without a loss to go by: one-hot rows, class labels or 0/1."""
    y_true = backend.get_array_module(y_pred).asarray(y_true)
    if y_pred.shape[-1] == 1:
        return (y_pred.reshape(len(y_pred)) > 0.5) == (y_true.reshape(len(y_pred)) > 0.5)
    if y_true.ndim == y_pred.ndim and y_true.shape[-1] == y_pred.shape[-1]:
        return _categorical_hits(y_true, y_pred)
    return _sparse_hits(y_true, y_pred)


class ShapeAccuracy(Mean):
    """"accuracy" of a model whose loss is its own ``compute_loss``: the kind read from the targets' shape
    (one-hot rows: categorical; labels: sparse categorical; one output: binary at 0.5)."""

    def __init__(self, name="accuracy"):
        super().__init__(_hits_by_shape, name)


class SparseCategoricalAccuracy(Mean):
    """Fraction of rows whose argmax equals the integer label (Keras's class of that name)."""

    def __init__(self, name="sparse_categorical_accuracy"):
        super().__init__(_sparse_hits, name)


class SparseTopKCategoricalAccuracy(TopKCategoricalAccuracy):
    """:class:`TopKCategoricalAccuracy` under Keras's sparse name (it takes integer labels as well)."""

    def __init__(self, k=5, name="sparse_top_k_categorical_accuracy"):
        super().__init__(k, name)
