"""Conv1D: Conv2D's weight sharing along one axis (time, or the positions of a sequence).

A sequence of L steps with C channels is an image one row high, so Conv1D is
Conv2D with (1, k) windows on an (n, 1, L, C) view (``_rows``): the same im2col
products, buffers and GPU path, a kernel in Keras's (k, C, f) layout.
"""
from .. import initializers
from ..utils import check_positive_int
from . import _keras_args
from ._rows import RowConv, check_steps, check_window, lift
from .conv import Conv2D

PADDINGS = ("valid", "same", "causal")


class Conv1D(RowConv):
    """1-D convolution, a_tf = σ(b_f + Σ_uc x[t·s + u, c] w_ucf), channels last.

    Keras 3's ``Conv1D``: one kernel of k steps per filter, slid along the
    sequence by s steps (a cross-correlation, the kernel is not flipped).

    Parameters
    ----------
    filters : int
        Number of output channels f.
    kernel_size, strides : int or (int,)
        Window k and step s.
    padding : {"valid", "same", "causal"}
        "valid": windows inside the sequence, out = ⌊(L − k) / s⌋ + 1. "same":
        out = ⌈L / s⌉, zero padding max((out − 1)·s + k − L, 0), the odd step at
        the end (Keras, TensorFlow). "causal": k − 1 zeros before the sequence and
        none after, so output t sees steps ≤ t·s only; out = ⌈L / s⌉ (Keras, WaveNet).
    data_format : None or "channels_last"
        Keras's argument; "channels_first" is refused (netfit is channels-last).
    dilation_rate, groups : 1
        Keras's arguments; other values are refused (no dilated or grouped kernels).
    activation : str or None
    use_bias : bool
    kernel_initializer, bias_initializer : str or Initializer
        The kernel's fans are k·C (in) and k·f (out), as in Keras.

    Shapes
    ------
    x : (n, L, C)  ->  a : (n, out, f); kernel (k, C, f), bias (f,) (Keras's layouts)

    Examples
    --------
    >>> import numpy as np
    >>> layer = Conv1D(1, 2, kernel_initializer="ones")
    >>> layer.setup((4, 1))
    (3, 1)
    >>> layer.forward(np.array([[[1.0], [2.0], [3.0], [4.0]]]))[0, :, 0]
    array([3., 5., 7.], dtype=float32)
    >>> Conv1D(1, 3, padding="causal").setup((4, 1))
    (4, 1)
    """

    def __init__(self, filters, kernel_size, strides=1, padding="valid", data_format=None, dilation_rate=1,
                 groups=1, activation=None, use_bias=True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", **kwargs):
        super().__init__(activation, **kwargs)
        where = self.display_name
        self.filters = check_positive_int(filters, where, "filters")
        (self.kernel_size,) = _keras_args.ints(kernel_size, 1, where, "kernel_size")
        (self.strides,) = _keras_args.ints(strides, 1, where, "strides")
        if not isinstance(padding, str) or padding.lower() not in PADDINGS:
            raise ValueError(f"{where}: expected padding 'valid', 'same' or 'causal', got {padding!r}.")
        self.padding = padding.lower()
        _keras_args.data_format(data_format, where)
        _keras_args.dilation_rate(dilation_rate, 1, where)
        if check_positive_int(groups, where, "groups") != 1:
            raise ValueError(f"{where}: expected groups 1 (netfit has no grouped convolutions), got {groups}; "
                             f"use one Conv1D per group on its channels, or groups=1.")
        self.use_bias = bool(use_bias)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)

    def build(self, input_shape):
        steps, channels = check_steps(self.display_name, input_shape)
        causal = self.padding == "causal"
        self._front = self.kernel_size - 1 if causal else 0       # causal: k − 1 zeros first, then "valid"
        check_window(self.display_name, steps + self._front, self.kernel_size, "valid" if causal else self.padding,
                     "kernel_size")
        relative = Conv2D(self.filters, (1, self.kernel_size), (1, self.strides), "valid" if causal else self.padding,
                          use_bias=self.use_bias, kernel_initializer=self.kernel_initializer,
                          bias_initializer=self.bias_initializer, name=self.display_name)
        return lift(self, relative, (steps + self._front, channels))[1:]

    def get_config(self):
        return {**super().get_config(), "filters": self.filters, "kernel_size": [self.kernel_size],
                "strides": [self.strides], "padding": self.padding, "use_bias": self.use_bias,
                "kernel_initializer": initializers.serialize(self.kernel_initializer),
                "bias_initializer": initializers.serialize(self.bias_initializer)}
