"""Keras's activation layers ReLU, LeakyReLU, PReLU, ELU, Softmax: loops, finite differences, PyTorch, models."""
import math
import warnings

import numpy as np
import pytest

import netfit as nf
from netfit import activations, layers
from netfit.gradcheck import check_layer
from netfit.layers import ELU, Dense, Flatten, LeakyReLU, PReLU, ReLU, Softmax

RELUS = [dict(), dict(max_value=6.0), dict(negative_slope=0.1), dict(threshold=0.5),
         dict(max_value=1.0, negative_slope=0.2, threshold=0.3), dict(max_value=0.0)]


def relu_reference(v, max_value=None, negative_slope=0.0, threshold=0.0):
    """Keras's docstring, one number at a time."""
    if max_value is not None and v >= max_value:
        return max_value
    if v > threshold:
        return v
    return negative_slope * (v - threshold)


def _map(fn, x):
    return np.vectorize(fn, otypes=[float])(x)


@pytest.mark.parametrize("kwargs", RELUS, ids=str)
def test_relu_forward_matches_keras_formula_and_gradients(kwargs):
    x = np.random.default_rng(0).normal(0, 3, (4, 5))
    layer = ReLU(**kwargs)
    layer.setup((5,), dtype=np.float64)
    np.testing.assert_allclose(layer.forward(x), _map(lambda v: relu_reference(v, **kwargs), x), rtol=0, atol=0)
    assert max(check_layer(ReLU(**kwargs), x=x * 1.01 + 0.003).values()) < 1e-8


def test_relu_keras_docstring_example():
    out = ReLU(max_value=10, negative_slope=0.5, threshold=0)(np.array([[-10, -5, 0.0, 5, 10]]))
    np.testing.assert_array_equal(out, [[-5.0, -2.5, 0.0, 5.0, 10.0]])


@pytest.mark.parametrize("slope", [0.3, 0.0, 0.01, 2.0])
def test_leaky_relu(slope):
    x = np.random.default_rng(1).standard_normal((3, 4))
    layer = LeakyReLU(slope)
    layer.setup((4,), dtype=np.float64)
    np.testing.assert_allclose(layer.forward(x), _map(lambda v: v if v >= 0 else slope * v, x), rtol=1e-15)
    assert max(check_layer(LeakyReLU(slope), (4,)).values()) < 1e-8
    assert LeakyReLU().negative_slope == 0.3                     # Keras 3's layer default (the activation's is 0.2)


def test_leaky_relu_takes_keras2_alpha_with_a_warning():
    with pytest.warns(DeprecationWarning, match=r"LeakyReLU: argument `alpha` is deprecated"):
        layer = LeakyReLU(alpha=0.1)
    assert layer.negative_slope == 0.1 and layer.get_config()["negative_slope"] == 0.1


@pytest.mark.parametrize("alpha", [1.0, 0.5, 2.0, -0.5])
def test_elu(alpha):
    x = np.random.default_rng(2).standard_normal((3, 4))
    layer = ELU(alpha)
    layer.setup((4,), dtype=np.float64)
    np.testing.assert_allclose(layer.forward(x), _map(lambda v: v if v > 0 else alpha * math.expm1(v), x),
                               rtol=1e-14)
    assert max(check_layer(ELU(alpha), (4,)).values()) < 1e-8


@pytest.mark.parametrize("axis, shape", [(-1, (5,)), (1, (5,)), (1, (3, 4)), (-2, (3, 4)), (2, (2, 3, 4)),
                                         ([1], (3, 4))])
def test_softmax_along_an_axis(axis, shape):
    x = np.random.default_rng(3).standard_normal((2,) + shape) * 3
    layer = Softmax(axis)
    layer.setup(shape, dtype=np.float64)
    a = layer.forward(x)
    k = (axis[0] if isinstance(axis, list) else axis) % (len(shape) + 1)
    e = np.exp(x)
    expected = np.empty_like(x)
    for idx in np.ndindex(x.shape):                              # each entry over the sum along its axis
        line = list(idx)
        line[k] = slice(None)
        expected[idx] = e[idx] / e[tuple(line)].sum()
    np.testing.assert_allclose(a, expected, rtol=1e-13)
    assert max(check_layer(Softmax(axis), shape).values()) < 1e-8


