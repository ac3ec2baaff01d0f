"""1-D pooling (MaxPooling1D, AveragePooling1D, the global ones): loops, PyTorch, gradients, records, models."""
import math

import numpy as np
import pytest

from netfit import layers
from netfit.gradcheck import check_layer
from netfit.layers import AveragePooling1D, GlobalAveragePooling1D, GlobalMaxPooling1D, MaxPooling1D

import layer_checks

# (pool_size, strides, padding, per-example input shape (steps, channels))
GEOMETRIES = [
    (2, None, "valid", (8, 3)),          # windows side by side
    (2, None, "valid", (7, 2)),          # the last step left out
    (3, 2, "valid", (9, 2)),             # overlapping windows
    (2, 1, "same", (5, 2)),              # padded at the end
    (3, None, "same", (7, 1)),           # padded at both ends
    (4, 3, "same", (10, 2)),
]
IDS = [f"p{p}-s{s}-{pad}-{'x'.join(map(str, shape))}" for p, s, pad, shape in GEOMETRIES]
POOLS = {"max": MaxPooling1D, "average": AveragePooling1D}


def reference(x, p, s, padding, kind):
    """Slow and obvious: each window, cut to the real steps, reduced by max or mean."""
    steps = x.shape[1]
    if padding == "valid":
        out, before = (steps - p) // s + 1, 0
    else:
        out = math.ceil(steps / s)
        before = max((out - 1) * s + p - steps, 0) // 2
    reduce = np.max if kind == "max" else np.mean
    a = np.zeros((len(x), out, x.shape[2]))
    for i in range(len(x)):
        for t in range(out):
            start = t * s - before
            a[i, t] = reduce(x[i, max(start, 0):min(start + p, steps)], axis=0)
    return a


