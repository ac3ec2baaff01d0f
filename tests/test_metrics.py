"""Metrics: each one exact over the whole data set, whatever the batching, against NumPy and scikit-learn."""
import numpy as np
import pytest

import netfit as nf
from netfit import losses, metrics
from netfit.layers import Dense

sklearn_metrics = pytest.importorskip("sklearn.metrics")


def _r2(f, y):
    """scikit-learn's r2_score with uniform averaging, written out."""
    f, y = f.reshape(len(y), -1), y.reshape(len(y), -1)
    return float(np.mean(1 - ((y - f) ** 2).sum(0) / ((y - y.mean(0)) ** 2).sum(0)))


def _streamed(metric, y, f, batch, w=None):
    metric.reset_state()
    for start in range(0, len(y), batch):
        stop = start + batch
        metric.update_state(y[start:stop], f[start:stop], None if w is None else w[start:stop])
    return metric.result()


def test_r2_matches_the_formula_and_merges_batches_exactly():
    rng = np.random.default_rng(0)
    y = rng.normal(size=(50, 2)) * [1.0, 1e-3] + [1e6, 3.0]        # a large mean: no Σy² − nȳ² cancellation
    f = y + rng.normal(size=(50, 2)) * [0.5, 5e-4]
    _, r2 = metrics.get("r2", losses.get("mse"))
    assert metrics.r2_score(f, y) == pytest.approx(_r2(f, y), rel=1e-12)
    for batch in (1, 7, 50):
        assert _streamed(r2, y, f, batch) == pytest.approx(_r2(f, y), rel=1e-10)
    w = rng.random(50)
    assert _streamed(r2, y, f, 7, w) == pytest.approx(sklearn_metrics.r2_score(y, f, sample_weight=w), rel=1e-10)
    # Constant targets: 1 when fitted exactly, else 0 (scikit-learn's force_finite).
    assert metrics.r2_score(np.ones(4), np.ones(4)) == 1.0 and metrics.r2_score(np.zeros(4), np.ones(4)) == 0.0


def _classifier_data(n=103, classes=4, seed=0):
    rng = np.random.default_rng(seed)
    logits = rng.normal(size=(n, classes)) * 2
    p = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    return p, rng.integers(0, classes, n)


def test_each_metric_is_exact_for_any_batch_size_and_equals_numpy_or_sklearn():
    """One value per metric: streamed in batches of 1, 7 and all, equal to a direct computation."""
    rng = np.random.default_rng(1)
    p, labels = _classifier_data()
    onehot = nf.utils.to_categorical(labels, 4)
    score = rng.random(97)
    truth = (rng.random(97) < 0.3 + 0.4 * score).astype(np.float64)
    yreg = rng.normal(size=(89, 2)) * 3 + 1
    freg = yreg + rng.normal(size=(89, 2))
    w = rng.random(103)
    rank = (p > p[np.arange(len(p)), labels][:, None]).sum(1)            # outputs strictly above the target's
    cases = [  # metric, y_true, y_pred, expected
        (metrics.get("accuracy", losses.get("sparse_categorical_crossentropy"))[1], labels, p,
         np.mean(p.argmax(1) == labels)),
        (metrics.get("accuracy", losses.get("categorical_crossentropy"))[1], onehot, p, np.mean(p.argmax(1) == labels)),
        (metrics.get("accuracy", losses.get("binary_crossentropy"))[1], truth[:, None], score[:, None],
         sklearn_metrics.accuracy_score(truth, score > 0.5)),
        (metrics.TopKCategoricalAccuracy(k=2), onehot, p, np.mean(rank < 2)),
        (metrics.get("sparse_top_k_categorical_accuracy", None)[1], labels, p, np.mean(rank < 5)),
        (metrics.Precision(), truth[:, None], score[:, None], sklearn_metrics.precision_score(truth, score > 0.5)),
        (metrics.Recall(), truth[:, None], score[:, None], sklearn_metrics.recall_score(truth, score > 0.5)),
        (metrics.Precision(thresholds=0.7), truth[:, None], score[:, None],
         sklearn_metrics.precision_score(truth, score > 0.7)),
        (metrics.Recall(class_id=2), labels, p, sklearn_metrics.recall_score(labels == 2, p[:, 2] > 0.5)),
        (metrics.get("mse", None)[1], yreg, freg, sklearn_metrics.mean_squared_error(yreg, freg)),
        (metrics.get("mae", None)[1], yreg, freg, sklearn_metrics.mean_absolute_error(yreg, freg)),
        (metrics.get("r2", None)[1], yreg, freg, sklearn_metrics.r2_score(yreg, freg)),
    ]
    for metric, y, f, expected in cases:
        for batch in (1, 7, len(y)):
            assert _streamed(metric, y, f, batch) == pytest.approx(expected, rel=1e-12, abs=1e-15), (metric, batch)
    # Weighted, as scikit-learn weighs.
    acc = metrics.get("accuracy", losses.get("sparse_categorical_crossentropy"))[1]
    assert _streamed(acc, labels, p, 7, w) == pytest.approx(
        sklearn_metrics.accuracy_score(labels, p.argmax(1), sample_weight=w), rel=1e-12)
    prec = metrics.Precision()
    assert _streamed(prec, truth[:, None], score[:, None], 7, w[:97]) == pytest.approx(
        sklearn_metrics.precision_score(truth, score > 0.5, sample_weight=w[:97]), rel=1e-12)


