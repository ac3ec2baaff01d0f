"""Conv2D and LocallyConnected2D: against a slow loop reference, finite differences, ESL's counts."""
import math

import numpy as np
import pytest

from netfit import layers, parallel
from netfit.gradcheck import check_layer
from netfit.layers import Conv2D, LocallyConnected2D
from netfit.layers import conv as conv_module

# (kernel_size, strides, padding, per-example input shape)
GEOMETRIES = [
    (3, 1, "valid", (7, 6, 1)),
    (3, 2, "valid", (7, 6, 3)),
    (3, 1, "same", (6, 5, 3)),
    (3, 2, "same", (7, 6, 1)),
    ((2, 3), (2, 1), "same", (5, 6, 3)),
    (5, 2, "same", (8, 8, 2)),            # ESL Net-4's second layer: pads 1 top, 2 bottom
    (3, 2, "same", (7, 7)),               # 2-D input, read as one channel
    (3, 1, "valid", (6, 5, 4)),           # four channels: X stored row by row
]
IDS = [f"k{k}-s{s}-{p}-{'x'.join(map(str, shape))}" for k, s, p, shape in GEOMETRIES]


def reference(x, kernels, bias, kernel_size, strides, padding, pad_value=0.0):
    """Slow and obvious: z[i, p, q, f] = b[p, q, f] + Σ window(x_i, p, q) · kernels[p, q, ..., f].

    kernels : (out_h, out_w, kh, kw, c, f), one kernel per position (a convolution repeats one).
    """
    if x.ndim == 3:
        x = x[..., None]
    (kh, kw), (sh, sw) = kernel_size, strides
    n, h, w, _ = x.shape
    if padding == "valid":
        out_h, out_w, pads = (h - kh) // sh + 1, (w - kw) // sw + 1, ((0, 0), (0, 0))
    else:
        out_h, out_w = math.ceil(h / sh), math.ceil(w / sw)
        th, tw = max((out_h - 1) * sh + kh - h, 0), max((out_w - 1) * sw + kw - w, 0)
        pads = ((th // 2, th - th // 2), (tw // 2, tw - tw // 2))      # extra pixel bottom/right
    xp = np.pad(x, ((0, 0),) + pads + ((0, 0),), constant_values=pad_value)
    f = kernels.shape[-1]
    z = np.zeros((n, out_h, out_w, f))
    for i in range(n):
        for p in range(out_h):
            for q in range(out_w):
                window = xp[i, p * sh:p * sh + kh, q * sw:q * sw + kw, :]
                for m in range(f):
                    z[i, p, q, m] = bias[p, q, m] + np.sum(window * kernels[p, q, :, :, :, m])
    return z


def make(cls, kernel_size, strides, padding, shape, seed=0, **kwargs):
    layer = cls(2, kernel_size, strides=strides, padding=padding, **kwargs)
    rng = np.random.default_rng(seed)
    layer.setup(shape, rng=rng, dtype=np.float64)
    if "bias" in layer.params:
        layer.params["bias"][...] = rng.standard_normal(layer.params["bias"].shape)
    x = rng.standard_normal((3,) + shape)
    return layer, x


def full_bias(layer):
    out_h, out_w, f = layer.output_shape
    if "bias" not in layer.params:
        return np.zeros((out_h, out_w, f))
    return np.broadcast_to(layer.params["bias"], (out_h, out_w, f))


@pytest.mark.parametrize("bias", ["shared", "per_unit", None])
@pytest.mark.parametrize("kernel_size, strides, padding, shape", GEOMETRIES, ids=IDS)
def test_conv2d_forward_matches_loops(kernel_size, strides, padding, shape, bias):
    layer, x = make(Conv2D, kernel_size, strides, padding, shape,
                    use_bias=bias is not None, bias=bias or "shared")
    out_h, out_w, _ = layer.output_shape
    kernels = np.broadcast_to(layer.params["kernel"], (out_h, out_w) + layer.params["kernel"].shape)
    expected = reference(x, kernels, full_bias(layer), layer.kernel_size, layer.strides, padding)
    np.testing.assert_allclose(layer.forward(x), expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("use_bias", [True, False])
@pytest.mark.parametrize("kernel_size, strides, padding, shape", GEOMETRIES, ids=IDS)
def test_locally_connected_forward_matches_loops(kernel_size, strides, padding, shape, use_bias):
    layer, x = make(LocallyConnected2D, kernel_size, strides, padding, shape, use_bias=use_bias)
    out_h, out_w, f = layer.output_shape
    (kh, kw), c = layer.kernel_size, shape[2] if len(shape) == 3 else 1
    kernels = layer.params["kernel"].reshape(out_h, out_w, kh, kw, c, f)
    expected = reference(x, kernels, full_bias(layer), layer.kernel_size, layer.strides, padding)
    np.testing.assert_allclose(layer.forward(x), expected, rtol=1e-12, atol=1e-12)


def reference_backward(x, kernel, delta, kernel_size, strides, padding, pad_value=0.0):
    """Slow and obvious adjoint of :func:`reference` for one shared kernel: s, ∂R/∂kernel, ∂R/∂b.

    Each window's δ · kernel is added back onto the pixels it read; padded pixels are
    constants and keep nothing. ∂R/∂kernel sums δ times the window, padding included.
    """
    if x.ndim == 3:
        x = x[..., None]
    (kh, kw), (sh, sw) = kernel_size, strides
    n, h, w, _ = x.shape
    _, out_h, out_w, _ = delta.shape
    if padding == "valid":
        top = left = 0
    else:
        top = max((out_h - 1) * sh + kh - h, 0) // 2
        left = max((out_w - 1) * sw + kw - w, 0) // 2
    xp = np.pad(x, ((0, 0), (top, kh + sh * out_h), (left, kw + sw * out_w), (0, 0)), constant_values=pad_value)
    sp = np.zeros_like(xp)
    dkernel = np.zeros(kernel.shape)
    for p in range(out_h):
        for q in range(out_w):
            rows, cols = slice(p * sh, p * sh + kh), slice(q * sw, q * sw + kw)
            sp[:, rows, cols] += np.einsum("if,uvcf->iuvc", delta[:, p, q], kernel)
            dkernel += np.einsum("if,iuvc->uvcf", delta[:, p, q], xp[:, rows, cols])
    return sp[:, top:top + h, left:left + w], dkernel, delta.sum(axis=(0, 1, 2))


# Stride 1 in both directions: s is the adjoint convolution of δ (Windows.adjoint), with the
# padding of "same" split unevenly by even kernels, and X stored both ways (≤ 3 channels: by column).
STRIDE_1 = [(2, 1, "same", (5, 4, 3)), (4, 1, "same", (6, 5, 4)), ((3, 2), 1, "valid", (5, 6, 5)),
            ((1, 3), 1, "same", (4, 5, 2)), (3, 1, "same", (6, 5, 4))]


@pytest.mark.parametrize("kernel_size, strides, padding, shape", STRIDE_1,
                         ids=[f"k{k}-s{s}-{p}-{'x'.join(map(str, shape))}" for k, s, p, shape in STRIDE_1])
def test_conv2d_gradients_stride_1(kernel_size, strides, padding, shape):
    layer = Conv2D(3, kernel_size, strides=strides, padding=padding, activation="tanh",
                   bias_initializer="glorot_uniform")
    errors = check_layer(layer, shape, batch=2)
    assert max(errors.values()) < 1e-6, errors


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("piece_bytes", [1, 2500, 1 << 19], ids=["1-example", "some", "whole"])
@pytest.mark.parametrize("kernel_size, strides, padding, shape", GEOMETRIES + STRIDE_1,
                         ids=IDS + [f"k{k}-s{s}-{p}-{'x'.join(map(str, shape))}" for k, s, p, shape in STRIDE_1])
def test_conv2d_in_pieces_matches_loops(kernel_size, strides, padding, shape, piece_bytes, dtype, monkeypatch):
    # Windows.times and .gradient make X a few examples at a time (one piece, some, or all of a
    # block): forward, s and the gradients against the loops, in both float types; LeCun's
    # pad value, which s must ignore and the kernel's gradient must see.
    monkeypatch.setattr(parallel, "PIECE_BYTES", piece_bytes)
    layer = Conv2D(3, kernel_size, strides=strides, padding=padding, pad_value=-1.0, bias_initializer="glorot_uniform")
    rng = np.random.default_rng(3)
    layer.setup(shape, rng=rng, dtype=dtype)
    x = rng.standard_normal((5,) + shape).astype(dtype)
    delta = rng.standard_normal((5,) + layer.output_shape).astype(dtype)
    kernel = layer.params["kernel"].astype(np.float64)
    a = layer.forward(x).copy()
    s = layer.backward(delta)
    kernels = np.broadcast_to(kernel, layer.output_shape[:2] + kernel.shape)
    expected_a = reference(x.astype(np.float64), kernels, full_bias(layer), layer.kernel_size, layer.strides,
                           padding, pad_value=-1.0)
    expected_s, dkernel, dbias = reference_backward(x.astype(np.float64), kernel, delta.astype(np.float64),
                                                    layer.kernel_size, layer.strides, padding, pad_value=-1.0)
    tol = dict(rtol=1e-4, atol=1e-4) if dtype == np.float32 else dict(rtol=1e-10, atol=1e-10)
    assert a.dtype == s.dtype == dtype
    np.testing.assert_allclose(a, expected_a, **tol)
    np.testing.assert_allclose(s, expected_s.reshape(s.shape), **tol)
    np.testing.assert_allclose(layer.grads["kernel"], dkernel, **tol)
    np.testing.assert_allclose(layer.grads["bias"], dbias, **tol)


def test_same_padding_puts_the_odd_pixel_bottom_right():
    # 4×4 input, 2×2 window, stride 1: one row/column of padding in total, all of it after.
    layer = Conv2D(1, 2, padding="same", kernel_initializer="ones")
    assert layer.setup((4, 4)) == (4, 4, 1)
    a = layer.forward(np.arange(16.0, dtype=np.float32).reshape(1, 4, 4))[0, :, :, 0]
    assert a[0, 0] == 0 + 1 + 4 + 5
    assert a[0, 3] == 3 + 7 and a[3, 0] == 12 + 13 and a[3, 3] == 15


@pytest.mark.parametrize("bias", ["shared", "per_unit", None])
@pytest.mark.parametrize("kernel_size, strides, padding, shape", GEOMETRIES, ids=IDS)
def test_conv2d_gradients(kernel_size, strides, padding, shape, bias):
    layer = Conv2D(2, kernel_size, strides=strides, padding=padding, activation="tanh",
                   use_bias=bias is not None, bias=bias or "shared", bias_initializer="glorot_uniform")
    errors = check_layer(layer, shape, batch=2)
    assert max(errors.values()) < 1e-6, errors


@pytest.mark.parametrize("use_bias", [True, False])
@pytest.mark.parametrize("kernel_size, strides, padding, shape", GEOMETRIES, ids=IDS)
def test_locally_connected_gradients(kernel_size, strides, padding, shape, use_bias):
    layer = LocallyConnected2D(2, kernel_size, strides=strides, padding=padding, activation="sigmoid",
                               use_bias=use_bias, bias_initializer="glorot_uniform")
    errors = check_layer(layer, shape, batch=2)
    assert max(errors.values()) < 1e-6, errors


@pytest.mark.parametrize("padding", ["valid", "same"])
def test_locally_connected_with_equal_kernels_is_a_convolution(padding):
    # Small integers make every product and sum exact, so the outputs must agree bit for bit
    # whatever order BLAS adds them in.
    rng = np.random.default_rng(0)
    conv = Conv2D(2, 3, strides=2, padding=padding, activation="relu")
    local = LocallyConnected2D(2, 3, strides=2, padding=padding, activation="relu")
    conv.setup((9, 8, 3), dtype=np.float64)
    local.setup((9, 8, 3), dtype=np.float64)
    kernel, bias = rng.integers(-3, 4, (3, 3, 3, 2)), rng.integers(-3, 4, 2)
    conv.set_weights([kernel, bias])
    positions, k, f = local.params["kernel"].shape
    local.set_weights([np.broadcast_to(kernel.reshape(1, k, f), (positions, k, f)),
                       np.broadcast_to(bias, local.output_shape)])
    x = rng.integers(-5, 6, (4, 9, 8, 3)).astype(np.float64)
    np.testing.assert_array_equal(local.forward(x), conv.forward(x))


def test_input_gradient_is_skipped_for_the_first_layer():
    layer, x = make(Conv2D, 3, 1, "same", (5, 5, 2))
    delta = np.random.default_rng(1).standard_normal((3,) + layer.output_shape)
    layer.forward(x)
    s = layer.backward(delta).copy()
    kernel_grad = layer.grads["kernel"].copy()
    assert s.shape == x.shape
    first = layer.new_call(need_input_grad=False)        # what a model gives its first layer
    layer.forward(x, call=first)
    assert layer.backward(delta, first) is None
    np.testing.assert_array_equal(layer.grads["kernel"], kernel_grad)     # overwritten, not accumulated


@pytest.mark.parametrize("cls", [Conv2D, LocallyConnected2D])
def test_float32_stays_float32_and_grads_land_in_the_flat_buffer(cls):
    layer = cls(4, 3, padding="same", activation="relu", bias_initializer="ones")
    layer._build((6, 6, 2))
    size = layer.count_params()
    params, grads = np.zeros(size, np.float32), np.zeros(size, np.float32)
    layer.attach(params, grads)
    layer.initialize(np.random.default_rng(0))
    x = np.random.default_rng(1).standard_normal((5, 6, 6, 2)).astype(np.float32)
    a = layer.forward(x)
    s = layer.backward(np.ones_like(a))
    assert a.dtype == s.dtype == np.float32
    assert all(np.shares_memory(g, grads) for g in layer.grads.values())
    assert np.count_nonzero(grads) > 0
    np.testing.assert_array_equal(grads, np.concatenate([g.ravel() for g in layer.grads.values()]))


def test_smaller_batch_after_larger_reuses_buffers_correctly():
    layer, x = make(Conv2D, 3, 2, "same", (7, 6, 3))
    full = layer.forward(x).copy()
    np.testing.assert_allclose(layer.forward(x[:2]), full[:2], rtol=1e-12)
    np.testing.assert_allclose(layer.forward(x), full, rtol=1e-12)



@pytest.mark.parametrize("shape", [(7, 6), (6, 5, 4)], ids=["1-channel", "4-channel"])
def test_bias_folded_into_the_product_equals_a_separate_bias(shape):
    # A shared bias rides in the kernel's product as a row [w; b] when it follows the kernel in
    # memory; with the two apart, the layer adds b in a pass of its own. Same numbers both ways.
    folded, x = make(Conv2D, 3, 1, "valid", shape, activation="relu")
    apart, _ = make(Conv2D, 3, 1, "valid", shape, activation="relu")
    apart.params = {key: value.copy() for key, value in folded.params.items()}
    apart.grads = {key: np.zeros_like(value) for key, value in folded.params.items()}
    apart._wb = conv_module._kernel_and_bias(apart.params)   # what attach finds for this layout: kernel, bias apart
    delta = np.random.default_rng(7).standard_normal((3,) + folded.output_shape)
    a = folded.forward(x).copy()
    s = folded.backward(delta).copy()
    np.testing.assert_allclose(apart.forward(x), a, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(apart.backward(delta), s, rtol=1e-12, atol=1e-12)
    for key in folded.grads:
        np.testing.assert_allclose(apart.grads[key], folded.grads[key], rtol=1e-12, atol=1e-12)
    assert folded._wb is not None and apart._wb is None          # both paths were taken
    np.testing.assert_allclose(folded.grads["bias"], (delta * (a > 0)).sum(axis=(0, 1, 2)), rtol=1e-12)


@pytest.mark.parametrize("shape", [(7, 6), (6, 5, 4)], ids=["1-channel", "4-channel"])
def test_larger_batch_after_smaller_gets_a_fresh_column_of_ones(shape):
    layer, x = make(Conv2D, 3, 1, "valid", shape)
    x = np.concatenate([x, x[::-1]])
    kernels = np.broadcast_to(layer.params["kernel"], layer.output_shape[:2] + layer.params["kernel"].shape)
    expected = reference(x, kernels, full_bias(layer), layer.kernel_size, layer.strides, "valid")
    for n in (2, 6, 3, 6):                              # new buffer, reused, then the first one again
        np.testing.assert_allclose(layer.forward(x[:n]), expected[:n], rtol=1e-12, atol=1e-12)

def test_shapes_and_parameter_counts_match_keras():
    conv = Conv2D(32, 3)
    assert conv.setup((28, 28, 1)) == (26, 26, 32) and conv.count_params() == 320
    assert conv.params["kernel"].shape == (3, 3, 1, 32)
    conv = Conv2D(64, 3)
    assert conv.setup((13, 13, 32)) == (11, 11, 64) and conv.count_params() == 18_496
    assert Conv2D(8, (3, 5), strides=(2, 1), padding="same").setup((28, 28)) == (14, 28, 8)
    local = LocallyConnected2D(3, 3)
    assert local.setup((5, 5, 2)) == (3, 3, 3)
    assert local.params["kernel"].shape == (9, 18, 3) and local.params["bias"].shape == (3, 3, 3)


def test_esl_table_11_1_weights_and_links():
    # ESL §11.7, 16×16 input: Net-3 layers 640 + 416 links, all distinct weights.
    net3_1, net3_2 = LocallyConnected2D(1, 3, 2, "same"), LocallyConnected2D(1, 5, 2, "same")
    assert net3_1.setup((16, 16)) == (8, 8, 1) and net3_2.setup((8, 8, 1)) == (4, 4, 1)
    assert (net3_1.count_params(), net3_1.count_links()) == (640, 640)
    assert (net3_2.count_params(), net3_2.count_links()) == (416, 416)
    # Net-4: two shared 3×3 maps with a bias per unit: 146 weights, 1280 links.
    net4_1 = Conv2D(2, 3, 2, "same", bias="per_unit")
    assert net4_1.setup((16, 16)) == (8, 8, 2)
    assert (net4_1.count_params(), net4_1.count_links()) == (146, 1280)
    assert LocallyConnected2D(1, 5, 2, "same").setup((8, 8, 2)) == (4, 4, 1)
    # Net-5: then four shared 5×5 maps over both 8×8 maps: 264 weights, 3264 links.
    net5_2 = Conv2D(4, 5, 2, "same", bias="per_unit")
    net5_2.setup((8, 8, 2))
    assert (net5_2.count_params(), net5_2.count_links()) == (264, 3264)


@pytest.mark.parametrize("cls", [Conv2D, LocallyConnected2D])
def test_config_round_trip(cls):
    layer = cls(3, (2, 3), strides=(1, 2), padding="SAME", activation="tanh", use_bias=False)
    config = layer.get_config()
    assert config["padding"] == "same" and config["kernel_size"] == [2, 3]
    assert cls.from_config(config).get_config() == config
    assert layers.get(cls.__name__) is cls


@pytest.mark.parametrize("cls", [Conv2D, LocallyConnected2D])
@pytest.mark.parametrize("kwargs, message", [
    ({"kernel_size": 0}, "expected kernel_size a positive integer or a pair"),
    ({"kernel_size": (3,)}, "expected kernel_size"),
    ({"kernel_size": (3, 0)}, "expected kernel_size"),
    ({"kernel_size": "3"}, "expected kernel_size"),
    ({"kernel_size": 2.5}, "expected kernel_size"),
    ({"kernel_size": 3, "strides": (1, 2, 3)}, "expected strides"),
    ({"kernel_size": 3, "strides": 0}, "expected strides"),
    ({"kernel_size": 3, "padding": "full"}, r"expected padding 'valid' or 'same', got 'full'"),
    ({"kernel_size": 3, "padding": None}, "expected padding"),
])
def test_bad_arguments_are_refused(cls, kwargs, message):
    with pytest.raises(ValueError, match=rf"{cls.__name__}: {message}"):
        cls(2, **kwargs)


def test_bad_bias_and_filters_are_refused():
    with pytest.raises(ValueError, match=r"Conv2D: expected bias 'shared' or 'per_unit', got 'none'\."):
        Conv2D(2, 3, bias="none")
    with pytest.raises(ValueError, match="Conv2D: expected filters >= 1"):
        Conv2D(0, 3)


@pytest.mark.parametrize("cls", [Conv2D, LocallyConnected2D])
def test_bad_inputs_are_refused(cls):
    with pytest.raises(ValueError, match=rf"{cls.__name__}: expected input of at least 5×5 pixels .* "
                                         r"got input shape \(4, 6, 1\)"):
        cls(2, 5).setup((4, 6, 1))
    with pytest.raises(ValueError, match=rf"{cls.__name__}: expected per-example input of shape \(height, "
                                         r"width, channels\) or \(height, width\), got input shape \(784,\)"):
        cls(2, 3).setup((784,))
    layer = cls(2, 3)
    layer.setup((6, 6, 1))
    with pytest.raises(ValueError, match=r"expected input of shape \(n, 6, 6, 1\), "
                                         r"got array of shape \(2, 6, 6, 3\)"):
        layer.forward(np.zeros((2, 6, 6, 3), np.float32))
    # 'same' padding accepts images smaller than the kernel.
    assert cls(2, 5, padding="same").setup((3, 3, 1)) == (3, 3, 2)


@pytest.mark.parametrize("activation", ["relu", "tanh", "elu", "gelu", "relu6"])
@pytest.mark.parametrize("shape", [(6, 5, 1), (6, 5, 4)], ids=["1-channel", "4-channel"])
def test_activation_on_pieces_gives_the_bits_of_a_whole_pass(activation, shape, monkeypatch):
    # An element-wise σ (and σ') runs on each piece of z as it is made (Conv2D._by_pieces):
    # the same bits as one pass over the whole batch, which the layer runs otherwise.
    monkeypatch.setattr(parallel, "PIECE_BYTES", 1)
    act = layers.ReLU(max_value=6.0).activation if activation == "relu6" else activation
    results = []
    for pieces in (True, False):
        layer = Conv2D(3, 3, padding="same", activation=act)
        rng = np.random.default_rng(6)
        layer.setup(shape, rng=rng, dtype=np.float32)
        assert layer._by_pieces(layer.record(None))
        if not pieces:
            monkeypatch.setattr(layer, "_by_pieces", lambda call: False)
        x = rng.standard_normal((4,) + shape).astype(np.float32) * 4
        delta = rng.standard_normal((4,) + layer.output_shape).astype(np.float32)
        a = layer.forward(x).copy()
        results.append((a, layer.backward(delta).copy(), layer.grads["kernel"].copy(), layer.grads["bias"].copy()))
    for got, expected in zip(*results):
        np.testing.assert_array_equal(got, expected)
