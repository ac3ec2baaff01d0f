"""Loss functions R and the error δ = ∂R/∂f they send into the network.

Every loss is a batch *mean*, taken here and nowhere else, so each layer's
gradients are already averages over the batch.

Fused pairs. When the output layer's σ is the loss's ``fuses_with`` (softmax
for categorical cross-entropy, sigmoid for binary cross-entropy), the product
of ∂R/∂p and σ' collapses to δ = (p − Y) / n at the output layer's *input* z;
the model then tells that layer to skip σ' (``fused_output``). The loss value
is computed from z as well, with a log-sum-exp that stays finite for any z.

Logits. ``from_logits=True`` (Keras's and PyTorch's option) makes the three
cross-entropies read the model's outputs f as logits z, after a *linear* last
layer: the loss applies softmax (sigmoid) itself, R = −(1/n) Σ_i Σ_k Y_ik
log softmax(z_i)_k, and sends back δ = (softmax(z) − Y) / n, the same δ the
fused pair gives. ``predict`` then returns logits, as in Keras.

Sample weights (Keras's ``sample_weight``, reduction "sum_over_batch_size").
With per-example weights w_i the loss is R = (1/n) Σ_i w_i ℓ_i, where ℓ_i is
example i's loss (``per_example``) and n the batch size, so every δ_i is
scaled by w_i (``weighted_value`` / ``weighted_gradient``). A new loss only
needs ``per_example`` to support them. Every loss is a batch mean, R = (1/n) Σ_i ℓ_i,
and its δ carries the 1/n: fit on several threads relies on it, weighting each
share's gradient by its part of the batch (:mod:`netfit.replicas`); a loss that
summed over the batch would be scaled wrongly there.

Which output each loss expects (``expects``): "distribution" (rows of
probabilities summing to 1: softmax), "probability" (each output in (0, 1):
sigmoid), "logits" (a linear last layer), or None (any output: squared
error). :mod:`netfit.compatibility` checks the model's last activation against it at
compile time (docs/reliability.md, the output–loss–metric table).
"""
from .base import Loss
from . import functions
from .crossentropy import BinaryCrossentropy, CategoricalCrossentropy, KLDivergence, SparseCategoricalCrossentropy
from .hinge import CategoricalHinge, Hinge, SquaredHinge
from .regression import Huber, LogCosh, MeanAbsoluteError, MeanAbsolutePercentageError, MeanSquaredError, Poisson

__all__ = ["Loss", "MeanSquaredError", "MeanAbsoluteError", "Huber", "LogCosh", "Poisson", "CategoricalCrossentropy",
           "SparseCategoricalCrossentropy", "BinaryCrossentropy", "KLDivergence", "get", "serialize", "names",
           "aliases", "Hinge", "SquaredHinge", "CategoricalHinge", "MeanAbsolutePercentageError"]

_TABLE = {cls.name: cls for cls in (MeanSquaredError, CategoricalCrossentropy,
                                    SparseCategoricalCrossentropy, BinaryCrossentropy)}
_TABLE.update({cls.name: cls for cls in (MeanAbsoluteError, Huber, LogCosh, KLDivergence, Poisson)})
_TABLE.update({cls.name: cls for cls in (Hinge, SquaredHinge, CategoricalHinge)})
_TABLE[MeanAbsolutePercentageError.name] = MeanAbsolutePercentageError
_ALIASES = {"mse": "mean_squared_error"}
_ALIASES.update({"mae": "mean_absolute_error", "kld": "kl_divergence", "huber_loss": "huber",
                 "mape": "mean_absolute_percentage_error"})


def get(identifier):
    """Return a loss from its Keras name ("mse", "categorical_crossentropy"), its class name, a
    config dict (``{"class_name": "CategoricalCrossentropy", "config": {"from_logits": True}}``,
    as :func:`serialize` writes), a Loss instance, or Keras's loss function of that name
    (``netfit.keras.losses.hinge``, :mod:`netfit.losses.functions`; recognised by identity,
    so a function of your own is refused like any unknown loss).

    Examples
    --------
    >>> get("mse")
    <loss mean_squared_error>
    >>> get({"class_name": "BinaryCrossentropy", "config": {"from_logits": True}})
    <loss binary_crossentropy (from_logits=True)>
    >>> get(functions.hinge)
    <loss hinge>
    """
    if isinstance(identifier, Loss):
        return identifier
    if callable(identifier) and functions.name_of(identifier) is not None:
        identifier = functions.name_of(identifier)                      # keras.losses.hinge: the loss "hinge"
    config = {}
    if isinstance(identifier, dict) and isinstance(identifier.get("config", {}), dict):
        identifier, config = identifier.get("class_name"), identifier.get("config", {})
    if isinstance(identifier, str):
        name = _ALIASES.get(identifier, identifier)
        cls = _TABLE.get(name) or {c.__name__: c for c in _TABLE.values()}.get(name)
        if cls is not None:
            try:
                return cls(**config)
            except TypeError as exc:
                raise TypeError(f"losses.get: bad config for {cls.__name__}: {exc}.") from None
        delta = _parameter(identifier, "huber:")                         # "huber:2.0", as a model file stores it
        if delta is not None:
            return Huber(delta)
    raise ValueError(f"losses.get: unknown loss {identifier!r}; supported: "
                     f"{', '.join(list(_TABLE) + list(_ALIASES))}, or a Loss such as "
                     f"nf.losses.CategoricalCrossentropy(from_logits=True).")


def serialize(loss):
    """The loss as its name, or as ``{"class_name", "config"}`` when it has options (from_logits).

    A loss of your own (netfit.ops's CustomLoss) says how itself: Keras's ``{"class_name": "function",
    "config": name}`` or its class and config, which loading finds again in ``custom_objects``.
    """
    own = getattr(loss, "serialized", None)
    if own is not None:
        return own()
    config = loss.get_config()
    return {"class_name": type(loss).__name__, "config": config} if config else loss.name


def _parameter(name, prefix):
    """The number after ``prefix`` in ``name`` ("huber:2.0" -> 2.0), or None."""
    if not name.startswith(prefix):
        return None
    try:
        return float(name[len(prefix):])
    except ValueError:
        return None


def names():
    """The supported loss names (without aliases such as "mse")."""
    return list(_TABLE)


def aliases():
    """Short names and the loss each stands for, e.g. {"mse": "mean_squared_error"}."""
    return dict(_ALIASES)
