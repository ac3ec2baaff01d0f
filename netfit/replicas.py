"""Data parallelism on the CPU: each thread backpropagates its own share of the batch.

The batch gradient is a sum over the examples, ∂R/∂θ = Σ_i ∂R_i/∂θ (ESL §11.4),
so a batch of m examples can be cut into k shares of consecutive rows, each
share's forward and backward pass run on a thread of its own, and the k partial
gradients added. R is the batch mean (the loss contract, :mod:`netfit.losses.base`):
a share of m_s rows computes the gradient of its own mean, so each is weighted
by m_s / m before they are added (in :func:`_share`, on δ at the output). Each
thread runs the same layers, with the same code as one thread does, on a *lane*
of records of its own: one :class:`~netfit.layers.base.Call` per layer, holding
that share's x, z, masks and scratch arrays, with gradient views into the lane's
own gradient vector. The layers are not copied: they hold only θ, which every
lane reads (nothing writes it during the step). Share 0's lane writes the
model's own gradient; the others' gradients are added to it in share order, so
the optimizer's step is the one it always was.

Why not split each pass of one step instead (:mod:`netfit.parallel`, which fit
still does where this cannot be used): the threads then meet at every pass
(18 times a step for Keras's MNIST CNN, ~100 µs each on a 2-core VM), and the
small passes (dropout's mask, the loss, the top layers) run on one thread. Here
they meet once a step. A step of that CNN at batch 128, quiet 2-core machine,
in one process: 26.7–28.3 ms with the passes split, 24.1–26.7 ms with two
independent replicas of 64 rows (NumPy path; netfit[fast]: 24.6–25.2 against
21.7–24.8 ms).

Used by fit when the thread policy gives a step more than one thread (:func:`netfit.parallel.step_workers`), except

- in deterministic mode: the sum over shares depends on where the batch is cut,
  so the bits would depend on the thread count (:func:`netfit.config.set_deterministic`);
- with a layer whose training pass mixes the examples of a batch
  (BatchNormalization's batch mean and variance: ``Layer.whole_batch``);
- for a batch of fewer than 2 · :data:`MIN_ROWS` rows. A share holds at least
  MIN_ROWS rows, so a batch of 128 is cut into at most 8 shares (threads).

Dropout: each share's records draw their masks from a stream of their own, seeded
by (model seed, epoch, layer, share). The same thread count gives the same masks and the
same weights from run to run; another thread count draws other masks (as it
already changes the last bits of the products outside deterministic mode).
"""
import numpy as np

from . import columns, config, parallel

MIN_ROWS = 16          # examples per share below which a batch is not cut (the products get too thin)


def usable(model, threads):
    """True when fit may cut this model's batches into ``threads`` shares (see the module's list)."""
    return (threads > 1 and not config.deterministic() and model.device == "cpu"
            and not any(layer.whole_batch for layer in model._graph_layers()))


class Replicas:
    """``k`` lanes of records over the model's layers and θ, for the shares of a batch; lane 0 is the model's own.

    Parameters
    ----------
    model : Sequential
        Built and compiled, on the CPU.
    k : int
        Shares (threads) per batch.
    """

    def __init__(self, model, k):
        self.model = model
        self.grads = [np.zeros_like(model._grad) for _ in range(k - 1)]        # shares 1 … k − 1
        self.lanes = [model._calls] + [model._new_calls(grad) for grad in self.grads]

    def seed(self, epoch):
        """Seed the dropout streams of ``epoch``: (model seed, epoch, layer) for share 0, the streams one
        thread draws the whole batch's masks from, and (model seed, epoch, layer, share) for share s ≥ 1.

        Seeding by epoch makes epoch k's masks the same whether or not training stopped and resumed before it.
        """
        for s, calls in enumerate(self.lanes):
            for j, call in enumerate(self.model._drawing_calls(calls)):        # nested models' layers too
                key = [self.model.seed, epoch, j + 1] if s == 0 else [self.model.seed, epoch, j + 1, s]
                call.rng = np.random.default_rng(key)

    def gradient(self, x, y, sample_weight=None):
        """∂R/∂θ of the batch into the model's gradient vector; returns (R without the penalty, [(y_s, ŷ_s)]).

        A batch of fewer than ``k · MIN_ROWS`` rows is cut into fewer shares.
        ``[(y_s, ŷ_s)]`` are the shares' targets and outputs, for the metrics.
        """
        m = columns.count(x)
        spans = parallel.blocks(m, min(len(self.lanes), max(1, m // MIN_ROWS)))

        def share(s):
            lo, hi = spans[s]
            w = None if sample_weight is None else sample_weight[lo:hi]
            if len(spans) == 1:                                   # the whole batch, as one thread runs it
                return _share(self.model, self.lanes[0], x, y, w, 1.0)
            with parallel.using(1), np.errstate(over="ignore", invalid="ignore"):   # no split inside a share
                part = slice(lo, hi)
                return _share(self.model, self.lanes[s], columns.rows(x, part), columns.rows(y, part), w,
                              (hi - lo) / m)

        results = parallel.each(share, len(spans))                # the shares on the threads, in share order
        for grad in self.grads[:len(spans) - 1]:
            self.model._grad += grad                               # Σ over the shares, in share order
        self.model._zero_frozen(self.model._grad)
        return sum(loss for loss, _ in results), [(columns.rows(y, slice(lo, hi)), y_pred)
                                                   for (lo, hi), (_, y_pred) in zip(spans, results)]


def _share(model, calls, x, y, sample_weight, scale):
    """Forward, R and backward of one share with the records ``calls``: (its part of R, its outputs ŷ).

    R is a batch mean (the loss contract, :mod:`netfit.losses.base`), so the loss's δ_i carries
    1/m_s, the share's own size; times ``scale`` = m_s / m it is the share's part of the batch
    mean's δ, and the shares' gradients add up to the batch's.
    """
    y_pred = model._forward(x, True, calls)
    loss = model._data_loss(y_pred, y, sample_weight, calls)
    delta = model._output_error(y_pred, y, sample_weight)
    if scale != 1.0:
        for d in columns.flat(delta):
            if d is not None:
                d *= scale
    model._backprop(calls, delta)
    return loss * scale, y_pred
