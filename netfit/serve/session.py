"""What the playground holds: a data set, a compiled net built like ``netfit train``'s, and views of it.

A :class:`Session` is built from a settings dict (the page's knobs, also kept
in its URL). The net is made by :func:`netfit.cli.build_model` and compiled the
way ``netfit train`` compiles it (sparse categorical cross-entropy, Adam or SGD
with γ, momentum and weight decay), so a run here gives the CLI's numbers. Two
knobs go beyond the CLI, both off by default: ``init_scale`` multiplies the
starting weights, ``standardize`` maps every input pixel to mean 0 and
standard deviation 1 on the training set (ESL §11.5.3).

Everything here runs in the caller's thread; :mod:`netfit.serve.worker` keeps the
model to one thread at a time.
"""
import inspect
import math
import os
import tempfile

import numpy as np

import netfit as nf
from netfit import optimizers
from netfit.architecture import model_from_json, model_to_json
from netfit.cli import build_model
from netfit.experiments.esl import stratified_sample
from netfit.images import fit_shape, load_data, read_image

from .messages import scratch_file

__all__ = ["DATASETS", "DEFAULTS", "PRESETS", "Session", "architecture_of", "build_architecture", "check_settings",
           "layer_arguments", "significant"]

# Data choices: key -> (label, netfit data set, digits drawn for the ESL protocol or None).
DATASETS = {"zip-esl": ("ZIP digits 16×16, ESL protocol (320 train / 160 test)", "zip", (320, 160)),
            "zip": ("ZIP digits 16×16, full split (7,291 / 2,007)", "zip", None),
            "mnist": ("MNIST 28×28 (60,000 / 10,000)", "mnist", None)}
PRESETS = {"net1": "Net-1: no hidden layer", "net2": "Net-2: 12 hidden units",
           "net3": "Net-3: locally connected", "net4": "Net-4: shared weights, then local",
           "net5": "Net-5: shared weights twice", "mlp": "Lecture MLP: Dense(128, relu)",
           "cnn": "CNN: Keras's simple MNIST convnet", "zipcnn": "CNN for 16×16 digits",
           "custom": "Custom: your layers (JSON)"}
DEFAULTS = {"data": "mnist", "preset": "mlp", "optimizer": "adam", "lr": None, "momentum": 0.0,
            "batch_size": 32, "weight_decay": 0.0, "init_scale": 1.0, "standardize": False, "seed": 0,
            "epochs": 15, "limit": None, "test_limit": None, "architecture": None}
_REQUIRED = ("units", "filters", "kernel_size", "pool_size", "rate", "target_shape")   # arguments without defaults
_MAX_SHOWN = 128            # first-layer weight images sent to the page


def check_settings(raw, where="serve settings"):
    """Return the settings with defaults filled in, or raise ValueError naming the bad knob (after ``where``)."""
    if not isinstance(raw, dict):
        raise ValueError(f"{where}: expected a JSON object, got {type(raw).__name__}.")
    unknown = sorted(set(raw) - set(DEFAULTS))
    if unknown:
        raise ValueError(f"{where}: unknown key {unknown[0]!r}; known: {', '.join(DEFAULTS)}.")
    s = {**DEFAULTS, **{k: v for k, v in raw.items() if v is not None}}
    for key, table in (("data", DATASETS), ("preset", PRESETS), ("optimizer", {"adam": 0, "sgd": 0})):
        if s[key] not in table:
            raise ValueError(f"{where}: expected {key} one of {', '.join(table)}, got {s[key]!r}.")
    numbers = {"lr": (float, lambda v: v > 0, "a positive number"),
               "momentum": (float, lambda v: 0 <= v < 1, "a number in [0, 1)"),
               "batch_size": (int, lambda v: v >= 0, "a non-negative integer (0: full batch)"),
               "weight_decay": (float, lambda v: v >= 0, "a non-negative number"),
               "init_scale": (float, lambda v: v > 0, "a positive number"),
               "seed": (int, lambda v: v >= 0, "a non-negative integer"),
               "epochs": (int, lambda v: 1 <= v <= 10000, "an integer in 1..10000"),
               "limit": (int, lambda v: v >= 1, "a positive integer"),
               "test_limit": (int, lambda v: v >= 1, "a positive integer")}
    for key, (kind, ok, what) in numbers.items():
        value = s[key]
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
                or (kind is int and value != int(value)) or not ok(kind(value)):
            raise ValueError(f"{where}: expected {key} {what}, got {value!r}.")
        s[key] = kind(value)
    if not isinstance(s["standardize"], bool):
        raise ValueError(f"{where}: expected standardize true or false, got {s['standardize']!r}.")
    if s["preset"] == "custom" and not isinstance(s["architecture"], dict):
        raise ValueError(f"{where}: expected architecture, a JSON object with 'layers' (netfit.architecture), "
                         f"for the preset 'custom', got {s['architecture']!r}.")
    if s["preset"] != "custom":
        s["architecture"] = None
    if s["momentum"] and s["optimizer"] != "sgd":
        raise ValueError(f"{where}: momentum applies to optimizer sgd only.")
    return s


