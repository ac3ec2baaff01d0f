"""SDLM: the diagonal Gauss–Newton backward against Jacobians and loops, the step, and its refusals."""
import numpy as np
import pytest

import netfit as nf
from netfit.layers import AveragePooling2D, Conv2D, Dense, Flatten
from netfit.sdlm import SDLM, diagonal_hessian


def model64(layers, seed=0):
    model = nf.Sequential(layers, seed=seed, dtype="float64")
    model.compile(optimizer=SDLM(0.01), loss="mse")
    model.build()
    return model


def gauss_newton_diagonal(model, x, eps=1e-6):
    """Exact diag of (2/nK) Σ_i J_iᵀ J_i, J_i = ∂f(x_i)/∂θ by central differences: slow and obvious."""
    theta = model._theta
    n, k = len(x), model.output_shape[-1]
    diag = np.zeros_like(theta)
    for j in range(theta.size):
        old = theta[j]
        theta[j] = old + eps
        up = model.predict(x)
        theta[j] = old - eps
        down = model.predict(x)
        theta[j] = old
        jac = (up - down) / (2 * eps)                      # ∂f_ik/∂θ_j for every example and output
        diag[j] = 2.0 / (n * k) * np.sum(jac ** 2)
    return diag


def test_exact_where_no_terms_are_dropped():
    # One hidden unit (no cross terms between hidden units) and no sharing: LeCun's diagonal
    # backward is then the exact Gauss–Newton diagonal, including through scaled tanh.
    model = model64([Dense(1, activation="scaled_tanh", input_shape=(3,)), Dense(4, activation="tanh")])
    x = np.random.default_rng(0).normal(size=(5, 3))
    np.testing.assert_allclose(diagonal_hessian(model, x), gauss_newton_diagonal(model, x), rtol=1e-6, atol=1e-12)


def test_output_layer_is_exact_in_any_net():
    model = model64([Dense(6, activation="tanh", input_shape=(4,)), Dense(3, activation="sigmoid")], seed=1)
    x = np.random.default_rng(1).normal(size=(7, 4))
    h, exact = diagonal_hessian(model, x), gauss_newton_diagonal(model, x)
    top = slice(4 * 6 + 6, None)
    np.testing.assert_allclose(h[top], exact[top], rtol=1e-6)
    assert (h >= 0).all() and (h[:top.start] > 0).all()


def test_conv_with_table_and_pad_value_matches_loops():
    table = np.array([[True, False, True], [False, True, True]])
    conv = Conv2D(3, 3, strides=2, padding="same", connections=table, pad_value=-1.0, bias="per_unit",
                  activation="tanh", input_shape=(5, 5, 2))
    model = model64([conv, Flatten(), Dense(2, activation="tanh")], seed=2)
    rng = np.random.default_rng(2)
    for w in model.weights:
        w[...] = rng.uniform(-0.5, 0.5, w.shape)
    x = rng.uniform(-1, 1, (3, 5, 5, 2))
    h = diagonal_hessian(model, x)
    # The same recursion by hand: ∂²R/∂f², through tanh, the dense weights squared, tanh again.
    out = model.predict(x)
    a = conv.forward(x).copy()                                          # the conv layer's tanh output
    h_f = np.full(out.shape, 2.0 / out.size) * (1 - out ** 2) ** 2
    w2 = model.layers[2].params["kernel"] ** 2
    h_z = (h_f @ w2.T).reshape(a.shape) * (1 - a ** 2) ** 2             # (n, 3, 3, 3)
    xp = np.pad(x, ((0, 0), (1, 1), (1, 1), (0, 0)), constant_values=-1.0)   # 5 → 3: one padded pixel each side
    full = np.zeros((3, 3, 2, 3))
    for u in range(3):
        for v in range(3):
            window = xp[:, u:u + 5:2, v:v + 5:2, :]                       # (n, 3, 3, c): pixel (u, v) of each window
            full[u, v] = np.einsum("npqc,npqf->cf", window ** 2, h_z)
    expected_kernel = full.reshape(3, 3, -1)[:, :, table.ravel()]
    k = expected_kernel.size
    np.testing.assert_allclose(h[:k], expected_kernel.ravel(), rtol=1e-10)
    np.testing.assert_allclose(h[k:k + 27], h_z.sum(axis=0).ravel(), rtol=1e-10)   # per-unit biases: Σ_i ∂²R/∂z²


