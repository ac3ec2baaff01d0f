"""LeCun et al. 1989 on the zip-code digits it was made for: the paper's recipe and a modern one.

"Backpropagation Applied to Handwritten Zip Code Recognition" (Neural
Computation 1(4), 1989) trained its net (:func:`netfit.zoo.lecun1989`: 9,760
free parameters, 64,660 connections) on 7,291 USPS digits and tested it on
2,007: after 23 passes, 0.14 % training error (10 misses) and 5.0 % test error
(102 misses). ESL's zip.train and zip.test are those 7,291 and 2,007 digits
(16×16, grey values in [−1, 1]), so netfit can run the experiment on the real
data, where public reproductions had to simulate it from MNIST.

Recipes (:data:`RECIPES`):

- "paper": the paper's scaled tanh units 1.7159·tanh(2z/3) everywhere, ±1
  targets, squared error, one example per update in the file's fixed order,
  starting kernels uniform on ±2.4/F (F the unit's fan-in; biases start at 0,
  the paper does not say), 23 passes, and the paper's optimizer: a diagonal
  Gauss–Newton approximation of Newton's method, stochastic diagonal
  Levenberg–Marquardt (:class:`netfit.sdlm.SDLM`), h re-estimated on 500 digits
  before each pass. ε was chosen on a validation part of zip.train (never on
  zip.test); μ is LeNet-5's, in netfit's loss units.
- "modern": the same family of nets widened four times (``width`` 4: 48 maps
  in H1 and H2, 120 units in H3, 136,930 weights: 14 times the paper's) with
  what came after: ReLU units, softmax outputs and cross-entropy, He starts,
  dropout 0.25 before H3, Adam with a cosine-decayed step and weight decay,
  shuffled mini-batches of 16, each digit moved by a random affine map and an
  elastic field each pass (:func:`distort`), 60 passes; and five such nets
  (seeds seed … seed + 4) trained side by side whose softmax outputs are
  averaged (``"members"``: an ensemble, 5 × 136,930 weights at prediction
  time). Chosen by 5-fold cross-validation on zip.train (``fold``; the values
  are in :data:`RECIPES`, the comparison in docs/reproductions.md).

Measured (docs/reproductions.md): "paper" 5.53 % test error for seed 0 and
5.66 % over seeds 0–3 (paper: 5.0 %); "modern" 2.24 % (its second round, five
paper-sized nets: 2.64 %; the single net of its first round: 2.74 %; issue 12's
target, ≤ 2.0 %, is not reached).

``validation=n`` holds out n random zip.train digits and reports them in place
of zip.test, which is then not used: that is how the recipes were chosen.

Examples
--------
>>> from netfit.experiments import lecun1989, esl
>>> results = lecun1989.run("paper", passes=1, data=esl.synthetic_data(40, 20, seed=0), verbose=0)
>>> [row["pass"] for row in results.rows], results.model.count_params()
([1], 9760)
"""
import csv
import io
import os
import sys
import time

import numpy as np

from .. import optimizers, zoo
from ..datasets import zipcode
from ..figures import finish, new_figure
from ..sdlm import SDLM
from ._distortions import distort, smooth
from .esl import shift_pixels

__all__ = ["run", "add_parser", "main", "distort", "smooth", "Results", "RECIPES", "PAPER"]

#: The paper's figures after 23 passes (LeCun et al. 1989, §5).
PAPER = {"passes": 23, "train_error": 0.0014, "test_error": 0.050, "train_misses": 10, "test_misses": 102,
         "train_mse": 2.5e-3, "test_mse": 1.8e-2}

#: Each recipe: the net's options (zoo.lecun1989), loss, targets, optimizer, batch, order, passes, shifts.
RECIPES = {
    "paper": {"net": {"activation": "scaled_tanh", "initializer": "lecun1989_uniform"},
              "loss": "mse", "targets": "pm1", "optimizer": "sdlm", "lr": 0.0002, "mu": 0.004, "samples": 500,
              "batch_size": 1, "shuffle": False, "passes": 23, "shift": False},
    "modern": {"net": {"activation": "relu", "output_activation": "softmax", "initializer": "he_uniform",
                       "dropout": 0.25, "width": 4},
               "loss": "categorical_crossentropy", "targets": "onehot", "optimizer": "adam", "lr": 2e-3,
               "decay": "cosine", "weight_decay": 1e-4, "batch_size": 16, "shuffle": True, "passes": 60,
               "shift": "affine", "elastic": 18.0, "sigma": 3.0, "members": 5},
}


