"""Cropping2D, Cropping1D and ZeroPadding1D: slices, PyTorch, gradients, records, models, Keras's arguments."""
import numpy as np
import pytest

from netfit import layers
from netfit.gradcheck import check_layer
from netfit.layers import Cropping1D, Cropping2D, ZeroPadding1D

import layer_checks

# (cropping as given, ((top, bottom), (left, right)), per-example input shape)
CROPS_2D = [(1, ((1, 1), (1, 1)), (4, 5, 2)), ((0, 2), ((0, 0), (2, 2)), (3, 6, 1)),
            (((1, 0), (0, 2)), ((1, 0), (0, 2)), (4, 4)), (((0, 0), (0, 0)), ((0, 0), (0, 0)), (2, 3, 2))]
# (layer, its steps (start, end), per-example input shape)
ONE_D = [(lambda: Cropping1D(), (1, 1), (5, 2)), (lambda: Cropping1D((0, 3)), (0, 3), (4, 1)),
         (lambda: ZeroPadding1D(), (1, 1), (3, 2)), (lambda: ZeroPadding1D((2, 0)), (2, 0), (3, 3))]


def torch_pad(torch, x_t, steps_or_pairs, sign):
    """Channels-first x_t's last axes padded (sign +1) or cropped (−1) by F.pad, which lists the last axis first."""
    pads = []
    for before, after in reversed(steps_or_pairs):
        pads += [sign * before, sign * after]
    return torch.nn.functional.pad(x_t, pads)


@pytest.mark.parametrize("cropping, pairs, shape", CROPS_2D)
def test_cropping2d_is_a_slice_and_matches_torch(cropping, pairs, shape):
    torch = pytest.importorskip("torch")
    layer = Cropping2D(cropping)
    layer.setup(shape, dtype=np.float64)
    assert layer.cropping == pairs
    (t, b), (l, r) = pairs
    x = np.random.default_rng(0).standard_normal((3,) + shape)
    np.testing.assert_array_equal(layer.forward(x), x[:, t:shape[0] - b, l:shape[1] - r])
    assert max(check_layer(Cropping2D(cropping), shape, batch=2).values()) < 1e-7
    if len(shape) == 3:
        layer_checks.against_torch(layer, x, lambda x_t, p: torch_pad(torch, x_t.permute(0, 3, 1, 2), pairs, -1)
                                   .permute(0, 2, 3, 1))


@pytest.mark.parametrize("make, steps, shape", ONE_D)
def test_one_d_borders_match_numpy_and_torch(make, steps, shape):
    torch = pytest.importorskip("torch")
    layer = make()
    layer.setup(shape, dtype=np.float64)
    x = np.random.default_rng(0).standard_normal((3,) + shape)
    if isinstance(layer, Cropping1D):
        expected, sign = x[:, steps[0]:shape[0] - steps[1]], -1
    else:
        expected, sign = np.pad(x, ((0, 0), steps, (0, 0))), 1
    np.testing.assert_array_equal(layer.forward(x), expected)
    assert max(check_layer(make(), shape, batch=2).values()) < 1e-7
    layer_checks.against_torch(layer, x, lambda x_t, p: torch_pad(torch, x_t.permute(0, 2, 1), [steps], sign)
                               .permute(0, 2, 1))


@pytest.mark.parametrize("make, shape", [(lambda: Cropping2D(((1, 0), (0, 1))), (3, 3, 2)),
                                         (lambda: Cropping1D(1), (4, 2)), (lambda: ZeroPadding1D(2), (3, 2))])
def test_two_records_alternate(make, shape):
    layer = layer_checks.setup64(make(), shape)
    x = np.random.default_rng(0).standard_normal((3,) + shape)
    layer_checks.records_alternate(layer, x, x[:1] * 3.0)


def test_cropping_after_padding_gives_back_the_input():
    pad, crop = ZeroPadding1D((2, 1)), Cropping1D((2, 1))
    pad.setup((4, 2)), crop.setup((7, 2))
    x = np.random.default_rng(0).standard_normal((3, 4, 2))
    np.testing.assert_array_equal(crop.forward(pad.forward(x)), x)


def test_in_a_sequential_trains_saves_and_loads(tmp_path):
    layer_checks.trains_saves_loads(lambda: [Cropping2D(((1, 0), (1, 1))), layers.Conv2D(3, 2, activation="relu"),
                                             Cropping2D(1)], (6, 6, 1), tmp_path)
    layer_checks.trains_saves_loads(lambda: [ZeroPadding1D((2, 0)), layers.Conv1D(3, 3, activation="relu"),
                                             Cropping1D((1, 0))], (6, 2), tmp_path)


def test_on_the_fake_gpu():
    layer_checks.same_on_fake_gpu(lambda: [Cropping2D(((1, 0), (1, 1))), layers.Conv2D(3, 2, activation="relu"),
                                           Cropping2D(1)], (6, 6, 1))
    layer_checks.same_on_fake_gpu(lambda: [ZeroPadding1D((2, 0)), layers.Conv1D(3, 3, activation="relu"),
                                           Cropping1D((1, 0))], (6, 2))


@pytest.mark.parametrize("layer", [Cropping2D(((1, 0), (2, 3))), Cropping1D(2), ZeroPadding1D((0, 3))])
def test_config_round_trip(layer):
    config = layer.get_config()
    assert layers.get(type(layer).__name__).from_config(config).get_config() == config


@pytest.mark.parametrize("call, message", [
    (lambda: Cropping2D(-1), r"Cropping2D: expected cropping a non-negative int, a pair of them, or "
                             r"\(\(top, bottom\), \(left, right\)\), got -1"),
    (lambda: Cropping2D((1, 2, 3)), r"Cropping2D: expected cropping"),
    (lambda: Cropping2D(data_format="channels_first"), r"channels-last only"),
    (lambda: Cropping2D(2).setup((4, 6, 1)), r"Cropping2D: expected cropping smaller than the input, got cropping "
                                             r"\(\(2, 2\), \(2, 2\)\) for input shape \(4, 6, 1\)"),
    (lambda: Cropping2D().setup((4,)), r"expected per-example input of shape \(height, width, channels\)"),
    (lambda: Cropping1D(-1), r"Cropping1D: expected cropping an integer >= 0 or a tuple of 2 of them, got -1"),
    (lambda: Cropping1D((1, 2)).setup((3, 1)), r"Cropping1D: expected cropping smaller than the input, got "
                                               r"cropping \(1, 2\) for 3 steps"),
    (lambda: ZeroPadding1D((1, 2, 3)), r"ZeroPadding1D: expected padding an integer >= 0 or a tuple of 2"),
    (lambda: ZeroPadding1D().setup((3, 3, 1)), r"ZeroPadding1D: expected per-example input of shape \(steps, "
                                               r"channels\)"),
])
def test_bad_arguments_are_refused(call, message):
    with pytest.raises(ValueError, match=message):
        call()
