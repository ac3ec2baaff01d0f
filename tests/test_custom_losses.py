"""Custom losses (functions, keras.losses.Loss subclasses), built-in losses and activations on traced values.

Every δ is checked in float64 against central differences: the custom loss's δ = ∂R/∂y_pred
from its tape run, a built-in loss object's one tape entry (its written-out gradient), an
activation's entry (its written-out backward), and a model's weight gradients through a
user activation function.
"""
import os

import numpy as np
import pytest

import netfit as nf
from netfit import gradcheck, keras, ops
from netfit.layers import Dense
from netfit.losses import functions
from netfit.ops import GradientError, Tape, Value
from netfit.ops.loss import CustomLoss

from ops_checks import check_gradient, numeric_gradients

RNG = np.random.default_rng(0)
X = RNG.standard_normal((24, 3))
Y = RNG.standard_normal((24, 2))


def softmax(z):
    """A tiny local softmax from the core ops (exp, sum, divide)."""
    e = ops.exp(z - np.max(np.asarray(z), axis=-1, keepdims=True))
    return e / ops.sum(e, axis=-1, keepdims=True)


def my_mse(y_true, y_pred):
    d = y_pred - y_true
    return ops.mean(d * d, axis=-1)


def log_cosh_ops(y_true, y_pred):
    d = y_pred - y_true
    return ops.mean(ops.log((ops.exp(d) + ops.exp(-d)) / 2.0), axis=-1)


def model(loss, activation="tanh", metrics=None, dtype="float64", out=2, last=None):
    m = nf.Sequential([Dense(5, activation=activation, input_shape=(3,)), Dense(out, activation=last)], seed=3,
                      dtype=dtype)
    m.compile(optimizer="sgd", loss=loss, metrics=metrics)
    return m


def delta_vs_numeric(loss, f, y, sample_weight=None):
    """The loss's δ and central differences of its R, both at f."""
    if sample_weight is None:
        delta = loss.gradient(f.copy(), y)
        value = lambda a: loss.value(a, y)                                      # noqa: E731
    else:
        delta = loss.weighted_gradient(f.copy(), y, sample_weight)
        value = lambda a: loss.weighted_value(a, y, sample_weight)              # noqa: E731
    numeric = numeric_gradients(lambda a: np.asarray(value(a)), [f], np.ones(()))[0]
    return delta, numeric


# -- 1. loss functions of your own ----------------------------------------------------------------------
@pytest.mark.parametrize("fn", [my_mse, log_cosh_ops,
                                lambda t, p: ops.sum(ops.exp(p) * t),                       # a scalar
                                lambda t, p: (p - t) * (p - t) * 3.0])                      # (n, K) values
def test_custom_loss_delta_is_central_differences(fn):
    f, y = RNG.standard_normal((6, 2)), RNG.standard_normal((6, 2))
    delta, numeric = delta_vs_numeric(CustomLoss(fn), f, y)
    np.testing.assert_allclose(delta, numeric, rtol=1e-6, atol=1e-8)


def test_custom_loss_with_sample_weight_is_keras_sum_over_batch_size():
    f, y, w = RNG.standard_normal((6, 2)), RNG.standard_normal((6, 2)), RNG.uniform(0.1, 2.0, 6)
    loss = CustomLoss(my_mse)
    assert loss.weighted_value(f, y, w) == pytest.approx(np.mean(w * np.mean((f - y) ** 2, axis=1)), rel=1e-12)
    delta, numeric = delta_vs_numeric(loss, f, y, w)
    np.testing.assert_allclose(delta, numeric, rtol=1e-6, atol=1e-8)
    full = CustomLoss(lambda t, p: (p - t) * (p - t))              # (n, K): Σ w ℓ / (n K)
    assert full.weighted_value(f, y, w) == pytest.approx(np.sum(w[:, None] * (f - y) ** 2) / f.size, rel=1e-12)


