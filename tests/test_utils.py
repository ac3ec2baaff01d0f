"""Utilities: one-hot encoding, seeds, input checks."""
import numpy as np
import pytest

import netfit as nf
from netfit.layers import Dense
from netfit.utils import check_array, check_labels, check_positive_int, set_random_seed, to_categorical


def test_to_categorical_sets_one_entry_per_row():
    Y = to_categorical([2, 0, 1, 2])
    np.testing.assert_array_equal(Y, [[0, 0, 1], [1, 0, 0], [0, 1, 0], [0, 0, 1]])
    assert Y.dtype == np.float32


def test_to_categorical_num_classes_dtype_and_column_input():
    Y = to_categorical(np.array([[1], [0]]), num_classes=4, dtype="float64")
    np.testing.assert_array_equal(Y, [[0, 1, 0, 0], [1, 0, 0, 0]])
    assert Y.dtype == np.float64


def test_to_categorical_accepts_integral_floats():
    np.testing.assert_array_equal(to_categorical(np.array([1.0, 0.0])), [[0, 1], [1, 0]])


@pytest.mark.parametrize("y,kwargs,match", [
    ([0, 3], {"num_classes": 3}, r"to_categorical: expected labels in \[0, 2\], got labels from 0 to 3"),
    ([0, -1], {}, r"to_categorical: expected y non-negative class labels, got -1"),
    ([0.5, 1.0], {}, r"to_categorical: expected y integer class labels, got non-integer floats"),
    ([[0, 1], [1, 0]], {}, r"to_categorical: expected y a 1-D array of integer labels, got shape \(2, 2\)"),
    ([0, 1], {"num_classes": 0}, r"to_categorical: expected num_classes a positive integer, got 0"),
])
def test_to_categorical_errors(y, kwargs, match):
    with pytest.raises(ValueError, match=match):
        to_categorical(y, **kwargs)


def test_set_random_seed_makes_models_reproducible():
    def weights():
        return nf.Sequential([Dense(3, input_shape=(2,)), Dense(2)]).get_weights()
    set_random_seed(123)
    first = weights()
    set_random_seed(123)
    second = weights()
    third = weights()
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(first[0], third[0])


def test_set_random_seed_leaves_numpy_global_state_alone():
    np.random.seed(5)
    expected = np.random.random()
    np.random.seed(5)
    set_random_seed(1)
    nf.Sequential([Dense(3, input_shape=(2,))]).get_weights()
    assert np.random.random() == expected


@pytest.mark.parametrize("seed", [-1, 1.5, "7", None])
def test_set_random_seed_rejects_bad_seeds(seed):
    with pytest.raises(ValueError, match=r"set_random_seed: expected a non-negative integer"):
        set_random_seed(seed)


def test_check_array_converts_lists():
    arr = check_array([[1, 2], [3, 4]], "f")
    assert isinstance(arr, np.ndarray) and arr.shape == (2, 2)


@pytest.mark.parametrize("x,error,match", [
    (None, TypeError, r"where: expected x a numeric array, got NoneType"),
    ("abc", TypeError, r"where: expected x a numeric array, got str"),
    (np.array(["a", "b"]), TypeError, r"where: expected x with a numeric dtype, got dtype <U1"),
    (np.array([True, False]), TypeError, r"where: expected x with a numeric dtype, got dtype bool"),
    (np.array([1 + 2j]), TypeError, r"where: expected x real-valued, got complex dtype complex128"),
    ([[1, 2], [3]], TypeError, r"where: expected x a numeric array, could not convert it"),
    (np.zeros((0, 3)), ValueError, r"where: expected x with at least one example, got shape \(0, 3\)"),
    (np.float64(3.0), ValueError, r"where: expected x with at least one example, got shape \(\)"),
    (np.array([[1.0, np.nan], [np.inf, 0.0]]), ValueError,
     r"where: x contains 2 NaN or infinite value\(s\); clean or impute them first"),
])
def test_check_array_errors(x, error, match):
    with pytest.raises(error, match=match):
        check_array(x, "where")


def test_check_array_can_refuse_integers():
    with pytest.raises(TypeError, match=r"f: expected y with a numeric dtype, got dtype int64"):
        check_array(np.array([1, 2], np.int64), "f", "y", allow_int=False)


def test_check_labels_returns_int64_vector():
    y = check_labels(np.array([[2.0], [0.0]]), "f")
    assert y.dtype == np.int64 and y.tolist() == [2, 0]


@pytest.mark.parametrize("value,error,match", [
    (0, ValueError, r"f: expected batch_size >= 1, got 0"),
    (-1, ValueError, r"f: expected batch_size >= 1, got -1"),
    (2.5, TypeError, r"f: expected batch_size a positive integer, got 2.5"),
    (True, TypeError, r"f: expected batch_size a positive integer, got True"),
])
def test_check_positive_int_errors(value, error, match):
    with pytest.raises(error, match=match):
        check_positive_int(value, "f", "batch_size")


def test_check_positive_int_accepts_numpy_ints_and_optional_none():
    assert check_positive_int(np.int64(3), "f", "n") == 3
    assert check_positive_int(None, "f", "n", allow_none=True) is None


def test_check_array_accepts_finite_values_whose_sum_overflows():
    # The one-read finiteness check sums x; a sum that overflows must not be taken for an infinity.
    big = np.full(4, 3e38, np.float32)
    assert check_array(big, "where", fits=np.float32) is big
    with pytest.raises(ValueError, match=r"where: x contains 1 NaN or infinite value\(s\)"):
        check_array(np.array([3e38, np.inf, -3e38], np.float32), "where", fits=np.float32)
    with pytest.raises(ValueError, match=r"where: x contains 2 NaN or infinite value\(s\)"):
        check_array(np.array([np.inf, -np.inf, 1.0], np.float32), "where")     # their sum is NaN, not inf


def test_check_array_finds_nan_in_a_strided_view():
    x = np.zeros((6, 4), "float32")
    x[4, 2] = np.nan
    with pytest.raises(ValueError, match=r"where: x contains 1 NaN or infinite value\(s\)"):
        check_array(x[::2], "where")                   # not contiguous: the summing path
    assert check_array(x[::2, :2], "where").shape == (3, 2)
