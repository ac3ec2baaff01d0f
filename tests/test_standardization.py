"""BatchNormalization and LayerNormalization: forward against a slow reference, backward against
finite differences (float64) in training and prediction mode, moving averages, Keras's layout,
save / load and fitting."""
import numpy as np
import pytest

import netfit as nf
from netfit.gradcheck import check_layer, check_model
from netfit.layers import BatchNormalization, Conv2D, Dense, Flatten, LayerNormalization

TOL = 1e-6


def _reference_bn(x, gamma, beta, mean, var, eps):
    return gamma * (x - mean) / np.sqrt(var + eps) + beta


# -- forward against the obvious formula ----------------------------------------------------------------
def test_batchnorm_training_forward_after_dense_and_after_conv():
    rng = np.random.default_rng(0)
    for shape, reduce in (((5,), (0,)), ((4, 3, 2), (0, 1, 2))):
        x = rng.normal(2.0, 3.0, (6,) + shape)
        bn = BatchNormalization()
        bn.setup(shape, rng=rng, dtype="float64")
        gamma, beta = rng.normal(size=shape[-1:]), rng.normal(size=shape[-1:])
        bn.set_weights([gamma, beta, np.zeros(shape[-1:]), np.ones(shape[-1:])])
        a = bn.forward(x, training=True)
        mu, var = x.mean(axis=reduce), x.var(axis=reduce)            # over batch (× height × width)
        np.testing.assert_allclose(a, _reference_bn(x, gamma, beta, mu, var, 1e-3), rtol=1e-12)
        # moving averages after one step: 0.99 · (0, 1) + 0.01 · (μ_B, σ²_B), biased σ²_B as Keras
        np.testing.assert_allclose(bn.params["moving_mean"], 0.01 * mu, rtol=1e-12)
        np.testing.assert_allclose(bn.params["moving_variance"], 0.99 + 0.01 * var, rtol=1e-12)
        # prediction mode uses the moving statistics
        np.testing.assert_allclose(bn.forward(x, training=False),
                                   _reference_bn(x, gamma, beta, 0.01 * mu, 0.99 + 0.01 * var, 1e-3), rtol=1e-12)


def test_batchnorm_keras_defaults_names_and_layout():
    bn = BatchNormalization()
    assert (bn.momentum, bn.epsilon, bn.axis, bn.center, bn.scale) == (0.99, 1e-3, (-1,), True, True)
    bn.setup((7, 7, 16), rng=np.random.default_rng(0))
    assert [s.name for s in bn.specs] == ["gamma", "beta", "moving_mean", "moving_variance"]
    assert [w.shape for w in bn.get_weights()] == [(16,)] * 4
    np.testing.assert_array_equal(bn.get_weights()[0], 1)
    np.testing.assert_array_equal(bn.get_weights()[1], 0)
    np.testing.assert_array_equal(bn.get_weights()[2], 0)
    np.testing.assert_array_equal(bn.get_weights()[3], 1)
    assert [s.name for s in BatchNormalization(center=False, scale=False).specs] == []
    plain = BatchNormalization(center=False, scale=False)
    plain.setup((3,))
    assert [s.name for s in plain.specs] == ["moving_mean", "moving_variance"]


def test_batchnorm_moving_average_over_several_steps():
    rng = np.random.default_rng(1)
    bn = BatchNormalization(momentum=0.9)
    bn.setup((2,), rng=rng, dtype="float64")
    mean, var = np.zeros(2), np.ones(2)
    for _ in range(5):
        x = rng.normal(size=(8, 2)) * [1.0, 4.0] + [3.0, -1.0]
        bn.forward(x, training=True)
        mean = 0.9 * mean + 0.1 * x.mean(axis=0)
        var = 0.9 * var + 0.1 * x.var(axis=0)
    np.testing.assert_allclose(bn.params["moving_mean"], mean, rtol=1e-12)
    np.testing.assert_allclose(bn.params["moving_variance"], var, rtol=1e-12)
    before = bn.get_weights()
    bn.forward(x, training=False)                               # prediction leaves them alone
    for w, b in zip(bn.get_weights(), before):
        np.testing.assert_array_equal(w, b)


