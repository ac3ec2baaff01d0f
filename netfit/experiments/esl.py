"""ESL Table 11.1: Net-1 … Net-5 on the zip-code digits, on paired draws, each net trained by a recipe chosen on zip.train.

The book (Hastie, Tibshirani & Friedman, §11.7, after Le Cun 1989) trains five
nets of increasing weight sharing (see :func:`netfit.zoo.esl_net`) on 320
digits and tests them on 160, and reports test accuracies of 80.0, 87.0, 88.5,
94.0 and 98.4 %. Its digits were Le Cun's small, clean set (not public); the
public data that come with the book are the USPS zip-code digits, 7,291 for
training and 2,007 for testing, and those are what :func:`run` uses:

- each repeat draws a training set of ``train_size`` digits from zip.train and a
  test set of ``test_size`` digits from zip.test, stratified (320 = 32 per digit,
  160 = 16 per digit), and *every net trains on the same draw* (paired draws), each
  from its own fresh starting weights; scikit-learn's ``LogisticRegression`` is fit
  on the same draws as a yardstick for Net-1 (the same model, fit another way);
- each net is trained by its recipe (:mod:`netfit.experiments.esl_recipes`):
  by default the one chosen for it by a small coordinate search on validation
  draws from zip.train alone (``netfit esl-search``, :mod:`esl_search`), or with
  ``recipe="book"`` the book's (sigmoid units, squared error, ±0.7 starts; Adam
  mini-batches instead of batch gradient descent). With the book's recipe Net-1
  fails to train on these digits (its sigmoid outputs start saturated); options
  such as ``loss`` or ``lr`` replace one ingredient of every net's recipe;
- ``full=True`` trains the same nets on all 7,291 digits and tests on all
  2,007 (repeats then vary only the starting weights). On the full split
  one more net may run, "zipcnn" (:func:`netfit.zoo.zip_cnn`) with its own
  recipe (:data:`ZIPCNN_RECIPE`, chosen on the last 1,000 zip.train digits);
- ``shift=True`` moves every training digit by a random (dy, dx) ∈ {−1, 0, 1}²
  each epoch (:func:`shift_pixels`), a classic augmentation for digits.

Test accuracy is recorded after every epoch (epochs.png: the book's Figure
11.11) and reported after the last, with the paired differences between
consecutive nets and their 95 % t-intervals (:meth:`Results.paired`). The
measured table, its command and run time are in docs/reproductions.md.

Examples
--------
>>> from netfit.experiments import esl
>>> results = esl.run(repeats=2, epochs=1, train_size=20, test_size=10, verbose=0, baseline=False,
...                   data=esl.synthetic_data(seed=0))     # the real thing: esl.run(out="esl-output")
>>> [(row["net"], row["weights"], row["links"], row["book"]) for row in results.summary()][-1]
('net5', 1060, 5194, 0.984)
>>> [(d["from"], d["to"], d["n"]) for d in results.paired()][0]
('net1', 'net2', 2)
>>> print(results.to_markdown().splitlines()[0])
## ESL Table 11.1 on the zip-code digits (20 / 10 digits)
"""
import argparse
import importlib.util
import sys
import time

import numpy as np

from .. import utils, zoo
from ..datasets import zipcode
from . import esl_recipes
from ._report import BOOK_ACCURACY, Results

__all__ = ["run", "fit_recipe", "add_parser", "main", "stratified_sample", "synthetic_data", "shift_pixels",
           "Results", "BOOK_ACCURACY", "NETS", "ZIPCNN_RECIPE"]

NETS = ("net1", "net2", "net3", "net4", "net5")
CHOICES = NETS + ("cnn",)
FULL_CHOICES = CHOICES + ("zipcnn",)         # zipcnn's recipe was chosen for the full split
#: zipcnn's optimizer: Adam(ExponentialDecay(lr, one epoch, decay), weight_decay), whatever ``optimizer`` says.
ZIPCNN_RECIPE = {k: esl_recipes.ZIPCNN[k] for k in ("lr", "decay", "weight_decay")}
LOSSES = esl_recipes.LOSSES
DEFAULT_LR = {"adam": 0.01, "sgd": 1.0}
SMALL = {"train_size": 320, "test_size": 160, "repeats": 30}
FULL = {"repeats": 3, "epochs": 30}


