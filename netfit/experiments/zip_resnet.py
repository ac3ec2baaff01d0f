"""A small residual net for the ZIP digits: its recipe chosen on zip.train alone, zip.test read once.

:func:`netfit.zoo.zip_resnet` is a graph model (each residual block adds its input to
what its two convolutions make of it). Its recipe (width, depth, step size,
augmentation, dropout, passes) was chosen by :func:`search` on a validation split of
zip.train: 1,291 digits held out (the split of ``netfit lecun1989 --validation 1291``),
the other 6,000 trained on; zip.test is not read there. :func:`run` then trains the
chosen recipe (:data:`RECIPE`) on all 7,291 zip.train digits and measures the zip.test
error once, after the last pass, beside :mod:`netfit.experiments.lecun1989`'s.

    netfit zip-resnet --search      # the documented search: validation error of each candidate
    netfit zip-resnet               # the chosen recipe on zip.train; zip.test's error once

The search is small and in two rounds, ranked by validation misses (ties: the lower
validation loss): round 1 tries the :data:`ARCHITECTURES` with the :data:`BASE`
training recipe; round 2 tries each of the :data:`VARIATIONS` on round 1's best
architecture. The best of both rounds is the recipe. Measured figures are in
docs/reproductions.md ("A small ResNet for the ZIP digits").

Examples
--------
>>> from netfit.experiments import esl, zip_resnet
>>> data = esl.synthetic_data(40, 20, seed=0)
>>> results = zip_resnet.run(dict(zip_resnet.RECIPE, epochs=1), data=data, verbose=0)
>>> results.model.name, len(results.rows), results.evaluated
('zip_resnet', 1, 'test')
"""
import gc
import os
import sys
import time

import numpy as np

from .. import optimizers, zoo
from ..datasets import zipcode
from .esl import shift_pixels

__all__ = ["run", "search", "split", "add_parser", "main", "Results", "RECIPE", "BASE", "ARCHITECTURES",
           "VARIATIONS", "VALIDATION", "REFERENCES"]

#: Held-out zip.train digits for the search (lecun1989's split: the first 1,291 of its seeded permutation).
VALIDATION = 1291

#: The search's starting recipe (round 1 varies the architecture under it).
BASE = {"filters": 16, "blocks": 1, "dropout": 0.0, "epochs": 20, "lr": 2e-3, "batch_size": 64,
        "weight_decay": 1e-4, "shift": True}
#: Round 1: (filters, residual blocks per stage) tried with the BASE training recipe.
ARCHITECTURES = ({"filters": 16, "blocks": 1}, {"filters": 16, "blocks": 2}, {"filters": 32, "blocks": 1})
#: Round 2: one change each to round 1's best.
VARIATIONS = ({"lr": 1e-3}, {"lr": 4e-3}, {"shift": False}, {"dropout": 0.25}, {"epochs": 40})

#: The recipe the search chose (docs/reproductions.md gives its table): round 1's best architecture (32/64
#: filters, one block per stage) with round 2's γ = 4·10⁻³; ``zoo.zip_resnet``'s defaults are its net.
RECIPE = {**BASE, "filters": 32, "lr": 4e-3}

#: zip.test (error, misses) of other nets, printed beside ours for scale: netfit's from docs/reproductions.md,
#: the paper's from its §5.
REFERENCES = {"netfit lecun1989 --recipe modern (5 nets of 136,930 weights)": ("2.24%", 45),
              "netfit lecun1989 --recipe paper (9,760 weights)": ("5.53%", 111),
              "LeCun et al. 1989, the paper": ("5.0%", 102)}


