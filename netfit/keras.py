"""Keras's module layout over netfit, so that Keras code runs with its import lines changed.

    import keras                       ->  from netfit import keras
    from keras import layers           ->  from netfit.keras import layers

after which ``keras.Sequential``, ``keras.Input``, ``keras.layers.Conv2D``,
``keras.datasets.mnist.load_data()``, ``keras.utils.to_categorical``,
``keras.models.load_model``, ``keras.optimizers.Adam`` and
``keras.callbacks.EarlyStopping`` are netfit's. ``import netfit as keras``
works as well for the same names. What differs from Keras is in docs/keras.md.

Examples
--------
>>> from netfit import keras
>>> from netfit.keras import layers
>>> model = keras.Sequential([keras.Input(shape=(4,)), layers.Dense(3, activation="softmax")], seed=0)
>>> model.count_params()
15
"""
from . import callbacks, datasets, initializers, layers, losses, metrics, models, optimizers, utils
from .layers import Input, InputLayer
from .model import Model
from .sequential import Sequential
from .utils import set_random_seed

__all__ = ["Input", "InputLayer", "Model", "Sequential", "callbacks", "datasets", "initializers", "layers", "losses",
           "metrics", "models", "optimizers", "set_random_seed", "utils"]
