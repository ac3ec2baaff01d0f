"""sample_weight and class_weight, with Keras's semantics: R = (1/n) Σ_i w_i ℓ_i over each batch of n.

Every δ_i is scaled by w_i; the checks are finite differences in float64, a hand-computed loss,
and an exact equivalence: full-batch gradient descent with integer weights w takes the same steps
as gradient descent on the data with row i repeated w_i times and the learning rate scaled by Σw/n.
"""
import warnings

import numpy as np
import pytest

import netfit as nf
from netfit import losses
from netfit.gradcheck import check_model, numerical_gradient, relative_error
from netfit.layers import Dense

RNG = np.random.default_rng(0)
X = RNG.normal(size=(12, 3))
LABELS = np.array([0, 1, 2, 0, 1, 2, 0, 0, 0, 0, 1, 0])
W = np.array([1, 2, 0, 3, 1, 1, 2, 1, 0, 1, 4, 1], dtype=float)


def _model(loss="sparse_categorical_crossentropy", units=3, act="softmax", optimizer=None, dtype="float64"):
    model = nf.Sequential([Dense(5, activation="tanh", input_shape=(3,)), Dense(units, activation=act)],
                          seed=0, dtype=dtype)
    model.compile(optimizer or nf.optimizers.SGD(0.1), loss, metrics=["accuracy"] if loss != "mse" else ["mae"])
    return model


def _targets(loss):
    return {"sparse_categorical_crossentropy": LABELS, "categorical_crossentropy": nf.utils.to_categorical(LABELS, 3),
            "binary_crossentropy": (LABELS == 1).astype(float), "mean_squared_error": X[:, :1] * 2}[loss]


SETUPS = [("sparse_categorical_crossentropy", 3, "softmax"), ("categorical_crossentropy", 3, "softmax"),
          ("binary_crossentropy", 1, "sigmoid"), ("mse", 1, None),
          (losses.CategoricalCrossentropy(from_logits=True), 3, None)]
IDS = ["scce", "cce", "bce", "mse", "cce-logits"]


@pytest.mark.parametrize("loss, units, act", SETUPS, ids=IDS)
def test_weighted_loss_is_the_weighted_sum_over_n_and_its_gradient_checks(loss, units, act):
    model = _model(loss, units, act)
    name = model.loss.name
    y = _targets(name)
    per_example = []
    for i in range(len(X)):                                             # ℓ_i, one example at a time
        per_example.append(model.loss_and_gradients(X[i:i + 1], y[i:i + 1], gradients=False)[0])
    value, _ = model.loss_and_gradients(X, y, sample_weight=W)
    assert value == pytest.approx(np.dot(W, per_example) / len(X), rel=1e-12)     # (1/n) Σ w_i ℓ_i
    assert max(check_model(model, X, y, sample_weight=W).values()) < 1e-7
    loss_w, metric = model.evaluate(X, y, sample_weight=W, batch_size=5)            # streamed in batches
    assert loss_w == pytest.approx(value, rel=1e-12)
    assert metric == pytest.approx(model.evaluate(X, y, batch_size=5)[1], rel=1e-12)   # metrics stay unweighted


@pytest.mark.parametrize("name", ["mean_squared_error", "categorical_crossentropy", "binary_crossentropy",
                                  "sparse_categorical_crossentropy"])
def test_each_loss_scales_delta_i_by_w_i(name):
    rng = np.random.default_rng(3)
    loss = losses.get(name)
    p = rng.random((6, 3)) * 0.8 + 0.1
    y = {"sparse_categorical_crossentropy": rng.integers(0, 3, 6)}.get(name, (rng.random((6, 3)) > 0.5) * 1.0)
    if name == "categorical_crossentropy":
        y = nf.utils.to_categorical(rng.integers(0, 3, 6), 3, dtype="float64")
    w = rng.random(6) * 2
    numeric = numerical_gradient(lambda: loss.weighted_value(p, y, w), p)
    assert relative_error(loss.weighted_gradient(p, y, w), numeric) < 1e-8
    np.testing.assert_allclose(loss.weighted_gradient(p, y, w), loss.gradient(p, y) * w[:, None], rtol=1e-12)


