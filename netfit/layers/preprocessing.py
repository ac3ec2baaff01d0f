"""Preprocessing layers: Rescaling, and the image augmentations RandomFlip, RandomRotation, RandomZoom,
RandomTranslation and RandomContrast.

The augmentations change images only while training (``training=True``; in
``fit``) and are the identity otherwise, as in Keras. Each draws one transform per
image from the record's random stream (``call.rng``, which ``fit`` seeds from the
model's seed, epoch by epoch), or, used on its own, from a generator seeded by the
layer's ``seed``: the same seed gives the same images. They have no weights and
usually come first, so ``fit`` asks them for no s; their backward is still the
exact adjoint of the transform they drew (for the geometric ones, where each output
pixel is a weighted sum of input pixels, the adjoint scatters δ back onto those
pixels with the same weights).

Images are channels-last, one example (height, width, channels).
"""
import math
import numbers

import numpy as np

from ..utils import check_seed
from .base import Layer


def _finite(value, where, name):
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real) or not math.isfinite(value):
        raise ValueError(f"{where}: expected {name} a finite number, got {value!r}.")
    return float(value)


class Rescaling(Layer):
    """a = x · scale + offset, in training and inference alike; s = δ · scale.

    ``Rescaling(1/255)`` maps pixels in [0, 255] to [0, 1], ``Rescaling(1/127.5, offset=-1)``
    to [−1, 1] (Keras's examples). ``scale`` and ``offset`` may also be one number
    per channel (the last axis).

    Parameters
    ----------
    scale, offset : float or sequence of floats

    Shapes
    ------
    x : (n, *shape)  ->  a : (n, *shape)

    Examples
    --------
    >>> import numpy as np
    >>> Rescaling(1 / 127.5, offset=-1)(np.array([[0.0, 127.5, 255.0]]))
    array([[-1.,  0.,  1.]])
    """

    def __init__(self, scale, offset=0.0, **kwargs):
        super().__init__(**kwargs)
        self.scale, self.offset = self._value(scale, "scale"), self._value(offset, "offset")

    @staticmethod
    def _value(value, name):
        if isinstance(value, (list, tuple, np.ndarray)):
            values = [_finite(v, "Rescaling", name) for v in np.ravel(value).tolist()]
            if not values or np.ndim(value) != 1:
                raise ValueError(f"Rescaling: expected {name} a number or one number per channel, got {value!r}.")
            return values
        return _finite(value, "Rescaling", name)

    def build(self, input_shape):
        for name in ("scale", "offset"):
            value = getattr(self, name)
            if isinstance(value, list) and len(value) not in (1, input_shape[-1]):
                raise ValueError(f"{self.display_name}: expected {name} one number or one per channel "
                                 f"({input_shape[-1]}), got {len(value)} numbers.")
        return input_shape

    def forward(self, x, training=False, call=None):
        call = self.record(call)
        self.check_input(x)
        a = np.multiply(x, np.asarray(self.scale, x.dtype), out=call.buffer("a", x.shape, x.dtype))
        a += np.asarray(self.offset, x.dtype)
        return a

    def backward(self, delta, call=None):
        call = self.record(call)
        if not call.need_input_grad:
            return None
        return np.multiply(delta, np.asarray(self.scale, delta.dtype), out=call.buffer("s", delta.shape, delta.dtype))

    def get_config(self):
        return {**super().get_config(), "scale": self.scale, "offset": self.offset}


