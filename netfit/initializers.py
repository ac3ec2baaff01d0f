"""Starting values for weights.

ESL §11.5.1: start near zero so the net begins almost linear and grows
non-linear as the weights grow; exactly zero would leave every hidden unit
identical (symmetric) and the gradient would never separate them.

Every initializer is called as ``init(shape, rng, dtype, fan_in, fan_out)``.
"""
import math

import numpy as np


def _fans(shape):
    """Keras's fans: a kernel's last axis is fan-out, the others feed one unit."""
    if len(shape) == 0:
        return 1, 1
    if len(shape) == 1:
        return shape[0], shape[0]
    receptive = math.prod(shape[:-2])
    return shape[-2] * receptive, shape[-1] * receptive


class Initializer:
    """Base class; subclasses implement ``__call__`` and ``get_config``."""

    def get_config(self):
        return {}

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


class Zeros(Initializer):
    """All zeros (the default for biases)."""

    def __call__(self, shape, rng, dtype, fan_in=None, fan_out=None):
        return np.zeros(shape, dtype)


class Ones(Initializer):
    """All ones."""

    def __call__(self, shape, rng, dtype, fan_in=None, fan_out=None):
        return np.ones(shape, dtype)


class RandomUniform(Initializer):
    """Uniform on [minval, maxval]; ESL's starting values are ``RandomUniform(-0.7, 0.7)``."""

    def __init__(self, minval=-0.05, maxval=0.05):
        self.minval, self.maxval = float(minval), float(maxval)

    def __call__(self, shape, rng, dtype, fan_in=None, fan_out=None):
        return rng.uniform(self.minval, self.maxval, size=shape).astype(dtype)

    def get_config(self):
        return {"minval": self.minval, "maxval": self.maxval}


class GlorotUniform(Initializer):
    """Uniform on ±sqrt(6 / (fan_in + fan_out)) (Glorot & Bengio 2010; Keras's default)."""

    def __call__(self, shape, rng, dtype, fan_in=None, fan_out=None):
        fi, fo = _fans(shape)
        limit = math.sqrt(6.0 / ((fan_in or fi) + (fan_out or fo)))
        return rng.uniform(-limit, limit, size=shape).astype(dtype)


class GlorotNormal(Initializer):
    """Truncated normal, std sqrt(2 / (fan_in + fan_out))."""

    def __call__(self, shape, rng, dtype, fan_in=None, fan_out=None):
        fi, fo = _fans(shape)
        return _truncated_normal(shape, math.sqrt(2.0 / ((fan_in or fi) + (fan_out or fo))), rng, dtype)


class HeNormal(Initializer):
    """Truncated normal, std sqrt(2 / fan_in) (He et al. 2015), for ReLU nets."""

    def __call__(self, shape, rng, dtype, fan_in=None, fan_out=None):
        fi, _ = _fans(shape)
        return _truncated_normal(shape, math.sqrt(2.0 / (fan_in or fi)), rng, dtype)


class HeUniform(Initializer):
    """Uniform on ±sqrt(6 / fan_in)."""

    def __call__(self, shape, rng, dtype, fan_in=None, fan_out=None):
        fi, _ = _fans(shape)
        limit = math.sqrt(6.0 / (fan_in or fi))
        return rng.uniform(-limit, limit, size=shape).astype(dtype)


class FanInUniform(Initializer):
    """Uniform on ±scale / fan_in (LeCun et al. 1989: ±2.4/F, F the unit's fan-in).

    ``power=0.5`` gives ±scale / √fan_in instead (the reading of Karpathy's 2022
    reproduction). Needs the layer's fan-in: layers pass it for kernels, not for biases.
    """

    def __init__(self, scale=2.4, power=1.0):
        self.scale, self.power = float(scale), float(power)

    def __call__(self, shape, rng, dtype, fan_in=None, fan_out=None):
        fi, _ = _fans(shape)
        limit = self.scale / float(fan_in or fi) ** self.power
        return rng.uniform(-limit, limit, size=shape).astype(dtype)

    def get_config(self):
        return {"scale": self.scale, "power": self.power}


# Standard deviation of a standard normal truncated to [−2, 2]; dividing by it
# makes the truncated draws have the nominal std, as Keras's VarianceScaling does.
_TRUNCATED_STD = 0.87962566103423978


def _truncated_normal(shape, std, rng, dtype):
    """Draws with standard deviation ``std``: a normal redrawn outside ±2 of its own std (Keras)."""
    out = rng.standard_normal(size=shape)
    bad = np.abs(out) > 2
    while bad.any():
        out[bad] = rng.standard_normal(size=int(bad.sum()))
        bad = np.abs(out) > 2
    return (out * (std / _TRUNCATED_STD)).astype(dtype)


_TABLE = {
    "zeros": Zeros,
    "ones": Ones,
    "random_uniform": RandomUniform,
    "uniform": RandomUniform,                  # Keras's second name (Embedding's default): uniform on ±0.05
    "glorot_uniform": GlorotUniform,
    "glorot_normal": GlorotNormal,
    "he_normal": HeNormal,
    "he_uniform": HeUniform,
    "esl_uniform": lambda: RandomUniform(-0.7, 0.7),
    "lecun1989_uniform": FanInUniform,
}
_CLASSES = {cls.__name__: cls for cls in
            (Zeros, Ones, RandomUniform, GlorotUniform, GlorotNormal, HeNormal, HeUniform, FanInUniform)}


def get(identifier):
    """Return an initializer from a name, a config dict, or an instance.

    Examples
    --------
    >>> get("esl_uniform")
    RandomUniform(minval=-0.7, maxval=0.7)
    """
    if isinstance(identifier, Initializer) or (callable(identifier) and not isinstance(identifier, type)):
        return identifier
    if isinstance(identifier, dict):
        cls = _CLASSES.get(identifier.get("class_name"))
        if cls is None:
            raise ValueError(f"initializers.get: unknown initializer config {identifier!r}; "
                             f"supported classes: {', '.join(sorted(_CLASSES))}.")
        return cls(**identifier.get("config", {}))
    if isinstance(identifier, str) and identifier in _TABLE:
        return _TABLE[identifier]()
    raise ValueError(f"initializers.get: unknown initializer {identifier!r}; "
                     f"supported: {', '.join(sorted(_TABLE))}.")


def serialize(init):
    """Return a JSON-able description that :func:`get` turns back into ``init``."""
    if type(init).__name__ not in _CLASSES:
        raise ValueError(f"initializers.serialize: cannot save custom initializer {init!r}; "
                         f"use one of {', '.join(sorted(_CLASSES))}.")
    return {"class_name": type(init).__name__, "config": init.get_config()}
