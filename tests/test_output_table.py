"""Output activation × loss × metric: every combination is right, refused at compile with the fix, or warned.

The table below is docs/reliability.md's, row by row. A "right" row also has to train: the
right pairs learn a separable problem, and ``from_logits=True`` gives the same δ = (softmax(z) − Y)/n
as the fused softmax pair, checked against finite differences in float64.
"""
import warnings

import numpy as np
import pytest

import netfit as nf
from netfit import losses, metrics
from netfit.gradcheck import check_model, numerical_gradient, relative_error
from netfit.layers import Activation, Dense, Dropout, Flatten

LOSSES = {
    "cce": "categorical_crossentropy", "scce": "sparse_categorical_crossentropy", "bce": "binary_crossentropy",
    "mse": "mse",
    "cce_l": losses.CategoricalCrossentropy(from_logits=True),
    "scce_l": losses.SparseCategoricalCrossentropy(from_logits=True),
    "bce_l": losses.BinaryCrossentropy(from_logits=True),
}
OK, WARN = "ok", "warn"
ONE_CLASS = r"with 1 output unit has one class only, so its loss is always 0; for two classes use Dense\(1, "
SOFTMAX_1 = r"softmax over 1 unit, which always outputs 1.0"
NEED_SOFTMAX = r"expects probabilities that sum to 1, but .*; end the model with activation='softmax', or keep the " \
               r"outputs as logits and compile with loss=nf.losses.\w+\(from_logits=True\)"
NEED_SIGMOID = r"expects probabilities in \[0, 1\], but .*; end the model with activation='sigmoid', or keep the " \
               r"outputs as logits and compile with loss=nf.losses.BinaryCrossentropy\(from_logits=True\)"
TWICE = r"with from_logits=True applies (softmax|sigmoid) itself, but the last layer already applies .*remove the " \
        r"last layer's activation"
BOUNDED = r"with from_logits=True reads logits, but the last layer's (relu|tanh) limits them"
COMPETE = r"binary_crossentropy after a softmax: the outputs compete"

# (activation, units) -> {loss: expected}; expected is OK, (WARN, regex) or a regex of the ValueError.
TABLE = {
    ("softmax", 3): {"cce": OK, "scce": OK, "bce": (WARN, COMPETE), "mse": OK,
                     "cce_l": TWICE, "scce_l": TWICE, "bce_l": TWICE},
    ("sigmoid", 3): {"cce": NEED_SOFTMAX + "|sigmoid outputs do not sum to 1", "scce": NEED_SOFTMAX, "bce": OK,
                     "mse": OK, "cce_l": TWICE, "scce_l": TWICE, "bce_l": TWICE},
    ("linear", 3): {"cce": NEED_SOFTMAX, "scce": NEED_SOFTMAX, "bce": NEED_SIGMOID, "mse": OK,
                    "cce_l": OK, "scce_l": OK, "bce_l": OK},
    ("relu", 3): {"cce": NEED_SOFTMAX, "scce": NEED_SOFTMAX, "bce": NEED_SIGMOID, "mse": OK,
                  "cce_l": (WARN, BOUNDED), "scce_l": (WARN, BOUNDED), "bce_l": (WARN, BOUNDED)},
    ("tanh", 3): {"cce": NEED_SOFTMAX, "scce": NEED_SOFTMAX, "bce": NEED_SIGMOID, "mse": OK,
                  "cce_l": (WARN, BOUNDED), "scce_l": (WARN, BOUNDED), "bce_l": (WARN, BOUNDED)},
    ("softmax", 1): {name: SOFTMAX_1 for name in LOSSES},
    ("sigmoid", 1): {"cce": ONE_CLASS, "scce": ONE_CLASS, "bce": OK, "mse": OK,
                     "cce_l": ONE_CLASS, "scce_l": ONE_CLASS, "bce_l": TWICE},
    ("linear", 1): {"cce": ONE_CLASS, "scce": ONE_CLASS, "bce": NEED_SIGMOID, "mse": OK,
                    "cce_l": ONE_CLASS, "scce_l": ONE_CLASS, "bce_l": OK},
    ("relu", 1): {"cce": ONE_CLASS, "scce": ONE_CLASS, "bce": NEED_SIGMOID, "mse": OK,
                  "cce_l": ONE_CLASS, "scce_l": ONE_CLASS, "bce_l": (WARN, BOUNDED)},
    ("tanh", 1): {"cce": ONE_CLASS, "scce": ONE_CLASS, "bce": NEED_SIGMOID, "mse": OK,
                  "cce_l": ONE_CLASS, "scce_l": ONE_CLASS, "bce_l": (WARN, BOUNDED)},
}
ROWS = [pytest.param(act, units, loss, expected, id=f"{act}{units}-{loss}")
        for (act, units), row in TABLE.items() for loss, expected in row.items()]


