"""The optional compiled loops (netfit._kernels) against the NumPy code they replace: bit for bit."""
import sys

import numpy as np
import pytest

from netfit import _kernels, optimizers


@pytest.fixture
def numpy_only(monkeypatch):
    """Run the block with the compiled loop switched off (the NumPy path)."""
    def switch(off=True):
        monkeypatch.setattr(_kernels, "_compiled", False if off else None)
    return switch


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
    pytest.importorskip("numba")
    numpy_only(False)
    assert _kernels.enabled()
    compiled = _adam_run(dtype)
    numpy_only(True)
    assert not _kernels.enabled()
    plain = _adam_run(dtype)
    for a, b in zip(compiled, plain):
        assert a.dtype == np.dtype(dtype)
        np.testing.assert_array_equal(a, b)


def test_compiled_adam_honours_weight_decay_and_clipping_like_numpy(numpy_only):
    pytest.importorskip("numba")
    kwargs = dict(clipnorm=0.5, epsilon=1e-3, beta_1=0.5, beta_2=0.9)
    numpy_only(False)
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
    monkeypatch.setattr(_kernels, "_compiled", broken)
    theta = np.ones(4, "float32")
    opt = optimizers.Adam(learning_rate=0.1)
    opt.build(theta)
    with pytest.warns(RuntimeWarning, match=r"compiled Adam loop failed \(RuntimeError: no LLVM today\); "
                                             r"using NumPy"):
        opt.step(theta, np.ones(4, "float32"))
    np.testing.assert_allclose(theta, 0.9, rtol=1e-6)          # Adam's first step: θ − γ·sign(g)
    assert not _kernels.enabled()


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
