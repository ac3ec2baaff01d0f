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

One concept per module: base.py (the contract, the weighted mean), accuracy.py,
confusion.py (confusion counts, precision, recall, AUC), regression.py (MSE, MAE, R²); this file
holds the registry and its one ``get``.
"""
from .accuracy import (BinaryAccuracy, CategoricalAccuracy, ShapeAccuracy, SparseCategoricalAccuracy,
                       SparseTopKCategoricalAccuracy, TopKCategoricalAccuracy, binary_accuracy, categorical_accuracy, sparse_categorical_accuracy)
from .base import FunctionMean, LossMean, Mean, Metric
from .confusion import AUC, FalseNegatives, FalsePositives, Precision, Recall, TrueNegatives, TruePositives
from .regression import (MeanAbsoluteError, MeanAbsolutePercentageError, MeanSquaredError, R2Score, mean_absolute_error, mean_squared_error,
                         r2_score)

#: The plain functions that compile also takes as metrics (by identity), as Keras takes keras.metrics.<function>.
_FUNCTIONS = (categorical_accuracy, sparse_categorical_accuracy, binary_accuracy, mean_squared_error,
              mean_absolute_error, r2_score)
_ACCURACY_FOR_LOSS = {
    "categorical_crossentropy": "categorical_accuracy",
    "sparse_categorical_crossentropy": "sparse_categorical_accuracy",
    "binary_crossentropy": "binary_accuracy",
    "categorical_hinge": "categorical_accuracy",
    "compute_loss": "accuracy_by_shape",            # a model's own compute_loss: no loss to go by
}
_CLASSES = {cls.__name__: cls for cls in (
    CategoricalAccuracy, SparseCategoricalAccuracy, BinaryAccuracy, TopKCategoricalAccuracy,
    SparseTopKCategoricalAccuracy, Precision, Recall, AUC, MeanSquaredError, MeanAbsoluteError, R2Score,
    MeanAbsolutePercentageError,
    TruePositives, FalsePositives, TrueNegatives, FalseNegatives)}
_TABLE = {  # name -> class; the metric is logged under the name as written
    "mse": MeanSquaredError, "mean_squared_error": MeanSquaredError,
    "mae": MeanAbsoluteError, "mean_absolute_error": MeanAbsoluteError,
    "mape": MeanAbsolutePercentageError, "mean_absolute_percentage_error": MeanAbsolutePercentageError,
    "r2": R2Score, "r2_score": R2Score,
    "categorical_accuracy": CategoricalAccuracy,
    "sparse_categorical_accuracy": SparseCategoricalAccuracy,
    "binary_accuracy": BinaryAccuracy,
    "accuracy_by_shape": ShapeAccuracy,
    "top_k_categorical_accuracy": TopKCategoricalAccuracy,
    "sparse_top_k_categorical_accuracy": SparseTopKCategoricalAccuracy,
    "precision": Precision,
    "recall": Recall,
    "auc": AUC,
    "true_positives": TruePositives, "false_positives": FalsePositives,
    "true_negatives": TrueNegatives, "false_negatives": FalseNegatives,
}
_COUNTS = ("true_positives", "false_positives", "true_negatives", "false_negatives")
# Names that log the same quantity (for the callbacks' suggestions): Keras 2's "acc" is "accuracy".
SAME = {"acc": "accuracy", "mean_squared_error": "mse", "mean_absolute_error": "mae", "r2_score": "r2",
        "mean_absolute_percentage_error": "mape"}


def names():
    """Every metric name ``get`` accepts, "accuracy" first."""
    return ["accuracy", *_TABLE, "acc"]


def get(identifier, loss):
    """Return ``(log_name, metric)``: a new :class:`Metric` for a name, or the Metric given.

    "accuracy" (or "acc") is resolved from ``loss``; every name is logged as written
    (``"acc"`` as ``acc`` and ``val_acc``, as Keras 3 does). One of this package's plain
    functions (``categorical_accuracy``, ``mean_squared_error``, ...; Keras's
    ``keras.metrics.<function>``) stands for the metric of its name, logged under it.

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
    if callable(identifier) and any(identifier is fn for fn in _FUNCTIONS):
        identifier = identifier.__name__              # keras.metrics.categorical_accuracy: logged under its name
    if isinstance(identifier, dict) and identifier.get("class_name") in _CLASSES:    # as saved by serialize
        config = identifier.get("config", {})
        try:
            metric = _CLASSES[identifier["class_name"]](**(config if isinstance(config, dict) else {"": config}))
        except TypeError as exc:
            raise ValueError(f"compile: expected the config of metric {identifier['class_name']} to hold its "
                             f"arguments, got {config!r} ({exc}).") from None
        return metric.name, metric
    if getattr(loss, "from_logits", False) and loss.name == "binary_crossentropy" and \
            identifier in ("accuracy", "acc", "binary_accuracy"):
        # Outputs are logits: cut at 0, not 0.5 (Keras's BinaryAccuracy keeps 0.5 unless told threshold=0).
        return identifier, BinaryAccuracy(name=identifier, threshold=0.0)
    if getattr(loss, "from_logits", False) and loss.name == "binary_crossentropy" and \
            identifier in ("precision", "recall", "auc", *_COUNTS):
        # σ(z) > 0.5 exactly when z > 0; the AUC's thresholds are on σ(z) (Keras leaves both to the user).
        return identifier, (AUC(name=identifier, from_logits=True) if identifier == "auc"
                            else _TABLE[identifier](name=identifier, thresholds=0.0))
    if identifier in ("accuracy", "acc") and loss.name in ("hinge", "squared_hinge"):
        # Hinge outputs are scores whose sign is the class (labels ±1, or 0/1 converted): cut at 0.
        return identifier, BinaryAccuracy(name=identifier, threshold=0.0)
    if identifier in ("accuracy", "acc"):
        kind = _ACCURACY_FOR_LOSS.get(loss.name)
        if kind is None and getattr(loss, "accuracy_by_shape", False):
            kind = "accuracy_by_shape"                 # a loss of your own: Keras 3 goes by the shapes
        if kind is None:
            raise ValueError(f"compile: metric 'accuracy' needs a classification loss, got loss "
                             f"{loss.name!r}; use metrics=['mae'] or ['mse'] for regression.")
        return identifier, _TABLE[kind](name=identifier)
    if isinstance(identifier, str) and identifier in _TABLE:
        return identifier, _TABLE[identifier](name=identifier)
    if callable(identifier) and not isinstance(identifier, type):
        metric = FunctionMean(identifier)        # a function of your own: Keras's MeanMetricWrapper, by its name
        return metric.name, metric
    raise ValueError(f"compile: unknown metric {identifier!r}; supported: {', '.join(names())}, "
                     f"a function (y_true, y_pred) -> per-example values, or a netfit.metrics.Metric object.")


def serialize(name, metric, loss):
    """``name`` when :func:`get` rebuilds the same metric from it, else ``{"class_name", "config"}`` (for saving).

    A metric of your own says how itself (``serialized``): a function as Keras's ``{"class_name": "function",
    "config": name}``, a Metric subclass as its class and config; loading finds them in ``custom_objects``.
    """
    own = getattr(metric, "serialized", None)
    if own is not None:
        return own()
    try:
        default = get(name, loss)[1]
    except ValueError:
        default = None
    if default is not None and type(default) is type(metric) and default.get_config() == metric.get_config():
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


__all__ = ["Metric", "Mean", "CategoricalAccuracy", "SparseCategoricalAccuracy", "BinaryAccuracy",
           "TopKCategoricalAccuracy", "SparseTopKCategoricalAccuracy", "Precision", "Recall", "AUC",
           "TruePositives", "FalsePositives", "TrueNegatives", "FalseNegatives",
           "MeanSquaredError", "MeanAbsoluteError", "MeanAbsolutePercentageError", "R2Score", "FunctionMean", "get",
           "names", "serialize", "result_of",
           "categorical_accuracy", "sparse_categorical_accuracy", "binary_accuracy", "mean_squared_error",
           "mean_absolute_error", "r2_score"]
