"""Full-batch L-BFGS: monotone decrease, exact ridge solution, weight decay, history, save/load, errors."""
import sys

import numpy as np
import pytest

import netfit as nf
from netfit import gradcheck
from netfit.callbacks import EarlyStopping
from netfit.layers import Dense, Dropout
from netfit.lbfgs import LBFGS, _Objective

pytest.importorskip("scipy")


def _data(n=80, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 2))
    y = np.sin(2 * x[:, 0]) + 0.5 * x[:, 1] + 0.1 * rng.normal(size=n)
    return x, y


def _net(seed=0, dtype="float64", units=6, decay=0.0):
    model = nf.Sequential([Dense(units, activation="tanh", input_shape=(2,)), Dense(1)], seed=seed, dtype=dtype)
    model.compile(optimizer=LBFGS(weight_decay=decay), loss="mse", metrics=["mae", "r2"])
    return model


def test_loss_goes_down_monotonically_and_history_has_one_entry_per_iteration():
    x, y = _data()
    model = _net()
    history = model.fit(x, y, epochs=60, verbose=0)
    loss = np.array(history.history["loss"])
    assert 1 <= len(loss) <= 60 and history.epoch == list(range(len(loss)))
    assert np.all(np.diff(loss) <= 1e-12)
    assert loss[-1] < 0.2 * loss[0]
    assert set(history.history) == {"loss", "mae", "r2"}
    # The logged loss is the objective at the final weights.
    assert model.evaluate(x, y)[0] == pytest.approx(loss[-1], rel=1e-10)
    assert history.lbfgs["iterations"] == len(loss) and model.optimizer.iterations == len(loss)


def test_linear_model_reaches_the_exact_ridge_solution():
    x, y = _data(60, seed=1)
    lam = 0.05
    model = nf.Sequential([Dense(1, input_shape=(2,))], seed=0, dtype="float64")
    model.compile(optimizer=LBFGS(weight_decay=lam, gtol=1e-10, ftol=1e-15), loss="mse")
    model.fit(x, y, epochs=200, verbose=0)
    # min (1/n) Σ (y − b − xᵀw)² + λ ‖w‖² (the bias is not penalised): normal equations.
    n = len(x)
    xc, yc = x - x.mean(0), y - y.mean()
    w = np.linalg.solve(xc.T @ xc / n + lam * np.eye(2), xc.T @ yc / n)
    b = y.mean() - x.mean(0) @ w
    kernel, bias = model.get_weights()
    np.testing.assert_allclose(kernel[:, 0], w, atol=1e-7)
    np.testing.assert_allclose(bias, [b], atol=1e-7)


def test_objective_gradient_matches_finite_differences_with_weight_decay():
    x, y = _data(30)
    model = _net(decay=0.03)
    model.build((2,))
    objective = _Objective(model, *model._check_xy(x, y, "test"))
    theta = model._theta.copy() + 0.1
    _, grad = objective(theta)
    numeric = gradcheck.numerical_gradient(lambda: objective(theta)[0], theta)
    assert gradcheck.relative_error(grad, numeric) < 1e-7


def test_weight_decay_is_honoured_and_stationary_point_includes_it():
    x, y = _data()
    norms = []
    for lam in (0.0, 0.01, 0.1):
        model = _net()
        model.compile(optimizer=LBFGS(weight_decay=lam, ftol=1e-14, gtol=1e-8), loss="mse")
        history = model.fit(x, y, epochs=300, verbose=0)
        norms.append(sum(float(np.sum(w ** 2)) for w in model.get_weights()[::2]))
        if lam:                                             # converged: ∂(R + λΣw²)/∂θ = 0
            assert history.stop_reason.startswith("L-BFGS: CONVERGENCE")
            _, grads = model.loss_and_gradients(x, y)      # includes 2λw
            assert max(float(np.abs(g).max()) for g in grads) < 1e-5
    assert norms[0] > norms[1] > norms[2]


def test_string_name_float32_and_chunked_objective_agree():
    x, y = _data(50)
    model = nf.Sequential([Dense(4, activation="sigmoid", input_shape=(2,)), Dense(1)], seed=3, dtype="float32")
    model.compile(optimizer="lbfgs", loss="mse")
    assert isinstance(model.optimizer, LBFGS)
    loss = model.fit(x, y, epochs=40, verbose=0).history["loss"]
    assert loss[-1] < loss[0] and np.all(np.diff(loss) <= 1e-6)
    import netfit.lbfgs as lbfgs_mod
    model64 = _net(units=3)
    model64.build((2,))
    xc, yc = model64._check_xy(x, y, "test")
    whole = _Objective(model64, xc, yc)(model64._theta.astype(np.float64))
    old, lbfgs_mod._CHUNK = lbfgs_mod._CHUNK, 7
    try:
        parts = _Objective(model64, xc, yc)(model64._theta.astype(np.float64))
    finally:
        lbfgs_mod._CHUNK = old
    assert parts[0] == pytest.approx(whole[0], rel=1e-12)
    np.testing.assert_allclose(parts[1], whole[1], rtol=1e-10, atol=1e-14)


def test_validation_metrics_callbacks_and_early_stop():
    x, y = _data(100)
    model = _net()
    history = model.fit(x, y, epochs=50, verbose=0, validation_split=0.2,
                        callbacks=[EarlyStopping(monitor="loss", min_delta=10.0, patience=2)])
    assert "val_loss" in history.history and "val_r2" in history.history
    assert len(history.epoch) == 3 and history.stop_reason.startswith("EarlyStopping")


def test_save_and_load_keep_the_lbfgs_optimizer(tmp_path):
    x, y = _data()
    model = _net(decay=0.01)
    model.fit(x, y, epochs=20, verbose=0)
    model.save(tmp_path / "m.netfit")
    loaded = nf.load_model(tmp_path / "m.netfit")
    assert isinstance(loaded.optimizer, LBFGS) and loaded.optimizer.get_config() == model.optimizer.get_config()
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))
    loaded.fit(x, y, epochs=5, verbose=0)                  # and it trains on


def test_errors_are_clear(monkeypatch):
    x, y = _data(20)
    model = nf.Sequential([Dense(4, input_shape=(2,)), Dropout(0.5), Dense(1)], seed=0)
    model.compile(optimizer=LBFGS(), loss="mse")
    with pytest.raises(ValueError, match="deterministic objective.*dropout"):
        model.fit(x, y, epochs=3, verbose=0)
    with pytest.raises(RuntimeError, match="no mini-batch steps"):
        opt = LBFGS()
        opt.build(np.zeros(3))
        opt.step(np.zeros(3), np.zeros(3))
    with pytest.raises(ValueError, match="maxcor"):
        LBFGS(maxcor=0)
    with pytest.raises(ValueError, match="gtol"):
        LBFGS(gtol=-1)
    model = _net()
    with pytest.raises(ValueError, match="epochs"):
        model.fit(x, y, epochs=-1, verbose=0)
    monkeypatch.setitem(sys.modules, "scipy.optimize", None)
    with pytest.raises(ImportError, match=r"^LBFGS: full-batch L-BFGS needs SciPy, which is not installed\. Fix: "
                                          r"pip install 'netfit\[lbfgs\]', or compile with optimizer='adam'\.$"):
        model.fit(x, y, epochs=3, verbose=0)
