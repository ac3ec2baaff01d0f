"""The ``netfit`` command. ``main(argv)`` returns the exit code.

::

    netfit demo                                     # the lecture's MNIST example end to end
    netfit train --data mnist --model cnn --batch-size 128 --epochs 2 --out cnn.netfit --plot out/   # ~1 min
    netfit evaluate cnn.netfit --data mnist         # accuracy, per class, confusion matrix
    netfit predict cnn.netfit my_digit.png          # class and probabilities of a picture
    netfit summary cnn.netfit  |  netfit summary --model net3 --links
    netfit export cnn.netfit cnn.onnx               # for onnxruntime and friends
    netfit data list                                # data sets (netfit.datasets.cli)
    netfit serve                                    # the playground in a browser (netfit.serve)
    netfit train --model cnn --threads 2 --device gpu   # fit's threads, the device (train, demo, esl, lecun1989, ...)

Library errors are printed as ``error: <message>`` on stderr with exit code 1;
usage errors are argparse's (exit code 2), with the closest name for a mistyped
command, model, data set, optimizer or loss; ``netfit`` alone prints the help and
exits with 2 (nothing ran: a script's ``netfit $COMMAND`` fails). Ctrl-C exits with 130 (SIGTERM
with 143), and ``train`` saves the weights it reached first. Pictures are read
by :mod:`netfit.images`.
"""
import argparse
import contextlib
import importlib
import inspect
import os
import signal
import sys
import threading
import time
import warnings

import numpy as np

from . import backend, config, datasets, losses, optimizers, plotting, utils, zoo
from ._version import __version__
from .architecture import model_from_json
from .datasets.cli import dataset_arg, did_you_mean, reader_left
from .export import OPSET, to_onnx
from .images import CENTRING, DIGIT_BOX, fit_shape as _fit_shape, load_data, read_image   # pictures as inputs
from .io import check_writable, load_model

# Named architectures: name -> (zoo function, arguments, default data set). Resolved
# lazily, so a zoo that lacks one only fails when that name is used. ESL's nets get
# softmax outputs here, to match the cross-entropy that `train` fits (the book's
# sigmoid outputs and squared error are `netfit esl`'s business).
MODELS = {"mlp": ("lecture_mlp", (), {}, "mnist"), "cnn": ("mnist_cnn", (), {}, "mnist"),
          **{f"net{k}": ("esl_net", (k,), {"output_activation": "softmax"}, "zip") for k in range(1, 6)},
          "zipcnn": ("zip_cnn", (), {}, "zip"),
          "lecun1989": ("lecun1989", (), {"output_activation": "softmax"}, "zip"),
          "zipresnet": ("zip_resnet", (), {}, "zip")}


# -- models and data -------------------------------------------------------------------------
def _model_arg(value):
    """--model: a name of :data:`MODELS` in any case (MLP is mlp) or a FILE.json; a usage error naming the closest."""
    if value.lower() in MODELS:
        return value.lower()
    if value.lower().endswith(".json"):
        return value
    raise argparse.ArgumentTypeError(f"expected one of {', '.join(MODELS)} or a FILE.json, got {value!r}"
                                     f"{did_you_mean(value, MODELS)}")


def _name_arg(what, names, aliases=None):
    """An argparse type: one of ``names`` or ``aliases`` ({alias: name}), any case; else a usage error naming the closest."""
    aliases = aliases or {}

    def parse(text):
        key = aliases.get(text.strip().lower(), text.strip().lower())
        if key in names:
            return key
        raise argparse.ArgumentTypeError(f"expected {what}: {', '.join(names)}, got {text!r}"
                                         f"{did_you_mean(text, [*names, *aliases])}")
    return parse


def _number(kind, what, ok, fix=""):
    """An argparse type: a finite ``kind`` (int or float) for which ``ok(value)``; a usage error otherwise.

    ``fix`` follows the error when ``text`` is a number that ``ok`` refuses.
    """
    def parse(text):
        try:
            value = kind(text)
        except ValueError:
            value = None
        if value is None or not np.isfinite(value) or not ok(value):
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}"
                                             f"{fix if value is not None and np.isfinite(value) else ''}")
        return value
    return parse


_COUNT = _number(int, "a non-negative integer", lambda v: v >= 0)
_POSITIVE = _number(int, "a positive integer", lambda v: v >= 1)
_EPOCHS = _number(int, "a positive number of epochs", lambda v: v >= 1,
                  ": fewer than 1 epoch would train nothing and save an untrained model. Fix: --epochs 1, "
                  "the shortest run")
_BATCH = _number(int, "a positive batch size, or 0 for the whole training set in one step", lambda v: v >= 0)
_RATE = _number(float, "a positive number", lambda v: v > 0)
_PENALTY = _number(float, "a non-negative number", lambda v: v >= 0)
_FRACTION = _number(float, "a number in [0, 1)", lambda v: 0 <= v < 1)


