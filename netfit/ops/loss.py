"""Losses of your own (Keras's ``compile(loss=my_fn)``, ``keras.losses.Loss`` subclasses) trained through the tape,
and built-in loss objects called on traced values inside custom code.

A loss function ``my_fn(y_true, y_pred)`` written with :mod:`netfit.ops` (or NumPy's
operators on the traced value) returns per-example losses (n,) or (n, ...), or a
scalar. Training takes Keras's "sum_over_batch_size" reduction of them,
R = Σ w ℓ / (number of entries of ℓ) (w = 1 without sample weights), and the error
the network receives, δ = ∂R/∂y_pred, comes from one tape run: y_pred is the tape's
watched leaf, the function runs on it, :meth:`Tape.backward` walks the ops in reverse
(:class:`CustomLoss`). Everything below y_pred is the written-out back-propagation of
the layers, as for a built-in loss.

A built-in loss object inside custom code (``self.student_loss_fn(y, y_pred)``,
``KLDivergence()(teacher_p, student_p)``) is one tape entry: forward its ``value``,
VJP g · its written-out ``gradient`` (:func:`traced_loss`); Keras's loss functions
(``keras.losses.hinge``) likewise, per row (:func:`traced_loss_rows`).

Examples
--------
>>> import numpy as np
>>> def mse(y_true, y_pred):
...     return ((y_pred - y_true) * (y_pred - y_true)).mean(axis=-1)
>>> loss = CustomLoss(mse)
>>> f, y = np.array([[1.0, 2.0]]), np.array([[0.0, 0.0]])
>>> float(loss.value(f, y)), loss.gradient(f, y)
(2.5, array([[1., 2.]]))
"""
import numpy as np

from .. import losses as losses_mod, tracing
from ..losses.base import Loss, _same_rank, reduce_values
from .op import Op
from .tape import GradientError, Tape
from .value import Value

__all__ = ["CustomLoss", "get", "traced_loss", "traced_loss_rows"]


