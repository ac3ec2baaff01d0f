"""Does the output layer fit the loss and the metrics? The table checked at compile time.

A cross-entropy reads the model's outputs as probabilities (or, with
``from_logits=True``, as logits), so the last layer's activation decides
whether training means anything: ``categorical_crossentropy`` after a linear
layer clips outputs above 1 to log 1 = 0 and "trains" to a loss near zero at
chance accuracy. :func:`check_output` refuses such pairs with the fix, warns
about pairs that train but are rarely meant, and lets the right ones pass:

==================  ===========================  ================================  =======================
last activation     categorical / sparse CE      binary CE (one or K units)        any CE, from_logits=True
==================  ===========================  ================================  =======================
softmax             right (fused δ = (p − Y)/n)  warned (outputs compete)          refused (softmax twice)
sigmoid             refused: use softmax         right (fused; K units multi-label) refused (sigmoid twice)
linear              refused: softmax or logits   refused: sigmoid or logits         right
relu, tanh, …       refused: softmax or logits   refused: sigmoid or logits         warned (bounded logits)
==================  ===========================  ================================  =======================

Also refused whatever the loss: softmax over one unit (always 1), and a
categorical cross-entropy on one unit (one class: the loss is always 0).
Squared error takes any output. docs/reliability.md has the full table with
the metrics ("accuracy" is chosen by the loss, as in Keras).
"""
from .utils import warn

#: Layers that pass their input's values through unchanged in inference (so the activation below them counts).
_PASS_THROUGH = ("Flatten", "Reshape", "Dropout")


def output_activation(layers):
    """``(activation name, units)`` of the model's output, or ``(None, units)`` when no σ decides it."""
    units = None
    for layer in reversed(layers):
        if units is None:
            units = _units(layer)
        if hasattr(layer, "activation") and hasattr(layer, "activate"):      # an ActivatedLayer
            return layer.activation.name, units if units is not None else _units(layer)
        if type(layer).__name__ not in _PASS_THROUGH:
            return None, units
    return None, units


def _units(layer):
    if layer.output_shape:
        return layer.output_shape[-1]
    for attr in ("units", "filters"):
        if isinstance(getattr(layer, attr, None), int):
            return getattr(layer, attr)
    return None


def check_output(layers, loss, metric_names, where, warnings=True):
    """Raise a ValueError with the fix when the last activation and the loss do not fit; warn when odd.

    Parameters
    ----------
    layers : list of Layer
    loss : netfit.losses.Loss
        Its ``expects`` ("distribution", "probability", "logits" or None) says what it reads.
    metric_names : list of str
    where : str
    warnings : bool
        Issue the warnings (compile does; later checks only raise).
    """
    if not layers:
        return
    act, units = output_activation(layers)
    name = loss.name
    logits_loss = f"nf.losses.{type(loss).__name__}(from_logits=True)"
    if act == "softmax" and units == 1:
        raise ValueError(f"{where}: the last layer is a softmax over 1 unit, which always outputs 1.0, so "
                         f"nothing can be learned; for two classes use Dense(1, activation='sigmoid') with "
                         f"loss='binary_crossentropy', or Dense(2, activation='softmax') with "
                         f"loss='sparse_categorical_crossentropy'.")
    if units == 1 and (loss.expects == "distribution" or name in ("categorical_crossentropy",
                                                                   "sparse_categorical_crossentropy")):
        raise ValueError(f"{where}: {name} with 1 output unit has one class only, so its loss is always 0; "
                         f"for two classes use Dense(1, activation='sigmoid') with loss='binary_crossentropy', "
                         f"or Dense(2, activation='softmax') with loss='sparse_categorical_crossentropy'.")
    if act is not None:
        _check_activation(act, loss, logits_loss, where, warnings)
    _check_metrics(metric_names, loss, units, where)


def _check_activation(act, loss, logits_loss, where, warnings):
    name, expects = loss.name, loss.expects
    if expects == "distribution" and act != "softmax":
        why = {"linear": "a linear last layer's outputs are not probabilities (the loss would clip them and "
                         "report a loss near 0 at chance accuracy)",
               "sigmoid": "sigmoid outputs do not sum to 1, so the loss can push every output to 1"}.get(
            act, f"{act} outputs are not probabilities")
        raise ValueError(f"{where}: {name} expects probabilities that sum to 1, but {why}; end the model with "
                         f"activation='softmax', or keep the outputs as logits and compile with "
                         f"loss={logits_loss}.")
    if expects == "probability" and act not in ("sigmoid", "softmax"):
        why = ("a linear last layer's outputs are not probabilities" if act == "linear"
               else f"{act} outputs can leave [0, 1]")
        raise ValueError(f"{where}: {name} expects probabilities in [0, 1], but {why}; end the model with "
                         f"activation='sigmoid', or keep the outputs as logits and compile with "
                         f"loss={logits_loss}.")
    if expects == "probability" and act == "softmax" and warnings:
        warn(f"{where}: binary_crossentropy after a softmax: the outputs compete (they sum to 1), which "
             f"fits neither use; for independent yes/no targets (multi-label) use activation='sigmoid', for "
             f"one class per example use loss='categorical_crossentropy'.", UserWarning)
    if expects == "logits" and act in ("softmax", "sigmoid"):
        raise ValueError(f"{where}: {name} with from_logits=True applies {act} itself, but the last layer "
                         f"already applies {act}, so it would be applied twice; remove the last layer's "
                         f"activation (Dense(K) is linear), or compile with loss='{name}'.")
    if expects == "logits" and act != "linear" and warnings:
        warn(f"{where}: {name} with from_logits=True reads logits, but the last layer's {act} limits them "
             f"to its range; a linear last layer (no activation) gives the loss every logit.", UserWarning)


def _check_metrics(metric_names, loss, units, where):
    if getattr(loss, "accuracy_by_shape", False):        # a loss of your own: netfit cannot tell its targets
        return
    for metric in metric_names:
        if metric == "sparse_categorical_accuracy" and not loss.integer_targets:
            raise ValueError(f"{where}: metric 'sparse_categorical_accuracy' compares integer labels, but "
                             f"{loss.name} takes {'one-hot rows' if loss.name.startswith('categ') else 'y values'}"
                             f"; use metrics=['accuracy'] (chosen by the loss).")
        if metric in ("categorical_accuracy", "binary_accuracy") and loss.integer_targets:
            raise ValueError(f"{where}: metric {metric!r} needs y of the output's shape, but {loss.name} takes "
                             f"integer labels; use metrics=['accuracy'] (sparse_categorical_accuracy).")
        if metric == "categorical_accuracy" and units == 1:
            raise ValueError(f"{where}: metric 'categorical_accuracy' over 1 output unit is always 1.0; use "
                             f"metrics=['accuracy'] (binary accuracy for one sigmoid unit).")
