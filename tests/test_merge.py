"""Merge layers: loops, finite differences, PyTorch, δ never written, shapes refused, functional forms."""
import numpy as np
import pytest

from netfit import layers
from netfit.gradcheck import numerical_gradient, relative_error
from netfit.layers import Add, Average, Concatenate, Dot, Maximum, Minimum, Multiply, Subtract

RNG = np.random.default_rng(0)
ELEMENTWISE = {"add": Add, "subtract": Subtract, "multiply": Multiply, "average": Average, "maximum": Maximum,
               "minimum": Minimum}
# (layer factory, per-example input shapes): every merge layer, with the shapes it takes.
CASES = {
    "add": (Add, [(3, 2)] * 3), "subtract": (Subtract, [(4,)] * 2), "multiply": (Multiply, [(2, 3)] * 4),
    "average": (Average, [(5,)] * 3), "maximum": (Maximum, [(3, 2)] * 3), "minimum": (Minimum, [(4,)] * 2),
    "concatenate": (lambda: Concatenate(), [(2, 3), (2, 1), (2, 4)]),
    "concatenate-axis1": (lambda: Concatenate(axis=1), [(2, 3), (4, 3)]),
    "dot": (lambda: Dot(axes=1), [(4,), (4,)]),
    "dot-12": (lambda: Dot(axes=(1, 2)), [(3, 5), (2, 3)]),
    "dot-neg": (lambda: Dot(axes=-1), [(2, 4), (3, 4)]),
    "dot-normalize": (lambda: Dot(axes=(2, 1), normalize=True), [(2, 3), (3, 4)]),
}


def _inputs(shapes, n=3, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal((n,) + shape) for shape in shapes]


def _layer(name):
    make, shapes = CASES[name]
    layer = make()
    layer.setup(shapes, dtype=np.float64)
    return layer, shapes


def reference(name, x):
    """Slow and obvious: entry by entry, Python loops."""
    kind = name.split("-")[0]
    if kind in ELEMENTWISE:
        out = np.empty_like(x[0])
        for idx in np.ndindex(x[0].shape):
            values = [xk[idx] for xk in x]
            out[idx] = {"add": sum(values), "subtract": values[0] - values[1] if len(values) == 2 else None,
                        "multiply": np.prod(values), "average": sum(values) / len(values),
                        "maximum": max(values), "minimum": min(values)}[kind]
        return out
    if kind == "concatenate":
        axis = 1 if name.endswith("axis1") else x[0].ndim - 1
        out = []
        for i in range(len(x[0])):
            out.append(np.concatenate([xk[i] for xk in x], axis=axis - 1))
        return np.array(out)
    # dot: per example, the sum over the paired axes of x and y (each normalised first for "normalize")
    layer, _ = _layer(name)
    a, b = layer._axes
    out = []
    for i in range(len(x[0])):
        u, v = np.moveaxis(x[0][i], a - 1, -1), np.moveaxis(x[1][i], b - 1, 0)
        if layer.normalize:
            u = u / np.linalg.norm(u, axis=-1, keepdims=True)
            v = v / np.linalg.norm(v, axis=0, keepdims=True)
        rows = np.zeros(u.shape[:-1] + v.shape[1:])
        for p in np.ndindex(u.shape[:-1]):
            for q in np.ndindex(v.shape[1:]):
                rows[p + q] = sum(u[p + (k,)] * v[(k,) + q] for k in range(u.shape[-1]))
        out.append(rows.reshape(layer.output_shape))
    return np.array(out)


def check_merge(layer, x, seed=1):
    """Relative errors of each input's s against central differences of R = Σ a ⊙ C."""
    probe = np.random.default_rng(seed).standard_normal((len(x[0]),) + layer.output_shape)

    def loss():
        return float(np.sum(layer.forward(x) * probe))

    loss()
    s = [np.array(sk) for sk in layer.backward(probe)]
    return [relative_error(sk, numerical_gradient(loss, xk)) for sk, xk in zip(s, x)]


