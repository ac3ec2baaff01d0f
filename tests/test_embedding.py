"""Embedding: lookups against loops, the scattered gradient against finite differences and PyTorch, models, errors."""
import warnings

import numpy as np
import pytest

import netfit as nf
from netfit import layers
from netfit.gradcheck import numerical_gradient, relative_error
from netfit.layers import Dense, Embedding, Flatten


def _layer(input_dim=7, output_dim=3, shape=(5,), seed=0):
    layer = Embedding(input_dim, output_dim, embeddings_initializer=nf.initializers.RandomUniform(-1, 1))
    layer.setup(shape, rng=np.random.default_rng(seed), dtype=np.float64)
    return layer


@pytest.mark.parametrize("shape", [(5,), (2, 3), (1,)])
def test_forward_matches_loops(shape):
    layer = _layer(shape=shape)
    x = np.random.default_rng(1).integers(0, 7, (4,) + shape)
    a = layer.forward(x)
    assert a.shape == (4,) + shape + (3,) and layer.output_shape == shape + (3,)
    table = layer.params["embeddings"]
    for idx in np.ndindex(x.shape):
        np.testing.assert_array_equal(a[idx], table[x[idx]])


@pytest.mark.parametrize("shape", [(5,), (2, 3)])
def test_gradient_matches_central_differences_with_repeated_tokens(shape):
    layer = _layer(shape=shape)
    x = np.random.default_rng(2).integers(0, 4, (6,) + shape)          # rows 4..6 unused, the others repeated
    probe = np.random.default_rng(3).standard_normal((6,) + shape + (3,))

    def loss():
        return float(np.sum(layer.forward(x) * probe))

    loss()
    assert layer.backward(probe) is None                                # integer input: no s
    numeric = numerical_gradient(loss, layer.params["embeddings"])
    assert relative_error(layer.grads["embeddings"], numeric) < 1e-9
    assert not layer.grads["embeddings"][4:].any()


def test_backward_overwrites_the_gradient_of_the_last_pass():
    layer = _layer()
    layer.forward(np.array([[1, 1, 1, 1, 1]]))
    layer.backward(np.ones((1, 5, 3)))
    layer.forward(np.array([[2, 2, 2, 2, 2]]))
    layer.backward(np.ones((1, 5, 3)))
    assert not layer.grads["embeddings"][1].any() and (layer.grads["embeddings"][2] == 5).all()


def test_pytorch_agrees():
    torch = pytest.importorskip("torch")
    layer = _layer(input_dim=11, output_dim=4, shape=(6,))
    module = torch.nn.Embedding(11, 4).double()
    with torch.no_grad():
        module.weight.copy_(torch.tensor(layer.params["embeddings"]))
    x = np.random.default_rng(4).integers(0, 11, (5, 6))
    probe = np.random.default_rng(5).standard_normal((5, 6, 4))
    out = module(torch.tensor(x))
    (out * torch.tensor(probe)).sum().backward()
    np.testing.assert_array_equal(layer.forward(x), out.detach().numpy())
    layer.backward(probe)
    np.testing.assert_allclose(layer.grads["embeddings"], module.weight.grad.numpy(), rtol=1e-13, atol=1e-15)


def test_float_inputs_holding_integers_are_read_and_others_refused():
    layer = _layer()
    ints = np.array([[0, 6, 3, 3, 1]])
    np.testing.assert_array_equal(layer.forward(ints.astype(np.float32)), layer.forward(ints))
    with pytest.raises(ValueError, match=r"Embedding: expected integer token indices, got 0.5; an Embedding reads "
                                         r"tokens \(0 .. 6\)"):
        layer.forward(np.array([[0.5, 1, 2, 3, 4]]))
    with pytest.raises(ValueError, match=r"Embedding: expected indices in \[0, 7\) \(input_dim=7\), got 7; make "
                                         r"input_dim the vocabulary size \+ 1"):
        layer.forward(np.array([[0, 1, 2, 3, 7]]))
    with pytest.raises(ValueError, match=r"Embedding: expected indices in \[0, 7\) .* got -1"):
        layer.forward(np.array([[0, 1, -1, 3, 4]]))
    with pytest.raises(ValueError, match=r"Embedding: expected input of shape \(n, 5\), got array of shape \(1, 4\)"):
        layer.forward(np.array([[0, 1, 2, 3]]))


