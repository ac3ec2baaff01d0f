"""The regression and distribution losses Keras users reach for: mae, huber, log_cosh, kl_divergence, poisson.

Each value against a hand-computed number, each δ against central differences
(float64), the batch mean taken once (÷ nK, or ÷ n for kl_divergence, which sums
over the K outputs as Keras does), and the wrong inputs each one refuses.
"""
import numpy as np
import pytest

import netfit as nf
from netfit import losses
from netfit.gradcheck import numerical_gradient, relative_error
from netfit.layers import Dense

NEW = ["mean_absolute_error", "huber", "log_cosh", "kl_divergence", "poisson"]


def _pair(name, seed=0):
    rng = np.random.default_rng(seed)
    if name in ("kl_divergence", "poisson"):
        f = rng.uniform(0.1, 0.9, (4, 3))
        y = rng.uniform(0.0, 1.0, (4, 3))
        if name == "kl_divergence":
            y /= y.sum(axis=1, keepdims=True)
        return f, y
    f = rng.standard_normal((4, 3)) * 2
    y = rng.standard_normal((4, 3))
    return f, y


@pytest.mark.parametrize("name", NEW)
@pytest.mark.parametrize("seed", [0, 1])
def test_gradient_matches_central_differences(name, seed):
    f, y = _pair(name, seed)
    if name in ("mean_absolute_error", "huber"):               # keep clear of |e| = 0 and |e| = δ kinks
        e = f - y
        f[np.abs(e) < 1e-3] += 0.01
        f[np.abs(np.abs(f - y) - 1.0) < 1e-3] += 0.01
    loss = losses.get(name)
    numeric = numerical_gradient(lambda: loss.value(f, y), f)
    assert relative_error(loss.gradient(f, y), numeric) < 1e-7


def test_values_by_hand():
    f = np.array([[0.0, 2.0], [-3.0, 1.0]])
    y = np.array([[0.5, 0.0], [0.0, 1.0]])                      # errors e = −0.5, 2, −3, 0
    assert losses.get("mae").value(f, y) == pytest.approx((0.5 + 2 + 3 + 0) / 4)
    # huber, d = 1: ½·0.25, 2 − ½, 3 − ½, 0.
    assert losses.get("huber").value(f, y) == pytest.approx((0.125 + 1.5 + 2.5 + 0) / 4)
    assert losses.Huber(delta=2.0).value(f, y) == pytest.approx((0.125 + 2.0 + (6 - 2) + 0) / 4)
    expected = np.mean(np.log(np.cosh([-0.5, 2.0, -3.0, 0.0])))
    assert losses.get("log_cosh").value(f, y) == pytest.approx(expected, rel=1e-12)
    p = np.array([[0.25, 0.75], [0.5, 0.5]])
    q = np.array([[0.5, 0.5], [1.0, 0.0]])
    # KL: Σ_k q log(q/p), summed over k, mean over the 2 rows; q = 0 is clipped to 1e-7 as Keras.
    row0 = 0.5 * np.log(2) + 0.5 * np.log(0.5 / 0.75)
    row1 = np.log(2) + 1e-7 * np.log(1e-7 / 0.5)
    assert losses.get("kld").value(p, q) == pytest.approx((row0 + row1) / 2, rel=1e-9)
    rate, counts = np.array([[2.0], [0.5]]), np.array([[3.0], [0.0]])
    expected = np.mean([2.0 - 3.0 * np.log(2.0 + 1e-7), 0.5 - 0.0])
    assert losses.get("poisson").value(rate, counts) == pytest.approx(expected, rel=1e-12)


