"""Elementwise ops with broadcasting: arithmetic, powers, exponentials, trigonometry, comparisons.

Names, arguments and results are Keras 3's ``keras.ops`` (its NumPy backend's
arithmetic: NumPy's broadcasting and type promotion). Each VJP returns δ = ∂R/∂out
times the local derivative in the broadcast shape; the tape sums it back to each
input's shape (:func:`netfit.ops.tape.unbroadcast`), so the VJPs below never sum.

Ties and kinks, where a derivative is not defined, take the rule PyTorch and JAX
share: ``abs`` sends 0 at 0 (sign(0) = 0), ``maximum``/``minimum`` split δ half
and half where x1 = x2; ``clip`` follows PyTorch's ``clamp`` (δ reaches x on the
bounds themselves). Ops whose derivative is zero almost everywhere or undefined
(``sign``, ``round``, ``floor``, ``ceil``, ``trunc``, ``floor_divide``) have no
VJP: a loss that depends on one stops back-propagation with a
:class:`~netfit.ops.tape.GradientError` naming the op and the line, where JAX
and TensorFlow would quietly return zeros. Comparisons, logical ops and
``isnan``/``isinf``/``isfinite`` give boolean arrays, constants to the tape.

Module-level names shadow Python's ``abs`` and ``round``: code here uses ``np.*``.

Examples
--------
>>> from netfit.ops import Tape, Value
>>> with Tape() as tape:
...     a, b = Value(np.array([1.0, 2.0]), tape), Value(np.array([1.0, 3.0]), tape)
...     out = maximum(a, b)
>>> grads = tape.backward(out)
>>> grads[id(a)], grads[id(b)]                   # a tie splits δ half and half
(array([0.5, 0. ]), array([0.5, 1. ]))
"""
import math

import numpy as np

from .op import op

_LN2, _LN10, _TWO_OVER_SQRT_PI = math.log(2.0), math.log(10.0), 2.0 / math.sqrt(math.pi)
_STEP = "a smooth surrogate (e.g. the identity in a straight-through estimate, x + stop_gradient(f(x) − x))"


# --- arithmetic ------------------------------------------------------------------------------------

@op("add")
def add(x1, x2):
    """x1 + x2, broadcasting: the output has the broadcast shape of x1 and x2."""
    return np.add(x1, x2)


@add.defvjp
def add_vjp(g, out, x1, x2):
    return g, g                                   # ∂(x1+x2)/∂x1 = ∂/∂x2 = 1: δ passes to both


@op("subtract")
def subtract(x1, x2):
    """x1 − x2, broadcasting."""
    return np.subtract(x1, x2)


@subtract.defvjp
def subtract_vjp(g, out, x1, x2):
    return g, -g


@op("multiply")
def multiply(x1, x2):
    """x1 ⊙ x2, broadcasting."""
    return np.multiply(x1, x2)


@multiply.defvjp
def multiply_vjp(g, out, x1, x2):
    return g * x2, g * x1


@op("divide")
def divide(x1, x2):
    """x1 / x2, broadcasting (Keras's true division: integers give floats; x/0 gives ±inf or nan)."""
    return np.true_divide(x1, x2)


@divide.defvjp
def divide_vjp(g, out, x1, x2):
    return g / x2, -g * out / x2                  # ∂(x1/x2)/∂x2 = −x1/x2² = −out/x2


@op("true_divide")
def true_divide(x1, x2):
    """x1 / x2: Keras's alias of :func:`divide` (same forward, same VJP)."""
    return np.true_divide(x1, x2)


true_divide.defvjp(divide_vjp)


@op("floor_divide", instead="ops.divide (true division)")
def floor_divide(x1, x2):
    """⌊x1 / x2⌋, broadcasting (NumPy's ``//``: rounds toward −∞). Piecewise constant: no gradient."""
    return np.floor_divide(x1, x2)


@op("mod")
def mod(x1, x2):
    """x1 mod x2 = x1 − x2·⌊x1/x2⌋, broadcasting; the result has the sign of x2 (NumPy's and Keras's ``%``)."""
    return np.mod(x1, x2)


