"""Weight sharing: Conv2D slides one kernel over the image; LocallyConnected2D has one per position.

Both layers see the same receptive fields (ESL §11.7): unit (p, q, f) of the
output looks at a kh×kw window of the input and computes
z_pqf = b + Σ_uvc x[p·sh + u, q·sw + v, c] · w_uvcf. Conv2D uses the same w
(and, by default, the same b) at every position; LocallyConnected2D gives every
position its own. Both gather the windows into a matrix X, one row per window
(im2col, see ``_patches``), so that the forward pass and the kernel gradient are
BLAS products; Conv2D's shared bias rides along in them as one more kernel row,
against a column of ones. LocallyConnected2D makes X once per batch. Conv2D, on
the host, makes X a few examples at a time and multiplies each piece while it
is still in the cache, and makes it again for the kernel gradient rather than
keep it (:meth:`Windows.times`, :meth:`Windows.gradient`; the residual CNN's
3×3×32 → 32 convolution at batch 128, one core: forward 11.3 to ~8 ms). For the
input gradient, LocallyConnected2D makes every window's row in one product and
col2im adds them back onto the pixels. Conv2D with stride 1 computes it as a
convolution of δ with the flipped kernel (:meth:`Windows.adjoint`), in pieces as
forward; with another stride it adds one kernel offset at a time, which never
writes the big matrix of rows (with several input channels; ~1.4× faster than
col2im). An element-wise σ and σ' run on the same pieces, while they are in the
cache.

A connection table (``Conv2D(connections=...)``) lets each feature map read only
some of the input maps, as in LeCun et al. 1989 (H2 reads 8 of H1's 12 maps) and
LeNet-5's C3. Only the connected kernel slices are weights; the layer scatters
them into a full kernel, zero elsewhere, before each product and gathers their
gradient back out of the full one, so the unconnected entries neither count as
parameters nor ever receive a gradient.
"""
import numpy as np
from numpy.lib.stride_tricks import as_strided

from .. import backend, initializers, parallel
from ..utils import check_positive_int
from ._connections import check_table, whole
from ._patches import Windows, pair, padding_name
from .base import ActivatedLayer

_BIASES = ("shared", "per_unit")


