"""Up-sampling: UpSampling2D and UpSampling1D make images and sequences larger by whole factors, with no weights.

"nearest" repeats each pixel fh×fw times; its backward adds the δ of the
copies back up (a sum pooling over the fh×fw tiles). "bilinear" samples the
image at the output pixels' centres, (i + ½)/f − ½ in input pixels, each
value a mix of the two nearest input pixels per axis, edges clamped (Keras 3's
``ops.image.resize`` without antialiasing, TensorFlow's ``half_pixel_centers``,
PyTorch's ``align_corners=False``). The mix is separable: rows first, then
columns, each a fixed linear map whose adjoint is its backward. Output pixel
i·f + r of a row always mixes inputs i + d_r and i + d_r + 1 with the same
weights (1 − t_r, t_r), so each pass loops over the f phases r, never over pixels.
"""
import math

import numpy as np

from . import _keras_args
from ._patches import pair
from ._rows import RowLayer
from .base import Layer
from .pooling import _float

INTERPOLATIONS = ("nearest", "bilinear")


class UpSampling2D(Layer):
    """a[i·fh + r, j·fw + q, c] = x[i, j, c] ("nearest"), or the bilinear sample at that pixel's centre.

    Keras 3's ``UpSampling2D``. "nearest": backward sums δ over each fh×fw tile.
    "bilinear": the linear interpolation above, backward its transpose.

    Parameters
    ----------
    size : int or (int, int), default (2, 2)
        The factors (fh, fw) for rows and columns.
    data_format : None or "channels_last"
        "channels_first" is refused (netfit is channels-last).
    interpolation : {"nearest", "bilinear"}
        Keras's "bicubic", "lanczos3", "lanczos5" and "area" are refused.

    Shapes
    ------
    x : (n, H, W, C)  ->  a : (n, H·fh, W·fw, C); also (n, H, W) images

    Examples
    --------
    >>> import numpy as np
    >>> layer = UpSampling2D((1, 2)); layer.setup((2, 2))
    (2, 4)
    >>> layer.forward(np.array([[[1.0, 2.0], [3.0, 4.0]]]))[0]
    array([[1., 1., 2., 2.],
           [3., 3., 4., 4.]])
    >>> layer = UpSampling2D((1, 2), interpolation="bilinear"); layer.setup((1, 3))
    (1, 6)
    >>> layer.forward(np.array([[[0.0, 4.0, 8.0]]]))[0]
    array([[0., 1., 3., 5., 7., 8.]])
    """

    runs_on_gpu = True

    def __init__(self, size=(2, 2), data_format=None, interpolation="nearest", **kwargs):
        super().__init__(**kwargs)
        where = self.display_name
        self.size = pair(size, where, "size")
        _keras_args.data_format(data_format, where)
        if not isinstance(interpolation, str) or interpolation.lower() not in INTERPOLATIONS:
            raise ValueError(f"{where}: expected interpolation 'nearest' or 'bilinear', got {interpolation!r}; "
                             f"netfit has no other resampling kernels.")
        self.interpolation = interpolation.lower()

    def build(self, input_shape):
        if len(input_shape) not in (2, 3):
            raise ValueError(f"{self.display_name}: expected per-example input of shape (height, width, "
                             f"channels) or (height, width), got input shape {tuple(input_shape)}.")
        (h, w), (fh, fw) = input_shape[:2], self.size
        self._c = input_shape[2] if len(input_shape) == 3 else 1
        return (h * fh, w * fw) + tuple(input_shape[2:])

    def forward(self, x, training=False, call=None):
        call = self.record(call)
        self.check_input(x)
        n, (h, w), (fh, fw), c = x.shape[0], self.input_shape[:2], self.size, self._c
        x = x.reshape(n, h, w, c)
        if self.interpolation == "bilinear":
            x = _float(x)                                                     # (integer images are mixed as floats)
            rows = _stretch(x.reshape(n, h, w * c), fh, call, "rows")              # (n, h·fh, w·c)
            a = _stretch(rows.reshape(n * h * fh, w, c), fw, call, "cols")         # (n·h·fh, w·fw, c)
        else:
            a = call.buffer("a", (n, h, fh, w, fw, c), x.dtype)
            a[...] = x[:, :, None, :, None, :]                       # every pixel copied into its fh×fw tile
        return a.reshape((n,) + self.output_shape)

    def backward(self, delta, call=None):
        call = self.record(call)
        if not call.need_input_grad:
            return None
        n, (h, w), (fh, fw), c = delta.shape[0], self.input_shape[:2], self.size, self._c
        if self.interpolation == "bilinear":
            cols = _stretch_back(delta.reshape(n * h * fh, w * fw, c), fw, call, "cols")   # (n·h·fh, w, c)
            s = _stretch_back(cols.reshape(n, h * fh, w * c), fh, call, "rows")              # (n, h, w·c)
            return s.reshape((n,) + self.input_shape)
        tiles = delta.reshape(n, h, fh, w, fw, c)
        s = call.buffer("s", (n, h, w, c), delta.dtype)
        s[...] = tiles[:, :, 0, :, 0]
        for r in range(fh):                                          # ∂R/∂x_ij = Σ over the tile of δ
            for q in range(fw):
                if r or q:
                    s += tiles[:, :, r, :, q]
        return s.reshape((n,) + self.input_shape)

    def get_config(self):
        return {**super().get_config(), "size": list(self.size), "interpolation": self.interpolation}


