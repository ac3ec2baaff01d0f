"""Activation as a layer of its own: a = σ(x), element by element (softmax: along an axis).

``Activation("relu")`` takes any name of :mod:`netfit.activations`; Keras's
activation layers ReLU, LeakyReLU, ELU and Softmax are the same layer with σ
fixed by their arguments, and PReLU learns the slope of its negative part.
"""
import numpy as np

from .. import activations, initializers
from ..utils import warn
from .base import ActivatedLayer, Layer


class Activation(ActivatedLayer):
    """Apply σ to the previous layer's output; no weights.

    Shapes
    ------
    x : (n, *shape)  ->  a : (n, *shape)

    Examples
    --------
    >>> import numpy as np
    >>> layer = Activation("relu"); layer.setup((2,))
    (2,)
    >>> layer.forward(np.array([[-1.0, 2.0]]))
    array([[0., 2.]])
    """

    blas_bound = True
    runs_on_gpu = True

    def __init__(self, activation, **kwargs):
        super().__init__(activation, **kwargs)

    def forward(self, x, training=False, call=None):
        call = self.record(call)
        self.check_input(x)
        return self.activate(x, call)

    def backward(self, delta, call=None):
        call = self.record(call)
        return self.activation_backward(delta, call) if call.need_input_grad else None


class ReLU(ActivatedLayer):
    """a = min(x, M) for x > θ, c (x − θ) for x ≤ θ: Keras's ``ReLU`` layer (plain max(x, 0) by default).

    σ' = 1 for θ < x < M, 0 for x ≥ M, c for x ≤ θ (see :class:`netfit.activations.Relu`).
    For θ > 0 the output jumps at θ, as Keras's does.

    Parameters
    ----------
    max_value : float ≥ 0 or None
        M, the cap (None: none; 6.0 is relu6).
    negative_slope : float ≥ 0
        c, the slope below the threshold.
    threshold : float ≥ 0
        θ, where the unit switches on.

    Shapes
    ------
    x : (n, *shape)  ->  a : (n, *shape)

    Examples
    --------
    >>> import numpy as np
    >>> ReLU(max_value=10, negative_slope=0.5)(np.array([[-10.0, -5.0, 0.0, 5.0, 10.0]]))
    array([[-5. , -2.5,  0. ,  5. , 10. ]])
    """

    blas_bound = True
    runs_on_gpu = False
    forward, backward = Activation.forward, Activation.backward       # a = σ(x); s = δ ⊙ σ'(x)

    def __init__(self, max_value=None, negative_slope=0.0, threshold=0.0, **kwargs):
        relu = activations.Relu(negative_slope=negative_slope, max_value=max_value, threshold=threshold)
        super().__init__(relu if relu.general else activations.get("relu"), **kwargs)   # the plain one is fastest
        self.max_value, self.negative_slope, self.threshold = relu.max_value, relu.negative_slope, relu.threshold

    def get_config(self):
        return {**Layer.get_config(self), "max_value": self.max_value, "negative_slope": self.negative_slope,
                "threshold": self.threshold}


class LeakyReLU(ActivatedLayer):
    """a = x for x ≥ 0, c x otherwise, with Keras 3's default c = 0.3; σ' = 1 or c.

    Keras 2's argument name ``alpha`` is taken as ``negative_slope`` with a
    warning, as Keras 3 does. (The activation *name* "leaky_relu" has Keras's
    0.2, the layer 0.3, as in Keras.)

    Parameters
    ----------
    negative_slope : float ≥ 0

    Shapes
    ------
    x : (n, *shape)  ->  a : (n, *shape)

    Examples
    --------
    >>> import numpy as np
    >>> LeakyReLU(negative_slope=0.5)(np.array([[-10.0, 0.0, 5.0]]))
    array([[-5.,  0.,  5.]])
    """

    blas_bound = True
    runs_on_gpu = False
    forward, backward = Activation.forward, Activation.backward       # a = σ(x); s = δ ⊙ σ'(x)

    def __init__(self, negative_slope=0.3, **kwargs):
        if "alpha" in kwargs:
            negative_slope = kwargs.pop("alpha")
            warn("LeakyReLU: argument `alpha` is deprecated (Keras 3); use `negative_slope` instead.",
                 DeprecationWarning)
        super().__init__(activations.LeakyRelu(negative_slope), **kwargs)
        self.negative_slope = self.activation.negative_slope

    def get_config(self):
        return {**Layer.get_config(self), "negative_slope": self.negative_slope}