def test_gradients_by_hand_take_the_batch_mean_once():
    f = np.array([[0.0, 2.0], [-3.0, 1.0]])
    y = np.array([[0.5, 0.0], [0.0, 1.0]])
    np.testing.assert_allclose(losses.get("mae").gradient(f, y), [[-0.25, 0.25], [-0.25, 0.0]])
    np.testing.assert_allclose(losses.get("huber").gradient(f, y), [[-0.125, 0.25], [-0.25, 0.0]])  # e clipped to ±1
    np.testing.assert_allclose(losses.get("log_cosh").gradient(f, y), np.tanh(f - y) / 4)
    p, q = np.array([[0.25, 0.75]]), np.array([[0.5, 0.5]])
    np.testing.assert_allclose(losses.get("kl_divergence").gradient(p, q), [[-2.0, -2 / 3]])  # −q/p over n = 1
    np.testing.assert_allclose(losses.get("poisson").gradient(np.array([[2.0, 0.5]]), np.array([[3.0, 0.0]])),
                               [[(1 - 3 / (2 + 1e-7)) / 2, 0.5]])


def test_log_cosh_is_finite_for_huge_errors():
    f = np.array([[1e4, -1e4]], np.float32)
    with np.errstate(over="raise", invalid="raise"):
        value = losses.get("log_cosh").value(f, np.zeros_like(f))
    assert value == pytest.approx(1e4 - np.log(2), rel=1e-6)


def test_names_and_aliases_reach_each_loss():
    for alias, name in (("mae", "mean_absolute_error"), ("kld", "kl_divergence"), ("huber_loss", "huber")):
        assert losses.get(alias).name == name
        assert losses.aliases()[alias] == name
    assert set(NEW) <= set(losses.names())


@pytest.mark.parametrize("bad", [0, -1.0, float("inf"), float("nan"), "1", None, True])
def test_huber_refuses_a_bad_delta(bad):
    with pytest.raises(ValueError, match=r"Huber: expected delta a positive number"):
        losses.Huber(delta=bad)


@pytest.mark.parametrize("name", ["kl_divergence", "poisson"])
def test_negative_targets_are_refused_before_training(name):
    model = nf.Sequential([Dense(2, activation="softplus", input_shape=(3,))], seed=0)
    model.compile("adam", loss=name)
    before = [w.copy() for w in model.get_weights()]
    with pytest.raises(ValueError, match=rf"Sequential.fit: expected y non-negative .* for {name}, got a negative"):
        model.fit(np.ones((4, 3)), -np.ones((4, 2)), verbose=0)
    for w, b in zip(model.get_weights(), before):
        np.testing.assert_array_equal(w, b)


