"""Sequential: a stack of layers trained by back-propagation, with Keras's names.

The training step is the lecture's algorithm, written out:

    forward   a = x;  a = layer.forward(a) for each layer        (z_m, then f_k)
    loss      δ = ∂R/∂f  (the batch mean is taken in the loss)    (δ_i)
    backward  δ = layer.backward(δ) for each layer, top down     (s_im, then lower)
    update    θ ← θ − γ_r · direction(∂R/∂θ)                      (optimizer)

All weights live in one flat vector θ (each layer's ``params`` are views into
it) and all gradients in one vector of the same layout, so the optimizer's
step is a few vector operations whatever the depth of the net. A Sequential is
a :class:`netfit.Model` whose graph is a chain: it shares the Model's
compile, fit, evaluate, predict, weights and files, and runs its chain as
above, without the graph's bookkeeping.
"""
import contextlib

from . import precision
from .config import dtype as default_dtype
from .layers import conv_pool
from .layers._patches import check_image_layout
from .layers.base import ActivatedLayer, Layer, auto_name
from .layers.input import InputLayer
from .layers.node import Tensor
from .layout import block_size
from . import custom_objects as custom_objects_mod
from .model import _MODEL_CLASSES, Model, _layer_from_spec, _Records, _shape_hint, layer_entry
from .stack import LayerStack
from .utils import check_array

__all__ = ["Sequential"]


