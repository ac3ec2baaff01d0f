"""Losses: values against formulas, δ against finite differences, fused pairs, stability, validation."""
import warnings

import numpy as np
import pytest

from netfit import activations, losses
from netfit.gradcheck import numerical_gradient, relative_error
from netfit.utils import to_categorical

N, K = 5, 3


def _softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def _data(seed=0):
    rng = np.random.default_rng(seed)
    z = rng.standard_normal((N, K))
    labels = rng.integers(0, K, N)
    return z, labels, to_categorical(labels, K, dtype="float64")


# -- values against the obvious formula -------------------------------------------------------
def test_mse_value_is_mean_over_n_and_k():
    f = np.array([[1.0, 2.0], [3.0, 5.0]])
    y = np.array([[0.0, 2.0], [3.0, 3.0]])
    assert losses.get("mse").value(f, y) == pytest.approx((1 + 0 + 0 + 4) / 4)


def test_categorical_crossentropy_value():
    z, labels, Y = _data()
    p = _softmax(z)
    expected = -np.mean([np.log(p[i, labels[i]]) for i in range(N)])
    loss = losses.get("categorical_crossentropy")
    assert loss.value(p, Y) == pytest.approx(expected, rel=1e-12)
    assert loss.value(p, Y, logits=z) == pytest.approx(expected, rel=1e-12)


def test_sparse_categorical_crossentropy_value():
    z, labels, _ = _data()
    p = _softmax(z)
    expected = -np.mean([np.log(p[i, labels[i]]) for i in range(N)])
    loss = losses.get("sparse_categorical_crossentropy")
    assert loss.value(p, labels) == pytest.approx(expected, rel=1e-12)
    assert loss.value(p, labels, logits=z) == pytest.approx(expected, rel=1e-12)


def test_binary_crossentropy_value():
    z = np.array([[0.3, -1.2], [2.0, 0.1]])
    y = np.array([[1.0, 0.0], [0.0, 1.0]])
    p = 1 / (1 + np.exp(-z))
    expected = -np.mean(y * np.log(p) + (1 - y) * np.log(1 - p))
    loss = losses.get("binary_crossentropy")
    assert loss.value(p, y) == pytest.approx(expected, rel=1e-12)
    assert loss.value(p, y, logits=z) == pytest.approx(expected, rel=1e-12)


# -- gradients ----------------------------------------------------------------------------------
def _targets(name, labels, Y, rng):
    if name == "sparse_categorical_crossentropy":
        return labels
    if name == "binary_crossentropy":
        return rng.uniform(0, 1, (N, K))
    if name == "mean_squared_error":
        return rng.standard_normal((N, K))
    return Y


@pytest.mark.parametrize("name", ["mean_squared_error", "categorical_crossentropy",
                                  "sparse_categorical_crossentropy", "binary_crossentropy"])
def test_gradient_matches_finite_differences(name):
    z, labels, Y = _data(1)
    rng = np.random.default_rng(2)
    y = _targets(name, labels, Y, rng)
    f = rng.uniform(0.1, 0.9, (N, K))                # valid probabilities, away from the clip
    loss = losses.get(name)
    numeric = numerical_gradient(lambda: loss.value(f, y), f)
    assert relative_error(loss.gradient(f, y), numeric) < 1e-7


@pytest.mark.parametrize("name,sigma", [("categorical_crossentropy", "softmax"),
                                        ("sparse_categorical_crossentropy", "softmax"),
                                        ("binary_crossentropy", "sigmoid")])
def test_fused_gradient_is_derivative_with_respect_to_logits(name, sigma):
    z, labels, Y = _data(3)
    y = _targets(name, labels, Y, np.random.default_rng(4))
    loss, act = losses.get(name), activations.get(sigma)
    assert loss.fuses_with == sigma
    fused = loss.gradient(act.forward(z.copy()), y, fused=True)
    # R(σ(z)) differentiated with respect to z, through the non-fused value.
    numeric = numerical_gradient(lambda: loss.value(act.forward(z.copy()), y), z)
    assert relative_error(fused, numeric) < 1e-7
    # ... and equals the chain rule through σ' of the non-fused gradient.
    p = act.forward(z.copy())
    assert relative_error(act.backward(loss.gradient(p, y), z, p), fused) < 1e-9


def test_fused_gradient_is_p_minus_y_over_n():
    z, labels, Y = _data(5)
    p = _softmax(z)
    np.testing.assert_allclose(losses.get("categorical_crossentropy").gradient(p, Y, fused=True), (p - Y) / N)
    np.testing.assert_allclose(losses.get("sparse_categorical_crossentropy").gradient(p, labels, fused=True),
                               (p - Y) / N)


def test_sparse_fused_gradient_leaves_predictions_untouched():
    z, labels, _ = _data(6)
    p = _softmax(z)
    before = p.copy()
    losses.get("sparse_categorical_crossentropy").gradient(p, labels, fused=True)
    np.testing.assert_array_equal(p, before)


