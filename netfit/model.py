"""Model: a graph of layers trained by back-propagation, with Keras's names (the functional API).

    inputs = nf.Input(shape=(28, 28))
    h = Dense(128, activation="relu")(Flatten()(inputs))
    model = nf.Model(inputs, Dense(10, activation="softmax")(h))

The training step is the lecture's algorithm, on the graph's nodes in order
(:mod:`netfit.graph` writes each rule out):

    forward   each node: a = layer.forward(inputs' values)     topological order
    loss      δ_k = w_k ∂R_k/∂f_k at each output k              (the batch mean in each loss)
    backward  each node: s = layer.backward(δ at its output)    reverse order; δ summed where a tensor fans out
    update    θ ← θ − γ_r · direction(∂R/∂θ)                    (optimizer)

All weights live in one flat vector θ (:mod:`netfit.layout`) and all gradients in
one vector of the same layout, so the optimizer's step is a few vector
operations whatever the net. :class:`netfit.Sequential` is a Model whose graph
is a chain, and runs it as the lecture writes it (:mod:`netfit.sequential`); the
rest (compile, fit, evaluate, predict, weights, files) is this class's, one
training loop for both (:mod:`netfit.training`).
"""
import contextlib
import json
import numbers
import os
import threading

import numpy as np

from . import backend, columns, display, keras_file
from . import custom_objects as custom_objects_mod
from . import callbacks as callbacks_mod
from . import layers as layers_mod
from . import losses, metrics as metrics_mod, ops, optimizers, precision, weights_file
from .advice import check_batch_statistics
from .compatibility import check_output
from .concurrency import TrainingGuard, WeightsLock, training_call
from .config import dtype as default_dtype
from .graph import Graph
from .inference import Inference
from .keras_args import refuse
from .layers._patches import channels_last
from .layers import custom
from .layers.base import ActivatedLayer, Call, Layer, _with_auto_config, auto_name
from .layers.input import InputLayer
from .layers.node import Tensor
from .layout import block_size, lay_out
from .metrics.base import update as update_metric
from .stack import LayerStack
from .streams import Stream, is_stream
from .summary import format_summary, format_summary_html
from .training import run_fit, train_on_batch
from .utils import (check_array, check_dtype, check_flag, check_positive_int, check_seed, example_weights,
                    new_seed)

#: Keras's compile arguments netfit lacks: accepted where they change nothing, else refused (keras_args).
_KERAS_COMPILE = ("weighted_metrics", "run_eagerly", "steps_per_execution", "jit_compile",
                  "auto_scale_loss")


