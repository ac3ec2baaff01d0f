"""netfit: neural networks you can read and use.

Back-propagation written out layer by layer in NumPy, behind a Keras-style API.

>>> import netfit as nf
>>> from netfit.layers import Flatten, Dense
>>> model = nf.Sequential([Flatten(input_shape=(28, 28)),
...                        Dense(128, activation="relu"),
...                        Dense(10, activation="softmax")])
>>> model.count_params()
101770
"""
__version__ = "0.1.0"

from . import activations, callbacks, config, gradcheck, initializers, layers, losses, metrics, optimizers, utils
from .model import Sequential
from . import architecture, datasets, export, io, zoo

__all__ = ["Sequential", "load_model", "__version__", "activations", "architecture", "callbacks", "config",
           "datasets", "export", "gradcheck", "initializers", "io", "layers", "lbfgs", "losses", "metrics", "optimizers",
           "utils", "zoo"]


def load_model(path):
    """Load a model saved by ``model.save(path)``; see :mod:`netfit.io`."""
    from .io import load_model as _load
    return _load(path)
