"""RMSprop, Adagrad, Nadam, AdamW: each step equals Keras 3's published formula, computed by hand here.

The references below are written from Keras 3's ``update_step`` (keras/src/optimizers/*.py),
one scalar formula per line, independently of netfit's in-place vector code.
"""
import math

import numpy as np
import pytest

import netfit as nf
from netfit import optimizers
from netfit.optimizers import Adagrad, AdamW, Nadam, RMSprop
from netfit.layers import Dense

THETA0 = np.array([1.0, 2.0, -0.5, 0.0])
TARGET = np.array([0.5, -1.0, 2.0, 0.25])


def _grad(theta):
    return theta - TARGET + 0.1 * np.sin(3 * theta)


def _run(opt, steps, decay_slices=()):
    theta = THETA0.copy()
    opt.build(theta, decay_slices)
    for _ in range(steps):
        opt.step(theta, _grad(theta))
    return theta


# -- Keras's own doc examples, numbers from its docstrings ---------------------------------------------
def test_rmsprop_matches_the_keras_docstring_example():
    theta = np.array([10.0])                                    # R = θ²/2, g = θ; Keras prints 9.683772
    opt = RMSprop(learning_rate=0.1)
    opt.build(theta)
    opt.step(theta, theta.copy())
    assert theta[0] == pytest.approx(9.683772, abs=1e-6)


# -- one step by hand -----------------------------------------------------------------------------------
def test_one_step_of_each_by_hand():
    g = 0.5
    theta = np.array([1.0]); opt = RMSprop(0.01); opt.build(theta); opt.step(theta, np.array([g]))
    assert theta[0] == pytest.approx(1 - 0.01 * 0.5 / math.sqrt(0.1 * 0.25 + 1e-7), rel=1e-14)
    theta = np.array([1.0]); opt = Adagrad(0.01); opt.build(theta); opt.step(theta, np.array([g]))
    assert theta[0] == pytest.approx(1 - 0.01 * 0.5 / math.sqrt(0.1 + 0.25 + 1e-7), rel=1e-14)
    theta = np.array([1.0]); opt = AdamW(0.01, weight_decay=0.1); opt.build(theta, [slice(0, 1)])
    opt.step(theta, np.array([g]))
    # decay 1 − 0.01·0.1, then Keras's Adam step −α m / (√v + ε) with α = γ √(1 − β₂) / (1 − β₁),
    # m = 0.1·0.5 and v = 0.001·0.25 (ε on the uncorrected √v, as Keras).
    step = 0.01 * math.sqrt(0.001) / 0.1 * 0.05 / (math.sqrt(0.00025) + 1e-7)
    assert theta[0] == pytest.approx(1 * (1 - 0.001) - step, rel=1e-12)


# -- several steps against the scalar formulas ----------------------------------------------------------
def test_rmsprop_reference_plain_centered_and_momentum():
    for centered in (False, True):
        for momentum in (0.0, 0.8):
            theta, v, a, mom = THETA0.copy(), np.zeros(4), np.zeros(4), np.zeros(4)
            for _ in range(5):
                g = _grad(theta)
                v = 0.9 * v + 0.1 * g * g
                if centered:
                    a = 0.9 * a + 0.1 * g
                    denominator = v - a * a + 1e-7
                else:
                    denominator = v + 1e-7
                increment = 0.01 * g / np.sqrt(denominator)
                if momentum:
                    mom = momentum * mom + increment
                    theta = theta - mom
                else:
                    theta = theta - increment
            got = _run(RMSprop(0.01, momentum=momentum, centered=centered), 5)
            np.testing.assert_allclose(got, theta, rtol=1e-13, err_msg=f"centered={centered} momentum={momentum}")


def test_adagrad_reference():
    theta, acc = THETA0.copy(), np.full(4, 0.1)
    for _ in range(6):
        g = _grad(theta)
        acc = acc + g * g
        theta = theta - 0.05 * g / np.sqrt(acc + 1e-7)
    np.testing.assert_allclose(_run(Adagrad(0.05), 6), theta, rtol=1e-13)


