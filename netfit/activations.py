"""Activation functions σ and their derivatives σ', side by side.

A unit computes a = σ(z) with z = α_0 + αᵀx. Back-propagation needs σ'(z)
(the lecture's s_im = σ'(α_m0 + α_mᵀx_i) β_m δ_i). Most σ' are cheapest written
in terms of the output a, which the layer keeps anyway: σ' = a(1 - a) for the
sigmoid, 1 - a² for tanh. Those that need z say so with ``uses = "input"``.

Every activation maps z to a in ``forward`` and maps the error δ at its output
to the error δ ⊙ σ'(z) at its input in ``backward``.
"""
import functools
import math

import numpy as np

from . import _kernels
from . import backend, custom_objects, tracing


def _number(value, where, name, low=0.0):
    """``value`` as a float, refusing strings, bools, NaN, ±inf and values below ``low`` (0: non-negative)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)) \
            or not math.isfinite(value) or value < low:
        what = "a non-negative number" if low == 0 else "a finite number"
        raise ValueError(f"{where}: expected {name} {what}, got {value!r}.")
    return float(value)


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
        if not backend.on_host(a):
            return _sigmoid_backward(delta, a)                       # one GPU kernel
        return np.multiply(delta, a * (1.0 - a), out=out)


class Tanh(Activation):
    """σ(z) = tanh z; σ' = 1 − a²."""

    name = "tanh"

    def forward(self, z, out=None):
        return np.tanh(z, out=out)

    def backward(self, delta, z, a, out=None):
        if not backend.on_host(a):
            return _tanh_backward(delta, a)                       # one GPU kernel
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
    """σ(z) = max(z, 0); σ' = 1 where a > 0, else 0 (we take σ'(0) = 0).

    Keras 3's ``relu(x, negative_slope, max_value, threshold)`` in full, with
    slope c, cap M and threshold θ (``Relu(max_value=6.0)``, the ``ReLU`` layer):

        σ(z) = min(z, M) for z > θ,   c (z − θ) for z ≤ θ;   σ' = 1 for θ < z < M, 0 for z ≥ M, c for z ≤ θ.

    For θ > 0 it jumps at θ, from c·0 to θ, as Keras's does. The name of such a
    relu lists the settings that differ ("relu:max_value=6.0"), which is what a
    model file stores, so they survive save and load.
    """

    name = "relu"
    _DEFAULTS = {"negative_slope": 0.0, "max_value": None, "threshold": 0.0}

    def __init__(self, negative_slope=0.0, max_value=None, threshold=0.0):
        self.negative_slope = _number(negative_slope, "Relu", "negative_slope")
        self.max_value = None if max_value is None else _number(max_value, "Relu", "max_value")
        self.threshold = _number(threshold, "Relu", "threshold")
        settings = {"negative_slope": self.negative_slope, "max_value": self.max_value, "threshold": self.threshold}
        changed = {k: v for k, v in settings.items() if v != self._DEFAULTS[k]}
        self.general = bool(changed)
        if changed:
            self.name = "relu:" + ",".join(f"{k}={v!r}" for k, v in changed.items())
            self.uses = "input"

    def _forward_general(self, z, out):
        c, cap, theta = self.negative_slope, self.max_value, self.threshold
        high = z if cap is None else np.minimum(z, cap)
        result = np.where(z > theta, high, c * (z - theta)).astype(z.dtype, copy=False)
        if out is None:
            return result
        np.copyto(out, result)
        return out

    def _backward_general(self, delta, z, out):
        c, cap, theta = self.negative_slope, self.max_value, self.threshold
        inside = z > theta
        if cap is not None:
            inside &= z < cap
        d = np.where(inside, 1.0, np.where(z > theta, 0.0, c)).astype(delta.dtype, copy=False)
        return np.multiply(delta, d, out=out)                          # δ ⊙ σ'(z)

    def forward(self, z, out=None):
        if self.general:
            return self._forward_general(z, out)
        return np.maximum(z, 0, out=out)

    def backward(self, delta, z, a, out=None):
        if self.general:
            return self._backward_general(delta, z, out)
        if not backend.on_host(a):
            return _relu_backward(delta, a)                       # one GPU kernel; numba only on the host
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
    """σ(z) = z for z > 0, α(e^z − 1) otherwise (α = 1); σ' = 1 or a + α.

    ``Elu(alpha)`` is Keras's ``elu(x, alpha)`` (the ``ELU`` layer); an α other
    than 1 is part of its name ("elu:0.5"), so it survives save and load. σ' is
    read from z, so any α works (for α < 0 the output is positive on both sides).
    """

    name = "elu"
    uses = "input"

    def __init__(self, alpha=1.0):
        self.alpha = _number(alpha, "Elu", "alpha", low=-math.inf)
        if self.alpha != 1.0:
            self.name = f"elu:{self.alpha!r}"

    def forward(self, z, out=None):
        # expm1 of min(z, 0) avoids overflow warnings on the branch not taken.
        neg = self.alpha * np.expm1(np.minimum(z, 0))
        if out is None:
            return np.where(z > 0, z, neg)
        np.copyto(out, np.where(z > 0, z, neg))
        return out

    def backward(self, delta, z, a, out=None):
        # σ' = 1 for z > 0; α e^z = a + α for z ≤ 0.
        return np.multiply(delta, np.where(z > 0, 1.0, a + self.alpha).astype(delta.dtype, copy=False), out=out)


