"""Borders: Cropping2D and Cropping1D cut them off, ZeroPadding1D adds zeros (ZeroPadding2D is in ``shape``).

Cropping and zero padding are each other's adjoints: cropping's backward puts
δ back inside a border of zeros (what ZeroPadding2D's forward does), and
padding's backward crops. The 1-D layers are the 2-D ones on sequences viewed
as images one row high (``_rows``).
"""
from . import _keras_args
from ._rows import RowLayer
from .base import Layer
from .shape import ZeroPadding2D, _padding_pairs


class Cropping2D(Layer):
    """a = x without its border: rows top … H − bottom − 1, columns left … W − right − 1.

    Keras 3's ``Cropping2D``. The forward pass is a view of x (no copy);
    backward puts δ inside a border of zeros, since the cut pixels do not reach
    the output (∂a/∂x is 1 inside, 0 on the border).

    Parameters
    ----------
    cropping : int, (int, int) or ((top, bottom), (left, right)), default ((0, 0), (0, 0))
        An int crops all four sides alike; a pair crops height and width
        symmetrically.
    data_format : None or "channels_last"
        "channels_first" is refused (netfit is channels-last).

    Shapes
    ------
    x : (n, H, W, C)  ->  a : (n, H − top − bottom, W − left − right, C); also (n, H, W) images

    Examples
    --------
    >>> import numpy as np
    >>> layer = Cropping2D(((0, 1), (1, 0))); layer.setup((3, 3))
    (2, 2)
    >>> layer.forward(np.arange(9.0).reshape(1, 3, 3))[0]
    array([[1., 2.],
           [4., 5.]])
    """

    runs_on_gpu = True

    def __init__(self, cropping=((0, 0), (0, 0)), data_format=None, **kwargs):
        super().__init__(**kwargs)
        pairs = _padding_pairs(cropping)
        if pairs is None:
            raise ValueError(f"{self.display_name}: expected cropping a non-negative int, a pair of them, or "
                             f"((top, bottom), (left, right)), got {cropping!r}.")
        _keras_args.data_format(data_format, self.display_name)
        self.cropping = pairs

    def build(self, input_shape):
        if len(input_shape) not in (2, 3):
            raise ValueError(f"{self.display_name}: expected per-example input of shape (height, width, "
                             f"channels) or (height, width), got input shape {tuple(input_shape)}.")
        (top, bottom), (left, right) = self.cropping
        h, w = input_shape[0] - top - bottom, input_shape[1] - left - right
        if h < 1 or w < 1:
            raise ValueError(f"{self.display_name}: expected cropping smaller than the input, got cropping "
                             f"{self.cropping} for input shape {tuple(input_shape)} (nothing would be left); "
                             f"crop less.")
        self._inside = (slice(None), slice(top, top + h), slice(left, left + w))
        return (h, w) + tuple(input_shape[2:])

    def forward(self, x, training=False, call=None):
        self.check_input(x)
        return x[self._inside]                                          # a view: the inside of x

    def backward(self, delta, call=None):
        call = self.record(call)
        if not call.need_input_grad:
            return None
        s = call.buffer("s", (delta.shape[0],) + self.input_shape, delta.dtype)
        s.fill(0)                                                       # ∂a/∂x: 0 on the border,
        s[self._inside] = delta                                         # 1 inside
        return s

    def get_config(self):
        return {**super().get_config(), "cropping": [list(p) for p in self.cropping]}


class Cropping1D(RowLayer):
    """a = x without its first ``start`` and last ``end`` steps; backward puts δ back between zeros.

    Keras 3's ``Cropping1D``: :class:`Cropping2D` on one-row images.

    Parameters
    ----------
    cropping : int or (int, int), default (1, 1)
        Steps cut at the start and at the end; an int cuts both alike.

    Shapes
    ------
    x : (n, L, C)  ->  a : (n, L − start − end, C)

    Examples
    --------
    >>> import numpy as np
    >>> layer = Cropping1D((1, 2)); layer.setup((5, 1))
    (2, 1)
    >>> layer.forward(np.arange(5.0).reshape(1, 5, 1))[0, :, 0]
    array([1., 2.])
    """

    def __init__(self, cropping=(1, 1), **kwargs):
        super().__init__(**kwargs)
        self.cropping = _keras_args.ints(cropping, 2, self.display_name, "cropping", minimum=0)

    def _check_steps(self, steps):
        if sum(self.cropping) >= steps:
            raise ValueError(f"{self.display_name}: expected cropping smaller than the input, got cropping "
                             f"{self.cropping} for {steps} steps (nothing would be left); crop less.")

    def _relative(self):
        return Cropping2D(((0, 0), self.cropping), name=self.display_name)

    def get_config(self):
        return {**super().get_config(), "cropping": list(self.cropping)}


class ZeroPadding1D(RowLayer):
    """a = [0 … 0, x, 0 … 0]: ``start`` zero steps before each sequence and ``end`` after; backward crops δ.

    Keras 3's ``ZeroPadding1D``: :class:`~netfit.layers.ZeroPadding2D` on one-row images.

    Parameters
    ----------
    padding : int or (int, int), default 1
        Zero steps added at the start and at the end; an int pads both alike.

    Shapes
    ------
    x : (n, L, C)  ->  a : (n, start + L + end, C)

    Examples
    --------
    >>> import numpy as np
    >>> layer = ZeroPadding1D((2, 1)); layer.setup((2, 1))
    (5, 1)
    >>> layer.forward(np.array([[[1.0], [2.0]]]))[0, :, 0]
    array([0., 0., 1., 2., 0.])
    """

    def __init__(self, padding=1, **kwargs):
        super().__init__(**kwargs)
        self.padding = _keras_args.ints(padding, 2, self.display_name, "padding", minimum=0)

    def _relative(self):
        return ZeroPadding2D(((0, 0), self.padding), name=self.display_name)

    def get_config(self):
        return {**super().get_config(), "padding": list(self.padding)}