@pytest.mark.parametrize("name", CASES)
def test_forward_matches_loops(name):
    layer, shapes = _layer(name)
    x = _inputs(shapes)
    a = layer.forward(x)
    assert a.shape == (3,) + layer.output_shape
    np.testing.assert_allclose(a, reference(name, x), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("name", CASES)
@pytest.mark.parametrize("seed", [0, 1])
def test_gradients(name, seed):
    layer, shapes = _layer(name)
    errors = check_merge(layer, _inputs(shapes, seed=seed))
    assert max(errors) < 1e-8, errors


@pytest.mark.parametrize("name", CASES)
def test_backward_never_writes_into_delta(name):
    layer, shapes = _layer(name)
    x = _inputs(shapes)
    a = layer.forward(x)
    delta = np.random.default_rng(2).standard_normal(a.shape)
    kept = delta.copy()
    delta.setflags(write=False)
    s = layer.backward(delta)
    assert len(s) == len(shapes) and all(sk.shape == xk.shape for sk, xk in zip(s, x))
    np.testing.assert_array_equal(delta, kept)


def test_add_hands_the_same_delta_to_every_input_and_concatenate_views_of_it():
    add, _ = _layer("add")
    add.forward(_inputs(CASES["add"][1]))
    delta = np.ones((3, 3, 2))
    assert all(sk is delta for sk in add.backward(delta))
    cat, shapes = _layer("concatenate")
    cat.forward(_inputs(shapes))
    delta = np.arange(3 * 2 * 8.0).reshape(3, 2, 8)
    s = cat.backward(delta)
    assert all(np.shares_memory(sk, delta) for sk in s)
    np.testing.assert_array_equal(np.concatenate(s, axis=-1), delta)


@pytest.mark.parametrize("cls, winner", [(Maximum, 0), (Minimum, 0)])
def test_ties_send_delta_to_the_first_input(cls, winner):
    layer = cls()
    layer.setup([(3,)] * 3, dtype=np.float64)
    x = [np.array([[1.0, 2.0, 5.0]]), np.array([[1.0, 7.0, 5.0]]), np.array([[1.0, 2.0, 5.0]])]
    layer.forward(x)
    s = layer.backward(np.array([[10.0, 20.0, 30.0]]))
    tie = [0, 2]                                             # columns where all three (col 0, 2) are equal
    assert s[0][0, tie].tolist() == [10.0, 30.0] and s[1][0, tie].tolist() == [0, 0] and s[2][0, tie].tolist() == [0, 0]
    # column 1: the maximum is input 1 (7), the minimum input 0 (the first of the two 2s)
    assert (s[1][0, 1], s[0][0, 1]) == ((20.0, 0.0) if cls is Maximum else (0.0, 20.0))


def test_multiply_with_zeros_has_the_right_gradient():
    layer = Multiply()
    layer.setup([(2,)] * 3, dtype=np.float64)
    x = [np.array([[0.0, 2.0]]), np.array([[3.0, 0.0]]), np.array([[4.0, 5.0]])]
    layer.forward(x)
    s = layer.backward(np.ones((1, 2)))
    np.testing.assert_array_equal(s[0], [[12.0, 0.0]])       # x2 x3
    np.testing.assert_array_equal(s[1], [[0.0, 10.0]])       # x1 x3
    np.testing.assert_array_equal(s[2], [[0.0, 0.0]])        # x1 x2


def test_dot_normalize_is_the_cosine_and_a_zero_vector_stays_finite():
    x, y = np.array([[3.0, 4.0], [0.0, 0.0]]), np.array([[4.0, 3.0], [1.0, 2.0]])
    layer = Dot(axes=1, normalize=True)
    a = layer([x, y])
    assert a.shape == (2, 1) and a[0, 0] == pytest.approx(24 / 25) and a[1, 0] == 0.0
    layer.forward([x, y])                                    # the layer's own record, for its backward
    s = layer.backward(np.ones((2, 1)))
    assert np.isfinite(s[0]).all() and np.isfinite(s[1]).all()
    y_hat = y[1] / np.linalg.norm(y[1])
    np.testing.assert_allclose(s[0][1], y_hat / layer.EPSILON)    # the clamped norm is a constant: ∂(x/ε · ŷ)/∂x = ŷ/ε


def test_pytorch_agrees():
    torch = pytest.importorskip("torch")
    ops = {
        "add": lambda t: t[0] + t[1] + t[2], "subtract": lambda t: t[0] - t[1],
        "multiply": lambda t: t[0] * t[1] * t[2] * t[3], "average": lambda t: torch.stack(t).mean(0),
        "maximum": lambda t: torch.maximum(torch.maximum(t[0], t[1]), t[2]),
        "minimum": lambda t: torch.minimum(t[0], t[1]),
        "concatenate": lambda t: torch.cat(t, dim=-1), "concatenate-axis1": lambda t: torch.cat(t, dim=1),
        "dot": lambda t: (t[0] * t[1]).sum(-1, keepdim=True),
        "dot-12": lambda t: torch.einsum("nkp,nqk->npq", t[0], t[1]),
        "dot-neg": lambda t: torch.einsum("npk,nqk->npq", t[0], t[1]),
        "dot-normalize": lambda t: torch.einsum("npk,nkq->npq", torch.nn.functional.normalize(t[0], dim=2),
                                                torch.nn.functional.normalize(t[1], dim=1)),
    }
    for name, op in ops.items():
        layer, shapes = _layer(name)
        x = _inputs(shapes, seed=5)
        probe = np.random.default_rng(6).standard_normal((3,) + layer.output_shape)
        tx = [torch.tensor(xk, requires_grad=True) for xk in x]
        out = op(tx)
        (out * torch.tensor(probe)).sum().backward()
        a = layer.forward(x)
        np.testing.assert_allclose(a, out.detach().numpy().reshape(a.shape), rtol=1e-10, atol=1e-12, err_msg=name)
        for sk, t in zip(layer.backward(probe), tx):
            np.testing.assert_allclose(sk, t.grad.numpy(), rtol=1e-10, atol=1e-12, err_msg=name)


@pytest.mark.parametrize("name", CASES)
def test_two_records_used_alternately_give_the_same_as_one_at_a_time(name):
    layer, shapes = _layer(name)
    x1, x2 = _inputs(shapes, seed=1), _inputs(shapes, seed=2)
    d1, d2 = (np.random.default_rng(k).standard_normal((3,) + layer.output_shape) for k in (3, 4))
    alone = []
    for x, d in ((x1, d1), (x2, d2)):
        call = layer.new_call()
        a = layer.forward(x, call=call).copy()
        alone.append((a, [np.array(s) for s in layer.backward(d, call)]))
    c1, c2 = layer.new_call(), layer.new_call()
    a1, a2 = layer.forward(x1, call=c1).copy(), layer.forward(x2, call=c2).copy()
    s2, s1 = layer.backward(d2, c2), layer.backward(d1, c1)
    for (a, s), (a_alt, s_alt) in zip(alone, ((a1, s1), (a2, s2))):
        np.testing.assert_array_equal(a, a_alt)
        for sk, sk_alt in zip(s, s_alt):
            np.testing.assert_array_equal(sk, sk_alt)


@pytest.mark.parametrize("name", CASES)
def test_no_input_gradient_when_not_asked(name):
    layer, shapes = _layer(name)
    call = layer.new_call(need_input_grad=False)
    a = layer.forward(_inputs(shapes), call=call)
    assert layer.backward(np.ones_like(a), call) == [None] * len(shapes)


@pytest.mark.parametrize("name", CASES)
def test_config_round_trip(name):
    layer, shapes = _layer(name)
    config = layer.get_config()
    again = layers.get(type(layer).__name__).from_config(config)
    again.setup(shapes, dtype=np.float64)
    x = _inputs(shapes)
    np.testing.assert_array_equal(again.forward(x), layer.forward(x))


@pytest.mark.parametrize("cls, shapes, match", [
    (Add, [(3,), (4,)], r"Add: expected inputs of one shape, got \(3,\) \(input 0\) and \(4,\) \(input 1\)"),
    (Multiply, [(2, 3), (2, 3), (3, 2)], r"Multiply: .*\(2, 3\) \(input 0\) and \(3, 2\) \(input 2\)"),
    (Maximum, [(3,), (1,)], r"Maximum: .*\(3,\) \(input 0\) and \(1,\) \(input 1\); netfit does not broadcast"),
    (Average, [(3, 1), (3,)], r"Average: .*\(3, 1\) \(input 0\) and \(3,\) \(input 1\)"),
    (Subtract, [(3,), (3,), (3,)], r"Subtract: expected exactly 2 inputs, got 3"),
    (lambda: Concatenate(), [(2, 3), (3, 3)], r"Concatenate: expected inputs that agree on every axis but -1, "
                                              r"got \(2, 3\) \(input 0\) and \(3, 3\) \(input 1\)"),
    (lambda: Concatenate(axis=0), [(2,), (2,)], r"Concatenate: expected inputs of one rank and axis=0 an axis other"),
    (lambda: Concatenate(axis=3), [(2, 2), (2, 2)], r"Concatenate: .*axis=3"),
    (lambda: Dot(axes=1), [(3,), (4,)], r"Dot: expected axes of one size, got size 3 \(axis 1 of \(3,\)\) and 4"),
    (lambda: Dot(axes=0), [(3,), (3,)], r"Dot: expected axes=0 to name an axis of each input other than the batch"),
    (lambda: Dot(axes=1), [(3,), (3,), (3,)], r"Dot: expected exactly 2 inputs, got 3"),
])
def test_shapes_that_do_not_match_are_refused_with_both_shapes(cls, shapes, match):
    with pytest.raises(ValueError, match=match):
        cls().setup(shapes)


def test_a_single_shape_or_input_is_refused():
    with pytest.raises(ValueError, match=r"Add: expected a list of input shapes .* got the single shape \(3,\)"):
        Add().setup((3,))
    layer = Add()
    layer.setup([(3,), (3,)])
    with pytest.raises(TypeError, match=r"Add: expected a list of 2 input arrays, got ndarray"):
        layer.forward(np.ones((2, 3)))
    with pytest.raises(ValueError, match=r"Add \(input 1\): expected input of shape \(n, 3\), got array of shape"):
        layer.forward([np.ones((2, 3)), np.ones((2, 4))])


@pytest.mark.parametrize("make, match", [
    (lambda: Dot(axes="1"), r"Dot: expected axes an integer, got '1'"),
    (lambda: Dot(axes=(1, 2, 3)), r"Dot: expected axes an int or a pair of ints"),
    (lambda: Dot(axes=1, normalize="yes"), r"Dot: expected normalize True or False"),
    (lambda: Concatenate(axis=1.5), r"Concatenate: expected axis an integer, got 1.5"),
])
def test_bad_arguments(make, match):
    with pytest.raises((TypeError, ValueError), match=match):
        make()


def test_functional_forms_build_and_run_the_layer():
    a, b, c = _inputs([(2, 3)] * 3)
    np.testing.assert_allclose(layers.add([a, b, c]), a + b + c)
    np.testing.assert_allclose(layers.subtract([a, b]), a - b)
    np.testing.assert_allclose(layers.multiply([a, b]), a * b)
    np.testing.assert_allclose(layers.average([a, b]), (a + b) / 2)
    np.testing.assert_allclose(layers.maximum([a, b]), np.maximum(a, b))
    np.testing.assert_allclose(layers.minimum([a, b]), np.minimum(a, b))
    np.testing.assert_allclose(layers.concatenate([a, b], axis=1), np.concatenate([a, b], axis=1))
    np.testing.assert_allclose(layers.dot([a, b], axes=-1), np.einsum("npk,nqk->npq", a, b))
    np.testing.assert_allclose(layers.dot([a[:, 0], b[:, 0]], axes=1, normalize=True)[:, 0],
                               [np.dot(u, v) / np.linalg.norm(u) / np.linalg.norm(v) for u, v in zip(a[:, 0], b[:, 0])])
    with pytest.raises(TypeError, match=r"add: expected a list of inputs, got ndarray"):
        layers.add(a)


def test_keras_namespace_has_the_merge_layers():
    from netfit.keras import layers as klayers
    for name in ("Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum", "Concatenate", "Dot", "add",
                 "subtract", "multiply", "average", "maximum", "minimum", "concatenate", "dot"):
        assert callable(getattr(klayers, name))


def test_float32_stays_float32():
    for name in CASES:
        make, shapes = CASES[name]
        layer = make()
        layer.setup(shapes)
        x = [xk.astype(np.float32) for xk in _inputs(shapes)]
        a = layer.forward(x)
        assert a.dtype == np.float32, name
        assert all(s.dtype == np.float32 for s in layer.backward(np.ones_like(a))), name


def test_more_inputs_than_two_for_every_variadic_layer():
    for cls in (Add, Multiply, Average, Maximum, Minimum):
        x = _inputs([(2,)] * 5)
        expected = {Add: sum(x), Multiply: np.prod(x, axis=0), Average: np.mean(x, axis=0),
                    Maximum: np.max(x, axis=0), Minimum: np.min(x, axis=0)}[cls]
        np.testing.assert_allclose(cls()(x), expected, rtol=1e-12)