class Conv2D(ActivatedLayer):
    """2-D convolution, a_pqf = σ(b_f + Σ_uvc x[p·sh + u, q·sw + v, c] w_uvcf), channels last.

    One kernel per filter is shared by every position (ESL's "weight sharing");
    as in Keras and PyTorch this is a cross-correlation (the kernel is not
    flipped). ``bias="per_unit"`` keeps the kernel shared but gives every output
    unit its own bias, ESL's Net-4 and Net-5.

    Parameters
    ----------
    filters : int
        Number of feature maps f.
    kernel_size, strides : int or (int, int)
        Window (kh, kw) and step (sh, sw).
    padding : {"valid", "same"}
        "valid": windows inside the image. "same": out = ⌈in / stride⌉, zero
        padding max((out − 1)·stride + k − in, 0), the odd pixel bottom/right (Keras).
    activation : str or None
    use_bias : bool
    bias : {"shared", "per_unit"}
        One bias per filter, shape (filters,), or one per unit, (out_h, out_w, filters).
    kernel_initializer, bias_initializer : str or Initializer
        The kernel's fans are kh·kw·c_in (in) and kh·kw·filters (out), as in Keras
        (with a connection table: kh·kw times the mean number of connections per
        filter, and per input map).
    connections : array of bool, shape (c_in, filters), optional
        Connection table (not in Keras): filter f reads input map c only where
        ``connections[c, f]`` is True, the layout of LeNet-5's Table I (rows: input
        maps, columns: feature maps). None: every filter reads every map. Every
        filter must read at least one map and every map must be read.
    pad_value : float
        The value of the pixels that ``padding="same"`` adds (not in Keras, which pads
        with 0): LeCun et al. 1989 pad their [−1, 1] digits with −1, the background.

    Shapes
    ------
    x : (n, H, W, c_in), or (n, H, W) read as c_in = 1  ->  a : (n, out_h, out_w, filters)
    kernel (kh, kw, c_in, filters), or (kh, kw, m) with a connection table of m True
    entries: the Keras kernel's (c, f) entries where the table is True, in row-major
    order, ``full.reshape(kh, kw, -1)[:, :, np.flatnonzero(connections)]`` (see
    :meth:`full_kernel`); bias (filters,) or (out_h, out_w, filters)

    Examples
    --------
    >>> import numpy as np
    >>> layer = Conv2D(1, 2, kernel_initializer="ones")
    >>> layer.setup((3, 3))
    (2, 2, 1)
    >>> layer.forward(np.arange(9, dtype="float32").reshape(1, 3, 3))[0, :, :, 0]
    array([[ 8., 12.],
           [20., 24.]], dtype=float32)
    >>> layer.count_params(), layer.count_links()
    (5, 20)

    Two filters on two input maps, each filter reading one map:

    >>> table = np.array([[True, False], [False, True]])
    >>> layer = Conv2D(2, 3, connections=table)
    >>> layer.setup((5, 5, 2))
    (3, 3, 2)
    >>> layer.params["kernel"].shape, layer.count_params(), layer.count_links()
    ((3, 3, 2), 20, 180)
    """

    keras_only = ActivatedLayer.keras_only + ("data_format", "dilation_rate", "groups", "kernel_regularizer",
                                              "bias_regularizer", "kernel_constraint", "bias_constraint",
                                              "lora_rank", "lora_alpha")

    runs_on_gpu = True

    def __init__(self, filters, kernel_size, strides=1, padding="valid", activation=None, use_bias=True,
                 bias="shared", kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 connections=None, pad_value=0.0, **kwargs):
        super().__init__(activation, **kwargs)
        _set_window_args(self, filters, kernel_size, strides, padding, use_bias, kernel_initializer,
                         bias_initializer)
        if bias not in _BIASES:
            raise ValueError(f"{self.display_name}: expected bias 'shared' or 'per_unit', got {bias!r}.")
        self.bias = bias
        self.connections = None if connections is None else check_table(connections, self.display_name,
                                                                         self.filters)
        if isinstance(pad_value, (bool, np.bool_)) or not isinstance(pad_value, (int, float, np.number)) \
                or not np.isfinite(pad_value):
            raise ValueError(f"{self.display_name}: expected pad_value a finite number, got {pad_value!r}.")
        self.pad_value = float(pad_value)

    def build(self, input_shape):
        win = self._win = Windows(self.display_name, input_shape, self.kernel_size, self.strides,
                                  self.padding)
        kh, kw, f = win.kh, win.kw, self.filters
        if self.connections is None:
            self.add_weight("kernel", (kh, kw, win.c, f), self.kernel_initializer,
                            fan_in=kh * kw * win.c, fan_out=kh * kw * f, decay=True)
        else:
            if self.connections.shape[0] != win.c:
                raise ValueError(f"{self.display_name}: expected connections of shape ({win.c}, {f}) (input "
                                 f"maps × filters) for input shape {tuple(input_shape)}, got "
                                 f"{self.connections.shape}.")
            self._linked = np.flatnonzero(self.connections)          # into the kernel's (c, f) axis
            m = self._linked.size
            self.add_weight("kernel", (kh, kw, m), self.kernel_initializer,
                            fan_in=kh * kw * whole(m / f), fan_out=kh * kw * whole(m / win.c), decay=True)
        if self.use_bias:
            shape = (f,) if self.bias == "shared" else (win.out_h, win.out_w, f)
            self.add_weight("bias", shape, self.bias_initializer)
        # With stride 1, s is itself a convolution (of δ, with the flipped kernel): see backward.
        self._adjoint = win.adjoint(f) if (win.sh, win.sw) == (1, 1) else None
        return win.out_h, win.out_w, f

    def attach(self, params=None, grads=None, dtype=None):
        super().attach(params, grads, dtype)
        self._wb = _kernel_and_bias(self.params)       # [w; b] as one matrix: fixed by the layout, found once here
        if self.connections is not None:
            self._linked_here = backend.to_device(self._linked, self.params["kernel"])   # the index, where θ is

    def full_kernel(self):
        """The kernel in Keras's layout (kh, kw, c_in, filters), zero where ``connections`` is False.

        Without a connection table this is a copy of ``params["kernel"]``.
        """
        if self.connections is None:
            return self.params["kernel"].copy()
        return self._scatter(self.xp.zeros(self._full_shape, self.params["kernel"].dtype))

    @property
    def _full_shape(self):
        return self._win.kh, self._win.kw, self._win.c, self.filters

    def _scatter(self, full):
        """Write the connected kernel slices into ``full`` (zero elsewhere, in place); return it."""
        kh, kw, m = self.params["kernel"].shape
        full.reshape(kh * kw, -1)[:, self._linked_here] = self.params["kernel"].reshape(kh * kw, m)
        return full

    def forward(self, x, training=False, call=None):
        call = self.record(call)
        self.check_input(x)
        win, f = self._win, self.filters
        if self.connections is None:
            kernel = self.params["kernel"]
        else:       # the full kernel, zero where the table is False (never written there)
            kernel = call.full = self._scatter(call.buffer("full", self._full_shape, self.params["kernel"].dtype, fill=0))
        n, k = x.shape[0], kernel.size // f
        rows = n * win.positions
        z = call.buffer("z", (n, win.out_h, win.out_w, f), kernel.dtype)
        # X: one row per window, (n·P, kh·kw·c); the kernel flattened in the same (u, v, c) order.
        # A shared bias is the weight of an input fixed at 1 (the lecture's α_0): after a column
        # of ones, [X 1] [w; b] is z in one product, with no pass adding b.
        ones = self._wb is not None
        w = self._wb if ones else kernel.reshape(k, f)
        if backend.is_host(self.xp):
            # X made and multiplied a few examples at a time, while in the cache; never kept
            # whole: backward makes it again from the padded x (Windows.times, .gradient).
            call.padded = win.pad(win.nhwc(x), call.buffer, kernel.dtype, fill=self.pad_value)
            if self._by_pieces(call) and (ones or not self.use_bias):
                # An element-wise σ on each piece's rows of z as soon as they are made (in the cache).
                call.z, call.a = z, call.buffer("a", z.shape, z.dtype)
                z2, a2 = z.reshape(rows, f), call.a.reshape(rows, f)
                win.times(call.padded, w, z2, call.buffer, ones=ones,
                          after=lambda r: _into(self.activation.forward, z2[r], a2[r]))
                return call.a
            win.times(call.padded, w, z.reshape(rows, f), call.buffer, ones=ones)
        else:                       # on a GPU (no [w; b] there): X whole, kept for the kernel's gradient
            cols = call.cols = win.im2col(win.nhwc(x), call.buffer, kernel.dtype, fill=self.pad_value)
            parallel.matmul(cols.reshape(rows, k), w, out=z.reshape(rows, f))
        if not ones and self.use_bias:
            z += self.params["bias"]                           # (f,) or (out_h, out_w, f) broadcast over n
        return self.activate(z, call)

    def backward(self, delta, call=None):
        call = self.record(call)
        win, f = self._win, self.filters
        n = delta.shape[0]
        before = None
        if self._by_pieces(call) and backend.is_host(self.xp):
            # δ ⊙ σ'(z) for each piece's rows just before the kernel's gradient reads them (in the cache).
            dz = call.buffer("dz", delta.shape, delta.dtype)
            dz2 = dz.reshape(n * win.positions, f)
            d2, z2, a2 = (v.reshape(dz2.shape) for v in (delta, call.z, call.a))
            before = lambda r: _into(self.activation.backward, d2[r], z2[r], a2[r], dz2[r])  # noqa: E731
        else:
            dz = self.activation_backward(delta, call)                # δ ⊙ σ'(z), (n, out_h, out_w, f)
            dz2 = dz.reshape(n * win.positions, f)
        # ∂R/∂w_uvcf = Σ_i Σ_pq dz_ipqf x_i[p·sh + u, q·sw + v, c]: every position adds to the
        # shared w. The code's row index of X runs over (i, p, q) at once.
        dwb = _kernel_and_bias(call.grads) if self._wb is not None else None
        if dwb is not None:
            self._window_gradient(call, dz2, dwb, True, before)    # [∂R/∂w; ∂R/∂b]: 1ᵀdz sums the rows
        else:                                                       # (or gradients laid out apart from θ)
            if self.connections is None:
                self._window_gradient(call, dz2, call.grads["kernel"].reshape(-1, f), False, before)
            else:
                # The full kernel's gradient, then only its connected entries: the others are no weights.
                kh, kw, m = call.grads["kernel"].shape
                dfull = call.buffer("dfull", (kh * kw * win.c, f), dz.dtype)
                self._window_gradient(call, dz2, dfull, False, before)
                np.take(dfull.reshape(kh * kw, -1), self._linked_here, axis=1,
                        out=call.grads["kernel"].reshape(kh * kw, m))
            if self.use_bias and self.bias == "shared":
                self.sum_rows(dz2, call.grads["bias"], call)                 # Σ over examples and positions
            elif self.use_bias:
                self.sum_rows(dz.reshape(n, -1), call.grads["bias"].reshape(-1), call)  # Σ over examples
        if not call.need_input_grad:
            return None
        # s: each window's share dz·wᵀ, added back onto the pixels it covers (col2im). Padded
        # pixels are constants (pad_value), so their share is dropped with the border.
        kernel = self.params["kernel"] if self.connections is None else call.full
        if self._adjoint is not None and win.c > 1 and backend.is_host(self.xp):
            # Stride 1: s_i = Σ_u δ_(i + top − u) w_u is a correlation of δ (padded by k − 1 − top
            # before, k − 1 − bottom after) with the flipped kernel, w_(k − 1 − u') for u' = 0 … k − 1,
            # its c and f axes swapped: one im2col and product, as in forward, made in cache-sized
            # pieces (the residual CNN's 3×3×32 → 32 convolution: 11.0 to ~7.5 ms).
            flipped = call.buffer("flipped", (win.kh, win.kw, f, win.c), dz.dtype)
            np.copyto(flipped, kernel[::-1, ::-1].transpose(0, 1, 3, 2))
            s = call.buffer("s", (n, win.h, win.w, win.c), dz.dtype)
            self._adjoint.times(self._adjoint.pad(dz, call.buffer, dz.dtype), flipped.reshape(-1, win.c),
                                s.reshape(-1, win.c), call.buffer)
            return win.restore(s)
        if win.c == 1:
            dcols = call.buffer("dcols", (n * win.positions, kernel.size // f), dz.dtype)
            parallel.matmul(dz2, kernel.reshape(-1, f).T, out=dcols)
            return win.col2im(dcols.reshape(n, win.positions, -1), call.buffer)
        # With several channels, one offset (u, v) at a time: dz·w_uvᵀ is what every window
        # sends to its pixel (u, v). Never writing the whole (n·P, kh·kw·c) matrix is ~1.4×
        # faster (one channel: one product, as above, is faster).
        part = call.buffer("dpart", (n, win.out_h, win.out_w, win.c), dz.dtype)

        def column(u, v, lo, hi):                                   # examples lo … hi − 1
            rows = slice(lo * win.positions, hi * win.positions)
            self.xp.matmul(dz2[rows], kernel[u, v].T, out=part[lo:hi].reshape(-1, win.c))
            return part[lo:hi]

        return win.add_back(column, n, call.buffer, dz.dtype, exact=False)

    def _window_gradient(self, call, dz2, out, ones, before=None):
        """out = [X 1]ᵀ dz (``ones``) or Xᵀ dz: the kernel's gradient (and the bias's), summed over every window.

        On the host X is made again from the padded x, a piece at a time
        (:meth:`Windows.gradient`; ``before(rows)`` writes those rows of dz first); on
        a GPU forward kept it whole.
        """
        if backend.is_host(self.xp):
            return self._win.gradient(call.padded, dz2, out, call.buffer, ones=ones, before=before)
        return parallel.matmul(call.cols.reshape(dz2.shape[0], -1).T, dz2, out=out)

    def _by_pieces(self, call):
        """True when σ and σ' may run on the pieces of :meth:`Windows.times`: an element-wise σ, not fused.

        Element by element, σ of a piece's rows are the bits σ of all rows would give
        (as :func:`netfit.layers.base._by_rows` splits them over threads).
        """
        return self.activation.name.split(":")[0] in _ELEMENT_WISE and not call.fused

    def count_links(self):
        """Connections out_h·out_w·filters·(kh·kw·c_in + 1): a shared weight counts at every use.

        With a connection table, filter f has kh·kw·(its connected maps) + 1 inputs.
        """
        if self.connections is None:
            return _links(self)
        win = self._win
        return win.positions * (win.kh * win.kw * self._linked.size + self.filters * self.use_bias)

    def get_config(self):
        config = {**super().get_config(), **_window_config(self), "bias": self.bias}
        if self.connections is not None:
            config["connections"] = self.connections.tolist()
        if self.pad_value != 0:
            config["pad_value"] = self.pad_value
        return config


class LocallyConnected2D(ActivatedLayer):
    """Locally connected layer, a_pqf = σ(b_pqf + Σ_uvc x[p·sh + u, q·sw + v, c] w_(pq)uvcf).

    Conv2D's receptive fields without the sharing: every output position (p, q)
    has its own kernel and bias (ESL's Net-3). The forward pass is one batched
    product with positions as the batch axis, z_p = X_p W_p, with X_p the
    (n, kh·kw·c_in) windows at position p.

    Parameters
    ----------
    filters : int
    kernel_size, strides : int or (int, int)
    padding : {"valid", "same"}
        Keras 2 allows only "valid"; "same" is supported here too, with zero
        padding as in :class:`Conv2D`.
    activation : str or None
    use_bias : bool
    kernel_initializer, bias_initializer : str or Initializer
        Fans are those of one position's kernel, kh·kw·c_in (in) and kh·kw·filters
        (out), so the starting scale matches :class:`Conv2D` (Keras multiplies both by
        the number of positions).

    Shapes
    ------
    x : (n, H, W, c_in), or (n, H, W) read as c_in = 1  ->  a : (n, out_h, out_w, filters)
    kernel (out_h·out_w, kh·kw·c_in, filters) (Keras 2 layout, rows in (u, v, c) order);
    bias (out_h, out_w, filters)

    Examples
    --------
    >>> import numpy as np
    >>> layer = LocallyConnected2D(1, 2, kernel_initializer="ones")
    >>> layer.setup((3, 3, 1))
    (2, 2, 1)
    >>> layer.params["kernel"].shape, layer.count_params()
    ((4, 4, 1), 20)
    >>> layer.forward(np.ones((1, 3, 3, 1), "float32"))[0, :, :, 0]
    array([[4., 4.],
           [4., 4.]], dtype=float32)
    """

    keras_only = ActivatedLayer.keras_only + ("data_format", "implementation", "kernel_regularizer",
                                              "bias_regularizer", "kernel_constraint", "bias_constraint")

    runs_on_gpu = True

    def __init__(self, filters, kernel_size, strides=1, padding="valid", activation=None, use_bias=True,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros", **kwargs):
        super().__init__(activation, **kwargs)
        _set_window_args(self, filters, kernel_size, strides, padding, use_bias, kernel_initializer,
                         bias_initializer)

    def build(self, input_shape):
        win = self._win = Windows(self.display_name, input_shape, self.kernel_size, self.strides,
                                  self.padding)
        k, f = win.kh * win.kw * win.c, self.filters
        self.add_weight("kernel", (win.positions, k, f), self.kernel_initializer,
                        fan_in=k, fan_out=win.kh * win.kw * f, decay=True)
        if self.use_bias:
            self.add_weight("bias", (win.out_h, win.out_w, f), self.bias_initializer)
        return win.out_h, win.out_w, f

    def forward(self, x, training=False, call=None):
        call = self.record(call)
        self.check_input(x)
        win, kernel = self._win, self.params["kernel"]
        n = x.shape[0]
        call.cols = cols = win.im2col(win.nhwc(x), call.buffer, kernel.dtype)     # (n, P, K)
        z = call.buffer("z", (n, win.out_h, win.out_w, self.filters), kernel.dtype)
        # z_p = X_p W_p for every position p: matmul batches over the leading axis, so the
        # code reads X and z transposed to (P, n, ·), views that BLAS takes as they are.
        self.xp.matmul(cols.transpose(1, 0, 2), kernel, out=z.reshape(n, win.positions, -1).transpose(1, 0, 2))
        if self.use_bias:
            z += self.params["bias"]
        return self.activate(z, call)

    def backward(self, delta, call=None):
        call = self.record(call)
        win = self._win
        dz = self.activation_backward(delta, call)                   # δ ⊙ σ'(z), (n, out_h, out_w, f)
        n = dz.shape[0]
        dz_p = dz.reshape(n, win.positions, self.filters).transpose(1, 0, 2)   # (P, n, f) view
        # ∂R/∂W_p = X_pᵀ dz_p: the same product as Conv2D's, but not summed over positions.
        self.xp.matmul(call.cols.transpose(1, 2, 0), dz_p, out=call.grads["kernel"])
        if self.use_bias:
            self.sum_rows(dz.reshape(n, -1), call.grads["bias"].reshape(-1), call)   # Σ over examples
        if not call.need_input_grad:
            return None
        # s: window rows dz_p W_pᵀ, added back onto the pixels (col2im).
        dcols = call.buffer("dcols", call.cols.shape, dz.dtype)          # (n, P, K)
        self.xp.matmul(dz_p, self.params["kernel"].transpose(0, 2, 1), out=dcols.transpose(1, 0, 2))
        return win.col2im(dcols, call.buffer)

    def count_links(self):
        """Connections: out_h·out_w·filters·(kh·kw·c_in + 1), here equal to the weights."""
        return _links(self)

    def get_config(self):
        return {**super().get_config(), **_window_config(self)}


#: Activations computed element by element (netfit.activations), so any cut of the rows gives the same bits.
_ELEMENT_WISE = ("sigmoid", "tanh", "scaled_tanh", "relu", "softplus", "elu", "gelu", "gelu_tanh", "leaky_relu",
                 "selu", "silu", "softsign", "hard_sigmoid")


def _into(fn, *args):
    """fn(*args[:-1], out=args[-1]), its result copied into out if fn returned another array."""
    out = args[-1]
    result = fn(*args[:-1], out=out)
    if result is not out:
        out[...] = result


def _kernel_and_bias(arrays):
    """[w; b], a shared bias as one more kernel row: a (K + 1, f) view of ``arrays`` (params or grads), or None.

    ``Layer.attach`` lays the weights out in ``add_weight`` order, so the bias (f,)
    follows the kernel (K, f) in memory and both are rows of one matrix (in θ and
    in every gradient vector of the same layout). That is checked here, not
    assumed: None (two products) if it does not hold, on a GPU (no ctypes or
    as_strided there), with a connection table or a per-unit bias.
    """
    w, b = arrays["kernel"], arrays.get("bias")
    if b is None or b.ndim != 1 or w.ndim != 4 or w.shape[-1] != b.size or not backend.on_host(w):
        return None
    if not (w.flags.c_contiguous and b.flags.c_contiguous and w.dtype == b.dtype
            and b.ctypes.data == w.ctypes.data + w.nbytes):
        return None
    return as_strided(w, (w.size // b.size + 1, b.size), (b.nbytes, b.itemsize))


def _set_window_args(layer, filters, kernel_size, strides, padding, use_bias, kernel_initializer,
                     bias_initializer):
    """Check and store the constructor arguments Conv2D and LocallyConnected2D share."""
    where = layer.display_name
    layer.filters = check_positive_int(filters, where, "filters")
    layer.kernel_size = pair(kernel_size, where, "kernel_size")
    layer.strides = pair(strides, where, "strides")
    layer.padding = padding_name(padding, where)
    layer.use_bias = bool(use_bias)
    layer.kernel_initializer = initializers.get(kernel_initializer)
    layer.bias_initializer = initializers.get(bias_initializer)


def _links(layer):
    """out_h·out_w·filters·(kh·kw·c_in + 1): one multiplication per input of every unit."""
    win = layer._win
    return win.positions * layer.filters * (win.kh * win.kw * win.c + layer.use_bias)


def _window_config(layer):
    """The constructor arguments Conv2D and LocallyConnected2D share, JSON-ready."""
    return {"filters": layer.filters, "kernel_size": list(layer.kernel_size), "strides": list(layer.strides),
            "padding": layer.padding, "use_bias": layer.use_bias,
            "kernel_initializer": initializers.serialize(layer.kernel_initializer),
            "bias_initializer": initializers.serialize(layer.bias_initializer)}
