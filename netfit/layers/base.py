"""The Layer contract: forward and backward side by side, weights in Keras layouts.

A layer maps a batch ``x`` of shape (n, *input_shape) to ``a`` of shape
(n, *output_shape). ``backward(delta, call)`` takes δ = ∂R/∂a, writes ∂R/∂θ
into ``call.grads`` (same keys as ``params``) and returns s = ∂R/∂x, which
becomes the δ of the layer below. The model asks the first layer not to
compute s (``call.need_input_grad = False``).

What one call of the layer must remember between its forward and its backward
pass (x, z, the dropout mask, max pooling's winners), its scratch arrays and
where its gradients go live in that call's own record, a :class:`Call`, never
on the layer: the weights are all a layer holds. So one layer can be called at
two places of a graph, by two threads at once, or by the shares of a batch
(:mod:`netfit.replicas`), each call with its own record (PyTorch's ``ctx``).

Life cycle, as in Keras (config → build → call):

1. ``__init__`` stores the configuration only;
2. ``build(input_shape)`` (subclasses) checks the per-example input shape,
   declares weights with :meth:`add_weight` and returns the output shape;
3. ``attach(params, grads)`` lays the weights out as views into flat buffers
   owned by the model (so an optimizer step is a few vector operations), and
   ``initialize(rng)`` fills them;
4. ``forward(x, training, call)`` / ``backward(delta, call)`` run many times;
   a model keeps one record per layer (and per thread) across steps, so the
   scratch arrays are reused.

``setup(input_shape, rng)`` does 2–3 in one call for a layer used on its own;
``forward`` and ``backward`` without a record then use the layer's own record
(for one thread: the lecture's examples and the tests). Arrays returned by
``forward``/``backward`` may be scratch buffers that the next call with the same
record overwrites: copy them if you keep them.
"""
import inspect
import math
import re

import numpy as np

from .. import activations, backend, initializers, parallel
from ..config import dtype as _default_dtype
from ..ops import regularizers
from ..utils import new_seed
from .node import Node, is_symbolic
from .weight import Weight
from . import custom
from ..keras_args import GuardedAttributes, own_arguments, refuse


class WeightSpec:
    """What ``add_weight`` declared: name, shape, initializer, fans, decayed or not."""

    __slots__ = ("name", "shape", "initializer", "fan_in", "fan_out", "decay", "trainable")

    def __init__(self, name, shape, initializer, fan_in, fan_out, decay, trainable=True):
        self.name, self.shape, self.initializer = name, tuple(shape), initializer
        self.fan_in, self.fan_out, self.decay, self.trainable = fan_in, fan_out, decay, trainable

    @property
    def size(self):
        return math.prod(self.shape)


class Call:
    """The record of one call of a layer: what its backward reads from its forward, its scratch, its gradients.

    Made by :meth:`Layer.new_call`. The caller (a model, a graph node, a thread's
    share of a batch) sets where the gradients go and what the pass needs; the
    layer's ``forward`` writes what its ``backward`` will read as attributes of
    the record (``call.x``, ``call.z``, ``call.a``, ``call.mask``, ...), and takes
    scratch arrays from :meth:`buffer`. A record serves one call at a time; a
    model keeps one per layer and per thread and reuses it from step to step.

    Attributes
    ----------
    grads : dict of str -> array
        Where ``backward`` writes ∂R/∂θ, keyed as the layer's ``params`` (by default
        the layer's own ``grads``, views of the model's gradient vector).
    need_input_grad : bool
        False: ``backward`` computes no s = ∂R/∂x and returns None (the first layer).
    fused : bool
        True: the loss's δ is already the error at z (softmax or sigmoid fused with
        its cross-entropy, :mod:`netfit.losses`); the activation's σ' is skipped.
    rng : numpy.random.Generator or None
        The random stream of a layer that draws (Dropout's masks).
    training : bool
        The last forward pass's mode, for layers whose backward depends on it.
    shared : (array, array) or None
        For a layer called at several places of a graph: (the gradient its first use
        writes, this use's own) — the graph adds the second into the first after this
        call's backward (:mod:`netfit.graph`, rule 3).
    """

    def __init__(self, xp, grads, rng=None, need_input_grad=True, fused=False):
        self.xp, self.grads, self.rng = xp, grads, rng
        self.need_input_grad, self.fused = need_input_grad, fused
        self.training = False
        self.shared = None            # (gradient, own): a later use of a shared layer adds its own into it
        self._scratch = {}

    def buffer(self, key, shape, dtype, fill=None):
        """A scratch array of ``shape`` kept under ``key``; grown when a larger batch comes.

        ``fill``: a value written when the array is (re)allocated only, for parts that
        the layer never overwrites afterwards (Conv2D's column of ones).
        """
        buf = self._scratch.get(key)
        if buf is None or buf.shape[1:] != tuple(shape[1:]) or buf.shape[0] < shape[0] or buf.dtype != dtype:
            buf = self.xp.empty(shape, dtype) if fill is None else self.xp.full(shape, fill, dtype)
            self._scratch[key] = buf
        return buf[: shape[0]]