class _RandomImageLayer(Layer):
    """The common part of the augmentations: seed, random stream, image shape, identity outside training.

    Subclasses implement ``_transform(x, rng, call)`` (the training pass, keeping in
    ``call`` what the adjoint needs) and ``_adjoint(delta, call)``.
    """

    needs_rng = True

    def __init__(self, seed=None, data_format=None, **kwargs):
        super().__init__(**kwargs)
        where = type(self).__name__
        if data_format not in (None, "channels_last"):
            raise ValueError(f"{where}: expected data_format 'channels_last' (netfit's only layout), got "
                             f"{data_format!r}; move the channels last with x.transpose(0, 2, 3, 1).")
        self.seed = None if seed is None else check_seed(seed, where)
        self.rng = np.random.default_rng(self.seed)

    def initialize(self, rng):
        # A seeded layer keeps its own stream; otherwise it draws from the builder's rng (as Dropout).
        self.rng = np.random.default_rng(self.seed) if self.seed is not None else rng
        self._own_call = None

    def build(self, input_shape):
        if len(input_shape) != 3:
            fix = (f" For grey images add a channel axis: x[..., None], or Reshape({input_shape + (1,)})."
                   if len(input_shape) == 2 else "")
            raise ValueError(f"{self.display_name}: expected images of shape (height, width, channels), got input "
                             f"shape {input_shape}.{fix}")
        return input_shape

    def forward(self, x, training=False, call=None):
        call = self.record(call)
        self.check_input(x)
        call.active = bool(training)
        if not training:
            return x
        return self._transform(x, call.rng if call.rng is not None else self.rng, call)

    def backward(self, delta, call=None):
        call = self.record(call)
        if not call.need_input_grad:
            return None
        return self._adjoint(delta, call) if call.active else delta

    def get_config(self):
        return {**super().get_config(), "seed": self.seed}


class RandomFlip(_RandomImageLayer):
    """Flip each image left–right and/or top–bottom with probability ½ while training.

    Keras 3's draws: one coin per image (flipped when u ≤ ½); with
    "horizontal_and_vertical" that one coin flips both ways at once (a half turn) or
    neither. A flip is its own adjoint: backward flips δ the same way.

    Parameters
    ----------
    mode : "horizontal", "vertical" or "horizontal_and_vertical" (Keras's default)
    seed : int, optional

    Shapes
    ------
    x : (n, h, w, c)  ->  a : (n, h, w, c)

    Examples
    --------
    >>> import numpy as np
    >>> x = np.arange(4.0).reshape(1, 1, 4, 1)
    >>> RandomFlip("horizontal", seed=2)(x, training=True)[0, 0, :, 0]   # seed 2 draws u = 0.26 ≤ ½: flipped
    array([3., 2., 1., 0.])
    """

    MODES = ("horizontal", "vertical", "horizontal_and_vertical")

    def __init__(self, mode="horizontal_and_vertical", seed=None, **kwargs):
        super().__init__(seed, **kwargs)
        if mode not in self.MODES:
            raise ValueError(f"RandomFlip: expected mode one of {', '.join(map(repr, self.MODES))}, got {mode!r}.")
        self.mode = mode

    def _flip(self, v, flips, out):
        np.copyto(out, v)
        part = v[flips]
        if self.mode != "vertical":
            part = part[:, :, ::-1]                                    # left–right: the width axis
        if self.mode != "horizontal":
            part = part[:, ::-1]                                       # top–bottom: the height axis
        out[flips] = part
        return out

    def _transform(self, x, rng, call):
        call.flips = rng.random(len(x)) <= 0.5
        return self._flip(x, call.flips, call.buffer("a", x.shape, x.dtype))

    def _adjoint(self, delta, call):
        return self._flip(delta, call.flips, call.buffer("s", delta.shape, delta.dtype))

    def get_config(self):
        return {**super().get_config(), "mode": self.mode}


# -- resampling under an affine map: RandomRotation, RandomZoom, RandomTranslation ------------------------

FILL_MODES = ("reflect", "wrap", "constant", "nearest")
INTERPOLATIONS = ("bilinear", "nearest")


def _range(factor, where, name, low, high, open_low=False):
    """(lower, upper) from Keras's factor: one number f means (−|f|, |f|), a pair is sorted; each in [low, high]."""
    inside = (lambda v: low < v <= high) if open_low else (lambda v: low <= v <= high)
    bounds = f"{'(' if open_low else '['}{low:g}, {high:g}]"
    values = list(factor) if isinstance(factor, (list, tuple)) else [factor]
    if len(values) != (2 if isinstance(factor, (list, tuple)) else 1) or not all(
            isinstance(v, numbers.Real) and not isinstance(v, (bool, np.bool_)) and inside(v) for v in values):
        raise ValueError(f"{where}: expected {name} a number or a pair of numbers in {bounds}, got {factor!r}.")
    if len(values) == 1:
        return (-abs(float(values[0])), abs(float(values[0])))
    return tuple(sorted(float(v) for v in values))