def test_a_step_divides_the_gradient_by_mu_plus_h():
    model = model64([Dense(2, activation="tanh", input_shape=(3,)), Dense(2, activation="tanh")], seed=3)
    model.compile(optimizer=SDLM(0.1, mu=0.01, samples=4), loss="mse")
    rng = np.random.default_rng(3)
    x, y = rng.normal(size=(4, 3)), rng.uniform(-1, 1, (4, 2))
    h = diagonal_hessian(model, x)
    before = model._theta.copy()
    _, grads = model.loss_and_gradients(x[:1], y[:1])
    g = np.concatenate([gr.ravel() for gr in grads])
    model.fit(x[:1], y[:1], batch_size=1, epochs=1, shuffle=False, verbose=0)   # h estimated on x[:1] only
    # The estimate used is the one on the first `samples` rows of the data given to fit: x[:1] here.
    model2 = model64([Dense(2, activation="tanh", input_shape=(3,)), Dense(2, activation="tanh")], seed=3)
    h_used = diagonal_hessian(model2, x[:1])
    np.testing.assert_allclose(model._theta, before - 0.1 * g / (0.01 + h_used), rtol=1e-10)
    assert not np.allclose(h_used, h)


def test_config_round_trip_and_registry():
    opt = nf.optimizers.get("sdlm")
    assert isinstance(opt, SDLM) and opt.mu == 0.004 and opt.samples == 500
    again = nf.optimizers.get(nf.optimizers.serialize(SDLM(0.001, mu=0.02, samples=50)))
    assert (again.learning_rate, again.mu, again.samples) == (0.001, 0.02, 50)


@pytest.mark.parametrize("kwargs, message", [
    ({"mu": 0}, r"SDLM: expected mu a positive finite number, got 0"),
    ({"mu": float("inf")}, r"SDLM: expected mu a positive finite number, got inf"),
    ({"samples": 0}, r"SDLM: expected samples"),
    ({"learning_rate": -1}, r"SDLM: expected learning_rate a positive number"),
])
def test_bad_arguments_are_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        SDLM(**kwargs)


def test_other_losses_and_layers_are_refused_before_any_step():
    model = nf.Sequential([Dense(3, activation="softmax", input_shape=(2,))], seed=0)
    model.compile(optimizer=SDLM(), loss="categorical_crossentropy")
    x, y = np.zeros((4, 2), "float32"), np.eye(3, dtype="float32")[[0, 1, 2, 0]]
    model.build()
    before = model.get_weights()
    with pytest.raises(ValueError, match=r"SDLM: expected loss 'mse'.*got 'categorical_crossentropy'"):
        model.fit(x, y, verbose=0)
    assert all(np.array_equal(u, v) for u, v in zip(before, model.get_weights()))
    pooled = nf.Sequential([Conv2D(2, 3, padding="same", input_shape=(4, 4, 1)), AveragePooling2D(2), Flatten(),
                            Dense(2)], seed=0)
    pooled.compile(optimizer=SDLM(), loss="mse")
    pooled.build()
    before = pooled.get_weights()
    with pytest.raises(ValueError, match=r"SDLM: cannot carry second derivatives through layer "
                                         r"'average_pooling2d' \(AveragePooling2D\)"):
        pooled.fit(np.zeros((2, 4, 4, 1), "float32"), np.zeros((2, 2), "float32"), verbose=0)
    assert all(np.array_equal(u, v) for u, v in zip(before, pooled.get_weights()))


def test_layers_with_unsaveable_initializers_are_fine():
    def ones(shape, rng, dtype, fan_in=None, fan_out=None):
        return np.full(shape, 0.1, dtype)
    model = model64([Dense(2, activation="tanh", kernel_initializer=ones, input_shape=(3,)), Dense(1)])
    h = diagonal_hessian(model, np.ones((2, 3)))
    assert h.shape == (model.count_params(),) and (h > 0).all()
    assert model.layers[0].params["kernel"][0, 0] == 0.1            # the real weights are untouched
