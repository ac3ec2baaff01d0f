"""RandomFourierFeatures: a fixed random map whose inner products approximate a kernel, a = cos(x W / σ + b)."""
import math
import numbers

import numpy as np

from .. import initializers, parallel
from ..utils import check_positive_int
from .base import Layer

#: The kernels a string ``kernel_initializer`` names (tf.keras's _SUPPORTED_RBF_KERNEL_TYPES).
KERNELS = ("gaussian", "laplacian")


def _unit_normal(shape, rng, dtype, fan_in=None, fan_out=None):
    """W_jk ~ N(0, 1): the spectral density of the Gaussian kernel exp(−|u|²/2)."""
    return rng.standard_normal(shape).astype(dtype)


def _unit_cauchy(shape, rng, dtype, fan_in=None, fan_out=None):
    """W_jk ~ Cauchy(0, 1): the spectral density of the Laplacian kernel exp(−|u|₁) (a product over j)."""
    return rng.standard_cauchy(shape).astype(dtype)


_DRAWS = {"gaussian": _unit_normal, "laplacian": _unit_cauchy}


class RandomFourierFeatures(Layer):
    """a = cos(x W / σ + b): random features whose inner products approximate a shift-invariant kernel.

    Rahimi and Recht, "Random Features for Large-Scale Kernel Machines" (NIPS 2007),
    as tf.keras 2 has it (``tf.keras.layers.experimental.RandomFourierFeatures``,
    tf_keras/layers/kernelized.py). With W's entries drawn from the kernel's spectral
    density and b ~ U[0, 2π), for D = output_dim features

        (2/D) a(x)·a(y) → k(x − y)  as D grows,

    the Gaussian kernel k = exp(−|x − y|² / 2σ²) for W ~ N(0, 1) ("gaussian") and the
    Laplacian kernel k = exp(−|x − y|₁ / σ) for W ~ Cauchy(0, 1) ("laplacian"). A linear
    layer on top (hinge loss: a quasi-SVM) is then a kernel machine trained by SGD. As
    in tf.keras (and unlike the paper), the output leaves out the factor √(2/D).

    W and b are drawn once, from the model's seed, and never trained; they are
    weights (``unscaled_kernel``, ``bias``), so summary counts them as non-trainable
    and model files keep them. Only σ (``kernel_scale``) can be trained, with
    ``trainable=True``; its gradient and δ to the input are

        ∂R/∂x = −(δ ⊙ sin z) Wᵀ / σ,   ∂R/∂σ = Σ_ik (δ ⊙ sin z)_ik (z − b)_ik / σ,   z = x W / σ + b.

    In a training pass the fixed W and b get zero gradients (nothing trains them, so
    the product xᵀ(δ ⊙ sin z) is skipped); a prediction-mode pass (the gradient checks)
    writes their exact gradients. Keras's NonNeg constraint on σ is not applied.

    Parameters
    ----------
    output_dim : int
        D, the number of random features.
    kernel_initializer : {"gaussian", "laplacian"} or Initializer
        The distribution of W (case-insensitive names), or any initializer (then
        the kernel is the one whose spectral density it draws from).
    scale : float or None
        σ > 0. None: √(input_dim / 2) for "gaussian", else 1.0 (tf.keras's
        defaults); ``get_config`` reports the value used once the layer is built.
    trainable : bool
        False (the default, as tf.keras): σ stays put. True: σ is trained.
    name : str, optional

    Raises
    ------
    TypeError
        output_dim not an integer, scale not a number, kernel_initializer neither a
        name nor an initializer, trainable not a bool, name not a string.
    ValueError
        output_dim < 1, scale ≤ 0, an unknown kernel name, or an input that is not
        (batch, input_dim) (rank 2).

    Shapes
    ------
    x : (n, input_dim)  ->  a : (n, D); unscaled_kernel (input_dim, D), bias (D,), kernel_scale (1,)

    Examples
    --------
    >>> import numpy as np
    >>> layer = RandomFourierFeatures(4096, scale=2.0)
    >>> layer.setup((3,), rng=np.random.default_rng(0), dtype="float64")
    (4096,)
    >>> a = layer.forward(np.array([[0.0, 0.0, 0.0], [1.0, 1.0, 1.0]]))
    >>> k = float(np.exp(-3 / (2 * 2.0 ** 2)))          # exp(−|x − y|² / 2σ²), |x − y|² = 3
    >>> round(2 / 4096 * float(a[0] @ a[1]), 1), round(k, 1)
    (0.7, 0.7)
    """

    keras_only = Layer.keras_only + ("kernel_regularizer", "kernel_constraint")
    #: W and b are fixed random draws: only kernel_scale is trained, and only with trainable=True.
    non_trainable = ("unscaled_kernel", "bias")

    def __init__(self, output_dim, kernel_initializer="gaussian", scale=None, trainable=False, name=None, **kwargs):
        where = "RandomFourierFeatures"
        self.output_dim = check_positive_int(output_dim, where, "output_dim")
        if isinstance(kernel_initializer, str):
            if kernel_initializer.lower() not in KERNELS:
                raise ValueError(f"{where}: expected kernel_initializer 'gaussian' or 'laplacian' (the kernels it "
                                 f"approximates), got {kernel_initializer!r}; pass an initializer object for "
                                 f"another distribution of W.")
            self._draw = _DRAWS[kernel_initializer.lower()]
        elif isinstance(kernel_initializer, (initializers.Initializer, dict)):
            self._draw = initializers.get(kernel_initializer)
        else:
            raise TypeError(f"{where}: expected kernel_initializer 'gaussian', 'laplacian' or an initializer, got "
                            f"{kernel_initializer!r}.")
        self.kernel_initializer = kernel_initializer
        if scale is not None:
            if isinstance(scale, (bool, np.bool_)) or not isinstance(scale, numbers.Real):
                raise TypeError(f"{where}: expected scale a positive float or None, got {scale!r}.")
            if not math.isfinite(scale) or scale <= 0:
                raise ValueError(f"{where}: expected scale > 0 (σ, the kernel's width) or None for the default, "
                                 f"got {scale!r}.")
            scale = float(scale)
        self.scale = scale
        if name is not None and not isinstance(name, str):
            raise TypeError(f"{where}: expected name a string or None, got {name!r}.")
        super().__init__(trainable=trainable, name=name, **kwargs)

    def build(self, input_shape):
        if len(input_shape) != 1:
            raise ValueError(f"{self.display_name}: expected inputs of rank 2, (batch, input_dim), got examples of "
                             f"shape {input_shape}; put a Flatten() layer before it.")
        input_dim = input_shape[0]
        if self.scale is None:                        # tf.keras's default, kept in the config from here on
            gaussian = isinstance(self.kernel_initializer, str) and self.kernel_initializer.lower() == "gaussian"
            self.scale = math.sqrt(input_dim / 2.0) if gaussian else 1.0
        self.add_weight("unscaled_kernel", (input_dim, self.output_dim), self._draw)
        self.add_weight("bias", (self.output_dim,), initializers.RandomUniform(0.0, 2 * math.pi))
        self.add_weight("kernel_scale", (1,), _constant(self.scale))
        return (self.output_dim,)

    def forward(self, x, training=False, call=None):
        call = self.record(call)
        self.check_input(x)
        call.x, call.training = x, training
        w, b = self.params["unscaled_kernel"], self.params["bias"]
        z = parallel.matmul(x, w, out=call.buffer("z", (x.shape[0], self.output_dim), w.dtype))
        z *= 1.0 / self.params["kernel_scale"][0]                     # x W / σ
        z += b                                                         # z = x W / σ + b
        call.z = z
        return self.xp.cos(z, out=call.buffer("a", z.shape, z.dtype))  # a = cos z

    def backward(self, delta, call=None):
        call = self.record(call)
        grads, z, sigma = call.grads, call.z, self.params["kernel_scale"][0]
        frozen = call.training and not self.trainable
        if frozen and not call.need_input_grad:                        # nothing wanted: the first layer, frozen
            for g in grads.values():
                g[...] = 0
            return None
        g = self.xp.sin(z, out=call.buffer("g", z.shape, z.dtype))
        g *= delta                                                     # δ ⊙ sin z = −∂R/∂z
        if frozen:
            grads["kernel_scale"][...] = 0
        else:
            # ∂z/∂σ = −x W / σ² = −(z − b)/σ and ∂R/∂z = −g, so ∂R/∂σ = Σ_ik g_ik (z − b)_ik / σ
            grads["kernel_scale"][0] = self.xp.vdot(g, z - self.params["bias"]) / sigma
        if call.training:
            grads["unscaled_kernel"][...] = 0                          # fixed: nothing trains them
            grads["bias"][...] = 0
        else:                                                          # prediction mode: the exact derivatives
            parallel.matmul(call.x.T, g, out=grads["unscaled_kernel"])  # ∂R/∂W = −xᵀ(δ ⊙ sin z) / σ
            grads["unscaled_kernel"] *= -1.0 / sigma
            self.sum_rows(g, grads["bias"], call)                      # ∂R/∂b = −Σ_i (δ ⊙ sin z)_i
            grads["bias"] *= -1.0
        if not call.need_input_grad:
            return None
        s = parallel.matmul(g, self.params["unscaled_kernel"].T, out=call.buffer("s", call.x.shape, g.dtype))
        s *= -1.0 / sigma                                              # ∂R/∂x = −(δ ⊙ sin z) Wᵀ / σ
        return s

    def get_config(self):
        init = self.kernel_initializer
        return {**super().get_config(), "trainable": self.trainable, "output_dim": self.output_dim,
                "kernel_initializer": init if isinstance(init, str) else initializers.serialize(self._draw),
                "scale": self.scale}


def _constant(value):
    """An initializer filling a weight with ``value`` (σ's starting value)."""
    def fill(shape, rng, dtype, fan_in=None, fan_out=None):
        return np.full(shape, value, dtype)
    return fill
