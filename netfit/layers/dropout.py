"""Dropout: zero a random fraction of units while training (inverted dropout)."""
import numbers

import numpy as np

from .. import backend
from .base import Layer


class Dropout(Layer):
    """Keep each unit with probability 1 − rate while training and scale by 1/(1 − rate).

    The scaling keeps E[a] = x, so nothing changes at prediction time, when the
    layer is the identity. The backward pass routes δ through the same mask.

    Parameters
    ----------
    rate : float in [0, 1)
        Fraction of units dropped.
    seed : int, optional
        Seed of the masks for a layer used on its own; inside ``Sequential.fit``
        the masks come from the model's seed (per epoch), so runs are reproducible
        either way.

    Shapes
    ------
    x : (n, *shape)  ->  a : (n, *shape)

    Examples
    --------
    >>> import numpy as np
    >>> layer = Dropout(0.5); layer.setup((4,), rng=np.random.default_rng(0))
    (4,)
    >>> layer.forward(np.ones((1, 4)), training=False)
    array([[1., 1., 1., 1.]])
    """

    keras_only = Layer.keras_only + ("noise_shape",)

    blas_bound = True
    runs_on_gpu = True

    needs_rng = True

    def __init__(self, rate, seed=None, **kwargs):
        super().__init__(**kwargs)
        if isinstance(rate, (bool, np.bool_)) or not isinstance(rate, numbers.Real) or not 0 <= rate < 1:
            raise ValueError(f"Dropout: expected rate in [0, 1), got {rate!r}.")
        self.rate = float(rate)
        self.seed = None if seed is None else int(seed)
        self.rng = np.random.default_rng(seed)

    def initialize(self, rng):
        # A seeded layer keeps its own masks; otherwise it draws from the builder's rng.
        # (Inside fit the model seeds each record's stream per epoch from its own seed.)
        self.rng = np.random.default_rng(self.seed) if self.seed is not None else rng
        self._own_call = None

    def forward(self, x, training=False, call=None):
        call = self.record(call)
        self.check_input(x)
        if not training or self.rate == 0:
            call.mask = None
            return x
        keep = 1.0 - self.rate
        mask = call.buffer("mask", x.shape, x.dtype)
        # mask = 1{u < keep} / keep, drawn in the layer's float type from the record's stream.
        rng = call.rng if call.rng is not None else self.rng
        if backend.is_host(self.xp):
            rng.random(dtype=mask.dtype, out=mask)
        else:                              # drawn on the host (the CPU's masks, seed for seed), uploaded
            mask[...] = backend.to_device(rng.random(mask.shape, dtype=mask.dtype), mask)
        np.less(mask, keep, out=mask)
        mask *= 1.0 / keep
        call.mask = mask
        return np.multiply(x, mask, out=call.buffer("a", x.shape, x.dtype))

    def backward(self, delta, call=None):
        call = self.record(call)
        if not call.need_input_grad:
            return None
        if call.mask is None:
            return delta
        return np.multiply(delta, call.mask, out=call.buffer("s", delta.shape, delta.dtype))

    def get_config(self):
        return {**super().get_config(), "rate": self.rate, "seed": self.seed}
