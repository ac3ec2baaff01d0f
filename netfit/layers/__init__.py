"""Layers: each owns its forward and backward. ``get(class_name)`` finds one by name.

Also Keras 3's ``keras.saving.serialize_keras_object`` / ``deserialize_keras_object``
(:func:`serialize_object`, :func:`deserialize_object`): any object with ``get_config``
(a layer, a regularizer, an initializer, one of your own), a function by its registered
name, and the dicts, lists and tuples holding them.
"""
import types

import numpy as np

from .. import activations as activations_mod
from .. import custom_objects as custom_objects_mod
from .. import initializers as initializers_mod
from ..ops import regularizers as regularizers_mod
from .activation import ELU, Activation, LeakyReLU, PReLU, ReLU, Softmax
from .base import ActivatedLayer, Layer
from .conv import Conv2D, LocallyConnected2D
from .conv1d import Conv1D
from .cropping import Cropping1D, Cropping2D, ZeroPadding1D
from .dense import Dense
from .dropout import Dropout
from .embedding import Embedding
from .input import Input, InputLayer
from .merge import (Add, Average, Concatenate, Dot, Maximum, Minimum, Multiply, Subtract, add, average, concatenate,
                    dot, maximum, minimum, multiply, subtract)
from .normalization import Normalization
from .pooling import AveragePooling2D, GlobalAveragePooling2D, GlobalMaxPooling2D, MaxPooling2D
from .pooling1d import AveragePooling1D, GlobalAveragePooling1D, GlobalMaxPooling1D, MaxPooling1D
from .preprocessing import RandomContrast, RandomFlip, RandomRotation, RandomTranslation, RandomZoom, Rescaling
from .random_features import RandomFourierFeatures
from .shape import Flatten, Reshape, ZeroPadding2D
from .standardization import BatchNormalization, LayerNormalization
from .transpose import Conv1DTranspose, Conv2DTranspose
from .upsampling import UpSampling1D, UpSampling2D

_TABLE = {cls.__name__: cls for cls in (Activation, Dense, Dropout, Flatten, Reshape, Conv2D, LocallyConnected2D,
                                            MaxPooling2D, AveragePooling2D, GlobalAveragePooling2D,
                                            Normalization)}
_TABLE.update({cls.__name__: cls for cls in (BatchNormalization, LayerNormalization, ZeroPadding2D,
                                             GlobalMaxPooling2D)})
_ONE_D_AND_TRANSPOSED = (Conv1D, Conv1DTranspose, Conv2DTranspose, UpSampling1D, UpSampling2D, MaxPooling1D,
                         AveragePooling1D, GlobalAveragePooling1D, GlobalMaxPooling1D, ZeroPadding1D, Cropping1D,
                         Cropping2D)
_TABLE.update({cls.__name__: cls for cls in _ONE_D_AND_TRANSPOSED})
_TABLE.update({cls.__name__: cls for cls in (Add, Subtract, Multiply, Average, Maximum, Minimum, Concatenate, Dot,
                                             ReLU, LeakyReLU, PReLU, ELU, Softmax, Rescaling, RandomFlip,
                                             RandomRotation, RandomZoom, RandomTranslation, RandomContrast,
                                             Embedding, RandomFourierFeatures)})

__all__ = ["Input", "InputLayer", "Layer", "ActivatedLayer", "Activation", "Dense", "Dropout", "Flatten", "Reshape",
           "Conv2D", "LocallyConnected2D", "MaxPooling2D", "AveragePooling2D", "GlobalAveragePooling2D",
           "Normalization", "get", "register", "serialize", "deserialize"]
__all__ += ["BatchNormalization", "LayerNormalization", "ZeroPadding2D", "GlobalMaxPooling2D"]
__all__ += [cls.__name__ for cls in _ONE_D_AND_TRANSPOSED]
__all__ += ["Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum", "Concatenate", "Dot", "add", "subtract",
            "multiply", "average", "maximum", "minimum", "concatenate", "dot", "ReLU", "LeakyReLU", "PReLU", "ELU",
            "Softmax", "Rescaling", "RandomFlip", "RandomRotation", "RandomZoom", "RandomTranslation",
            "RandomContrast", "Embedding", "RandomFourierFeatures"]


def register(cls):
    """Add a Layer subclass to the table that :func:`get` and model loading use."""
    _TABLE[cls.__name__] = cls
    return cls


