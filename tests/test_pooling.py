"""Pooling layers: against a loop reference, finite differences, tie-breaking, errors."""
import math

import numpy as np
import pytest

from netfit import _kernels, layers, parallel
from netfit.gradcheck import check_layer
from netfit.layers import AveragePooling2D, GlobalAveragePooling2D, MaxPooling2D

# (pool_size, strides, padding, per-example input shape)
GEOMETRIES = [
    (2, None, "valid", (8, 6, 3)),        # windows tile the image
    (2, None, "valid", (7, 5, 2)),        # tile, last row/column left out
    (3, 2, "valid", (9, 9, 2)),           # overlapping windows
    (2, 1, "same", (5, 5, 2)),            # overlapping, padded bottom/right
    (3, None, "same", (7, 8, 1)),         # padded on both sides
    ((2, 3), (1, 2), "same", (6, 7, 2)),
    (2, 2, "same", (5, 5, 1)),            # stride = pool size but padded
    (2, None, "valid", (6, 6)),           # 2-D input
    (3, None, "valid", (6, 9, 2)),        # tile with 3×3 windows
]
IDS = [f"p{k}-s{s}-{p}-{'x'.join(map(str, shape))}" for k, s, p, shape in GEOMETRIES]
POOLS = {"max": MaxPooling2D, "average": AveragePooling2D}


def reference(x, pool_size, strides, padding, kind):
    """Slow and obvious: each window, cut to the real pixels, reduced by max or mean."""
    (kh, kw), (sh, sw) = pool_size, strides
    n, h, w = x.shape[:3]
    if padding == "valid":
        out_h, out_w, top, left = (h - kh) // sh + 1, (w - kw) // sw + 1, 0, 0
    else:
        out_h, out_w = math.ceil(h / sh), math.ceil(w / sw)
        top = max((out_h - 1) * sh + kh - h, 0) // 2
        left = max((out_w - 1) * sw + kw - w, 0) // 2
    reduce = np.max if kind == "max" else np.mean
    a = np.zeros((n, out_h, out_w) + x.shape[3:])
    for i in range(n):
        for p in range(out_h):
            for q in range(out_w):
                r, c = p * sh - top, q * sw - left
                window = x[i, max(r, 0):min(r + kh, h), max(c, 0):min(c + kw, w)]
                a[i, p, q] = reduce(window, axis=(0, 1))
    return a


