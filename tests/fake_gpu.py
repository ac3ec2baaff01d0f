"""A fake GPU for the tests: an array module that behaves like CuPy where device bugs hide.

``FakeArray`` wraps a NumPy array the way a CuPy array wraps device memory:

- mixing it with a host array (a plain ``numpy.ndarray`` with ndim > 0) in an
  operation raises TypeError, as CuPy does;
- implicit conversion to NumPy (``np.asarray(a)``, ``a.__array__``) is refused
  with CuPy's message; ``a.get()`` (what :func:`netfit.backend.to_host` calls)
  is the way out, and ``float(a)`` / ``a.item()`` / ``bool(a)`` work but, like
  on a GPU, wait for the device: each one counts as a host sync
  (:func:`netfit.backend.host_syncs`).

``fakecupy`` is the module: ``fakecupy.zeros(...)`` makes device arrays,
``fakecupy.asarray(numpy_array)`` uploads, other functions refuse host arrays.
It has no ``random`` (netfit draws random numbers on the host). Where CuPy's API is
narrower than NumPy's, the fake refuses too:

- ufuncs take only ``out=``, ``dtype=`` and ``casting=`` (CuPy has no ``where=``);
- NumPy functions that CuPy 13 lacks (``put_along_axis``, new in CuPy 14) and
  keywords CuPy's versions lack (``take(mode=)``, ``reshape(copy=)`` before
  CuPy 14) raise TypeError, as CuPy's ``__array_function__`` does;
- ``fuse`` takes positional arguments only and types a Python scalar argument
  as CuPy 13's fusion does under NumPy 2: a strong float64 / int64, so a
  float32 kernel fed a Python float computes and returns float64.

``install()`` registers it as device ``"fakegpu"``. Every call that reaches the
device is noted in :data:`CALLS` (kind, name, keywords), so a test can hold them
against the real CuPy's API (tests/test_gpu_cupy_api.py), which installs and
imports without a GPU.
"""
import types

import numpy as np
from numpy.lib.mixins import NDArrayOperatorsMixin

from netfit import backend

_MESSAGE = "Implicit conversion to a NumPy array is not allowed. Please use `.get()` to construct a NumPy array explicitly."


# (kind, name, keywords) of every call that reached the device: kind "function" (np.f or cupy.f on device
# arrays), "ufunc" (name "add.__call__", "add.at", ...) or "method" (a.sum(...)).
CALLS = set()


def _note(kind, name, kwargs):
    CALLS.add((kind, name, frozenset(kwargs)))


def _sync():
    backend._syncs[0] += 1


def _down(value, what):
    """Unwrap FakeArrays (recursively in lists/tuples/dicts); refuse host arrays as CuPy does."""
    if isinstance(value, FakeArray):
        return value._a
    if isinstance(value, np.ndarray) and value.ndim > 0:
        raise TypeError(f"fakegpu: {what} got a host numpy.ndarray of shape {value.shape} among device arrays "
                        f"(CuPy refuses this: upload it with netfit.backend.to_device).")
    if isinstance(value, (list, tuple)):
        return type(value)(_down(v, what) for v in value)
    if isinstance(value, dict):
        return {k: _down(v, what) for k, v in value.items()}
    return value


def _up(value):
    if isinstance(value, np.ndarray):
        return FakeArray(value)
    if isinstance(value, np.generic) and not isinstance(value, (np.str_, np.bytes_)):
        return FakeArray(np.asarray(value))             # CuPy's reductions return 0-d device arrays
    if isinstance(value, tuple):
        return tuple(_up(v) for v in value)
    if isinstance(value, list):
        return [_up(v) for v in value]
    return value


def _waiting(name):
    """A conversion to a host value: it waits for the device (one sync counted), then asks the NumPy array."""
    def convert(self):
        _sync()
        return getattr(self._a, name)()
    convert.__name__ = name
    return convert


class FakeArray(NDArrayOperatorsMixin):
    """A device array (CuPy-like) holding a NumPy array that host code cannot touch by accident."""

    __slots__ = ("_a",)

    def __init__(self, a):
        self._a = a

    def __array__(self, *args, **kwargs):
        raise TypeError(_MESSAGE)

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        where = f"{ufunc.__name__}.{method}"
        _note("ufunc", where, kwargs)
        unknown = set(kwargs) - _UFUNC_KWARGS if method == "__call__" else set()
        if unknown:                               # cupy/_core/_kernel.pyx, ufunc.__call__: "Wrong arguments"
            raise TypeError(f"fakegpu: {where} got {sorted(unknown)}; CuPy's ufuncs take only out, dtype, casting "
                            f"(Wrong arguments {kwargs}).")
        result = getattr(ufunc, method)(*_down(inputs, where), **_down(kwargs, where))
        if "out" in kwargs:
            out = kwargs["out"]
            return out[0] if isinstance(out, tuple) and len(out) == 1 else out
        return _up(result)

    def __array_function__(self, func, types_, args, kwargs):
        where = func.__name__
        _note("function", where, kwargs)
        _check_cupy_has(where, kwargs)
        return _up(func(*_down(args, where), **_down(kwargs, where)))

    def get(self):
        """Copy back to the host (netfit.backend.to_host, which calls this, counts the sync)."""
        return self._a.copy()

    # -- host conversions that wait for the device ----------------------------------------
    item, __float__, __int__, __index__, __bool__, tolist = (
        _waiting(name) for name in ("item", "__float__", "__int__", "__index__", "__bool__", "tolist"))

    # -- the rest of ndarray's surface ------------------------------------------------------
    shape = property(lambda self: self._a.shape)
    dtype = property(lambda self: self._a.dtype)
    ndim = property(lambda self: self._a.ndim)
    size = property(lambda self: self._a.size)
    nbytes = property(lambda self: self._a.nbytes)
    itemsize = property(lambda self: self._a.itemsize)
    strides = property(lambda self: self._a.strides)
    T = property(lambda self: FakeArray(self._a.T))
    flat = property(lambda self: FakeArray(self._a.reshape(-1)))

    def __len__(self):
        return len(self._a)

    def __iter__(self):
        return (_up(row) for row in self._a)

    def __getitem__(self, key):
        return _up(self._a[_down(key, "__getitem__")])

    def __setitem__(self, key, value):
        self._a[_down(key, "__setitem__")] = _down(value, "__setitem__")

    def __getattr__(self, name):
        if name.startswith("__"):                 # no __array_interface__ etc.: NumPy would convert silently
            raise AttributeError(name)
        attr = getattr(self._a, name)
        if not callable(attr):
            return attr

        def method(*args, **kwargs):
            _note("method", name, kwargs)
            return _up(attr(*_down(args, name), **_down(kwargs, name)))
        return method

    def __repr__(self):
        return f"fakegpu.array({self._a!r})"


