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
