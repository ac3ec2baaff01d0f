"""Activation functions σ and their derivatives σ', side by side.

A unit computes a = σ(z) with z = α_0 + αᵀx. Back-propagation needs σ'(z)
(the lecture's s_im = σ'(α_m0 + α_mᵀx_i) β_m δ_i). Most σ' are cheapest written
in terms of the output a, which the layer keeps anyway: σ' = a(1 - a) for the
sigmoid, 1 - a² for tanh. Those that need z say so with ``uses = "input"``.

Every activation maps z to a in ``forward`` and maps the error δ at its output
to the error δ ⊙ σ'(z) at its input in ``backward``.
"""
import math

import numpy as np

from . import _kernels


class Activation:
    """σ and its derivative. ``uses`` says what ``backward`` reads: "output" or "input"."""

    name = "activation"
    uses = "output"

    def forward(self, z, out=None):
        """a = σ(z)."""
        raise NotImplementedError

    def backward(self, delta, z, a, out=None):
        """δ ⊙ σ'(z), from z or a as ``uses`` says."""
        raise NotImplementedError

    def __repr__(self):
        return f"<activation {self.name}>"


class Linear(Activation):
    """σ(z) = z, σ' = 1: the output unit for regression."""

    name = "linear"

    def forward(self, z, out=None):
        return z

    def backward(self, delta, z, a, out=None):
        return delta


class Sigmoid(Activation):
    """σ(z) = 1 / (1 + e^(−z)); σ' = a(1 − a)."""

    name = "sigmoid"

    def forward(self, z, out=None):
        # Written with e^(−|z|) so neither branch overflows for large |z|.
        e = np.exp(-np.abs(z))
        out = np.divide(1.0, 1.0 + e, out=out)
        neg = z < 0
        out[neg] = e[neg] * out[neg]
        return out

    def backward(self, delta, z, a, out=None):
        return np.multiply(delta, a * (1.0 - a), out=out)


class Tanh(Activation):
    """σ(z) = tanh z; σ' = 1 − a²."""

    name = "tanh"

    def forward(self, z, out=None):
        return np.tanh(z, out=out)

    def backward(self, delta, z, a, out=None):
        return np.multiply(delta, 1.0 - a * a, out=out)


class ScaledTanh(Activation):
    """σ(z) = A tanh(S z), A = 1.7159, S = 2/3; σ' = S (A² − a²) / A.

    LeCun's scaled hyperbolic tangent (LeCun et al. 1989; "Efficient BackProp",
    1998, §4.4): σ(±1) ≈ ±1, so ±1 targets sit in its quasi-linear range and σ'
    is largest there. Not in Keras.
    """

    name = "scaled_tanh"
    A, S = 1.7159, 2.0 / 3.0

    def forward(self, z, out=None):
        out = np.multiply(z, self.S, out=out)
        np.tanh(out, out=out)
        return np.multiply(out, self.A, out=out)

    def backward(self, delta, z, a, out=None):
        return np.multiply(delta, (self.A * self.A - a * a) * (self.S / self.A), out=out)


class Relu(Activation):
    """σ(z) = max(z, 0); σ' = 1 where a > 0, else 0 (we take σ'(0) = 0)."""

    name = "relu"

    def forward(self, z, out=None):
        return np.maximum(z, 0, out=out)

    def backward(self, delta, z, a, out=None):
        # One compiled pass where numba is installed (netfit[fast]); the same products below.
        if out is not None and _kernels.relu_backward(delta, a, out):
            return out
        if out is None or np.may_share_memory(out, delta):
            return np.multiply(delta, a > 0, out=out)
        # σ' as 1.0 / 0.0 straight into out, then δ ⊙ σ': no boolean mask to allocate and
        # cast chunk by chunk (~8% faster on a conv layer's output).
        np.greater(a, 0, out=out)
        return np.multiply(out, delta, out=out)


class Softplus(Activation):
    """σ(z) = log(1 + e^z), a smooth relu; σ' = sigmoid(z) = 1 − e^(−a)."""

    name = "softplus"

    def forward(self, z, out=None):
        return np.logaddexp(0, z, out=out)

    def backward(self, delta, z, a, out=None):
        return np.multiply(delta, -np.expm1(-a), out=out)