@pytest.mark.parametrize("name,sigma", [("categorical_crossentropy", "softmax"),
                                        ("sparse_categorical_crossentropy", "softmax"),
                                        ("binary_crossentropy", "sigmoid")])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_fused_path_is_stable_for_huge_logits(name, sigma, dtype):
    z = np.array([[1e4, -1e4, 0.0], [-1e4, 1e4, -1e4]], dtype)
    labels = np.array([1, 1])          # row 0 confidently wrong, row 1 confidently right
    Y = to_categorical(labels, 3, dtype=dtype)
    y = labels if name.startswith("sparse") else Y
    loss, act = losses.get(name), activations.get(sigma)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        p = act.forward(z.copy())
        value = loss.value(p, y, logits=z)
        grad = loss.gradient(p, y, fused=True)
    assert np.isfinite(value) and np.isfinite(grad).all()
    if sigma == "softmax":
        # Row 0 puts all mass on class 0 but the label is 1: −log p = 2e4; row 1 is right: 0.
        assert value == pytest.approx((2e4 + 0.0) / 2, rel=1e-6)
    else:
        # Σ max(z,0) − y z + log(1 + e^−|z|) over the six entries, / 6.
        zz, yy = z.astype(np.float64), Y.astype(np.float64)
        expected = np.mean(np.maximum(zz, 0) - yy * zz + np.log1p(np.exp(-np.abs(zz))))
        assert value == pytest.approx(expected, rel=1e-6)


def test_unfused_values_clip_instead_of_returning_inf():
    p = np.array([[1.0, 0.0]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert np.isfinite(losses.get("categorical_crossentropy").value(p, np.array([[0.0, 1.0]])))
        assert np.isfinite(losses.get("binary_crossentropy").value(p, np.array([[0.0, 1.0]])))


# -- registry and validation ----------------------------------------------------------------------
def test_get_by_name_alias_and_instance():
    assert isinstance(losses.get("mse"), losses.MeanSquaredError)
    loss = losses.BinaryCrossentropy()
    assert losses.get(loss) is loss
    with pytest.raises(ValueError, match=r"unknown loss 'ctc'; supported: mean_squared_error, .*mse"):
        losses.get("ctc")


def test_sparse_validate_rejects_label_out_of_range():
    with pytest.raises(ValueError, match=r"expected labels in \[0, 2\] for a model with 3 outputs, got label 3"):
        losses.get("sparse_categorical_crossentropy").validate([0, 3, 1], (3,), "fit")


def test_sparse_validate_rejects_negative_labels():
    with pytest.raises(ValueError, match=r"fit: expected y non-negative class labels, got -1"):
        losses.get("sparse_categorical_crossentropy").validate([0, -1, 1], (3,), "fit")


def test_sparse_validate_rejects_non_integer_floats():
    with pytest.raises(ValueError, match=r"expected y integer class labels, got non-integer floats"):
        losses.get("sparse_categorical_crossentropy").validate([0.0, 1.5], (3,), "fit")


def test_sparse_validate_accepts_integral_floats_and_column_vector():
    y = losses.get("sparse_categorical_crossentropy").validate(np.array([[0.0], [2.0]]), (3,), "fit")
    np.testing.assert_array_equal(y, [0, 2])
    assert y.dtype == np.int64


def test_categorical_validate_rejects_rows_not_summing_to_one():
    with pytest.raises(ValueError, match=r"fit: expected y rows of non-negative values summing to 1 \(one-hot\), "
                                         r"got rows summing to 1\.\.2"):
        losses.get("categorical_crossentropy").validate([[1.0, 0.0], [1.0, 1.0]], (2,), "fit")


def test_categorical_validate_rejects_wrong_width():
    with pytest.raises(ValueError, match=r"fit: expected y of shape \(n, 3\) to match the model's output, "
                                         r"got shape \(2, 2\)"):
        losses.get("categorical_crossentropy").validate([[1.0, 0.0], [0.0, 1.0]], (3,), "fit")


def test_categorical_validate_suggests_to_categorical_for_integer_labels():
    with pytest.raises(ValueError, match=r"expects one-hot y of shape \(n, 3\), got integer labels of shape \(4,\); "
                                         r"encode them: `y = nf.utils.to_categorical\(y, 3\)`, or use "
                                         r"loss='sparse_categorical_crossentropy'"):
        losses.get("categorical_crossentropy").validate(np.array([0, 1, 2, 1]), (3,), "fit")


def test_binary_validate_rejects_targets_outside_unit_interval():
    with pytest.raises(ValueError, match=r"expected y in \[0, 1\] for binary_crossentropy, got values from 0 to 2"):
        losses.get("binary_crossentropy").validate(np.array([0.0, 2.0]), (1,), "fit")


def test_validate_turns_a_vector_into_a_column_for_one_output():
    y = losses.get("mse").validate(np.array([0.5, 1.5]), (1,), "fit")
    assert y.shape == (2, 1)


def test_validate_rejects_nan_targets():
    with pytest.raises(ValueError, match=r"fit: y contains 1 NaN or infinite value"):
        losses.get("mse").validate(np.array([[0.5], [np.nan]]), (1,), "fit")


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("scale", [0.1, 5.0, 40.0])
def test_sparse_fused_value_matches_a_float64_log_softmax(dtype, scale):
    # The fused value reads −log p off the softmax output while p is far from underflow
    # (scale 40 puts some p near 1e-30 and below, where the logits are used instead).
    rng = np.random.default_rng(3)
    z = (rng.standard_normal((64, 10)) * scale).astype(dtype)
    y = rng.integers(0, 10, 64)
    z64 = z.astype(np.float64)
    reference = np.mean(np.log(np.exp(z64 - z64.max(1, keepdims=True)).sum(1)) + z64.max(1) - z64[np.arange(64), y])
    p = activations.get("softmax").forward(z.copy())
    value = losses.get("sparse_categorical_crossentropy").value(p, y, logits=z)
    assert value == pytest.approx(reference, rel=1e-5 if dtype == "float32" else 1e-12)
