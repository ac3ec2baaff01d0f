"""Multiple random starts: averaging predictions, keeping the best, evaluation, errors."""
import numpy as np
import pytest

import netfit as nf
from netfit.ensemble import MultiStart, multi_start
from netfit.layers import Dense


def _data(n=80, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 2))
    y = np.tanh(2 * x[:, :1]) - x[:, 1:] ** 2 + 0.1 * rng.normal(size=(n, 1))
    return x, y


def _build(seed):
    model = nf.Sequential([Dense(5, activation="tanh", input_shape=(2,)), Dense(1)], seed=seed, dtype="float64")
    model.compile(optimizer="adam", loss="mse", metrics=["mae", "r2"])
    return model


def test_average_is_the_mean_of_the_nets_predictions():
    x, y = _data()
    ens = multi_start(_build, x, y, k=3, strategy="average", epochs=3, batch_size=16)
    assert isinstance(ens, MultiStart) and ens.seeds == [0, 1, 2] and len(ens.models) == 3
    outputs = [m.predict(x) for m in ens.models]
    assert not np.allclose(outputs[0], outputs[1])          # different starts
    np.testing.assert_allclose(ens.predict(x), np.mean(outputs, axis=0), rtol=1e-12)
    values = ens.evaluate(x, y, return_dict=True)
    f = np.mean(outputs, axis=0)
    assert values["loss"] == pytest.approx(float(np.mean((f - y) ** 2)))
    assert set(values) == {"loss", "mae", "r2"}
    assert ens.select_by == "loss" and len(ens.scores) == 3


def test_best_is_chosen_on_validation_data_and_seeds_are_honoured():
    x, y = _data()
    xv, yv = _data(40, seed=1)
    ens = multi_start(_build, x, y, k=4, strategy="best", seeds=[10, 11, 12, 13], validation_data=(xv, yv),
                      epochs=4, batch_size=16)
    assert ens.select_by == "val_loss" and ens.seeds == [10, 11, 12, 13]
    val = [float(np.mean((m.predict(xv) - yv) ** 2)) for m in ens.models]
    np.testing.assert_allclose(ens.scores, val, rtol=1e-10)
    assert ens.best_index == int(np.argmin(val))
    np.testing.assert_array_equal(ens.predict(xv), ens.models[ens.best_index].predict(xv))
    # Same seed, same net: the k fits are reproducible.
    again = multi_start(_build, x, y, k=1, seeds=[ens.seeds[ens.best_index]], epochs=4, batch_size=16,
                        validation_data=(xv, yv))
    np.testing.assert_array_equal(again.predict(xv), ens.predict(xv))


def test_averaging_starts_is_no_worse_than_the_average_start():
    # ESL §11.5.3: average the predictions. For squared error that is never worse than the
    # starts' mean test error (convexity), and better by the spread between the nets.
    x, y = _data(120)
    xt, yt = _data(400, seed=5)
    ens = multi_start(_build, x, y, k=4, strategy="average", epochs=10, batch_size=16)
    single = [float(np.mean((m.predict(xt) - yt) ** 2)) for m in ens.models]
    assert ens.evaluate(xt, yt)[0] < np.mean(single)


def test_classifier_average_and_validation_split():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(90, 2))
    y = (x[:, 0] * x[:, 1] > 0).astype(int)

    def build(seed):
        model = nf.Sequential([Dense(6, activation="tanh", input_shape=(2,)), Dense(2, activation="softmax")],
                              seed=seed)
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        return model
    ens = multi_start(build, x, y, k=2, strategy="average", validation_split=0.2, epochs=2)
    proba = ens.predict(x)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-5)
    assert ens.predict_classes(x).shape == (90,) and ens.select_by == "val_loss"
    loss, accuracy = ens.evaluate(x, y)
    assert 0 <= accuracy <= 1


def test_errors_are_clear():
    x, y = _data(20)
    with pytest.raises(ValueError, match="strategy 'best' or 'average'"):
        multi_start(_build, x, y, k=2, strategy="vote")
    with pytest.raises(ValueError, match="k >= 1"):
        multi_start(_build, x, y, k=0)
    with pytest.raises(ValueError, match="seeds a list of 2 integers"):
        multi_start(_build, x, y, k=2, seeds=[1])
    with pytest.raises(TypeError, match="build_fn"):
        multi_start("net", x, y)
    with pytest.raises(ValueError, match="compiled model"):
        multi_start(lambda s: nf.Sequential([Dense(1, input_shape=(2,))], seed=s), x, y, k=1)
