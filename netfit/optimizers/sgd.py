"""Stochastic gradient descent: the lecture's γ_r, momentum and Nesterov."""

import numpy as np

from ..schedules import _is_real
from .base import Optimizer


class SGD(Optimizer):
    """Gradient descent, θ ← θ − γ_r g, optionally with momentum μ (and Nesterov's look-ahead).

    With momentum: v ← μ v − γ_r g; θ ← θ + v (Nesterov: θ ← θ + μ v − γ_r g).
    With ``batch_size`` equal to the training-set size this is the lecture's
    batch update β^(r+1) = β^(r) − γ_r Σ_i ∂R_i/∂β (up to the 1/n of the mean).

    Examples
    --------
    >>> theta, g = np.array([1.0]), np.array([0.5])
    >>> opt = SGD(learning_rate=0.1); opt.build(theta); opt.step(theta, g); theta
    array([0.95])
    """

    name = "sgd"
    runs_on_gpu = True

    def __init__(self, learning_rate=0.01, momentum=0.0, nesterov=False, **kwargs):
        super().__init__(learning_rate, **kwargs)
        if not isinstance(nesterov, (bool, np.bool_)):
            raise TypeError(f"SGD: expected nesterov True or False, got {nesterov!r}.")
        if not _is_real(momentum) or not 0 <= momentum < 1:
            raise ValueError(f"SGD: expected momentum in [0, 1), got {momentum!r}.")
        self.momentum, self.nesterov = float(momentum), bool(nesterov)

    def build(self, theta, decay_slices=()):
        super().build(theta, decay_slices)
        self.velocity = np.zeros_like(theta)

    def _update(self, theta, grad, lr):
        step = grad                                                    # g is scratch from here on
        step *= lr                                                     # γ g
        if not self.momentum:
            theta -= step                                              # θ ← θ − γ g
            return
        v = self.velocity
        v *= self.momentum
        v -= step                                                      # v ← μ v − γ g
        if self.nesterov:
            theta -= step
            step[...] = v
            step *= self.momentum
            theta += step                                              # θ ← θ + μ v − γ g
        else:
            theta += v                                                 # θ ← θ + v

    def get_state(self):
        return {**super().get_state(), "velocity": self.velocity.copy()}

    def set_state(self, state):
        super().set_state(state)
        self.velocity[...] = state["velocity"]

    def get_config(self):
        return {**super().get_config(), "momentum": self.momentum, "nesterov": self.nesterov}
