"""Core layers: finite-difference checks of backward, forward against slow loops, errors."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import netfit as nf
from netfit import activations
from netfit.gradcheck import check_layer
from netfit.layers import Activation, Dense, Dropout, Flatten, Reshape

TOL = 1e-6


def _assert_small(errors):
    assert errors and max(errors.values()) < TOL, errors


# -- gradient checks ------------------------------------------------------------------------------
@pytest.mark.parametrize("activation", activations.names())
@pytest.mark.parametrize("use_bias", [True, False])
@pytest.mark.parametrize("seed,n_in,units,batch", [(0, 4, 3, 5), (1, 1, 6, 2)])
def test_dense_gradients(activation, use_bias, seed, n_in, units, batch):
    layer = Dense(units, activation=activation, use_bias=use_bias, bias_initializer="random_uniform")
    errors = check_layer(layer, (n_in,), batch=batch, seed=seed)
    assert set(errors) == ({"kernel", "bias", "input"} if use_bias else {"kernel", "input"})
    _assert_small(errors)


@settings(max_examples=15, deadline=None)
@given(n_in=st.integers(1, 6), units=st.integers(1, 5), batch=st.integers(1, 4), seed=st.integers(0, 10 ** 6))
def test_dense_gradients_random_shapes(n_in, units, batch, seed):
    _assert_small(check_layer(Dense(units, activation="tanh"), (n_in,), batch=batch, seed=seed))


@pytest.mark.parametrize("activation", activations.names())
@pytest.mark.parametrize("shape", [(4,), (2, 3)])
def test_activation_layer_gradients(activation, shape):
    _assert_small(check_layer(Activation(activation), shape, batch=3, seed=2))


@pytest.mark.parametrize("shape", [(2, 3), (2, 2, 3)])
def test_flatten_gradients(shape):
    _assert_small(check_layer(Flatten(), shape, seed=3))


@pytest.mark.parametrize("target,shape", [((3, 2), (6,)), ((-1, 2), (2, 3, 2))])
def test_reshape_gradients(target, shape):
    _assert_small(check_layer(Reshape(target), shape, seed=4))


@pytest.mark.parametrize("rate", [0.25, 0.6])
def test_dropout_gradients_with_fixed_mask(rate):
    layer = Dropout(rate, seed=5)
    errors = check_layer(layer, (7,), batch=4, seed=5, training=True)
    _assert_small(errors)
    mask = layer.record(None).mask                                # the layer's own record, as check_layer used it
    assert mask is not None and (mask == 0).any()                 # the mask really dropped something


def test_check_layer_catches_a_wrong_backward(monkeypatch):
    original = Dense.backward

    def scaled(self, delta, call=None):
        s = original(self, delta, call)
        self.grads["kernel"] *= 1.1
        return s

    monkeypatch.setattr(Dense, "backward", scaled)
    errors = check_layer(Dense(3, activation="tanh"), (4,))
    assert errors["kernel"] > 1e-3 and errors["input"] < TOL


# -- forward against slow references ---------------------------------------------------------------
@pytest.mark.parametrize("activation", ["linear", "sigmoid", "tanh", "relu", "softmax"])
def test_dense_forward_matches_loops(activation):
    rng = np.random.default_rng(0)
    layer = Dense(3, activation=activation, bias_initializer="random_uniform")
    layer.setup((4,), rng=rng, dtype="float64")
    x = rng.standard_normal((5, 4))
    W, b = layer.get_weights()
    assert W.shape == (4, 3) and b.shape == (3,)                 # Keras layout: kernel (n_in, units)
    z = np.zeros((5, 3))
    for i in range(5):
        for m in range(3):
            z[i, m] = b[m] + sum(x[i, l] * W[l, m] for l in range(4))     # z_im = α_m0 + α_mᵀ x_i
    expected = np.zeros_like(z)
    for i in range(5):
        for m in range(3):
            if activation == "linear":
                expected[i, m] = z[i, m]
            elif activation == "sigmoid":
                expected[i, m] = 1 / (1 + np.exp(-z[i, m]))
            elif activation == "tanh":
                expected[i, m] = np.tanh(z[i, m])
            elif activation == "relu":
                expected[i, m] = max(z[i, m], 0.0)
            else:
                expected[i, m] = np.exp(z[i, m]) / sum(np.exp(z[i, k]) for k in range(3))
    np.testing.assert_allclose(layer.forward(x), expected, rtol=1e-12)


def test_dense_without_bias_is_a_plain_product():
    layer = Dense(2, use_bias=False, kernel_initializer="ones")
    layer.setup((3,), dtype="float64")
    assert len(layer.get_weights()) == 1
    np.testing.assert_array_equal(layer.forward(np.array([[1.0, 2.0, 3.0]])), [[6.0, 6.0]])


def test_dense_handles_batches_of_changing_size():
    rng = np.random.default_rng(1)
    layer = Dense(3, activation="tanh")
    layer.setup((2,), rng=rng, dtype="float64")
    x = rng.standard_normal((6, 2))
    full = layer.forward(x).copy()
    np.testing.assert_allclose(layer.forward(x[:2]), full[:2], rtol=1e-15)
    np.testing.assert_allclose(layer.forward(x), full, rtol=1e-15)


def test_flatten_and_reshape_forward():
    x = np.arange(24.0).reshape(2, 3, 4)
    flat = Flatten()
    assert flat.setup((3, 4)) == (12,)
    np.testing.assert_array_equal(flat.forward(x), [x[0].ravel(), x[1].ravel()])
    reshape = Reshape((4, -1))
    assert reshape.setup((3, 4)) == (4, 3)
    out = reshape.forward(x)
    for i in range(2):
        np.testing.assert_array_equal(out[i], x[i].reshape(4, 3))


def test_activation_layer_forward():
    layer = Activation("relu")
    layer.setup((3,))
    np.testing.assert_array_equal(layer.forward(np.array([[-1.0, 0.0, 2.0]])), [[0.0, 0.0, 2.0]])


def test_fused_output_skips_sigma_prime():
    layer = Dense(3, activation="softmax")
    layer.setup((2,), rng=np.random.default_rng(0), dtype="float64")
    x, delta = np.ones((2, 2)), np.arange(6.0).reshape(2, 3)
    call = layer.new_call()
    call.fused = True                                    # as a model sets it for softmax + cross-entropy
    layer.forward(x, call=call)
    layer.backward(delta, call)
    np.testing.assert_allclose(layer.grads["kernel"], x.T @ delta)
    unfused = layer.new_call(grads={"kernel": np.zeros((2, 3)), "bias": np.zeros(3)})
    layer.forward(x, call=unfused)
    layer.backward(delta, unfused)                       # the same δ through σ' gives another gradient
    assert not np.allclose(unfused.grads["kernel"], x.T @ delta)


# -- dropout -----------------------------------------------------------------------------------------
def test_dropout_is_identity_at_inference():
    layer = Dropout(0.5)
    layer.setup((10,))
    x = np.random.default_rng(0).standard_normal((4, 10))
    np.testing.assert_array_equal(layer.forward(x, training=False), x)
    np.testing.assert_array_equal(layer.backward(x), x)


def test_dropout_keeps_the_expected_fraction_and_scales_it():
    layer = Dropout(0.3, seed=0)
    layer.setup((1000,))
    a = layer.forward(np.ones((100, 1000)), training=True)
    kept = a != 0
    assert kept.mean() == pytest.approx(0.7, abs=0.01)
    np.testing.assert_allclose(a[kept], 1 / 0.7, rtol=1e-6)
    assert a.mean() == pytest.approx(1.0, abs=0.02)              # E[a] = x


def test_dropout_backward_uses_the_forward_mask():
    layer = Dropout(0.5, seed=1)
    layer.setup((50,))
    x = np.ones((3, 50))
    a = layer.forward(x, training=True).copy()
    s = layer.backward(np.full((3, 50), 2.0))
    np.testing.assert_array_equal(s, 2.0 * a)


def test_dropout_seed_makes_masks_reproducible():
    def mask(seed):
        layer = Dropout(0.5, seed=seed)
        layer.setup((40,))
        return layer.forward(np.ones((2, 40)), training=True).copy()
    np.testing.assert_array_equal(mask(3), mask(3))
    assert not np.array_equal(mask(3), mask(4))


def test_dropout_rate_zero_is_identity_even_when_training():
    layer = Dropout(0.0)
    layer.setup((5,))
    x = np.ones((2, 5))
    np.testing.assert_array_equal(layer.forward(x, training=True), x)


# -- errors -----------------------------------------------------------------------------------------
def test_dense_rejects_wrong_feature_count():
    layer = Dense(3)
    layer.setup((4,))
    with pytest.raises(ValueError, match=r"Dense: expected input of shape \(n, 4\), got array of shape \(2, 5\)"):
        layer.forward(np.ones((2, 5), "float32"))


def test_dense_after_2d_input_suggests_flatten():
    with pytest.raises(ValueError, match=r"dense: expected 1-D input features per example, got input shape "
                                         r"\(4, 4\); put a Flatten\(\) layer before Dense"):
        nf.Sequential([Dense(3, input_shape=(4, 4))]).build()


def test_declared_input_shape_must_match_the_layer_below():
    model = nf.Sequential([Dense(4, input_shape=(3,)), Dense(2, input_shape=(5,))])
    with pytest.raises(ValueError, match=r"dense_1: declared input_shape=\(5,\), but the layer below produces \(4,\)"):
        model.build()


@pytest.mark.parametrize("make,error,match", [
    (lambda: Dense(0), ValueError, r"Dense: expected units >= 1, got 0"),
    (lambda: Dense(2.5), TypeError, r"Dense: expected units a positive integer, got 2.5"),
    (lambda: Dense(2, activation="mish"), ValueError, r"unknown activation 'mish'"),
    (lambda: Dense(2, input_shape=(0,)), ValueError, r"Dense: expected input_shape a tuple of positive integers"),
    (lambda: Dense(2, input_shape="x"), TypeError, r"Dense: expected input_shape a tuple of positive integers"),
    (lambda: Dropout(1.0), ValueError, r"Dropout: expected rate in \[0, 1\), got 1.0"),
    (lambda: Reshape((-1, -1)), ValueError, r"Reshape: expected target_shape of positive sizes with at most one -1"),
    (lambda: Reshape((3, 0)), ValueError, r"Reshape: expected target_shape of positive sizes"),
])
def test_constructor_errors(make, error, match):
    with pytest.raises(error, match=match):
        make()


@pytest.mark.parametrize("target,match", [((5,), r"cannot reshape input of shape \(2, 3\) \(6 values\) into \(5,\)"),
                                          ((4, -1), r"cannot reshape \(2, 3\) into \(4, -1\)")])
def test_reshape_size_mismatch(target, match):
    with pytest.raises(ValueError, match=match):
        Reshape(target).setup((2, 3))


def test_set_weights_errors():
    layer = Dense(3)
    layer.setup((2,))
    with pytest.raises(ValueError, match=r"Dense.set_weights: expected 2 arrays \(kernel, bias\), got 1"):
        layer.set_weights([np.zeros((2, 3))])
    with pytest.raises(ValueError, match=r"Dense.set_weights: expected kernel of shape \(2, 3\), got \(3, 2\)"):
        layer.set_weights([np.zeros((3, 2)), np.zeros(3)])


def test_unknown_layer_name_lists_supported():
    with pytest.raises(ValueError, match=r"layers.get: unknown layer 'LSTM'; supported: .*Dense.*Flatten"):
        nf.layers.get("LSTM")


# -- ZeroPadding2D --------------------------------------------------------------------------------------
@pytest.mark.parametrize("padding,shape,out", [(1, (3, 4, 2), (5, 6, 2)), ((2, 0), (3, 4), (7, 4)),
                                               (((0, 1), (2, 3)), (2, 2, 1), (3, 7, 1))])
def test_zero_padding_forward_backward(padding, shape, out):
    from netfit.layers import ZeroPadding2D
    layer = ZeroPadding2D(padding)
    assert layer.setup(shape, dtype="float64") == out
    x = np.random.default_rng(0).standard_normal((2,) + shape)
    a = layer.forward(x)
    (top, bottom), (left, right) = layer.padding
    pad = [(0, 0), (top, bottom), (left, right)] + [(0, 0)] * (len(shape) - 2)
    np.testing.assert_array_equal(a, np.pad(x, pad))            # the obvious reference
    errors = check_layer(layer, x=x)
    assert max(errors.values()) < 1e-8, errors


def test_zero_padding_keras_default_and_config_round_trip():
    from netfit.layers import ZeroPadding2D
    layer = ZeroPadding2D()
    assert layer.padding == ((1, 1), (1, 1))                    # Keras's default (1, 1)
    again = ZeroPadding2D.from_config(ZeroPadding2D(((1, 2), (0, 3))).get_config())
    assert again.padding == ((1, 2), (0, 3))


@pytest.mark.parametrize("padding", [-1, (1, -1), (1, 2, 3), "same", 1.5, ((1, 2), 3), True, ((1,), (2, 3))])
def test_zero_padding_refuses_bad_padding(padding):
    from netfit.layers import ZeroPadding2D
    with pytest.raises(ValueError, match=r"ZeroPadding2D: expected padding a non-negative int, a pair of them, or "
                                         r"\(\(top, bottom\), \(left, right\)\), got"):
        ZeroPadding2D(padding)


def test_zero_padding_refuses_vectors():
    from netfit.layers import ZeroPadding2D
    with pytest.raises(ValueError, match=r"ZeroPadding2D: expected per-example input of shape \(height, width"):
        ZeroPadding2D().setup((8,))
