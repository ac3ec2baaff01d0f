"""The optional compiled loops (netfit._kernels) against the NumPy code they replace: bit for bit."""
import sys
import warnings

import numpy as np
import pytest

from netfit import _kernels, optimizers
from netfit.layers import MaxPooling2D


@pytest.fixture
def numpy_only(monkeypatch):
    """numpy_only() switches every compiled loop off (the NumPy path); numpy_only(False) looks them up again."""
    def switch(off=True):
        monkeypatch.setattr(_kernels, "_compiled", False if off else None)
    return switch


def _compiled_loops_on(numpy_only):
    """Look the compiled loops up again; skip where numba is missing or NETFIT_COMPILED=0 switches them off."""
    pytest.importorskip("numba")
    numpy_only(False)
    if not _kernels.enabled():
        pytest.skip("compiled loops switched off by NETFIT_COMPILED")


def _adam_run(dtype, steps=70, **kwargs):
    # 70 steps: past Adam's flush of tiny moments (every 64 steps); zero gradients exercise it.
    rng = np.random.default_rng(0)
    theta = rng.standard_normal(257).astype(dtype)
    opt = optimizers.Adam(learning_rate=0.01, **kwargs)
    opt.build(theta)
    for k in range(steps):
        g = (rng.standard_normal(257) * 10.0 ** rng.integers(-6, 2)).astype(dtype)
        g[:20] = 0.0
        opt.step(theta, g)
    return theta, opt.m, opt.v


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_compiled_adam_is_bit_identical_to_numpy(dtype, numpy_only):
    _compiled_loops_on(numpy_only)
    compiled = _adam_run(dtype)
    numpy_only(True)
    assert not _kernels.enabled()
    plain = _adam_run(dtype)
    for a, b in zip(compiled, plain):
        assert a.dtype == np.dtype(dtype)
        np.testing.assert_array_equal(a, b)


def test_compiled_adam_honours_weight_decay_and_clipping_like_numpy(numpy_only):
    kwargs = dict(clipnorm=0.5, epsilon=1e-3, beta_1=0.5, beta_2=0.9)
    _compiled_loops_on(numpy_only)
    compiled = _adam_run("float32", **kwargs)
    numpy_only(True)
    for a, b in zip(compiled, _adam_run("float32", **kwargs)):
        np.testing.assert_array_equal(a, b)


def test_without_numba_the_numpy_path_runs(monkeypatch, numpy_only):
    numpy_only(False)                                           # forget any compiled loop
    monkeypatch.setitem(sys.modules, "numba", None)             # import fails
    assert not _kernels.enabled()
    theta = np.ones(3, "float32")
    assert _kernels.adam_update(theta, np.ones(3, "float32"), np.zeros(3, "float32"), np.zeros(3, "float32"),
                                0.9, 0.999, 1e-7, 0.1) is False
    np.testing.assert_array_equal(theta, 1.0)                   # untouched: the caller does the work


def test_netfit_compiled_0_switches_the_loops_off(monkeypatch, numpy_only):
    numpy_only(False)
    monkeypatch.setenv("NETFIT_COMPILED", "0")
    assert not _kernels.enabled()


def test_a_broken_loop_warns_once_and_falls_back_to_numpy(monkeypatch, numpy_only):
    def broken(*args):
        raise RuntimeError("no LLVM today")
    monkeypatch.setattr(_kernels, "_compiled", {"Adam": broken})
    theta = np.ones(4, "float32")
    opt = optimizers.Adam(learning_rate=0.1)
    opt.build(theta)
    with pytest.warns(RuntimeWarning, match=r"compiled Adam loop failed \(RuntimeError: no LLVM today\); "
                                             r"using NumPy"):
        opt.step(theta, np.ones(4, "float32"))
    np.testing.assert_allclose(theta, 0.9, rtol=1e-6)          # Adam's first step: θ − γ·sign(g)
    assert _kernels._compiled["Adam"] is False                 # not tried again: no second warning
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        opt.step(theta, np.ones(4, "float32"))


def test_mismatched_arrays_are_left_to_numpy():
    f32, f64 = np.zeros(4, "float32"), np.zeros(4, "float64")
    assert _kernels.adam_update(f32, f64, f32.copy(), f32.copy(), 0.9, 0.999, 1e-7, 0.1) is False
    assert _kernels.adam_update(f32, np.zeros(8, "float32")[::2], f32.copy(), f32.copy(), 0.9, 0.999, 1e-7,
                                0.1) is False


def test_vectors_of_different_lengths_are_refused_before_the_unchecked_loop():
    short = np.zeros(3, "float32")
    assert _kernels.adam_update(np.zeros(4, "float32"), short, short.copy(), short.copy(), 0.9, 0.999, 1e-7,
                                0.1) is False
    assert _kernels.adam_update(np.zeros((2, 2), "float32"), *(np.zeros((2, 2), "float32"),) * 3,
                                0.9, 0.999, 1e-7, 0.1) is False


