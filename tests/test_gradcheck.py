"""Finite differences themselves, whole-model checks, and the hand-worked 2-2-1 example (ESL §11.4)."""
import math

import numpy as np
import pytest

import netfit as nf
from netfit.gradcheck import check_model, numerical_gradient, relative_error
from netfit.layers import Activation, BatchNormalization, Dense, Dropout, Flatten
from netfit.utils import to_categorical

TOL = 1e-6


# -- numerical_gradient and relative_error ---------------------------------------------------------------
def test_numerical_gradient_of_simple_functions():
    x = np.array([[1.0, -2.0], [0.5, 3.0]])
    np.testing.assert_allclose(numerical_gradient(lambda: float(np.sum(x ** 3)), x), 3 * x ** 2, rtol=1e-8)
    np.testing.assert_allclose(numerical_gradient(lambda: float(np.sin(x).sum()), x), np.cos(x), rtol=1e-8)
    w = np.array([2.0, -1.0, 0.5])
    np.testing.assert_allclose(numerical_gradient(lambda: float(np.exp(w @ [1.0, 2.0, 3.0])), w),
                               math.exp(w @ [1.0, 2.0, 3.0]) * np.array([1.0, 2.0, 3.0]), rtol=1e-8)


def test_numerical_gradient_restores_x_and_honours_indices():
    x = np.array([1.0, 2.0, 3.0])
    g = numerical_gradient(lambda: float(x @ x), x, indices=[2])
    np.testing.assert_array_equal(x, [1.0, 2.0, 3.0])
    np.testing.assert_allclose(g, [0.0, 0.0, 6.0], atol=1e-8)


def test_numerical_gradient_refuses_float32():
    with pytest.raises(TypeError, match=r"numerical_gradient: expected a float64 array, got float32; "
                                        r"call nf.config.set_floatx\('float64'\)"):
        numerical_gradient(lambda: 0.0, np.zeros(2, np.float32))


def test_relative_error():
    assert relative_error([0.0, 0.0], [0.0, 0.0]) == 0.0
    assert relative_error([1.0, 0.0], [1.0, 0.0]) == 0.0
    assert relative_error([1.0], [-1.0]) == pytest.approx(1.0)
    assert relative_error([1.0], [1.1]) == pytest.approx(0.1 / 2.1)


# -- whole-model checks ---------------------------------------------------------------------------------
def _data(loss, n=6, n_in=3, k=3, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, n_in))
    labels = rng.integers(0, k, n)
    if loss == "sparse_categorical_crossentropy":
        return x, labels
    if loss == "categorical_crossentropy":
        return x, to_categorical(labels, k, dtype="float64")
    if loss == "binary_crossentropy":
        return x, rng.integers(0, 2, (n, k)).astype(np.float64)
    return x, rng.standard_normal((n, k))


def _model(hidden, output, loss, optimizer="sgd", extra=()):
    model = nf.Sequential([Dense(5, activation=hidden, input_shape=(3,), bias_initializer="random_uniform"),
                           Dense(4, activation=hidden, bias_initializer="random_uniform"),
                           *extra, Dense(3, activation=output, bias_initializer="random_uniform")],
                          seed=11, dtype="float64")
    model.compile(optimizer=optimizer, loss=loss)
    return model


@pytest.mark.parametrize("loss,output", [
    ("mse", None),
    ("mse", "softmax"),                                            # softmax's full Jacobian, not fused
    ("categorical_crossentropy", "softmax"),                       # fused
    ("sparse_categorical_crossentropy", "softmax"),                # fused
    ("binary_crossentropy", "sigmoid"),                            # fused
    # not fused: (p − y) / p(1 − p) through J. compile warns that the pair makes little sense; its gradient
    # must still be right.
    pytest.param("binary_crossentropy", "softmax",
                 marks=pytest.mark.filterwarnings("ignore:.*binary_crossentropy after a softmax:UserWarning")),
])
@pytest.mark.parametrize("hidden", ["tanh", "sigmoid", "relu"])
def test_check_model_for_each_loss(loss, output, hidden):
    model = _model(hidden, output, loss)
    x, y = _data(loss)
    model.build()
    assert model._fused == [output is not None and output == model.loss.fuses_with]
    errors = check_model(model, x, y)
    assert len(errors) == 6 and max(errors.values()) < TOL, errors


