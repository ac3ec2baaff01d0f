"""netfit.ops's elementwise and reduce families: forwards against NumPy (and torch), VJPs against central differences.

Every op of the two families is either in GRADIENTS (a hypothesis test of its VJP
over random shapes, broadcasting pairs and scalars included, through the tape, in
float64) or declared without a gradient in NO_GRADIENT (float outputs: reaching
it in backward raises GradientError naming the op and the caller's line) or
CONSTANT (boolean and integer outputs: plain arrays the tape never sees).
test_every_op_is_covered fails for an op added to either module without a test.
"""
import math

import numpy as np
import pytest
from hypothesis import assume, given, settings, strategies as st
from hypothesis.extra import numpy as hnp

from netfit import ops
from netfit.ops import GradientError, Tape, Value
from netfit.ops.table import TABLE
from ops_checks import check_gradient, tape_gradients

# --- drawing shapes and values ------------------------------------------------------------------------

SHAPES = hnp.array_shapes(min_dims=0, max_dims=3, min_side=1, max_side=4)
FIXED_PAIRS = [((3, 1), (4,)), ((), (2, 3)), ((2, 3), ()), ((4,), (3, 1)), ((2, 1, 3), (4, 1))]
PAIRS = st.one_of(st.sampled_from(FIXED_PAIRS),
                  hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3, max_side=4)
                  .map(lambda b: b.input_shapes))
TRIPLES = st.one_of(st.sampled_from([((3, 1), (4,), ()), ((2, 3), (3,), (2, 1))]),
                    hnp.mutually_broadcastable_shapes(num_shapes=3, min_dims=0, max_dims=3, max_side=4)
                    .map(lambda b: b.input_shapes))


def _rng(data):
    return np.random.default_rng(data.draw(st.integers(0, 2 ** 32 - 1), label="seed"))


def _uniform(lo, hi):
    return lambda rng, shape: rng.uniform(lo, hi, shape)


def _away_from_zero(lo=0.3, hi=2.0):
    """|x| in [lo, hi], either sign: away from a kink or a pole at 0."""
    return lambda rng, shape: rng.choice([-1.0, 1.0], shape) * rng.uniform(lo, hi, shape)


def _grid(offset):
    """Integers in [−3, 3] plus ``offset``: two grids with offsets 0.25 and 0.75 never come within 0.5."""
    return lambda rng, shape: rng.integers(-3, 4, shape) + offset


def _distinct(rng, shape):
    """Values at least 0.3 apart (no ties for max/min)."""
    n = int(np.prod(shape, dtype=int))
    return (rng.permutation(n) * 0.5 + rng.uniform(-0.1, 0.1, n)).reshape(shape)


def _with_zeros(rng, shape):
    """Values of size about 1, some of them exactly 0 (products: zeros are where naive VJPs divide by 0)."""
    x = rng.choice([-1.0, 1.0], shape) * rng.uniform(0.5, 1.5, shape)
    return np.where(rng.random(shape) < 0.2, 0.0, x)


def unary(fn, values):
    def case(data):
        return fn, [values(_rng(data), data.draw(SHAPES, label="shape"))]
    return case


def binary(fn, v1, v2, check=None):
    def case(data):
        rng = _rng(data)
        s1, s2 = data.draw(PAIRS, label="shapes")
        a, b = v1(rng, s1), v2(rng, s2)
        if check is not None:
            assume(check(a, b))
        return fn, [a, b]
    return case


def _axis(data, ndim, single=False):
    if ndim == 0:
        return None
    one = st.integers(-ndim, ndim - 1)
    many = st.lists(st.integers(0, ndim - 1), min_size=1, max_size=ndim, unique=True).map(tuple)
    return data.draw(st.none() | one if single else st.none() | one | many, label="axis")


def reduction(name, values, single_axis=False, **extra):
    def case(data):
        shape = data.draw(SHAPES, label="shape")
        axis = _axis(data, len(shape), single_axis)
        options = {"axis": axis, **extra}
        if not single_axis:
            options["keepdims"] = data.draw(st.booleans(), label="keepdims")
        return (lambda x: getattr(ops, name)(x, **options)), [values(_rng(data), shape)]
    return case


def _mod_away_from_jumps(a, b):
    q = np.asarray(a / b)
    frac = q - np.floor(q)
    return bool(np.all((frac > 1e-3) & (frac < 1 - 1e-3)))


