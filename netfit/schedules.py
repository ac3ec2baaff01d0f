"""Learning-rate schedules γ_r: the step size as a function of the step r (Keras's names).

An optimizer given a schedule instead of a number asks it for γ_r before each
update, with r = the number of updates done so far (0 for the first), as Keras
passes ``optimizer.iterations``. Each schedule is a small callable with a
``get_config()`` that :mod:`netfit.io` stores, so a saved model resumes on the
same schedule. ``get({"class_name": ..., "config": ...})`` rebuilds one.

The lecture's γ_r: Robbins–Monro conditions Σ γ_r = ∞, Σ γ_r² < ∞ hold for
:class:`InverseTimeDecay`; the others are the practical schedules of modern
training (exponential, piecewise constant, cosine with warm-up).
"""
import math
import numbers

import numpy as np


def _is_real(value):
    """True for Python and NumPy real scalars (not bools)."""
    return isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_))


def _check_positive(where, name, value):
    if not _is_real(value) or not 0 < value < math.inf:
        raise ValueError(f"{where}: expected {name} a positive number, got {value!r}.")
    return float(value)


def _check_non_negative(where, name, value):
    if not _is_real(value) or not 0 <= value < math.inf:
        raise ValueError(f"{where}: expected {name} a non-negative number, got {value!r}.")
    return float(value)


class LearningRateSchedule:
    """Base class: ``schedule(step)`` returns γ at update ``step``; ``get_config()`` rebuilds it."""

    def __call__(self, step):
        raise NotImplementedError

    def _config(self):
        raise NotImplementedError

    def get_config(self):
        return {"class_name": type(self).__name__, "config": self._config()}

    def __repr__(self):
        return f"{type(self).__name__}({', '.join(f'{k}={v!r}' for k, v in self._config().items())})"


class _DecaySchedule(LearningRateSchedule):
    """γ_0, decay_steps, decay_rate and staircase, checked once (InverseTimeDecay, ExponentialDecay).

    ``staircase=True`` decays in steps, with ⌊r / decay_steps⌋ in place of r / decay_steps
    (Keras's argument); ``name`` is Keras's too (kept, for ``get_config``).
    """

    def __init__(self, initial_learning_rate, decay_steps, decay_rate, staircase=False, name=None):
        where = type(self).__name__
        self.initial_learning_rate = _check_positive(where, "initial_learning_rate", initial_learning_rate)
        self.decay_steps = _check_positive(where, "decay_steps", decay_steps)
        self.decay_rate = _check_non_negative(where, "decay_rate", decay_rate)
        if not isinstance(staircase, (bool, np.bool_)):
            raise TypeError(f"{where}: expected staircase True or False, got {staircase!r}.")
        if name is not None and not isinstance(name, str):
            raise TypeError(f"{where}: expected name a str, got {type(name).__name__}.")
        self.staircase, self.name = bool(staircase), name or where

    def _progress(self, step):
        """r / decay_steps, or its floor with ``staircase``."""
        progress = step / self.decay_steps
        return math.floor(progress) if self.staircase else progress

    def _config(self):
        return {"initial_learning_rate": self.initial_learning_rate, "decay_steps": self.decay_steps,
                "decay_rate": self.decay_rate, "staircase": self.staircase, "name": self.name}


class InverseTimeDecay(_DecaySchedule):
    """γ_r = γ_0 / (1 + decay_rate · r / decay_steps): Robbins–Monro style decay (⌊r / decay_steps⌋ with staircase).

    Examples
    --------
    >>> InverseTimeDecay(0.1, decay_steps=10, decay_rate=1.0)(10)
    0.05
    >>> InverseTimeDecay(0.1, decay_steps=10, decay_rate=1.0, staircase=True)(19)
    0.05
    """

    def __call__(self, step):
        return self.initial_learning_rate / (1.0 + self.decay_rate * self._progress(step))


