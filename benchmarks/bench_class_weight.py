"""Minority-class recall on 95:5 data: NetClassifier and scikit-learn's MLPClassifier, without and with weights.

Issue 13 item 8. The data are ``make_classification(n_samples=2000, n_features=10,
n_informative=4, weights=[0.95], class_sep=1.0)``, split half/half (stratified);
both nets have one hidden layer of 10 units and train for 200 epochs (Adam,
learning rate 0.001). "balanced" weights are scikit-learn's n / (2 · count):
NetClassifier(class_weight="balanced") and MLPClassifier.fit(sample_weight=...).

    python benchmarks/bench_class_weight.py [--activation relu] [--seeds 0 1 2]
"""
import argparse
import time
import warnings

from sklearn.datasets import make_classification
from sklearn.metrics import balanced_accuracy_score, recall_score
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier
from sklearn.utils.class_weight import compute_sample_weight

from netfit.sklearn import NetClassifier


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--activation", default="relu", help="NetClassifier's hidden σ (MLPClassifier uses relu)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore")                     # MLPClassifier's ConvergenceWarning
    print("| seed | model | weights | minority recall | balanced accuracy | seconds |\n|---|---|---|---|---|---|")
    for seed in args.seeds:
        x, y = make_classification(n_samples=2000, n_features=10, n_informative=4, weights=[0.95], flip_y=0.0,
                                   class_sep=1.0, random_state=seed)
        xtr, xte, ytr, yte = train_test_split(x, y, test_size=0.5, stratify=y, random_state=seed)
        runs = [
            ("NetClassifier", "none", NetClassifier(hidden_layer_sizes=(10,), activation=args.activation, epochs=200,
                                                    random_state=seed), {}),
            ("NetClassifier", "balanced", NetClassifier(hidden_layer_sizes=(10,), activation=args.activation,
                                                        epochs=200, random_state=seed, class_weight="balanced"), {}),
            ("MLPClassifier", "none", MLPClassifier(hidden_layer_sizes=(10,), max_iter=200, random_state=seed), {}),
            ("MLPClassifier", "balanced", MLPClassifier(hidden_layer_sizes=(10,), max_iter=200, random_state=seed),
             {"sample_weight": compute_sample_weight("balanced", ytr)}),
        ]
        for name, weights, clf, kwargs in runs:
            start = time.perf_counter()
            pred = clf.fit(xtr, ytr, **kwargs).predict(xte)
            print(f"| {seed} | {name} | {weights} | {recall_score(yte, pred):.2f} | "
                  f"{balanced_accuracy_score(yte, pred):.3f} | {time.perf_counter() - start:.1f} |", flush=True)


if __name__ == "__main__":
    main()
