"""The loss contract: ``value`` (R, a batch mean), ``gradient`` (δ = ∂R/∂f), ``per_example`` (ℓ_i),
and the sample-weighted forms built on them (see :mod:`netfit.losses`)."""
import numpy as np

from .. import backend
from ..utils import check_array

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
        """Constructor arguments; ``type(loss)(**config)`` rebuilds it."""
        return {"from_logits": True} if self.from_logits else {}

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
