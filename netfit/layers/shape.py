"""Layers that only rearrange: Flatten, Reshape and ZeroPadding2D. Their backward undoes the rearrangement."""
import math

import numpy as np

from .base import Layer, _check_shape


class Flatten(Layer):
    """Flatten each example to a vector: a 16×16 image becomes a point in R^256.

    Shapes
    ------
    x : (n, d1, d2, ...)  ->  a : (n, d1·d2·...)

    Examples
    --------
    >>> import numpy as np
    >>> Flatten(input_shape=(28, 28)).setup((28, 28))
    (784,)
    """

    keras_only = Layer.keras_only + ("data_format",)

    blas_bound = True
    runs_on_gpu = True

    def build(self, input_shape):
        return (math.prod(input_shape),)

    def forward(self, x, training=False, call=None):
        self.check_input(x)
        return x.reshape(x.shape[0], -1)

    def backward(self, delta, call=None):
        return delta.reshape((delta.shape[0],) + self.input_shape) if self.record(call).need_input_grad else None


class Reshape(Layer):
    """Reshape each example to ``target_shape`` (one entry may be -1).

    Shapes
    ------
    x : (n, *input_shape)  ->  a : (n, *target_shape)

    Examples
    --------
    >>> Reshape((28, 28, 1)).setup((28, 28))
    (28, 28, 1)
    """

    blas_bound = True
    runs_on_gpu = True

    def __init__(self, target_shape, **kwargs):
        super().__init__(**kwargs)
        if isinstance(target_shape, (str, bytes)) or not hasattr(target_shape, "__iter__") or not all(
                isinstance(d, (int, np.integer)) and not isinstance(d, (bool, np.bool_)) for d in target_shape):
            raise TypeError(f"Reshape: expected target_shape a tuple of integers, e.g. (28, 28, 1), "
                            f"got {target_shape!r}.")
        target = tuple(int(d) for d in target_shape)
        if target.count(-1) > 1 or any(d == 0 or d < -1 for d in target):
            raise ValueError(f"Reshape: expected target_shape of positive sizes with at most one -1, "
                             f"got {target_shape!r}.")
        self.target_shape = target

    def build(self, input_shape):
        size = math.prod(input_shape)
        known = math.prod(d for d in self.target_shape if d != -1)
        if -1 in self.target_shape:
            if size % known:
                raise ValueError(f"{self.display_name}: cannot reshape {input_shape} into {self.target_shape}.")
            return _check_shape(tuple(size // known if d == -1 else d for d in self.target_shape), "Reshape")
        if known != size:
            raise ValueError(f"{self.display_name}: cannot reshape input of shape {input_shape} "
                             f"({size} values) into {self.target_shape} ({known} values).")
        return self.target_shape

    def forward(self, x, training=False, call=None):
        self.check_input(x)
        return x.reshape((x.shape[0],) + self.output_shape)

    def backward(self, delta, call=None):
        return delta.reshape((delta.shape[0],) + self.input_shape) if self.record(call).need_input_grad else None

    def get_config(self):
        return {**super().get_config(), "target_shape": list(self.target_shape)}


def _padding_pairs(padding):
    """Keras's ZeroPadding2D padding, as ((top, bottom), (left, right)), or None if malformed."""
    def is_int(v):
        return isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_)) and v >= 0
    if is_int(padding):
        return ((int(padding),) * 2,) * 2
    if isinstance(padding, (tuple, list)) and len(padding) == 2:
        if all(is_int(p) for p in padding):
            return tuple((int(p), int(p)) for p in padding)                  # (symmetric h, symmetric w)
        if all(isinstance(p, (tuple, list)) and len(p) == 2 and all(is_int(v) for v in p) for p in padding):
            return tuple((int(p[0]), int(p[1])) for p in padding)
    return None


class ZeroPadding2D(Layer):
    """Surround each image with rows and columns of zeros: a = x on the inside, 0 on the border.

    Keras's ``ZeroPadding2D`` (channels-last). Backward crops: s = δ without the
    border, since the zeros do not depend on x.

    Parameters
    ----------
    padding : int, (int, int) or ((top, bottom), (left, right)), default (1, 1)
        Zeros added on each side; an int pads all four sides alike, a pair pads
        height and width symmetrically.

    Shapes
    ------
    x : (n, H, W, C)  ->  a : (n, top + H + bottom, left + W + right, C); also (n, H, W) images

    Examples
    --------
    >>> import numpy as np
    >>> layer = ZeroPadding2D(((0, 1), (1, 0))); layer.setup((1, 2))
    (2, 3)
    >>> layer.forward(np.array([[[1.0, 2.0]]]))
    array([[[0., 1., 2.],
            [0., 0., 0.]]])
    """

    keras_only = Layer.keras_only + ("data_format",)

    runs_on_gpu = True

    def __init__(self, padding=(1, 1), **kwargs):
        super().__init__(**kwargs)
        pairs = _padding_pairs(padding)
        if pairs is None:
            raise ValueError(f"ZeroPadding2D: expected padding a non-negative int, a pair of them, or "
                             f"((top, bottom), (left, right)), got {padding!r}.")
        self.padding = pairs

    def build(self, input_shape):
        if len(input_shape) not in (2, 3):
            raise ValueError(f"{self.display_name}: expected per-example input of shape (height, width, "
                             f"channels) or (height, width), got input shape {input_shape}.")
        (top, bottom), (left, right) = self.padding
        h, w = input_shape[0] + top + bottom, input_shape[1] + left + right
        self._inside = (slice(None), slice(top, top + input_shape[0]), slice(left, left + input_shape[1]))
        return (h, w) + tuple(input_shape[2:])

    def forward(self, x, training=False, call=None):
        call = self.record(call)
        self.check_input(x)
        a = call.buffer("a", (x.shape[0],) + self.output_shape, x.dtype)
        a.fill(0)                                                          # the border: zeros
        a[self._inside] = x                                                # the inside: x
        return a

    def backward(self, delta, call=None):
        return delta[self._inside] if self.record(call).need_input_grad else None   # ∂a/∂x: 1 inside, 0 on the border

    def get_config(self):
        return {**super().get_config(), "padding": [list(p) for p in self.padding]}
