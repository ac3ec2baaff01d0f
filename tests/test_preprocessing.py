"""Rescaling and the random image layers: loops and Keras's own resampling, adjoints, seeds, models, errors."""
import math

import numpy as np
import pytest

import netfit as nf
from netfit import layers
from netfit.gradcheck import check_layer
from netfit.layers import (Dense, Flatten, RandomContrast, RandomFlip, RandomRotation, RandomTranslation,
                           RandomZoom, Rescaling)

SHAPE = (5, 6, 2)                                   # height, width, channels: not square, two channels
GEOMETRIC = {
    "rotation": lambda **kw: RandomRotation(0.3, **kw),
    "rotation-pair": lambda **kw: RandomRotation((-0.1, 0.4), **kw),
    "zoom": lambda **kw: RandomZoom(0.4, **kw),
    "zoom-both": lambda **kw: RandomZoom((-0.5, 0.3), width_factor=(0.1, 0.6), **kw),
    "translation": lambda **kw: RandomTranslation(0.3, (-0.5, 0.2), **kw),
}
MODES = [("bilinear", "reflect"), ("bilinear", "constant"), ("bilinear", "nearest"), ("bilinear", "wrap"),
         ("nearest", "reflect"), ("nearest", "constant"), ("nearest", "wrap"), ("nearest", "nearest")]
ALL = {**{name: (lambda make=make: make(seed=3)) for name, make in GEOMETRIC.items()},
       "flip": lambda: RandomFlip(seed=3), "flip-h": lambda: RandomFlip("horizontal", seed=3),
       "flip-v": lambda: RandomFlip("vertical", seed=3), "contrast": lambda: RandomContrast(0.5, (-2, 2), seed=3)}


def _images(n=3, shape=SHAPE, seed=0):
    return np.random.default_rng(seed).standard_normal((n,) + shape)


def _read(x, i, r, c, fill_mode, fill_value):
    """Pixel (r, c) of image i as fill_mode reads it, one at a time."""
    h, w = x.shape[1:3]
    if fill_mode == "constant":
        return x[i, r, c] if 0 <= r < h and 0 <= c < w else np.full(x.shape[-1], fill_value)
    if fill_mode == "nearest":
        return x[i, min(max(r, 0), h - 1), min(max(c, 0), w - 1)]
    if fill_mode == "wrap":
        return x[i, r % h, c % w]
    r, c = r % (2 * h), c % (2 * w)                                    # reflect: d c b a | a b c d | d c b a
    return x[i, r if r < h else 2 * h - 1 - r, c if c < w else 2 * w - 1 - c]


def warp_loops(x, matrices, interpolation, fill_mode, fill_value):
    """Slow and obvious: each output pixel reads the input at the mapped point."""
    out = np.zeros_like(x)
    for i, (a0, a1, a2, b0, b1, b2) in enumerate(matrices):
        for y in range(x.shape[1]):
            for xx in range(x.shape[2]):
                col, row = a0 * xx + a1 * y + a2, b0 * xx + b1 * y + b2
                if interpolation == "nearest":
                    out[i, y, xx] = _read(x, i, math.floor(row + 0.5), math.floor(col + 0.5), fill_mode, fill_value)
                    continue
                r0, c0 = math.floor(row), math.floor(col)
                fr, fc = row - r0, col - c0
                for dr, dc, weight in ((0, 0, (1 - fr) * (1 - fc)), (0, 1, (1 - fr) * fc), (1, 0, fr * (1 - fc)),
                                       (1, 1, fr * fc)):
                    out[i, y, xx] += weight * _read(x, i, r0 + dr, c0 + dc, fill_mode, fill_value)
    return out


