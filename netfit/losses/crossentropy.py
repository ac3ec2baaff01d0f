"""Cross-entropies, fused with softmax or sigmoid or reading logits, and the KL divergence: losses
that compare probabilities (see :mod:`netfit.losses` for fused pairs and ``from_logits``)."""
import numpy as np

from .. import backend
from ..utils import check_array, check_labels, label_range_hint
from .base import _EPS, _TINY, Loss, _non_negative, _row_mean


class _CrossEntropy(Loss):
    """The three cross-entropies' ``from_logits`` switch (Keras and PyTorch's option)."""

    def __init__(self, from_logits=False):
        if not isinstance(from_logits, (bool, np.bool_)):
            raise TypeError(f"{type(self).__name__}: expected from_logits True or False, got {from_logits!r}.")
        self.from_logits = bool(from_logits)
        if self.from_logits:
            self.fuses_with = None          # the loss applies softmax/sigmoid itself: nothing to fuse
            self.expects = "logits"


class CategoricalCrossentropy(_CrossEntropy):
    """R = −(1/n) Σ_i Σ_k Y_ik log p_ik, for one-hot (or soft) targets Y.

    Fused with a softmax output: δ = (p − Y) / n at z. With
    ``from_logits=True`` the outputs are logits z after a linear last layer:
    p = softmax(z) is taken here, and δ = (softmax(z) − Y) / n is the error at z.

    Parameters
    ----------
    from_logits : bool
        Read the model's outputs as logits (Keras's and PyTorch's option).

    Shapes
    ------
    y_pred, y : (n, K); rows of y sum to 1

    Examples
    --------
    >>> loss = CategoricalCrossentropy(from_logits=True)
    >>> round(loss.value(np.array([[0.0, 0.0]]), np.array([[1.0, 0.0]])), 4)    # log 2
    0.6931
    """

    name = "categorical_crossentropy"
    fuses_with = "softmax"
    expects = "distribution"

    def validate(self, y, output_shape, where):
        k = output_shape[-1]
        arr = check_array(y, where, "y")
        if arr.ndim == 1 or (arr.ndim == 2 and arr.shape[1] == 1 and k > 1):
            labels = check_labels(arr, where, "y")
            first = label_range_hint(labels, k, where)
            encode = f"y = nf.utils.to_categorical({'y - 1' if first == 'y - 1' else 'y'}, {k})"
            if first not in (None, "y - 1"):
                raise ValueError(first)
            raise ValueError(f"{where}: categorical_crossentropy expects one-hot y of shape (n, {k}), "
                             f"got integer labels of shape {arr.shape}; encode them: `{encode}`, or use "
                             f"loss='sparse_categorical_crossentropy' with the labels as they are.")
        y = super().validate(arr, output_shape, where)
        if y.min() < 0:
            raise ValueError(f"{where}: expected y rows of non-negative values summing to 1 (one-hot), "
                             f"got a negative entry {float(y.min()):g}; encode labels with "
                             f"nf.utils.to_categorical(y).")
        sums = y.sum(axis=-1)
        if not np.allclose(sums, 1.0, atol=1e-3):
            bad = int(np.argmax(np.abs(sums - 1.0)))
            raise ValueError(f"{where}: expected y rows of non-negative values summing to 1 (one-hot), "
                             f"got rows summing to {float(sums.min()):g}..{float(sums.max()):g} "
                             f"(row {bad} sums to {float(sums[bad]):g}); encode labels with "
                             f"nf.utils.to_categorical(y), or divide soft targets by their row sums: "
                             f"`y = y / y.sum(axis=1, keepdims=True)`.")
        return y

    def value(self, y_pred, y, logits=None):
        if self.from_logits:
            logits = y_pred
        if logits is not None:
            return backend.scalar(-np.vdot(y, _log_softmax(logits)) / y.shape[0])
        return backend.scalar(-np.vdot(y, np.log(np.clip(y_pred, _EPS, 1.0))) / y.shape[0])

    def per_example(self, y_pred, y, logits=None):
        if self.from_logits:
            logits = y_pred
        log_p = _log_softmax(logits) if logits is not None else np.log(np.clip(y_pred, _EPS, 1.0))
        return -np.einsum("ij,ij->i", y, log_p)                                 # ℓ_i = −Σ_k Y_ik log p_ik

    def gradient(self, y_pred, y, fused=False):
        if self.from_logits:
            return (_softmax(y_pred) - y) / y.shape[0]                     # δ = (softmax(z) − Y) / n
        if fused:
            return _fused_error(y_pred, y, y.shape[0])                     # δ = (p − Y) / n (one GPU kernel)
        return -y / (np.clip(y_pred, _EPS, 1.0) * y.shape[0])