def test_nadam_reference():
    b1, b2, eps, lr = 0.9, 0.999, 1e-7, 0.01
    theta, m, v, u_product = THETA0.copy(), np.zeros(4), np.zeros(4), 1.0
    for it in range(6):
        g = _grad(theta)
        local, nxt = it + 1, it + 2
        u_t = b1 * (1 - 0.5 * 0.96 ** local)                     # Keras 3: 0.96^t (Keras 2: 0.96^(0.004 t))
        u_t1 = b1 * (1 - 0.5 * 0.96 ** nxt)
        u_product = u_product * u_t                              # Keras's _backend_update_step, first
        u_product_t1 = u_product * u_t1
        m = m + (g - m) * (1 - b1)
        v = v + (g * g - v) * (1 - b2)
        m_hat = u_t1 * m / (1 - u_product_t1) + (1 - u_t) * g / (1 - u_product)
        v_hat = v / (1 - b2 ** local)
        theta = theta - m_hat * lr / (np.sqrt(v_hat) + eps)
    np.testing.assert_allclose(_run(Nadam(lr), 6), theta, rtol=1e-12)


def test_adamw_reference_decays_only_the_given_slices():
    b1, b2, eps, lr, wd = 0.9, 0.999, 1e-7, 0.01, 0.1
    theta, m, v = THETA0.copy(), np.zeros(4), np.zeros(4)
    for it in range(5):
        g = _grad(theta)
        theta[:2] = theta[:2] - theta[:2] * wd * lr             # Keras: var − var · wd · lr, before the step
        t = it + 1
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        alpha = lr * math.sqrt(1 - b2 ** t) / (1 - b1 ** t)
        theta = theta - alpha * m / (np.sqrt(v) + eps)             # Keras's Adam formula, as netfit's Adam
    np.testing.assert_allclose(_run(AdamW(lr, weight_decay=wd), 5, [slice(0, 2)]), theta, rtol=1e-10)


def test_adamw_decay_is_not_a_loss_penalty_and_not_the_coupled_one():
    opt = AdamW(0.01, weight_decay=0.5)
    assert opt.weight_decay == 0.0 and opt.penalty(np.ones(3)) == 0.0     # nothing added to R or to g
    assert opt.get_config()["weight_decay"] == 0.5
    assert optimizers.get(optimizers.serialize(opt)).decoupled_weight_decay == 0.5
    assert AdamW().decoupled_weight_decay == 0.004                         # Keras's default
    # Coupled (ESL) decay on Adam goes through √v; decoupled does not: different steps.
    coupled, decoupled = _run(optimizers.Adam(0.01, weight_decay=0.5), 3, [slice(0, 4)]), \
        _run(AdamW(0.01, weight_decay=0.5), 3, [slice(0, 4)])
    assert not np.allclose(coupled, decoupled)


# -- defaults, state, registry --------------------------------------------------------------------------
def test_keras_defaults():
    r, a, n, w = RMSprop(), Adagrad(), Nadam(), AdamW()
    assert (r.learning_rate, r.rho, r.momentum, r.epsilon, r.centered) == (0.001, 0.9, 0.0, 1e-7, False)
    assert (a.learning_rate, a.initial_accumulator_value, a.epsilon) == (0.001, 0.1, 1e-7)
    assert (n.learning_rate, n.beta_1, n.beta_2, n.epsilon) == (0.001, 0.9, 0.999, 1e-7)
    assert (w.learning_rate, w.decoupled_weight_decay, w.beta_1, w.beta_2, w.epsilon) == (0.001, 0.004, 0.9,
                                                                                           0.999, 1e-7)


@pytest.mark.parametrize("make", [lambda: RMSprop(0.01, momentum=0.5, centered=True), lambda: Adagrad(0.1),
                                  lambda: Nadam(0.01), lambda: AdamW(0.01, weight_decay=0.1)])
def test_state_round_trip_continues_identically(make):
    a = make()
    theta_a = _run(a, 3, [slice(0, 2)])
    b = optimizers.get(optimizers.serialize(a))
    theta_b = theta_a.copy()
    b.build(theta_b, [slice(0, 2)])
    b.set_state(a.get_state())
    for _ in range(4):
        a.step(theta_a, _grad(theta_a))
        b.step(theta_b, _grad(theta_b))
    np.testing.assert_array_equal(theta_a, theta_b)


