"""Pooling: summarize each window of each channel by its maximum or its mean.

A pooling layer has no weights. It reads the input through the same windows
as Conv2D (see ``_patches``) but channel by channel, and loops over the
kh·kw window offsets only: offset (i, j) of every window at once is one
strided slice of the batch. In the common case (stride = pool size, no
padding) the windows tile the image, the slices are a reshape view of x
(x.reshape(n, out_h, kh, out_w, kw, C)[:, :, i, :, j]) read without a copy,
and backward writes every input pixel once; otherwise (overlapping windows,
"same" padding) the input is padded into a scratch buffer and backward adds
up each pixel's share. (An offset loop of np.maximum measured ~2.4× faster
than ``reshape(...).max(axis=(2, 4))``.) Max pooling notes each window's
winning offset during a training forward pass, so that backward is one masked
product per offset written straight into s: forward plus backward of the MNIST
CNN's first pooling layer went from 12.6 to 9.1 ms (batch 128, one core).
The offsets' passes run a few examples at a time (:func:`netfit.parallel.in_pieces`),
so that only the first reads them from memory: the residual CNN's first pooling
layer (batch 128, one core) went from 7.1 to 4.2 ms forward, 4.9 to 3.3 backward.
Where numba is installed (netfit[fast]), max pooling over tiling windows runs
one compiled loop each way instead (:mod:`netfit._kernels`, 9.4 to 3.3 ms),
with the same results bit for bit; the NumPy code stays for everything else.
"""
import numpy as np

from .. import _kernels, backend, parallel
from ..config import dtype as _default_dtype
from ._patches import Windows, pair, padding_name
from .base import Layer


def _float(x):
    """x, as the default float type if it is not floating already (pooling means divide)."""
    return x if x.dtype.kind == "f" else x.astype(_default_dtype())