def _auc_200(y, s, n=200):
    """Keras's default: trapezoid over 200 thresholds, written out with comparisons (no histograms)."""
    t = np.array([-1e-7] + [(i + 1) / (n - 1) for i in range(n - 2)] + [1 + 1e-7])
    tpr = np.array([np.sum((s > ti) & (y == 1)) for ti in t]) / np.sum(y == 1)
    fpr = np.array([np.sum((s > ti) & (y == 0)) for ti in t]) / np.sum(y == 0)
    return float(np.sum((fpr[:-1] - fpr[1:]) * (tpr[:-1] + tpr[1:]) / 2))


def test_auc_is_keras_200_threshold_trapezoid_and_matches_sklearn():
    rng = np.random.default_rng(2)
    y = (rng.random(500) < 0.4).astype(np.float64)
    s = np.clip(0.5 * y + rng.normal(0.25, 0.3, 500), 0, 1)
    auc = metrics.AUC()
    for batch in (7, 500):                                           # histogram counts: bit for bit
        assert _streamed(auc, y, s, batch) == _auc_200(y, s)
    # Within the bucket width of the exact area, and exact when no two scores share a bucket.
    assert abs(_streamed(auc, y, s, 7) - sklearn_metrics.roc_auc_score(y, s)) < 5e-3
    grid = (rng.integers(0, 199, 300) + 0.5) / 199                   # one distinct score per bucket
    yg = (rng.random(300) < grid).astype(np.float64)
    assert _streamed(auc, yg, grid, 7) == pytest.approx(sklearn_metrics.roc_auc_score(yg, grid), rel=1e-12)
    fine = metrics.AUC(num_thresholds=20001)                          # more thresholds: closer to exact
    assert abs(_streamed(fine, y, s, 50) - sklearn_metrics.roc_auc_score(y, s)) < 1e-4
    # One class only: no curve, 0.0 (Keras's value), not a NaN.
    assert _streamed(auc, np.ones(5), s[:5], 2) == 0.0


def test_confusion_metrics_read_logits_when_the_binary_loss_takes_logits(tmp_path):
    # With BinaryCrossentropy(from_logits=True) the outputs are z: "auc" scores σ(z) and precision/recall cut at z > 0,
    # as "accuracy" does, instead of clipping z into [0, 1].
    rng = np.random.default_rng(4)
    x = rng.normal(size=(300, 3))
    y = (x[:, 0] + rng.normal(size=300) > 0.3).astype(np.float64)
    model = nf.Sequential([Dense(1, input_shape=(3,))], seed=0, dtype="float64")
    model.compile("sgd", losses.BinaryCrossentropy(from_logits=True), metrics=["auc", "precision", "recall"])
    model.set_weights([np.array([[3.0], [0.2], [-0.1]]), np.array([-0.5])])     # logits well outside [0, 1]
    z = model.predict(x)[:, 0]
    got = model.evaluate(x, y, batch_size=64, return_dict=True)
    assert got["auc"] == pytest.approx(_auc_200(y, 1 / (1 + np.exp(-z))), rel=1e-12)
    assert abs(got["auc"] - sklearn_metrics.roc_auc_score(y, z)) < 5e-3
    assert got["precision"] == pytest.approx(sklearn_metrics.precision_score(y, z > 0))
    assert got["recall"] == pytest.approx(sklearn_metrics.recall_score(y, z > 0))
    model.save(tmp_path / "m.netfit")
    assert nf.load_model(tmp_path / "m.netfit").evaluate(x, y, return_dict=True) == pytest.approx(got)
    with pytest.raises(TypeError, match="AUC: expected from_logits True or False"):
        metrics.AUC(from_logits="yes")


