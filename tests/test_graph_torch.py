"""Graph models against PyTorch's autograd (issue 22): the same net, the same weights, every gradient equal.

Each netfit graph below is rebuilt as a torch module in float64 with netfit's weights copied in (Keras layouts
turned into torch's: a Dense kernel (n_in, units) is a Linear weight's transpose; a Conv2D kernel
(kh, kw, c_in, filters) is torch's (filters, c_in, kh, kw); images are channels-last in netfit, so the torch side
permutes to NCHW for its convolutions and back to NHWC before a Flatten). The loss and the gradient of every
weight are then compared to 1e-10. The main case is the issue's residual CNN on real MNIST digits: two inputs
merged by Add, a convolution shared by both inputs, and a nested residual block (a Model used as a layer).
Smaller cases: a residual MLP, a shared tower with Concatenate, two outputs with two losses, and nested models.
"""
import os
from pathlib import Path

import numpy as np
import pytest

import netfit as nf
from netfit.layers import Add, Concatenate, Conv2D, Dense, Flatten, MaxPooling2D

torch = pytest.importorskip("torch")
F = torch.nn.functional

from data_folder import SHARED_DATA, holds  # noqa: E402
TOL = 1e-10


@pytest.fixture(scope="module")
def mnist():
    """MNIST's first 10,000 training digits in [0, 1] (float64), from NETFIT_DATA_DIR or ../shared/data.

    Skipped when they cannot be found offline.
    """
    from netfit.datasets import _files, mnist
    with pytest.MonkeyPatch.context() as mp:
        if not os.environ.get("NETFIT_DATA_DIR") and holds("mnist", SHARED_DATA):
            mp.setenv("NETFIT_DATA_DIR", str(SHARED_DATA))
        if None in _files.find(mnist.SPEC).values():
            pytest.skip("MNIST is not available offline (set NETFIT_DATA_DIR)")
        (x, y), _ = mnist.load_data()
    return x[:10_000, :, :, None] / 255.0, y[:10_000].astype(np.int64)


# -- Keras layouts -> torch ------------------------------------------------------------------------------
def t(array):
    return torch.tensor(np.ascontiguousarray(array), dtype=torch.float64, requires_grad=True)


class Weights:
    """netfit's weights as torch leaves, one per array of ``model.get_weights()``, kept in that order."""

    def __init__(self, model):
        self.by_layer, self.order = {}, []
        for layer in model._graph_layers():
            if isinstance(layer, nf.Model) or not layer.count_params():
                continue
            kernel, bias = (t(w) for w in layer.get_weights())
            self.by_layer[layer] = (kernel, bias)
        for layer in model._weight_order():                  # get_weights() order, nested models inside
            self.order += self._leaves(layer)

    def _leaves(self, layer):
        if isinstance(layer, nf.Model):
            return [w for inner in layer._weight_order() for w in self._leaves(inner)]
        return list(self.by_layer.get(layer, ()))

    def dense(self, layer, x):
        kernel, bias = self.by_layer[layer]
        return F.linear(x, kernel.T, bias)                   # x W + b, W (n_in, units) = torch's weight.T

    def conv(self, layer, x):
        """A 'same' or 'valid' stride-1 convolution of NHWC ``x`` (channels-last, as netfit)."""
        kernel, bias = self.by_layer[layer]
        pad = layer.kernel_size[0] // 2 if layer.padding == "same" else 0
        z = F.conv2d(x.permute(0, 3, 1, 2), kernel.permute(3, 2, 0, 1), bias, padding=pad)
        return z.permute(0, 2, 3, 1)


def compare(model, torch_loss, x, y):
    """netfit's loss and gradients against torch's autograd on the same weights; returns the largest error."""
    loss, grads = model.loss_and_gradients(x, y)
    weights = Weights(model)
    reference = torch_loss(weights)
    reference.backward()
    assert len(grads) == len(weights.order) == len(model.get_weights())
    assert abs(loss - reference.item()) <= TOL * max(1.0, abs(reference.item())), (loss, reference.item())
    worst = 0.0
    for k, (g, w) in enumerate(zip(grads, weights.order)):
        expected = w.grad.numpy()
        assert g.shape == expected.shape, k
        scale = max(1.0, np.abs(expected).max())
        error = np.abs(g - expected).max() / scale
        assert error <= TOL, f"weight {k} {g.shape}: max |netfit − torch| = {error:.3g}"
        worst = max(worst, error)
    return worst


def softmax_xent(z, y):
    return F.cross_entropy(z, torch.as_tensor(y))


