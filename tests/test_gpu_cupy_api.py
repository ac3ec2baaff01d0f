"""Where CuPy's API is narrower than NumPy's: the fake device refuses the same, and netfit's GPU path avoids it.

Checked against CuPy's source (github.com/cupy/cupy, v13.6.0 and v14): ufuncs
take no ``where=`` (cupy/_core/_kernel.pyx), CuPy 13 has no ``put_along_axis``
(added in v14), ``take`` has no ``mode=``, ``reshape`` no ``copy=`` before v14,
and ``cupy.fuse`` takes positional arguments and types a Python-number argument
as float64 / int64 (cupy/_core/fusion.pyx). Each refusal is tested first (the
instrument can fail), then the netfit code that would meet it.
"""
import inspect
import math
import re
import types

import numpy as np
import pytest

import netfit as nf
from netfit import activations, backend
from netfit.layers import (AveragePooling2D, Conv2D, Dense, Dropout, Flatten, GlobalMaxPooling2D, LocallyConnected2D,
                           MaxPooling2D)
from netfit.losses import crossentropy
from netfit.optimizers import adam

import fake_gpu

fcp = fake_gpu.fakecupy


@pytest.fixture(autouse=True)
def _fake_device():
    fake_gpu.install()
    yield
    backend.set_device("cpu")


def test_the_fake_refuses_what_cupys_api_lacks():
    on = fcp.arange(6.0).reshape(2, 3)
    with pytest.raises(TypeError, match="CuPy's ufuncs take only out, dtype, casting"):
        np.multiply(on, 2.0, out=on, where=on > 1)
    with pytest.raises(TypeError, match="CuPy 13 has no put_along_axis"):
        np.put_along_axis(on, fcp.zeros((2, 1), np.intp), 1.0, axis=1)
    with pytest.raises(TypeError, match="unexpected keyword argument 'mode'"):
        np.take(on, fcp.arange(2), axis=0, mode="clip")
    with pytest.raises(TypeError, match="unexpected keyword argument 'copy'"):
        np.reshape(on, (3, 2), copy=False)
    np.multiply(on, 2.0, out=on, casting="same_kind")                   # what CuPy does take still works
    assert np.array_equal(backend.to_host(on), np.arange(0.0, 12.0, 2.0).reshape(2, 3))


def test_the_fake_fuse_types_python_numbers_as_cupy_13_does():
    def scale(x, c):
        x *= c                                       # in place, written back as on CuPy
        return x / c

    fused = fcp.fuse(scale)
    x = fcp.ones(3, np.float32)
    assert fused(x, 2.0).dtype == np.float64          # a Python float is a strong float64 in CuPy 13's fuse
    assert np.array_equal(backend.to_host(x), [2.0, 2.0, 2.0])
    assert fused(x, np.float32(2.0)).dtype == np.float32
    with pytest.raises(TypeError, match="positional arguments only"):
        fused(x, c=2.0)
    with pytest.raises(TypeError, match="invalid argument type"):
        fused(x, [2.0])


def test_fused_kernels_keep_the_arrays_float_type_on_the_device():
    rng = np.random.default_rng(2)
    p = activations.get("softmax").forward(rng.standard_normal((32, 10)).astype(np.float32))
    y = nf.utils.to_categorical(rng.integers(0, 10, 32), 10).astype(np.float32)
    expected = crossentropy._fused_error(p, y, 32)
    got = crossentropy._fused_error(fcp.asarray(p), fcp.asarray(y), 32)     # n: a Python int
    assert got.dtype == np.float32 and np.array_equal(backend.to_host(got), expected)
    assert backend.fuse(lambda xp: lambda a, b: a * b)(np.float32(3.0), fcp.ones(2, np.float32)).dtype == np.float32


def test_fused_adam_step_on_the_device_is_the_numpy_update_bit_for_bit(monkeypatch):
    monkeypatch.setenv("NETFIT_COMPILED", "0")
    monkeypatch.setattr(adam._kernels, "_compiled", None)
    rng = np.random.default_rng(0)
    theta, g = rng.standard_normal(1000).astype(np.float32), rng.standard_normal(1000).astype(np.float32)
    m, v = rng.random(1000).astype(np.float32), rng.random(1000).astype(np.float32)
    on = [fcp.asarray(a) for a in (theta, g, m, v)]
    b1, b2 = 0.9, 0.999
    root = math.sqrt(1 - b2)
    alpha = 0.01 * math.sqrt(1 - b2) / (1 - b1)
    args = (b1, b2, 1e-7 / root, alpha * (1 - b1) / root)           # Python floats, as Adam._update passes
    adam._adam_step(theta, g, m, v, *args)
    adam._adam_step(*on, *args)
    for host, device in zip((theta, m, v), (on[0], on[2], on[3])):
        assert device.dtype == np.float32 and np.array_equal(backend.to_host(device), host)


def test_global_max_pooling_trains_the_same_on_the_device():
    x = np.random.default_rng(4).random((24, 5, 5, 3), dtype=np.float32)
    y = nf.utils.to_categorical(np.arange(24) % 2, 2)

    def make(device):
        model = nf.Sequential([GlobalMaxPooling2D(input_shape=(5, 5, 3)), Dense(2, activation="softmax")], seed=1)
        model.to(device).compile("sgd", "categorical_crossentropy")
        return model

    cpu, dev = make("cpu"), make("fakegpu")
    layer = dev.layers[0]
    dev.build()
    layer.forward(fcp.asarray(x[:2]), training=True)
    s = layer.backward(fcp.ones((2, 3), np.float32))
    assert isinstance(s, fake_gpu.FakeArray) and float(s.sum()) == 6.0      # one δ per channel, at its maximum
    h_cpu, h_dev = cpu.fit(x, y, epochs=2, batch_size=8, verbose=0), dev.fit(x, y, epochs=2, batch_size=8, verbose=0)
    np.testing.assert_allclose(h_dev.history["loss"], h_cpu.history["loss"], rtol=1e-6)
    for a, b in zip(dev.get_weights(), cpu.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)


