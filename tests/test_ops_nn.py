"""netfit.ops's nn and random families: each VJP against float64 central differences, forwards and
composed gradients against PyTorch, dropout's mask shared by forward and VJP, seeds as Keras's."""
import math
import threading

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import netfit
from netfit import ops
from netfit.ops import Tape, Value
from netfit.ops.random import SeedGenerator

from ops_checks import check_gradient, tape_gradients

FEW = settings(max_examples=10, deadline=None)
SEEDS = st.integers(0, 2**31 - 1)


def _torch():
    return pytest.importorskip("torch")


def _t(a):
    torch = _torch()
    return torch.tensor(np.asarray(a, dtype=np.float64))


def _away(x, kinks, gap=0.05):
    """x with every entry at least ``gap`` from each kink (finite differences across a kink are wrong)."""
    x = np.array(x, dtype=np.float64)
    for k in kinks:
        near = np.abs(x - k) < gap
        x[near] = k + np.where(x[near] >= k, gap, -gap) * 2
    return x


# --------------------------------------------------------------------------------------------------------
# Element-wise activations: (name, keyword arguments, kinks, torch forward)
# --------------------------------------------------------------------------------------------------------

def _tf(name, **kw):
    def run(x):
        F = _torch().nn.functional
        return getattr(F, name)(_t(x), **kw).numpy()
    return run


ACTIVATIONS = [
    ("relu", {}, (0,), _tf("relu")),
    ("relu6", {}, (0, 6), _tf("relu6")),
    ("sigmoid", {}, (), lambda x: _torch().sigmoid(_t(x)).numpy()),
    ("softplus", {}, (), _tf("softplus")),
    ("softsign", {}, (), _tf("softsign")),
    ("silu", {}, (), _tf("silu")),
    ("swish", {}, (), _tf("silu")),
    ("gelu", {}, (), _tf("gelu", approximate="tanh")),                  # keras.ops's default: approximate=True
    ("gelu", {"approximate": False}, (), _tf("gelu")),
    ("elu", {}, (0,), _tf("elu")),
    ("elu", {"alpha": 0.5}, (0,), _tf("elu", alpha=0.5)),
    ("selu", {}, (0,), _tf("selu")),
    ("leaky_relu", {}, (0,), _tf("leaky_relu", negative_slope=0.2)),
    ("leaky_relu", {"negative_slope": 0.05}, (0,), _tf("leaky_relu", negative_slope=0.05)),
    ("hard_sigmoid", {}, (-3, 3), _tf("hardsigmoid")),
    ("hard_silu", {}, (-3, 3), _tf("hardswish")),
    ("hard_swish", {}, (-3, 3), _tf("hardswish")),
    ("log_sigmoid", {}, (), _tf("logsigmoid")),
]
IDS = [f"{n}{kw or ''}" for n, kw, _, _ in ACTIVATIONS]


@pytest.mark.parametrize("name,kw,kinks,reference", ACTIVATIONS, ids=IDS)
@settings(max_examples=6, deadline=None)
@given(seed=SEEDS)
def test_activation_gradient_and_forward(name, kw, kinks, reference, seed):
    x = _away(np.random.default_rng(seed).standard_normal((3, 4)) * 4, kinks)
    fn = ops.lookup(name)
    check_gradient(lambda v: fn(v, **kw), x)
    np.testing.assert_allclose(fn(x, **kw), reference(x), rtol=1e-12, atol=1e-12)


def test_activations_keep_float32_and_take_integers():
    x = np.array([-2.0, 0.5, 4.0], np.float32)
    for name in ("sigmoid", "softplus", "gelu", "elu", "selu", "silu", "hard_silu", "log_sigmoid", "relu6"):
        assert ops.lookup(name)(x).dtype == np.float32, name
    assert ops.sigmoid(np.array([0, 1])).dtype.kind == "f"
    assert np.isfinite(ops.log_sigmoid(np.array([-1000.0, 1000.0]))).all()      # the stable forms
    assert ops.sigmoid(np.array([-1000.0]))[0] == 0.0
    assert ops.swish is ops.silu and ops.hard_swish is ops.hard_silu


# --------------------------------------------------------------------------------------------------------
# Softmax, log-softmax, cross-entropies
# --------------------------------------------------------------------------------------------------------

AXES = st.sampled_from([-1, 0, 1, (0, 2)])


