"""An op: a NumPy forward and its vector-Jacobian product side by side, and the table of all ops.

Each family module (:mod:`netfit.ops.elementwise`, ``reduce``, ``linalg``, ``shape``,
``nn``, ``random``) defines its ops the way micrograd writes ``_backward`` right under
the forward, on arrays instead of scalars::

    @op("multiply")
    def multiply(x1, x2):
        "x1 ⊙ x2, broadcasting."
        return np.multiply(x1, x2)

    @multiply.defvjp
    def multiply_vjp(g, out, x1, x2):
        return g * x2, g * x1                # δ at x1 and at x2; the tape sums broadcast axes back

The VJP gets δ at the output (``g``, of the output's shape), the output, and the
forward's arguments as arrays; it returns one gradient per positional argument (None
where there is none: an axis, a shape). A VJP that declares a ``need`` argument gets one
flag per argument, True where a gradient is wanted (matmul skips a product for an
input that needs none). An op without a VJP (argmax, round, the comparisons) returns
plain arrays; if its output is a float and a loss depends on it, back-propagation stops
with an error naming the op and the line (:class:`netfit.ops.tape.GradientError`).

Calling an op (:meth:`Op.__call__`) checks the arguments, runs the forward on arrays,
and, when a tape is recording and an argument is traced, records an
:class:`~netfit.ops.tape.Entry` and returns traced :class:`~netfit.ops.value.Value` s.
"""
import inspect

import numpy as np

from .table import TABLE
from .tape import CALLER, Entry, _ACTIVE, caller
from .value import Value

__all__ = ["Op", "op"]

_FRAMEWORKS = {"torch": "x.detach().cpu().numpy()", "tensorflow": "x.numpy()", "jax": "np.asarray(x)",
               "jaxlib": "np.asarray(x)", "cupy": "x.get()"}


class Op:
    """One op: ``forward(*arrays, **options)``, ``vjp(g, out, *arrays, **options)``, and how to call them.

    Attributes
    ----------
    name : str
        Its keras.ops name.
    family : str
        The module that defines it (elementwise, reduce, linalg, shape, nn, random).
    takes_list : bool
        The first argument is a list of tensors (concatenate, stack, einsum's operands);
        the VJP then returns one gradient per element of that list.
    instead : str or None
        For an op without a gradient, what to use in a loss instead (named in the error).
    """

    def __init__(self, name, forward, family, takes_list=False, instead=None):
        self.name, self.forward, self.family = name, forward, family
        self.takes_list, self.instead = takes_list, instead
        self.vjp, self.takes_need = None, False
        self.__doc__, self.__wrapped__, self._signature = forward.__doc__, forward, None

    def defvjp(self, vjp):
        """Decorator: ``vjp`` is this op's vector-Jacobian product (see the module's docstring)."""
        self.vjp = vjp
        self.takes_need = "need" in inspect.signature(vjp).parameters
        return vjp

    def __repr__(self):
        return f"<op {self.name} ({self.family}{', no gradient' if self.vjp is None else ''})>"

    def __call__(self, *args, **kwargs):
        tape = _ACTIVE.get()
        if kwargs and tape is not None and any(_traced(v, tape) is not None for v in kwargs.values()):
            args, kwargs = self._bind(args, kwargs)             # a tensor given by keyword: to its position
        if self.takes_list:
            if not args or not isinstance(args[0], (list, tuple)):
                raise TypeError(f"ops.{self.name}: expected a list of tensors as the first argument, got "
                                f"{type(args[0]).__name__ if args else 'nothing'}.")
            seq = args[0]
            arrays = ([_array(a, self.name) for a in seq],) + tuple(_array(a, self.name) for a in args[1:])
            parents = [_traced(a, tape) for a in seq] if tape is not None else ()
        else:
            arrays = tuple(_array(a, self.name) for a in args)
            parents = [_traced(a, tape) for a in args] if tape is not None else ()
        if kwargs:
            kwargs = {k: _array(v, self.name) for k, v in kwargs.items()}
        try:
            out = self.forward(*arrays, **kwargs)
        except ValueError as exc:                           # shapes that do not fit: say where
            raise ValueError(_misfit(self.name, arrays, exc)) from None
        if tape is None or not any(p is not None for p in parents):
            return out
        return _record(self, tape, parents, arrays, kwargs, out)

    def _bind(self, args, kwargs):
        if self._signature is None:
            self._signature = inspect.signature(self.forward)
        bound = self._signature.bind(*args, **kwargs)
        bound.apply_defaults()                              # every parameter present, in signature order
        positional, keywords = [], {}
        for name, param in self._signature.parameters.items():
            value = bound.arguments[name]
            if param.kind in (param.POSITIONAL_ONLY, param.POSITIONAL_OR_KEYWORD):
                positional.append(value)
            elif param.kind == param.VAR_POSITIONAL:
                positional.extend(value)
            elif param.kind == param.KEYWORD_ONLY:
                keywords[name] = value
            else:
                keywords.update(value)
        return tuple(positional), keywords


