"""Activations: σ' against central differences, stability at extreme inputs, the registry."""
import math
import warnings

import numpy as np
import pytest

from netfit import activations

ELEMENTWISE = [name for name in activations.names() if name != "softmax"]


def _inputs(seed, shape=(5, 4)):
    z = np.random.default_rng(seed).uniform(-3, 3, size=shape)
    z[np.abs(z) < 1e-3] = 0.5                     # keep clear of relu's and elu's kink at 0
    return z


@pytest.mark.parametrize("name", activations.names())
@pytest.mark.parametrize("seed", [0, 1])
def test_backward_matches_central_differences(name, seed):
    act = activations.get(name)
    z = _inputs(seed)
    delta = np.random.default_rng(seed + 100).standard_normal(z.shape)
    a = act.forward(z.copy())
    analytic = act.backward(delta, z, a)
    # ∂/∂z_ij of R = Σ δ ⊙ σ(z), one entry at a time.
    numeric = np.zeros_like(z)
    eps = 1e-6
    for idx in np.ndindex(z.shape):
        up, down = z.copy(), z.copy()
        up[idx] += eps
        down[idx] -= eps
        numeric[idx] = (np.sum(delta * act.forward(up)) - np.sum(delta * act.forward(down))) / (2 * eps)
    np.testing.assert_allclose(analytic, numeric, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("name", activations.names())
def test_forward_with_out_buffer_equals_without(name):
    act = activations.get(name)
    z = _inputs(3)
    out = np.empty_like(z)
    result = act.forward(z, out=out)
    np.testing.assert_allclose(result, act.forward(z.copy()), rtol=1e-12)



@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", activations.names())
def test_backward_with_out_buffer_equals_without(name, dtype):
    act = activations.get(name)
    z = _inputs(4, (6, 5)).astype(dtype)
    z[0, :3] = 0.0                                # relu's σ'(0) = 0 must hold on every path
    delta = np.random.default_rng(5).standard_normal(z.shape).astype(dtype)
    a = act.forward(z.copy())
    expected = act.backward(delta, z, a)
    out = np.full_like(z, np.nan)
    result = act.backward(delta, z, a, out=out)
    assert result.dtype == dtype
    np.testing.assert_array_equal(result, expected)
    in_place = delta.copy()                       # out may be δ itself
    np.testing.assert_array_equal(act.backward(in_place, z, a, out=in_place), expected)
    if name == "relu":
        np.testing.assert_array_equal(expected, np.where(z > 0, delta, 0))

def test_forward_values_against_formulas():
    z = np.array([[-2.0, -0.5, 0.0, 0.5, 2.0]])
    np.testing.assert_allclose(activations.get("sigmoid").forward(z.copy()), 1 / (1 + np.exp(-z)), rtol=1e-12)
    np.testing.assert_allclose(activations.get("tanh").forward(z.copy()), np.tanh(z), rtol=1e-12)
    np.testing.assert_allclose(activations.get("relu").forward(z.copy()), [[0, 0, 0, 0.5, 2.0]])
    np.testing.assert_allclose(activations.get("softplus").forward(z.copy()), np.log1p(np.exp(z)), rtol=1e-12)
    np.testing.assert_allclose(activations.get("elu").forward(z.copy()), np.where(z > 0, z, np.exp(z) - 1),
                               rtol=1e-12)
    np.testing.assert_array_equal(activations.get("linear").forward(z), z)
    c = np.sqrt(2 / np.pi)
    np.testing.assert_allclose(activations.get("gelu_tanh").forward(z.copy()),
                               0.5 * z * (1 + np.tanh(c * (z + 0.044715 * z ** 3))), rtol=1e-12)


def _gelu_exact(z):
    """z Φ(z) with the standard library's erfc, one number at a time (the slow obvious reference)."""
    return np.array([0.5 * v * math.erfc(-v / math.sqrt(2)) for v in np.asarray(z, np.float64).ravel()])


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_gelu_is_the_exact_erf_form_to_float32_precision(dtype):
    # Keras 3 and PyTorch default to z Φ(z); the tanh form differs from it by up to ~5e-4.
    z = np.linspace(-10, 10, 20001).astype(dtype)
    a = activations.get("gelu").forward(z.copy())
    assert a.dtype == dtype
    ref = _gelu_exact(z)
    nonzero = ref != 0
    rel = np.abs(a - ref)[nonzero] / np.abs(ref[nonzero])
    # float64: exact (the reference's own rounding of −z/√2 is magnified by up to ~2·(z/√2)² in the tail);
    # float32: Numerical Recipes' fit, 1.2e-7.
    assert rel.max() < (1e-13 if dtype == np.float64 else 2.5e-7)
    tanh_form = activations.get("gelu_tanh").forward(z.astype(np.float64))
    assert np.abs(tanh_form - ref).max() > 1e-4                     # the two are different functions


def test_gelu_backward_is_phi_plus_z_pdf():
    z = np.linspace(-8, 8, 1601)
    d = activations.get("gelu").backward(np.ones_like(z), z, None)
    exact = np.array([0.5 * math.erfc(-v / math.sqrt(2)) + v * math.exp(-v * v / 2) / math.sqrt(2 * math.pi)
                      for v in z])
    np.testing.assert_allclose(d, exact, rtol=0, atol=1e-15)                        # float64: exact
    a = activations.get("gelu").forward(z)
    np.testing.assert_allclose(activations.get("gelu").backward(np.ones_like(z), z, a), exact, rtol=0, atol=1e-15)
    d32 = activations.get("gelu").backward(np.ones_like(z, np.float32), z.astype(np.float32), None)
    np.testing.assert_allclose(d32, exact, rtol=0, atol=2e-7)                       # float32: the fit's error


@pytest.mark.parametrize("scipy_present", [True, False])
def test_float64_gelu_is_exact_to_a_few_ulps_with_and_without_scipy(scipy_present, monkeypatch):
    """Against 40-digit mpmath: a few ulps everywhere, the far tail (z = −35) included (was 1e-7, ~1e9 ulps)."""
    mpmath = pytest.importorskip("mpmath")
    import sys
    if scipy_present:
        pytest.importorskip("scipy")
    else:
        monkeypatch.setitem(sys.modules, "scipy.special", None)            # as where SciPy is not installed
    activations._erfc64.cache_clear()
    monkeypatch.setattr(activations, "_erfc64", activations._erfc64)
    try:
        mpmath.mp.dps = 40
        z = np.concatenate([np.linspace(-35, 10, 1501), np.random.default_rng(0).standard_normal(500) * 4])
        gelu = activations.get("gelu")
        a = gelu.forward(z)
        ref = np.array([float(mpmath.mpf(v) / 2 * mpmath.erfc(-mpmath.mpf(v) / mpmath.sqrt(2))) for v in z])
        ulps = np.abs(a - ref) / np.spacing(np.abs(ref))
        assert ulps.max() <= 8, (ulps.max(), z[np.argmax(ulps)])
        slope = np.array([float(mpmath.erfc(-mpmath.mpf(v) / mpmath.sqrt(2)) / 2 + mpmath.mpf(v)
                                * mpmath.exp(-mpmath.mpf(v) ** 2 / 2) / mpmath.sqrt(2 * mpmath.pi)) for v in z])
        for got in (gelu.backward(np.ones_like(z), z, None), gelu.backward(np.ones_like(z), z, a)):
            assert np.abs(got - slope).max() < 1e-15
    finally:
        activations._erfc64.cache_clear()


def test_gelu_in_a_dense_layer_and_its_config():
    from netfit.layers import Dense
    exact, approx = Dense(2, activation="gelu"), Dense(2, activation="gelu_tanh")
    assert exact.get_config()["activation"] == "gelu" and approx.get_config()["activation"] == "gelu_tanh"
    assert activations.Gelu(approximate=True).name == "gelu_tanh"
    with pytest.raises(TypeError, match="Gelu: expected approximate True or False, got 'tanh'"):
        activations.Gelu(approximate="tanh")


def test_softmax_rows_sum_to_one_and_match_formula():
    z = np.random.default_rng(0).standard_normal((6, 4))
    p = activations.get("softmax").forward(z.copy())
    np.testing.assert_allclose(p.sum(axis=1), 1.0, rtol=1e-12)
    np.testing.assert_allclose(p, np.exp(z) / np.exp(z).sum(axis=1, keepdims=True), rtol=1e-12)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_softmax_is_stable_for_huge_logits(dtype):
    z = np.array([[1e4, -1e4, 0.0], [-1e4, -1e4, -1e4], [1e4, 1e4, -1e4]], dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        p = activations.get("softmax").forward(z)
    assert np.isfinite(p).all()
    np.testing.assert_allclose(p, [[1, 0, 0], [1 / 3, 1 / 3, 1 / 3], [0.5, 0.5, 0]], rtol=1e-6)
    assert p.dtype == np.dtype(dtype)


@pytest.mark.parametrize("name", ELEMENTWISE)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_elementwise_activations_are_stable_at_extremes(name, dtype):
    act = activations.get(name)
    z = np.array([[-1e4, -50.0, 50.0, 1e4]], dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        a = act.forward(z.copy())
        d = act.backward(np.ones_like(z), z, a)
    assert np.isfinite(a).all() and np.isfinite(d).all()
    assert a.dtype == np.dtype(dtype)


def test_sigmoid_saturates_exactly_without_warnings():
    z = np.array([[-1e4, 1e4, 0.0]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        a = activations.get("sigmoid").forward(z)
    np.testing.assert_array_equal(a, [[0.0, 1.0, 0.5]])


def test_get_accepts_none_and_instances():
    assert activations.get(None).name == "linear"
    tanh = activations.get("tanh")
    assert activations.get(tanh) is tanh


def test_unknown_name_lists_supported_names():
    with pytest.raises(ValueError, match=r"unknown activation 'mish'; supported: .*relu.*softmax.*swish"):
        activations.get("mish")


@pytest.mark.parametrize("shape", [(5, 10), (300, 10), (3, 100, 4), (200, 40)])
def test_softmax_matches_a_float64_reference_for_few_and_many_rows(shape):
    # Many rows take the column-by-column maximum and BLAS row sums; few rows NumPy's reductions.
    z = np.random.default_rng(1).standard_normal(shape).astype("float32") * 20
    z64 = z.astype(np.float64)
    e = np.exp(z64 - z64.max(axis=-1, keepdims=True))
    expected = e / e.sum(axis=-1, keepdims=True)
    a = activations.get("softmax").forward(z.copy())
    assert a.dtype == np.float32 and a.shape == shape
    np.testing.assert_allclose(a, expected, rtol=1e-5, atol=1e-7)


def test_keras3_activations_against_their_formulas_by_hand():
    z = np.array([[-4.0, -1.0, 0.0, 0.5, 2.0, 4.0]])
    # leaky_relu: Keras 3's negative_slope 0.2.
    np.testing.assert_allclose(activations.get("leaky_relu").forward(z.copy()), [[-0.8, -0.2, 0, 0.5, 2.0, 4.0]])
    # selu at -1: λα(e^-1 − 1) = 1.0507 · 1.6733 · (−0.63212) = −1.11133.
    selu = activations.get("selu").forward(z.copy())
    assert selu[0, 1] == pytest.approx(-1.1113307378, rel=1e-9) and selu[0, 4] == pytest.approx(2.1014019747)
    # silu(2) = 2 / (1 + e^-2) = 1.76159; swish is the same function.
    assert activations.get("silu").forward(z.copy())[0, 4] == pytest.approx(1.7615941560, rel=1e-9)
    assert activations.get("swish") is activations.get("silu")
    np.testing.assert_allclose(activations.get("softsign").forward(z.copy()), [[-0.8, -0.5, 0, 1 / 3, 2 / 3, 0.8]])
    # hard_sigmoid, Keras 3: relu6(z + 3) / 6, flat beyond ±3 (Keras 2's 0.2 z + 0.5 gives 0.6 at 0.5, not 7/12).
    np.testing.assert_allclose(activations.get("hard_sigmoid").forward(z.copy()), [[0, 2 / 6, 0.5, 3.5 / 6, 5 / 6, 1]])


def test_keras3_activation_derivatives_by_hand():
    z = np.array([[-1.0, 0.5, 2.0]])
    delta = np.ones_like(z)

    def d(name):
        act = activations.get(name)
        return act.backward(delta, z, act.forward(z.copy()))[0]
    np.testing.assert_allclose(d("leaky_relu"), [0.2, 1, 1])
    np.testing.assert_allclose(d("selu"), [1.0507009873554805 * 1.6732632423543772 * np.exp(-1), 1.0507009873554805,
                                           1.0507009873554805], rtol=1e-12)
    s = 1 / (1 + np.exp(-z[0]))
    np.testing.assert_allclose(d("silu"), s + z[0] * s * (1 - s), rtol=1e-12)
    np.testing.assert_allclose(d("softsign"), 1 / (1 + np.abs(z[0])) ** 2, rtol=1e-12)
    np.testing.assert_allclose(d("hard_sigmoid"), [1 / 6, 1 / 6, 1 / 6])
    far = np.array([[-3.5, 3.5]])
    hs = activations.get("hard_sigmoid")
    np.testing.assert_array_equal(hs.backward(np.ones_like(far), far, hs.forward(far.copy())), [[0.0, 0.0]])


def test_leaky_relu_takes_other_slopes_and_refuses_bad_ones():
    act = activations.LeakyRelu(0.01)                               # PyTorch's default slope
    np.testing.assert_allclose(act.forward(np.array([[-2.0, 3.0]])), [[-0.02, 3.0]])
    for bad in (-0.1, "0.2", None, float("nan"), True):
        with pytest.raises(ValueError, match=r"LeakyRelu: expected negative_slope a non-negative number"):
            activations.LeakyRelu(bad)


def test_aliases_are_listed():
    assert activations.aliases() == {"swish": "silu"}
    assert "swish" not in activations.names() and "silu" in activations.names()


def test_a_leaky_relu_slope_survives_save_and_load_and_export_names(tmp_path):
    import netfit as nf
    from netfit.layers import Dense
    act = activations.LeakyRelu(0.01)
    assert act.name == "leaky_relu:0.01" and activations.get("leaky_relu:0.01").negative_slope == 0.01
    assert activations.LeakyRelu().name == "leaky_relu"
    model = nf.Sequential([Dense(3, activation=act, input_shape=(2,))], seed=0)
    x = np.array([[-5.0, 1.0], [2.0, -3.0]])
    model.save(tmp_path / "l.netfit")
    again = nf.load_model(tmp_path / "l.netfit")
    assert again.layers[0].activation.negative_slope == 0.01
    np.testing.assert_array_equal(again.predict(x), model.predict(x))
    for bad in ("leaky_relu:", "leaky_relu:x", "leaky_relu:-1"):
        with pytest.raises(ValueError, match=r"unknown activation|LeakyRelu: expected negative_slope"):
            activations.get(bad)