class SparseCategoricalCrossentropy(_CrossEntropy):
    """R = −(1/n) Σ_i log p_{i, y_i}, for integer class labels y_i.

    Fused with a softmax output: δ = (p − onehot(y)) / n at z. With
    ``from_logits=True``: R = (1/n) Σ_i (log Σ_k e^{z_ik} − z_{i,y_i}) and
    δ = (softmax(z) − onehot(y)) / n.

    Parameters
    ----------
    from_logits : bool
        Read the model's outputs as logits (Keras's and PyTorch's option).

    Shapes
    ------
    y_pred : (n, K); y : (n,) integers in [0, K)
    """

    name = "sparse_categorical_crossentropy"
    fuses_with = "softmax"
    integer_targets = True
    expects = "distribution"

    def validate(self, y, output_shape, where):
        if len(output_shape) != 1:
            raise ValueError(f"{where}: sparse_categorical_crossentropy needs a model output of shape (n, K), "
                             f"got output shape (n, {', '.join(map(str, output_shape))}); add Flatten() "
                             f"and Dense(K, activation='softmax') at the top.")
        y = check_labels(y, where, "y", sparse_loss=True)
        hint = label_range_hint(y, output_shape[-1], where)
        if hint == "y - 1":
            k = output_shape[-1]
            raise ValueError(f"{where}: expected labels in [0, {k - 1}] for a model with {k} outputs, got "
                             f"labels 1..{k}, which look 1-based; shift them: `y = y - 1`.")
        if hint is not None:
            raise ValueError(hint)
        return y

    def value(self, y_pred, y, logits=None):
        xp = backend.get_array_module(y_pred)
        rows = xp.arange(y.shape[0])
        if self.from_logits:
            return backend.scalar(-_log_softmax(y_pred)[rows, y].mean())
        p = y_pred[rows, y]
        if logits is not None:
            # p came from the softmax of these logits, so −log p is log-sum-exp(z) − z_y to float
            # precision: four small NumPy calls instead of a log-softmax over all K outputs. Only
            # a p near underflow needs the logits themselves.
            if backend.is_host(xp) and p.min() > _TINY:                     # (on a GPU, no test that waits)
                return float(-np.log(p).mean())
            return backend.scalar(-_log_softmax(logits)[rows, y].mean())
        return backend.scalar(-np.log(np.clip(p, _EPS, 1.0)).mean())

    def per_example(self, y_pred, y, logits=None):
        rows = backend.get_array_module(y_pred).arange(y.shape[0])
        if self.from_logits:
            logits = y_pred
        if logits is not None:
            return -_log_softmax(logits)[rows, y]                                 # ℓ_i = −log p_{i, y_i}
        return -np.log(np.clip(y_pred[rows, y], _EPS, 1.0))

    def gradient(self, y_pred, y, fused=False):
        rows, n = backend.get_array_module(y_pred).arange(y.shape[0]), y.shape[0]
        if self.from_logits:
            y_pred, fused = _softmax(y_pred), True                         # p = softmax(z), then as fused
        if fused:
            delta = y_pred / n
            delta[rows, y] -= 1.0 / n                                      # δ = (p − Y) / n
            return delta
        delta = np.zeros_like(y_pred)
        delta[rows, y] = -1.0 / (np.clip(y_pred[rows, y], _EPS, 1.0) * n)
        return delta


