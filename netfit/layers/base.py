"""The Layer contract: forward and backward side by side, weights in Keras layouts.

A layer maps a batch ``x`` of shape (n, *input_shape) to ``a`` of shape
(n, *output_shape). ``backward(delta)`` takes δ = ∂R/∂a, fills ``grads`` (same
keys as ``params``) with ∂R/∂θ, and returns s = ∂R/∂x, which becomes the δ of
the layer below. The model asks the first layer not to compute s.

Life cycle, as in Keras (config → build → call):

1. ``__init__`` stores the configuration only;
2. ``build(input_shape)`` (subclasses) checks the per-example input shape,
   declares weights with :meth:`add_weight` and returns the output shape;
3. ``attach(params, grads)`` lays the weights out as views into flat buffers
   owned by the model (so an optimizer step is a few vector operations), and
   ``initialize(rng)`` fills them;
4. ``forward`` / ``backward`` run many times, reusing scratch buffers.

``setup(input_shape, rng)`` does 2–3 in one call for a layer used on its own.
Arrays returned by ``forward``/``backward`` may be scratch buffers that the
next call overwrites: copy them if you keep them.
"""
import math
import re

import numpy as np

from .. import activations, backend, initializers, parallel
from ..config import dtype as _default_dtype
from ..keras_args import GuardedAttributes, own_arguments, refuse


class WeightSpec:
    """What ``add_weight`` declared: name, shape, initializer, fans, decayed or not."""

    __slots__ = ("name", "shape", "initializer", "fan_in", "fan_out", "decay")

    def __init__(self, name, shape, initializer, fan_in, fan_out, decay):
        self.name, self.shape, self.initializer = name, tuple(shape), initializer
        self.fan_in, self.fan_out, self.decay = fan_in, fan_out, decay

    @property
    def size(self):
        return math.prod(self.shape)


def _snake(name):
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower().replace("2_d", "2d")