def test_evaluate_is_exact_over_the_data_set_for_every_metric():
    """evaluate(batch_size=7) == evaluate(batch_size=n) == the direct computation on predict's outputs."""
    rng = np.random.default_rng(3)
    x = rng.normal(size=(211, 3))
    y = (x[:, 0] + 0.5 * rng.normal(size=211) > 0).astype(np.int64)
    model = nf.Sequential([Dense(6, activation="tanh", input_shape=(3,)), Dense(1, activation="sigmoid")],
                          seed=0, dtype="float64")
    model.compile("adam", "binary_crossentropy", metrics=["accuracy", "precision", "recall", "auc"])
    model.fit(x, y, epochs=3, batch_size=16, verbose=0)
    s = model.predict(x)[:, 0]
    small = model.evaluate(x, y, batch_size=7, return_dict=True)
    whole = model.evaluate(x, y, batch_size=len(x), return_dict=True)
    assert small["precision"] == whole["precision"] == sklearn_metrics.precision_score(y, s > 0.5)
    assert small["recall"] == whole["recall"] == sklearn_metrics.recall_score(y, s > 0.5)
    assert small["accuracy"] == whole["accuracy"] == sklearn_metrics.accuracy_score(y, s > 0.5)
    assert small["auc"] == whole["auc"] == _auc_200(y, s)
    assert abs(whole["auc"] - sklearn_metrics.roc_auc_score(y, s)) < 5e-3

    onehot = nf.utils.to_categorical(rng.integers(0, 5, 211), 5)
    cls = nf.Sequential([Dense(5, activation="softmax", input_shape=(3,))], seed=1, dtype="float64")
    cls.compile("sgd", "categorical_crossentropy", metrics=["top_k_categorical_accuracy", "accuracy"])
    p = cls.predict(x)
    k = cls.evaluate(x, onehot, batch_size=7, return_dict=True)["top_k_categorical_accuracy"]
    assert k == cls.evaluate(x, onehot, batch_size=211, return_dict=True)["top_k_categorical_accuracy"]
    assert k == 1.0                                                  # Keras's default k=5 of 5 classes
    cls.compile("sgd", "categorical_crossentropy", metrics=[metrics.TopKCategoricalAccuracy(k=2, name="top2")])
    assert cls.evaluate(x, onehot, batch_size=7, return_dict=True)["top2"] == pytest.approx(
        sklearn_metrics.top_k_accuracy_score(onehot.argmax(1), p, k=2), rel=1e-12)


def test_fit_history_holds_each_epochs_r2_over_all_its_predictions_not_a_mean_of_batch_r2():
    """Issue 13 item 7: with batch_size=1 a per-batch R² is 0 or -inf-like; the epoch's R² is the true one."""
    rng = np.random.default_rng(4)
    x = rng.normal(size=(40, 2))
    y = x @ [1.0, -1.0] + 0.1 * rng.normal(size=40)
    model = nf.Sequential([Dense(1, input_shape=(2,))], seed=0, dtype="float64")
    model.compile(nf.optimizers.SGD(1e-300), "mse", metrics=["r2", "mse"])   # the weights do not move
    history = model.fit(x, y, epochs=1, batch_size=8, shuffle=False, verbose=0)
    f = model.predict(x)[:, 0]
    assert history.history["r2"][0] == pytest.approx(_r2(f, y), rel=1e-12)
    assert history.history["mse"][0] == pytest.approx(np.mean((f - y) ** 2), rel=1e-12)
    per_batch = np.mean([_r2(f[i:i + 8], y[i:i + 8]) for i in range(0, 40, 8)])
    assert abs(per_batch - _r2(f, y)) > 1e-3                                # the old figure was another number


def test_regression_end_to_end_evaluate_reports_mse_mae_r2():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(300, 3))
    y = x @ [1.0, -2.0, 0.5] + np.sin(x[:, 0]) + 0.1 * rng.normal(size=300)
    model = nf.Sequential([Dense(8, activation="tanh", input_shape=(3,)), Dense(1)], seed=0, dtype="float64")
    model.compile(optimizer=nf.optimizers.Adam(0.01), loss="mse", metrics=["mse", "mae", "r2"])
    history = model.fit(x, y, epochs=30, batch_size=32, verbose=0)
    assert {"loss", "mse", "mae", "r2"} <= set(history.history)
    values = model.evaluate(x, y, batch_size=37, return_dict=True)   # batches that do not divide n
    f = model.predict(x)[:, 0]
    assert values["mse"] == pytest.approx(np.mean((f - y) ** 2), rel=1e-10)
    assert values["mae"] == pytest.approx(np.mean(np.abs(f - y)), rel=1e-10)
    assert values["r2"] == pytest.approx(_r2(f, y), rel=1e-10) and values["r2"] > 0.9
    assert metrics.get("r2_score", model.loss)[0] == "r2_score"