def stratified_sample(labels, size, rng, classes=10, where="esl.run"):
    """Draw ``size`` indices with (nearly) equal counts per class, without replacement.

    ``size // classes`` of each class, then the remainder from what is left, all at random;
    all of them (shuffled) when ``size`` is the number of labels.

    Examples
    --------
    >>> import numpy as np
    >>> y = np.repeat(np.arange(10), 50)
    >>> idx = stratified_sample(y, 320, np.random.default_rng(0))
    >>> np.bincount(y[idx]).tolist()
    [32, 32, 32, 32, 32, 32, 32, 32, 32, 32]
    """
    labels = np.asarray(labels)
    if size == len(labels):
        return rng.permutation(len(labels))
    per, extra = divmod(int(size), classes)
    chosen = []
    for c in range(classes):
        members = np.flatnonzero(labels == c)
        if len(members) < per:
            raise ValueError(f"{where}: expected at least {per} examples of digit {c} to draw {size}, "
                             f"got {len(members)}; ask for a smaller sample.")
        chosen.append(rng.choice(members, per, replace=False))
    idx = np.concatenate(chosen)
    if extra:
        rest = np.setdiff1d(np.arange(len(labels)), idx)
        idx = np.concatenate([idx, rng.choice(rest, extra, replace=False)])
    return rng.permutation(idx)


def synthetic_data(n_train=200, n_test=100, seed=0):
    """Random 16×16 "digits" in [−1, 1] with labels 0..9 (each class a noisy template): for tests.

    Returns ((x_train, y_train), (x_test, y_test)) shaped like ``zipcode.load_data()``.
    """
    rng = np.random.default_rng(seed)
    templates = rng.uniform(-1, 1, (10, 16, 16))

    def make(n):
        y = np.arange(n) % 10
        x = np.clip(templates[y] + rng.normal(0, 0.5, (n, 16, 16)), -1, 1).astype("float32")
        return x, y.astype(np.int64)
    return make(n_train), make(n_test)


def shift_pixels(x, rng, background=-1.0):
    """Move each image by its own random (dy, dx) ∈ {−1, 0, 1}², filling what is uncovered with ``background``.

    Data augmentation for digits (zip-code pixels are in [−1, 1], −1 the paper):
    nine slices, one per shift, no interpolation. ``x`` is (n, H, W) or (n, H, W, c).

    Examples
    --------
    >>> import numpy as np
    >>> x = np.zeros((4, 3, 3), "float32"); x[:, 1, 1] = 1       # a dot in the middle of each image
    >>> moved = shift_pixels(x, np.random.default_rng(0), background=0)
    >>> moved.shape, moved.sum(axis=(1, 2)).tolist()              # each dot moved, none was lost
    ((4, 3, 3), [1.0, 1.0, 1.0, 1.0])
    """
    x = np.asarray(x)
    out = np.full_like(x, background)
    dy, dx = rng.integers(-1, 2, len(x)), rng.integers(-1, 2, len(x))
    h, w = x.shape[1:3]
    for a in (-1, 0, 1):
        for b in (-1, 0, 1):
            i = np.flatnonzero((dy == a) & (dx == b))
            if len(i):          # pixel (p, q) moves to (p + a, q + b)
                out[i, max(a, 0):h + min(a, 0), max(b, 0):w + min(b, 0)] = \
                    x[i, max(-a, 0):h - max(a, 0), max(-b, 0):w - max(b, 0)]
    return out


