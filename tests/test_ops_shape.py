"""netfit.ops's linalg and shape families: forwards against NumPy, VJPs against float64 central differences.

Every differentiable op has a hypothesis test over random shapes and axes that
compares the tape's δ with central differences (tests/ops_checks.check_gradient);
ops without a gradient (creation ops, argsort, one_hot, shape) are checked forward.
``covers`` records which ops a test checks: :func:`test_every_op_is_covered` fails
for an op of these families that no test covers. A few composed expressions are
compared with PyTorch's autograd.
"""
import doctest

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from netfit import ops
from netfit.ops import GradientError, Tape, Value
from netfit.ops.table import TABLE
from ops_checks import check_gradient, tape_gradients

SET = settings(max_examples=15, deadline=None)
COVERED = set()
seeds = st.integers(0, 2**31 - 1)
dims = st.lists(st.integers(1, 3), min_size=1, max_size=3).map(tuple)


def covers(*names):
    """Mark the decorated test as checking ``names`` (for test_every_op_is_covered)."""
    def mark(test):
        COVERED.update(names)
        return test
    return mark


def arr(seed, shape):
    return np.random.default_rng(seed).standard_normal(shape)


# ------------------------------------------------------------------------------------------------
# linalg

@covers("matmul")
@SET
@given(seeds, st.sampled_from([((3,), (3,)), ((2, 3), (3,)), ((3,), (3, 2)), ((2, 3), (3, 4)),
                               ((2, 1, 2, 3), (3, 3, 2)), ((2, 2, 3), (3, 1)), ((3,), (2, 3, 2))]))
def test_matmul(seed, shapes):
    a, b = arr(seed, shapes[0]), arr(seed + 1, shapes[1])
    np.testing.assert_allclose(ops.matmul(a, b), a @ b)
    check_gradient(lambda x, y: ops.matmul(x, y), a, b)


@covers("dot")
@SET
@given(seeds, st.sampled_from([((), (3,)), ((2,), ()), ((3,), (3,)), ((2, 3), (3, 2)), ((2, 3), (3,)),
                               ((3,), (3, 2)), ((2, 1, 3), (4, 3, 2)), ((2, 3), (2, 3, 1))]))
def test_dot(seed, shapes):
    a, b = arr(seed, shapes[0]), arr(seed + 1, shapes[1])
    np.testing.assert_allclose(ops.dot(a, b), np.dot(a, b))
    check_gradient(lambda x, y: ops.dot(x, y), a, b)


@covers("tensordot")
@SET
@given(seeds, st.sampled_from([(((2, 3, 4), (3, 4, 2)), 2), (((2, 3), (3, 2)), 1), (((2, 3), (2,)), 0),
                               (((2, 3, 4), (4, 3, 2)), ([1, 2], [1, 0])), (((3, 2, 4), (4, 3)), ([-1, 0], [0, 1])),
                               (((2, 3), (3, 2)), (1, 0))]))
def test_tensordot(seed, case):
    (sa, sb), axes = case
    a, b = arr(seed, sa), arr(seed + 1, sb)
    want = np.tensordot(a, b, axes=tuple(axes) if isinstance(axes, list) else axes)
    np.testing.assert_allclose(ops.tensordot(a, b, axes), want)
    check_gradient(lambda x, y: ops.tensordot(x, y, axes=axes), a, b)


@covers("inner", "outer", "vdot")
@SET
@given(seeds, st.sampled_from([((3,), (3,)), ((2, 3), (3,)), ((2, 3), (4, 3)), ((), (2,)), ((2, 2), (1, 2))]))
def test_inner_outer_vdot(seed, shapes):
    a, b = arr(seed, shapes[0]), arr(seed + 1, shapes[1])
    np.testing.assert_allclose(ops.inner(a, b), np.inner(a, b))
    check_gradient(lambda x, y: ops.inner(x, y), a, b)
    np.testing.assert_allclose(ops.outer(a, b), np.outer(a, b))
    check_gradient(lambda x, y: ops.outer(x, y), a, b)
    c = arr(seed + 2, np.shape(a)[::-1])                         # same size, another shape
    np.testing.assert_allclose(ops.vdot(a, c), np.vdot(a, c))
    check_gradient(lambda x, y: ops.vdot(x, y), a, c)


