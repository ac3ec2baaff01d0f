"""The optimizer contract: ``build(theta, decay_slices)`` once, then ``step(theta, grad)`` per batch.

Shared by every optimizer: the learning rate γ_r (a number or a schedule), ESL's
weight decay λ, Keras's clipnorm / clipvalue, and the refusal of arguments netfit
lacks (Keras 2's ``lr``, ``decay``) with the replacement.
"""
import math

import numpy as np

from .. import backend, schedules
from ..keras_args import GuardedAttributes, own_arguments, refuse
from ..schedules import _is_real

#: Keras 3's optimizer arguments that netfit lacks: accepted "off" (use_ema=False), else refused with the fix.
KERAS_ONLY = ("use_ema", "ema_momentum", "ema_overwrite_frequency", "loss_scale_factor",
              "gradient_accumulation_steps", "amsgrad", "global_clipnorm")


def _refuse_unknown(where, unknown, learning_rate=0.01, cls=None):
    """Raise a TypeError for constructor arguments netfit lacks, naming the fix for Keras 2's names.

    Keras 3 refuses Keras 2's ``lr`` and ignores ``decay``; netfit refuses both, with the replacement.
    Keras 3's own arguments netfit lacks are accepted at their "off" value and refused otherwise
    (:func:`netfit.keras_args.refuse`); any other name gets the closest one.
    """
    off = {"amsgrad": False, "global_clipnorm": None}
    for key, value in unknown.items():
        if key in off and value is off[key] or key in KERAS_ONLY and key not in off:
            continue
        fix = {      # Keras 2's names, and names of other optimizers
            "lr": f"it is Keras 2's name: use learning_rate={value!r} (Keras 3 refuses lr too)",
            "decay": (f"it is Keras 2's per-step decay γ_r = γ / (1 + decay · r): use "
                      f"learning_rate=nf.optimizers.InverseTimeDecay({learning_rate!r}, decay_steps=1, "
                      f"decay_rate={value!r})"),
            "global_clipnorm": f"netfit's clipnorm already clips the norm of all gradients together: "
                               f"use clipnorm={value!r}",
            "amsgrad": "netfit's Adam has no AMSGrad variant",
            "schedule_decay": "it is Keras 2's Nadam argument; Keras 3's Nadam (netfit's) has no such argument",
            "momentum": "momentum is SGD's; Adam's first-moment decay is beta_1",
        }.get(key)
        if fix is not None:
            raise TypeError(f"{where}: unknown argument {key!r}; {fix}.")
    refuse(where, {k: v for k, v in unknown.items() if k not in off}, KERAS_ONLY,
           own_arguments(cls) if cls is not None else (),
           "netfit's optimizers take learning_rate, weight_decay, clipnorm, clipvalue and their own arguments "
           "(see help(nf.optimizers))")


def _check_learning_rate(learning_rate, where):
    """A positive finite number (as a float), or a schedule (a dict is read by schedules.get); else a ValueError."""
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
    return learning_rate


class Optimizer(GuardedAttributes):
    """Base class. ``build(theta, decay_slices)`` once, then ``step(theta, grad)`` per batch.

    Arguments netfit does not have are refused with a TypeError that names the
    replacement (Keras 2's ``lr`` → ``learning_rate``, ``decay`` → an
    :class:`InverseTimeDecay` schedule); Keras 3's ``use_ema``, ``loss_scale_factor``,
    ``gradient_accumulation_steps`` are accepted "off" only (:mod:`netfit.keras_args`).
    ``optimizer.lr`` reads and sets ``learning_rate`` (Keras 2's alias, which tutorials
    still set between runs); any other attribute the optimizer lacks is refused when
    set (``opt.learning_rte = ...``), with the closest name.
    """

    name = "optimizer"
    #: Keras 3's arguments netfit lacks; set as attributes, they are refused with the same fix (keras_args).
    keras_only = KERAS_ONLY
    #: True for optimizers whose step runs on a GPU (CuPy) as written (docs/gpu.md).
    runs_on_gpu = False

    def __init__(self, learning_rate=0.01, weight_decay=0.0, clipnorm=None, clipvalue=None, name=None, **unknown):
        where = type(self).__name__
        _refuse_unknown(where, unknown, learning_rate, type(self))
        if name is not None and not isinstance(name, str):
            raise TypeError(f"{where}: expected name a str, got {type(name).__name__}.")
        learning_rate = _check_learning_rate(learning_rate, where)
        weight_decay = 0.0 if weight_decay is None else weight_decay      # Keras's default, None: no decay
        if not _is_real(weight_decay) or not weight_decay >= 0:
            raise ValueError(f"{where}: expected weight_decay a non-negative number, got {weight_decay!r}.")
        if weight_decay == math.inf:
            raise ValueError(f"{where}: expected weight_decay a finite number, got {weight_decay!r}.")
        for arg, value in (("clipnorm", clipnorm), ("clipvalue", clipvalue)):
            if value is None:
                continue
            if not _is_real(value) or not value >= 0:
                raise ValueError(f"{where}: expected {arg} a non-negative number, got {value!r}.")
            if not 0 < value < math.inf:
                raise ValueError(f"{where}: expected {arg} a positive finite number (None for no clipping), "
                                 f"got {value!r}.")
        self.learning_rate = learning_rate
        self.weight_decay = float(weight_decay)
        self.clipnorm = None if clipnorm is None else float(clipnorm)
        self.clipvalue = None if clipvalue is None else float(clipvalue)
        self.iterations = 0
        self.decay_slices = []
        if name is not None:
            self.name = name

    @property
    def lr(self):
        """Keras 2's name of ``learning_rate``: reading and setting it reads and sets γ (a number or a schedule).

        Examples
        --------
        >>> from netfit.optimizers import SGD
        >>> opt = SGD(learning_rate=0.1); opt.lr = 1e-3; opt.learning_rate
        0.001
        """
        return self.learning_rate

    @lr.setter
    def lr(self, value):
        self.learning_rate = _check_learning_rate(value, f"{type(self).__name__}.lr")

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
        config = {"learning_rate": lr.get_config() if callable(lr) else lr,
                  "weight_decay": self.weight_decay, "clipnorm": self.clipnorm, "clipvalue": self.clipvalue}
        if self.name != type(self).name:                 # given to the constructor (Keras's name=)
            config["name"] = self.name
        return config

    def __repr__(self):
        return f"{type(self).__name__}({', '.join(f'{k}={v!r}' for k, v in self.get_config().items())})"