class Layer(GuardedAttributes):
    """Base class of all layers. Subclasses implement build, forward, backward, get_config.

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

    #: Keras arguments of this class that netfit lacks, refused with the replacement unless "off" (keras_args).
    keras_only = ("activity_regularizer", "dtype", "autocast", "batch_input_shape", "weights")

    #: True for layers whose forward depends on a random generator (Dropout).
    needs_rng = False
    #: True for layers whose training pass mixes the examples of a batch (BatchNormalization's batch
    #: statistics): fit then never cuts a batch into shares for threads (netfit.replicas).
    whole_batch = False
    #: True for layers whose forward and backward run on a GPU (CuPy) as written (docs/gpu.md).
    runs_on_gpu = False
    #: The device of the layer's weights (set by ``attach``); ``xp`` is its array module.
    _device = backend.CPU

    @property
    def xp(self):
        """The array module of the layer's weights: numpy, or cupy on a GPU."""
        return self._device.xp

    def __init__(self, *, input_shape=None, name=None, trainable=True, input_dim=None, **keras):
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
        self._scratch = {}

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
        return [self._trainable and spec.name not in self.non_trainable for spec in self.specs]

    # -- build -----------------------------------------------------------------------
    def build(self, input_shape):
        """Declare weights for per-example ``input_shape``; return the output shape."""
        return input_shape

    def add_weight(self, name, shape, initializer="zeros", *, fan_in=None, fan_out=None, decay=False):
        """Declare a weight; ``decay=True`` puts it under the L2 penalty (kernels)."""
        self.specs.append(WeightSpec(name, shape, initializers.get(initializer), fan_in, fan_out, decay))

    def attach(self, params=None, grads=None, dtype=None):
        """Lay the declared weights out as views of flat ``params``/``grads`` buffers.

        Without buffers the layer allocates its own (float type ``dtype``).
        """
        size = sum(spec.size for spec in self.specs)
        if params is None:
            params = np.zeros(size, dtype or _default_dtype())
            grads = np.zeros(size, params.dtype)
        offset = 0
        self._device = backend.device_of(params)
        self.params, self.grads = {}, {}
        for spec in self.specs:
            part = slice(offset, offset + spec.size)
            self.params[spec.name] = params[part].reshape(spec.shape)
            self.grads[spec.name] = grads[part].reshape(spec.shape)
            offset += spec.size
        self._scratch = {}

    def initialize(self, rng):
        """Fill the weights from their initializers, drawing from ``rng``."""
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
        input_shape = _check_shape(input_shape, self.display_name)
        if self.input_shape is not None and self.input_shape != input_shape:
            raise ValueError(f"{self.display_name}: declared input_shape={self.input_shape}, "
                             f"but the layer below produces {input_shape}.")
        self.specs = []
        self.input_shape = input_shape
        self.output_shape = tuple(self.build(input_shape))
        self.built = True
        return self.output_shape

    # -- run -------------------------------------------------------------------------
    def forward(self, x, training=False):
        """a = layer(x). Shapes: (n, *input_shape) -> (n, *output_shape)."""
        raise NotImplementedError

    def backward(self, delta, need_input_grad=True):
        """Fill ``grads`` from δ = ∂R/∂a; return s = ∂R/∂x (None if not needed)."""
        raise NotImplementedError

    def buffer(self, key, shape, dtype):
        """A reusable scratch array of ``shape``; grown when a larger batch comes."""
        buf = self._scratch.get(key)
        if buf is None or buf.shape[1:] != tuple(shape[1:]) or buf.shape[0] < shape[0] or buf.dtype != dtype:
            buf = self.xp.empty(shape, dtype)
            self._scratch[key] = buf
        return buf[: shape[0]]

    def sum_rows(self, m, out):
        """out = Σ_i m[i, :], as the product 1ᵀm: BLAS sums a tall matrix ~4× faster than np.sum(axis=0).

        Shapes
        ------
        m : (rows, k), out : (k,)
        """
        ones = self.buffer("ones", (m.shape[0],), m.dtype)
        ones.fill(1)
        return self.xp.matmul(ones, m, out=out)

    def check_input(self, x):
        """Raise a clear error unless x is (n, *input_shape)."""
        if not isinstance(x, self.xp.ndarray):
            raise TypeError(f"{self.display_name}: expected input a NumPy array, got {type(x).__name__}; "
                            f"convert it with np.asarray(x, dtype='float32').")
        if x.shape[1:] != self.input_shape:
            raise ValueError(f"{self.display_name}: expected input of shape (n, "
                             f"{', '.join(map(str, self.input_shape))}), got array of shape {x.shape}.")

    # -- weights and description -------------------------------------------------------
    @property
    def display_name(self):
        return self.name or type(self).__name__

    @property
    def weights(self):
        """The weight arrays in Keras order (kernel before bias)."""
        return [self.params[spec.name] for spec in self.specs]

    def count_params(self):
        return sum(spec.size for spec in self.specs)

    def count_links(self):
        """Connections (multiplications per example); differs from weights when they are shared."""
        return self.count_params()

    def get_weights(self):
        return [backend.to_host(w).copy() for w in self.weights]

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
        """Constructor arguments as JSON-able values; ``type(self)(**config)`` rebuilds it."""
        config = {"name": self.name}
        if not self.trainable:
            config["trainable"] = False
        if self.input_shape is not None and not self.built:
            config["input_shape"] = list(self.input_shape)
        return config

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        return f"{type(self).__name__}(name={self.name!r}, output_shape={self.output_shape})"


class ActivatedLayer(Layer):
    """A layer computing a = σ(z) after its own linear map z (Dense, Conv2D, ...).

    Subclasses call ``self.activate(z)`` at the end of ``forward`` and
    ``self.activation_backward(delta)`` at the start of ``backward``.
    ``fused_output`` is set by the model when the loss folds σ' into its
    gradient (softmax with cross-entropy, sigmoid with binary cross-entropy).
    """

    def __init__(self, activation=None, **kwargs):
        super().__init__(**kwargs)
        self.activation = activations.get(activation)
        self.fused_output = False

    def activate(self, z):
        """a = σ(z), keeping what σ' will need."""
        self._z = z
        act = self.activation
        self._a = z if act.name == "linear" else _by_rows(act.forward, (z,), self.buffer("a", z.shape, z.dtype))
        return self._a

    def activation_backward(self, delta):
        """δ ⊙ σ'(z): the error at z, from the error δ at a."""
        if self.fused_output or self.activation.name == "linear":
            return delta
        return _by_rows(self.activation.backward, (delta, self._z, self._a),
                        self.buffer("dz", delta.shape, delta.dtype))

    def get_config(self):
        return {**super().get_config(), "activation": self.activation.name}


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


def auto_name(layer, taken):
    """Keras-style unique name: dense, dense_1, ... within one model."""
    base = _snake(type(layer).__name__)
    name, k = base, 0
    while name in taken:
        k += 1
        name = f"{base}_{k}"
    return name
