"""The tape: back-propagation through the ops a piece of custom code ran, in reverse order.

Built-in layers need no tape: each one's backward is written out beside its
forward, and a model runs them in reverse (the lecture's back-propagation). Code
that a user writes with :mod:`netfit.ops` (a custom layer's ``call``, a loss
function, a ``compute_loss``) is differentiated the same way, one op at a time:

- while the code runs under a :class:`Tape`, each op that gets a traced value
  (:class:`~netfit.ops.value.Value`, or a weight, :class:`~netfit.ops.value.Variable`)
  appends an :class:`Entry` — the op, its inputs, its output — and returns a traced
  value; the list is already in topological order, since an op runs after the ops
  that made its inputs (micrograd's and tinygrad's eager, define-by-run tape);
- :meth:`Tape.backward` walks the entries in reverse. δ at an entry's output,
  ∂R/∂out, goes through the op's vector-Jacobian product to its inputs; a value
  used by several ops gets the sum of what each sends back (the chain rule's sum
  over paths, rule 1 of docs/backprop.md's graph rules), and a gradient that was
  broadcast in the forward pass is summed back to its input's shape (:func:`unbroadcast`).

Everything one backward pass computes lives in a dict local to that pass (HIPS
autograd's ``backward_pass``), never on a value, an op or a layer, and the active
tape is held in a :class:`contextvars.ContextVar`: two threads, or two calls of
one layer, each have their own tape. Outside a tape no op records anything.
"""
import contextvars
import os
import sys

import numpy as np

__all__ = ["Tape", "Entry", "active", "unbroadcast", "GradientError"]

_ACTIVE = contextvars.ContextVar("netfit_ops_tape", default=None)
#: The name of the custom layer (or model) whose call runs now, for errors ("in layer 'wrong'").
CALLER = contextvars.ContextVar("netfit_ops_caller", default=None)
_NETFIT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class GradientError(ValueError):
    """Back-propagation cannot go on: an op without a gradient on the path, a loss that no weight reaches."""


def active():
    """The tape recording in this thread (or task) now, or None."""
    return _ACTIVE.get()


def caller():
    """'file:line' of the first frame outside netfit: where the user's code called the op."""
    frame = sys._getframe(1)
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(_NETFIT):
        frame = frame.f_back
    return f"{frame.f_code.co_filename}:{frame.f_lineno}" if frame is not None else "?"


class Entry:
    """One op's call on the tape: what its vector-Jacobian product reads.

    ``parents``: per tensor argument, the traced value it came from (None: a constant);
    ``arrays``: the arguments' arrays as the forward pass saw them; ``outputs``: the
    traced values it made; ``where``: the user's line, for errors (ops without a gradient).
    """

    __slots__ = ("op", "parents", "arrays", "kwargs", "outputs", "where")

    def __init__(self, op, parents, arrays, kwargs, outputs, where=None):
        self.op, self.parents, self.arrays, self.kwargs = op, parents, arrays, kwargs
        self.outputs, self.where = outputs, where