EINSUM_PATTERNS = [
    ("ij,jk->ik", [(2, 3), (3, 2)]),
    ("bij,bjk->bik", [(2, 2, 3), (2, 3, 2)]),
    ("ij->ji", [(2, 3)]),
    ("ij->", [(2, 3)]),
    ("i,i->", [(4,), (4,)]),
    ("bi,ij->bj", [(2, 3), (3, 2)]),
    ("bhqd,bhkd->bhqk", [(1, 2, 3, 2), (1, 2, 2, 2)]),
    ("ij->i", [(2, 3)]),                      # j summed inside the operand: δ broadcast along it
    ("ij,jk", [(2, 3), (3, 2)]),              # implicit output
    ("...ij,...jk->...ik", [(2, 2, 3), (3, 2)]),
    ("i,j,k->ijk", [(2,), (3,), (2,)]),
    ("ij,ij->ij", [(1, 3), (2, 3)]),          # a broadcast index of length 1
]


@covers("einsum")
@SET
@given(seeds, st.sampled_from(EINSUM_PATTERNS))
def test_einsum(seed, case):
    pattern, shapes = case
    xs = [arr(seed + k, s) for k, s in enumerate(shapes)]
    np.testing.assert_allclose(ops.einsum(pattern, *xs), np.einsum(pattern, *xs))
    check_gradient(lambda *v: ops.einsum(pattern, *v), *xs)


@pytest.mark.parametrize("pattern", [p for p, _ in EINSUM_PATTERNS])
def test_einsum_each_pattern(pattern):
    shapes = dict(EINSUM_PATTERNS)[pattern]
    check_gradient(lambda *v: ops.einsum(pattern, *v), *[arr(k, s) for k, s in enumerate(shapes)])


def test_einsum_repeated_index_is_a_clear_error():
    with Tape() as tape:
        x = Value(arr(0, (3, 3)), tape)
        out = ops.einsum("ii->", x)
    np.testing.assert_allclose(out.data, np.trace(x.data))           # the forward is fine
    with pytest.raises(NotImplementedError, match=r"'ii->'.*repeat the index 'i'.*ops.trace"):
        tape.backward(out)
    # the other operand of a pattern with a diagonal still gets its gradient
    check_gradient(lambda b: ops.einsum("ii,i->i", arr(1, (3, 3)), b), arr(2, (3,)))


@covers("norm")
@SET
@given(seeds, st.sampled_from([((4,), None, None), ((4,), 2, None), ((2, 3), None, 1), ((2, 3), 2, 0),
                               ((2, 3), "fro", None), ((2, 3, 2), "fro", (0, 2)), ((2, 3, 2), None, None),
                               ((3,), 1, None), ((2, 3), 3, -1), ((2, 2), None, (1, 0))]),
       st.booleans())
def test_norm(seed, case, keepdims):
    shape, ord_, axis = case
    x = arr(seed, shape)
    np.testing.assert_allclose(ops.norm(x, ord=ord_, axis=axis, keepdims=keepdims),
                               np.linalg.norm(x, ord=ord_, axis=axis, keepdims=keepdims))
    check_gradient(lambda v: ops.norm(v, ord=ord_, axis=axis, keepdims=keepdims), x, rtol=1e-5)


def test_norm_at_zero_and_unsupported_orders():
    _, (g,), _ = tape_gradients(lambda v: ops.norm(v), [np.zeros(3)], c=np.array(1.0))
    np.testing.assert_array_equal(g, 0.0)                             # δ = 0 at x = 0 (no NaN)
    assert ops.norm(np.array([3, 4])).dtype == np.float32             # integers give the default float
    with Tape() as tape:
        x = Value(arr(0, (2, 3)), tape)
        out = ops.norm(x, ord="nuc")
    with pytest.raises(NotImplementedError, match="ord='nuc'"):
        tape.backward(out)


@covers("trace", "diagonal")
@SET
@given(seeds, st.sampled_from([((3, 3), 0, 0, 1), ((2, 4), 1, 0, 1), ((4, 2), -1, 0, 1), ((2, 3, 3), 0, 1, 2),
                               ((3, 2, 3), 1, 2, 0), ((2, 3, 4), -1, -1, 1)]))