@pytest.mark.parametrize("kind", POOLS)
@pytest.mark.parametrize("pool_size, strides, padding, shape", GEOMETRIES, ids=IDS)
def test_forward_matches_loops(pool_size, strides, padding, shape, kind):
    layer = POOLS[kind](pool_size, strides, padding)
    layer.setup(shape)
    x = np.random.default_rng(0).standard_normal((3,) + shape)
    expected = reference(x, layer.pool_size, layer.strides, padding, kind)
    assert layer.output_shape == expected.shape[1:]
    np.testing.assert_allclose(layer.forward(x), expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("kind", POOLS)
@pytest.mark.parametrize("pool_size, strides, padding, shape", GEOMETRIES, ids=IDS)
def test_gradients(pool_size, strides, padding, shape, kind):
    errors = check_layer(POOLS[kind](pool_size, strides, padding), shape, batch=2)
    assert max(errors.values()) < 1e-6, errors


@pytest.mark.parametrize("training", [True, False])
def test_max_pooling_ties_go_to_the_first_pixel_of_the_window(training):
    layer = MaxPooling2D(2)
    layer.setup((2, 4, 1))
    x = np.array([[0.0, 0.0, 1.0, 3.0],
                  [0.0, 0.0, 3.0, 0.0]]).reshape(1, 2, 4, 1)
    layer.forward(x, training=training)
    s = layer.backward(np.array([2.0, 5.0]).reshape(1, 1, 2, 1))[0, :, :, 0]
    np.testing.assert_array_equal(s, [[2, 0, 0, 5],
                                      [0, 0, 0, 0]])



def reference_max_backward(x, delta, pool_size, strides, padding):
    """Slow and obvious: each window's δ goes to its first maximum in row-major order."""
    (kh, kw), (sh, sw) = pool_size, strides
    n, h, w = x.shape[:3]
    out_h, out_w = delta.shape[1:3]
    top = left = 0
    if padding == "same":
        top = max((out_h - 1) * sh + kh - h, 0) // 2
        left = max((out_w - 1) * sw + kw - w, 0) // 2
    s = np.zeros(x.shape)
    for i in range(n):
        for p in range(out_h):
            for q in range(out_w):
                r, c = max(p * sh - top, 0), max(q * sw - left, 0)
                window = x[i, r:min(p * sh - top + kh, h), c:min(q * sw - left + kw, w)]
                for ch in np.ndindex(x.shape[3:]):
                    part = window[(...,) + ch]
                    u, v = np.unravel_index(np.argmax(part), part.shape)      # argmax: the first maximum
                    s[(i, r + u, c + v) + ch] += delta[(i, p, q) + ch]
    return s


@pytest.mark.parametrize("training", [True, False])
@pytest.mark.parametrize("pool_size, strides, padding, shape", GEOMETRIES, ids=IDS)
def test_max_pooling_backward_with_many_ties_matches_loops(pool_size, strides, padding, shape, training):
    # Values in {0, 1, 2}: most windows hold ties, which must go to the first maximum whether
    # forward noted the winners (training) or backward has to find them.
    layer = MaxPooling2D(pool_size, strides, padding)
    layer.setup(shape)
    rng = np.random.default_rng(1)
    x = rng.integers(0, 3, (4,) + shape).astype(np.float64)
    x[0] = 0.0                                          # all-zero windows, as after a ReLU
    delta = rng.standard_normal((4,) + layer.output_shape)
    layer.forward(x, training=training)
    expected = reference_max_backward(x, delta, layer.pool_size, layer.strides, padding)
    # Not bit for bit: where windows overlap, a pixel's shares are added in another order.
    np.testing.assert_allclose(layer.backward(delta), expected, rtol=1e-12, atol=1e-12)


def test_max_pooling_backward_follows_the_last_forward_pass():
    # Winners noted by a training forward must not leak into the backward of a later inference one.
    layer = MaxPooling2D(2)
    layer.setup((4, 4, 3))
    rng = np.random.default_rng(2)
    x1, x2 = rng.standard_normal((2, 5, 4, 4, 3))
    delta = rng.standard_normal((5, 2, 2, 3))
    layer.forward(x1, training=True)
    layer.forward(x2, training=False)
    np.testing.assert_array_equal(layer.backward(delta), reference_max_backward(x2, delta, (2, 2), (2, 2), "valid"))
    layer.forward(x2[:2], training=True)                # a smaller batch reuses the buffers
    np.testing.assert_array_equal(layer.backward(delta[:2]),
                                  reference_max_backward(x2[:2], delta[:2], (2, 2), (2, 2), "valid"))


@pytest.mark.parametrize("pool_size, strides, padding, shape", GEOMETRIES, ids=IDS)
def test_average_pooling_backward_matches_loops(pool_size, strides, padding, shape):
    # s_x = Σ over the windows holding x of δ/m: the adjoint of the forward, checked entry by entry.
    layer = AveragePooling2D(pool_size, strides, padding)
    layer.setup(shape)
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2,) + shape)
    delta = rng.standard_normal((2,) + layer.output_shape)
    layer.forward(x)
    s = layer.backward(delta)
    expected = np.zeros(x.shape)
    for idx in np.ndindex(x.shape):
        e = np.zeros(x.shape)
        e[idx] = 1.0
        expected[idx] = np.sum(reference(e, layer.pool_size, layer.strides, padding, "average") * delta)
    np.testing.assert_allclose(s, expected, rtol=1e-12, atol=1e-12)

