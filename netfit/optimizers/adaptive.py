"""Per-coordinate step sizes beyond Adam: RMSprop, Adagrad, Nadam and AdamW, with Keras 3's formulas.

Each divides the gradient g by a running measure of its own size, so that
every coordinate of θ gets its own effective learning rate. All four act on
the model's one flat vector θ (see :mod:`netfit.optimizers`), keep their state
in vectors of θ's shape, and return it from ``get_state()`` so that
:mod:`netfit.io` saves and restores it with the model.

Every update below is Keras 3's ``update_step``, term for term (same
defaults, same place for ε). Where PyTorch differs, the class docstring says so.

Weight decay, two kinds
-----------------------
``weight_decay`` of RMSprop, Adagrad and Nadam is netfit's *coupled* ESL
penalty (:mod:`netfit.optimizers`): λ Σ w² is added to the loss and 2λw to the
kernels' gradients, so it is then divided by √v like any gradient. AdamW's
``weight_decay`` is Loshchilov & Hutter's *decoupled* decay: the kernels shrink
by θ ← θ − γ_r λ θ beside the Adam step, which never sees it.
(Keras 3 gives every optimizer the decoupled kind under this name.)
"""
import math

import numpy as np

from ..schedules import _is_real
from .adam import Adam
from .base import Optimizer


def _check_epsilon(where, epsilon):
    if not _is_real(epsilon) or not 0 < epsilon < math.inf:
        raise ValueError(f"{where}: expected epsilon a positive number (it keeps the division finite), "
                         f"got {epsilon!r}.")
    return float(epsilon)


def _check_unit(where, name, value):
    if not _is_real(value) or not 0 <= value < 1:
        raise ValueError(f"{where}: expected {name} in [0, 1), got {value!r}.")
    return float(value)


class RMSprop(Optimizer):
    """RMSprop (Hinton 2012): divide g by the root of a moving mean of g².

    v ← ρ v + (1 − ρ) g²;  (centered: ḡ ← ρ ḡ + (1 − ρ) g, and v − ḡ² below)
    Δ = γ_r g / √(v + ε);
    θ ← θ − Δ, or with momentum μ: m ← μ m + Δ, θ ← θ − m.

    Keras 3's defaults and formula (ε inside the root). PyTorch's
    ``torch.optim.RMSprop`` differs: ``alpha`` (ρ) = 0.99, lr = 0.01, ε = 1e-8
    added *outside* the root, g / (√v + ε).

    Parameters
    ----------
    learning_rate : float or schedule, default 0.001
    rho : float in [0, 1), default 0.9
    momentum : float in [0, 1), default 0.0
    epsilon : float > 0, default 1e-7
    centered : bool, default False
        Divide by the estimated standard deviation √(v − ḡ² + ε) instead.

    Examples
    --------
    >>> theta, g = np.array([10.0]), np.array([10.0])      # R = θ²/2, as Keras's own example
    >>> opt = RMSprop(learning_rate=0.1); opt.build(theta); opt.step(theta, g); theta.round(6)
    array([9.683772])
    """

    runs_on_gpu = True

    name = "rmsprop"

    def __init__(self, learning_rate=0.001, rho=0.9, momentum=0.0, epsilon=1e-7, centered=False, **kwargs):
        super().__init__(learning_rate, **kwargs)
        self.rho = _check_unit("RMSprop", "rho", rho)
        self.momentum = _check_unit("RMSprop", "momentum", momentum)
        self.epsilon = _check_epsilon("RMSprop", epsilon)
        if not isinstance(centered, (bool, np.bool_)):
            raise TypeError(f"RMSprop: expected centered True or False, got {centered!r}.")
        self.centered = bool(centered)

    def build(self, theta, decay_slices=()):
        super().build(theta, decay_slices)
        self.velocity = np.zeros_like(theta)
        self.moment = np.zeros_like(theta) if self.momentum else None
        self.average_gradient = np.zeros_like(theta) if self.centered else None

    def _update(self, theta, grad, lr):
        rho, v = self.rho, self.velocity
        v *= rho
        v += (1.0 - rho) * np.square(grad)                             # v ← ρ v + (1 − ρ) g²
        denominator = v + self.epsilon                                 # v + ε
        if self.centered:
            a = self.average_gradient
            a *= rho
            a += (1.0 - rho) * grad                                    # ḡ ← ρ ḡ + (1 − ρ) g
            denominator -= np.square(a)                                # v − ḡ² + ε
        np.sqrt(denominator, out=denominator)
        step = grad
        step *= lr
        step /= denominator                                            # Δ = γ g / √(v + ε)
        if self.momentum:
            m = self.moment
            m *= self.momentum
            m += step                                                  # m ← μ m + Δ
            theta -= m
        else:
            theta -= step                                              # θ ← θ − Δ

    def get_state(self):
        state = {**super().get_state(), "velocity": self.velocity.copy()}
        if self.moment is not None:
            state["momentum"] = self.moment.copy()
        if self.average_gradient is not None:
            state["average_gradient"] = self.average_gradient.copy()
        return state

    def set_state(self, state):
        super().set_state(state)
        self.velocity[...] = state["velocity"]
        if self.moment is not None:
            self.moment[...] = state["momentum"]
        if self.average_gradient is not None:
            self.average_gradient[...] = state["average_gradient"]

    def get_config(self):
        return {**super().get_config(), "rho": self.rho, "momentum": self.momentum, "epsilon": self.epsilon,
                "centered": self.centered}