class ExponentialDecay(_DecaySchedule):
    """γ_r = γ_0 · decay_rate^(r / decay_steps) (⌊r / decay_steps⌋ with staircase).

    Examples
    --------
    >>> ExponentialDecay(0.1, decay_steps=10, decay_rate=0.5)(20)
    0.025
    >>> ExponentialDecay(0.1, decay_steps=10, decay_rate=0.5, staircase=True)(29)
    0.025
    """

    def __call__(self, step):
        return self.initial_learning_rate * self.decay_rate ** self._progress(step)


class PiecewiseConstantDecay(LearningRateSchedule):
    """γ_r = values[0] for r ≤ b_0, values[j] for b_(j−1) < r ≤ b_j, values[-1] for r > b_last.

    Keras's ``keras.optimizers.schedules.PiecewiseConstantDecay(boundaries, values)``,
    with the same ≤ at each boundary: the value changes at step b + 1.

    Parameters
    ----------
    boundaries : list of numbers, strictly increasing
        Step counts where γ changes.
    values : list of positive numbers
        One more than ``boundaries``.

    Raises
    ------
    ValueError
        ``values`` is not one longer than ``boundaries``, the boundaries do not
        increase, or a value is not a positive number.

    Examples
    --------
    >>> schedule = PiecewiseConstantDecay([100, 200], [0.1, 0.01, 0.001])
    >>> schedule(100), schedule(101), schedule(500)
    (0.1, 0.01, 0.001)
    """

    def __init__(self, boundaries, values):
        where = "PiecewiseConstantDecay"
        for name, seq in (("boundaries", boundaries), ("values", values)):
            if isinstance(seq, (str, bytes, dict)) or not hasattr(seq, "__len__"):
                raise TypeError(f"{where}: expected {name} a list of numbers, got {type(seq).__name__}.")
        if len(values) != len(boundaries) + 1:
            raise ValueError(f"{where}: expected one more value than boundaries, got {len(boundaries)} "
                             f"boundaries and {len(values)} values.")
        self.boundaries = [_check_non_negative(where, "boundaries", b) for b in boundaries]
        if any(b >= c for b, c in zip(self.boundaries, self.boundaries[1:])):
            raise ValueError(f"{where}: expected boundaries strictly increasing, got {list(boundaries)!r}.")
        self.values = [_check_positive(where, "values", v) for v in values]

    def __call__(self, step):
        for boundary, value in zip(self.boundaries, self.values):
            if step <= boundary:
                return value
        return self.values[-1]

    def _config(self):
        return {"boundaries": list(self.boundaries), "values": list(self.values)}