class UpSampling1D(RowLayer):
    """a[t·f + r, c] = x[t, c]: each step repeated f times; backward sums δ over the copies.

    Keras 3's ``UpSampling1D``: :class:`UpSampling2D` with size (1, f) on
    sequences viewed as images one row high.

    Parameters
    ----------
    size : int or (int,), default 2

    Shapes
    ------
    x : (n, L, C)  ->  a : (n, L·f, C)

    Examples
    --------
    >>> import numpy as np
    >>> layer = UpSampling1D(3); layer.setup((2, 1))
    (6, 1)
    >>> layer.forward(np.array([[[1.0], [2.0]]]))[0, :, 0]
    array([1., 1., 1., 2., 2., 2.])
    """

    def __init__(self, size=2, **kwargs):
        super().__init__(**kwargs)
        (self.size,) = _keras_args.ints(size, 1, self.display_name, "size")

    def _relative(self):
        return UpSampling2D((1, self.size), name=self.display_name)

    def get_config(self):
        return {**super().get_config(), "size": self.size}


def _phases(f):
    """(r, d, t) per phase r: output i·f + r samples input i + d + t, so mixes x[i + d] and x[i + d + 1].

    Its centre (i·f + r + ½)/f − ½ = i + c_r, with c_r = (r + ½)/f − ½ in (−½, ½):
    d = ⌊c_r⌋ ∈ {−1, 0}, t = c_r − d.
    """
    return [(r, math.floor(c), c - math.floor(c)) for r, c in ((r, (r + 0.5) / f - 0.5) for r in range(f))]


def _stretch(x, f, call, key):
    """y[:, i·f + r] = (1 − t_r) x[:, i + d_r] + t_r x[:, i + d_r + 1], indices clamped to 0 … L − 1.

    Shapes
    ------
    x : (a, L, b)  ->  y : (a, L·f, b) (a scratch buffer); f = 1 returns x
    """
    if f == 1:
        return x
    (m, length, b), dtype = x.shape, x.dtype
    edged = call.buffer(f"{key}_edged", (m, length + 2, b), dtype)     # x with its first and last rows repeated:
    edged[:, 1:-1] = x                                                 # edged[j + 1] = x[clamp(j)], j = −1 … L
    edged[:, 0] = x[:, 0]
    edged[:, -1] = x[:, -1]
    y = call.buffer(f"{key}_y", (m, length * f, b), dtype)
    mix = call.buffer(f"{key}_mix", (m, length, b), dtype)
    for r, d, t in _phases(f):
        out = y[:, r::f]
        np.multiply(edged[:, d + 1:d + 1 + length], 1 - t, out=out)
        if t:
            out += np.multiply(edged[:, d + 2:d + 2 + length], t, out=mix)
    return y


def _stretch_back(delta, f, call, key):
    """The adjoint of :func:`_stretch`: each δ of y goes back to its two inputs, weighted (1 − t_r) and t_r.

    Shapes
    ------
    delta : (a, L·f, b)  ->  s : (a, L, b) (a scratch buffer); f = 1 returns δ
    """
    if f == 1:
        return delta
    m, length, b = delta.shape[0], delta.shape[1] // f, delta.shape[2]
    edged = call.buffer(f"{key}_dedged", (m, length + 2, b), delta.dtype)
    edged.fill(0)
    mix = call.buffer(f"{key}_dmix", (m, length, b), delta.dtype)
    for r, d, t in _phases(f):
        part = delta[:, r::f]                                          # ∂y[i·f + r]/∂x[i + d] = 1 − t
        edged[:, d + 1:d + 1 + length] += np.multiply(part, 1 - t, out=mix)
        if t:                                                          # ∂y[i·f + r]/∂x[i + d + 1] = t
            edged[:, d + 2:d + 2 + length] += np.multiply(part, t, out=mix)
    s = call.buffer(f"{key}_s", (m, length, b), delta.dtype)
    s[...] = edged[:, 1:-1]
    s[:, 0] += edged[:, 0]                                             # the clamped rows' share
    s[:, -1] += edged[:, -1]
    return s