def warp_keras(x, matrices, interpolation, fill_mode, fill_value):
    """Keras 3's NumPy backend (image.affine_transform → map_coordinates): pad the image, then SciPy interpolates."""
    ndimage = pytest.importorskip("scipy.ndimage")
    out = np.empty_like(x)
    n, h, w, c = x.shape
    rows, cols, chans = np.meshgrid(np.arange(h), np.arange(w), np.arange(c), indexing="ij")
    for i, (a0, a1, a2, b0, b1, b2) in enumerate(matrices):
        coords = [b0 * cols + b1 * rows + b2, a0 * cols + a1 * rows + a2, chans.astype(float)]
        padding = [(max(-int(np.floor(k.min())) + 1, 0), max(int(np.ceil(k.max())) + 1 - size, 0))
                   for k, size in zip(coords, x.shape[1:])]
        shifted = [k + p[0] for p, k in zip(padding, coords)]
        pad_mode = {"nearest": "edge", "reflect": "symmetric"}.get(fill_mode, fill_mode)
        extra = {"constant_values": fill_value} if fill_mode == "constant" else {}
        padded = np.pad(x[i], padding, mode=pad_mode, **extra)
        out[i] = ndimage.map_coordinates(padded, shifted, order={"nearest": 0, "bilinear": 1}[interpolation],
                                         mode=fill_mode, cval=fill_value)
    return out


# -- Rescaling ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("scale, offset", [(1 / 255, 0.0), (1 / 127.5, -1), ([0.5, 2.0], [1.0, -1.0]), (3, [0.5])])
def test_rescaling_forward_and_gradients(scale, offset):
    layer = Rescaling(scale, offset)
    layer.setup((4, 2), dtype=np.float64)
    x = np.random.default_rng(0).uniform(0, 255, (3, 4, 2))
    expected = np.empty_like(x)
    for idx in np.ndindex(x.shape):
        ch = idx[-1]
        s = scale[ch] if isinstance(scale, list) else scale
        o = offset if not isinstance(offset, list) else offset[ch if len(offset) > 1 else 0]
        expected[idx] = x[idx] * s + o
    np.testing.assert_allclose(layer.forward(x), expected, rtol=1e-14)
    assert max(check_layer(Rescaling(scale, offset), (4, 2)).values()) < 1e-6      # R changes by ~scale·ε: ~1e-8


@pytest.mark.parametrize("make, match", [
    (lambda: Rescaling("1/255"), r"Rescaling: expected scale a finite number, got '1/255'"),
    (lambda: Rescaling(float("nan")), r"Rescaling: expected scale a finite number, got nan"),
    (lambda: Rescaling(1.0, offset=None), r"Rescaling: expected offset a finite number, got None"),
    (lambda: Rescaling([[1.0, 2.0]]), r"Rescaling: expected scale a number or one number per channel"),
    (lambda: Rescaling([1.0, 2.0, 3.0]).setup((4, 2)), r"Rescaling: expected scale one number or one per channel "
                                                        r"\(2\), got 3 numbers"),
])
def test_rescaling_bad_arguments(make, match):
    with pytest.raises(ValueError, match=match):
        make()


# -- the random layers: identity outside training, seeds -----------------------------------------------------

@pytest.mark.parametrize("name", ALL)
def test_identity_unless_training(name):
    layer = ALL[name]()
    layer.setup(SHAPE, dtype=np.float64)
    x = _images()
    assert layer.forward(x) is x and layer.forward(x, training=False) is x
    delta = _images(seed=1)
    assert layer.backward(delta) is delta
    changed = layer.forward(x, training=True)
    assert changed.shape == x.shape and not np.array_equal(changed, x)


@pytest.mark.parametrize("name", ALL)
def test_an_eager_call_of_a_seeded_layer_draws_from_its_seed(name):
    x = _images(n=8)
    nf.utils.set_random_seed(1)
    first = ALL[name]()(x, training=True)
    nf.utils.set_random_seed(2)                     # the global source does not matter to a seeded layer
    np.testing.assert_array_equal(ALL[name]()(x, training=True), first)


@pytest.mark.parametrize("name", ALL)
def test_same_seed_same_images_other_seed_other_images(name):
    x = _images(n=8)
    runs = []
    for _ in range(2):
        layer = ALL[name]()
        layer.setup(SHAPE, dtype=np.float64)
        runs.append(layer.forward(x, training=True).copy())
    np.testing.assert_array_equal(runs[0], runs[1])
    other = ALL[name]()
    other.seed = 4
    other.setup(SHAPE, dtype=np.float64)
    assert not np.array_equal(other.forward(x, training=True), runs[0])
    # The record's stream wins over the layer's own: fit seeds it (epoch by epoch).
    a = other.forward(x, training=True, call=other.new_call(rng=np.random.default_rng(11))).copy()
    b = other.forward(x, training=True, call=other.new_call(rng=np.random.default_rng(11)))
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("name", ALL)
def test_gradients_under_a_fixed_stream(name):
    errors = check_layer(ALL[name](), SHAPE, training=True)
    assert max(errors.values()) < 1e-8, errors