def _recipes(nets, recipe, full, overrides):
    """Each net's recipe: "tuned" or "book" (:mod:`esl_recipes`) with the given options replacing its values."""
    out = {}
    for name in nets:
        base = esl_recipes.get(name, recipe if name in NETS else "tuned")
        given = dict(overrides)
        if name not in NETS:            # cnn, zipcnn, other zoo nets: as built, softmax + cross-entropy
            given = {k: v for k, v in given.items() if k not in ("activation", "loss", "initializer")}
            if name == "zipcnn":        # its own optimizer; ``lr`` replaces its starting rate
                given = {k: v for k, v in given.items() if k in ("lr", "epochs", "batch_size")}
        if given.get("optimizer") and given.get("lr") is None:       # a named optimizer brings its default γ
            given["lr"] = DEFAULT_LR[given["optimizer"]]
        if full and given.get("epochs") is None:
            given["epochs"] = FULL["epochs"]
        out[name] = esl_recipes.resolve(name, base, **given)
    return out


def _check(value, name):
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"esl.run: expected {name} a positive integer, got {value!r}.")
    return int(value)


def run(repeats=None, epochs=None, seed=0, optimizer=None, lr=None, batch_size=32, loss=None, full=False,
        nets=NETS, train_size=None, test_size=None, initializer=None, activation=None, shift=False,
        recipe="tuned", baseline=None, out=None, plot=True, data=None, data_path=None, verbose=1, print_fn=print,
        command=None):
    """Train each net on ``repeats`` paired draws and starts; return (and optionally write) the results.

    Every draw trains all the nets on the same training digits and tests them on
    the same test digits, so consecutive nets can be compared by their paired
    differences (:meth:`Results.paired`).

    Parameters
    ----------
    repeats : int, optional
        Draws; 30 (320/160 digits), or 3 with ``full``.
    epochs : int, optional
        Epochs for every net; by default each net's recipe says (30 with ``full``).
    seed : int
        Repeat r draws its data from ``default_rng([seed, r])`` and the starting
        weights of net k from ``[seed, r, k]`` (k = 0 for Net-1, …, 5 for the CNN),
        so runs are reproducible, also for a subset of the nets.
    recipe : {"tuned", "book"}
        "tuned" (default): each net's recipe chosen on zip.train
        (:data:`esl_recipes.TUNED`, found by ``netfit esl-search``); "book": sigmoid
        units, squared error, ±0.7 starts, Adam γ = 0.01, 100 epochs (:data:`esl_recipes.BOOK`).
    optimizer, lr, loss, initializer, activation : optional
        Replace the recipe's value for every net (None keeps it). ``optimizer`` "adam"
        or "sgd" (momentum 0.9) brings γ = 0.01 or 1.0 unless ``lr`` is given; ``loss``
        "mse" (sigmoid outputs, the book's) or "crossentropy" (softmax outputs).
    batch_size : int or None
        Mini-batch size (32); None is full-batch gradient descent, the book's.
    full : bool
        Train on all of zip.train (7,291) and test on all of zip.test (2,007).
    nets : sequence of str
        From "net1" … "net5" and "cnn" (Keras's MNIST convnet on 16×16 inputs,
        softmax + cross-entropy, Adam 10⁻³); with ``full`` also "zipcnn"
        (:func:`netfit.zoo.zip_cnn`, with its own recipe, :data:`ZIPCNN_RECIPE`).
    train_size, test_size : int, optional
        Digits drawn per repeat (320 and 160; everything with ``full``).
    shift : bool
        Train every net on digits moved by a random ±1 pixel, drawn afresh each epoch (:func:`shift_pixels`).
    baseline : bool, optional
        Also fit scikit-learn's ``LogisticRegression`` on each draw (the yardstick for
        Net-1). None (default): when scikit-learn is installed.
    out : str or Path, optional
        Folder for results.md, results.csv, paired.csv, curves.csv, esl.png and epochs.png.
    plot : bool
        Draw the pictures (needs matplotlib) when ``out`` is given.
    data : tuple, optional
        ((x_train, y_train), (x_test, y_test)) to use instead of the zip-code files.
    data_path : str, optional
        Where the zip-code files are (see :func:`netfit.datasets.zipcode.load_data`).
    verbose : int
        1: one line per trained net; 0: silent.
    print_fn : callable
        Where progress lines go.
    command : str, optional
        The command line to quote in results.md.

    Returns
    -------
    Results
        ``.summary()`` (rows per net), ``.paired()``, ``.to_markdown()``, ``.to_csv()``, ``.plot()``.
    """
    where = "esl.run"
    repeats = _check(repeats, "repeats") or (FULL if full else SMALL)["repeats"]
    epochs = _check(epochs, "epochs")
    batch_size = _check(batch_size, "batch_size")
    if optimizer is not None and optimizer not in DEFAULT_LR:
        raise ValueError(f"{where}: expected optimizer 'adam' or 'sgd', got {optimizer!r}.")
    if loss is not None and loss not in LOSSES:
        raise ValueError(f"{where}: expected loss 'mse' or 'crossentropy', got {loss!r}.")
    if recipe not in ("tuned", "book"):
        raise ValueError(f"{where}: expected recipe 'tuned' or 'book', got {recipe!r}.")
    nets = [nets] if isinstance(nets, str) else list(nets)
    bad = [n for n in nets if n not in (FULL_CHOICES if full else CHOICES)]
    if not nets or bad:
        note = " (zipcnn runs only with full=True)" if "zipcnn" in bad else ""
        raise ValueError(f"{where}: expected nets from {', '.join(CHOICES)}, got {bad or nets!r}.{note}")
    recipes = _recipes(nets, recipe, full, {"optimizer": optimizer, "lr": lr, "loss": loss, "epochs": epochs,
                                            "initializer": initializer, "activation": activation})
    esl_recipes.require_scipy_for(recipes, where, "pass optimizer='adam' (for every net)")
    for r in recipes.values():
        r["batch_size"] = batch_size
    if baseline is None:
        baseline = importlib.util.find_spec("sklearn") is not None
        if not baseline and verbose:
            print_fn("(no LogisticRegression baseline: scikit-learn is not installed; "
                     "pip install 'netfit[sklearn]' to add it)")
    if data is None:
        data = zipcode.load_data(data_path)
    (x_all, y_all), (xt_all, yt_all) = data
    if full:
        train_size, test_size = len(x_all), len(xt_all)
    train_size = _check(train_size, "train_size") or SMALL["train_size"]
    test_size = _check(test_size, "test_size") or SMALL["test_size"]
    if train_size > len(x_all) or test_size > len(xt_all):
        raise ValueError(f"{where}: expected train_size ≤ {len(x_all)} and test_size ≤ {len(xt_all)}, "
                         f"got {train_size} and {test_size}.")

    config = {"repeats": repeats, "seed": seed, "recipe": recipe, "recipes": recipes, "batch_size": batch_size,
              "full": full, "nets": nets, "train_size": train_size, "test_size": test_size, "shift": bool(shift),
              "baseline": bool(baseline), "command": command}
    results = Results(config)
    total, done, start = repeats * (len(nets) + bool(baseline)), 0, time.perf_counter()
    for r in range(repeats):
        rng = np.random.default_rng([seed, r])
        if full:
            tr, te = np.arange(len(x_all)), np.arange(len(xt_all))
        else:
            tr = stratified_sample(y_all, train_size, rng, where=where)
            te = stratified_sample(yt_all, test_size, rng, where=where)
        x, y, xt, yt = x_all[tr], np.asarray(y_all)[tr], xt_all[te], np.asarray(yt_all)[te]
        y1, yt1 = utils.to_categorical(y, 10), utils.to_categorical(yt, 10)
        if baseline:
            t0 = time.perf_counter()
            test_acc, train_acc = esl_recipes.logistic_regression(x, y, xt, yt)
            results.add_baseline(r, test_acc, train_acc, time.perf_counter() - t0)
            done += 1
            if verbose:
                print_fn(f"[{done}/{total}] LogisticRegression repeat {r + 1}/{repeats}: test accuracy "
                         f"{test_acc:.1%}, train {train_acc:.1%}")
        for name in nets:
            k = FULL_CHOICES.index(name)       # a net's starts do not depend on which others run
            init_seed = int(np.random.SeedSequence([seed, r, k]).generate_state(1, np.uint64)[0] >> 1)
            shifts = np.random.default_rng([seed, r, k, 1]) if shift else None
            model, curve, seconds, interrupted = fit_recipe(name, recipes[name], init_seed, x, y1, (xt, yt1), shifts)
            test_acc = model.evaluate(xt, yt1, return_dict=True)["categorical_accuracy"]
            train_acc = model.evaluate(x, y1, return_dict=True)["categorical_accuracy"]
            results.add(name, r, test_acc, train_acc, curve, seconds, model.count_params(), model.count_links())
            done += 1
            if verbose:
                print_fn(f"[{done}/{total}] {results.label(name)} repeat {r + 1}/{repeats}: test accuracy "
                         f"{test_acc:.1%}, train {train_acc:.1%} ({seconds:.1f} s)")
            if interrupted:
                results.interrupted = True
                break
        if results.interrupted:
            break
    results.seconds = time.perf_counter() - start
    if out is not None:
        paths = results.write(out, plot=plot)
        if verbose:
            print_fn(f"Wrote {', '.join(map(str, paths))}")
    return results