def test_function_mse_gives_the_builtin_gradients():
    loss_a, grads_a = model("mse").loss_and_gradients(X, Y)
    loss_b, grads_b = model(my_mse).loss_and_gradients(X, Y)
    assert loss_b == pytest.approx(loss_a, rel=1e-14)
    for a, b in zip(grads_a, grads_b):
        np.testing.assert_allclose(b, a, rtol=1e-12, atol=1e-15)
    w = RNG.uniform(0.5, 2.0, len(X))
    for a, b in zip(model("mse").loss_and_gradients(X, Y, sample_weight=w)[1],
                    model(my_mse).loss_and_gradients(X, Y, sample_weight=w)[1]):
        np.testing.assert_allclose(b, a, rtol=1e-12, atol=1e-15)


def test_custom_loss_model_gradients_are_central_differences():
    errors = gradcheck.check_model(model(log_cosh_ops), X[:8], Y[:8])
    assert max(errors.values()) < 1e-6


def test_fit_with_a_custom_loss_lowers_it():
    m = model(log_cosh_ops, dtype="float32")
    m.compile(optimizer=nf.optimizers.Adam(0.05), loss=log_cosh_ops)
    history = m.fit(X, Y, epochs=15, batch_size=8, verbose=0)
    assert history.history["loss"][-1] < 0.8 * history.history["loss"][0]
    assert m.loss.name == "log_cosh_ops"


def test_integer_labels_reach_the_function_as_keras_gives_them():
    labels = RNG.integers(0, 3, len(X))

    def my_sparse(y_true, y_pred):
        assert y_true.shape == (len(y_pred),)                        # as given: no one-hot, no reshape
        onehot = np.eye(3)[np.asarray(y_true).astype(int)]
        return -ops.sum(onehot * ops.log(y_pred), axis=-1)
    ours = model(my_sparse, out=3, last="softmax")
    builtin = model("sparse_categorical_crossentropy", out=3, last="softmax")
    (la, ga), (lb, gb) = builtin.loss_and_gradients(X, labels), ours.loss_and_gradients(X, labels)
    assert lb == pytest.approx(la, rel=1e-12)
    for a, b in zip(ga, gb):
        np.testing.assert_allclose(b, a, rtol=1e-9, atol=1e-12)


def test_a_loss_that_does_not_depend_on_y_pred_is_refused_before_any_step():
    def constant_loss(y_true, y_pred):
        return ops.mean(y_true * 0.0 + 1.0, axis=-1)
    m = model(constant_loss)
    before = [w.copy() for w in m.get_weights()]
    with pytest.raises(ValueError, match="'constant_loss' does not depend on y_pred"):
        m.fit(X, Y, epochs=1, verbose=0)
    for a, b in zip(before, m.get_weights()):
        np.testing.assert_array_equal(a, b)

    def numpy_loss(y_true, y_pred):                  # np.asarray takes the value, as x.numpy(): no gradient
        return np.mean((np.asarray(y_pred) - y_true) ** 2, axis=-1)
    with pytest.raises(ValueError, match="numpy_loss.*np.asarray"):
        model(numpy_loss).loss_and_gradients(X, Y)

    def numpy_function_loss(y_true, y_pred):         # NumPy's functions run as the ops of their names
        return np.mean(np.square(y_pred - y_true), axis=-1)
    check = model(numpy_function_loss)
    _, grads = check.loss_and_gradients(X, Y)
    assert any(np.abs(g).max() > 0 for g in grads)


def test_compile_refuses_a_loss_class_and_keeps_builtin_names():
    with pytest.raises(TypeError, match=r"instantiate it: loss=MeanSquaredError\(\)"):
        model(nf.losses.MeanSquaredError)
    assert type(model(keras.losses.hinge).loss) is nf.losses.Hinge        # Keras's function: the built-in


# -- 2. keras.losses.Loss subclasses ----------------------------------------------------------------------
class ScaledHuber(keras.losses.Loss):
    def __init__(self, delta=1.0, scale=2.0, name="scaled_huber", **kwargs):
        super().__init__(name=name, **kwargs)
        self.delta, self.scale = delta, scale

    def call(self, y_true, y_pred):
        e = y_pred - y_true
        quad = 0.5 * e * e
        small = np.abs(np.asarray(e)) <= self.delta                   # a constant mask, from the data
        lin = self.delta * (ops.relu(e) + ops.relu(-e)) - 0.5 * self.delta ** 2
        return self.scale * ops.mean(quad * small + lin * (1.0 - small), axis=-1)

    def get_config(self):
        return {**super().get_config(), "delta": self.delta, "scale": self.scale}


