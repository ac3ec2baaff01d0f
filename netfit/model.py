"""Sequential: a stack of layers trained by back-propagation, with Keras's names.

The training step is the lecture's algorithm, written out:

    forward   a = x;  a = layer.forward(a) for each layer        (z_m, then f_k)
    loss      δ = ∂R/∂f  (the batch mean is taken in the loss)    (δ_i)
    backward  δ = layer.backward(δ) for each layer, top down     (s_im, then lower)
    update    θ ← θ − γ_r · direction(∂R/∂θ)                      (optimizer)

All weights live in one flat vector θ (each layer's ``params`` are views into
it) and all gradients in one vector of the same layout, so the optimizer's
step is a few vector operations whatever the depth of the net.
"""
import contextlib
import numbers

import numpy as np

from . import callbacks as callbacks_mod
from . import layers as layers_mod
from . import losses, metrics as metrics_mod, optimizers
from .config import dtype as default_dtype
from .layers.base import ActivatedLayer, Layer, auto_name
from .utils import check_array, check_dtype, check_flag, check_positive_int, check_seed, check_verbose, new_seed


class Sequential:
    """A linear stack of layers: ``Sequential([Flatten(input_shape=(28, 28)), Dense(10)])``.

    Parameters
    ----------
    layers : list of Layer
    name : str
    seed : int, optional
        Seed of the initial weights, the shuffling and dropout. Drawn from
        :func:`netfit.utils.set_random_seed`'s source when omitted.
    dtype : "float32" or "float64", optional
        Float type of weights and computation; ``nf.config.floatx()`` when omitted.

    Examples
    --------
    >>> import netfit as nf
    >>> from netfit.layers import Dense
    >>> model = nf.Sequential([Dense(4, activation="tanh", input_shape=(3,)), Dense(1)], seed=0)
    >>> model.count_params()
    21
    """

    def __init__(self, layers=None, name="sequential", seed=None, dtype=None):
        if layers is not None and (isinstance(layers, (Layer, str)) or not hasattr(layers, "__iter__")):
            raise TypeError(f"Sequential: expected layers a list of netfit Layers, got {type(layers).__name__}; "
                            f"wrap a single layer in a list: Sequential([layer]).")
        if not isinstance(name, str):
            raise TypeError(f"Sequential: expected name a str, got {type(name).__name__}.")
        self.name = name
        self._requested_dtype = check_dtype(dtype, "Sequential")
        self.seed = check_seed(seed, "Sequential") if seed is not None else new_seed()
        self.layers = []
        self.built = self.compiled = False
        self.history = callbacks_mod.History()
        self.stop_training = False
        for layer in layers or []:
            self.add(layer)

    # -- structure ---------------------------------------------------------------------
    def add(self, layer):
        """Append a layer; the model is (re)built lazily."""
        if not isinstance(layer, Layer):
            raise TypeError(f"Sequential.add: expected a netfit Layer, got {type(layer).__name__}.")
        if layer in self.layers:
            raise ValueError(f"Sequential.add: layer {layer.display_name} is already in the model.")
        if layer.name is None:
            layer.name = auto_name(layer, {l.name for l in self.layers})
        elif layer.name in {l.name for l in self.layers}:
            raise ValueError(f"Sequential.add: a layer named {layer.name!r} is already in the model.")
        self.layers.append(layer)
        self.built = False

    def build(self, input_shape=None):
        """Build every layer, lay all weights out in one flat buffer, and initialize them."""
        if not self.layers:
            raise ValueError("Sequential.build: the model has no layers; add some first.")
        shape = input_shape if input_shape is not None else self.layers[0].input_shape
        if shape is None:
            raise ValueError("Sequential.build: the input shape is unknown; give the first layer "
                             "input_shape=(...), or call build(input_shape) or fit(x, y).")
        # A build that fails (a layer refuses the shape) leaves the layers as they were,
        # so that a call with the wrong data does not pin a wrong input shape.
        declared = [(layer.input_shape, layer.built) for layer in self.layers]
        try:
            for layer in self.layers:
                shape = layer._build(shape)
        except BaseException:
            _restore_shapes(self.layers, declared)
            raise
        self.dtype = self._requested_dtype or default_dtype()
        size = sum(layer.count_params() for layer in self.layers)
        self._theta = np.zeros(size, self.dtype)
        self._grad = np.zeros(size, self.dtype)
        self._slices, self._decay = [], []
        offset = 0
        rng = np.random.default_rng(self.seed)
        for layer in self.layers:
            k = layer.count_params()
            layer.attach(self._theta[offset:offset + k], self._grad[offset:offset + k])
            layer.initialize(rng)
            for spec in layer.specs:
                part = slice(offset, offset + spec.size)
                self._slices.append((part, spec.shape))
                if spec.decay:
                    self._decay.append(part)
                offset += spec.size
        # Layers below the lowest one with weights need no error signal at all.
        with_weights = [i for i, layer in enumerate(self.layers) if layer.specs]
        self._lowest_trained = with_weights[0] if with_weights else len(self.layers)
        self.built = True
        if self.compiled:
            self._bind_training()

    @property
    def input_shape(self):
        return (None,) + self.layers[0].input_shape if self.layers and self.layers[0].input_shape else None

    @property
    def output_shape(self):
        self._ensure_built()
        return (None,) + self.layers[-1].output_shape

    @property
    def weights(self):
        """Every weight array in layer order, kernel before bias (views, not copies)."""
        self._ensure_built()
        return [w for layer in self.layers for w in layer.weights]

    def get_weights(self):
        return [w.copy() for w in self.weights]

    def set_weights(self, weights):
        """Copy arrays (in ``get_weights()`` order and Keras shapes) into the model.

        Every array is checked (count, shape, numeric, finite) before any is
        copied, so a refused call leaves the weights as they were.
        """
        where = "Sequential.set_weights"
        current = self.weights
        if isinstance(weights, (str, bytes, np.ndarray)) or not isinstance(weights, (list, tuple)):
            raise TypeError(f"{where}: expected a list of {len(current)} arrays (as get_weights() returns), "
                            f"got {type(weights).__name__}.")
        if len(weights) != len(current):
            raise ValueError(f"{where}: expected {len(current)} arrays, got {len(weights)}.")
        checked = []
        for k, (w, new) in enumerate(zip(current, weights)):
            new = check_array(new, where, f"array {k}")
            if new.shape != w.shape:
                raise ValueError(f"{where}: expected array {k} of shape {w.shape}, got {new.shape}.")
            checked.append(new)
        for w, new in zip(current, checked):
            w[...] = new

    def count_params(self):
        self._ensure_built()
        return int(self._theta.size)

    def count_links(self):
        """Connections, counting a shared weight once per use (ESL Table 11.1's "links")."""
        self._ensure_built()
        return sum(layer.count_links() for layer in self.layers)

    # -- compile ---------------------------------------------------------------------------
    def compile(self, optimizer="adam", loss=None, metrics=None):
        """Choose the optimizer, the loss R and the metrics to report.

        Examples
        --------
        >>> import netfit as nf
        >>> from netfit.layers import Dense
        >>> model = nf.Sequential([Dense(3, activation="softmax", input_shape=(2,))])
        >>> model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        """
        if loss is None:
            raise ValueError("Sequential.compile: expected a loss, e.g. loss='categorical_crossentropy' "
                             "(classification) or loss='mse' (regression).")
        # Everything is resolved before anything is replaced: a refused compile keeps the old one.
        loss = losses.get(loss)
        optimizer = optimizers.get(optimizer)
        if metrics is not None and (isinstance(metrics, (str, dict)) or not hasattr(metrics, "__iter__")):
            raise TypeError(f"Sequential.compile: expected metrics a list of names, got {metrics!r}.")
        metrics = [metrics_mod.get(m, loss) for m in (metrics or [])]
        self.loss, self.optimizer, self.metrics = loss, optimizer, metrics
        self.compiled = True
        if self.built:
            self._bind_training()

    def _bind_training(self):
        last = self.layers[-1]
        self._fused = isinstance(last, ActivatedLayer) and last.activation.name == self.loss.fuses_with
        for layer in self.layers:
            if isinstance(layer, ActivatedLayer):
                layer.fused_output = self._fused and layer is last
        self.optimizer.build(self._theta, self._decay)
        self._theta_good = self._theta.copy()

    # -- the training step -----------------------------------------------------------------
    def _forward(self, a, training):
        for layer in self.layers:
            a = layer.forward(a, training=training)
        return a

    def _loss_value(self, y_pred, y):
        logits = self.layers[-1]._z if self._fused else None
        return self.loss.value(y_pred, y, logits) + self.optimizer.penalty(self._theta)

    def _backward(self, y_pred, y):
        delta = self.loss.gradient(y_pred, y, fused=self._fused)       # δ at the output
        for i in range(len(self.layers) - 1, self._lowest_trained - 1, -1):
            delta = self.layers[i].backward(delta, need_input_grad=i > self._lowest_trained)

    def loss_and_gradients(self, x, y, gradients=True, training=False):
        """Return ``(R, [∂R/∂w for w in get_weights()])`` on the whole of (x, y).

        R includes the weight-decay penalty, and the gradients its 2λw.
        """
        where = "Sequential.loss_and_gradients"
        self._ensure_compiled("loss_and_gradients")
        check_flag(gradients, where, "gradients")
        check_flag(training, where, "training")
        with self._unbuilt_if_refused():
            x, y = self._check_xy(x, y, where)
        xb = np.asarray(x, self.dtype)
        y_pred = self._forward(xb, training)
        loss = self._loss_value(y_pred, y)
        if not gradients:
            return loss, None
        self._grad[...] = 0
        self._backward(y_pred, y)
        flat = self._grad.copy()
        self.optimizer.add_penalty_gradient(self._theta, flat)
        return loss, [flat[part].reshape(shape) for part, shape in self._slices]

    # -- fit -----------------------------------------------------------------------------
    def fit(self, x, y, batch_size=32, epochs=1, verbose=1, callbacks=None, validation_split=0.0,
            validation_data=None, shuffle=True, initial_epoch=0):
        """Train for ``epochs`` passes over (x, y) in shuffled mini-batches.

        ``batch_size=None`` (or n) is full-batch gradient descent, the lecture's
        sum over all N examples. Ctrl-C stops cleanly after restoring the last
        consistent weights; the history so far is returned with
        ``history.interrupted = True``. A loss that becomes NaN or infinite stops
        training with a warning and the last weights that gave a finite loss.

        Returns
        -------
        History
            ``history.history`` maps "loss", each metric, and their "val_" forms
            to per-epoch values.
        """
        from .training import run_fit
        where = "Sequential.fit"
        check_flag(shuffle, where, "shuffle")
        callbacks_mod.check_callbacks(callbacks, self, where, validation=validation_data is not None or (
            isinstance(validation_split, numbers.Real) and validation_split > 0))
        # Full-batch optimizers (netfit.lbfgs.LBFGS) drive their own loop, not the mini-batch one.
        fit_model = getattr(getattr(self, "optimizer", None), "fit_model", None)
        with self._unbuilt_if_refused():
            if fit_model is not None:
                return fit_model(self, x, y, batch_size=batch_size, epochs=epochs, verbose=verbose,
                                 callbacks=callbacks, validation_split=validation_split,
                                 validation_data=validation_data, shuffle=shuffle, initial_epoch=initial_epoch)
            return run_fit(self, x, y, batch_size=batch_size, epochs=epochs, verbose=verbose, callbacks=callbacks,
                           validation_split=validation_split, validation_data=validation_data,
                           shuffle=shuffle, initial_epoch=initial_epoch)

    # -- evaluate and predict --------------------------------------------------------------
    def evaluate(self, x, y, batch_size=None, verbose=0, return_dict=False):
        """Return the loss, then each metric (a list), on (x, y), streamed in batches."""
        where = "Sequential.evaluate"
        self._ensure_compiled("evaluate")
        check_flag(return_dict, where, "return_dict")
        check_verbose(verbose, where)
        with self._unbuilt_if_refused():
            x, y = self._check_xy(x, y, where)
            values = self._evaluate_arrays(x, y, _batch_size(batch_size, where))
        if verbose:
            print(" - ".join(f"{k}: {v:.4f}" for k, v in values.items()))
        if return_dict:
            return values
        return list(values.values()) if self.metrics else values["loss"]

    def _evaluate_arrays(self, x, y, batch_size):
        n = x.shape[0]
        total = 0.0
        metrics = [metric.fresh() for _, metric in self.metrics]    # streamed: exact over all of x (metrics.py)
        for start in range(0, n, batch_size):
            stop = min(start + batch_size, n)
            y_pred = self._forward(np.asarray(x[start:stop], self.dtype), False)
            yb = y[start:stop]
            total += self.loss.value(y_pred, yb, self.layers[-1]._z if self._fused else None) * (stop - start)
            for metric in metrics:
                metric.update_state(yb, y_pred)
        values = {"loss": float(total / n + self.optimizer.penalty(self._theta))}
        values.update((name, float(metric.result())) for (name, _), metric in zip(self.metrics, metrics))
        return values

    def predict(self, x, batch_size=None, verbose=0):
        """Return the network's outputs f(x) for every row of x, computed in batches.

        Shapes
        ------
        x : (n, *input_shape)  ->  (n, *output_shape)
        """
        check_verbose(verbose, "Sequential.predict")
        batch_size = _batch_size(batch_size, "Sequential.predict")
        x = self._check_x(x, "Sequential.predict")
        out = np.empty((x.shape[0],) + self.layers[-1].output_shape, self.dtype)
        for start in range(0, x.shape[0], batch_size):
            stop = min(start + batch_size, x.shape[0])
            out[start:stop] = self._forward(np.asarray(x[start:stop], self.dtype), False)
        return out

    def predict_classes(self, x, batch_size=None, verbose=0):
        """Return the predicted class of each row: argmax of the outputs, or p > 0.5 for one output."""
        proba = self.predict(x, batch_size, verbose)
        if proba.ndim == 2 and proba.shape[1] == 1:
            return (proba[:, 0] > 0.5).astype(np.int64)
        return proba.argmax(axis=-1)

    # -- description -----------------------------------------------------------------------
    def summary(self, print_fn=print, links=False):
        """Print a Keras-style table: layer (type), output shape, parameters (and links)."""
        from .summary import format_summary
        print_fn(format_summary(self, links=links))

    def get_config(self):
        self._ensure_built()
        return {"name": self.name, "seed": self.seed, "dtype": self.dtype.name,
                "input_shape": list(self.layers[0].input_shape),
                "layers": [{"class_name": type(l).__name__, "config": l.get_config()} for l in self.layers]}

    @classmethod
    def from_config(cls, config):
        """Rebuild an (unbuilt weights, freshly initialized) model from :meth:`get_config`."""
        model = cls([layers_mod.get(spec["class_name"]).from_config(dict(spec["config"]))
                     for spec in config["layers"]], name=config.get("name", "sequential"),
                    seed=config.get("seed"), dtype=config.get("dtype"))
        model.build(tuple(config["input_shape"]))
        return model

    def save(self, path, _epoch=None):
        """Save architecture, weights, optimizer state and history to one file (see :mod:`netfit.io`)."""
        from .io import save_model
        save_model(self, path, epoch=_epoch)

    # -- checks ------------------------------------------------------------------------------
    def _ensure_built(self, shape=None):
        if not self.built:
            self.build(shape)

    def _ensure_compiled(self, where):
        if not self.compiled:
            raise RuntimeError(f"Sequential.{where}: the model is not compiled; call "
                               f"model.compile(optimizer=..., loss=...) first.")

    @contextlib.contextmanager
    def _unbuilt_if_refused(self):
        """A call refused before any step leaves an unbuilt model unbuilt, not pinned to its x's shape."""
        if self.built:
            yield
            return
        declared = [(layer.input_shape, layer.built) for layer in self.layers]
        steps = getattr(getattr(self, "optimizer", None), "iterations", None)
        try:
            yield
        except (ValueError, TypeError):
            if self.built and self.optimizer.iterations == steps:     # after a step, trained weights stay
                _restore_shapes(self.layers, declared)
                self.built = False
            raise

    def _check_x(self, x, where):
        x = check_array(x, where, "x", fits=self.dtype if self.built else (self._requested_dtype or default_dtype()))
        if not self.layers:
            raise ValueError(f"{where}: the model has no layers; add some first.")
        if not self.built:
            self.build(self.layers[0].input_shape or x.shape[1:])
        expected = self.layers[0].input_shape
        if x.shape[1:] != expected:
            hint = ""
            if x.shape == expected:
                hint = " For one example, add the batch axis: x[None] or x.reshape(1, *x.shape)."
            elif x.ndim > 1 and np.prod(x.shape[1:]) == np.prod(expected):
                hint = f" Reshape it: x.reshape(len(x), {', '.join(map(str, expected))})."
            raise ValueError(f"{where}: expected x of shape (n, {', '.join(map(str, expected))}), "
                             f"got array of shape {x.shape}.{hint}")
        return x

    def _check_xy(self, x, y, where):
        x = self._check_x(x, where)
        y = self.loss.validate(y, self.layers[-1].output_shape, where)
        if len(y) != len(x):
            raise ValueError(f"{where}: x and y have different numbers of examples: {len(x)} and {len(y)}.")
        if not self.loss.integer_targets:
            # Targets enter δ = ∂R/∂f: in another float type they would upcast every backward pass.
            y = y.astype(self.dtype, copy=False)
        return x, y


def _batch_size(batch_size, where, default=256):
    return default if batch_size is None else check_positive_int(batch_size, where, "batch_size")


def _restore_shapes(layers, declared):
    for layer, (shape, built) in zip(layers, declared):
        layer.input_shape, layer.built = shape, built