def fit_recipe(name, recipe, seed, x, y1, test, shifts=None, input_shape=zoo.ESL_INPUT_SHAPE):
    """Build zoo net ``name`` as ``recipe`` says and train it; test accuracy is recorded after every epoch.

    Returns (model, curve, seconds, interrupted); ``curve`` has ``recipe["epochs"]``
    entries (NaN after an early stop). ``shifts``: an rng to move the digits each epoch.
    """
    steps = -(-len(x) // (recipe["batch_size"] or len(x)))
    model = esl_recipes.build(name, recipe, seed, steps, input_shape=input_shape)
    t0 = time.perf_counter()
    trace, interrupted = _fit(model, x, y1, test, recipe["epochs"], recipe["batch_size"], shifts)
    curve = np.full(recipe["epochs"], np.nan)
    curve[:len(trace)] = trace
    return model, curve, time.perf_counter() - t0, interrupted


def _fit(model, x, y1, test, epochs, batch_size, shifts):
    """Train; return (test accuracy after each epoch, interrupted). ``shifts``: an rng to move the digits."""
    if shifts is None:
        history = model.fit(x, y1, epochs=epochs, batch_size=batch_size, verbose=0, validation_data=test)
        return list(history.history.get("val_categorical_accuracy", [])), history.interrupted
    trace = []
    for epoch in range(epochs):        # one fit per epoch: the optimizer (and its schedule) carries on
        history = model.fit(shift_pixels(x, shifts), y1, epochs=epoch + 1, initial_epoch=epoch,
                            batch_size=batch_size, verbose=0, validation_data=test)
        trace += history.history.get("val_categorical_accuracy", [])
        if history.interrupted or not history.epoch or model.stop_training:
            return trace, history.interrupted
    return trace, False


# -- command line ------------------------------------------------------------------------------
def add_parser(subparsers):
    """Add the ``esl`` subcommand to ``netfit``'s subparsers; its func returns the exit code."""
    p = subparsers.add_parser(
        "esl", help="reproduce ESL Table 11.1: Net-1 … Net-5 on the zip-code digits (paired draws)",
        description="Train ESL's Net-1 … Net-5 (Table 11.1) on paired random draws of 320 training and 160 test "
                    "zip-code digits (or, with --full, on all 7,291 / 2,007), each net with the recipe chosen on "
                    "zip.train (netfit esl-search) or the book's (--recipe book), beside scikit-learn's "
                    "LogisticRegression on the same draws. Writes results.md (table, paired differences between "
                    "consecutive nets with 95 percent t-intervals, the book's column), results.csv, paired.csv, "
                    "curves.csv, esl.png and epochs.png (test accuracy after every epoch: ESL Figure 11.11's "
                    "analogue; --epochs N gives every net the same N). Learning curves: `netfit esl-curves` (21 min "
                    "with its defaults on a busy 2-core machine).")
    p.add_argument("--repeats", type=int, default=None, help="paired draws (default 30; 3 with --full)")
    p.add_argument("--recipe", default="tuned", choices=("tuned", "book"),
                   help="tuned (default): each net's recipe chosen on zip.train; book: sigmoid, squared error, "
                        "±0.7 starts, Adam 0.01, 100 epochs")
    p.add_argument("--epochs", type=int, default=None, help="epochs for every net (default: each recipe's; 30 with --full)")
    p.add_argument("--seed", type=int, default=0, help="seed of the draws and starts (default 0)")
    p.add_argument("--optimizer", default=None, choices=tuple(DEFAULT_LR), help="replace the recipes' optimizer")
    p.add_argument("--lr", type=float, default=None, help="replace the recipes' learning rate")
    p.add_argument("--batch-size", type=int, default=32, help="default 32; 0 for full-batch gradient descent")
    p.add_argument("--loss", default=None, choices=tuple(LOSSES),
                   help="replace the recipes' loss: mse (sigmoid outputs, squared error, the book's) or "
                        "crossentropy (softmax outputs)")
    p.add_argument("--full", action="store_true", help="use all 7,291 training and 2,007 test digits")
    p.add_argument("--nets", nargs="+", default=list(NETS), type=_net_list, metavar="NET",
                   help=f"which nets (space- or comma-separated), from {', '.join(CHOICES)}, and zipcnn with --full "
                        f"(default: net1 … net5)")
    p.add_argument("--train-size", type=int, default=None, help="training digits per draw (default 320)")
    p.add_argument("--test-size", type=int, default=None, help="test digits per draw (default 160)")
    p.add_argument("--init", default=None, help="replace the recipes' starting weights (the book's: esl_uniform)")
    p.add_argument("--activation", default=None, help="replace the recipes' hidden units")
    p.add_argument("--shift", action="store_true", help="move each training digit by a random ±1 pixel every epoch")
    p.add_argument("--no-baseline", action="store_true", help="skip scikit-learn's LogisticRegression")
    p.add_argument("--out", default="esl-output", help="folder for the results (default esl-output)")
    p.add_argument("--no-plot", action="store_true", help="skip esl.png and epochs.png")
    p.add_argument("--verbose", type=int, default=1, choices=(0, 1), help="1 (default): a line per trained net")
    p.set_defaults(func=main)
    return p


def _net_list(text):
    """argparse type: 'net1,net2' → ['net1', 'net2'], each one checked against the choices."""
    names = [n for n in text.split(",") if n]
    bad = [n for n in names if n not in FULL_CHOICES]
    if bad or not names:
        raise argparse.ArgumentTypeError(f"expected nets from {', '.join(FULL_CHOICES)}, got {text!r}")
    return names


def main(args):
    """Run ``netfit esl`` from parsed arguments; print the table; return the exit code."""
    nets = [n for group in args.nets for n in (group if isinstance(group, list) else [group])]
    if args.optimizer is None:                  # in the command line's words (run() would name optimizer=)
        esl_recipes.require_scipy_for(_recipes(nets, args.recipe, args.full, {}), "esl", "add --optimizer adam")
    results = run(repeats=args.repeats, epochs=args.epochs, seed=args.seed, optimizer=args.optimizer,
                  lr=args.lr, batch_size=args.batch_size or None, loss=args.loss, full=args.full,
                  nets=nets, train_size=args.train_size, test_size=args.test_size, recipe=args.recipe,
                  initializer=args.init, activation=args.activation, shift=args.shift, out=args.out,
                  plot=not args.no_plot, baseline=False if args.no_baseline else None,
                  verbose=args.verbose, command="netfit " + " ".join(sys.argv[1:]) if sys.argv[1:2] == ["esl"]
                  else None)
    print(results.to_markdown())
    return 130 if results.interrupted else 0
