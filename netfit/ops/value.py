"""What custom code computes with: traced values on a tape, and weights (Keras's ``Variable``).

A :class:`Value` is an array that an op made while a tape was recording: its data
and the tape it belongs to, nothing else (δ lives in the backward pass, never on
the value). A :class:`Variable` is a weight: a layer's (``add_weight``, a view of
the model's θ), a metric's state, or one of your own (``keras.Variable``). Both take
Python's operators (``+ - * / @ ** [ ]``, comparisons) as the matching
:mod:`netfit.ops`, and NumPy's ufuncs (``np.exp(v)``) the same way; ``np.asarray`` of
either gives its array, outside any tape.
"""
import numpy as np

from ..initializers import get as _initializer
from ..config import dtype as _default_dtype
from .table import TABLE, lookup

__all__ = ["Value", "Variable"]

# ufunc name -> op name, for NumPy's ufuncs called on a Value or a Variable (np.exp(v)).
# NumPy function name -> op name, where they differ (np.amax(v) -> ops.amax is the same; np.round -> ops.round).
_FUNCTIONS = {"round_": "round", "concat": "concatenate", "around": "round"}
_UFUNCS = {"true_divide": "divide", "absolute": "abs", "fabs": "abs", "bitwise_not": "logical_not",
           "remainder": "mod"}


def _op(name, *args, **kwargs):
    return lookup(name)(*args, **kwargs)


class _Operators:
    """Python's operators and a few array methods, as ops (shared by Value and Variable)."""

    __slots__ = ()
    __array_priority__ = 100

    def __add__(self, other): return _op("add", self, other)
    def __radd__(self, other): return _op("add", other, self)
    def __sub__(self, other): return _op("subtract", self, other)
    def __rsub__(self, other): return _op("subtract", other, self)
    def __mul__(self, other): return _op("multiply", self, other)
    def __rmul__(self, other): return _op("multiply", other, self)
    def __truediv__(self, other): return _op("divide", self, other)
    def __rtruediv__(self, other): return _op("divide", other, self)
    def __floordiv__(self, other): return _op("floor_divide", self, other)
    def __rfloordiv__(self, other): return _op("floor_divide", other, self)
    def __mod__(self, other): return _op("mod", self, other)
    def __rmod__(self, other): return _op("mod", other, self)
    def __pow__(self, other): return _op("power", self, other)
    def __rpow__(self, other): return _op("power", other, self)
    def __matmul__(self, other): return _op("matmul", self, other)
    def __rmatmul__(self, other): return _op("matmul", other, self)
    def __neg__(self): return _op("negative", self)
    def __pos__(self): return self
    def __abs__(self): return _op("abs", self)
    def __lt__(self, other): return _op("less", self, other)
    def __le__(self, other): return _op("less_equal", self, other)
    def __gt__(self, other): return _op("greater", self, other)
    def __ge__(self, other): return _op("greater_equal", self, other)
    def __getitem__(self, key): return _op("get_item", self, key)

    def __setitem__(self, key, value):
        raise TypeError(f"{type(self).__name__}s are immutable, as Keras's tensors: x[...] = v would change what the "
                        f"tape recorded; build a new one with ops.where(mask, v, x) or ops.slice_update(x, start, v), "
                        f"or write a weight with .assign(...).")

    def reshape(self, *shape):
        return _op("reshape", self, shape[0] if len(shape) == 1 else shape)

    def astype(self, dtype):
        return _op("cast", self, dtype)

    def sum(self, axis=None, keepdims=False):
        return _op("sum", self, axis=axis, keepdims=keepdims)

    def mean(self, axis=None, keepdims=False):
        return _op("mean", self, axis=axis, keepdims=keepdims)

    @property
    def T(self):
        return _op("transpose", self)

    @property
    def shape(self):
        return self._array().shape

    @property
    def dtype(self):
        return self._array().dtype

    @property
    def ndim(self):
        return self._array().ndim

    @property
    def size(self):
        return self._array().size

    def __len__(self):
        return len(self._array())

    def __bool__(self):                       # Python's if on a value: define-by-run, as eager code
        return bool(self._array())

    def __float__(self):
        return float(self._array())

    def __int__(self):
        return int(self._array())

    def __array__(self, dtype=None, copy=None):
        a = self._array()
        return a if dtype is None else a.astype(dtype)

    def numpy(self):
        """A copy of the array (Keras's ``tensor.numpy()`` / ``variable.numpy()``)."""
        return np.array(self._array())

    def __array_function__(self, func, types, args, kwargs):
        """NumPy's functions on a traced value or a weight run as the op of the same name (np.dot → ops.dot),
        so back-propagation goes through them; one netfit.ops lacks is refused, naming what to use."""
        name = _FUNCTIONS.get(func.__name__, func.__name__)
        found = TABLE.get(name) if func.__module__ in ("numpy", "numpy.linalg") else None
        shown = "np." + ("linalg." if func.__module__ == "numpy.linalg" else "") + func.__name__ \
            if func.__module__.startswith("numpy") else func.__module__ + "." + func.__name__
        if func.__module__.startswith("numpy.") and func.__module__ != "numpy.linalg":
            shown = "np." + func.__module__.split(".", 1)[1] + "." + func.__name__      # np.fft.fft
        if found is None or found.family == "random":
            raise TypeError(f"{shown} on a netfit tensor: netfit.ops has no op of that name, and NumPy "
                            f"would compute it without a gradient; write it with netfit.ops "
                            f"(netfit.ops.list_ops() lists them), or use x.numpy() where no gradient is wanted.")
        kwargs = {k: v for k, v in kwargs.items() if not (k in ("out", "dtype", "where", "order", "copy",
                                                                  "initial") and v is None)}
        if "out" in kwargs:
            raise TypeError(f"{shown}(..., out=...) on a netfit tensor: ops make new arrays; drop out=.")
        return found(*args, **kwargs)

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        if method != "__call__" or kwargs.get("out") is not None:
            raise TypeError(f"np.{ufunc.__name__}.{method} on a netfit tensor: only plain calls such as "
                            f"np.{ufunc.__name__}(x) are supported; use netfit.ops.")
        name = _UFUNCS.get(ufunc.__name__, ufunc.__name__)
        return _op(name, *inputs, **kwargs)