def _snake(name):
    """Keras's ``to_snake_case``: Conv2D -> conv2d, MaxPooling2D -> max_pooling2d, ReLU -> re_lu, PReLU -> p_re_lu."""
    name = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", name).lower()


#: What Layer.__init__ sets: missing on a layer of your own whose __init__ did not call super().__init__().
_CORE_ATTRIBUTES = frozenset({"name", "specs", "params", "grads", "built", "_trainable", "input_shape", "output_shape",
                              "_attached", "_home", "_own_call", "_own_specs", "_variables", "_sublayers",
                              "_sub_parts"})


class Layer(GuardedAttributes):
    """Base class of all layers. Subclasses implement build, forward, backward, get_config.

    A layer of several inputs (the merge layers: Add, Concatenate, ...) sets
    ``multiple_inputs = True``: its ``build`` gets a list of per-example shapes,
    ``forward`` a list of arrays, and ``backward`` returns a list of s, one per
    input (None for all when ``call.need_input_grad`` is False). A layer never
    writes into the δ it is given: a merge layer may hand the same array to
    several inputs.

    ``trainable`` (Keras's flag, also a constructor argument): a layer with
    ``trainable = False`` keeps its weights through ``fit`` (its gradients are
    zeroed and the optimizer's step leaves its part of θ as it was; weight decay
    does not shrink it), ``summary`` counts them as "Non-trainable params", and
    save/load keeps the flag. It takes effect at the next step, without
    re-compiling (Keras 3 asks for ``compile`` again).

    Keras's ``input_dim=k`` is ``input_shape=(k,)``. Keras arguments netfit lacks
    (``kernel_regularizer``, ``data_format="channels_first"``, ...) are refused with
    the replacement (:mod:`netfit.keras_args`; each class lists its own in
    ``keras_only``), and so is setting an attribute a layer does not have.
    """

    #: True for layers that take a list of inputs (merge layers); see the class docstring.
    multiple_inputs = False

    #: Keras's ``call(inputs, training=None)``: a layer of your own defines it (and ``build``, with
    #: ``add_weight``) instead of forward and backward; its backward then comes from the ops tape
    #: (:mod:`netfit.layers.custom`). Built-in layers define forward and backward and leave it None.
    call = None

    #: Keras arguments of this class that netfit lacks, refused with the replacement unless "off" (keras_args).
    keras_only = ("activity_regularizer", "dtype", "autocast", "batch_input_shape", "weights")

    #: True for layers whose forward depends on a random generator (Dropout).
    needs_rng = False
    #: True for layers whose training pass mixes the examples of a batch (BatchNormalization's batch
    #: statistics): fit then never cuts a batch into shares for threads (netfit.replicas).
    whole_batch = False
    #: True for layers whose work is matrix products and a few passes over their (small) outputs:
    #: Dense, and the shape, activation and dropout layers around it. A model made only of
    #: these leaves BLAS its own threads under threads "auto" (netfit.parallel.step_workers):
    #: OpenBLAS's threads beat netfit's pool on products. Layers with large passes between
    #: products (im2col, pooling) keep the default False.
    blas_bound = False
    #: True for layers whose forward and backward run on a GPU (CuPy) as written (docs/gpu.md).
    runs_on_gpu = False
    #: The device of the layer's weights (set by ``attach``); ``xp`` is its array module.
    _device = backend.CPU

    @property
    def xp(self):
        """The array module of the layer's weights: numpy, or cupy on a GPU."""
        return self._device.xp

    def __new__(cls, *args, **kwargs):
        # Keras 3's auto-config: a class of your own keeps its constructor's arguments when they are all plain
        # values (str, int, float, bool, None, in lists, tuples and dicts), so get_config works without an override.
        obj = super().__new__(cls)
        if not cls.__module__.startswith("netfit."):
            obj.__dict__["_auto_config"] = _auto_config(cls, args, kwargs)
        return obj

    def __init__(self, *, input_shape=None, name=None, trainable=True, input_dim=None, **keras):
        if type(self).call is not None:            # your own layer: Keras's dtype= is the float type of netfit
            keras.pop("dtype", None)
            keras.pop("autocast", None)
        refuse(type(self).__name__, keras, type(self).keras_only, own_arguments(type(self)))
        if input_dim is not None:
            if input_shape is not None:
                raise ValueError(f"{type(self).__name__}: give input_shape or input_dim (Keras's input_shape=(k,)), "
                                 f"not both; got {input_shape!r} and {input_dim!r}.")
            input_shape = (input_dim,)
        if input_shape is not None:
            input_shape = _check_shape(input_shape, type(self).__name__)
        self.input_shape = input_shape
        self.name = name
        self.trainable = trainable
        self.output_shape = None
        self.built = False
        self.params = {}
        self.grads = {}
        self.specs = []
        self._own_call = None
        self._attached = False        # weights laid out (and drawn or copied): by a model, or setup() alone
        self._home = None             # the model whose θ the weights are views of (None: the layer's own)
        self._nodes = []              # its calls in graphs (netfit.layers.node), for input / output
        self._own_specs, self._variables, self._sublayers, self._sub_parts = [], [], [], []

    @property
    def trainable(self):
        """False freezes the layer's weights in training (Keras's ``layer.trainable``)."""
        return self._trainable

    @trainable.setter
    def trainable(self, value):
        if not isinstance(value, (bool, np.bool_)):
            raise TypeError(f"{self.display_name}: expected trainable True or False, got {value!r}.")
        self._trainable = bool(value)

    #: Names of weights that no optimizer trains, whatever ``trainable`` says: Keras's variables made with
    #: ``trainable=False`` (BatchNormalization's moving statistics, which the forward pass updates).
    non_trainable = ()

    def trainable_flags(self):
        """For each weight, in ``weights`` order: True if training moves it by its gradient.

        A weight is trained when the layer is (``trainable``) and the weight is not
        in :attr:`non_trainable`, as Keras's ``layer.trainable_weights`` holds the
        variables with ``trainable=True`` of a trainable layer. ``summary``'s counts
        and the model's ``trainable_weights`` / ``non_trainable_weights`` follow it.
        """
        return [self._trainable and spec.trainable and spec.name not in self.non_trainable for spec in self.specs]

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if cls.__module__.startswith("netfit.layers.") and "build" in vars(cls):
            cls.build = _keras_build_entry(vars(cls)["build"])

    # -- build -----------------------------------------------------------------------
    def build(self, input_shape):
        """Declare weights for per-example ``input_shape``; return the output shape.

        Called by your code with Keras's batch-first shape, ``layer.build((None, 784))``,
        a built-in layer is built and its weights drawn, as Keras's ``build`` makes its
        variables (``layer.weights``, ``layer.kernel``); it then returns None.
        """
        return input_shape

    def add_weight(self, name=None, shape=None, initializer=None, *, fan_in=None, fan_out=None, decay=False,
                   trainable=True, dtype=None, regularizer=None, constraint=None, **keras):
        """Declare a weight; ``decay=True`` puts it under the L2 penalty (kernels).

        netfit's layers call ``add_weight(name, shape, initializer)``. Keras's form,
        ``add_weight(shape=None, initializer=None, dtype=None, trainable=True, name=None)``
        (shape first when given by position), serves layers of your own: it returns a
        :class:`netfit.ops.Variable`, the weight's current value wherever the model
        lays θ out, for ``call`` to compute with (``ops.matmul(inputs, self.w)``). The
        initializer defaults to Keras's ``"glorot_uniform"`` there (``"zeros"`` for
        netfit's own layers). ``trainable=False`` keeps it out of training (a
        running statistic). ``regularizer`` (a layer of your own: ``"l1"``, ``"l2"``, a
        :mod:`keras.regularizers <netfit.ops.regularizers>` object or a function of the
        weight) adds its penalty R(w) to the loss in training, its gradient through the
        tape (Keras's ``layer.losses``). Keras's ``constraint`` is refused, and a
        regularizer on netfit's own layers, with the replacement (``add_loss`` in
        ``call``, or ``nf.optimizers`` weight decay).

        Raises
        ------
        TypeError
            A shape that is not a tuple of positive integers; Keras's constraint; a regularizer on a built-in layer.
        ValueError
            A regularizer that is no regularizer (``regularizers.get``).
        """
        keras_form = not isinstance(name, str) and name is not None
        if keras_form:                                      # Keras: add_weight(shape, initializer, dtype, ...)
            name, shape, initializer = None, name, shape if initializer is None else initializer
        unknown = [k for k in keras if k not in ("aggregation", "autocast", "overwrite_with_gradient")]
        if unknown:
            raise TypeError(f"{self.display_name}.add_weight: unexpected argument(s) {unknown}.")
        mine = type(self).call is not None
        if constraint is not None or regularizer is not None and not mine:
            raise TypeError(f"{self.display_name}.add_weight: Keras's {'constraint' if constraint is not None else 'regularizer'}"
                            f"= is not supported here; add the penalty to the loss in call() with self.add_loss(...), "
                            f"or use the optimizer's weight decay.")
        regularizer = regularizers.get(regularizer)
        if initializer is None:
            initializer = "glorot_uniform" if mine else "zeros"
        if isinstance(shape, (int, np.integer)):
            shape = (int(shape),)
        shape = () if shape is None else tuple(shape)
        if not all(isinstance(d, (int, np.integer)) and d >= 0 for d in shape):
            raise TypeError(f"{self.display_name}.add_weight: expected shape a tuple of non-negative integers, "
                            f"got {shape!r}.")
        taken = {spec.name for spec in self.specs}
        if name is None:
            name = custom.free_name("variable", taken)
        elif name in taken:
            if not mine:
                raise ValueError(f"{self.display_name}.add_weight: a weight named {name!r} already exists.")
            name = custom.free_name(name, taken)
        spec = WeightSpec(name, shape, initializers.get(initializer), fan_in, fan_out, decay, bool(trainable))
        if mine and (self.built or self.__dict__.get("_dry_run")) and not self.__dict__.get("_in_build"):
            raise RuntimeError(f"{self.display_name}.add_weight({name!r}) called after the layer was built (in "
                               f"call?): its weights are laid out in the model once; make it in build(input_shape) "
                               f"(or in __init__ when its shape is known), as Keras asks.")
        self.specs.append(spec)
        if not mine:
            return None
        self._own_specs.append(spec)
        var = custom.make_variable(self, name, trainable, regularizer)
        self._variables.append(var)
        if not self.built and not self.__dict__.get("_in_build"):     # made in __init__: kept through build
            self.__dict__.setdefault("_early_weights", []).append((spec, var))
        return var

    @property
    def losses(self):
        """The terms added with ``add_loss`` (and weight penalties) in the training pass running now, as traced
        values (Keras's ``layer.losses`` / ``model.losses``: ``R + ops.sum(self.losses)`` in a compute_loss);
        empty outside one."""
        return custom.current_losses()

    def add_loss(self, loss):
        """Add ``loss`` (a scalar computed in ``call`` with netfit.ops) to the model's loss R (Keras's ``add_loss``).

        In training, R = data loss + Σ of the added terms, and their gradients flow
        back through the tape with the output's δ; outside a training call it is ignored.
        """
        custom.add_loss(self, loss)

    def attach(self, params=None, grads=None, dtype=None):
        """Lay the declared weights out as views of flat ``params``/``grads`` buffers.

        Without buffers the layer allocates its own (float type ``dtype``).
        """
        size = sum(spec.size for spec in self.specs)
        if params is None:
            params = np.zeros(size, dtype or _default_dtype())
            grads = np.zeros(size, params.dtype)
        self._device = backend.device_of(params)
        self.params, self.grads = self.views(params), self.views(grads)
        self._own_call = None
        self._attached, self._home = True, None       # a model that lays it out in its θ sets _home after
        if self._sub_parts:                            # a layer of your own: its sublayers in their parts
            custom.attach(self, params, grads)

    def views(self, flat):
        """The declared weights as views of ``flat`` (this layer's part of θ, or of a gradient vector), by name."""
        if type(self).call is not None:
            return custom.views(self, flat)          # a dict that also knows the flat block (sublayers' parts)
        out, offset = {}, 0
        for spec in self.specs:
            out[spec.name] = flat[offset:offset + spec.size].reshape(spec.shape)
            offset += spec.size
        return out

    # -- records of calls --------------------------------------------------------------
    def new_call(self, grads=None, rng=None, need_input_grad=True):
        """A fresh :class:`Call` for this layer: gradients into ``grads`` (default: the layer's ``grads``)."""
        return Call(self.xp, self.grads if grads is None else grads, rng, need_input_grad)

    def record(self, call):
        """``call``, or without one the layer's own record, kept for a layer used on its own.

        The own record makes ``layer.forward(x)`` then ``layer.backward(delta)`` work
        as the lecture writes them; it is one record, for one thread. Models, graphs
        and threads always pass records of their own.
        """
        if call is not None:
            return call
        if self.__dict__.get("_own_call") is None:
            self._own_call = self.new_call(rng=getattr(self, "rng", None))
        return self._own_call

    def initialize(self, rng):
        """Fill the weights from their initializers, drawing from ``rng``."""
        if type(self).call is not None:
            custom.initialize(self, rng)
            return
        for spec in self.specs:
            value = spec.initializer(spec.shape, rng, self.params[spec.name].dtype, spec.fan_in, spec.fan_out)
            self.params[spec.name][...] = value

    def setup(self, input_shape, rng=None, dtype=None):
        """Build, allocate and initialize a layer used on its own; return the output shape.

        Examples
        --------
        >>> from netfit.layers import Dense
        >>> Dense(3).setup((4,), rng=np.random.default_rng(0))
        (3,)
        """
        self._build(input_shape)
        self.attach(dtype=dtype)
        self.initialize(rng if rng is not None else np.random.default_rng())
        return self.output_shape

    def _build(self, input_shape):
        if self.multiple_inputs:
            input_shape = _check_shapes(input_shape, self.display_name)
        else:
            input_shape = _check_shape(input_shape, self.display_name)
        if self.input_shape is not None and self.input_shape != input_shape:
            raise ValueError(f"{self.display_name}: declared input_shape={self.input_shape}, "
                             f"but the layer below produces {input_shape}.")
        self.specs = []
        self.input_shape = input_shape
        if type(self).call is not None:              # Keras's build(batch shape) and call: netfit.layers.custom
            self.output_shape = tuple(custom.keras_build(self, self._custom_host(), input_shape, WeightSpec))
        else:
            self.output_shape = tuple(self.build(input_shape))
        self.built = True
        return self.output_shape

    def _custom_host(self):
        """The object whose ``call``, ``build`` and attributes make a custom layer (itself; a model's body: the model)."""
        return self

    # -- calls: on symbolic tensors (a graph) or on arrays (eager) -----------------------
    def __call__(self, inputs, training=None, **kwargs):
        """``layer(x)``: on symbolic tensors, record a node of a graph; on arrays, compute it now.

        Keras's functional API: called on ``nf.Input(...)`` or on another layer's output,
        the layer is built for that shape (its weights are laid out when a
        :class:`netfit.Model` is made of it) and a :class:`~netfit.layers.node.Node` is
        recorded; the result is the symbolic output tensor. Called on arrays, an unbuilt
        layer is built and its weights drawn (seeded from :func:`netfit.utils.set_random_seed`'s
        source), and the output is returned as an array (Keras's eager call). A layer of
        several inputs takes a list.

        Raises
        ------
        TypeError
            Keyword arguments other than ``training`` (Keras's ``mask=`` is not supported),
            or a mix of symbolic tensors and arrays.
        ValueError
            Inputs whose shape does not fit the layer as already built.
        """
        if kwargs:
            raise TypeError(f"{self.display_name}: unexpected keyword argument(s) {sorted(kwargs)} in the call; "
                            f"netfit's layers take (inputs, training=False) (Keras's mask= is not supported).")
        if is_symbolic(inputs):
            return self._call_symbolic(inputs)
        if custom.traced(self, inputs):                    # inside custom code that is being trained: one tape entry
            return custom.call_traced(self, inputs, training)
        if training is None:
            training = custom.training_now()
        return self._call_eager(inputs, bool(training))

    def _call_symbolic(self, inputs):
        tensors = list(inputs.values()) if isinstance(inputs, dict) else \
            list(inputs) if isinstance(inputs, (list, tuple)) else [inputs]
        several = self.multiple_inputs or self._input_count() > 1
        if several != isinstance(inputs, (list, tuple, dict)):
            raise TypeError(f"{self.display_name}: expected {'a list of input tensors' if several else 'one input tensor'}"
                            f", got a {type(inputs).__name__} of {len(tensors)} tensor(s)"
                            f"{'; call it on the tensor itself, layer(x), not layer([x])' if len(tensors) == 1 else ''}.")
        shapes = [t.example_shape for t in tensors]
        shape = shapes if several else shapes[0]
        if not self.built:
            self._build(shape)
        elif not self._fits_shape(shape):
            raise ValueError(f"{self.display_name}: called on input shape {shape}, but the layer was built for "
                             f"{self.input_shape} (a layer called twice shares its weights, so its inputs must "
                             f"have one shape); use a new layer for the other shape.")
        dtypes = [t.dtype for t in tensors]
        dtype = dtypes[0] if np.dtype(dtypes[0]).kind == "f" else _default_dtype().name
        node = Node(self, tensors, self._output_shapes(), dtype)
        self._nodes.append(node)
        return node.outputs[0] if len(node.outputs) == 1 else list(node.outputs)

    def _input_count(self):
        """How many input tensors one call takes when not ``multiple_inputs`` (a model's inputs); 1 for a layer."""
        return 1

    def _fits_shape(self, shape):
        return self.input_shape == (list(shape) if isinstance(shape, list) else shape)

    def _output_shapes(self):
        """The per-example shapes of the outputs of one call (one, but a model's may be several)."""
        return [self.output_shape]

    def _call_eager(self, x, training):
        several = self.multiple_inputs
        if several:
            if not isinstance(x, (list, tuple)):
                raise TypeError(f"{self.display_name}: expected a list of input arrays, got {type(x).__name__}.")
            x = [np.asarray(a) for a in x]
        else:
            x = np.asarray(x)
        if not self.built:
            if several:
                self.setup([a.shape[1:] for a in x], rng=np.random.default_rng(new_seed()))
            else:
                if x.ndim < 2:
                    raise ValueError(f"{self.display_name}: expected a batch of shape (n, *example_shape), got an "
                                     f"array of shape {x.shape}; for one example use x[None].")
                self.setup(x.shape[1:], rng=np.random.default_rng(new_seed()))
        elif not self._attached:                   # built by a symbolic call, no weights drawn yet
            self.attach()
            self.initialize(np.random.default_rng(new_seed()))
        dtype = next(iter(self.params.values())).dtype if self.params else None
        if dtype is not None:                      # a float input takes the weights' type, as Keras casts
            x = [a.astype(dtype, copy=False) if a.dtype.kind == "f" else a for a in x] if several else \
                (x.astype(dtype, copy=False) if x.dtype.kind == "f" else x)
        # A training call draws from the layer's own stream when it was given a seed (same seed, same draws),
        # else from a stream of its own seeded by set_random_seed's source.
        seeded = getattr(self, "seed", None) is not None
        call = self.new_call(rng=np.random.default_rng(new_seed()) if training and not seeded else None)
        return self.forward(x, training, call)

    @property
    def input(self):
        """The input tensor of the layer's first call in a graph (Keras's ``layer.input``)."""
        return self._node_tensors(0, "inputs", "input")

    @property
    def output(self):
        """The output tensor of the layer's first call in a graph (Keras's ``layer.output``)."""
        return self._node_tensors(0, "outputs", "output")

    def _node_tensors(self, index, attr, what):
        if not self._nodes:
            raise AttributeError(f"{self.display_name}: the layer has never been called on a symbolic tensor, so it "
                                 f"has no {what}; call it on nf.Input(...) (or on another layer's output) first.")
        tensors = getattr(self._nodes[index], attr)
        return tensors[0] if len(tensors) == 1 else list(tensors)

    # -- run -------------------------------------------------------------------------
    def forward(self, x, training=False, call=None):
        """a = layer(x), keeping in ``call`` what backward needs. Shapes: (n, *input_shape) -> (n, *output_shape).

        A layer of your own (it defines ``call``) runs ``call`` here, under the ops tape
        when training (:mod:`netfit.layers.custom`).
        """
        if type(self).call is None:
            raise NotImplementedError(f"{type(self).__name__}: define call(self, inputs) (Keras's way, written with "
                                      f"netfit.ops), or forward and backward (netfit's written-out way).")
        return custom.forward(self, self._custom_host(), x, training, self.record(call))

    def backward(self, delta, call=None):
        """Write ∂R/∂θ into ``call.grads`` from δ = ∂R/∂a; return s = ∂R/∂x (None if not needed)."""
        if type(self).call is None:
            raise NotImplementedError(f"{type(self).__name__}: has no backward; a layer of your own defines "
                                      f"call(self, inputs), whose backward comes from the ops tape.")
        return custom.backward(self, delta, self.record(call))

    def sum_rows(self, m, out, call):
        """out = Σ_i m[i, :], as the product 1ᵀm: BLAS sums a tall matrix ~4× faster than np.sum(axis=0).

        Shapes
        ------
        m : (rows, k), out : (k,)
        """
        ones = call.buffer("ones", (m.shape[0],), m.dtype, fill=1)
        return self.xp.matmul(ones, m, out=out)

    def check_input(self, x):
        """Raise a clear error unless x is (n, *input_shape) (a list of such arrays for a layer of several inputs)."""
        if type(x) is np.ndarray and x.shape[1:] == self.input_shape:
            return                                 # the common case, at once (predict of one image pays per call)
        if self.multiple_inputs:
            if not isinstance(x, (list, tuple)) or len(x) != len(self.input_shape):
                raise TypeError(f"{self.display_name}: expected a list of {len(self.input_shape)} input arrays, "
                                f"got {type(x).__name__}{f' of {len(x)}' if isinstance(x, (list, tuple)) else ''}.")
            if len({len(a) for a in x if hasattr(a, "shape")}) > 1:
                raise ValueError(f"{self.display_name}: expected inputs with the same number of examples, got "
                                 f"{[len(a) for a in x]}.")
            for k, (a, shape) in enumerate(zip(x, self.input_shape)):
                _check_array_shape(a, shape, self.xp, f"{self.display_name} (input {k})")
            return
        _check_array_shape(x, self.input_shape, self.xp, self.display_name)

    # -- weights and description -------------------------------------------------------
    @property
    def display_name(self):
        return self.name or type(self).__name__

    @property
    def weights(self):
        """The weights in Keras order (kernel before bias): views of θ with Keras's Variable attributes
        (``.numpy()``, ``.name``, ``.path``, ``.trainable``, ``.assign``; :class:`~netfit.layers.weight.Weight`)."""
        flags = self.trainable_flags() if self.specs else []
        return [Weight.of(self.params[spec.name], spec.name.rsplit("/", 1)[-1], f"{self.display_name}/{spec.name}",
                          flag) for spec, flag in zip(self.specs, flags)]

    @property
    def trainable_weights(self):
        """The weights training moves, in ``weights`` order (Keras's ``layer.trainable_weights``)."""
        return [w for w, flag in zip(self.weights, self.trainable_flags()) if flag]

    @property
    def non_trainable_weights(self):
        """The other weights (``trainable=False``, a frozen layer's), in ``weights`` order."""
        return [w for w, flag in zip(self.weights, self.trainable_flags()) if not flag]

    #: Keras 3's names for the same lists.
    variables = weights
    trainable_variables = trainable_weights
    non_trainable_variables = non_trainable_weights

    def count_params(self):
        return sum(spec.size for spec in self.specs)

    def count_links(self):
        """Connections (multiplications per example); differs from weights when they are shared."""
        return self.count_params()

    def get_weights(self):
        return [np.array(backend.to_host(w)) for w in self.weights]

    def set_weights(self, weights):
        """Copy ``weights`` (Keras order and shapes) into the layer."""
        if len(weights) != len(self.specs):
            raise ValueError(f"{self.display_name}.set_weights: expected {len(self.specs)} arrays "
                             f"({', '.join(s.name for s in self.specs)}), got {len(weights)}.")
        for spec, w in zip(self.specs, weights):
            w = np.asarray(w)
            if w.shape != spec.shape:
                raise ValueError(f"{self.display_name}.set_weights: expected {spec.name} of shape "
                                 f"{spec.shape}, got {w.shape}.")
            self.params[spec.name][...] = backend.to_device(w, self.params[spec.name])

    def get_config(self):
        """Constructor arguments as JSON-able values; ``type(self)(**config)`` rebuilds it.

        A layer of your own that does not override it gets Keras 3's auto-config: the
        arguments its constructor was called with, when all are plain values; else
        NotImplementedError asks for a ``get_config`` (Keras's rule).
        """
        config = {"name": self.name}
        if not self.trainable:
            config["trainable"] = False
        if self.input_shape is not None and not self.built:
            config["input_shape"] = list(self.input_shape)
        if "_auto_config" in self.__dict__ and not custom.defined_below(type(self), "get_config"):
            config = _with_auto_config(self, config)
        return config

    @classmethod
    def from_config(cls, config):
        """``cls(**config)`` (Keras's default); a failure names the class and the config."""
        try:
            return cls(**config)
        except TypeError as exc:
            if cls.__module__.startswith("netfit."):
                raise
            raise TypeError(f"Error when deserializing class {cls.__name__!r} using config={config}.\n\n"
                            f"Exception encountered: {exc}. Make get_config() return every argument of "
                            f"{cls.__name__}.__init__, or define a from_config(cls, config) classmethod.") from None

    def get_build_config(self):
        """Keras's ``{"input_shape": (None, ...)}`` of a built layer (None unbuilt); :meth:`build_from_config` reads it."""
        if not self.built or self.input_shape is None:
            return None
        shape = self.input_shape
        return {"input_shape": [[None, *s] for s in shape] if self.multiple_inputs else [None, *shape]}

    def build_from_config(self, config):
        """Build the layer (fresh weights) for :meth:`get_build_config`'s input shape, as Keras's does."""
        shape = (config or {}).get("input_shape")
        if shape is not None and not self.built:
            self.build(tuple(shape) if not self.multiple_inputs else [tuple(s) for s in shape])

    # -- Keras's weights as attributes: layer.kernel, layer.bias -------------------------------------
    def __getattr__(self, name):
        # Only reached when normal lookup fails: a built-in layer's weight by its name (Dense.kernel, .bias,
        # BatchNormalization.gamma, ...), as a netfit.ops.Variable whose .assign writes the layer's weight.
        if name in _CORE_ATTRIBUTES and "_nodes" not in self.__dict__ and type(self).__module__.split(".")[0] != "netfit":
            raise AttributeError(f"{type(self).__name__}: the layer was not initialized (no {name!r}): call "
                                 f"super().__init__(**kwargs) first in {type(self).__name__}.__init__, as Keras "
                                 f"requires.")
        if name.startswith("_") or type(self).call is not None:
            raise AttributeError(f"{type(self).__name__!s} object has no attribute {name!r}")
        specs, params = self.__dict__.get("specs") or (), self.__dict__.get("params") or {}
        if name in params and any(spec.name == name for spec in specs):
            return custom.make_variable(self, name, True)
        raise AttributeError(f"{type(self).__name__!s} object has no attribute {name!r}")

    def __repr__(self):
        return f"{type(self).__name__}(name={self.name!r}, output_shape={self.output_shape})"


