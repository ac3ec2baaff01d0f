"""Learning curves of ESL's nets (and any zoo net): zip.test accuracy against the training-set size (``netfit esl-curves``).

ESL Table 11.1 compares the nets at one size, 320 training digits. Where
structure (local connections, shared weights) pays off depends on how much data
there is, so :func:`run` trains every net of ``nets`` on nested sizes of
zip.train and tests each on all 2,007 digits of zip.test:

- for each size n and repeat r, one stratified draw of n digits from zip.train
  (all 7,291 at n = 7,291, then repeats vary only the starts) on which every net
  trains (paired), from starts seeded by ``[seed, size index, r, k]``;
- each net trains by its recipe (:func:`netfit.experiments.esl_recipes.get`, chosen
  at n = 320 on zip.train), adapted to n in two documented ways: the number of
  gradient steps is kept at least the recipe's (epochs × 320 / n epochs), but
  never fewer than ``min_epochs`` epochs; and the weight decay λ is scaled by
  320 / n, so the penalty keeps its weight against the *summed* loss (the loss is a
  mean over the n digits);
- nets are named as in :func:`netfit.zoo.get` ("net1" … "net5", "zipcnn", or any
  builder added later such as "lecun1989"); a net without a tuned recipe gets
  :data:`esl_recipes.GENERIC` or what :func:`esl_recipes.register` gave it.
  scikit-learn's ``LogisticRegression`` runs on the same draws when installed.

The summary says at which sizes the book's ordering Net-1 < Net-2 < … < Net-5
holds in the means, and where each consecutive paired difference is clearly
positive (95 % t-interval above 0).

Examples
--------
>>> from netfit.experiments import esl, esl_curves
>>> lc = esl_curves.run(nets=["net1", "net5"], sizes=[20, 40], repeats=2, min_epochs=1, baseline=False,
...                     data=esl.synthetic_data(seed=0), verbose=0, epochs={"net1": 1, "net5": 1})
>>> [(row["net"], row["sizes"]) for row in lc.summary_by_net()]
[('net1', [20, 40]), ('net5', [20, 40])]
>>> lc.to_markdown().splitlines()[0]
'## Learning curves: zip.test accuracy against training-set size'
"""
import importlib.util
import math
import os
import sys
import time

import numpy as np

from .. import utils, zoo
from ..datasets import zipcode
from . import _plots, esl_recipes
from ._report import LABELS, runs_csv, write_texts
from ._stats import paired_difference
from .esl import fit_recipe, stratified_sample

__all__ = ["run", "add_parser", "main", "LearningCurves", "SIZES", "epochs_for"]

SIZES = (80, 160, 320, 640, 1280, 2560, 7291)
FIELDS = ("net", "size", "repeat", "epochs", "test_accuracy", "train_accuracy", "seconds")
TUNED_AT = 320


def epochs_for(recipe_epochs, size, min_epochs):
    """Epochs at ``size`` digits: the recipe's gradient steps at 320 digits, but at least ``min_epochs``.

    Examples
    --------
    >>> [epochs_for(60, n, 20) for n in (80, 320, 640, 7291)]
    [240, 60, 30, 20]
    """
    return max(int(min_epochs), math.ceil(recipe_epochs * TUNED_AT / size))


