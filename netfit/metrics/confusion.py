"""Confusion counts (TP, FP, TN, FN), precision, recall and the area under the ROC curve, from confusion counts
and threshold histograms."""
import numbers

import numpy as np

from .base import Metric, _check_threshold, _labels, _rows, _weights


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
    """Weighted counts of true and false positives and negatives at one threshold (f > t is "positive")."""

    def __init__(self, thresholds=None, class_id=None, name=None):
        where = type(self).__name__
        self.threshold = 0.5 if thresholds is None else _check_threshold(thresholds, where, "thresholds")
        if class_id is not None and (isinstance(class_id, bool) or not isinstance(class_id, numbers.Integral)
                                     or class_id < 0):
            raise ValueError(f"{where}: expected class_id a non-negative integer (an output column), got {class_id!r}.")
        self.class_id = class_id
        super().__init__(name)

    def reset_state(self):
        self.tp = self.fp = self.fn = self.tn = 0.0

    def get_config(self):
        return {"thresholds": self.threshold, "class_id": self.class_id, "name": self.name}

    def update_state(self, y_true, y_pred, sample_weight=None):
        truth, f, w = _binary_entries(y_true, y_pred, sample_weight, self.name, self.class_id)
        said = f > self.threshold
        if w is None:
            tp = np.count_nonzero(said & truth)
            fp, fn = np.count_nonzero(said) - tp, np.count_nonzero(truth) - tp
            self.tp += tp
            self.fp += fp
            self.fn += fn
            self.tn += len(truth) - tp - fp - fn
        else:
            self.tp += float(w[said & truth].sum())
            self.fp += float(w[said & ~truth].sum())
            self.fn += float(w[~said & truth].sum())
            self.tn += float(w[~said & ~truth].sum())


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


class TruePositives(_Confusion):
    """TP: the (weighted) number of outputs with f > threshold whose target is positive (Keras's ``TruePositives``).

    Streamed over batches, so the count is over everything seen since the last reset.
    A target is positive when it exceeds 0.5 (Keras: when it is not 0; the same for 0/1
    labels); integer labels for K outputs are one-hot encoded, so every output counts.
    Keras's list of thresholds is not offered: one threshold, 0.5 by default.
    """

    default_name = "true_positives"

    def result(self):
        return self.tp


class FalsePositives(_Confusion):
    """FP: the (weighted) number of outputs with f > threshold whose target is negative (see TruePositives)."""

    default_name, direction = "false_positives", "min"

    def result(self):
        return self.fp


class TrueNegatives(_Confusion):
    """TN: the (weighted) number of outputs with f ≤ threshold whose target is negative (see TruePositives)."""

    default_name = "true_negatives"

    def result(self):
        return self.tn


class FalseNegatives(_Confusion):
    """FN: the (weighted) number of outputs with f ≤ threshold whose target is positive (see TruePositives)."""

    default_name, direction = "false_negatives", "min"

    def result(self):
        return self.fn


class AUC(Metric):
    """Area under the ROC curve, by the trapezoid rule over ``num_thresholds`` thresholds (Keras's default).

    The thresholds are Keras's: −ε, 1/(N−1), 2/(N−1), …, (N−2)/(N−1), 1+ε with
    ε = 1e-7 and N = ``num_thresholds`` (200). A score counts as positive at
    threshold t when f > t (scores are clipped to [0, 1]). The sufficient
    statistics are two histograms, of the positives' and of the negatives'
    weights, by the number of thresholds each score exceeds; at threshold i,
    TP_i is the positives' weight above it and FP_i the negatives', so

        TPR_i = TP_i / P,  FPR_i = FP_i / N_neg,  AUC = Σ_i (FPR_i − FPR_{i+1}) (TPR_i + TPR_{i+1}) / 2.

    This is the Mann–Whitney statistic with a positive and a negative in the
    same bucket counted as a tie (½): it equals scikit-learn's exact
    ``roc_auc_score`` when no positive shares a bucket with a negative, and
    differs by at most half the fraction of (positive, negative) pairs that
    share one; raise ``num_thresholds`` to get closer. Memory
    is O(N) whatever the data set's size. Multi-column outputs are flattened
    (Keras's ``multi_label=False``); integer labels are one-hot encoded first.
    Only ``curve="ROC"`` with ``summation_method="interpolation"`` is offered.
    ``from_logits=True`` (Keras's argument) reads logits z and scores σ(z); compiled
    as ``"auc"`` with ``BinaryCrossentropy(from_logits=True)`` it is set for you.
    """

    default_name = "auc"

    def __init__(self, num_thresholds=200, curve="ROC", summation_method="interpolation", name=None,
                 from_logits=False):
        if isinstance(num_thresholds, bool) or not isinstance(num_thresholds, numbers.Integral) or num_thresholds < 2:
            raise ValueError(f"AUC: expected num_thresholds an integer >= 2, got {num_thresholds!r}.")
        if curve != "ROC" or summation_method != "interpolation":
            raise ValueError(f"AUC: expected curve='ROC' and summation_method='interpolation' (the only ones offered), "
                             f"got curve={curve!r}, summation_method={summation_method!r}.")
        if not isinstance(from_logits, (bool, np.bool_)):
            raise TypeError(f"AUC: expected from_logits True or False, got {from_logits!r}.")
        self.from_logits = bool(from_logits)
        self.num_thresholds = int(num_thresholds)
        inner = [(i + 1) * 1.0 / (self.num_thresholds - 1) for i in range(self.num_thresholds - 2)]
        self.thresholds = np.array([0.0 - 1e-7] + inner + [1.0 + 1e-7])
        super().__init__(name)

    def get_config(self):
        return {"num_thresholds": self.num_thresholds, "name": self.name, "from_logits": self.from_logits}

    def reset_state(self):
        self.positives = np.zeros(self.num_thresholds)
        self.negatives = np.zeros(self.num_thresholds)

    def update_state(self, y_true, y_pred, sample_weight=None):
        truth, f, w = _binary_entries(y_true, y_pred, sample_weight, self.name)
        f = 0.5 * (1.0 + np.tanh(0.5 * f)) if self.from_logits else np.clip(f, 0.0, 1.0)     # σ(z), overflow-free
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