# ---------------------------------------------------------------------------------------- max pooling
# Windows that tile the image (stride = pool size, "valid"), where MaxPooling2D uses the compiled loops.
TILES = [
    (2, (8, 6, 3)),           # even sizes
    (2, (7, 5, 2)),           # odd: the last row and column are in no window
    (3, (9, 9, 2)),
    (3, (10, 11, 1)),         # 3×3, uncovered rows and columns
    ((2, 3), (6, 7, 2)),      # oblong windows
    (2, (7, 5)),              # (n, H, W) input, no channel axis
    (4, (9, 8, 5)),
]
TILE_IDS = [f"p{k}-{'x'.join(map(str, shape))}" for k, shape in TILES]


def _pool_inputs(shape, out_shape, dtype, special):
    """x with values in {0, 1, 2} (ties in most windows, all zeros in example 0), and δ."""
    rng = np.random.default_rng(7)
    x = rng.integers(0, 3, (5,) + shape).astype(dtype)
    x[0] = 0.0
    delta = rng.standard_normal((5,) + out_shape).astype(dtype)
    if special:
        x[1] = np.where(rng.random(shape) < 0.5, 0.0, -0.0)   # ties of 0.0 and −0.0: np.maximum keeps the later
        x[2].flat[1::5] = np.nan                     # NaN: first, later and only pixel of windows
        x[3] = -np.inf
        x[3].flat[::7] = np.nan
        delta[4].flat[::4] = np.inf                  # ∞·0 = NaN at the losers, as in NumPy
        delta[4].flat[1::4] = np.nan
    return x, delta


def _pool_run(pool_size, shape, x, delta, training):
    layer = MaxPooling2D(pool_size)
    layer.setup(shape)
    a = layer.forward(x, training=training).copy()
    call = layer.record(None)                       # the layer's own record: the winners the pass noted
    winner = None if call.winner is None else call.winner.copy()
    return a, winner, layer.backward(delta).copy()


def _assert_same_bits(compiled, plain):
    for got, want in zip(compiled, plain):
        if want is None:
            assert got is None
            continue
        assert got.dtype == want.dtype and got.shape == want.shape
        assert got.tobytes() == want.tobytes()       # bit for bit: −0.0 ≠ 0.0, NaN payloads, everything