class Gelu(Activation):
    """σ(z) = z Φ(z) = ½ z erfc(−z/√2), Φ the standard normal distribution function.

    The exact GELU (Hendrycks & Gimpel 2016), the default of Keras 3 and PyTorch.
    ``Gelu(approximate=True)`` (registered as ``"gelu_tanh"``; Keras's
    ``approximate=True``, PyTorch's ``approximate="tanh"``) is the tanh form
    ½ z (1 + tanh(c (z + 0.044715 z³))), c = √(2/π), which netfit used as "gelu" before.

    float64 (gradient checks, comparisons with PyTorch) is exact to rounding (a few
    ulps, measured against mpmath): Φ(z) = ½ erfc(−z/√2) with SciPy's scaled
    ``erfcx`` when SciPy is installed, else the C library's ``math.erfc`` element by
    element (:func:`_erfc64`), and σ'(z) = Φ(z) + z φ(z), φ(z) = exp(−z²/2)/√(2π).

    float32 (training) keeps a fast fit, since NumPy has no erf: the Chebyshev fit of
    Numerical Recipes (Press et al., 2nd ed., §6.2, ``erfcc``): for w ≥ 0,
    erfc(w) ≈ E(w) = t exp(−w² + Q(t)), t = 1 / (1 + w/2), Q a degree-9 polynomial,
    with relative error below 1.2e-7 everywhere (float32's precision; checked against
    ``math.erf`` in the tests). Its ``backward`` is the derivative of that same E, so it
    agrees with finite differences of ``forward`` to rounding:

        Φ(z) = 1 − E(u)/2 for u = z/√2 ≥ 0, E(|u|)/2 otherwise;
        dΦ/dz = E (t (1 + t Q'(t)) / 2 + 2|u|) / (2√2);   σ'(z) = Φ + z dΦ/dz.
    """

    name = "gelu"
    uses = "input"
    _c = math.sqrt(2.0 / math.pi)
    # Q(t) = _Q[0] + _Q[1] t + ... + _Q[9] t⁹ (Numerical Recipes' erfcc).
    _Q = (-1.26551223, 1.00002368, 0.37409196, 0.09678418, -0.18628806,
          0.27886807, -1.13520398, 1.48851587, -0.82215223, 0.17087277)

    def __init__(self, approximate=False):
        if not isinstance(approximate, bool):
            raise TypeError(f"Gelu: expected approximate True or False, got {approximate!r}.")
        self.approximate = approximate
        self.name = "gelu_tanh" if approximate else "gelu"
        if approximate:
            self.__doc__ = ("σ(z) = ½ z (1 + tanh(√(2/π) (z + 0.044715 z³))): GELU's tanh approximation "
                            "(Keras approximate=True, PyTorch approximate=\"tanh\").")

    def _erfc_parts(self, z):
        """w = |z|/√2, t, E(w) ≈ erfc(w), and Φ(z), in float64 (float32's exp(−w²) would lose ~w² ulps)."""
        z = np.asarray(z, np.float64)
        w = np.abs(z) * (1 / math.sqrt(2.0))
        t = 1.0 / (1.0 + 0.5 * w)
        q = self._Q[-1]
        for coef in self._Q[-2::-1]:                 # Horner: Q(t)
            q = q * t + coef
        e = t * np.exp(q - w * w)
        phi = np.where(z >= 0, 1.0 - 0.5 * e, 0.5 * e)
        return w, t, e, phi

    # 1/√2 = _R_HI + _R_LO: _R_HI the float64 nearest, _R_LO the rest (Decimal(1) / Decimal(2).sqrt() − _R_HI).
    _R_HI, _R_LO = 0.7071067811865475, 6.268583589525109e-17

    def _exact_phi(self, z):
        """Φ(z) = ½ erfc(u), u = −z/√2, for float64 z, exact to rounding (:func:`_erfc64`).

        Rounding u costs half an ulp of u, which erfc's slope 2u·erfc(u) magnifies to
        ~u² ulps of Φ in the far tail (160 at z = −11); so u's rounding error r is
        computed exactly (Dekker's product) and added back to first order:
        erfc(u + r) = erfc(u) − r · (2/√π) exp(−u²).
        """
        zc = np.clip(z, -40.0, 40.0)                      # erfc is 0 or 2 beyond: no correction, no overflow
        p, e = _two_product(zc, self._R_HI)
        r = -e - zc * self._R_LO                          # u's rounding error: −z/√2 = u + r exactly (to 1e-32)
        u = z * -self._R_HI
        return 0.5 * (_erfc64()(u) - r * (2 / math.sqrt(math.pi)) * np.exp(-p * p))

    def _exact_slope(self, z, a=None):
        """σ'(z) = Φ(z) + z φ(z) for float64 z, to rounding; Φ read back from the output a = z Φ(z) when given.

        φ(z) = exp(−z²/2)/√(2π) with z² kept exact as s + e (as in :meth:`_exact_phi`), so
        exp(−z²/2) = exp(−s/2)(1 − e/2). Reading Φ = a/z (0.5 + z/√(2π) near 0, where
        that is exact) spares a second erfc: the float64 backward costs one exp.
        """
        zc = np.clip(z, -40.0, 40.0)
        s, e = _two_product(zc, zc)
        pdf = np.exp(-0.5 * s) * (1.0 - 0.5 * e) * (1 / math.sqrt(2 * math.pi))
        if a is None or np.shape(a) != np.shape(z):
            phi = self._exact_phi(z)
        else:
            small = np.abs(z) < 1e-8
            phi = np.where(small, 0.5 + z * (1 / math.sqrt(2 * math.pi)), a / np.where(small, 1.0, z))
        return phi + z * pdf

    def forward(self, z, out=None):
        if self.approximate:
            t = np.tanh(self._c * (z + 0.044715 * z ** 3))
            return np.multiply(0.5 * z, 1.0 + t, out=out)
        phi = self._exact_phi(z) if z.dtype == np.float64 else self._erfc_parts(z)[3]
        a = np.multiply(z, phi, out=out, casting="same_kind")                       # a = z Φ(z)
        return a if out is not None else a.astype(z.dtype, copy=False)

    def backward(self, delta, z, a, out=None):
        if self.approximate:
            # σ' = ½(1 + t) + ½ z (1 − t²) c (1 + 3·0.044715 z²), t = tanh(…)
            t = np.tanh(self._c * (z + 0.044715 * z ** 3))
            d = 0.5 * (1.0 + t) + 0.5 * z * (1.0 - t * t) * self._c * (1.0 + 3 * 0.044715 * z * z)
            return np.multiply(delta, d, out=out)
        if z.dtype == np.float64:                                                    # σ' = Φ + z φ, exactly
            return np.multiply(delta, self._exact_slope(z, a), out=out)
        w, t, e, phi = self._erfc_parts(z)
        dq = 9 * self._Q[-1]
        for k in range(8, 0, -1):                    # Horner: Q'(t)
            dq = dq * t + k * self._Q[k]
        dphi = e * (0.5 * t * (1.0 + t * dq) + 2.0 * w) * (1 / (2 * math.sqrt(2.0)))   # dΦ/dz ≈ φ(z)
        d = np.multiply(delta, phi + z * dphi, out=out, casting="same_kind")         # δ ⊙ (Φ + z φ)
        return d if out is not None else d.astype(delta.dtype, copy=False)


