"""The loss contract: ``value`` (R, a batch mean), ``gradient`` (δ = ∂R/∂f), ``per_example`` (ℓ_i),
and the sample-weighted forms built on them (see :mod:`netfit.losses`).

Keras 3's side of the same class: ``Loss(name=None, reduction="sum_over_batch_size", dtype=None)``,
``loss(y_true, y_pred, sample_weight=None)`` (note Keras's argument order, the target first) and
a subclass's ``call(y_true, y_pred)``. A built-in loss called so returns its reduced value; on a
traced value (inside custom code, :mod:`netfit.ops`) it returns a traced scalar whose
back-propagation is the loss's own written-out ``gradient`` (:mod:`netfit.tracing`). A subclass
that writes ``call`` (Keras's way) is trained through a tape: ``compile`` wraps it
(:class:`netfit.ops.loss.CustomLoss`).
"""
import re

import numpy as np

from .. import backend, tracing
from ..utils import check_array

#: Keras 3's reductions (keras.losses.Loss's ``reduction``).
REDUCTIONS = ("sum_over_batch_size", "sum", "mean", "mean_with_sample_weight", "none", None)

_EPS = 1e-7  # Keras's clip for probabilities that enter a log outside a fused pair.
_TINY = 1e-30  # below this a float32 probability has lost digits to underflow: use the logits.


class Loss:
    """Base class: ``value`` is R averaged over the batch, ``gradient`` is ∂R/∂(output)."""

    name = "loss"
    fuses_with = None
    #: True when targets are class indices rather than values in the model's float type.
    integer_targets = False
    #: What the model's outputs must be: "distribution", "probability", "logits" or None (anything).
    expects = None
    from_logits = False
    #: True for a loss netfit cannot read targets from (your own): metrics=["accuracy"] then goes by the
    #: shapes of y and the output, as Keras 3 chooses it, and compile's label checks are skipped.
    accuracy_by_shape = False
    #: Keras's reduction of the per-example losses in ``__call__``; compile trains with "sum_over_batch_size".
    reduction = "sum_over_batch_size"
    _dtype = None

    def __init__(self, name=None, reduction="sum_over_batch_size", dtype=None):
        """Keras's constructor, for subclasses that write ``call(y_true, y_pred)``."""
        if name is not None and (not isinstance(name, str) or not name):
            raise TypeError(f"{type(self).__name__}: expected name a non-empty str, got {name!r}.")
        if reduction not in REDUCTIONS:
            raise ValueError(f"{type(self).__name__}: expected reduction one of {REDUCTIONS}, got {reduction!r}.")
        if name is not None:
            self.name = name
        elif type(self).name == Loss.name:                      # Keras's auto name: the class's, in snake case
            self.name = re.sub(r"(?<!^)(?=[A-Z])", "_", type(self).__name__).lower()
        self.reduction, self._dtype = reduction, dtype

    @property
    def dtype(self):
        return self._dtype

    def _keras_style(self):
        """True for a subclass that writes Keras's ``call`` (trained through a tape) rather than value/gradient."""
        return type(self).call is not Loss.call

    def call(self, y_true, y_pred):
        """Keras's per-example losses; a subclass of your own writes it (with netfit.ops or NumPy)."""
        raise NotImplementedError(f"{type(self).__name__}: a Loss subclass writes call(y_true, y_pred), "
                                  f"returning the per-example losses.")

    def __call__(self, y_true, y_pred, sample_weight=None):
        """Keras's ``loss(y_true, y_pred, sample_weight=None)``: the losses reduced by ``reduction``.

        A built-in loss on arrays gives a NumPy scalar; on a traced value (custom code
        under a tape) a traced scalar back-propagated by the loss's own ``gradient``.
        """
        if self._keras_style():
            if not tracing.is_traced(y_pred):
                y_pred = np.asarray(y_pred)
                y_pred = y_pred if y_pred.dtype.kind == "f" else y_pred.astype(self._dtype or np.float64)
            if not tracing.is_traced(y_true):
                y_true = _same_rank(np.asarray(y_true, dtype=np.dtype(y_pred.dtype)), y_pred.shape)
            return reduce_values(self.call(y_true, y_pred), sample_weight, self.reduction)
        if tracing.any_traced(y_true, y_pred, sample_weight):
            return tracing.handler("loss")(self, y_true, y_pred, sample_weight)
        y_pred = np.asarray(y_pred)
        y_pred = y_pred if y_pred.dtype.kind == "f" else y_pred.astype(np.float64)
        w = None if sample_weight is None else np.asarray(sample_weight, dtype=y_pred.dtype).reshape(-1)
        return np.asarray(self.reduced(y_pred, self.keras_targets(y_true, y_pred), w), dtype=y_pred.dtype)[()]

    def keras_targets(self, y_true, y_pred):
        """y_true as ``value``/``gradient`` take it, from Keras's forms: labels (n,) or (n, 1) for integer targets,
        else an array of y_pred's shape and dtype ((n,) is taken for (n, 1) outputs)."""
        y = np.asarray(y_true)
        if self.integer_targets:
            if y.ndim == y_pred.ndim and y.shape[-1] == 1:
                y = y[..., 0]
            if y.shape != y_pred.shape[:-1]:
                raise ValueError(f"{self.name}: expected y_true of shape {y_pred.shape[:-1]} (one label per row of "
                                 f"y_pred), got {y.shape}.")
            return y.astype(np.intp, copy=False)
        y = _same_rank(y.astype(y_pred.dtype, copy=False), y_pred.shape)
        if y.shape != y_pred.shape:
            raise ValueError(f"{self.name}: expected y_true of y_pred's shape {y_pred.shape}, got {y.shape}.")
        return y

    def reduced(self, y_pred, y, sample_weight=None):
        """The loss under this object's ``reduction`` (netfit's argument order), on arrays."""
        n = y_pred.shape[0] if y_pred.ndim else 1
        if self.reduction in ("sum_over_batch_size", "mean"):
            return self.value(y_pred, y) if sample_weight is None else \
                self.weighted_value(y_pred, y, sample_weight)
        each = self.per_example(y_pred, y)
        if sample_weight is not None:
            each = each * sample_weight
        if self.reduction == "sum":
            return each.sum()
        if self.reduction == "mean_with_sample_weight":
            return each.sum() / (n if sample_weight is None else sample_weight.sum())
        return each

    def validate(self, y, output_shape, where):
        """Return targets as an array ready for ``value``/``gradient``, or raise a clear error."""
        y = check_array(y, where, "y")
        if y.ndim == 1 and output_shape == (1,):
            y = y[:, None]
        if y.shape[1:] != tuple(output_shape):
            hint = ""
            if y.ndim == 2 and y.shape[0] == output_shape[-1] and len(output_shape) == 1:
                hint = " It looks transposed (one row per output): `y = y.T`."
            elif y.ndim == 2 and len(output_shape) == 1:
                hint = (f" The model has {output_shape[-1]} output(s) and y {y.shape[1]} column(s): end the "
                        f"model with Dense({y.shape[1]}, ...) or select the columns it should predict.")
            raise ValueError(f"{where}: expected y of shape (n, {', '.join(map(str, output_shape))}) to match "
                             f"the model's output, got shape {y.shape}.{hint}")
        return y

    def value(self, y_pred, y, logits=None):
        """R, the batch mean of :meth:`per_example`; losses with a faster whole-batch form override it."""
        return backend.scalar(np.mean(self.per_example(y_pred, y, logits)))

    def gradient(self, y_pred, y, fused=False):
        raise NotImplementedError

    def per_example(self, y_pred, y, logits=None):
        """ℓ_i, each example's loss, shape (n,): ``value`` is their mean."""
        raise NotImplementedError(f"{type(self).__name__}: this loss has no per-example values, "
                                  f"so it cannot take sample_weight or class_weight.")

    def weighted_value(self, y_pred, y, sample_weight, logits=None):
        """R = (1/n) Σ_i w_i ℓ_i: Keras's "sum_over_batch_size" with sample weights w (n,)."""
        return backend.scalar(np.vdot(sample_weight, self.per_example(y_pred, y, logits)) / y_pred.shape[0])

    def weighted_gradient(self, y_pred, y, sample_weight, fused=False):
        """δ_i = w_i · (the unweighted δ_i): ∂/∂f_i of (1/n) Σ_i w_i ℓ_i."""
        delta = self.gradient(y_pred, y, fused=fused)
        delta *= sample_weight.reshape((-1,) + (1,) * (delta.ndim - 1))          # δ_i ← w_i δ_i
        return delta

    def get_config(self):
        """Constructor arguments; ``type(loss)(**config)`` rebuilds it (Keras's name and reduction for a subclass)."""
        if self._keras_style():
            return {"name": self.name, "reduction": self.reduction}
        return {"from_logits": True} if self.from_logits else {}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"<loss {self.name}{' (' + args + ')' if args else ''}>"


