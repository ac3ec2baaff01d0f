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
import json
import numbers
import threading

import numpy as np

from . import backend
from . import callbacks as callbacks_mod
from . import layers as layers_mod
from . import losses, metrics as metrics_mod, optimizers, precision, weights_file
from .advice import check_batch_statistics
from .compatibility import check_output
from .concurrency import TrainingGuard, WeightsLock, training_call
from .config import dtype as default_dtype
from .inference import Inference
from .keras_args import refuse
from .layers._patches import channels_last, check_image_layout
from .layers.base import ActivatedLayer, Layer, auto_name
from .layers.input import Input
from .saving import save_model
from .stack import LayerStack
from .streams import is_stream
from .summary import format_summary
from .training import run_fit, train_on_batch
from .utils import (check_array, check_dtype, check_flag, check_positive_int, check_seed, example_weights,
                    new_seed)

#: Keras's compile arguments netfit lacks: accepted where they change nothing, else refused (keras_args).
_KERAS_COMPILE = ("loss_weights", "weighted_metrics", "run_eagerly", "steps_per_execution", "jit_compile",
                  "auto_scale_loss")


class Sequential(LayerStack, Inference):
    """A linear stack of layers: ``Sequential([Input(shape=(28, 28)), Flatten(), Dense(10)])``.

    Parameters
    ----------
    layers : list of Layer
        Optionally led by :class:`netfit.Input` (Keras 3's way to give the input
        shape; the same as the first layer's ``input_shape=``).
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
        self._input = None                         # an Input(shape=...) given before the first layer
        self._device = backend.current_device()    # nf.device / set_device's, or later model.to(...)'s
        self._placed = backend.get_device("cpu")   # where θ lives now
        self.built = self.compiled = False
        self.history = callbacks_mod.History()
        self.stop_training = False
        # One model, many threads (netfit.concurrency): steps write θ, inference batches read it.
        self._weights_lock, self._training, self._building = WeightsLock(), TrainingGuard(), threading.RLock()
        for layer in layers or []:
            self.add(layer)

    # -- structure ---------------------------------------------------------------------
    def add(self, layer):
        """Append a layer; an ``Input(shape=...)`` may come first.

        An unbuilt model is built lazily (at ``fit``, ``predict``, ``build``). On a built
        model the new layer is built at once and the layers below keep their weights
        (Keras 3); a layer that does not fit the output shape below is refused, the
        model unchanged. The new layer gets the weights a fresh model of the whole
        stack would draw with the same seed. A compiled model stays compiled; its
        optimizer state starts afresh (θ is laid out anew), as after :meth:`pop`.
        """
        if isinstance(layer, Input):
            self._add_input(layer)
            return
        if not isinstance(layer, Layer):
            raise TypeError(f"Sequential.add: expected a netfit Layer, got {type(layer).__name__}.")
        if layer in self.layers:
            raise ValueError(f"Sequential.add: layer {layer.display_name} is already in the model.")
        if layer.name is None:
            layer.name = auto_name(layer, {l.name for l in self.layers})
        elif layer.name in {l.name for l in self.layers}:
            raise ValueError(f"Sequential.add: a layer named {layer.name!r} is already in the model.")
        if self._input is not None and not self.layers:
            if layer.input_shape not in (None, self._input.shape):
                raise ValueError(f"Sequential.add: {layer.display_name} declares input_shape={layer.input_shape}, "
                                 f"but the model's Input has shape {self._input.shape}; give one of the two.")
            layer.input_shape = self._input.shape
        self.layers.append(layer)
        if self.built:                   # Keras 3: built at once, the layers below keep their weights
            try:
                self._rebuild(self.layers[:-1])
            except BaseException:
                self.layers.pop()        # a layer that does not fit is refused; the model stays as it was
                self.built = True
                raise

    def _add_input(self, spec):
        if self.layers or self._input is not None:
            raise ValueError(f"Sequential.add: {spec!r} must come first, before any layer, and only once; "
                             f"the model's input shape is already "
                             f"{self._input.shape if self._input is not None else self.layers[0].input_shape}.")
        self._input = spec
        if self._requested_dtype is None:
            self._requested_dtype = spec.dtype

    def build(self, input_shape=None):
        """Build every layer, lay all weights out in one flat buffer, and initialize them.

        ``input_shape`` is one example's shape, ``(4,)``, or Keras's form with the batch
        axis first, ``(None, 4)``, which is read the same way.
        """
        if not self.layers:
            raise ValueError("Sequential.build: the model has no layers; add some first.")
        if isinstance(input_shape, (tuple, list)) and len(input_shape) > 1 and input_shape[0] is None:
            input_shape = tuple(input_shape[1:])          # Keras's (batch, *shape): the batch axis is any size
        shape = input_shape if input_shape is not None else self.layers[0].input_shape
        if shape is None:
            raise ValueError("Sequential.build: the input shape is unknown; give the first layer "
                             "input_shape=(...), or call build(input_shape) or fit(x, y).")
        # A build that fails (a layer refuses the shape) leaves the layers as they were,
        # so that a call with the wrong data does not pin a wrong input shape.
        check_image_layout(self.layers, tuple(shape))               # (3, 32, 32) into a Conv2D: channels-first
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
        self._slices, self._decay, self._layer_parts, self._offsets = [], [], [], []
        offset = 0
        rng = np.random.default_rng(self.seed)
        for layer in self.layers:
            k = layer.count_params()
            self._offsets.append(offset)
            if k:
                self._layer_parts.append((layer, slice(offset, offset + k)))     # each layer's part of θ
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
        self._placed = backend.get_device("cpu")
        device = backend.get_device(self._device, "Sequential.build")
        if device.kind != "cpu":
            backend.place(self, device, "Sequential.build")      # drawn on the host, uploaded once
        self.built = True
        self._reset_records()
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
        """Copies of the weights (``weights`` order), all of one moment: between two steps of a running fit."""
        with self._weights_lock.reading():
            return [backend.to_host(w).copy() for w in self.weights]

    def to(self, device):
        """Move the model (weights, optimizer state) to ``device``, "cpu", "gpu" or "gpu:N"; return the model.

        PyTorch's ``module.to``. An unbuilt model is built there later. Inputs and
        outputs stay NumPy arrays (``fit`` uploads x and y once, ``predict`` returns
        host arrays); see docs/gpu.md.

        Raises
        ------
        ValueError
            An unknown device name (None too), or a layer or optimizer without GPU code yet.
        RuntimeError
            "gpu" without CuPy installed, or without a CUDA device.
        """
        if device is None:      # PyTorch's module.to(None) moves nothing; here it is refused, with the names
            backend.parse_device(device, "Sequential.to")
        device = backend.get_device(device, "Sequential.to")
        if self.built:
            backend.place(self, device)
        else:                                   # refused now, not at build: the layers and optimizer are known
            backend.check_supported(self.layers, self.optimizer if self.compiled else None, device, "Sequential.to")
        self._device = device.name
        return self

    @property
    def device(self):
        """Where the weights live ("cpu", "gpu:0"); before build, where they will."""
        return self._placed.name if self.built else self._device

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
        with self._weights_lock.writing():               # never in the middle of a step or a prediction's batch
            for w, new in zip(current, checked):
                w[...] = backend.to_device(new, w)

    def count_params(self):
        self._ensure_built()
        return int(self._theta.size)

    def count_links(self):
        """Connections, counting a shared weight once per use (ESL Table 11.1's "links")."""
        self._ensure_built()
        return sum(layer.count_links() for layer in self.layers)

    # -- compile ---------------------------------------------------------------------------
    def compile(self, optimizer="adam", loss=None, metrics=None, **keras):
        """Choose the optimizer, the loss R and the metrics to report.

        Keras's other arguments (``run_eagerly``, ``jit_compile``, ``loss_weights``, ...)
        are accepted where they change nothing here and refused otherwise, with the
        replacement (:mod:`netfit.keras_args`).

        The last layer's activation must fit the loss (docs/reliability.md has the
        table): a cross-entropy needs softmax (categorical) or sigmoid (binary)
        outputs, or a linear last layer with ``from_logits=True``, e.g.
        ``loss=nf.losses.CategoricalCrossentropy(from_logits=True)``. Pairs that
        cannot train are refused here with the fix; odd ones warn.

        Raises
        ------
        ValueError
            Unknown loss, optimizer or metric; an output layer that does not fit the loss or metric.

        Examples
        --------
        >>> import netfit as nf
        >>> from netfit.layers import Dense
        >>> model = nf.Sequential([Dense(3, activation="softmax", input_shape=(2,))])
        >>> model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        """
        refuse("Sequential.compile", keras, _KERAS_COMPILE, ("optimizer", "loss", "metrics"))
        if loss is None:
            raise ValueError("Sequential.compile: expected a loss, e.g. loss='categorical_crossentropy' "
                             "(classification) or loss='mse' (regression).")
        # Everything is resolved before anything is replaced: a refused compile keeps the old one.
        loss = losses.get(loss)
        optimizer = optimizers.get(optimizer)
        if metrics is not None and (isinstance(metrics, (str, dict)) or not hasattr(metrics, "__iter__")):
            raise TypeError(f"Sequential.compile: expected metrics a list of names, got {metrics!r}.")
        metrics = [metrics_mod.get(m, loss) for m in (metrics or [])]
        check_output(self.layers, loss, [name for name, _ in metrics], "Sequential.compile")
        backend.check_supported(self.layers, optimizer, self._placed if self.built else
                                backend.get_device(self._device, "Sequential.compile"), "Sequential.compile")
        self.loss, self.optimizer, self.metrics = loss, optimizer, metrics
        self.compiled = True
        if self.built:
            self._bind_training()

    def _bind_training(self):
        last = self.layers[-1]
        self._fused = isinstance(last, ActivatedLayer) and last.activation.name == self.loss.fuses_with
        self._calls = self._new_calls()
        self.optimizer.build(self._theta, self._decay)
        self._theta_good = self._theta.copy()

    # -- copies and pickles ----------------------------------------------------------------
    def __getstate__(self):
        """Everything but the locks and the records of calls (made anew on the other side)."""
        state = self.__dict__.copy()
        for name in ("_weights_lock", "_training", "_building", "_spare_calls", "_calls"):
            state.pop(name, None)
        return state

    def __setstate__(self, state):
        """A copy's layers view the copy's θ: ``copy.deepcopy`` and pickle copy every view on its own."""
        self.__dict__.update(state)
        self._weights_lock, self._training, self._building = WeightsLock(), TrainingGuard(), threading.RLock()
        if self.built:
            for layer, offset in zip(self.layers, self._offsets):
                k = layer.count_params()
                layer.attach(self._theta[offset:offset + k], self._grad[offset:offset + k])
            self._reset_records()

    # -- records of calls (netfit.layers.base.Call) ----------------------------------------
    def _new_calls(self, grad=None, training=True):
        """One record per layer for one thread's passes; backward writes ∂R/∂θ into ``grad``.

        ``grad``: a vector of θ's layout, the model's own ``_grad`` by default (fit's
        share s ≥ 1 brings its own, :mod:`netfit.replicas`). The first layer with
        weights computes no s; with ``training`` and a fused loss the last layer skips σ'.
        """
        grad = self._grad if grad is None else grad
        calls = [layer.new_call(layer.views(grad[offset:offset + layer.count_params()]),
                                need_input_grad=i > self._lowest_trained)
                 for i, (layer, offset) in enumerate(zip(self.layers, self._offsets))]
        calls[-1].fused = training and getattr(self, "_fused", False)
        return calls

    def _reset_records(self):
        """θ was laid out anew (build, a move to another device): records made for the old layout go."""
        self._spare_calls = []              # inference's records, reused by one call at a time (netfit.inference)
        if self.compiled:
            self._calls = self._new_calls()

    # -- the training step -----------------------------------------------------------------
    def _forward(self, a, training, calls):
        """a through every layer, each call keeping what its backward needs in its record ``calls[i]``."""
        for layer, call in zip(self.layers, calls):
            a = layer.forward(a, training, call)
        return a

    def _loss_value(self, y_pred, y, sample_weight, calls):
        return self._data_loss(y_pred, y, sample_weight, calls) + self.optimizer.penalty(self._theta)

    def _data_loss(self, y_pred, y, sample_weight, calls):
        """R without the penalty: the batch mean, or (1/n) Σ_i w_i ℓ_i with sample weights.

        ``calls``: the records of the pass that computed ``y_pred`` (the last one holds the logits z).
        """
        logits = calls[-1].z if self._fused else None
        if sample_weight is None:
            return self.loss.value(y_pred, y, logits)
        return self.loss.weighted_value(y_pred, y, sample_weight, logits)

    def _backward(self, y_pred, y, sample_weight, calls):
        self._backprop(calls, self._output_error(y_pred, y, sample_weight))
        self._zero_frozen(self._grad)

    def _output_error(self, y_pred, y, sample_weight=None):
        """δ at the output (at z when the loss is fused with the last activation)."""
        if sample_weight is None:
            return self.loss.gradient(y_pred, y, fused=self._fused)
        return self.loss.weighted_gradient(y_pred, y, sample_weight, fused=self._fused)  # δ_i ← w_i δ_i

    def _backprop(self, calls, delta):
        """δ down through the layers, top down, each writing its gradients where its record ``calls[i]`` says."""
        for i in range(len(self.layers) - 1, self._lowest_trained - 1, -1):
            delta = self.layers[i].backward(delta, calls[i])

    def _frozen_slices(self):
        """Slices of θ that belong to layers with ``trainable = False`` (read at every step)."""
        return [part for layer, part in self._layer_parts if not layer._trainable]

    def _zero_frozen(self, grad):
        for part in self._frozen_slices():
            grad[part] = 0                                             # ∂R/∂θ of a frozen layer: not used

    def _apply_step(self):
        """One optimizer step on θ; the weights of frozen layers are put back exactly as they were.

        Their gradients are already zero, but momentum would still move them; their kernels'
        2λw is left out of the step (so clipnorm measures the trained weights' gradient only).
        """
        frozen = self._frozen_slices()
        if not frozen:
            self.optimizer.step(self._theta, self._grad)
            return
        kept = [self._theta[part].copy() for part in frozen]
        decay = self.optimizer.decay_slices
        self.optimizer.decay_slices = [s for s in decay if not any(f.start <= s.start < f.stop for f in frozen)]
        try:
            self.optimizer.step(self._theta, self._grad)
        finally:
            self.optimizer.decay_slices = decay
            for part, value in zip(frozen, kept):
                self._theta[part] = value

    @training_call("Sequential.loss_and_gradients")
    def loss_and_gradients(self, x, y, gradients=True, training=False, sample_weight=None):
        """Return ``(R, [∂R/∂w for w in get_weights()])`` on the whole of (x, y).

        R includes the weight-decay penalty, and the gradients its 2λw. With
        ``sample_weight`` (n,), R = (1/n) Σ_i w_i ℓ_i + λ Σ w², as in ``fit``.
        Weights of layers with ``trainable = False`` get zero gradients.
        """
        where = "Sequential.loss_and_gradients"
        self._ensure_compiled("loss_and_gradients")
        check_flag(gradients, where, "gradients")
        check_flag(training, where, "training")
        with self._unbuilt_if_refused():
            x, y = self._check_xy(x, y, where)
            w = self._example_weights(y, sample_weight, None, where)        # as fit and evaluate check them
            if training:                     # a BatchNormalization over one value per statistic: refused
                check_batch_statistics(self, len(x), len(x), where)
        xb = backend.to_device(np.asarray(x, self._input_dtype(x.dtype)), self._theta)
        y, w = backend.to_device(y, self._theta), backend.to_device(w, self._theta)
        calls = self._calls
        y_pred = self._forward(xb, training, calls)
        loss = float(self._loss_value(y_pred, y, w, calls))
        if not gradients:
            return loss, None
        self._grad[...] = 0
        self._backward(y_pred, y, w, calls)
        flat = self._grad.copy()
        self.optimizer.add_penalty_gradient(self._theta, flat)
        self._zero_frozen(flat)
        return loss, [backend.to_host(flat[part].reshape(shape)) for part, shape in self._slices]

    # -- fit -----------------------------------------------------------------------------
    @training_call("Sequential.fit")
    def fit(self, x, y=None, batch_size=32, epochs=1, verbose=1, callbacks=None, validation_split=0.0,
            validation_data=None, shuffle=True, initial_epoch=0, steps_per_epoch=None, validation_steps=None,
            sample_weight=None, class_weight=None, validation_batch_size=None, validation_freq=1):
        """Train for ``epochs`` passes over (x, y) in shuffled mini-batches.

        ``x`` may instead be a generator or a Sequence of ``(x_k, y_k)`` batches
        (:mod:`netfit.streams`; ``y`` stays None, ``batch_size`` is the stream's):
        ``steps_per_epoch`` batches make an epoch (required for a generator,
        ``len(x)`` for a Sequence), and ``validation_data`` may be one too, read
        for ``validation_steps`` batches.

        ``batch_size=None`` (or n) is full-batch gradient descent, the lecture's
        sum over all N examples. Ctrl-C stops cleanly after restoring the last
        consistent weights; the history so far is returned with
        ``history.interrupted = True``. A loss that becomes NaN or infinite stops
        training with a warning and the last weights that gave a finite loss.

        ``validation_split=v`` holds out the *last* v·n rows of (x, y), taken
        before any shuffling (Keras's rule): sort-ordered data (all of class 9
        at the end) then validates on classes the training rows lack, which
        ``fit`` warns about; shuffle such data first. ``validation_data`` is
        ``(x_val, y_val)`` or ``(x_val, y_val, sample_weight_val)``; ``class_weight``
        weights the training rows only (Keras), so ``val_loss`` is weighted by the
        sample weights alone, also with ``validation_split``.

        ``sample_weight`` (n,) and ``class_weight`` ({class index: weight}) give
        example i the weight w_i (their product when both are given): the loss
        is (1/n) Σ_i w_i ℓ_i over each batch of n (Keras's "sum_over_batch_size"),
        so each δ_i is scaled by w_i. The metrics stay unweighted (as Keras's
        ``metrics``; it has ``weighted_metrics`` for weighted ones).

        ``validation_batch_size`` (Keras's; 256 when None) sets how many validation rows
        are evaluated at a time, which changes memory, not the values. Keras's
        ``validation_freq`` is refused unless 1 (every epoch), with the replacement.

        Returns
        -------
        History
            ``history.history`` maps "loss", each metric, and their "val_" forms
            to per-epoch values.
        """
        where = "Sequential.fit"
        check_flag(shuffle, where, "shuffle")
        refuse(where, {"validation_freq": validation_freq}, ("validation_freq",))
        validation_batch_size = check_positive_int(validation_batch_size, where, "validation_batch_size",
                                                   allow_none=True)
        callbacks_mod.check_callbacks(callbacks, self, where, validation=validation_data is not None or (
            isinstance(validation_split, numbers.Real) and validation_split > 0))
        # Full-batch optimizers (netfit.lbfgs.LBFGS) drive their own loop, not the mini-batch one.
        fit_model = getattr(getattr(self, "optimizer", None), "fit_model", None)
        with self._unbuilt_if_refused():
            streamed = (is_stream(x) or steps_per_epoch is not None or validation_steps is not None
                        or is_stream(validation_data))
            if fit_model is not None and streamed:
                raise ValueError(f"{where}: {type(self.optimizer).__name__} needs the whole data set as arrays "
                                 f"(every iteration sees all examples); pass x and y, not a generator.")
            if is_stream(x) and (sample_weight is not None or class_weight is not None):   # arrays x: any validation
                raise ValueError(f"{where}: sample_weight and class_weight apply to arrays x and y; with a "
                                 f"generator or Sequence, fit on arrays instead, or weight the examples inside "
                                 f"the batches you yield.")
            weights = {"sample_weight": sample_weight, "class_weight": class_weight}
            if fit_model is not None:
                return fit_model(self, x, y, batch_size=batch_size, epochs=epochs, verbose=verbose,
                                 callbacks=callbacks, validation_split=validation_split,
                                 validation_data=validation_data, shuffle=shuffle, initial_epoch=initial_epoch,
                                 **weights)
            return run_fit(self, x, y, batch_size=batch_size, epochs=epochs, verbose=verbose, callbacks=callbacks,
                           validation_split=validation_split, validation_data=validation_data,
                           shuffle=shuffle, initial_epoch=initial_epoch, steps_per_epoch=steps_per_epoch,
                           validation_steps=validation_steps, validation_batch_size=validation_batch_size, **weights)

    def _example_weights(self, y, sample_weight, class_weight, where):
        """Per-example weights w (n,) in the model's float type, or None (:func:`netfit.utils.example_weights`)."""
        return example_weights(y, sample_weight, class_weight, self.loss, where, self.dtype)

    @training_call("Sequential.train_on_batch")
    def train_on_batch(self, x, y, return_dict=False, sample_weight=None, class_weight=None):
        """Take one optimizer step on the batch (x, y); return its loss (and metrics) before the step.

        Keras's return value: the loss, or ``[loss, *metrics]`` when compiled with
        metrics, or a dict with ``return_dict=True``. ``sample_weight`` and
        ``class_weight`` weight the loss as in :meth:`fit`. Differs from Keras 3: the
        metrics are this batch's, not a running value since ``reset_metrics``, and
        the weights are keyword arguments (Keras's third positional one is ``sample_weight``).
        """
        return train_on_batch(self, x, y, return_dict, sample_weight, class_weight)

    # -- description -----------------------------------------------------------------------
    def summary(self, print_fn=print, links=False):
        """Print a Keras-style table: layer (type), output shape, parameters (and links)."""
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
        """Save architecture, weights, optimizer state and history to one file (format: :mod:`netfit.saving`;
        read it back with :func:`netfit.load_model`). A name without ``.netfit`` is refused with the
        name to use, as Keras 3 refuses one without ``.keras``; Keras's .h5 and .keras names too."""
        with self._weights_lock.reading():         # weights and optimizer state of one moment
            save_model(self, path, epoch=_epoch)

    def save_weights(self, filepath, overwrite=True):
        """Write the weights alone to ``NAME.weights.npz`` (Keras 3: ``NAME.weights.h5``); :mod:`netfit.weights_file`."""
        weights_file.save_weights(self, filepath, overwrite)

    def load_weights(self, filepath, skip_mismatch=False):
        """Read weights written by :meth:`save_weights`; another stack, shape or dtype is refused, weights unchanged.

        Keras's ``skip_mismatch=True`` is not offered (:mod:`netfit.weights_file`).
        """
        if skip_mismatch is not False:
            raise ValueError(f"Sequential.load_weights: expected skip_mismatch=False, got {skip_mismatch!r}; netfit "
                             f"loads all weights or none. Copy single layers with layer.set_weights instead.")
        weights_file.load_weights(self, filepath)

    def to_json(self, **kwargs):
        """:meth:`get_config` as a JSON string (``kwargs`` go to ``json.dumps``); ``nf.models.model_from_json`` reads it."""
        return json.dumps(self.get_config(), **kwargs)

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
        if not self.built and self.layers[0].input_shape is None and x.ndim == 1:
            # Without an input_shape a 1-D x would build layers for examples of shape (): say what to do.
            raise ValueError(f"{where}: expected x of shape (n, features), got a 1-D array of shape {x.shape}; "
                             f"for one feature per example use `x = x.reshape(-1, 1)`, for one example with "
                             f"{x.shape[0]} features use `x = x[None]`.")
        if not self.built:
            with self._building:                    # two threads' first predict build it once
                if not self.built:
                    self.build(self.layers[0].input_shape or x.shape[1:])
        expected = self.layers[0].input_shape
        if x.shape[1:] != expected:
            hint = ""
            if x.shape == expected:
                hint = " For one example, add the batch axis: `x = x[None]`."
            elif channels_last(x.shape[1:]) == expected:     # (n, C, H, W): a reshape would scramble each picture
                hint = (" It looks channels-first (n, channels, height, width); netfit's images are channels-last: "
                        "`x = x.transpose(0, 2, 3, 1)`.")
            elif x.ndim == 1 and expected == (1,):
                hint = " For one feature per example: `x = x.reshape(-1, 1)`."
            elif x.ndim == 2 and len(expected) == 1 and x.shape[0] == expected[0]:
                hint = " It looks transposed (features in rows): `x = x.T`."
            elif x.ndim > 1 and np.prod(x.shape[1:]) == np.prod(expected):
                hint = f" Reshape it: `x = x.reshape(len(x), {', '.join(map(str, expected))})`."
            raise ValueError(f"{where}: expected x of shape (n, {', '.join(map(str, expected))}), "
                             f"got array of shape {x.shape}.{hint}")
        precision.warn_if_collapsed(x, self.dtype, self.layers[0], where)
        return x

    def _input_dtype(self, x_dtype):
        """The dtype inputs of ``x_dtype`` are cast to before the first layer (:func:`netfit.precision.feed_dtype`)."""
        return precision.feed_dtype(x_dtype, self.dtype, self.layers[0])

    def _check_xy(self, x, y, where):
        x = self._check_x(x, where)
        check_output(self.layers, self.loss, [name for name, _ in self.metrics], where, warnings=False)
        y_in = y
        y = self.loss.validate(y, self.layers[-1].output_shape, where)
        if len(y) != len(x):
            hint = ""
            arr = np.asarray(y_in)
            if arr.ndim == 2 and arr.shape[1] == len(x):
                hint = " y looks transposed: `y = y.T`."
            raise ValueError(f"{where}: x and y have different numbers of examples: {len(x)} and {len(y)}; "
                             f"give one row of y per row of x.{hint}")
        if not self.loss.integer_targets:
            # Targets enter δ = ∂R/∂f: in another float type they would upcast every backward pass.
            y = y.astype(self.dtype, copy=False)
        return x, y


def _restore_shapes(layers, declared):
    for layer, (shape, built) in zip(layers, declared):
        layer.input_shape, layer.built = shape, built