class CustomLoss(Loss):
    """A loss function of your own, or a ``keras.losses.Loss`` subclass's instance, as a netfit loss.

    ``value`` runs the function on arrays; ``gradient`` runs it on y_pred watched by a
    tape and back-propagates R through it. Targets are kept as given (integer labels
    too, cast to the model's float type as Keras casts them); only their number of rows
    is checked against x.

    Parameters
    ----------
    fn : callable or netfit.losses.Loss
        ``fn(y_true, y_pred)`` returning per-example losses or a scalar (reduced with
        Keras's "sum_over_batch_size"), or a Loss instance whose ``__call__`` reduces
        as its ``reduction`` says.

    Raises
    ------
    ValueError
        (in ``gradient``, before any weight changes) a loss that does not depend on
        y_pred, naming the function.
    """

    expects = None
    fuses_with = None
    integer_targets = False
    accuracy_by_shape = True

    def __init__(self, fn):
        if not callable(fn):
            raise TypeError(f"CustomLoss: expected a function (y_true, y_pred) -> losses or a Loss, got {fn!r}.")
        self.fn = fn
        if isinstance(fn, Loss):
            self.name, self._what = fn.name, f"loss {type(fn).__name__} (name {fn.name!r})"
        else:
            self.name = getattr(fn, "__name__", type(fn).__name__)
            self._what = f"loss function {self.name!r}"

    # -- the loss, Keras's way --------------------------------------------------------------------
    def _reduced(self, y_true, y_pred, sample_weight):
        if isinstance(self.fn, Loss):
            return self.fn(y_true, y_pred, sample_weight=sample_weight)
        return reduce_values(self.fn(y_true, y_pred), sample_weight, "sum_over_batch_size")

    def _targets(self, y, y_pred):
        y = np.asarray(y)
        return _same_rank(y, y_pred.shape) if y.dtype.kind == "f" else y

    def __call__(self, y_true, y_pred, sample_weight=None):
        return self._reduced(y_true, y_pred, sample_weight)

    def _scalar(self, r, where):
        if np.ndim(r) != 0:
            raise ValueError(f"{where}: the {self._what} reduced to shape {np.shape(r)}, expected a scalar; "
                             f"return per-example losses (n,) or one number, with reduction "
                             f"'sum_over_batch_size' (the default).")
        return r

    def _value(self, y_pred, y, sample_weight):
        r = self._reduced(self._targets(y, y_pred), y_pred, sample_weight)
        return float(np.asarray(self._scalar(r, "loss value")))

    def _gradient(self, y_pred, y, sample_weight):
        with Tape() as tape:
            f = Value(y_pred, tape)
            r = self._reduced(self._targets(y, y_pred), f, sample_weight)
        if getattr(r, "_traced_kind", None) != "value" or r.tape is not tape:
            raise ValueError(f"The {self._what} does not depend on y_pred: it returned "
                             f"{type(r).__name__} {np.asarray(r)!r} computed without y_pred (a constant, or y_pred "
                             f"converted to a NumPy array with np.asarray/np.array/.numpy()), so no weight could "
                             f"learn from it. Compute the loss from y_pred with netfit.ops or the operators "
                             f"(+ - * / **) on it.")
        self._scalar(r, "loss gradient")
        delta = tape.backward(r).get(id(f))
        if delta is None:
            raise ValueError(f"The {self._what} does not depend on y_pred: back-propagation from its value "
                             f"never reaches y_pred.")
        return np.array(delta, dtype=y_pred.dtype)          # our own array: the model scales it in place

    # -- netfit's loss contract ------------------------------------------------------------------
    def validate(self, y, output_shape, where):
        """y as given (any shape, integer labels too), as an array; only its rows are checked, against x."""
        try:
            arr = np.asarray(y)
        except (TypeError, ValueError) as exc:
            raise TypeError(f"{where}: expected y a numeric array for the {self._what}, could not convert it "
                            f"({exc}).") from None
        if arr.dtype == object or arr.dtype.kind not in "biuf" or arr.ndim == 0:
            raise TypeError(f"{where}: expected y a numeric array with one row per example for the {self._what}, "
                            f"got {'a scalar' if arr.ndim == 0 else f'dtype {arr.dtype}'}.")
        return arr

    def value(self, y_pred, y, logits=None):
        return self._value(y_pred, y, None)

    def gradient(self, y_pred, y, fused=False):
        return self._gradient(y_pred, y, None)

    def weighted_value(self, y_pred, y, sample_weight, logits=None):
        return self._value(y_pred, y, sample_weight)

    def weighted_gradient(self, y_pred, y, sample_weight, fused=False):
        return self._gradient(y_pred, y, sample_weight)

    def per_example(self, y_pred, y, logits=None):
        """ℓ_i: the function's values averaged over each example's entries (Keras's per-sample losses)."""
        call = self.fn.call if isinstance(self.fn, Loss) else self.fn
        values = np.asarray(call(self._targets(y, y_pred), y_pred))
        if values.ndim == 0:
            raise NotImplementedError(f"The {self._what} returns one number for the batch, so it has no "
                                      f"per-example values (needed for sample_weight or class_weight); return "
                                      f"per-example losses of shape (n,) instead.")
        return values.reshape(len(values), -1).mean(axis=1)

    def get_config(self):
        return {}

    def serialized(self):
        """How a model file names it: Keras's {"class_name": "function", "config": name} for a function, the
        class and its config for a Loss; loading asks for it in ``custom_objects``."""
        if isinstance(self.fn, Loss):
            return {"class_name": type(self.fn).__name__, "config": self.fn.get_config()}
        return {"class_name": "function", "config": self.name}

    def __repr__(self):
        return f"<loss {self.name} (custom)>"


def get(identifier):
    """compile's loss: a built-in (:func:`netfit.losses.get`), else a function or Keras-style Loss, wrapped.

    A Loss that writes Keras's ``call`` and any callable that is not a built-in loss
    function become a :class:`CustomLoss`.
    """
    if isinstance(identifier, CustomLoss):
        return identifier
    if isinstance(identifier, Loss):
        return CustomLoss(identifier) if identifier._keras_style() else identifier
    if isinstance(identifier, type) and issubclass(identifier, Loss):
        raise TypeError(f"compile: expected a loss object, got the class {identifier.__name__}; "
                        f"instantiate it: loss={identifier.__name__}().")
    if callable(identifier) and losses_mod.functions.name_of(identifier) is None:
        return CustomLoss(identifier)
    return losses_mod.get(identifier)


