"""``netfit.ops``: Keras 3's ``keras.ops`` on NumPy, each op's backward written beside its forward.

Custom code (a layer's ``call``, a loss, a metric, a model's ``call`` or ``compute_loss``)
written with these ops trains: while it runs during training, each op records on a
tape what its vector-Jacobian product needs, and back-propagation runs the tape in
reverse (:mod:`netfit.ops.tape`, docs/backprop.md "Back-propagation through ops").
Outside training the ops are plain NumPy functions: arrays in, arrays out.

One module per family: :mod:`~netfit.ops.elementwise`, :mod:`~netfit.ops.reduce`,
:mod:`~netfit.ops.linalg`, :mod:`~netfit.ops.shape`, :mod:`~netfit.ops.nn`. Names and
semantics are Keras 3's (keras.io/api/ops); :func:`list_ops` gives the table.

Examples
--------
>>> import numpy as np
>>> from netfit import ops
>>> ops.relu(np.array([-1.0, 2.0]))
array([0., 2.])
"""
from . import core, elementwise, linalg, nn, random, reduce, shape
from .core import cond, fori_loop, while_loop     # control flow: Python's own, eagerly
from . import activation, custom, loss, metric                  # custom losses, metrics, activations; tracing's handlers
from .op import Op
from .table import TABLE, lookup
from .tape import GradientError, Tape
from .value import Value, Variable

globals().update(TABLE)


def list_ops(family=None):
    """The names of the supported ops (of one ``family``), sorted."""
    return sorted(name for name, o in TABLE.items() if family is None or o.family == family)


def __getattr__(name):
    return lookup(name)


__all__ = ["Op", "Tape", "Value", "Variable", "GradientError", "list_ops", "cond", "fori_loop", "while_loop"] + sorted(TABLE)
