"""keras.regularizers (netfit.ops.regularizers) and add_weight(regularizer=...) in a layer of your own; Keras 3's
serialize_keras_object / deserialize_keras_object; an activation function of your own by name in a saved model;
layer.weights as Variables (.numpy(), .name, .path, .assign).

The penalty's gradient is checked against central differences of the model's loss (float64), and the loss that
loss_and_gradients, evaluate and fit report includes it, as Keras's does.
"""
import json

import numpy as np
import pytest

import netfit as nf
from netfit import keras, ops
from netfit.layers import Dense, Layer

RNG = np.random.default_rng(0)
X = RNG.standard_normal((12, 4))
Y = RNG.standard_normal((12, 3))


class Kernel(Layer):
    """y = x W, W under a regularizer."""

    def __init__(self, units, kernel_regularizer=None, **kwargs):
        super().__init__(**kwargs)
        self.units, self.kernel_regularizer = units, kernel_regularizer

    def build(self, input_shape):
        self.kernel = self.add_weight(shape=(input_shape[-1], self.units), name="kernel",
                                      regularizer=self.kernel_regularizer)

    def call(self, inputs):
        return ops.matmul(inputs, self.kernel)

    def get_config(self):
        return {**super().get_config(), "units": self.units, "kernel_regularizer": self.kernel_regularizer}


class Holder(Layer):
    """A layer of your own holding another (Keras's CustomModel of the guide)."""

    def __init__(self, inner, **kwargs):
        super().__init__(**kwargs)
        self.inner = inner

    def call(self, inputs):
        return self.inner(inputs)

    def get_config(self):
        return {**super().get_config(), "inner": self.inner}

    @classmethod
    def from_config(cls, config):
        config["inner"] = keras.layers.deserialize(config["inner"])
        return cls(**config)


OWN = {"Kernel": Kernel, "Holder": Holder}


def _model(layer, seed=1):
    model = nf.Sequential([nf.Input(shape=(4,)), layer], seed=seed, dtype="float64")
    model.compile(optimizer="sgd", loss="mse")
    return model


def _mse(model):
    return float(np.mean((model.predict(X, verbose=0) - Y) ** 2))


# -- the regularizers -------------------------------------------------------------------------------------------
def test_values_defaults_and_configs_are_keras_3s():
    w = np.array([[1.0, -2.0], [0.5, 0.0]])
    assert keras.regularizers.L1(0.1)(w) == pytest.approx(0.35)
    assert keras.regularizers.L2(0.1)(w) == pytest.approx(0.525)
    assert keras.regularizers.L1L2(l1=0.1, l2=0.1)(w) == pytest.approx(0.875)
    assert keras.regularizers.get("l1").get_config() == {"l1": 0.01}
    assert keras.regularizers.get("l2").get_config() == {"l2": 0.01}
    assert keras.regularizers.L1L2().get_config() == {"l1": 0.0, "l2": 0.0}
    assert keras.regularizers.get(None) is None
    again = keras.regularizers.get(keras.regularizers.serialize(keras.regularizers.L1L2(l1=1e-5, l2=1e-4)))
    assert type(again) is keras.regularizers.L1L2 and again.get_config() == {"l1": 1e-5, "l2": 1e-4}
    assert keras.regularizers.get({"class_name": "L2", "config": {"l2": 0.5}}).l2 == 0.5


def test_bad_regularizers_are_refused_with_what_is_expected():
    with pytest.raises(ValueError, match="non-negative float"):
        keras.regularizers.L1(-1)
    with pytest.raises(ValueError, match=r"'l1_l2'.*L1L2\(l1="):
        keras.regularizers.get("l1_l2")
    with pytest.raises(ValueError, match=r"unknown regularizer class 'x>Mine'.*custom_objects=\{'Mine'"):
        keras.regularizers.deserialize({"class_name": "Mine", "config": {}, "registered_name": "x>Mine"})


def test_a_regularizer_on_a_traced_value_is_differentiable():
    w = np.array([1.0, -2.0, 3.0])
    with ops.Tape() as tape:
        v = ops.Value(w, tape)
        r = keras.regularizers.L1L2(l1=0.1, l2=0.2)(v)
    np.testing.assert_allclose(tape.backward(r, np.ones(()))[id(v)], 0.1 * np.sign(w) + 0.4 * w)