@mod.defvjp
def mod_vjp(g, out, x1, x2):
    return g, -g * np.floor_divide(x1, x2)        # ⌊x1/x2⌋ locally constant: ∂/∂x1 = 1, ∂/∂x2 = −⌊x1/x2⌋


@op("power")
def power(x1, x2):
    """x1 ** x2, broadcasting (NumPy's rules: a negative base needs an integer exponent for a real result).

    δ at x1 is δ·x2·x1^(x2−1) (0 where x2 = 0); δ at x2 is δ·out·ln x1, 0 where x1 = 0 and
    x2 ≥ 0 (PyTorch's rule) and nan where x1 < 0 (ln of a negative number).
    """
    return np.power(x1, x2)


@power.defvjp
def power_vjp(g, out, x1, x2, need=(True, True)):
    g1 = g2 = None                                # ∂(x1^x2)/∂x1 = x2 x1^(x2−1), ∂/∂x2 = x1^x2 ln x1
    with np.errstate(divide="ignore", invalid="ignore"):
        if need[0]:
            g1 = g * np.where(np.equal(x2, 0), 0, np.multiply(x2, np.power(x1, np.subtract(x2, 1))))
        if need[1]:                               # ln x1 only when x2 is traced: x ** 2 with x < 0 is fine
            g2 = g * np.where(np.equal(x1, 0) & np.greater_equal(x2, 0), 0, out * np.log(x1))
    return tuple(None if d is None else d.astype(g.dtype, copy=False) for d in (g1, g2))   # x ** 3: keep float32


@op("negative")
def negative(x):
    """−x."""
    return np.negative(x)


@negative.defvjp
def negative_vjp(g, out, x):
    return (-g,)


@op("abs")
def abs(x):                                       # noqa: A001 — keras.ops's name
    """|x|; δ·sign(x), 0 at x = 0 (PyTorch's and JAX's subgradient)."""
    return np.abs(x)


@abs.defvjp
def abs_vjp(g, out, x):
    return (g * np.sign(x),)


@op("absolute")
def absolute(x):
    """|x|: Keras's alias of :func:`abs`."""
    return np.abs(x)


absolute.defvjp(abs_vjp)


@op("sign", instead="ops.tanh(x / t) with a small t, a smooth sign")
def sign(x):
    """−1, 0 or 1 as x < 0, x = 0, x > 0 (nan for nan). Piecewise constant: no gradient."""
    return np.sign(x)


@op("square")
def square(x):
    """x²."""
    return np.square(x)


@square.defvjp
def square_vjp(g, out, x):
    return (2 * g * x,)


@op("sqrt")
def sqrt(x):
    """√x (nan for x < 0); δ/(2√x), inf at 0."""
    return np.sqrt(x)


@sqrt.defvjp
def sqrt_vjp(g, out, x):
    return (0.5 * g / out,)                       # (√x)' = 1/(2√x) = 1/(2 out)


@op("rsqrt")
def rsqrt(x):
    """1/√x (keras.ops.rsqrt); nan for x < 0, inf at 0."""
    return 1 / np.sqrt(x)


@rsqrt.defvjp
def rsqrt_vjp(g, out, x):
    return (-0.5 * g * out ** 3,)                 # (x^−½)' = −½ x^−3/2 = −½ out³


@op("reciprocal")
def reciprocal(x):
    """1/x; integers give floats (the NumPy backend's ``np.reciprocal`` would give integer 1/x, 0 for 2)."""
    return np.true_divide(1, x)


@reciprocal.defvjp
def reciprocal_vjp(g, out, x):
    return (-g * out * out,)                      # (1/x)' = −1/x² = −out²


@op("cbrt")
def cbrt(x):
    """∛x, real for negative x too; δ/(3∛x²), inf at 0."""
    return np.cbrt(x)


@cbrt.defvjp
def cbrt_vjp(g, out, x):
    return (g / (3 * out * out),)


# --- exponentials and logarithms -------------------------------------------------------------------

@op("exp")
def exp(x):
    """eˣ."""
    return np.exp(x)


@exp.defvjp
def exp_vjp(g, out, x):
    return (g * out,)                             # (eˣ)' = eˣ, the output itself


@op("exp2")
def exp2(x):
    """2ˣ."""
    return np.exp2(x)


