"""The confusion counts TruePositives, FalsePositives, TrueNegatives, FalseNegatives: streamed, weighted, by name."""
import numpy as np
import pytest

from netfit import losses, metrics

COUNTS = {"true_positives": metrics.TruePositives, "false_positives": metrics.FalsePositives,
          "true_negatives": metrics.TrueNegatives, "false_negatives": metrics.FalseNegatives}


def _counts(truth, said, w=None):
    w = np.ones(len(truth)) if w is None else w
    return {"true_positives": w[said & truth].sum(), "false_positives": w[said & ~truth].sum(),
            "true_negatives": w[~said & ~truth].sum(), "false_negatives": w[~said & truth].sum()}


@pytest.mark.parametrize("threshold", [0.5, 0.3, 0.0])
def test_counts_stream_over_batches_with_weights(threshold):
    rng = np.random.default_rng(2)
    y, f, w = rng.integers(0, 2, 101), rng.uniform(0, 1, 101), rng.uniform(0, 2, 101)
    expected, weighted = _counts(y == 1, f > threshold), _counts(y == 1, f > threshold, w)
    for name, cls in COUNTS.items():
        plain, heavy = cls(thresholds=threshold), cls(thresholds=threshold)
        for lo in range(0, 101, 17):                                     # batches of 17 and a rest
            plain.update_state(y[lo:lo + 17, None], f[lo:lo + 17, None])
            heavy.update_state(y[lo:lo + 17, None], f[lo:lo + 17, None], w[lo:lo + 17])
        assert plain.result() == expected[name] and heavy.result() == pytest.approx(weighted[name], rel=1e-12)
        plain.reset_state()
        assert plain.result() == 0.0
    assert sum(_counts(y == 1, f > threshold).values()) == 101


def test_counts_in_compile_by_keras_names_and_saved():
    loss = losses.get("binary_crossentropy")
    for name, cls in COUNTS.items():
        log_name, metric = metrics.get(name, loss)
        assert log_name == name and type(metric) is cls and metric.name == name == cls().name
        assert metric.direction == ("min" if name.startswith("false") else "max")
        assert metrics.serialize(name, metric, loss) == name
        again = metrics.get(metrics.serialize("mine", cls(thresholds=0.7, name="mine"), loss), loss)[1]
        assert again.threshold == 0.7 and again.name == "mine"
    logits = losses.BinaryCrossentropy(from_logits=True)
    assert metrics.get("true_positives", logits)[1].threshold == 0.0    # logits: σ(z) > ½ when z > 0


@pytest.mark.parametrize("make, match", [
    (lambda: metrics.TruePositives(thresholds=1.5), r"TruePositives: expected thresholds one number in \[0, 1\]"),
    (lambda: metrics.FalsePositives(thresholds=[0.3, 0.6]), r"FalsePositives: expected thresholds one number"),
    (lambda: metrics.TrueNegatives(name=""), r"TrueNegatives: expected name a non-empty str"),
    (lambda: metrics.FalseNegatives(thresholds="0.5"), r"FalseNegatives: expected thresholds one number"),
])
def test_count_arguments_refused(make, match):
    with pytest.raises((TypeError, ValueError), match=match):
        make()
