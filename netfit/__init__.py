"""netfit: neural networks you can read and use.

Back-propagation written out layer by layer in NumPy, behind a Keras-style API.

>>> import netfit as nf
>>> from netfit.layers import Flatten, Dense
>>> model = nf.Sequential([Flatten(input_shape=(28, 28)),
...                        Dense(128, activation="relu"),
...                        Dense(10, activation="softmax")])
>>> model.count_params()
101770

Keras 3's way to give the input shape works too:

>>> nf.Sequential([nf.Input(shape=(28, 28)), Flatten(), Dense(128, activation="relu"),
...                Dense(10, activation="softmax")]).count_params()
101770
"""
from ._version import __version__
from . import activations, callbacks, config, gradcheck, initializers, layers, losses, metrics, optimizers, utils
from . import ops                  # registers netfit.tracing's handlers: built-in losses and activations on traced values
from .model import Model
from .sequential import Sequential
from . import architecture, export, io, lbfgs, sdlm, zoo
from .io import load_model
from .layers import Input
from . import datasets, keras, models, streams
from . import backend
from .backend import device

__all__ = ["Input", "Model", "Sequential", "load_model", "__version__", "activations", "architecture", "callbacks", "config",
           "datasets", "keras", "models", "streams", "export", "gradcheck", "initializers", "io", "layers", "lbfgs",
           "losses", "metrics", "ops", "optimizers", "sdlm", "utils", "zoo", "backend", "device"]