def test_trace_diagonal(seed, case):
    shape, offset, a1, a2 = case
    x = arr(seed, shape)
    np.testing.assert_allclose(ops.diagonal(x, offset, a1, a2), np.diagonal(x, offset, a1, a2))
    np.testing.assert_allclose(ops.trace(x, offset, a1, a2), np.trace(x, offset, a1, a2))
    check_gradient(lambda v: ops.diagonal(v, offset=offset, axis1=a1, axis2=a2), x)
    check_gradient(lambda v: ops.trace(v, offset=offset, axis1=a1, axis2=a2), x)


@covers("diag")
@SET
@given(seeds, st.sampled_from([(3,), (2, 2), (2, 3), (3, 2)]), st.integers(-1, 1))
def test_diag(seed, shape, k):
    x = arr(seed, shape)
    np.testing.assert_allclose(ops.diag(x, k), np.diag(x, k))
    check_gradient(lambda v: ops.diag(v, k=k), x)


# ------------------------------------------------------------------------------------------------
# shape: reshaping and moving axes

@covers("reshape", "ravel")
@SET
@given(seeds, dims)
def test_reshape_ravel(seed, shape):
    x = arr(seed, shape)
    np.testing.assert_array_equal(ops.ravel(x), x.ravel())
    check_gradient(lambda v: ops.reshape(v, (-1, 1)) * np.arange(x.size)[:, None], x)
    check_gradient(lambda v: ops.ravel(v), x)
    check_gradient(lambda v: v.reshape(shape[::-1]), x)


@covers("transpose")
@SET
@given(seeds, dims, st.randoms(use_true_random=False), st.booleans())
def test_transpose(seed, shape, rnd, negative):
    x = arr(seed, shape)
    axes = list(range(len(shape)))
    rnd.shuffle(axes)
    if negative:
        axes = [a - len(shape) for a in axes]
    np.testing.assert_array_equal(ops.transpose(x, axes), np.transpose(x, axes))
    check_gradient(lambda v: ops.transpose(v, axes), x)
    check_gradient(lambda v: v.T, x)


@covers("expand_dims", "squeeze")
@SET
@given(seeds, dims, st.integers(-3, 3))
def test_expand_dims_squeeze(seed, shape, axis):
    x = arr(seed, shape)
    axis = max(min(axis, len(shape)), -len(shape) - 1)
    np.testing.assert_array_equal(ops.expand_dims(x, axis), np.expand_dims(x, axis))
    check_gradient(lambda v: ops.expand_dims(v, axis), x)
    check_gradient(lambda v: ops.expand_dims(v, (0, -1)), x)
    ones = arr(seed, (1,) + shape + (1,))
    np.testing.assert_array_equal(ops.squeeze(ones), np.squeeze(ones))
    check_gradient(lambda v: ops.squeeze(v), ones)
    check_gradient(lambda v: ops.squeeze(v, axis=[0]), ones)


@covers("moveaxis", "swapaxes")
@SET
@given(seeds, st.lists(st.integers(1, 3), min_size=2, max_size=3).map(tuple), st.data())
def test_moveaxis_swapaxes(seed, shape, data):
    x = arr(seed, shape)
    n = len(shape)
    s, d = data.draw(st.integers(-n, n - 1)), data.draw(st.integers(-n, n - 1))
    np.testing.assert_array_equal(ops.moveaxis(x, s, d), np.moveaxis(x, s, d))
    np.testing.assert_array_equal(ops.swapaxes(x, s, d), np.swapaxes(x, s, d))
    check_gradient(lambda v: ops.moveaxis(v, s, d), x)
    check_gradient(lambda v: ops.moveaxis(v, [0, 1], [-1, 0]), x)
    check_gradient(lambda v: ops.swapaxes(v, s, d), x)


