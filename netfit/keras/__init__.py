"""Keras's module layout over netfit, so that Keras code runs with its import lines changed.

    import keras                                ->  from netfit import keras
    from keras import layers                    ->  from netfit.keras import layers
    from keras.layers import Dense, Conv2D      ->  from netfit.keras.layers import Dense, Conv2D
    from keras.models import Model              ->  from netfit.keras.models import Model

after which ``keras.Sequential``, ``keras.Model``, ``keras.Input``, ``keras.layers.Conv2D``,
``keras.datasets.mnist.load_data()``, ``keras.utils.to_categorical``, ``keras.utils.plot_model``,
``keras.models.load_model`` (``keras.saving.load_model``), ``keras.optimizers.Adam`` and
``keras.callbacks.EarlyStopping`` are netfit's. ``import netfit as keras`` works as well for the
same names. What differs from Keras is in docs/keras.md.

Examples
--------
>>> from netfit import keras
>>> from netfit.keras import layers
>>> model = keras.Sequential([keras.Input(shape=(4,)), layers.Dense(3, activation="softmax")], seed=0)
>>> model.count_params()
15
>>> from netfit.keras.layers import Dense
>>> from netfit.keras.models import Model
>>> x = keras.Input(shape=(4,))
>>> Model(x, Dense(2)(x)).count_params()
10
"""
from ..layers import Input, InputLayer
from ..model import Model
from ..ops import Variable
from ..sequential import Sequential
from ..utils import set_random_seed
from . import (activations, callbacks, datasets, initializers, layers, losses, metrics, models, ops, optimizers,
               random, regularizers, saving, utils)

__all__ = ["Input", "InputLayer", "Model", "Sequential", "Variable", "activations", "callbacks", "datasets",
           "initializers", "layers", "losses", "metrics", "models", "ops", "optimizers", "random", "regularizers", "saving",
           "set_random_seed", "utils"]
