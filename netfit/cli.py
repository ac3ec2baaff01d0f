"""The ``netfit`` command. ``main(argv)`` returns the exit code.

::

    netfit demo                                     # the lecture's MNIST example end to end
    netfit train --data mnist --model cnn --epochs 5 --out cnn.netfit --plot out/
    netfit evaluate cnn.netfit --data mnist         # accuracy, per class, confusion matrix
    netfit predict cnn.netfit my_digit.png          # class and probabilities of a picture
    netfit summary cnn.netfit  |  netfit summary --model net3 --links
    netfit export cnn.netfit cnn.onnx               # for onnxruntime and friends
    netfit data list                                # data sets (netfit.datasets.cli)

Library errors are printed as ``error: <message>`` on stderr with exit code 1;
usage errors are argparse's (exit code 2); Ctrl-C exits with 130, and
``train`` saves the weights it reached first.
"""
import argparse
import importlib
import inspect
import os
import sys
import time

import numpy as np

# Named architectures: name -> (zoo function, arguments, default data set). Resolved
# lazily, so a zoo that lacks one only fails when that name is used. ESL's nets get
# softmax outputs here, to match the cross-entropy that `train` fits (the book's
# sigmoid outputs and squared error are `netfit esl`'s business).
MODELS = {"mlp": ("lecture_mlp", (), {}, "mnist"), "cnn": ("mnist_cnn", (), {}, "mnist"),
          **{f"net{k}": ("esl_net", (k,), {"output_activation": "softmax"}, "zip") for k in range(1, 6)}}
# How a picture becomes an input, per data set: the fraction of the frame the
# ink's bounding box is scaled to (MNIST: 20 of 28 pixels, centred by mass; the
# zip-code digits fill their 16x16 frame); None resizes the whole picture.
_DIGIT_BOX = {"mnist": 20 / 28, "zip": 1.0, "fashion": None}


# -- models and data -------------------------------------------------------------------------
def _model_arg(value):
    if value in MODELS or value.lower().endswith(".json"):
        return value
    raise argparse.ArgumentTypeError(f"expected one of {', '.join(MODELS)} or a FILE.json, got {value!r}")


def _data_arg(value):
    from . import datasets
    try:
        return datasets.get(value).name
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def build_model(name, input_shape=None, classes=None, seed=None):
    """Return the architecture ``name`` (from :data:`MODELS` or a JSON file), freshly initialized."""
    if name.lower().endswith(".json"):
        from .architecture import model_from_json
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


def load_data(name, limit=None, test_limit=None):
    """Return ``(x_train, y_train), (x_test, y_test), metadata`` for data set ``name``, inputs scaled.

    uint8 grey levels are mapped to [0, 1]; data that come as floats (the
    zip-code digits, in [-1, 1]) are kept. ``metadata`` records that scale, so
    that ``predict`` can prepare a picture the same way.
    """
    from . import datasets
    spec = datasets.get(name)
    loader = getattr(spec, "load_data", None) or spec.loader
    (x_train, y_train), (x_test, y_test) = loader()
    x_train, y_train = x_train[:limit], y_train[:limit]
    x_test, y_test = x_test[:test_limit], y_test[:test_limit]
    if x_train.dtype == np.uint8:
        scale = [0.0, 1.0]
        x_train, x_test = _scale(x_train, scale), _scale(x_test, scale)
    else:                                              # already scaled, e.g. zip-code digits in [-1, 1]
        scale = [-1.0, 1.0] if x_train.min() < 0 else [0.0, 1.0]
    classes = int(max(y_train.max(), y_test.max())) + 1
    names = getattr(sys.modules.get(loader.__module__), "class_names", None)
    metadata = {"data": spec.name, "input_scale": scale, "digit_box": _DIGIT_BOX.get(spec.name),
                "class_names": [str(c) for c in (names or range(classes))]}
    return (x_train, y_train), (x_test, y_test), metadata


