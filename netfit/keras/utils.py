"""``keras.utils``: to_categorical, set_random_seed, Sequence / PyDataset, plot_model, and Keras 3's aliases of
``keras.saving``'s custom_object_scope, CustomObjectScope, register_keras_serializable, get_registered_name,
get_registered_object, get_custom_objects."""
from ..custom_objects import (CustomObjectScope, custom_object_scope, get_custom_objects, get_registered_name,
                              get_registered_object, register_keras_serializable)
from ..graph_plot import plot_model
from ..utils import PyDataset, Sequence, set_random_seed, to_categorical

__all__ = ["CustomObjectScope", "PyDataset", "Sequence", "custom_object_scope", "get_custom_objects",
           "get_registered_name", "get_registered_object", "plot_model", "register_keras_serializable",
           "set_random_seed", "to_categorical"]
