"""The metric contract (update_state / result / reset_state) and the weighted mean of per-example values."""
import copy
import numbers

import numpy as np

from .. import backend


def _rows(a):
    a = backend.get_array_module(a).asarray(a)
    return a.reshape(len(a), -1)


def _labels(y_true, y_pred):
    """Integer class of each row, from integer labels (n,) / (n, 1) or one-hot rows (n, K)."""
    y_true = backend.get_array_module(y_pred).asarray(y_true)
    if y_true.ndim == 1 or (y_true.shape[-1] == 1 and y_pred.shape[-1] > 1):
        return y_true.reshape(len(y_true)).astype(np.intp, copy=False)
    return y_true.argmax(axis=-1)


def _check_threshold(value, where, name="threshold"):
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not 0 <= value <= 1:
        raise ValueError(f"{where}: expected {name} one number in [0, 1], got {value!r}.")
    return float(value)


class Metric:
    """Base of the stateful metrics: ``update_state`` / ``result`` / ``reset_state``, as in Keras.

    ``direction`` is "max" when larger is better (what ``mode="auto"`` of the
    callbacks reads), "min" otherwise.
    """

    default_name, direction = "metric", "max"
    #: True when update_state runs on device arrays (CuPy) as written; others get host copies (docs/gpu.md).
    runs_on_gpu = False

    def __init__(self, name=None):
        if name is not None and (not isinstance(name, str) or not name):
            raise TypeError(f"{type(self).__name__}: expected name a non-empty str, got {name!r}.")
        self.name = name or self.default_name
        self.reset_state()

    def reset_state(self):
        raise NotImplementedError

    def update_state(self, y_true, y_pred, sample_weight=None):
        raise NotImplementedError

    def result(self):
        raise NotImplementedError

    def get_config(self):
        """The constructor's arguments, for saving (``type(m)(**m.get_config())`` rebuilds ``m``)."""
        return {"name": self.name}

    def fresh(self):
        """A copy with the same settings and an empty state (``evaluate`` streams into one)."""
        other = copy.copy(self)
        other.reset_state()
        return other

    def __repr__(self):
        return f"<metric {self.name}>"


def _weights(sample_weight, n, where):
    w = np.asarray(sample_weight, np.float64).reshape(-1)
    if w.shape != (n,) or not np.isfinite(w).all() or (w < 0).any():
        raise ValueError(f"{where}: expected sample_weight {n} non-negative finite numbers, one per example, "
                         f"got shape {np.shape(sample_weight)}.")
    return w


class Mean(Metric):
    """Σ_i w_i v_i / Σ_i w_i over every example seen, for per-example values v_i = fn(y_true_i, f_i).

    The sufficient statistics are the two sums. Keras's ``MeanMetricWrapper``.
    On a GPU they are summed there (0-d device arrays), read once by ``result``.
    """

    runs_on_gpu = True

    def __init__(self, fn, name, direction="max"):
        self._fn, self.direction = fn, direction
        super().__init__(name)

    def reset_state(self):
        self.total, self.count = 0.0, 0.0

    def update_state(self, y_true, y_pred, sample_weight=None):
        values = self._fn(y_true, backend.get_array_module(y_pred).asarray(y_pred))
        if sample_weight is not None:
            w = _weights(sample_weight, len(values), self.name)
            self.total += float(values @ w)
            self.count += float(w.sum())
        elif values.dtype == bool:
            self.total += np.count_nonzero(values)       # an exact integer count (on a GPU, summed there)
            self.count += len(values)
        else:
            self.total += backend.scalar(values.sum(dtype=np.float64))
            self.count += len(values)

    def result(self):
        return self.total / self.count if self.count else 0.0


class FunctionMean(Mean):
    """A metric function of your own, ``fn(y_true, y_pred)`` -> per-example values: Keras's ``MeanMetricWrapper``.

    Values of shape (n, ...) are averaged over each example's entries first (Keras's
    per-sample values), a scalar counts as one value; the result is their (weighted)
    mean over every example seen. Logged under the function's ``__name__``; a model
    file names it as Keras's ``{"class_name": "function", "config": name}``.
    """

    runs_on_gpu = False

    def __init__(self, fn, name=None):
        self.fn = fn
        name = name or getattr(fn, "__name__", None) or type(fn).__name__
        super().__init__(self._per_example, name, "max" if "acc" in name else "min")

    def _per_example(self, y_true, y_pred):
        values = np.asarray(self.fn(y_true, y_pred))
        if values.dtype.kind not in "biuf":
            raise TypeError(f"metric {self.name!r}: expected the function to return numbers, got dtype "
                            f"{values.dtype}.")
        if values.ndim == 0:
            return values.reshape(1).astype(np.float64)
        return values.reshape(len(values), -1).mean(axis=1, dtype=np.float64)

    def serialized(self):
        return {"class_name": "function", "config": self.name}

    def __repr__(self):
        return f"<metric {self.name} (function)>"


class LossMean(Metric):
    """The mean of one output's loss over every example seen: Keras's ``<output>_loss`` of a model with several outputs.

    Each batch adds ``n · R_k(batch)`` (R_k is a batch mean, :mod:`netfit.losses.base`), so the result is the
    loss over all examples, whatever the batch size. Unweighted by ``loss_weights``, as Keras reports it.
    """

    direction = "min"

    def __init__(self, loss, name="loss"):
        self.loss = loss
        super().__init__(name)

    def reset_state(self):
        self.total, self.count = 0.0, 0

    def update_state(self, y_true, y_pred, sample_weight=None):
        n = len(y_pred)
        self.total += float(backend.scalar(self.loss.value(y_pred, y_true))) * n
        self.count += n

    def result(self):
        return self.total / self.count if self.count else 0.0

    def get_config(self):
        return {"name": self.name, "loss": self.loss.name}


def update(metric, y_true, y_pred):
    """``metric.update_state(y_true, y_pred)``; a metric without GPU code gets host copies of device arrays
    (which waits for the GPU once per batch: docs/gpu.md)."""
    if not metric.runs_on_gpu and not backend.on_host(y_pred):
        y_true, y_pred = backend.to_host(y_true), backend.to_host(y_pred)
    metric.update_state(y_true, y_pred)
