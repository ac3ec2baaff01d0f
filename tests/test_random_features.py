"""RandomFourierFeatures: the gradients against central differences, the forward against loops, the kernels it
approximates (Rahimi & Recht 2007), tf.keras's defaults, fixed weights in models and files, config round trips."""
import json

import numpy as np
import pytest

import netfit as nf
from netfit import initializers
from netfit.gradcheck import check_layer, check_model
from netfit.layers import Dense, RandomFourierFeatures

import layer_checks


def _layer(output_dim=7, input_dim=4, seed=0, **kwargs):
    layer = RandomFourierFeatures(output_dim, **kwargs)
    layer.setup((input_dim,), rng=np.random.default_rng(seed), dtype=np.float64)
    return layer


@pytest.mark.parametrize("kernel", ["gaussian", "laplacian"])
@pytest.mark.parametrize("trainable", [False, True])
def test_gradients_match_central_differences(kernel, trainable):
    layer = _layer(kernel_initializer=kernel, scale=1.7, trainable=trainable)
    errors = check_layer(layer, batch=5)
    assert set(errors) == {"unscaled_kernel", "bias", "kernel_scale", "input"}
    assert max(errors.values()) < 1e-7, errors                     # prediction mode: every derivative exact


def test_a_training_pass_gives_the_fixed_weights_no_gradient_and_sigma_one_only_when_trainable():
    rng = np.random.default_rng(1)
    x, delta = rng.standard_normal((5, 4)), rng.standard_normal((5, 7))
    for trainable in (False, True):
        layer = _layer(trainable=trainable, scale=1.3)
        layer.forward(x, training=True)
        s = layer.backward(delta).copy()
        assert not layer.grads["unscaled_kernel"].any() and not layer.grads["bias"].any()
        assert bool(layer.grads["kernel_scale"].any()) is trainable
        layer.forward(x)                                            # prediction mode: the same s
        np.testing.assert_allclose(layer.backward(delta), s, rtol=1e-14)


def test_a_trainable_scale_in_a_model_checks_against_finite_differences():
    rng = np.random.default_rng(2)
    model = nf.Sequential([nf.Input(shape=(3,)), RandomFourierFeatures(16, scale=2.0, trainable=True), Dense(2)],
                          seed=0, dtype="float64")
    model.compile("adam", "hinge")
    x, y = rng.standard_normal((8, 3)), np.sign(rng.standard_normal((8, 2)))
    assert max(check_model(model, x, y).values()) < 1e-6


def test_forward_matches_loops():
    layer = _layer(output_dim=5, input_dim=3, scale=0.8)
    x = np.random.default_rng(3).standard_normal((4, 3))
    w, b, sigma = layer.params["unscaled_kernel"], layer.params["bias"], layer.params["kernel_scale"][0]
    expected = np.zeros((4, 5))
    for i in range(4):
        for k in range(5):
            expected[i, k] = np.cos(sum(x[i, j] * w[j, k] for j in range(3)) / sigma + b[k])
    np.testing.assert_allclose(layer.forward(x), expected, rtol=1e-13, atol=1e-15)


def _kernel_estimate(kernel, sigma, x, y, output_dim=40_000, seed=0):
    layer = _layer(output_dim, x.size, seed=seed, kernel_initializer=kernel, scale=sigma)
    a = layer.forward(np.stack([x, y]))
    return 2.0 / output_dim * float(a[0] @ a[1])                    # tf.keras leaves √(2/D) out of a


@pytest.mark.parametrize("kernel", ["gaussian", "laplacian"])
def test_inner_products_approximate_the_kernel(kernel):
    """(2/D) a(x)·a(y) → k(x − y): each of the D terms 2 cos(wᵀx + b) cos(wᵀy + b) = cos(wᵀ(x − y)) + cos(wᵀ(x + y)
    + 2b) has variance ≤ 1, so the estimate is within 5/√D of k but for a 5σ accident (fixed seeds here)."""
    D, sigma = 40_000, 1.5
    tol = 5 / np.sqrt(D)
    rng = np.random.default_rng(4)
    wrong = {"gaussian": "laplacian", "laplacian": "gaussian"}[kernel]
    formulas = {"gaussian": lambda d: np.exp(-np.sum(d ** 2) / (2 * sigma ** 2)),
                "laplacian": lambda d: np.exp(-np.sum(np.abs(d)) / sigma)}
    misses = 0
    for radius in (0.3, 1.0, 2.0):
        x = rng.standard_normal(3)
        y = x + radius * rng.standard_normal(3) / np.sqrt(3)
        estimate = _kernel_estimate(kernel, sigma, x, y, D)
        assert estimate == pytest.approx(formulas[kernel](x - y), abs=tol), (radius, estimate)
        misses += abs(estimate - formulas[wrong](x - y)) > tol
    assert misses >= 2                                              # the check tells the two kernels apart
    assert _kernel_estimate(kernel, sigma, x, x, D) == pytest.approx(1.0, abs=tol)


