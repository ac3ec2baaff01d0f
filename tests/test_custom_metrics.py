"""Metrics of your own: functions (Keras's MeanMetricWrapper), keras.metrics.Metric subclasses with Variables,
Keras's Mean and Sum, and saving a model compiled with them."""
import os

import numpy as np
import pytest

import netfit as nf
from netfit import keras, ops
from netfit.layers import Dense
from netfit.ops import Variable

RNG = np.random.default_rng(1)
X = RNG.standard_normal((30, 4))
LABELS = RNG.integers(0, 3, 30)
Y = RNG.standard_normal((30, 2))


def overshoot(y_true, y_pred):
    """Per-example mean of the positive part of the error: a metric function written with ops."""
    return ops.mean(ops.relu(y_pred - y_true), axis=-1)


class CategoricalTruePositives(keras.metrics.Metric):
    """Keras's guide (training_with_built_in_methods): how many examples were classified right."""

    def __init__(self, name="categorical_true_positives", **kwargs):
        super().__init__(name=name, **kwargs)
        self.true_positives = self.add_weight(name="ctp", initializer="zeros")

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_pred = np.argmax(np.asarray(y_pred), axis=1).reshape(-1, 1)
        values = ops.cast(np.asarray(y_true).reshape(-1, 1) == y_pred, "float32")
        if sample_weight is not None:
            values = ops.multiply(values, ops.cast(np.reshape(sample_weight, (-1, 1)), "float32"))
        self.true_positives.assign_add(ops.sum(values))

    def result(self):
        return self.true_positives

    def reset_state(self):
        self.true_positives.assign(0.0)


def regression(metrics):
    m = nf.Sequential([Dense(6, activation="tanh", input_shape=(4,)), Dense(2)], seed=0, dtype="float64")
    m.compile(optimizer="sgd", loss="mse", metrics=metrics)
    return m


def classifier(metrics):
    m = nf.Sequential([Dense(6, activation="tanh", input_shape=(4,)), Dense(3, activation="softmax")], seed=0)
    m.compile(optimizer="sgd", loss="sparse_categorical_crossentropy", metrics=metrics)
    return m


def test_function_metric_is_logged_under_its_name():
    m = regression([overshoot, "mae"])
    history = m.fit(X, Y, epochs=2, batch_size=7, verbose=0, validation_split=0.2)
    assert {"overshoot", "val_overshoot", "mae"} <= set(history.history)
    loss, value, mae = m.evaluate(X, Y, batch_size=7, verbose=0)
    expected = np.mean(np.maximum(m.predict(X, verbose=0) - Y, 0).mean(axis=1))
    assert value == pytest.approx(expected, rel=1e-12)                 # exact over batches of 7
    assert m.metrics[0][1].direction == "min"


def test_function_metric_with_per_entry_values_and_a_scalar():
    def squared(y_true, y_pred):
        return (y_pred - y_true) * (y_pred - y_true)                   # (n, K): averaged per example, as Keras

    def batch_max(y_true, y_pred):
        return np.max(np.abs(y_pred - y_true))                          # one number per batch
    m = regression([squared, batch_max])
    loss, sq, _ = m.evaluate(X, Y, verbose=0)
    assert sq == pytest.approx(loss, rel=1e-12)


def test_metric_subclass_keras_api():
    metric = CategoricalTruePositives()
    assert isinstance(metric.true_positives, Variable) and metric.variables == [metric.true_positives]
    y_pred = np.eye(3)[[0, 1, 2, 1]]
    assert metric(np.array([0, 1, 1, 1]), y_pred) == 3.0
    metric.update_state(np.array([0]), np.eye(3)[[0]], sample_weight=np.array([0.5]))
    assert metric.result() == 3.5
    fresh = metric.fresh()
    assert fresh.result() == 0.0 and metric.result() == 3.5          # its own Variable, reset
    fresh.update_state(np.array([2]), np.eye(3)[[2]])
    assert fresh.result() == 1.0 and metric.result() == 3.5
    metric.reset_state()
    assert metric.result() == 0.0
    assert metric.get_config() == {"name": "categorical_true_positives", "dtype": None}
    assert CategoricalTruePositives.from_config(metric.get_config()).name == metric.name

    class Forgot(keras.metrics.Metric):
        def __init__(self):
            self.v = self.add_weight(name="v")
    with pytest.raises(RuntimeError, match=r"super\(\)\.__init__"):
        Forgot()


