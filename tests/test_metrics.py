"""Metrics: R² streamed exactly over batches, scikit-learn's conventions, regression end to end."""
import numpy as np
import pytest

import netfit as nf
from netfit import metrics
from netfit.layers import Dense


def _r2(f, y):
    """scikit-learn's r2_score with uniform averaging, written out."""
    f, y = f.reshape(len(y), -1), y.reshape(len(y), -1)
    return float(np.mean(1 - ((y - f) ** 2).sum(0) / ((y - y.mean(0)) ** 2).sum(0)))


def test_r2_matches_the_formula_and_merges_batches_exactly():
    rng = np.random.default_rng(0)
    y = rng.normal(size=(50, 2)) * [1.0, 1e-3] + [1e6, 3.0]        # a large mean: no Σy² − nȳ² cancellation
    f = y + rng.normal(size=(50, 2)) * [0.5, 5e-4]
    r2 = metrics.get("r2", nf.losses.get("mse"))[1]
    assert r2(f, y) == pytest.approx(_r2(f, y), rel=1e-12)
    state = None
    for start in range(0, 50, 7):
        part = r2.partial(f[start:start + 7], y[start:start + 7])
        state = part if state is None else r2.merge(state, part)
    assert r2.result(state) == pytest.approx(_r2(f, y), rel=1e-10)
    # Constant targets: 1 when fitted exactly, else 0 (scikit-learn's force_finite).
    assert r2(np.ones(4), np.ones(4)) == 1.0 and r2(np.zeros(4), np.ones(4)) == 0.0


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
