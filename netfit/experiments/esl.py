"""ESL Table 11.1: Net-1 … Net-5 on the zip-code digits, the book's protocol on public data.

The book (Hastie, Tibshirani & Friedman, §11.7, after Le Cun 1989) trains five
nets of increasing weight sharing (see :func:`netfit.zoo.esl_net`) on 320
digits and tests them on 160, with sigmoid output units and the
sum-of-squares error, and reports test accuracies of 80.0, 87.0, 88.5, 94.0
and 98.4 %. Its digits were Le Cun's small, clean set; the public data that
comes with the book are the USPS zip-code digits, 7,291 for training and
2,007 for testing, and those are what :func:`run` uses:

- each repeat draws a fresh training set of ``train_size`` digits from
  zip.train and a test set of ``test_size`` digits from zip.test, stratified
  (320 = 32 per digit, 160 = 16 per digit, as balanced as Le Cun's), and fresh
  starting weights (uniform on ±0.7, the book's, unless ``initializer`` says
  otherwise);
- loss "mse": sigmoid outputs against one-hot targets, the book's sum of
  squares (as a mean, which only rescales the gradient); "crossentropy":
  softmax outputs and categorical cross-entropy;
- the optimizer is Adam (γ = 0.01) on mini-batches of 32 for 100 epochs by
  default. The book used batch gradient descent; with sigmoid units, squared
  error and ±0.7 starts plain gradient descent crawls (mean |gradient|
  10⁻⁴ … 10⁻² at the start), and full-batch Adam needs ~2,000 epochs for
  about what mini-batch Adam reaches in 100, a few seconds per repeat for all
  five nets. ``batch_size=None`` is full batch and ``optimizer="sgd"``
  (momentum 0.9) is there to compare;
- ``full=True`` trains the same nets on all 7,291 digits and tests on all
  2,007 (repeats then vary only the starting weights). On the full split
  one more net may run, "zipcnn" (:func:`netfit.zoo.zip_cnn`, two stages of
  'same'-padded 3×3 convolutions), with its own recipe, ``ZIPCNN_RECIPE``:
  softmax + cross-entropy, Adam from 10⁻³ (or ``lr``) decaying ×0.9 per epoch,
  weight decay 10⁻⁴; the recipe and its epochs were chosen on the last 1,000
  zip.train digits held out, never on zip.test;
- ``shift=True`` moves every training digit by a random (dy, dx) ∈ {−1, 0, 1}²
  each epoch (:func:`shift_pixels`), a classic augmentation for digits.

Test accuracy is recorded after every epoch (the book's Figure 11.11) and
reported after the last. USPS digits are harder than Le Cun's: expect lower
numbers than the book's but its ordering. With the defaults, 30 draws gave
59, 78, 80, 81 and 83 % for Net-1 … Net-5 (sd ≈ 3 points for Net-2 … Net-5).
Net-1 is lowest because its sigmoid outputs start saturated by the ±0.7
weights (it fits only ~70 % of its training digits); from ``"glorot_uniform"``
starts it reaches ~82 %, so on these digits the gain from weight sharing shows
among the hidden-layer nets, Net-2 < Net-3 ≈ Net-4 < Net-5.

Examples
--------
>>> from netfit.experiments import esl
>>> results = esl.run(repeats=1, epochs=1, train_size=20, test_size=10, verbose=0,
...                   data=esl.synthetic_data(seed=0))     # the real thing: esl.run(out="esl-output")
>>> [(row["net"], row["weights"], row["links"], row["book"]) for row in results.summary()][-1]
('net5', 1060, 5194, 0.984)
>>> print(results.to_markdown().splitlines()[0])
## ESL Table 11.1 on the zip-code digits (20 / 10 digits)
"""
import sys
import time

import numpy as np

from .. import optimizers, utils, zoo
from ..datasets import zipcode
from ._report import BOOK_ACCURACY, Results

__all__ = ["run", "add_parser", "main", "stratified_sample", "synthetic_data", "shift_pixels", "Results",
           "BOOK_ACCURACY", "NETS", "ZIPCNN_RECIPE"]

NETS = ("net1", "net2", "net3", "net4", "net5")
CHOICES = NETS + ("cnn",)
FULL_CHOICES = CHOICES + ("zipcnn",)         # zipcnn's recipe was chosen for the full split
#: zipcnn's optimizer: Adam(ExponentialDecay(lr, one epoch, decay), weight_decay), whatever ``optimizer`` says.
ZIPCNN_RECIPE = {"lr": 1e-3, "decay": 0.9, "weight_decay": 1e-4}
LOSSES = {"mse": "mean_squared_error", "crossentropy": "categorical_crossentropy"}
DEFAULT_LR = {"adam": 0.01, "sgd": 1.0}
SMALL = {"train_size": 320, "test_size": 160, "repeats": 10, "epochs": 100}
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