@pytest.mark.parametrize("shared_axes, shape", [(None, (4,)), (None, (3, 4)), ([1], (3, 4)), ([1, 2], (3, 3, 2)),
                                                (2, (3, 3, 2)), ([1, 2, 3], (2, 3, 2))])
def test_prelu_forward_and_gradients(shared_axes, shape):
    layer = PReLU(alpha_initializer=nf.initializers.RandomUniform(0.1, 0.9), shared_axes=shared_axes)
    layer.setup(shape, rng=np.random.default_rng(0), dtype=np.float64)
    alpha = layer.params["alpha"]
    assert alpha.shape == tuple(1 if k + 1 in ([shared_axes] if isinstance(shared_axes, int) else shared_axes or [])
                                else d for k, d in enumerate(shape))
    x = np.random.default_rng(4).standard_normal((3,) + shape)
    expected = np.where(x > 0, x, np.broadcast_to(alpha, x.shape) * x)
    np.testing.assert_allclose(layer.forward(x), expected, rtol=1e-15)
    assert max(check_layer(layer, x=x).values()) < 1e-8


def test_prelu_starts_as_a_relu():
    layer = PReLU()
    layer.setup((3,))
    assert not layer.params["alpha"].any() and layer.count_params() == 3


def test_pytorch_agrees():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(5)
    cases = [
        (ReLU(), torch.nn.ReLU(), (6,)),
        (ReLU(max_value=6.0), torch.nn.Hardtanh(0.0, 6.0), (6,)),                # relu6
        (ReLU(threshold=0.5), torch.nn.Threshold(0.5, 0.0), (6,)),
        (LeakyReLU(), torch.nn.LeakyReLU(0.3), (6,)),
        (ELU(0.7), torch.nn.ELU(0.7), (6,)),
        (Softmax(), torch.nn.Softmax(dim=-1), (6,)),
        (Softmax(axis=1), torch.nn.Softmax(dim=1), (3, 4)),
    ]
    for layer, module, shape in cases:
        layer.setup(shape, dtype=np.float64)
        x = rng.normal(0, 4, (5,) + shape)
        probe = rng.standard_normal(x.shape)
        t = torch.tensor(x, requires_grad=True)
        (module(t) * torch.tensor(probe)).sum().backward()
        np.testing.assert_allclose(layer.forward(x), module(t).detach().numpy(), rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(layer.backward(probe), t.grad.numpy(), rtol=1e-12, atol=1e-14)
    # PReLU with one α per channel: PyTorch's channels are axis 1, netfit's last.
    layer = PReLU(alpha_initializer=nf.initializers.RandomUniform(0.1, 0.5), shared_axes=[1, 2])
    layer.setup((4, 5, 3), rng=rng, dtype=np.float64)
    module = torch.nn.PReLU(num_parameters=3).double()
    with torch.no_grad():
        module.weight.copy_(torch.tensor(layer.params["alpha"].reshape(-1)))
    x = rng.standard_normal((2, 4, 5, 3))
    probe = rng.standard_normal(x.shape)
    t = torch.tensor(x.transpose(0, 3, 1, 2).copy(), requires_grad=True)
    out = module(t)
    (out * torch.tensor(probe.transpose(0, 3, 1, 2).copy())).sum().backward()
    np.testing.assert_allclose(layer.forward(x), out.detach().numpy().transpose(0, 2, 3, 1), rtol=1e-13)
    np.testing.assert_allclose(layer.backward(probe), t.grad.numpy().transpose(0, 2, 3, 1), rtol=1e-13)
    np.testing.assert_allclose(layer.grads["alpha"].reshape(-1), module.weight.grad.numpy(), rtol=1e-12)


def test_named_activations_round_trip_through_their_names():
    for act in (activations.Relu(max_value=6.0), activations.Relu(negative_slope=0.1, threshold=0.5),
                activations.Elu(0.5), activations.Softmax(axis=1), activations.LeakyRelu(0.3)):
        again = activations.get(act.name)
        assert type(again) is type(act) and again.name == act.name
    assert activations.get("relu") is activations.get(activations.Relu().name)
    model = nf.Sequential([Dense(3, activation=activations.Relu(max_value=1.5), input_shape=(2,)),
                           Dense(2, activation=activations.Elu(0.5))], seed=0)
    config = model.get_config()
    assert [layer["config"]["activation"] for layer in config["layers"]] == ["relu:max_value=1.5", "elu:0.5"]


@pytest.mark.parametrize("make, error, match", [
    (lambda: ReLU(max_value=-1), ValueError, r"Relu: expected max_value a non-negative number, got -1"),
    (lambda: ReLU(negative_slope="0.1"), ValueError, r"Relu: expected negative_slope a non-negative number"),
    (lambda: ReLU(threshold=float("nan")), ValueError, r"Relu: expected threshold a non-negative number, got nan"),
    (lambda: LeakyReLU(-0.1), ValueError, r"LeakyRelu: expected negative_slope a non-negative number"),
    (lambda: ELU("1"), ValueError, r"Elu: expected alpha a finite number, got '1'"),
    (lambda: ELU(float("inf")), ValueError, r"Elu: expected alpha a finite number, got inf"),
    (lambda: Softmax(axis="last"), TypeError, r"Softmax: expected axis an integer, got 'last'"),
    (lambda: Softmax(axis=(1, 2)), ValueError, r"Softmax: expected axis one integer, got \(1, 2\); a softmax over"),
    (lambda: Softmax(axis=0).setup((3,)), ValueError, r"Softmax: expected axis=0 an axis of the input other than the"),
    (lambda: Softmax(axis=3).setup((3,)), ValueError, r"Softmax: expected axis=3 an axis"),
    (lambda: PReLU(alpha_initializer="nope"), ValueError, r"initializers.get: unknown initializer 'nope'"),
    (lambda: PReLU(alpha_regularizer="l2"), ValueError, r"PReLU: expected alpha_regularizer=None \(netfit has no"),
    (lambda: PReLU(alpha_constraint="non_neg"), ValueError, r"PReLU: expected alpha_constraint=None"),
    (lambda: PReLU(shared_axes=[0]), ValueError, r"PReLU: expected shared_axes None or axes ≥ 1 \(0 is the batch\)"),
    (lambda: PReLU(shared_axes="1"), ValueError, r"PReLU: expected shared_axes None or axes ≥ 1"),
    (lambda: PReLU(shared_axes=[3]).setup((4, 2)), ValueError, r"PReLU: expected shared_axes=\[3\] among the input"),
])
def test_bad_arguments(make, error, match):
    with pytest.raises(error, match=match):
        make()


LAYERS = {"relu": lambda: ReLU(max_value=2.0, negative_slope=0.05), "leaky": lambda: LeakyReLU(0.1),
          "elu": lambda: ELU(0.8), "prelu": lambda: PReLU(shared_axes=[1]), "softmax1": lambda: Softmax(axis=1)}


@pytest.mark.parametrize("name", LAYERS)
def test_trains_in_a_model_and_saves_and_loads(name, tmp_path):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 6)).astype(np.float32)
    y = (x[:, 0] + x[:, 1] > 0).astype(int)
    model = nf.Sequential([Dense(12, input_shape=(6,)), layers.Reshape((3, 4)), LAYERS[name](), Flatten(),
                           Dense(2, activation="softmax")], seed=0)
    model.compile(nf.optimizers.Adam(0.05), "sparse_categorical_crossentropy")
    first = model.evaluate(x, y, verbose=0)
    model.fit(x, y, epochs=15, batch_size=16, verbose=0)
    assert model.evaluate(x, y, verbose=0) < first * 0.7
    model.save(tmp_path / "m.netfit")
    again = nf.load_model(tmp_path / "m.netfit")
    np.testing.assert_array_equal(again.predict(x, verbose=0), model.predict(x, verbose=0))
    assert type(again.layers[2]) is type(model.layers[2])
    assert again.layers[2].get_config() == model.layers[2].get_config()