def _check_resampling(layer, fill_mode, interpolation, fill_value):
    where = type(layer).__name__
    if fill_mode not in FILL_MODES:
        raise ValueError(f"{where}: expected fill_mode one of {', '.join(map(repr, FILL_MODES))}, got {fill_mode!r}.")
    if interpolation not in INTERPOLATIONS:
        raise ValueError(f"{where}: expected interpolation 'bilinear' or 'nearest', got {interpolation!r}.")
    layer.fill_mode, layer.interpolation = fill_mode, interpolation
    layer.fill_value = _finite(fill_value, where, "fill_value")


def _fold(i, size, mode):
    """Pixel ``i`` of an axis of ``size`` pixels as ``mode`` reads it: (the pixel, inside the image?).

    reflect: (d c b a | a b c d | d c b a); wrap: (a b c d | a b c d); nearest:
    (a a | a b c d | d d); constant: outside pixels read the fill value.
    """
    if mode == "constant":
        return np.clip(i, 0, size - 1), (i >= 0) & (i < size)
    if mode == "nearest":
        return np.clip(i, 0, size - 1), True
    period = size if mode == "wrap" else 2 * size
    if i.size and (i.min() < -size or i.max() >= 2 * size):
        i = np.mod(i, period)                                          # far outside: back into [0, period)
    if mode == "wrap":
        return np.where(i < 0, i + size, np.where(i >= size, i - size, i)), True
    i = np.where(i < 0, -1 - i, i)                                     # reflect: mirrored about each edge
    return np.where(i >= size, 2 * size - 1 - i, i), True


def _sampling(matrices, h, w, interpolation, fill_mode):
    """Which input pixels each output pixel reads, with which weights, and the fill value's weight.

    ``matrices`` (n, 6) are Keras's transforms [a0, a1, a2, b0, b1, b2]: output pixel
    (row y, column x) reads the input at column a0 x + a1 y + a2, row b0 x + b1 y + b2,
    by bilinear interpolation between its four neighbours (or the nearest pixel,
    rounding halves up as SciPy's order 0 does), neighbours outside the image read as
    ``fill_mode`` says: Keras's ``affine_transform`` (its NumPy backend pads, then interpolates).

    Returns flat pixel indices (k, n·h·w) into the batch, weights (k, n·h·w), fill weights (n·h·w,).
    """
    n = len(matrices)
    rows, cols = np.arange(h, dtype=np.float64)[:, None], np.arange(w, dtype=np.float64)
    a0, a1, a2, b0, b1, b2 = (matrices[:, j, None, None] for j in range(6))
    src_col, src_row = a0 * cols + (a1 * rows + a2), b0 * cols + (b1 * rows + b2)      # (n, h, w)
    if interpolation == "nearest":
        r0, c0 = np.floor(src_row + 0.5).astype(np.intp), np.floor(src_col + 0.5).astype(np.intp)
        along_rows, along_cols = [(r0, 1.0)], [(c0, 1.0)]
    else:
        r0, c0 = np.floor(src_row), np.floor(src_col)
        fr, fc = src_row - r0, src_col - c0                            # bilinear: (1 − fr, fr) × (1 − fc, fc)
        r0, c0 = r0.astype(np.intp), c0.astype(np.intp)
        along_rows, along_cols = [(r0, 1 - fr), (r0 + 1, fr)], [(c0, 1 - fc), (c0 + 1, fc)]
    first = (np.arange(n) * (h * w))[:, None, None]                   # each image's first pixel in the batch
    folded_cols = [(_fold(c, w, fill_mode), wc) for c, wc in along_cols]
    corners = len(along_rows) * len(along_cols)
    index = np.empty((corners, n, h, w), np.intp)
    weight = np.empty((corners, n, h, w))
    fill = np.zeros((n, h, w))
    k = 0
    for r, wr in along_rows:
        r, inside_r = _fold(r, h, fill_mode)
        row_start = first + r * w
        for (c, inside_c), wc in folded_cols:
            np.add(row_start, c, out=index[k])
            np.multiply(wr, wc, out=weight[k])
            if fill_mode == "constant":                                # outside neighbours read the fill value
                outside = ~(inside_r & inside_c)
                fill += np.where(outside, weight[k], 0.0)
                weight[k][outside] = 0.0
            k += 1
    return index.reshape(corners, -1), weight.reshape(corners, -1), fill.reshape(-1)