def _where_case(data):
    rng = _rng(data)
    sc, s1, s2 = data.draw(TRIPLES, label="shapes")
    condition = rng.random(sc) < 0.5
    return (lambda a, b: ops.where(condition, a, b)), [rng.uniform(-2, 2, s1), rng.uniform(-2, 2, s2)]


def _clip_case(data):
    rng = _rng(data)
    sx, slo, shi = data.draw(TRIPLES, label="shapes")                 # x at k + ½, bounds at integers
    x, lo, hi = rng.integers(-4, 4, sx) + 0.5, rng.integers(-3, 0, slo) + 0.0, rng.integers(1, 4, shi) + 0.0
    return ops.clip, [x, lo, hi]


def _clip_scalar_bounds(data):
    rng = _rng(data)
    return (lambda x: ops.clip(x, -1.0, 2.0)), [rng.integers(-4, 4, data.draw(SHAPES)) + 0.5]


U2 = _uniform(-2, 2)
POSITIVE = _uniform(0.3, 3)
NORMAL = lambda rng, shape: rng.standard_normal(shape)    # noqa: E731

# name, or name[variant]: a case drawing (function of traced inputs, input arrays).
GRADIENTS = {
    "add": binary(ops.add, U2, U2),
    "subtract": binary(ops.subtract, U2, U2),
    "multiply": binary(ops.multiply, U2, U2),
    "divide": binary(ops.divide, U2, _away_from_zero()),
    "true_divide": binary(ops.true_divide, U2, _away_from_zero()),
    "mod": binary(ops.mod, _uniform(-3, 3), _away_from_zero(0.5, 2), _mod_away_from_jumps),
    "power": binary(ops.power, _uniform(0.3, 2), U2),
    "power[x ** 3, negative base]": unary(lambda x: x ** 3, U2),
    "power[2 ** x]": unary(lambda x: 2.0 ** x, U2),
    "negative": unary(ops.negative, U2),
    "abs": unary(ops.abs, _away_from_zero()),
    "absolute": unary(ops.absolute, _away_from_zero()),
    "square": unary(ops.square, U2),
    "sqrt": unary(ops.sqrt, POSITIVE),
    "rsqrt": unary(ops.rsqrt, POSITIVE),
    "reciprocal": unary(ops.reciprocal, _away_from_zero()),
    "cbrt": unary(ops.cbrt, _away_from_zero()),
    "exp": unary(ops.exp, U2),
    "exp2": unary(ops.exp2, U2),
    "expm1": unary(ops.expm1, U2),
    "log": unary(ops.log, POSITIVE),
    "log1p": unary(ops.log1p, _uniform(-0.7, 3)),
    "log2": unary(ops.log2, POSITIVE),
    "log10": unary(ops.log10, POSITIVE),
    "logaddexp": binary(ops.logaddexp, _uniform(-3, 3), _uniform(-3, 3)),
    "erf": unary(ops.erf, U2),
    "sin": unary(ops.sin, _uniform(-4, 4)),
    "cos": unary(ops.cos, _uniform(-4, 4)),
    "tan": unary(ops.tan, _uniform(-1.2, 1.2)),
    "arcsin": unary(ops.arcsin, _uniform(-0.9, 0.9)),
    "arccos": unary(ops.arccos, _uniform(-0.9, 0.9)),
    "arctan": unary(ops.arctan, _uniform(-3, 3)),
    "arctan2": binary(ops.arctan2, _away_from_zero(), U2),            # y away from 0: off the cut at x < 0
    "sinh": unary(ops.sinh, U2),
    "cosh": unary(ops.cosh, U2),
    "tanh": unary(ops.tanh, U2),
    "arcsinh": unary(ops.arcsinh, _uniform(-3, 3)),
    "arccosh": unary(ops.arccosh, _uniform(1.2, 3)),
    "arctanh": unary(ops.arctanh, _uniform(-0.9, 0.9)),
    "maximum": binary(ops.maximum, _grid(0.25), _grid(0.75)),
    "minimum": binary(ops.minimum, _grid(0.25), _grid(0.75)),
    "clip": _clip_case,
    "clip[scalar bounds]": _clip_scalar_bounds,
    "where": _where_case,
    "nan_to_num": unary(ops.nan_to_num, U2),
    "sum": reduction("sum", NORMAL),
    "mean": reduction("mean", NORMAL),
    "var": reduction("var", NORMAL),
    "std": reduction("std", NORMAL),
    "logsumexp": reduction("logsumexp", lambda rng, shape: 3 * rng.standard_normal(shape)),
    "prod": reduction("prod", _with_zeros),
    "max": reduction("max", _distinct),
    "max[initial]": reduction("max", _distinct, initial=-100.0),
    "min": reduction("min", _distinct),
    "amax": reduction("amax", _distinct),
    "amin": reduction("amin", _distinct),
    "cumsum": reduction("cumsum", NORMAL, single_axis=True),
    "cumprod": reduction("cumprod", _with_zeros, single_axis=True),
    "cumprod[no zeros]": reduction("cumprod", _away_from_zero(0.5, 1.5), single_axis=True),
}