# -- built-in losses on traced values: one tape entry each ------------------------------------------
def _rows_of(loss, y_true, y_pred):
    """(y_pred as (m, K), targets as the loss takes them, m)."""
    k = y_pred.shape[-1]
    m = y_pred.size // k
    if loss.integer_targets:
        labels = np.asarray(y_true)
        if labels.shape == y_pred.shape[:-1] + (1,):
            labels = labels[..., 0]
        if labels.shape != y_pred.shape[:-1]:
            raise ValueError(f"{loss.name}: expected y_true of shape {y_pred.shape[:-1]} (one label per row of "
                             f"y_pred), got {labels.shape}.")
        return y_pred.reshape(m, k), labels.reshape(-1).astype(np.intp), m
    y = np.asarray(y_true, dtype=y_pred.dtype)
    if y.shape != y_pred.shape:
        raise ValueError(f"{loss.name}: expected y_true of y_pred's shape {y_pred.shape}, got {y.shape}.")
    return y_pred.reshape(m, k), y.reshape(m, k), m


def _no_target_gradient(loss, need):
    if need and need[0] and not hasattr(loss, "target_gradient"):
        raise GradientError(f"{loss.name}: the loss's written-out gradient is with respect to y_pred only, but "
                            f"y_true (its first argument) depends on what is trained. Wrap it in "
                            f"ops.stop_gradient(...) if it is a fixed target (a teacher's output), or write "
                            f"the loss with netfit.ops.")


def _loss_forward(y_true, y_pred, sample_weight=None, loss=None):
    """The loss object's reduced value (netfit's value/weighted_value under its reduction)."""
    w = None if sample_weight is None else np.asarray(sample_weight, y_pred.dtype).reshape(-1)
    return np.asarray(loss.reduced(y_pred, loss.keras_targets(y_true, y_pred), w), dtype=y_pred.dtype)


def _loss_vjp(g, out, y_true, y_pred, sample_weight=None, need=None, loss=None):
    _no_target_gradient(loss, need)
    y = loss.keras_targets(y_true, y_pred)
    w = None if sample_weight is None else np.asarray(sample_weight, y_pred.dtype).reshape(-1)
    n = y_pred.shape[0]
    if loss.reduction in ("sum_over_batch_size", "mean", "sum"):
        d = loss.gradient(y_pred, y) if w is None else loss.weighted_gradient(y_pred, y, w)
        t = None
        if need and need[0] and w is None:                   # a target computed by what is trained (KL)
            t = g * loss.target_gradient(y_pred, y) * (n if loss.reduction == "sum" else 1)
        elif need and need[0]:
            raise GradientError(f"{loss.name}: a traced y_true with sample_weight is not supported; wrap "
                                f"y_true in ops.stop_gradient(...).")
        if loss.reduction == "sum":
            d = d * n                                        # Σ_i ℓ_i = n · (the batch mean)
        return t, g * d, None
    if loss.reduction == "mean_with_sample_weight":
        d = loss.gradient(y_pred, y) if w is None else loss.weighted_gradient(y_pred, y, w)
        return None, g * d * (n / (n if w is None else w.sum())), None
    d = loss.gradient(y_pred, y) * n                          # "none": ∂ℓ_i/∂f_i = n · (row i of ∂R/∂f)
    scale = g if w is None else g * w
    return None, scale.reshape((-1,) + (1,) * (d.ndim - 1)) * d, None


_LOSS = Op("loss", _loss_forward, "loss")
_LOSS.defvjp(_loss_vjp)


def traced_loss(loss, y_true, y_pred, sample_weight=None):
    """``loss(y_true, y_pred, sample_weight)`` for a built-in loss on traced values: one tape entry."""
    return _LOSS(y_true, y_pred, sample_weight, loss=loss)


def _rows_forward(y_true, y_pred, loss=None):
    f, y, _ = _rows_of(loss, y_true, y_pred)
    return np.asarray(loss.per_example(f, y), dtype=y_pred.dtype).reshape(y_pred.shape[:-1])


def _rows_vjp(g, out, y_true, y_pred, need=None, loss=None):
    _no_target_gradient(loss, need)
    f, y, m = _rows_of(loss, y_true, y_pred)
    d = loss.gradient(f, y) * m                               # ∂ℓ_i/∂f_i: m times row i of ∂(mean ℓ)/∂f
    return None, (np.reshape(g, (m, 1)) * d).reshape(y_pred.shape)


_ROWS = Op("loss_rows", _rows_forward, "loss")
_ROWS.defvjp(_rows_vjp)


def traced_loss_rows(loss, y_true, y_pred):
    """Keras's loss function (ℓ over the last axis) of a built-in loss on traced values: one tape entry."""
    return _ROWS(y_true, y_pred, loss=loss)


tracing.HANDLERS["loss"] = traced_loss
tracing.HANDLERS["loss_rows"] = traced_loss_rows