def _warp(layer, x, rng, call):
    """a = the images resampled under one random affine map each (``layer._matrices`` draws them)."""
    n, h, w, c = x.shape
    index, weight, fill = _sampling(layer._matrices(n, h, w, rng), h, w, layer.interpolation, layer.fill_mode)
    call.index, call.weight = index, weight.astype(x.dtype)
    pixels = x.reshape(-1, c)
    a = call.buffer("a", x.shape, x.dtype)
    flat = a.reshape(-1, c)
    np.multiply(pixels[index[0]], call.weight[0][:, None], out=flat)   # a_p = Σ_k w_pk x_{i(p,k)} + w_p0 · fill
    for k in range(1, len(index)):
        flat += pixels[index[k]] * call.weight[k][:, None]
    if layer.fill_value != 0:
        flat += (fill * layer.fill_value).astype(x.dtype)[:, None]
    return a


def _warp_adjoint(layer, delta, call):
    """s = Wᵀ δ: each output pixel's δ goes back to the input pixels it read, times their weights."""
    c = delta.shape[-1]
    s = call.buffer("s", delta.shape, delta.dtype)
    flat, d = s.reshape(-1, c), delta.reshape(-1, c)
    index = call.index.reshape(-1)
    for ch in range(c):                                                # s_i = Σ_{(p,k): i(p,k) = i} w_pk δ_p
        flat[:, ch] = np.bincount(index, weights=(call.weight * d[:, ch]).reshape(-1), minlength=len(flat))
    return s


class RandomRotation(_RandomImageLayer):
    """Rotate each image about its centre by a random angle while training (Keras's ``RandomRotation``).

    The angle is uniform on [lower, upper] × 360°, counter-clockwise for positive
    values; output pixel (y, x) reads the input at the rotated point, interpolated
    (``interpolation``), with ``fill_mode`` outside the image (Keras 3's default
    "reflect"; "constant" fills ``fill_value``).

    Parameters
    ----------
    factor : float or (float, float) in [−1, 1]
        One number f is (−f, f), fractions of a full turn.
    fill_mode : "reflect", "wrap", "constant" or "nearest"
    interpolation : "bilinear" or "nearest"
    seed : int, optional
    fill_value : float

    Shapes
    ------
    x : (n, h, w, c)  ->  a : (n, h, w, c)

    Examples
    --------
    >>> import numpy as np
    >>> x = np.arange(9.0).reshape(1, 3, 3, 1)
    >>> RandomRotation((0.25, 0.25))(x, training=True)[0, :, :, 0].round(6)   # a quarter turn
    array([[2., 5., 8.],
           [1., 4., 7.],
           [0., 3., 6.]])
    """

    _transform, _adjoint = _warp, _warp_adjoint

    def __init__(self, factor, fill_mode="reflect", interpolation="bilinear", seed=None, fill_value=0.0, **kwargs):
        super().__init__(seed, **kwargs)
        self.factor = list(factor) if isinstance(factor, (list, tuple)) else factor
        self.lower, self.upper = _range(factor, "RandomRotation", "factor", -1.0, 1.0)
        _check_resampling(self, fill_mode, interpolation, fill_value)

    def _matrices(self, n, h, w, rng):
        theta = np.deg2rad(rng.uniform(self.lower * 360.0, self.upper * 360.0, n))
        cos, sin = np.cos(theta), np.sin(theta)
        cx, cy = 0.5 * (w - 1), 0.5 * (h - 1)                          # rotate about the centre
        return np.stack([cos, -sin, cx - cx * cos + cy * sin, sin, cos, cy - cx * sin - cy * cos], axis=1)

    def get_config(self):
        return {**super().get_config(), "factor": self.factor, "fill_mode": self.fill_mode,
                "interpolation": self.interpolation, "fill_value": self.fill_value}


