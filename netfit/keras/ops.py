"""``keras.ops``: netfit.ops under Keras's module name (``from netfit.keras import ops``; ``keras.ops.matmul``).

Every op of netfit.ops but the random ones (those are ``keras.random``'s), each a
NumPy forward with its vector-Jacobian product beside it, so that custom code trains.
"""
from ..ops import TABLE as _TABLE
from ..ops import cond, fori_loop, list_ops, lookup, while_loop     # noqa: F401 — control flow (Python's)

globals().update({name: op for name, op in _TABLE.items() if op.family != "random"})


def __getattr__(name):
    return lookup(name)


__all__ = sorted(name for name, op in _TABLE.items() if op.family != "random") + ["list_ops", "cond", "fori_loop",
                                                                                   "while_loop"]
