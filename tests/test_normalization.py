"""Normalization: adapt, forward/backward, axes, invert, saved with the model, clear errors."""
import numpy as np
import pytest

import netfit as nf
from netfit import gradcheck
from netfit.architecture import model_from_json, model_to_json
from netfit.layers import Dense, Flatten, Normalization


def _raw(n=60, seed=0):
    rng = np.random.default_rng(seed)
    # Features on very different scales and offsets, as raw data come.
    return rng.normal(size=(n, 3)) * [1000.0, 0.01, 5.0] + [5e4, -3.0, 0.0]


def test_adapt_stores_mean_and_population_variance_and_standardises():
    x = _raw()
    norm = Normalization()
    norm.adapt(x)
    np.testing.assert_allclose(norm.mean, x.mean(0))
    np.testing.assert_allclose(norm.variance, x.var(0))
    norm.setup((3,), dtype="float64")
    a = norm.forward(x)
    np.testing.assert_allclose(a.mean(0), 0, atol=1e-10)
    np.testing.assert_allclose(a.std(0), 1, rtol=1e-10)
    assert norm.count_params() == 0 and norm.weights == []


def test_axis_none_tuple_and_images():
    x = np.random.default_rng(1).normal(size=(20, 4, 3)) + np.arange(3)
    per_channel = Normalization(axis=-1)
    per_channel.adapt(x)
    assert per_channel.mean.shape == (3,)
    np.testing.assert_allclose(per_channel.mean, x.mean(axis=(0, 1)))
    both = Normalization(axis=(1, 2))
    both.adapt(x)
    assert both.mean.shape == (4, 3)
    scalar = Normalization(axis=None)
    scalar.adapt(x)
    assert scalar.mean.shape == () and float(scalar.mean) == pytest.approx(x.mean())
    for layer in (per_channel, both, scalar):
        layer.setup((4, 3), dtype="float64")
        assert layer.forward(x).shape == x.shape


def test_invert_undoes_the_standardisation():
    x = _raw()
    forward = Normalization()
    forward.adapt(x)
    back = Normalization(mean=forward.mean, variance=forward.variance, invert=True)
    forward.setup((3,), dtype="float64")
    back.setup((3,), dtype="float64")
    np.testing.assert_allclose(back.forward(forward.forward(x).copy()), x, rtol=1e-12)


@pytest.mark.parametrize("invert", [False, True])
def test_gradient_check(invert):
    layer = Normalization(mean=[1.0, -2.0, 0.5], variance=[4.0, 0.25, 1.0], invert=invert)
    errors = gradcheck.check_layer(layer, (3,))
    assert errors["input"] < 1e-8


def test_constant_feature_is_centred_not_scaled():
    x = np.c_[np.full(10, 7.0), np.arange(10.0)]
    norm = Normalization()
    norm.adapt(x)
    norm.setup((2,), dtype="float64")
    out = norm.forward(np.array([[7.5, 4.5]]))
    assert out[0, 0] == pytest.approx(0.5)                 # Keras would give 0.5 / 1e-7


def test_predictions_on_raw_inputs_survive_save_and_load(tmp_path):
    x = _raw(200)
    y = (np.sin(x[:, 0] / 1000.0) + x[:, 1] * 50.0)
    norm = Normalization()
    norm.adapt(x)
    model = nf.Sequential([norm, Dense(8, activation="tanh"), Dense(1)], seed=0)
    model.compile(optimizer="adam", loss="mse", metrics=["r2"])
    model.fit(x, y, epochs=20, batch_size=16, verbose=0)
    assert model.count_params() == 3 * 8 + 8 + 8 + 1          # the statistics are not trainable weights
    before = model.predict(x)
    model.save(tmp_path / "m.netfit")
    loaded = nf.load_model(tmp_path / "m.netfit")
    assert loaded.get_config() == model.get_config()
    np.testing.assert_array_equal(loaded.layers[0].mean, norm.mean)       # float64 through JSON, exactly
    assert loaded.predict(x).tobytes() == before.tobytes()
    loaded.fit(x, y, epochs=1, verbose=0)                   # training leaves μ and σ² alone
    np.testing.assert_array_equal(loaded.layers[0].variance, norm.variance)


def test_architecture_json_carries_the_statistics():
    norm = Normalization(input_shape=(3,))
    norm.adapt(_raw())
    model = nf.Sequential([norm, Dense(2)], seed=0)
    model.build()
    spec = model_to_json(model)
    rebuilt = model_from_json(spec, seed=0)
    np.testing.assert_array_equal(rebuilt.layers[0].mean, norm.mean)
    assert nf.layers.get("Normalization") is Normalization


def test_unadapted_layer_warns_and_passes_through():
    model = nf.Sequential([Normalization(input_shape=(2,)), Dense(1)], seed=0)
    x = np.ones((3, 2), "float32")
    with pytest.warns(RuntimeWarning, match="not adapted"):
        model.predict(x)
    assert not model.layers[0].is_adapted


def test_errors_are_clear():
    with pytest.raises(ValueError, match="both mean and variance"):
        Normalization(mean=[0.0])
    with pytest.raises(TypeError, match="axis"):
        Normalization(axis="features")
    with pytest.raises(ValueError, match="epsilon"):
        Normalization(epsilon=0)
    norm = Normalization()
    with pytest.raises(ValueError, match=r"shape \(n, \*input_shape\)"):
        norm.adapt(np.arange(5.0))
    with pytest.raises(ValueError, match="NaN"):
        norm.adapt([[np.nan, 1.0]])
    with pytest.raises(ValueError, match="non-negative"):
        Normalization(mean=[0.0], variance=[-1.0])
    with pytest.raises(ValueError, match="do not fit inputs"):
        nf.Sequential([Normalization(mean=[0.0, 1.0], variance=[1.0, 1.0]), Flatten()]).build((3,))
    with pytest.raises(ValueError, match="not a feature axis"):
        Normalization(axis=3).adapt(np.zeros((4, 2)))
    built = Normalization(input_shape=(2,))
    built.setup((2,))
    with pytest.raises(ValueError, match=r"expected data of shape \(n, 2\)"):
        built.adapt(np.zeros((4, 3)))
