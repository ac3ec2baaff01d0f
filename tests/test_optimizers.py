"""Optimizers against hand-written reference updates (Keras's formulas), decay, clipping, state."""
import math

import numpy as np
import pytest

import netfit as nf
from netfit import optimizers
from netfit.layers import Dense
from netfit.optimizers import SGD, Adam, ExponentialDecay, InverseTimeDecay

TARGET = np.array([0.5, -1.0, 2.0, 0.25])


def _grad(theta):
    """Gradient of ½‖θ − c‖² plus a wiggle, so it changes with θ from step to step."""
    return theta - TARGET + 0.1 * np.sin(3 * theta)


def _run(opt, steps, theta=None, decay_slices=()):
    theta = np.array([1.0, 2.0, -0.5, 0.0]) if theta is None else theta
    opt.build(theta, decay_slices)
    for _ in range(steps):
        opt.step(theta, _grad(theta))
    return theta


def test_sgd_plain_reference():
    theta_ref = np.array([1.0, 2.0, -0.5, 0.0])
    for _ in range(4):
        theta_ref = theta_ref - 0.1 * _grad(theta_ref)             # θ ← θ − γ g
    np.testing.assert_allclose(_run(SGD(0.1), 4), theta_ref, rtol=1e-14)


def test_sgd_momentum_reference():
    theta, v = np.array([1.0, 2.0, -0.5, 0.0]), np.zeros(4)
    for _ in range(4):
        v = 0.9 * v - 0.1 * _grad(theta)                           # v ← μ v − γ g
        theta = theta + v                                          # θ ← θ + v
    np.testing.assert_allclose(_run(SGD(0.1, momentum=0.9), 4), theta, rtol=1e-14)


def test_sgd_nesterov_reference():
    theta, v = np.array([1.0, 2.0, -0.5, 0.0]), np.zeros(4)
    for _ in range(4):
        g = _grad(theta)
        v = 0.9 * v - 0.1 * g                                      # v ← μ v − γ g
        theta = theta + 0.9 * v - 0.1 * g                          # θ ← θ + μ v − γ g
    np.testing.assert_allclose(_run(SGD(0.1, momentum=0.9, nesterov=True), 4), theta, rtol=1e-14)


def test_nesterov_differs_from_plain_momentum():
    assert not np.allclose(_run(SGD(0.1, momentum=0.9, nesterov=True), 3), _run(SGD(0.1, momentum=0.9), 3))


def test_adam_reference():
    b1, b2, eps, lr = 0.9, 0.999, 1e-7, 0.01
    theta, m, v = np.array([1.0, 2.0, -0.5, 0.0]), np.zeros(4), np.zeros(4)
    for t in range(1, 6):
        g = _grad(theta)
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        alpha = lr * math.sqrt(1 - b2 ** t) / (1 - b1 ** t)
        theta = theta - alpha * m / (np.sqrt(v) + eps)
    np.testing.assert_allclose(_run(Adam(lr), 5), theta, rtol=1e-13)


def test_adam_first_step_moves_each_weight_by_about_the_learning_rate():
    theta = _run(Adam(0.1), 1)
    np.testing.assert_allclose(np.abs(theta - [1.0, 2.0, -0.5, 0.0]), 0.1, rtol=1e-4)   # |g| / (|g| + ε)


def test_weight_decay_adds_two_lambda_w_to_kernel_slices_only():
    lam, lr = 0.05, 0.1
    theta0 = np.array([1.0, 2.0, -0.5, 0.0])
    kernel = slice(0, 2)
    g = _grad(theta0)
    expected = theta0 - lr * g
    expected[kernel] -= lr * 2 * lam * theta0[kernel]             # ∂(λ Σ w²)/∂w = 2λw, kernels only
    opt = SGD(lr, weight_decay=lam)
    np.testing.assert_allclose(_run(opt, 1, theta0.copy(), [kernel]), expected, rtol=1e-14)
    assert opt.penalty(theta0) == pytest.approx(lam * (1.0 + 4.0))


def test_weight_decay_in_model_gradients_touches_kernels_not_biases():
    nf.config.set_floatx("float64")
    try:
        def grads(lam):
            model = nf.Sequential([Dense(3, activation="tanh", input_shape=(2,), bias_initializer="ones"),
                                   Dense(1)], seed=4)
            model.compile(SGD(0.1, weight_decay=lam), "mse")
            x, y = np.random.default_rng(0).standard_normal((5, 2)), np.ones((5, 1))
            loss, g = model.loss_and_gradients(x, y)
            return model, loss, g
        model, loss0, g0 = grads(0.0)
        _, loss1, g1 = grads(0.3)
    finally:
        nf.config.set_floatx("float32")
    w = model.get_weights()
    for k in (0, 2):                                               # kernels
        np.testing.assert_allclose(g1[k] - g0[k], 2 * 0.3 * w[k], rtol=1e-12)
    for k in (1, 3):                                               # biases
        np.testing.assert_array_equal(g1[k], g0[k])
    assert loss1 - loss0 == pytest.approx(0.3 * (np.sum(w[0] ** 2) + np.sum(w[2] ** 2)))