def _two_product(a, b):
    """(p, e) with p = fl(a·b) and a·b = p + e exactly (Dekker's product: Veltkamp's 26-bit halves, no FMA).

    |a|, |b| must stay below ~1e150 (the split multiplies by 2^27 + 1).
    """
    def split(x):
        big = 134217729.0 * x
        hi = big - (big - x)
        return hi, x - hi
    (a_hi, a_lo), (b_hi, b_lo) = split(a), split(b)
    p = a * b
    return p, ((a_hi * b_hi - p) + a_hi * b_lo + a_lo * b_hi) + a_lo * b_lo


@functools.lru_cache(maxsize=1)
def _erfc64():
    """erfc over float64 arrays, to a few ulps everywhere, the far tail included.

    With SciPy: ``erfcx(|u|) · exp(−u²)`` (SciPy's ``erfc`` itself is off by up to ~500
    ulps in the tail, measured against mpmath; its scaled ``erfcx`` by ≤5), with u² kept
    exact as s + e so that exp(−u²) = exp(−s)(1 − e) loses nothing; erfc(u) = 2 − erfc(|u|)
    for u < 0. Without SciPy (numpy is netfit's only requirement): the C library's
    ``math.erfc`` element by element (≤2 ulps; ~7× slower). SciPy is imported here, once,
    when a float64 GELU first runs, not with netfit.
    """
    try:
        from scipy.special import erfcx
    except ImportError:
        scalar = np.frompyfunc(math.erfc, 1, 1)
        return lambda u: scalar(u).astype(np.float64)

    def erfc(u):
        a = np.minimum(np.abs(u), 40.0)                 # erfc(40) is 0 in float64: clipped, no overflow
        s, e = _two_product(a, a)
        tail = erfcx(a) * (np.exp(-s) * (1.0 - e))      # erfc(|u|)
        return np.where(u >= 0, tail, 2.0 - tail)
    return erfc