class ActivatedLayer(Layer):
    """A layer computing a = σ(z) after its own linear map z (Dense, Conv2D, ...).

    Subclasses call ``self.activate(z, call)`` at the end of ``forward`` and
    ``self.activation_backward(delta, call)`` at the start of ``backward``.
    When the loss folds σ' into its gradient (softmax with cross-entropy, sigmoid
    with binary cross-entropy) the model sets ``call.fused``; the logits z stay in
    ``call.z`` for the loss.
    """

    def __init__(self, activation=None, **kwargs):
        super().__init__(**kwargs)
        self.activation = activations.get(activation)

    def activate(self, z, call):
        """a = σ(z), keeping z and a in ``call`` for σ'."""
        call.z = z
        act = self.activation
        call.a = z if act.name == "linear" else _by_rows(act.forward, (z,), call.buffer("a", z.shape, z.dtype))
        return call.a

    def activation_backward(self, delta, call):
        """δ ⊙ σ'(z): the error at z, from the error δ at a."""
        if call.fused or self.activation.name == "linear":
            return delta
        return _by_rows(self.activation.backward, (delta, call.z, call.a), call.buffer("dz", delta.shape, delta.dtype))

    def get_config(self):
        act = self.activation                  # a function of your own: Keras 3's {"class_name": "function", ...}
        return {**super().get_config(), "activation": act.to_config() if hasattr(act, "to_config") else act.name}