def build_architecture(spec, input_shape, classes, seed=None):
    """A net from a JSON spec (:func:`netfit.architecture.model_from_json`), checked against the data.

    The spec's ``input_shape`` defaults to the data's; the last layer must have one unit per class.
    """
    if not isinstance(spec, dict):
        raise ValueError(f"architecture: expected a JSON object with 'layers', got {type(spec).__name__}.")
    model = model_from_json({"input_shape": list(input_shape), **spec}, seed=seed)
    if int(np.prod(model.layers[0].input_shape)) != int(np.prod(input_shape)):
        raise ValueError(f"architecture: expected input_shape {list(input_shape)} for this data, "
                         f"got {list(model.layers[0].input_shape)}.")
    if model.output_shape != (None, classes):
        raise ValueError(f"architecture: expected the last layer to give {classes} outputs (one per class), "
                         f"got shape {model.output_shape}; end with Dense({classes}, activation='softmax').")
    return model


def layer_arguments(layer):
    """The constructor arguments of ``layer`` that differ from its class's defaults, the required ones first.

    Examples
    --------
    >>> from netfit.layers import Dense
    >>> layer_arguments(Dense(128, activation="relu", name="hidden"))
    {'units': 128, 'activation': 'relu'}
    """
    config = {k: v for k, v in layer.get_config().items() if k not in ("name", "input_shape")}
    required = {k: config[k] for k in _REQUIRED if k in config}
    try:
        defaults = type(layer)(**required).get_config()
    except (TypeError, ValueError):                   # a layer with other required arguments: keep them all
        defaults = {}
    return {**required, **{k: v for k, v in config.items() if k not in required and (k not in defaults or defaults[k] != v)}}


def architecture_of(model):
    """The model's layers as an editable JSON spec (netfit.architecture): names and default arguments left out."""
    spec = model_to_json(model)
    return {"input_shape": spec["input_shape"],
            "layers": [{"class_name": type(layer).__name__, "config": layer_arguments(layer)} for layer in model.layers]}


def _load(key, limit, test_limit, seed):
    """(x_train, y_train), (x_test, y_test), metadata for a DATASETS key, as ``netfit train`` loads it."""
    _, name, esl = DATASETS[key]
    (x, y), (xt, yt), meta = load_data(name, limit, test_limit)
    if esl:                                           # ESL's protocol: stratified draws (netfit esl's)
        rng = np.random.default_rng(seed)
        i, j = stratified_sample(y, min(esl[0], len(y)), rng), stratified_sample(yt, min(esl[1], len(yt)), rng)
        (x, y), (xt, yt) = (x[i], y[i]), (xt[j], yt[j])
    return (x, y), (xt, yt), meta


def _compile(model, s):
    """Compile as ``netfit train`` does (cli.cmd_train): same loss, optimizer class and arguments."""
    kwargs = {"weight_decay": s["weight_decay"], "learning_rate": s["lr"], "momentum": s["momentum"] or None}
    optimizer = type(optimizers.get(s["optimizer"]))(**{k: v for k, v in kwargs.items() if v is not None})
    model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy", metrics=["accuracy"])


#: The most weight (and optimizer-state) bytes an uploaded model may declare: far above any net the playground
#: trains (the lecture's MLP is 0.4 MB), far below what would strain the server (netfit.io.load_model's cap is 1 GiB).
MAX_UPLOAD_WEIGHT_BYTES = 256 << 20