# Float outputs, no VJP: a loss that depends on one stops back-propagation (op, arguments beside x).
NO_GRADIENT = {
    "floor_divide": lambda x: ops.floor_divide(x, 0.7),
    "sign": lambda x: ops.sign(x),
    "round": lambda x: ops.round(x),
    "floor": lambda x: ops.floor(x),
    "ceil": lambda x: ops.ceil(x),
    "trunc": lambda x: ops.trunc(x),
}

# Boolean or integer outputs: plain arrays, constants to the tape.
CONSTANT = {
    "equal": lambda x: ops.equal(x, 0.5), "not_equal": lambda x: ops.not_equal(x, 0.5),
    "greater": lambda x: ops.greater(x, 0), "greater_equal": lambda x: ops.greater_equal(x, 0),
    "less": lambda x: ops.less(x, 0), "less_equal": lambda x: ops.less_equal(x, 0),
    "logical_and": lambda x: ops.logical_and(x, x > 1), "logical_or": lambda x: ops.logical_or(x, 0),
    "logical_xor": lambda x: ops.logical_xor(x, x > 1), "logical_not": lambda x: ops.logical_not(x),
    "isnan": lambda x: ops.isnan(x), "isinf": lambda x: ops.isinf(x), "isfinite": lambda x: ops.isfinite(x),
    "argmax": lambda x: ops.argmax(x), "argmin": lambda x: ops.argmin(x, axis=0),
    "any": lambda x: ops.any(x), "all": lambda x: ops.all(x, keepdims=True),
    "count_nonzero": lambda x: ops.count_nonzero(x),
}


def _op_name(case):
    return case.split("[")[0]


# --- coverage -------------------------------------------------------------------------------------------

def test_every_op_is_covered():
    """Each op of the two families has a gradient test or is declared without a gradient, and not both."""
    family = set(ops.list_ops("elementwise")) | set(ops.list_ops("reduce"))
    graded = {_op_name(c) for c in GRADIENTS}
    declared = set(NO_GRADIENT) | set(CONSTANT)
    assert not graded & declared
    assert family == graded | declared, (f"without a test: {sorted(family - graded - declared)}; "
                                         f"tested but not an op of the families: {sorted(graded | declared - family)}")
    assert all(TABLE[n].vjp is not None for n in graded)
    assert all(TABLE[n].vjp is None for n in declared)
    assert all(TABLE[n].instead for n in NO_GRADIENT)


# --- gradients ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("case", sorted(GRADIENTS))
@settings(max_examples=15, deadline=None)
@given(data=st.data())
def test_gradient(case, data):
    fn, arrays = GRADIENTS[case](data)
    check_gradient(fn, *arrays)


@pytest.mark.parametrize("case", sorted(GRADIENTS))
@settings(max_examples=2, deadline=None)
@given(data=st.data())
def test_float32_stays_float32(case, data):
    """δ comes back in the inputs' float32 (a Python scalar or a float64 constant in a VJP would promote it)."""
    fn, arrays = GRADIENTS[case](data)
    with Tape() as tape:
        values = [Value(np.asarray(a, np.float32), tape) for a in arrays]
        out = fn(*values)
    assert out.dtype == np.float32
    grads = tape.backward(out, np.ones(out.shape, np.float32))
    assert {grads[id(v)].dtype for v in values if id(v) in grads} <= {np.dtype(np.float32)}


