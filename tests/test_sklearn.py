"""scikit-learn estimators: check_estimator, Pipeline, GridSearchCV over weight decay, cross_val_score."""
import pickle
import warnings

import numpy as np
import pytest

sklearn = pytest.importorskip("sklearn")
pytest.importorskip("scipy")

from sklearn.base import clone                                              # noqa: E402
from sklearn.datasets import make_classification, make_regression           # noqa: E402
from sklearn.model_selection import GridSearchCV, cross_val_score           # noqa: E402
from sklearn.pipeline import make_pipeline                                  # noqa: E402
from sklearn.preprocessing import StandardScaler                            # noqa: E402
from sklearn.utils.estimator_checks import check_estimator                  # noqa: E402

import netfit as nf                                                         # noqa: E402
from netfit.sklearn import NetClassifier, NetRegressor                      # noqa: E402

# Small budgets keep check_estimator's ~55 fits per estimator to about a second.
CHECKED = [NetRegressor(epochs=40, learning_rate=0.01, random_state=0),
           NetClassifier(epochs=40, learning_rate=0.01, random_state=0),
           NetRegressor(optimizer="lbfgs", epochs=50, random_state=0),
           NetClassifier(optimizer="lbfgs", epochs=50, random_state=0)]
# None is expected to fail: check_sample_weight_equivalence_on_dense_data passes too (integer weights are
# repeated rows: the wrappers' loss and standardisation are weighted means, as scikit-learn's MLP's loss).
EXPECTED_FAILED_CHECKS = {}


@pytest.mark.parametrize("estimator", CHECKED, ids=lambda e: f"{type(e).__name__}-{e.optimizer}")
def test_check_estimator(estimator):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")                   # SkipTestWarning for pandas/array-API checks
        results = check_estimator(estimator, expected_failed_checks=EXPECTED_FAILED_CHECKS, on_fail=None)
    failed = [(r["check_name"], str(r["exception"])[:200]) for r in results if r["status"] == "failed"]
    assert not failed
    assert sum(r["status"] == "passed" for r in results) >= 50


def _regression(n=200, seed=0):
    x, y = make_regression(n_samples=n, n_features=4, noise=5.0, random_state=seed)
    return x * [1.0, 100.0, 0.01, 1.0] + 1000.0, y * 50 + 7     # raw scales: the estimator standardises


def test_regressor_fits_raw_data_and_reports_curves():
    x, y = _regression()
    reg = NetRegressor(hidden_layer_sizes=(6,), optimizer="lbfgs", epochs=200, random_state=0).fit(x, y)
    assert reg.score(x, y) > 0.98 and reg.n_features_in_ == 4
    assert len(reg.loss_curve_) == reg.n_iter_ and reg.loss_curve_[-1] < reg.loss_curve_[0]
    assert isinstance(reg.model_, nf.Sequential) and reg.model_.layers[0].is_adapted
    assert reg.predict(x).shape == (200,)
    two = NetRegressor(hidden_layer_sizes=(), optimizer="lbfgs", epochs=100).fit(x, np.c_[y, -y])
    assert two.predict(x).shape == (200, 2)


def test_classifier_labels_probabilities_and_partial_fit():
    x, y = make_classification(n_samples=150, n_features=5, n_informative=3, n_classes=3, random_state=0)
    labels = np.array(["cat", "dog", "emu"])[y]
    clf = NetClassifier(hidden_layer_sizes=(8,), optimizer="lbfgs", epochs=200, random_state=0).fit(x, labels)
    assert list(clf.classes_) == ["cat", "dog", "emu"] and clf.score(x, labels) > 0.9
    proba = clf.predict_proba(x)
    assert proba.shape == (150, 3) and np.allclose(proba.sum(1), 1)
    assert set(clf.predict(x)) <= set(clf.classes_)
    online = NetClassifier(hidden_layer_sizes=(8,), learning_rate=0.02, random_state=0)
    for start in range(0, 150, 50):
        online.partial_fit(x[start:start + 50], labels[start:start + 50], classes=["cat", "dog", "emu"])
    assert online.n_iter_ == 3 and len(online.loss_curve_) == 3
    with pytest.raises(ValueError, match="not in classes_"):
        online.partial_fit(x[:5], ["yak"] * 5)
    assert not hasattr(NetClassifier(optimizer="lbfgs"), "partial_fit")