def _in_pieces(fn, array):
    """fn(lo, hi) run a few examples of ``array`` at a time on the host (:func:`netfit.parallel.in_pieces`).

    The pooling passes go offset by offset over the same examples; on a piece the
    size of the cache, only the first pass reads them from memory. On a GPU: fn.
    """
    if not backend.on_host(array):
        return fn
    return parallel.in_pieces(fn, array.nbytes // max(1, len(array)))


def _part(array, lo, hi):
    """Rows lo … hi − 1 of array, or None for None."""
    return None if array is None else array[lo:hi]


class _Pooling2D(Layer):
    """What max and average pooling share: arguments, window geometry, output and input-gradient buffers."""

    keras_only = Layer.keras_only + ("data_format",)

    def __init__(self, pool_size=2, strides=None, padding="valid", **kwargs):
        super().__init__(**kwargs)
        where = self.display_name
        self.pool_size = pair(pool_size, where, "pool_size")
        self.strides = self.pool_size if strides is None else pair(strides, where, "strides")
        self.padding = padding_name(padding, where)

    def build(self, input_shape):
        win = self._win = Windows(self.display_name, input_shape, self.pool_size, self.strides, self.padding)
        # Windows that tile the image touch each pixel at most once: backward may assign, not add.
        self._disjoint = win.tiles
        self._covered = win.tiles and (win.out_h * win.kh, win.out_w * win.kw) == (win.h, win.w)
        return (win.out_h, win.out_w) + ((win.c,) if len(input_shape) == 3 else ())

    def _output(self, x, call):
        win = self._win
        return call.buffer("a", (x.shape[0], win.out_h, win.out_w, win.c), x.dtype)

    def _spread(self, share, n, dtype, call):
        """s: ds[window offset k] (+)= share(k, out) for each offset k, then cropped to the input.

        ``share(k, out, lo, hi)`` returns offset k's part of δ for examples lo … hi − 1,
        (hi − lo, out_h, out_w, C), computed into ``out``. When the windows tile the
        image, ``out`` is the strided slice of ds itself, so each pixel is written once
        and nothing is copied. Runs in blocks of examples (:mod:`netfit.parallel`).
        """
        win = self._win
        ds = call.buffer("ds", (n,) + win.padded_shape, dtype)
        part = None if self._disjoint else call.buffer("part", (n, win.out_h, win.out_w, win.c), dtype)

        def block(lo, hi):
            d = ds[lo:hi]
            if not self._disjoint:
                d.fill(0)                                # overlapping windows add up their shares
            elif not self._covered:
                d[:, win.out_h * win.kh:] = 0            # rows and columns no window covers
                d[:, :, win.out_w * win.kw:] = 0         # get no error
            for k, (_, _, idx) in enumerate(win.offsets):
                if self._disjoint:
                    share(k, d[idx], lo, hi)
                else:
                    d[idx] += share(k, part[lo:hi], lo, hi)

        parallel.rows(_in_pieces(block, ds), n, ds.size)
        return win.restore(win.crop(ds))

    def get_config(self):
        return {**super().get_config(), "pool_size": list(self.pool_size), "strides": list(self.strides),
                "padding": self.padding}


class MaxPooling2D(_Pooling2D):
    """a_pqc = max over the window of x[p·sh + u, q·sw + v, c]; δ goes to the winner.

    ∂a/∂x is 1 at the window's maximum and 0 elsewhere, so backward hands each
    δ_pqc to one pixel: the first maximum in row-major window order when there
    are ties (e.g. all zeros after a ReLU). "same" padding pads with −∞, so a
    padded pixel never wins. ``forward(x, training=True)`` notes the winners as
    it goes (one byte per output); backward after an inference forward finds
    them again from x and a.

    Parameters
    ----------
    pool_size : int or (int, int)
    strides : int or (int, int) or None
        None means ``pool_size`` (non-overlapping windows).
    padding : {"valid", "same"}
        As in :class:`~netfit.layers.Conv2D`.

    Shapes
    ------
    x : (n, H, W, C)  ->  a : (n, out_h, out_w, C); (n, H, W) -> (n, out_h, out_w)

    Examples
    --------
    >>> import numpy as np
    >>> layer = MaxPooling2D(2); layer.setup((4, 4))
    (2, 2)
    >>> layer.forward(np.arange(16.0).reshape(1, 4, 4))
    array([[[ 5.,  7.],
            [13., 15.]]])
    """

    runs_on_gpu = True

    def forward(self, x, training=False, call=None):
        call = self.record(call)
        self.check_input(x)
        win = self._win
        x = _float(win.nhwc(x))
        a = self._output(x, call)
        # Training also records the winner: the offset k whose pixel is each window's maximum,
        # so that backward need not search the windows again.
        winner = call.winner = self._winner_buffer(a.shape, call) if training else None
        # Tiling windows: one compiled pass where numba is installed (netfit[fast]); the same result below.
        if self._disjoint and self.xp is np and _kernels.enabled() and all(parallel.rows(
                lambda lo, hi: _kernels.max_pool_forward(x[lo:hi], a[lo:hi], _part(winner, lo, hi), win.kh,
                                                         win.kw), len(x), x.size)):
            xp = x
        else:
            xp = win.pad(x, call.buffer, x.dtype, fill=-np.inf)
            gain = None if winner is None else call.buffer("gain", a.shape, winner.dtype)
            parallel.rows(_in_pieces(lambda lo, hi: self._max_offsets(xp[lo:hi], a[lo:hi], _part(winner, lo, hi),
                                                                      _part(gain, lo, hi)), xp), len(x), xp.size)
        call.padded, call.a = xp, a
        return win.restore(a)

    def _max_offsets(self, xp, a, winner, gain):
        """a = running maximum over the window offsets, winner (if not None) = the offset of the first maximum.

        ``gain`` is scratch of winner's shape and type (None without winner).
        """
        (_, _, first), *rest = self._win.offsets
        np.copyto(a, xp[first])
        if winner is not None:
            winner.fill(0)
        for k, (_, _, idx) in enumerate(rest, 1):
            if winner is not None:
                np.greater(xp[idx], a, out=gain)         # only a strictly greater value takes over,
                gain *= k                                # so the first maximum keeps a tie; k where
                np.maximum(winner, gain, out=winner)     # offset k takes over, else 0; k grows, so the last stays
            np.maximum(a, xp[idx], out=a)                # running maximum over window offsets

    def _winner_buffer(self, shape, call):
        """(n, out_h, out_w, C), uninitialized, of the smallest unsigned type that holds every offset k."""
        return call.buffer("winner", shape, np.min_scalar_type(len(self._win.offsets) - 1))

    def _find_winner(self, call):
        """The winners from the stored x and a, after a forward pass that did not record them."""
        winner, hit = self._winner_buffer(call.a.shape, call), call.buffer("hit", call.a.shape, bool)
        winner.fill(0)
        for k, (_, _, idx) in reversed(list(enumerate(self._win.offsets))):
            np.equal(call.padded[idx], call.a, out=hit)
            np.copyto(winner, k, where=hit)              # going backwards, the first maximum writes last
        return winner

    def backward(self, delta, call=None):
        call = self.record(call)
        if not call.need_input_grad:
            return None
        win = self._win
        delta = win.nhwc(delta)
        winner = self._find_winner(call) if call.winner is None else call.winner
        if self._disjoint:                               # one compiled pass writes all of s (netfit[fast])
            ds = call.buffer("ds", (delta.shape[0],) + win.padded_shape, delta.dtype)
            if self.xp is np and _kernels.enabled() and all(parallel.rows(
                    lambda lo, hi: _kernels.max_pool_backward(delta[lo:hi], winner[lo:hi], ds[lo:hi], win.kh,
                                                              win.kw), len(ds), ds.size)):
                return win.restore(ds)
        hit = call.buffer("hit", winner.shape, bool)

        def winner_delta(k, out, lo, hi):
            np.equal(winner[lo:hi], k, out=hit[lo:hi])
            return np.multiply(delta[lo:hi], hit[lo:hi], out=out)     # ∂R/∂x = δ at the winner, 0 elsewhere

        return self._spread(winner_delta, delta.shape[0], delta.dtype, call)


class AveragePooling2D(_Pooling2D):
    """a_pqc = mean over the window of x[p·sh + u, q·sw + v, c]; δ is spread evenly.

    ∂a/∂x = 1/m for each of the window's m pixels. With "same" padding the mean
    is over the real pixels only (m counts no padding), as in Keras.

    Parameters
    ----------
    pool_size : int or (int, int)
    strides : int or (int, int) or None
        None means ``pool_size``.
    padding : {"valid", "same"}

    Shapes
    ------
    x : (n, H, W, C)  ->  a : (n, out_h, out_w, C); (n, H, W) -> (n, out_h, out_w)

    Examples
    --------
    >>> import numpy as np
    >>> layer = AveragePooling2D(2, padding="same"); layer.setup((3, 3, 1))
    (2, 2, 1)
    >>> layer.forward(np.arange(9.0).reshape(1, 3, 3, 1))[0, :, :, 0]
    array([[2. , 3.5],
           [6.5, 8. ]])
    """

    runs_on_gpu = True

    def build(self, input_shape):
        shape = super().build(input_shape)
        count = self._win.coverage()[:, :, None]        # m_pq, real pixels in window (p, q)
        self._inv_count = 1.0 / count if count.min() != count.max() else 1.0 / int(count.flat[0])
        return shape

    def _scale(self, dtype):
        inv = self._inv_count
        return inv if isinstance(inv, float) else self.xp.asarray(inv.astype(dtype))     # (uploaded on a GPU)

    def forward(self, x, training=False, call=None):
        call = self.record(call)
        self.check_input(x)
        win = self._win
        x = _float(win.nhwc(x))
        xp = win.pad(x, call.buffer, x.dtype, fill=0.0)
        a = self._output(x, call)
        (_, _, first), *rest = win.offsets
        scale = self._scale(a.dtype)

        def block(lo, hi):                               # examples lo … hi − 1 (netfit.parallel)
            part, xq = a[lo:hi], xp[lo:hi]
            np.copyto(part, xq[first])
            for _, _, idx in rest:
                part += xq[idx]                          # window sums, offset by offset
            part *= scale                                # ... divided by m_pq

        parallel.rows(_in_pieces(block, xp), len(a), xp.size)
        return win.restore(a)

    def backward(self, delta, call=None):
        call = self.record(call)
        if not call.need_input_grad:
            return None
        delta = self._win.nhwc(delta)
        scale = self._scale(delta.dtype)
        if self._disjoint:
            def share(k, out, lo, hi):
                return np.multiply(delta[lo:hi], scale, out=out)    # every pixel of the window gets δ/m
        else:
            scaled = np.multiply(delta, scale, out=call.buffer("scaled", delta.shape, delta.dtype))
            def share(k, out, lo, hi):
                return scaled[lo:hi]                         # the same δ/m for every offset
        return self._spread(share, delta.shape[0], delta.dtype, call)


class _GlobalPooling2D(Layer):
    """What both global poolings share: (H, W[, C]) images in, one number per channel out."""

    keras_only = Layer.keras_only + ("data_format", "keepdims")

    runs_on_gpu = True

    def build(self, input_shape):
        if len(input_shape) not in (2, 3):
            raise ValueError(f"{self.display_name}: expected per-example input of shape (height, width, "
                             f"channels) or (height, width), got input shape {input_shape}.")
        self._hw = input_shape[0] * input_shape[1]
        return (input_shape[2] if len(input_shape) == 3 else 1,)

    def _pixels(self, x):
        """x checked, as floats, viewed as (n, H·W, C)."""
        self.check_input(x)
        x = _float(x)
        return x.reshape(x.shape[0], self._hw, self.output_shape[0])


class GlobalAveragePooling2D(_GlobalPooling2D):
    """a_c = (1 / HW) Σ_pq x_pqc: one number per channel, the mean of its feature map.

    Shapes
    ------
    x : (n, H, W, C)  ->  a : (n, C); (n, H, W) -> (n, 1)

    Examples
    --------
    >>> import numpy as np
    >>> layer = GlobalAveragePooling2D(); layer.setup((2, 2, 3))
    (3,)
    >>> layer.forward(np.ones((1, 2, 2, 3)))
    array([[1., 1., 1.]])
    """

    def forward(self, x, training=False, call=None):
        call = self.record(call)
        flat = self._pixels(x)
        a = call.buffer("a", (flat.shape[0], flat.shape[2]), flat.dtype)
        np.sum(flat, axis=1, out=a)
        a *= 1.0 / self._hw
        return a

    def backward(self, delta, call=None):
        call = self.record(call)
        if not call.need_input_grad:
            return None
        n, c = delta.shape
        h, w = self.input_shape[:2]
        ds = call.buffer("ds", (n, h, w, c), delta.dtype)
        np.multiply(delta[:, None, None, :], 1.0 / self._hw, out=ds)   # ∂a_c/∂x_pqc = 1/HW everywhere
        return ds.reshape((n,) + self.input_shape)


class GlobalMaxPooling2D(_GlobalPooling2D):
    """a_c = max_pq x_pqc: one number per channel, the largest value of its feature map.

    Backward routes δ_c to the position of that maximum (the first, in row-major
    order, when several tie), as max pooling does within a window:
    s_pqc = δ_c if (p, q) = argmax, else 0.

    Shapes
    ------
    x : (n, H, W, C)  ->  a : (n, C); (n, H, W) -> (n, 1)

    Examples
    --------
    >>> import numpy as np
    >>> layer = GlobalMaxPooling2D(); layer.setup((2, 2, 1))
    (1,)
    >>> layer.forward(np.array([[[[1.0], [4.0]], [[3.0], [2.0]]]]))
    array([[4.]])
    """

    def forward(self, x, training=False, call=None):
        call = self.record(call)
        flat = self._pixels(x)
        call.winner = flat.argmax(axis=1)                                  # (n, C): where each maximum is
        return np.take_along_axis(flat, call.winner[:, None, :], axis=1)[:, 0, :]

    def backward(self, delta, call=None):
        call = self.record(call)
        if not call.need_input_grad:
            return None
        n, c = delta.shape
        ds = call.buffer("ds", (n, self._hw, c), delta.dtype)
        ds.fill(0)
        # δ_c to the argmax only: put_along_axis's own indexing, written out (CuPy 13 has no put_along_axis)
        ds[self.xp.arange(n)[:, None], call.winner, self.xp.arange(c)] = delta
        return ds.reshape((n,) + self.input_shape)