def test_gradients_at_the_edges():
    """Ties, bounds, zeros and non-finite entries, where a rule was chosen: against torch's (and the docs')."""
    torch = pytest.importorskip("torch")
    def grads(fn, *arrays, c=None):
        return tape_gradients(fn, arrays, c=c)[1]

    def torch_grads(fn, *arrays):
        ts = [torch.tensor(a, dtype=torch.float64, requires_grad=True) for a in arrays]
        fn(*ts).sum().backward()
        return [t.grad.numpy() for t in ts]

    def same(ours, theirs):
        for a, b in zip(ours, theirs):
            np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)

    ones = lambda a: np.ones(np.shape(a))                                            # noqa: E731
    a, b = np.array([1.0, 2.0, 3.0]), np.array([1.0, 3.0, 2.0])
    out = ops.maximum(a, b)
    same(grads(ops.maximum, a, b, c=ones(out)), torch_grads(torch.maximum, a, b))     # tie: ½ each
    same(grads(ops.minimum, a, b, c=ones(out)), torch_grads(torch.minimum, a, b))
    x = np.array([-2.0, -1.0, 0.0, 2.0, 3.0])
    same(grads(lambda v: ops.clip(v, -1.0, 2.0), x, c=ones(x)),
         torch_grads(lambda t: torch.clamp(t, -1.0, 2.0), x))                         # bounds: δ to x
    x, lo, hi = np.array([-3.0, 0.0, 3.0, 1.0, -1.0]), np.array([1.0, 1, 1, -1, -1]), np.array([-1.0, -1, -1, 1, 2])
    same(grads(ops.clip, x, lo, hi, c=ones(x)), torch_grads(torch.clamp, x, lo, hi))   # x_min > x_max: x_max
    x = np.array([[1.0, 3.0, 3.0], [0.0, -1.0, -1.0]])
    same(grads(lambda v: ops.max(v, axis=1), x, c=np.ones(2)),
         torch_grads(lambda t: torch.amax(t, dim=1), x))                              # ties share δ
    same(grads(lambda v: ops.min(v), x, c=np.ones(())), torch_grads(torch.amin, x))
    x = np.array([[2.0, 0.0, 3.0], [0.0, 0.0, 5.0], [1.5, 2.0, -1.0]])
    same(grads(lambda v: ops.prod(v, axis=1), x, c=np.ones(3)),
         torch_grads(lambda t: torch.prod(t, dim=1), x))                              # zeros: exact
    same(grads(lambda v: ops.cumprod(v, axis=1), x, c=np.ones((3, 3))),
         torch_grads(lambda t: torch.cumprod(t, dim=1), x))
    x1, x2 = np.array([5.3, -5.3, 1.2]), np.array([2.0, 2.0, -0.5])
    same(grads(ops.mod, x1, x2, c=ones(x1)), torch_grads(torch.remainder, x1, x2))
    x1, x2 = np.array([0.0, 0.0, 2.0]), np.array([2.0, 0.0, 0.5])
    same(grads(ops.power, x1, x2, c=ones(x1)), torch_grads(torch.pow, x1, x2))        # 0 ** y
    # nan_to_num: replaced entries are constants.
    x = np.array([1.0, np.nan, np.inf, -np.inf, -2.0])
    to_num = lambda v: ops.nan_to_num(v, posinf=9.0, neginf=-9.0)                 # noqa: E731
    np.testing.assert_array_equal(grads(to_num, x, c=np.arange(5.0))[0], [0, 0, 0, 0, 4])
    # std where all entries are equal: 0, not nan (documented); var: 0 too.
    x = np.array([[2.0, 2.0, 2.0], [1.0, 2.0, 4.0]])
    g_std = grads(lambda v: ops.std(v, axis=1), x, c=np.ones(2))[0]
    np.testing.assert_allclose(g_std[1], torch_grads(lambda t: torch.std(t[1], correction=0), x)[0][1])
    np.testing.assert_array_equal(g_std[0], 0)
    # max with an initial above every entry: no entry gets δ.
    np.testing.assert_array_equal(grads(lambda v: ops.max(v, initial=10.0), x, c=np.ones(()))[0], 0)
    # where: the condition gets nothing, even when it is a traced float.
    cond = np.array([1.0, 0.0, 1.0])
    g = grads(lambda c, u, w: ops.where(c, u, w), cond, a, b, c=np.ones(3))
    np.testing.assert_array_equal(g[0], 0)
    np.testing.assert_array_equal(g[1], [1, 0, 1])
    np.testing.assert_array_equal(g[2], [0, 1, 0])


# --- forwards -------------------------------------------------------------------------------------------

