"""A convolution and the max pooling after it, run as one pass in inference (issue 25).

Keras's MNIST CNN is Conv2D(relu) → MaxPooling2D(2) twice. Run layer by layer,
the first convolution writes its whole output z (26·26·32 numbers an image), σ
reads and writes it again, and the pooling reads it once more to keep a quarter
of it: on one core, ~40 % of the model's predict time for ~8 % of its
floating-point work (benchmarks/RESULTS-profile.md). Here each cache-sized piece
of examples is multiplied (:meth:`Windows._pieces`, as :meth:`Conv2D.forward`
does), pooled while it is in the cache, and σ acts on the pooled quarter only.

Why the result is the same, bit for bit: for a σ that never decreases,
max_w σ(z_w) = σ(max_w z_w) (the lecture's relu, and the identity), so
pooling before σ keeps the winners' values; the product of each piece is the
one Conv2D.forward makes (the same pieces, [X 1] [w; b] with the bias inside),
and max and relu round nothing. tests/test_conv_pool.py checks the equality.

Training runs the two layers apart: backward needs z (for σ') and each window's
winner, which this pass never keeps whole. With numba (``netfit[fast]``) each
piece is pooled by the compiled loop MaxPooling2D uses, with the same results.
"""
import numpy as np

from .. import _kernels, backend, parallel
from .conv import Conv2D
from .pooling import MaxPooling2D

#: σ for which max and σ commute, bit for bit: they never decrease and round nothing.
MONOTONE_EXACT = ("relu", "linear")


def fusable(conv, pool):
    """True when ``conv`` then ``pool`` may run as one pass in inference (see the module).

    ``conv`` a Conv2D on the host, without a connection table, with a shared bias (or
    none) and σ relu or linear; ``pool`` a MaxPooling2D whose windows tile its input
    (stride = window, "valid").
    """
    return (type(conv) is Conv2D and type(pool) is MaxPooling2D and conv.built and pool.built
            and conv.connections is None and (conv.bias == "shared" or not conv.use_bias)
            and conv.activation.name in MONOTONE_EXACT and pool._win.tiles
            and backend.is_host(conv.xp) and tuple(conv.output_shape) == tuple(pool.input_shape))


def forward_pooled(conv, pool, x, conv_call, pool_call):
    """pool(conv(x)) in inference, a piece of examples at a time: the pooled a, (n, out_h, out_w, filters).

    The records keep what a forward pass keeps for inference: ``conv_call.padded`` (the
    padded input) and ``pool_call.a`` (the output); nothing for a backward pass.
    """
    conv_call, pool_call = conv.record(conv_call), pool.record(pool_call)
    conv.check_input(x)
    win, f, kernel = conv._win, conv.filters, conv.params["kernel"]
    ones = conv._wb is not None
    w = conv._wb if ones else kernel.reshape(-1, f)
    n, dtype = x.shape[0], kernel.dtype
    padded = conv_call.padded = win.pad(win.nhwc(x), conv_call.buffer, dtype, fill=conv.pad_value)
    pwin = pool._win
    out = pool_call.a = pool_call.buffer("a", (n, pwin.out_h, pwin.out_w, f), dtype)
    forward = conv.activation.forward if conv.activation.name != "linear" else None

    def block(lo, hi):
        # z of one piece: the record's scratch for the whole batch, else the block's own (blocks run at once).
        shape = (win._step(w.shape[0] + f, dtype) * win.positions, f)
        z = conv_call.buffer("pooled_z", shape, dtype) if (lo, hi) == (0, n) else np.empty(shape, dtype)

        def piece(part, rows, _):
            first, last = rows.start // win.positions, rows.stop // win.positions
            zp = np.matmul(part, w, out=z[:len(part)]).reshape(last - first, win.out_h, win.out_w, f)
            pooled = out[first:last]
            # One compiled pass where numba is installed (netfit[fast]); the running maximum over the window below.
            if not _kernels.max_pool_forward(zp, pooled, None, pwin.kh, pwin.kw):
                pool._max_offsets(zp, pooled, None, None)
            if forward is not None:
                forward(pooled, out=pooled)                          # σ on the pooled quarter
        win._pieces(padded, lo, hi, dtype, ones, f, piece, conv_call.buffer)

    parallel.rows(block, n, 2 * n * win.positions * w.size, parallel.MIN_FLOPS, exact=False)
    return out