class RandomZoom(_RandomImageLayer):
    """Zoom each image about its centre by a random factor while training (Keras's ``RandomZoom``).

    Each axis reads the input at z·(position − centre) + centre with z = 1 + u, u
    uniform on the factor's range: a positive u zooms out (the image shrinks), a
    negative one zooms in. Without ``width_factor`` both axes use the height's z
    (the aspect ratio is kept), as Keras. Interpolation and filling as RandomRotation.

    Parameters
    ----------
    height_factor : float or (float, float) in (−1, 1]
    width_factor : float, (float, float) or None
    fill_mode, interpolation, seed, fill_value : see RandomRotation

    Shapes
    ------
    x : (n, h, w, c)  ->  a : (n, h, w, c)

    Examples
    --------
    >>> import numpy as np
    >>> RandomZoom(0.2, seed=0)(np.ones((2, 8, 8, 3)), training=True).shape
    (2, 8, 8, 3)
    """

    _transform, _adjoint = _warp, _warp_adjoint

    def __init__(self, height_factor, width_factor=None, fill_mode="reflect", interpolation="bilinear", seed=None,
                 fill_value=0.0, **kwargs):
        super().__init__(seed, **kwargs)
        self.height_factor = list(height_factor) if isinstance(height_factor, (list, tuple)) else height_factor
        self.width_factor = list(width_factor) if isinstance(width_factor, (list, tuple)) else width_factor
        self.height_range = _range(height_factor, "RandomZoom", "height_factor", -1.0, 1.0, open_low=True)
        self.width_range = None if width_factor is None else _range(width_factor, "RandomZoom", "width_factor",
                                                                    -1.0, 1.0, open_low=True)
        _check_resampling(self, fill_mode, interpolation, fill_value)

    def _matrices(self, n, h, w, rng):
        zy = 1.0 + rng.uniform(*self.height_range, n)                  # drawn height first, as Keras
        zx = zy if self.width_range is None else 1.0 + rng.uniform(*self.width_range, n)
        zero = np.zeros(n)
        return np.stack([zx, zero, 0.5 * (w - 1) * (1 - zx), zero, zy, 0.5 * (h - 1) * (1 - zy)], axis=1)

    def get_config(self):
        return {**super().get_config(), "height_factor": self.height_factor, "width_factor": self.width_factor,
                "fill_mode": self.fill_mode, "interpolation": self.interpolation, "fill_value": self.fill_value}


class RandomTranslation(_RandomImageLayer):
    """Shift each image by a random fraction of its height and width while training (Keras's ``RandomTranslation``).

    The shift is (u_h · h, u_w · w) pixels, u uniform on each factor's range
    (positive: down and right); output pixel (y, x) reads the input at
    (y − dy, x − dx). Interpolation and filling as RandomRotation.

    Parameters
    ----------
    height_factor, width_factor : float or (float, float) in [−1, 1]
    fill_mode, interpolation, seed, fill_value : see RandomRotation

    Shapes
    ------
    x : (n, h, w, c)  ->  a : (n, h, w, c)

    Examples
    --------
    >>> import numpy as np
    >>> x = np.arange(4.0).reshape(1, 1, 4, 1)
    >>> RandomTranslation(0, (0.25, 0.25), fill_mode="constant")(x, training=True)[0, 0, :, 0]
    array([0., 0., 1., 2.])
    """

    _transform, _adjoint = _warp, _warp_adjoint

    def __init__(self, height_factor, width_factor, fill_mode="reflect", interpolation="bilinear", seed=None,
                 fill_value=0.0, **kwargs):
        super().__init__(seed, **kwargs)
        self.height_factor = list(height_factor) if isinstance(height_factor, (list, tuple)) else height_factor
        self.width_factor = list(width_factor) if isinstance(width_factor, (list, tuple)) else width_factor
        self.height_range = _range(height_factor, "RandomTranslation", "height_factor", -1.0, 1.0)
        self.width_range = _range(width_factor, "RandomTranslation", "width_factor", -1.0, 1.0)
        _check_resampling(self, fill_mode, interpolation, fill_value)

    def _matrices(self, n, h, w, rng):
        dy = rng.uniform(*self.height_range, n) * h                    # drawn height first, as Keras
        dx = rng.uniform(*self.width_range, n) * w
        one, zero = np.ones(n), np.zeros(n)
        return np.stack([one, zero, -dx, zero, one, -dy], axis=1)

    def get_config(self):
        return {**super().get_config(), "height_factor": self.height_factor, "width_factor": self.width_factor,
                "fill_mode": self.fill_mode, "interpolation": self.interpolation, "fill_value": self.fill_value}


