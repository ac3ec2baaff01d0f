"""Layers: each owns its forward and backward. ``get(class_name)`` finds one by name."""
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
           "Normalization", "get", "register"]
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


def get(class_name):
    """Return the layer class called ``class_name``."""
    try:
        return _TABLE[class_name]
    except KeyError:
        raise ValueError(f"layers.get: unknown layer {class_name!r}; supported: "
                         f"{', '.join(sorted(_TABLE))}.") from None