class LeakyRelu(Activation):
    """σ(z) = z for z ≥ 0, c z otherwise (Keras 3's ``leaky_relu``, negative_slope c = 0.2); σ' = 1 or c.

    Keras's ``LeakyReLU`` layer defaults to 0.3 and PyTorch's ``LeakyReLU`` to
    0.01; here the string "leaky_relu" means Keras 3's 0.2. Another slope is
    ``LeakyRelu(0.01)`` or the name "leaky_relu:0.01", which is also the name
    a model file stores, so the slope survives save and load.
    σ' is read from the output: a > 0 exactly where z > 0.
    """

    name = "leaky_relu"

    def __init__(self, negative_slope=0.2):
        if isinstance(negative_slope, bool) or not isinstance(negative_slope, (int, float, np.floating)) \
                or not 0 <= negative_slope < math.inf:
            raise ValueError(f"LeakyRelu: expected negative_slope a non-negative number, got {negative_slope!r}.")
        self.negative_slope = float(negative_slope)
        if self.negative_slope != 0.2:
            self.name = f"leaky_relu:{self.negative_slope!r}"

    def forward(self, z, out=None):
        return np.multiply(z, np.where(z >= 0, 1.0, self.negative_slope).astype(z.dtype, copy=False), out=out)

    def backward(self, delta, z, a, out=None):
        # σ' = 1 where a > 0 (z > 0), c elsewhere (we take σ'(0) = c).
        return np.multiply(delta, np.where(a > 0, 1.0, self.negative_slope).astype(delta.dtype, copy=False),
                           out=out)


class Selu(Activation):
    """σ(z) = λ z for z > 0, λ α (e^z − 1) otherwise (Klambauer et al. 2017); σ' = λ or a + λα.

    α ≈ 1.6733 and λ ≈ 1.0507 are the constants that make zero mean and unit
    variance a fixed point (with ``lecun_normal`` weights); Keras's values.
    """

    name = "selu"
    alpha = 1.6732632423543772848170429916717
    scale = 1.0507009873554804934193349852946

    def forward(self, z, out=None):
        neg = (self.scale * self.alpha) * np.expm1(np.minimum(z, 0))   # min() keeps e^z finite
        result = np.where(z > 0, self.scale * z, neg).astype(z.dtype, copy=False)
        if out is None:
            return result
        np.copyto(out, result)
        return out

    def backward(self, delta, z, a, out=None):
        # σ' = λ for a > 0; λα e^z = a + λα for z ≤ 0.
        d = np.where(a > 0, self.scale, a + self.scale * self.alpha).astype(delta.dtype, copy=False)
        return np.multiply(delta, d, out=out)