class Results:
    """Errors after every pass: ``rows`` of dicts (the fields of results.csv), and the trained ``model``."""

    FIELDS = ("pass", "train_error", "test_error", "train_misses", "test_misses", "train_loss", "test_loss",
              "seconds")

    def __init__(self, config):
        self.config, self.rows, self.model, self.seconds, self.interrupted = config, [], None, 0.0, False

    @property
    def test_name(self):
        return "validation" if self.config["validation"] else "test"

    def to_markdown(self):
        c, last = self.config, self.rows[-1] if self.rows else None
        t = self.test_name
        fold = f" (fold {c['fold']})" if c.get("fold") else ""
        lines = [f"## LeCun et al. 1989 on the zip-code digits (recipe: {c['recipe']})", "",
                 f"{c['train_size']:,} training digits, {c['test_size']:,} {t} digits"
                 f"{' held out of zip.train' if c['validation'] else ''}"
                 f"{fold}; {c['summary']}; "
                 f"{len(self.rows)} pass{'' if len(self.rows) == 1 else 'es'} in {self.seconds:.0f} s.", ""]
        if c.get("weights", 9760) != 9760:
            lines += [f"Each net is widened: {c['weights']:,} weights and {c['links']:,} links, against the paper's "
                      "9,760 and 64,660.", ""]
        if c.get("command"):
            lines += [f"Command: `{c['command']}`", ""]
        if last:
            lines += ["| | train error | train misses | " + t + " error | " + t + " misses |",
                      "|---|---:|---:|---:|---:|",
                      f"| netfit, pass {last['pass']} | {last['train_error']:.2%} | {last['train_misses']} | "
                      f"{last['test_error']:.2%} | {last['test_misses']} |",
                      f"| paper, pass 23 | {PAPER['train_error']:.2%} | {PAPER['train_misses']} | "
                      f"{PAPER['test_error']:.1%} | {PAPER['test_misses']} |", ""]
        lines += [f"| pass | train error | {t} error | train misses | {t} misses | train loss | {t} loss |",
                  "|---:|---:|---:|---:|---:|---:|---:|"]
        lines += [f"| {r['pass']} | {r['train_error']:.2%} | {r['test_error']:.2%} | {r['train_misses']} | "
                  f"{r['test_misses']} | {r['train_loss']:.4g} | {r['test_loss']:.4g} |" for r in self.rows]
        return "\n".join(lines) + "\n"

    def to_csv(self):
        buf = io.StringIO()
        writer = csv.DictWriter(buf, self.FIELDS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(self.rows)
        return buf.getvalue()

    def plot(self, path=None):
        """Train and test error (%) against passes, log scale, with the paper's final figures."""
        fig = new_figure((7, 4.2), "lecun1989", alternative="or pass plot=False (--no-plot)")
        ax = fig.subplots()
        passes = [r["pass"] for r in self.rows]
        for key, label, color in (("train_error", "train", "C0"), ("test_error", self.test_name, "C1")):
            ax.plot(passes, [100 * max(r[key], 1e-4) for r in self.rows], "o-", ms=3, color=color,
                    label=f"netfit, {label}")
        ax.plot([PAPER["passes"]] * 2, [100 * PAPER["train_error"], 100 * PAPER["test_error"]], "kx", ms=9,
                label="paper (pass 23): 0.14 % train, 5.0 % test")
        ax.set(yscale="log", xlabel="pass", ylabel="% misclassified",
               title=f"LeCun et al. 1989 on zip.train / zip.{'train' if self.config['validation'] else 'test'}"
                     f" (recipe: {self.config['recipe']})")
        ax.grid(alpha=0.3, which="both")
        ax.legend()
        return finish(fig, path)

    def write(self, out, plot=True):
        """Write results.md, results.csv (and lecun1989.png) into folder ``out``; return the paths."""
        os.makedirs(out, exist_ok=True)
        files = {"results.md": self.to_markdown, "results.csv": self.to_csv}
        paths = [os.path.join(out, name) for name in files]
        for path, make in zip(paths, files.values()):
            with open(path, "w", encoding="utf-8") as handle:
                handle.write(make())
        if plot and self.rows:
            paths.append(os.path.join(out, "lecun1989.png"))
            self.plot(paths[-1])
        return paths


def _targets(labels, kind, dtype):
    """±1 targets (the paper: +1 for the digit's output, −1 elsewhere) or one-hot."""
    onehot = np.eye(10, dtype=dtype)[labels]
    return 2 * onehot - 1 if kind == "pm1" else onehot


def _optimizer(recipe, lr, steps_per_pass, passes):
    lr = recipe["lr"] if lr is None else lr
    if recipe["optimizer"] == "sdlm":
        return SDLM(lr, mu=recipe["mu"], samples=recipe["samples"])
    if recipe["optimizer"] == "sgd":
        return optimizers.SGD(lr)
    if recipe["decay"] == "cosine":         # γ_0 · ½(1 + cos(π r / R)) down to 0 over all R steps of the run
        schedule = optimizers.CosineDecay(lr, steps_per_pass * passes)
    else:
        schedule = optimizers.ExponentialDecay(lr, steps_per_pass, recipe["decay"])
    return optimizers.Adam(schedule, weight_decay=recipe["weight_decay"])


def _describe(recipe, lr, seed=0):
    r, lr = recipe, recipe["lr"] if lr is None else lr
    opt = {"sdlm": f"SDLM ε = {lr:g}, μ = {r.get('mu')}, h on {r.get('samples')} digits per pass",
           "sgd": f"SGD γ = {lr:g}",
           "adam": f"Adam γ = {lr:g} × " + ("cosine decay to 0" if r.get("decay") == "cosine" else
                                             f"{r.get('decay')}^pass") + f", weight decay {r.get('weight_decay')}"
           }[r["optimizer"]]
    net = ", ".join(f"{k} {v}" for k, v in r["net"].items())
    k = r.get("members", 1)
    net = net if k == 1 else f"an ensemble of {k} nets (seeds {seed}–{seed + k - 1}, softmax outputs averaged), each {net}"
    elastic = (f" and an elastic field (α = {r['elastic']:g}, σ = {r.get('sigma', 3.0):g} pixels)"
               if r.get("elastic") and r["shift"] == "affine" else "")
    return (f"{net}; loss {r['loss']} on {'±1' if r['targets'] == 'pm1' else 'one-hot'} targets; {opt}; "
            f"batch {r['batch_size']}, {'shuffled' if r['shuffle'] else 'fixed order'}"
            f"{_AUGMENT[r['shift']]}{elastic}")


_AUGMENT = {False: "", True: ", digits shifted ±1 pixel each pass",
            "affine": ", digits distorted each pass (±10° rotation, ±10 % scale, ±0.1 shear, ±1 pixel shift)"}


def run(recipe="paper", passes=None, seed=0, lr=None, validation=None, train_size=None, test_size=None,
        out=None, plot=True, data=None, data_path=None, verbose=1, print_fn=print, command=None, fold=0,
        members=None):
    """Train :func:`netfit.zoo.lecun1989` with a recipe, measuring train and test error after every pass.

    Parameters
    ----------
    recipe : {"paper", "modern"}
    passes : int, optional
        Passes over the training digits (the recipe's: 23 for "paper").
    seed : int
        Starting weights, shuffles, shifts and the validation draw.
    lr : float, optional
        The recipe's ε / γ instead.
    validation : int, optional
        Hold out this many random zip.train digits and report them instead of zip.test
        (which is then not touched): for choosing a recipe.
    fold : int
        With ``validation`` = v: hold out digits fold·v … (fold + 1)·v − 1 of the seeded
        permutation (0: the first v, the split the recipes were first chosen on), so
        folds 0, 1, … are disjoint validation sets for cross-validation.
    members : int, optional
        Nets in the ensemble instead of the recipe's (``"members"``; 1: a single net).
    train_size, test_size : int, optional
        Use only the first digits of each (in file order): for quick checks.
    out : str, optional
        Folder for results.md, results.csv and lecun1989.png.
    data : ((x, y), (x_test, y_test)), optional
        Digits to use instead of the zip-code files (read from ``data_path``).

    Returns
    -------
    Results
    """
    where = "lecun1989.run"
    if recipe not in RECIPES:
        raise ValueError(f"{where}: expected recipe 'paper' or 'modern', got {recipe!r}.")
    r = RECIPES[recipe]
    passes = _positive(passes, "passes", where) or r["passes"]
    if data is None:
        data = zipcode.load_data(data_path)
    (x, y), (xt, yt) = data
    x, y, xt, yt = np.asarray(x), np.asarray(y), np.asarray(xt), np.asarray(yt)
    members = _positive(members, "members", where) or r.get("members", 1)
    if isinstance(fold, bool) or not isinstance(fold, (int, np.integer)) or fold < 0:
        raise ValueError(f"{where}: expected fold a non-negative integer, got {fold!r}.")
    if fold and not validation:
        raise ValueError(f"{where}: expected fold 0 without validation, got {fold}; pass validation=n too.")
    if _positive(validation, "validation", where):
        if (fold + 1) * validation >= len(x):
            raise ValueError(f"{where}: expected validation < {len(x)} training digits, got {validation}."
                             if not fold else f"{where}: expected (fold + 1) · validation < {len(x)} training "
                             f"digits, got fold {fold} of {validation}; use a smaller fold or validation.")
        order = np.random.default_rng([seed, 1989]).permutation(len(x))
        part = np.zeros(len(x), bool)
        part[order[fold * validation:(fold + 1) * validation]] = True
        held, kept = np.flatnonzero(part), np.flatnonzero(~part)                 # file order is kept
        x, y, xt, yt = x[kept], y[kept], x[held], y[held]
    x, y = x[:_positive(train_size, "train_size", where) or len(x)], y[:train_size or len(y)]
    xt, yt = xt[:_positive(test_size, "test_size", where) or len(xt)], yt[:test_size or len(yt)]

    steps = -(-len(x) // r["batch_size"])
    models = []                     # an ensemble's members: seeds seed, seed + 1, …; one net for members = 1
    for m in range(members):
        models.append(zoo.lecun1989(seed=seed + m, input_shape=x.shape[1:], **r["net"]))
        models[-1].build()
        models[-1].compile(optimizer=_optimizer(r, lr, steps, passes), loss=r["loss"])
    model = models[0]
    Y, Yt = _targets(y, r["targets"], model.dtype), _targets(yt, r["targets"], model.dtype)
    config = {"recipe": recipe, "passes": passes, "seed": seed, "lr": r["lr"] if lr is None else lr,
              "validation": validation or 0, "fold": fold, "train_size": len(x), "test_size": len(xt),
              "summary": _describe(dict(r, members=members), lr, seed), "command": command,
              "weights": model.count_params(), "links": model.count_links()}
    results = Results(config)
    results.model, results.models = model, models
    # Each member moves the digits with its own generator (member 0's is the single net's).
    shifts = [np.random.default_rng([seed + m, 2]) for m in range(len(models))] if r["shift"] else None
    start = time.perf_counter()
    if verbose:
        paper = "" if model.count_params() == 9760 else " (widened; the paper's net: 9,760 weights, 64,660 links)"
        print_fn(f"lecun1989 ({recipe}): " + f"{len(models)} nets of " * (len(models) > 1) +
                 f"{model.count_params():,} weights, {model.count_links():,} links{paper}; "
                 f"{len(x):,} training, {len(xt):,} {results.test_name} digits; {passes} pass{'' if passes == 1 else 'es'}")
    for p in range(passes):
        t0 = time.perf_counter()
        for m, member in enumerate(models):
            xs = (x if shifts is None else shift_pixels(x, shifts[m]) if r["shift"] is True
                  else distort(x, shifts[m], elastic=r.get("elastic", 0.0), sigma=r.get("sigma", 3.0)))
            history = member.fit(xs, Y, batch_size=r["batch_size"], epochs=p + 1, initial_epoch=p,
                                 shuffle=r["shuffle"], verbose=0)
            if history.interrupted or not history.epoch:
                results.interrupted = True
                break
        if results.interrupted:
            break
        row = {"pass": p + 1, **_errors(models, x, y, Y, "train"), **_errors(models, xt, yt, Yt, "test"),
               "seconds": round(time.perf_counter() - t0, 2)}
        results.rows.append(row)
        if verbose:
            print_fn(f"pass {p + 1:2d}/{passes}: train error {row['train_error']:6.2%} ({row['train_misses']} misses), "
                     f"{results.test_name} error {row['test_error']:6.2%} ({row['test_misses']} misses)  "
                     f"[{row['seconds']:.1f} s]")
        if any(member.stop_training for member in models):
            break
    results.seconds = time.perf_counter() - start
    if verbose and results.rows:
        last = results.rows[-1]
        print_fn(f"after {last['pass']} pass{'' if last['pass'] == 1 else 'es'} ({results.seconds:.0f} s): train {last['train_error']:.2%} "
                 f"({last['train_misses']} misses), {results.test_name} {last['test_error']:.2%} "
                 f"({last['test_misses']} misses); the paper after 23: train 0.14 % (10), test 5.0 % (102)")
    if out is not None:
        paths = results.write(out, plot=plot)
        if verbose:
            print_fn(f"Wrote {', '.join(paths)}")
    return results


def _errors(models, x, y, Y, split):
    """Misses and loss of the members' mean output (a single net's own output when there is one)."""
    out = np.mean([member.predict(x, batch_size=1024) for member in models], axis=0)
    misses = int(np.sum(out.argmax(axis=1) != y))
    loss = float(models[0].loss.value(out, Y))
    return {f"{split}_error": misses / len(y), f"{split}_misses": misses, f"{split}_loss": loss}


def _positive(value, name, where):
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{where}: expected {name} a positive integer, got {value!r}.")
    return int(value)


# -- command line ------------------------------------------------------------------------------

def add_parser(subparsers):
    """Add the ``lecun1989`` subcommand to ``netfit``'s subparsers; its func returns the exit code."""
    p = subparsers.add_parser(
        "lecun1989", help="reproduce LeCun et al. 1989 on the zip-code digits",
        description="Train LeCun et al. 1989's net (9,760 weights, 64,660 links) on zip.train and report train "
                    "and test error after every pass beside the paper's 0.14 % / 5.0 %.")
    p.add_argument("--recipe", default="paper", choices=tuple(RECIPES),
                   help="paper (default): scaled tanh, ±1 targets, squared error, SDLM, one digit per update; "
                        "modern: five nets of the family widened 4x, relu, softmax + cross-entropy, Adam, "
                        "affine + elastic distortions, dropout")
    p.add_argument("--passes", type=int, default=None, help="passes over zip.train (default: the recipe's)")
    p.add_argument("--lr", type=float, default=None, help="the recipe's ε / γ instead")
    p.add_argument("--seed", type=int, default=0, help="seed of the starting weights (default 0)")
    p.add_argument("--validation", type=int, default=None,
                   help="hold out this many zip.train digits and report them instead of zip.test")
    p.add_argument("--fold", type=int, default=0,
                   help="with --validation N: hold out the fold-th N digits of the seeded permutation (default 0)")
    p.add_argument("--members", type=int, default=None,
                   help="nets in the ensemble instead of the recipe's (1: a single net)")
    p.add_argument("--train-size", type=int, default=None, help="use only the first N training digits (quick checks)")
    p.add_argument("--test-size", type=int, default=None, help="use only the first N test digits (quick checks)")
    p.add_argument("--out", default="lecun1989-output",
                   help="folder for results.md, results.csv, lecun1989.png (default lecun1989-output)")
    p.add_argument("--no-plot", action="store_true", help="skip lecun1989.png")
    p.add_argument("--verbose", type=int, default=1, choices=(0, 1), help="1 (default): a line per pass")
    p.set_defaults(func=main)
    return p


def main(args):
    """Run ``netfit lecun1989`` from parsed arguments; print the table; return the exit code."""
    results = run(args.recipe, passes=args.passes, seed=args.seed, lr=args.lr, validation=args.validation,
                  fold=args.fold, members=args.members, train_size=args.train_size, test_size=args.test_size, out=args.out, plot=not args.no_plot, verbose=args.verbose,
                  command="netfit " + " ".join(sys.argv[1:]) if sys.argv[1:2] == ["lecun1989"] else None)
    print(results.to_markdown())
    return 130 if results.interrupted else 0