def _scale(grey, scale):
    """Grey levels 0..255 -> [lo, hi], float32."""
    lo, hi = scale
    return (grey.astype("float32") * np.float32((hi - lo) / 255) + np.float32(lo)).astype("float32")


def _fit_shape(x, model, where):
    """x reshaped to the model's per-example input shape, or a clear error."""
    want = model.layers[0].input_shape
    if x.shape[1:] == want:
        return x
    if np.prod(x.shape[1:]) == np.prod(want):
        return x.reshape((len(x),) + tuple(want))
    raise ValueError(f"{where}: the model expects inputs of shape {want}, but the data are {x.shape[1:]}; "
                     f"choose the matching --data.")


# -- commands --------------------------------------------------------------------------------
def cmd_train(args):
    """Train an architecture on a data set; save it (also on Ctrl-C) and report test accuracy."""
    from . import optimizers
    from_file = args.model not in MODELS
    model = build_model(args.model, seed=args.seed) if from_file else None     # a bad spec fails before the data
    data = args.data or (MODELS[args.model][3] if not from_file else "mnist")
    (x_train, y_train), (x_test, y_test), metadata = load_data(data, args.limit, args.test_limit)
    if model is None:
        model = build_model(args.model, x_train.shape[1:], len(metadata["class_names"]), args.seed)
    x_train, x_test = _fit_shape(x_train, model, "train"), _fit_shape(x_test, model, "train")
    if args.momentum and args.optimizer != "sgd":
        raise ValueError("train: --momentum applies to --optimizer sgd only.")
    kwargs = {"weight_decay": args.weight_decay, "learning_rate": args.lr, "momentum": args.momentum or None}
    optimizer = type(optimizers.get(args.optimizer))(**{k: v for k, v in kwargs.items() if v is not None})
    model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.metadata = metadata
    if args.verbose:
        print(f"{metadata['data']}: {len(x_train):,} training and {len(x_test):,} test examples")
        model.summary()
    history = model.fit(x_train, y_train, epochs=args.epochs, batch_size=args.batch_size,
                        validation_split=args.validation_split, verbose=args.verbose)
    if args.out:
        model.save(args.out, _epoch=len(history.epoch))
        print(f"Saved {args.out}" + (f" (interrupted after {len(history.epoch)} epoch(s))"
                                     if history.interrupted else ""))
    if history.interrupted:
        print("" if args.out else "Interrupted; nothing saved (pass --out FILE to keep the weights).")
        return 130
    predicted = model.predict_classes(x_test)
    loss, accuracy = model.evaluate(x_test, y_test)
    print(f"Test loss {loss:.4f}, test accuracy {accuracy:.2%}")
    if args.plot:
        _plots(args.plot, model, x_test, y_test, predicted, metadata["class_names"], history)
    return 0


def cmd_evaluate(args):
    """Accuracy, per-class accuracy and the confusion matrix of a saved model on a test set."""
    from .io import load_model
    model = load_model(args.model_file)
    meta = getattr(model, "metadata", {}) or {}
    data = args.data or meta.get("data") or "mnist"
    _, (x_test, y_test), fresh = load_data(data, limit=1, test_limit=args.limit)
    x_test = _fit_shape(x_test, model, "evaluate")
    names = meta.get("class_names") or fresh["class_names"]
    proba = model.predict(x_test)
    predicted = proba.argmax(axis=-1)
    matrix = confusion_matrix(y_test, predicted, max(proba.shape[-1], int(y_test.max()) + 1))
    accuracy = np.trace(matrix) / max(len(y_test), 1)
    loss = f", loss {model.evaluate(x_test, y_test, return_dict=True)['loss']:.4f}" if model.compiled else ""
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
    """Classify pictures (PNG, JPEG, ...) with a saved model; print the class and probabilities."""
    from .io import load_model
    model = load_model(args.model_file)
    meta = getattr(model, "metadata", {}) or {}
    names = meta.get("class_names")
    shape = model.layers[0].input_shape
    batch = np.stack([read_image(path, shape, meta.get("input_scale", [0.0, 1.0]),
                                 meta.get("digit_box", 20 / 28)) for path in args.images])
    proba = model.predict(batch.reshape((len(batch),) + tuple(shape)))
    for path, p in zip(args.images, proba.reshape(len(batch), -1)):
        best = int(p.argmax())
        label = names[best] if names and best < len(names) else str(best)
        print(f"{path}: {label} (p = {p[best]:.3f})")
        print("  " + "  ".join(f"{(names[j] if names else j)}: {v:.3f}" for j, v in enumerate(p)))
    return 0


