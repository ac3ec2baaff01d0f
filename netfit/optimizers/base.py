"""The optimizer contract: ``build(theta, decay_slices)`` once, then ``step(theta, grad)`` per batch.

Shared by every optimizer: the learning rate γ_r (a number or a schedule), ESL's
weight decay λ, Keras's clipnorm / clipvalue, and the refusal of arguments netfit
lacks (Keras 2's ``lr``, ``decay``) with the replacement.
"""
import math

import numpy as np

from .. import backend, schedules
from ..schedules import _is_real


def _refuse_unknown(where, unknown, learning_rate=0.01):
    """Raise a TypeError for constructor arguments netfit lacks, naming the fix for Keras 2's names.

    Keras 3 refuses Keras 2's ``lr`` and ignores ``decay``; netfit refuses both, with the replacement.
    """
    for key, value in unknown.items():
        fix = {
            "lr": f"it is Keras 2's name: use learning_rate={value!r} (Keras 3 refuses lr too)",
            "decay": (f"it is Keras 2's per-step decay γ_r = γ / (1 + decay · r): use "
                      f"learning_rate=nf.optimizers.InverseTimeDecay({learning_rate!r}, decay_steps=1, "
                      f"decay_rate={value!r})"),
            "global_clipnorm": f"netfit's clipnorm already clips the norm of all gradients together: "
                               f"use clipnorm={value!r}",
            "amsgrad": "netfit's Adam has no AMSGrad variant",
            "schedule_decay": "it is Keras 2's Nadam argument; Keras 3's Nadam (netfit's) has no such argument",
            "momentum": "momentum is SGD's; Adam's first-moment decay is beta_1",
        }.get(key, "netfit's optimizers take learning_rate, weight_decay, clipnorm, clipvalue and their own "
                   "arguments (see help(nf.optimizers))")
        raise TypeError(f"{where}: unknown argument {key!r}; {fix}.")


class Optimizer:
    """Base class. ``build(theta, decay_slices)`` once, then ``step(theta, grad)`` per batch.

    Arguments netfit does not have are refused with a TypeError that names the
    replacement (Keras 2's ``lr`` → ``learning_rate``, ``decay`` → an
    :class:`InverseTimeDecay` schedule).
    """

    name = "optimizer"
    #: True for optimizers whose step runs on a GPU (CuPy) as written (docs/gpu.md).
    runs_on_gpu = False

    def __init__(self, learning_rate=0.01, weight_decay=0.0, clipnorm=None, clipvalue=None, **unknown):
        where = type(self).__name__
        _refuse_unknown(where, unknown, learning_rate)
        if isinstance(learning_rate, dict):
            try:
                learning_rate = schedules.get(learning_rate)
            except ValueError as exc:
                raise ValueError(f"{where}: {str(exc).replace('schedules.get: ', '')}") from None
        if not callable(learning_rate):
            if not _is_real(learning_rate) or not learning_rate > 0 or not math.isfinite(learning_rate):
                raise ValueError(f"{where}: expected learning_rate a positive number or a "
                                 f"schedule, got {learning_rate!r}.")
            learning_rate = float(learning_rate)
        if not _is_real(weight_decay) or not weight_decay >= 0:
            raise ValueError(f"{where}: expected weight_decay a non-negative number, got {weight_decay!r}.")
        if weight_decay == math.inf:
            raise ValueError(f"{where}: expected weight_decay a finite number, got {weight_decay!r}.")
        for name, value in (("clipnorm", clipnorm), ("clipvalue", clipvalue)):
            if value is None:
                continue
            if not _is_real(value) or not value >= 0:
                raise ValueError(f"{where}: expected {name} a non-negative number, got {value!r}.")
            if not 0 < value < math.inf:
                raise ValueError(f"{where}: expected {name} a positive finite number (None for no clipping), "
                                 f"got {value!r}.")
        self.learning_rate = learning_rate
        self.weight_decay = float(weight_decay)
        self.clipnorm = None if clipnorm is None else float(clipnorm)
        self.clipvalue = None if clipvalue is None else float(clipvalue)
        self.iterations = 0
        self.decay_slices = []

    def build(self, theta, decay_slices=()):
        """Allocate state shaped like the flat parameter vector θ."""
        self.decay_slices = list(decay_slices)

    def current_learning_rate(self):
        """γ_r at the current iteration r."""
        lr = self.learning_rate
        return float(lr(self.iterations)) if callable(lr) else lr

    def penalty(self, theta):
        """λ Σ w² over the kernels: the weight-decay term of the objective."""
        if not self.weight_decay:
            return 0.0
        return self.weight_decay * sum(backend.scalar(np.vdot(theta[s], theta[s])) for s in self.decay_slices)

    def add_penalty_gradient(self, theta, grad):
        """g += 2λw on the kernels: the gradient of :meth:`penalty`, added in place."""
        if self.weight_decay:
            for s in self.decay_slices:
                grad[s] += (2.0 * self.weight_decay) * theta[s]      # ∂(λ Σ w²)/∂w = 2λw

    def step(self, theta, grad):
        """Update θ in place from the gradient g, which is then used as scratch space (its values are lost)."""
        self.add_penalty_gradient(theta, grad)
        if self.clipvalue is not None:
            np.clip(grad, -self.clipvalue, self.clipvalue, out=grad)
        if self.clipnorm is not None:
            norm = float(np.sqrt(np.vdot(grad, grad)))
            if norm > self.clipnorm:
                grad *= self.clipnorm / norm
        self._update(theta, grad, self.current_learning_rate())
        self.iterations += 1

    def _update(self, theta, grad, lr):
        raise NotImplementedError

    # -- state, for saving and resuming --------------------------------------------------
    def get_state(self):
        """Arrays and counters that, restored, make training continue exactly."""
        return {"iterations": np.array(self.iterations, np.int64)}

    def set_state(self, state):
        self.iterations = int(state["iterations"])

    def get_config(self):
        lr = self.learning_rate
        return {"learning_rate": lr.get_config() if callable(lr) else lr,
                "weight_decay": self.weight_decay, "clipnorm": self.clipnorm, "clipvalue": self.clipvalue}

    def __repr__(self):
        return f"{type(self).__name__}({', '.join(f'{k}={v!r}' for k, v in self.get_config().items())})"
