"""netfit.ops's core family (conversion, top_k, isclose, meshgrid) and Keras's control flow as Python."""
import numpy as np
import pytest

from netfit import keras, ops
from netfit.ops import GradientError, Tape, Value

from ops_checks import check_gradient

RNG = np.random.default_rng(0)
X = RNG.standard_normal((4, 6))          # distinct entries: top_k's choice does not change under ±h


def test_top_k_values_indices_and_gradient():
    values, indices = ops.top_k(X, 3)
    want = np.sort(X, axis=-1)[:, ::-1][:, :3]
    np.testing.assert_array_equal(values, want)
    np.testing.assert_array_equal(np.take_along_axis(X, indices.astype(int), axis=-1), want)
    assert indices.dtype == np.int32
    check_gradient(lambda x: ops.top_k(x, 3)[0] * 2.0, X)
    unsorted = ops.top_k(X, 3, sorted=False)[1]
    assert np.all(np.diff(unsorted, axis=-1) > 0)
    with pytest.raises(ValueError, match=r"1 <= k <= 6"):
        ops.top_k(X, 7)


def test_in_top_k_and_isclose_are_booleans_without_gradient():
    targets = np.argmax(X, axis=-1)
    assert ops.in_top_k(targets, X, 1).all()
    assert not ops.in_top_k(np.argmin(X, axis=-1), X, 5).any()
    assert ops.isclose(np.array([1.0, 2.0]), np.array([1.0 + 1e-9, 2.1])).tolist() == [True, False]
    with Tape() as tape:
        v = Value(X, tape)
        out = ops.isclose(v, v)
    assert isinstance(out, np.ndarray) and not tape.entries        # booleans: constants, nothing recorded


def test_meshgrid_both_indexings_and_its_gradient():
    a, b = RNG.standard_normal(3), RNG.standard_normal(4)
    for indexing in ("xy", "ij"):
        for got, want in zip(ops.meshgrid(a, b, indexing=indexing), np.meshgrid(a, b, indexing=indexing)):
            np.testing.assert_array_equal(got, want)
        check_gradient(lambda u, w: ops.meshgrid(u, w, indexing=indexing)[0] * ops.meshgrid(u, w, indexing=indexing)[1], a, b)


def test_convert_to_numpy_takes_framework_tensors_and_has_no_gradient():
    torch = pytest.importorskip("torch")
    np.testing.assert_array_equal(ops.convert_to_numpy(torch.ones(2, 3)), np.ones((2, 3)))
    np.testing.assert_array_equal(ops.convert_to_tensor(torch.arange(3.0)), np.arange(3.0))
    with Tape() as tape:
        v = Value(X, tape)
        out = ops.sum(ops.convert_to_numpy(v) * v)
    with pytest.raises(GradientError, match="ops.convert_to_numpy has no gradient"):
        tape.backward(out)


def test_control_flow_is_python_and_traced_values_flow_through():
    assert keras.ops.cond(np.array(True), lambda: 1, lambda: 2) == 1
    assert keras.ops.fori_loop(0, 5, lambda i, s: s + i, 0) == 10
    assert keras.ops.while_loop(lambda i, s: i < 4, lambda i, s: (i + 1, s * 2), (0, 1)) == (4, 16)
    assert keras.ops.while_loop(lambda i: i < 100, lambda i: i + 1, 0, maximum_iterations=7) == 7
    check_gradient(lambda x: ops.fori_loop(0, 3, lambda i, v: ops.tanh(v) * 1.5, x), X)
    check_gradient(lambda x: ops.cond(ops.sum(x) > 0, lambda: x * x, lambda: -x), X)


def test_every_core_op_is_covered():
    assert set(ops.list_ops("core")) == {"convert_to_numpy", "top_k", "in_top_k", "isclose", "meshgrid"}