@pytest.mark.parametrize("hidden", ["tanh", "sigmoid", "relu"])
def test_check_model_unfused_categorical_crossentropy_through_the_softmax_jacobian(hidden):
    """A layer after the softmax (here Flatten) keeps the pair apart: −Y / p goes through softmax's Jacobian.

    (Categorical cross-entropy after a sigmoid, the old unfused case, is refused at compile now.)
    """
    model = nf.Sequential([Dense(5, activation=hidden, input_shape=(3,), bias_initializer="random_uniform"),
                           Dense(3, activation="softmax", bias_initializer="random_uniform"), Flatten()],
                          seed=11, dtype="float64")
    model.compile(optimizer="sgd", loss="categorical_crossentropy")
    model.build()
    assert not model._fused[0]
    x, y = _data("categorical_crossentropy")
    assert max(check_model(model, x, y).values()) < TOL


def test_check_model_with_weight_decay_dropout_and_activation_layer():
    model = nf.Sequential([Flatten(input_shape=(2, 3)), Dense(5, activation="elu"), Dropout(0.5),
                           Dense(3), Activation("softmax")], seed=3, dtype="float64")
    model.compile(optimizer=nf.optimizers.Adam(weight_decay=0.01), loss="categorical_crossentropy")
    model.build()
    assert model._fused[0]                                         # softmax as a layer of its own still fuses
    rng = np.random.default_rng(1)
    x, y = rng.standard_normal((4, 2, 3)), to_categorical(rng.integers(0, 3, 4), 3, dtype="float64")
    errors = check_model(model, x, y)
    assert max(errors.values()) < TOL, errors


def test_check_model_max_checks_samples_entries():
    model = _model("tanh", "softmax", "categorical_crossentropy")
    x, y = _data("categorical_crossentropy")
    assert max(check_model(model, x, y, max_checks=4).values()) < TOL


def test_a_broken_backward_fails_the_check(monkeypatch):
    model = _model("tanh", "softmax", "categorical_crossentropy")
    x, y = _data("categorical_crossentropy")
    original = Dense.backward

    def broken(self, delta, need_input_grad=True):
        s = original(self, delta, need_input_grad)
        for g in self.grads.values():
            g *= 1.1                                              # every weight gradient 10 % too large
        return s

    monkeypatch.setattr(Dense, "backward", broken)
    errors = check_model(model, x, y)
    assert min(errors.values()) > 1e-3, errors


