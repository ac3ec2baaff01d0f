"""Errors at fit / evaluate / predict / to_categorical say what came, what was expected, and a fix that runs.

Each case makes the mistake, checks the message, then *applies the fix the message suggests*
(the code between backticks, run with x, y, np and nf in scope) and checks that the same call
then works. A fix that does not run, or does not cure the error, fails the test.
"""
import re

import numpy as np
import pytest

import netfit as nf
from netfit.layers import Dense

RNG = np.random.default_rng(0)
N = 40
X1 = np.linspace(-1, 1, N)
X3 = RNG.normal(size=(N, 3))
LABELS = np.arange(N) % 3
NAMES = np.array(["cat", "dog", "eel"])[LABELS]


def model(loss="sparse_categorical_crossentropy", units=3, act="softmax", input_shape=(3,)):
    extra = {"input_shape": input_shape} if input_shape else {}
    m = nf.Sequential([Dense(6, activation="tanh", **extra), Dense(units, activation=act)], seed=0)
    m.compile("adam", loss)
    return m


def fit(m, x, y):
    return m.fit(x, y, epochs=1, verbose=0)


def evaluate(m, x, y):
    return m.evaluate(x, y)


def predict(m, x, y):
    return m.predict(x)


def to_categorical(m, x, y):
    return nf.utils.to_categorical(y, 3)


def _with_nan(a, rows=(2, 7)):
    a = np.array(a, dtype=np.float64)
    a[list(rows)] = np.nan
    return a


CASES = [
    # (id, model factory, call, x, y, error, regex)
    ("x-1d-no-input-shape", lambda: model("mse", 1, None, input_shape=None), fit, X1, X1 ** 2, ValueError,
     r"Sequential.fit: expected x of shape \(n, features\), got a 1-D array of shape \(40,\); for one feature per "
     r"example use `x = x.reshape\(-1, 1\)`"),
    ("x-1d-one-feature", lambda: model("mse", 1, None, input_shape=(1,)), fit, X1, X1 ** 2, ValueError,
     r"expected x of shape \(n, 1\), got array of shape \(40,\)\. For one feature per example: `x = x.reshape"),
    ("x-transposed", model, fit, X3.T, LABELS, ValueError,
     r"expected x of shape \(n, 3\), got array of shape \(3, 40\)\. It looks transposed .*`x = x.T`"),
    ("x-one-example", model, predict, X3[0], None, ValueError, r"For one example, add the batch axis: `x = x\[None\]`"),
    ("x-extra-axis", model, fit, X3.reshape(N, 3, 1), LABELS, ValueError, r"Reshape it: `x = x.reshape\(len\(x\), 3\)`"),
    ("x-object-numbers", model, fit, X3.astype(object), LABELS, TypeError,
     r"expected x with a numeric dtype, got dtype object; convert it first: `x = np.asarray\(x, dtype='float32'\)`"),
    ("x-bool", model, fit, X3 > 0, LABELS, TypeError, r"got dtype bool; convert it first: `x = np.asarray"),
    ("x-nan-rows", model, fit, _with_nan(X3), LABELS, ValueError,
     r"x contains 6 NaN or infinite value\(s\); clean or impute them first; or drop those rows: `keep = "),
    ("y-nan-rows", lambda: model("mse", 1, None), fit, X3, _with_nan(X3[:, 0]), ValueError,
     r"y contains 2 NaN or infinite value\(s\); .*drop those rows: `keep = np.isfinite\(y\)"),
    ("y-1-based", model, fit, X3, LABELS + 1, ValueError,
     r"got labels 1..3, which look 1-based; shift them: `y = y - 1`"),
    ("y-1-based-evaluate", model, evaluate, X3, LABELS + 1, ValueError, r"Sequential.evaluate: .*`y = y - 1`"),
    ("y-class-names", model, fit, X3, NAMES, TypeError,
     r"expected y with a numeric dtype, got dtype <U3; class names\? Encode them as 0..K-1: "
     r"`classes, y = np.unique\(y, return_inverse=True\)`"),
    ("y-class-names-object", model, fit, X3, NAMES.astype(object), TypeError, r"got dtype object; class names\?"),
    ("y-class-names-list", model, fit, X3, list(NAMES), TypeError, r"class names\? .*np.unique"),
    ("y-negative-labels", lambda: model(units=2), fit, X3, np.where(LABELS > 0, 1, -1), ValueError,
     r"expected y non-negative class labels, got -1; encode the labels as 0..K-1: `classes, y = np.unique"),
    ("y-onehot-to-sparse", model, fit, X3, nf.utils.to_categorical(LABELS, 3), ValueError,
     r"expected y a 1-D array of integer labels, got shape \(40, 3\); it looks one-hot: pass the class indices, "
     r"`y = y.argmax\(1\)`, or use loss='categorical_crossentropy'"),
    ("y-labels-to-categorical", lambda: model("categorical_crossentropy"), fit, X3, LABELS, ValueError,
     r"categorical_crossentropy expects one-hot y of shape \(n, 3\), got integer labels of shape \(40,\); "
     r"encode them: `y = nf.utils.to_categorical\(y, 3\)`"),
    ("y-1-based-labels-to-categorical", lambda: model("categorical_crossentropy"), fit, X3, LABELS + 1, ValueError,
     r"`y = nf.utils.to_categorical\(y - 1, 3\)`"),
    ("y-label-column-to-categorical", lambda: model("categorical_crossentropy"), fit, X3, LABELS[:, None], ValueError,
     r"got integer labels of shape \(40, 1\); encode them: `y = nf.utils.to_categorical\(y, 3\)`"),
    ("y-nearly-integer-floats", model, fit, X3, LABELS + 1e-9, ValueError,
     r"got non-integer floats .*they are integers up to rounding: `y = np.rint\(y\).astype\(int\)`"),
    ("y-soft-rows", lambda: model("categorical_crossentropy"), fit, X3, RNG.random((N, 3)), ValueError,
     r"divide soft targets by their row sums: `y = y / y.sum\(axis=1, keepdims=True\)`"),
    ("y-transposed", lambda: model("mse", 2, None), fit, X3, X3[:, :2].T, ValueError,
     r"expected y of shape \(n, 2\) to match the model's output, got shape \(2, 40\)\. It looks transposed .*"
     r"`y = y.T`"),
    ("y-minus-one-plus-one", lambda: model("binary_crossentropy", 1, "sigmoid"), fit, X3, np.where(LABELS, 1, -1),
     ValueError, r"got values from -1 to 1; .*Labels −1/\+1: `y = \(y > 0\).astype\('float32'\)`"),
    ("y-one-two", lambda: model("binary_crossentropy", 1, "sigmoid"), fit, X3, (LABELS > 0) + 1, ValueError,
     r"Labels 1/2 look 1-based: `y = y - 1`"),
    ("to-categorical-1-based", model, to_categorical, None, LABELS + 1, ValueError,
     r"to_categorical: expected labels in \[0, 2\], got labels from 1 to 3; they look 1-based: "
     r"`Y = nf.utils.to_categorical\(y - 1, 3\)`"),
    ("to-categorical-names", model, to_categorical, None, NAMES, TypeError,
     r"to_categorical: expected y with a numeric dtype.*`classes, y = np.unique\(y, return_inverse=True\)`"),
]