class CosineDecay(LearningRateSchedule):
    """Linear warm-up to γ_w, then cosine decay to α·γ_w (Keras 3's ``CosineDecay``, SGDR without restarts).

    Without warm-up (``warmup_target=None``), with r̄ = min(r, decay_steps):

        γ_r = γ_0 · [(1 − α) · ½ (1 + cos(π r̄ / decay_steps)) + α]

    With ``warmup_target`` γ_w and ``warmup_steps`` W, and r̄ = min(r, W + decay_steps):

        γ_r = γ_0 + (γ_w − γ_0) · r̄ / W                                   for r̄ < W
        γ_r = γ_w · [(1 − α) · ½ (1 + cos(π (r̄ − W) / decay_steps)) + α]   otherwise

    Same signature and formula as Keras 3 (Loshchilov & Hutter 2017; warm-up
    from Goyal et al. 2017). PyTorch splits the two phases into ``LinearLR`` and
    ``CosineAnnealingLR`` (its ``eta_min`` is an absolute rate, Keras's α a fraction).

    Parameters
    ----------
    initial_learning_rate : float
        γ_0, non-negative (0 is the usual start of a warm-up).
    decay_steps : positive number
    alpha : float in [0, 1]
        Final rate as a fraction of the decay's starting rate.
    warmup_target : positive float or None
    warmup_steps : non-negative number

    Examples
    --------
    >>> CosineDecay(0.1, decay_steps=10)(5)
    0.05
    >>> schedule = CosineDecay(0.0, decay_steps=10, warmup_target=0.1, warmup_steps=5)
    >>> round(schedule(2), 6), schedule(5), round(schedule(10), 6), schedule(99)
    (0.04, 0.1, 0.05, 0.0)
    """

    def __init__(self, initial_learning_rate, decay_steps, alpha=0.0, name="CosineDecay", warmup_target=None,
                 warmup_steps=0):
        where = "CosineDecay"
        self.initial_learning_rate = _check_non_negative(where, "initial_learning_rate", initial_learning_rate)
        self.decay_steps = _check_positive(where, "decay_steps", decay_steps)
        if not _is_real(alpha) or not 0 <= alpha <= 1:
            raise ValueError(f"{where}: expected alpha in [0, 1] (the final rate as a fraction), got {alpha!r}.")
        self.alpha = float(alpha)
        if not isinstance(name, str):
            raise TypeError(f"{where}: expected name a str, got {type(name).__name__}.")
        self.name = name
        self.warmup_target = None if warmup_target is None else _check_positive(where, "warmup_target", warmup_target)
        self.warmup_steps = _check_non_negative(where, "warmup_steps", warmup_steps)
        if self.warmup_target is None and self.initial_learning_rate == 0:
            raise ValueError(f"{where}: expected initial_learning_rate > 0 without a warm-up, got 0; the rate "
                             f"would stay 0. Give warmup_target= and warmup_steps=, or a positive rate.")
        if self.warmup_target is not None and self.warmup_steps == 0:
            raise ValueError(f"{where}: expected warmup_steps > 0 with warmup_target={warmup_target!r}, got 0.")

    def _decay(self, step, start):
        cosine = 0.5 * (1.0 + math.cos(math.pi * step / self.decay_steps))   # 1 → 0 over decay_steps
        return start * ((1.0 - self.alpha) * cosine + self.alpha)

    def __call__(self, step):
        if self.warmup_target is None:
            return self._decay(min(step, self.decay_steps), self.initial_learning_rate)
        step = min(step, self.decay_steps + self.warmup_steps)
        if step < self.warmup_steps:                                        # linear warm-up γ_0 → γ_w
            return self.initial_learning_rate + (self.warmup_target - self.initial_learning_rate) * (
                step / self.warmup_steps)
        return self._decay(step - self.warmup_steps, self.warmup_target)

    def _config(self):
        return {"initial_learning_rate": self.initial_learning_rate, "decay_steps": self.decay_steps,
                "alpha": self.alpha, "name": self.name, "warmup_target": self.warmup_target,
                "warmup_steps": self.warmup_steps}


_TABLE = {cls.__name__: cls for cls in (InverseTimeDecay, ExponentialDecay, PiecewiseConstantDecay, CosineDecay)}


def get(identifier):
    """Return a schedule from an instance or a ``{"class_name": ..., "config": {...}}`` dict.

    Examples
    --------
    >>> schedule = get({"class_name": "CosineDecay", "config": {"initial_learning_rate": 0.1, "decay_steps": 10}})
    >>> type(schedule).__name__, schedule(0), schedule(10)
    ('CosineDecay', 0.1, 0.0)
    """
    if isinstance(identifier, LearningRateSchedule):
        return identifier
    name = identifier.get("class_name") if isinstance(identifier, dict) else identifier
    cls = _TABLE.get(name) if isinstance(name, str) else None
    if cls is None:
        raise ValueError(f"schedules.get: unknown learning-rate schedule {name!r}; supported: {', '.join(_TABLE)}.")
    config = identifier.get("config", {}) if isinstance(identifier, dict) else {}
    return cls(**config)


def names():
    """The supported schedule class names."""
    return list(_TABLE)