def test_loss_subclass_keras_api():
    loss = ScaledHuber(delta=0.5)
    assert loss.name == "scaled_huber" and loss.reduction == "sum_over_batch_size"
    f, y = RNG.standard_normal((6, 2)), RNG.standard_normal((6, 2))
    expected = 2.0 * nf.losses.Huber(0.5).per_example(f, y)
    assert float(loss(y, f)) == pytest.approx(expected.mean(), rel=1e-12)
    w = RNG.uniform(0, 1, 6)
    assert float(loss(y, f, sample_weight=w)) == pytest.approx(np.mean(w * expected), rel=1e-12)
    assert float(ScaledHuber(delta=0.5, reduction="sum")(y, f)) == pytest.approx(expected.sum(), rel=1e-12)
    np.testing.assert_allclose(ScaledHuber(delta=0.5, reduction="none")(y, f), expected, rtol=1e-12)
    again = ScaledHuber.from_config(loss.get_config())
    assert again.get_config() == {"name": "scaled_huber", "reduction": "sum_over_batch_size", "delta": 0.5,
                                  "scale": 2.0}

    class Plain(keras.losses.Loss):
        def call(self, y_true, y_pred):
            return ops.mean((y_pred - y_true) * (y_pred - y_true), axis=-1)
    assert Plain().name == "plain"


def test_loss_subclass_trains_with_its_tape_gradient():
    loss = ScaledHuber(delta=0.5)
    f, y = RNG.standard_normal((6, 2)), RNG.standard_normal((6, 2))
    delta, numeric = delta_vs_numeric(CustomLoss(loss), f, y)
    np.testing.assert_allclose(delta, numeric, rtol=1e-6, atol=1e-8)
    m = model(loss)
    assert m.loss.name == "scaled_huber"
    huber = model(nf.losses.Huber(0.5))
    for a, b in zip(huber.loss_and_gradients(X, Y)[1], m.loss_and_gradients(X, Y)[1]):
        np.testing.assert_allclose(b, 2.0 * a, rtol=1e-12, atol=1e-15)


def test_builtin_losses_keep_their_own_names_and_configs():
    assert nf.losses.MeanSquaredError().get_config() == {}
    assert nf.losses.CategoricalCrossentropy(from_logits=True).get_config() == {"from_logits": True}
    assert nf.losses.serialize(nf.losses.Huber(2.0)) == "huber:2.0"
    assert nf.losses.MeanSquaredError().name == "mean_squared_error"


# -- 3. built-in losses and Keras's loss functions on traced values ------------------------------------------
def _probabilities(shape, seed):
    p = np.random.default_rng(seed).uniform(0.1, 1.0, shape)
    return p / p.sum(axis=-1, keepdims=True)


CASES = [
    (nf.losses.MeanSquaredError(), lambda f: RNG.standard_normal(f.shape)),
    (nf.losses.MeanAbsoluteError(), lambda f: RNG.standard_normal(f.shape)),
    (nf.losses.Huber(0.7), lambda f: RNG.standard_normal(f.shape)),
    (nf.losses.LogCosh(), lambda f: RNG.standard_normal(f.shape)),
    (nf.losses.MeanAbsolutePercentageError(), lambda f: RNG.standard_normal(f.shape)),
    (nf.losses.CategoricalCrossentropy(from_logits=True), lambda f: _probabilities(f.shape, 1)),
    (nf.losses.SparseCategoricalCrossentropy(from_logits=True), lambda f: RNG.integers(0, f.shape[1], len(f))),
    (nf.losses.BinaryCrossentropy(from_logits=True), lambda f: RNG.integers(0, 2, f.shape).astype(float)),
    (nf.losses.Hinge(), lambda f: RNG.choice([-1.0, 1.0], f.shape)),
]


