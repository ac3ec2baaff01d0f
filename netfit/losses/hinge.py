"""Hinge losses, the support vector machine's margin loss: hinge, squared hinge, categorical hinge (Keras's).

The outputs f are scores (a linear or tanh last layer), the targets ±1. As in
Keras, targets that are all 0 or 1 (checked per call, i.e. per batch) are first
mapped to −1 and 1 by 2y − 1; targets already ±1 are left alone, so the mapping
never applies twice.
"""
import numpy as np

from .base import Loss, _row_mean


def _signed(y):
    """Keras's ``convert_binary_labels_to_hinge``: 2y − 1 when every target is 0 or 1, else y."""
    return 2.0 * y - 1.0 if np.all((y == 0) | (y == 1)) else y


class Hinge(Loss):
    """R = (1 / nK) Σ_i Σ_k max(1 − y_ik f_ik, 0), targets y ∈ {−1, 1} (0/1 mapped to ∓1); Keras's ``hinge``.

    δ = −y · 1{y f < 1} / nK: only outputs inside the margin (y f < 1) are pushed,
    outward. (At y f = 1 we take the derivative 0.)

    Shapes
    ------
    y_pred, y : (n, K)
    """

    name = "hinge"

    def gradient(self, y_pred, y, fused=False):
        y = _signed(y)
        d = np.where(y * y_pred < 1, -y, 0.0) * (1.0 / y_pred.size)   # ∂ max(1 − y f, 0)/∂f = −y inside the margin
        return d.astype(y_pred.dtype, copy=False)

    def per_example(self, y_pred, y, logits=None):
        return _row_mean(np.maximum(1.0 - _signed(y) * y_pred, 0.0))  # ℓ_i = (1/K) Σ_k max(1 − y f, 0)


class SquaredHinge(Loss):
    """R = (1 / nK) Σ_i Σ_k max(1 − y_ik f_ik, 0)², targets y ∈ {−1, 1} (0/1 mapped); Keras's ``squared_hinge``.

    δ = −2 y max(1 − y f, 0) / nK: smooth at the margin, unlike the hinge.

    Shapes
    ------
    y_pred, y : (n, K)
    """

    name = "squared_hinge"

    def gradient(self, y_pred, y, fused=False):
        y = _signed(y)
        d = -2.0 * y * np.maximum(1.0 - y * y_pred, 0.0) * (1.0 / y_pred.size)   # ∂ m²/∂f = 2m · (−y)
        return d.astype(y_pred.dtype, copy=False)

    def per_example(self, y_pred, y, logits=None):
        margin = np.maximum(1.0 - _signed(y) * y_pred, 0.0)
        return _row_mean(margin * margin)                               # ℓ_i = (1/K) Σ_k max(1 − y f, 0)²


class CategoricalHinge(Loss):
    """R = (1/n) Σ_i max(neg_i − pos_i + 1, 0), pos = Σ_k y_k f_k, neg = max_k (1 − y_k) f_k (``categorical_hinge``).

    δ = 1{neg − pos + 1 > 0} · ((1 − y_k*) e_k* − y) / n, with k* the position of the
    maximum in neg (the first of equal ones).

    For one-hot rows y: the margin between the target's score and the best other
    score (Crammer–Singer). Targets are used as given (no 0/1 mapping), as Keras.
    For outputs of more axes the loss is taken along the last one and averaged over
    the others.

    Shapes
    ------
    y_pred, y : (n, ..., K)
    """

    name = "categorical_hinge"

    def _parts(self, y_pred, y):
        y = np.asarray(y, y_pred.dtype)
        rest = (1.0 - y) * y_pred
        best = rest.argmax(axis=-1)[..., None]                          # k*: first of equal maxima
        pos = np.sum(y * y_pred, axis=-1)
        neg = np.take_along_axis(rest, best, axis=-1)[..., 0]
        return pos, neg, best

    def gradient(self, y_pred, y, fused=False):
        y = np.asarray(y, y_pred.dtype)
        pos, neg, best = self._parts(y_pred, y)
        active = (neg - pos + 1.0 > 0)[..., None]
        d = -y * active                                                 # ∂(−pos)/∂f_k = −y_k
        top = np.take_along_axis(1.0 - y, best, axis=-1) * active       # ∂neg/∂f_k* = 1 − y_k*
        np.put_along_axis(d, best, np.take_along_axis(d, best, axis=-1) + top, axis=-1)
        rows = y_pred.size // y_pred.shape[-1]                          # n times the positions per example
        return (d * (1.0 / rows)).astype(y_pred.dtype, copy=False)

    def per_example(self, y_pred, y, logits=None):
        pos, neg, _ = self._parts(y_pred, y)
        return _row_mean(np.maximum(neg - pos + 1.0, 0.0))              # ℓ = max(neg − pos + 1, 0), per row