def _by_rows(fn, args, out):
    """out = fn(*args, out=out), in blocks of examples on the fit's threads (:mod:`netfit.parallel`).

    σ and σ' act on each example's row alone, so any split gives the same bits; but
    softmax sums its rows one way for many rows and another for few, so its blocks
    are not exact (deterministic mode runs it whole).
    """
    if parallel.workers() == 1:                  # outside fit's pool, and on a GPU: one call, fn's own result
        return fn(*args, out=out)

    def block(lo, hi):
        part = out[lo:hi]
        result = fn(*(a[lo:hi] for a in args), out=part)
        if result is not part:
            part[...] = result
    parallel.rows(block, out.shape[0], out.size, exact=getattr(getattr(fn, "__self__", None), "name", None) != "softmax")
    return out


def _check_array_shape(x, shape, xp, where):
    """Raise a clear error unless x is an array of ``xp`` of shape (n, *shape)."""
    if not isinstance(x, xp.ndarray):
        raise TypeError(f"{where}: expected input a NumPy array, got {type(x).__name__}; "
                        f"convert it with np.asarray(x, dtype='float32').")
    if x.shape[1:] != shape:
        raise ValueError(f"{where}: expected input of shape (n, {', '.join(map(str, shape))}), "
                         f"got array of shape {x.shape}.")