def test_clipnorm_rescales_the_gradient_to_the_limit():
    theta, g = np.zeros(2), np.array([3.0, 4.0])                    # ‖g‖ = 5
    opt = SGD(1.0, clipnorm=1.0)
    opt.build(theta)
    opt.step(theta, g.copy())
    np.testing.assert_allclose(theta, [-0.6, -0.8])


def test_clipnorm_leaves_small_gradients_alone():
    theta = np.zeros(2)
    opt = SGD(1.0, clipnorm=10.0)
    opt.build(theta)
    opt.step(theta, np.array([3.0, 4.0]))
    np.testing.assert_allclose(theta, [-3.0, -4.0])


def test_clipvalue_clips_each_entry():
    theta = np.zeros(3)
    opt = SGD(1.0, clipvalue=0.5)
    opt.build(theta)
    opt.step(theta, np.array([3.0, -0.2, -4.0]))
    np.testing.assert_allclose(theta, [-0.5, 0.2, 0.5])


def test_inverse_time_decay_schedule():
    schedule = InverseTimeDecay(0.1, decay_steps=2, decay_rate=0.5)
    np.testing.assert_allclose([schedule(r) for r in range(4)],
                               [0.1 / (1 + 0.5 * r / 2) for r in range(4)], rtol=1e-15)


def test_sgd_uses_the_schedule_step_by_step():
    schedule = InverseTimeDecay(0.2, decay_steps=1, decay_rate=1.0)
    theta_ref = np.array([1.0, 2.0, -0.5, 0.0])
    for r in range(3):
        theta_ref = theta_ref - 0.2 / (1 + r) * _grad(theta_ref)   # γ_r = γ_0 / (1 + r)
    opt = SGD(schedule)
    np.testing.assert_allclose(_run(opt, 3), theta_ref, rtol=1e-14)
    assert opt.iterations == 3 and opt.current_learning_rate() == pytest.approx(0.05)


def test_exponential_decay_schedule():
    assert ExponentialDecay(1.0, decay_steps=10, decay_rate=0.5)(20) == pytest.approx(0.25)


@pytest.mark.parametrize("make", [lambda: SGD(0.1, momentum=0.9, nesterov=True), lambda: Adam(0.05),
                                  lambda: SGD(InverseTimeDecay(0.1, 1, 0.5), momentum=0.5)])
def test_state_round_trip_continues_identically(make):
    a = make()
    theta_a = _run(a, 3)
    state = a.get_state()
    b = make()
    theta_b = theta_a.copy()
    b.build(theta_b)
    b.set_state(state)
    for _ in range(4):
        a.step(theta_a, _grad(theta_a))
        b.step(theta_b, _grad(theta_b))
    np.testing.assert_array_equal(theta_a, theta_b)
    assert a.iterations == b.iterations == 7


def test_get_state_returns_copies():
    opt = Adam(0.1)
    theta = _run(opt, 2)
    state = opt.get_state()
    opt.step(theta, _grad(theta))
    assert not np.array_equal(state["m"], opt.m)


def test_serialize_and_get_round_trip_with_schedule():
    opt = SGD(InverseTimeDecay(0.1, 5, 1.0), momentum=0.5, nesterov=True, weight_decay=1e-3, clipnorm=2.0)
    again = optimizers.get(optimizers.serialize(opt))
    assert isinstance(again, SGD) and again.get_config() == opt.get_config()
    assert again.current_learning_rate() == pytest.approx(0.1)


def test_get_by_name():
    assert isinstance(optimizers.get("sgd"), SGD)
    assert isinstance(optimizers.get("Adam"), Adam)
    opt = Adam()
    assert optimizers.get(opt) is opt


def test_learning_rate_accepts_numpy_scalars():
    assert SGD(np.float32(0.5)).learning_rate == pytest.approx(0.5)


@pytest.mark.parametrize("lr", [0, -0.1, float("nan"), float("inf"), "fast", None])
def test_bad_learning_rate(lr):
    with pytest.raises(ValueError, match=r"SGD: expected learning_rate a positive number or a schedule"):
        SGD(lr)


@pytest.mark.parametrize("kwargs,match", [
    ({"momentum": 1.0}, r"SGD: expected momentum in \[0, 1\), got 1.0"),
    ({"momentum": -0.1}, r"SGD: expected momentum in \[0, 1\)"),
    ({"momentum": "0.9"}, r"SGD: expected momentum in \[0, 1\), got '0.9'"),
    ({"weight_decay": -1.0}, r"SGD: expected weight_decay a non-negative number, got -1.0"),
    ({"clipnorm": -1.0}, r"SGD: expected clipnorm a non-negative number"),
    ({"clipvalue": "big"}, r"SGD: expected clipvalue a non-negative number"),
])
def test_bad_sgd_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        SGD(0.1, **kwargs)


@pytest.mark.parametrize("kwargs,match", [({"beta_1": 1.0}, r"Adam: expected beta_1 in \[0, 1\), got 1.0"),
                                          ({"beta_2": -0.5}, r"Adam: expected beta_2 in \[0, 1\)")])
def test_bad_adam_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        Adam(**kwargs)


def test_unknown_optimizer_lists_supported():
    with pytest.raises(ValueError, match=r"unknown optimizer 'adadelta'; supported: sgd, rmsprop, adagrad, adam"):
        optimizers.get("adadelta")