@covers("flip", "roll")
@SET
@given(seeds, dims, st.data())
def test_flip_roll(seed, shape, data):
    x = arr(seed, shape)
    axis = data.draw(st.none() | st.integers(-len(shape), len(shape) - 1))
    shift = data.draw(st.integers(-4, 4))
    np.testing.assert_array_equal(ops.flip(x, axis), np.flip(x, axis))
    np.testing.assert_array_equal(ops.roll(x, shift, axis), np.roll(x, shift, axis))
    check_gradient(lambda v: ops.flip(v, axis=axis), x)
    check_gradient(lambda v: ops.roll(v, shift, axis=axis), x)
    if len(shape) >= 2:
        check_gradient(lambda v: ops.roll(v, (1, -2), axis=(0, 1)), x)


@covers("tril", "triu")
@SET
@given(seeds, st.lists(st.integers(1, 3), min_size=2, max_size=3).map(tuple), st.integers(-2, 2))
def test_tril_triu(seed, shape, k):
    x = arr(seed, shape)
    np.testing.assert_array_equal(ops.tril(x, k), np.tril(x, k))
    np.testing.assert_array_equal(ops.triu(x, k), np.triu(x, k))
    check_gradient(lambda v: ops.tril(v, k=k), x)
    check_gradient(lambda v: ops.triu(v, k=k), x)


# ------------------------------------------------------------------------------------------------
# shape: indexing

@covers("get_item")
@SET
@given(seeds, st.sampled_from([(slice(1, None),), (0,), (Ellipsis, -1), ([0, 0, 1],), (slice(None, None, -1), 0),
                               (np.array([True, False, True]),)]))
def test_get_item(seed, key):
    x = arr(seed, (3, 2))
    np.testing.assert_array_equal(ops.get_item(x, key), x[key])
    check_gradient(lambda v: v[key], x)


@covers("take")
@SET
@given(seeds, dims, st.data())
def test_take(seed, shape, data):
    x = arr(seed, shape)
    axis = data.draw(st.none() | st.integers(-len(shape), len(shape) - 1))
    n = x.size if axis is None else shape[axis]
    idx = np.array(data.draw(st.lists(st.integers(-n, n - 1), min_size=0, max_size=4)), dtype=int)
    idx = idx.reshape(data.draw(st.sampled_from([(-1,), (1, -1)])))
    np.testing.assert_array_equal(ops.take(x, idx, axis=axis), np.take(x, idx, axis=axis))
    check_gradient(lambda v: ops.take(v, idx, axis=axis), x)


def test_take_with_repeated_indices_sums_delta():
    x = np.array([1.0, 2.0, 3.0])
    _, (g,), _ = tape_gradients(lambda v: ops.take(v, [0, 2, 0, 0]), [x], c=np.ones(4))
    np.testing.assert_array_equal(g, [3.0, 0.0, 1.0])
    _, (g,), _ = tape_gradients(lambda v: ops.take(v, np.array([[1, 1]]), axis=1), [np.ones((2, 3))],
                                c=np.ones((2, 1, 2)))
    np.testing.assert_array_equal(g, [[0, 2, 0], [0, 2, 0]])


@covers("take_along_axis")
@SET
@given(seeds, st.lists(st.integers(1, 3), min_size=1, max_size=3).map(tuple), st.data())
def test_take_along_axis(seed, shape, data):
    x = arr(seed, shape)
    rng = np.random.default_rng(seed)
    axis = data.draw(st.integers(-len(shape), len(shape) - 1))
    a = axis % len(shape)
    ishape = [data.draw(st.sampled_from([1, n])) for n in shape]   # other axes may broadcast
    ishape[a] = data.draw(st.integers(1, 4))
    idx = rng.integers(0, shape[a], size=ishape)
    np.testing.assert_array_equal(ops.take_along_axis(x, idx, axis=axis), np.take_along_axis(x, idx, axis=axis))
    check_gradient(lambda v: ops.take_along_axis(v, idx, axis=axis), x)
    flat = rng.integers(0, x.size, size=5)
    check_gradient(lambda v: ops.take_along_axis(v, flat, axis=None), x)
    order = np.argsort(x, axis=axis)
    np.testing.assert_array_equal(ops.take_along_axis(x, order, axis), np.sort(x, axis))


