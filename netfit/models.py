"""Keras's ``keras.models`` names, so that ported code runs: ``models.Sequential``, ``models.load_model``,
``models.model_from_json`` (:func:`netfit.architecture.model_from_json`: reads ``model.to_json()``, an
architecture file or a dict; layers of your own: ``custom_objects=``, as in Keras).

>>> from netfit import models
>>> from netfit.layers import Dense, Input
>>> models.Sequential([Input(shape=(3,)), Dense(2)], seed=0).count_params()
8
"""
from .architecture import model_from_json
from .custom_objects import custom_object_scope, get_registered_name
from .io import load_model, save_model
from .model import Model
from .sequential import Sequential

__all__ = ["Model", "Sequential", "clone_model", "load_model", "model_from_json", "save_model"]


def clone_model(model):
    """A new model of the same architecture, with new layers and weights (Keras's ``clone_model``).

    The clone is built from ``model.get_config()``: the same layers and seed, so its
    weights are the ones ``model`` started with, not its trained ones (Keras draws new
    ones); copy those with ``clone.set_weights(model.get_weights())``. It is not
    compiled. The way to train a second copy while ``model`` serves predictions or
    trains in another thread (docs/reliability.md, "One model, many threads").

    Raises
    ------
    TypeError
        ``model`` is not a netfit model.

    Examples
    --------
    >>> import numpy as np
    >>> from netfit.layers import Dense
    >>> model = Sequential([Dense(2, input_shape=(3,))], seed=0)
    >>> twin = clone_model(model)
    >>> twin is not model and twin.layers[0] is not model.layers[0]
    True
    >>> all(np.array_equal(a, b) for a, b in zip(twin.get_weights(), model.get_weights()))
    True
    """
    if not hasattr(model, "get_config") or not hasattr(type(model), "from_config") or not hasattr(model, "layers"):
        raise TypeError(f"clone_model: expected a netfit model (Sequential), got {type(model).__name__}.")
    # The model's own classes (layers of your own included) are known here: they are in memory, not from a file.
    with custom_object_scope(_own_classes(model.layers)):
        if getattr(model, "_subclassed", False):         # a keras.Model subclass: its constructor's config
            clone = type(model).from_config(model.get_config())
            if model.built:
                clone.build(model.input_shape)
            return clone
        return type(model).from_config(model.get_config())


def _own_classes(layers, found=None):
    """{class name: class} of ``layers`` (nested models' layers too): the classes a clone is made of."""
    found = {} if found is None else found
    for layer in layers:
        found.setdefault(type(layer).__name__, type(layer))
        found.setdefault(get_registered_name(type(layer)), type(layer))
        _own_classes(getattr(layer, "layers", ()), found)
    return found