class Session:
    """One playground: settings, data, the compiled model, and the views the page draws."""

    def __init__(self, settings=None, data_cache=None):
        self.settings = check_settings(settings or {})
        s = self.settings
        self._cache = {} if data_cache is None else data_cache
        key = (s["data"], s["limit"], s["test_limit"], s["seed"] if DATASETS[s["data"]][2] else None)
        if key not in self._cache:
            self._cache.clear()                       # one data set in memory at a time
            self._cache[key] = _load(s["data"], s["limit"], s["test_limit"], s["seed"])
        (x, y), (xt, yt), meta = self._cache[key]
        self.metadata = dict(meta)
        self.data_shape = x.shape[1:]
        if s["preset"] == "custom":                 # what `netfit train --model arch.json` builds
            self.model = build_architecture(s["architecture"], x.shape[1:], len(meta["class_names"]), s["seed"])
            self.model.name = "custom"
        else:
            self.model = build_model(s["preset"], x.shape[1:], len(meta["class_names"]), s["seed"])
            self.model.name = s["preset"]
        if not self.model.built:
            self.model.build()
        x, xt = fit_shape(x, self.model, "serve"), fit_shape(xt, self.model, "serve")
        self.mean, self.std = None, None
        if s["standardize"]:                          # per pixel, on the training set
            self.mean = x.mean(axis=0)
            self.std = np.where(x.std(axis=0) > 0, x.std(axis=0), 1).astype(x.dtype)
            x, xt = (x - self.mean) / self.std, (xt - self.mean) / self.std
        self.x, self.y, self.x_test, self.y_test = x, y, xt, yt
        if s["init_scale"] != 1.0:
            self.model.set_weights([w * s["init_scale"] for w in self.model.get_weights()])
        _compile(self.model, s)
        self.model.metadata = self.metadata

    # -- replacing the weights -----------------------------------------------------------------
    def load_weights_file(self, data, name=None):
        """Replace the model by one saved in ``data`` (netfit's safe loader); it must read this data's inputs.

        ``name``, the file's name on the user's machine, is how errors name it.
        """
        with scratch_file(data, ".netfit", repr(name) if name else "the uploaded file") as path:
            model = nf.load_model(path, max_bytes=MAX_UPLOAD_WEIGHT_BYTES)
        want = self.model.layers[0].input_shape
        got = model.layers[0].input_shape
        if tuple(got) != tuple(want):
            raise ValueError(f"upload: expected a model of input shape {tuple(want)} for the data "
                             f"{self.settings['data']!r}, got {tuple(got)}; pick the matching data first.")
        if model.output_shape[-1] != self.model.output_shape[-1]:
            raise ValueError(f"upload: expected a model with {self.model.output_shape[-1]} outputs, "
                             f"got {model.output_shape[-1]}.")
        # The playground trains on its own data and labels (integers) with its own settings, whatever loss the
        # file was saved with (the demo's model uses one-hot labels): compile it the playground's way.
        _compile(model, self.settings)
        model.metadata = self.metadata
        self.model = model

    def weights_file(self):
        """The model in netfit's safe format (io.save_model), as bytes."""
        with tempfile.TemporaryDirectory() as folder:
            path = os.path.join(folder, "model.netfit")
            self.model.save(path)
            with open(path, "rb") as handle:
                return handle.read()

    # -- views ---------------------------------------------------------------------------------
    def summary(self):
        """The summary table (with links) and one row per layer: name, type, output shape, weights, links."""
        rows = [{"name": layer.name, "type": type(layer).__name__, "output_shape": list(layer.output_shape),
                 "params": layer.count_params(), "links": layer.count_links()} for layer in self.model.layers]
        lines = []
        self.model.summary(print_fn=lines.append, links=True)
        return {"text": "\n".join(lines), "layers": rows, "params": self.model.count_params(),
                "architecture": architecture_of(self.model),
                "links": self.model.count_links(), "train_size": len(self.x), "test_size": len(self.x_test)}

    def preview(self, spec):
        """The summary table of an edited architecture, built for this data (nothing replaced)."""
        model = build_architecture(spec, self.data_shape, len(self.metadata["class_names"]), self.settings["seed"])
        lines = []
        model.summary(print_fn=lines.append, links=True)
        return {"text": "\n".join(lines), "params": model.count_params(), "links": model.count_links()}

    def _net_input(self, image):
        """An image in the data's scale -> the net's input (standardized when the knob is on)."""
        x = image.reshape((1,) + tuple(self.model.layers[0].input_shape)).astype(self.model.dtype)
        return x if self.mean is None else (x - self.mean) / self.std

    def look(self, image):
        """Probabilities and every layer's activations for one image (in the data's scale)."""
        a = self._net_input(image)
        layers = []
        for layer in self.model.layers:
            a = layer.forward(a, training=False)
            layers.append({"name": layer.name, "type": type(layer).__name__, "shape": list(a.shape[1:]),
                           "values": significant(a[0])})
        return {"proba": significant(a, 6), "layers": layers}

    def backprop(self, image, label):
        """One example's backward pass, layer by layer: δ at each layer's output and its weights' gradients.

        The same calls as a training step (``loss.gradient``, then each ``layer.backward``)
        on this one example, with the model in inference mode (Dropout passes δ through),
        so nothing of the run changes: the next step recomputes every gradient. The
        parameter gradients equal :meth:`~netfit.Sequential.loss_and_gradients` on (x, label)
        without the weight-decay term.
        """
        model, k = self.model, self.model.output_shape[-1]
        if isinstance(label, bool) or not isinstance(label, int) or not 0 <= label < k:
            raise ValueError(f"backprop: expected a label in 0..{k - 1}, got {label!r}.")
        a = self._net_input(image)
        # Records of this pass alone, with a gradient vector of their own: a fit running meanwhile keeps its own.
        calls = model._new_calls(np.zeros_like(model._theta))
        for i, call in enumerate(calls):
            call.need_input_grad = i > 0
        # The weights of one moment, between two steps of a fit running meanwhile; `steps` says which.
        with model._weights_lock.reading():
            steps = model.optimizer.iterations
            panels, a, fused = self._passes(model, calls, a, label)
        return {"loss": float(model.loss.value(a, np.array([label]))), "label": label, "fused": fused,
                "layers": panels, "steps": steps}

    def _passes(self, model, calls, a, label):
        """The forward pass, then the backward pass layer by layer, recorded for the page."""
        for layer, call in zip(model.layers, calls):
            a = layer.forward(a, False, call)
        y = np.array([label])
        fused = calls[-1].fused
        delta = model.loss.gradient(a, y, fused=fused)                   # δ at the output (at z when fused)
        panels = []
        for i in range(len(model.layers) - 1, -1, -1):
            layer = model.layers[i]
            kind = type(layer).__name__
            panel = {"name": layer.name, "type": kind, "shape": list(delta.shape[1:]), "at_z": fused and i == len(model.layers) - 1,
                     "delta": significant(delta[0], 6), "code": _code_line(type(layer).backward)}
            s = delta if kind == "Dropout" else layer.backward(delta, calls[i])   # s = ∂R/∂(input)
            grads = calls[i].grads
            panel["grads"] = [{"name": name, "shape": list(g.shape), "norm": float(np.linalg.norm(g)),
                               "max": float(np.abs(g).max()) if g.size else 0.0} for name, g in grads.items()]
            kernel = grads.get("kernel")
            if kernel is not None and kind == "Dense" and i <= 1 and len(self.x.shape) >= 3:   # ∂R/∂α as images
                panel["kernel_tiles"] = np.reshape(significant(kernel.T, 6), kernel.T.shape).tolist()
                panel["tile_shape"] = list(self.x.shape[1:3])
            panels.append(panel)
            delta = s
        return panels, a, fused

    def read_picture(self, data):
        """Bytes of a picture (the page's canvas as PNG) -> the input ``netfit predict`` would make of it.

        Errors name it "the drawing" (read_image reads files, like ``netfit predict``: a scratch copy).
        """
        shape = self.model.layers[0].input_shape
        meta = self.metadata
        with scratch_file(data, ".png", "the drawing") as path:
            return read_image(path, shape, meta.get("input_scale", [0.0, 1.0]), meta.get("digit_box", 20 / 28),
                              where="predict")

    def image_payload(self, image):
        """An image as the page draws it: rows of grey levels 0..255 and its shape."""
        lo, hi = self.metadata.get("input_scale", [0.0, 1.0])
        grey = np.clip((np.asarray(image, float) - lo) / (hi - lo) * 255, 0, 255)
        side = grey.reshape(-1).size
        h = self.x.shape[1] if self.x.ndim >= 3 else int(round(math.sqrt(side)))
        return {"shape": [h, side // h], "pixels": np.round(grey.reshape(-1)).astype(int).tolist()}

    def test_image(self, index):
        """Test example ``index`` in the data's scale (before standardisation), and its label."""
        if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < len(self.x_test):
            raise ValueError(f"example: expected an index in 0..{len(self.x_test) - 1}, got {index!r}.")
        x = self.x_test[index]
        if self.mean is not None:
            x = x * self.std + self.mean
        return x, int(self.y_test[index])

    def mistakes(self, order="confidence", count=9):
        """The test set's errors (the lecture's 3×3 grid), the confusion matrix and the accuracy.

        ``order``: "confidence" (the most confident mistakes first) or "index".
        """
        if order not in ("confidence", "index"):
            raise ValueError(f"mistakes: expected order 'confidence' or 'index', got {order!r}.")
        proba = self.model.predict(self.x_test).reshape(len(self.x_test), -1)
        predicted = proba.argmax(axis=1)
        k = proba.shape[1]
        matrix = np.bincount(self.y_test * k + predicted, minlength=k * k).reshape(k, k)
        wrong = np.flatnonzero(predicted != self.y_test)
        if order == "confidence":
            wrong = wrong[np.argsort(-proba[wrong, predicted[wrong]], kind="stable")]
        shown = []
        for i in wrong[:count]:
            image, label = self.test_image(int(i))
            shown.append({"index": int(i), "true": label, "predicted": int(predicted[i]),
                          "confidence": round(float(proba[i, predicted[i]]), 4), **self.image_payload(image)})
        return {"errors": len(wrong), "total": len(self.y_test), "accuracy": float(np.trace(matrix) / len(self.y_test)),
                "shown": shown, "confusion": matrix.tolist(), "class_names": self.metadata["class_names"]}

    def first_layer(self):
        """The first layer with a kernel, as images: one tile per unit (Dense) or filter (Conv2D)."""
        for layer in self.model.layers:
            kernel = layer.params.get("kernel") if hasattr(layer, "params") else None
            if kernel is None:
                continue
            kind = type(layer).__name__
            if kind == "Dense":                       # column m = unit m's weights α_m over the pixels
                shape = tuple(self.model.layers[0].input_shape)[:2]
                if len(shape) < 2:
                    shape = (1, shape[0])
                tiles = kernel.T.reshape(-1, *shape)
            elif kernel.ndim == 4:                    # Conv2D (kh, kw, c_in, f): filter f on channel 0
                tiles = kernel[:, :, 0, :].transpose(2, 0, 1)
            else:                                     # LocallyConnected2D (positions, kh·kw·c, f)
                kh, kw = layer.get_config()["kernel_size"]
                tiles = kernel[:, :kh * kw, 0].reshape(-1, kh, kw)
            tiles = tiles[:_MAX_SHOWN]
            return {"layer": layer.name, "type": kind, "tile_shape": list(tiles.shape[1:]), "count": len(tiles),
                    "scale": float(np.abs(tiles).max() or 1.0),
                    "tiles": np.reshape(significant(tiles), (len(tiles), -1)).tolist()}
        return {"layer": None, "type": None, "tile_shape": [0, 0], "count": 0, "scale": 1.0, "tiles": []}


def significant(values, digits=4):
    """``values`` flattened to a list of floats, each rounded to ``digits`` significant digits.

    What the page gets of activations and weights (4 digits: pictures), δ and gradients
    (6: the numbers of the lesson): a δ of 1.234e-05 stays 1.234e-05 (rounding to a fixed
    number of decimals made it 1e-05 or 0). Zeros, infinities and NaN pass unchanged.

    Examples
    --------
    >>> significant([1.23456e-05, -0.000987654, 123456.0, 0.0])
    [1.235e-05, -0.0009877, 123500.0, 0.0]
    """
    a = np.asarray(values, np.float64).ravel()
    with np.errstate(divide="ignore", invalid="ignore"):
        exponent = np.floor(np.log10(np.abs(a)))
    keep = digits - 1 - np.where(np.isfinite(exponent), exponent, 0)        # decimals to keep
    with np.errstate(invalid="ignore", over="ignore"):
        step = 10.0 ** np.abs(keep)
        # divide by an exact power of ten (not multiply by its inexact inverse): 1.235e-05, not 1.2350000000000001e-05
        out = np.where(keep >= 0, np.round(a * step) / step, np.round(a / step) * step)
    return np.where(np.isfinite(out), out, a).tolist()


def _code_line(function):
    """'netfit/layers/dense.py', first line of ``function`` (for the page's links to the code)."""
    path = os.path.relpath(inspect.getsourcefile(function), os.path.dirname(os.path.dirname(nf.__file__)))
    return {"path": path.replace(os.sep, "/"), "line": inspect.getsourcelines(function)[1]}
