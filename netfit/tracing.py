"""The seam between the modules below :mod:`netfit.ops` and the tape: is a value traced, and who handles it.

Losses, metrics and activations sit below :mod:`netfit.ops` in the import rows
(tests/test_layering.py), yet a built-in loss object or activation may be called
inside custom code on a traced value (a :class:`netfit.ops.Value`). They ask
:func:`is_traced`, and hand such a call to the handler that :mod:`netfit.ops`
registered here when it was imported (``import netfit`` imports it, so the
handlers are always there):

- ``"loss"``: ``(loss, y_true, y_pred, sample_weight)`` -> a traced scalar, one tape
  entry whose VJP is the loss's own written-out ``gradient``;
- ``"loss_rows"``: ``(loss, y_true, y_pred)`` -> traced per-row losses (Keras's loss
  functions, :mod:`netfit.losses.functions`);
- ``"activation"``: ``(activation, x)`` -> traced σ(x), VJP the activation's ``backward``;
- ``"function_activation"``: ``(fn)`` -> an :class:`netfit.activations.Activation` for a
  function of the user's (``Dense(8, activation=my_act)``), differentiated by a tape.
"""

__all__ = ["is_traced", "any_traced", "handler", "HANDLERS"]

#: name -> function, filled by netfit.ops when it is imported.
HANDLERS = {}


def is_traced(x):
    """True for a traced value or a weight of netfit.ops (anything with ``_traced_kind``)."""
    return getattr(x, "_traced_kind", None) is not None


def any_traced(*xs):
    return any(is_traced(x) for x in xs)


def handler(name):
    """The handler ``name`` that netfit.ops registered; a clear error if netfit.ops was never imported."""
    found = HANDLERS.get(name)
    if found is None:
        raise RuntimeError(f"netfit.ops is not imported, so a traced value cannot be handled here ({name}); "
                           f"`import netfit.ops` (``import netfit`` does) first.")
    return found
