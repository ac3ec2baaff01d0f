"""Gradient-descent updates θ^(r+1) = θ^(r) − γ_r · (direction), on one flat vector.

The model keeps every weight in one contiguous buffer θ and every gradient in
one buffer g of the same layout, so each optimizer step is a handful of
in-place vector operations, whatever the number of layers. Ordered by
complexity: SGD (with the lecture's learning rate γ_r, momentum, Nesterov),
then Adam.

Common options
--------------
weight_decay : float
    ESL's λ: the penalty λ Σ w² over all *kernels* (not biases) is added to the
    loss, so 2λw is added to their gradients before the step. This is the L2
    penalty of ESL §11.5.2, not AdamW's decoupled decay.
clipnorm, clipvalue : float
    Keras's clipping: rescale g to norm ≤ clipnorm; clip entries to ±clipvalue.
"""
import math
import numbers

import numpy as np

from . import _kernels


class _Schedule:
    """A learning rate γ_r that depends on the step r; subclasses define ``__call__``."""

    def __init__(self, initial_learning_rate, decay_steps, decay_rate):
        where = type(self).__name__
        for name, value in (("initial_learning_rate", initial_learning_rate), ("decay_steps", decay_steps)):
            if not _is_real(value) or not 0 < value < math.inf:
                raise ValueError(f"{where}: expected {name} a positive number, got {value!r}.")
        if not _is_real(decay_rate) or not 0 <= decay_rate < math.inf:
            raise ValueError(f"{where}: expected decay_rate a non-negative number, got {decay_rate!r}.")
        self.initial_learning_rate = float(initial_learning_rate)
        self.decay_steps, self.decay_rate = float(decay_steps), float(decay_rate)

    def get_config(self):
        return {"class_name": type(self).__name__, "config": {
            "initial_learning_rate": self.initial_learning_rate,
            "decay_steps": self.decay_steps, "decay_rate": self.decay_rate}}


class InverseTimeDecay(_Schedule):
    """γ_r = γ_0 / (1 + decay_rate · r / decay_steps): Robbins–Monro style decay.

    Examples
    --------
    >>> InverseTimeDecay(0.1, decay_steps=10, decay_rate=1.0)(10)
    0.05
    """

    def __call__(self, step):
        return self.initial_learning_rate / (1.0 + self.decay_rate * step / self.decay_steps)


class ExponentialDecay(_Schedule):
    """γ_r = γ_0 · decay_rate^(r / decay_steps).

    Examples
    --------
    >>> ExponentialDecay(0.1, decay_steps=10, decay_rate=0.5)(20)
    0.025
    """

    def __call__(self, step):
        return self.initial_learning_rate * self.decay_rate ** (step / self.decay_steps)


def _is_real(value):
    """True for Python and NumPy real scalars (not bools)."""
    return isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_))


_SCHEDULES = {"InverseTimeDecay": InverseTimeDecay, "ExponentialDecay": ExponentialDecay}


class Optimizer:
    """Base class. ``build(theta, decay_slices)`` once, then ``step(theta, grad)`` per batch."""

    name = "optimizer"

    def __init__(self, learning_rate=0.01, weight_decay=0.0, clipnorm=None, clipvalue=None):
        where = type(self).__name__
        if isinstance(learning_rate, dict):
            schedule = _SCHEDULES.get(learning_rate.get("class_name"))
            if schedule is None:
                raise ValueError(f"{where}: unknown learning-rate schedule {learning_rate.get('class_name')!r}; "
                                 f"supported: {', '.join(_SCHEDULES)}.")
            learning_rate = schedule(**learning_rate.get("config", {}))
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
        return self.weight_decay * sum(float(np.vdot(theta[s], theta[s])) for s in self.decay_slices)

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
        # One compiled pass where numba is installed (netfit[fast]); the same arithmetic below.
        if not _kernels.adam_update(theta, grad, m, v, b1, b2, eps, c):
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
        if t % self._FLUSH_EVERY == 0:
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


# L-BFGS (full batch, SciPy) extends Optimizer, so it is imported once Optimizer exists.
from .lbfgs import LBFGS  # noqa: E402
from .sdlm import SDLM  # noqa: E402  (stochastic diagonal Levenberg–Marquardt, LeCun 1989/1998)

_TABLE = {"sgd": SGD, "adam": Adam, "lbfgs": LBFGS, "sdlm": SDLM}


def get(identifier):
    """Return an optimizer from a name ("sgd", "adam", "lbfgs", "sdlm"), a config dict, or an instance."""
    if isinstance(identifier, Optimizer):
        return identifier
    if isinstance(identifier, dict):
        cls = _TABLE.get(str(identifier.get("class_name", "")).lower())
        if cls is not None:
            return cls(**identifier.get("config", {}))
    if isinstance(identifier, str) and identifier.lower() in _TABLE:
        return _TABLE[identifier.lower()]()
    raise ValueError(f"optimizers.get: unknown optimizer {identifier!r}; supported: {', '.join(_TABLE)}.")


def serialize(optimizer):
    return {"class_name": type(optimizer).__name__, "config": optimizer.get_config()}
