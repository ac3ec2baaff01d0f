"""Keras 3's ``keras.metrics.Metric`` for metrics of your own, with state in :class:`~netfit.ops.Variable` s.

Keras's guide writes a metric as a class::

    class CategoricalTruePositives(keras.metrics.Metric):
        def __init__(self, name="categorical_true_positives", **kwargs):
            super().__init__(name=name, **kwargs)
            self.true_positives = self.add_weight(name="ctp", initializer="zeros")

        def update_state(self, y_true, y_pred, sample_weight=None):
            ...
            self.true_positives.assign_add(...)

        def result(self):
            return self.true_positives

``add_weight`` returns a Variable (``assign``, ``assign_add``); ``reset_state`` sets every
one to zeros (Keras's default); ``result`` may return a Variable or an array, which
the history logs as a number. ``fresh`` (evaluate streams into a fresh copy) copies
each Variable, so a copy never shares state with the metric it came from. Keras's
``Mean``, ``Sum`` and ``MeanMetricWrapper`` are here too, written the same way.
"""
import copy

import numpy as np

from ..metrics.base import Metric as _NetfitMetric
from .value import Variable

__all__ = ["Metric", "Mean", "Sum", "MeanMetricWrapper"]


def _number(result):
    """A result as the history keeps it: a Variable's or traced value's array, a 0-d array as a float."""
    if getattr(result, "_traced_kind", None) is not None:
        result = np.array(result)
    if isinstance(result, np.ndarray) and result.ndim == 0:
        return float(result)
    return result


class Metric(_NetfitMetric):
    """Keras's ``keras.metrics.Metric(name=None, dtype=None)``: subclass it, add weights, write the three methods."""

    def __init__(self, name=None, dtype=None):
        if name is not None and (not isinstance(name, str) or not name):
            raise TypeError(f"{type(self).__name__}: expected name a non-empty str, got {name!r}.")
        self.name = name or _snake(type(self).__name__)
        self._dtype = dtype
        self._variables = []                # the state: Keras's metric.variables

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        own = cls.__dict__.get("result")
        if own is not None and not getattr(own, "_as_number", False):
            def result(self, _own=own):
                return _number(_own(self))
            result._as_number = True
            result.__doc__, result.__name__ = own.__doc__, "result"
            cls.result = result

    def _check_super_called(self):
        if "_variables" not in self.__dict__:
            raise RuntimeError(f"{type(self).__name__}: call super().__init__(name=name, **kwargs) in __init__ "
                               f"before add_weight.")

    @property
    def dtype(self):
        return self._dtype

    @property
    def variables(self):
        self._check_super_called()
        return list(self._variables)

    def add_variable(self, shape=(), initializer="zeros", dtype=None, aggregation="sum", name=None):
        """A state Variable of ``shape`` (not trained), set by ``initializer``; ``reset_state`` zeroes it."""
        self._check_super_called()
        var = Variable(initializer if initializer is not None else "zeros", shape=tuple(shape),
                       dtype=dtype or self._dtype or "float64", trainable=False, name=name)
        self._variables.append(var)
        return var

    def add_weight(self, shape=(), initializer="zeros", dtype=None, name=None):
        return self.add_variable(shape=shape, initializer=initializer, dtype=dtype, name=name)

    def reset_state(self):
        """Keras's default: every variable back to zeros."""
        for var in self.variables:
            var.assign(np.zeros(var.shape, var.dtype))

    def update_state(self, y_true, y_pred, sample_weight=None):
        raise NotImplementedError(f"{type(self).__name__}: a Metric subclass writes update_state(y_true, y_pred, "
                                  f"sample_weight=None).")

    def result(self):
        raise NotImplementedError(f"{type(self).__name__}: a Metric subclass writes result().")

    def __call__(self, *args, **kwargs):
        self.update_state(*args, **kwargs)
        return self.result()

    def get_config(self):
        return {"name": self.name, "dtype": self._dtype}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def fresh(self):
        """A copy with its own Variables, reset: the copy's updates never touch this metric's state."""
        self._check_super_called()
        memo = {}
        for var in self._variables:
            twin = copy.copy(var)
            twin._value = np.array(var.value)
            memo[id(var)] = twin
        other = copy.copy(self)
        other.__dict__ = {key: _swap(value, memo) for key, value in self.__dict__.items()}
        other._variables = [memo[id(v)] for v in self._variables]
        other.reset_state()
        return other

    def serialized(self):
        """How a model file names it: the class and its config (loading asks ``custom_objects`` for the class)."""
        return {"class_name": type(self).__name__, "config": self.get_config()}

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name}>"


