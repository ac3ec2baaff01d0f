"""Random ops: Keras 3's ``keras.random`` (samplers, dropout, shuffle) and its ``SeedGenerator``.

Seeds work as in Keras: an int seed gives the same draw at every call; a
:class:`SeedGenerator` gives a new draw at every call, reproducibly from its own
seed; ``seed=None`` draws a fresh seed from netfit's seed source
(:func:`netfit.utils.new_seed`, which ``netfit.utils.set_random_seed`` seeds). Each
call makes its own :class:`numpy.random.Generator`: this module holds no state, and a
SeedGenerator holds its own Generator behind its own lock, so threads may share one.

The samplers have no gradient (to learn a mean or a scale, draw ``z = normal(shape)``
and compute ``mean + stddev * z`` with ops). :func:`dropout` and :func:`shuffle` are
differentiable in their input: the mask (the permutation) is drawn when the op is
called, before its forward runs, and goes to the forward as an argument, so the tape's
entry keeps it and the VJP multiplies δ by that same mask.

Examples
--------
>>> normal((2,), seed=1).tolist() == normal((2,), seed=1).tolist()
True
>>> gen = SeedGenerator(7)
>>> normal((2,), seed=gen).tolist() == normal((2,), seed=gen).tolist()
False
"""
import numbers
import threading

import numpy as np

from ..config import floatx
from ..utils import new_seed
from .op import Op, op
from .table import TABLE

__all__ = ["SeedGenerator", "normal", "uniform", "truncated_normal", "randint", "categorical", "gamma",
           "binomial", "beta", "dropout", "shuffle"]

_INSTEAD = "draw the noise outside what is differentiated and combine it with ops, e.g. mean + stddev * z"


class SeedGenerator:
    """A reproducible stream of seeds (``keras.random.SeedGenerator(seed=None, name=None)``).

    Pass it as ``seed=`` to a random op: each draw takes the next seed, so repeated
    calls differ, while two generators made with the same seed give the same draws.
    ``seed=None`` starts from :func:`netfit.utils.new_seed`.
    """

    def __init__(self, seed=None, name=None):
        if seed is not None and not _is_int(seed):
            raise ValueError(f"SeedGenerator: expected seed an integer or None, got {seed!r}.")
        self._initial_seed = seed
        self.name = name or "seed_generator"
        self._rng = np.random.default_rng(new_seed() if seed is None else int(seed) % 2**64)
        self._lock = threading.Lock()

    def next(self):
        """The next seed (an int); advances the generator."""
        with self._lock:
            return int(self._rng.integers(0, 2**63 - 1))

    def get_config(self):
        return {"seed": self._initial_seed, "name": self.name}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        return f"<SeedGenerator {self.name} seed={self._initial_seed}>"


def _is_int(value):
    return isinstance(value, numbers.Integral) and not isinstance(value, (bool, np.bool_))


def _rng(seed, where):
    """A fresh Generator for one draw: from an int, from a SeedGenerator's next seed, or from a new seed."""
    if isinstance(seed, SeedGenerator):
        return np.random.default_rng(seed.next())
    if seed is None:
        return np.random.default_rng(new_seed())
    if _is_int(seed):
        return np.random.default_rng(int(seed) % 2**64)          # negative seeds too (Keras bit-casts them)
    raise ValueError(f"random.{where}: expected seed an integer, a SeedGenerator or None, got {seed!r}.")


def _shape(shape, where):
    items = (shape,) if np.ndim(shape) == 0 else tuple(shape)
    if any(not _is_int(n) or n < 0 for n in items):
        raise ValueError(f"random.{where}: expected shape a tuple of non-negative integers, got {shape!r}.")
    return tuple(int(n) for n in items)


def _float_dtype(dtype, where):
    dt = np.dtype(floatx() if dtype is None else dtype)
    if dt.kind != "f":
        raise ValueError(f"random.{where}: expected a float dtype, got {dt}.")
    return dt


@op("normal", instead=_INSTEAD)
def normal(shape, mean=0.0, stddev=1.0, dtype=None, seed=None):
    """Samples of N(mean, stddev²), of ``dtype`` (``floatx()`` by default)."""
    dt = _float_dtype(dtype, "normal")
    return _rng(seed, "normal").normal(mean, stddev, size=_shape(shape, "normal")).astype(dt)


@op("uniform", instead=_INSTEAD)
def uniform(shape, minval=0.0, maxval=1.0, dtype=None, seed=None):
    """Samples of U[minval, maxval)."""
    dt = _float_dtype(dtype, "uniform")
    return _rng(seed, "uniform").uniform(minval, maxval, size=_shape(shape, "uniform")).astype(dt)


@op("truncated_normal", instead=_INSTEAD)
def truncated_normal(shape, mean=0.0, stddev=1.0, dtype=None, seed=None):
    """Samples of N(mean, stddev²) redrawn until within two standard deviations of the mean (as Keras)."""
    dt = _float_dtype(dtype, "truncated_normal")
    shape = _shape(shape, "truncated_normal")
    rng, count = _rng(seed, "truncated_normal"), int(np.prod(shape))
    kept = np.empty(0)
    while kept.size < count:
        batch = rng.normal(mean, stddev, size=max(count, 16))
        kept = np.concatenate([kept, batch[np.abs(batch - mean) <= 2 * abs(stddev)]])
    return kept[:count].reshape(shape).astype(dt)


@op("randint")
def randint(shape, minval, maxval, dtype="int32", seed=None):
    """Integers uniform in [minval, maxval)."""
    shape = _shape(shape, "randint")
    return _rng(seed, "randint").integers(minval, maxval, size=shape, dtype=np.dtype(dtype))