def test_default_reset_state_zeroes_every_weight():
    class Counts(keras.metrics.Metric):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.seen = self.add_weight(name="seen", initializer="ones")
            self.hist = self.add_weight(name="hist", shape=(3,))

        def update_state(self, y_true, y_pred, sample_weight=None):
            self.seen.assign_add(len(y_true))
            self.hist.assign_add(np.bincount(np.asarray(y_true, int), minlength=3))

        def result(self):
            return self.seen / 1.0
    metric = Counts()
    assert metric.name == "counts" and metric.result() == 1.0            # the initializer's value at first
    metric.update_state(np.array([0, 2, 2]), None)
    np.testing.assert_array_equal(metric.hist.numpy(), [1, 0, 2])
    metric.reset_state()                                                  # Keras's default: zeros
    assert metric.result() == 0.0 and not metric.hist.numpy().any()


def test_metric_subclass_in_fit_and_evaluate():
    m = classifier([CategoricalTruePositives(), "accuracy"])
    history = m.fit(X, LABELS, epochs=2, batch_size=8, verbose=0)
    logged = history.history["categorical_true_positives"]
    assert len(logged) == 2 and all(float(v).is_integer() and 0 <= v <= 30 for v in logged)
    _, tp, accuracy = m.evaluate(X, LABELS, batch_size=8, verbose=0)
    assert tp == pytest.approx(accuracy * 30)
    assert m.metrics[0][1].result() == logged[-1]                        # evaluate streamed into a fresh copy


def test_keras_mean_sum_and_wrapper():
    mean = keras.metrics.Mean()
    mean.update_state([1.0, 2.0, 3.0])
    mean.update_state([4.0], sample_weight=[2.0])
    assert mean.result() == pytest.approx((1 + 2 + 3 + 8) / 5)
    total = keras.metrics.Sum()
    total.update_state(np.array([[1.0, 3.0], [2.0, 2.0]]))              # per-sample means, then the sum
    assert total.result() == 4.0
    wrapped = keras.metrics.MeanMetricWrapper(overshoot, name="over")
    y, f = RNG.standard_normal((5, 2)), RNG.standard_normal((5, 2))
    wrapped.update_state(y, f)
    assert wrapped.result() == pytest.approx(np.maximum(f - y, 0).mean(), rel=1e-12)
    assert keras.metrics.Metric is nf.ops.metric.Metric and nf.metrics.Mean is not keras.metrics.Mean


def test_mape_metric_by_name_and_class():
    y, f = RNG.uniform(1, 2, (6, 2)), RNG.uniform(1, 2, (6, 2))
    metric = keras.metrics.MeanAbsolutePercentageError()
    metric.update_state(y, f)
    assert metric.result() == pytest.approx(100 * np.mean(np.abs(y - f) / y), rel=1e-12)
    assert regression(["mape"]).metrics[0][0] == "mape"


def test_save_and_load_custom_metrics(tmp_path):
    path = os.path.join(tmp_path, "c.netfit")
    m = classifier([CategoricalTruePositives(), overshoot_labels])
    m.fit(X, LABELS, epochs=1, verbose=0)
    m.save(path)
    with pytest.raises(nf.io.ModelFileError, match="custom metric 'CategoricalTruePositives'.*custom_objects="):
        nf.load_model(path, custom_objects={"overshoot_labels": overshoot_labels})
    with pytest.raises(nf.io.ModelFileError, match="custom metric function 'overshoot_labels'"):
        nf.load_model(path, custom_objects={"CategoricalTruePositives": CategoricalTruePositives})
    again = nf.load_model(path, custom_objects={"CategoricalTruePositives": CategoricalTruePositives,
                                                "overshoot_labels": overshoot_labels})
    assert [name for name, _ in again.metrics] == ["categorical_true_positives", "overshoot_labels"]
    np.testing.assert_allclose(again.evaluate(X, LABELS, verbose=0), m.evaluate(X, LABELS, verbose=0), rtol=1e-6)


def overshoot_labels(y_true, y_pred):
    return 1.0 - ops.sum(y_pred * np.eye(3)[np.asarray(y_true).astype(int)], axis=-1)