@covers("slice", "slice_update")
@SET
@given(seeds, dims, st.data())
def test_slice_and_slice_update(seed, shape, data):
    x = arr(seed, shape)
    start = [data.draw(st.integers(0, n - 1)) for n in shape]
    size = [data.draw(st.integers(1, n - s)) for n, s in zip(shape, start)]
    block = x[tuple(slice(s, s + n) for s, n in zip(start, size))]
    np.testing.assert_array_equal(ops.slice(x, start, size), block)
    check_gradient(lambda v: ops.slice(v, start, size), x)
    u = arr(seed + 1, size)
    want = x.copy()
    want[tuple(slice(s, s + n) for s, n in zip(start, size))] = u
    np.testing.assert_array_equal(ops.slice_update(x, np.array(start), u), want)
    assert not np.array_equal(want, x) or np.array_equal(u, block)   # the input was not written
    check_gradient(lambda v, w: ops.slice_update(v, start, w), x, u)


def test_slice_errors():
    with pytest.raises(ValueError, match="does not fit"):
        ops.slice(np.zeros((3, 3)), (2, 0), (2, 1))
    with pytest.raises(ValueError, match="one entry per axis"):
        ops.slice(np.zeros((3, 3)), (0,), (1,))


# ------------------------------------------------------------------------------------------------
# shape: joining and splitting

@covers("concatenate", "split")
@SET
@given(seeds, dims, st.data())
def test_concatenate_split(seed, shape, data):
    axis = data.draw(st.integers(-len(shape), len(shape) - 1))
    lengths = data.draw(st.lists(st.integers(1, 3), min_size=1, max_size=3))
    xs = []
    for k, n in enumerate(lengths):
        s = list(shape)
        s[axis] = n
        xs.append(arr(seed + k, s))
    joined = ops.concatenate(xs, axis=axis)
    np.testing.assert_array_equal(joined, np.concatenate(xs, axis=axis))
    cuts = list(np.cumsum(lengths)[:-1])
    for part, x in zip(ops.split(joined, cuts, axis=axis), xs):            # the round trip
        np.testing.assert_array_equal(part, x)
    check_gradient(lambda *v: ops.concatenate(list(v), axis=axis), *xs)
    check_gradient(lambda *v: ops.concatenate(list(v), axis=None), *xs)
    # split: parts reordered, and one part alone (δ zero at the parts the loss does not use)
    check_gradient(lambda v: ops.concatenate(ops.split(v, cuts, axis=axis)[::-1], axis=axis), joined)
    check_gradient(lambda v: ops.split(v, cuts, axis=axis)[-1] * 2.0, joined)
    n = joined.shape[axis]
    check_gradient(lambda v: ops.stack(ops.split(v, n, axis=axis), axis=0), joined)


@covers("stack", "unstack")
@SET
@given(seeds, dims, st.integers(1, 3), st.data())
def test_stack_unstack(seed, shape, count, data):
    xs = [arr(seed + k, shape) for k in range(count)]
    axis = data.draw(st.integers(-len(shape) - 1, len(shape)))
    stacked = ops.stack(xs, axis=axis)
    np.testing.assert_array_equal(stacked, np.stack(xs, axis=axis))
    back = ops.unstack(stacked, axis=axis)
    assert len(back) == count
    for b, x in zip(back, xs):                                              # the round trip
        np.testing.assert_array_equal(b, x)
    check_gradient(lambda *v: ops.stack(list(v), axis=axis), *xs)
    check_gradient(lambda v: ops.stack(ops.unstack(v, axis=axis)[::-1], axis=0), stacked)
    check_gradient(lambda v: ops.unstack(v, num=count, axis=axis)[0], stacked)
    with pytest.raises(ValueError, match="num="):
        ops.unstack(stacked, num=count + 1, axis=axis)


# ------------------------------------------------------------------------------------------------
# shape: copying

@covers("broadcast_to")
@SET
@given(seeds, st.lists(st.sampled_from([1, 2, 3]), min_size=1, max_size=3).map(tuple), st.integers(0, 2))
def test_broadcast_to(seed, shape, extra):
    x = arr(seed, shape)
    target = (2,) * extra + tuple(3 if n == 1 else n for n in shape)
    np.testing.assert_array_equal(ops.broadcast_to(x, target), np.broadcast_to(x, target))
    check_gradient(lambda v: ops.broadcast_to(v, target), x)