class LearningCurves:
    """What :func:`run` measured: ``runs`` (dicts with :data:`FIELDS`), ``config``, ``seconds``."""

    def __init__(self, config):
        self.config, self.runs, self.seconds = config, [], 0.0
        self.started = time.strftime("%Y-%m-%d %H:%M")

    @staticmethod
    def label(net):
        return LABELS.get(net, net)

    def nets(self):
        return list(dict.fromkeys(r["net"] for r in self.runs))

    def accuracies(self, net, size):
        """{repeat: test accuracy} of ``net`` at ``size``."""
        return {r["repeat"]: r["test_accuracy"] for r in self.runs if r["net"] == net and r["size"] == size}

    def summary_by_net(self):
        """One dict per net: sizes, mean and sd (n − 1; NaN for one repeat) of the test accuracy at each."""
        rows = []
        for net in self.nets():
            sizes = sorted({r["size"] for r in self.runs if r["net"] == net})
            acc = [np.array(list(self.accuracies(net, n).values())) for n in sizes]
            rows.append({"net": net, "sizes": sizes, "n": [len(a) for a in acc], "mean": [float(a.mean()) for a in acc],
                         "sd": [float(a.std(ddof=1)) if len(a) > 1 else math.nan for a in acc]})
        return rows

    def ordering(self):
        """Per size: the nets ranked by mean, whether the ESL nets' means rise in the book's order (None
        when fewer than two ESL nets were run), and each consecutive ESL pair's paired difference (mean,
        95 % interval) over the repeats."""
        out = []
        esl_nets = [n for n in self.nets() if n in esl_recipes.ESL_NETS]
        for size in sorted({r["size"] for r in self.runs}):
            means = {net: float(np.mean(list(self.accuracies(net, size).values())))
                     for net in self.nets() if self.accuracies(net, size)}
            ranked = sorted(means, key=means.get, reverse=True)
            present = [n for n in esl_nets if n in means]
            rises = all(means[a] < means[b] for a, b in zip(present, present[1:])) if len(present) > 1 else None
            pairs = []
            for a, b in zip(present, present[1:]):
                acc_a, acc_b = self.accuracies(a, size), self.accuracies(b, size)
                both = sorted(set(acc_a) & set(acc_b))
                pairs.append((a, b, paired_difference([acc_a[r] for r in both], [acc_b[r] for r in both])))
            out.append({"size": size, "ranked": ranked, "book_order": rises, "pairs": pairs})
        return out

    def to_markdown(self):
        c = self.config
        lines = ["## Learning curves: zip.test accuracy against training-set size", "",
                 f"Each size: {c['repeats']} repeat(s), a stratified draw from zip.train shared by every net "
                 f"(paired), tested on all of zip.test; each net by its recipe with at least the recipe's gradient "
                 f"steps and ≥ {c['min_epochs']} epochs, λ scaled by 320 / n. "
                 f"started {self.started} · {self.seconds:.0f} s.", ""]
        if c.get("command"):
            lines += [f"Command: `{c['command']}`", ""]
        sizes = sorted({r["size"] for r in self.runs})
        esl_nets = [n for n in self.nets() if n in esl_recipes.ESL_NETS]
        order = " < ".join(self.label(n) for n in esl_nets) if len(esl_nets) > 1 else "book's order"
        lines += ["| net | " + " | ".join(f"{n:,}" for n in sizes) + " |", "|---|" + "---:|" * len(sizes)]
        for row in self.summary_by_net():
            cells = dict(zip(row["sizes"], zip(row["mean"], row["sd"], row["n"])))
            lines.append(f"| {self.label(row['net'])} | " + " | ".join(
                (f"{100 * cells[n][0]:.1f} ± {100 * cells[n][1]:.1f}" if cells[n][2] > 1 else f"{100 * cells[n][0]:.1f}")
                if n in cells else "–" for n in sizes) + " |")
        lines += ["", "Mean ± sd (percentage points, n − 1) over the repeats.", "",
                  f"| training digits | ranking by mean | {order} in the means | consecutive paired "
                  "differences (points, 95 % interval) |", "|---:|---|---|---|"]
        for o in self.ordering():
            diffs = "; ".join(f"{self.label(b)} − {self.label(a)} {100 * d['mean']:+.1f}"
                              + (f" [{100 * d['low']:+.1f}, {100 * d['high']:+.1f}]" if d["n"] > 1 else "")
                              for a, b, d in o["pairs"])
            lines.append(f"| {o['size']:,} | {' > '.join(self.label(n) for n in o['ranked'])} | "
                         f"{ {True: 'yes', False: 'no', None: '–'}[o['book_order']]} | {diffs} |")
        return "\n".join(lines) + "\n"

    def to_csv(self):
        """One line per (net, size, repeat), the fields of :data:`FIELDS`."""
        return runs_csv(FIELDS, self.runs)

    def plot(self, path=None):
        """The learning curves (:func:`netfit.experiments._plots.learning_figure`)."""
        return _plots.learning_figure(self, path)

    def write(self, out, plot=True):
        """learning.md, learning.csv (and learning.png) into folder ``out``; return the paths."""
        paths = write_texts(out, {"learning.md": self.to_markdown(), "learning.csv": self.to_csv()})
        if plot and self.runs:
            paths.append(os.path.join(out, "learning.png"))
            self.plot(paths[-1])
        return paths


