"""``keras.saving``: ``load_model``, ``save_model`` (Keras 3's home of them; also in ``keras.models``) and objects of
your own by name: ``register_keras_serializable``, ``custom_object_scope``, ``get_registered_object``,
``get_registered_name`` (:mod:`netfit.custom_objects`), ``serialize_keras_object`` / ``deserialize_keras_object``
for layers, regularizers, initializers, functions and the dicts and lists holding them
(:func:`netfit.layers.serialize_object`)."""
from ..custom_objects import (CustomObjectScope, custom_object_scope, get_custom_objects, get_registered_name,
                              get_registered_object, register_keras_serializable)
from ..io import load_model, save_model
from ..layers import deserialize_object as deserialize_keras_object
from ..layers import serialize_object as serialize_keras_object

__all__ = ["CustomObjectScope", "custom_object_scope", "deserialize_keras_object", "get_custom_objects",
           "get_registered_name", "get_registered_object", "load_model", "register_keras_serializable",
           "save_model", "serialize_keras_object"]