def _swap(value, memo):
    """``value`` with the Variables in ``memo`` replaced by their copies (in lists, tuples and dicts too)."""
    if id(value) in memo:
        return memo[id(value)]
    if isinstance(value, list):
        return [_swap(v, memo) for v in value]
    if isinstance(value, tuple):
        return tuple(_swap(v, memo) for v in value)
    if isinstance(value, dict):
        return {k: _swap(v, memo) for k, v in value.items()}
    return value


def _snake(name):
    return "".join(f"_{c.lower()}" if c.isupper() and i else c.lower() for i, c in enumerate(name))


def _weighted(values, sample_weight):
    """Keras's reduce_to_samplewise_values: per-sample means of values, times the weights; and the weights."""
    values = np.asarray(values, dtype=np.float64)
    if values.ndim > 1:
        values = values.reshape(len(values), -1).mean(axis=1)
    if sample_weight is None:
        return values, np.ones_like(values)
    w = np.broadcast_to(np.asarray(sample_weight, dtype=np.float64).reshape(-1)
                        if values.ndim else np.asarray(sample_weight, dtype=np.float64), values.shape)
    return values * w, w


class Sum(Metric):
    """Keras's ``keras.metrics.Sum``: Σ of the values given (weighted by ``sample_weight``)."""

    direction = "min"

    def __init__(self, name="sum", dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.total = self.add_weight(name="total", initializer="zeros")

    def update_state(self, values, sample_weight=None):
        weighted, _ = _weighted(values, sample_weight)
        self.total.assign_add(weighted.sum())

    def result(self):
        return self.total


class Mean(Metric):
    """Keras's ``keras.metrics.Mean``: the (weighted) mean of every value given, Σ w v / Σ w."""

    direction = "min"

    def __init__(self, name="mean", dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.total = self.add_weight(name="total", initializer="zeros")
        self.count = self.add_weight(name="count", initializer="zeros")

    def update_state(self, values, sample_weight=None):
        weighted, w = _weighted(values, sample_weight)
        self.total.assign_add(weighted.sum())
        self.count.assign_add(w.sum())

    def result(self):
        count = float(self.count.value)
        return float(self.total.value) / count if count else 0.0


class MeanMetricWrapper(Mean):
    """Keras's ``keras.metrics.MeanMetricWrapper(fn, name=None, dtype=None, **kwargs)``: Mean of fn(y_true, y_pred)."""

    def __init__(self, fn, name=None, dtype=None, **kwargs):
        super().__init__(name=name or getattr(fn, "__name__", "mean_metric_wrapper"), dtype=dtype)
        self._fn, self._fn_kwargs = fn, kwargs
        self.direction = "max" if "acc" in self.name else "min"

    def update_state(self, y_true, y_pred, sample_weight=None):
        super().update_state(self._fn(y_true, y_pred, **self._fn_kwargs), sample_weight)

    def get_config(self):
        return {"name": self.name, "dtype": self._dtype, "fn": getattr(self._fn, "__name__", None),
                **self._fn_kwargs}

    @classmethod
    def from_config(cls, config):
        raise ValueError("MeanMetricWrapper.from_config: the function cannot come from a file; compile with the "
                         "function itself (metrics=[my_fn]) and pass it in custom_objects when loading.")