def test_overlapping_max_windows_add_up_at_a_shared_winner():
    layer = MaxPooling2D(2, strides=1)
    layer.setup((3, 3))
    x = np.zeros((1, 3, 3))
    x[0, 1, 1] = 1.0                                   # the maximum of all four windows
    layer.forward(x)
    s = layer.backward(np.ones((1, 2, 2)))
    assert s[0, 1, 1] == 4 and s.sum() == 4
    layer.forward(np.zeros((1, 3, 3)))                 # all ties: each window's top-left pixel
    np.testing.assert_array_equal(layer.backward(np.ones((1, 2, 2)))[0], [[1, 1, 0], [1, 1, 0], [0, 0, 0]])


def test_average_pooling_with_same_padding_counts_real_pixels_only():
    layer = AveragePooling2D(2, padding="same")
    layer.setup((3, 3))
    a = layer.forward(np.ones((1, 3, 3)))
    np.testing.assert_array_equal(a, np.ones((1, 2, 2)))
    s = layer.backward(np.ones((1, 2, 2)))[0]
    np.testing.assert_array_equal(s, [[0.25, 0.25, 0.5], [0.25, 0.25, 0.5], [0.5, 0.5, 1.0]])


@pytest.mark.parametrize("cls", [MaxPooling2D, AveragePooling2D, GlobalAveragePooling2D])
def test_float32_stays_float32_and_input_gradient_can_be_skipped(cls):
    layer = cls()
    out = layer.setup((6, 6, 3))
    x = np.random.default_rng(0).standard_normal((4, 6, 6, 3)).astype(np.float32)
    a = layer.forward(x)
    assert a.dtype == np.float32 and a.shape == (4,) + out
    assert layer.backward(np.ones_like(a)).dtype == np.float32
    first = layer.new_call(need_input_grad=False)
    layer.forward(x, call=first)
    assert layer.backward(np.ones_like(a), first) is None
    assert layer.count_params() == 0


def test_global_average_pooling():
    layer = GlobalAveragePooling2D()
    assert layer.setup((4, 5, 3)) == (3,)
    x = np.random.default_rng(0).standard_normal((2, 4, 5, 3))
    np.testing.assert_allclose(layer.forward(x), x.mean(axis=(1, 2)), rtol=1e-12)
    assert max(check_layer(GlobalAveragePooling2D(), (4, 5, 3)).values()) < 1e-6
    assert max(check_layer(GlobalAveragePooling2D(), (4, 5)).values()) < 1e-6
    assert GlobalAveragePooling2D().setup((4, 5)) == (1,)


@pytest.mark.parametrize("cls", [MaxPooling2D, AveragePooling2D])
def test_config_round_trip(cls):
    layer = cls((2, 3), padding="Same")
    config = layer.get_config()
    assert config["strides"] == [2, 3] and config["padding"] == "same"
    assert cls.from_config(config).get_config() == config
    assert layers.get(cls.__name__) is cls


@pytest.mark.parametrize("cls", [MaxPooling2D, AveragePooling2D])
@pytest.mark.parametrize("kwargs, message", [
    ({"pool_size": 0}, "expected pool_size a positive integer or a pair of them, got 0"),
    ({"pool_size": (2, 2, 2)}, "expected pool_size"),
    ({"strides": "2"}, "expected strides a positive integer or a pair of them, got '2'"),
    ({"padding": "causal"}, "expected padding 'valid' or 'same', got 'causal'"),
])
def test_bad_arguments_are_refused(cls, kwargs, message):
    with pytest.raises(ValueError, match=rf"{cls.__name__}: {message}"):
        cls(**kwargs)


