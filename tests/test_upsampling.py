"""UpSampling2D (nearest, bilinear) and UpSampling1D: loops, PyTorch, gradients, records, models, arguments."""
import numpy as np
import pytest

from netfit import layers
from netfit.gradcheck import check_layer
from netfit.layers import UpSampling1D, UpSampling2D

import layer_checks

# (size, per-example input shape)
GEOMETRIES = [((2, 2), (3, 4, 2)), ((3, 1), (2, 3, 1)), ((1, 3), (4, 2, 3)), ((2, 3), (1, 2, 2)), (4, (2, 2)),
              ((1, 1), (3, 3, 1))]
IDS = [f"f{f}-{'x'.join(map(str, shape))}" for f, shape in GEOMETRIES]
KINDS = ["nearest", "bilinear"]


def bilinear_reference(x, fh, fw):
    """Slow and obvious: each output pixel's centre in input pixels, clamped, the 2×2 neighbours mixed."""
    n, h, w = x.shape[:3]
    a = np.zeros((n, h * fh, w * fw) + x.shape[3:])

    def source(o, f, size):
        c = min(max((o + 0.5) / f - 0.5, 0.0), size - 1)      # clamped as PyTorch, TF and JAX do when enlarging
        lo = int(np.floor(c))
        return lo, min(lo + 1, size - 1), c - lo

    for i in range(h * fh):
        r0, r1, tr = source(i, fh, h)
        for j in range(w * fw):
            c0, c1, tc = source(j, fw, w)
            a[:, i, j] = ((1 - tr) * ((1 - tc) * x[:, r0, c0] + tc * x[:, r0, c1])
                          + tr * ((1 - tc) * x[:, r1, c0] + tc * x[:, r1, c1]))
    return a


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("size, shape", GEOMETRIES, ids=IDS)
def test_forward_matches_loops(size, shape, kind):
    layer = UpSampling2D(size, interpolation=kind)
    layer.setup(shape)
    (fh, fw) = layer.size
    x = np.random.default_rng(0).standard_normal((3,) + shape)
    expected = x.repeat(fh, axis=1).repeat(fw, axis=2) if kind == "nearest" else bilinear_reference(x, fh, fw)
    assert layer.output_shape == expected.shape[1:]
    np.testing.assert_allclose(layer.forward(x), expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("size, shape", GEOMETRIES, ids=IDS)
def test_gradients(size, shape, kind):
    errors = check_layer(UpSampling2D(size, interpolation=kind), shape, batch=2)
    assert max(errors.values()) < 1e-7, errors


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("size, shape", [g for g in GEOMETRIES if len(g[1]) == 3],
                         ids=[i for g, i in zip(GEOMETRIES, IDS) if len(g[1]) == 3])
def test_forward_and_backward_match_torch(size, shape, kind):
    torch = pytest.importorskip("torch")
    layer = UpSampling2D(size, interpolation=kind)
    layer.setup(shape, dtype=np.float64)
    options = {"mode": kind} if kind == "nearest" else {"mode": "bilinear", "align_corners": False}

    def up(x_t, params):                                   # torch: (n, C, H, W)
        a = torch.nn.functional.interpolate(x_t.permute(0, 3, 1, 2), scale_factor=layer.size, **options)
        return a.permute(0, 2, 3, 1)

    layer_checks.against_torch(layer, np.random.default_rng(1).standard_normal((3,) + shape), up)


def test_bilinear_keeps_a_linear_ramp_away_from_the_edges():
    layer = UpSampling2D((1, 4), interpolation="bilinear")
    layer.setup((1, 5))
    a = layer.forward(np.arange(5.0).reshape(1, 1, 5))[0, 0]
    centres = (np.arange(20) + 0.5) / 4 - 0.5                 # where each output pixel sits in input pixels
    np.testing.assert_allclose(a, np.clip(centres, 0, 4), rtol=1e-12)


@pytest.mark.parametrize("size, shape", [(3, (4, 2)), ((2,), (3, 1)), (1, (2, 3))])
def test_upsampling1d_repeats_steps_and_matches_torch(size, shape):
    torch = pytest.importorskip("torch")
    layer = UpSampling1D(size)
    layer.setup(shape, dtype=np.float64)
    x = np.random.default_rng(0).standard_normal((3,) + shape)
    np.testing.assert_array_equal(layer.forward(x), x.repeat(layer.size, axis=1))
    assert max(check_layer(UpSampling1D(size), shape, batch=2).values()) < 1e-7
    layer_checks.against_torch(layer, x, lambda x_t, params: torch.nn.functional.interpolate(
        x_t.permute(0, 2, 1), scale_factor=layer.size, mode="nearest").permute(0, 2, 1))


@pytest.mark.parametrize("make, shape", [(lambda: UpSampling2D(2, interpolation="bilinear"), (3, 2, 2)),
                                         (lambda: UpSampling2D((2, 3)), (3, 2, 2)), (lambda: UpSampling1D(2), (4, 2))])
def test_two_records_alternate(make, shape):
    layer = layer_checks.setup64(make(), shape)
    x = np.random.default_rng(0).standard_normal((3,) + shape)
    layer_checks.records_alternate(layer, x, x[:2] + 1.0)


def test_integer_images_and_float32():
    nearest, bilinear = UpSampling2D(2), UpSampling2D(2, interpolation="bilinear")
    nearest.setup((2, 2, 1)), bilinear.setup((2, 2, 1))
    x = np.arange(4, dtype=np.uint8).reshape(1, 2, 2, 1)
    assert nearest.forward(x).dtype == np.uint8                   # repeating needs no arithmetic
    assert bilinear.forward(x).dtype == np.float32                # mixing does: the default float type
    a = bilinear.forward(x.astype(np.float32))
    assert bilinear.backward(np.ones_like(a)).dtype == np.float32


def test_in_a_sequential_trains_saves_and_loads(tmp_path):
    make_layers = lambda: [layers.Conv2D(3, 3, activation="relu"), UpSampling2D(2, interpolation="bilinear"),
                           UpSampling2D((1, 2))]
    layer_checks.trains_saves_loads(make_layers, (5, 5, 1), tmp_path)
    layer_checks.trains_saves_loads(lambda: [layers.Conv1D(3, 2), UpSampling1D(3)], (6, 2), tmp_path)


def test_on_the_fake_gpu():
    layer_checks.same_on_fake_gpu(lambda: [layers.Conv2D(3, 3, activation="relu"), UpSampling2D(2, interpolation="bilinear"),
                                           UpSampling2D((1, 2))], (5, 5, 1))
    layer_checks.same_on_fake_gpu(lambda: [layers.Conv1D(3, 2), UpSampling1D(3)], (6, 2))


@pytest.mark.parametrize("layer", [UpSampling2D((2, 3), interpolation="BILINEAR"), UpSampling1D(4)])
def test_config_round_trip(layer):
    config = layer.get_config()
    assert layers.get(type(layer).__name__).from_config(config).get_config() == config


@pytest.mark.parametrize("kwargs, error, message", [
    ({"size": 0}, ValueError, r"UpSampling2D: expected size a positive integer or a pair of them, got 0"),
    ({"size": (2, 2, 2)}, ValueError, r"expected size a positive integer or a pair"),
    ({"interpolation": "bicubic"}, ValueError, r"expected interpolation 'nearest' or 'bilinear', got 'bicubic'"),
    ({"interpolation": "lanczos3"}, ValueError, r"got 'lanczos3'"),
    ({"data_format": "channels_first"}, ValueError, r"channels-last only"),
])
def test_bad_arguments_are_refused(kwargs, error, message):
    with pytest.raises(error, match=message):
        UpSampling2D(**kwargs)


def test_bad_inputs_are_refused():
    with pytest.raises(ValueError, match=r"UpSampling1D: expected size a positive integer or a tuple of one"):
        UpSampling1D((2, 2))
    with pytest.raises(ValueError, match=r"UpSampling2D: expected per-example input of shape \(height, width, "
                                         r"channels\) or \(height, width\), got input shape \(4,\)"):
        UpSampling2D().setup((4,))
    with pytest.raises(ValueError, match=r"UpSampling1D: expected per-example input of shape \(steps, channels\)"):
        UpSampling1D().setup((4, 4, 1))
