"""Gradient-descent updates θ^(r+1) = θ^(r) − γ_r · (direction), on one flat vector.

The model keeps every weight in one contiguous buffer θ and every gradient in
one buffer g of the same layout, so each optimizer step is a handful of
in-place vector operations, whatever the number of layers. Ordered by
complexity: SGD (with the lecture's learning rate γ_r, momentum, Nesterov),
then Adam, RMSprop, Adagrad, Nadam and AdamW, one module each in this package
(base.py holds the contract); L-BFGS (:mod:`netfit.lbfgs`) and LeCun's SDLM
(:mod:`netfit.sdlm`) drive their own loops and register themselves here;
learning-rate schedules are in :mod:`netfit.schedules`.

Common options
--------------
weight_decay : float
    ESL's λ: the penalty λ Σ w² over all *kernels* (not biases) is added to the
    loss, so 2λw is added to their gradients before the step. This is the L2
    penalty of ESL §11.5.2, not AdamW's decoupled decay (:class:`~netfit.optimizers.AdamW`,
    whose ``weight_decay`` is the decoupled λ). Keras 3 gives every optimizer the
    decoupled kind under this name; netfit keeps ESL's, which the lecture uses.
clipnorm, clipvalue : float
    Keras's clipping: rescale g to norm ≤ clipnorm; clip entries to ±clipvalue.
"""
from .. import schedules
from ..schedules import (CosineDecay, ExponentialDecay, InverseTimeDecay,  # noqa: F401 (public here too, as Keras)
                         LearningRateSchedule, PiecewiseConstantDecay)
from .adam import Adam
from .adaptive import Adagrad, AdamW, Nadam, RMSprop
from .base import Optimizer
from .sgd import SGD

__all__ = ["Optimizer", "SGD", "RMSprop", "Adagrad", "Adam", "Nadam", "AdamW", "schedules", "CosineDecay",
           "ExponentialDecay", "InverseTimeDecay", "LearningRateSchedule", "PiecewiseConstantDecay", "get",
           "names", "register", "serialize"]

# L-BFGS and SDLM (netfit.lbfgs, netfit.sdlm) drive their own loops above this package and register themselves.
_TABLE = {"sgd": SGD, "rmsprop": RMSprop, "adagrad": Adagrad, "adam": Adam, "nadam": Nadam, "adamw": AdamW}


def get(identifier):
    """Return an optimizer from a name ("sgd", "adam", "lbfgs"), a config dict, or an instance.

    Examples
    --------
    >>> get("lbfgs")
    LBFGS(weight_decay=0.0, maxcor=10, gtol=1e-05, ftol=2.220446049250313e-09, maxls=20)
    """
    if isinstance(identifier, Optimizer):
        return identifier
    if isinstance(identifier, dict):
        cls = _TABLE.get(str(identifier.get("class_name", "")).lower())
        if cls is not None:
            return cls(**identifier.get("config", {}))
    if isinstance(identifier, str) and identifier.lower() in _TABLE:
        return _TABLE[identifier.lower()]()
    raise ValueError(f"optimizers.get: unknown optimizer {identifier!r}; supported: {', '.join(_TABLE)}.")


def register(name, cls):
    """Add ``cls`` (an :class:`Optimizer` subclass) to the table under ``name``, for :func:`get`.

    For optimizers that live in their own module above this one (:class:`netfit.lbfgs.LBFGS`).
    """
    if not (isinstance(cls, type) and issubclass(cls, Optimizer)):
        raise TypeError(f"optimizers.register: expected an Optimizer subclass, got {cls!r}.")
    _TABLE[name.lower()] = cls
    return cls


def names():
    """The registered optimizer names, simplest first; L-BFGS and SDLM once their modules are imported."""
    return list(_TABLE)


def serialize(optimizer):
    return {"class_name": type(optimizer).__name__, "config": optimizer.get_config()}
