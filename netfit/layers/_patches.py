"""Sliding windows over channels-last images: geometry, padding, im2col and col2im.

Conv2D, LocallyConnected2D and the pooling layers all read an (n, H, W, C) batch
through kh×kw windows moved by (sh, sw) pixels. Window (p, q) covers the padded
rows p·sh … p·sh + kh − 1 and columns q·sw … q·sw + kw − 1 (the math counts
from 1, the code from 0).

im2col copies every window into one row of a matrix, its entries ordered
(kh, kw, C) like a Keras kernel, so that a convolution is one matrix product.
Its adjoint, col2im, adds the rows back onto the image. It loops over the kh·kw
kernel offsets only: offset (i, j) of all windows at once is the strided slice
xp[:, i::sh, j::sw] (cut to out_h × out_w), so each pass moves a whole batch.
"""
import numbers

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from .. import backend, parallel

PADDINGS = ("valid", "same")


def pair(value, where, name):
    """Return (a, b) from a positive int or a pair of them, or raise a clear ValueError.

    Examples
    --------
    >>> pair(3, "Conv2D", "kernel_size"), pair((2, 1), "Conv2D", "strides")
    ((3, 3), (2, 1))
    """
    items = (value, value) if isinstance(value, numbers.Integral) else value
    try:
        ok = len(items) == 2 and all(
            isinstance(v, numbers.Integral) and not isinstance(v, bool) and v >= 1 for v in items)
    except TypeError:
        ok = False
    if not ok or isinstance(value, (bool, str)):
        raise ValueError(f"{where}: expected {name} a positive integer or a pair of them, got {value!r}.")
    return int(items[0]), int(items[1])


def padding_name(value, where):
    """Return "valid" or "same" (any case), or raise a clear ValueError."""
    if not isinstance(value, str) or value.lower() not in PADDINGS:
        raise ValueError(f"{where}: expected padding 'valid' or 'same', got {value!r}.")
    return value.lower()


def channels_last(shape):
    """(H, W, C) for a per-example image shape that looks channels-first, (C, H, W); else None.

    PyTorch, torchvision and Keras's ``data_format="channels_first"`` lay images out
    (C, H, W): a leading axis of 1, 3 or 4 (grey, RGB, RGBA) before two larger ones.
    netfit's layers read (H, W, C); fed (3, 32, 32) they would see a 3-pixel-high
    picture of 32 channels.

    Examples
    --------
    >>> channels_last((3, 32, 32)), channels_last((1, 28, 28)), channels_last((32, 32, 3))
    ((32, 32, 3), (28, 28, 1), None)
    """
    shape = tuple(shape)
    if len(shape) == 3 and shape[0] in (1, 3, 4) and min(shape[1:]) >= 8:
        return shape[1], shape[2], shape[0]
    return None


#: Layers that keep an image's layout, so the layer after them reads the model's input as it came.
_SAME_LAYOUT = ("Normalization", "BatchNormalization", "LayerNormalization", "Dropout", "Activation", "ZeroPadding2D")


def check_image_layout(layers, shape):
    """Refuse a model input shape that looks channels-first when the model's first image layer reads it.

    Conv2D, LocallyConnected2D and the poolings read (H, W, C): given (3, 32, 32) they would
    build a model of 3-pixel-high pictures with 32 channels, train it without a word (or,
    for a window taller than the picture, advise padding="same", which makes it worse).
    Only the model's input is judged: inside a model, a (4, 16, 16) feature map is normal.
    A window 1 pixel high is taken as deliberate (a 1-D convolution over rows of channels).

    Raises
    ------
    ValueError
        Naming the transpose that fixes x and the input shape to give.
    """
    hwc = channels_last(shape)
    if hwc is None:
        return
    for layer in layers:
        window = getattr(layer, "kernel_size", None) or getattr(layer, "pool_size", None)
        if window is not None or type(layer).__name__.startswith("Global"):
            if window is not None and window[0] == 1:
                return
            escape = "" if window is None else (f" (If it really is {shape[0]} pixel(s) high with {shape[2]} "
                                                f"channels, use a window 1 pixel high, e.g. (1, {window[1]}).)")
            raise ValueError(f"{layer.display_name}: expected per-example input of shape (height, width, "
                             f"channels), got {tuple(shape)}, which looks channels-first (channels, height, "
                             f"width); netfit's images are channels-last: transpose them with "
                             f"`x = x.transpose(0, 2, 3, 1)` and give input_shape={hwc}.{escape}")
        if type(layer).__name__ not in _SAME_LAYOUT:
            return