def test_pipeline_gridsearch_over_weight_decay_and_cross_val_score():
    x, y = _regression(120, seed=1)
    pipe = make_pipeline(StandardScaler(), NetRegressor(hidden_layer_sizes=(5,), optimizer="lbfgs", epochs=100,
                                                        standardize=False, random_state=0))
    search = GridSearchCV(pipe, {"netregressor__weight_decay": [0.0, 0.01, 1.0]}, cv=3).fit(x, y)
    assert search.best_params_["netregressor__weight_decay"] in (0.0, 0.01, 1.0)
    assert len(search.cv_results_["mean_test_score"]) == 3
    # λ = 1 shrinks the weights a lot: it cannot be the best on nearly noiseless data.
    assert search.best_params_["netregressor__weight_decay"] != 1.0
    scores = cross_val_score(NetClassifier(optimizer="lbfgs", epochs=100, random_state=0),
                             *make_classification(n_samples=90, random_state=0), cv=3)
    assert scores.shape == (3,) and scores.mean() > 0.7


def test_clone_pickle_and_saved_model_agree(tmp_path):
    x, y = _regression(80)
    reg = NetRegressor(hidden_layer_sizes=(4,), optimizer="lbfgs", epochs=50, random_state=3).fit(x, y)
    again = pickle.loads(pickle.dumps(reg))
    np.testing.assert_array_equal(again.predict(x), reg.predict(x))
    assert clone(reg).get_params() == reg.get_params() and not hasattr(clone(reg), "model_")
    reg.model_.save(tmp_path / "net.netfit")               # raw inputs in, standardised target out
    loaded = nf.load_model(tmp_path / "net.netfit")
    np.testing.assert_allclose(loaded.predict(x)[:, 0] * reg._y_scale[0] + reg._y_mean[0], reg.predict(x))


def test_layer_specs_and_bad_parameters():
    x, y = _regression(60)
    spec = [{"class_name": "Dense", "config": {"units": 4, "activation": "relu"}},
            {"class_name": "Dense", "config": {"units": 3, "activation": "tanh"}}]
    reg = NetRegressor(layers=spec, optimizer="lbfgs", epochs=30, random_state=0).fit(x, y)
    assert [type(layer).__name__ for layer in reg.model_.layers] == ["Normalization", "Dense", "Dense", "Dense"]
    from netfit.layers import Dense
    reg = NetRegressor(layers=lambda n: [Dense(n, activation="tanh")], optimizer="lbfgs", epochs=10).fit(x, y)
    assert reg.model_.layers[1].units == 4
    with pytest.raises(ValueError, match="unknown config key 'unit'"):
        NetRegressor(layers=[{"class_name": "Dense", "config": {"unit": 3}}]).fit(x, y)
    with pytest.raises(TypeError, match="cannot be cloned"):
        NetRegressor(layers=[Dense(3)]).fit(x, y)
    with pytest.raises(ValueError, match="optimizer one of adam, sgd, lbfgs"):
        NetRegressor(optimizer="rmsprop").fit(x, y)
    with pytest.raises(ValueError, match="hidden_layer_sizes"):
        NetRegressor(hidden_layer_sizes=(3, 0)).fit(x, y)
    with pytest.raises(ValueError, match="weight_decay"):
        NetRegressor(weight_decay=-1).fit(x, y)
    with pytest.raises(ValueError, match="at least 2 classes"):
        NetClassifier().fit(x, np.zeros(60))


@pytest.mark.parametrize("make", [lambda: NetRegressor(hidden_layer_sizes=(5,), epochs=30, batch_size=None,
                                                       random_state=0),
                                  lambda: NetClassifier(hidden_layer_sizes=(5,), epochs=30, batch_size=None,
                                                        random_state=0),
                                  lambda: NetRegressor(optimizer="lbfgs", epochs=30, random_state=0)],
                         ids=["regressor-adam", "classifier-adam", "regressor-lbfgs"])
def test_integer_sample_weights_are_repeated_rows(make):
    """Weight k = k copies of the row (0 = none), whatever the weights' scale: standardisation and loss are
    weighted means, as scikit-learn's check_sample_weight_equivalence asks (it used to be expected to fail).
    Full batches here: mini-batches of repeated rows are other batches, for any SGD (scikit-learn's MLP too)."""
    rng = np.random.default_rng(1)
    x = rng.standard_normal((20, 3)) * [1.0, 10.0, 0.1] + 5.0
    y = x @ np.array([1.0, 0.1, 10.0]) if "Regressor" in type(make()).__name__ else (x[:, 0] > 5).astype(int)
    w = rng.integers(0, 3, size=20)
    w[:2] = [1, 2]
    weighted = make().fit(x, y, sample_weight=w)
    repeated = make().fit(np.repeat(x, w, axis=0), np.repeat(y, w))
    predict = getattr(weighted, "predict_proba", weighted.predict)
    np.testing.assert_allclose(predict(x), getattr(repeated, "predict_proba", repeated.predict)(x), rtol=1e-7)
    scaled = make().fit(x, y, sample_weight=w * 2.5)                          # only their ratios matter
    np.testing.assert_allclose(getattr(scaled, "predict_proba", scaled.predict)(x), predict(x), rtol=1e-7)
