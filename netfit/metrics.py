"""Metrics, streamed over batches by their sufficient statistics: exact over the whole data set.

Each metric is a small object with Keras's three methods::

    update_state(y_true, y_pred, sample_weight=None)   add one batch's sufficient statistics
    result()                                            the value over every batch added so far
    reset_state()                                       forget them

The statistics are what makes the result exact whatever the batching: sums
and counts for means (accuracy, MSE, MAE), confusion counts for precision and
recall, per-output (W, ȳ, Σw(y − ȳ)², Σw(y − f)²) for R², and two histograms
over the thresholds for the area under the ROC curve. ``evaluate`` with
``batch_size=7`` and with ``batch_size=len(x)`` give the same value (to
rounding, and bit for bit for the counts), and ``fit``'s history holds each
epoch's value over all that epoch's predictions, as Keras does, never a mean
of per-batch values. docs/callbacks_metrics.md lists every entry.

"accuracy" means what Keras means: which accuracy is decided by the loss
(argmax against one-hot rows, against integer labels, or p > 0.5).

The plain functions (``categorical_accuracy(y_pred, y)``, ``r2_score(y_pred, y)``,
...) compute one array pair at once; they take the prediction first, unlike
Keras's ``(y_true, y_pred)``, as netfit always has.
"""
import copy
import math
import numbers

import numpy as np

# -- the per-example values behind the mean metrics: each returns shape (n,) -----------------------


def _rows(a):
    a = np.asarray(a)
    return a.reshape(len(a), -1)


def _labels(y_true, y_pred):
    """Integer class of each row, from integer labels (n,) / (n, 1) or one-hot rows (n, K)."""
    y_true = np.asarray(y_true)
    if y_true.ndim == 1 or (y_true.shape[-1] == 1 and y_pred.shape[-1] > 1):
        return y_true.reshape(len(y_true)).astype(np.intp, copy=False)
    return y_true.argmax(axis=-1)


def _categorical_hits(y_true, y_pred):
    return y_pred.argmax(axis=-1) == np.asarray(y_true).argmax(axis=-1)


def _sparse_hits(y_true, y_pred):
    return y_pred.argmax(axis=-1) == np.asarray(y_true).reshape(len(y_pred))


def _squared_errors(y_true, y_pred):
    return ((_rows(y_pred) - _rows(y_true)) ** 2).mean(axis=1)


def _absolute_errors(y_true, y_pred):
    return np.abs(_rows(y_pred) - _rows(y_true)).mean(axis=1)


# -- the plain functions (prediction first, one batch at a time) ----------------------------------

def categorical_accuracy(y_pred, y):
    """Fraction of rows whose argmax matches the one-hot target's argmax."""
    return np.count_nonzero(_categorical_hits(y, y_pred)) / len(y)


def sparse_categorical_accuracy(y_pred, y):
    """Fraction of rows whose argmax equals the integer label."""
    return np.count_nonzero(_sparse_hits(y, y_pred)) / len(y)


def binary_accuracy(y_pred, y):
    """Fraction of outputs on the right side of 0.5."""
    return float(np.mean((y_pred > 0.5) == (y > 0.5)))


def mean_squared_error(y_pred, y):
    """(1/nK) Σ (f − y)²."""
    return float(np.mean((y_pred - y) ** 2))


def mean_absolute_error(y_pred, y):
    """(1/nK) Σ |f − y|."""
    return float(np.mean(np.abs(y_pred - y)))


def r2_score(y_pred, y):
    """R² of one array pair, uniformly averaged over outputs (see :class:`R2Score`)."""
    metric = R2Score()
    metric.update_state(y, y_pred)
    return metric.result()


# -- the stateful metrics ------------------------------------------------------------------------------

class Metric:
    """Base of the stateful metrics: ``update_state`` / ``result`` / ``reset_state``, as in Keras.

    ``direction`` is "max" when larger is better (what ``mode="auto"`` of the
    callbacks reads), "min" otherwise.
    """

    default_name, direction = "metric", "max"

    def __init__(self, name=None):
        if name is not None and (not isinstance(name, str) or not name):
            raise TypeError(f"{type(self).__name__}: expected name a non-empty str, got {name!r}.")
        self.name = name or self.default_name
        self.reset_state()

    def reset_state(self):
        raise NotImplementedError

    def update_state(self, y_true, y_pred, sample_weight=None):
        raise NotImplementedError

    def result(self):
        raise NotImplementedError

    def get_config(self):
        """The constructor's arguments, for saving (``type(m)(**m.get_config())`` rebuilds ``m``)."""
        return {"name": self.name}

    def fresh(self):
        """A copy with the same settings and an empty state (``evaluate`` streams into one)."""
        other = copy.copy(self)
        other.reset_state()
        return other

    def __repr__(self):
        return f"<metric {self.name}>"