class ELU(ActivatedLayer):
    """a = x for x > 0, α (e^x − 1) otherwise: Keras's ``ELU`` layer; σ' = 1 or a + α.

    Parameters
    ----------
    alpha : float
        α, the level the negative side tends to (−α); 1.0 as Keras.

    Shapes
    ------
    x : (n, *shape)  ->  a : (n, *shape)

    Examples
    --------
    >>> import numpy as np
    >>> ELU()(np.array([[-1.0, 0.0, 1.0]])).round(6)
    array([[-0.632121,  0.      ,  1.      ]])
    """

    blas_bound = True
    runs_on_gpu = False
    forward, backward = Activation.forward, Activation.backward       # a = σ(x); s = δ ⊙ σ'(x)

    def __init__(self, alpha=1.0, **kwargs):
        super().__init__(activations.Elu(alpha), **kwargs)
        self.alpha = self.activation.alpha

    def get_config(self):
        return {**Layer.get_config(self), "alpha": self.alpha}


class Softmax(ActivatedLayer):
    """a = e^x / Σ e^x along ``axis``; backward a ⊙ (δ − Σ δ ⊙ a) along it.

    The last axis is the classifier's softmax: as the last layer with a
    cross-entropy loss it is fused like ``Dense(..., activation="softmax")``
    (δ = (p − Y) / n). Another axis (Keras counts the batch as axis 0, which is
    refused) normalises along that one. Keras's ``mask`` call argument is not offered.

    Parameters
    ----------
    axis : int
        -1 (the last) by default, as Keras; a list of one axis is taken too.

    Shapes
    ------
    x : (n, *shape)  ->  a : (n, *shape)

    Examples
    --------
    >>> import numpy as np
    >>> Softmax()(np.array([[1.0, 2.0, 1.0]])).round(6)
    array([[0.211942, 0.576117, 0.211942]])
    """

    blas_bound = True
    runs_on_gpu = False
    forward, backward = Activation.forward, Activation.backward       # a = σ(x); s = δ ⊙ σ'(x)

    def __init__(self, axis=-1, **kwargs):
        if isinstance(axis, (list, tuple)) and len(axis) == 1:
            axis = axis[0]
        if isinstance(axis, (list, tuple)):
            raise ValueError(f"Softmax: expected axis one integer, got {axis!r}; a softmax over several axes "
                             f"at once is not offered: Reshape them into one axis first.")
        if isinstance(axis, (bool, np.bool_)) or not isinstance(axis, (int, np.integer)):
            raise TypeError(f"Softmax: expected axis an integer, got {axis!r}.")
        super().__init__("softmax", **kwargs)                          # over the last axis until build says otherwise
        self.axis = int(axis)

    def build(self, input_shape):
        rank = len(input_shape) + 1                                      # with the batch axis
        axis = self.axis + rank if self.axis < 0 else self.axis
        if not 1 <= axis < rank:
            raise ValueError(f"{self.display_name}: expected axis={self.axis} an axis of the input other than the "
                             f"batch's (0), got input shape {input_shape}.")
        self.activation = activations.get("softmax") if axis == rank - 1 else activations.Softmax(axis)
        return input_shape

    def get_config(self):
        return {**Layer.get_config(self), "axis": self.axis}