def read_image(path, shape, scale=(0.0, 1.0), digit_box=20 / 28):
    """Turn a picture of a digit into one model input, the way MNIST was made.

    Grey levels (transparency over white); inverted when the border is light,
    so the ink is bright on dark; unless the picture already has the model's
    size, the ink's bounding box is scaled to ``digit_box`` of the frame and
    centred by its centre of mass (``digit_box=None``: the whole picture is
    resized); grey levels 0..255 are mapped to ``scale`` = [low, high].

    Shapes
    ------
    picture of any size  ->  (H, W) float32, for a model input shape (H, W), (H, W, 1) or (H·W,)
    """
    try:
        from PIL import Image
    except ImportError:
        raise ImportError("netfit predict reads pictures with Pillow: pip install 'netfit[plot]'.") from None
    side = int(np.sqrt(shape[0]))
    if len(shape) == 1 and side * side == shape[0]:
        shape = (side, side)
    if len(shape) not in (2, 3) or shape[2:] not in ((), (1,)):
        raise ValueError(f"predict: expected a model of grey images, (H, W) or (H, W, 1), got input shape {shape}.")
    try:
        with Image.open(path) as image:
            rgba = image.convert("RGBA")
    except FileNotFoundError:
        raise FileNotFoundError(f"predict: no such file {os.fspath(path)!r}.") from None
    except OSError as exc:                             # PIL.UnidentifiedImageError and damaged files
        raise OSError(f"predict: cannot read {os.fspath(path)!r} as a picture ({exc}).") from None
    grey = np.asarray(Image.alpha_composite(Image.new("RGBA", rgba.size, "white"), rgba).convert("L"), np.float32)
    if np.median(np.concatenate([grey[0], grey[-1], grey[:, 0], grey[:, -1]])) > 127:
        grey = 255 - grey                              # dark ink on light paper -> bright on dark
    if grey.shape != shape[:2]:
        grey = _fit_ink(grey, shape[:2], digit_box, lambda a, h, w: np.asarray(
            Image.fromarray(a.astype(np.float32)).resize((w, h), Image.LANCZOS)))
    return _scale(np.clip(grey, 0, 255), scale)


def _fit_ink(grey, size, digit_box, resize):
    """Resize to ``size``: the ink's bounding box to ``digit_box`` of the frame, centred by mass."""
    (height, width), ink = size, grey > 0.2 * grey.max()
    if digit_box is None or not ink.any():
        return resize(grey, height, width)
    rows, cols = np.flatnonzero(ink.any(axis=1)), np.flatnonzero(ink.any(axis=0))
    crop = grey[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]
    factor = digit_box * min(height / crop.shape[0], width / crop.shape[1])
    h, w = max(1, round(crop.shape[0] * factor)), max(1, round(crop.shape[1] * factor))
    small = np.clip(resize(crop, h, w), 0, 255)
    mass = small.sum() or 1.0
    cy, cx = small.sum(axis=1) @ np.arange(h) / mass, small.sum(axis=0) @ np.arange(w) / mass
    top = int(np.clip(round((height - 1) / 2 - cy), 0, height - h))
    left = int(np.clip(round((width - 1) / 2 - cx), 0, width - w))
    out = np.zeros((height, width), np.float32)
    out[top:top + h, left:left + w] = small
    return out


def cmd_summary(args):
    """Print a model's summary table, from a saved file or a named architecture."""
    if args.model_file:
        from .io import load_model
        model = load_model(args.model_file)
    else:
        model = build_model(args.model or "mlp", seed=0)
    model.summary(links=args.links)
    return 0


