"""1-D layers as their 2-D relatives: a batch of sequences (n, L, C) is a batch of one-row images (n, 1, L, C).

Keras's 1-D layers compute what their 2-D relatives compute on an image one
row high, with windows one row high: Conv1D(f, k) is Conv2D(f, (1, k)),
MaxPooling1D(p) is MaxPooling2D((1, p)), ZeroPadding1D((a, b)) is
ZeroPadding2D(((0, 0), (a, b))). A 1-D layer here builds that relative (its
``_relative``) on the per-example shape (1, L, C) and runs it on views that add
or drop the row axis, so the window code, its speed and its GPU path are the
2-D layer's. A weight keeps Keras's 1-D layout: a (k, C, f) kernel is the
relative's (1, k, C, f) kernel without its leading axis, the same memory (both
layers view one flat buffer, :func:`attach_both`).

The relative shares the 1-D layer's record of a call (``call``): it keeps there
what its own backward reads, and writes the gradients into ``call.grads``
(which have the 1-D shapes; the relative reshapes what it writes). The 1-D
layer's activation is its own, so that ``call.z`` and ``call.a`` have the
shapes a loss and the model expect.
"""
import numpy as np

from ..config import dtype as _default_dtype
from .base import ActivatedLayer, Layer


def check_steps(where, input_shape):
    """(steps, channels) from a per-example input shape of rank 2, or a clear ValueError."""
    if len(input_shape) != 2:
        fix = f"; put Reshape(({input_shape[0]}, 1)) first" if len(input_shape) == 1 else ""
        raise ValueError(f"{where}: expected per-example input of shape (steps, channels), got input shape "
                         f"{tuple(input_shape)}{fix}.")
    return input_shape


def check_window(where, steps, size, padding, name="pool_size"):
    """Refuse a window longer than the sequence under padding="valid" (no window would fit)."""
    if padding == "valid" and size > steps:
        raise ValueError(f"{where}: expected at least {size} steps for {name} {size} with padding='valid', "
                         f"got {steps}; use padding='same' or a smaller {name}.")


def lift(layer, relative, input_shape):
    """Build ``relative`` on (1, *input_shape), declare its weights on ``layer`` without the row axis.

    Returns the relative's output shape. A kernel's leading 1 (the window's
    height) is dropped: (1, k, C, f) -> (k, C, f), (1, k, f, C) -> (k, f, C).
    """
    layer._relative_layer = relative
    shape = relative._build((1,) + tuple(input_shape))
    for spec in relative.specs:
        layer.add_weight(spec.name, spec.shape[1:] if spec.name == "kernel" else spec.shape, spec.initializer,
                         fan_in=spec.fan_in, fan_out=spec.fan_out, decay=spec.decay)
    return shape


def attach_both(layer, attach, params, grads, dtype):
    """``attach`` (the 1-D layer's own) and the relative's on the same flat buffers: two views of one θ."""
    if params is None:                                   # a layer used on its own: one buffer for both
        params = np.zeros(layer.count_params(), dtype or _default_dtype())
        grads = np.zeros_like(params)
    attach(params, grads)
    layer._relative_layer.attach(params, grads)


def per_example(x, shape):
    """x (n, …) viewed as (n, *shape): the row axis added or dropped, no copy."""
    return x.reshape((x.shape[0],) + tuple(shape))


class RowLayer(Layer):
    """A weightless 1-D layer run as its 2-D relative (pooling, padding, cropping, upsampling).

    Subclasses define ``_relative()`` (the 2-D layer, unbuilt) and may override
    ``_output_shape(shape)`` (default: the relative's output without its row axis).
    """

    runs_on_gpu = True

    def build(self, input_shape):
        steps, _ = check_steps(self.display_name, input_shape)
        self._check_steps(steps)
        return self._output_shape(lift(self, self._relative(), input_shape))

    def _check_steps(self, steps):
        """Refuse a sequence the layer cannot read (subclasses with windows)."""

    def _output_shape(self, shape):
        return shape[1:]

    def attach(self, params=None, grads=None, dtype=None):
        attach_both(self, super().attach, params, grads, dtype)

    def forward(self, x, training=False, call=None):
        call = self.record(call)
        self.check_input(x)
        inner = self._relative_layer
        a = inner.forward(per_example(x, inner.input_shape), training, call)
        return per_example(a, self.output_shape)                     # the row axis dropped (a view)

    def backward(self, delta, call=None):
        call = self.record(call)
        inner = self._relative_layer
        s = inner.backward(per_example(delta, inner.output_shape), call)      # the relative's s, (n, 1, L, C)
        return None if s is None else per_example(s, self.input_shape)


class RowConv(ActivatedLayer):
    """A 1-D convolution run as its 2-D relative (linear), then its own activation (Conv1D, Conv1DTranspose).

    ``self._front`` zero steps are put before each sequence first (Conv1D's
    causal padding; 0 otherwise), and dropped from s.
    """

    runs_on_gpu = True
    _front = 0

    def attach(self, params=None, grads=None, dtype=None):
        attach_both(self, super().attach, params, grads, dtype)

    def count_links(self):
        return self._relative_layer.count_links()

    def forward(self, x, training=False, call=None):
        call = self.record(call)
        self.check_input(x)
        inner = self._relative_layer
        if self._front:                                  # [0 … 0, x]: the first output sees only the first step
            padded = call.buffer("front", (x.shape[0],) + inner.input_shape[1:], inner.params["kernel"].dtype)
            padded[:, :self._front] = 0
            padded[:, self._front:] = x
            x = padded
        z = inner.forward(per_example(x, inner.input_shape), training, call)      # linear: z of the relative
        return self.activate(per_example(z, self.output_shape), call)

    def backward(self, delta, call=None):
        call = self.record(call)
        inner = self._relative_layer
        dz = self.activation_backward(delta, call)                         # δ ⊙ σ'(z)
        s = inner.backward(per_example(dz, inner.output_shape), call)         # ∂R/∂θ into call.grads, and s
        if s is None:
            return None
        s = per_example(s, inner.input_shape[1:])
        return s[:, self._front:] if self._front else s                    # the padded steps are constants
