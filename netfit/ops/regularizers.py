"""Keras 3's ``keras.regularizers``: weight penalties written with netfit.ops, so that their gradient is the tape's.

A regularizer is a function of one weight, ``R(w)``, a scalar added to the model's loss
in training. Given to ``add_weight(..., regularizer=...)`` in a layer of your own, its
penalty is computed on the training step's tape from the weight (a
:class:`~netfit.ops.Variable`), so the gradient of the loss gets ∂R/∂w (for ``L2(λ)``,
2λw) and the loss that ``fit`` and ``evaluate`` report includes it
(:mod:`netfit.layers.custom`). Outside a tape the call is plain NumPy.

==============  ==========================  ============================
class           R(w)                        Keras 3's defaults
==============  ==========================  ============================
``L1(l1)``      l1 · Σ|w|                   ``l1=0.01`` (``"l1"``)
``L2(l2)``      l2 · Σ w²                   ``l2=0.01`` (``"l2"``)
``L1L2(l1,l2)`` l1 · Σ|w| + l2 · Σ w²       ``l1=0.0, l2=0.0``
==============  ==========================  ============================

Source: Keras 3, keras/src/regularizers/regularizers.py (the same names, factors and
configs; a config's factor is a Python float here, a float32 rounded to float there:
``L1(0.005).get_config()`` is ``{"l1": 0.005}`` here, ``{"l1": 0.004999999888241291}``
in Keras). Keras's OrthogonalRegularizer is not here. netfit's built-in layers take no
``kernel_regularizer=`` (refused, naming the optimizer's weight decay): a regularizer
serves layers of your own.

>>> import numpy as np
>>> L2(0.5)(np.array([1.0, -2.0]))
2.5
>>> get("l1").get_config()
{'l1': 0.01}
>>> serialize(L1(0.005))
{'module': 'keras.regularizers', 'class_name': 'L1', 'config': {'l1': 0.005}, 'registered_name': None}
"""
import numpy as np

from .. import custom_objects
from .table import lookup

__all__ = ["Regularizer", "L1", "L2", "L1L2", "get", "serialize", "deserialize"]


def _factor(value, name):
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"Invalid value for argument {name}: expected a non-negative float, got {value!r}.") \
            from None
    if not np.isfinite(value) or value < 0:
        raise ValueError(f"Invalid value for argument {name}: expected a non-negative float, got {name}={value!r}.")
    return value


def _result(value):
    """A float outside a tape (plain arrays in), the traced scalar on one."""
    return float(value) if isinstance(value, (np.ndarray, np.generic, float, int)) else value


class Regularizer:
    """A weight penalty ``R(w)`` (Keras's ``keras.regularizers.Regularizer``): subclass it and define
    ``__call__(self, x)`` with netfit.ops, and ``get_config`` for saving."""

    def __call__(self, x):
        return 0.0

    def get_config(self):
        """The constructor's arguments, as a dict of plain values."""
        return {}

    @classmethod
    def from_config(cls, config):
        """``cls(**config)``."""
        return cls(**config)

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


class L1(Regularizer):
    """R(w) = l1 · Σ|w| (the subgradient 0 at w = 0). Raises ValueError for a negative or non-numeric l1."""

    def __init__(self, l1=0.01):
        self.l1 = _factor(l1, "l1")

    def __call__(self, x):
        return _result(self.l1 * lookup("sum")(lookup("abs")(x)))

    def get_config(self):
        return {"l1": self.l1}


class L2(Regularizer):
    """R(w) = l2 · Σw² (gradient 2·l2·w). Raises ValueError for a negative or non-numeric l2."""

    def __init__(self, l2=0.01):
        self.l2 = _factor(l2, "l2")

    def __call__(self, x):
        return _result(self.l2 * lookup("sum")(lookup("square")(x)))

    def get_config(self):
        return {"l2": self.l2}


class L1L2(Regularizer):
    """R(w) = l1 · Σ|w| + l2 · Σw² (Keras's defaults l1 = l2 = 0). Raises ValueError for a negative factor."""

    def __init__(self, l1=0.0, l2=0.0):
        self.l1, self.l2 = _factor(l1, "l1"), _factor(l2, "l2")

    def __call__(self, x):
        total = 0.0
        if self.l1:
            total = total + self.l1 * lookup("sum")(lookup("abs")(x))
        if self.l2:
            total = total + self.l2 * lookup("sum")(lookup("square")(x))
        return _result(total)

    def get_config(self):
        return {"l1": self.l1, "l2": self.l2}


_CLASSES = {"L1": L1, "L2": L2, "L1L2": L1L2}
_NAMES = {"l1": L1, "l2": L2}


def serialize(regularizer):
    """Keras's dict for a regularizer: ``{"module", "class_name", "config", "registered_name"}``
    (``module`` None and the registered name for a class of your own)."""
    cls = type(regularizer)
    own = _CLASSES.get(cls.__name__) is cls
    return {"module": "keras.regularizers" if own else None, "class_name": cls.__name__,
            "config": regularizer.get_config(),
            "registered_name": None if own else custom_objects.get_registered_name(cls)}


def deserialize(config, custom_objects_=None):
    """A regularizer from :func:`serialize`'s dict (or ``{"class_name", "config"}``): netfit's classes, else one of
    your own given in ``custom_objects_``, in a custom_object_scope or registered.

    Raises
    ------
    ValueError
        A class nobody gave (naming the fix), or a dict without ``class_name``.
    """
    if not isinstance(config, dict) or not isinstance(config.get("class_name"), str):
        raise ValueError(f"regularizers.deserialize: expected a dict with 'class_name' and 'config', got "
                         f"{config!r:.80}.")
    name, registered = config["class_name"], config.get("registered_name")
    cls = _CLASSES.get(name) if registered in (None, name) else None
    if cls is None:
        cls = custom_objects.resolve(name, registered if isinstance(registered, str) else None, custom_objects_)
    if cls is None:
        raise custom_objects.unknown_class_error(name, "regularizers.deserialize", "regularizer", registered
                                                 if isinstance(registered, str) else None)
    inner = dict(config.get("config") or {})
    return cls.from_config(inner) if hasattr(cls, "from_config") else cls(**inner)


def get(identifier):
    """The regularizer for ``identifier``: None, a regularizer or function (as is), ``"l1"``/``"l2"`` (or the class
    names ``"L1"``, ``"L2"``, ``"L1L2"``: Keras's defaults), or a config dict (:func:`deserialize`).

    Raises
    ------
    ValueError
        A name or object that is no regularizer, e.g. ``"l1_l2"`` (Keras 3 refuses it too: ``L1L2(l1=..., l2=...)``).
    """
    if identifier is None or isinstance(identifier, Regularizer):
        return identifier
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if isinstance(identifier, str):
        cls = _NAMES.get(identifier) or _CLASSES.get(identifier)
        if cls is None:
            found = custom_objects.resolve(identifier.split(">")[-1], identifier)
            if found is not None:
                return found() if isinstance(found, type) else found
            raise ValueError(f"regularizers.get: could not interpret regularizer identifier {identifier!r}; "
                             f"expected 'l1', 'l2', a class name ({', '.join(_CLASSES)}), an instance such as "
                             f"keras.regularizers.L1L2(l1=1e-5, l2=1e-4), or a config dict.")
        return cls()
    if callable(identifier) and not isinstance(identifier, type):
        return identifier
    raise ValueError(f"regularizers.get: could not interpret regularizer identifier {identifier!r}.")