def get(class_name, custom_objects=None, registered_name=None, where="layers.get"):
    """Return the layer class called ``class_name``: netfit's own, else one of your own given or registered.

    netfit's classes first; then ``custom_objects``, the active ``custom_object_scope`` and
    the registry of ``register_keras_serializable`` (:mod:`netfit.custom_objects`), each asked
    for ``registered_name`` (``"package>Name"``) then ``class_name``. Nothing else is ever
    imported or run.

    Raises
    ------
    ValueError
        A class netfit lacks and nobody gave (naming the fix), or a given object that is not a Layer class.
    """
    if class_name in _TABLE and registered_name in (None, class_name):
        return _TABLE[class_name]
    found = custom_objects_mod.resolve(class_name, registered_name, custom_objects)
    if found is None:
        if class_name in _TABLE:
            return _TABLE[class_name]
        fix = str(custom_objects_mod.unknown_class_error(class_name, where, registered_name=registered_name))
        raise ValueError(f"{where}: unknown layer {registered_name or class_name!r}; supported: "
                         f"{', '.join(sorted(_TABLE))}. For a layer class of your own: "
                         f"{fix.split('netfit never runs code from a file: ', 1)[-1]} netfit never runs code "
                         f"from a file.")
    if not (isinstance(found, type) and issubclass(found, Layer)):
        raise ValueError(f"{where}: {registered_name or class_name!r} names {found!r}, which is not a Layer class; "
                         f"a config's layer is made only from a keras.layers.Layer subclass.")
    return found


def serialize(layer):
    """Keras's ``keras.layers.serialize``: ``{"module", "class_name", "config", "registered_name"}`` (and
    ``build_config`` for a built layer); :func:`deserialize` reads it back. The config is serialized in turn
    (:func:`serialize_object`: layers, regularizers, initializers in it become dicts); a class of your own
    has ``module`` None and its registered name (``"package>Name"``), as in Keras 3."""
    cls = type(layer)
    own = _TABLE.get(cls.__name__) is cls
    out = {"module": "keras.layers" if own else None, "class_name": cls.__name__,
           "config": serialize_object(layer.get_config()),
           "registered_name": None if own else custom_objects_mod.get_registered_name(cls)}
    if layer.built and layer.input_shape is not None and not layer.multiple_inputs:
        out["build_config"] = {"input_shape": [None, *layer.input_shape]}
    return out


def deserialize(config, custom_objects=None):
    """Keras's ``keras.layers.deserialize``: a layer from :func:`serialize`'s dict (or ``{"class_name", "config"}``),
    its class found by :func:`get`; with a ``build_config`` it is built (fresh weights), as Keras's is."""
    if not isinstance(config, dict) or not isinstance(config.get("class_name"), str):
        raise ValueError(f"layers.deserialize: expected a dict with 'class_name' and 'config', got {config!r:.80}.")
    cls = get(config["class_name"], custom_objects, config.get("registered_name"), "layers.deserialize")
    layer = from_config(cls, dict(config.get("config") or {}), "layers.deserialize")
    shape = (config.get("build_config") or {}).get("input_shape")
    if isinstance(shape, (list, tuple)) and len(shape) > 1:
        layer.setup(tuple(shape[1:]))
    return layer


def from_config(cls, config, where):
    """``cls.from_config(config)``, a failure named with the class and the config (Keras's message)."""
    try:
        return cls.from_config(config)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{where}: error when deserializing class {cls.__name__!r} using config={config}.\n\n"
                        f"Exception encountered: {exc}") from None