def _weights(sample_weight, n, where):
    w = np.asarray(sample_weight, np.float64).reshape(-1)
    if w.shape != (n,) or not np.isfinite(w).all() or (w < 0).any():
        raise ValueError(f"{where}: expected sample_weight {n} non-negative finite numbers, one per example, "
                         f"got shape {np.shape(sample_weight)}.")
    return w


class Mean(Metric):
    """Σ_i w_i v_i / Σ_i w_i over every example seen, for per-example values v_i = fn(y_true_i, f_i).

    The sufficient statistics are the two sums. Keras's ``MeanMetricWrapper``.
    """

    def __init__(self, fn, name, direction="max"):
        self._fn, self.direction = fn, direction
        super().__init__(name)

    def reset_state(self):
        self.total, self.count = 0.0, 0.0

    def update_state(self, y_true, y_pred, sample_weight=None):
        values = self._fn(y_true, np.asarray(y_pred))
        if sample_weight is not None:
            w = _weights(sample_weight, len(values), self.name)
            self.total += float(values @ w)
            self.count += float(w.sum())
        elif values.dtype == bool:
            self.total += np.count_nonzero(values)       # an exact integer count
            self.count += len(values)
        else:
            self.total += float(values.sum(dtype=np.float64))
            self.count += len(values)

    def result(self):
        return self.total / self.count if self.count else 0.0


class BinaryAccuracy(Mean):
    """Fraction of outputs on the right side of ``threshold``: mean_k [(f_k > t) = (y_k > 0.5)] per example."""

    def __init__(self, name="binary_accuracy", threshold=0.5):
        self.threshold = _check_threshold(threshold, "BinaryAccuracy")
        super().__init__(self._hits, name)

    def _hits(self, y_true, y_pred):
        return ((_rows(y_pred) > self.threshold) == (_rows(y_true) > 0.5)).mean(axis=1)

    def get_config(self):
        return {"name": self.name, "threshold": self.threshold}


class TopKCategoricalAccuracy(Mean):
    """Fraction of rows whose target class is among the k largest outputs.

    Ties count as in TensorFlow's ``in_top_k``: the target is in the top k when
    fewer than k outputs are strictly larger than its own. Targets may be one-hot
    rows or integer labels (so it serves as ``sparse_top_k_categorical_accuracy`` too).

    Shapes
    ------
    y_true : (n, K) one-hot or (n,) labels;  y_pred : (n, K)
    """

    def __init__(self, k=5, name="top_k_categorical_accuracy"):
        if isinstance(k, bool) or not isinstance(k, numbers.Integral) or k < 1:
            raise ValueError(f"TopKCategoricalAccuracy: expected k a positive integer, got {k!r}.")
        self.k = int(k)
        super().__init__(self._hits, name)

    def _hits(self, y_true, y_pred):
        target = y_pred[np.arange(len(y_pred)), _labels(y_true, y_pred)]
        return (y_pred > target[:, None]).sum(axis=1) < self.k

    def get_config(self):
        return {"k": self.k, "name": self.name}


def _check_threshold(value, where):
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not 0 <= value <= 1:
        raise ValueError(f"{where}: expected threshold a number in [0, 1], got {value!r}.")
    return float(value)


def _binary_entries(y_true, y_pred, sample_weight, where, class_id=None):
    """(truth, predicted scores, weights) as flat arrays over every output of every example.

    Integer labels for a K-column output are one-hot encoded (so ``precision``
    of a softmax classifier is micro-averaged over its classes); a target counts
    as positive when it exceeds 0.5.
    """
    f = _rows(y_pred)
    y_true = np.asarray(y_true)
    if f.shape[1] > 1 and (y_true.ndim == 1 or y_true.shape[1:] == (1,)):
        truth = _labels(y_true, f)[:, None] == np.arange(f.shape[1])
    else:
        truth = _rows(y_true) > 0.5
    w = None if sample_weight is None else np.repeat(_weights(sample_weight, len(f), where), f.shape[1])
    if class_id is not None:
        truth, f = truth[:, class_id:class_id + 1], f[:, class_id:class_id + 1]
        w = None if w is None else w.reshape(len(truth), -1)[:, class_id]
    return truth.reshape(-1), f.reshape(-1), w


