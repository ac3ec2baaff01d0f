"""Choose each ESL net's training recipe on zip.train alone: a small coordinate search (``netfit esl-search``).

For every net, :func:`run` starts from the book's recipe (:data:`esl_recipes.START`)
and walks the axes of :data:`esl_recipes.AXES` in order (starting weights, hidden
units, loss, optimizer, learning rate, its decay per epoch, weight decay): it
trains each value of the axis, the others held, and keeps the best if it beats
the current recipe. A recipe's score is its mean validation accuracy over
``draws`` validation draws at the epoch where that mean peaks (≤ ``max_epochs``),
and that epoch becomes the recipe's number of epochs.

A validation draw takes a stratified 320 digits from zip.train to train on and
another stratified 160 *other* zip.train digits to score on, so zip.test plays
no part in the choice. The outcome is what :data:`esl_recipes.TUNED` holds.

Examples
--------
>>> from netfit.experiments import esl, esl_search
>>> found = esl_search.run(nets=["net1"], draws=1, max_epochs=2, train_size=20, val_size=10, verbose=0,
...                        axes=(("loss", ("mse", "crossentropy")),), data=esl.synthetic_data(seed=0))
>>> [row["value"] for row in found.rows]
['start', 'crossentropy']
>>> sorted(found.chosen)
['net1']
"""
import csv
import io
import sys
import time

import numpy as np

from .. import utils
from ..datasets import zipcode
from . import esl_recipes
from ._report import write_texts
from .esl import stratified_sample

__all__ = ["run", "add_parser", "main", "validation_draw", "Search"]

FIELDS = ("net", "step", "axis", "value", "score", "best_epoch", "kept", "recipe")


def validation_draw(labels, train_size, val_size, rng, where="esl_search.run"):
    """Indices (train, val) into zip.train: two disjoint stratified draws.

    Examples
    --------
    >>> import numpy as np
    >>> y = np.repeat(np.arange(10), 60)
    >>> tr, va = validation_draw(y, 320, 160, np.random.default_rng(0))
    >>> len(tr), len(va), len(set(tr) & set(va)), np.bincount(y[va]).tolist()[:3]
    (320, 160, 0, [16, 16, 16])
    """
    tr = stratified_sample(labels, train_size, rng, where=where)
    rest = np.setdiff1d(np.arange(len(labels)), tr)
    va = rest[stratified_sample(np.asarray(labels)[rest], val_size, rng, where=where)]
    return tr, va


class Search:
    """What :func:`run` tried: ``rows`` (one per scored recipe, fields :data:`FIELDS`) and ``chosen`` recipes."""

    def __init__(self, config):
        self.config, self.rows, self.chosen, self.seconds = config, [], {}, 0.0
        self.started = time.strftime("%Y-%m-%d %H:%M")

    def to_markdown(self):
        c = self.config
        lines = ["## How the recipes were chosen (validation draws from zip.train)", "",
                 f"{c['draws']} validation draw(s) of {c['train_size']} training and {c['val_size']} validation "
                 f"digits, both from zip.train; up to {c['max_epochs']} epochs; score = mean validation accuracy "
                 f"at the best epoch of the mean curve. started {self.started} · {self.seconds:.0f} s.",
                 ""]
        if c.get("command"):
            lines += [f"Command: `{c['command']}`", ""]
        lines += ["| net | step | axis | value | validation accuracy | best epoch | kept |", "|---|---:|---|---|---:|---:|---|"]
        for r in self.rows:
            lines.append(f"| {r['net']} | {r['step']} | {r['axis']} | {r['value']} | {r['score']:.1%} | "
                         f"{r['best_epoch']} | {'yes' if r['kept'] else ''} |")
        lines += ["", "Chosen recipes:", ""]
        lines += [f"- {net}: {esl_recipes.describe(recipe, net)}" for net, recipe in self.chosen.items()]
        return "\n".join(lines) + "\n"

    def to_csv(self):
        buf = io.StringIO()
        writer = csv.DictWriter(buf, FIELDS, lineterminator="\n")
        writer.writeheader()
        for r in self.rows:
            writer.writerow({**r, "score": f"{r['score']:.6f}"})
        return buf.getvalue()

    def write(self, out):
        """search.md and search.csv into folder ``out``; return the paths."""
        return write_texts(out, {"search.md": self.to_markdown(), "search.csv": self.to_csv()})


def _candidate(recipe, axis, value):
    if axis == "lr":
        return {**recipe, "lr": recipe["lr"] * value}
    if axis == "optimizer":
        return recipe if value == recipe["optimizer"] else {**recipe, "optimizer": value,
                                                            "lr": esl_recipes.OPTIMIZER_LR[value]}
    return {**recipe, axis: value}