@exp2.defvjp
def exp2_vjp(g, out, x):
    return (g * out * _LN2,)


@op("expm1")
def expm1(x):
    """eˣ − 1, accurate for small x."""
    return np.expm1(x)


@expm1.defvjp
def expm1_vjp(g, out, x):
    return (g * (out + 1),)                       # (eˣ − 1)' = eˣ = out + 1


@op("log")
def log(x):
    """ln x (nan for x < 0, −inf at 0)."""
    return np.log(x)


@log.defvjp
def log_vjp(g, out, x):
    return (g / x,)


@op("log1p")
def log1p(x):
    """ln(1 + x), accurate for small x (nan for x < −1)."""
    return np.log1p(x)


@log1p.defvjp
def log1p_vjp(g, out, x):
    return (g / (1 + x),)


@op("log2")
def log2(x):
    """log₂ x."""
    return np.log2(x)


@log2.defvjp
def log2_vjp(g, out, x):
    return (g / (x * _LN2),)                      # (ln x / ln 2)' = 1/(x ln 2)


@op("log10")
def log10(x):
    """log₁₀ x."""
    return np.log10(x)


@log10.defvjp
def log10_vjp(g, out, x):
    return (g / (x * _LN10),)


@op("logaddexp")
def logaddexp(x1, x2):
    """ln(e^x1 + e^x2), broadcasting, without overflow."""
    return np.logaddexp(x1, x2)


@logaddexp.defvjp
def logaddexp_vjp(g, out, x1, x2):
    return g * np.exp(x1 - out), g * np.exp(x2 - out)      # the two softmax weights e^xi / (e^x1 + e^x2)


_erf = np.frompyfunc(math.erf, 1, 1)


@op("erf")
def erf(x):
    """The error function (2/√π) ∫₀ˣ e^{−t²} dt, from :func:`math.erf` (scipy is not a dependency).

    The output is float: x's float type, float64 for integers (NumPy's promotion).
    """
    x = np.asarray(x)
    dtype = x.dtype if x.dtype.kind == "f" else np.result_type(x.dtype, np.float64)
    return np.asarray(_erf(x), dtype=np.float64).astype(dtype, copy=False)


@erf.defvjp
def erf_vjp(g, out, x):
    return (g * (_TWO_OVER_SQRT_PI * np.exp(-np.square(x))),)      # erf'(x) = 2/√π e^{−x²}


# --- trigonometric and hyperbolic ------------------------------------------------------------------

@op("sin")
def sin(x):
    """sin x (radians)."""
    return np.sin(x)


@sin.defvjp
def sin_vjp(g, out, x):
    return (g * np.cos(x),)


@op("cos")
def cos(x):
    """cos x (radians)."""
    return np.cos(x)


@cos.defvjp
def cos_vjp(g, out, x):
    return (-g * np.sin(x),)


@op("tan")
def tan(x):
    """tan x (radians)."""
    return np.tan(x)


@tan.defvjp
def tan_vjp(g, out, x):
    return (g * (1 + out * out),)                 # tan' = 1 + tan²


@op("arcsin")
def arcsin(x):
    """sin⁻¹ x, for −1 ≤ x ≤ 1 (nan outside); δ/√(1 − x²)."""
    return np.arcsin(x)


@arcsin.defvjp
def arcsin_vjp(g, out, x):
    return (g / np.sqrt(1 - x * x),)


@op("arccos")
def arccos(x):
    """cos⁻¹ x, for −1 ≤ x ≤ 1 (nan outside); −δ/√(1 − x²)."""
    return np.arccos(x)


@arccos.defvjp
def arccos_vjp(g, out, x):
    return (-g / np.sqrt(1 - x * x),)


@op("arctan")
def arctan(x):
    """tan⁻¹ x, in (−π/2, π/2)."""
    return np.arctan(x)


@arctan.defvjp
def arctan_vjp(g, out, x):
    return (g / (1 + x * x),)


@op("arctan2")
def arctan2(x1, x2):
    """The angle of the point (x2, x1), in [−π, π], broadcasting (x1 is y, x2 is x, as NumPy's)."""
    return np.arctan2(x1, x2)