class Adagrad(Optimizer):
    """Adagrad (Duchi, Hazan & Singer 2011): divide g by the root of the sum of all past g².

    A ← A + g²  (A starts at ``initial_accumulator_value``);
    θ ← θ − γ_r g / √(A + ε).

    Keras 3's defaults and formula. PyTorch's ``torch.optim.Adagrad`` differs:
    lr = 0.01, initial accumulator 0 (Keras 0.1), ε = 1e-10 added outside the
    root, g / (√A + ε), and an optional ``lr_decay``.

    Parameters
    ----------
    learning_rate : float or schedule, default 0.001
    initial_accumulator_value : float ≥ 0, default 0.1
    epsilon : float > 0, default 1e-7

    Examples
    --------
    >>> theta, g = np.array([1.0]), np.array([0.3])
    >>> opt = Adagrad(learning_rate=0.1, initial_accumulator_value=0.0, epsilon=1e-12)
    >>> opt.build(theta); opt.step(theta, g); theta.round(6)                # one step moves γ, whatever g
    array([0.9])
    """

    runs_on_gpu = True

    name = "adagrad"

    def __init__(self, learning_rate=0.001, initial_accumulator_value=0.1, epsilon=1e-7, **kwargs):
        super().__init__(learning_rate, **kwargs)
        value = initial_accumulator_value
        if not _is_real(value) or not 0 <= value < math.inf:
            raise ValueError(f"Adagrad: expected initial_accumulator_value a non-negative number, got {value!r}.")
        self.initial_accumulator_value = float(value)
        self.epsilon = _check_epsilon("Adagrad", epsilon)

    def build(self, theta, decay_slices=()):
        super().build(theta, decay_slices)
        self.accumulator = np.full_like(theta, self.initial_accumulator_value)

    def _update(self, theta, grad, lr):
        acc = self.accumulator
        acc += np.square(grad)                                         # A ← A + g²
        root = np.sqrt(acc + self.epsilon)
        step = grad
        step *= lr
        step /= root
        theta -= step                                                  # θ ← θ − γ g / √(A + ε)

    def get_state(self):
        return {**super().get_state(), "accumulator": self.accumulator.copy()}

    def set_state(self, state):
        super().set_state(state)
        self.accumulator[...] = state["accumulator"]

    def get_config(self):
        return {**super().get_config(), "initial_accumulator_value": self.initial_accumulator_value,
                "epsilon": self.epsilon}