# -- the fake's calls held against the real CuPy (which installs and imports without a GPU) ---------

def _parameters(func):
    """The keyword names ``func`` takes, or None for any (``**kwargs``, or a signature that cannot be read).

    CuPy's Cython methods have no inspect signature; their docstring's first line
    is one, e.g. ``_ndarray_base.sum(self, axis=None, dtype=None, out=None, keepdims=False)``.
    """
    try:
        params = inspect.signature(func).parameters.values()
        if any(p.kind == p.VAR_KEYWORD for p in params):
            return None
        return {p.name for p in params}
    except (TypeError, ValueError):
        match = re.match(r"[\w.]*\((.*?)\)", (func.__doc__ or "").strip())
        if match is None:
            return None
        names = [part.split("=")[0].strip() for part in match.group(1).split(",")]
        return None if any(n.startswith("**") for n in names) else {n.lstrip("*") for n in names}


def _missing_in(cupy, calls):
    """What ``cupy`` lacks of ``calls`` (fake_gpu.CALLS): one line per function, method or keyword."""
    problems = []
    for kind, name, keywords in sorted(calls, key=lambda c: (c[0], c[1], sorted(c[2]))):
        if kind == "ufunc":
            ufunc, method = name.split(".")
            found = getattr(cupy, ufunc, None)
            if found is None or (method != "__call__" and not hasattr(found, method)):
                problems.append(f"cupy has no {name}")
            continue
        found = getattr(cupy.ndarray if kind == "method" else cupy, name, None)
        if found is None:
            problems.append(f"cupy has no {kind} {name}")
            continue
        known = _parameters(found)
        unknown = sorted(keywords - known) if known is not None else []
        if unknown:
            problems.append(f"cupy's {kind} {name} takes no {', '.join(unknown)}")
    return problems


def test_the_api_check_names_what_a_module_lacks():
    lacking = types.SimpleNamespace(ndarray=types.SimpleNamespace(sum=lambda self, axis=None: None),
                                    take=lambda a, indices, axis=None, out=None: None,
                                    add=types.SimpleNamespace(reduce=None))
    calls = {("function", "take", frozenset({"axis", "mode"})), ("function", "put_along_axis", frozenset()),
             ("method", "sum", frozenset({"axis", "out"})), ("ufunc", "add.at", frozenset()),
             ("ufunc", "add.reduce", frozenset()), ("ufunc", "maximum.__call__", frozenset({"out"}))}
    assert _missing_in(lacking, calls) == ["cupy has no function put_along_axis", "cupy's function take takes no mode",
                                           "cupy's method sum takes no out", "cupy has no add.at",
                                           "cupy has no maximum.__call__"]


def test_what_training_asks_of_the_fake_device_exists_in_real_cupy():
    """Run the GPU paths on the fake device, then hold every call it saw against CuPy's own API.

    Needs CuPy importable (``pip install cupy-cuda12x``; no GPU or driver is needed to
    import it and read its signatures). Checked here with CuPy 14.2.0 on a machine without a GPU.
    """
    cupy = pytest.importorskip("cupy")
    fake_gpu.CALLS.clear()
    rng = np.random.default_rng(0)
    x, labels = rng.random((48, 12, 12, 1), dtype=np.float32), rng.integers(0, 3, 48)
    table = np.array([[1, 0, 1], [1, 1, 0]], bool)
    for optimizer, loss, last in [("adam", "sparse_categorical_crossentropy", "softmax"),
                                  (nf.optimizers.SGD(0.05, momentum=0.9, nesterov=True, clipnorm=1.0),
                                   "categorical_crossentropy", "softmax"),
                                  (nf.optimizers.Adam(weight_decay=1e-3, clipvalue=0.5), "mse", "sigmoid"),
                                  ("rmsprop", "binary_crossentropy", "sigmoid"), ("nadam", "mae", None),
                                  ("adagrad", nf.losses.CategoricalCrossentropy(from_logits=True), None),
                                  ("adamw", "mse", "tanh")]:
        model = nf.Sequential([Conv2D(2, 3, activation="relu", input_shape=(12, 12, 1)), MaxPooling2D(2),
                               Conv2D(3, 2, activation="tanh", connections=table, padding="same"),
                               AveragePooling2D(2, strides=1), LocallyConnected2D(2, 2, activation="elu"),
                               GlobalMaxPooling2D() if optimizer == "adam" else Flatten(), Dropout(0.2),
                               Dense(3, activation=last)], seed=1).to("fakegpu")
        model.compile(optimizer=optimizer, loss=loss, metrics=["accuracy"] if last == "softmax" else ["mae"])
        y = labels if loss == "sparse_categorical_crossentropy" else nf.utils.to_categorical(labels, 3)
        model.fit(x, y, epochs=2, batch_size=16, validation_split=0.25, verbose=0)
        model.evaluate(x, y, verbose=0)
        model.predict(x, batch_size=20)
    assert len(fake_gpu.CALLS) > 20                      # the run reached the device
    assert _missing_in(cupy, fake_gpu.CALLS) == []