def test_a_last_softmax_layer_is_fused_with_cross_entropy_only_over_the_last_axis():
    model = nf.Sequential([Dense(3, input_shape=(4,)), Softmax()], seed=0)
    model.build()
    model.compile("sgd", "categorical_crossentropy")
    assert model._fused[0]
    other = nf.Sequential([Dense(6, input_shape=(4,)), layers.Reshape((2, 3)), Softmax(axis=1)], seed=0)
    other.build()
    assert other.layers[-1].activation.name == "softmax:axis=1"
    x = np.random.default_rng(0).standard_normal((8, 4))
    y = np.eye(3)[np.arange(8) % 3]
    ref = nf.Sequential([Dense(3, activation="softmax", input_shape=(4,))], seed=0)
    ref.compile("sgd", "categorical_crossentropy")
    ref.set_weights(model.get_weights())
    np.testing.assert_allclose(model.loss_and_gradients(x, y)[1][0], ref.loss_and_gradients(x, y)[1][0], rtol=1e-6)


@pytest.mark.parametrize("name", LAYERS)
def test_two_records_used_alternately_give_the_same_as_one_at_a_time(name):
    layer = LAYERS[name]()
    layer.setup((3, 4), rng=np.random.default_rng(0), dtype=np.float64)
    rng = np.random.default_rng(1)
    x1, x2, d1, d2 = (rng.standard_normal((2, 3, 4)) for _ in range(4))
    zeros = {k: np.zeros_like(g) for k, g in layer.grads.items()}
    alone = []
    for x, d in ((x1, d1), (x2, d2)):
        call = layer.new_call(grads={k: g.copy() for k, g in zeros.items()})
        alone.append((layer.forward(x, call=call).copy(), layer.backward(d, call).copy(), call.grads))
    c1 = layer.new_call(grads={k: g.copy() for k, g in zeros.items()})
    c2 = layer.new_call(grads={k: g.copy() for k, g in zeros.items()})
    a1, a2 = layer.forward(x1, call=c1).copy(), layer.forward(x2, call=c2).copy()
    s2, s1 = layer.backward(d2, c2).copy(), layer.backward(d1, c1).copy()
    for (a, s, g), (a_alt, s_alt, call) in zip(alone, ((a1, s1, c1), (a2, s2, c2))):
        np.testing.assert_array_equal(a, a_alt)
        np.testing.assert_array_equal(s, s_alt)
        for key in g:
            np.testing.assert_array_equal(g[key], call.grads[key])


def test_float32_stays_float32():
    for make in LAYERS.values():
        layer = make()
        layer.setup((3, 4))
        a = layer.forward(np.ones((2, 3, 4), np.float32))
        assert a.dtype == np.float32 and layer.backward(np.ones_like(a)).dtype == np.float32, layer


def test_keras_namespace_has_them():
    from netfit.keras import layers as klayers
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for name in ("ReLU", "LeakyReLU", "PReLU", "ELU", "Softmax"):
            assert getattr(klayers, name)().get_config()["name"] is None


def test_automatic_names_are_kerass():
    model = nf.Sequential([Dense(3, input_shape=(2,)), ReLU(), PReLU(), ELU(), LeakyReLU(), Softmax()], seed=0)
    model.build()
    assert [layer.name for layer in model.layers] == ["dense", "re_lu", "p_re_lu", "elu", "leaky_re_lu", "softmax"]