@pytest.mark.parametrize("kind", POOLS)
@pytest.mark.parametrize("p, s, padding, shape", GEOMETRIES, ids=IDS)
def test_forward_matches_loops(p, s, padding, shape, kind):
    layer = POOLS[kind](p, s, padding)
    layer.setup(shape)
    x = np.random.default_rng(0).standard_normal((3,) + shape)
    expected = reference(x, p, s or p, padding, kind)
    assert layer.output_shape == expected.shape[1:]
    np.testing.assert_allclose(layer.forward(x), expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("kind", POOLS)
@pytest.mark.parametrize("p, s, padding, shape", GEOMETRIES, ids=IDS)
def test_gradients(p, s, padding, shape, kind):
    errors = check_layer(POOLS[kind](p, s, padding), shape, batch=2)
    assert max(errors.values()) < 1e-6, errors


@pytest.mark.parametrize("kind", POOLS)
@pytest.mark.parametrize("p, s, padding, shape", GEOMETRIES, ids=IDS)
def test_forward_and_backward_match_torch(p, s, padding, shape, kind):
    torch = pytest.importorskip("torch")
    layer = POOLS[kind](p, s, padding)
    layer.setup(shape, dtype=np.float64)
    stride = s or p
    if padding == "valid":
        pads = (0, 0)
    else:
        total = max((math.ceil(shape[0] / stride) - 1) * stride + p - shape[0], 0)
        pads = (total // 2, total - total // 2)
    F = torch.nn.functional

    def pool(x_t, params):                                 # torch: (n, C, L); "same" padded by hand, as Keras pads
        x_t = x_t.permute(0, 2, 1)
        if kind == "max":
            a = F.max_pool1d(F.pad(x_t, pads, value=-math.inf), p, stride)
        else:                                              # the mean over real steps: window sums / window counts
            a = F.avg_pool1d(F.pad(x_t, pads), p, stride) / F.avg_pool1d(F.pad(torch.ones_like(x_t), pads), p, stride)
        return a.permute(0, 2, 1)

    layer_checks.against_torch(layer, np.random.default_rng(1).standard_normal((3,) + shape), pool)


def test_max_pooling_ties_go_to_the_first_step():
    layer = MaxPooling1D(2)
    layer.setup((4, 1))
    layer.forward(np.array([[[1.0], [1.0], [0.0], [2.0]]]), training=True)
    np.testing.assert_array_equal(layer.backward(np.array([[[3.0], [5.0]]]))[0, :, 0], [3, 0, 0, 5])


@pytest.mark.parametrize("cls, reduce", [(GlobalAveragePooling1D, np.mean), (GlobalMaxPooling1D, np.max)])
@pytest.mark.parametrize("keepdims", [False, True])
def test_global_pooling_forward_gradients_and_torch(cls, reduce, keepdims):
    torch = pytest.importorskip("torch")
    layer = cls(keepdims=keepdims)
    layer.setup((5, 3), dtype=np.float64)
    assert layer.output_shape == ((1, 3) if keepdims else (3,))
    x = np.random.default_rng(0).standard_normal((4, 5, 3))
    np.testing.assert_allclose(layer.forward(x), reduce(x, axis=1, keepdims=keepdims), rtol=1e-12)
    errors = check_layer(cls(keepdims=keepdims), (5, 3), batch=2)
    assert max(errors.values()) < 1e-6, errors
    torch_reduce = torch.mean if cls is GlobalAveragePooling1D else torch.amax
    layer_checks.against_torch(layer, x, lambda x_t, params: torch_reduce(x_t, dim=1, keepdim=keepdims))


@pytest.mark.parametrize("make", [lambda: MaxPooling1D(3, 2, "same"), lambda: AveragePooling1D(2, 1),
                                  lambda: GlobalMaxPooling1D(keepdims=True), lambda: GlobalAveragePooling1D()])
def test_two_records_alternate(make):
    layer = layer_checks.setup64(make(), (7, 2))
    x = np.random.default_rng(0).standard_normal((3, 7, 2))
    layer_checks.records_alternate(layer, x, x[:2] * -1.0)


def test_in_a_sequential_trains_saves_and_loads(tmp_path):
    make_layers = lambda: [layers.Conv1D(4, 3, activation="relu"), MaxPooling1D(2, padding="same"),
                           AveragePooling1D(2, 1), GlobalMaxPooling1D(keepdims=True)]
    layer_checks.trains_saves_loads(make_layers, (12, 2), tmp_path)
    layer_checks.trains_saves_loads(lambda: [layers.Conv1D(4, 3), GlobalAveragePooling1D()], (12, 2), tmp_path)


def test_on_the_fake_gpu():
    layer_checks.same_on_fake_gpu(lambda: [layers.Conv1D(4, 3, activation="relu"), MaxPooling1D(2, padding="same"),
                                           AveragePooling1D(3, 1, "same"), GlobalAveragePooling1D(keepdims=True)],
                                  (12, 2))
    layer_checks.same_on_fake_gpu(lambda: [layers.Conv1D(4, 3), GlobalMaxPooling1D()], (12, 2))


@pytest.mark.parametrize("layer", [MaxPooling1D(3, 2, "same"), AveragePooling1D((2,)), GlobalMaxPooling1D(keepdims=True),
                                   GlobalAveragePooling1D()])
def test_config_round_trip(layer):
    config = layer.get_config()
    assert layers.get(type(layer).__name__).from_config(config).get_config() == config


@pytest.mark.parametrize("cls", list(POOLS.values()))
@pytest.mark.parametrize("kwargs, message", [
    ({"pool_size": 0}, r"expected pool_size a positive integer or a tuple of one of them, got 0"),
    ({"pool_size": (2, 2)}, r"expected pool_size a positive integer or a tuple of one"),
    ({"strides": 0}, r"expected strides a positive integer"),
    ({"padding": "causal"}, r"expected padding 'valid' or 'same', got 'causal'"),
    ({"data_format": "channels_first"}, r"expected data_format .channels_last. \(netfit is channels-last only\)"),
])
def test_bad_arguments_are_refused(cls, kwargs, message):
    with pytest.raises(ValueError, match=f"{cls.__name__}: {message}"):
        cls(**kwargs)


@pytest.mark.parametrize("cls", [GlobalAveragePooling1D, GlobalMaxPooling1D])
def test_global_pooling_bad_arguments_are_refused(cls):
    with pytest.raises(TypeError, match=f"{cls.__name__}: expected keepdims True or False, got 1"):
        cls(keepdims=1)
    with pytest.raises(ValueError, match="channels-last only"):
        cls(data_format="channels_first")
    with pytest.raises(ValueError, match=r"expected per-example input of shape \(steps, channels\), got input shape "
                                         r"\(4, 4, 1\)"):
        cls().setup((4, 4, 1))


def test_bad_input_shapes_are_refused():
    with pytest.raises(ValueError, match=r"MaxPooling1D: expected at least 4 steps for pool_size 4 with "
                                         r"padding='valid', got 3; use padding='same'"):
        MaxPooling1D(4).setup((3, 2))
    layer = AveragePooling1D(2)
    layer.setup((6, 2))
    with pytest.raises(ValueError, match=r"AveragePooling1D: expected input of shape \(n, 6, 2\)"):
        layer.forward(np.ones((1, 6, 1)))