class _Confusion(Metric):
    """Weighted counts of true positives, false positives and false negatives at one threshold."""

    def __init__(self, thresholds=None, class_id=None, name=None):
        where = type(self).__name__
        self.threshold = 0.5 if thresholds is None else _check_threshold(thresholds, where)
        if class_id is not None and (isinstance(class_id, bool) or not isinstance(class_id, numbers.Integral)
                                     or class_id < 0):
            raise ValueError(f"{where}: expected class_id a non-negative integer (an output column), got {class_id!r}.")
        self.class_id = class_id
        super().__init__(name)

    def reset_state(self):
        self.tp = self.fp = self.fn = 0.0

    def get_config(self):
        return {"thresholds": self.threshold, "class_id": self.class_id, "name": self.name}

    def update_state(self, y_true, y_pred, sample_weight=None):
        truth, f, w = _binary_entries(y_true, y_pred, sample_weight, self.name, self.class_id)
        said = f > self.threshold
        if w is None:
            tp = np.count_nonzero(said & truth)
            self.tp += tp
            self.fp += np.count_nonzero(said) - tp
            self.fn += np.count_nonzero(truth) - tp
        else:
            self.tp += float(w[said & truth].sum())
            self.fp += float(w[said & ~truth].sum())
            self.fn += float(w[~said & truth].sum())


class Precision(_Confusion):
    """TP / (TP + FP) with "positive" meaning f > threshold (0.5); 0 when nothing is predicted positive.

    Keras's ``Precision`` with one threshold; ``top_k`` is not offered.
    """

    default_name = "precision"

    def result(self):
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 0.0


class Recall(_Confusion):
    """TP / (TP + FN): the fraction of actual positives predicted positive; 0 when there are none."""

    default_name = "recall"

    def result(self):
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 0.0


class AUC(Metric):
    """Area under the ROC curve, by the trapezoid rule over ``num_thresholds`` thresholds (Keras's default).

    The thresholds are Keras's: −ε, 1/(N−1), 2/(N−1), …, (N−2)/(N−1), 1+ε with
    ε = 1e-7 and N = ``num_thresholds`` (200). A score counts as positive at
    threshold t when f > t (scores are clipped to [0, 1]). The sufficient
    statistics are two histograms, of the positives' and of the negatives'
    weights, by the number of thresholds each score exceeds; at threshold i,
    TP_i is the positives' weight above it and FP_i the negatives', so

        TPR_i = TP_i / P,  FPR_i = FP_i / N_neg,  AUC = Σ_i (FPR_i − FPR_{i+1}) (TPR_i + TPR_{i+1}) / 2.

    This equals scikit-learn's exact ``roc_auc_score`` when no two distinct
    scores share a bucket between neighbouring thresholds, and is within the
    bucket width of it otherwise; raise ``num_thresholds`` to get closer. Memory
    is O(N) whatever the data set's size. Multi-column outputs are flattened
    (Keras's ``multi_label=False``); integer labels are one-hot encoded first.
    Only ``curve="ROC"`` with ``summation_method="interpolation"`` is offered.
    """

    default_name = "auc"

    def __init__(self, num_thresholds=200, curve="ROC", summation_method="interpolation", name=None):
        if isinstance(num_thresholds, bool) or not isinstance(num_thresholds, numbers.Integral) or num_thresholds < 2:
            raise ValueError(f"AUC: expected num_thresholds an integer >= 2, got {num_thresholds!r}.")
        if curve != "ROC" or summation_method != "interpolation":
            raise ValueError(f"AUC: expected curve='ROC' and summation_method='interpolation' (the only ones offered), "
                             f"got curve={curve!r}, summation_method={summation_method!r}.")
        self.num_thresholds = int(num_thresholds)
        inner = [(i + 1) * 1.0 / (self.num_thresholds - 1) for i in range(self.num_thresholds - 2)]
        self.thresholds = np.array([0.0 - 1e-7] + inner + [1.0 + 1e-7])
        super().__init__(name)

    def get_config(self):
        return {"num_thresholds": self.num_thresholds, "name": self.name}

    def reset_state(self):
        self.positives = np.zeros(self.num_thresholds)
        self.negatives = np.zeros(self.num_thresholds)

    def update_state(self, y_true, y_pred, sample_weight=None):
        truth, f, w = _binary_entries(y_true, y_pred, sample_weight, self.name)
        f = np.clip(f, 0.0, 1.0)
        # Bucket b: the score exceeds thresholds 0..b (b + 1 of them); it counts at every i <= b.
        bucket = np.searchsorted(self.thresholds, f, side="left") - 1
        ones = np.ones(len(f)) if w is None else w
        self.positives += np.bincount(bucket[truth], ones[truth], minlength=self.num_thresholds)
        self.negatives += np.bincount(bucket[~truth], ones[~truth], minlength=self.num_thresholds)

    def result(self):
        tp = np.cumsum(self.positives[::-1])[::-1]            # TP_i = Σ_{b >= i} positives_b
        fp = np.cumsum(self.negatives[::-1])[::-1]
        if tp[0] == 0 or fp[0] == 0:                          # one class only: no curve (Keras gives 0)
            return 0.0
        tpr, fpr = tp / tp[0], fp / fp[0]
        return float(np.sum((fpr[:-1] - fpr[1:]) * (tpr[:-1] + tpr[1:]) / 2))