@pytest.mark.parametrize("name", NEW)
def test_each_new_loss_trains_a_model_and_survives_save_and_load(name, tmp_path):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 3))
    y = np.abs(x[:, :2]) + 0.1
    if name == "kl_divergence":
        y /= y.sum(axis=1, keepdims=True)
    activation = "softmax" if name == "kl_divergence" else "softplus"
    model = nf.Sequential([Dense(8, activation="tanh", input_shape=(3,)), Dense(2, activation=activation)],
                          seed=1, dtype="float64")
    model.compile(nf.optimizers.Adam(0.02), loss=name)
    history = model.fit(x, y, epochs=30, batch_size=16, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    path = tmp_path / "m.netfit"
    model.save(path)
    again = nf.load_model(path)
    assert again.loss.name == name
    assert again.evaluate(x, y) == pytest.approx(model.evaluate(x, y), rel=1e-12)


def test_a_huber_delta_survives_save_and_load(tmp_path):
    loss = losses.Huber(delta=2.5)
    assert loss.name == "huber:2.5" and losses.get("huber:2.5").delta == 2.5
    assert losses.Huber().name == "huber"                       # Keras's name for the default
    model = nf.Sequential([Dense(1, input_shape=(2,))], seed=0)
    model.compile("sgd", loss=loss)
    model.fit(np.ones((4, 2)), np.ones(4), verbose=0)
    model.save(tmp_path / "h.netfit")
    assert nf.load_model(tmp_path / "h.netfit").loss.delta == 2.5
    with pytest.raises(ValueError, match=r"Huber: expected delta a positive number"):
        losses.get("huber:-1")
    with pytest.raises(ValueError, match=r"losses.get: unknown loss 'huber:big'"):
        losses.get("huber:big")


# -- Keras's loss functions: keras.losses.hinge(y_true, y_pred) and the rest, and compile(loss=<function>) -----

def _keras_formulas():
    """Keras 3's formulas (keras/src/losses/losses.py), written out on NumPy arrays: ℓ per row, last axis reduced."""
    eps = 1e-7

    def signed(y):
        return 2 * y - 1 if np.all((y == 0) | (y == 1)) else y

    def crossentropy(y, p):
        return -np.sum(y * np.log(np.clip(p / p.sum(-1, keepdims=True), eps, 1 - eps)), axis=-1)

    def huber(y, f, d=1.0):
        e = np.abs(f - y)
        return np.mean(np.where(e <= d, 0.5 * e ** 2, d * e - 0.5 * d ** 2), axis=-1)

    return {
        "mean_squared_error": lambda y, f: np.mean((f - y) ** 2, axis=-1),
        "mean_absolute_error": lambda y, f: np.mean(np.abs(f - y), axis=-1),
        "huber": huber,
        "log_cosh": lambda y, f: np.mean(np.log(np.cosh(f - y)), axis=-1),
        "poisson": lambda y, f: np.mean(f - y * np.log(f + eps), axis=-1),
        "kl_divergence": lambda y, f: np.sum(np.clip(y, eps, 1) * np.log(np.clip(y, eps, 1) / np.clip(f, eps, 1)),
                                             axis=-1),
        "hinge": lambda y, f: np.mean(np.maximum(1 - signed(y) * f, 0), axis=-1),
        "squared_hinge": lambda y, f: np.mean(np.maximum(1 - signed(y) * f, 0) ** 2, axis=-1),
        "categorical_hinge": lambda y, f: np.maximum(np.max((1 - y) * f, axis=-1) - np.sum(y * f, axis=-1) + 1, 0),
        "categorical_crossentropy": crossentropy,
        "binary_crossentropy": lambda y, f: np.mean(-(y * np.log(np.clip(f, eps, 1 - eps)) + (1 - y) * np.log(
            np.clip(1 - f, eps, 1 - eps))), axis=-1),
    }


@pytest.mark.parametrize("name", sorted(_keras_formulas()))
def test_loss_functions_equal_keras_formulas_per_example(name):
    from netfit.keras import losses as keras_losses
    rng = np.random.default_rng(8)
    shape = (4, 3, 5)                                               # Keras reduces the last axis only
    if name in ("categorical_crossentropy", "kl_divergence"):
        f = rng.dirichlet(np.ones(5), shape[:-1])
        y = np.eye(5)[rng.integers(0, 5, shape[:-1])] if name == "categorical_crossentropy" else \
            rng.dirichlet(np.ones(5), shape[:-1])
    elif name in ("binary_crossentropy", "poisson"):
        f, y = rng.uniform(0.05, 0.95, shape), rng.integers(0, 2, shape).astype(float)
    elif name in ("hinge", "squared_hinge", "categorical_hinge"):
        f, y = rng.standard_normal(shape), np.eye(5)[rng.integers(0, 5, shape[:-1])]
    else:
        f, y = rng.standard_normal(shape), rng.standard_normal(shape)
    got = getattr(keras_losses, name)(y, f)
    assert got.shape == shape[:-1]
    np.testing.assert_allclose(got, _keras_formulas()[name](y, f), rtol=1e-6, atol=1e-12)


def test_sparse_crossentropy_function_and_keras_short_names():
    from netfit.keras import losses as keras_losses
    p = np.array([[0.7, 0.2, 0.1], [0.1, 0.1, 0.8]])
    expected = -np.log([0.7, 0.8])
    np.testing.assert_allclose(keras_losses.sparse_categorical_crossentropy(np.array([0, 2]), p), expected)
    np.testing.assert_allclose(keras_losses.sparse_categorical_crossentropy(np.array([[0], [2]]), p), expected)
    z = np.log(p)                                                    # logits whose softmax is p
    np.testing.assert_allclose(keras_losses.categorical_crossentropy(np.eye(3)[[0, 2]], z, from_logits=True), expected)
    assert keras_losses.mse is keras_losses.mean_squared_error and keras_losses.mae is keras_losses.mean_absolute_error
    assert keras_losses.kld is keras_losses.kl_divergence
    with pytest.raises(ValueError, match=r"categorical_crossentropy: expected label_smoothing=0.0 \(netfit's loss has "
                                         r"no other\), got 0.1"):
        keras_losses.categorical_crossentropy(np.eye(3)[[0, 2]], p, label_smoothing=0.1)
    with pytest.raises(ValueError, match=r"hinge: expected y_true of y_pred's shape \(2, 3\), got \(2,\)"):
        keras_losses.hinge(np.array([0, 1]), p)


@pytest.mark.parametrize("name, activation, targets", [
    ("hinge", None, "onehot"), ("squared_hinge", None, "onehot"), ("categorical_hinge", None, "onehot"),
    ("mean_squared_error", None, "onehot"), ("mse", None, "onehot"), ("huber", None, "onehot"),
    ("categorical_crossentropy", "softmax", "onehot"), ("sparse_categorical_crossentropy", "softmax", "labels"),
    ("binary_crossentropy", "sigmoid", "onehot")])
def test_compile_with_the_function_trains_as_with_the_name(name, activation, targets):
    from netfit.keras import losses as keras_losses
    rng = np.random.default_rng(9)
    x = rng.standard_normal((40, 4)).astype(np.float32)
    labels = (x[:, 0] > x[:, 1]).astype(int) + (x[:, 2] > 0)
    y = labels if targets == "labels" else np.eye(3, dtype=np.float32)[labels]
    histories = []
    for loss in (name, getattr(keras_losses, name)):
        model = nf.Sequential([nf.Input(shape=(4,)), Dense(3, activation=activation)], seed=0)
        model.compile(nf.optimizers.Adam(0.01), loss=loss)
        histories.append(model.fit(x, y, epochs=3, batch_size=8, verbose=0).history)
        assert repr(model.loss) == repr(losses.get(name))
    assert histories[0] == histories[1]


def test_metric_functions_are_taken_by_identity_and_own_functions_are_custom():
    from netfit import keras
    rng = np.random.default_rng(10)
    x = rng.standard_normal((30, 4)).astype(np.float32)
    y = keras.utils.to_categorical((x[:, 0] > 0).astype(int), 2)
    model = keras.Sequential([keras.Input(shape=(4,)), Dense(2)], seed=0)
    model.compile("adam", loss=keras.losses.hinge, metrics=[keras.metrics.categorical_accuracy,
                                                            keras.metrics.mean_squared_error])
    history = model.fit(x, y, epochs=2, verbose=0, validation_split=0.2).history
    assert sorted(history) == ["categorical_accuracy", "loss", "mean_squared_error", "val_categorical_accuracy",
                               "val_loss", "val_mean_squared_error"]

    def hinge(y_true, y_pred):                                       # your own, even under a built-in's name
        return np.maximum(1 - y_true * y_pred, 0).mean(axis=-1)
    model.compile("adam", loss=hinge, metrics=[hinge])                # yours: a custom loss and metric (netfit.ops)
    assert type(model.loss).__name__ == "CustomLoss" and model.loss.name == "hinge"
    assert model.loss.serialized() == {"class_name": "function", "config": "hinge"}
    assert [type(m).__name__ for _, m in model.metrics] == ["FunctionMean"]
    assert not isinstance(model.loss, keras.losses.Hinge)              # never taken for the built-in