def _check_shapes(shapes, where):
    """A list of per-example shapes, for a layer of several inputs: at least two, each checked."""
    if isinstance(shapes, tuple) and shapes and all(isinstance(d, (int, np.integer)) for d in shapes):
        raise ValueError(f"{where}: expected a list of input shapes (one per input; the layer merges two or "
                         f"more tensors), got the single shape {shapes!r}.")
    if not isinstance(shapes, (list, tuple)) or len(shapes) < 2:
        raise ValueError(f"{where}: expected a list of two or more input shapes, got {shapes!r}.")
    return [_check_shape(s, where) for s in shapes]


def _check_shape(shape, where, name="input_shape"):
    """Return ``shape`` as a tuple of ints, refusing strings, fractions and sizes below 1."""
    if isinstance(shape, (int, np.integer)) and not isinstance(shape, (bool, np.bool_)):
        shape = (int(shape),)
    if isinstance(shape, (str, bytes)) or not hasattr(shape, "__iter__") or not all(
            isinstance(d, (int, np.integer)) and not isinstance(d, (bool, np.bool_)) for d in shape):
        raise TypeError(f"{where}: expected {name} a tuple of positive integers, got {shape!r}.")
    shape = tuple(int(d) for d in shape)
    if not shape or min(shape) < 1:
        raise ValueError(f"{where}: expected input_shape a tuple of positive integers, got {shape!r}.")
    return shape