def _fixes(message):
    return re.findall(r"`([^`]+)`", message)


@pytest.mark.parametrize("make, call, x, y, error, match", [pytest.param(*c[1:], id=c[0]) for c in CASES])
def test_the_error_names_the_fix_and_the_fix_works(make, call, x, y, error, match):
    m = make()
    with pytest.raises(error, match=match) as info:
        call(m, x, y)
    fixes = _fixes(str(info.value))
    assert fixes, str(info.value)
    scope = {"x": x, "y": y, "np": np, "nf": nf}
    exec(fixes[0], scope)                                 # apply the first suggested fix, as a user would
    if call is to_categorical:
        fixed = scope["Y"] if "Y" in scope else nf.utils.to_categorical(scope["y"], 3)
        assert fixed.shape == (N, 3) and np.array_equal(fixed.sum(1), np.ones(N))
        model("categorical_crossentropy").fit(X3, fixed, epochs=1, verbose=0)
        return
    result = call(m, scope["x"], scope["y"])
    if call is predict:
        assert result.shape == (1, 3)


def test_the_issue_example_linspace_into_a_model_without_input_shape():
    """Issue 13 item 4: this said 'dense: expected input_shape a tuple of positive integers, got ()'."""
    m = nf.Sequential([Dense(8, activation="tanh"), Dense(1)], seed=0)
    m.compile("adam", "mse")
    x = np.linspace(-1, 1, 50)
    with pytest.raises(ValueError, match=r"got a 1-D array of shape \(50,\); for one feature per example use "
                                         r"`x = x.reshape\(-1, 1\)`, for one example with 50 features use "
                                         r"`x = x\[None\]`"):
        m.fit(x, x ** 2, verbose=0)
    assert not m.built                                    # the refused call did not pin an input shape
    m.fit(x.reshape(-1, 1), x ** 2, epochs=2, verbose=0)
    assert m.input_shape == (None, 1)


@pytest.mark.parametrize("labels, units, match", [
    (np.arange(N) % 5, 3, r"expected labels in \[0, 2\] for a model with 3 outputs, got label 4; one output per "
                          r"class: end the model with Dense\(5, activation='softmax'\)"),
    (np.arange(N) % 2 * 3, 1, r"a one-unit output cannot hold 4 classes: end the model with Dense\(4, "
                              r"activation='softmax'\)"),
])
def test_too_many_classes_names_the_output_layer_that_fits_and_it_fits(labels, units, match):
    m = model(units=units, act="softmax" if units > 1 else "sigmoid",
              loss="sparse_categorical_crossentropy" if units > 1 else "binary_crossentropy")
    if units == 1:
        with pytest.raises(ValueError, match=r"expected y in \[0, 1\] for binary_crossentropy"):
            m.fit(X3, labels, verbose=0)
        # the sparse loss's own check, for a one-unit output:
        loss = nf.losses.get("sparse_categorical_crossentropy")
        with pytest.raises(ValueError, match=match):
            loss.validate(labels, (1,), "Sequential.fit")
    else:
        with pytest.raises(ValueError, match=match):
            m.fit(X3, labels, verbose=0)
    layer = eval(re.search(r"(Dense\(\d+, activation='softmax'\))", match.replace("\\", "")).group(1))
    fixed = nf.Sequential([Dense(6, activation="tanh", input_shape=(3,)), layer], seed=0)
    fixed.compile("adam", "sparse_categorical_crossentropy")
    fixed.fit(X3, labels, epochs=1, verbose=0)


def test_continuous_floats_for_a_class_loss_point_to_regression():
    with pytest.raises(ValueError, match=r"got non-integer floats \(e.g. 0.5\); a continuous target is regression: "
                                         r"use loss='mse' with a linear last layer"):
        model().fit(X3, np.full(N, 0.5), verbose=0)


def test_rows_that_differ_between_x_and_y_are_named():
    with pytest.raises(ValueError, match=r"x and y have different numbers of examples: 40 and 39; give one row of y "
                                         r"per row of x"):
        model().fit(X3, LABELS[:-1], verbose=0)