# -- add_weight(regularizer=...) ---------------------------------------------------------------------------------
def test_the_l2_penalty_enters_the_loss_and_its_gradient_is_2_lambda_w():
    model = _model(Kernel(3, kernel_regularizer=keras.regularizers.L2(0.3)))
    plain = _model(Kernel(3))
    plain.set_weights(model.get_weights())
    (w,) = model.get_weights()
    loss, grads = model.loss_and_gradients(X, Y)
    base, base_grads = plain.loss_and_gradients(X, Y)
    assert loss == pytest.approx(base + 0.3 * np.sum(w * w), abs=1e-12)
    np.testing.assert_allclose(grads[0], base_grads[0] + 2 * 0.3 * w, atol=1e-12)
    h = 1e-6                                            # central differences of the reported loss
    for i in [(0, 0), (1, 2), (3, 1)]:
        up, down = w.copy(), w.copy()
        up[i] += h
        down[i] -= h
        model.set_weights([up])
        r_up = model.loss_and_gradients(X, Y, gradients=False)[0]
        model.set_weights([down])
        r_down = model.loss_and_gradients(X, Y, gradients=False)[0]
        assert abs((r_up - r_down) / (2 * h) - grads[0][i]) < 1e-6
    model.set_weights([w])


def test_fit_and_evaluate_report_the_penalty_and_a_frozen_layer_has_none():
    model = _model(Kernel(3, kernel_regularizer="l1"))
    (w,) = model.get_weights()
    expected = _mse(model) + 0.01 * np.sum(np.abs(w))
    assert model.evaluate(X, Y, verbose=0) == pytest.approx(expected, rel=1e-10)
    history = model.fit(X, Y, batch_size=12, epochs=1, verbose=0)
    assert history.history["loss"][0] == pytest.approx(expected, rel=1e-10)
    model.layers[0].trainable = False
    assert model.evaluate(X, Y, verbose=0) == pytest.approx(_mse(model), rel=1e-10)


def test_a_penalty_of_a_layer_inside_a_layer_of_your_own_counts():
    model = _model(Holder(Kernel(3, kernel_regularizer=keras.regularizers.L2(0.2))))
    (w,) = model.get_weights()
    expected = _mse(model) + 0.2 * np.sum(w * w)
    assert model.evaluate(X, Y, verbose=0) == pytest.approx(expected, rel=1e-10)
    loss, grads = model.loss_and_gradients(X, Y)
    assert loss == pytest.approx(expected, rel=1e-10)
    plain = _model(Holder(Kernel(3)))
    plain.set_weights([w])
    np.testing.assert_allclose(grads[0], plain.loss_and_gradients(X, Y)[1][0] + 0.4 * w, atol=1e-12)


def test_built_in_layers_and_constraints_still_refuse_with_the_fix():
    with pytest.raises(TypeError, match="kernel_regularizer"):
        Dense(3, kernel_regularizer="l2")

    class Constrained(Layer):
        def build(self, input_shape):
            self.w = self.add_weight(shape=(4, 2), constraint="non_neg")

        def call(self, x):
            return ops.matmul(x, self.w)

    with pytest.raises(TypeError, match="constraint.*add_loss"):
        _model(Constrained()).predict(X, verbose=0)


# -- serialize_keras_object / deserialize_keras_object ------------------------------------------------------------
def test_serialize_keras_object_of_regularizers_initializers_functions_and_containers():
    s = keras.saving.serialize_keras_object
    assert s(keras.regularizers.L1(0.005)) == {"module": "keras.regularizers", "class_name": "L1",
                                                "config": {"l1": 0.005}, "registered_name": None}
    assert s(nf.initializers.get("ones"))["class_name"] == "Ones"

    @keras.saving.register_keras_serializable(package="test_reg", name="sq")
    def square(x):
        return x ** 2

    assert s(square) == {"module": "builtins", "class_name": "function", "config": "test_reg>sq",
                         "registered_name": "function"}
    assert keras.saving.deserialize_keras_object(s(square)) is square
    assert s({"a": [1, (2, 3)], "r": None}) == {"a": [1, (2, 3)], "r": None}
    back = keras.saving.deserialize_keras_object(s(keras.regularizers.L1L2(l1=1e-5, l2=1e-4)))
    assert type(back).__name__ == "L1L2" and back.l2 == 1e-4
    with pytest.raises(TypeError, match="lambda"):
        s(lambda x: x)