class Tape:
    """The ops run while the tape is active, in call order; :meth:`backward` runs them in reverse.

    Use as a context manager (``with Tape() as tape: ...``); tapes nest (a custom
    layer's inside a custom model's), the innermost records. ``sinks`` maps a weight
    (:class:`~netfit.ops.value.Variable`, by identity) to the array its gradient is
    written into; weights not in ``sinks`` get no gradient (a metric's state, a frozen
    weight). A layer called inside custom code is one entry that runs its own
    backward (:mod:`netfit.layers.custom`).
    """

    def __init__(self, sinks=None):
        self.entries = []
        self.sinks = {} if sinks is None else sinks
        self._tokens = []
        # Set by a custom layer's forward (netfit.layers.custom): the layer and record whose call this tape
        # records, how often each sublayer has been called on it, the training flag, add_loss's terms.
        self.owner = self.owner_call = None
        self.uses, self.training, self.added_losses = {}, False, []

    def __enter__(self):
        self._tokens.append(_ACTIVE.set(self))       # a stack: the same tape may be entered again inside
        return self

    def __exit__(self, *exc):
        _ACTIVE.reset(self._tokens.pop())
        return False

    def record(self, entry):
        self.entries.append(entry)

    def backward(self, root, delta=None):
        """δ from ``root`` (a traced value) back through every entry; return δ at the leaves.

        ``delta``: ∂R/∂root (default 1, for a scalar R); ``root`` and ``delta`` may be
        lists (a call with several outputs). Returns a dict from the
        identity of each leaf that R reaches (a watched input, a weight) to its δ;
        :meth:`write_sinks` then writes the weights' gradients where they go.

        Raises
        ------
        GradientError
            δ reaches a float op that has no gradient (``round``, ``sign``, ...), naming
            the op and the line that called it.
        """
        grads, owned = {}, set()             # δ at each traced value, by identity; those we may add into

        def arrive(key, g):                  # the chain rule's sum over paths (autograd's add_outgrads)
            have = grads.get(key)
            if have is None:
                grads[key] = g               # the first contribution, as it is (it may be a view)
            elif key not in owned:
                grads[key] = have + g        # the second: a new array, the sum
                owned.add(key)
            else:
                have += g                    # later ones: added into it

        if isinstance(root, (list, tuple)):              # several outputs: δ for those with one
            for r, d in zip(root, delta):
                if d is not None and hasattr(r, "data"):
                    arrive(id(r), d)
        else:
            arrive(id(root), np.ones(root.shape, root.dtype) if delta is None else delta)
        for entry in reversed(self.entries):
            outs = [grads.pop(id(o), None) for o in entry.outputs]
            if all(g is None for g in outs):
                continue
            if entry.op.vjp is None:
                raise GradientError(
                    f"ops.{entry.op.name} has no gradient, but the loss depends on its output (called at "
                    f"{entry.where}). Use it outside what is differentiated, wrap its input in "
                    f"ops.stop_gradient(...) if no gradient should flow, or use a differentiable op instead "
                    f"({entry.op.instead or 'see netfit.ops.list_ops()'}).")
            if len(entry.outputs) == 1:
                g = outs[0]
                out = entry.outputs[0].data
            else:                            # several outputs (split): zeros for those δ does not reach
                g = [x if x is not None else np.zeros(o.shape, o.dtype) for x, o in zip(outs, entry.outputs)]
                out = [o.data if getattr(o, "_traced_kind", None) == "value" else o for o in entry.outputs]
            need = tuple(p is not None for p in entry.parents)
            back = entry.op.vjp(g, out, *entry.arrays, need=need, **entry.kwargs) if entry.op.takes_need \
                else entry.op.vjp(g, out, *entry.arrays, **entry.kwargs)
            if not isinstance(back, (tuple, list)):
                back = (back,)
            for parent, gi in zip(entry.parents, back):
                if parent is None or gi is None:
                    continue
                arrive(id(parent), unbroadcast(np.asarray(gi), parent.shape, entry.op.name))
        return grads

    def write_sinks(self, grads, variables):
        """Write each weight's gradient into its sink (zeros where R does not reach it)."""
        for var in variables:
            sink = self.sinks.get(id(var))
            if sink is None:
                continue
            g = grads.get(id(var))
            sink[...] = 0 if g is None else g


def unbroadcast(g, shape, where="op"):
    """Sum ``g`` down to ``shape``: the VJP of broadcasting ``shape`` to ``g.shape``.

    Broadcasting copies a value along new leading axes and along axes of size 1; the
    chain rule sums the copies' δ back: over the leading axes, then over the size-1
    axes with keepdims (HIPS autograd's ``unbroadcast``).

    Raises
    ------
    ValueError
        ``g`` of a shape that ``shape`` does not broadcast to (a VJP that is wrong).

    Examples
    --------
    >>> unbroadcast(np.ones((2, 3)), (3,))
    array([2., 2., 2.])
    >>> unbroadcast(np.ones((2, 3)), (2, 1)).shape
    (2, 1)
    """
    shape = tuple(shape)
    if g.shape == shape:
        return g
    if np.broadcast_shapes(shape, g.shape) != g.shape:
        raise ValueError(f"ops.{where}: a gradient of shape {g.shape} cannot be summed to the input's shape "
                         f"{shape} (the op's vector-Jacobian product is wrong).")
    extra = g.ndim - len(shape)
    if extra:
        g = g.sum(axis=tuple(range(extra)))
    axes = tuple(i for i, d in enumerate(shape) if d == 1 and g.shape[i] != 1)
    if axes:
        g = g.sum(axis=axes, keepdims=True)
    return g