def test_layernorm_forward_against_formula():
    rng = np.random.default_rng(2)
    x = rng.normal(1.0, 2.0, (4, 3, 5))
    ln = LayerNormalization()
    ln.setup((3, 5), rng=rng, dtype="float64")
    gamma, beta = rng.normal(size=5), rng.normal(size=5)
    ln.set_weights([gamma, beta])
    mu, var = x.mean(axis=-1, keepdims=True), x.var(axis=-1, keepdims=True)
    expected = gamma * (x - mu) / np.sqrt(var + 1e-3) + beta
    np.testing.assert_allclose(ln.forward(x), expected, rtol=1e-12)
    np.testing.assert_allclose(ln.forward(x, training=True), expected, rtol=1e-12)   # same in both modes
    both = LayerNormalization(axis=(1, 2))                      # over each example's 3 × 5 values
    both.setup((3, 5), dtype="float64")
    assert both.params["gamma"].shape == (3, 5)
    mu, var = x.mean(axis=(1, 2), keepdims=True), x.var(axis=(1, 2), keepdims=True)
    np.testing.assert_allclose(both.forward(x), (x - mu) / np.sqrt(var + 1e-3), rtol=1e-12)


# -- backward against finite differences ----------------------------------------------------------------
def _randomize(layer, seed):
    rng = np.random.default_rng(seed)
    for name, w in layer.params.items():
        w[...] = rng.uniform(0.5, 1.5, w.shape) if "variance" in name or name == "gamma" else rng.normal(size=w.shape)


@pytest.mark.parametrize("training", [True, False])
@pytest.mark.parametrize("shape,kwargs", [((4,), {}), ((3, 3, 2), {}), ((3, 4), {"axis": 1}),
                                          ((2, 3, 2), {"axis": (1, 3)}), ((4,), {"center": False}),
                                          ((4,), {"scale": False})])
def test_batchnorm_gradients(shape, kwargs, training):
    layer = BatchNormalization(**kwargs)
    layer.setup(shape, rng=np.random.default_rng(0), dtype="float64")
    _randomize(layer, 1)
    errors = check_layer(layer, batch=5, training=training)
    assert max(errors.values()) < TOL, errors
    if training:                                                # non-trainable: exactly 0 while training
        np.testing.assert_array_equal(layer.grads["moving_mean"], 0)
        np.testing.assert_array_equal(layer.grads["moving_variance"], 0)


@pytest.mark.parametrize("shape,kwargs", [((5,), {}), ((3, 4), {}), ((2, 3, 2), {"axis": (2, 3)}),
                                          ((3, 4), {"axis": 1}), ((4,), {"center": False, "scale": False})])
def test_layernorm_gradients(shape, kwargs):
    layer = LayerNormalization(**kwargs)
    layer.setup(shape, rng=np.random.default_rng(0), dtype="float64")
    _randomize(layer, 2)
    errors = check_layer(layer, batch=3)
    assert max(errors.values()) < TOL, errors


def test_whole_model_gradient_check_with_batchnorm_after_dense_and_conv():
    nf.config.set_floatx("float64")
    try:
        model = nf.Sequential([Conv2D(2, 2, input_shape=(4, 4, 1)), BatchNormalization(), Flatten(), Dense(5),
                               BatchNormalization(), LayerNormalization(), Dense(3, activation="softmax")], seed=0)
        model.compile("sgd", "sparse_categorical_crossentropy")
        x = np.random.default_rng(0).normal(size=(6, 4, 4, 1))
        y = np.array([0, 1, 2, 0, 1, 2])
        model.fit(x, y, epochs=2, batch_size=3, verbose=0)      # moving statistics away from (0, 1)
        errors = check_model(model, x, y)                       # prediction mode, moving stats as weights
        assert max(errors.values()) < TOL, errors
        _, grads = model.loss_and_gradients(x, y, training=True)
        for k in (4, 5, 10, 11):                                # both layers' moving_mean, moving_variance
            np.testing.assert_array_equal(grads[k], 0)
    finally:
        nf.config.set_floatx("float32")