def test_tf_keras_default_scale_and_draws():
    gaussian = _layer(output_dim=2000, input_dim=50)
    assert gaussian.get_config()["scale"] == pytest.approx(5.0)         # √(input_dim / 2)
    assert gaussian.params["kernel_scale"][0] == pytest.approx(5.0)
    w, b = gaussian.params["unscaled_kernel"], gaussian.params["bias"]
    assert abs(w.mean()) < 0.01 and abs(w.std() - 1.0) < 0.01            # N(0, 1)
    assert b.min() >= 0 and b.max() < 2 * np.pi and abs(b.mean() - np.pi) < 0.15
    laplacian = _layer(output_dim=2000, input_dim=50, kernel_initializer="Laplacian")
    assert laplacian.get_config()["scale"] == 1.0                       # tf.keras: 1.0 but for "gaussian"
    w = laplacian.params["unscaled_kernel"]
    assert abs(np.median(np.abs(w)) - 1.0) < 0.03 and np.abs(w).max() > 1000   # Cauchy: |w|'s median 1, heavy tail
    custom = _layer(output_dim=30, input_dim=4, kernel_initializer=initializers.get("ones"))
    assert (custom.params["unscaled_kernel"] == 1).all() and custom.get_config()["scale"] == 1.0


def test_in_a_model_the_features_are_fixed_non_trainable_weights_drawn_from_the_seed(tmp_path, capsys):
    def make(seed, **kwargs):
        model = nf.Sequential([nf.Input(shape=(6,)), RandomFourierFeatures(32, scale=2.0, **kwargs),
                               Dense(2)], seed=seed)
        model.compile(nf.optimizers.Adam(0.05), "hinge")
        model.build()
        return model
    rng = np.random.default_rng(5)
    x = rng.standard_normal((64, 6)).astype(np.float32)
    y = np.where((x[:, :1] * x[:, 1:2]) > 0, [[1, -1]], [[-1, 1]])
    a, b, c = make(0), make(0), make(1)
    np.testing.assert_array_equal(a.layers[0].get_weights()[0], b.layers[0].get_weights()[0])
    assert not np.array_equal(a.layers[0].get_weights()[0], c.layers[0].get_weights()[0])
    before = a.layers[0].get_weights()
    a.fit(x, y, epochs=3, batch_size=16, verbose=0)
    for w0, w1 in zip(before, a.layers[0].get_weights()):
        np.testing.assert_array_equal(w0, w1)                               # W, b and σ all stay put
    assert len(a.trainable_weights) == 2 and len(a.non_trainable_weights) == 3
    a.summary()
    out = capsys.readouterr().out
    assert "Non-trainable params: 225" in out and "Trainable params: 66" in out     # 6·32 + 32 + 1; 32·2 + 2
    trained = make(0, trainable=True)
    w_before = trained.layers[0].get_weights()
    trained.fit(x, y, epochs=3, batch_size=16, verbose=0)
    w_after = trained.layers[0].get_weights()
    np.testing.assert_array_equal(w_before[0], w_after[0])
    np.testing.assert_array_equal(w_before[1], w_after[1])
    assert w_after[2][0] != w_before[2][0]                                  # σ is trained
    assert len(trained.trainable_weights) == 3 and len(trained.non_trainable_weights) == 2
    trained.save(tmp_path / "rff.netfit")
    again = nf.load_model(tmp_path / "rff.netfit")
    assert again.layers[0].get_config() == trained.layers[0].get_config() and again.layers[0].trainable
    np.testing.assert_array_equal(again.predict(x, verbose=0), trained.predict(x, verbose=0))