@arctan2.defvjp
def arctan2_vjp(g, out, x1, x2):
    r2 = x1 * x1 + x2 * x2
    return g * x2 / r2, -g * x1 / r2              # ∂θ/∂y = x/r², ∂θ/∂x = −y/r²


@op("sinh")
def sinh(x):
    """sinh x."""
    return np.sinh(x)


@sinh.defvjp
def sinh_vjp(g, out, x):
    return (g * np.cosh(x),)


@op("cosh")
def cosh(x):
    """cosh x."""
    return np.cosh(x)


@cosh.defvjp
def cosh_vjp(g, out, x):
    return (g * np.sinh(x),)


@op("tanh")
def tanh(x):
    """tanh x."""
    return np.tanh(x)


@tanh.defvjp
def tanh_vjp(g, out, x):
    return (g * (1 - out * out),)                 # tanh' = 1 − tanh²


@op("arcsinh")
def arcsinh(x):
    """sinh⁻¹ x."""
    return np.arcsinh(x)


@arcsinh.defvjp
def arcsinh_vjp(g, out, x):
    return (g / np.sqrt(x * x + 1),)


@op("arccosh")
def arccosh(x):
    """cosh⁻¹ x, for x ≥ 1 (nan below)."""
    return np.arccosh(x)


@arccosh.defvjp
def arccosh_vjp(g, out, x):
    return (g / np.sqrt(x * x - 1),)


@op("arctanh")
def arctanh(x):
    """tanh⁻¹ x, for −1 < x < 1."""
    return np.arctanh(x)


@arctanh.defvjp
def arctanh_vjp(g, out, x):
    return (g / (1 - x * x),)


# --- choosing between values -----------------------------------------------------------------------

@op("maximum")
def maximum(x1, x2):
    """The larger of x1 and x2, elementwise, broadcasting (nan if either is nan).

    δ goes to the larger input; where x1 = x2 each gets δ/2 (the rule of PyTorch's
    ``maximum`` and of JAX's, which Keras's JAX backend differentiates with).
    """
    return np.maximum(x1, x2)


@maximum.defvjp
def maximum_vjp(g, out, x1, x2):
    return _choose(g, np.greater(x1, x2), np.less(x1, x2), np.equal(x1, x2))


@op("minimum")
def minimum(x1, x2):
    """The smaller of x1 and x2, elementwise, broadcasting; δ to the smaller, δ/2 to each on a tie."""
    return np.minimum(x1, x2)


@minimum.defvjp
def minimum_vjp(g, out, x1, x2):
    return _choose(g, np.less(x1, x2), np.greater(x1, x2), np.equal(x1, x2))


def _choose(g, first, second, tie):
    """δ to the first input where ``first``, to the second where ``second``, half to each on a ``tie``."""
    half = 0.5 * g
    return np.where(first, g, np.where(tie, half, 0)), np.where(second, g, np.where(tie, half, 0))


@op("clip")
def clip(x, x_min, x_max):
    """x limited to [x_min, x_max]: minimum(maximum(x, x_min), x_max), broadcasting all three.

    As NumPy's (and Keras's) clip, x_max wins where x_min > x_max. δ goes to x where
    x_min ≤ x ≤ x_max, bounds included (PyTorch's ``clamp``; JAX would give half on a
    bound), to x_min where x < x_min, and to x_max where x > x_max (when they are tensors).
    """
    return np.minimum(np.maximum(x, x_min), x_max)


@clip.defvjp
def clip_vjp(g, out, x, x_min, x_max, need=(True, True, True)):
    low = np.less(x, x_min)                       # maximum(x, x_min) took x_min
    high = np.greater(np.maximum(x, x_min), x_max)          # then minimum(·, x_max) took x_max
    zero = np.zeros((), g.dtype)
    gx = np.where(low | high, zero, g) if need[0] else None
    glo = np.where(low & ~high, g, zero) if need[1] else None
    ghi = np.where(high, g, zero) if need[2] else None
    return gx, glo, ghi