class RandomContrast(_RandomImageLayer):
    """a = clip((x − m) · c + m, value_range) per image and channel while training; m the channel's mean over the image.

    c is uniform on [1 − lower, 1 + upper], one per image; one number f means
    lower = upper = f, as Keras's documentation says (Keras 3's code draws from
    [1, 1 + f] for one number; a pair (lower, upper) is the same in both).
    The clip is part of the layer: δ stops where the output was clipped. With
    g = δ ⊙ 1{not clipped} and HW pixels per image,

        s = c · g + (1 − c) · (1/HW) Σ_pixels g      (m depends on every pixel of its channel).

    Parameters
    ----------
    factor : float or (float, float) in [0, 1]
    value_range : (float, float)
        The images' range, (0, 255) by default as Keras; outputs are clipped to it.
    seed : int, optional

    Shapes
    ------
    x : (n, h, w, c)  ->  a : (n, h, w, c)

    Examples
    --------
    >>> import numpy as np
    >>> x = np.array([0.0, 1.0]).reshape(1, 1, 2, 1)
    >>> RandomContrast(0.0, value_range=(0, 1))(x, training=True)[0, 0, :, 0]
    array([0., 1.])
    """

    def __init__(self, factor, value_range=(0, 255), seed=None, **kwargs):
        super().__init__(seed, **kwargs)
        values = list(factor) if isinstance(factor, (list, tuple)) else [factor, factor]
        if len(values) != 2 or not all(isinstance(v, numbers.Real) and not isinstance(v, (bool, np.bool_))
                                       and 0 <= v <= 1 for v in values):
            raise ValueError(f"RandomContrast: expected factor a number or a pair of numbers in [0, 1], "
                             f"got {factor!r}.")
        self.factor = list(factor) if isinstance(factor, (list, tuple)) else factor
        self.lower, self.upper = float(values[0]), float(values[1])
        if not isinstance(value_range, (list, tuple)) or len(value_range) != 2 or \
                _finite(value_range[0], "RandomContrast", "value_range[0]") >= \
                _finite(value_range[1], "RandomContrast", "value_range[1]"):
            raise ValueError(f"RandomContrast: expected value_range a pair (low, high) with low < high, "
                             f"got {value_range!r}.")
        self.value_range = [float(value_range[0]), float(value_range[1])]

    def _transform(self, x, rng, call):
        c = rng.uniform(1.0 - self.lower, 1.0 + self.upper, len(x)).astype(x.dtype)[:, None, None, None]
        mean = x.mean(axis=(1, 2), keepdims=True)                      # m: each image's channel means
        a = np.subtract(x, mean, out=call.buffer("a", x.shape, x.dtype))
        a *= c
        a += mean                                                      # (x − m) c + m
        low, high = self.value_range
        call.kept = (a >= low) & (a <= high)                           # where the clip lets δ through
        call.contrast = c
        return np.clip(a, low, high, out=a)

    def _adjoint(self, delta, call):
        g = np.multiply(delta, call.kept, out=call.buffer("s", delta.shape, delta.dtype))
        mean = g.mean(axis=(1, 2), keepdims=True)
        g *= call.contrast
        g += (1 - call.contrast) * mean                                # c g + (1 − c) mean(g)
        return g

    def get_config(self):
        return {**super().get_config(), "factor": self.factor, "value_range": self.value_range}