def cmd_export(args):
    """Write a saved model as ONNX."""
    from .export import to_onnx
    from .io import load_model
    to_onnx(load_model(args.model_file), args.onnx_file)
    print(f"Wrote {args.onnx_file}")
    return 0


def cmd_demo(args):
    """The lecture's MNIST example from start to finish."""
    from . import utils, zoo
    start = time.perf_counter()
    (x_train, y_train), (x_test, y_test), metadata = load_data("mnist")
    print(f"MNIST: {len(x_train):,} training and {len(x_test):,} test images of {x_train.shape[1]}x"
          f"{x_train.shape[2]} pixels, scaled to [0, 1]")
    y_train_1hot, y_test_1hot = utils.to_categorical(y_train, 10), utils.to_categorical(y_test, 10)
    model = zoo.lecture_mlp(seed=args.seed)
    model.summary()
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    model.fit(x_train, y_train_1hot, epochs=args.epochs, batch_size=args.batch_size, verbose=args.verbose)
    loss, accuracy = model.evaluate(x_test, y_test_1hot)
    print(f"Test loss {loss:.4f}, test accuracy {accuracy:.2%}")
    predicted = model.predict_classes(x_test)
    print("Predicted classes of the first 9 test images:", " ".join(map(str, predicted[:9])))
    os.makedirs(args.out, exist_ok=True)
    model.metadata = metadata
    model_path = os.path.join(args.out, "lecture_mlp.netfit")
    model.save(model_path)
    _plots(args.out, model, x_test, y_test, predicted, metadata["class_names"], model.history)
    print(f"Wrote {model_path}")
    print(f"Done in {time.perf_counter() - start:.1f} s. Convolutional models do better: "
          f"try `netfit train --model cnn`.")
    return 0