# -- in a model: fit, predict, summary, save and load ------------------------------------------------------
def _bn_model(seed=0):
    model = nf.Sequential([Conv2D(4, 3, activation="relu", input_shape=(8, 8, 1)), BatchNormalization(),
                           Flatten(), Dense(16), BatchNormalization(), Dense(3, activation="softmax")], seed=seed)
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def _blobs(n=96, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    x = rng.normal(size=(n, 8, 8, 1)) * 0.5
    for k in range(3):
        x[y == k, 2 * k:2 * k + 3, :, 0] += 2.0
    return x, y


def test_fit_learns_updates_moving_stats_but_optimizer_never_moves_them(tmp_path):
    x, y = _blobs()
    model = _bn_model()
    history = model.fit(x, y, epochs=8, batch_size=16, verbose=0)
    assert history.history["accuracy"][-1] > 0.9
    bn = model.layers[1]
    assert not np.allclose(bn.params["moving_mean"], 0)
    # Predict uses the moving statistics: one example gives the same answer alone as in a batch.
    np.testing.assert_allclose(model.predict(x[:1]), model.predict(x)[:1], rtol=1e-5, atol=1e-6)
    # Keras's summary counts the moving statistics as non-trainable.
    lines = []
    model.summary(print_fn=lines.append)
    assert "Non-trainable params: 40" in lines[0]           # 2 · 4 + 2 · 16
    # save and load: every weight and the moving statistics bit for bit, predictions equal
    model.save(tmp_path / "bn.netfit")
    again = nf.load_model(tmp_path / "bn.netfit")
    for a, b in zip(model.get_weights(), again.get_weights()):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(again.predict(x), model.predict(x))
    assert again.layers[1].momentum == 0.99 and isinstance(again.layers[4], BatchNormalization)
    assert again.layers[1].get_config() == bn.get_config()


def test_frozen_batchnorm_runs_in_inference_mode_and_keeps_all_four_weights():
    # Keras: trainable=False makes BatchNormalization use (and keep) its moving statistics in training too.
    x, y = _blobs()
    model = _bn_model()
    model.fit(x, y, epochs=1, batch_size=16, verbose=0)
    bn = model.layers[4]
    bn.trainable = False
    frozen = bn.get_weights()
    model.fit(x, y, epochs=2, batch_size=16, verbose=0)
    for before, after in zip(frozen, bn.get_weights()):
        np.testing.assert_array_equal(after, before)
    h = model.layers[3].forward(model.layers[2].forward(model.layers[1].forward(model.layers[0].forward(x))))
    gamma, beta, mean, var = frozen
    np.testing.assert_allclose(bn.forward(h, training=True), _reference_bn(h, gamma, beta, mean, var, 1e-3),
                               rtol=1e-5, atol=1e-6)


def test_no_optimizer_moves_a_coordinate_whose_gradient_is_zero():
    # Gradient 0 in a coordinate gives a 0 step for every optimizer: check it directly on θ.
    for name in ("sgd", "rmsprop", "adagrad", "adam", "nadam", "adamw"):
        model = nf.Sequential([Dense(3, input_shape=(2,)), BatchNormalization(), Dense(1)], seed=0)
        model.compile(nf.optimizers.get(name), "mse")
        model.build()
        opt = model.optimizer
        theta = model._theta
        mm = model.layers[1].params["moving_mean"]
        mm[...] = [0.3, -0.2, 0.1]
        expected = mm.copy()
        g = np.zeros_like(theta)
        g[:6] = 1.0                                              # only the first kernel has a gradient
        for _ in range(3):
            opt.step(theta, g.copy())
        np.testing.assert_array_equal(mm, expected, err_msg=name)


def test_layernorm_in_a_model_saves_and_loads(tmp_path):
    model = nf.Sequential([Dense(6, input_shape=(4,)), LayerNormalization(epsilon=1e-5), Dense(2)], seed=0)
    model.compile("adam", "mse")
    x = np.random.default_rng(0).normal(size=(20, 4))
    model.fit(x, x[:, :2], epochs=2, verbose=0)
    model.save(tmp_path / "ln.netfit")
    again = nf.load_model(tmp_path / "ln.netfit")
    np.testing.assert_array_equal(again.predict(x), model.predict(x))
    assert again.layers[1].epsilon == 1e-5


# -- bad arguments --------------------------------------------------------------------------------------
@pytest.mark.parametrize("cls", [BatchNormalization, LayerNormalization])
@pytest.mark.parametrize("kwargs,error,match", [
    ({"axis": "last"}, TypeError, r"expected axis an int or a tuple of ints"),
    ({"axis": 1.0}, TypeError, r"expected axis an int or a tuple of ints"),
    ({"epsilon": 0}, ValueError, r"expected epsilon in \(0, inf\), got 0"),
    ({"epsilon": -1e-3}, ValueError, r"expected epsilon in \(0, inf\)"),
    ({"center": "yes"}, TypeError, r"expected center True or False, got 'yes'"),
    ({"scale": 1}, TypeError, r"expected scale True or False, got 1"),
    ({"gamma_initializer": "bogus"}, ValueError, r"unknown initializer 'bogus'"),
])
def test_bad_arguments(cls, kwargs, error, match):
    with pytest.raises(error, match=rf"{cls.__name__}: {match}" if error is not ValueError or "initializer" not in
                       match else match):
        cls(**kwargs)                                           # refused at construction, as Keras does


@pytest.mark.parametrize("momentum", [1.0, -0.1, "0.9", None, float("nan")])
def test_batchnorm_bad_momentum(momentum):
    with pytest.raises(ValueError, match=r"BatchNormalization: expected momentum in \[0, 1\)"):
        BatchNormalization(momentum=momentum)


@pytest.mark.parametrize("cls", [BatchNormalization, LayerNormalization])
def test_axis_outside_the_input(cls):
    with pytest.raises(ValueError, match=rf"{cls.__name__}: axis 3 is not a feature axis of inputs with 2 "
                                         rf"dimension\(s\) per example"):
        cls(axis=3).setup((4, 5))
    with pytest.raises(ValueError, match=r"axis 0 is not a feature axis"):
        cls(axis=0).setup((4,))


def test_lbfgs_refuses_batch_normalization_before_any_step():
    pytest.importorskip("scipy")
    model = nf.Sequential([Dense(3, input_shape=(2,)), BatchNormalization(), Dense(1)], seed=0)
    model.compile("lbfgs", "mse")
    model.build()
    before = model.get_weights()
    with pytest.raises(ValueError, match=r"Sequential.fit \(L-BFGS\): L-BFGS moves all of θ as one vector, but "
                                         r"batch_normalization keep\(s\) weights in it that no gradient may move "
                                         r"\(BatchNormalization's moving statistics"):
        model.fit(np.ones((4, 2)), np.ones(4), verbose=0)
    for w, b in zip(model.get_weights(), before):
        np.testing.assert_array_equal(w, b)


def test_lbfgs_takes_a_frozen_batch_normalization_and_keeps_it():
    pytest.importorskip("scipy")
    rng = np.random.default_rng(0)
    x = rng.normal(size=(32, 2))
    y = x @ np.array([1.0, -2.0]) + 0.5
    model = nf.Sequential([Dense(3, input_shape=(2,)), BatchNormalization(trainable=False), Dense(1)], seed=0,
                          dtype="float64")
    model.compile("lbfgs", "mse")
    model.build()
    frozen = model.layers[1].get_weights()
    history = model.fit(x, y, epochs=50, verbose=0)
    assert history.history["loss"][-1] < 1e-3 * history.history["loss"][0]
    for w, b in zip(model.layers[1].get_weights(), frozen):
        np.testing.assert_array_equal(w, b)