class Results:
    """One training run: ``rows`` per pass, the ``model``, and where it was evaluated ("validation" or "test")."""

    def __init__(self, recipe, evaluated, train_size, eval_size, seed, command=None):
        self.recipe, self.evaluated, self.seed, self.command = recipe, evaluated, seed, command
        self.train_size, self.eval_size = train_size, eval_size
        self.rows, self.model, self.seconds, self.final = [], None, 0.0, None

    def to_markdown(self):
        f = self.final
        lines = [f"## zoo.zip_resnet on the ZIP digits ({self.evaluated})", "",
                 f"{describe(self.recipe)}; {self.model.count_params():,} weights; seed {self.seed}; "
                 f"{self.train_size:,} training digits, {self.eval_size:,} {self.evaluated} digits; "
                 f"{_passes(len(self.rows))} in {self.seconds:.0f} s.", ""]
        if self.command:
            lines += [f"Command: `{self.command}`", ""]
        if f:
            lines += [f"| net | {self.evaluated} error | {self.evaluated} misses | train error |",
                      "|---|---:|---:|---:|",
                      f"| zoo.zip_resnet | **{f['error']:.2%}** | {f['misses']} | {f['train_error']:.2%} |"]
            if self.evaluated == "test":
                lines += [f"| {name} | {error} | {misses} | |" for name, (error, misses) in REFERENCES.items()]
            lines.append("")
        lines += ["| pass | train loss | train accuracy" + (" | validation error | validation loss |"
                                                            if self.evaluated == "validation" else " |"),
                  "|---:|---:|---:|" + ("---:|---:|" if self.evaluated == "validation" else "")]
        for r in self.rows:
            extra = f" {r['error']:.2%} | {r['loss']:.4f} |" if "error" in r else ""
            lines.append(f"| {r['pass']} | {r['train_loss']:.4f} | {r['train_accuracy']:.4f} |{extra}")
        return "\n".join(lines) + "\n"


def describe(recipe):
    """The recipe in words."""
    r = recipe
    blocks = f"{r['blocks']} residual block{'s' if r['blocks'] > 1 else ''} per stage"
    dropout = f", dropout {r['dropout']:g}" if r["dropout"] else ""
    shift = ", digits shifted ±1 pixel each pass" if r["shift"] else ""
    return (f"{r['filters']}/{2 * r['filters']} filters, {blocks}{dropout}; Adam γ = {r['lr']:g} with cosine decay "
            f"to 0, weight decay {r['weight_decay']:g}, batch {r['batch_size']}, {_passes(r['epochs'])}{shift}")


def _passes(n):
    return f"{n} pass{'' if n == 1 else 'es'}"


def split(x, y, validation, seed=0):
    """(x_train, y_train, x_held, y_held): ``validation`` digits held out of zip.train, file order kept.

    The held-out digits are the first ``validation`` of ``default_rng([seed, 1989]).permutation(n)``,
    the split of ``netfit lecun1989 --validation``.
    """
    order = np.random.default_rng([seed, 1989]).permutation(len(x))
    held = np.zeros(len(x), bool)
    held[order[:validation]] = True
    return x[~held], y[~held], x[held], y[held]


def _check_recipe(recipe, where):
    unknown = set(recipe) - set(BASE)
    if unknown:
        raise ValueError(f"{where}: expected recipe keys among {sorted(BASE)}, got unknown {sorted(unknown)}.")
    return {**BASE, **recipe}