@op("where")
def where(condition, x1=None, x2=None):
    """x1 where ``condition`` is true, else x2, broadcasting all three (``condition`` is cast to bool).

    With only ``condition``, the indices of its true entries (NumPy's ``nonzero``), as Keras.
    δ goes to x1 where the condition holds and to x2 elsewhere; the condition gets none.

    Raises
    ------
    ValueError
        One of x1 and x2 given without the other (Keras's error).
    """
    if (x1 is None) != (x2 is None):
        raise ValueError("ops.where: `x1` and `x2` either both should be `None` or both should have "
                         "non-None value.")
    if x1 is None:
        return np.nonzero(condition)
    return np.where(condition, x1, x2)


@where.defvjp
def where_vjp(g, out, condition, x1=None, x2=None):
    c = np.asarray(condition, dtype=bool)
    zero = np.zeros((), g.dtype)
    return None, np.where(c, g, zero), np.where(c, zero, g)


@op("nan_to_num")
def nan_to_num(x, nan=0.0, posinf=None, neginf=None):
    """x with nan replaced by ``nan``, +inf by ``posinf`` and −inf by ``neginf`` (default: the dtype's extremes).

    δ passes where x is finite; a replaced entry is a constant and gets none (as JAX's).
    """
    return np.nan_to_num(x, nan=nan, posinf=posinf, neginf=neginf)


@nan_to_num.defvjp
def nan_to_num_vjp(g, out, x, nan=0.0, posinf=None, neginf=None):
    return (np.where(np.isfinite(x), g, np.zeros((), g.dtype)),)


# --- rounding: no gradient (zero almost everywhere) ------------------------------------------------

@op("round", instead=_STEP)
def round(x, decimals=0):                         # noqa: A001 — keras.ops's name
    """x rounded to ``decimals`` decimal places, halves to even (NumPy's and Keras's). No gradient."""
    return np.round(x, decimals)


@op("floor", instead=_STEP)
def floor(x):
    """⌊x⌋, the largest integer ≤ x (as a float for float x). No gradient."""
    return np.floor(x)


@op("ceil", instead=_STEP)
def ceil(x):
    """⌈x⌉, the smallest integer ≥ x. No gradient."""
    return np.ceil(x)


@op("trunc", instead=_STEP)
def trunc(x):
    """x rounded toward 0. No gradient."""
    return np.trunc(x)


# --- comparisons and logic: boolean outputs, constants to the tape ---------------------------------

@op("equal")
def equal(x1, x2):
    """x1 == x2, elementwise, broadcasting: a boolean array."""
    return np.equal(x1, x2)


@op("not_equal")
def not_equal(x1, x2):
    """x1 != x2, elementwise, broadcasting: a boolean array."""
    return np.not_equal(x1, x2)


@op("greater")
def greater(x1, x2):
    """x1 > x2, elementwise, broadcasting: a boolean array."""
    return np.greater(x1, x2)


@op("greater_equal")
def greater_equal(x1, x2):
    """x1 ≥ x2, elementwise, broadcasting: a boolean array."""
    return np.greater_equal(x1, x2)


@op("less")
def less(x1, x2):
    """x1 < x2, elementwise, broadcasting: a boolean array."""
    return np.less(x1, x2)


@op("less_equal")
def less_equal(x1, x2):
    """x1 ≤ x2, elementwise, broadcasting: a boolean array."""
    return np.less_equal(x1, x2)


@op("logical_and")
def logical_and(x1, x2):
    """x1 ∧ x2 (nonzero is true), broadcasting: a boolean array."""
    return np.logical_and(x1, x2)


@op("logical_or")
def logical_or(x1, x2):
    """x1 ∨ x2 (nonzero is true), broadcasting: a boolean array."""
    return np.logical_or(x1, x2)


@op("logical_xor")
def logical_xor(x1, x2):
    """x1 ⊕ x2 (nonzero is true), broadcasting: a boolean array."""
    return np.logical_xor(x1, x2)


@op("logical_not")
def logical_not(x):
    """¬x (zero is false): a boolean array."""
    return np.logical_not(x)


@op("isnan")
def isnan(x):
    """Whether each entry is nan: a boolean array."""
    return np.isnan(x)


@op("isinf")
def isinf(x):
    """Whether each entry is +inf or −inf: a boolean array."""
    return np.isinf(x)


@op("isfinite")
def isfinite(x):
    """Whether each entry is neither nan nor ±inf: a boolean array."""
    return np.isfinite(x)
