"""Conv1D: against a loop reference and PyTorch, finite differences, records, models, Keras's arguments."""
import math

import numpy as np
import pytest

import netfit as nf
from netfit import layers
from netfit.gradcheck import check_layer
from netfit.layers import Conv1D

import layer_checks

# (kernel_size, strides, padding, per-example input shape (steps, channels))
GEOMETRIES = [
    (3, 1, "valid", (9, 2)),
    (3, 2, "valid", (10, 3)),
    (4, 1, "same", (7, 2)),            # even kernel: 1 zero before, 2 after
    (3, 2, "same", (8, 1)),
    (5, 3, "same", (11, 4)),
    (3, 1, "causal", (6, 2)),
    (4, 2, "causal", (9, 3)),
    (1, 1, "valid", (5, 3)),
]
IDS = [f"k{k}-s{s}-{p}-{'x'.join(map(str, shape))}" for k, s, p, shape in GEOMETRIES]


def keras_padding(steps, k, s, padding):
    """Keras's zeros (before, after) and output length: "same" puts the odd zero after, "causal" all before."""
    if padding == "valid":
        return (0, 0), (steps - k) // s + 1
    if padding == "causal":
        return (k - 1, 0), (steps - 1) // s + 1
    out = math.ceil(steps / s)
    total = max((out - 1) * s + k - steps, 0)
    return (total // 2, total - total // 2), out


def reference(x, kernel, bias, s, padding):
    """Slow and obvious: z[i, t, f] = b_f + Σ_uc x_pad[i, t·s + u, c] w[u, c, f]."""
    k = kernel.shape[0]
    pads, out = keras_padding(x.shape[1], k, s, padding)
    xp = np.pad(x, ((0, 0), pads, (0, 0)))
    z = np.zeros((len(x), out, kernel.shape[2]))
    for i in range(len(x)):
        for t in range(out):
            for f in range(kernel.shape[2]):
                z[i, t, f] = bias[f] + np.sum(xp[i, t * s:t * s + k] * kernel[:, :, f])
    return z


def make(k, s, padding, shape, **kwargs):
    layer = layer_checks.setup64(Conv1D(3, k, strides=s, padding=padding, **kwargs), shape)
    return layer, np.random.default_rng(1).standard_normal((4,) + shape)


@pytest.mark.parametrize("k, s, padding, shape", GEOMETRIES, ids=IDS)
def test_forward_matches_loops(k, s, padding, shape):
    layer, x = make(k, s, padding, shape)
    expected = reference(x, layer.params["kernel"], layer.params["bias"], s, padding)
    assert layer.output_shape == expected.shape[1:]
    assert layer.params["kernel"].shape == (k, shape[1], 3)                 # Keras's (k, C, f)
    np.testing.assert_allclose(layer.forward(x), expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("k, s, padding, shape", GEOMETRIES, ids=IDS)
def test_gradients(k, s, padding, shape):
    errors = check_layer(Conv1D(2, k, strides=s, padding=padding, activation="tanh"), shape, batch=2)
    assert max(errors.values()) < 1e-7, errors


@pytest.mark.parametrize("k, s, padding, shape", GEOMETRIES, ids=IDS)
def test_forward_and_backward_match_torch(k, s, padding, shape):
    torch = pytest.importorskip("torch")
    layer, x = make(k, s, padding, shape, activation="tanh")
    pads, _ = keras_padding(shape[0], k, s, padding)

    def conv(x_t, p):                                   # torch: (n, C, L) and weight (f, C, k)
        x_t = torch.nn.functional.pad(x_t.permute(0, 2, 1), pads)
        z = torch.nn.functional.conv1d(x_t, p["kernel"].permute(2, 1, 0), p["bias"], stride=s)
        return torch.tanh(z).permute(0, 2, 1)

    layer_checks.against_torch(layer, x, conv)


def test_causal_output_sees_no_later_step():
    layer, x = make(3, 1, "causal", (6, 2))
    a = layer.forward(x).copy()
    later = x.copy()
    later[:, 4:] += 10.0                                      # change steps 4 and 5 only
    np.testing.assert_array_equal(layer.forward(later)[:, :4], a[:, :4])


def test_two_records_alternate():
    layer, x = make(3, 2, "causal", (9, 3), activation="relu")
    layer_checks.records_alternate(layer, x, x[:2] * 2.0)


def test_input_gradient_is_skipped_for_the_first_layer():
    layer, x = make(3, 1, "same", (7, 2))
    first = layer.new_call(need_input_grad=False)
    layer.forward(x, call=first)
    assert layer.backward(np.ones((4,) + layer.output_shape), first) is None


def test_float32_stays_float32():
    layer = Conv1D(4, 3, padding="causal")
    layer.setup((8, 2), rng=np.random.default_rng(0))
    x = np.ones((3, 8, 2), np.float32)
    a = layer.forward(x)
    assert a.dtype == layer.backward(np.ones_like(a)).dtype == np.float32


def test_shapes_and_parameter_counts_match_keras():
    # keras.layers.Conv1D(32, 3, activation="relu") on (10, 128): (8, 32), 3·128·32 + 32 weights.
    model = nf.Sequential([nf.Input(shape=(10, 128)), Conv1D(32, 3, activation="relu"),
                           Conv1D(8, 5, strides=2, padding="same")])
    model.build()
    assert [layer.output_shape for layer in model.layers] == [(8, 32), (4, 8)]
    assert [layer.count_params() for layer in model.layers] == [12320, 1288]


def test_in_a_sequential_trains_saves_and_loads(tmp_path):
    layer_checks.trains_saves_loads(lambda: [Conv1D(4, 3, padding="causal", activation="relu"),
                                             Conv1D(2, 2, strides=2)], (12, 2), tmp_path)


def test_on_the_fake_gpu():
    layer_checks.same_on_fake_gpu(lambda: [Conv1D(4, 3, padding="causal", activation="relu"),
                                           Conv1D(2, 3, strides=2, padding="same")], (12, 2))


def test_config_round_trip():
    layer = Conv1D(5, (3,), strides=2, padding="CAUSAL", activation="relu", use_bias=False)
    config = layer.get_config()
    assert config["kernel_size"] == [3] and config["padding"] == "causal"
    twin = layers.get("Conv1D").from_config(config)
    assert twin.get_config() == config


@pytest.mark.parametrize("kwargs, error, message", [
    ({"filters": 0}, ValueError, r"Conv1D: expected filters >= 1, got 0"),
    ({"kernel_size": (3, 3)}, ValueError, r"Conv1D: expected kernel_size a positive integer or a tuple of one"),
    ({"strides": 0}, ValueError, r"expected strides a positive integer"),
    ({"padding": "full"}, ValueError, r"expected padding 'valid', 'same' or 'causal', got 'full'"),
    ({"data_format": "channels_first"}, ValueError, r"channels-last only.*np.moveaxis\(x, 1, -1\)"),
    ({"dilation_rate": 2}, ValueError, r"expected dilation_rate 1 \(netfit has no dilated kernels\), got 2"),
    ({"groups": 2}, ValueError, r"expected groups 1 \(netfit has no grouped convolutions\), got 2"),
    ({"activation": "nope"}, ValueError, r"nope"),
])
def test_bad_arguments_are_refused(kwargs, error, message):
    with pytest.raises(error, match=message):
        Conv1D(**{"filters": 2, "kernel_size": 3, **kwargs})


def test_bad_input_shapes_are_refused():
    with pytest.raises(ValueError, match=r"expected per-example input of shape \(steps, channels\), got input "
                                         r"shape \(9,\); put Reshape\(\(9, 1\)\) first"):
        Conv1D(2, 3).setup((9,))
    with pytest.raises(ValueError, match=r"expected at least 5 steps for kernel_size 5 with padding='valid', got 3"):
        Conv1D(2, 5).setup((3, 1))
    layer = Conv1D(2, 3)
    layer.setup((6, 2))
    with pytest.raises(ValueError, match=r"Conv1D: expected input of shape \(n, 6, 2\), got array of shape"):
        layer.forward(np.ones((1, 6, 3)))