@pytest.mark.parametrize("name", ["rmsprop", "adagrad", "nadam", "adamw"])
def test_save_load_resumes_training_exactly(name, tmp_path):
    x = np.random.default_rng(0).standard_normal((32, 3))
    y = x @ np.array([[1.0], [-2.0], [0.5]])
    def model():
        m = nf.Sequential([Dense(4, activation="tanh", input_shape=(3,)), Dense(1)], seed=0, dtype="float64")
        m.compile(optimizers.get(name), loss="mse")
        return m
    a = model()
    a.fit(x, y, epochs=2, batch_size=8, shuffle=False, verbose=0)
    a.save(tmp_path / "m.netfit")
    b = nf.load_model(tmp_path / "m.netfit")
    assert type(b.optimizer) is type(a.optimizer)
    a.fit(x, y, epochs=2, batch_size=8, shuffle=False, verbose=0)
    b.fit(x, y, epochs=2, batch_size=8, shuffle=False, verbose=0)
    for wa, wb in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_array_equal(wa, wb)


@pytest.mark.parametrize("name", ["rmsprop", "adagrad", "nadam", "adamw"])
def test_each_trains_a_small_regression(name):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((64, 2))
    y = np.sin(x[:, :1]) + 0.5 * x[:, 1:]
    model = nf.Sequential([Dense(8, activation="tanh", input_shape=(2,)), Dense(1)], seed=0)
    model.compile(optimizers.get({"class_name": name, "config": {"learning_rate": 0.02}}), loss="mse")
    history = model.fit(x, y, epochs=20, batch_size=16, verbose=0)
    assert history.history["loss"][-1] < 0.5 * history.history["loss"][0]


def test_registry_names():
    for name, cls in (("rmsprop", RMSprop), ("adagrad", Adagrad), ("nadam", Nadam), ("adamw", AdamW),
                      ("RMSprop", RMSprop), ("AdamW", AdamW)):
        assert isinstance(optimizers.get(name), cls)
    assert optimizers.RMSprop is RMSprop                       # importable from netfit.optimizers too


@pytest.mark.parametrize("call,match", [
    (lambda: RMSprop(rho=1.0), r"RMSprop: expected rho in \[0, 1\), got 1.0"),
    (lambda: RMSprop(rho="0.9"), r"RMSprop: expected rho in \[0, 1\)"),
    (lambda: RMSprop(momentum=-0.1), r"RMSprop: expected momentum in \[0, 1\)"),
    (lambda: RMSprop(epsilon=0), r"RMSprop: expected epsilon a positive number"),
    (lambda: RMSprop(learning_rate=0), r"RMSprop: expected learning_rate a positive number"),
    (lambda: Adagrad(initial_accumulator_value=-1), r"Adagrad: expected initial_accumulator_value a non-negative"),
    (lambda: Adagrad(epsilon=float("nan")), r"Adagrad: expected epsilon a positive number"),
    (lambda: Nadam(beta_1=1.0), r"Nadam: expected beta_1 in \[0, 1\)"),
    (lambda: Nadam(beta_2=-0.1), r"Nadam: expected beta_2 in \[0, 1\)"),
    (lambda: Nadam(epsilon=-1e-7), r"Nadam: expected epsilon a positive number"),
    (lambda: AdamW(weight_decay=-0.1), r"AdamW: expected weight_decay a non-negative finite number"),
    (lambda: AdamW(weight_decay=float("inf")), r"AdamW: expected weight_decay a non-negative finite number"),
    (lambda: AdamW(beta_1=2), r"Adam: expected beta_1 in \[0, 1\)"),
])
def test_bad_arguments(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_rmsprop_centered_must_be_a_bool():
    with pytest.raises(TypeError, match=r"RMSprop: expected centered True or False, got 'yes'"):
        RMSprop(centered="yes")


def test_nadam_first_step_by_hand():
    # t = 1: μ_1 = 0.9 (1 − ½ 0.96) = 0.468, μ_2 = 0.9 (1 − ½ 0.96²) = 0.48528, Π_1 = μ_1;
    # m = 0.1 g, v = 0.001 g², v̂ = g², so θ = 1 − γ m̂ / (|g| + ε).
    g, mu1, mu2 = 0.5, 0.468, 0.48528
    m_hat = mu2 * 0.05 / (1 - mu1 * mu2) + (1 - mu1) * g / (1 - mu1)
    theta = np.array([1.0]); opt = Nadam(0.1); opt.build(theta); opt.step(theta, np.array([g]))
    assert theta[0] == pytest.approx(1 - 0.1 * m_hat / (0.5 + 1e-7), rel=1e-12)
    assert opt.u_product == pytest.approx(mu1, rel=1e-14)