def _row_mean(terms):
    """Each example's mean over its outputs: (n, ...) -> (n,)."""
    return terms.reshape(len(terms), -1).mean(axis=1)


def _non_negative(y, where, what, name):
    """``y``, or a clear error if it has a negative entry (probabilities, counts)."""
    if y.min() < 0:
        raise ValueError(f"{where}: expected y non-negative ({what}) for {name}, got a negative entry "
                         f"{float(y.min()):g}.")
    return y


def _same_rank(y, shape):
    """Keras's squeeze_or_expand_to_same_rank for targets: (n,) against outputs (n, 1) becomes (n, 1)."""
    if y.ndim == len(shape) - 1 and shape and shape[-1] == 1:
        return y[..., None]
    return y


def reduce_values(values, sample_weight=None, reduction="sum_over_batch_size"):
    """Keras's ``reduce_weighted_values``: weight the per-example losses, then reduce (arrays or traced values).

    "sum_over_batch_size" and "mean": Σ w ℓ / (number of entries of ℓ); "sum": Σ w ℓ;
    "mean_with_sample_weight": Σ w ℓ / Σ w; "none": w ℓ. A scalar passes unchanged.
    """
    if not tracing.is_traced(values):
        values = np.asarray(values)
        if values.dtype.kind != "f":
            values = values.astype(np.float64)
    w = None
    if sample_weight is not None:
        w = sample_weight if tracing.is_traced(sample_weight) else np.asarray(sample_weight, dtype=values.dtype)
        if w.ndim < values.ndim:
            w = w.reshape(tuple(w.shape) + (1,) * (values.ndim - w.ndim))
        elif w.ndim == values.ndim + 1 and w.shape[-1] == 1:
            w = w.reshape(tuple(w.shape[:-1]))
        values = values * w
    if reduction in (None, "none") or values.ndim == 0 or tuple(values.shape) == (0,):
        return values
    total = values.sum()
    if reduction == "sum":
        return total
    if reduction == "mean_with_sample_weight" and w is not None:
        return total / float(np.asarray(w).sum())
    return total / float(values.size)