def run(nets=esl_recipes.ESL_NETS, draws=4, max_epochs=150, train_size=320, val_size=160, seed=11,
        axes=esl_recipes.AXES, data=None, data_path=None, out=None, verbose=1, print_fn=print, command=None):
    """Run the coordinate search for each net in ``nets``; return a :class:`Search`.

    Parameters
    ----------
    draws : int
        Validation draws; draw d comes from ``default_rng([seed, d])`` and the starts of
        net k on it from ``[seed, d, k]``.
    max_epochs : int
        Epochs each candidate trains (its validation accuracy is recorded after each).
    axes : sequence of (name, values)
        The ingredients to vary (default :data:`esl_recipes.AXES`).
    data, data_path, out, verbose, print_fn, command
        As for :func:`netfit.experiments.esl.run`; ``out`` gets search.md and search.csv.
    """
    where = "esl_search.run"
    for name, value in (("draws", draws), ("max_epochs", max_epochs), ("train_size", train_size),
                        ("val_size", val_size)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{where}: expected {name} a positive integer, got {value!r}.")
    nets = [nets] if isinstance(nets, str) else list(nets)
    bad = [n for n in nets if n not in esl_recipes.ESL_NETS]
    if not nets or bad:
        raise ValueError(f"{where}: expected nets from {', '.join(esl_recipes.ESL_NETS)}, got {bad or nets!r}.")
    if data is None:
        data = zipcode.load_data(data_path)
    (x_all, y_all), _ = data          # zip.test is not used
    y_all = np.asarray(y_all)
    splits = []
    for d in range(draws):
        tr, va = validation_draw(y_all, train_size, val_size, np.random.default_rng([seed, d]), where=where)
        splits.append((x_all[tr], utils.to_categorical(y_all[tr], 10), x_all[va], utils.to_categorical(y_all[va], 10)))
    config = {"nets": list(nets), "draws": draws, "max_epochs": max_epochs, "train_size": train_size,
              "val_size": val_size, "seed": seed, "command": command}
    search, start = Search(config), time.perf_counter()
    for k, net in enumerate(nets):
        cache = {}

        def score(recipe):
            key = tuple(sorted(recipe.items(), key=lambda kv: kv[0]))
            if key not in cache:
                curves = []
                for d, (x, y1, xv, yv1) in enumerate(splits):
                    init_seed = int(np.random.SeedSequence([seed, d, k]).generate_state(1, np.uint64)[0] >> 1)
                    model = esl_recipes.build(net, {**recipe, "epochs": max_epochs}, init_seed,
                                              -(-len(x) // recipe["batch_size"]))
                    history = model.fit(x, y1, epochs=max_epochs, batch_size=recipe["batch_size"], verbose=0,
                                        validation_data=(xv, yv1))
                    curve = np.full(max_epochs, np.nan)
                    trace = history.history.get("val_categorical_accuracy", [])
                    curve[:len(trace)] = trace
                    curves.append(curve)
                mean = np.nanmean(np.vstack(curves), axis=0)
                best = int(np.nanargmax(mean))
                cache[key] = (float(mean[best]), best + 1)
            return cache[key]

        current = esl_recipes.resolve(net, dict(esl_recipes.START), epochs=max_epochs)
        best, epoch = score(current)
        step = 0
        search.rows.append({"net": net, "step": step, "axis": "", "value": "start", "score": best, "best_epoch": epoch,
                            "kept": True, "recipe": esl_recipes.describe(current, net)})
        for axis, values in axes:
            if axis == "activation" and net == "net1":
                continue                      # no hidden units
            step += 1
            found = None
            for value in values:
                candidate = _candidate(current, axis, value)
                if candidate == current:
                    continue
                s, e = score(candidate)
                row = {"net": net, "step": step, "axis": axis, "value": f"{value:g}" if isinstance(value, float)
                       else str(value), "score": s, "best_epoch": e, "kept": False,
                       "recipe": esl_recipes.describe({**candidate, "epochs": e}, net)}
                search.rows.append(row)
                if s > best:
                    best, epoch, found = s, e, (candidate, row)
                if verbose:
                    print_fn(f"{net} step {step}: {axis}={row['value']}: validation {s:.1%} (epoch {e}); "
                             f"best so far {best:.1%}")
            if found:
                current, found[1]["kept"] = found[0], True
        search.chosen[net] = {**current, "epochs": epoch}
        if verbose:
            print_fn(f"{net}: chose {esl_recipes.describe(search.chosen[net], net)} (validation {best:.1%})")
    search.seconds = time.perf_counter() - start
    if out is not None:
        paths = search.write(out)
        if verbose:
            print_fn(f"Wrote {', '.join(paths)}")
    return search


def add_parser(subparsers):
    """Add ``esl-search`` to ``netfit``'s subparsers."""
    p = subparsers.add_parser(
        "esl-search", help="choose the ESL nets' training recipes on validation draws from zip.train",
        description="Coordinate search over starts, hidden units, loss, optimizer, learning rate, its decay and "
                    "weight decay for Net-1 … Net-5, scored on validation digits drawn from zip.train (never "
                    "zip.test). Its outcome is netfit.experiments.esl_recipes.TUNED.")
    p.add_argument("--nets", default=",".join(esl_recipes.ESL_NETS), help="comma-separated (default net1,…,net5)")
    p.add_argument("--draws", type=int, default=4, help="validation draws (default 4)")
    p.add_argument("--max-epochs", type=int, default=150, help="epochs per candidate (default 150)")
    p.add_argument("--seed", type=int, default=11, help="seed of the validation draws (default 11)")
    p.add_argument("--out", default="esl-search-output", help="folder for search.md and search.csv")
    p.set_defaults(func=main)
    return p


def main(args):
    """Run ``netfit esl-search``; print the table; return 0."""
    search = run(nets=[n for n in args.nets.split(",") if n], draws=args.draws, max_epochs=args.max_epochs,
                 seed=args.seed, out=args.out, command="netfit " + " ".join(sys.argv[1:]))
    print(search.to_markdown())
    return 0