class Silu(Activation):
    """σ(z) = z · sigmoid(z) (SiLU, also called swish); σ' = s (1 + z (1 − s)), s = sigmoid(z): needs z."""

    name = "silu"
    uses = "input"
    _sigmoid = Sigmoid()

    def forward(self, z, out=None):
        return np.multiply(z, self._sigmoid.forward(z), out=out)

    def backward(self, delta, z, a, out=None):
        s = self._sigmoid.forward(z)
        return np.multiply(delta, s * (1.0 + z * (1.0 - s)), out=out)     # d(z s)/dz = s + z s (1 − s)


class Softsign(Activation):
    """σ(z) = z / (1 + |z|); σ' = 1 / (1 + |z|)² = (1 − |a|)²."""

    name = "softsign"

    def forward(self, z, out=None):
        return np.divide(z, 1.0 + np.abs(z), out=out)

    def backward(self, delta, z, a, out=None):
        one_minus = 1.0 - np.abs(a)                                    # 1 − |a| = 1 / (1 + |z|)
        return np.multiply(delta, one_minus * one_minus, out=out)


class HardSigmoid(Activation):
    """σ(z) = relu6(z + 3) / 6 = clip((z + 3)/6, 0, 1) (Keras 3); σ' = 1/6 where 0 < a < 1, else 0.

    Keras 2 (and TF's ``tf.keras``) used clip(0.2 z + 0.5, 0, 1), with slope 0.2
    and kinks at ±2.5; Keras 3 and PyTorch's ``Hardsigmoid`` use slope 1/6 and
    kinks at ±3, as here.
    """

    name = "hard_sigmoid"

    def forward(self, z, out=None):
        out = np.add(z, 3.0, out=out)
        out /= 6.0
        return np.clip(out, 0.0, 1.0, out=out)

    def backward(self, delta, z, a, out=None):
        inside = ((a > 0) & (a < 1)).astype(delta.dtype)
        inside *= 1.0 / 6.0                                            # σ' = 1/6 on the slope, 0 on the flats
        return np.multiply(delta, inside, out=out)


class Softmax(Activation):
    """a_k = e^(z_k) / Σ_l e^(z_l) over the last axis, the classifier's output.

    Its Jacobian is not diagonal, so ``backward`` returns the product
    J δ = a ⊙ (δ − Σ_k δ_k a_k). Fused with cross-entropy (see losses), this step
    is skipped: the loss hands back δ = (p − Y) / n directly.
    """

    name = "softmax"

    def __init__(self, axis=-1):
        if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)):
            raise TypeError(f"Softmax: expected axis an integer, got {axis!r}.")
        self.axis = int(axis)
        if self.axis != -1:                 # another axis than the last: Keras's Softmax(axis=k) layer
            self.name = f"softmax:axis={self.axis}"

    def forward(self, z, out=None):
        if self.axis != -1:
            out = np.subtract(z, z.max(axis=self.axis, keepdims=True), out=out)
            np.exp(out, out=out)
            out /= out.sum(axis=self.axis, keepdims=True)
            return out
        # Subtracting the row maximum leaves a unchanged and keeps e^z finite.
        xp = backend.get_array_module(z)
        out = np.subtract(z, _row_max(z)[..., None], out=out)
        np.exp(out, out=out)
        if out.size >= _MANY_ROWS * out.shape[-1]:
            out /= xp.matmul(out, xp.ones(out.shape[-1], out.dtype))[..., None]   # row sums, by BLAS
        else:
            out /= out.sum(axis=-1, keepdims=True)
        return out

    def backward(self, delta, z, a, out=None):
        inner = (delta * a).sum(axis=self.axis, keepdims=True)
        return np.multiply(a, delta - inner, out=out)


@backend.fuse
def _sigmoid_backward(xp):
    """δ ⊙ a(1 − a) in one GPU kernel (the NumPy code above makes three passes)."""
    def sigmoid_backward(delta, a):
        return delta * (a * (1.0 - a))
    return sigmoid_backward


