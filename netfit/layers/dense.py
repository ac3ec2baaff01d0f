"""Dense: every input feeds every unit, a = σ(x W + b)."""

from .. import initializers, parallel
from ..utils import check_positive_int
from .base import ActivatedLayer


class Dense(ActivatedLayer):
    """Fully connected layer, a = σ(x W + b).

    In the lecture's notation a hidden unit is z_m = σ(α_m0 + α_mᵀx): column m of
    ``kernel`` is α_m and ``bias[m]`` is α_m0. Rows of x are examples, so the
    whole batch is one matrix product.

    Parameters
    ----------
    units : int
        Number of units (output features).
    activation : str or None
        Name from :mod:`netfit.activations`; None is linear.
    use_bias : bool
    kernel_initializer, bias_initializer : str or Initializer

    Shapes
    ------
    x : (n, n_in)  ->  a : (n, units); kernel (n_in, units), bias (units,)

    Examples
    --------
    >>> import numpy as np
    >>> layer = Dense(2, kernel_initializer="ones")
    >>> layer.setup((3,))
    (2,)
    >>> layer.forward(np.ones((1, 3), "float32"))
    array([[3., 3.]], dtype=float32)
    """

    keras_only = ActivatedLayer.keras_only + ("kernel_regularizer", "bias_regularizer", "kernel_constraint",
                                              "bias_constraint", "lora_rank", "lora_alpha",
                                              "quantization_config")

    blas_bound = True
    runs_on_gpu = True

    def __init__(self, units, activation=None, use_bias=True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", **kwargs):
        super().__init__(activation, **kwargs)
        self.units = check_positive_int(units, "Dense", "units")
        self.use_bias = bool(use_bias)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)

    def build(self, input_shape):
        if len(input_shape) != 1:
            raise ValueError(f"{self.display_name}: expected 1-D input features per example, got input "
                             f"shape {input_shape}; put a Flatten() layer before Dense.")
        self.add_weight("kernel", (input_shape[0], self.units), self.kernel_initializer, decay=True)
        if self.use_bias:
            self.add_weight("bias", (self.units,), self.bias_initializer)
        return (self.units,)

    def forward(self, x, training=False, call=None):
        call = self.record(call)
        self.check_input(x)
        call.x = x
        z = parallel.matmul(x, self.params["kernel"], out=call.buffer("z", (x.shape[0], self.units), x.dtype))
        if self.use_bias:
            z += self.params["bias"]                                  # z = α_0 + αᵀx
        return self.activate(z, call)

    def backward(self, delta, call=None):
        call = self.record(call)
        dz = self.activation_backward(delta, call)                    # δ ⊙ σ'(z)
        parallel.matmul(call.x.T, dz, out=call.grads["kernel"])       # ∂R/∂α_ml = Σ_i s_im x_il
        if self.use_bias:
            self.sum_rows(dz, call.grads["bias"], call)               # ∂R/∂α_m0 = Σ_i s_im
        if not call.need_input_grad:
            return None
        # Error sent to the layer below: Σ_m α_ml (δ ⊙ σ')_im, which it multiplies by its σ'.
        return parallel.matmul(dz, self.params["kernel"].T, out=call.buffer("s", call.x.shape, dz.dtype))

    def get_config(self):
        return {**super().get_config(), "units": self.units, "use_bias": self.use_bias,
                "kernel_initializer": initializers.serialize(self.kernel_initializer),
                "bias_initializer": initializers.serialize(self.bias_initializer)}