def _threads_arg(text):
    """--threads: "auto" or a positive integer, what :func:`netfit.config.set_threads` takes; a usage error otherwise."""
    if text.strip().lower() == "auto":
        return "auto"
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected 'auto' or a positive integer, got {text!r}. Fix: --threads auto "
                                         f"(every core for large steps) or a count such as --threads 2")
    return value


def _device_arg(text):
    """--device: a device name (:func:`netfit.backend.parse_device`); whether it is there is checked by main."""
    try:
        backend.parse_device(text, "--device")
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc).removeprefix("--device: ")) from None
    return text


# Commands that train in this process: they take --threads and --device (esl-sim and sweep fit in worker processes).
TRAINING_COMMANDS = ("demo", "train", "esl", "esl-curves", "esl-search", "lecun1989", "zip-resnet")


def add_training_options(parser):
    """Add ``--threads N|auto`` (:func:`netfit.config.set_threads`) and ``--device`` (:func:`netfit.device`)."""
    parser.add_argument("--threads", type=_threads_arg, metavar="N|auto",
                        help="threads fit trains with: auto (one per core for large steps), or N "
                             "(nf.config.set_threads; default: auto)")
    parser.add_argument("--device", type=_device_arg, metavar="cpu|gpu|cuda:N",
                        help="where the models train; gpu needs CuPy, pip install 'netfit[gpu]' "
                             "(nf.config.set_device; default: cpu)")


@contextlib.contextmanager
def training_options(args):
    """Apply ``--threads`` and ``--device`` for one command and put the previous settings back after it.

    The device is checked first (CuPy installed, a GPU there), so a missing one
    fails before any data is read or any step taken. What is wrong with a thread
    count (more than the cores; no threadpoolctl) is printed as ``warning: --threads N: ...``
    lines whose fixes name --threads (:func:`netfit.config.thread_count_problems`).
    """
    threads, name = getattr(args, "threads", None), getattr(args, "device", None)
    if name is not None:
        backend.get_device(name, "--device")
    before = config.threads()
    if threads is not None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")                  # said below, in the command line's words
            config.set_threads(threads)
        if threads != "auto":
            for problem in config.thread_count_problems(threads, f"--threads {threads}", lambda v: f"--threads {v}"):
                print(f"warning: {problem}", file=sys.stderr)
    try:
        with backend.device(name) if name is not None else contextlib.nullcontext():
            yield
    finally:
        if threads is not None:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")              # said when it was set
                config.set_threads(before)


def build_model(name, input_shape=None, classes=None, seed=None):
    """Return the architecture ``name`` (from :data:`MODELS` or a JSON file), freshly initialized."""
    if name.lower().endswith(".json"):
        return model_from_json(name, seed=seed)
    if name not in MODELS:
        raise ValueError(f"unknown model {name!r}; choose one of {', '.join(MODELS)} or a FILE.json.")
    function, args, kwargs, _ = MODELS[name]
    zoo = importlib.import_module("netfit.zoo")
    build = getattr(zoo, function, None)
    if build is None:
        raise ValueError(f"model {name!r} needs netfit.zoo.{function}(), which this netfit does not have yet.")
    wanted = {"input_shape": input_shape, "classes": classes, "seed": seed}
    accepted = inspect.signature(build).parameters
    kwargs = {**kwargs, **{k: v for k, v in wanted.items() if v is not None and k in accepted}}
    return build(*args, **kwargs)


def targets_for(model, y, where):
    """Class labels ``y`` (0 … K−1) as ``model``'s loss reads them.

    As they are for a sparse loss; one-hot rows for a model of K > 1 outputs
    (categorical cross-entropy, KL divergence, squared error and the other
    regression losses, binary cross-entropy's K yes/no columns); a 0/1 column
    for one output. ``train`` and ``evaluate`` pass the data sets' integer labels
    through it, so a model saved with any loss can be evaluated.

    Shapes
    ------
    y : (n,) → (n,), (n, K) or (n, 1)
    """
    loss = getattr(model, "loss", None)
    if loss is None or loss.integer_targets:
        return y
    k = model.output_shape[-1]
    classes = int(y.max()) + 1 if len(y) else 0
    if classes > max(k, 2):
        raise ValueError(f"{where}: expected labels 0 … {max(k, 2) - 1} for a model of {k} output(s) trained with "
                         f"{loss.name}, got labels up to {classes - 1}; give the data set it was trained on (--data).")
    return y.astype(model.dtype)[:, None] if k == 1 else utils.to_categorical(y, k, dtype=model.dtype)