@pytest.mark.parametrize("loss,target", CASES, ids=lambda c: getattr(c, "name", ""))
def test_builtin_loss_object_on_traced_values(loss, target):
    f = RNG.standard_normal((5, 3))
    y = target(f)
    check_gradient(lambda p: loss(y, p), f, rtol=1e-6, atol=1e-8)
    with Tape() as tape:
        v = Value(f, tape)
        r = loss(y, v)
    assert len(tape.entries) == 1 and tape.entries[0].op.name == "loss"              # one entry
    assert float(r.data) == pytest.approx(float(loss(y, f)), rel=1e-12)              # arrays: the plain value
    w = RNG.uniform(0.1, 2.0, len(f))
    check_gradient(lambda p: loss(y, p, sample_weight=w), f, rtol=1e-6, atol=1e-8)


def test_builtin_loss_on_arrays_is_keras_value():
    f, y = RNG.standard_normal((5, 1)), RNG.standard_normal(5)                      # (n,) targets, (n, 1) outputs
    assert nf.losses.MeanSquaredError()(y, f) == pytest.approx(np.mean((f[:, 0] - y) ** 2), rel=1e-12)
    p = _probabilities((4, 3), 2)
    assert isinstance(nf.losses.KLDivergence()(p, p), np.floating)


def test_knowledge_distillation_losses_on_traced_student():
    teacher, labels, temperature = RNG.standard_normal((6, 4)), RNG.integers(0, 4, 6), 3.0
    student_loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    distill = keras.losses.KLDivergence()

    def total(s):
        hard = student_loss(labels, s)
        soft = distill(softmax(teacher / temperature), softmax(s / temperature)) * temperature ** 2
        return 0.1 * hard + 0.9 * soft
    check_gradient(total, RNG.standard_normal((6, 4)), rtol=1e-6, atol=1e-8)

    def traced_teacher(t, s):                     # Keras 3 trains the teacher too: KL's target has a gradient
        return distill(softmax(t), softmax(s))
    check_gradient(traced_teacher, teacher, RNG.standard_normal((6, 4)), rtol=1e-6, atol=1e-8)

    def traced_target(t, s):                      # a loss whose written-out gradient is for y_pred only
        return keras.losses.MeanSquaredError()(t, s)
    with pytest.raises(GradientError, match="mean_squared_error.*stop_gradient"):
        check_gradient(traced_target, teacher, RNG.standard_normal((6, 4)))


@pytest.mark.parametrize("fn,target", [
    (functions.mean_squared_error, lambda f: RNG.standard_normal(f.shape)),
    (functions.hinge, lambda f: RNG.choice([0.0, 1.0], f.shape)),
    (functions.huber, lambda f: RNG.standard_normal(f.shape)),
    (functions.mean_absolute_percentage_error, lambda f: RNG.standard_normal(f.shape)),
    (functions.categorical_crossentropy, lambda f: _probabilities(f.shape, 3)),
    (functions.sparse_categorical_crossentropy, lambda f: RNG.integers(0, f.shape[-1], f.shape[:-1])),
], ids=lambda c: getattr(c, "__name__", ""))
def test_keras_loss_functions_on_traced_values(fn, target):
    f = RNG.uniform(0.1, 1.0, (2, 3, 4))
    y = target(f)
    check_gradient(lambda p: fn(y, p), f, rtol=1e-6, atol=1e-8)
    with Tape() as tape:
        out = fn(y, Value(f, tape))
    np.testing.assert_allclose(out.data, fn(y, f), rtol=1e-12)


# -- 4. activations on traced values, and activations of your own ------------------------------------------------
@pytest.mark.parametrize("name", nf.activations.names() + ["swish", "leaky_relu:0.1", "relu:max_value=1.0"])
def test_activation_objects_on_traced_values(name):
    act = nf.activations.get(name)
    z = RNG.standard_normal((4, 5)) * 1.5
    z[np.abs(z) < 1e-3] = 0.5                                          # away from the kinks
    check_gradient(lambda v: act(v), z, rtol=1e-5, atol=1e-7)
    np.testing.assert_array_equal(act(z), act.forward(z.copy()))