def _check_nets(nets):
    nets = [nets] if isinstance(nets, str) else list(nets)
    bad = [n for n in nets if n not in zoo.names()]
    if not nets or bad:
        raise ValueError(f"esl_curves.run: expected nets from {', '.join(zoo.names())}, got {bad or nets!r}.")
    return nets


def run(nets=esl_recipes.ESL_NETS, sizes=SIZES, repeats=5, recipe="tuned", min_epochs=20, epochs=None, seed=0,
        baseline=None, data=None, data_path=None, out=None, plot=True, verbose=1, print_fn=print, command=None):
    """Train every net at every size ``repeats`` times; test on all of zip.test; return :class:`LearningCurves`.

    Parameters
    ----------
    nets : sequence of str
        Zoo names (:func:`netfit.zoo.names`).
    sizes : sequence of int
        Training-set sizes drawn from zip.train (default 80 … 7,291).
    repeats : int
        Draws per size (default 5).
    recipe : {"tuned", "book"}
        Which recipes (:func:`esl_recipes.get`); "book" only for Net-1 … Net-5.
    min_epochs : int
        Fewest epochs at any size (default 20).
    epochs : dict, optional
        {net: epochs at 320 digits} replacing the recipes' (for quick runs).
    baseline : bool, optional
        Also scikit-learn's LogisticRegression (None: when installed).
    data, data_path, out, plot, verbose, print_fn, command
        As for :func:`netfit.experiments.esl.run`; ``out`` gets learning.md, learning.csv, learning.png
        (the tables also after each size, so a long run cut short keeps what it finished).
    """
    where = "esl_curves.run"
    nets = _check_nets(nets)
    for name, value in (("repeats", repeats), ("min_epochs", min_epochs)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{where}: expected {name} a positive integer, got {value!r}.")
    if epochs is not None and not set(epochs) <= set(nets):
        raise ValueError(f"{where}: expected epochs for nets among {nets!r}, got {sorted(epochs)!r}.")
    recipes = {net: esl_recipes.get(net, recipe) for net in nets}
    esl_recipes.require_scipy_for(recipes, where, "leave {nets} out of the nets")
    if data is None:
        data = zipcode.load_data(data_path)
    (x_all, y_all), (xt, yt) = data
    y_all, yt = np.asarray(y_all), np.asarray(yt)
    sizes = sorted(int(n) for n in sizes)
    if not sizes or sizes[0] < 10 or sizes[-1] > len(x_all):
        raise ValueError(f"{where}: expected sizes between 10 and {len(x_all)}, got {sizes!r}.")
    for net, e in (epochs or {}).items():
        recipes[net] = {**recipes[net], "epochs": int(e)}
    if baseline is None:
        baseline = importlib.util.find_spec("sklearn") is not None
        if not baseline and verbose:
            print_fn("(no LogisticRegression baseline: scikit-learn is not installed; "
                     "pip install 'netfit[sklearn]' to add it)")
    config = {"nets": nets, "sizes": sizes, "repeats": repeats, "recipe": recipe, "min_epochs": min_epochs,
              "seed": seed, "baseline": bool(baseline), "command": command, "recipes": recipes}
    lc, start = LearningCurves(config), time.perf_counter()
    yt1 = utils.to_categorical(yt, 10)
    total, done = len(sizes) * repeats * (len(nets) + bool(baseline)), 0
    for i, size in enumerate(sizes):
        for r in range(repeats):
            tr = stratified_sample(y_all, size, np.random.default_rng([seed, i, r]), where=where)
            x, y = x_all[tr], y_all[tr]
            y1 = utils.to_categorical(y, 10)
            jobs = (["logreg"] if baseline else []) + nets
            for k, net in enumerate(jobs):
                t0 = time.perf_counter()
                if net == "logreg":
                    test_acc, train_acc = esl_recipes.logistic_regression(x, y, xt, yt)
                    n_epochs = ""
                else:
                    base = recipes[net]
                    # L-BFGS's "epochs" are iterations to convergence on the whole batch, whatever its size.
                    n_epochs = base["epochs"] if base["optimizer"] == "lbfgs" else \
                        epochs_for(base["epochs"], size, min_epochs)
                    rec = {**base, "epochs": n_epochs, "weight_decay": base["weight_decay"] * TUNED_AT / size}
                    init_seed = int(np.random.SeedSequence([seed, i, r, k]).generate_state(1, np.uint64)[0] >> 1)
                    model, _, _, _ = fit_recipe(net, rec, init_seed, x, y1, None)
                    test_acc = model.evaluate(xt, yt1, return_dict=True)["categorical_accuracy"]
                    train_acc = model.evaluate(x, y1, return_dict=True)["categorical_accuracy"]
                seconds = time.perf_counter() - t0
                lc.runs.append({"net": net, "size": size, "repeat": r, "epochs": n_epochs,
                                "test_accuracy": float(test_acc), "train_accuracy": float(train_acc),
                                "seconds": seconds})
                done += 1
                if verbose:
                    print_fn(f"[{done}/{total}] {lc.label(net)} on {size:,} digits, repeat {r + 1}/{repeats}: "
                             f"zip.test {test_acc:.1%}, train {train_acc:.1%} ({seconds:.1f} s)")
        if out is not None and size != sizes[-1]:      # what is done so far, in case the run is cut short
            lc.seconds = time.perf_counter() - start
            lc.write(out, plot=False)
    lc.seconds = time.perf_counter() - start
    if out is not None:
        paths = lc.write(out, plot=plot)
        if verbose:
            print_fn(f"Wrote {', '.join(paths)}")
    return lc


def add_parser(subparsers):
    """Add ``esl-curves`` to ``netfit``'s subparsers."""
    p = subparsers.add_parser(
        "esl-curves", help="learning curves: ESL's nets (or any zoo nets) against the training-set size",
        description="Train each net on stratified draws of 80 … 7,291 zip.train digits (paired: every net on the "
                    "same draw) by its recipe, test on all 2,007 zip.test digits, and write learning.md (mean ± sd "
                    "per size, where the book's ordering holds), learning.csv and learning.png. Each recipe, "
                    "chosen at 320 digits, keeps at least its number of gradient steps and --min-epochs epochs, "
                    "with weight decay scaled by 320/n. The full default grid (7 sizes x 5 repeats) took 21 min "
                    "on a busy 2-core machine; for a quick look: --sizes 80,320,1280 --repeats 2.")
    p.add_argument("--nets", default=",".join(esl_recipes.ESL_NETS),
                   help=f"comma-separated zoo names (default net1,…,net5; any of {', '.join(zoo.names())})")
    p.add_argument("--sizes", default=",".join(map(str, SIZES)), help="comma-separated (default 80,…,7291)")
    p.add_argument("--repeats", type=int, default=5, help="draws per size (default 5)")
    p.add_argument("--recipe", default="tuned", choices=("tuned", "book"), help="default tuned")
    p.add_argument("--min-epochs", type=int, default=20, help="fewest epochs at any size (default 20)")
    p.add_argument("--seed", type=int, default=0, help="seed of the draws and starts (default 0)")
    p.add_argument("--no-baseline", action="store_true", help="skip scikit-learn's LogisticRegression")
    p.add_argument("--out", default="esl-curves-output", help="folder for the results")
    p.add_argument("--no-plot", action="store_true", help="skip learning.png")
    p.add_argument("--verbose", type=int, default=1, choices=(0, 1), help="1 (default): a line per trained net")
    p.set_defaults(func=main)
    return p


def main(args):
    """Run ``netfit esl-curves``; print the tables; return 0."""
    try:
        sizes = [int(s) for s in args.sizes.split(",") if s]
    except ValueError:
        raise ValueError(f"esl-curves: expected --sizes like 80,320,7291, got {args.sizes!r}.") from None
    lc = run(nets=[n for n in args.nets.split(",") if n], sizes=sizes, repeats=args.repeats, recipe=args.recipe,
             min_epochs=args.min_epochs, seed=args.seed, baseline=False if args.no_baseline else None, out=args.out,
             plot=not args.no_plot, verbose=args.verbose, command="netfit " + " ".join(sys.argv[1:]))
    print(lc.to_markdown())
    return 0