def test_a_kernel_machine_beats_the_linear_one_on_xor():
    rng = np.random.default_rng(6)
    x = rng.uniform(-1, 1, (400, 2)).astype(np.float32)
    y = nf.utils.to_categorical((x[:, 0] * x[:, 1] > 0).astype(int), 2)
    scores = {}
    for name, head in (("linear", []), ("kernel", [RandomFourierFeatures(256, scale=0.5)])):
        model = nf.Sequential([nf.Input(shape=(2,))] + head + [Dense(2)], seed=0)
        model.compile(nf.optimizers.Adam(0.01), nf.keras.losses.hinge, metrics=["categorical_accuracy"])
        model.fit(x, y, epochs=30, batch_size=32, verbose=0)
        scores[name] = model.evaluate(x, y, verbose=0)[1]
    assert scores["linear"] < 0.7 < 0.9 < scores["kernel"], scores


def test_config_round_trips():
    layer = RandomFourierFeatures(12, kernel_initializer=initializers.RandomUniform(-2, 2), scale=3.0,
                                  trainable=True, name="rff")
    config = layer.get_config()
    assert config == {"name": "rff", "trainable": True, "output_dim": 12, "scale": 3.0,
                      "kernel_initializer": {"class_name": "RandomUniform", "config": {"minval": -2, "maxval": 2}}}
    assert RandomFourierFeatures.from_config(json.loads(json.dumps(config))).get_config() == config
    assert nf.layers.get("RandomFourierFeatures") is RandomFourierFeatures
    model = nf.Sequential([nf.Input(shape=(4,)), RandomFourierFeatures(8, kernel_initializer="laplacian"), Dense(1)],
                          seed=0)
    again = nf.models.model_from_json(model.to_json())
    assert [l.get_config() for l in again.layers] == [l.get_config() for l in model.layers]
    assert again.layers[0].get_config()["trainable"] is False


def test_keras_names():
    from netfit.keras import layers
    from netfit.keras.layers.experimental import RandomFourierFeatures as experimental
    assert experimental is layers.RandomFourierFeatures is RandomFourierFeatures


def test_two_records_used_alternately_give_the_same_as_one_at_a_time():
    layer = _layer(trainable=True)
    rng = np.random.default_rng(7)
    layer_checks.records_alternate(layer, rng.standard_normal((3, 4)), rng.standard_normal((5, 4)))


def test_lbfgs_refuses_trainable_features_by_their_name_and_trains_them_frozen():
    pytest.importorskip("scipy")
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 2))
    y = (x[:, 0] * x[:, 1] > 0).astype(np.int64)
    model = nf.Sequential([RandomFourierFeatures(32, trainable=True, input_shape=(2,)), Dense(2, activation="softmax")],
                          seed=0)
    model.compile("lbfgs", "sparse_categorical_crossentropy")
    model.build()
    before = model.get_weights()
    with pytest.raises(ValueError, match=r"random_fourier_features keep\(s\) weights in it that no gradient may "
                                         r"move .*RandomFourierFeatures' fixed random features.*trainable = False"):
        model.fit(x, y, verbose=0)
    for w, b in zip(model.get_weights(), before):
        np.testing.assert_array_equal(w, b)
    model.layers[0].trainable = False                       # the scale fixed too (the default): L-BFGS takes it
    history = model.fit(x, y, epochs=20, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    for w, b in zip(model.layers[0].get_weights(), before[:len(model.layers[0].get_weights())]):
        np.testing.assert_array_equal(w, b)


@pytest.mark.parametrize("suffix", [".keras", ".weights.h5"])
def test_keras_files_refuse_the_layer_by_name_before_writing(tmp_path, suffix):
    pytest.importorskip("h5py")
    model = nf.Sequential([RandomFourierFeatures(16, input_shape=(4,)), Dense(2, activation="softmax")], seed=0)
    model.compile("adam", "sparse_categorical_crossentropy")
    model.build()
    path = tmp_path / f"m{suffix}"
    save = model.save if suffix == ".keras" else model.save_weights
    with pytest.raises(ValueError, match=r"got RandomFourierFeatures \(Keras 3 has none; tf.keras 2 had it .*\); "
                                         r"a Keras file \(.keras or .weights.h5\) .* Save to a .netfit file instead"):
        save(path)
    assert not path.exists()