# -- Keras 3's serialize_keras_object / deserialize_keras_object ----------------------------------------------
def serialize_object(obj):
    """Keras 3's ``keras.saving.serialize_keras_object``: ``obj`` as JSON-able values.

    - None, bools, numbers, strings: as they are; NumPy scalars as Python numbers;
    - dicts, lists, tuples: each value serialized (tuples stay tuples, lists in JSON);
    - a layer: :func:`serialize` (its config serialized in turn, so a layer whose
      ``get_config`` holds layers or regularizers is JSON);
    - a regularizer, an initializer, any object with ``get_config``:
      ``{"module", "class_name", "config", "registered_name"}`` (``registered_name``
      ``"package>Name"`` for a class of your own);
    - a function (an activation of your own): ``{"module": "builtins", "class_name":
      "function", "config": its registered name, "registered_name": "function"}``;
      netfit's activations by name.

    Source: keras/src/saving/serialization_lib.py (Keras 3). Its ``__numpy__``/``__tensor__``
    and ``__lambda__`` forms are not written: an array is refused (save weights with the model),
    and a lambda, being code, cannot be named.

    Raises
    ------
    TypeError
        An object netfit cannot name (no ``get_config``, an array, a lambda).
    """
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, dict):
        return {key: serialize_object(value) for key, value in obj.items()}
    if isinstance(obj, list):
        return [serialize_object(value) for value in obj]
    if isinstance(obj, tuple):
        return tuple(serialize_object(value) for value in obj)
    if isinstance(obj, Layer):
        return serialize(obj)
    if isinstance(obj, activations_mod.Activation):
        return obj.to_config() if hasattr(obj, "to_config") else obj.name
    if isinstance(obj, regularizers_mod.Regularizer):
        return regularizers_mod.serialize(obj)
    if isinstance(obj, initializers_mod.Initializer):
        return {"module": "keras.initializers", **initializers_mod.serialize(obj), "registered_name": None}
    if isinstance(obj, types.FunctionType):
        if obj.__name__ == "<lambda>":
            raise TypeError("serialize_keras_object: a lambda has no name to be found again by (netfit never saves "
                            "code); write it as a def and register it with @keras.saving.register_keras_serializable().")
        return {"module": "builtins", "class_name": "function",
                "config": custom_objects_mod.get_registered_name(obj), "registered_name": "function"}
    if hasattr(obj, "get_config"):
        cls = type(obj)
        return {"module": None, "class_name": cls.__name__, "config": serialize_object(obj.get_config()),
                "registered_name": custom_objects_mod.get_registered_name(cls)}
    raise TypeError(f"serialize_keras_object: cannot serialize {type(obj).__name__} {obj!r:.60}; expected plain values, "
                    f"dicts, lists, a layer, a regularizer, an initializer, a registered function or an object with "
                    f"get_config().")


def deserialize_object(config, custom_objects=None):
    """Keras 3's ``keras.saving.deserialize_keras_object``: the object :func:`serialize_object` wrote.

    A class or function is found among netfit's own (layers, regularizers, initializers,
    activations), then in ``custom_objects``, the active ``custom_object_scope`` and the
    registry (:mod:`netfit.custom_objects`); nothing is ever imported. Its
    ``from_config`` gets the inner config as stored (Keras's rule: a config that holds
    layers deserializes them in its own ``from_config``). A plain string is a registered
    function's name (or netfit's activation) when one has it, else the string itself.

    Raises
    ------
    ValueError
        A class or function that nobody gave, naming the three ways to give it.
    """
    if isinstance(config, list):
        return [deserialize_object(value, custom_objects) for value in config]
    if isinstance(config, tuple):
        return tuple(deserialize_object(value, custom_objects) for value in config)
    if isinstance(config, str):
        found = custom_objects_mod.resolve(config.split(">")[-1], config, custom_objects)
        return found if found is not None else config
    if not isinstance(config, dict):
        return config
    if "class_name" not in config or "config" not in config:
        return {key: deserialize_object(value, custom_objects) for key, value in config.items()}
    name, inner = config["class_name"], config["config"]
    registered = config.get("registered_name")
    registered = registered if isinstance(registered, str) else None
    module = config.get("module") or ""
    with custom_objects_mod.given(custom_objects, "deserialize_keras_object"):
        if name == "function":
            found = custom_objects_mod.resolve(str(inner).split(">")[-1], str(inner))
            if found is None and module.startswith("keras.activations"):
                return activations_mod.get(inner)
            if found is None:
                raise custom_objects_mod.unknown_class_error(str(inner), "deserialize_keras_object", "function")
            return found
        if name == "__tuple__":
            return tuple(deserialize_object(v, custom_objects) for v in (inner or {}).get("value", []))
        own = registered in (None, name)
        if own and (module.startswith("keras.regularizers") or name in regularizers_mod._CLASSES):
            return regularizers_mod.deserialize(config)
        if own and (module.startswith("keras.initializers") or name in initializers_mod._CLASSES):
            return initializers_mod.get({"class_name": name, "config": inner or {}})
        if own and name in _TABLE:
            return deserialize(config)
        found = custom_objects_mod.resolve(name, registered)
        if found is None:
            raise custom_objects_mod.unknown_class_error(name, "deserialize_keras_object", "object", registered)
        if isinstance(found, type) and issubclass(found, Layer):
            return deserialize(config)
        if not isinstance(found, type):
            return found
        inner = dict(inner or {})
        return from_config(found, inner, "deserialize_keras_object") if hasattr(found, "from_config") \
            else found(**inner)
