"""Conv2DTranspose and Conv1DTranspose: Keras's output sizes, loops, PyTorch, Conv2D's adjoint, gradients, models."""
import numpy as np
import pytest

from netfit import layers
from netfit.gradcheck import check_layer
from netfit.layers import Conv1DTranspose, Conv2D, Conv2DTranspose

import layer_checks

# (kernel_size, strides, padding, output_padding, per-example input shape (H, W, C))
GEOMETRIES = [
    (3, 1, "valid", None, (4, 5, 2)),
    (3, 2, "valid", None, (4, 3, 3)),
    (2, 2, "valid", None, (3, 3, 1)),       # patches side by side: a learned nearest up-sampling
    (2, 3, "valid", None, (3, 2, 2)),       # stride > kernel: output_padding None adds a zero row
    (3, 2, "valid", 1, (3, 4, 2)),
    (3, 2, "same", None, (4, 3, 2)),        # the full output cut by one at the bottom/right
    (4, 2, "same", None, (3, 3, 1)),        # cut by one on each side
    (5, 1, "same", None, (4, 4, 2)),
    (1, 2, "same", None, (3, 2, 2)),        # kernel < stride: zeros added after the full output
    (3, 3, "same", 1, (3, 3, 1)),
    (4, 2, "same", 0, (3, 3, 2)),
    ((3, 2), (2, 1), "same", (1, 0), (4, 3, 2)),
]
IDS = [f"k{k}-s{s}-{p}-op{o}-{'x'.join(map(str, shape))}" for k, s, p, o, shape in GEOMETRIES]


def _two(v):
    return tuple(v) if isinstance(v, tuple) else (v, v)


def keras_output_length(size, k, s, padding, op):
    """Keras 3's backend_utils._get_output_shape_given_tf_padding (dilation 1), as written there."""
    if padding == "valid":
        return (size - 1) * s + k + (max(k, s) - k if op is None else op)
    return size * s if op is None else (size - 1) * s + k % 2 + op