def test_deserialize_keras_object_finds_only_classes_given_or_registered():
    config = keras.layers.serialize(Kernel(2, kernel_regularizer=keras.regularizers.L2(0.1)))
    assert config["module"] is None and config["config"]["kernel_regularizer"]["class_name"] == "L2"
    json.dumps(config)
    with pytest.raises(ValueError, match="unknown object class 'Kernel'.*custom_objects"):
        keras.saving.deserialize_keras_object(config)
    layer = keras.saving.deserialize_keras_object(config, custom_objects=OWN)
    assert type(layer) is Kernel and layer.units == 2
    with pytest.raises(ValueError, match="unknown function class 'nowhere>fn'"):
        keras.saving.deserialize_keras_object({"module": "builtins", "class_name": "function",
                                               "config": "nowhere>fn", "registered_name": "function"})


def test_a_functional_model_of_a_layer_holding_layers_is_json_and_comes_back():
    inputs = keras.Input((4,))
    model = keras.Model(inputs, Holder(Kernel(3, kernel_regularizer="l1"))(inputs))
    text = model.to_json()
    assert json.loads(text) == json.loads(json.dumps(model.get_config()))
    again = keras.Model.from_config(json.loads(text), custom_objects=OWN)
    assert again.count_params() == 12 and type(again.layers[1].inner) is Kernel
    assert again.layers[1].inner.kernel_regularizer == "l1"


# -- an activation function of your own, by name -------------------------------------------------------------------
def _fn_model(fn):
    inputs = keras.Input(shape=(4,))
    model = keras.Model(inputs, keras.layers.Dense(2, activation=fn)(inputs))
    model.compile(optimizer="sgd", loss="mse")
    return model


@pytest.mark.parametrize("suffix", [".keras", ".netfit"])
def test_an_activation_function_of_your_own_is_saved_by_name_and_found_again(tmp_path, suffix):
    pytest.importorskip("h5py") if suffix == ".keras" else None

    def cube(x):
        return x ** 3

    model = _fn_model(cube)
    assert model.layers[1].get_config()["activation"]["config"] == "cube"
    path = str(tmp_path / f"m{suffix}")
    model.save(path)
    with pytest.raises(ValueError, match=r"'cube'.*custom_objects=\{'cube': cube\}"):
        keras.models.load_model(path)
    for again in (keras.models.load_model(path, custom_objects={"cube": cube}),):
        np.testing.assert_allclose(again.predict(X, verbose=0), model.predict(X, verbose=0), rtol=1e-6)
    with keras.saving.custom_object_scope({"cube": cube}):
        again = keras.models.load_model(path)
    np.testing.assert_allclose(again.predict(X, verbose=0), model.predict(X, verbose=0), rtol=1e-6)
    registered = keras.saving.register_keras_serializable(package="test_act")(cube)
    try:
        model = _fn_model(registered)
        model.save(path)
        np.testing.assert_allclose(keras.models.load_model(path).predict(X, verbose=0), model.predict(X, verbose=0),
                                   rtol=1e-6)
    finally:
        keras.saving.get_custom_objects().pop("test_act>cube")


# -- layer.weights as Variables -------------------------------------------------------------------------------------
def test_weights_have_keras_variable_attributes_and_stay_views():
    model = nf.Sequential([nf.Input(shape=(4,)), Dense(3, name="d")], seed=0)
    kernel, bias = model.weights
    assert (kernel.name, kernel.path, kernel.trainable) == ("kernel", "d/kernel", True) and bias.name == "bias"
    copy = kernel.numpy()
    assert type(copy) is np.ndarray and type(kernel * 2) is np.ndarray and isinstance(float(kernel.sum()), float)
    kernel.assign(np.ones((4, 3)))
    assert np.array_equal(model.get_weights()[0], np.ones((4, 3))) and type(model.get_weights()[0]) is np.ndarray
    with pytest.raises(ValueError, match=r"expected a value of shape \(4, 3\)"):
        kernel.assign(np.ones(3))
    model.layers[0].trainable = False
    assert [w.trainable for w in model.weights] == [False, False]
    layer = Dense(5)
    layer.build((None, 784))                             # Keras's batch-first shape
    assert [w.shape for w in layer.weights] == [(784, 5), (5,)]
