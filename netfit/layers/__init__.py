"""Layers: each owns its forward and backward. ``get(class_name)`` finds one by name."""
from .. import custom_objects as custom_objects_mod
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
    ``build_config`` for a built layer); :func:`deserialize` reads it back."""
    cls = type(layer)
    own = _TABLE.get(cls.__name__) is cls
    out = {"module": "keras.layers" if own else cls.__module__, "class_name": cls.__name__,
           "config": layer.get_config(),
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
