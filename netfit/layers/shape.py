"""Layers that only rearrange: Flatten and Reshape. Their backward undoes the reshape."""
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

    def build(self, input_shape):
        return (math.prod(input_shape),)

    def forward(self, x, training=False):
        self.check_input(x)
        return x.reshape(x.shape[0], -1)

    def backward(self, delta, need_input_grad=True):
        return delta.reshape((delta.shape[0],) + self.input_shape) if need_input_grad else None


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

    def forward(self, x, training=False):
        self.check_input(x)
        return x.reshape((x.shape[0],) + self.output_shape)

    def backward(self, delta, need_input_grad=True):
        return delta.reshape((delta.shape[0],) + self.input_shape) if need_input_grad else None

    def get_config(self):
        return {**super().get_config(), "target_shape": list(self.target_shape)}