def class_probabilities(model, outputs):
    """Rows of class probabilities from ``model``'s outputs (n, K): what ``predict`` prints and ``evaluate`` ranks.

    Logits (a ``from_logits`` loss) go through softmax, or through a sigmoid for
    binary cross-entropy and a single output; one output p becomes [1 − p, p].
    Other outputs are returned as they are (a squared-error net's sigmoids too).
    """
    out = np.asarray(outputs, dtype=np.float64).reshape(len(outputs), -1)
    loss = getattr(model, "loss", None)
    if getattr(loss, "from_logits", False):
        if out.shape[1] == 1 or loss.name == "binary_crossentropy":
            out = 1 / (1 + np.exp(-out))                                   # σ(z)
        else:
            out = np.exp(out - out.max(axis=1, keepdims=True))
            out /= out.sum(axis=1, keepdims=True)                          # softmax(z)
    return np.hstack([1 - out, out]) if out.shape[1] == 1 else out


# `train`'s optimizer options -> the optimizers' keyword (a key of their get_config where they take it).
OPTIMIZER_OPTIONS = {"--lr": "learning_rate", "--momentum": "momentum", "--weight-decay": "weight_decay"}


def optimizer_defaults(keyword):
    """{name: default} of ``keyword`` for each registered optimizer that takes it (read from its ``get_config``)."""
    configs = {name: optimizers.get(name).get_config() for name in optimizers.names()}
    return {name: config[keyword] for name, config in configs.items() if keyword in config}


def _defaults_help(keyword):
    """ "the optimizer's: 0.001, 0.01 for sgd; lbfgs takes none": the registered optimizers' defaults of ``keyword``."""
    defaults = optimizer_defaults(keyword)
    values = list(defaults.values())
    common = max(values, key=values.count)
    text = f"the optimizer's: {common:g}" + "".join(f", {v:g} for {n}" for n, v in defaults.items() if v != common)
    others = [name for name in optimizers.names() if name not in defaults]
    if not others:
        return text
    if len(others) > len(defaults):
        return f"{text}; only {' and '.join(defaults)} take{'s' if len(defaults) == 1 else ''} it"
    return f"{text}; {' and '.join(others)} take{'s' if len(others) == 1 else ''} none"


def make_optimizer(name, options):
    """The optimizer registered as ``name`` with ``train``'s options (``{"--lr": 0.1, "--momentum": None}``).

    None keeps the optimizer's default; an option it has no argument for is refused in the
    command line's words, naming the registered optimizers that take it.
    """
    kwargs = {}
    for option, value in options.items():
        keyword = OPTIMIZER_OPTIONS[option]
        takers = optimizer_defaults(keyword)
        if value is not None and name not in takers:
            raise ValueError(f"train: --optimizer {name} takes no {option}; drop {option}, or choose an optimizer "
                             f"that takes it: {', '.join(takers)}.")
        if value is not None:
            kwargs[keyword] = value
    return type(optimizers.get(name))(**kwargs)


def _metric_for(loss):
    """The accuracy ``train`` reports: of integer labels for a sparse loss, of one-hot rows otherwise."""
    return "accuracy" if losses.get(loss).integer_targets else "categorical_accuracy"


# -- commands --------------------------------------------------------------------------------
def cmd_train(args):
    """Train an architecture on a data set; save it (also on Ctrl-C) and report test accuracy."""
    optimizer = make_optimizer(args.optimizer, {"--lr": args.lr, "--momentum": args.momentum,
                                                "--weight-decay": args.weight_decay})
    if args.out and args.no_save:
        raise ValueError("train: give --out FILE or --no-save, not both.")
    from_file = args.model not in MODELS
    data = args.data or (MODELS[args.model][3] if not from_file else "mnist")
    if not args.out and not args.no_save:               # Keras users expect a file: name one, never overwrite
        args.out = default_out(args.model, data)
    if args.out:                                       # find out now, not after hours of training
        check_writable(args.out, "train: --out", suffix=".netfit")
    if args.plot and os.path.exists(args.plot) and not os.path.isdir(args.plot):
        raise NotADirectoryError(f"train: --plot expects a folder, got the file {args.plot!r}.")
    if args.plot:                                       # pictures asked for: refused now, not after training
        plotting.require_matplotlib("train: --plot")
    model = build_model(args.model, seed=args.seed) if from_file else None     # a bad spec fails before the data
    (x_train, y_train), (x_test, y_test), metadata = load_data(data, args.limit, args.test_limit)
    if model is None:
        model = build_model(args.model, x_train.shape[1:], len(metadata["class_names"]), args.seed)
    x_train, x_test = _fit_shape(x_train, model, "train"), _fit_shape(x_test, model, "train")
    model.compile(optimizer=optimizer, loss=args.loss, metrics=[_metric_for(args.loss)])
    model.metadata = metadata
    if args.verbose:
        print(f"{metadata['data']}: {len(x_train):,} training and {len(x_test):,} test examples")
        model.summary()
    history = model.fit(x_train, targets_for(model, y_train, "train"), epochs=args.epochs,
                        batch_size=args.batch_size or len(x_train),              # 0: the whole set, one step
                        validation_split=args.validation_split, verbose=args.verbose)
    if args.out:
        model.save(args.out, _epoch=len(history.epoch))
        print(f"Saved {args.out}" + (f" (interrupted after {len(history.epoch)} epoch(s))"
                                     if history.interrupted else ""))
    if history.interrupted:
        print("" if args.out else "Interrupted; nothing saved (--no-save).")
        return 128 + (_stop_signal[0] or 2)                           # 130 for Ctrl-C, 143 for SIGTERM
    predicted = model.predict_classes(x_test)
    loss, accuracy = model.evaluate(x_test, targets_for(model, y_test, "train"))
    print(f"Test loss {loss:.4f}, test accuracy {accuracy:.2%}")
    if args.plot:
        _plots(args.plot, model, x_test, y_test, predicted, metadata["class_names"], history)
    return 0