class PReLU(Layer):
    """a = x for x > 0, α ⊙ x otherwise, with α learned: Keras's ``PReLU`` layer.

    α has the shape of one example, with size 1 along each of ``shared_axes``
    (axes of the full tensor, 0 being the batch: ``shared_axes=[1, 2]`` gives one α
    per channel of an image, PyTorch's ``PReLU(num_parameters=channels)``).

        ∂R/∂x = δ for x > 0, α ⊙ δ otherwise (σ'(0) = α, as PyTorch; Keras's gives 0 at 0);
        ∂R/∂α = Σ over the batch and the shared axes of δ ⊙ min(x, 0).

    Parameters
    ----------
    alpha_initializer : str or Initializer
        "zeros" (Keras's default: the layer starts as a relu).
    alpha_regularizer, alpha_constraint : None
        Refused unless None (netfit has no regularizers or constraints).
    shared_axes : int, list of int or None

    Shapes
    ------
    x : (n, *shape)  ->  a : (n, *shape); alpha (*shape with shared axes 1)

    Examples
    --------
    >>> import numpy as np
    >>> layer = PReLU(alpha_initializer="ones", shared_axes=[1]); layer.setup((3, 2))
    (3, 2)
    >>> layer.params["alpha"].shape
    (1, 2)
    """

    def __init__(self, alpha_initializer="zeros", alpha_regularizer=None, alpha_constraint=None, shared_axes=None,
                 **kwargs):
        super().__init__(**kwargs)
        for name, value in (("alpha_regularizer", alpha_regularizer), ("alpha_constraint", alpha_constraint)):
            if value is not None:
                raise ValueError(f"PReLU: expected {name}=None (netfit has no regularizers or constraints), "
                                 f"got {value!r}; use the optimizer's weight_decay for an L2 penalty.")
        self.alpha_initializer = initializers.get(alpha_initializer)
        if shared_axes is not None and not isinstance(shared_axes, (list, tuple)):
            shared_axes = [shared_axes]
        if shared_axes is not None and not all(isinstance(a, (int, np.integer)) and not isinstance(a, bool)
                                               and a >= 1 for a in shared_axes):
            raise ValueError(f"PReLU: expected shared_axes None or axes ≥ 1 (0 is the batch), got {shared_axes!r}.")
        self.shared_axes = None if shared_axes is None else sorted({int(a) for a in shared_axes})

    def build(self, input_shape):
        shared = self.shared_axes or []
        if shared and max(shared) > len(input_shape):
            raise ValueError(f"{self.display_name}: expected shared_axes={self.shared_axes} among the input's axes "
                             f"1..{len(input_shape)}, got input shape {input_shape}.")
        self._sum_axes = (0,) + tuple(shared)
        self.add_weight("alpha", tuple(1 if k + 1 in shared else d for k, d in enumerate(input_shape)),
                        self.alpha_initializer)
        return input_shape

    def forward(self, x, training=False, call=None):
        call = self.record(call)
        self.check_input(x)
        call.negative = np.minimum(x, 0, out=call.buffer("negative", x.shape, x.dtype))   # min(x, 0)
        a = np.maximum(x, 0, out=call.buffer("a", x.shape, x.dtype))
        a += self.params["alpha"] * call.negative                      # a = max(x, 0) + α min(x, 0)
        call.positive = x > 0
        return a

    def backward(self, delta, call=None):
        call = self.record(call)
        # ∂R/∂α: δ ⊙ min(x, 0), summed where α is shared (the batch and shared_axes).
        call.grads["alpha"][...] = np.sum(delta * call.negative, axis=self._sum_axes, keepdims=True)[0]
        if not call.need_input_grad:
            return None
        s = np.multiply(delta, self.params["alpha"], out=call.buffer("s", delta.shape, delta.dtype))
        np.copyto(s, delta, where=call.positive)                       # σ' = 1 for x > 0, α elsewhere
        return s

    def get_config(self):
        return {**super().get_config(), "alpha_initializer": initializers.serialize(self.alpha_initializer),
                "shared_axes": self.shared_axes}