@pytest.mark.parametrize("cls", [MaxPooling2D, AveragePooling2D])
def test_bad_inputs_are_refused(cls):
    with pytest.raises(ValueError, match=rf"{cls.__name__}: expected input of at least 3×3 pixels"):
        cls(3).setup((2, 5, 1))
    with pytest.raises(ValueError, match=rf"{cls.__name__}: expected per-example input of shape"):
        cls().setup((10,))
    layer = cls()
    layer.setup((4, 4, 2))
    with pytest.raises(ValueError, match=r"expected input of shape \(n, 4, 4, 2\), "
                                         r"got array of shape \(1, 4, 4\)"):
        layer.forward(np.zeros((1, 4, 4)))
    with pytest.raises(ValueError, match=r"GlobalAveragePooling2D: expected per-example input of shape"):
        GlobalAveragePooling2D().setup((10,))


# -- GlobalMaxPooling2D ---------------------------------------------------------------------------------
@pytest.mark.parametrize("shape", [(4, 5, 3), (3, 3), (1, 1, 2)])
def test_global_max_pooling_forward_and_gradients(shape):
    from netfit.layers import GlobalMaxPooling2D
    rng = np.random.default_rng(0)
    x = rng.standard_normal((4,) + shape)                      # distinct values: no ties, no kinks
    layer = GlobalMaxPooling2D()
    layer.setup(shape, dtype="float64")
    a = layer.forward(x)
    expected = x.reshape(4, shape[0] * shape[1], -1).max(axis=1)
    np.testing.assert_array_equal(a, expected)
    errors = check_layer(layer, x=x)
    assert max(errors.values()) < 1e-7, errors


def test_global_max_pooling_ties_go_to_the_first_position():
    from netfit.layers import GlobalMaxPooling2D
    layer = GlobalMaxPooling2D()
    layer.setup((2, 2), dtype="float64")
    layer.forward(np.array([[[1.0, 3.0], [3.0, 0.0]]]))
    s = layer.backward(np.array([[5.0]]))
    np.testing.assert_array_equal(s, [[[0.0, 5.0], [0.0, 0.0]]])   # row-major first of the two 3s


def test_global_max_pooling_refuses_other_ranks_and_round_trips():
    from netfit.layers import GlobalMaxPooling2D
    with pytest.raises(ValueError, match=r"GlobalMaxPooling2D: expected per-example input of shape \(height, width, "
                                         r"channels\) or \(height, width\), got input shape \(5,\)"):
        GlobalMaxPooling2D().setup((5,))
    layer = GlobalMaxPooling2D(name="gmp")
    assert type(layer).from_config(layer.get_config()).get_config() == layer.get_config()
    assert layers.get("GlobalMaxPooling2D") is GlobalMaxPooling2D


@pytest.mark.parametrize("kind", POOLS)
@pytest.mark.parametrize("pool_size, strides, padding, shape", GEOMETRIES, ids=IDS)
def test_pieces_of_the_batch_give_the_same_bits(pool_size, strides, padding, shape, kind, monkeypatch):
    # NumPy's passes run a few examples at a time (netfit.parallel.in_pieces): one example a
    # piece, an uneven cut, and the whole batch must agree bit for bit, ties included.
    monkeypatch.setattr(_kernels, "_compiled", False)
    rng = np.random.default_rng(4)
    x = np.maximum(rng.standard_normal((5,) + shape), 0).astype(np.float32)        # relu's zeros tie
    results = []
    for piece_bytes in (1, 2 * x[0].nbytes, 1 << 30):
        monkeypatch.setattr(parallel, "PIECE_BYTES", piece_bytes)
        layer = POOLS[kind](pool_size, strides, padding)
        layer.setup(shape)
        a = layer.forward(x, training=True).copy()
        delta = np.random.default_rng(5).standard_normal(a.shape).astype(np.float32)
        results.append((a, layer.backward(delta).copy()))
    for a, s in results[:-1]:
        np.testing.assert_array_equal(a, results[-1][0])
        np.testing.assert_array_equal(s, results[-1][1])