def default_out(model, data, folder="."):
    """``<model>_<data>.netfit`` in ``folder`` (a FILE.json model by its stem), or ``..._1``, ``_2`` when taken.

    ``netfit train`` saves there when ``--out`` is not given; an earlier run's model is never overwritten.
    """
    stem = os.path.splitext(os.path.basename(model))[0] if model.lower().endswith(".json") else model
    path, k = os.path.join(folder, f"{stem}_{data}.netfit"), 0
    while os.path.exists(path):
        k += 1
        path = os.path.join(folder, f"{stem}_{data}_{k}.netfit")
    return os.path.normpath(path)


def cmd_evaluate(args):
    """Accuracy, per-class accuracy and the confusion matrix of a saved model on a test set."""
    if args.plot:
        plotting.require_matplotlib("evaluate: --plot")
    model = load_model(args.model_file)
    meta = getattr(model, "metadata", {}) or {}
    data = args.data or meta.get("data") or "mnist"
    _, (x_test, y_test), fresh = load_data(data, limit=1, test_limit=args.limit)
    x_test = _fit_shape(x_test, model, "evaluate")
    targets = targets_for(model, y_test, "evaluate") if model.compiled else None      # as its loss reads labels
    names = fresh["class_names"]                       # the labels are the evaluated data set's
    proba = class_probabilities(model, model.predict(x_test))
    predicted = proba.argmax(axis=-1)
    matrix = confusion_matrix(y_test, predicted, max(proba.shape[-1], int(y_test.max()) + 1))
    accuracy = np.trace(matrix) / max(len(y_test), 1)
    loss = f", loss {model.evaluate(x_test, targets, return_dict=True)['loss']:.4f}" if model.compiled else ""
    print(f"Test accuracy {accuracy:.2%} on {len(y_test):,} {data} test examples{loss}")
    print(format_confusion(matrix, names))
    if args.plot:
        _plots(args.plot, model, x_test, y_test, predicted, names, None)
    return 0


def confusion_matrix(y_true, y_pred, k):
    """C[i, j] = number of examples of class i predicted as j."""
    return np.bincount(np.asarray(y_true) * k + np.asarray(y_pred), minlength=k * k).reshape(k, k)


def format_confusion(matrix, names=None):
    """Per-class accuracy, then the confusion matrix (rows: true class, columns: predicted) as text."""
    k = len(matrix)
    names = [str(n) for n in names or []][:k]
    names += [str(i) for i in range(len(names), k)]
    totals = matrix.sum(axis=1)
    width = max(5, len(str(matrix.max())) + 1)
    lines = ["Per-class accuracy:"]
    for i in range(k):
        acc = f"{matrix[i, i] / totals[i]:7.2%}" if totals[i] else "      -"
        label = f"{i} {names[i]}" if names[i] != str(i) else str(i)
        lines.append(f"  {label:<16} {acc}  ({matrix[i, i]:,} of {totals[i]:,})")
    lines += ["Confusion matrix (rows: true class, columns: predicted class):",
              " " * 6 + "".join(f"{j:>{width}}" for j in range(k))]
    lines += [f"{i:>5} " + "".join(f"{v:>{width}}" for v in row) for i, row in enumerate(matrix)]
    return "\n".join(lines)