_UFUNC_KWARGS = {"out", "dtype", "casting"}
# NumPy functions CuPy 13 does not have, and keywords its versions lack (docs/gpu.md: CuPy 13 or later).
_MISSING = {"put_along_axis", "errstate", "seterr"}
_MISSING_KWARGS = {"take": {"mode"}, "reshape": {"copy"}, "sum": {"where", "initial"},
                   "mean": {"where"}, "max": {"where", "initial"}, "min": {"where", "initial"}}
_FUSE_ARGS = (FakeArray, np.generic, int, float, complex, bool, type(None))


def _check_cupy_has(name, kwargs):
    if name in _MISSING:
        raise TypeError(f"fakegpu: no implementation found for 'numpy.{name}' on types that implement "
                        f"__array_function__: CuPy 13 has no {name}.")
    bad = set(kwargs) & _MISSING_KWARGS.get(name, set())
    if bad:
        raise TypeError(f"fakegpu: {name}() got an unexpected keyword argument {sorted(bad)[0]!r} (CuPy's {name} "
                        f"has none).")


def _fuse(f=None, kernel_name=None):
    """cupy.fuse's calling rules on NumPy arithmetic: positional arguments of the kinds CuPy accepts, and a
    Python scalar argument typed as CuPy 13 types it (cupy/_core/fusion.pyx: ``numpy.dtype(type(a))``, then
    promoted as a NumPy 2 scalar, i.e. strongly). In-place updates of array arguments write back, as on CuPy."""
    def wrap(func):
        def fused(*args, **kwargs):
            if kwargs:
                raise TypeError(f"fakegpu: fuse: {func.__name__}() got keyword arguments {sorted(kwargs)}; "
                                f"cupy.fuse kernels take positional arguments only.")
            for a in args:
                if not isinstance(a, _FUSE_ARGS):
                    raise TypeError(f"fakegpu: fuse: invalid argument type for {func.__name__!r}: {type(a)}.")
            args = tuple(np.float64(a) if type(a) is float else np.int64(a) if type(a) is int else a for a in args)
            return func(*args)
        fused.__name__ = func.__name__
        return fused
    return wrap if f is None else wrap(f)


_CREATE = {"empty", "zeros", "ones", "full", "arange", "eye", "linspace", "empty_like", "zeros_like", "ones_like",
           "full_like"}


def _module():
    mod = types.ModuleType("fakecupy", __doc__)
    mod.ndarray = FakeArray
    mod.free_bytes = 1 << 40                     # netfit.backend.fits asks; a test may lower it

    def asarray(a, dtype=None, order=None):
        if isinstance(a, FakeArray):
            return a if dtype is None or a.dtype == dtype else FakeArray(a._a.astype(dtype))
        return FakeArray(np.array(a, dtype=dtype, copy=True))           # an upload

    mod.asarray = asarray
    mod.array = lambda a, dtype=None, copy=True: asarray(a, dtype) if not copy else FakeArray(
        np.array(_down(a, "array") if isinstance(a, FakeArray) else a, dtype=dtype, copy=True))
    mod.fuse = _fuse
    mod.get_array_module = lambda *args: mod if any(isinstance(a, FakeArray) for a in args) else np

    def getattr_(name):
        if name == "random":
            raise AttributeError("fakegpu: no device random generator (netfit draws on the host and uploads)")
        if name in _MISSING:
            raise AttributeError(f"fakegpu: CuPy 13 has no {name}")
        attr = getattr(np, name)
        if isinstance(attr, (type, np.ufunc)) or not callable(attr):
            return attr
        if name in _CREATE:
            def create(*args, **kwargs):
                _note("function", name, kwargs)
                return _up(attr(*_down(args, name), **_down(kwargs, name)))
            return create

        def function(*args, **kwargs):
            _note("function", name, kwargs)
            _check_cupy_has(name, kwargs)
            return _up(attr(*_down(args, name), **_down(kwargs, name)))
        return function
    mod.__getattr__ = getattr_
    return mod


fakecupy = _module()


def install():
    """Register the fake module as device ``"fakegpu"``; returns the name."""
    return backend.register_device("fakegpu", fakecupy)