def keras_crop(size, k, s, padding, op):
    """(cut at the start, cut at the end) of the full output, from Keras 3's JAX padding rule.

    _convert_conv_transpose_padding_args_from_keras_to_jax gives the left and right
    padding of the stride-dilated input; the full output corresponds to k − 1 each side.
    """
    if padding == "valid":
        left, right = k - 1, k - 1 + (max(k, s) - k if op is None else op)
    else:
        pad = s + k - 2 if op is None else k + k % 2 - 2 + op
        left = min(pad // 2 + pad % 2, k - 1)
        right = pad - left
    return k - 1 - left, k - 1 - right


def cut(full, crops):
    """The full output (n, H', W', f) cut by crops per axis; a negative end cut adds zeros."""
    for axis, (start, end) in zip((1, 2), crops):
        full = np.moveaxis(full, axis, 0)
        full = full[start:len(full) - max(end, 0)]
        if end < 0:
            full = np.concatenate([full, np.zeros((-end,) + full.shape[1:])])
        full = np.moveaxis(full, 0, axis)
    return full


def reference(x, kernel, bias, k, s, padding, op):
    """Slow and obvious: full[p·sh + u, q·sw + v, f] += Σ_c x[p, q, c] w[u, v, f, c], then cut as Keras does."""
    (kh, kw), (sh, sw), ops = _two(k), _two(s), _two(op) if op is not None else (None, None)
    n, h, w, _ = x.shape
    f = kernel.shape[2]
    full = np.zeros((n, (h - 1) * sh + kh, (w - 1) * sw + kw, f))
    for i in range(n):
        for p in range(h):
            for q in range(w):
                for u in range(kh):
                    for v in range(kw):
                        full[i, p * sh + u, q * sw + v] += kernel[u, v] @ x[i, p, q]
    crops = [keras_crop(size, kk, ss, padding, o) for size, kk, ss, o in zip((h, w), (kh, kw), (sh, sw), ops)]
    return cut(full, crops) + bias


def make(k, s, padding, op, shape, **kwargs):
    layer = Conv2DTranspose(3, k, strides=s, padding=padding, output_padding=op, **kwargs)
    layer = layer_checks.setup64(layer, shape)
    return layer, np.random.default_rng(1).standard_normal((3,) + shape)


@pytest.mark.parametrize("k, s, padding, op, shape", GEOMETRIES, ids=IDS)
def test_output_shape_is_keras(k, s, padding, op, shape):
    layer, _ = make(k, s, padding, op, shape)
    ops = _two(op) if op is not None else (None, None)
    assert layer.output_shape == tuple(keras_output_length(size, kk, ss, padding, o) for size, kk, ss, o in
                                       zip(shape[:2], _two(k), _two(s), ops)) + (3,)
    assert layer.params["kernel"].shape == _two(k) + (3, shape[2])           # Keras's (kh, kw, f, c_in)


@pytest.mark.parametrize("k, s, padding, op, shape", GEOMETRIES, ids=IDS)
def test_forward_matches_loops(k, s, padding, op, shape):
    layer, x = make(k, s, padding, op, shape)
    expected = reference(x, layer.params["kernel"], layer.params["bias"], k, s, padding, op)
    np.testing.assert_allclose(layer.forward(x), expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("k, s, padding, op, shape", GEOMETRIES, ids=IDS)
def test_gradients(k, s, padding, op, shape):
    errors = check_layer(Conv2DTranspose(2, k, strides=s, padding=padding, output_padding=op, activation="tanh"),
                         shape, batch=2)
    assert max(errors.values()) < 1e-7, errors


@pytest.mark.parametrize("k, s, padding, op, shape", GEOMETRIES, ids=IDS)
def test_forward_and_backward_match_torch(k, s, padding, op, shape):
    torch = pytest.importorskip("torch")
    layer, x = make(k, s, padding, op, shape, activation="tanh")
    (kh, kw), (sh, sw), ops = _two(k), _two(s), _two(op) if op is not None else (None, None)
    crops = [keras_crop(size, kk, ss, padding, o) for size, kk, ss, o in zip(shape[:2], (kh, kw), (sh, sw), ops)]

    def conv_transpose(x_t, p):       # torch: (n, C, H, W), weight (c_in, f, kh, kw); its full output, then cut
        full = torch.nn.functional.conv_transpose2d(x_t.permute(0, 3, 1, 2), p["kernel"].permute(3, 2, 0, 1).contiguous(),
                                                    stride=(sh, sw))
        (top, bottom), (left, right) = crops
        full = torch.nn.functional.pad(full, (-left, -right, -top, -bottom))      # negative: cut, positive: zeros
        return torch.tanh(full + p["bias"][:, None, None]).permute(0, 2, 3, 1)

    layer_checks.against_torch(layer, x, conv_transpose)


@pytest.mark.parametrize("k, s, shape", [(3, 2, (4, 3, 2)), (4, 2, (3, 3, 1)), (3, 1, (5, 4, 3)), (2, 3, (3, 2, 2))])
def test_same_padding_is_the_adjoint_of_a_same_conv2d(k, s, shape):
    """⟨convT(x), y⟩ = ⟨x, conv(y)⟩: TensorFlow defines a "same" transposed conv as a "same" Conv2D's input gradient."""
    up = Conv2DTranspose(4, k, strides=s, padding="same", use_bias=False)
    up.setup(shape, rng=np.random.default_rng(0), dtype=np.float64)
    down = Conv2D(shape[2], k, strides=s, padding="same", use_bias=False)
    down.setup(up.output_shape, dtype=np.float64)
    down.set_weights(up.get_weights())          # one kernel (kh, kw, f, c): the conv maps f channels to c
    rng = np.random.default_rng(1)
    x, y = rng.standard_normal((2,) + shape), rng.standard_normal((2,) + up.output_shape)
    assert down.output_shape == shape
    np.testing.assert_allclose(np.sum(up.forward(x) * y), np.sum(x * down.forward(y)), rtol=1e-12)


def test_two_records_alternate():
    layer, x = make(3, 2, "same", None, (4, 3, 2), activation="relu")
    layer_checks.records_alternate(layer, x, x[:2] * 2.0)


def test_input_gradient_is_skipped_for_the_first_layer():
    layer, x = make(3, 2, "valid", None, (3, 3, 2))
    first = layer.new_call(need_input_grad=False)
    layer.forward(x, call=first)
    assert layer.backward(np.ones((3,) + layer.output_shape), first) is None
    assert np.count_nonzero(layer.grads["kernel"])


def test_float32_stays_float32_and_integer_images_work():
    layer = Conv2DTranspose(2, 3, strides=2, padding="same")
    layer.setup((4, 4, 1), rng=np.random.default_rng(0))
    a = layer.forward(np.ones((2, 4, 4, 1), np.uint8))
    assert a.dtype == layer.backward(np.ones_like(a)).dtype == np.float32


def test_in_a_sequential_trains_saves_and_loads(tmp_path):
    layer_checks.trains_saves_loads(lambda: [Conv2DTranspose(3, 3, strides=2, padding="same", activation="relu"),
                                             Conv2DTranspose(1, 2, output_padding=None)], (4, 4, 2), tmp_path)


def test_on_the_fake_gpu():
    layer_checks.same_on_fake_gpu(lambda: [Conv2DTranspose(3, 3, strides=2, padding="same", activation="relu"),
                                           Conv2DTranspose(1, 2, strides=(1, 2), output_padding=(0, 1))], (4, 4, 2))


# -- Conv1DTranspose: Conv2DTranspose on one-row images -------------------------------------------

GEOMETRIES_1D = [(3, 2, "valid", None, (10, 4)), (3, 2, "same", None, (5, 2)), (4, 3, "same", 2, (4, 3)),
                 (1, 2, "same", None, (3, 1)), (2, 2, "valid", 1, (4, 2))]
IDS_1D = [f"k{k}-s{s}-{p}-op{o}-{'x'.join(map(str, shape))}" for k, s, p, o, shape in GEOMETRIES_1D]


@pytest.mark.parametrize("k, s, padding, op, shape", GEOMETRIES_1D, ids=IDS_1D)
def test_conv1d_transpose_matches_torch_and_keras_lengths(k, s, padding, op, shape):
    torch = pytest.importorskip("torch")
    layer = layer_checks.setup64(Conv1DTranspose(3, k, s, padding, op, activation="sigmoid"), shape)
    assert layer.output_shape == (keras_output_length(shape[0], k, s, padding, op), 3)
    assert layer.params["kernel"].shape == (k, 3, shape[1])                   # Keras's (k, f, c_in)
    start, end = keras_crop(shape[0], k, s, padding, op)

    def conv_transpose(x_t, p):
        full = torch.nn.functional.conv_transpose1d(x_t.permute(0, 2, 1), p["kernel"].permute(2, 1, 0).contiguous(), stride=s)
        full = torch.nn.functional.pad(full, (-start, -end))
        return torch.sigmoid(full + p["bias"][:, None]).permute(0, 2, 1)

    layer_checks.against_torch(layer, np.random.default_rng(2).standard_normal((3,) + shape), conv_transpose)


@pytest.mark.parametrize("k, s, padding, op, shape", GEOMETRIES_1D, ids=IDS_1D)
def test_conv1d_transpose_gradients(k, s, padding, op, shape):
    errors = check_layer(Conv1DTranspose(2, k, s, padding, op, activation="tanh"), shape, batch=2)
    assert max(errors.values()) < 1e-7, errors


def test_conv1d_transpose_records_model_and_fake_gpu(tmp_path):
    layer = layer_checks.setup64(Conv1DTranspose(3, 3, 2, "same", activation="relu"), (5, 2))
    x = np.random.default_rng(0).standard_normal((3, 5, 2))
    layer_checks.records_alternate(layer, x, x[:1] - 1.0)
    make_layers = lambda: [Conv1DTranspose(3, 3, 2, "same", activation="relu"), Conv1DTranspose(1, 2)]
    layer_checks.trains_saves_loads(make_layers, (6, 2), tmp_path)
    layer_checks.same_on_fake_gpu(make_layers, (6, 2))


@pytest.mark.parametrize("cls", [Conv2DTranspose, Conv1DTranspose])
def test_config_round_trip(cls):
    layer = cls(5, 3, strides=2, padding="SAME", output_padding=1, activation="relu", use_bias=False)
    config = layer.get_config()
    assert config["padding"] == "same" and config["output_padding"] in ([1], [1, 1])
    assert layers.get(cls.__name__).from_config(config).get_config() == config


@pytest.mark.parametrize("cls", [Conv2DTranspose, Conv1DTranspose])
@pytest.mark.parametrize("kwargs, message", [
    ({"filters": 0}, r"expected filters >= 1, got 0"),
    ({"kernel_size": "3"}, r"expected kernel_size a positive integer or a "),
    ({"strides": -1}, r"expected strides a positive integer"),
    ({"padding": "causal"}, r"expected padding 'valid' or 'same', got 'causal'"),
    ({"strides": 2, "output_padding": 2}, r"expected output_padding smaller than strides 2, got 2"),
    ({"output_padding": -1}, r"expected output_padding an integer >= 0 or a tuple"),
    ({"data_format": "channels_first"}, r"channels-last only"),
    ({"dilation_rate": (2,) * 2}, r"dilation_rate"),
])
def test_bad_arguments_are_refused(cls, kwargs, message):
    with pytest.raises(ValueError, match=f"{cls.__name__}: {message}" if "filters" in kwargs else message):
        cls(**{"filters": 2, "kernel_size": 3, **kwargs})


def test_bad_input_shapes_are_refused():
    with pytest.raises(ValueError, match=r"Conv2DTranspose: expected per-example input of shape \(height, width, "
                                         r"channels\), got input shape \(4, 4\)"):
        Conv2DTranspose(2, 3).setup((4, 4))
    with pytest.raises(ValueError, match=r"Conv1DTranspose: expected per-example input of shape \(steps, channels\)"):
        Conv1DTranspose(2, 3).setup((4, 4, 1))
    layer = Conv2DTranspose(2, 3)
    layer.setup((3, 3, 2))
    with pytest.raises(ValueError, match=r"Conv2DTranspose: expected input of shape \(n, 3, 3, 2\)"):
        layer.forward(np.ones((1, 3, 3, 1)))