def cmd_predict(args):
    """Classify pictures (PNG, JPEG, ...) with a saved model; print the class and probabilities.

    A file that cannot be used (missing, not a picture, blank) gets an ``error: predict: ...``
    line on stderr and the others are still classified; the exit code is 1 if any file
    failed, else 0.
    """
    model = load_model(args.model_file)
    meta = getattr(model, "metadata", {}) or {}
    data = meta.get("data", "mnist")
    # A data set's own names first: models saved before they were recorded list Fashion-MNIST's as 0..9.
    names = list(_class_names(data)) or meta.get("class_names")
    shape = model.layers[0].input_shape
    # Models saved before "centring" was recorded: the convention of the data they were trained on.
    digit_box = meta["digit_box"] if "digit_box" in meta else DIGIT_BOX.get(data, 20 / 28)
    centring = meta.get("centring") or CENTRING.get(data) or "mass"
    pictures, failed = [], 0
    for path in args.images:
        try:
            pictures.append((path, read_image(path, shape, meta.get("input_scale", [0.0, 1.0]), digit_box,
                                              where="predict", centring=centring)))
        except (OSError, ValueError) as exc:
            print(f"error: {exc}", file=sys.stderr)
            failed += 1
    if pictures:
        batch = np.stack([picture for _, picture in pictures])
        proba = class_probabilities(model, model.predict(batch.reshape((len(batch),) + tuple(shape))))
        for (path, _), p in zip(pictures, proba):
            best = int(p.argmax())
            label = names[best] if names and best < len(names) else str(best)
            print(f"{path}: {label} (p = {p[best]:.3f})")
            print("  " + "  ".join(f"{(names[j] if names else j)}: {v:.3f}" for j, v in enumerate(p)))
    if failed and len(args.images) > 1:
        print(f"error: predict: {failed} of {len(args.images)} pictures could not be classified.", file=sys.stderr)
    return 1 if failed else 0


def _class_names(data):
    """The class names a data set registers (Fashion-MNIST's), or () for digits and unknown names."""
    try:
        return datasets.get(data).class_names
    except ValueError:
        return ()


def cmd_summary(args):
    """Print a model's summary table, from a saved file or a named architecture."""
    if args.model_file:
        model = load_model(args.model_file)
    else:
        model = build_model(args.model or "mlp", seed=0)
    model.summary(links=args.links)
    return 0


def cmd_export(args):
    """Write a saved model as ONNX; say what was written, check it with onnxruntime (if installed), say how to run it."""
    model = load_model(args.model_file)
    to_onnx(model, args.onnx_file)
    size = os.path.getsize(args.onnx_file)
    shape = tuple(model.layers[0].input_shape)
    low, high = (getattr(model, "metadata", None) or {}).get("input_scale", [0.0, 1.0])
    dims = ", ".join(["N", *map(str, shape)])
    print(f"Wrote {args.onnx_file}: ONNX opset {OPSET}, {size / 1e6:.2f} MB; input \"input\" float32 ({dims}) "
          f"scaled to [{low:g}, {high:g}] as the model was trained, output \"output\" "
          f"(N, {', '.join(map(str, model.layers[-1].output_shape))})")
    try:
        import onnxruntime
    except ImportError:
        print("Not checked: onnxruntime is not installed (pip install onnxruntime, or 'netfit[onnx]').")
    else:
        x = np.random.default_rng(0).uniform(low, high, (8,) + shape).astype(np.float32)
        ours = model.predict(x)
        theirs = onnxruntime.InferenceSession(args.onnx_file).run(None, {"input": x})[0]
        print(f"Checked with onnxruntime {onnxruntime.__version__}: on 8 random inputs its outputs differ from "
              f"netfit's by at most {float(np.max(np.abs(theirs - ours))):.1e}.")
    print(f"Run it (pip install onnxruntime):\n"
          f"  import onnxruntime\n"
          f"  session = onnxruntime.InferenceSession({args.onnx_file!r})\n"
          f"  outputs = session.run(None, {{\"input\": x}})[0]     # x: float32 array of shape ({dims})")
    return 0