@pytest.mark.parametrize("special", [False, True], ids=["ties", "nan-inf-signed-zeros"])
@pytest.mark.parametrize("training", [True, False], ids=["training", "inference"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("pool_size, shape", TILES, ids=TILE_IDS)
def test_compiled_max_pooling_is_bit_identical_to_numpy(pool_size, shape, dtype, training, special, numpy_only,
                                                        monkeypatch):
    # a, the winners noted by a training forward pass and s, against the NumPy path, with many ties
    # (the first maximum must win) and, in "special", NaN, ±∞ and −0.0.
    _compiled_loops_on(numpy_only)
    out_shape = MaxPooling2D(pool_size).setup(shape)
    x, delta = _pool_inputs(shape, out_shape, np.dtype(dtype), special)
    numpy_only(True)
    with np.errstate(invalid="ignore"):              # ∞·0 in the NumPy backward
        plain = _pool_run(pool_size, shape, x, delta, training)
    numpy_only(False)

    def numpy_path(*args, **kwargs):
        raise AssertionError("the NumPy path ran where the compiled loop should have")
    monkeypatch.setattr(MaxPooling2D, "_max_offsets", numpy_path)
    monkeypatch.setattr(MaxPooling2D, "_spread", numpy_path)
    _assert_same_bits(_pool_run(pool_size, shape, x, delta, training), plain)


def test_compiled_max_pooling_follows_the_last_forward_pass(numpy_only):
    # Winners noted by a training pass must not leak into the backward of a later inference pass.
    _compiled_loops_on(numpy_only)
    rng = np.random.default_rng(3)
    x1, x2 = rng.integers(0, 3, (2, 6, 8, 8, 4)).astype("float32")
    delta = rng.standard_normal((6, 4, 4, 4)).astype("float32")
    results = []
    for off in (False, True):
        numpy_only(off)
        layer = MaxPooling2D(2)
        layer.setup((8, 8, 4))
        layer.forward(x1, training=True)
        layer.forward(x2)
        s = layer.backward(delta).copy()
        layer.forward(x2[:3], training=True)         # a smaller batch reuses the buffers
        results.append((s, layer.backward(delta[:3]).copy()))
    _assert_same_bits(*results)


def test_max_pooling_loops_refuse_what_they_cannot_index(numpy_only):
    numpy_only(False)
    x, a = np.zeros((2, 4, 4, 3), "float32"), np.zeros((2, 2, 2, 3), "float32")
    winner = np.zeros(a.shape, "uint8")
    refused = [
        (np.zeros((2, 4, 8, 3), "float32")[:, :, ::2], a, winner, 2, 2),   # x not contiguous
        (x, np.zeros((2, 2, 2, 3)), winner, 2, 2),                   # a of another float type
        (x, np.zeros((2, 3, 2, 3), "float32"), None, 2, 2),          # windows beyond the image
        (x, np.zeros((2, 2, 2, 2), "float32"), None, 2, 2),          # channels differ
        (x, a, np.zeros((2, 2, 2, 2), "uint8"), 2, 2),               # winner of another shape
        (x, a, winner.astype("int8"), 2, 2),                         # winner signed
        (x.astype("float16"), a.astype("float16"), None, 2, 2),     # not float32 / float64
    ]
    for args in refused:
        assert _kernels.max_pool_forward(*args) is False
    delta = np.ones(a.shape, "float32")
    assert _kernels.max_pool_backward(delta, winner, np.zeros((2, 3, 4, 3), "float32"), 2, 2) is False
    assert _kernels.max_pool_backward(delta, winner, np.zeros(x.shape), 2, 2) is False
    assert _kernels.max_pool_backward(delta[:, :, ::-1], winner, x.copy(), 2, 2) is False
    # uint8 winners cannot name offset 17·17 − 1 = 288 of a 17×17 window
    assert _kernels.max_pool_backward(delta, winner, np.zeros((2, 34, 34, 3), "float32"), 17, 17) is False
    if _kernels.enabled():                           # while the arrays that fit are taken
        assert _kernels.max_pool_forward(x, a, winner, 2, 2) is True
        assert _kernels.max_pool_backward(delta, winner, x, 2, 2) is True


def test_a_broken_pooling_loop_warns_once_and_falls_back_to_numpy(monkeypatch, numpy_only):
    numpy_only(True)
    x = np.random.default_rng(0).integers(0, 3, (3, 6, 6, 2)).astype("float32")
    expected = _pool_run(2, (6, 6, 2), x, np.ones((3, 3, 3, 2), "float32"), True)

    def broken(*args):
        raise RuntimeError("no LLVM today")
    monkeypatch.setattr(_kernels, "_compiled", {"max-pooling forward": broken, "max-pooling backward": broken})
    with pytest.warns(RuntimeWarning, match=r"compiled max-pooling (forward|backward) loop failed") as record:
        got = _pool_run(2, (6, 6, 2), x, np.ones((3, 3, 3, 2), "float32"), True)
    assert sorted(str(w.message).split()[4] for w in record) == ["backward", "forward"]    # once each
    _assert_same_bits(got, expected)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _assert_same_bits(_pool_run(2, (6, 6, 2), x, np.ones((3, 3, 3, 2), "float32"), True), expected)


# -- relu backward ---------------------------------------------------------------------------------
def _relu_backward_cases(dtype):
    rng = np.random.default_rng(5)
    a = np.maximum(rng.standard_normal((4, 5, 6, 3)), 0).astype(dtype)
    a.flat[:7] = [0.0, -0.0, np.nan, np.inf, 1e-45, 2.0, 0.0]
    delta = rng.standard_normal(a.shape).astype(dtype)
    delta.flat[:7] = [-1.0, -2.0, 3.0, np.nan, -np.inf, np.inf, np.nan]
    return delta, a


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("into_delta", [False, True])
def test_compiled_relu_backward_is_bit_identical_to_numpy(dtype, into_delta, numpy_only):
    from netfit import activations
    relu = activations.get("relu")
    results = []
    for compiled in (True, False):
        if compiled:
            _compiled_loops_on(numpy_only)
        else:
            numpy_only(True)
        delta, a = _relu_backward_cases(dtype)
        out = delta if into_delta else np.empty_like(delta)
        got = relu.backward(delta, None, a, out=out)
        assert got is out
        results.append(got.copy())
    np.testing.assert_array_equal(results[0], results[1])
    np.testing.assert_array_equal(np.signbit(results[0]), np.signbit(results[1]))      # −δ·0 = −0.0
    assert results[0].flat[1] == 0 and np.signbit(results[0].flat[1])                    # a = −0.0 is not > 0


def test_relu_backward_loop_refuses_partly_overlapping_arrays(numpy_only):
    _compiled_loops_on(numpy_only)
    buf = np.zeros(10, "float32")
    assert _kernels.relu_backward(buf[:8], np.ones(8, "float32"), buf[2:]) is False
    assert _kernels.relu_backward(buf[:8], np.ones(8, "float32"), buf[:8]) is True
    assert _kernels.relu_backward(np.ones(8, "float32"), np.ones(8, "float64"), np.ones(8, "float32")) is False
