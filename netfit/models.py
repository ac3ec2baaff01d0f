"""Keras's ``keras.models`` names, so that ported code runs: ``models.Sequential``, ``models.load_model``.

>>> from netfit import models
>>> from netfit.layers import Dense, Input
>>> models.Sequential([Input(shape=(3,)), Dense(2)], seed=0).count_params()
8
"""
from .io import load_model, save_model
from .model import Sequential

__all__ = ["Sequential", "load_model", "save_model"]