@pytest.mark.parametrize("name", ALL)
def test_backward_is_the_adjoint_of_the_drawn_transform(name):
    """⟨A x, δ⟩ = ⟨x, Aᵀ δ⟩ for the transform A drawn by the forward pass (linear ones: flips and resampling)."""
    layer = ALL[name]()
    layer.setup(SHAPE, dtype=np.float64)
    x, delta = _images(n=4), _images(n=4, seed=9)
    call = layer.new_call(rng=np.random.default_rng(5))
    a = layer.forward(x, training=True, call=call)
    s = layer.backward(delta, call)
    if name == "contrast":                                             # affine in x: compare increments
        x2 = _images(n=4, seed=7) * 1e-3
        a2 = layer.forward(x + x2, training=True, call=layer.new_call(rng=np.random.default_rng(5)))
        assert np.vdot(a2 - a, delta) == pytest.approx(np.vdot(x2, s), rel=1e-9)
    else:
        assert np.vdot(a, delta) == pytest.approx(np.vdot(x, s), rel=1e-12)


# -- the geometric ones: against loops and against Keras's NumPy backend ---------------------------------------

@pytest.mark.parametrize("interpolation, fill_mode", MODES)
@pytest.mark.parametrize("name", GEOMETRIC)
def test_resampling_matches_loops_and_keras(name, interpolation, fill_mode):
    layer = GEOMETRIC[name](interpolation=interpolation, fill_mode=fill_mode, fill_value=0.7)
    layer.setup(SHAPE, dtype=np.float64)
    x = _images(n=4)
    a = layer.forward(x, training=True, call=layer.new_call(rng=np.random.default_rng(2)))
    matrices = layer._matrices(4, SHAPE[0], SHAPE[1], np.random.default_rng(2))
    np.testing.assert_allclose(a, warp_loops(x, matrices, interpolation, fill_mode, 0.7), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(a, warp_keras(x, matrices, interpolation, fill_mode, 0.7), rtol=1e-9, atol=1e-9)


def test_the_transforms_are_what_their_names_say():
    x = _images(n=2, shape=(4, 4, 3))
    quarter = RandomRotation((0.25, 0.25))(x, training=True)             # 90° counter-clockwise
    np.testing.assert_allclose(quarter, np.rot90(x, 1, axes=(1, 2)), atol=1e-12)
    shift = RandomTranslation((0.25, 0.25), (-0.5, -0.5), fill_mode="constant", fill_value=-1.0)(x, training=True)
    expected = np.full_like(x, -1.0)
    expected[:, 1:, :2] = x[:, :3, 2:]                                   # one row down, two columns left
    np.testing.assert_allclose(shift, expected, atol=1e-12)
    np.testing.assert_allclose(RandomZoom(0.0)(x, training=True), x)
    out = RandomZoom((1.0, 1.0), fill_mode="constant")(np.ones((1, 5, 5, 1)), training=True)[0, :, :, 0]
    assert out[2, 2] == 1.0 and out[0, 0] == 0.0                         # zoomed out to half: a border of fill


def test_flip_follows_kerass_coins():
    x = _images(n=16)
    for mode, axes in (("horizontal", (2,)), ("vertical", (1,)), ("horizontal_and_vertical", (1, 2))):
        layer = RandomFlip(mode, seed=0)
        layer.setup(SHAPE, dtype=np.float64)
        flips = np.random.default_rng(0).random(16) <= 0.5
        a = layer.forward(x, training=True)
        for i in range(16):
            np.testing.assert_array_equal(a[i], np.flip(x[i], axis=tuple(k - 1 for k in axes)) if flips[i] else x[i])
        assert 0 < flips.sum() < 16


# -- RandomContrast ------------------------------------------------------------------------------------------

def test_contrast_matches_loops_and_clips():
    layer = RandomContrast((0.2, 0.8), value_range=(-1, 1), seed=0)
    layer.setup(SHAPE, dtype=np.float64)
    x = _images(n=4) * 0.6
    a = layer.forward(x, training=True)
    factors = np.random.default_rng(0).uniform(0.8, 1.8, 4)
    for i in range(4):
        for ch in range(SHAPE[2]):
            mean = x[i, :, :, ch].mean()
            expected = np.clip((x[i, :, :, ch] - mean) * factors[i] + mean, -1, 1)
            np.testing.assert_allclose(a[i, :, :, ch], expected, rtol=1e-12)
    assert (np.abs(a) == 1).any()                                       # some were clipped: their δ stops
    assert max(check_layer(layer, x=x, training=True).values()) < 1e-8


def test_contrast_factor_as_keras_documents_it():
    layer = RandomContrast(0.5, value_range=(-1000, 1000), seed=1)       # nothing clipped
    layer.setup((2, 2, 1))
    draws = []
    for _ in range(200):
        x = np.array([0.0, 100.0, 100.0, 200.0]).reshape(1, 2, 2, 1)
        draws.append(layer.forward(x, training=True)[0, 0, 0, 0])
    c = 1 - np.array(draws) / 100.0                                    # (0 − 100) c + 100 = 100 (1 − c)
    assert c.min() < 0.6 and c.max() > 1.4 and c.min() >= 0.5 and c.max() <= 1.5


# -- in a model, records, configuration ------------------------------------------------------------------------

def test_augmentation_trains_in_a_model_and_is_reproducible(tmp_path):
    rng = np.random.default_rng(0)
    y = np.arange(96) % 2                                               # dark images and bright ones
    x = (rng.uniform(0, 150, (96, 6, 6, 1)) + 100 * y[:, None, None, None]).astype(np.float32)

    def model():
        m = nf.Sequential([nf.Input(shape=(6, 6, 1)), Rescaling(1 / 255), RandomFlip(), RandomRotation(0.1),
                           RandomZoom(0.1), RandomTranslation(0.1, 0.1), RandomContrast(0.2, value_range=(0, 1)),
                           Flatten(), Dense(2, activation="softmax")], seed=0)
        m.compile(nf.optimizers.Adam(0.02), "sparse_categorical_crossentropy")
        return m

    first, second = model(), model()
    before = first.evaluate(x, y, verbose=0)
    first.fit(x, y, epochs=8, batch_size=16, verbose=0)
    second.fit(x, y, epochs=8, batch_size=16, verbose=0)
    assert first.evaluate(x, y, verbose=0) < before * 0.8
    for a, b in zip(first.get_weights(), second.get_weights()):      # same seed, same augmented images
        np.testing.assert_array_equal(a, b)
    first.save(tmp_path / "aug.netfit")
    again = nf.load_model(tmp_path / "aug.netfit")
    np.testing.assert_array_equal(again.predict(x, verbose=0), first.predict(x, verbose=0))
    assert [layer.get_config() for layer in again.layers] == [layer.get_config() for layer in first.layers]


@pytest.mark.parametrize("name", ALL)
def test_two_records_used_alternately_give_the_same_as_one_at_a_time(name):
    layer = ALL[name]()
    layer.setup(SHAPE, dtype=np.float64)
    x1, x2, d1, d2 = (_images(seed=k) for k in range(4))

    def call(seed):
        return layer.new_call(rng=np.random.default_rng(seed))

    alone = []
    for x, d, seed in ((x1, d1, 1), (x2, d2, 2)):
        c = call(seed)
        alone.append((layer.forward(x, True, c).copy(), layer.backward(d, c).copy()))
    c1, c2 = call(1), call(2)
    a1, a2 = layer.forward(x1, True, c1).copy(), layer.forward(x2, True, c2).copy()
    s2, s1 = layer.backward(d2, c2).copy(), layer.backward(d1, c1).copy()
    for (a, s), (a_alt, s_alt) in zip(alone, ((a1, s1), (a2, s2))):
        np.testing.assert_array_equal(a, a_alt)
        np.testing.assert_array_equal(s, s_alt)


@pytest.mark.parametrize("name", ALL)
def test_config_round_trip_and_float32(name):
    layer = ALL[name]()
    again = layers.get(type(layer).__name__).from_config(layer.get_config())
    for one in (layer, again):
        one.setup(SHAPE)
    x = _images().astype(np.float32)
    a = layer.forward(x, training=True)
    assert a.dtype == np.float32 and layer.backward(np.ones_like(a)).dtype == np.float32
    np.testing.assert_array_equal(a, again.forward(x, training=True))


@pytest.mark.parametrize("make, match", [
    (lambda: RandomFlip("diagonal"), r"RandomFlip: expected mode one of 'horizontal', 'vertical', "
                                     r"'horizontal_and_vertical', got 'diagonal'"),
    (lambda: RandomFlip(seed=-1), r"RandomFlip: expected seed a non-negative integer"),
    (lambda: RandomFlip(data_format="channels_first"), r"RandomFlip: expected data_format 'channels_last'.*"
                                                       r"x.transpose\(0, 2, 3, 1\)"),
    (lambda: RandomFlip().setup((28, 28)), r"RandomFlip: expected images of shape \(height, width, channels\), "
                                           r"got input shape \(28, 28\). For grey images add a channel axis"),
    (lambda: RandomRotation(1.5), r"RandomRotation: expected factor a number or a pair of numbers in \[-1, 1\], "
                                  r"got 1.5"),
    (lambda: RandomRotation((0.1, 0.2, 0.3)), r"RandomRotation: expected factor a number or a pair"),
    (lambda: RandomRotation("0.1"), r"RandomRotation: expected factor"),
    (lambda: RandomRotation(0.1, fill_mode="mirror"), r"RandomRotation: expected fill_mode one of 'reflect', "
                                                      r"'wrap', 'constant', 'nearest', got 'mirror'"),
    (lambda: RandomRotation(0.1, interpolation="bicubic"), r"RandomRotation: expected interpolation 'bilinear' or "
                                                           r"'nearest', got 'bicubic'"),
    (lambda: RandomRotation(0.1, fill_value="black"), r"RandomRotation: expected fill_value a finite number"),
    (lambda: RandomZoom(-1.0), r"RandomZoom: expected height_factor a number or a pair of numbers in \(-1, 1\]"),
    (lambda: RandomZoom(0.2, width_factor=(-1, 0)), r"RandomZoom: expected width_factor .* in \(-1, 1\]"),
    (lambda: RandomZoom(0.2, fill_mode="edge"), r"RandomZoom: expected fill_mode one of"),
    (lambda: RandomTranslation(0.2, 1.2), r"RandomTranslation: expected width_factor a number or a pair of numbers "
                                          r"in \[-1, 1\], got 1.2"),
    (lambda: RandomTranslation(None, 0.1), r"RandomTranslation: expected height_factor"),
    (lambda: RandomContrast(1.5), r"RandomContrast: expected factor a number or a pair of numbers in \[0, 1\]"),
    (lambda: RandomContrast(-0.1), r"RandomContrast: expected factor"),
    (lambda: RandomContrast(0.1, value_range=(1, 0)), r"RandomContrast: expected value_range a pair \(low, high\) "
                                                      r"with low < high, got \(1, 0\)"),
    (lambda: RandomContrast(0.1, value_range=255), r"RandomContrast: expected value_range a pair"),
])
def test_bad_arguments(make, match):
    with pytest.raises((ValueError, TypeError), match=match):
        make()


@pytest.mark.parametrize("mode", ["reflect", "wrap", "nearest", "constant"])
def test_fill_modes_read_the_pixel_keras_pads_with_even_far_outside(mode):
    from netfit.layers.preprocessing import _fold
    size, i = 4, np.arange(-13, 17)
    extra = {"constant_values": -1} if mode == "constant" else {}     # -1 stands for the fill value
    padded = np.pad(np.arange(size), 20, mode={"reflect": "symmetric", "nearest": "edge"}.get(mode, mode),
                    **extra)                                           # Keras's NumPy backend pads like this
    for span in (i, np.arange(-4, 8)):                                 # far outside (modulo), within one width
        folded, inside = _fold(span, size, mode)
        np.testing.assert_array_equal(np.where(inside, folded, -1), padded[span + 20])