class BinaryCrossentropy(_CrossEntropy):
    """R = −(1/nK) Σ [y log p + (1 − y) log(1 − p)], for targets in [0, 1].

    Fused with a sigmoid output: δ = (p − y) / nK at z. With
    ``from_logits=True``: R = (1/nK) Σ [log(1 + e^z) − y z] and
    δ = (sigmoid(z) − y) / nK. K > 1 outputs are K independent yes/no
    questions (multi-label).

    Parameters
    ----------
    from_logits : bool
        Read the model's outputs as logits (Keras's and PyTorch's option).

    Shapes
    ------
    y_pred, y : (n, K), usually K = 1
    """

    name = "binary_crossentropy"
    fuses_with = "sigmoid"
    expects = "probability"

    def validate(self, y, output_shape, where):
        arr = check_array(y, where, "y")
        k = output_shape[-1]
        if arr.ndim == 1 and len(output_shape) == 1 and k > 1:
            raise ValueError(f"{where}: expected y of shape (n, {k}) (one 0/1 column per output) for "
                             f"binary_crossentropy, got labels of shape {arr.shape}; for one label per example "
                             f"use loss='sparse_categorical_crossentropy' with Dense({k}, activation='softmax'), "
                             f"or give the model one sigmoid output: Dense(1, activation='sigmoid').")
        y = super().validate(arr, output_shape, where)
        if y.min() < 0 or y.max() > 1:
            values = np.unique(y) if y.size <= 1 << 20 else np.array([y.min(), y.max()])
            fix = ""
            if values.size == 2 and values[0] == -1 and values[1] == 1:
                fix = " Labels −1/+1: `y = (y > 0).astype('float32')`."
            elif values.size == 2 and values[0] == 1 and values[1] == 2:
                fix = " Labels 1/2 look 1-based: `y = y - 1`."
            raise ValueError(f"{where}: expected y in [0, 1] for binary_crossentropy, "
                             f"got values from {y.min():g} to {y.max():g}; for class labels 0..K-1 use "
                             f"loss='sparse_categorical_crossentropy' with a softmax output of K units.{fix}")
        return y

    def value(self, y_pred, y, logits=None):
        if self.from_logits:
            logits = y_pred
        if logits is not None:
            return backend.scalar(np.mean(_softplus_minus(logits, y)))
        p = np.clip(y_pred, _EPS, 1 - _EPS)
        return backend.scalar(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))

    def per_example(self, y_pred, y, logits=None):
        if self.from_logits:
            logits = y_pred
        if logits is not None:
            terms = _softplus_minus(logits, y)
        else:
            p = np.clip(y_pred, _EPS, 1 - _EPS)
            terms = -(y * np.log(p) + (1 - y) * np.log(1 - p))
        return terms.reshape(len(terms), -1).mean(axis=1)                       # ℓ_i = mean over the K outputs

    def gradient(self, y_pred, y, fused=False):
        if self.from_logits:
            return (_sigmoid(y_pred) - y) / y_pred.size                    # δ = (sigmoid(z) − y) / nK
        if fused:
            return _fused_error(y_pred, y, y_pred.size)                    # δ = (p − y) / nK (one GPU kernel)
        p = np.clip(y_pred, _EPS, 1 - _EPS)
        return (p - y) / (p * (1 - p) * y_pred.size)


def _softplus_minus(z, y):
    """log(1 + e^z) − y z, written so that e^z never overflows."""
    return np.maximum(z, 0) - y * z + np.log1p(np.exp(-np.abs(z)))


class KLDivergence(Loss):
    """R = (1/n) Σ_i Σ_k y_ik log(y_ik / p_ik), y and p clipped to [ε, 1] (Keras's ``kl_divergence``, "kld").

    δ = −y / (p n) where ε < p ≤ 1 (0 where the clip holds p at ε). Summed over the
    K outputs and averaged over the n examples, as Keras does. With a softmax
    output it differs from categorical cross-entropy only by the entropy of y,
    a constant, so the gradients are the same.

    Shapes
    ------
    y_pred, y : (n, K); rows of y are distributions
    """

    name = "kl_divergence"

    def validate(self, y, output_shape, where):
        return _non_negative(super().validate(y, output_shape, where), where, "probabilities", self.name)

    def gradient(self, y_pred, y, fused=False):
        p = np.clip(y_pred, _EPS, 1.0)
        inside = (y_pred > _EPS) & (y_pred <= 1.0)                         # where the clip leaves p alone
        return np.where(inside, -np.clip(y, _EPS, 1.0) / (p * y.shape[0]), 0.0).astype(y_pred.dtype, copy=False)

    def per_example(self, y_pred, y, logits=None):
        y = np.clip(y, _EPS, 1.0)
        return _row_mean(y * np.log(y / np.clip(y_pred, _EPS, 1.0))) * y[0].size   # ℓ_i = Σ_k (a sum, as Keras)

    def target_gradient(self, y_pred, y):
        """∂R/∂y = (log(y/p) + 1) / n where the clip leaves y alone, else 0: for a target that is itself
        computed by what is trained (knowledge distillation's softened teacher outputs)."""
        t, p = np.clip(y, _EPS, 1.0), np.clip(y_pred, _EPS, 1.0)
        inside = (y > _EPS) & (y <= 1.0)
        return np.where(inside, (np.log(t / p) + 1.0) / y.shape[0], 0.0).astype(y_pred.dtype, copy=False)


def _log_softmax(z):
    shifted = z - z.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def _softmax(z):
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def _sigmoid(z):
    e = np.exp(-np.abs(z))                                                 # never overflows
    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e)).astype(z.dtype, copy=False)


@backend.fuse
def _fused_error(xp):
    """δ = (p − Y) / n (softmax or sigmoid output fused with its cross-entropy): one GPU kernel on a device,
    the same expression on NumPy."""
    def error(p, y, n):
        return (p - y) / n
    return error