def _model(act, units, input_shape=(2,)):
    extra = {"input_shape": input_shape} if input_shape else {}
    return nf.Sequential([Dense(4, activation="tanh", **extra), Dense(units, activation=act)], seed=0)


@pytest.mark.parametrize("act, units, loss, expected", ROWS)
@pytest.mark.parametrize("built", [True, False], ids=["built", "lazy"])
def test_every_output_loss_pair_is_right_refused_or_warned_at_compile(act, units, loss, expected, built):
    model = _model(act, units, input_shape=(2,) if built else None)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        if isinstance(expected, str) and expected != OK:
            with pytest.raises(ValueError, match=r"Sequential.compile: .*(" + expected + ")"):
                model.compile("adam", LOSSES[loss])
            assert not model.compiled                       # a refused compile leaves the model uncompiled
            return
        model.compile("adam", LOSSES[loss])
    # Only netfit's own: "always" also records what the garbage collector reports meanwhile (a ResourceWarning
    # for a file or socket an earlier test left to it).
    mine = [w for w in caught if "Sequential.compile" in str(w.message)]
    if expected == OK:
        assert mine == []
    else:
        assert len(mine) == 1 and __import__("re").search(expected[1], str(mine[0].message)), mine
        assert mine[0].category is UserWarning


def test_the_issue_example_linear_output_with_categorical_crossentropy_is_refused_and_from_logits_trains():
    """Issue 13 item 2: a linear last layer with categorical_crossentropy 'trained' to loss 0.0016 at 24 %."""
    rng = np.random.default_rng(0)
    centers = rng.normal(scale=3.0, size=(4, 5))
    labels = rng.integers(0, 4, 400)
    x = (centers[labels] + rng.normal(size=(400, 5))).astype(np.float32)
    y = nf.utils.to_categorical(labels, 4)
    model = nf.Sequential([Dense(16, activation="relu", input_shape=(5,)), Dense(4)], seed=0)
    with pytest.raises(ValueError, match=r"categorical_crossentropy expects probabilities that sum to 1, but a "
                                         r"linear last layer's outputs are not probabilities"):
        model.compile("adam", "categorical_crossentropy", metrics=["accuracy"])
    model.compile(nf.optimizers.Adam(0.01), losses.CategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
    history = model.fit(x, y, epochs=20, batch_size=32, verbose=0)
    loss, acc = model.evaluate(x, y)
    assert acc > 0.9 and history.history["accuracy"][-1] > 0.9
    z = model.predict(x).astype(np.float64)                     # logits, as in Keras
    reference = -np.mean([np.log(np.exp(z[i, labels[i]]) / np.exp(z[i]).sum()) for i in range(len(z))])
    assert loss == pytest.approx(reference, rel=1e-4)          # the evaluated loss is the true cross-entropy
    assert not np.allclose(z.sum(axis=1), 1.0)


@pytest.mark.parametrize("act, loss, units, target", [
    ("softmax", "cce", 3, "onehot"), ("softmax", "scce", 3, "labels"), ("linear", "cce_l", 3, "onehot"),
    ("linear", "scce_l", 3, "labels"), ("sigmoid", "bce", 1, "binary"), ("linear", "bce_l", 1, "binary"),
    ("sigmoid", "bce", 3, "multilabel"), ("linear", "bce_l", 3, "multilabel")])
def test_right_pairs_learn_and_accuracy_means_what_the_loss_says(act, loss, units, target):
    rng = np.random.default_rng(1)
    x = rng.normal(size=(300, 2)).astype(np.float32)
    labels = (x[:, 0] > 0).astype(int) + (x[:, 1] > 0.5)                   # 3 classes
    y = {"onehot": nf.utils.to_categorical(labels, 3), "labels": labels, "binary": (x[:, 0] > 0).astype(float),
         "multilabel": np.stack([x[:, 0] > 0, x[:, 1] > 0, x[:, 0] + x[:, 1] > 0], axis=1).astype(float)}[target]
    model = nf.Sequential([Dense(16, activation="tanh", input_shape=(2,)), Dense(units, activation=act)], seed=0)
    model.compile(nf.optimizers.Adam(0.02), LOSSES[loss], metrics=["accuracy"])
    model.fit(x, y, epochs=30, verbose=0)
    _, acc = model.evaluate(x, y)
    f = model.predict(x)
    if target in ("onehot", "labels"):
        expected = np.mean(f.argmax(1) == labels)                          # categorical: argmax
    else:
        cut = 0.0 if loss.endswith("_l") else 0.5                          # logits are cut at 0, probabilities at 0.5
        expected = np.mean((f > cut) == (y.reshape(f.shape) > 0.5))        # binary: every output, then the mean
        classes = model.predict_classes(x) if units == 1 else None
        if classes is not None:
            assert np.array_equal(classes, (f[:, 0] > cut).astype(int))
    assert acc == pytest.approx(expected) and acc > 0.9


@pytest.mark.parametrize("loss, metric, match", [
    ("scce", "categorical_accuracy", r"metric 'categorical_accuracy' needs y of the output's shape, but "
                                     r"sparse_categorical_crossentropy takes integer labels"),
    ("scce", "binary_accuracy", r"metric 'binary_accuracy' needs y of the output's shape"),
    ("cce", "sparse_categorical_accuracy", r"metric 'sparse_categorical_accuracy' compares integer labels, but "
                                           r"categorical_crossentropy takes one-hot rows"),
    ("mse", "sparse_categorical_accuracy", r"compares integer labels"),
    ("mse", "accuracy", r"metric 'accuracy' needs a classification loss"),
])
def test_metrics_that_cannot_mean_anything_for_the_loss_are_refused(loss, metric, match):
    model = _model("softmax" if loss != "mse" else "linear", 3)
    with pytest.raises(ValueError, match=match):
        model.compile("adam", LOSSES[loss], metrics=[metric])


def test_categorical_accuracy_on_one_unit_is_refused():
    with pytest.raises(ValueError, match=r"'categorical_accuracy' over 1 output unit is always 1.0"):
        _model("sigmoid", 1).compile("adam", "binary_crossentropy", metrics=["categorical_accuracy"])


def test_the_activation_below_flatten_or_dropout_counts_and_an_activation_layer_counts():
    model = nf.Sequential([Dense(3, input_shape=(2,)), Dropout(0.1)])
    with pytest.raises(ValueError, match=NEED_SOFTMAX):
        model.compile("adam", "categorical_crossentropy")
    model = nf.Sequential([Dense(3, input_shape=(2,)), Activation("softmax"), Flatten()])
    model.compile("adam", "categorical_crossentropy")


def test_a_layer_added_after_compile_is_checked_before_fit():
    model = nf.Sequential([Dense(3, activation="softmax", input_shape=(2,))], seed=0)
    model.compile("adam", "sparse_categorical_crossentropy")
    model.add(Dense(3))
    with pytest.raises(ValueError, match=r"Sequential.fit: sparse_categorical_crossentropy expects probabilities"):
        model.fit(np.zeros((4, 2)), [0, 1, 2, 0], verbose=0)


# -- from_logits: values against a slow reference, gradients against finite differences (float64) -------------
def _slow_softmax_ce(z, y_onehot):
    total = 0.0
    for i in range(z.shape[0]):
        p = np.exp(z[i]) / sum(np.exp(v) for v in z[i])
        total -= sum(y_onehot[i, k] * np.log(p[k]) for k in range(z.shape[1]))
    return total / z.shape[0]


def _case(name, rng, n=5, k=4):
    z = rng.normal(scale=2.0, size=(n, k))
    labels = rng.integers(0, k, n)
    if name == "scce":
        return z, labels, nf.utils.to_categorical(labels, k, dtype="float64")
    if name == "cce":
        soft = rng.random((n, k))
        return z, soft / soft.sum(1, keepdims=True), soft / soft.sum(1, keepdims=True)
    return z, (rng.random((n, k)) > 0.5).astype(float), None


@pytest.mark.parametrize("name, cls", [("cce", losses.CategoricalCrossentropy),
                                       ("scce", losses.SparseCategoricalCrossentropy),
                                       ("bce", losses.BinaryCrossentropy)])
def test_from_logits_value_matches_a_slow_reference_and_the_probability_form(name, cls):
    rng = np.random.default_rng(0)
    z, y, onehot = _case(name, rng)
    logit_loss, prob_loss = cls(from_logits=True), cls()
    if name == "bce":
        p = 1 / (1 + np.exp(-z))
        reference = -np.mean(y * np.log(p) + (1 - y) * np.log(1 - p))
    else:
        p = np.exp(z) / np.exp(z).sum(1, keepdims=True)
        reference = _slow_softmax_ce(z, onehot)
    assert logit_loss.value(z, y) == pytest.approx(reference, rel=1e-12)
    assert prob_loss.value(p, y) == pytest.approx(reference, rel=1e-6)          # the same R from probabilities
    assert np.mean(logit_loss.per_example(z, y)) == pytest.approx(reference, rel=1e-12)


@pytest.mark.parametrize("name, cls", [("cce", losses.CategoricalCrossentropy),
                                       ("scce", losses.SparseCategoricalCrossentropy),
                                       ("bce", losses.BinaryCrossentropy)])
@pytest.mark.parametrize("weighted", [False, True])
def test_from_logits_gradient_is_softmax_minus_y_over_n_and_matches_finite_differences(name, cls, weighted):
    rng = np.random.default_rng(1)
    z, y, onehot = _case(name, rng)
    loss = cls(from_logits=True)
    w = rng.random(len(z)) * 3 if weighted else None
    if weighted:
        analytic = loss.weighted_gradient(z, y, w)
        numeric = numerical_gradient(lambda: loss.weighted_value(z, y, w), z)
    else:
        analytic = loss.gradient(z, y)
        numeric = numerical_gradient(lambda: loss.value(z, y), z)
    assert relative_error(analytic, numeric) < 1e-8
    if name != "bce" and not weighted:
        p = np.exp(z) / np.exp(z).sum(1, keepdims=True)
        np.testing.assert_allclose(analytic, (p - onehot) / len(z), rtol=1e-12)   # δ = (softmax(z) − Y) / n


@pytest.mark.parametrize("loss", ["cce_l", "scce_l", "bce_l"])
def test_a_whole_model_with_a_logits_loss_passes_the_gradient_check_in_float64(loss):
    rng = np.random.default_rng(2)
    model = nf.Sequential([Dense(5, activation="tanh", input_shape=(3,)), Dense(3)], seed=0, dtype="float64")
    model.compile(nf.optimizers.SGD(0.1, weight_decay=1e-3), LOSSES[loss])
    x = rng.normal(size=(6, 3))
    labels = rng.integers(0, 3, 6)
    y = {"cce_l": nf.utils.to_categorical(labels, 3), "scce_l": labels,
         "bce_l": (rng.random((6, 3)) > 0.5).astype(float)}[loss]
    assert max(check_model(model, x, y).values()) < 1e-7
    assert max(check_model(model, x, y, sample_weight=rng.random(6) * 2).values()) < 1e-7


def test_from_logits_survives_save_load_and_is_accepted_in_every_form(tmp_path):
    model = nf.Sequential([Dense(3, input_shape=(2,))], seed=0)
    model.compile("adam", losses.SparseCategoricalCrossentropy(from_logits=True))
    model.save(tmp_path / "m.netfit")
    loaded = nf.load_model(tmp_path / "m.netfit")
    assert loaded.loss.from_logits and loaded.loss.name == "sparse_categorical_crossentropy"
    for form in ({"class_name": "SparseCategoricalCrossentropy", "config": {"from_logits": True}},
                 losses.get("SparseCategoricalCrossentropy")):
        assert isinstance(losses.get(form), losses.SparseCategoricalCrossentropy)
    with pytest.raises(TypeError, match=r"CategoricalCrossentropy: expected from_logits True or False, got 'yes'"):
        losses.CategoricalCrossentropy(from_logits="yes")


def test_binary_accuracy_reads_logits_at_zero():
    loss = losses.BinaryCrossentropy(from_logits=True)
    _, metric = metrics.get("accuracy", loss)
    z, y = np.array([[-0.2], [0.3], [2.0]]), np.array([[0.0], [1.0], [0.0]])
    assert metrics.result_of(metric, y, z) == pytest.approx(2 / 3)     # z = −0.2 is class 0, though −0.2 < 0.5 too
    z = np.array([[0.2], [0.3]])
    assert metrics.result_of(metric, np.array([[1.0], [1.0]]), z) == 1.0   # 0.2 > 0: class 1 (0.5 would say 0)