# -- the residual CNN ----------------------------------------------------------------------------
def residual_cnn(seed=0, dtype="float64", filters=4):
    """Two images in, merged by Add after one shared convolution, a nested residual block, a softmax head."""
    block_in = nf.Input(shape=(14, 14, filters))
    block_conv = Conv2D(filters, 3, padding="same", activation="relu", name="block_conv")
    block = nf.Model(block_in, Add(name="block_add")([block_in, block_conv(block_in)]), name="residual_block")
    a = nf.Input(shape=(28, 28, 1), name="image")
    b = nf.Input(shape=(28, 28, 1), name="flipped")
    stem = Conv2D(filters, 3, padding="same", activation="relu", name="stem")          # shared: both inputs
    merged = Add(name="merge")([stem(a), stem(b)])
    h = block(MaxPooling2D(2, name="pool")(merged))
    h = Conv2D(filters, 3, activation="relu", name="conv")(h)                         # 14 -> 12
    out = Dense(10, activation="softmax", name="head")(Flatten(name="flatten")(MaxPooling2D(2, name="pool2")(h)))
    return nf.Model([a, b], out, name="residual_cnn", seed=seed, dtype=dtype)


def residual_cnn_torch(model, w, xa, xb, y):
    L = {layer.name: layer for layer in model._graph_layers()}
    stem = lambda x: F.relu(w.conv(L["stem"], x))                                      # noqa: E731
    merged = stem(torch.tensor(xa)) + stem(torch.tensor(xb))
    pooled = F.max_pool2d(merged.permute(0, 3, 1, 2), 2).permute(0, 2, 3, 1)
    h = pooled + F.relu(w.conv(L["block_conv"], pooled))
    h = F.relu(w.conv(L["conv"], h))
    h = F.max_pool2d(h.permute(0, 3, 1, 2), 2).permute(0, 2, 3, 1)
    return softmax_xent(w.dense(L["head"], h.reshape(len(h), -1)), y)


def test_residual_cnn_on_mnist_has_pytorchs_loss_and_every_gradient(mnist):
    x, y = mnist
    xa, ya = x[:16], y[:16]
    xb = xa[:, :, ::-1].copy()                                       # the second input: the digits mirrored
    model = residual_cnn(seed=1)
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    stem = model.get_layer("stem")
    assert len(stem._nodes) == 2 and isinstance(model.get_layer("residual_block"), nf.Model)
    assert model.count_params() == 40 + 148 + 148 + (6 * 6 * 4) * 10 + 10       # 14 -> 12 -> 6
    worst = compare(model, lambda w: residual_cnn_torch(model, w, xa, xb, ya), [xa, xb], ya)
    assert worst < TOL
    # and after a few steps of training the weights still agree: train netfit, compare again
    model.fit([x[:256], x[:256, :, ::-1]], y[:256], batch_size=32, epochs=1, verbose=0)
    compare(model, lambda w: residual_cnn_torch(model, w, xa, xb, ya), [xa, xb], ya)


def test_residual_cnn_trains_on_mnist(mnist):
    x, y = mnist
    x = x.astype(np.float32)
    train, held = slice(0, 9000), slice(9000, 10_000)
    model = residual_cnn(seed=0, dtype="float32", filters=8)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    before = model.evaluate([x[held], x[held, :, ::-1]], y[held], verbose=0)
    history = model.fit([x[train], x[train, :, ::-1]], y[train], batch_size=32, epochs=1, verbose=0)  # 282 steps
    loss, acc = model.evaluate([x[held], x[held, :, ::-1]], y[held], verbose=0)
    assert loss < 0.4 * before[0] and acc > 0.8, (before, loss, acc, history.history)


# -- smaller graphs ----------------------------------------------------------------------------------------
def _data(n, shape, k, seed):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n,) + shape), rng.integers(0, k, n)


def test_residual_mlp():
    inputs = nf.Input(shape=(6,))
    h = Dense(6, activation="tanh", name="d1")(inputs)
    skip = Add()([inputs, Dense(6, activation="tanh", name="d2")(h)])        # inputs fan out: two δ's summed
    model = nf.Model(inputs, Dense(3, activation="softmax", name="out")(skip), seed=1, dtype="float64")
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    x, y = _data(12, (6,), 3, 0)

    def reference(w):
        L = {layer.name: layer for layer in model.layers}
        xt = torch.tensor(x)
        h = torch.tanh(w.dense(L["d1"], xt))
        return softmax_xent(w.dense(L["out"], xt + torch.tanh(w.dense(L["d2"], h))), y)

    compare(model, reference, x, y)