class Sequential(Model):
    """A linear stack of layers: ``Sequential([Input(shape=(28, 28)), Flatten(), Dense(10)])``.

    Parameters
    ----------
    layers : list of Layer
        Optionally led by :func:`netfit.Input` (Keras 3's way to give the input
        shape; the same as the first layer's ``input_shape=``).
    name : str, optional
        "sequential" when omitted; an unnamed model nested twice in one model is renamed
        "sequential_1", ... there, as Keras names them.
    seed : int, optional
        Seed of the initial weights, the shuffling and dropout. Drawn from
        :func:`netfit.utils.set_random_seed`'s source when omitted.
    dtype : "float32" or "float64", optional
        Float type of weights and computation; ``nf.config.floatx()`` when omitted.

    A layer that already has weights (trained in another model) keeps them; the
    models then share them (:mod:`netfit.layout`).

    Examples
    --------
    >>> import netfit as nf
    >>> from netfit.layers import Dense
    >>> model = nf.Sequential([Dense(4, activation="tanh", input_shape=(3,)), Dense(1)], seed=0)
    >>> model.count_params()
    21
    """

    _kind = "Sequential"
    pop = LayerStack.pop                 # Keras's Sequential.pop (a graph model has none)

    def __init__(self, layers=None, name=None, seed=None, dtype=None, trainable=True):
        if layers is not None and (isinstance(layers, (Layer, str, Tensor)) or not hasattr(layers, "__iter__")):
            raise TypeError(f"Sequential: expected layers a list of netfit Layers, got {type(layers).__name__}; "
                            f"wrap a single layer in a list: Sequential([layer]).")
        self._init_model(name if name is not None else "sequential", seed, dtype, "Sequential")
        self._auto_named = name is None          # nested in another model, it is renamed sequential_1, ... there
        self._input = None                         # an Input(shape=...) given before the first layer
        for layer in layers or []:
            self.add(layer)
        if trainable is not True:
            self.trainable = trainable

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
        if isinstance(layer, Tensor) and isinstance(layer.node.layer, InputLayer):
            layer = layer.node.layer
        if isinstance(layer, InputLayer):
            self._add_input(layer)
            return
        if not isinstance(layer, Layer):
            raise TypeError(f"Sequential.add: expected a netfit Layer, got {type(layer).__name__}.")
        if layer in self.layers:
            raise ValueError(f"Sequential.add: layer {layer.display_name} is already in the model.")
        if layer.name is None:
            layer.name = auto_name(layer, {l.name for l in self.layers})
        elif layer.name in {l.name for l in self.layers} and getattr(layer, "_auto_named", False):
            layer.name = auto_name(layer, {l.name for l in self.layers}, base=layer.name)   # sequential_1
        elif layer.name in {l.name for l in self.layers}:
            raise ValueError(f"Sequential.add: a layer named {layer.name!r} is already in the model.")
        if self._input is not None and not self.layers and not isinstance(layer, Model):
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
            raise ValueError(f"Sequential.add: Input(shape={spec.shape}) must come first, before any layer, and "
                             f"only once; the model's input shape is already "
                             f"{self._input.shape if self._input is not None else self.layers[0].input_shape}.")
        self._input = spec
        if self._requested_dtype is None and spec.dtype is not None and spec.dtype.kind == "f":
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
        shape = input_shape if input_shape is not None else self._declared_input_shape()
        if shape is None:
            raise ValueError("Sequential.build: the input shape is unknown; give the first layer "
                             "input_shape=(...), or call build(input_shape) or fit(x, y).")
        # A build that fails (a layer refuses the shape) leaves the layers as they were,
        # so that a call with the wrong data does not pin a wrong input shape.
        check_image_layout(self.layers, tuple(shape))               # (3, 32, 32) into a Conv2D: channels-first
        declared = [(layer.input_shape, layer.built) for layer in self.layers if not isinstance(layer, Model)]
        try:
            for layer in self.layers:
                shape = layer._build(shape)
        except BaseException:
            _restore_shapes([layer for layer in self.layers if not isinstance(layer, Model)], declared)
            raise
        self.dtype = self._requested_dtype or default_dtype()
        self._chain = None                          # the symbolic chain, made anew when asked for
        self._lay_out()
        self._offsets = [self._offset_of.get(layer, 0) for layer in self.layers]
        # Layers below the lowest one with weights need no error signal at all.
        with_weights = [i for i, layer in enumerate(self.layers) if layer.count_params()]
        self._lowest_trained = with_weights[0] if with_weights else len(self.layers)
        self._finish_build()

    # -- as a layer of another model ------------------------------------------------------------
    def _build(self, input_shape):
        """The layers' shapes for examples of ``input_shape``; the weights come when the outer model lays them out."""
        input_shape = tuple(input_shape)
        declared = self._declared_input_shape() if self.layers else None
        if declared is not None and tuple(declared) != input_shape:
            raise ValueError(f"{self.display_name}: called on input shape {input_shape}, but its input is "
                             f"{tuple(declared)}.")
        if self.built:
            return self._example_output_shape()
        simple = [layer for layer in self.layers if not isinstance(layer, Model)]
        saved = [(layer.input_shape, layer.built) for layer in simple]
        shape = input_shape
        try:
            for layer in self.layers:
                shape = layer._build(shape)
        except BaseException:
            _restore_shapes(simple, saved)
            raise
        return shape

    def _fits_shape(self, shape):
        declared = self._declared_input_shape() if self.layers else None
        return declared is None or tuple(declared) == tuple(shape)

    def _output_shapes(self):
        return [self._example_output_shape()]

    def _declared_input_shape(self):
        if self._input is not None:
            return self._input.shape
        first = self.layers[0]
        return first.inputs[0].example_shape if isinstance(first, Model) else first.input_shape

    def _weight_order(self):
        return list(self.layers)

    def _graph_layers(self):
        found = []
        for layer in self.layers:
            found.append(layer)
            if isinstance(layer, Model):
                found += layer._graph_layers()
        return found

    def _record_layers(self):
        return self.layers

    @property
    def input_shape(self):
        shape = self._declared_input_shape() if self.layers else None
        return (None,) + tuple(shape) if shape else None

    @property
    def output_shape(self):
        self._ensure_built()
        return (None,) + self._example_output_shape()

    def _example_output_shape(self, k=0):
        last = self.layers[-1]
        return last._example_output_shape() if isinstance(last, Model) else last.output_shape

    @property
    def inputs(self):
        """Keras's ``model.inputs``: the input tensor of the chain of layer calls (made when first asked for).

        With it every layer has its ``input`` and ``output`` tensors, so that
        ``nf.Model(inputs=model.inputs, outputs=[layer.output for layer in model.layers])``
        extracts every layer's features, as in Keras.
        """
        return [self._symbolic()[0]]

    @property
    def outputs(self):
        """Keras's ``model.outputs``: the last layer's output tensor in the chain of calls."""
        return [self._symbolic()[-1]]

    def _symbolic(self):
        """The chain of symbolic calls of the layers on the input (the tensors, input first)."""
        self._ensure_built()
        if getattr(self, "_chain", None) is None:
            tensor = (self._input or InputLayer(shape=self._declared_input_shape(), dtype=self._requested_dtype)).output
            chain = [tensor]
            for layer in self.layers:
                chain.append(layer(chain[-1]))
            self._chain = chain
        return self._chain

    def count_params(self):
        self._ensure_built()
        return sum(layer.count_params() for layer in self.layers)

    def count_links(self):
        """Connections, counting a shared weight once per use (ESL Table 11.1's "links")."""
        self._ensure_built()
        return sum(layer.count_links() for layer in self.layers)

    def _output_chain(self, k=0):
        return self.layers

    @property
    def output_names(self):
        return [self.layers[-1].name] if self.layers else ["output"]

    @property
    def input_names(self):
        return [self._input.name if self._input is not None else "input"]

    def _bind_training(self):
        last = self.layers[-1]
        self._fused = [isinstance(last, ActivatedLayer) and last.activation.name == self.loss.fuses_with]
        self._calls = self._new_calls()
        self.optimizer.build(self._theta, self._decay)
        self._theta_good = self._theta.copy()

    # -- records of calls, and the chain -------------------------------------------------------------
    def _new_calls(self, grad=None, training=True, inputs_want_delta=False):
        """One record per layer for one thread's passes; backward writes ∂R/∂θ into ``grad``.

        ``grad``: a vector of θ's layout, the model's own ``_grad`` by default (fit's
        share s ≥ 1 brings its own, :mod:`netfit.replicas`). The first layer with
        weights computes no s (unless the model is a layer whose input needs it); with
        ``training`` and a fused loss the last layer skips σ'.
        """
        grad = self._grad if grad is None else grad
        lowest = -1 if inputs_want_delta else self._lowest_trained
        calls = [layer.new_call(layer.views(grad[offset:offset + block_size(layer)]), need_input_grad=i > lowest)
                 for i, (layer, offset) in enumerate(zip(self.layers, self._offsets))]
        calls[-1].fused = training and getattr(self, "_fused", [False])[0]
        return _Records(calls, None)

    def _forward(self, a, training, calls):
        """a through every layer, each call keeping what its backward needs in its record ``calls[i]``.

        In inference (records that no backward pass follows: ``calls.no_backward``) a Conv2D
        and the MaxPooling2D after it run as one pass where they can (:mod:`netfit.layers.conv_pool`:
        the same numbers, fewer trips through memory).
        """
        layers = self.layers
        if training or not getattr(calls, "no_backward", False):
            for layer, call in zip(layers, calls):
                a = layer.forward(a, training, call)
            return a
        i = 0
        while i < len(layers):
            if i + 1 < len(layers) and conv_pool.fusable(layers[i], layers[i + 1]):
                a = conv_pool.forward_pooled(layers[i], layers[i + 1], a, calls[i], calls[i + 1])
                i += 2
            else:
                a = layers[i].forward(a, False, calls[i])
                i += 1
        return a

    def _backprop(self, calls, delta):
        """δ down through the layers, top down, each writing its gradients where its record ``calls[i]`` says.

        Each layer's s is the δ of the layer below; the lowest layer that learns sends none (None), and
        the loop ends there.
        """
        for layer, call in zip(reversed(self.layers), reversed(calls)):
            delta = layer.backward(delta, call)
            if delta is None:
                break
        return delta

    def _output_record(self, calls, k=0):
        return calls[-1]

    # -- description -----------------------------------------------------------------------
    def get_config(self):
        self._ensure_built()
        return {"name": self.name, "seed": self.seed, "dtype": self.dtype.name,
                "input_shape": list(self._declared_input_shape()),
                "layers": [layer_entry(l) for l in self.layers]}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        """Rebuild an (unbuilt weights, freshly initialized) model from :meth:`get_config`; layers of your own
        from ``custom_objects``, the active ``custom_object_scope`` or the registry (:mod:`netfit.custom_objects`)."""
        where = f"{cls.__name__}.from_config"
        with custom_objects_mod.given(custom_objects, where):
            layers = [_layer_from_spec(i, spec, where) for i, spec in enumerate(config["layers"])]
        model = cls(layers, name=config.get("name", "sequential"), seed=config.get("seed"), dtype=config.get("dtype"))
        model.build(tuple(config["input_shape"]))
        return model

    # -- checks ------------------------------------------------------------------------------
    @contextlib.contextmanager
    def _unbuilt_if_refused(self):
        """A call refused before any step leaves an unbuilt model unbuilt, not pinned to its x's shape."""
        if self.built:
            yield
            return
        simple = [layer for layer in self.layers if not isinstance(layer, Model)]
        declared = [(layer.input_shape, layer.built) for layer in simple]
        steps = getattr(getattr(self, "optimizer", None), "iterations", None)
        try:
            yield
        except (ValueError, TypeError):
            if self.built and self.optimizer.iterations == steps:     # after a step, trained weights stay
                _restore_shapes(simple, declared)
                self.built = False
            raise

    def _entry_layer(self, k=0):
        return self.layers[0]

    def _check_x(self, x, where):
        x = check_array(x, where, "x", fits=self.dtype if self.built else (self._requested_dtype or default_dtype()))
        if not self.layers:
            raise ValueError(f"{where}: the model has no layers; add some first.")
        if not self.built and self._declared_input_shape() is None and x.ndim == 1:
            # Without an input_shape a 1-D x would build layers for examples of shape (): say what to do.
            raise ValueError(f"{where}: expected x of shape (n, features), got a 1-D array of shape {x.shape}; "
                             f"for one feature per example use `x = x.reshape(-1, 1)`, for one example with "
                             f"{x.shape[0]} features use `x = x[None]`.")
        if not self.built:
            with self._building:                    # two threads' first predict build it once
                if not self.built:
                    self.build(self._declared_input_shape() or x.shape[1:])
        expected = tuple(self._declared_input_shape())
        if x.shape[1:] != expected:
            raise ValueError(f"{where}: expected x of shape (n, {', '.join(map(str, expected))}), "
                             f"got array of shape {x.shape}.{_shape_hint(x, expected)}")
        precision.warn_if_collapsed(x, self.dtype, self.layers[0], where)
        return x


def _restore_shapes(layers, declared):
    for layer, (shape, built) in zip(layers, declared):
        layer.input_shape, layer.built = shape, built


_MODEL_CLASSES["Sequential"] = Sequential