def cmd_demo(args):
    """The lecture's MNIST example from start to finish."""
    if os.path.exists(args.out) and not os.path.isdir(args.out):   # a bad --out fails now, not after training
        raise NotADirectoryError(f"demo: --out expects a folder, got the file {args.out!r}.")
    os.makedirs(args.out, exist_ok=True)
    check_writable(os.path.join(args.out, "lecture_mlp.netfit"), "demo: --out")
    try:                                                # the pictures are a bonus: say so once, up front
        plotting.require_matplotlib("demo")
        pictures = True
    except ImportError as exc:
        print(f"warning: {exc} The demo trains and saves the model without its pictures.", file=sys.stderr)
        pictures = False
    start = time.perf_counter()
    (x_train, y_train), (x_test, y_test), metadata = load_data("mnist")
    print(f"MNIST: {len(x_train):,} training and {len(x_test):,} test images of {x_train.shape[1]}x"
          f"{x_train.shape[2]} pixels, scaled to [0, 1]")
    y_train_1hot, y_test_1hot = utils.to_categorical(y_train, 10), utils.to_categorical(y_test, 10)
    model = zoo.lecture_mlp(seed=args.seed)
    model.summary()
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    model.fit(x_train, y_train_1hot, epochs=args.epochs, batch_size=args.batch_size or len(x_train),   # 0: full batch
              verbose=args.verbose)
    loss, accuracy = model.evaluate(x_test, y_test_1hot)
    print(f"Test loss {loss:.4f}, test accuracy {accuracy:.2%}")
    predicted = model.predict_classes(x_test)
    print("Predicted classes of the first 9 test images:", " ".join(map(str, predicted[:9])))
    os.makedirs(args.out, exist_ok=True)
    model.metadata = metadata
    model_path = os.path.join(args.out, "lecture_mlp.netfit")
    model.save(model_path)
    if pictures:
        _plots(args.out, model, x_test, y_test, predicted, metadata["class_names"], model.history,
               train=(x_train[:9], y_train[:9], model.predict_classes(x_train[:9])))
    print(f"Wrote {model_path}")
    command = sys.argv[0] if os.path.basename(sys.argv[0]) == "netfit" else "netfit"     # .venv/bin/netfit
    # A hint that finishes in a minute or so (64 s quiet, 81 s loaded, on 2 cores): 2 epochs at batch 128 (98.25 %; 11–12 s an epoch on 2 quiet cores,
    # 19–43 s on 2 busy ones). `train`'s defaults, 15 epochs at batch 32, took 8–20 minutes (issue 21).
    print(f"Done in {time.perf_counter() - start:.1f} s. Convolutional models do better: "
          f"try `{command} train --model cnn --batch-size 128 --epochs 2` (about 30 s on 2 cores).")
    return 0


def _plots(folder, model, x, y, predicted, names, history, train=None):
    """Draw what netfit.plotting offers into ``folder``; a picture that fails only warns.

    ``train`` = (images, labels, predictions) adds the grid of training digits the lecture shows.
    """
    os.makedirs(folder, exist_ok=True)
    digits = x.reshape(x.shape[:3]) if x.ndim == 4 and x.shape[-1] == 1 else x
    jobs = [("plot_history", "training_curves.png", lambda f, p: f(history, path=p)),
            ("plot_confusion_matrix", "confusion_matrix.png", lambda f, p: f(y, predicted, p, class_names=names)),
            ("plot_first_layer", "first_layer.png", lambda f, p: f(model, p)),
            ("plot_digits", "test_predictions.png", lambda f, p: f(digits, y, predicted, path=p, class_names=names))]
    if train is not None:
        images, labels, guesses = train
        images = images.reshape(images.shape[:3]) if images.ndim == 4 and images.shape[-1] == 1 else images
        jobs.append(("plot_digits", "train_predictions.png",
                     lambda f, p: f(images, labels, guesses, path=p, class_names=names)))
    for function, name, call in jobs:
        draw = getattr(plotting, function, None)
        if draw is None or (history is None and function == "plot_history"):
            continue
        path = os.path.join(folder, name)
        try:
            call(draw, path)
            print(f"Wrote {path}")
        except (ImportError, ValueError, TypeError, RuntimeError) as exc:
            print(f"warning: could not draw {name}: {exc}", file=sys.stderr)