def test_keras_default_initializer_is_uniform_on_a_twentieth():
    layer = Embedding(1000, 8)
    layer.setup((3,), rng=np.random.default_rng(0))
    table = layer.params["embeddings"]
    assert table.dtype == np.float32 and np.abs(table).max() <= 0.05 and np.abs(table).max() > 0.049
    assert layer.get_config()["embeddings_initializer"] == {"class_name": "RandomUniform",
                                                            "config": {"minval": -0.05, "maxval": 0.05}}


def test_trains_in_a_model_reads_int64_exactly_and_reloads(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.integers(0, 50, (200, 4))
    y = (x[:, 0] % 2 == 0).astype(int)                                  # even first token: class 1
    model = nf.Sequential([nf.Input(shape=(4,)), Embedding(50, 4), Flatten(), Dense(2, activation="softmax")], seed=0)
    model.compile(nf.optimizers.Adam(0.05), "sparse_categorical_crossentropy", metrics=["accuracy"])
    model.build()
    assert model._input_dtype(x.dtype) == np.float64                    # int64 tokens are not cast to float32
    model.fit(x, y, epochs=30, batch_size=32, verbose=0)
    loss, acc = model.evaluate(x, y, verbose=0)
    assert acc > 0.95
    model.save(tmp_path / "emb.netfit")
    again = nf.load_model(tmp_path / "emb.netfit")
    np.testing.assert_array_equal(again.predict(x, verbose=0), model.predict(x, verbose=0))
    assert again.layers[0].get_config() == model.layers[0].get_config()


def test_keras2_input_length_gives_the_input_shape_with_a_warning():
    with pytest.warns(DeprecationWarning, match=r"Embedding: argument `input_length` is deprecated"):
        layer = Embedding(10, 2, input_length=6)
    assert layer.input_shape == (6,)
    model = nf.Sequential([layer, Flatten(), Dense(1)], seed=0)
    model.build()
    assert model.layers[0].output_shape == (6, 2)


def test_two_records_used_alternately_give_the_same_as_one_at_a_time():
    layer = _layer()
    rng = np.random.default_rng(6)
    x1, x2 = rng.integers(0, 7, (3, 5)), rng.integers(0, 7, (3, 5))
    d1, d2 = rng.standard_normal((3, 5, 3)), rng.standard_normal((3, 5, 3))

    def call():
        return layer.new_call(grads={"embeddings": np.zeros((7, 3))})

    alone = []
    for x, d in ((x1, d1), (x2, d2)):
        c = call()
        alone.append((layer.forward(x, call=c).copy(), layer.backward(d, c), c.grads["embeddings"]))
    c1, c2 = call(), call()
    a1, a2 = layer.forward(x1, call=c1).copy(), layer.forward(x2, call=c2).copy()
    layer.backward(d2, c2), layer.backward(d1, c1)
    for (a, _, g), (a_alt, c) in zip(alone, ((a1, c1), (a2, c2))):
        np.testing.assert_array_equal(a, a_alt)
        np.testing.assert_array_equal(g, c.grads["embeddings"])


@pytest.mark.parametrize("make, error, match", [
    (lambda: Embedding(0, 3), ValueError, r"Embedding: expected input_dim >= 1, got 0"),
    (lambda: Embedding(10.0, 3), TypeError, r"Embedding: expected input_dim a positive integer, got 10.0"),
    (lambda: Embedding(10, -2), ValueError, r"Embedding: expected output_dim >= 1, got -2"),
    (lambda: Embedding(10, 3, embeddings_initializer="nope"), ValueError, r"initializers.get: unknown initializer"),
    (lambda: Embedding(10, 3, mask_zero=True), ValueError, r"Embedding: expected mask_zero=False \(netfit has no "
                                                           r"masks\), got True"),
    (lambda: Embedding(10, 3, embeddings_regularizer="l2"), ValueError, r"Embedding: expected "
                                                                        r"embeddings_regularizer=None, got 'l2'"),
    (lambda: Embedding(10, 3, embeddings_constraint="unit_norm"), ValueError, r"expected embeddings_constraint=None"),
    (lambda: Embedding(10, 3, weights=[np.zeros((10, 3))]), ValueError, r"expected weights=None, .*set_weights"),
    (lambda: Embedding(10, 3, lora_rank=4), ValueError, r"Embedding: expected lora_rank=None"),
    (lambda: Embedding(10, 3, input_length=0), ValueError, r"Embedding: expected input_length >= 1, got 0"),
])
def test_bad_arguments(make, error, match):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        with pytest.raises(error, match=match):
            make()


def test_keras_namespace_and_registry():
    from netfit.keras import layers as klayers
    assert klayers.Embedding is Embedding and layers.get("Embedding") is Embedding
