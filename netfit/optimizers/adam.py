"""Adam (Kingma & Ba 2015), Keras 3's update."""
import math

import numpy as np

from .. import _kernels
from .. import backend
from ..schedules import _is_real
from .base import Optimizer


class Adam(Optimizer):
    """Adam (Kingma & Ba 2015) with Keras's defaults and bias correction.

    m ← β₁ m + (1 − β₁) g;  v ← β₂ v + (1 − β₂) g²;
    θ ← θ − γ_r √(1 − β₂^t) / (1 − β₁^t) · m / (√v + ε).

    Where the code differs from the math: it keeps the moments without their
    (1 − β) factors, M = m / (1 − β₁) and V = v / (1 − β₂), so that
    M ← β₁ M + g and V ← β₂ V + g² skip one multiplication each. The update is
    the same, θ ← θ − c · M / (√V + ε'), with c = α (1 − β₁) / √(1 − β₂) and
    ε' = ε / √(1 − β₂). ``m`` and ``v`` (and the saved state) hold M and V.
    Ten vector passes per step instead of twelve: Adam's step costs as much as a
    batch-32 forward and backward of the lecture MLP, so this matters. With numba
    installed (``netfit[fast]``) the ten passes are one compiled loop doing the
    same arithmetic, bit for bit (:mod:`netfit._kernels`).

    Examples
    --------
    >>> theta, g = np.array([1.0]), np.array([0.5])
    >>> opt = Adam(learning_rate=0.1); opt.build(theta); opt.step(theta, g); theta.round(4)
    array([0.9])
    """

    name = "adam"
    runs_on_gpu = True
    # Moments of weights whose gradient stays exactly zero (e.g. MNIST's blank
    # border pixels) decay geometrically into denormal floats, which are ~100×
    # slower on x86. Every _FLUSH_EVERY steps entries below _TINY are set to 0;
    # ε in the denominator makes their contribution negligible anyway.
    _FLUSH_EVERY, _TINY = 64, 1e-30

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, **kwargs):
        super().__init__(learning_rate, **kwargs)
        for name, b in (("beta_1", beta_1), ("beta_2", beta_2)):
            if not _is_real(b) or not 0 <= b < 1:
                raise ValueError(f"Adam: expected {name} in [0, 1), got {b!r}.")
        if not _is_real(epsilon) or not 0 < epsilon < math.inf:
            raise ValueError(f"Adam: expected epsilon a positive number (it keeps m / (√v + ε) finite), "
                             f"got {epsilon!r}.")
        self.beta_1, self.beta_2, self.epsilon = float(beta_1), float(beta_2), float(epsilon)

    def build(self, theta, decay_slices=()):
        super().build(theta, decay_slices)
        self.m = np.zeros_like(theta)
        self.v = np.zeros_like(theta)

    def _update(self, theta, grad, lr):
        b1, b2, m, v = self.beta_1, self.beta_2, self.m, self.v
        t = self.iterations + 1
        alpha = lr * math.sqrt(1.0 - b2 ** t) / (1.0 - b1 ** t)       # bias correction
        root = math.sqrt(1.0 - b2)
        eps, c = self.epsilon / root, alpha * (1.0 - b1) / root
        on_host = backend.on_host(theta)
        if not on_host:
            _adam_step(theta, grad, m, v, b1, b2, eps, c)              # one GPU kernel, the same arithmetic
        # One compiled pass where numba is installed (netfit[fast]); the same arithmetic below.
        elif not _kernels.adam_update(theta, grad, m, v, b1, b2, eps, c):
            m *= b1
            m += grad                                                  # M ← β₁ M + g
            tmp = grad                                                 # g is scratch from here on:
            np.square(grad, out=tmp)                                   # four vectors stay in cache, not five
            v *= b2
            v += tmp                                                   # V ← β₂ V + g²
            np.sqrt(v, out=tmp)
            tmp += eps
            np.divide(m, tmp, out=tmp)
            tmp *= c
            theta -= tmp                                               # θ ← θ − α m / (√V + ε)
        if t % self._FLUSH_EVERY == 0 and on_host:                    # (no denormal slowdown on a GPU)
            m[np.abs(m) < self._TINY] = 0.0
            v[v < self._TINY] = 0.0

    def get_state(self):
        return {**super().get_state(), "m": self.m.copy(), "v": self.v.copy()}

    def set_state(self, state):
        super().set_state(state)
        self.m[...] = state["m"]
        self.v[...] = state["v"]

    def get_config(self):
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon}


@backend.fuse
def _adam_step(xp):
    """Adam's update of θ, M and V in place, in one GPU kernel: what ``Adam._update`` computes in ten passes."""
    def step(theta, grad, m, v, b1, b2, eps, c):
        m *= b1
        m += grad                                                      # M ← β₁ M + g
        v *= b2
        v += grad * grad                                               # V ← β₂ V + g²
        theta -= (m / (xp.sqrt(v) + eps)) * c                          # θ ← θ − c M / (√V + ε')
    return step