@backend.fuse
def _tanh_backward(xp):
    """δ ⊙ (1 − a²) in one GPU kernel."""
    def tanh_backward(delta, a):
        return delta * (1.0 - a * a)
    return tanh_backward


@backend.fuse
def _relu_backward(xp):
    """δ ⊙ 1{a > 0} in one GPU kernel."""
    def relu_backward(delta, a):
        return delta * (a > 0)
    return relu_backward


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


_TABLE = {cls.name: cls() for cls in (Linear, Sigmoid, Tanh, ScaledTanh, Relu, Softplus, Elu, Gelu, Softmax)}
_TABLE["gelu_tanh"] = Gelu(approximate=True)          # GELU's tanh approximation (Keras approximate=True)
_TABLE.update({cls.name: cls() for cls in (LeakyRelu, Selu, Silu, Softsign, HardSigmoid)})
_ALIASES = {"swish": "silu"}             # Keras's second name for the same function


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
    if isinstance(identifier, str) and _ALIASES.get(identifier, identifier) in _TABLE:
        return _TABLE[_ALIASES.get(identifier, identifier)]
    if isinstance(identifier, str) and ":" in identifier:
        found = _parametrized(*identifier.split(":", 1))               # "leaky_relu:0.01", as saved
        if found is not None:
            return found
    if callable(identifier) and not isinstance(identifier, (str, type)):
        # A function of your own (written with netfit.ops): σ' by a tape per backward (netfit.ops.activation).
        return tracing.handler("function_activation")(identifier)
    if isinstance(identifier, dict) and identifier.get("class_name") == "function":
        identifier = identifier.get("config")               # Keras 3's config of a function: its registered name
        if not isinstance(identifier, str):
            raise ValueError(f"activations.get: expected a function's config to hold its name, got {identifier!r}.")
        if _ALIASES.get(identifier, identifier) in _TABLE:
            return _TABLE[_ALIASES.get(identifier, identifier)]
    if isinstance(identifier, str):
        # A function of your own by name ("my_package>custom_fn", as a config holds it): given, in scope or
        # registered (netfit.custom_objects); never imported from anywhere.
        found = custom_objects.resolve(identifier.split(">")[-1], identifier)
        if callable(found) and not isinstance(found, type):
            return tracing.handler("function_activation")(found)
        raise ValueError(f"activations.get: unknown activation {identifier!r}; supported: "
                         f"{', '.join(list(_TABLE) + list(_ALIASES))}. For a function of your own: pass "
                         f"custom_objects={{{identifier.split('>')[-1]!r}: {identifier.split('>')[-1]}}} to "
                         f"load_model (or from_config), load inside keras.saving.custom_object_scope(...), or "
                         f"decorate it with @keras.saving.register_keras_serializable().")
    raise ValueError(f"activations.get: unknown activation {identifier!r}; "
                     f"supported: {', '.join(list(_TABLE) + list(_ALIASES))}.")


def _parametrized(base, settings):
    """The activation a saved name with settings stands for ("elu:0.5", "relu:max_value=6.0"), or None."""
    try:
        if base == "leaky_relu":
            return LeakyRelu(float(settings))
        if base == "elu":
            return Elu(float(settings))
        if base in ("relu", "softmax"):
            pairs = dict(part.split("=", 1) for part in settings.split(","))
            if base == "softmax":
                return Softmax(axis=int(pairs.pop("axis")))
            return Relu(**{k: None if v == "None" else float(v) for k, v in pairs.items()})
    except (ValueError, TypeError, KeyError):
        return None
    return None


def names():
    """The supported activation names (without aliases such as "swish")."""
    return list(_TABLE)


def aliases():
    """Second names and the activation each stands for, e.g. {"swish": "silu"}."""
    return dict(_ALIASES)


def _call(self, x):
    """σ(x), Keras's ``activation(x)``: on arrays ``forward``; on a traced value (custom code under a tape,
    :mod:`netfit.ops`) one tape entry whose VJP is this activation's own ``backward``."""
    if tracing.is_traced(x):
        return tracing.handler("activation")(self, x)
    x = np.asarray(x)
    return self.forward(x if x.dtype.kind == "f" else x.astype(np.float64))


Activation.__call__ = _call          # here, below the classes, so that their line numbers (docs link them) stay