def _misfit(name, arrays, exc):
    """The error of an op whose arguments do not fit: the op, the shapes, the layer whose call ran it, the line."""
    shapes = ", ".join(str(np.shape(a)) if not isinstance(a, list) else "[" + ", ".join(
        str(np.shape(b)) for b in a) + "]" for a in arrays if isinstance(a, (np.ndarray, list)))
    layer = CALLER.get()
    where = f" in the call of layer {layer!r}" if layer else ""
    return f"ops.{name}{where} (at {caller()}): {exc} (argument shapes: {shapes})."


def _record(op, tape, parents, arrays, kwargs, out):
    """Put the call on the tape; return its output(s) as traced values (constants for integer outputs)."""
    several = isinstance(out, (list, tuple))
    outs = [np.asarray(o) for o in out] if several else [np.asarray(out)]
    if not any(o.dtype.kind in "fc" for o in outs):
        return out                                               # integers and booleans carry no gradient
    values = [Value(o, tape) if o.dtype.kind in "fc" else o for o in outs]      # top_k's indices stay arrays
    tape.record(Entry(op, parents, arrays, kwargs, values, caller() if op.vjp is None else None))
    return values if several else values[0]


def _traced(a, tape):
    """The traced object ``a`` is on ``tape`` (a Value of it, or a weight), else None."""
    kind = getattr(a, "_traced_kind", None)
    if kind is None:
        return None
    if kind == "variable":
        return a if id(a) in tape.sinks else None
    return a if a.tape is tape else None


def _array(a, where):
    """The array behind ``a``: a traced value's, a weight's, or ``a`` itself; framework tensors refused."""
    kind = getattr(a, "_traced_kind", None)
    if kind is not None:
        return a.data if kind == "value" else a.value
    if isinstance(a, np.ndarray):
        if a.dtype == object:
            raise TypeError(f"ops.{where}: expected a numeric array, got an array of Python objects "
                            f"(dtype=object); convert it with np.asarray(x, dtype='float32'), or stack arrays "
                            f"of one shape.")
        return a
    top = type(a).__module__.split(".")[0]
    if top in _FRAMEWORKS and where in ("convert_to_tensor", "convert_to_numpy"):    # converting is their job
        return _from_framework(a, top)
    if top in _FRAMEWORKS:
        raise TypeError(f"ops.{where}: expected a NumPy array (netfit computes with NumPy), got a "
                        f"{type(a).__module__}.{type(a).__name__}; convert it first: {_FRAMEWORKS[top]}.")
    return a


def _from_framework(a, top):
    """A PyTorch / TensorFlow / JAX / CuPy tensor as a NumPy array (for convert_to_tensor and convert_to_numpy)."""
    if top == "torch":
        return a.detach().cpu().numpy()
    if top == "cupy":
        return a.get()
    if hasattr(a, "numpy"):
        return a.numpy()
    return np.asarray(a)


def op(name, family=None, takes_list=False, instead=None):
    """Decorator: the function is the forward of a new op ``name``, entered in :data:`TABLE`."""
    def make(forward):
        fam = family or forward.__module__.rsplit(".", 1)[-1]
        if name in TABLE:
            raise ValueError(f"netfit.ops: op {name!r} is defined twice ({TABLE[name].family} and {fam}).")
        made = Op(name, forward, fam, takes_list, instead)
        TABLE[name] = made
        return made
    return make
