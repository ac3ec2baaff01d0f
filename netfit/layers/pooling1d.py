"""1-D pooling: the 2-D poolings (``pooling``) on sequences viewed as images one row high (``_rows``).

MaxPooling1D(p) is MaxPooling2D((1, p)) on (n, 1, L, C): the same offset loop,
winners, "same" padding and GPU path; the global poolings reduce over the steps.
"""
from . import _keras_args
from ._patches import padding_name
from ._rows import RowLayer, check_window
from .pooling import AveragePooling2D, GlobalAveragePooling2D, GlobalMaxPooling2D, MaxPooling2D


class _Pooling1D(RowLayer):
    """What MaxPooling1D and AveragePooling1D share: Keras's arguments and the window check."""

    _relative_class = None

    def __init__(self, pool_size=2, strides=None, padding="valid", data_format=None, **kwargs):
        super().__init__(**kwargs)
        where = self.display_name
        (self.pool_size,) = _keras_args.ints(pool_size, 1, where, "pool_size")
        (self.strides,) = (self.pool_size,) if strides is None else _keras_args.ints(strides, 1, where, "strides")
        self.padding = padding_name(padding, where)
        _keras_args.data_format(data_format, where)

    def _check_steps(self, steps):
        check_window(self.display_name, steps, self.pool_size, self.padding)

    def _relative(self):
        return self._relative_class((1, self.pool_size), (1, self.strides), self.padding, name=self.display_name)

    def get_config(self):
        return {**super().get_config(), "pool_size": [self.pool_size], "strides": [self.strides],
                "padding": self.padding}


class MaxPooling1D(_Pooling1D):
    """a_tc = max over the window of x[t·s + u, c]; δ goes to the winner (the first, on ties).

    Keras 3's ``MaxPooling1D``; "same" padding pads with −∞ (a padded step never wins).

    Parameters
    ----------
    pool_size : int or (int,)
    strides : int or (int,) or None
        None means ``pool_size`` (windows side by side).
    padding : {"valid", "same"}
        As in :class:`~netfit.layers.Conv1D`: out = ⌊(L − p) / s⌋ + 1 or ⌈L / s⌉.
    data_format : None or "channels_last"
        "channels_first" is refused.

    Shapes
    ------
    x : (n, L, C)  ->  a : (n, out, C)

    Examples
    --------
    >>> import numpy as np
    >>> layer = MaxPooling1D(2); layer.setup((5, 1))
    (2, 1)
    >>> layer.forward(np.array([[[1.0], [3.0], [2.0], [0.0], [9.0]]]))[0, :, 0]
    array([3., 2.])
    """

    _relative_class = MaxPooling2D


class AveragePooling1D(_Pooling1D):
    """a_tc = mean over the window of x[t·s + u, c]; δ is shared evenly by the window's steps.

    Keras 3's ``AveragePooling1D``; with "same" padding the mean is over the real
    steps only (padding is not counted), as in Keras.

    Parameters
    ----------
    pool_size : int or (int,)
    strides : int or (int,) or None
    padding : {"valid", "same"}
    data_format : None or "channels_last"

    Shapes
    ------
    x : (n, L, C)  ->  a : (n, out, C)

    Examples
    --------
    >>> import numpy as np
    >>> layer = AveragePooling1D(2, padding="same"); layer.setup((3, 1))
    (2, 1)
    >>> layer.forward(np.array([[[1.0], [3.0], [8.0]]]))[0, :, 0]
    array([2., 8.])
    """

    _relative_class = AveragePooling2D


class _GlobalPooling1D(RowLayer):
    """What both global 1-D poolings share: ``keepdims`` and the output shape (C,) or (1, C)."""

    _relative_class = None

    def __init__(self, data_format=None, keepdims=False, **kwargs):
        super().__init__(**kwargs)
        _keras_args.data_format(data_format, self.display_name)
        if not isinstance(keepdims, bool):
            raise TypeError(f"{self.display_name}: expected keepdims True or False, got {keepdims!r}.")
        self.keepdims = keepdims

    def _relative(self):
        return self._relative_class(name=self.display_name)

    def _output_shape(self, shape):
        return (1,) + shape if self.keepdims else shape

    def get_config(self):
        return {**super().get_config(), "keepdims": self.keepdims}


class GlobalAveragePooling1D(_GlobalPooling1D):
    """a_c = (1 / L) Σ_t x_tc: one number per channel, its mean over the steps.

    Keras 3's ``GlobalAveragePooling1D``; its ``mask`` call argument has no
    counterpart (netfit has no masks).

    Parameters
    ----------
    data_format : None or "channels_last"
    keepdims : bool
        True keeps the steps axis, of length 1.

    Shapes
    ------
    x : (n, L, C)  ->  a : (n, C), or (n, 1, C) with keepdims

    Examples
    --------
    >>> import numpy as np
    >>> layer = GlobalAveragePooling1D(); layer.setup((4, 2))
    (2,)
    >>> layer.forward(np.arange(8.0).reshape(1, 4, 2))
    array([[3., 4.]])
    """

    _relative_class = GlobalAveragePooling2D


class GlobalMaxPooling1D(_GlobalPooling1D):
    """a_c = max_t x_tc: one number per channel; δ_c goes to the step of that maximum (the first, on ties).

    Keras 3's ``GlobalMaxPooling1D``.

    Parameters
    ----------
    data_format : None or "channels_last"
    keepdims : bool

    Shapes
    ------
    x : (n, L, C)  ->  a : (n, C), or (n, 1, C) with keepdims

    Examples
    --------
    >>> import numpy as np
    >>> layer = GlobalMaxPooling1D(keepdims=True); layer.setup((3, 1))
    (1, 1)
    >>> layer.forward(np.array([[[1.0], [5.0], [2.0]]]))
    array([[[5.]]])
    """

    _relative_class = GlobalMaxPooling2D
