"""Issue 13, item 3: distinct inputs must not collapse silently in the cast to float32.

x = 1.7e9 + arange(400) (seconds): float32's spacing there is 128, so a plain cast keeps ~4
values. A first-layer Normalization standardises in float64 before the cast; any other model
warns (InputPrecisionWarning) with the fix, at every entry point that casts.
"""
import warnings

import numpy as np
import pytest

import netfit as nf
from netfit.layers import Dense, Normalization
from netfit.precision import InputPrecisionWarning, feed_dtype, float_levels

X = (1.7e9 + np.arange(400.0)).reshape(-1, 1)
Y = np.sin(np.arange(400.0) / 60)


def _net(dtype="float32", x=X):
    norm = Normalization()
    norm.adapt(x)
    model = nf.Sequential([norm, Dense(8, activation="tanh"), Dense(1)], seed=0, dtype=dtype)
    model.build((1,))
    model.compile(optimizer="adam", loss="mse")
    return model


def _r2(p, y):
    return 1 - ((p.ravel() - y) ** 2).sum() / ((y - y.mean()) ** 2).sum()


def test_the_casts_arithmetic():
    assert len(np.unique(X.astype(np.float32))) == 4                 # the figure: 4 distinct values
    assert float_levels(X.min(), X.max(), np.float32) < 4
    assert feed_dtype(np.dtype("uint8"), np.float32, Normalization(mean=0.0, variance=1.0)) == np.float32
    assert feed_dtype(np.dtype("float64"), np.float32, Normalization(mean=0.0, variance=1.0)) == np.float64
    assert feed_dtype(np.dtype("float64"), np.float32, Dense(1)) == np.float32
    assert feed_dtype(np.dtype("float64"), np.float32, Normalization(mean=0.0, variance=1.0, invert=True)) \
        == np.float32


def test_adapt_gets_exact_statistics_of_offset_data():
    norm = Normalization()
    norm.adapt(X)
    assert norm.mean[0] == pytest.approx(1.7e9 + 199.5, abs=1e-6)
    assert norm.variance[0] == pytest.approx((400 ** 2 - 1) / 12, rel=1e-12)


@pytest.mark.parametrize("x", [X, X.astype(np.int64)], ids=["float64", "int64"])
def test_first_normalization_keeps_every_value_in_float32(x):
    model = _net(x=x)
    with warnings.catch_warnings():
        warnings.simplefilter("error", InputPrecisionWarning)
        a = model.layers[0].forward(np.asarray(x, model._input_dtype(x.dtype)))
        model.fit(x, Y, epochs=60, batch_size=32, verbose=0)
        p = model.predict(x)
        model.evaluate(x, Y)
        model.loss_and_gradients(x, Y)
    assert a.dtype == np.float32 and len(np.unique(a)) == 400
    assert np.allclose(a.ravel(), (np.arange(400) - 199.5) / np.sqrt((400 ** 2 - 1) / 12), atol=1e-6)
    assert len(np.unique(p)) > 300


def test_float32_model_fits_as_well_as_float64():
    # The issue: R² 0.82 in float32 against 0.999 in float64. Now the two agree.
    fits = {}
    for dtype in ("float32", "float64"):
        model = _net(dtype)
        model.fit(X, Y, epochs=150, batch_size=32, verbose=0)
        fits[dtype] = _r2(model.predict(X), Y)
        loss = model.evaluate(X, Y)
        assert loss == pytest.approx(np.mean((model.predict(X).ravel() - Y) ** 2), rel=1e-4)
    assert fits["float64"] > 0.95
    assert fits["float32"] == pytest.approx(fits["float64"], abs=1e-3)


def test_without_normalization_every_entry_point_warns_with_the_fix():
    model = nf.Sequential([Dense(4, activation="tanh", input_shape=(1,)), Dense(1)], seed=0)
    model.compile(optimizer="adam", loss="mse")
    calls = {"fit": lambda: model.fit(X, Y, epochs=1, verbose=0),
             "validation_data": lambda: model.fit(X.astype(np.float32), Y, epochs=1, verbose=0,
                                                  validation_data=(X, Y)),
             "evaluate": lambda: model.evaluate(X, Y),
             "predict": lambda: model.predict(X),
             "loss_and_gradients": lambda: model.loss_and_gradients(X, Y)}
    for where, call in calls.items():
        with pytest.warns(InputPrecisionWarning, match=r"feature 0 spans only 399 around 1\.7e\+09: cast to the "
                          r"model's float32 it keeps about 3 distinct values.*adapted Normalization first"):
            call()


def test_no_warning_when_nothing_is_lost():
    model = nf.Sequential([Dense(2, input_shape=(3,))], seed=0)
    model.compile(optimizer="sgd", loss="mse")
    rng = np.random.default_rng(0)
    cases = [rng.random((50, 3)), (rng.random((50, 3)) * 255).astype(np.uint8), rng.random((50, 3)) * 1e6,
             np.full((50, 3), 1.7e9)]                                   # constant: nothing to tell apart
    with warnings.catch_warnings():
        warnings.simplefilter("error", InputPrecisionWarning)
        for x in cases:
            model.predict(x)
        f64 = nf.Sequential([Dense(2, input_shape=(1,))], seed=0, dtype="float64")
        f64.predict(X)                                                  # a float64 model casts nothing


def test_lbfgs_keeps_the_values():
    pytest.importorskip("scipy")
    model = _net()
    model.compile(optimizer="lbfgs", loss="mse")
    with warnings.catch_warnings():
        warnings.simplefilter("error", InputPrecisionWarning)
        model.fit(X, Y, epochs=100, batch_size=None, verbose=0)
    assert _r2(model.predict(X), Y) > 0.95


def test_sklearn_wrapper_standardises_before_the_cast():
    sk = pytest.importorskip("netfit.sklearn")
    reg = sk.NetRegressor(hidden_layer_sizes=(8,), activation="tanh", dtype="float32", optimizer="lbfgs",
                          epochs=200, random_state=0)
    pytest.importorskip("scipy")
    with warnings.catch_warnings():
        warnings.simplefilter("error", InputPrecisionWarning)
        reg.fit(X, Y)
        p = reg.predict(X)
    assert len(np.unique(p)) > 300
    assert reg.score(X, Y) > 0.95