RNG = np.random.default_rng(7)
X = RNG.uniform(-2, 2, (3, 4))
P = RNG.uniform(0.3, 3, (3, 4))
Y = RNG.uniform(0.5, 2, (4,)) * RNG.choice([-1.0, 1.0], (4,))
UNIT = RNG.uniform(-0.9, 0.9, (3, 4))
ODD = np.array([[1.5, np.nan, np.inf], [-np.inf, 0.0, -2.0]])

SAME_AS_NUMPY = {  # op: its arguments; the reference is NumPy's function of the same name
    "add": (X, Y), "subtract": (X, Y), "multiply": (X, Y), "divide": (X, Y), "true_divide": (X, Y),
    "floor_divide": (X, Y), "mod": (X, Y), "power": (P, X), "negative": (X,), "abs": (X,), "absolute": (X,),
    "sign": (X,), "square": (X,), "sqrt": (P,), "reciprocal": (Y,), "cbrt": (X,), "exp": (X,), "exp2": (X,),
    "expm1": (X,), "log": (P,), "log1p": (P,), "log2": (P,), "log10": (P,), "logaddexp": (X, Y), "sin": (X,),
    "cos": (X,), "tan": (X,), "arcsin": (UNIT,), "arccos": (UNIT,), "arctan": (X,), "arctan2": (X, Y),
    "sinh": (X,), "cosh": (X,), "tanh": (X,), "arcsinh": (X,), "arccosh": (P + 1,), "arctanh": (UNIT,),
    "maximum": (X, Y), "minimum": (X, Y), "clip": (X, -0.5, 1.0), "where": (X > 0, X, Y),
    "round": (X * 10,), "floor": (X,), "ceil": (X,), "trunc": (X,), "equal": (np.round(X), Y),
    "not_equal": (np.round(X), Y), "greater": (X, Y), "greater_equal": (X, Y), "less": (X, Y),
    "less_equal": (X, Y), "logical_and": (X > 0, X > 1), "logical_or": (X > 0, X), "logical_xor": (X > 0, Y > 0),
    "logical_not": (X > 0,), "isnan": (ODD,), "isinf": (ODD,), "isfinite": (ODD,),
    "nan_to_num": (ODD,),
    "sum": (X,), "mean": (X,), "var": (X,), "std": (X,), "prod": (X,), "max": (X,), "min": (X,), "amax": (X,),
    "amin": (X,), "argmax": (X,), "argmin": (X,), "any": (X > 1,), "all": (X > -2.5,), "cumsum": (X,),
    "cumprod": (X,), "count_nonzero": (np.round(X),),
}
REDUCTIONS = ["sum", "mean", "var", "std", "prod", "max", "min", "amax", "amin", "argmax", "argmin", "any", "all"]


@pytest.mark.parametrize("name", sorted(SAME_AS_NUMPY))
def test_forward_matches_numpy(name):
    args = SAME_AS_NUMPY[name]
    with np.errstate(divide="ignore", invalid="ignore"):
        expected = getattr(np, name)(*args)
        np.testing.assert_array_equal(getattr(ops, name)(*args), expected)
    if name in REDUCTIONS:
        for kw in ({"axis": 1}, {"axis": -2, "keepdims": True}, {"axis": (0, 1)}):
            if name.startswith("arg") and isinstance(kw["axis"], tuple):
                continue
            got = getattr(ops, name)(*args, **kw)
            np.testing.assert_array_equal(got, getattr(np, name)(*args, **kw))
    if name in ("cumsum", "cumprod"):
        np.testing.assert_array_equal(getattr(ops, name)(X, axis=-1), getattr(np, name)(X, axis=-1))


