"""Keras's ``keras.models`` names, so that ported code runs: ``models.Sequential``, ``models.load_model``,
``models.model_from_json`` (:func:`netfit.architecture.model_from_json`: reads ``model.to_json()``, an
architecture file or a dict; Keras's ``custom_objects`` has no counterpart, netfit's layers are its own).

>>> from netfit import models
>>> from netfit.layers import Dense, Input
>>> models.Sequential([Input(shape=(3,)), Dense(2)], seed=0).count_params()
8
"""
from .architecture import model_from_json
from .io import load_model, save_model
from .model import Sequential

__all__ = ["Sequential", "load_model", "model_from_json", "save_model"]