class R2Score(Metric):
    """R² = 1 − Σ_i w_i (y_i − f_i)² / Σ_i w_i (y_i − ȳ)², per output, then averaged over outputs.

    The coefficient of determination, as ``sklearn.metrics.r2_score`` computes
    it (uniform average over outputs; an output with constant targets scores 1
    when fitted exactly and 0 otherwise; ``sample_weight`` as there). R² is not a
    mean over examples, so a mean of per-batch R² would be wrong. The state per
    output is (W, ȳ, Σw(y − ȳ)², Σw(y − f)²), merged batch by batch with Chan,
    Golub & LeVeque's pairwise update, so no Σy² − W ȳ² cancellation occurs
    (Keras's ``R2Score`` keeps Σy and Σy², which cancels for large means).

    Shapes
    ------
    y_true, y_pred : (n, K) or (n,)

    Examples
    --------
    >>> r2 = R2Score()
    >>> y, f = np.array([1.0, 2.0, 3.0, 4.0]), np.array([1.0, 2.0, 3.0, 5.0])
    >>> r2.update_state(y[:1], f[:1]); r2.update_state(y[1:], f[1:]); r2.result()
    0.8
    """

    default_name = "r2"

    def reset_state(self):
        self.stats = None

    def update_state(self, y_true, y_pred, sample_weight=None):
        y = _rows(y_true).astype(np.float64, copy=False)
        f = _rows(y_pred).astype(np.float64, copy=False).reshape(y.shape)
        w = np.ones(len(y)) if sample_weight is None else _weights(sample_weight, len(y), self.name)
        weight = w.sum()
        if weight == 0:
            return
        mean = w @ y / weight
        part = np.stack([np.full(y.shape[1], weight), mean, w @ (y - mean) ** 2, w @ (y - f) ** 2])
        if self.stats is None:
            self.stats = part
            return
        a = self.stats
        n = a[0] + part[0]
        delta = part[1] - a[1]
        self.stats = np.stack([n, a[1] + delta * part[0] / n, a[2] + part[2] + delta ** 2 * a[0] * part[0] / n,
                               a[3] + part[3]])

    def result(self):
        if self.stats is None:
            return 0.0
        sst, sse = self.stats[2], self.stats[3]
        with np.errstate(divide="ignore", invalid="ignore"):
            r2 = np.where(sst > 0, 1.0 - sse / np.where(sst > 0, sst, 1.0), np.where(sse == 0, 1.0, 0.0))
        return float(r2.mean())


# -- the registry ---------------------------------------------------------------------------------------

def _mean(fn, direction="max"):
    return lambda name: Mean(fn, name, direction)