class Nadam(Optimizer):
    """Nadam (Dozat 2016): Adam with Nesterov momentum and Keras's momentum schedule μ_t.

    With t = r + 1 and μ_t = β₁ (1 − ½ · 0.96^t), Π_t = μ_1 ⋯ μ_t:

    m ← m + (1 − β₁)(g − m);  v ← v + (1 − β₂)(g² − v);
    m̂ = μ_(t+1) m / (1 − Π_t μ_(t+1)) + (1 − μ_t) g / (1 − Π_t);  v̂ = v / (1 − β₂^t);
    θ ← θ − γ_r m̂ / (√v̂ + ε).

    Keras 3's formula and defaults; the product Π_t is state (``u_product``),
    saved with m and v. Keras 3 decays μ_t with 0.96^t; Dozat's paper, Keras 2
    (``schedule_decay=0.004``) and PyTorch's ``torch.optim.NAdam``
    (``momentum_decay=0.004``) use 0.96^(0.004 t), so μ_t approaches β₁ far more
    slowly there; PyTorch also has ε = 1e-8 and lr = 0.002.

    Examples
    --------
    >>> theta, g = np.array([1.0]), np.array([0.5])
    >>> opt = Nadam(learning_rate=0.1); opt.build(theta); opt.step(theta, g); theta.round(4)
    array([0.8937])
    """

    runs_on_gpu = True

    name = "nadam"

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, **kwargs):
        super().__init__(learning_rate, **kwargs)
        self.beta_1 = _check_unit("Nadam", "beta_1", beta_1)
        self.beta_2 = _check_unit("Nadam", "beta_2", beta_2)
        self.epsilon = _check_epsilon("Nadam", epsilon)

    def build(self, theta, decay_slices=()):
        super().build(theta, decay_slices)
        self.m = np.zeros_like(theta)
        self.v = np.zeros_like(theta)
        self.u_product = 1.0

    def _mu(self, t):
        return self.beta_1 * (1.0 - 0.5 * 0.96 ** t)                      # μ_t, Keras 3's momentum schedule

    def _update(self, theta, grad, lr):
        b1, b2 = self.beta_1, self.beta_2
        t = self.iterations + 1
        u_t, u_next = self._mu(t), self._mu(t + 1)
        self.u_product *= u_t                                          # Π_t = Π_(t−1) μ_t
        product_next = self.u_product * u_next                         # Π_t μ_(t+1)
        m, v = self.m, self.v
        m += (1.0 - b1) * (grad - m)                                   # m ← β₁ m + (1 − β₁) g
        v += (1.0 - b2) * (np.square(grad) - v)                        # v ← β₂ v + (1 − β₂) g²
        m_hat = (u_next / (1.0 - product_next)) * m + ((1.0 - u_t) / (1.0 - self.u_product)) * grad
        denominator = np.sqrt(v / (1.0 - b2 ** t))                     # √v̂
        denominator += self.epsilon
        m_hat *= lr
        m_hat /= denominator
        theta -= m_hat                                                 # θ ← θ − γ m̂ / (√v̂ + ε)

    def get_state(self):
        return {**super().get_state(), "m": self.m.copy(), "v": self.v.copy(),
                "u_product": np.array(self.u_product, np.float64)}

    def set_state(self, state):
        super().set_state(state)
        self.m[...] = state["m"]
        self.v[...] = state["v"]
        self.u_product = float(state["u_product"])

    def get_config(self):
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon}


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter 2019): θ ← θ − γ_r λ θ on the kernels, then Adam.

    The decay never enters the gradient, so Adam's division by √v does not
    rescale it, and it is not part of the reported loss. This is *not* the
    ``weight_decay`` of SGD/Adam here, which is ESL's coupled L2 penalty
    λ Σ w² added to the loss (see :mod:`netfit.optimizers`).

    Which weights decay: the kernels (the weights ESL's penalty covers), not
    biases or normalization scales. Keras 3 decays every trainable variable
    unless listed in ``exclude_from_weight_decay``; PyTorch's ``AdamW`` decays
    every parameter in the group, with default λ = 0.01 (Keras 0.004).

    Parameters
    ----------
    learning_rate : float or schedule, default 0.001
    weight_decay : float ≥ 0, default 0.004
        λ, the decoupled decay rate per unit of learning rate.
    beta_1, beta_2, epsilon : as :class:`~netfit.optimizers.Adam`

    Examples
    --------
    >>> theta, g = np.array([1.0]), np.array([0.0])
    >>> opt = AdamW(learning_rate=0.1, weight_decay=0.5); opt.build(theta, [slice(0, 1)])
    >>> opt.step(theta, g); theta                                          # 1 − 0.1 · 0.5 · 1
    array([0.95])
    """

    name = "adamw"

    def __init__(self, learning_rate=0.001, weight_decay=0.004, beta_1=0.9, beta_2=0.999, epsilon=1e-7, **kwargs):
        if not _is_real(weight_decay) or not 0 <= weight_decay < math.inf:
            raise ValueError(f"AdamW: expected weight_decay a non-negative finite number (decoupled decay), "
                             f"got {weight_decay!r}.")
        super().__init__(learning_rate, beta_1=beta_1, beta_2=beta_2, epsilon=epsilon, **kwargs)
        self.decoupled_weight_decay = float(weight_decay)

    def _update(self, theta, grad, lr):
        shrink = 1.0 - lr * self.decoupled_weight_decay
        if shrink != 1.0:
            for part in self.decay_slices:
                theta[part] *= shrink                                  # θ ← θ − γ λ θ  (kernels only)
        super()._update(theta, grad, lr)

    def get_config(self):
        return {**super().get_config(), "weight_decay": self.decoupled_weight_decay}
