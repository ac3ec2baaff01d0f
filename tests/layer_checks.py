"""Checks every layer of issue 22's 1-D, transposed, up-sampling and cropping families goes through.

Each family's test file (test_conv1d.py, test_transpose.py, test_pooling1d.py,
test_upsampling.py, test_cropping.py) calls these on its own layers:

- :func:`against_torch`: forward, s and every weight gradient against PyTorch's
  autograd in float64, the weights handed over in netfit's (Keras's) layout and
  rearranged by the test's torch function, so their gradients come back in it;
- :func:`records_alternate`: two records of one layer used in turn give what
  one call at a time gives, bit for bit (no per-call state on the layer);
- :func:`trains_saves_loads`: the layer in a Sequential lowers the loss in a few
  steps, and save → load_model predicts the same;
- :func:`same_on_fake_gpu`: the same model trained on the fake GPU
  (tests/fake_gpu.py) and on the CPU ends with the same weights.
"""
import numpy as np

import netfit as nf
from netfit import backend

import fake_gpu


def setup64(layer, shape, seed=0):
    """``layer`` built in float64 with random weights (biases too, so that they matter); returns it."""
    rng = np.random.default_rng(seed)
    layer.setup(shape, rng=rng, dtype=np.float64)
    for name, value in layer.params.items():
        value[...] = rng.standard_normal(value.shape) * (0.5 if name == "kernel" else 1.0)
    return layer


def against_torch(layer, x, torch_forward, rtol=1e-10, atol=1e-12):
    """layer's a, s and ∂R/∂θ equal PyTorch's for R = Σ a ⊙ C, C random.

    ``torch_forward(x_t, params_t)`` computes the layer in torch from channels-last
    ``x_t`` and a dict of the layer's weights in netfit's layout (leaf tensors).
    """
    import torch
    probe = np.random.default_rng(7).standard_normal((len(x),) + layer.output_shape)
    a = np.array(layer.forward(x, training=True), copy=True)
    s = np.array(layer.backward(probe), copy=True)
    x_t = torch.tensor(x, requires_grad=True)
    params_t = {name: torch.tensor(np.array(v), requires_grad=True) for name, v in layer.params.items()}
    a_t = torch_forward(x_t, params_t)
    (a_t * torch.tensor(probe)).sum().backward()
    np.testing.assert_allclose(a, a_t.detach().numpy(), rtol=rtol, atol=atol, err_msg="forward")
    np.testing.assert_allclose(s, x_t.grad.numpy(), rtol=rtol, atol=atol, err_msg="input gradient")
    for name, value in params_t.items():
        np.testing.assert_allclose(layer.grads[name], value.grad.numpy(), rtol=rtol, atol=atol, err_msg=name)


def records_alternate(layer, x1, x2):
    """Forward x1 and x2 with two records, backward both: the same as one record, one call at a time."""
    rng = np.random.default_rng(3)
    d1 = rng.standard_normal((len(x1),) + layer.output_shape)
    d2 = rng.standard_normal((len(x2),) + layer.output_shape)
    expected = []
    for x, d in ((x1, d1), (x2, d2)):
        a = np.array(layer.forward(x, training=True), copy=True)
        s = np.array(layer.backward(d), copy=True)
        expected.append((a, s, {k: g.copy() for k, g in layer.grads.items()}))
    calls = [layer.new_call(grads={k: np.zeros_like(g) for k, g in layer.grads.items()}) for _ in range(2)]
    outs = [np.array(layer.forward(x, training=True, call=c), copy=True) for x, c in ((x1, calls[0]), (x2, calls[1]))]
    grads = [np.array(layer.backward(d, c), copy=True) for d, c in ((d1, calls[0]), (d2, calls[1]))]
    for (a, s, g), out, got, call in zip(expected, outs, grads, calls):
        np.testing.assert_array_equal(out, a)
        np.testing.assert_array_equal(got, s)
        for k in g:
            np.testing.assert_array_equal(call.grads[k], g[k])


def _model(make_layers, input_shape, units, seed=0):
    model = nf.Sequential([nf.Input(shape=input_shape)] + make_layers() +
                          [nf.layers.Flatten(), nf.layers.Dense(units, activation="softmax")], seed=seed)
    model.compile(optimizer=nf.optimizers.Adam(0.01), loss="sparse_categorical_crossentropy")
    return model


def _data(input_shape, units, n=48, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n,) + tuple(input_shape)).astype(np.float32)
    y = (x.reshape(n, -1).sum(axis=1) > 0).astype(int) % units     # a rule the layer can pass on
    return x, y


def trains_saves_loads(make_layers, input_shape, tmp_path, units=2):
    """The layers (made by ``make_layers()``) then Flatten and a softmax Dense: fit lowers the loss; save/load predicts the same."""
    x, y = _data(input_shape, units)
    model = _model(make_layers, input_shape, units)
    history = model.fit(x, y, epochs=8, batch_size=16, verbose=0)
    losses = history.history["loss"]
    assert losses[-1] < 0.9 * losses[0], losses
    path = tmp_path / "model.netfit"
    model.save(path)
    loaded = nf.models.load_model(path)
    assert [type(a) for a in loaded.layers] == [type(b) for b in model.layers]
    assert [layer.get_config() for layer in loaded.layers] == [layer.get_config() for layer in model.layers]
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))


def same_on_fake_gpu(make_layers, input_shape, units=2):
    """The model trained two epochs on the fake GPU ends with the CPU's weights (float32 tolerance)."""
    fake_gpu.install()
    try:
        x, y = _data(input_shape, units)
        cpu = _model(make_layers, input_shape, units, seed=3)
        dev = _model(make_layers, input_shape, units, seed=3).to("fakegpu")
        cpu.fit(x, y, epochs=2, batch_size=16, verbose=0)
        dev.fit(x, y, epochs=2, batch_size=16, verbose=0)
        for a, b in zip(dev.get_weights(), cpu.get_weights()):
            np.testing.assert_allclose(a, b, rtol=2e-5, atol=1e-6)
        np.testing.assert_allclose(dev.predict(x, verbose=0), cpu.predict(x, verbose=0), atol=1e-6)
    finally:
        backend.set_device("cpu")