def test_shared_tower_and_concatenate():
    left, right = nf.Input(shape=(5,), name="left"), nf.Input(shape=(5,), name="right")
    tower = Dense(4, activation="sigmoid", name="tower")                      # one layer, called on both inputs
    joined = Concatenate()([tower(left), tower(right), Dense(2, name="side")(left)])
    model = nf.Model([left, right], Dense(3, activation="softmax", name="out")(joined), seed=2, dtype="float64")
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    assert model.count_params() == 24 + 12 + 33
    (xl, y), (xr, _) = _data(10, (5,), 3, 1), _data(10, (5,), 3, 2)

    def reference(w):
        L = {layer.name: layer for layer in model.layers}
        a, b = torch.tensor(xl), torch.tensor(xr)
        z = torch.cat([torch.sigmoid(w.dense(L["tower"], a)), torch.sigmoid(w.dense(L["tower"], b)),
                       w.dense(L["side"], a)], dim=1)
        return softmax_xent(w.dense(L["out"], z), y)

    compare(model, reference, [xl, xr], y)


def test_two_outputs_two_losses_and_their_weights():
    inputs = nf.Input(shape=(6,))
    trunk = Dense(8, activation="relu", name="trunk")(inputs)
    digit = Dense(4, activation="softmax", name="digit")(trunk)
    size = Dense(2, name="size")(Dense(5, activation="tanh", name="hidden")(trunk))
    model = nf.Model(inputs, {"digit": digit, "size": size}, seed=3, dtype="float64")
    model.compile(optimizer="sgd", loss={"digit": "sparse_categorical_crossentropy", "size": "mse"},
                  loss_weights={"digit": 1.0, "size": 0.3})
    x, y = _data(11, (6,), 4, 3)
    target = np.random.default_rng(4).standard_normal((11, 2))

    def reference(w):
        L = {layer.name: layer for layer in model.layers}
        h = F.relu(w.dense(L["trunk"], torch.tensor(x)))
        size = w.dense(L["size"], torch.tanh(w.dense(L["hidden"], h)))
        return softmax_xent(w.dense(L["digit"], h), y) + 0.3 * F.mse_loss(size, torch.tensor(target))

    compare(model, reference, x, {"digit": y, "size": target})


def test_nested_models_a_graph_and_a_sequential_called_twice():
    inner_in = nf.Input(shape=(4,))
    inner = nf.Model(inner_in, Dense(4, activation="tanh", name="i2")(Dense(5, activation="relu", name="i1")(inner_in)),
                     name="inner")
    seq = nf.Sequential([Dense(3, activation="sigmoid", input_shape=(4,), name="s1")], name="seq")
    inputs = nf.Input(shape=(4,))
    twice = inner(inner(inputs))                                    # a nested model used at two places
    out = Dense(2, activation="softmax", name="out")(Concatenate()([seq(twice), seq(inputs)]))
    model = nf.Model(inputs, out, seed=4, dtype="float64")
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    assert model.count_params() == inner.count_params() + seq.count_params() + 14
    x, y = _data(8, (4,), 2, 5)

    def reference(w):
        L = {layer.name: layer for layer in model._graph_layers()}
        block = lambda v: torch.tanh(w.dense(L["i2"], F.relu(w.dense(L["i1"], v))))     # noqa: E731
        xt = torch.tensor(x)
        s = lambda v: torch.sigmoid(w.dense(L["s1"], v))                                    # noqa: E731
        return softmax_xent(w.dense(L["out"], torch.cat([s(block(block(xt))), s(xt)], dim=1)), y)

    compare(model, reference, x, y)


# -- the benchmark's graphs (benchmarks/workers.py): the same nets on every side ---------------------------
def test_the_benchmarks_residual_cnn_and_graph_mlp_are_the_nets_they_are_compared_with(monkeypatch):
    monkeypatch.syspath_prepend(str(Path(__file__).resolve().parents[1] / "benchmarks"))
    import workers
    x = np.random.default_rng(0).random((8, 28, 28), dtype=np.float32)
    model = workers.netfit_model("rescnn", 3)
    assert model.count_params() == sum(int(np.prod(s)) for s in workers.specs.RESCNN_SHAPES) == 34_506
    side = workers.TorchSide.__new__(workers.TorchSide)             # its model only: no MNIST loaded
    side.torch = torch
    module = side._model("rescnn", 3).eval()
    with torch.no_grad():
        expected = torch.softmax(module(torch.from_numpy(x)), dim=1).numpy()
    np.testing.assert_allclose(model.predict(x[..., None]), expected, rtol=1e-4, atol=1e-6)
    seq, graph = workers.netfit_model("mlp", 5), workers.netfit_model("mlp-graph", 5)
    assert isinstance(graph, nf.Model) and not isinstance(graph, nf.Sequential)
    assert all(np.array_equal(a, b) for a, b in zip(seq.get_weights(), graph.get_weights()))
    np.testing.assert_array_equal(seq.predict(x), graph.predict(x))