@covers("tile")
@SET
@given(seeds, dims, st.lists(st.integers(1, 3), min_size=1, max_size=4))
def test_tile(seed, shape, reps):
    x = arr(seed, shape)
    np.testing.assert_array_equal(ops.tile(x, reps), np.tile(x, reps))
    check_gradient(lambda v: ops.tile(v, reps), x)
    check_gradient(lambda v: ops.tile(v, 2), x)


@covers("repeat")
@SET
@given(seeds, dims, st.data())
def test_repeat(seed, shape, data):
    x = arr(seed, shape)
    axis = data.draw(st.none() | st.integers(-len(shape), len(shape) - 1))
    n = x.size if axis is None else shape[axis]
    reps = data.draw(st.integers(1, 3) | st.lists(st.integers(0, 3), min_size=n, max_size=n))
    np.testing.assert_array_equal(ops.repeat(x, reps, axis=axis), np.repeat(x, reps, axis=axis))
    check_gradient(lambda v: ops.repeat(v, reps, axis=axis), x)


@covers("pad")
@SET
@given(seeds, dims, st.sampled_from(["constant", "edge", "reflect", "symmetric", "wrap"]), st.data())
def test_pad(seed, shape, mode, data):
    x = arr(seed, shape)
    width = [(data.draw(st.integers(0, 3)), data.draw(st.integers(0, 3))) for _ in shape]
    kw = {"constant_values": 1.5} if mode == "constant" and data.draw(st.booleans()) else {}
    np.testing.assert_array_equal(ops.pad(x, width, mode=mode, **kw), np.pad(x, width, mode=mode, **kw))
    check_gradient(lambda v: ops.pad(v, width, mode=mode, **kw), x)


def test_pad_errors():
    with pytest.raises(ValueError, match="constant_values"):
        ops.pad(np.zeros(2), 1, mode="edge", constant_values=1)
    with Tape() as tape:
        out = ops.pad(Value(np.ones(3), tape), 1, mode="mean")
    with pytest.raises(NotImplementedError, match="mode='mean'"):
        tape.backward(out)


# ------------------------------------------------------------------------------------------------
# shape: sorting, types, conversion, stop_gradient

@covers("sort", "argsort")
@SET
@given(seeds, dims, st.data())
def test_sort_argsort(seed, shape, data):
    x = arr(seed, shape)
    axis = data.draw(st.none() | st.integers(-len(shape), len(shape) - 1))
    np.testing.assert_array_equal(ops.sort(x, axis=axis), np.sort(x, axis=axis))
    got = ops.argsort(x, axis=axis)
    assert got.dtype == np.int32
    np.testing.assert_array_equal(got, np.argsort(x, axis=axis))
    check_gradient(lambda v: ops.sort(v, axis=axis), x)


@covers("cast", "convert_to_tensor")
@SET
@given(seeds, dims)
def test_cast_convert_to_tensor(seed, shape):
    x = arr(seed, shape)
    check_gradient(lambda v: ops.cast(v, "float64") * 3.0, x)
    check_gradient(lambda v: ops.convert_to_tensor(v) * 3.0, x)
    check_gradient(lambda v: v.astype("float64"), x)
    _, (g,), _ = tape_gradients(lambda v: ops.cast(v, "int32"), [x])    # an integer output: a constant
    np.testing.assert_array_equal(g, 0.0)
    with Tape() as tape:                                                 # δ goes back in the input's type
        v = Value(x.astype(np.float32), tape)
        out = ops.cast(v, "float64")
    assert tape.backward(out)[id(v)].dtype == np.float32


def test_convert_to_tensor_dtypes():
    assert ops.convert_to_tensor([1.0, 2.0]).dtype == np.float32        # Python floats: floatx
    assert ops.convert_to_tensor([1, 2]).dtype == np.int32
    assert ops.convert_to_tensor(np.zeros(2)).dtype == np.float64        # arrays keep theirs
    assert ops.convert_to_tensor([1, 2], dtype="float16").dtype == np.float16
    with pytest.raises(ValueError, match="sparse"):
        ops.convert_to_tensor([1.0], sparse=True)