_ACCURACY_FOR_LOSS = {
    "categorical_crossentropy": "categorical_accuracy",
    "sparse_categorical_crossentropy": "sparse_categorical_accuracy",
    "binary_crossentropy": "binary_accuracy",
}
_TABLE = {
    "mse": _mean(_squared_errors, "min"), "mean_squared_error": _mean(_squared_errors, "min"),
    "mae": _mean(_absolute_errors, "min"), "mean_absolute_error": _mean(_absolute_errors, "min"),
    "r2": R2Score, "r2_score": R2Score,
    "categorical_accuracy": _mean(_categorical_hits),
    "sparse_categorical_accuracy": _mean(_sparse_hits),
    "binary_accuracy": lambda name: BinaryAccuracy(name),
    "top_k_categorical_accuracy": lambda name: TopKCategoricalAccuracy(name=name),
    "sparse_top_k_categorical_accuracy": lambda name: TopKCategoricalAccuracy(name=name),
    "precision": lambda name: Precision(name=name),
    "recall": lambda name: Recall(name=name),
    "auc": lambda name: AUC(name=name),
}
_CLASSES = {cls.__name__: cls for cls in (BinaryAccuracy, TopKCategoricalAccuracy, Precision, Recall, AUC, R2Score)}
# Names that log the same quantity (for the callbacks' suggestions): Keras 2's "acc" is "accuracy".
SAME = {"acc": "accuracy", "mean_squared_error": "mse", "mean_absolute_error": "mae", "r2_score": "r2"}


def names():
    """Every metric name ``get`` accepts, "accuracy" first."""
    return ["accuracy", *_TABLE, "acc"]


def get(identifier, loss):
    """Return ``(log_name, metric)``: a new :class:`Metric` for a name, or the Metric given.

    "accuracy" (or Keras 2's "acc") is resolved from ``loss``; every other name
    is logged as written.

    Examples
    --------
    >>> from netfit import losses
    >>> get("accuracy", losses.get("sparse_categorical_crossentropy"))[0]
    'accuracy'
    >>> get("auc", losses.get("binary_crossentropy"))[1]
    <metric auc>
    """
    if isinstance(identifier, Metric):
        return identifier.name, identifier
    if isinstance(identifier, dict) and identifier.get("class_name") in _CLASSES:    # as saved by serialize
        config = identifier.get("config", {})
        try:
            metric = _CLASSES[identifier["class_name"]](**(config if isinstance(config, dict) else {"": config}))
        except TypeError as exc:
            raise ValueError(f"compile: expected the config of metric {identifier['class_name']} to hold its "
                             f"arguments, got {config!r} ({exc}).") from None
        return metric.name, metric
    if identifier in ("accuracy", "acc"):
        kind = _ACCURACY_FOR_LOSS.get(loss.name)
        if kind is None:
            raise ValueError(f"compile: metric 'accuracy' needs a classification loss, got loss "
                             f"{loss.name!r}; use metrics=['mae'] or ['mse'] for regression.")
        return "accuracy", _TABLE[kind]("accuracy")
    if isinstance(identifier, str) and identifier in _TABLE:
        return identifier, _TABLE[identifier](identifier)
    raise ValueError(f"compile: unknown metric {identifier!r}; supported: {', '.join(names())}, "
                     f"or a netfit.metrics.Metric object.")


def serialize(name, metric, loss):
    """``name`` when :func:`get` rebuilds the same metric from it, else ``{"class_name", "config"}`` (for saving)."""
    try:
        default = get(name, loss)[1]
    except ValueError:
        default = None
    if default is not None and type(default) is type(metric) and (
            type(metric) is Mean or default.get_config() == metric.get_config()):
        return name
    if type(metric).__name__ not in _CLASSES:
        raise ValueError(f"save_model: cannot save the metric {metric!r} of class {type(metric).__name__}; "
                         f"compile with a metric name or a netfit.metrics class.")
    return {"class_name": type(metric).__name__, "config": metric.get_config()}


def result_of(metric, y_true, y_pred, sample_weight=None):
    """The metric's value on one array pair, leaving ``metric``'s own state alone."""
    fresh = metric.fresh()
    fresh.update_state(y_true, y_pred, sample_weight)
    return fresh.result()


__all__ = ["Metric", "Mean", "BinaryAccuracy", "TopKCategoricalAccuracy", "Precision", "Recall", "AUC", "R2Score",
           "get", "names", "serialize", "result_of", "categorical_accuracy", "sparse_categorical_accuracy", "binary_accuracy",
           "mean_squared_error", "mean_absolute_error", "r2_score"]