def _plots(folder, model, x, y, predicted, names, history):
    """Draw what netfit.plotting offers into ``folder``; a picture that fails only warns."""
    try:
        from . import plotting
    except ImportError as exc:
        print(f"warning: no pictures: {exc}", file=sys.stderr)
        return
    os.makedirs(folder, exist_ok=True)
    digits = x.reshape(x.shape[:3]) if x.ndim == 4 and x.shape[-1] == 1 else x
    jobs = [("plot_history", "training_curves.png", lambda f, p: f(history, path=p)),
            ("plot_confusion_matrix", "confusion_matrix.png", lambda f, p: f(y, predicted, p, class_names=names)),
            ("plot_first_layer", "first_layer.png", lambda f, p: f(model, p)),
            ("plot_digits", "test_predictions.png", lambda f, p: f(digits, y, predicted, path=p))]
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
    from . import __version__
    parser = argparse.ArgumentParser(prog="netfit", description="Neural networks you can read and use.")
    parser.add_argument("--version", action="version", version=f"netfit {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    model_help = f"{', '.join(MODELS)} (netfit.zoo) or a FILE.json architecture"

    demo = sub.add_parser("demo", help="the lecture's MNIST example end to end",
                          description="Train the lecture's Flatten-Dense(128, relu)-Dense(10, softmax) net on "
                                      "MNIST with Adam, print its test accuracy and draw predictions.")
    demo.add_argument("--epochs", type=int, default=15)
    demo.add_argument("--batch-size", type=int, default=32)
    demo.add_argument("--seed", type=int, default=0)
    demo.add_argument("--out", default="netfit-output", help="folder for the pictures and the model")
    demo.add_argument("--verbose", type=int, default=1, choices=(0, 1, 2))
    demo.set_defaults(func=cmd_demo)

    train = sub.add_parser("train", help="train a model on a data set and save it",
                           description="Train with sparse categorical cross-entropy and report test accuracy. "
                                       "Ctrl-C stops training, saves the weights reached and exits with 130.")
    train.add_argument("--data", type=_data_arg, help="mnist, zip or fashion (default: zip for net1..net5, "
                       "else mnist)")
    train.add_argument("--model", default="mlp", type=_model_arg, help=model_help)
    train.add_argument("--epochs", type=int, default=15)
    train.add_argument("--batch-size", type=int, default=32)
    train.add_argument("--optimizer", default="adam", choices=("adam", "sgd"))
    train.add_argument("--lr", type=float, default=None, help="learning rate γ (optimizer default if omitted)")
    train.add_argument("--momentum", type=float, default=0.0, help="SGD's momentum μ")
    train.add_argument("--weight-decay", type=float, default=0.0, help="ESL's λ on the kernels")
    train.add_argument("--validation-split", type=float, default=0.0)
    train.add_argument("--seed", type=int, default=0)
    train.add_argument("--out", metavar="MODEL", help="where to save the trained model (.netfit)")
    train.add_argument("--plot", metavar="DIR", help="draw training curves, confusion matrix, digits here")
    train.add_argument("--verbose", type=int, default=1, choices=(0, 1, 2))
    train.add_argument("--limit", type=int, default=None, help=argparse.SUPPRESS)       # first N training examples
    train.add_argument("--test-limit", type=int, default=None, help=argparse.SUPPRESS)  # first N test examples
    train.set_defaults(func=cmd_train)

    evaluate = sub.add_parser("evaluate", help="accuracy, per-class accuracy and confusion matrix",
                              description="Evaluate a saved model on a data set's test images.")
    evaluate.add_argument("model_file", metavar="MODEL", help="a saved .netfit model")
    evaluate.add_argument("--data", type=_data_arg, default=None, help="mnist, zip or fashion "
                          "(default: the data the model was trained on)")
    evaluate.add_argument("--plot", metavar="DIR", help="draw the confusion matrix and digits here")
    evaluate.add_argument("--limit", type=int, default=None, help=argparse.SUPPRESS)
    evaluate.set_defaults(func=cmd_evaluate)

    predict = sub.add_parser("predict", help="classify pictures of digits (PNG, JPEG)",
                             description="Read each picture as grey levels, invert it if the background is "
                                         "light, fit it to the model's input like MNIST, and print the class "
                                         "and the probabilities. Needs Pillow (netfit[plot]).")
    predict.add_argument("model_file", metavar="MODEL", help="a saved .netfit model")
    predict.add_argument("images", metavar="IMAGE", nargs="+", help="picture files")
    predict.set_defaults(func=cmd_predict)

    summary = sub.add_parser("summary", help="print a model's layer table",
                             description="Print the layer table of a saved model or of a named architecture.")
    summary.add_argument("model_file", metavar="MODEL", nargs="?", help="a saved .netfit model")
    summary.add_argument("--model", type=_model_arg, help=model_help)
    summary.add_argument("--links", action="store_true", help="also count connections (ESL's links)")
    summary.set_defaults(func=cmd_summary)

    export = sub.add_parser("export", help="write a saved model as ONNX",
                            description="Convert a saved model to ONNX (needs the onnx package: netfit[onnx]).")
    export.add_argument("model_file", metavar="MODEL", help="a saved .netfit model")
    export.add_argument("onnx_file", metavar="OUT.onnx")
    export.set_defaults(func=cmd_export)

    for command, module in (("data", "netfit.datasets.cli"), ("esl", "netfit.experiments.esl")):
        try:
            importlib.import_module(module).add_parser(sub)
        except ImportError as exc:
            if exc.name not in (module, module.rpartition(".")[0]):      # there, but broken: say so
                print(f"warning: `netfit {command}` is unavailable: {exc}", file=sys.stderr)
    return parser


def main(argv=None):
    """Run ``netfit`` with ``argv`` (default ``sys.argv[1:]``); return the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "summary" and args.model_file and args.model:
        parser.error("summary: give a MODEL file or --model, not both")
    try:
        return args.func(args)
    except KeyboardInterrupt:
        print("\nerror: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:                 # e.g. `netfit evaluate m.netfit | head`
        sys.stdout = open(os.devnull, "w")
        return 0
    except (ValueError, TypeError, OSError, RuntimeError, ImportError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
