"""Advice that names the fix for the case, when training cannot work as asked.

A message that names a fix gets followed, so it must be the fix for *this* case
(docs/reliability.md §15-16): after a divergence, what is large (regression
targets, inputs) rather than a generic "lower the learning rate"; before the
first step, targets so large that training can only overflow or crawl, and
batches in which a BatchNormalization would average over a single value. The
loop (:mod:`netfit.training`) and :meth:`netfit.Sequential.loss_and_gradients`
ask here; nothing here trains.
"""
from .utils import warn


def _targets(model, y):
    """(loss, targets) of each output that has a loss: one pair for a model of one output."""
    losses = getattr(model, "_losses", None) or [model.loss]
    ys = y if isinstance(y, list) and len(losses) > 1 else [y]
    return [(loss, t) for loss, t in zip(losses, ys) if loss is not None and t is not None]


#: |y| (regression targets) or |x| beyond this is named as the likely cause when training diverges.
LARGE = 100.0


def divergence_fix(model, x=None, y=None):
    """What to change after a divergence: name what is large (regression targets, inputs) and its fix, else γ.

    Raw house prices (~250,000) under a squared error diverge at any learning rate
    that trains at all; only scaling the *targets* helps, so that is what the message
    says. Inputs far from [-1, 1] are named next. With neither, the learning rate is.
    """
    lr = f"{model.optimizer.current_learning_rate():g}"
    parts = []
    for loss, t in _targets(model, y):
        if loss.expects is None and not loss.integer_targets and len(t):
            top = max(float(t.max()), -float(t.min()))            # |y| max without a copy of y
            if top > LARGE:
                parts.append(f"The targets are large for {loss.name} (|y| up to {top:.3g}): scale them, "
                             f"`mu, sd = y.mean(0), y.std(0); y = (y - mu) / sd`, and map predictions back with "
                             f"`pred * sd + mu`; a lower learning rate only trades the overflow for a crawl.")
                break
    for a in (x if isinstance(x, list) else [] if x is None else [x]):
        if not len(a) or a.dtype.kind not in "fiu":
            continue
        top = max(float(a.max()), -float(a.min()))
        if top > LARGE:
            parts.append(f"The inputs are large (|x| up to {top:.3g}): standardise them with a first layer "
                         f"`norm = nf.layers.Normalization(); norm.adapt(x)`, or `x = (x - x.mean(0)) / x.std(0)`; "
                         f"or lower the learning rate (now {lr}), or use clipnorm.")
            break
    return " ".join(parts) or f"Lower the learning rate (now {lr}) or use clipnorm."


def check_batch_statistics(model, n, batch_size, where):
    """Refuse, before the first step, a batch in which a BatchNormalization would average over a single value.

    With batch_size=1, or n leaving a last batch of one (n % batch_size == 1), a
    BatchNormalization after Dense computes each μ_B and σ²_B from one number: its output
    is β and its moving variance collapses (issue 24 reported evaluate's loss 2.37 against
    0.51 at batch 32). The message names a batch size that leaves no batch of one.
    """
    last = n % batch_size
    for layer in model._graph_layers():
        per_statistic = getattr(layer, "values_per_statistic", None)
        if per_statistic is None or not layer.trainable:     # a frozen one runs in inference mode
            continue
        for m in dict.fromkeys((batch_size, last)):
            if m and per_statistic(m) == 1:
                raise layer.single_value_error(m, where, _batch_fix(n, batch_size, m))


def _batch_fix(n, batch_size, m):
    """A batch size near ``batch_size`` that leaves no batch of one for n examples, said as a fix."""
    if n < 2:
        return "training BatchNormalization needs at least 2 examples; freeze it (layer.trainable = False) or add data"
    target = min(32, n) if m == batch_size else batch_size          # Keras's default batch for a batch of one
    near = sorted(range(2, n + 1), key=lambda b: (abs(b - target), b))
    good = next(b for b in near if n % b != 1)
    if m == batch_size:
        return (f"use batch_size={good} (or any that leaves no batch of one), or LayerNormalization, whose "
                f"statistics do not depend on the batch")
    return (f"{n} examples at batch_size={batch_size} leave a last batch of 1: use batch_size={good}, or drop one "
            f"example (x[:-1], y[:-1])")


#: Regression targets beyond this (|y|) are warned about before training: house prices, incomes in dollars.
HUGE = 1e4


def warn_large_targets(model, y, where):
    """Warn once, before the first step, when regression targets are huge (|y| > 1e4).

    A net's outputs start near 0, so a squared error on targets of ~250,000 starts near
    6e10 and its gradients are ~1e5 times those of standardised targets: training either
    overflows or crawls. Targets within ±1e4 (most data, standardised or not) pass silently.
    """
    for loss, t in _targets(model, y):
        if loss.expects is not None or loss.integer_targets or not len(t):
            continue
        top = max(float(t.max()), -float(t.min()))
        if top > HUGE:
            warn(f"{where}: the targets are large for {loss.name} (|y| up to {top:.3g}) while the outputs start "
                 f"near 0, so the first gradients are ~{top:.0e} times too large; scale them, `mu, sd = y.mean(0), "
                 f"y.std(0); y = (y - mu) / sd`, and map predictions back with `pred * sd + mu` "
                 f"(netfit.sklearn.NetRegressor does this itself).", UserWarning)
            return