def test_user_activation_function_in_dense():
    def leaky(x):
        return ops.relu(x) - 0.1 * ops.relu(-x)

    def my_relu(x):
        return ops.relu(x)
    assert model("mse", activation=my_relu).layers[0].activation.name == "my_relu"
    for a, b in zip(model("mse", activation="relu").loss_and_gradients(X, Y)[1],
                    model("mse", activation=my_relu).loss_and_gradients(X, Y)[1]):
        np.testing.assert_allclose(b, a, rtol=1e-13, atol=1e-15)
    m = model(my_mse, activation=leaky)
    assert max(gradcheck.check_model(m, X[:8], Y[:8]).values()) < 1e-6
    np.testing.assert_allclose(m.predict(X[:4], verbose=0),
                               model(my_mse, activation=nf.activations.LeakyRelu(0.1)).predict(X[:4], verbose=0),
                               rtol=1e-12)

    def relu(x):                                                     # a built-in's name: never taken for it
        return ops.relu(x)
    assert nf.activations.get(relu).name == "custom_relu"

    def widen(x):
        return ops.reshape(x, (-1,))
    with pytest.raises(ValueError, match="'widen'.*shape"):
        model("mse", activation=widen).predict(X[:2], verbose=0)


# -- 5. MAPE ---------------------------------------------------------------------------------------------------
def test_mape_loss_and_metric():
    f, y = RNG.standard_normal((6, 2)), RNG.standard_normal((6, 2))
    loss = nf.losses.get("mape")
    expected = 100 * np.mean(np.abs(y - f) / np.maximum(np.abs(y), 1e-7))
    assert loss.value(f, y) == pytest.approx(expected, rel=1e-12)
    assert keras.losses.mape(y, f).mean() == pytest.approx(expected, rel=1e-12)
    delta, numeric = delta_vs_numeric(loss, f, y)
    np.testing.assert_allclose(delta, numeric, rtol=1e-6, atol=1e-8)
    w = RNG.uniform(0.1, 1.0, 6)
    delta, numeric = delta_vs_numeric(loss, f, y, w)
    np.testing.assert_allclose(delta, numeric, rtol=1e-6, atol=1e-8)
    m = model("mape", metrics=["mape"])
    history = m.fit(X, Y, epochs=1, verbose=0)
    assert history.history["mape"][0] > 0
    assert nf.metrics.result_of(nf.metrics.get("mape", loss)[1], y, f) == pytest.approx(expected, rel=1e-12)


# -- 6. saving ----------------------------------------------------------------------------------------------------
def test_save_and_load_with_custom_objects(tmp_path):
    path = os.path.join(tmp_path, "m.netfit")
    m = model(log_cosh_ops)
    m.fit(X, Y, epochs=2, verbose=0)
    m.save(path)
    with pytest.raises(nf.io.ModelFileError, match=r"custom loss function 'log_cosh_ops'.*"
                                                    r"custom_objects=\{'log_cosh_ops': log_cosh_ops\}"):
        nf.load_model(path)
    assert not nf.load_model(path, compile=False).compiled
    again = nf.load_model(path, custom_objects={"log_cosh_ops": log_cosh_ops})
    assert again.loss.name == "log_cosh_ops"
    assert again.evaluate(X, Y, verbose=0) == pytest.approx(m.evaluate(X, Y, verbose=0), rel=1e-12)

    m = model(ScaledHuber(delta=0.25))
    m.save(path)
    with pytest.raises(nf.io.ModelFileError, match="custom loss 'ScaledHuber'"):
        nf.load_model(path)
    again = nf.load_model(path, custom_objects={"ScaledHuber": ScaledHuber})
    assert isinstance(again.loss.fn, ScaledHuber) and again.loss.fn.delta == 0.25
    with pytest.raises(TypeError, match="custom_objects a dict"):
        nf.load_model(path, custom_objects=[ScaledHuber])