def test_integer_weights_equal_repeated_rows_with_the_learning_rate_scaled():
    """Full batch: ∇(1/n Σ w_i ℓ_i) = (Σw / n) ∇(mean over the repeated rows), so γ' = γ Σw / n matches it."""
    lr = 0.3
    weighted = _model(optimizer=nf.optimizers.SGD(lr))
    weighted.fit(X, LABELS, sample_weight=W, batch_size=None, epochs=5, shuffle=False, verbose=0)
    rows = np.repeat(np.arange(len(X)), W.astype(int))
    repeated = _model(optimizer=nf.optimizers.SGD(lr * W.sum() / len(X)))
    repeated.fit(X[rows], LABELS[rows], batch_size=None, epochs=5, shuffle=False, verbose=0)
    for a, b in zip(weighted.get_weights(), repeated.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


def test_class_weight_is_the_sample_weight_of_each_examples_class_and_multiplies_it():
    cw = {0: 0.5, 1: 2.0, 2: 3.0}
    by_hand = np.array([cw[c] for c in LABELS])
    for loss in ("sparse_categorical_crossentropy", "categorical_crossentropy"):
        a, b = _model(loss), _model(loss)
        a.fit(X, _targets(loss), class_weight=cw, sample_weight=W, epochs=3, batch_size=4, verbose=0)
        b.fit(X, _targets(loss), sample_weight=by_hand * W, epochs=3, batch_size=4, verbose=0)
        for u, v in zip(a.get_weights(), b.get_weights()):
            np.testing.assert_array_equal(u, v)
    a, b = _model("binary_crossentropy", 1, "sigmoid"), _model("binary_crossentropy", 1, "sigmoid")
    y = _targets("binary_crossentropy")
    a.fit(X, y, class_weight={1: 4.0}, epochs=2, verbose=0)               # a class missing from the dict weighs 1
    b.fit(X, y, sample_weight=np.where(y == 1, 4.0, 1.0), epochs=2, verbose=0)
    np.testing.assert_array_equal(a.get_weights()[0], b.get_weights()[0])


def test_validation_weights_come_from_the_third_entry_and_validation_split_splits_the_weights():
    model = _model()
    history = model.fit(X, LABELS, validation_data=(X[:6], LABELS[:6], W[:6]), epochs=1, verbose=0)
    assert history.history["val_loss"][0] == pytest.approx(model.evaluate(X[:6], LABELS[:6], sample_weight=W[:6])[0])
    rng = np.random.default_rng(5)
    order = rng.permutation(len(X))
    a, b = _model(), _model()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        h = a.fit(X[order], LABELS[order], sample_weight=W[order], validation_split=0.25, epochs=1, verbose=0)
        b.fit(X[order][:9], LABELS[order][:9], sample_weight=W[order][:9], epochs=1, verbose=0)
    np.testing.assert_array_equal(a.get_weights()[0], b.get_weights()[0])
    assert h.history["val_loss"][0] == pytest.approx(
        a.evaluate(X[order][9:], LABELS[order][9:], sample_weight=W[order][9:])[0])


@pytest.mark.parametrize("optimizer", ["sgd", "lbfgs"])
def test_class_weight_weights_the_training_rows_only_with_validation_split_as_with_validation_data(optimizer):
    # Keras applies class_weight to the training data alone: val_loss is weighted by sample_weight only.
    if optimizer == "lbfgs":
        pytest.importorskip("scipy")
    make = (lambda: _model(optimizer=nf.lbfgs.LBFGS())) if optimizer == "lbfgs" else _model
    class_weight = {0: 5.0, 1: 1.0, 2: 0.25}
    order = np.random.default_rng(5).permutation(len(X))
    x, y, w = X[order], LABELS[order], W[order]
    a, b = make(), make()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        h = a.fit(x, y, sample_weight=w, class_weight=class_weight, validation_split=0.25, epochs=2, verbose=0)
        hb = b.fit(x[:9], y[:9], sample_weight=w[:9], class_weight=class_weight, validation_data=(x[9:], y[9:], w[9:]),
                   epochs=2, verbose=0)
    np.testing.assert_array_equal(a.get_weights()[0], b.get_weights()[0])
    assert h.history["val_loss"] == pytest.approx(hb.history["val_loss"])
    assert h.history["val_loss"][-1] == pytest.approx(a.evaluate(x[9:], y[9:], sample_weight=w[9:])[0])


def test_arrays_with_sample_weight_take_a_validation_generator():
    # The weights belong to the arrays x, y; a streamed validation set does not make them "streamed".
    def validation():
        while True:
            yield X[:6], LABELS[:6]
    a, b = _model(), _model()
    h = a.fit(X, LABELS, sample_weight=W, class_weight={0: 2.0}, validation_data=validation(), validation_steps=2,
              epochs=2, verbose=0)
    hb = b.fit(X, LABELS, sample_weight=W, class_weight={0: 2.0}, validation_data=(X[:6], LABELS[:6]),
               epochs=2, verbose=0)
    np.testing.assert_array_equal(a.get_weights()[0], b.get_weights()[0])
    assert h.history["loss"] == hb.history["loss"]
    assert h.history["val_loss"] == pytest.approx(hb.history["val_loss"])


def test_train_and_test_on_batch_take_the_weights_fit_and_evaluate_take():
    class_weight = {0: 0.5, 2: 3.0}
    a, b = _model(), _model()
    before = a.test_on_batch(X, LABELS, sample_weight=W, return_dict=True)
    assert before == pytest.approx(a.evaluate(X, LABELS, sample_weight=W, return_dict=True))
    logs = a.train_on_batch(X, LABELS, sample_weight=W, class_weight=class_weight, return_dict=True)
    h = b.fit(X, LABELS, sample_weight=W, class_weight=class_weight, batch_size=len(X), shuffle=False, verbose=0)
    np.testing.assert_array_equal(a.get_weights()[0], b.get_weights()[0])
    assert logs["loss"] == h.history["loss"][0]
    w_all = W * np.array([class_weight.get(k, 1.0) for k in LABELS])
    assert logs["loss"] == pytest.approx(_model().evaluate(X, LABELS, sample_weight=w_all)[0])   # before the step


def test_lbfgs_minimises_the_weighted_objective():
    pytest.importorskip("scipy")
    from netfit.lbfgs import LBFGS
    model = _model(optimizer=LBFGS(weight_decay=0.05))
    start = model.loss_and_gradients(X, LABELS, gradients=False, sample_weight=W)[0]
    history = model.fit(X, LABELS, sample_weight=W, epochs=500, verbose=0)
    final = model.loss_and_gradients(X, LABELS, gradients=False, sample_weight=W)[0]
    assert history.history["loss"][-1] == pytest.approx(final, rel=1e-9) and final < start
    unweighted = model.loss_and_gradients(X, LABELS)[1]
    weighted = model.loss_and_gradients(X, LABELS, sample_weight=W)[1]
    assert np.linalg.norm(np.concatenate([g.ravel() for g in weighted])) < 1e-4        # a stationary point of it
    assert np.linalg.norm(np.concatenate([g.ravel() for g in unweighted])) > 1e-2      # not of the unweighted one


def test_zero_weight_rows_do_not_move_the_weights():
    model = _model(optimizer=nf.optimizers.Adam(0.1))
    before = model.get_weights()
    model.fit(X, LABELS, sample_weight=np.zeros(len(X)), epochs=2, verbose=0)
    for a, b in zip(before, model.get_weights()):
        np.testing.assert_array_equal(a, b)


# -- the scikit-learn wrappers ---------------------------------------------------------------------------
def _imbalanced(seed=0):
    from sklearn.datasets import make_classification
    from sklearn.model_selection import train_test_split
    x, y = make_classification(n_samples=2000, n_features=10, n_informative=4, weights=[0.95], flip_y=0.0,
                               class_sep=1.0, random_state=seed)
    return train_test_split(x, y, test_size=0.5, stratify=y, random_state=seed)


def test_net_classifier_finds_the_minority_class_with_balanced_class_weight():
    """Issue 13 item 8: on 95:5 data NetClassifier never predicted the minority class (recall 0.00)."""
    pytest.importorskip("sklearn")
    from sklearn.metrics import recall_score
    from netfit.sklearn import NetClassifier
    xtr, xte, ytr, yte = _imbalanced()
    plain = NetClassifier(hidden_layer_sizes=(10,), epochs=60, random_state=0).fit(xtr, ytr)
    balanced = NetClassifier(hidden_layer_sizes=(10,), epochs=60, random_state=0, class_weight="balanced").fit(xtr, ytr)
    recall_plain, recall_balanced = recall_score(yte, plain.predict(xte)), recall_score(yte, balanced.predict(xte))
    assert recall_balanced > recall_plain + 0.2 and recall_balanced > 0.5
    # class_weight="balanced" is scikit-learn's n / (n_classes · count): the same as passing those weights.
    from sklearn.utils.class_weight import compute_sample_weight
    by_hand = NetClassifier(hidden_layer_sizes=(10,), epochs=60, random_state=0).fit(
        xtr, ytr, sample_weight=compute_sample_weight("balanced", ytr))
    np.testing.assert_array_equal(by_hand.predict_proba(xte), balanced.predict_proba(xte))


def test_net_regressor_and_lbfgs_classifier_take_sample_weight_and_refuse_a_bad_class_weight():
    pytest.importorskip("sklearn")
    from netfit.sklearn import NetClassifier, NetRegressor
    rng = np.random.default_rng(0)
    x = rng.normal(size=(60, 2))
    y = x[:, 0] * 3 + (x[:, 1] > 0) * 10
    w = (x[:, 1] > 0) * 1.0 + 1e-3                       # nearly only the right half counts
    reg = NetRegressor(hidden_layer_sizes=(), optimizer="lbfgs", epochs=100, random_state=0).fit(x, y, sample_weight=w)
    right = x[:, 1] > 0
    assert np.mean((reg.predict(x[right]) - y[right]) ** 2) < np.mean(
        (NetRegressor(hidden_layer_sizes=(), optimizer="lbfgs", epochs=100, random_state=0).fit(x, y)
         .predict(x[right]) - y[right]) ** 2)
    with pytest.raises(ValueError, match=r"NetClassifier: expected class_weight None, 'balanced' or a dict"):
        NetClassifier(class_weight="even", epochs=1).fit(x, right)
    NetClassifier(optimizer="lbfgs", epochs=5, class_weight={True: 3.0}).fit(x, right)