@FEW
@given(seed=SEEDS, axis=AXES)
def test_softmax_and_log_softmax(seed, axis):
    x = np.random.default_rng(seed).standard_normal((2, 3, 4)) * 3
    check_gradient(lambda v: ops.softmax(v, axis=axis), x)
    check_gradient(lambda v: ops.log_softmax(v, axis=axis), x)
    np.testing.assert_allclose(np.exp(ops.log_softmax(x, axis)), ops.softmax(x, axis), rtol=1e-12)
    if not isinstance(axis, tuple):
        torch = _torch()
        np.testing.assert_allclose(ops.log_softmax(x, axis), torch.log_softmax(_t(x), axis).numpy(), rtol=1e-12)
        np.testing.assert_allclose(ops.softmax(x, axis), torch.softmax(_t(x), axis).numpy(), rtol=1e-12)


def test_log_softmax_is_finite_where_softmax_underflows():
    x = np.array([[0.0, -1000.0, 1000.0]])
    assert np.all(np.isfinite(ops.log_softmax(x)))
    assert ops.log_softmax(x)[0, 1] == -2000.0


@FEW
@given(seed=SEEDS, from_logits=st.booleans(), axis=st.sampled_from([-1, 0]))
def test_categorical_crossentropy(seed, from_logits, axis):
    rng = np.random.default_rng(seed)
    target = rng.uniform(0.0, 1.0, (3, 4))
    target /= target.sum(axis=axis, keepdims=True)
    output = rng.standard_normal((3, 4)) * 2 if from_logits else rng.uniform(0.1, 1.0, (3, 4))
    check_gradient(lambda t, o: ops.categorical_crossentropy(t, o, from_logits=from_logits, axis=axis),
                   target, output)
    torch = _torch()
    logp = torch.log_softmax(_t(output), axis) if from_logits else \
        torch.log(_t(output) / _t(output).sum(axis, keepdim=True))
    np.testing.assert_allclose(ops.categorical_crossentropy(target, output, from_logits, axis),
                               -(_t(target) * logp).sum(axis).numpy(), rtol=1e-10)


@FEW
@given(seed=SEEDS, from_logits=st.booleans(), axis=st.sampled_from([-1, 1]), column=st.booleans())
def test_sparse_categorical_crossentropy(seed, from_logits, axis, column):
    rng = np.random.default_rng(seed)
    output = rng.standard_normal((3, 4, 2)) * 2 if from_logits else rng.uniform(0.1, 1.0, (3, 4, 2))
    k = axis % 3
    labels = rng.integers(0, output.shape[k], size=output.shape[:k] + output.shape[k + 1:])
    check_gradient(lambda o: ops.sparse_categorical_crossentropy(labels, o, from_logits, axis), output)
    torch = _torch()
    logits = _t(output) if from_logits else torch.log(_t(output) / _t(output).sum(k, keepdim=True))
    expected = torch.nn.functional.nll_loss(torch.log_softmax(logits, k) if from_logits else logits,
                                            torch.tensor(labels), reduction="none").numpy() if k == 1 else None
    got = ops.sparse_categorical_crossentropy(labels, output, from_logits, axis)
    if expected is not None:
        np.testing.assert_allclose(got, expected, rtol=1e-10)
    dense = np.moveaxis(np.eye(output.shape[k])[labels], -1, k)
    np.testing.assert_allclose(got, ops.categorical_crossentropy(dense, output, from_logits, axis), rtol=1e-12)
    if axis == -1 and column:                              # labels as a column (n, ..., 1), as Keras takes them
        np.testing.assert_allclose(ops.sparse_categorical_crossentropy(labels[..., None], output, from_logits),
                                   got, rtol=1e-12)


def test_sparse_categorical_crossentropy_refuses_bad_labels():
    with pytest.raises(ValueError, match=r"labels in \[0, 3\)"):
        ops.sparse_categorical_crossentropy(np.array([0, 3]), np.ones((2, 3)))
    with pytest.raises(ValueError, match="expected target of shape"):
        ops.sparse_categorical_crossentropy(np.array([0, 1, 2]), np.ones((2, 3)))
    with pytest.raises(ValueError, match="integer class labels"):
        ops.sparse_categorical_crossentropy(np.array([0.5, 1.0]), np.ones((2, 3)))