@covers("stop_gradient")
@SET
@given(seeds, dims)
def test_stop_gradient_cuts_the_path(seed, shape):
    x = arr(seed, shape)
    np.testing.assert_array_equal(ops.stop_gradient(x), x)
    # Σ c ⊙ x ⊙ sg(x): only the path that does not go through stop_gradient, δ = c ⊙ x (not 2 c ⊙ x)
    _, (g,), c = tape_gradients(lambda v: v * ops.stop_gradient(v), [x])
    np.testing.assert_allclose(g, c * x)
    with Tape() as tape:                                                 # only through it: nothing upstream
        v = Value(x, tape)
        out = ops.sum(ops.stop_gradient(v * 2.0))
    assert id(v) not in tape.backward(out)


# ------------------------------------------------------------------------------------------------
# shape: made arrays

@covers("full", "full_like", "zeros_like", "ones_like")
@SET
@given(seeds, dims)
def test_like_and_full(seed, shape):
    x = arr(seed, shape)
    for name in ("zeros_like", "ones_like"):
        np.testing.assert_array_equal(getattr(ops, name)(x), getattr(np, name)(x))
        check_gradient(lambda v: getattr(ops, name)(v) * 2.0 + v, x)            # δ at x only through "+ v"
    np.testing.assert_array_equal(ops.full_like(x, 2.5), np.full_like(x, 2.5))
    check_gradient(lambda v, f: ops.full_like(v, f) * v, x, np.array(1.5))     # δ at a traced fill value
    assert ops.full(shape, 2).dtype == np.float32
    check_gradient(lambda f: ops.full(shape, f, dtype="float64"), np.array(0.5))
    check_gradient(lambda f: ops.full((2,) + shape, f, dtype="float64"), arr(seed + 1, shape[-1:]))


@covers("zeros", "ones", "eye", "identity", "arange", "linspace")
def test_creation_ops():
    assert ops.zeros((2, 3)).dtype == np.float32 and ops.zeros(2, dtype="int32").dtype == np.int32
    np.testing.assert_array_equal(ops.ones((2,)), [1.0, 1.0])
    np.testing.assert_array_equal(ops.eye(3, 4, k=1), np.eye(3, 4, k=1))
    assert ops.eye(2).dtype == np.float32
    np.testing.assert_array_equal(ops.identity(3), np.identity(3))
    assert ops.arange(4).dtype == np.int32 and ops.arange(0.0, 1.0, 0.25).dtype == np.float32
    np.testing.assert_array_equal(ops.arange(1, 7, 2), [1, 3, 5])
    np.testing.assert_array_equal(ops.arange(np.float64(3)), [0.0, 1.0, 2.0])
    np.testing.assert_allclose(ops.linspace(0, 1, 5), np.linspace(0, 1, 5))
    assert ops.linspace(0, 1, 5).dtype == np.float32
    values, step = ops.linspace(0.0, 2.0, 5, endpoint=False, retstep=True)
    assert step == pytest.approx(0.4) and len(values) == 5
    np.testing.assert_allclose(ops.linspace([0.0, 1.0], [1.0, 3.0], 3, axis=1),
                               np.linspace([0.0, 1.0], [1.0, 3.0], 3, axis=1))
    with Tape() as tape:                                  # a traced start: no gradient, the error says what to do
        out = ops.linspace(Value(np.array(0.0), tape), 1.0, 3)
    with pytest.raises(GradientError, match=r"ops.linspace has no gradient.*ops.linspace\(0.0, 1.0, num\)"):
        tape.backward(out, np.ones(3))


@covers("one_hot")
def test_one_hot():
    got = ops.one_hot(np.array([[1, 3], [-1, 0]]), 4)
    want = np.zeros((2, 2, 4), np.float32)
    want[0, 0, 1] = want[0, 1, 3] = want[1, 1, 0] = 1              # -1: a row of zeros (Keras's NumPy backend)
    np.testing.assert_array_equal(got, want)
    assert got.dtype == np.float32
    np.testing.assert_array_equal(ops.one_hot(np.array([2, 0]), 3, axis=0, dtype="int8"),
                                  np.eye(3, dtype="int8")[[2, 0]].T)
    with Tape() as tape:
        out = ops.one_hot(Value(np.array([0.0, 1.0]), tape), 2)
    with pytest.raises(GradientError, match="ops.one_hot has no gradient.*softmax"):
        tape.backward(out, np.ones((2, 2)))