def auto_name(layer, taken, base=None):
    """Keras-style unique name: dense, dense_1, ... within one model (``base`` instead of the class's name)."""
    base = base or _snake(type(layer).__name__)
    name, k = base, 0
    while name in taken:
        k += 1
        name = f"{base}_{k}"
    return name


_PLAIN = (str, int, float, bool, type(None))


def _plain(value):
    if isinstance(value, (list, tuple)):
        return all(_plain(v) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and _plain(v) for k, v in value.items())
    return isinstance(value, _PLAIN) and not isinstance(value, np.generic)


def _auto_config(cls, args, kwargs):
    """The constructor's arguments by name when all are plain values (Keras 3's ``_auto_config``), else None."""
    try:
        bound = inspect.signature(cls.__init__).bind(None, *args, **kwargs)
    except (TypeError, ValueError):
        return None
    values = {}
    for key, value in list(bound.arguments.items())[1:]:
        kind = inspect.signature(cls.__init__).parameters[key].kind
        if kind == inspect.Parameter.VAR_KEYWORD:
            values.update(value)
        elif kind == inspect.Parameter.VAR_POSITIONAL:
            return None
        else:
            values[key] = value
    values = {k: list(v) if isinstance(v, tuple) else v for k, v in values.items()}
    return values if _plain(values) else None