def _build(name, loss, activation, initializer, seed):
    if name == "zipcnn":       # zoo.zip_cnn: relu, glorot, softmax (always cross-entropy)
        return zoo.get("zipcnn", seed=seed), "categorical_crossentropy"
    if name == "cnn":          # Keras's convnet as it is: relu, glorot, softmax (always cross-entropy)
        return zoo.get("cnn", input_shape=(16, 16), seed=seed), "categorical_crossentropy"
    out = "sigmoid" if loss == "mse" else "softmax"
    return zoo.esl_net(int(name[-1]), activation=activation, output_activation=out, seed=seed,
                       initializer=initializer), LOSSES[loss]


def _optimizer(name, lr, net=None, steps_per_epoch=1):
    if net == "zipcnn":
        recipe = ZIPCNN_RECIPE
        schedule = optimizers.ExponentialDecay(recipe["lr"] if lr is None else lr, steps_per_epoch, recipe["decay"])
        return optimizers.Adam(schedule, weight_decay=recipe["weight_decay"])
    lr = DEFAULT_LR[name] if lr is None else lr
    return optimizers.Adam(lr) if name == "adam" else optimizers.SGD(lr, momentum=0.9)


def _check(value, name):
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"esl.run: expected {name} a positive integer, got {value!r}.")
    return int(value)