@FEW
@given(seed=SEEDS, from_logits=st.booleans())
def test_binary_crossentropy(seed, from_logits):
    rng = np.random.default_rng(seed)
    target = rng.uniform(0, 1, (3, 4))
    output = rng.standard_normal((3, 4)) * 3 if from_logits else rng.uniform(0.05, 0.95, (3, 4))
    check_gradient(lambda t, o: ops.binary_crossentropy(t, o, from_logits=from_logits), target, output)
    F = _torch().nn.functional
    expected = (F.binary_cross_entropy_with_logits if from_logits else F.binary_cross_entropy)(
        _t(output), _t(target), reduction="none").numpy()
    np.testing.assert_allclose(ops.binary_crossentropy(target, output, from_logits), expected, rtol=1e-10)


def test_cross_entropies_clip_probabilities_as_keras():
    """Probabilities are clipped to [1e-7, 1 − 1e-7] before the log (Keras's backend.epsilon())."""
    assert ops.binary_crossentropy(np.array([1.0]), np.array([0.0]))[0] == pytest.approx(-math.log(1e-7))
    assert ops.categorical_crossentropy(np.array([1.0, 0.0]), np.array([0.0, 1.0])) == pytest.approx(-math.log(1e-7))
    assert np.isfinite(ops.binary_crossentropy(np.array([1.0]), np.array([-800.0]), from_logits=True)).all()
    with pytest.raises(ValueError, match="same shape"):
        ops.binary_crossentropy(np.ones(3), np.ones(4))
    # Where the clip binds, δ stops (outputs outside [0, 1]: the clip is flat around them).
    t, o = np.array([[0.3, 0.6, 0.1]]), np.array([[-0.5, 1.5, 0.3]])
    check_gradient(lambda a, b: ops.binary_crossentropy(a, b), t, o)
    check_gradient(lambda a, b: ops.categorical_crossentropy(a, b), t, np.array([[-0.3, 1.0, 1.0]]))
    check_gradient(lambda b: ops.sparse_categorical_crossentropy(np.array([0]), b), np.array([[-0.3, 1.0, 1.0]]))


# --------------------------------------------------------------------------------------------------------
# Statistics and normalization
# --------------------------------------------------------------------------------------------------------

@FEW
@given(seed=SEEDS, axes=st.sampled_from([[0], [0, 1], [1, 2], [-1], 1]), keepdims=st.booleans())
def test_moments(seed, axes, keepdims):
    x = np.random.default_rng(seed).standard_normal((3, 2, 4)) + 5
    mean, var = ops.moments(x, axes, keepdims=keepdims)
    ax = tuple(axes) if isinstance(axes, list) else axes
    np.testing.assert_allclose(mean, x.mean(axis=ax, keepdims=keepdims), rtol=1e-12)
    np.testing.assert_allclose(var, x.var(axis=ax, keepdims=keepdims), rtol=1e-10)
    check_gradient(lambda v: ops.moments(v, axes, keepdims=keepdims)[0], x)           # one output reached
    check_gradient(lambda v: ops.moments(v, axes, keepdims=keepdims)[1], x)
    check_gradient(lambda v: (lambda m: m[0] * 0.3 + m[1])(ops.moments(v, axes, keepdims=keepdims)), x)


def test_moments_variance_does_not_cancel():
    x = np.array([1e8, 1e8 + 1, 1e8 + 2], np.float64)
    assert ops.moments(x, [0])[1] == pytest.approx(2 / 3, rel=1e-9)


@FEW
@given(seed=SEEDS, axis=st.sampled_from([-1, 1]), full=st.booleans())
def test_batch_normalization(seed, axis, full):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((3, 4, 2))
    c = x.shape[axis]
    mean, var = rng.standard_normal(c), rng.uniform(0.5, 2.0, c)
    if full:
        offset, scale = rng.standard_normal(c), rng.standard_normal(c)
        check_gradient(lambda a, m, v, o, s: ops.batch_normalization(a, m, v, axis, o, s), x, mean, var, offset,
                       scale)
    else:
        offset = scale = None
        check_gradient(lambda a, m, v: ops.batch_normalization(a, m, v, axis), x, mean, var)
    F = _torch().nn.functional
    moved = np.moveaxis(x, axis, 1)
    expected = F.batch_norm(_t(moved), _t(mean), _t(var), None if scale is None else _t(scale),
                            None if offset is None else _t(offset), eps=1e-3).numpy()
    got = ops.batch_normalization(x, mean, var, axis, offset=offset, scale=scale)
    np.testing.assert_allclose(got, np.moveaxis(expected, 1, axis), rtol=1e-10, atol=1e-12)


