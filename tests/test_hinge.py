"""Hinge losses: Keras's hinge, squared_hinge and categorical_hinge, their δ, and models that train with them."""
import numpy as np
import pytest

import netfit as nf
from netfit import losses
from netfit.gradcheck import numerical_gradient, relative_error
from netfit.layers import Dense

HINGES = ["hinge", "squared_hinge", "categorical_hinge"]


def _pair(name, seed=0, labels="pm1", shape=(6, 4)):
    rng = np.random.default_rng(seed)
    f = rng.standard_normal(shape) * 1.5
    if name == "categorical_hinge":
        y = np.eye(shape[-1])[rng.integers(0, shape[-1], shape[:-1])]
    else:
        y = rng.integers(0, 2, shape).astype(float)
        y = 2 * y - 1 if labels == "pm1" else y
    f[np.abs(np.abs(f) - 1) < 1e-3] += 0.01                             # clear of the margin's kink
    return f, y


def _keras(name, f, y):
    """Keras 3's formulas, example by example (keras/src/losses/losses.py)."""
    if name != "categorical_hinge" and np.all((y == 0) | (y == 1)):
        y = 2 * y - 1                                                  # convert_binary_labels_to_hinge
    per = []
    for fi, yi in zip(f.reshape(len(f), -1, f.shape[-1]), y.reshape(len(y), -1, y.shape[-1])):
        if name == "hinge":
            per.append(np.mean([max(1 - a * b, 0) for a, b in zip(fi.ravel(), yi.ravel())]))
        elif name == "squared_hinge":
            per.append(np.mean([max(1 - a * b, 0) ** 2 for a, b in zip(fi.ravel(), yi.ravel())]))
        else:
            rows = [max(max((1 - t) * p for p, t in zip(fr, tr)) - sum(p * t for p, t in zip(fr, tr)) + 1, 0)
                    for fr, tr in zip(fi, yi)]
            per.append(np.mean(rows))
    return np.mean(per)


@pytest.mark.parametrize("name", HINGES)
@pytest.mark.parametrize("labels", ["pm1", "01"])
@pytest.mark.parametrize("shape", [(6, 4), (5, 3, 4), (6, 1)])
def test_value_matches_keras_and_delta_central_differences(name, labels, shape):
    if name == "categorical_hinge" and shape[-1] == 1:
        pytest.skip("one class")
    f, y = _pair(name, labels=labels, shape=shape)
    loss = losses.get(name)
    assert loss.value(f, y) == pytest.approx(_keras(name, f, y), rel=1e-12)
    numeric = numerical_gradient(lambda: loss.value(f, y), f)
    assert relative_error(loss.gradient(f, y), numeric) < 1e-8
    per = loss.per_example(f, y)
    assert per.shape == (len(f),) and np.mean(per) == pytest.approx(loss.value(f, y), rel=1e-12)


def test_zero_one_labels_are_the_same_as_plus_minus_one():
    f, y = _pair("hinge", labels="01")
    for name in ("hinge", "squared_hinge"):
        loss = losses.get(name)
        assert loss.value(f, y) == loss.value(f, 2 * y - 1)
        np.testing.assert_array_equal(loss.gradient(f, y), loss.gradient(f, 2 * y - 1))


def test_hand_worked_values():
    # Keras's docstrings: hinge of y = [[0, 1], [0, 0]], f = [[0.6, 0.4], [0.4, 0.6]] is [1.1, 1.5] per example.
    y, f = np.array([[0.0, 1.0], [0.0, 0.0]]), np.array([[0.6, 0.4], [0.4, 0.6]])
    np.testing.assert_allclose(losses.get("hinge").per_example(f, y), [1.1, 1.5])
    np.testing.assert_allclose(losses.get("squared_hinge").per_example(f, y), [1.46, 2.26])
    # categorical: pos = 0.4, neg = 0.6 -> 1.2; pos = 0, neg = 0.6 -> 1.6
    np.testing.assert_allclose(losses.get("categorical_hinge").per_example(f, y), [1.2, 1.6])


def test_categorical_hinge_delta_by_hand_and_ties():
    f = np.array([[2.0, 0.5, 0.5], [0.0, 3.0, -1.0]])
    y = np.array([[0.0, 0.0, 1.0], [0.0, 1.0, 0.0]])
    d = losses.get("categorical_hinge").gradient(f, y)
    # row 0: neg = 2 (k* = 0), pos = 0.5, margin 2.5 > 0: +1 at k*, −1 at the target, over n = 2
    np.testing.assert_array_equal(d[0], [0.5, 0.0, -0.5])
    # row 1: neg = 0 (k* = 0, the first of the zeros), pos = 3: margin −2 < 0, no gradient
    np.testing.assert_array_equal(d[1], [0.0, 0.0, 0.0])


def test_float32_stays_float32_and_names_register():
    for name in HINGES:
        f, y = _pair(name)
        loss = losses.get(name)
        assert loss.gradient(f.astype(np.float32), y).dtype == np.float32
        assert losses.get(type(loss).__name__).name == name and name in losses.names()
        assert losses.serialize(loss) == name


@pytest.mark.parametrize("name", ["hinge", "squared_hinge"])
def test_a_model_learns_with_hinge_and_its_accuracy_cuts_at_zero(name):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((200, 2))
    y = (x[:, 0] - x[:, 1] > 0).astype(float)                           # 0/1 labels, converted
    model = nf.Sequential([Dense(8, activation="tanh", input_shape=(2,)), Dense(1, activation="tanh")], seed=0)
    model.compile(nf.optimizers.Adam(0.05), name, metrics=["accuracy", "true_positives", "false_negatives"])
    model.fit(x, y, epochs=30, batch_size=32, verbose=0)
    values = model.evaluate(x, y, verbose=0, return_dict=True)
    f = model.predict(x, verbose=0)[:, 0]
    assert values["accuracy"] == pytest.approx(np.mean((f > 0) == (y > 0.5))) and values["accuracy"] > 0.95
    assert values["true_positives"] == np.sum((f > 0.5) & (y == 1))     # the counts keep Keras's 0.5
    assert values["true_positives"] + values["false_negatives"] == y.sum()


def test_categorical_hinge_trains_with_categorical_accuracy():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((150, 2))
    labels = (x[:, 0] > 0).astype(int) + (x[:, 1] > 0)
    model = nf.Sequential([Dense(16, activation="relu", input_shape=(2,)), Dense(3)], seed=0)
    model.compile(nf.optimizers.Adam(0.05), "categorical_hinge", metrics=["accuracy"])
    model.fit(x, np.eye(3)[labels], epochs=40, batch_size=32, verbose=0)
    assert model.evaluate(x, np.eye(3)[labels], verbose=0)[1] > 0.9