def run(repeats=None, epochs=None, seed=0, optimizer="adam", lr=None, batch_size=32, loss="mse", full=False,
        nets=NETS, train_size=None, test_size=None, initializer="esl_uniform", activation="sigmoid",
        shift=False, out=None, plot=True, data=None, data_path=None, verbose=1, print_fn=print, command=None):
    """Train each net on ``repeats`` random draws and starts; return (and optionally write) the results.

    Parameters
    ----------
    repeats, epochs : int, optional
        Defaults: 10 repeats of 100 epochs (320/160 digits), or 3 of 30 with ``full``.
    seed : int
        Repeat r draws its data from ``default_rng([seed, r])`` and the starting
        weights of net k from ``[seed, r, k]`` (k = 0 for Net-1, …, 5 for the CNN),
        so runs are reproducible, also for a subset of the nets.
    optimizer : {"adam", "sgd"}
    lr : float, optional
        Learning rate; 0.01 for Adam, 1.0 for SGD (momentum 0.9) when omitted.
    batch_size : int or None
        None is full-batch gradient descent, the book's.
    loss : {"mse", "crossentropy"}
        Sigmoid outputs with squared error (the book), or softmax with cross-entropy.
    full : bool
        Train on all of zip.train (7,291) and test on all of zip.test (2,007).
    nets : sequence of str
        From "net1" … "net5" and "cnn" (Keras's MNIST convnet on 16×16 inputs,
        always softmax + cross-entropy); with ``full`` also "zipcnn"
        (:func:`netfit.zoo.zip_cnn`, trained with ``ZIPCNN_RECIPE``; ``lr``
        replaces its starting learning rate, ``optimizer`` does not apply).
    train_size, test_size : int, optional
        Digits drawn per repeat (320 and 160; everything with ``full``).
    initializer, activation : str
        Starting weights and hidden units of Net-1 … Net-5 (the book's: "esl_uniform", "sigmoid").
    shift : bool
        Train every net on digits moved by a random ±1 pixel, drawn afresh each epoch (:func:`shift_pixels`).
    out : str or Path, optional
        Folder for results.md, results.csv, curves.csv and esl.png.
    plot : bool
        Draw esl.png (needs matplotlib) when ``out`` is given.
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
        ``results.summary()`` (rows per net), ``.to_markdown()``, ``.to_csv()``, ``.plot()``.
    """
    where = "esl.run"
    defaults = FULL if full else SMALL
    repeats = _check(repeats, "repeats") or defaults["repeats"]
    epochs = _check(epochs, "epochs") or defaults["epochs"]
    batch_size = _check(batch_size, "batch_size")
    if optimizer not in DEFAULT_LR:
        raise ValueError(f"{where}: expected optimizer 'adam' or 'sgd', got {optimizer!r}.")
    if loss not in LOSSES:
        raise ValueError(f"{where}: expected loss 'mse' or 'crossentropy', got {loss!r}.")
    nets = [nets] if isinstance(nets, str) else list(nets)
    bad = [n for n in nets if n not in (FULL_CHOICES if full else CHOICES)]
    if not nets or bad:
        note = " (zipcnn runs only with full=True)" if "zipcnn" in bad else ""
        raise ValueError(f"{where}: expected nets from {', '.join(CHOICES)}, got {bad or nets!r}.{note}")
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

    config = {"repeats": repeats, "epochs": epochs, "seed": seed, "optimizer": optimizer,
              "lr": DEFAULT_LR[optimizer] if lr is None else lr, "batch_size": batch_size, "loss": loss,
              "full": full, "nets": nets, "train_size": train_size, "test_size": test_size,
              "initializer": initializer, "activation": activation, "shift": bool(shift), "command": command}
    results = Results(config)
    total, done, start = repeats * len(nets), 0, time.perf_counter()
    for r in range(repeats):
        rng = np.random.default_rng([seed, r])
        if full:
            tr, te = np.arange(len(x_all)), np.arange(len(xt_all))
        else:
            tr = stratified_sample(y_all, train_size, rng, where=where)
            te = stratified_sample(yt_all, test_size, rng, where=where)
        x, y, xt, yt = x_all[tr], np.asarray(y_all)[tr], xt_all[te], np.asarray(yt_all)[te]
        y1, yt1 = utils.to_categorical(y, 10), utils.to_categorical(yt, 10)
        for name in nets:
            k = FULL_CHOICES.index(name)       # a net's starts do not depend on which others run
            init_seed = int(np.random.SeedSequence([seed, r, k]).generate_state(1, np.uint64)[0] >> 1)
            model, loss_name = _build(name, loss, activation, initializer, init_seed)
            steps = -(-len(x) // (batch_size or len(x)))
            model.compile(optimizer=_optimizer(optimizer, lr, name, steps), loss=loss_name,
                          metrics=["categorical_accuracy"])
            t0 = time.perf_counter()
            shifts = np.random.default_rng([seed, r, k, 1]) if shift else None
            trace, interrupted = _fit(model, x, y1, (xt, yt1), epochs, batch_size, shifts)
            seconds = time.perf_counter() - t0
            curve = np.full(epochs, np.nan)
            curve[:len(trace)] = trace
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
        "esl", help="reproduce ESL Table 11.1: Net-1 … Net-5 on the zip-code digits",
        description="Train ESL's Net-1 … Net-5 (Table 11.1) on random draws of 320 training and 160 test "
                    "zip-code digits (or, with --full, on all 7,291 / 2,007), with sigmoid outputs and "
                    "squared error as in the book, and report test accuracy beside the book's.")
    p.add_argument("--repeats", type=int, default=None, help="random draws and starts (default 10; 3 with --full)")
    p.add_argument("--epochs", type=int, default=None, help="epochs per net (default 100; 30 with --full)")
    p.add_argument("--seed", type=int, default=0, help="seed of the draws and starts (default 0)")
    p.add_argument("--optimizer", default="adam", choices=tuple(DEFAULT_LR), help="default adam")
    p.add_argument("--lr", type=float, default=None, help="learning rate (default 0.01 for adam, 1.0 for sgd)")
    p.add_argument("--batch-size", type=int, default=32, help="default 32; 0 for full-batch gradient descent")
    p.add_argument("--loss", default="mse", choices=tuple(LOSSES),
                   help="mse (default): sigmoid outputs, squared error, as in the book; "
                        "crossentropy: softmax outputs")
    p.add_argument("--full", action="store_true", help="use all 7,291 training and 2,007 test digits")
    p.add_argument("--nets", nargs="+", default=list(NETS), choices=FULL_CHOICES, metavar="NET",
                   help=f"which nets, from {', '.join(CHOICES)}, and zipcnn with --full (default: net1 … net5)")
    p.add_argument("--train-size", type=int, default=None, help="training digits per draw (default 320)")
    p.add_argument("--test-size", type=int, default=None, help="test digits per draw (default 160)")
    p.add_argument("--init", default="esl_uniform", help="starting weights (default esl_uniform, the book's ±0.7)")
    p.add_argument("--activation", default="sigmoid", help="hidden units' activation (default sigmoid)")
    p.add_argument("--shift", action="store_true", help="move each training digit by a random ±1 pixel every epoch")
    p.add_argument("--out", default="esl-output", help="folder for results.md, results.csv, curves.csv, esl.png (default esl-output)")
    p.add_argument("--no-plot", action="store_true", help="skip esl.png")
    p.add_argument("--verbose", type=int, default=1, choices=(0, 1), help="1 (default): a line per trained net")
    p.set_defaults(func=main)
    return p


def main(args):
    """Run ``netfit esl`` from parsed arguments; print the table; return the exit code."""
    results = run(repeats=args.repeats, epochs=args.epochs, seed=args.seed, optimizer=args.optimizer,
                  lr=args.lr, batch_size=args.batch_size or None, loss=args.loss, full=args.full,
                  nets=args.nets, train_size=args.train_size, test_size=args.test_size,
                  initializer=args.init, activation=args.activation, shift=args.shift, out=args.out,
                  plot=not args.no_plot,
                  verbose=args.verbose, command="netfit " + " ".join(sys.argv[1:]) if sys.argv[1:2] == ["esl"]
                  else None)
    print(results.to_markdown())
    return 130 if results.interrupted else 0
