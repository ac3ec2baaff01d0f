"""Activations and traced values: a built-in activation inside custom code, and an activation function of your own.

``nf.activations.get("relu")(x)`` on a traced value is one tape entry: forward the
activation's ``forward``, VJP its own written-out ``backward`` (δ ⊙ σ'), so every
built-in activation works on the tape whatever ops exist.

``Dense(8, activation=my_act)`` with ``def my_act(x): return ops.relu(x) - 0.1 * ...``
gets a :class:`FunctionActivation`: its forward runs the function on the layer's z
(ops on arrays are NumPy), its backward runs it again on z watched by a tape and
back-propagates δ through it. Nothing of a call is kept on the activation object:
z and a stay in the layer's record (``ActivatedLayer.activate``), as for every
activation, so one layer may run on several threads at once.
"""
import numpy as np

from .. import activations, custom_objects, tracing
from ..activations import Activation
from .op import Op
from .tape import Tape
from .value import Value

__all__ = ["FunctionActivation", "traced_activation"]


def _forward(x, activation=None):
    return activation.forward(x)


def _vjp(g, out, x, activation=None):
    return (activation.backward(np.array(g, dtype=out.dtype), x, out),)


_ACTIVATION = Op("activation", _forward, "activation")
_ACTIVATION.defvjp(_vjp)


def traced_activation(activation, x):
    """σ(x) for a traced x: one tape entry, back-propagated by ``activation.backward``."""
    return _ACTIVATION(x, activation=activation)


class FunctionActivation(Activation):
    """An activation function of your own, ``fn(x)`` elementwise, written with netfit.ops (or NumPy's operators).

    σ' is not written out: ``backward`` re-runs ``fn`` on z under a tape and returns
    δ ⊙ σ'(z) = the tape's vector-Jacobian product of δ. Its name is the function's
    (``custom_<name>`` where that is a built-in activation's name, so it is never taken
    for one).

    Raises
    ------
    ValueError
        ``fn`` returns an array of another shape than z (an activation acts elementwise).
    """

    uses = "input"

    def __init__(self, fn):
        self.fn = fn
        name = getattr(fn, "__name__", type(fn).__name__)
        taken = set(activations.names()) | set(activations.aliases())
        self.name = f"custom_{name}" if name in taken else name

    def _checked(self, a, z):
        a = np.asarray(a)
        if a.shape != z.shape:
            raise ValueError(f"activation {self.name!r}: expected the function to return an array of its input's "
                             f"shape {z.shape} (an activation acts on each entry), got shape {a.shape}.")
        return a

    def forward(self, z, out=None):
        a = self._checked(self.fn(z), z)
        if out is None:
            return a.astype(z.dtype, copy=False)
        out[...] = a
        return out

    def backward(self, delta, z, a, out=None):
        with Tape() as tape:
            v = Value(z, tape)
            r = self.fn(v)
        got = tape.backward(r, delta).get(id(v)) if getattr(r, "_traced_kind", None) == "value" else None
        if got is None:                                        # σ does not depend on z: σ' = 0
            got = np.zeros_like(z)
        self._checked(got, z)
        if out is None:
            return np.array(got, dtype=delta.dtype)
        out[...] = got
        return out

    def to_config(self):
        """Keras 3's config of the function (a layer's ``get_config()["activation"]``): its registered name
        (``"my_package>custom_fn"``, else its ``__name__``), found again by name when the model is loaded:
        registered, given in ``custom_objects`` or in a ``custom_object_scope``; the code is never saved."""
        return {"module": "builtins", "class_name": "function",
                "config": custom_objects.get_registered_name(self.fn), "registered_name": "function"}

    def __repr__(self):
        return f"<activation {self.name} (custom)>"


tracing.HANDLERS["activation"] = traced_activation
tracing.HANDLERS["function_activation"] = FunctionActivation