# -- the parser ------------------------------------------------------------------------------
def build_parser():
    """Return the ``netfit`` argument parser (sub-commands train, evaluate, predict, ...)."""
    parser = argparse.ArgumentParser(prog="netfit", description="Neural networks you can read and use.")
    parser.add_argument("--version", action="version", version=f"netfit {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    model_help = f"an architecture: {', '.join(MODELS)} (netfit.zoo, any case) or a FILE.json"
    batch_help = "examples per step; 0 for the whole training set in one step (full batch)"

    demo = sub.add_parser("demo", help="the lecture's MNIST example end to end",
                          description="Train the lecture's Flatten-Dense(128, relu)-Dense(10, softmax) net on "
                                      "MNIST with Adam, print its test accuracy and draw predictions.")
    demo.add_argument("--epochs", type=_EPOCHS, default=15)
    demo.add_argument("--batch-size", type=_BATCH, default=32, help=batch_help)
    demo.add_argument("--seed", type=_COUNT, default=0)
    demo.add_argument("--out", default="netfit-output", help="folder for the pictures and the model")
    demo.add_argument("--verbose", type=int, default=1, choices=(0, 1, 2))
    demo.set_defaults(func=cmd_demo)

    train = sub.add_parser("train", help="train a model on a data set and save it",
                           description="Train with sparse categorical cross-entropy (or --loss) and report test "
                                       "accuracy. Ctrl-C stops training, saves the weights reached and exits with "
                                       "130. A quick first run: --epochs 1 --limit 10000.")
    train.add_argument("--data", type=dataset_arg,
                       help="mnist, zip or fashion (default: zip for net1..net5, zipcnn, lecun1989 and zipresnet, else mnist)")
    train.add_argument("--model", default="mlp", type=_model_arg, metavar="ARCH", help=model_help)
    train.add_argument("--epochs", type=_EPOCHS, default=15)
    train.add_argument("--batch-size", type=_BATCH, default=32, help=batch_help)
    names = optimizers.names()
    train.add_argument("--optimizer", default="adam", type=_name_arg("an optimizer", names), metavar="NAME",
                       help=f"{', '.join(names)} (nf.optimizers; lbfgs is full batch and needs SciPy, sdlm needs "
                            f"--loss mse)")
    train.add_argument("--loss", default="sparse_categorical_crossentropy", metavar="NAME",
                       type=_name_arg("a loss", losses.names(), losses.aliases()),
                       help=f"{', '.join(losses.names())} (nf.losses; also {', '.join(losses.aliases())}); the "
                            f"labels are encoded as the loss reads them (one-hot but for the sparse one)")
    for option, what, kind in (("--lr", "learning rate γ", _RATE), ("--momentum", "momentum μ, in [0, 1)", _FRACTION),
                               ("--weight-decay", "weight decay λ on the kernels (ESL's)", _PENALTY)):
        train.add_argument(option, type=kind, default=None,
                           help=f"{what} (default: {_defaults_help(OPTIMIZER_OPTIONS[option])})")
    train.add_argument("--validation-split", type=_FRACTION, default=0.0)
    train.add_argument("--seed", type=_COUNT, default=0)
    train.add_argument("--out", metavar="MODEL.netfit", help="where to save the trained model (default: "
                       "MODEL_DATA.netfit here, e.g. mlp_mnist.netfit; _1, _2, ... appended rather than overwrite)")
    train.add_argument("--no-save", action="store_true", help="do not save the trained model")
    train.add_argument("--plot", metavar="DIR", help="draw training curves, confusion matrix, digits here")
    train.add_argument("--verbose", type=int, default=1, choices=(0, 1, 2))
    train.add_argument("--limit", type=_POSITIVE, default=None,
                       help="train on the first N training examples only (a quick run; default: all)")
    train.add_argument("--test-limit", type=_POSITIVE, default=None,
                       help="test on the first N test examples only (default: all)")
    train.set_defaults(func=cmd_train)

    evaluate = sub.add_parser("evaluate", help="accuracy, per-class accuracy and confusion matrix",
                              description="Evaluate a saved model on a data set's test images.")
    evaluate.add_argument("model_file", metavar="MODEL.netfit", help="a saved model")
    evaluate.add_argument("--data", type=dataset_arg, default=None, help="mnist, zip or fashion "
                          "(default: the data the model was trained on)")
    evaluate.add_argument("--plot", metavar="DIR", help="draw the confusion matrix and digits here")
    evaluate.add_argument("--limit", type=_POSITIVE, default=None,
                          help="evaluate on the first N test examples only (default: all)")
    evaluate.set_defaults(func=cmd_evaluate)

    predict = sub.add_parser("predict", help="classify pictures of digits (PNG, JPEG)",
                             description="Read each picture as grey levels, invert it if the background is "
                                         "light, fit it to the model's input as its training data were made "
                                         "(MNIST: the digit scaled to a 20x20 box, centred by mass in 28x28; "
                                         "ZIP: scaled to 16x16, centred by its box), whatever the picture's "
                                         "size, and print the class and the probabilities. A file that fails "
                                         "is reported and the others still classified; the exit code is 1 if "
                                         "any failed. Needs Pillow (netfit[plot]).")
    predict.add_argument("model_file", metavar="MODEL.netfit", help="a saved model (first, then the pictures)")
    predict.add_argument("images", metavar="IMAGE", nargs="+", help="picture files")
    predict.set_defaults(func=cmd_predict)

    summary = sub.add_parser("summary", help="print a model's layer table",
                             description="Print the layer table of a saved model or of a named architecture.")
    summary.add_argument("model_file", metavar="MODEL.netfit", nargs="?", help="a saved model")
    summary.add_argument("--model", type=_model_arg, metavar="ARCH",
                         help=f"{model_help}, freshly built (with neither: mlp)")
    summary.add_argument("--links", action="store_true", help="also count connections (ESL's links)")
    summary.set_defaults(func=cmd_summary)

    export = sub.add_parser("export", help="write a saved model as ONNX",
                            description="Convert a saved model to ONNX (needs the onnx package: netfit[onnx]).")
    export.add_argument("model_file", metavar="MODEL.netfit", help="a saved model")
    export.add_argument("onnx_file", metavar="OUT.onnx")
    export.set_defaults(func=cmd_export)

    for command, module in (("data", "netfit.datasets.cli"), ("esl", "netfit.experiments.esl"),
                            ("esl-curves", "netfit.experiments.esl_curves"),
                            ("esl-search", "netfit.experiments.esl_search"),
                            ("esl-sim", "netfit.experiments.esl_11_6"), ("sweep", "netfit.sweep"),
                            ("lecun1989", "netfit.experiments.lecun1989"),
                            ("zip-resnet", "netfit.experiments.zip_resnet"), ("serve", "netfit.serve.cli")):
        try:
            importlib.import_module(module).add_parser(sub)
        except ImportError as exc:
            if exc.name not in (module, module.rpartition(".")[0]):      # there, but broken: say so
                print(f"warning: `netfit {command}` is unavailable: {exc}", file=sys.stderr)
    for command in TRAINING_COMMANDS:
        if command in sub.choices:
            add_training_options(sub.choices[command])
    show_defaults(parser)
    return parser


def show_defaults(parser):
    """Say each option's default once in ``--help``, for ``parser`` and all its sub-commands.

    An option whose help already says "default" is left as written (argparse's
    ArgumentDefaultsHelpFormatter would add a second, contradicting "(default: None)");
    any other option with a default (not None, False or an empty list) gets "(default: VALUE)".
    """
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for child in set(action.choices.values()):
                show_defaults(child)
            continue
        if (not action.option_strings or action.help == argparse.SUPPRESS or action.default is None
                or action.default is False or isinstance(action.default, str) and action.default == argparse.SUPPRESS
                or action.default == [] or "default" in (action.help or "").lower()):
            continue
        action.help = f"{action.help} (default: %(default)s)" if action.help else "(default: %(default)s)"
    if parser.formatter_class is argparse.ArgumentDefaultsHelpFormatter:
        parser.formatter_class = argparse.HelpFormatter


_PICTURES = (".png", ".jpg", ".jpeg", ".gif", ".bmp", ".tif", ".tiff", ".webp", ".pgm", ".ppm")


def _check_model_first(parser, model_file, rest, things, thing, looks_like):
    """A usage error naming the order when ``predict`` or ``export`` got ``thing`` (a picture, ...) before the model.

    ``looks_like``: the suffixes of ``thing``; a .netfit among ``rest`` is taken for the model given after it.
    """
    models = [path for path in rest if path.lower().endswith(".netfit")]
    if model_file.lower().endswith(".netfit") or not (models or model_file.lower().endswith(looks_like)):
        return
    others = [model_file] + [path for path in rest if path not in models[:1]]
    fix = f"{parser.prog} {models[0]} {' '.join(others)}" if models else f"{parser.prog} MODEL.netfit ..."
    parser.error(f"expected the model first, then {things}, got {thing} {model_file!r} first"
                 f"{f' and the model {models[0]!r} after it' if models else ''}. Fix: {fix}")


_stop_signal = [None]          # the signal that stopped `train`, for its exit code


def _stop_like_ctrl_c(signum, frame):
    """SIGTERM (a job scheduler, `kill`) stops training the way Ctrl-C does: the weights are saved."""
    _stop_signal[0] = signum
    raise KeyboardInterrupt


def main(argv=None):
    """Run ``netfit`` with ``argv`` (default ``sys.argv[1:]``); return the exit code.

    ``train`` treats SIGTERM like Ctrl-C: it stops after a consistent step, saves
    ``--out`` and exits with 128 + the signal number (130 for Ctrl-C, 143 for SIGTERM).
    """
    parser = build_parser()
    argv = sys.argv[1:] if argv is None else [str(a) for a in argv]
    if not argv:                          # `netfit` alone: the help, not a one-line usage error
        parser.print_help()
        return 2                          # still a usage error: a script's `netfit $COMMAND` with no command fails
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction)).choices
    if not argv[0].startswith("-") and argv[0] not in commands:
        parser.error(f"argument COMMAND: invalid choice: {argv[0]!r} (choose from {', '.join(commands)})"
                     f"{did_you_mean(argv[0], commands)}")
    args = parser.parse_args(argv)
    if args.command == "summary" and args.model_file and args.model:
        commands["summary"].error("give a MODEL.netfit file or --model ARCH, not both")
    if args.command == "predict":
        _check_model_first(commands["predict"], args.model_file, args.images, "the pictures", "the picture", _PICTURES)
    if args.command == "export":
        _check_model_first(commands["export"], args.model_file, [args.onnx_file], "the ONNX file", "the ONNX file",
                           (".onnx",))
    _stop_signal[0] = None
    previous = None
    if args.command == "train" and threading.current_thread() is threading.main_thread():
        previous = signal.signal(signal.SIGTERM, _stop_like_ctrl_c)
    try:
        with training_options(args):
            return args.func(args)
    except KeyboardInterrupt:
        print("\nerror: interrupted", file=sys.stderr)
        return 128 + (_stop_signal[0] or 2)
    except BrokenPipeError:                 # e.g. `netfit data list | head`: end quietly, exit 0
        return reader_left()
    except (ValueError, TypeError, OSError, RuntimeError, ImportError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


if __name__ == "__main__":
    sys.exit(main())