@op("categorical")
def categorical(logits, num_samples, dtype="int32", seed=None):
    """``num_samples`` class indices per row of ``logits`` (batch, classes), drawn from softmax(logits)."""
    logits = np.asarray(logits, np.float64)
    if logits.ndim != 2:
        raise ValueError(f"random.categorical: expected logits of shape (batch, classes), got {logits.shape}.")
    gumbel = _rng(seed, "categorical").gumbel(size=(logits.shape[0], int(num_samples), logits.shape[1]))
    return np.argmax(logits[:, None, :] + gumbel, axis=-1).astype(dtype)      # the Gumbel-max trick


@op("gamma")
def gamma(shape, alpha, dtype=None, seed=None):
    """Samples of Gamma(alpha, 1)."""
    dt = _float_dtype(dtype, "gamma")
    return _rng(seed, "gamma").gamma(alpha, 1.0, size=_shape(shape, "gamma")).astype(dt)


@op("binomial")
def binomial(shape, counts, probabilities, dtype=None, seed=None):
    """Samples of Binomial(counts, probabilities), as floats of ``dtype`` (as Keras)."""
    dt = _float_dtype(dtype, "binomial")
    return _rng(seed, "binomial").binomial(counts, probabilities, size=_shape(shape, "binomial")).astype(dt)


@op("beta")
def beta(shape, alpha, beta, dtype=None, seed=None):
    """Samples of Beta(alpha, beta)."""
    dt = _float_dtype(dtype, "beta")
    return _rng(seed, "beta").beta(alpha, beta, size=_shape(shape, "beta")).astype(dt)


class _Drawn(Op):
    """An op whose random draw is made as it is called, then handed to its forward as an argument.

    The draw is then one of the entry's arrays on the tape, and the VJP reads the same
    draw there: nothing is kept anywhere else. ``public`` gives the Keras signature
    and the docstring; ``draw(*args, **kwargs)`` returns the forward's arguments.
    """

    def __init__(self, name, forward, public, draw):
        super().__init__(name, forward, "random")
        self.__doc__, self.__wrapped__, self._draw = public.__doc__, public, draw
        TABLE[name] = self

    def __call__(self, *args, **kwargs):
        return Op.__call__(self, *self._draw(*args, **kwargs))


def _meta(x):
    """(shape, dtype) of a tensor, traced or not."""
    if getattr(x, "_traced_kind", None) is None:
        x = np.asarray(x)
    return tuple(x.shape), np.dtype(x.dtype)


def _dropout_public(inputs, rate, noise_shape=None, seed=None):
    """Zero each entry with probability ``rate``, scale the rest by 1 / (1 − rate) (``keras.random.dropout``).

    ``noise_shape``: the mask's shape (None entries: the input's), broadcast over the
    input (one decision per channel, ...). Differentiable in ``inputs``: δ is multiplied
    by the same scaled mask. Integer inputs give floats (Keras truncates them back).

    Examples
    --------
    >>> x = np.ones((2, 4))
    >>> bool(np.all(dropout(x, 0.5, seed=3) == dropout(x, 0.5, seed=3)))
    True
    >>> sorted(set(dropout(x, 0.5, seed=3).ravel().tolist()) - {0.0})
    [2.0]
    """


def _dropout_draw(inputs, rate, noise_shape=None, seed=None):
    shape, dtype = _meta(inputs)
    dtype = dtype if dtype.kind == "f" else np.dtype(floatx())
    if isinstance(rate, bool) or not isinstance(rate, numbers.Real) or not 0 <= rate <= 1:
        raise ValueError(f"random.dropout: expected rate a number in [0, 1], got {rate!r}.")
    if rate == 0:
        return inputs, np.ones((), dtype)
    if noise_shape is None:
        noise = shape
    else:
        noise = tuple(shape[i] if n is None else n for i, n in enumerate(noise_shape))
        if len(noise) != len(shape) or any(a not in (1, b) for a, b in zip(noise, shape)):
            raise ValueError(f"random.dropout: noise_shape {tuple(noise_shape)} does not broadcast to the input's "
                             f"shape {shape}.")
    keep = 1.0 - rate
    kept = _rng(seed, "dropout").uniform(size=noise) < keep
    mask = kept / keep if keep > 0 else np.zeros(noise)
    return inputs, mask.astype(dtype)


def _dropout_forward(inputs, mask):
    """inputs ⊙ mask, the mask already drawn and scaled."""
    return np.multiply(inputs, mask)


dropout = _Drawn("dropout", _dropout_forward, _dropout_public, _dropout_draw)


@dropout.defvjp
def dropout_vjp(g, out, inputs, mask):
    return g * mask, None                                 # the forward's own mask, from the tape's entry


def _shuffle_public(x, axis=0, seed=None):
    """``x`` with its slices along ``axis`` in a random order (``keras.random.shuffle``).

    Whole slices move together, as Keras's JAX, TensorFlow and PyTorch backends do
    (Keras's NumPy backend shuffles each 1-D slice on its own). Differentiable in ``x``:
    δ goes back through the same permutation.
    """


def _shuffle_draw(x, axis=0, seed=None):
    shape, _ = _meta(x)
    if not shape:
        raise ValueError("random.shuffle: expected an array of rank 1 or more, got a scalar.")
    axis = int(axis) % len(shape)
    return x, _rng(seed, "shuffle").permutation(shape[axis]), axis


def _shuffle_forward(x, permutation, axis):
    """x's slices along axis in the order ``permutation``."""
    return np.take(x, permutation, axis=axis)


shuffle = _Drawn("shuffle", _shuffle_forward, _shuffle_public, _shuffle_draw)


@shuffle.defvjp
def shuffle_vjp(g, out, x, permutation, axis):
    return np.take(g, np.argsort(permutation), axis=axis), None, None