def test_forwards_without_a_numpy_namesake():
    torch = pytest.importorskip("torch")
    np.testing.assert_allclose(ops.rsqrt(P), 1 / np.sqrt(P), rtol=1e-15)
    np.testing.assert_allclose(ops.erf(X), [[math.erf(v) for v in row] for row in X], rtol=1e-15)
    np.testing.assert_allclose(ops.erf(X), torch.erf(torch.tensor(X)).numpy(), rtol=1e-14, atol=1e-15)
    assert ops.erf(np.float32([0.5])).dtype == np.float32 and ops.erf(np.array([1])).dtype == np.float64
    assert ops.reciprocal(np.array([2, 4])).tolist() == [0.5, 0.25]      # integers: true division
    for kw in ({}, {"axis": 1}, {"axis": (0, 1), "keepdims": True}, {"axis": -1, "keepdims": True}):
        dims = kw.get("axis", (0, 1))
        want = torch.logsumexp(torch.tensor(X), dim=dims, keepdim=kw.get("keepdims", False)).numpy()
        np.testing.assert_allclose(ops.logsumexp(X, **kw), want, rtol=1e-14)
    assert ops.logsumexp(np.array([1000.0, 1000.0])) == pytest.approx(1000 + math.log(2))   # no overflow
    assert ops.logsumexp(np.array([-np.inf, -np.inf])) == -np.inf
    assert ops.logsumexp(np.array([-1000.0, -1000.0])) == pytest.approx(-1000 + math.log(2))
    np.testing.assert_allclose(ops.std(X, axis=0), torch.std(torch.tensor(X), dim=0, correction=0).numpy())
    np.testing.assert_allclose(ops.var(X), torch.var(torch.tensor(X), correction=0).item())
    assert ops.argmax(X).dtype == np.int32 and ops.count_nonzero(X, axis=0).dtype == np.int32
    assert ops.argmax(X, axis=1, keepdims=True).shape == (3, 1)
    assert ops.clip(X, 1.0, -1.0).tolist() == np.full((3, 4), -1.0).tolist()          # x_max wins, as NumPy
    assert [a.tolist() for a in ops.where(np.array([0, 1, 1]))] == [[1, 2]]           # the indices, as NumPy
    with pytest.raises(ValueError, match="both should"):
        ops.where(X > 0, X)
    assert ops.max(np.array([1.0, 2.0]), initial=5.0) == 5.0
    assert ops.cumsum(X).shape == (12,) and ops.cumprod(X).shape == (12,)            # axis None: flattened


# --- ops without a gradient -----------------------------------------------------------------------------

@pytest.mark.parametrize("name", sorted(NO_GRADIENT))
def test_no_gradient_raises_naming_the_op_and_line(name):
    call = NO_GRADIENT[name]
    with Tape() as tape:
        x = Value(np.array([0.3, 1.7, -2.2]), tape)
        loss = ops.sum(call(x) * x)
    with pytest.raises(GradientError) as raised:
        tape.backward(loss)
    message = str(raised.value)
    assert f"ops.{name} has no gradient" in message
    assert f"{call.__code__.co_filename}:{call.__code__.co_firstlineno}" in message      # the lambda's line
    assert "test_ops_math.py" in message and TABLE[name].instead in message


@pytest.mark.parametrize("name", sorted(CONSTANT))
def test_boolean_and_integer_outputs_are_constants(name):
    with Tape() as tape:
        x = Value(np.array([0.5, 1.7, -2.2, 0.0]), tape)
        result = CONSTANT[name](x)
        kept = [e.op.name for e in tape.entries]
        loss = ops.sum(ops.where(result, x, 0.0) if np.asarray(result).dtype == bool else x * 2.0)
    assert isinstance(result, (np.ndarray, np.generic)) and result.dtype.kind in "bi"     # not traced
    assert name not in kept
    want = np.where(result, 1.0, 0.0) if result.dtype == bool else 2.0
    np.testing.assert_allclose(tape.backward(loss)[id(x)], np.broadcast_to(want, (4,)))


# --- Python's operators and NumPy's ufuncs on a traced value --------------------------------------------

def test_operators_record_on_the_tape():
    with Tape() as tape:
        x = Value(np.array([0.5, -1.5, 2.0]), tape)
        y = Value(np.array([1.5, 2.0, -0.5]), tape)
        made = [x + 1, 2 * x, x ** 2, -x, x / y, np.exp(x), 1 - x, abs(x), np.sqrt(y * y), np.maximum(x, y),
                np.true_divide(x, y), np.absolute(y), x // y, x % y]
        positive = x > 0
    assert [e.op.name for e in tape.entries] == [
        "add", "multiply", "power", "negative", "divide", "exp", "subtract", "abs", "multiply", "sqrt",
        "maximum", "divide", "abs", "floor_divide", "mod"]
    assert all(isinstance(v, Value) for v in made)
    assert type(positive) is np.ndarray and positive.tolist() == [True, False, True]


def test_operators_differentiate():
    x, y = np.array([0.5, -1.5, 2.0]), np.array([1.5, 2.0, -0.5])
    check_gradient(lambda a, b: (a + 1) * (2 * a) + a ** 2 - a / b + np.exp(a) * (a > 0) - (-b) ** 3
                   + abs(a) * np.tanh(b) + 3.0 ** b % 2.5, x, y)