def output_length(size, k, stride, padding):
    """Output length and the (before, after) zero padding along one axis, as Keras computes them.

    "valid": windows lie inside the image, out = ⌊(size − k) / stride⌋ + 1.
    "same": out = ⌈size / stride⌉, padded by max((out − 1)·stride + k − size, 0)
    in total, the odd pixel going after (bottom/right), as in TensorFlow.

    Examples
    --------
    >>> output_length(16, 3, 2, "same"), output_length(8, 5, 2, "same"), output_length(28, 3, 1, "valid")
    ((8, 0, 1), (4, 1, 2), (26, 0, 0))
    """
    if padding == "valid":
        return (size - k) // stride + 1, 0, 0
    out = -(-size // stride)
    total = max((out - 1) * stride + k - size, 0)
    return out, total // 2, total - total // 2


class Windows:
    """The kh×kw windows, moved by (sh, sw), over a layer's per-example input.

    ``input_shape`` is (H, W, C), or (H, W), read as one channel: :meth:`nhwc`
    adds the channel axis on the way in and :meth:`col2im` / :meth:`restore`
    drop it on the way back, so the layer's s has the shape its x had.
    Scratch arrays come from the owning layer's ``buffer`` (keys ``win_*``).

    Shapes
    ------
    x : (n, H, W[, C]);  im2col(x) : (n, out_h·out_w, kh·kw·C);  offsets index (n, H_pad, W_pad, C)

    Examples
    --------
    >>> win = Windows("Conv2D", (4, 4), (3, 3), (1, 1), "valid")
    >>> win.out_h, win.out_w, win.c
    (2, 2, 1)
    """

    def __init__(self, where, input_shape, size, strides, padding, key="win"):
        if len(input_shape) not in (2, 3):
            raise ValueError(f"{where}: expected per-example input of shape (height, width, channels) or "
                             f"(height, width), got input shape {tuple(input_shape)}; "
                             f"put a Reshape layer first.")
        self.image_shape = tuple(input_shape)
        self.h, self.w = input_shape[0], input_shape[1]
        self.c = input_shape[2] if len(input_shape) == 3 else 1
        (self.kh, self.kw), (self.sh, self.sw) = size, strides
        if padding == "valid" and (self.h < self.kh or self.w < self.kw):
            raise ValueError(f"{where}: expected input of at least {self.kh}×{self.kw} pixels for a "
                             f"{self.kh}×{self.kw} window with padding='valid', got input shape "
                             f"{self.image_shape}; use padding='same' or a smaller window.")
        if isinstance(padding, str):
            self.out_h, self.top, self.bottom = output_length(self.h, self.kh, self.sh, padding)
            self.out_w, self.left, self.right = output_length(self.w, self.kw, self.sw, padding)
        else:                                   # ((top, bottom), (left, right)), as :meth:`adjoint` gives
            (self.top, self.bottom), (self.left, self.right) = padding
            self.out_h = (self.h + self.top + self.bottom - self.kh) // self.sh + 1
            self.out_w = (self.w + self.left + self.right - self.kw) // self.sw + 1
        self.key = key                          # the scratch buffers' names start with it
        self.padded = self.top + self.bottom + self.left + self.right > 0
        self.padded_shape = (self.h + self.top + self.bottom, self.w + self.left + self.right, self.c)
        # Offset (i, j) of every window: rows i, i + sh, ..., i + sh·(out_h − 1) of the padded image.
        rows = [slice(i, i + self.sh * (self.out_h - 1) + 1, self.sh) for i in range(self.kh)]
        cols = [slice(j, j + self.sw * (self.out_w - 1) + 1, self.sw) for j in range(self.kw)]
        self.offsets = [(i, j, (slice(None), rows[i], cols[j]))
                        for i in range(self.kh) for j in range(self.kw)]

    def adjoint(self, channels):
        """The windows of the transposed pass, stride 1 only: one window of δ (``channels`` maps) per input pixel.

        With stride 1, z_p = Σ_u x_(p + u − top) w_u, so s_i = Σ_u δ_(i + top − u) w_u =
        Σ_u' δpad_(i + u') w_(kh − 1 − u'): a correlation of δ, padded by kh − 1 − top
        before and kh − 1 − bottom after, with the kernel flipped (likewise along
        columns). Its windows read (out_h, out_w, ·) arrays and make (H, W) of them.
        Its scratch buffers are named ``win_t_*``, apart from the forward pass's.
        """
        pads = ((self.kh - 1 - self.top, self.kh - 1 - self.bottom), (self.kw - 1 - self.left, self.kw - 1 - self.right))
        return Windows("adjoint", (self.out_h, self.out_w, channels), (self.kh, self.kw), (1, 1), pads,
                       key=self.key + "_t")

    @property
    def positions(self):
        """out_h·out_w, the number of windows per example."""
        return self.out_h * self.out_w

    @property
    def tiles(self):
        """True when the windows tile the image: stride = window, no padding (pooling's common case)."""
        return (self.kh, self.kw) == (self.sh, self.sw) and not self.padded

    def coverage(self):
        """Real (unpadded) pixels in each window: rows covered × columns covered, (out_h, out_w) ints."""
        def covered(n_out, stride, before, k, size):
            starts = np.arange(n_out) * stride - before
            return np.minimum(starts + k, size) - np.maximum(starts, 0)
        return np.outer(covered(self.out_h, self.sh, self.top, self.kh, self.h),
                        covered(self.out_w, self.sw, self.left, self.kw, self.w))

    def nhwc(self, x):
        """x as (n, H, W, C): a view that adds the channel axis to (n, H, W) input."""
        return x.reshape(x.shape[:3] + (1,)) if x.ndim == 3 and len(self.image_shape) == 2 else x

    def restore(self, s):
        """(n, h, w, 1) back to (n, h, w) when the input came without a channel axis; a view."""
        return s.reshape(s.shape[:3]) if len(self.image_shape) == 2 else s

    def pad(self, x, buffer, dtype, fill=0.0):
        """x : (n, H, W, C) inside a border of ``fill`` (a scratch copy), or x itself when unpadded."""
        if not self.padded:
            return x
        t, l, h, w = self.top, self.left, self.h, self.w
        xp = buffer(self.key + "_xp", (x.shape[0],) + self.padded_shape, dtype)
        # Only the border is filled: the inside is overwritten anyway.
        xp[:, :t] = fill
        xp[:, t + h:] = fill
        xp[:, t:t + h, :l] = fill
        xp[:, t:t + h, l + w:] = fill
        xp[:, t:t + h, l:l + w] = x
        return xp

    def crop(self, xp):
        """The image inside a padded (n, H_pad, W_pad, C) array (a view)."""
        if not self.padded:
            return xp
        return xp[:, self.top:self.top + self.h, self.left:self.left + self.w]

    def patches(self, xp):
        """All windows of the padded xp as a read-only view (n, out_h, out_w, kh, kw, C), no copy."""
        view = sliding_window_view(xp, (self.kh, self.kw), axis=(1, 2))     # (n, ., ., C, kh, kw)
        view = view[:, :self.sh * (self.out_h - 1) + 1:self.sh, :self.sw * (self.out_w - 1) + 1:self.sw]
        return view.transpose(0, 1, 2, 4, 5, 3)

    def im2col(self, x, buffer, dtype, out=None, fill=0.0):
        """Copy every window of x into a row: X[i, p, (u, v, c)] = x_pad[i, p_h·sh + u, p_w·sw + v, c].

        X goes to a scratch buffer of ``dtype``, or into ``out``: an array of the
        same entries in the same order, any strides (e.g. the first kh·kw·C columns
        of a wider (n·out_h·out_w, ·) matrix), which is returned as it is. Padded
        pixels read ``fill`` (0 unless the layer pads with another value).

        Shapes
        ------
        x : (n, H, W, C)  ->  X : (n, out_h·out_w, kh·kw·C)
        """
        n = x.shape[0]
        shape = (n, self.out_h, self.out_w, self.kh, self.kw, self.c)
        on_host = backend.on_host(x)
        cols = buffer(self.key + "_cols", shape, dtype) if out is None else \
            np.reshape(out, shape, copy=False) if on_host else out.reshape(shape)   # (a view: out is C-ordered)
        padded = self.pad(x, buffer, dtype, fill)
        if on_host:                         # example by example on the pool: any split, same bits
            parallel.rows(lambda lo, hi: np.copyto(cols[lo:hi], self.patches(padded[lo:hi]), casting="same_kind"),
                          n, cols.size)
        else:                               # on a GPU: one strided copy per kernel offset, no window view
            for i, j, idx in self.offsets:
                cols[:, :, :, i, j] = padded[idx]
        return cols.reshape(n, self.positions, -1) if out is None else out

    def times(self, padded, w, out, buffer, ones=False, after=None):
        """out = [X 1] w, X = im2col of the padded batch, made a few examples at a time; on the host.

        Written whole, X (the residual CNN's 3×3×32 convolution at batch 128: 29 MB)
        leaves the cache before the product reads it back. Here im2col writes a piece
        of ~:data:`netfit.parallel.PIECE_BYTES` into scratch and the product reads it while it is still
        in the cache (that convolution's forward pass: 10.0 to 6.7 ms on one core), and
        X is never kept: :meth:`gradient` makes it again, piece by piece. A row of out
        is the same product of the same row of X either way, though BLAS may sum a
        piece of few rows in another order than the whole (``exact=False`` in
        :func:`netfit.parallel.rows`: deterministic mode cuts the pieces from the first
        example, whatever the thread count). ``ones``: X gets a column of ones, and w
        a last row, the bias. ``after(rows)``, if given, runs on each piece's rows of
        out as soon as they are written (Conv2D's σ, while they are in the cache).

        Shapes
        ------
        padded : (n, H_pad, W_pad, C) (:meth:`pad`), w : (kh·kw·C + ones, f)  ->  out : (n·out_h·out_w, f)
        """
        n, p = padded.shape[0], self.positions

        def piece(part, rows, _):
            np.matmul(part, w, out=out[rows])
            if after is not None:
                after(rows)

        parallel.rows(lambda lo, hi: self._pieces(padded, lo, hi, w.dtype, ones, out.shape[1], piece, buffer), n,
                      2 * n * p * w.size, parallel.MIN_FLOPS, exact=False)
        return out

    def gradient(self, padded, dz, out, buffer, ones=False, before=None):
        """out = [X 1]ᵀ dz, X = im2col of the padded batch made again a piece at a time, as in :meth:`times`.

        Each block of examples sums its pieces' products; the blocks' sums are added
        in block order (one block in deterministic mode). X stored row by row, the
        product is dzᵀ X (f, k), transposed into out at the end: OpenBLAS makes it
        faster than Xᵀ dz (the residual CNN's 3×3×32 convolution: 9.6 to 7.9 ms whole).
        ``before(rows)``, if given, runs on each piece's rows of dz before they are read
        (Conv2D writes them there: δ ⊙ σ'(z), while they are in the cache).

        Shapes
        ------
        padded : (n, H_pad, W_pad, C), dz : (n·out_h·out_w, f)  ->  out : (kh·kw·C + ones, f)
        """
        n, p, f = padded.shape[0], self.positions, dz.shape[1]
        few = self._few()

        def block(lo, hi):
            total = np.empty(out.shape if few else out.shape[::-1], out.dtype)
            tmp = np.empty_like(total)

            def piece(part, rows, first):
                if before is not None:
                    before(rows)
                pair = (part.T, dz[rows]) if few else (dz[rows].T, part)
                np.matmul(*pair, out=total if first else tmp)
                if not first:
                    np.add(total, tmp, out=total)        # Σ over the pieces, in order
            self._pieces(padded, lo, hi, out.dtype, ones, f, piece, buffer)
            return total

        sums = parallel.rows(block, n, 2 * n * p * out.size, parallel.MIN_FLOPS, exact=False)
        for k, total in enumerate(sums):
            total = total if few else total.T
            if k == 0:
                np.copyto(out, total)
            else:
                out += total                             # in block order: the same bits for a thread count
        return out

    def _few(self):
        """True when a row of X is short (grey or colour images): X is then stored column by column."""
        return self.c <= 3

    def _step(self, width, dtype):
        """Examples per piece of ``width`` numbers a row: ~:data:`netfit.parallel.PIECE_BYTES`, at least one."""
        return max(1, parallel.PIECE_BYTES // (self.positions * width * np.dtype(dtype).itemsize))

    def _pieces(self, padded, lo, hi, dtype, ones, f, use, buffer):
        """use(X_piece, its rows, first) for the pieces of X from examples lo … hi − 1, in one scratch array.

        With few channels X is stored column by column, so that im2col copies
        image rows (~7× faster for one channel); BLAS takes either layout as it is.
        The scratch (~PIECE_BYTES) is the record's ``buffer`` when this block is the
        whole batch (one thread, or a thread's share of the batch), else this block's
        own: blocks of one call run at once. (Made anew at every call, in a worker
        thread it cost page faults: ~900 a step and 6 ms of system time for the
        residual CNN on two threads.)
        """
        p, k = self.positions, self.kh * self.kw * self.c
        step = self._step(k + ones + f, dtype)                       # X's piece and its f columns of z or dz
        shape = (k + ones, step * p) if self._few() else (step * p, k + ones)
        if (lo, hi) == (0, padded.shape[0]):
            scratch = buffer(self.key + "_piece", shape, dtype)
        else:
            scratch = np.empty((shape[0], min(step, hi - lo) * p) if self._few() else (min(step, hi - lo) * p, shape[1]),
                               dtype)
        scratch = scratch.T if self._few() else scratch
        if ones:
            scratch[:, k] = 1                                       # the bias's input, never overwritten
        windows = self.patches(padded)                              # a view, made once (~30 µs)
        for a in range(lo, hi, step):
            b = min(a + step, hi)
            part = scratch[:(b - a) * p]
            np.copyto(part[:, :k].reshape((b - a,) + windows.shape[1:], copy=False), windows[a:b],
                      casting="same_kind")
            use(part, slice(a * p, b * p), a == lo)

    def col2im(self, dcols, buffer):
        """Add each window's row back onto its pixels: the adjoint (transpose) of :meth:`im2col`.

        A pixel covered by several windows collects the sum of their entries.

        Shapes
        ------
        dcols : (n, out_h·out_w, kh·kw·C), any strides  ->  s : (n, *input_shape)
        """
        n = dcols.shape[0]
        dcols = dcols.reshape(n, self.out_h, self.out_w, self.kh, self.kw, self.c)
        return self.add_back(lambda i, j, lo, hi: dcols[lo:hi, :, :, i, j], n, buffer, dcols.dtype)

    def add_back(self, column, n, buffer, dtype, exact=True):
        """col2im one kernel offset at a time: s = Σ_(i, j) column(i, j) added at pixel (i, j) of each window.

        ``column(i, j, lo, hi)`` is the entry each window of examples lo … hi − 1 sends
        to its pixel at offset (i, j), for all their windows at once; it may reuse rows
        lo … hi − 1 of one scratch array for every offset. Loops over the kh·kw offsets,
        never over examples or pixels, in blocks of examples (:mod:`netfit.parallel`;
        ``exact=False``: column's bits depend on the block, e.g. it multiplies by BLAS).

        Shapes
        ------
        column(i, j, lo, hi) : (hi − lo, out_h, out_w, C)  ->  s : (n, *input_shape)
        """
        dxp = buffer(self.key + "_dxp", (n,) + self.padded_shape, dtype)

        def block(lo, hi):
            part = dxp[lo:hi]
            part.fill(0)
            for i, j, idx in self.offsets:
                part[idx] += column(i, j, lo, hi)

        parallel.rows(block, n, dxp.size * len(self.offsets), exact=exact)
        return self.restore(self.crop(dxp))