def test_acc_is_logged_as_acc_as_in_keras_3():
    # Keras 3 names a metric by the string given: metrics=["acc"] logs acc and val_acc (Keras 2 did too).
    x = np.random.default_rng(0).normal(size=(40, 3))
    y = (x[:, 0] > 0).astype(int)
    for loss, target, units in ((losses.SparseCategoricalCrossentropy(from_logits=True), y, 2),
                                (losses.BinaryCrossentropy(from_logits=True), y[:, None], 1)):
        model = nf.Sequential([nf.Input(shape=(3,)), Dense(units)], seed=0)
        model.compile(optimizer="adam", loss=loss, metrics=["acc"])
        stop = nf.callbacks.EarlyStopping(monitor="val_acc", mode="max", patience=5)
        history = model.fit(x, target, epochs=2, verbose=0, validation_split=0.25, callbacks=[stop])
        assert sorted(history.history) == ["acc", "loss", "val_acc", "val_loss"]
    hinge = losses.get("hinge")
    assert metrics.get("accuracy", hinge)[0] == "accuracy" and metrics.get("acc", hinge)[0] == "acc"


def test_registry_and_metric_objects():
    loss = losses.get("sparse_categorical_crossentropy")
    for name in metrics.names():
        log_name, metric = metrics.get(name, loss)
        assert isinstance(metric, metrics.Metric) and log_name == name          # "acc" too, as Keras 3 logs it
        assert metric.direction == ("min" if name in ("mse", "mae", "mean_squared_error", "mean_absolute_error",
                                                      "mape", "mean_absolute_percentage_error",
                                                      "false_positives", "false_negatives") else "max")
    for cls in (metrics.CategoricalAccuracy, metrics.SparseCategoricalAccuracy, metrics.BinaryAccuracy,
                metrics.TopKCategoricalAccuracy, metrics.SparseTopKCategoricalAccuracy, metrics.Precision,
                metrics.Recall, metrics.AUC, metrics.MeanSquaredError, metrics.MeanAbsoluteError, metrics.R2Score):
        metric = cls()                                               # Keras's class names and default names
        assert metrics.get(metric.name, loss)[1].get_config() == metric.get_config()
    a, b = metrics.get("auc", loss)[1], metrics.get("auc", loss)[1]
    assert a is not b                                                # a new state for every compile
    mine = metrics.AUC(num_thresholds=50, name="auc50")
    assert metrics.get(mine, loss) == ("auc50", mine)
    with pytest.raises(ValueError, match=r"compile: unknown metric 'f1'; supported: accuracy, mse, .*auc"):
        metrics.get("f1", loss)
    # fresh(): the same settings, an empty state, and the original untouched.
    mine.update_state(np.array([0, 1]), np.array([0.2, 0.9]))
    copy = mine.fresh()
    assert copy.num_thresholds == 50 and copy.result() == 0.0 and mine.result() == 1.0


def test_metric_objects_save_and_load_with_their_settings(tmp_path):
    rng = np.random.default_rng(5)
    x, y = rng.normal(size=(50, 3)), rng.integers(0, 4, 50)
    model = nf.Sequential([Dense(4, activation="softmax", input_shape=(3,))], seed=0)
    model.compile("adam", "sparse_categorical_crossentropy",
                  metrics=["accuracy", "auc", metrics.AUC(num_thresholds=50, name="auc50"),
                           metrics.TopKCategoricalAccuracy(k=2, name="top2"), metrics.Recall(class_id=1)])
    model.fit(x, y, epochs=2, verbose=0)
    model.save(tmp_path / "m.netfit")
    loaded = nf.load_model(tmp_path / "m.netfit")
    assert [name for name, _ in loaded.metrics] == ["accuracy", "auc", "auc50", "top2", "recall"]
    assert loaded.metrics[2][1].num_thresholds == 50 and loaded.metrics[3][1].k == 2
    assert loaded.metrics[4][1].class_id == 1
    assert loaded.evaluate(x, y, return_dict=True) == model.evaluate(x, y, return_dict=True)
    with pytest.raises(ValueError, match=r"compile: expected the config of metric AUC to hold its arguments"):
        metrics.get({"class_name": "AUC", "config": {"bins": 3}}, None)