# -- the hand-worked 2-2-1 example ------------------------------------------------------------------
def test_hand_worked_two_two_one_sigmoid_network():
    """ESL §11.4 by hand: two inputs, two sigmoid hidden units, one sigmoid output, squared error.

    Forward (ESL 11.5, with an output sigmoid g = σ):
        z_mi = σ(α_0m + α_mᵀ x_i),   m = 1, 2
        T_i  = β_0 + βᵀ z_i,         f(x_i) = σ(T_i)
    netfit's loss is the mean over the n examples and K = 1 outputs:
        R = (1/nK) Σ_i (y_i − f(x_i))²
    Back-propagation equations (ESL 11.13–11.16), with the 1/nK folded into δ:
        δ_i  = 2 (f(x_i) − y_i) / nK · σ'(T_i),   σ'(T) = f (1 − f)
        s_mi = σ'(α_0m + α_mᵀ x_i) β_m δ_i,        σ'    = z_mi (1 − z_mi)
        ∂R/∂β_m  = Σ_i δ_i z_mi      ∂R/∂β_0  = Σ_i δ_i
        ∂R/∂α_ml = Σ_i s_mi x_il     ∂R/∂α_0m = Σ_i s_mi
    netfit stores α_ml at kernel[l, m] (rows = inputs, Keras layout), β_m at kernel[m, 0].
    """
    sig = lambda t: 1.0 / (1.0 + math.exp(-t))                    # noqa: E731
    X = [(1.0, 2.0), (-1.0, 0.5)]
    Y = [1.0, 0.0]
    n, K = 2, 1
    alpha0 = [0.05, -0.1]                                          # α_01, α_02
    alpha = [[0.1, -0.2],                                          # α_1 = (α_11, α_12)
             [0.4, 0.3]]                                           # α_2 = (α_21, α_22)
    beta0, beta = 0.2, [0.7, -0.5]

    # Forward, one example at a time.
    z = [[sig(alpha0[m] + alpha[m][0] * x[0] + alpha[m][1] * x[1]) for m in range(2)] for x in X]
    f = [sig(beta0 + beta[0] * zi[0] + beta[1] * zi[1]) for zi in z]
    # Example 1: z_11 = σ(0.05 + 0.1·1 − 0.2·2) = σ(−0.25),  z_21 = σ(−0.1 + 0.4·1 + 0.3·2) = σ(0.9)
    assert z[0] == pytest.approx([0.437823, 0.710950], abs=1e-6)
    # T_1 = 0.2 + 0.7·0.437823 − 0.5·0.710950 = 0.151002,  f_1 = σ(0.151002)
    assert f[0] == pytest.approx(0.537679, abs=1e-6)
    # Example 2: z_12 = σ(0.05 − 0.1 − 0.1) = σ(−0.15),  z_22 = σ(−0.1 − 0.4 + 0.15) = σ(−0.35)
    assert z[1] == pytest.approx([0.462570, 0.413382], abs=1e-6)
    assert f[1] == pytest.approx(0.578619, abs=1e-6)
    R = sum((Y[i] - f[i]) ** 2 for i in range(n)) / (n * K)

    # Backward.
    delta = [2.0 * (f[i] - Y[i]) / (n * K) * f[i] * (1.0 - f[i]) for i in range(n)]
    assert delta == pytest.approx([-0.114924, 0.141078], abs=1e-6)
    s = [[z[i][m] * (1.0 - z[i][m]) * beta[m] * delta[i] for m in range(2)] for i in range(n)]
    assert s[0] == pytest.approx([-0.019801, 0.011808], abs=1e-6)
    assert s[1] == pytest.approx([0.024550, -0.017106], abs=1e-6)
    dbeta = [sum(delta[i] * z[i][m] for i in range(n)) for m in range(2)]
    dbeta0 = sum(delta)
    dalpha = [[sum(s[i][m] * X[i][l] for i in range(n)) for m in range(2)] for l in range(2)]   # [l][m]
    dalpha0 = [sum(s[i][m] for i in range(n)) for m in range(2)]

    model = nf.Sequential([Dense(2, activation="sigmoid", input_shape=(2,)), Dense(1, activation="sigmoid")],
                          dtype="float64")
    model.compile(optimizer="sgd", loss="mse")
    model.set_weights([np.array([[alpha[0][0], alpha[1][0]],
                                 [alpha[0][1], alpha[1][1]]]),     # kernel[l, m] = α_ml
                       np.array(alpha0),
                       np.array([[beta[0]], [beta[1]]]),
                       np.array([beta0])])
    loss, grads = model.loss_and_gradients(np.array(X), np.array(Y))

    assert loss == pytest.approx(R, rel=1e-12)
    np.testing.assert_allclose(model.predict(np.array(X))[:, 0], f, rtol=1e-12)
    np.testing.assert_allclose(grads[0], dalpha, rtol=1e-10)
    np.testing.assert_allclose(grads[1], dalpha0, rtol=1e-10)
    np.testing.assert_allclose(grads[2], [[dbeta[0]], [dbeta[1]]], rtol=1e-10)
    np.testing.assert_allclose(grads[3], [dbeta0], rtol=1e-10)


def test_one_sgd_step_on_the_two_two_one_example_is_theta_minus_gamma_gradient():
    model = nf.Sequential([Dense(2, activation="sigmoid", input_shape=(2,)), Dense(1, activation="sigmoid")],
                          seed=0, dtype="float64")
    model.compile(optimizer=nf.optimizers.SGD(0.5), loss="mse")
    x, y = np.array([[1.0, 2.0], [-1.0, 0.5]]), np.array([1.0, 0.0])
    before = model.get_weights()
    _, grads = model.loss_and_gradients(x, y)
    model.fit(x, y, batch_size=None, epochs=1, shuffle=False, verbose=0)   # β^(r+1) = β^(r) − γ ∂R/∂β
    for w0, g, w1 in zip(before, grads, model.get_weights()):
        np.testing.assert_allclose(w1, w0 - 0.5 * g, rtol=1e-12)


def test_check_model_checks_the_backward_of_frozen_layers_too():
    # Frozen layers (a Dense, a BatchNormalization in inference mode) have a real ∂R/∂w that
    # loss_and_gradients reports as zero; the check compares their backward, and leaves them frozen.
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(8, 3)), rng.integers(0, 2, 8)
    model = nf.Sequential([Dense(4, input_shape=(3,), trainable=False), BatchNormalization(trainable=False),
                           Dense(2, activation="softmax")], seed=0, dtype="float64")
    model.compile("sgd", "sparse_categorical_crossentropy")
    model.build()
    model.layers[1].set_weights([rng.uniform(0.5, 2, 4), rng.normal(size=4), rng.normal(size=4),
                                 rng.uniform(0.5, 2, 4)])
    errors = check_model(model, x, y)
    assert len(errors) == 8 and max(errors.values()) < 1e-6
    assert not model.layers[0].trainable and not model.layers[1].trainable
    assert not np.any(model.loss_and_gradients(x, y)[1][0])