class Value(_Operators):
    """An array computed by an op on a recording tape (``data``), and that tape.

    Shapes and dtypes are the array's. Made by ops; a custom call's inputs are made
    by hand, ``Value(x, tape)``: the leaves whose δ the tape's backward returns.
    """

    __slots__ = ("data", "tape")
    _traced_kind = "value"

    def __init__(self, data, tape):
        self.data, self.tape = data, tape

    def _array(self):
        return self.data

    def __repr__(self):
        return f"<traced {self.data.dtype} {self.data.shape}: {np.array2string(self.data, threshold=6)}>"


class Variable(_Operators):
    """A weight: Keras's ``keras.Variable(initializer, shape=None, dtype=None, trainable=True, name=None)``.

    A layer's weight (from :meth:`netfit.layers.Layer.add_weight`) reads and writes its
    part of the model's θ, so ``self.kernel`` in a custom layer is always the current
    weight; a free-standing one (a metric's state) holds its own array. Ops take it as
    a tensor; on a tape a trainable weight of the call is a leaf whose gradient goes to
    the model's gradient vector.

    Parameters
    ----------
    initializer : str, callable or array-like
        An initializer name (``"zeros"``, ``"glorot_uniform"``, ...) or callable
        ``(shape, dtype)``, or the initial value itself.
    shape : tuple of int, optional
        Needed with an initializer; taken from the value otherwise.
    dtype : str, optional
        Float type, ``nf.config.floatx()`` by default.
    trainable : bool
    name : str, optional

    Raises
    ------
    ValueError
        An initializer without a shape, or a value assigned of another shape.
    """

    __slots__ = ("name", "trainable", "_value", "_owner", "_key", "regularizer", "constraint")
    _traced_kind = "variable"

    def __init__(self, initializer=None, shape=None, dtype=None, trainable=True, name=None, *, _owner=None,
                 _key=None, regularizer=None, constraint=None):
        self.name, self.trainable = name or "variable", bool(trainable)
        self._owner, self._key, self.regularizer, self.constraint = _owner, _key, regularizer, constraint
        self._value = None
        if _owner is not None:
            return
        dt = np.dtype(dtype) if dtype is not None else _default_dtype()
        if isinstance(initializer, (str, type(None))) or callable(initializer) and not hasattr(initializer, "shape"):
            if shape is None:
                raise ValueError(f"Variable {self.name!r}: an initializer ({initializer!r}) needs shape=; give "
                                 f"shape=(...) or an initial array.")
            init = _initializer(initializer or "zeros")
            self._value = np.asarray(init(tuple(shape), np.random.default_rng(), dt, None, None), dt)
        else:
            value = np.asarray(initializer)
            self._value = np.array(value, dt if value.dtype.kind == "f" or dtype is not None else value.dtype)
            if shape is not None and tuple(shape) != self._value.shape:
                raise ValueError(f"Variable {self.name!r}: shape={tuple(shape)} but the value has shape "
                                 f"{self._value.shape}.")

    def _array(self):
        return self.value

    @property
    def value(self):
        """The weight's current array (a view of θ for a layer's weight: writes to it change the model)."""
        if self._owner is None:
            return self._value
        params = self._owner.params
        if self._key not in params:
            raise ValueError(f"{self._owner.display_name}: weight {self.name!r} has no value yet; its layer has "
                             f"been built but its weights not laid out. Call the layer (or its model) on data "
                             f"first, or build the model.")
        return params[self._key]

    @property
    def path(self):
        owner = self._owner.display_name + "/" if self._owner is not None else ""
        return owner + self.name

    def assign(self, value):
        """Write ``value`` into the weight (in place: a layer's weight stays a view of θ)."""
        target, value = self.value, np.asarray(value)      # (a traced value gives its array: no gradient)
        if value.ndim and value.shape != target.shape:
            raise ValueError(f"Variable {self.name!r}.assign: expected a value of shape {target.shape} (or one "
                             f"number), got {value.shape}.")
        target[...] = value
        return self

    def assign_add(self, value):
        return self.assign(self.value + np.asarray(value))

    def assign_sub(self, value):
        return self.assign(self.value - np.asarray(value))

    def __repr__(self):
        try:
            shown = np.array2string(self.value, threshold=6)
        except ValueError:
            shown = "unset"
        return f"<Variable {self.path} shape={self.shape if shown != 'unset' else '?'}: {shown}>"