@covers("shape", "size", "ndim")
def test_shape_size_ndim():
    x = np.zeros((2, 3))
    assert ops.shape(x) == (2, 3) and ops.size(x) == 6 and ops.ndim(x) == 2
    with Tape() as tape:                                  # on a tape: still plain Python ints, nothing recorded
        v = Value(np.array(1.5), tape)
        assert ops.shape(v) == () and ops.size(v) == 1 and ops.ndim(v) == 0
        assert type(ops.shape(Value(x, tape))[0]) is int
    assert tape.entries == []


# ------------------------------------------------------------------------------------------------
# composed expressions against PyTorch's autograd

def _torch_grads(fn_torch, arrays, c):
    torch = pytest.importorskip("torch")
    ts = [torch.tensor(a, dtype=torch.float64, requires_grad=True) for a in arrays]
    out = fn_torch(torch, *ts)
    (out * torch.tensor(c)).sum().backward()
    return out.detach().numpy(), [t.grad.numpy() for t in ts]


COMPOSED = {
    "reshape-transpose-matmul": (
        lambda a, b: ops.matmul(ops.transpose(ops.reshape(a, (3, 4)), (1, 0)), b) + ops.reshape(a, (4, 3)),
        lambda t, a, b: t.matmul(a.reshape(3, 4).permute(1, 0), b) + a.reshape(4, 3),
        [(12,), (3, 3)]),
    "concatenate-take-einsum": (
        lambda a, b: ops.einsum("ij,kj->ik", ops.take(ops.concatenate([a, b], axis=0), [0, 3, 3, 1], axis=0), b),
        lambda t, a, b: t.einsum("ij,kj->ik", t.cat([a, b], 0)[[0, 3, 3, 1]], b),
        [(2, 3), (2, 3)]),
    "attention-split-stack": (
        lambda q, k: ops.stack([ops.einsum("bqd,bkd->bqk", p, k) for p in ops.split(q, 2, axis=2)], axis=-1),
        lambda t, q, k: t.stack([t.einsum("bqd,bkd->bqk", p, k) for p in t.split(q, 2, dim=2)], -1),
        [(2, 3, 4), (2, 2, 2)]),
    "pad-tile-norm-diagonal": (
        lambda a: ops.norm(ops.tile(ops.pad(a, ((1, 0), (0, 1))), (1, 2)), axis=0) + ops.diagonal(a).sum(),
        lambda t, a: t.linalg.norm(t.nn.functional.pad(a, (0, 1, 1, 0)).repeat(1, 2), dim=0) + t.diagonal(a).sum(),
        [(3, 3)]),
}


@pytest.mark.parametrize("name", sorted(COMPOSED))
def test_composed_against_torch(name):
    fn, fn_torch, shapes = COMPOSED[name]
    arrays = [arr(k + 7, s) for k, s in enumerate(shapes)]
    _, grads, c = tape_gradients(fn, arrays)
    out, want = _torch_grads(fn_torch, arrays, c)
    np.testing.assert_allclose(np.asarray(fn(*arrays)), out, rtol=1e-12)
    for g, w in zip(grads, want):
        np.testing.assert_allclose(g, w, rtol=1e-10, atol=1e-12)


# ------------------------------------------------------------------------------------------------
# every op is tested; the docstrings' examples run

FAMILIES = ("linalg", "shape")


def test_every_op_is_covered():
    ours = {name for fam in FAMILIES for name in ops.list_ops(fam)}
    assert ours - COVERED == set(), f"ops without a test in tests/test_ops_shape.py: {sorted(ours - COVERED)}"


@pytest.mark.parametrize("name", [n for fam in FAMILIES for n in ops.list_ops(fam)])
def test_docstring_examples(name):
    op = TABLE[name]
    assert op.__doc__ and op.__doc__.strip(), f"ops.{name} has no docstring"
    globs = {"np": np, **{n: TABLE[n] for fam in FAMILIES for n in ops.list_ops(fam)}}
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    runner.run(doctest.DocTestParser().get_doctest(op.__doc__, globs, name, None, 0))
    assert runner.failures == 0, f"ops.{name}: a docstring example fails"