class Model(LayerStack, Inference, Layer):
    """A graph of layers from ``inputs`` to ``outputs``: Keras's ``keras.Model(inputs, outputs)``.

    Parameters
    ----------
    inputs : Tensor
        The model's input, made by :func:`netfit.Input`.
    outputs : Tensor
        What the model computes from it: a layer's output called on ``inputs`` or on
        what came from it.
    name : str, optional
    seed : int, optional
        Seed of the initial weights of the layers that have none yet, the shuffling and
        dropout; drawn from :func:`netfit.utils.set_random_seed`'s source when omitted.
    dtype : "float32" or "float64", optional
        Float type of weights and computation; ``nf.config.floatx()`` when omitted.

    A layer called at several places shares its weights; a layer that already has
    weights (from another model, or trained) keeps them, and the two models then
    share them (:mod:`netfit.layout`); a model may be called as a layer inside another.

    Raises
    ------
    ValueError
        A graph that the inputs cannot compute ("graph disconnected", naming the tensor),
        two layers with one name, an input not made by ``nf.Input``.

    Examples
    --------
    >>> import netfit as nf
    >>> from netfit.layers import Dense
    >>> x = nf.Input(shape=(3,))
    >>> model = nf.Model(x, Dense(2)(Dense(4, activation="tanh")(x)), seed=0)
    >>> model.count_params(), [layer.name for layer in model.layers]
    (26, ['input_layer', 'dense', 'dense_1'])
    """

    #: The name errors give this class's calls ("Model.fit", "Sequential.fit").
    _kind = "Model"
    #: A model takes attributes of the user's own (``model.metadata = ...``), as Keras's does; its layers are guarded.
    __setattr__ = object.__setattr__

    def __init__(self, inputs=None, outputs=None, name=None, seed=None, dtype=None, trainable=True, **keras):
        if inputs is None and outputs is None and type(self).call is not None:
            self._init_subclassed(name, seed, dtype, keras)    # keras.Model subclassing: layers in __init__, call
            return
        refuse(self._kind, keras, (), ())
        self._init_graph(inputs, outputs, name, seed, dtype)
        if trainable is not True:
            self.trainable = trainable
        self.build()                     # Keras builds a graph model when it is made: its weights exist now

    # -- keras.Model subclasses ---------------------------------------------------------------
    def _init_subclassed(self, name, seed, dtype, keras):
        """A model whose ``call`` composes layers made in ``__init__`` (Keras's subclassing).

        Its graph is made when the input shape is first known (``fit``, ``predict``,
        ``model(x)``, ``build((None, ...))``): one node, a :class:`ModelBody` that runs
        ``call`` with netfit.ops and the model's layers, its backward from the ops tape
        (:mod:`netfit.layers.custom`).
        """
        refuse(type(self).__name__, keras, (), ())
        for step in ("train_step", "test_step", "predict_step"):
            if custom.defined_below(type(self), step):
                raise TypeError(f"{type(self).__name__}: overrides {step}, which netfit does not call (in Keras 3 it "
                                f"is backend code: tf.GradientTape, JAX's stateless_call); override "
                                f"compute_loss(x, y, y_pred, sample_weight) instead: netfit differentiates it through "
                                f"the ops tape (docs/keras.md, 'Code of your own').")
        self._init_model(name if name is not None else _snake_case(type(self).__name__), seed, dtype, type(self).__name__)
        self._subclassed, self._pending_compile, self._auto_named = True, None, name is None
        self._requested_dtype = check_dtype(dtype, type(self).__name__)

    def _build_subclassed(self, example_shape):
        where = f"{type(self).__name__}.build"
        shape = tuple(example_shape)
        if shape and shape[0] is None:
            shape = shape[1:]
        if not shape or not all(isinstance(d, (int, np.integer)) and d > 0 for d in shape):
            raise ValueError(f"{where}: expected an input shape (None, d1, ...) of positive sizes, got {example_shape!r}.")
        name, seed, pending, auto = self.name, self.seed, self._pending_compile, self._auto_named
        inputs = layers_mod.Input(shape=shape, dtype=self._requested_dtype)
        body = ModelBody(self)
        outputs = body(inputs)
        if self._computes_loss():                   # R of a share is not a part of the batch's: no shares
            body.__dict__["whole_batch"] = True
        self._init_graph(inputs, outputs, name, seed, self._requested_dtype)
        self._subclassed, self._pending_compile, self._auto_named = True, None, auto
        self.build()
        if pending is not None:
            Model.compile(self, **pending)          # the base part of compile (an override ran its own)

    def _build_from(self, x):
        """A subclassed model not built yet: build it for the examples of ``x``."""
        if self.built or not getattr(self, "_subclassed", False):
            return
        if is_stream(x):                            # batches: the first one's shape (a generator is not read)
            if hasattr(x, "__next__"):
                raise ValueError(f"{type(self).__name__}: the model is not built, and reading a generator's first "
                                 f"batch to find the input shape would use it up; call "
                                 f"model.build((None, *example_shape)) first.")
            x = Stream(x, None, f"{type(self).__name__}.build").peek()[0]
        first = x[0] if isinstance(x, (list, tuple)) and x and hasattr(x[0], "shape") else x
        shape = getattr(first, "shape", None)
        if shape is None:
            shape = np.shape(first) if isinstance(first, (list, tuple, np.ndarray)) else None
        if shape is None or len(shape) < 2:
            raise ValueError(f"{type(self).__name__}: the model is not built and its input shape cannot be read from "
                             f"{type(x).__name__}; call model.build((None, *example_shape)) first.")
        self._build_subclassed(tuple(shape[1:]))

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        """R for one batch from the compiled loss; override it (Keras 3's way) to train on a loss of your own.

        An override computes R with netfit.ops from ``y_pred`` (what ``call`` returned,
        traced in training), ``y``, ``x`` and the model's layers, and returns one number;
        its gradient comes from the ops tape (:mod:`netfit.layers.custom`). Knowledge
        distillation's ``Distiller`` is the example (docs/keras.md).

        This base version (what ``super().compute_loss(...)`` gives an override) is Keras 3's:
        the compiled loss(es) of ``y`` and ``y_pred`` (R = Σ_k w_k R_k for several outputs)
        plus the terms layers added with ``add_loss`` in this pass (``self.losses``).

        Raises
        ------
        ValueError
            No loss was compiled (``compile(loss=None)``) to compute R from.
        """
        compiled = [(k, loss, w) for k, (loss, w) in enumerate(zip(getattr(self, "_losses", []), getattr(
            self, "_loss_weights", []))) if loss is not None and not isinstance(loss, _ComputedLoss)]
        if not compiled:
            raise ValueError(f"{type(self).__name__}.compute_loss: no loss was given to compile, so the base "
                             f"compute_loss has nothing to compute R from; compile(loss=...), or return R from "
                             f"your own compute_loss without calling super().compute_loss.")
        several = len(getattr(self, "_losses", [])) > 1
        total = None
        for k, loss, w in compiled:
            term = loss(y[k] if several else y, y_pred[k] if several else y_pred, sample_weight=sample_weight)
            term = term * w if w != 1.0 else term
            total = term if total is None else total + term
        for extra in self.losses:
            total = total + extra
        return total

    def _init_graph(self, inputs, outputs, name, seed, dtype):
        """The graph from ``inputs`` to ``outputs``, its layers named; no weights laid out yet."""
        where = f"{self._kind}"
        self._init_model(name if name is not None else "functional", seed, dtype, where)
        self._auto_named = name is None          # nested in another model, it is renamed functional_1, ... there
        if inputs is None or outputs is None:
            raise TypeError(f"{where}: expected inputs and outputs, e.g. nf.Model(inputs, outputs) with inputs = "
                            f"nf.Input(shape=...) and outputs a layer's output computed from them.")
        self.inputs = _tensors(inputs, where, "inputs")
        self.outputs = _tensors(outputs, where, "outputs")
        # Keras's structures: a dict of inputs takes x as a dict of those keys; a dict of outputs names them.
        self._input_keys = list(inputs) if isinstance(inputs, dict) else None
        self._output_keys = list(outputs) if isinstance(outputs, dict) else None
        self._graph = Graph(self.inputs, self.outputs, where)
        self.layers = list(self._graph.layers)
        _name_layers(self.layers, where)
        first = self.inputs[0].node.layer
        if self._requested_dtype is None and first.dtype is not None and first.dtype.kind == "f":
            self._requested_dtype = first.dtype

    @classmethod
    def _unbuilt(cls, inputs, outputs, name=None, seed=None, dtype=None):
        """A graph model whose weights are not laid out yet (``build()`` does it): what a file's config makes
        first, so that every weight's declared size is known before any memory is taken for it."""
        model = cls.__new__(cls)
        model._init_graph(inputs, outputs, name, seed, dtype)
        return model

    def _init_model(self, name, seed, dtype, where):
        """What every model holds before its structure is known (also Sequential's)."""
        if not isinstance(name, str):
            raise TypeError(f"{where}: expected name a str, got {type(name).__name__}.")
        self.name = name
        self._requested_dtype = check_dtype(dtype, where)
        self.seed = check_seed(seed, where) if seed is not None else new_seed()
        self.layers = []
        self._device = backend.current_device()    # nf.device / set_device's, or later model.to(...)'s
        self._placed = backend.get_device("cpu")   # where θ lives now
        self.built = self.compiled = False
        self.history = callbacks_mod.History()
        self.stop_training = False
        # One model, many threads (netfit.concurrency): steps write θ, inference batches read it.
        self._weights_lock, self._training, self._building = WeightsLock(), TrainingGuard(), threading.RLock()
        # As a layer of another model (netfit.layers.base.Layer's state).
        self._trainable, self._own_call, self._attached, self._home, self._nodes = True, None, False, None, []
        self._input_keys = self._output_keys = None

    # -- structure ---------------------------------------------------------------------
    def build(self, input_shape=None):
        """Lay every weight out in one flat θ and draw those of the layers that have none yet.

        A subclassed model (Keras's ``call``) is built for ``input_shape``, Keras's
        ``(None, d1, ...)`` or one example's ``(d1, ...)``.
        """
        if getattr(self, "_subclassed", False) and not getattr(self, "_graph", None):
            if input_shape is None:
                raise ValueError(f"{type(self).__name__}.build: expected the input shape, e.g. "
                                 f"model.build((None, 28, 28, 1)), or fit / predict on data first.")
            self._build_subclassed(input_shape)
            return
        self.dtype = self._requested_dtype or default_dtype()
        self._lay_out()
        self._finish_build()

    @property
    def input_shape(self):
        """The input's shape with the batch axis, ``(None, *example_shape)`` (a list of them for several inputs)."""
        shapes = [t.shape for t in self.inputs]
        return shapes[0] if len(shapes) == 1 else shapes

    @property
    def output_shape(self):
        """The output's shape with the batch axis, ``(None, *example_shape)`` (a list for several outputs)."""
        shapes = [t.shape for t in self.outputs]
        return shapes[0] if len(shapes) == 1 else shapes

    def _example_output_shape(self, k=0):
        """The shape of one example's output ``k`` (what ``predict`` returns per row)."""
        return self.outputs[k].example_shape

    @property
    def output_names(self):
        """Each output's name (Keras's ``model.output_names``): the dict's keys, else the making layer's name."""
        return list(self._output_keys) if self._output_keys else [t.name for t in self.outputs]

    def _structured(self, outputs):
        """Per-output arrays as ``predict`` returns them: one array, a list, or a dict if the outputs were a dict."""
        if len(outputs) == 1:
            return outputs[0]
        return dict(zip(self._output_keys, outputs)) if self._output_keys else list(outputs)

    @property
    def input(self):
        """Keras's ``model.input``: the model's own input tensor (a list or dict of them, as given to ``Model``),
        also after the model was called in another graph (a layer's ``input`` is its first call's)."""
        if self._input_keys:
            return dict(zip(self._input_keys, self.inputs))
        return self.inputs[0] if len(self.inputs) == 1 else list(self.inputs)

    @property
    def output(self):
        """Keras's ``model.output``: the model's own output tensor (a list or dict of them, as given)."""
        return self._structured(self.outputs)

    @property
    def input_names(self):
        return list(self._input_keys) if self._input_keys else [t.name for t in self.inputs]

    def _lay_out(self):
        """θ over the layers with weights (netfit.layout), then each weight's slice for get_weights and decay."""
        # Every layer is laid out (one without weights gets an empty part: attach sets its device and float type).
        lay_out(self, self._weight_order(), {id(layer) for layer in self._graph_layers()}, self.dtype,
                np.random.default_rng(self.seed))
        self._slices, self._decay = [], []
        for layer in self._weight_order():
            offset = self._offset_of.get(layer, 0)
            for spec in layer.specs:
                part = slice(offset, offset + spec.size)
                self._slices.append((part, spec.shape))
                if spec.decay:
                    self._decay.append(part)
                offset += spec.size

    def _finish_build(self):
        self._placed = backend.get_device("cpu")
        device = backend.get_device(self._device, f"{self._kind}.build")
        if device.kind != "cpu":
            backend.place(self, device, f"{self._kind}.build")     # drawn on the host, uploaded once
        self.built = True
        self._attached = True
        self._reset_records()
        if self.compiled:
            self._bind_training()

    def _weight_order(self):
        """The layers in ``get_weights()`` order (a nested model as one, its own order inside)."""
        return [layer for layer in self.layers if not isinstance(layer, InputLayer)]

    def _graph_layers(self):
        """Every layer this model runs, nested models' layers included."""
        found = []
        for layer in self._weight_order():
            found.append(layer)
            if isinstance(layer, Model):
                found += layer._graph_layers()
        return found

    @property
    def weights(self):
        """Every weight array in layer order, kernel before bias (views, not copies)."""
        self._ensure_built()
        return [w for layer in self._weight_order() for w in layer.weights]

    def get_weights(self):
        return [np.array(backend.to_host(w)) for w in self.weights]

    @property
    def specs(self):
        """The declared weights in ``get_weights()`` order (as a layer of another model)."""
        return [spec for layer in self._weight_order() for spec in layer.specs]

    def trainable_flags(self):
        return [flag for layer in self._weight_order() for flag in layer.trainable_flags()]

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
        where = f"{self._kind}.to"
        if device is None:      # PyTorch's module.to(None) moves nothing; here it is refused, with the names
            backend.parse_device(device, where)
        device = backend.get_device(device, where)
        if self.built:
            backend.place(self, device)
        else:                                   # refused now, not at build: the layers and optimizer are known
            backend.check_supported(self.layers, self.optimizer if self.compiled else None, device, where)
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
        where = f"{self._kind}.set_weights"
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
        """The model's weights: each layer's once, a shared layer too (Keras's ``count_params``)."""
        self._ensure_built()
        return sum(layer.count_params() for layer in self._weight_order())

    def count_links(self):
        """Connections, counting a shared weight once per use (ESL Table 11.1's "links")."""
        self._ensure_built()
        return sum(node.layer.count_links() for node in self._graph.nodes)

    # -- compile ---------------------------------------------------------------------------
    def compile(self, optimizer="adam", loss=None, metrics=None, loss_weights=None, **keras):
        """Choose the optimizer, the loss R and the metrics to report.

        With several outputs (Keras's rules): ``loss`` is one loss for every output, a
        list (one per output, None for an output that is not trained) or a dict keyed by
        :attr:`output_names`; R = Σ_k w_k R_k with ``loss_weights`` w_k (a list or dict;
        1 by default); ``metrics`` is a list with one entry (a metric or a list of them)
        per output, or a dict. The history then also has ``<output>_loss`` (unweighted)
        and ``<output>_<metric>``.

        Keras's other arguments (``run_eagerly``, ``jit_compile``, ...) are accepted where
        they change nothing here and refused otherwise, with the replacement
        (:mod:`netfit.keras_args`).

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
        where = f"{self._kind}.compile"
        refuse(where, keras, _KERAS_COMPILE, ("optimizer", "loss", "metrics", "loss_weights"))
        if getattr(self, "_subclassed", False) and not self.built:    # compiled when built (first data)
            self._pending_compile = dict(optimizer=optimizer, loss=loss, metrics=metrics, loss_weights=loss_weights)
            return
        if loss is None and self._computes_loss():
            loss = _ComputedLoss()                  # compute_loss gives R (and its δ through the tape)
        if loss is None:
            raise ValueError(f"{where}: expected a loss, e.g. loss='categorical_crossentropy' "
                             f"(classification) or loss='mse' (regression).")
        # Everything is resolved before anything is replaced: a refused compile keeps the old one.
        names = self.output_names
        per_loss = [None if l is None else ops.loss.get(l) for l in _per_output(loss, names, where, "loss")]
        if all(l is None for l in per_loss):
            raise ValueError(f"{where}: expected a loss for at least one output of {names}, got {loss!r}.")
        weights = [1.0] * len(names) if loss_weights is None else \
            [_loss_weight(w, where) for w in _per_output(loss_weights, names, where, "loss_weights", single=False)]
        optimizer = optimizers.get(optimizer)
        if len(names) == 1:
            if metrics is not None and (isinstance(metrics, (str, dict)) or not hasattr(metrics, "__iter__")):
                raise TypeError(f"{where}: expected metrics a list of names, got {metrics!r}.")
            per_metrics = [list(metrics or [])]
        else:
            per_metrics = [[] if m is None else list(m) if isinstance(m, (list, tuple)) else [m]
                           for m in _per_output(metrics or [None] * len(names), names, where, "metrics", single=False)]
        resolved, owners = [], []
        for k, (wanted, k_loss) in enumerate(zip(per_metrics, per_loss)):
            made = [metrics_mod.get(m, k_loss) for m in wanted]
            if (k_loss is not None or made) and not isinstance(per_loss[0], _ComputedLoss):
                check_output(self._output_chain(k), k_loss if k_loss is not None else per_loss[0],
                             [name for name, _ in made], where)
            prefix = f"{names[k]}_" if len(names) > 1 else ""
            if len(names) > 1 and k_loss is not None and sum(l is not None for l in per_loss) > 1:
                made.insert(0, ("loss", metrics_mod.LossMean(k_loss)))      # Keras's unweighted <output>_loss
            resolved += [(prefix + name, metric) for name, metric in made]
            owners += [None if len(names) == 1 else k] * len(made)
        backend.check_supported(self._graph_layers(), optimizer, self._placed if self.built else
                                backend.get_device(self._device, where), where)
        self.loss = per_loss[0] if len(names) == 1 else loss
        self._losses, self._loss_weights = per_loss, weights
        self._asked_metrics = [[metrics_mod.get(m, l) for m in wanted] for wanted, l in zip(per_metrics, per_loss)]
        self.optimizer, self.metrics, self._metric_outputs = optimizer, resolved, owners
        self.compiled = True
        if self.built:
            self._bind_training()

    def _compile_config(self):
        """What ``compile`` was given, as JSON-able values (saved in a file; ``compile(**config)`` redoes it)."""
        serial = [[metrics_mod.serialize(name, m, loss) for name, m in made]
                  for made, loss in zip(self._asked_metrics, self._losses)]
        config = {"optimizer": optimizers.serialize(self.optimizer)}
        if len(self._losses) == 1:
            return {**config, "loss": losses.serialize(self._losses[0]), "metrics": serial[0]}
        return {**config, "loss": [None if l is None else losses.serialize(l) for l in self._losses],
                "metrics": serial, "loss_weights": list(self._loss_weights)}

    def _output_chain(self, k=0):
        """The layers from an input to output ``k`` along first inputs (what decides the output's activation)."""
        chain, tensor = [], self.outputs[k]
        while not isinstance(tensor.node.layer, InputLayer):
            chain.append(tensor.node.layer)
            tensor = tensor.node.inputs[0]
        return chain[::-1]

    def _bind_training(self):
        # Softmax (sigmoid) with its cross-entropy is fused per output, where nothing else reads the output.
        self._fused = []
        for k, (loss, i) in enumerate(zip(self._losses, self._graph.output_idx)):
            chain = self._output_chain(k)
            last = chain[-1] if chain else None
            self._fused.append(loss is not None and isinstance(last, ActivatedLayer) and last is
                               self.outputs[k].node.layer and last.activation.name == loss.fuses_with
                               and self._graph.consumers[i] == 0 and self._graph.output_idx.count(i) == 1)
        self._calls = self._new_calls()
        self.optimizer.build(self._theta, self._decay)
        self._theta_good = self._theta.copy()

    # -- copies and pickles ----------------------------------------------------------------
    def __getstate__(self):
        """Everything but the locks and the records of calls (made anew on the other side)."""
        state = self.__dict__.copy()
        for name in ("_weights_lock", "_training", "_building", "_spare_calls", "_calls", "_own_call"):
            state.pop(name, None)
        return state

    def __setstate__(self, state):
        """A copy's layers view the copy's θ: ``copy.deepcopy`` and pickle copy every view on its own."""
        self.__dict__.update(state)
        self._weights_lock, self._training, self._building = WeightsLock(), TrainingGuard(), threading.RLock()
        self._own_call = None
        if self.built and self._home is None:
            self.attach(self._theta, self._grad)

    # -- records of calls (netfit.layers.base.Call) ----------------------------------------
    def _new_calls(self, grad=None, training=True, inputs_want_delta=False):
        """One record per node for one thread's passes; backward writes ∂R/∂θ into ``grad``.

        ``grad``: a vector of θ's layout, the model's own ``_grad`` by default (fit's
        share s ≥ 1 brings its own, :mod:`netfit.replicas`). A shared layer's first use
        reached going backward writes its part of ``grad``; its other uses write a
        vector of their own, which the graph adds (:mod:`netfit.graph`, rule 3).
        """
        grad = self._grad if grad is None else grad
        with_loss = [l is not None for l in self._losses] if self.compiled else [True] * len(self.outputs)
        runs, need_s, writer = self._graph.plan(with_loss, inputs_want_delta)
        calls = []
        for k, node in enumerate(self._graph.nodes):
            layer = node.layer
            offset, size = self._offset_of.get(layer, 0), block_size(layer)
            target = grad[offset:offset + size]
            own = target if writer.get(layer, k) == k else np.zeros_like(target)
            call = layer.new_call(layer.views(own), need_input_grad=need_s[k])
            if own is not target:
                call.shared = (target, own)
            calls.append(call)
        for k, fused in enumerate(getattr(self, "_fused", ()) if training else ()):
            producer = self._graph.producer.get(self._graph.output_idx[k])
            if producer is not None and fused:
                calls[producer].fused = True
        return _Records(calls, runs)

    @property
    def _blas_bound(self):
        """Products only (Dense and what goes around it): BLAS's own threads do the work (netfit.parallel)."""
        self._ensure_built()
        return all(layer.blas_bound for layer in self._graph_layers())

    def _reset_records(self):
        """θ was laid out anew (build, a move to another device): records made for the old layout go."""
        self._spare_calls = []              # inference's records, reused by one call at a time (netfit.inference)
        # Layers of your own keep tapes and may add add_loss terms to R: only then does a step look for the
        # terms (_data_loss) and inference switch their tapes off (Inference._infer).
        self._has_custom_layers = any(custom.is_custom(layer) for layer in self._graph_layers())
        if self.compiled:
            self._calls = self._new_calls()

    def _drawing_calls(self, calls):
        """The records of the layers that draw random numbers (Dropout), nested models' included, in order."""
        found = []
        for layer, call in zip(self._record_layers(), calls):
            if isinstance(layer, Model):
                found += layer._drawing_calls(call.inner)
            elif layer.needs_rng:
                found.append(call)
        return found

    def _record_layers(self):
        """The layer of each record, in records' order."""
        return [node.layer for node in self._graph.nodes]

    # -- the training step -----------------------------------------------------------------
    def _forward(self, x, training, calls):
        """The output(s) for input(s) ``x``, each node keeping what its backward needs in its record.

        One input or output: an array; several: a list, in ``inputs`` / ``outputs`` order.
        """
        outputs = self._graph.forward(x if isinstance(x, list) else [x], training, calls)
        return outputs[0] if len(outputs) == 1 else outputs

    def _backprop(self, calls, delta):
        """δ back through the graph (netfit.graph), each node writing its gradients where its record says;
        ``delta``: one array per output (a list for several, None for one without a loss). Returns δ at the
        inputs (a list for several)."""
        if delta is None and self._computes_loss():   # back from compute_loss's R, through its tape
            self._graph.nodes[0].layer.backward(None, calls[0])
            return None
        s = self._graph.backward(delta if isinstance(delta, list) else [delta], calls, calls.runs)
        return s[0] if len(s) == 1 else s

    def _output_record(self, calls, k=0):
        """The record of the node that makes output ``k`` (its z: the logits of a fused loss)."""
        return calls[self._graph.producer[self._graph.output_idx[k]]]

    def _loss_value(self, y_pred, y, sample_weight, calls):
        return self._data_loss(y_pred, y, sample_weight, calls) + self.optimizer.penalty(self._theta)

    def _computes_loss(self):
        """True for a subclass that overrides ``compute_loss`` (its R, and δ from the ops tape)."""
        return getattr(self, "_subclassed", False) and custom.defined_below(type(self), "compute_loss")

    def _data_loss(self, y_pred, y, sample_weight, calls):
        """R without the penalty: the batch mean, or (1/n) Σ_i w_i ℓ_i with sample weights.

        ``calls``: the records of the pass that computed ``y_pred`` (the output's holds the logits z).
        """
        if self._computes_loss():
            return custom.loss_from(self, calls[0], self.compute_loss, y, sample_weight)
        value = self._compiled_loss(y_pred, y, sample_weight, calls)
        extra = custom.added_loss(calls) if self._has_custom_layers else 0.0     # add_loss terms of layers of your own
        return value + extra if extra else value

    def _compiled_loss(self, y_pred, y, sample_weight, calls):
        """R from the compiled loss(es), without the terms layers add with ``add_loss``."""
        if len(self._losses) == 1:
            value = self._term(0, y_pred, y, sample_weight, calls)
            return value if self._loss_weights[0] == 1.0 else self._loss_weights[0] * value
        return sum(w * self._term(k, y_pred[k], y[k], sample_weight, calls)       # R = Σ_k w_k R_k
                   for k, (loss, w) in enumerate(zip(self._losses, self._loss_weights)) if loss is not None)

    def _term(self, k, y_pred, y, sample_weight, calls):
        """R_k, output k's loss: its batch mean, weighted by the examples' weights if given."""
        loss = self._losses[k]
        logits = self._output_record(calls, k).z if self._fused[k] else None
        if sample_weight is None:
            return loss.value(y_pred, y, logits)
        return loss.weighted_value(y_pred, y, sample_weight, logits)

    def _backward(self, y_pred, y, sample_weight, calls):
        self._backprop(calls, self._output_error(y_pred, y, sample_weight))
        self._zero_frozen(self._grad)

    def _output_error(self, y_pred, y, sample_weight=None):
        """δ at each output (at z where the loss is fused with the last activation); δ_k = w_k ∂R_k/∂f_k."""
        if self._computes_loss():
            return None                             # R came from compute_loss: backward starts from R itself
        if len(self._losses) == 1:
            delta = self._error(0, y_pred, y, sample_weight)
            if self._loss_weights[0] != 1.0:
                delta *= self._loss_weights[0]                        # R = w R_0, so δ = w ∂R_0/∂f
            return delta
        deltas = []
        for k, (loss, w) in enumerate(zip(self._losses, self._loss_weights)):
            delta = None if loss is None else self._error(k, y_pred[k], y[k], sample_weight)
            if delta is not None and w != 1.0:
                delta *= w
            deltas.append(delta)
        return deltas

    def _error(self, k, y_pred, y, sample_weight):
        loss, fused = self._losses[k], self._fused[k]
        if sample_weight is None:
            return loss.gradient(y_pred, y, fused=fused)
        return loss.weighted_gradient(y_pred, y, sample_weight, fused=fused)      # δ_i ← w_i δ_i

    def _update_metrics(self, metrics, y, y_pred):
        """Stream one batch into ``metrics`` (this model's, or fresh copies of them): each reads its output."""
        for metric, k in zip(metrics, self._metric_outputs):
            update_metric(metric, y if k is None else y[k], y_pred if k is None else y_pred[k])

    def _frozen_slices(self):
        """Slices of θ that training leaves as they are: layers with ``trainable = False``, and parts of θ
        that another model brought in but this one does not use (:mod:`netfit.layout`)."""
        return [part for layer, part in self._layer_parts if not layer._trainable] + self._unused_slices

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

    @training_call("loss_and_gradients")
    def loss_and_gradients(self, x, y, gradients=True, training=False, sample_weight=None):
        """Return ``(R, [∂R/∂w for w in get_weights()])`` on the whole of (x, y).

        R includes the weight-decay penalty, and the gradients its 2λw. With
        ``sample_weight`` (n,), R = (1/n) Σ_i w_i ℓ_i + λ Σ w², as in ``fit``.
        Weights of layers with ``trainable = False`` get zero gradients.
        """
        where = f"{self._kind}.loss_and_gradients"
        self._ensure_compiled("loss_and_gradients")
        check_flag(gradients, where, "gradients")
        check_flag(training, where, "training")
        with self._unbuilt_if_refused():
            x, y = self._check_xy(x, y, where)
            w = self._example_weights(y, sample_weight, None, where)        # as fit and evaluate check them
            if training:                     # a BatchNormalization over one value per statistic: refused
                check_batch_statistics(self, len(x), len(x), where)
        xb = self._feed(x)
        y, w = (columns.each(lambda a: backend.to_device(a, self._theta), v) for v in (y, w))
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
    @training_call("fit")
    def fit(self, x, y=None, batch_size=32, epochs=1, verbose="auto", callbacks=None, validation_split=0.0,
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

        A second training call on the model while this one runs is refused
        (docs/reliability.md, "One model, many threads").

        ``verbose``: 0 silent, 1 a progress bar, 2 one line per epoch; "auto" (Keras 3's default)
        is 1. The bar redraws in place on a terminal and in a notebook cell (one output per
        epoch, kept as the epoch's line); elsewhere (a log file, CI) only each epoch's line is
        written (:class:`~netfit.callbacks.ProgressBar`).

        Returns
        -------
        History
            ``history.history`` maps "loss", each metric, and their "val_" forms
            to per-epoch values.
        """
        where = f"{self._kind}.fit"
        self._build_from(x)
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
        """Per-example weights w (n,) in the model's float type, or None (:func:`netfit.utils.example_weights`).

        With several outputs one vector weights every output's loss (Keras's rule); ``class_weight``
        needs a single output, as in Keras.
        """
        if len(self._losses) == 1:
            return example_weights(y, sample_weight, class_weight, self._losses[0], where, self.dtype)
        if class_weight is not None:
            raise ValueError(f"{where}: class_weight applies to a model with one output (Keras's rule); with "
                             f"{len(self._losses)} outputs weight the examples with sample_weight=... instead.")
        k = next(k for k, loss in enumerate(self._losses) if loss is not None)
        return example_weights(y[k], sample_weight, None, self._losses[k], where, self.dtype)

    @training_call("train_on_batch")
    def train_on_batch(self, x, y, return_dict=False, sample_weight=None, class_weight=None):
        """Take one optimizer step on the batch (x, y); return its loss (and metrics) before the step.

        Keras's return value: the loss, or ``[loss, *metrics]`` when compiled with
        metrics, or a dict with ``return_dict=True``. ``sample_weight`` and
        ``class_weight`` weight the loss as in :meth:`fit`. Differs from Keras 3: the
        metrics are this batch's, not a running value since ``reset_metrics``, and
        the weights are keyword arguments (Keras's third positional one is ``sample_weight``).
        """
        self._build_from(x)
        return train_on_batch(self, x, y, return_dict, sample_weight, class_weight)

    def pop(self):
        raise TypeError(f"{self._kind}.pop: a graph model has no last layer to remove; make a new "
                        f"nf.Model(inputs, outputs) that ends where you want (pop is Sequential's).")

    # -- a model as a layer of another (Keras: a Model is a Layer) --------------------------
    def _build(self, input_shape):
        if not self._fits_shape(input_shape):
            raise ValueError(f"{self.display_name}: called on input shape {input_shape}, but its input is "
                             f"{self.inputs[0].example_shape}.")
        return self._example_output_shape()

    def _fits_shape(self, shape):
        return tuple(shape) == self.inputs[0].example_shape

    def _output_shapes(self):
        return [t.example_shape for t in self.outputs]

    def views(self, flat):
        """This model's part of a gradient (or θ) vector of another model: the whole of it, as one block."""
        return {"θ": flat}

    def new_call(self, grads=None, rng=None, need_input_grad=True):
        """A record for one call of this model inside another: the records of its own nodes, in ``call.inner``."""
        call = Call(self.xp, self.views(self._grad) if grads is None else grads, rng, need_input_grad)
        call.inner = self._new_calls(call.grads["θ"], training=False, inputs_want_delta=need_input_grad)
        return call

    def attach(self, params=None, grads=None, dtype=None):
        """Move θ into ``params`` (another model's, or an own buffer), the layers keeping their places in it."""
        if params is None:
            params = np.array(backend.to_host(self._theta)) if self.built else None
            grads = np.zeros_like(params)
        self._theta, self._grad = params, grads
        self._device = backend.device_of(params)
        for block, offset in self._offset_of.items():
            if block._home is self:                 # layers (and nested models) laid out in this θ
                size = block_size(block)
                block.attach(params[offset:offset + size], grads[offset:offset + size])
                block._home = self
        self._attached, self._own_call = True, None
        self._reset_records()
        if self.compiled:
            self._bind_training()

    def initialize(self, rng):
        """Draw fresh weights for every layer, in order (as a fresh model of the same seed would)."""
        for layer in self._weight_order():
            layer.initialize(rng)

    def forward(self, x, training=False, call=None):
        """The model as a layer: its graph on ``x`` with the records in ``call.inner``."""
        call = self.record(call)
        return self._forward(x, training, call.inner)

    def backward(self, delta, call=None):
        call = self.record(call)
        s = self._backprop(call.inner, delta)
        return s if call.need_input_grad else None

    @property
    def needs_rng(self):
        return any(layer.needs_rng for layer in self._graph_layers())

    @property
    def whole_batch(self):
        return any(layer.whole_batch for layer in self._graph_layers())

    @property
    def runs_on_gpu(self):
        return all(layer.runs_on_gpu for layer in self._graph_layers())

    def _call_eager(self, x, training):
        """``model(x)`` on arrays: the outputs, as ``predict_on_batch`` gives them (training=True: dropout on)."""
        self._build_from(x)
        if not training:
            return self.predict_on_batch(x)
        x = self._check_x(x, f"{self._kind}.__call__")
        with self._inference_calls() as calls, self._weights_lock.writing():
            for call in self._drawing_calls(calls):
                call.rng = np.random.default_rng(new_seed())
            return backend.to_host(self._forward(x.astype(self._input_dtype(x.dtype), copy=False), True, calls)).copy()

    # -- description -----------------------------------------------------------------------
    def summary(self, print_fn=None, links=False):
        """Print a Keras-style table: layer (type), output shape, parameters (and links; for a graph,
        what each layer is connected to).

        ``print_fn`` receives the table as one string (Keras's argument); by default it is printed,
        and in a notebook kernel shown as an HTML table (with the text beside it for the saved
        notebook and ``nbconvert --to script``; :mod:`netfit.display`).
        """
        text = format_summary(self, links=links)
        if print_fn is None and display.kernel() is not None:
            display.show({"text/plain": text, "text/html": format_summary_html(self, links=links)})
        else:
            (print_fn or print)(text)

    def _repr_html_(self):
        """The summary as HTML for a notebook cell that returns the model (IPython's protocol).

        A model whose input shape is known is built for it, as ``summary()`` builds it; without
        one IPython shows the plain ``repr``.
        """
        try:
            self._ensure_built()
        except ValueError:                          # the input shape is unknown: nothing to tabulate yet
            return None
        return format_summary_html(self)

    def get_config(self):
        """The graph as JSON-able values: each layer's config and the tensors each of its calls reads.

        Keras's form: ``inbound_nodes`` lists, per call of the layer in this model, its
        inputs as ``[layer name, call index, output index]``; ``input_layers`` and
        ``output_layers`` name the model's inputs and outputs the same way.
        """
        if getattr(self, "_subclassed", False):     # keras.Model subclass: the constructor's arguments (Keras 3)
            base = {"name": self.name, "trainable": self.trainable}
            if "_auto_config" in self.__dict__ and not custom.defined_below(type(self), "get_config"):
                return _with_auto_config(self, base)
            return base
        self._ensure_built()
        local = {}                                  # each layer's calls in this model, numbered from 0
        for t in self.inputs:
            local[id(t.node)] = 0
        for node in self._graph.nodes:
            local[id(node)] = sum(1 for other in self._graph.nodes[:self._graph.nodes.index(node)]
                                  if other.layer is node.layer)

        def ref(t):
            return [t.node.layer.name, local[id(t.node)], t.index]
        layers = []
        for layer in self.layers:
            calls = [node for node in self._graph.nodes if node.layer is layer]
            layers.append({**layer_entry(layer, name=layer.name),
                           "inbound_nodes": [[ref(t) for t in node.inputs] for node in calls]})
        config = {"name": self.name, "seed": self.seed, "dtype": self.dtype.name, "layers": layers,
                  "input_layers": [ref(t) for t in self.inputs], "output_layers": [ref(t) for t in self.outputs]}
        if self._input_keys:
            config["input_keys"] = list(self._input_keys)
        if self._output_keys:
            config["output_keys"] = list(self._output_keys)
        return config

    @classmethod
    def from_config(cls, config, custom_objects=None):
        """Rebuild the graph (fresh layers, freshly initialized weights) from :meth:`get_config`.

        Layers of your own are found in ``custom_objects``, the active ``custom_object_scope``
        or the registry (:mod:`netfit.custom_objects`). For a keras.Model subclass the
        config is its constructor's arguments: ``cls(**config)``, unbuilt (Keras 3's rule).
        """
        where = f"{cls.__name__ if cls.call is not None else cls._kind}.from_config"
        if cls.call is not None and not (isinstance(config, dict) and "input_layers" in config):
            try:
                return cls(**config)
            except TypeError as exc:
                raise TypeError(f"Unable to revive model from config. When overriding the `get_config()` method, make "
                                f"sure that the returned config contains all items used as arguments in the "
                                f"constructor to {cls}, which is the default behavior. You can override this "
                                f"default behavior by defining a `from_config(cls, config)` class method to specify "
                                f"how to create an instance of {cls.__name__} from its config.\n\nReceived "
                                f"config={config}\n\nError encountered during deserialization: {exc}") from None
        with custom_objects_mod.given(custom_objects, where):
            return graph_from_config(config, where, _layer_from_spec)

    def _file_config(self):
        """What a model file keeps of the architecture: :meth:`get_config`, or for a keras.Model subclass Keras 3's
        object (class_name, registered_name, module, the constructor's config, build_config)."""
        if not getattr(self, "_subclassed", False):
            return self.get_config()
        self._ensure_built()
        cls = type(self)
        return {"class_name": cls.__name__, "registered_name": custom_objects_mod.get_registered_name(cls),
                "module": cls.__module__, "config": self.get_config(),
                "build_config": {"input_shape": list(self.input_shape)}, "dtype": self.dtype.name}

    def save(self, path, _epoch=None):
        """Save architecture, weights, optimizer state and history to one file (format: :mod:`netfit.saving`;
        read it back with :func:`netfit.load_model`). A name ending in ``.keras`` writes Keras 3's own
        format instead (:mod:`netfit.keras_file`: architecture, weights, compile config; Keras's
        ``load_model`` reads it). Any other name without ``.netfit`` is refused with the name to use,
        as Keras 3 refuses one without ``.keras``; Keras 2's .h5 too."""
        with self._weights_lock.reading():         # weights and optimizer state of one moment
            keras_file.save_model_file(self, path, epoch=_epoch)

    def save_weights(self, filepath, overwrite=True):
        """Write the weights alone: ``NAME.weights.npz`` is netfit's file (:mod:`netfit.weights_file`, NumPy
        only), ``NAME.weights.h5`` Keras 3's (:func:`netfit.keras_file.save_weights_h5`, needs h5py)."""
        if keras_file.is_weights_h5_name(filepath):
            if overwrite is not True and os.path.exists(filepath):
                raise FileExistsError(f"{self._kind}.save_weights: {filepath!r} exists and overwrite="
                                      f"{overwrite!r}; pass overwrite=True to replace it.")
            with self._weights_lock.reading():
                keras_file.save_weights_h5(self, filepath, f"{self._kind}.save_weights")
        else:
            weights_file.save_weights(self, filepath, overwrite)

    def load_weights(self, filepath, skip_mismatch=False):
        """Read weights written by :meth:`save_weights` (``.weights.npz``) or Keras 3's ``save_weights``
        (``.weights.h5``); another architecture, shape or dtype is refused, weights unchanged.

        Keras's ``skip_mismatch=True`` is not offered (:mod:`netfit.weights_file`).
        """
        if skip_mismatch is not False:
            raise ValueError(f"{self._kind}.load_weights: expected skip_mismatch=False, got {skip_mismatch!r}; "
                             f"netfit loads all weights or none. Copy single layers with layer.set_weights instead.")
        if keras_file.is_weights_h5_name(filepath):
            keras_file.load_weights_h5(self, filepath, f"{self._kind}.load_weights")
        else:
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
            raise RuntimeError(f"{self._kind}.{where}: the model is not compiled; call "
                               f"model.compile(optimizer=..., loss=...) first.")

    @contextlib.contextmanager
    def _unbuilt_if_refused(self):
        """A call refused before any step leaves an unbuilt model unbuilt (a graph model is built at once)."""
        yield

    def _entry_layer(self, k=0):
        """The layer that first reads input ``k`` (for the input's precision, netfit.precision), or None."""
        readers = [node.layer for node in self._graph.nodes if any(t is self.inputs[k] for t in node.inputs)]
        return readers[0] if len(readers) == 1 else None

    def _check_x(self, x, where):
        """x checked against the inputs: an array for one input; for several a list in ``inputs`` order
        (given as a list, or a dict keyed by input names)."""
        xs = _per_input(x, self.input_names, where)
        for k, (a, t) in enumerate(zip(xs, self.inputs)):
            what = "x" if len(xs) == 1 else f"x[{self.input_names[k]!r}]"
            a = xs[k] = check_array(a, where, what, fits=self.dtype)
            if a.shape[1:] != t.example_shape:
                expected = t.example_shape
                raise ValueError(f"{where}: expected {what} of shape (n, {', '.join(map(str, expected))}) for input "
                                 f"{t.name!r}, got array of shape {a.shape}.{_shape_hint(a, expected)}")
            precision.warn_if_collapsed(a, self.dtype, self._entry_layer(k), where)
        if len({len(a) for a in xs}) > 1:
            raise ValueError(f"{where}: expected every input with one row per example, got "
                             f"{dict(zip(self.input_names, (len(a) for a in xs)))} rows.")
        return xs[0] if len(xs) == 1 else xs

    def _input_dtype(self, x_dtype, k=0):
        """The dtype input ``k`` of ``x_dtype`` is cast to before its first layer (:func:`netfit.precision.feed_dtype`)."""
        return precision.feed_dtype(x_dtype, self.dtype, self._entry_layer(k))

    def _check_xy(self, x, y, where):
        x = self._check_x(x, where)
        n = len(x[0]) if isinstance(x, list) else len(x)
        names = self.output_names
        ys = _per_output(y, names, where, "y", single=len(names) == 1, loss_given=False)
        for k, loss in enumerate(self._losses):
            if loss is None:
                continue
            if ys[k] is None and len(names) > 1:
                raise ValueError(f"{where}: expected y for output {names[k]!r}, which has a loss; give y as a list "
                                 f"or a dict with an entry for each of {names}.")
            if not isinstance(loss, _ComputedLoss):         # compute_loss reads y as it comes
                check_output(self._output_chain(k), loss, [m for (m, _), o in zip(self.metrics, self._metric_outputs)
                                                           if o in (None, k)], where, warnings=False)
            y_in = ys[k]
            ys[k] = loss.validate(ys[k], self._example_output_shape(k), where)
            if len(ys[k]) != n:
                hint = ""
                arr = np.asarray(y_in)
                if arr.ndim == 2 and arr.shape[1] == n:
                    hint = " y looks transposed: `y = y.T`."
                what = "y" if len(names) == 1 else f"y[{names[k]!r}]"
                raise ValueError(f"{where}: x and {what} have different numbers of examples: {n} and "
                                 f"{len(ys[k])}; give one row of y per row of x.{hint}")
            if not loss.integer_targets:
                # Targets enter δ = ∂R/∂f: in another float type they would upcast every backward pass.
                ys[k] = ys[k].astype(self.dtype, copy=False)
        return x, (ys[0] if len(ys) == 1 else ys)


def _per_output(value, names, where, what, single=True, loss_given=True):
    """``value`` (one for all, a list, or a dict keyed by ``names``) as one entry per output (Keras's rules).

    A dict with a ``class_name`` (a saved loss or metric, ``losses.serialize``) is one value, not one per output.
    """
    if isinstance(value, dict) and not ("class_name" in value and "class_name" not in names):
        unknown = [key for key in value if key not in names]
        if unknown:
            raise ValueError(f"{where}: {what} has key {unknown[0]!r}, which is not an output; the outputs are "
                             f"{names}.")
        return [value.get(name) for name in names]
    if isinstance(value, (list, tuple)) and not (single and len(names) == 1 and not loss_given):
        if len(names) == 1 and single:
            return [value[0]] if len(value) == 1 else [value]
        if len(value) != len(names):
            raise ValueError(f"{where}: expected {what} with one entry per output ({len(names)}: {names}), got "
                             f"{len(value)}.")
        return list(value)
    if len(names) > 1 and not single:
        raise ValueError(f"{where}: expected {what} as a list or a dict with one entry per output of {names}, "
                         f"got {type(value).__name__}.")
    return [value] * len(names) if loss_given else [value]


def _per_input(x, names, where):
    """x as one array per input: an array (one input), a list or tuple in ``inputs`` order, or a dict by name."""
    if isinstance(x, dict):
        missing = [name for name in names if name not in x]
        unknown = [key for key in x if key not in names]
        if missing or unknown:
            raise ValueError(f"{where}: expected x as a dict with keys {names}, got keys {list(x)}.")
        return [x[name] for name in names]
    if len(names) > 1:
        if not isinstance(x, (list, tuple)) or len(x) != len(names):
            raise ValueError(f"{where}: expected x as a list of {len(names)} arrays (one per input: {names}) or a "
                             f"dict keyed by those names, got {type(x).__name__}"
                             f"{f' of {len(x)}' if isinstance(x, (list, tuple)) else ''}.")
        return list(x)
    return [x]


def _loss_weight(w, where):
    if isinstance(w, bool) or not isinstance(w, numbers.Real) or not np.isfinite(w) or w < 0:
        raise ValueError(f"{where}: expected loss_weights non-negative numbers, got {w!r}.")
    return float(w)


def graph_from_config(config, where, make_layer, build=True):
    """A graph model from its config (:meth:`Model.get_config`; Keras's functional config has this form).

    ``make_layer(index, spec)`` makes each layer from its entry (a checking one for files,
    :mod:`netfit.architecture`). Every call is replayed on symbolic tensors in an order
    that has its inputs; ``build=False`` leaves the weights unallocated (``model.build()``
    lays them out), so a file's declared sizes can be checked first.

    Raises
    ------
    ValueError
        A malformed config: an entry that is not a layer, a call that reads a tensor
        no layer makes, inputs or outputs that name no tensor.
    """
    if not isinstance(config, dict) or not isinstance(config.get("layers"), list):
        raise ValueError(f"{where}: expected a graph model's config with 'layers', 'input_layers' and "
                         f"'output_layers', got {type(config).__name__}.")
    made, tensors, pending = {}, {}, []
    for i, spec in enumerate(config["layers"]):
        if not isinstance(spec, dict) or not isinstance(spec.get("name"), str):
            raise ValueError(f"{where}: layers[{i}]: expected an object with 'class_name', 'name', 'config' and "
                             f"'inbound_nodes', got {spec!r:.80}.")
        if spec["name"] in made:
            raise ValueError(f"{where}: layers[{i}]: the name {spec['name']!r} is used twice.")
        layer = made[spec["name"]] = make_layer(i, spec)
        if getattr(layer, "name", "") is None:        # a class of your own whose config leaves its name out
            layer.name = spec["name"]
        if isinstance(layer, InputLayer):
            tensors[(spec["name"], 0, 0)] = layer.output
        calls = spec.get("inbound_nodes", [])
        if not isinstance(calls, list):
            raise ValueError(f"{where}: layers[{i}] ({spec['name']}): expected 'inbound_nodes' a list, got {calls!r:.80}.")
        pending += [(spec["name"], k, call) for k, call in enumerate(calls)]

    def key(ref, at):
        if not (isinstance(ref, (list, tuple)) and len(ref) == 3 and isinstance(ref[0], str)
                and all(isinstance(v, int) and not isinstance(v, bool) for v in ref[1:])):
            raise ValueError(f"{where}: {at}: expected a tensor as [layer name, call, output], got {ref!r:.80}.")
        return tuple(ref)

    while pending:                                   # replay every call once its inputs exist
        ready = [p for p in pending if all(key(r, f"{p[0]}'s inputs") in tensors for r in p[2])]
        if not ready:
            name, _, call = pending[0]
            missing = next(r for r in call if tuple(r) not in tensors)
            raise ValueError(f"{where}: layer {name!r} reads tensor {list(missing)}, which no layer of the config makes.")
        for name, k, call in ready:
            args = [tensors[tuple(r)] for r in call]
            out = made[name](args if len(args) > 1 or made[name].multiple_inputs else args[0])
            for j, t in enumerate(out if isinstance(out, list) else [out]):
                tensors[(name, k, j)] = t
            pending.remove((name, k, call))

    def ends(what):
        refs = config.get(what)
        if not isinstance(refs, list) or not refs:
            raise ValueError(f"{where}: expected {what!r} a list of [layer name, call, output], got {refs!r:.80}.")
        found = [tensors.get(key(r, what)) for r in refs]
        if any(t is None for t in found):
            raise ValueError(f"{where}: {what} names a tensor no layer makes: {refs}.")
        keys = config.get(what.replace("_layers", "_keys"))
        if keys is not None:
            return dict(zip(keys, found))
        return found[0] if len(found) == 1 else found
    kind = Model
    args = (ends("input_layers"), ends("output_layers"))
    options = {"name": config.get("name"), "seed": config.get("seed"), "dtype": config.get("dtype")}
    return kind(*args, **options) if build else kind._unbuilt(*args, **options)


def _layer_from_spec(i, spec, where="Model.from_config"):
    """A layer from a config entry (a model's own get_config); a class of your own from those given or registered."""
    name = spec["class_name"]
    if name == "InputLayer":
        return InputLayer.from_config(dict(spec["config"]))
    if name in _MODEL_CLASSES and spec.get("registered_name") in (None, name):
        return _MODEL_CLASSES[name].from_config(dict(spec["config"]))
    cls = layers_mod.get(name, registered_name=spec.get("registered_name"), where=f"{where}: layers[{i}]")
    return layers_mod.from_config(cls, dict(spec["config"]), f"{where}: layers[{i}] ({name})")


def _class_name(layer):
    return "Model" if type(layer).__name__ == "Model" else type(layer).__name__


def is_own_class(layer):
    """True for netfit's classes (a layer of the table, a model); False for a class of your own."""
    cls = type(layer)
    return layers_mod._TABLE.get(cls.__name__) is cls or cls in (Model, InputLayer) or \
        _MODEL_CLASSES.get(cls.__name__) is cls


def layer_entry(layer, **extra):
    """A model config's entry for ``layer``: class_name and config, and for a class of your own Keras 3's
    registered_name, module and build_config (a file then names it as Keras does)."""
    entry = {"class_name": _class_name(layer), **extra, "config": layers_mod.serialize_object(layer.get_config())}
    if not is_own_class(layer):
        cls = type(layer)
        entry["registered_name"] = custom_objects_mod.get_registered_name(cls)
        entry["module"] = cls.__module__
        build = layer.get_build_config()
        if build is not None:
            entry["build_config"] = build
    return entry


#: Model classes by the class_name a config gives them ("Functional": Keras's name of a graph model's class).
_MODEL_CLASSES = {}


class _Records(list):
    """A model's records of one pass, one per node, and which nodes run backward (Graph.plan's ``runs``).

    ``no_backward``: True for inference's records (Inference._inference_records), whose
    passes no backward follows: layers may then run fused (netfit.layers.conv_pool).
    """

    def __init__(self, calls, runs):
        super().__init__(calls)
        self.runs = runs
        self.no_backward = False


def _shape_hint(x, expected):
    """The fix for an x of the wrong shape, when one is clear."""
    if x.shape == expected:
        return " For one example, add the batch axis: `x = x[None]`."
    if channels_last(x.shape[1:]) == expected:     # (n, C, H, W): a reshape would scramble each picture
        return (" It looks channels-first (n, channels, height, width); netfit's images are channels-last: "
                "`x = x.transpose(0, 2, 3, 1)`.")
    if x.ndim == 1 and expected == (1,):
        return " For one feature per example: `x = x.reshape(-1, 1)`."
    if x.ndim == 2 and len(expected) == 1 and x.shape[0] == expected[0]:
        return " It looks transposed (features in rows): `x = x.T`."
    if x.ndim > 1 and np.prod(x.shape[1:]) == np.prod(expected):
        return f" Reshape it: `x = x.reshape(len(x), {', '.join(map(str, expected))})`."
    return ""


def _tensors(value, where, what):
    """A model's inputs or outputs as a list of symbolic tensors."""
    items = list(value.values()) if isinstance(value, dict) else list(value) if isinstance(value, (list, tuple)) \
        else [value]
    if not items or not all(isinstance(t, Tensor) for t in items):
        bad = next((t for t in items if not isinstance(t, Tensor)), value)
        raise TypeError(f"{where}: expected {what} symbolic tensors (nf.Input(...) and layers called on it), got "
                        f"{type(bad).__name__}; to run a model on arrays, build it first: "
                        f"model = nf.Model(inputs, outputs); model.predict(x).")
    return items


def _name_layers(layers, where):
    """Keras-style names for unnamed layers (dense, dense_1, ...); two layers of one name are refused."""
    taken = {layer.name for layer in layers if layer.name is not None}
    seen = set()
    for layer in layers:
        if layer.name is None:
            layer.name = auto_name(layer, taken)
            taken.add(layer.name)
        elif layer.name in seen and getattr(layer, "_auto_named", False):   # a second unnamed nested model
            layer.name = auto_name(layer, taken, base=layer.name)         # functional_1, as Keras names it
            taken.add(layer.name)
        if layer.name in seen:
            raise ValueError(f"{where}: two layers are named {layer.name!r}; names must be unique within a model "
                             f"(rename one: Dense(..., name='...')).")
        seen.add(layer.name)


_MODEL_CLASSES.update(Model=Model, Functional=Model)


class ModelBody(Layer):
    """The ``call`` of a keras.Model subclass, as the one layer of its graph (:mod:`netfit.layers.custom`).

    Its weights are the layers the model holds in its attributes, in the order they were
    assigned; its backward is the ops tape of the model's ``call``.
    """

    call = custom.model_body_call

    def __init__(self, model):
        super().__init__(name="call")
        self._model = model

    def _custom_host(self):
        return self._model

    def get_config(self):
        return {"name": self.name}


class _ComputedLoss(losses.Loss):
    """The loss of a model that overrides ``compute_loss``: R and δ come from it, through the ops tape."""

    name = "compute_loss"
    accuracy_by_shape = True
    integer_targets = True                          # y reaches compute_loss as it was given (no cast)

    def value(self, y_pred, y, logits=None):
        raise RuntimeError("compute_loss: R comes from the model's compute_loss (Model._data_loss)")

    def validate(self, y, output_shape, where):
        return check_array(y, where, "y")


def _snake_case(name):
    """Keras's name for a model of class ``name``: MyModel -> my_model."""
    import_free = "".join(("_" + c.lower()) if c.isupper() else c for c in name).lstrip("_")
    return import_free.replace("__", "_")
