"""Initializers: limits, spreads, ESL's ±0.7, determinism, registry."""
import math

import numpy as np
import pytest

from netfit import initializers


def _draw(name, shape=(400, 300), seed=0, dtype=np.float64):
    return initializers.get(name)(shape, np.random.default_rng(seed), dtype)


def test_glorot_uniform_limit_and_spread():
    w = _draw("glorot_uniform")
    limit = math.sqrt(6 / (400 + 300))
    assert np.abs(w).max() <= limit
    assert np.abs(w).max() > 0.99 * limit                          # fills the interval
    assert w.std() == pytest.approx(limit / math.sqrt(3), rel=0.02)


def test_glorot_uniform_uses_given_fans():
    w = initializers.get("glorot_uniform")((50, 50), np.random.default_rng(0), np.float64, 10, 14)
    assert np.abs(w).max() <= math.sqrt(6 / 24) and np.abs(w).max() > 0.9 * math.sqrt(6 / 24)


def test_convolution_fans_count_the_receptive_field():
    # (kh, kw, c_in, filters): fan_in = 3·3·4 = 36, fan_out = 3·3·8 = 72.
    w = _draw("glorot_uniform", shape=(3, 3, 4, 8))
    assert np.abs(w).max() <= math.sqrt(6 / (36 + 72))


@pytest.mark.parametrize("name,fan", [("he_normal", 400), ("glorot_normal", 700)])
def test_truncated_normal_std_is_the_nominal_std(name, fan):
    w = _draw(name)                                                # 120,000 draws
    target = math.sqrt(2 / fan)
    assert w.std() == pytest.approx(target, rel=0.02)
    assert abs(w.mean()) < 0.02 * target
    # Truncated at two standard deviations of the underlying normal.
    assert np.abs(w).max() <= 2 * target / 0.87962566103423978 + 1e-12


def test_he_uniform_limit():
    w = _draw("he_uniform")
    assert np.abs(w).max() <= math.sqrt(6 / 400)
    assert np.abs(w).max() > 0.99 * math.sqrt(6 / 400)


def test_esl_uniform_range():
    w = _draw("esl_uniform")
    assert w.min() >= -0.7 and w.max() <= 0.7
    assert w.min() < -0.69 and w.max() > 0.69


def test_zeros_and_ones():
    np.testing.assert_array_equal(_draw("zeros", (3, 2)), np.zeros((3, 2)))
    np.testing.assert_array_equal(_draw("ones", (4,)), np.ones(4))


@pytest.mark.parametrize("name", ["glorot_uniform", "glorot_normal", "he_normal", "he_uniform", "esl_uniform"])
def test_same_seed_same_values_other_seed_other_values(name):
    np.testing.assert_array_equal(_draw(name, (20, 10), seed=7), _draw(name, (20, 10), seed=7))
    assert not np.array_equal(_draw(name, (20, 10), seed=7), _draw(name, (20, 10), seed=8))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dtype_is_respected(dtype):
    assert _draw("he_normal", (5, 5), dtype=dtype).dtype == dtype


def test_get_and_serialize_round_trip():
    init = initializers.RandomUniform(-0.3, 0.2)
    again = initializers.get(initializers.serialize(init))
    assert isinstance(again, initializers.RandomUniform) and again.get_config() == {"minval": -0.3, "maxval": 0.2}
    assert repr(initializers.get("esl_uniform")) == "RandomUniform(minval=-0.7, maxval=0.7)"


def test_unknown_initializer_lists_supported():
    with pytest.raises(ValueError, match=r"unknown initializer 'lecun'; supported: .*esl_uniform.*he_normal"):
        initializers.get("lecun")


def test_serialize_refuses_custom_callables():
    with pytest.raises(ValueError, match=r"cannot save custom initializer"):
        initializers.serialize(lambda shape, rng, dtype, fan_in=None, fan_out=None: np.zeros(shape))
