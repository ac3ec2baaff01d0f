"""What the stateful metrics cost on fit's per-batch hot path: an A/B in one process.

Times one training epoch of an MLP 784-128-10 (12,000 random rows, batch 32,
Adam: 375 steps) three ways, alternating, ``--repeats`` times (the first round
is dropped as warm-up):

- "old per-batch mean": a metric with the cost of the code before the metrics
  became stateful (one ``sparse_categorical_accuracy(y_pred, y) * m`` per batch);
- "new accuracy": ``metrics=["accuracy"]``, the sufficient statistics (hits, count);
- "new acc+top5+prec+rec+auc": five metrics, AUC's 200-bin histograms included.

Run: ``python benchmarks/bench_metrics.py``. On a busy machine read the minimum.
"""
import argparse
import time

import numpy as np

import netfit as nf
from netfit import metrics
from netfit.layers import Dense


class OldPerBatchMean(metrics.Metric):
    """The old hot-path cost: one function call and a multiply-add per batch."""

    def reset_state(self):
        self.total, self.seen = 0.0, 0

    def update_state(self, y_true, y_pred, sample_weight=None):
        m = len(y_true)
        self.total += metrics.sparse_categorical_accuracy(y_pred, y_true) * m
        self.seen += m

    def result(self):
        return self.total / self.seen


def _model(metric_list):
    model = nf.Sequential([Dense(128, activation="relu", input_shape=(784,)), Dense(10, activation="softmax")],
                          seed=0)
    model.compile("adam", "sparse_categorical_crossentropy", metrics=metric_list)
    return model


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=6)
    args = parser.parse_args(argv)
    rng = np.random.default_rng(0)
    x = rng.random((12000, 784), dtype=np.float32)
    y = rng.integers(0, 10, 12000)
    variants = {
        "old per-batch mean": lambda: [OldPerBatchMean("accuracy")],
        "new accuracy": lambda: ["accuracy"],
        "new acc+top5+prec+rec+auc": lambda: ["accuracy", "top_k_categorical_accuracy", "precision", "recall", "auc"],
    }
    times = {name: [] for name in variants}
    for _ in range(args.repeats):
        for name, make in variants.items():
            model = _model(make())
            start = time.perf_counter()
            model.fit(x, y, epochs=1, batch_size=32, verbose=0)
            times[name].append(time.perf_counter() - start)
    for name, t in times.items():
        t = t[1:] or t
        print(f"{name:28s} min {min(t):.3f} s  median {np.median(t):.3f} s per epoch (375 steps)")


if __name__ == "__main__":
    main()