def _with_auto_config(layer, base):
    auto = layer.__dict__.get("_auto_config")
    if auto is None:
        raise NotImplementedError(
            f"Object {type(layer).__name__} was created by passing non-serializable argument values in "
            f"`__init__()`, and therefore the object must override `get_config()` in order to be serializable. "
            f"Please implement `get_config()`.\n\nExample:\n\n"
            f"class CustomLayer(keras.layers.Layer):\n    def __init__(self, arg1, arg2, **kwargs):\n"
            f"        super().__init__(**kwargs)\n        self.arg1 = arg1\n        self.arg2 = arg2\n\n"
            f"    def get_config(self):\n        config = super().get_config()\n"
            f"        config.update({{\"arg1\": self.arg1, \"arg2\": self.arg2}})\n        return config")
    config = {**base, **auto}
    params = inspect.signature(type(layer).__init__).parameters
    if not any(p.kind == p.VAR_KEYWORD for p in params.values()):     # Keras drops base keys __init__ does not take
        config = {k: v for k, v in config.items() if k in params}
    return config


def _batch_first(shape):
    """True for Keras's shape with the batch axis, (None, d1, ...), or a list of such shapes."""
    if isinstance(shape, (list, tuple)) and shape and shape[0] is None:
        return True
    return isinstance(shape, list) and bool(shape) and all(
        isinstance(s, (list, tuple)) and s and s[0] is None for s in shape)


def _keras_build_entry(build):
    """A built-in layer's ``build``, also taking Keras's ``(None, ...)`` from user code (netfit's own
    ``_build`` passes one example's shape, which never holds None)."""
    def keras_entry(self, input_shape, *args, **kwargs):
        if not _batch_first(input_shape):
            return build(self, input_shape, *args, **kwargs)
        several = isinstance(input_shape, list) and all(isinstance(s, (list, tuple)) for s in input_shape)
        shape = [tuple(s[1:]) for s in input_shape] if several else tuple(input_shape[1:])
        if not self.built:
            self.setup(shape, rng=np.random.default_rng(new_seed()))
        elif not self._fits_shape(list(shape) if several else shape):
            raise ValueError(f"{self.display_name}.build: the layer is built for {self.input_shape}, got "
                             f"{input_shape!r}.")
        return None
    keras_entry.__name__, keras_entry.__doc__, keras_entry.__wrapped__ = build.__name__, build.__doc__, build
    return keras_entry


Layer.build = _keras_build_entry(Layer.__dict__["build"])