class Elu(Activation):
    """σ(z) = z for z > 0, α(e^z − 1) otherwise (α = 1); σ' = 1 or a + α."""

    name = "elu"
    alpha = 1.0

    def forward(self, z, out=None):
        # expm1 of min(z, 0) avoids overflow warnings on the branch not taken.
        neg = self.alpha * np.expm1(np.minimum(z, 0))
        if out is None:
            return np.where(z > 0, z, neg)
        np.copyto(out, np.where(z > 0, z, neg))
        return out

    def backward(self, delta, z, a, out=None):
        return np.multiply(delta, np.where(a > 0, 1.0, a + self.alpha), out=out)


class Gelu(Activation):
    """σ(z) = ½ z (1 + tanh(c (z + 0.044715 z³))), c = √(2/π).

    The tanh form of GELU (Keras's ``approximate=True``); NumPy has no erf.
    σ'(z) = ½(1 + t) + ½ z (1 − t²) c (1 + 3·0.044715 z²), t = tanh(…): needs z.
    """

    name = "gelu"
    uses = "input"
    _c = math.sqrt(2.0 / math.pi)

    def forward(self, z, out=None):
        t = np.tanh(self._c * (z + 0.044715 * z ** 3))
        return np.multiply(0.5 * z, 1.0 + t, out=out)

    def backward(self, delta, z, a, out=None):
        t = np.tanh(self._c * (z + 0.044715 * z ** 3))
        d = 0.5 * (1.0 + t) + 0.5 * z * (1.0 - t * t) * self._c * (1.0 + 3 * 0.044715 * z * z)
        return np.multiply(delta, d, out=out)


class Softmax(Activation):
    """a_k = e^(z_k) / Σ_l e^(z_l) over the last axis, the classifier's output.

    Its Jacobian is not diagonal, so ``backward`` returns the product
    J δ = a ⊙ (δ − Σ_k δ_k a_k). Fused with cross-entropy (see losses), this step
    is skipped: the loss hands back δ = (p − Y) / n directly.
    """

    name = "softmax"

    def forward(self, z, out=None):
        # Subtracting the row maximum leaves a unchanged and keeps e^z finite.
        out = np.subtract(z, _row_max(z)[..., None], out=out)
        np.exp(out, out=out)
        if out.size >= _MANY_ROWS * out.shape[-1]:
            out /= np.matmul(out, np.ones(out.shape[-1], out.dtype))[..., None]   # row sums, by BLAS
        else:
            out /= out.sum(axis=-1, keepdims=True)
        return out

    def backward(self, delta, z, a, out=None):
        inner = (delta * a).sum(axis=-1, keepdims=True)
        return np.multiply(a, delta - inner, out=out)


_MANY_ROWS = 128     # from this many rows on, softmax's row-wise reductions pay per row (see _row_max)


def _row_max(z):
    """max over the last axis. NumPy reduces a short last axis row by row; for many rows of a
    classifier's few outputs a running maximum over the columns is ~6× faster (1000 × 10: 8 µs
    instead of 53), while for a few rows the row-wise reduction wins."""
    k = z.shape[-1]
    if k > 32 or z.size < _MANY_ROWS * k:
        return z.max(axis=-1)
    top = z[..., 0].copy()
    for j in range(1, k):
        np.maximum(top, z[..., j], out=top)
    return top


_TABLE = {cls.name: cls() for cls in (Linear, Sigmoid, Tanh, ScaledTanh, Relu, Softplus, Elu, Gelu,
                                          Softmax)}


def get(identifier):
    """Return the activation for a name (None means linear) or an instance.

    Examples
    --------
    >>> get("tanh")
    <activation tanh>
    """
    if identifier is None:
        return _TABLE["linear"]
    if isinstance(identifier, Activation):
        return identifier
    if isinstance(identifier, str) and identifier in _TABLE:
        return _TABLE[identifier]
    raise ValueError(f"activations.get: unknown activation {identifier!r}; "
                     f"supported: {', '.join(_TABLE)}.")


def names():
    """The supported activation names."""
    return list(_TABLE)