def run(recipe=None, seed=0, validation=None, data=None, data_path=None, out=None, verbose=1, print_fn=print,
        command=None):
    """Train ``zoo.zip_resnet`` with ``recipe`` and measure its error once, after the last pass.

    Parameters
    ----------
    recipe : dict, optional
        Keys of :data:`BASE`; missing ones from it. :data:`RECIPE` when omitted.
    seed : int
        Starting weights, shuffles and shifts (and the validation split).
    validation : int, optional
        Hold out this many zip.train digits, train on the rest and report the held-out
        ones (their error after every pass too); zip.test is then not read.
    data : ((x, y), (x_test, y_test)), optional
        Digits instead of the ZIP files (read from ``data_path``).
    out : str, optional
        Folder for results.md.

    Returns
    -------
    Results
        ``final``: {"error", "misses", "loss", "train_error"} on zip.test (or the held-out digits).
    """
    where = "zip_resnet.run"
    r = _check_recipe(RECIPE if recipe is None else recipe, where)
    (x, y), (xt, yt) = zipcode.load_data(data_path) if data is None else data
    x, y = np.asarray(x, np.float32), np.asarray(y)
    evaluated = "test"
    if validation is not None:
        if isinstance(validation, bool) or not isinstance(validation, int) or not 0 < validation < len(x):
            raise ValueError(f"{where}: expected validation a number of digits in 1..{len(x) - 1}, got {validation!r}.")
        x, y, xt, yt = split(x, y, validation, seed)
        evaluated = "validation"
    xt, yt = np.asarray(xt, np.float32), np.asarray(yt)
    model = zoo.zip_resnet(input_shape=x.shape[1:], seed=seed, filters=r["filters"], blocks=r["blocks"],
                           dropout=r["dropout"])
    steps = -(-len(x) // r["batch_size"])
    schedule = optimizers.CosineDecay(r["lr"], steps * r["epochs"])    # γ_0 · ½(1 + cos(π t / T)), to 0
    model.compile(optimizer=optimizers.Adam(schedule, weight_decay=r["weight_decay"]),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    results = Results(r, evaluated, len(x), len(xt), seed, command)
    results.model = model
    shifts = np.random.default_rng([seed, 2])
    start = time.perf_counter()
    if verbose:
        print_fn(f"zip_resnet: {model.count_params():,} weights; {describe(r)}; {len(x):,} training digits, "
                 f"{len(xt):,} {evaluated} digits")
    for p in range(r["epochs"]):
        xs = shift_pixels(x, shifts) if r["shift"] else x
        history = model.fit(xs, y, batch_size=r["batch_size"], epochs=p + 1, initial_epoch=p, verbose=0)
        if history.interrupted or not history.epoch or model.stop_training:
            break
        row = {"pass": p + 1, "train_loss": history.history["loss"][-1],
               "train_accuracy": history.history["accuracy"][-1]}
        if evaluated == "validation":                     # the held-out digits may be read after every pass
            row.update(_errors(model, xt, yt))
        results.rows.append(row)
        if verbose:
            print_fn(f"pass {p + 1:2d}/{r['epochs']}: train loss {row['train_loss']:.4f}"
                     + (f", validation error {row['error']:.2%} ({row['misses']} misses)" if "error" in row else ""))
    results.seconds = time.perf_counter() - start
    results.final = {**_errors(model, xt, yt), "train_error": _errors(model, x, y)["error"]}   # zip.test: once
    if verbose:
        f = results.final
        print_fn(f"after {_passes(len(results.rows))} ({results.seconds:.0f} s): {evaluated} error {f['error']:.2%} "
                 f"({f['misses']} of {len(xt):,}), train error {f['train_error']:.2%}")
    if out is not None:
        os.makedirs(out, exist_ok=True)
        with open(os.path.join(out, "results.md"), "w", encoding="utf-8") as handle:
            handle.write(results.to_markdown())
    return results


def _errors(model, x, y):
    proba = model.predict(x, batch_size=256)              # im2col of 256 digits: 75 MB for a 32-map layer
    misses = int(np.sum(proba.argmax(axis=1) != y))
    loss = float(-np.mean(np.log(np.clip(proba[np.arange(len(y)), y], 1e-12, None))))
    return {"error": misses / len(y), "misses": misses, "loss": loss}


def search(seed=0, validation=VALIDATION, architectures=ARCHITECTURES, variations=VARIATIONS, base=None,
           data=None, data_path=None, out=None, verbose=1, print_fn=print):
    """The two-round search on held-out zip.train digits; returns ``(best recipe, rows)`` (zip.test unread).

    Each row: {"round", "change", "recipe", "misses", "error", "loss", "seconds"}; ranked by misses, then
    loss. ``base`` (default :data:`BASE`) is the training recipe of round 1.
    """
    base = _check_recipe(base or {}, "zip_resnet.search")
    if data is None:
        (x, y), _ = zipcode.load_data(data_path)
        data = ((x, y), (x[:0], y[:0]))                   # zip.test is never loaded into the search
    rows = []

    def trial(round_, change, recipe):
        res = run(recipe, seed=seed, validation=validation, data=data, verbose=0)
        rows.append({"round": round_, "change": change, "recipe": res.recipe, **res.final,
                     "seconds": round(res.seconds, 1), "weights": res.model.count_params()})
        del res
        gc.collect()                                      # a trained model's buffers go before the next one
        if verbose:
            print_fn(f"round {round_}, {change:28s}: validation {res.final['misses']:3d} misses "
                     f"({res.final['error']:.2%}), loss {res.final['loss']:.4f}  [{res.seconds:.0f} s]")
        return rows[-1]

    key = (lambda row: (row["misses"], row["loss"]))
    first = [trial(1, ", ".join(f"{k} {v}" for k, v in arch.items()), {**base, **arch}) for arch in architectures]
    best = min(first, key=key)
    for change in variations:
        trial(2, ", ".join(f"{k} {v}" for k, v in change.items()), {**best["recipe"], **change})
    winner = min(rows, key=key)
    if out is not None:
        os.makedirs(out, exist_ok=True)
        with open(os.path.join(out, "search.md"), "w", encoding="utf-8") as handle:
            handle.write(search_markdown(rows, winner, validation))
    return winner["recipe"], rows


def search_markdown(rows, winner, validation):
    lines = [f"## zip_resnet's search on {validation:,} held-out zip.train digits", "",
             "| round | change | weights | validation misses | error | loss | seconds |",
             "|---:|---|---:|---:|---:|---:|---:|"]
    lines += [f"| {r['round']} | {r['change']}{' **(chosen)**' if r is winner else ''} | {r['weights']:,} | "
              f"{r['misses']} | {r['error']:.2%} | {r['loss']:.4f} | {r['seconds']:.0f} |" for r in rows]
    return "\n".join(lines + ["", f"Chosen: {describe(winner['recipe'])}."]) + "\n"


# -- command line ------------------------------------------------------------------------------
def add_parser(subparsers):
    """Add the ``zip-resnet`` subcommand to ``netfit``'s subparsers; its func returns the exit code."""
    p = subparsers.add_parser(
        "zip-resnet", help="a small residual net on the zip-code digits (recipe chosen on zip.train)",
        description="Train zoo.zip_resnet (a graph: residual blocks) on zip.train with the recipe chosen on a "
                    "validation split of zip.train, and measure its zip.test error once; --search reruns the "
                    "search (zip.test is not read).")
    p.add_argument("--search", action="store_true", help="run the two-round search on held-out zip.train digits")
    p.add_argument("--validation", type=int, default=None,
                   help=f"hold out N zip.train digits and report them instead of zip.test (--search: {VALIDATION})")
    p.add_argument("--epochs", type=int, default=None, help="passes instead of the recipe's")
    p.add_argument("--seed", type=int, default=0, help="seed of the weights, shuffles, shifts and split (default 0)")
    p.add_argument("--out", default="zip-resnet-output", help="folder for results.md or search.md")
    p.add_argument("--verbose", type=int, default=1, choices=(0, 1), help="1 (default): a line per pass or trial")
    p.set_defaults(func=main)
    return p


def main(args):
    """Run ``netfit zip-resnet`` from parsed arguments; print the table; return the exit code."""
    command = "netfit " + " ".join(sys.argv[1:]) if sys.argv[1:2] == ["zip-resnet"] else None
    if args.search:
        base = {"epochs": args.epochs} if args.epochs else None
        recipe, rows = search(seed=args.seed, validation=args.validation or VALIDATION, base=base, out=args.out,
                              verbose=args.verbose)
        print(search_markdown(rows, min(rows, key=lambda r: (r["misses"], r["loss"])), args.validation or VALIDATION))
        return 0
    recipe = dict(RECIPE, **({"epochs": args.epochs} if args.epochs else {}))
    results = run(recipe, seed=args.seed, validation=args.validation, out=args.out, verbose=args.verbose,
                  command=command)
    print(results.to_markdown())
    return 0
