"""Transposed convolutions: Conv2DTranspose and Conv1DTranspose, a convolution's adjoint as a layer.

A convolution with stride s maps an image to a smaller one; its transpose maps
back, "up-sampling" with learned weights (Zeiler et al. 2010, the decoders of
U-Nets and GANs). Input pixel (p, q) adds its kernel-weighted copy
x_pq · w_uv onto output pixels (p·sh + u, q·sw + v):

    full[p·sh + u, q·sw + v, f] += Σ_c x[p, q, c] w[u, v, f, c]

which is exactly what Conv2D's backward does to its δ (col2im of the window
rows). So the forward pass here is Conv2D's input gradient and the backward
pass is Conv2D's forward: im2col of δ and one product with the kernel for s,
one with x for ∂R/∂w. The "full" output of (H − 1)·sh + kh rows is then cut to
Keras's output size (``padding``, ``output_padding``): rows cut at the top and
bottom, or zero rows added at the bottom (only the bias reaches them).
"""
import math

import numpy as np

from .. import initializers, parallel
from ..utils import check_positive_int
from . import _keras_args
from ._patches import Windows, padding_name
from ._rows import RowConv, check_steps, lift
from .base import ActivatedLayer


def transposed_length(size, k, stride, padding, output_padding=None):
    """Keras 3's output length of a transposed convolution, and where it sits in the full one.

    The full output has (size − 1)·stride + k entries. Keras (its JAX padding
    rule, which its other backends follow) keeps:

    - "valid": the full output and output_padding zeros after it, out = (size − 1)·stride
      + k + op, with op = max(k, stride) − k when None (so out ≥ size·stride);
    - "same": out = size·stride (op None) or (size − 1)·stride + k mod 2 + op, starting
      ⌊(k − stride) / 2⌋ entries in (op None), as TensorFlow's input gradient of a "same"
      convolution does.

    Returns (out, before, after): ``before`` entries of the full output are cut
    at the start, ``after`` at the end; a negative ``after`` adds that many zeros.

    Examples
    --------
    >>> transposed_length(4, 3, 2, "same"), transposed_length(4, 3, 2, "valid"), transposed_length(4, 1, 2, "same")
    ((8, 0, 1), (9, 0, 0), (8, 0, -1))
    """
    full = (size - 1) * stride + k
    if padding == "valid":
        out = full + (max(k, stride) - k if output_padding is None else output_padding)
        return out, 0, full - out
    pad = stride + k - 2 if output_padding is None else k + k % 2 - 2 + output_padding
    before = k - 1 - min(pad // 2 + pad % 2, k - 1)           # k − 1 − (JAX's left padding of the dilated input)
    out = size * stride if output_padding is None else (size - 1) * stride + k % 2 + output_padding
    return out, before, full - before - out


class Conv2DTranspose(ActivatedLayer):
    """Transposed 2-D convolution, a_ijf = σ(b_f + Σ_(p·sh+u = i, q·sw+v = j) Σ_c x_pqc w_uvfc), channels last.

    Keras 3's ``Conv2DTranspose``: each input pixel spreads its kernel-weighted
    copy over a kh×kw patch of the output, the patches s pixels apart. Its
    forward pass is the input gradient of :class:`~netfit.layers.Conv2D` (col2im
    of x·wᵀ), and its backward pass is Conv2D's forward (im2col of δ).

    Parameters
    ----------
    filters : int
        Number of output channels f.
    kernel_size, strides : int or (int, int)
    padding : {"valid", "same"}
        "valid": out = (in − 1)·s + k + output_padding. "same": out = in·s (Keras;
        the output is the input gradient of a "same" Conv2D of that size).
    output_padding : int or (int, int) or None
        Keras's: each ≥ 0 and < the stride; None: as above. With it, "same" gives
        out = (in − 1)·s + k mod 2 + output_padding.
    data_format : None or "channels_last"
        "channels_first" is refused (netfit is channels-last).
    dilation_rate : 1
        Other values are refused (no dilated kernels).
    activation : str or None
    use_bias : bool
    kernel_initializer, bias_initializer : str or Initializer
        The kernel's fans are kh·kw·f (in) and kh·kw·c_in (out): Keras's fans of a
        (kh, kw, f, c_in) kernel.

    Shapes
    ------
    x : (n, H, W, c_in)  ->  a : (n, out_h, out_w, f); kernel (kh, kw, f, c_in), bias (f,): Keras's
    layouts. The kernel is that of the Conv2D whose transpose this is (from f channels to c_in).

    Examples
    --------
    >>> import numpy as np
    >>> layer = Conv2DTranspose(1, 2, strides=2, kernel_initializer="ones")
    >>> layer.setup((2, 2, 1))
    (4, 4, 1)
    >>> layer.forward(np.array([[1.0, 2.0], [3.0, 4.0]]).reshape(1, 2, 2, 1))[0, :, :, 0]
    array([[1., 1., 2., 2.],
           [1., 1., 2., 2.],
           [3., 3., 4., 4.],
           [3., 3., 4., 4.]], dtype=float32)
    """

    runs_on_gpu = True

    def __init__(self, filters, kernel_size, strides=1, padding="valid", output_padding=None, data_format=None,
                 dilation_rate=1, activation=None, use_bias=True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", **kwargs):
        super().__init__(activation, **kwargs)
        _set_transpose_args(self, 2, filters, kernel_size, strides, padding, output_padding, data_format,
                            dilation_rate, use_bias, kernel_initializer, bias_initializer)

    def build(self, input_shape):
        if len(input_shape) != 3:
            raise ValueError(f"{self.display_name}: expected per-example input of shape (height, width, "
                             f"channels), got input shape {tuple(input_shape)}.")
        (kh, kw), (sh, sw), f, c = self.kernel_size, self.strides, self.filters, input_shape[2]
        op = self.output_padding or (None, None)
        rows = transposed_length(input_shape[0], kh, sh, self.padding, op[0])
        cols = transposed_length(input_shape[1], kw, sw, self.padding, op[1])
        # The full output's windows are the input's pixels: a "valid" convolution of it gives back H×W.
        full = ((input_shape[0] - 1) * sh + kh, (input_shape[1] - 1) * sw + kw, f)
        self._win = Windows(self.display_name, full, self.kernel_size, self.strides, "valid")
        # Where the output and the full output overlap: output[:, :m] = full[:, before:before + m].
        (out_h, top, _), (out_w, left, _) = rows, cols
        m_h, m_w = min(out_h, full[0] - top), min(out_w, full[1] - left)
        self._in_full = (slice(None), slice(top, top + m_h), slice(left, left + m_w))
        self._in_out = (slice(None), slice(0, m_h), slice(0, m_w))
        self._whole = (top, left) == (0, 0) and (m_h, m_w) == full[:2] == (out_h, out_w)
        self.add_weight("kernel", (kh, kw, f, c), self.kernel_initializer, fan_in=kh * kw * f, fan_out=kh * kw * c,
                        decay=True)
        if self.use_bias:
            self.add_weight("bias", (f,), self.bias_initializer)
        return out_h, out_w, f

    def forward(self, x, training=False, call=None):
        call = self.record(call)
        self.check_input(x)
        win, kernel, f = self._win, self.params["kernel"], self.filters
        n, (h, w, c) = x.shape[0], self.input_shape
        x2 = call.x2 = x.reshape(n * h * w, c).astype(kernel.dtype, copy=False)      # one row per input pixel
        if f == 1:          # one product makes every pixel's rows X Wᵀ, col2im adds them up (as Conv2D's s, c = 1)
            rows = call.buffer("rows", (n * h * w, kernel.size // c), kernel.dtype)
            parallel.matmul(x2, kernel.reshape(-1, c).T, out=rows)
            full = win.col2im(rows.reshape(n, h * w, -1), call.buffer)           # (n, full_h, full_w, 1)
        else:               # one kernel offset (u, v) at a time, never the whole (n·H·W, kh·kw·f) matrix
            part = call.buffer("part", (n, h, w, f), kernel.dtype)

            def column(u, v, lo, hi):                    # what every input pixel adds at offset (u, v)
                self.xp.matmul(x2[lo * h * w:hi * h * w], kernel[u, v].T, out=part[lo:hi].reshape(-1, f))
                return part[lo:hi]

            full = win.add_back(column, n, call.buffer, kernel.dtype, exact=False)    # col2im: (n, full_h, full_w, f)
        z = call.buffer("z", (n,) + self.output_shape, kernel.dtype)
        b = self.params["bias"] if self.use_bias else 0
        if not self._whole:
            z[...] = b                                   # rows and columns past the full output: b alone
        np.add(full[self._in_full], b, out=z[self._in_out])      # the full output cut to Keras's size, plus b
        return self.activate(z, call)

    def backward(self, delta, call=None):
        call = self.record(call)
        win, f = self._win, self.filters
        dz = self.activation_backward(delta, call)                   # δ ⊙ σ'(z), (n, out_h, out_w, f)
        n, (h, w, c) = dz.shape[0], self.input_shape
        if self.use_bias:
            self.sum_rows(dz.reshape(-1, f), call.grads["bias"], call)      # ∂R/∂b_f = Σ over examples and pixels
        if self._whole:
            dfull = dz
        else:                                            # δ on the full output: 0 where it was cut away
            dfull = call.buffer("dfull", (n,) + win.image_shape, dz.dtype)
            dfull.fill(0)
            dfull[self._in_full] = dz[self._in_out]
        # Conv2D's forward on δ: row p of D holds the δ of every output pixel that input pixel p reached.
        d = win.im2col(dfull, call.buffer, dz.dtype).reshape(n * h * w, -1)        # (n·H·W, kh·kw·f)
        # ∂R/∂w_uvfc = Σ_i Σ_pq δ_i[p·sh + u, q·sw + v, f] x_ipqc: Dᵀ X
        parallel.matmul(d.T, call.x2, out=call.grads["kernel"].reshape(-1, c))
        if not call.need_input_grad:
            return None
        # s_pqc = Σ_uvf δ[p·sh + u, q·sw + v, f] w_uvfc: D W, the kernel read as (kh·kw·f, c)
        s = call.buffer("s", (n, h, w, c), dz.dtype)
        parallel.matmul(d, self.params["kernel"].reshape(-1, c), out=s.reshape(-1, c))
        return s

    def count_links(self):
        """Multiplications per example: every input pixel times the whole kernel, plus a bias per output."""
        h, w, c = self.input_shape
        return h * w * c * math.prod(self.kernel_size) * self.filters + self.use_bias * math.prod(self.output_shape)

    def get_config(self):
        return {**super().get_config(), **_transpose_config(self)}


class Conv1DTranspose(RowConv):
    """Transposed 1-D convolution, a_tf = σ(b_f + Σ_(p·s+u = t) Σ_c x_pc w_ufc), channels last.

    Keras 3's ``Conv1DTranspose``: :class:`Conv2DTranspose` with (1, k) windows on
    sequences viewed as images one row high; the same output lengths.

    Parameters
    ----------
    filters : int
    kernel_size, strides : int or (int,)
    padding : {"valid", "same"}
    output_padding : int or (int,) or None
        ≥ 0 and < the stride.
    data_format : None or "channels_last"
    dilation_rate : 1
    activation : str or None
    use_bias : bool
    kernel_initializer, bias_initializer : str or Initializer
        Fans k·f (in) and k·c_in (out), as in Keras.

    Shapes
    ------
    x : (n, L, c_in)  ->  a : (n, out, f); kernel (k, f, c_in), bias (f,) (Keras's layouts)

    Examples
    --------
    >>> import numpy as np
    >>> layer = Conv1DTranspose(1, 3, strides=2, kernel_initializer="ones")
    >>> layer.setup((10, 4))
    (21, 1)
    >>> layer.forward(np.ones((1, 10, 4)))[0, :5, 0]
    array([4., 4., 8., 4., 8.], dtype=float32)
    """

    def __init__(self, filters, kernel_size, strides=1, padding="valid", output_padding=None, data_format=None,
                 dilation_rate=1, activation=None, use_bias=True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", **kwargs):
        super().__init__(activation, **kwargs)
        _set_transpose_args(self, 1, filters, kernel_size, strides, padding, output_padding, data_format,
                            dilation_rate, use_bias, kernel_initializer, bias_initializer)

    def build(self, input_shape):
        check_steps(self.display_name, input_shape)
        (k,), (s,) = self.kernel_size, self.strides
        relative = Conv2DTranspose(self.filters, (1, k), (1, s), self.padding,
                                   None if self.output_padding is None else (0,) + self.output_padding,
                                   use_bias=self.use_bias, kernel_initializer=self.kernel_initializer,
                                   bias_initializer=self.bias_initializer, name=self.display_name)
        return lift(self, relative, input_shape)[1:]

    def get_config(self):
        return {**super().get_config(), **_transpose_config(self)}


def _set_transpose_args(layer, rank, filters, kernel_size, strides, padding, output_padding, data_format,
                        dilation_rate, use_bias, kernel_initializer, bias_initializer):
    """Check and store the arguments both transposed convolutions take (sizes as ``rank``-tuples)."""
    where = layer.display_name
    layer.filters = check_positive_int(filters, where, "filters")
    layer.kernel_size = _keras_args.ints(kernel_size, rank, where, "kernel_size")
    layer.strides = _keras_args.ints(strides, rank, where, "strides")
    layer.padding = padding_name(padding, where)
    layer.output_padding = None if output_padding is None else \
        _keras_args.ints(output_padding, rank, where, "output_padding", minimum=0)
    if layer.output_padding is not None and any(p >= s for p, s in zip(layer.output_padding, layer.strides)):
        raise ValueError(f"{where}: expected output_padding smaller than strides {strides!r}, got "
                         f"{output_padding!r} (Keras's rule: the extra rows must fit within one stride).")
    _keras_args.data_format(data_format, where)
    _keras_args.dilation_rate(dilation_rate, rank, where)
    layer.use_bias = bool(use_bias)
    layer.kernel_initializer = initializers.get(kernel_initializer)
    layer.bias_initializer = initializers.get(bias_initializer)


def _transpose_config(layer):
    return {"filters": layer.filters, "kernel_size": list(layer.kernel_size), "strides": list(layer.strides),
            "padding": layer.padding,
            "output_padding": None if layer.output_padding is None else list(layer.output_padding),
            "use_bias": layer.use_bias, "kernel_initializer": initializers.serialize(layer.kernel_initializer),
            "bias_initializer": initializers.serialize(layer.bias_initializer)}