@FEW
@given(seed=SEEDS, axis=st.sampled_from([-1, 0]), order=st.sampled_from([2, 3, 1]))
def test_normalize(seed, axis, order):
    x = _away(np.random.default_rng(seed).standard_normal((3, 4)), (0,))
    check_gradient(lambda v: ops.normalize(v, axis=axis, order=order), x)
    expected = _torch().nn.functional.normalize(_t(x), p=order, dim=axis).numpy()
    np.testing.assert_allclose(ops.normalize(x, axis, order), expected, rtol=1e-12)


def test_normalize_floors_small_vectors():
    np.testing.assert_array_equal(ops.normalize(np.zeros((1, 3))), np.zeros((1, 3)))
    check_gradient(lambda v: ops.normalize(v, epsilon=1.0), np.full((1, 2), 0.01))     # under the floor: x/ε
    check_gradient(lambda v: ops.normalize(v, order=3, epsilon=1.0), np.full((1, 2), 0.01))
    with pytest.raises(ValueError, match="order"):
        ops.normalize(np.ones(3), order=0)


# --------------------------------------------------------------------------------------------------------
# Convolution and pooling: small shapes, both paddings
# --------------------------------------------------------------------------------------------------------

def _same_pads(n, k, s, d=1):
    span = (k - 1) * d + 1
    total = max((-(-n // s) - 1) * s + span - n, 0)
    return total // 2, total - total // 2


def _torch_pad(x_nchw, ks, ss, padding, value=0.0, ds=(1, 1)):
    """x padded as Keras's 'same' (more on the bottom/right), for PyTorch's ops that pad evenly."""
    if padding != "same":
        return x_nchw
    (t, b), (l, r) = (_same_pads(x_nchw.shape[2], ks[0], ss[0], ds[0]),
                      _same_pads(x_nchw.shape[3], ks[1], ss[1], ds[1]))
    return _torch().nn.functional.pad(x_nchw, (l, r, t, b), value=value)


@st.composite
def conv_cases(draw):
    n, h, w = draw(st.integers(1, 2)), draw(st.integers(1, 6)), draw(st.integers(1, 6))
    c, f = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    padding = draw(st.sampled_from(["valid", "same"]))
    kh, kw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    strides = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    dilation = (1, 1) if strides != (1, 1) else (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    if padding == "valid":
        kh, kw = min(kh, (h - 1) // dilation[0] + 1), min(kw, (w - 1) // dilation[1] + 1)
    return (n, h, w, c, f), (kh, kw), strides, padding, dilation, draw(SEEDS)


@FEW
@given(case=conv_cases())
def test_conv2d(case):
    (n, h, w, c, f), (kh, kw), strides, padding, dilation, seed = case
    rng = np.random.default_rng(seed)
    x, kernel = rng.standard_normal((n, h, w, c)), rng.standard_normal((kh, kw, c, f))
    check_gradient(lambda a, k: ops.conv(a, k, strides, padding, dilation_rate=dilation), x, kernel)
    torch = _torch()
    xt = _torch_pad(_t(x).permute(0, 3, 1, 2), (kh, kw), strides, padding, ds=dilation)
    expected = torch.nn.functional.conv2d(xt, _t(kernel).permute(3, 2, 0, 1), stride=strides, dilation=dilation)
    got = ops.conv(x, kernel, strides, padding, dilation_rate=dilation)
    np.testing.assert_allclose(got, expected.permute(0, 2, 3, 1).numpy(), rtol=1e-10, atol=1e-12)
    first = ops.conv(np.moveaxis(x, -1, 1), kernel, strides, padding, "channels_first", dilation)
    np.testing.assert_allclose(np.moveaxis(first, 1, -1), got, rtol=1e-12, atol=1e-14)


@FEW
@given(seed=SEEDS, length=st.integers(3, 7), k=st.integers(1, 3), stride=st.integers(1, 2),
       padding=st.sampled_from(["valid", "same"]), first=st.booleans())
def test_conv1d(seed, length, k, stride, padding, first):
    rng = np.random.default_rng(seed)
    x, kernel = rng.standard_normal((2, length, 2)), rng.standard_normal((k, 2, 3))
    fmt = "channels_first" if first else "channels_last"
    xin = np.moveaxis(x, -1, 1) if first else x
    check_gradient(lambda a, w: ops.conv(a, w, stride, padding, fmt), xin, kernel)
    F = _torch().nn.functional
    lo, hi = _same_pads(length, k, stride) if padding == "same" else (0, 0)
    expected = F.conv1d(F.pad(_t(x).permute(0, 2, 1), (lo, hi)), _t(kernel).permute(2, 1, 0), stride=stride)
    got = ops.conv(xin, kernel, stride, padding, fmt)
    np.testing.assert_allclose(got if first else np.moveaxis(got, -1, 1), expected.numpy(), rtol=1e-10, atol=1e-12)


def test_conv_refuses_bad_arguments():
    x = np.ones((1, 4, 4, 2))
    with pytest.raises(ValueError, match="kernel of shape"):
        ops.conv(x, np.ones((3, 3, 3, 1)))
    with pytest.raises(ValueError, match="padding"):
        ops.conv(x, np.ones((3, 3, 2, 1)), padding="full")
    with pytest.raises(ValueError, match="does not fit"):
        ops.conv(x, np.ones((5, 5, 2, 1)))
    assert ops.conv(x, np.ones((5, 5, 2, 1)), padding="same").shape == (1, 4, 4, 1)


@st.composite
def pool_cases(draw):
    n, h, w, c = draw(st.integers(1, 2)), draw(st.integers(1, 6)), draw(st.integers(1, 6)), draw(st.integers(1, 3))
    padding = draw(st.sampled_from(["valid", "same"]))
    pool = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    if padding == "valid":
        pool = (min(pool[0], h), min(pool[1], w))
    strides = draw(st.sampled_from([None, 1, 2, (1, 2)]))
    return (n, h, w, c), pool, strides, padding, draw(SEEDS)


def _pair(strides, pool):
    return pool if strides is None else (strides, strides) if isinstance(strides, int) else strides


@FEW
@given(case=pool_cases())
def test_max_pool(case):
    shape, pool, strides, padding, seed = case
    rng = np.random.default_rng(seed)
    x = rng.permutation(math.prod(shape)).reshape(shape) * 0.01 + rng.uniform(0, 1e-3)   # distinct values
    check_gradient(lambda a: ops.max_pool(a, pool, strides, padding), x)
    F = _torch().nn.functional
    ss = _pair(strides, pool)
    xt = _torch_pad(_t(x).permute(0, 3, 1, 2), pool, ss, padding, value=-math.inf)
    expected = F.max_pool2d(xt, pool, ss).permute(0, 2, 3, 1).numpy()
    np.testing.assert_array_equal(ops.max_pool(x, pool, strides, padding), expected)


def test_max_pool_gives_ties_to_the_first_maximum():
    x = np.zeros((1, 2, 2, 1))
    _, (g,), _ = tape_gradients(lambda v: ops.max_pool(v, 2), [x], c=np.ones((1, 1, 1, 1)))
    np.testing.assert_array_equal(g[0, :, :, 0], [[1, 0], [0, 0]])
    assert ops.max_pool(np.arange(4).reshape(1, 2, 2, 1), 2, padding="same").dtype.kind == "i"


@FEW
@given(case=pool_cases())
def test_average_pool(case):
    shape, pool, strides, padding, seed = case
    x = np.random.default_rng(seed).standard_normal(shape)
    check_gradient(lambda a: ops.average_pool(a, pool, strides, padding), x)
    F = _torch().nn.functional
    ss = _pair(strides, pool)
    xt = _torch_pad(_t(x).permute(0, 3, 1, 2), pool, ss, padding)
    ones = _torch_pad(_t(np.ones((1, 1) + shape[1:3])), pool, ss, padding)
    expected = (F.avg_pool2d(xt, pool, ss) / F.avg_pool2d(ones, pool, ss)).permute(0, 2, 3, 1).numpy()  # real pixels
    np.testing.assert_allclose(ops.average_pool(x, pool, strides, padding), expected, rtol=1e-12, atol=1e-14)


def test_pooling_1d_and_channels_first():
    x = np.random.default_rng(0).standard_normal((2, 7, 3))
    check_gradient(lambda a: ops.max_pool(a, 3, 2, "same"), x)
    check_gradient(lambda a: ops.average_pool(a, 2, 1, "same"), x)
    xf = np.moveaxis(np.random.default_rng(1).standard_normal((2, 5, 4, 3)), -1, 1)
    last = ops.max_pool(np.moveaxis(xf, 1, -1), 2, padding="same")
    np.testing.assert_array_equal(ops.max_pool(xf, 2, padding="same", data_format="channels_first"),
                                  np.moveaxis(last, -1, 1))
    check_gradient(lambda a: ops.average_pool(a, 2, None, "same", "channels_first"), xf)


# --------------------------------------------------------------------------------------------------------
# Composed expressions: the tape's gradients against PyTorch's autograd
# --------------------------------------------------------------------------------------------------------

def _tape_grads(fn, arrays):
    """(R, δ per array) for a scalar R = fn(*arrays), through the tape."""
    with Tape() as tape:
        values = [Value(np.array(a, np.float64), tape) for a in arrays]
        out = fn(*values)
    grads = tape.backward(out)
    return float(out.data), [grads[id(v)] for v in values]


def _torch_grads(fn, arrays):
    leaves = [_t(a).requires_grad_(True) for a in arrays]
    out = fn(*leaves)
    out.backward()
    return float(out.detach()), [leaf.grad.numpy() for leaf in leaves]


def _agree(ours, theirs):
    (r1, g1), (r2, g2) = ours, theirs
    assert r1 == pytest.approx(r2, rel=1e-10)
    for a, b in zip(g1, g2):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12)


@FEW
@given(seed=SEEDS, padding=st.sampled_from(["valid", "same"]))
def test_conv_relu_max_pool_mean_against_torch(seed, padding):
    rng = np.random.default_rng(seed)
    x, k = rng.standard_normal((2, 6, 5, 2)), rng.standard_normal((3, 3, 2, 3))
    torch = _torch()
    F = torch.nn.functional

    def theirs(a, w):
        z = F.conv2d(_torch_pad(a.permute(0, 3, 1, 2), (3, 3), (1, 1), padding), w.permute(3, 2, 0, 1))
        return F.max_pool2d(_torch_pad(torch.relu(z), (2, 2), (2, 2), padding, -math.inf), 2).mean()

    _agree(_tape_grads(lambda a, w: ops.mean(ops.max_pool(ops.relu(ops.conv(a, w, padding=padding)), 2,
                                                          padding=padding)), [x, k]),
           _torch_grads(theirs, [x, k]))


@FEW
@given(seed=SEEDS)
def test_log_softmax_sparse_crossentropy_against_torch(seed):
    rng = np.random.default_rng(seed)
    z, w = rng.standard_normal((4, 3)), rng.standard_normal((3, 5))
    labels = rng.integers(0, 5, 4)
    torch = _torch()

    def ours(a, b):
        return ops.mean(ops.sparse_categorical_crossentropy(labels, ops.log_softmax(a @ b), from_logits=True))

    def theirs(a, b):
        return torch.nn.functional.cross_entropy(torch.log_softmax(a @ b, -1), torch.tensor(labels))

    _agree(_tape_grads(ours, [z, w]), _torch_grads(theirs, [z, w]))


@FEW
@given(seed=SEEDS)
def test_gelu_softmax_batchnorm_binary_crossentropy_against_torch(seed):
    rng = np.random.default_rng(seed)
    x, gamma, target = rng.standard_normal((5, 3)) * 2, rng.uniform(0.5, 2, 3), rng.uniform(0, 1, (5, 3))
    torch = _torch()
    F = torch.nn.functional

    def ours(a, s):
        mean, var = ops.moments(a, [0])
        h = ops.batch_normalization(ops.gelu(a), mean, var, -1, None, s)
        p = ops.softmax(h, axis=-1)
        return ops.mean(ops.binary_crossentropy(target, p)) + ops.mean(ops.silu(h) * ops.log_sigmoid(h))

    def theirs(a, s):
        mean, var = a.mean(0), a.var(0, unbiased=False)
        h = (F.gelu(a, approximate="tanh") - mean) / torch.sqrt(var + 1e-3) * s
        p = torch.softmax(h, -1)
        return F.binary_cross_entropy(p, _t(target)) + (F.silu(h) * F.logsigmoid(h)).mean()

    _agree(_tape_grads(ours, [x, gamma]), _torch_grads(theirs, [x, gamma]))


def test_batch_normalization_takes_scale_by_keyword_on_a_tape():
    """offset left out, scale given by keyword as a traced value: it must still reach the forward."""
    x = np.random.default_rng(0).standard_normal((4, 2))
    with Tape() as tape:
        s = Value(np.array([2.0, 3.0]), tape)
        out = ops.batch_normalization(x, np.zeros(2), np.ones(2), -1, scale=s)
    np.testing.assert_allclose(out.data, x / np.sqrt(1 + 1e-3) * [2.0, 3.0])


# --------------------------------------------------------------------------------------------------------
# Random: seeds, samplers, dropout, shuffle
# --------------------------------------------------------------------------------------------------------

SAMPLERS = {
    "normal": lambda seed: ops.random.normal((50, 4), 1.0, 2.0, seed=seed),
    "uniform": lambda seed: ops.random.uniform((50, 4), -1.0, 3.0, seed=seed),
    "truncated_normal": lambda seed: ops.random.truncated_normal((50, 4), 1.0, 2.0, seed=seed),
    "randint": lambda seed: ops.random.randint((50, 4), 2, 9, seed=seed),
    "categorical": lambda seed: ops.random.categorical(np.log([[0.1, 0.2, 0.7], [0.5, 0.5, 1e-9]]), 100, seed=seed),
    "gamma": lambda seed: ops.random.gamma((50, 4), 2.0, seed=seed),
    "binomial": lambda seed: ops.random.binomial((50, 4), 5, 0.3, seed=seed),
    "beta": lambda seed: ops.random.beta((50, 4), 2.0, 3.0, seed=seed),
    "dropout": lambda seed: ops.random.dropout(np.ones((50, 4)), 0.5, seed=seed),
    "shuffle": lambda seed: ops.random.shuffle(np.arange(200.0).reshape(50, 4), seed=seed),
}


@pytest.mark.parametrize("name", sorted(SAMPLERS))
def test_seeds_work_as_keras(name, monkeypatch):
    monkeypatch.setattr(netfit.utils, "_seed_source", netfit.utils._seed_source)      # put back afterwards
    draw = SAMPLERS[name]
    np.testing.assert_array_equal(draw(3), draw(3))                    # an int: the same draw every call
    assert not np.array_equal(draw(3), draw(4))
    gen_a, gen_b = SeedGenerator(11), SeedGenerator(11)
    first, second = draw(gen_a), draw(gen_a)                          # a generator: a new draw every call...
    assert not np.array_equal(first, second)
    np.testing.assert_array_equal(first, draw(gen_b))                 # ...reproducibly from its seed
    np.testing.assert_array_equal(second, draw(gen_b))
    assert not np.array_equal(draw(None), draw(None))
    netfit.utils.set_random_seed(5)
    again = draw(None)
    netfit.utils.set_random_seed(5)
    np.testing.assert_array_equal(draw(None), again)                  # None: from netfit's seed source


def test_samplers_shapes_dtypes_and_distributions():
    assert ops.random.normal((3,)).dtype == np.dtype(netfit.config.floatx())
    assert ops.random.uniform((2, 2), dtype="float64").dtype == np.float64
    assert ops.random.randint((4,), 0, 3).dtype == np.int32
    big = ops.random.normal((20000,), 1.0, 2.0, dtype="float64", seed=0)
    assert abs(big.mean() - 1.0) < 0.1 and abs(big.std() - 2.0) < 0.1
    t = ops.random.truncated_normal((20000,), 1.0, 2.0, seed=0)
    assert t.min() >= -3.0 and t.max() <= 5.0 and t.shape == (20000,)
    u = ops.random.uniform((20000,), -1.0, 3.0, seed=0)
    assert u.min() >= -1.0 and u.max() < 3.0
    r = ops.random.randint((1000,), 2, 9, seed=0)
    assert set(np.unique(r)) == set(range(2, 9))
    c = ops.random.categorical(np.log([[0.1, 0.2, 0.7]]), 20000, seed=0)
    np.testing.assert_allclose(np.bincount(c[0], minlength=3) / 20000, [0.1, 0.2, 0.7], atol=0.02)
    s = ops.random.shuffle(np.arange(12).reshape(6, 2), seed=1)
    assert sorted(s[:, 0].tolist()) == [0, 2, 4, 6, 8, 10] and np.all(s[:, 1] == s[:, 0] + 1)   # rows move whole
    s1 = ops.random.shuffle(np.arange(12).reshape(2, 6), axis=1, seed=1)
    assert np.all(s1[1] == s1[0] + 6)
    with pytest.raises(ValueError, match="seed"):
        ops.random.normal((2,), seed="x")
    with pytest.raises(ValueError, match="float dtype"):
        ops.random.normal((2,), dtype="int32")
    with pytest.raises(ValueError, match="integer or None"):
        SeedGenerator(1.5)


def test_samplers_have_no_gradient():
    with Tape() as tape:
        mean = Value(np.zeros(3), tape)
        out = ops.random.normal((3,), mean, seed=0)
        loss = ops.sum(out)
    with pytest.raises(ops.GradientError, match="ops.normal has no gradient.*stddev"):
        tape.backward(loss)


def test_seed_generator_is_shared_safely_by_threads():
    gen, seen = SeedGenerator(0), []

    def work():
        seen.extend(gen.next() for _ in range(200))
    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    reference = SeedGenerator(0)
    assert sorted(seen) == sorted(reference.next() for _ in range(800))
    assert SeedGenerator.from_config(SeedGenerator(3, name="g").get_config()).next() == SeedGenerator(3).next()


@FEW
@given(seed=SEEDS, rate=st.sampled_from([0.1, 0.5, 0.8]))
def test_dropout_keeps_about_one_minus_rate_and_scales(seed, rate):
    x = np.ones((100, 200))
    out = ops.random.dropout(x, rate, seed=seed)
    kept = out != 0
    n = x.size
    assert abs(kept.mean() - (1 - rate)) < 5 * math.sqrt(rate * (1 - rate) / n)
    np.testing.assert_allclose(out[kept], 1 / (1 - rate))


def test_dropout_vjp_uses_the_forward_mask():
    x = np.random.default_rng(0).standard_normal((6, 5))
    x[0] = 0.0                                                        # where x = 0 the output cannot show the mask
    for seed in (SeedGenerator(4), None, 7):                          # a fresh draw each call: the VJP must not redraw
        with Tape() as tape:
            v = Value(x, tape)
            out = ops.random.dropout(v, 0.4, seed=seed)
        delta = np.random.default_rng(1).standard_normal(x.shape)
        g = tape.backward(out, delta)[id(v)]
        mask = tape.entries[-1].arrays[1]                             # the mask the forward drew, on the entry
        np.testing.assert_array_equal(out.data, x * mask)
        np.testing.assert_allclose(g, delta * mask)
        assert set(np.unique(mask)) <= {0.0, 1 / 0.6} and (mask == 0).any() and (mask != 0).any()   # 30 draws
    check_gradient(lambda a: ops.random.dropout(a, 0.3, seed=5), x)   # an int seed: one mask, finite differences agree


def test_dropout_noise_shape_and_edge_rates():
    x = np.ones((4, 3, 5))
    out = ops.random.dropout(x, 0.5, noise_shape=(None, 1, None), seed=2)
    assert np.all(out == out[:, :1, :])                               # one decision per (example, column)
    check_gradient(lambda a: ops.random.dropout(a, 0.5, noise_shape=(4, 1, 5), seed=2), x)
    np.testing.assert_array_equal(ops.random.dropout(x, 0.0), x)
    np.testing.assert_array_equal(ops.random.dropout(x, 1.0), 0 * x)
    assert ops.random.dropout(x.astype(np.float32), 0.5).dtype == np.float32
    with pytest.raises(ValueError, match="rate"):
        ops.random.dropout(x, 1.5)
    with pytest.raises(ValueError, match="noise_shape"):
        ops.random.dropout(x, 0.5, noise_shape=(4, 2, 5))


@FEW
@given(seed=SEEDS, axis=st.sampled_from([0, 1, -1]))
def test_shuffle_gradient(seed, axis):
    x = np.random.default_rng(seed).standard_normal((4, 3, 2))
    check_gradient(lambda a: ops.random.shuffle(a, axis=axis, seed=seed), x)


# --------------------------------------------------------------------------------------------------------
# Every op of both families is covered here
# --------------------------------------------------------------------------------------------------------

COVERED_NN = {name for name, *_ in ACTIVATIONS} | {
    "softmax", "log_softmax", "categorical_crossentropy", "sparse_categorical_crossentropy",
    "binary_crossentropy", "moments", "batch_normalization", "normalize", "conv", "max_pool", "average_pool"}
COVERED_RANDOM = set(SAMPLERS)


def test_every_nn_and_random_op_is_tested():
    """A new op in either family fails here until it gets its tests (and its name is added above)."""
    assert set(ops.list_ops("nn")) == COVERED_NN
    assert set(ops.list_ops("random")) == COVERED_RANDOM
    for name in ops.list_ops("nn"):
        assert ops.lookup(name).vjp is not None, f"{name}: every nn op here is differentiable"
    assert {n for n in ops.list_ops("random") if ops.lookup(n).vjp is not None} == {"dropout", "shuffle"}
