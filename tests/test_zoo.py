"""Named architectures: ESL Table 11.1's counts, the nets' wiring, the CNN, the name table."""
import numpy as np
import pytest

import netfit as nf
from netfit import initializers, zoo
from netfit.gradcheck import check_model
from netfit.layers import Activation, Add, Conv2D, Dense, Dropout, Flatten, LocallyConnected2D, MaxPooling2D
from netfit.utils import to_categorical

# ESL Table 11.1: (weights, links) of Net-1 … Net-5.
ESL_TABLE = {1: (2570, 2570), 2: (3214, 3214), 3: (1226, 1226), 4: (1132, 2266), 5: (1060, 5194)}


@pytest.fixture
def float64():
    nf.config.set_floatx("float64")
    yield
    nf.config.set_floatx("float32")


@pytest.mark.parametrize("k", sorted(ESL_TABLE))
def test_esl_net_weights_and_links_match_table_11_1(k):
    model = zoo.esl_net(k)
    assert (model.count_params(), model.count_links()) == ESL_TABLE[k]
    assert model.output_shape == (None, 10)
    assert model.name == f"esl_net{k}"


def built(model):
    model.build()
    return model


def test_esl_hidden_layers_have_the_books_shapes():
    shapes = {k: [layer.output_shape for layer in built(zoo.esl_net(k)).layers[:-2]] for k in (3, 4, 5)}
    assert shapes[3] == [(8, 8, 1), (4, 4, 1)]
    assert shapes[4] == [(8, 8, 2), (4, 4, 1)]
    assert shapes[5] == [(8, 8, 2), (4, 4, 4)]
    net5 = built(zoo.esl_net(5))
    first, second = net5.layers[0], net5.layers[1]
    assert isinstance(first, Conv2D) and isinstance(second, Conv2D)
    assert first.params["kernel"].shape == (3, 3, 1, 2) and first.params["bias"].shape == (8, 8, 2)
    assert second.params["kernel"].shape == (5, 5, 2, 4) and second.params["bias"].shape == (4, 4, 4)
    net4 = built(zoo.esl_net(4))
    assert isinstance(net4.layers[1], LocallyConnected2D)
    assert net4.layers[1].params["kernel"].shape == (16, 5 * 5 * 2, 1)    # each 4×4 unit sees both maps
    net3 = zoo.esl_net(3)
    assert all(isinstance(layer, LocallyConnected2D) for layer in net3.layers[:2])


def test_esl_receptive_fields_are_two_pixels_apart():
    """Net-3's first-layer unit (p, q) sees only pixels 2p..2p+2, 2q..2q+2 of the 16×16 image."""
    model = built(zoo.esl_net(3, seed=0))
    layer = model.layers[0]
    x = np.zeros((1, 16, 16), np.float32)
    base = layer.forward(x).copy()
    x[0, 4, 6] = 1.0                                     # rows 4 → p = 1, 2; column 6 → q = 2, 3
    changed = np.argwhere(np.abs(layer.forward(x) - base)[0, :, :, 0] > 0)
    assert {tuple(map(int, pq)) for pq in changed} == {(1, 2), (1, 3), (2, 2), (2, 3)}


def test_esl_defaults_sigmoid_units_and_uniform_starts():
    model = zoo.esl_net(5, seed=1)
    assert all(layer.activation.name == "sigmoid" for layer in model.layers if hasattr(layer, "activation"))
    weights = np.concatenate([w.ravel() for w in model.get_weights()])
    assert weights.min() >= -0.7 and weights.max() <= 0.7 and weights.std() > 0.3   # U(−0.7, 0.7): sd 0.40
    assert initializers.serialize(model.layers[0].kernel_initializer)["config"] == {"minval": -0.7, "maxval": 0.7}


def test_esl_overrides_activation_output_initializers_and_seed():
    model = built(zoo.esl_net(2, activation="tanh", output_activation="softmax", initializer="zeros",
                              bias_initializer="ones"))
    assert model.layers[1].activation.name == "tanh" and model.layers[-1].activation.name == "softmax"
    assert not model.layers[1].params["kernel"].any() and (model.layers[1].params["bias"] == 1).all()
    a, b = zoo.esl_net(4, seed=3), zoo.esl_net(4, seed=3)
    assert all(np.array_equal(u, v) for u, v in zip(a.get_weights(), b.get_weights()))
    assert not np.array_equal(a.get_weights()[0], zoo.esl_net(4, seed=4).get_weights()[0])


@pytest.mark.parametrize("k", [0, 6, "5", True, 2.5])
def test_esl_net_rejects_other_k(k):
    with pytest.raises(ValueError, match=r"esl_net: expected k in 1\.\.5"):
        zoo.esl_net(k)


@pytest.mark.parametrize("k", [3, 4, 5])
def test_esl_nets_gradients_match_finite_differences(k, float64):
    rng = np.random.default_rng(k)
    x = rng.uniform(-1, 1, (3, 16, 16))
    model = zoo.esl_net(k, seed=k)
    model.compile(optimizer="sgd", loss="mse")
    errors = check_model(model, x, to_categorical([1, 4, 7], 10), max_checks=12)
    assert max(errors.values()) < 1e-6, errors


def test_esl_net5_learns_a_tiny_problem():
    rng = np.random.default_rng(0)
    templates = rng.uniform(-1, 1, (3, 16, 16))
    y = np.arange(60) % 3
    x = np.clip(templates[y] + rng.normal(0, 0.3, (60, 16, 16)), -1, 1).astype(np.float32)
    model = zoo.esl_net(5, seed=0, classes=3)
    model.compile(optimizer=nf.optimizers.Adam(0.01), loss="mse", metrics=["categorical_accuracy"])
    history = model.fit(x, to_categorical(y, 3), epochs=15, batch_size=16, verbose=0)
    assert history.history["categorical_accuracy"][-1] > 0.9


def test_mnist_cnn_is_keras_mnist_convnet():
    model = built(zoo.mnist_cnn(seed=0))
    kinds = [type(layer) for layer in model.layers]
    assert kinds == [Conv2D, MaxPooling2D, Conv2D, MaxPooling2D, Flatten, Dropout, Dense]
    assert [layer.output_shape for layer in model.layers] == [
        (26, 26, 32), (13, 13, 32), (11, 11, 64), (5, 5, 64), (1600,), (1600,), (10,)]
    # Keras's model.summary(): 320 + 18,496 + 16,010 = 34,826 parameters.
    assert [layer.count_params() for layer in model.layers] == [320, 0, 18496, 0, 0, 0, 16010]
    assert model.layers[0].activation.name == "relu" and model.layers[-1].activation.name == "softmax"
    assert model.layers[5].rate == 0.5


def test_mnist_cnn_takes_channel_axis_other_sizes_and_trains_a_step():
    assert zoo.mnist_cnn(input_shape=(28, 28, 1)).count_params() == 34826
    small = built(zoo.mnist_cnn(input_shape=(16, 16), classes=3, seed=0))      # 16 → 14 → 7 → 5 → 2
    assert small.layers[4].output_shape == (2 * 2 * 64,) and small.output_shape == (None, 3)
    small.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    x = np.random.default_rng(0).random((8, 16, 16), dtype=np.float32)
    history = small.fit(x, np.arange(8) % 3, epochs=2, batch_size=4, verbose=0)
    assert np.isfinite(history.history["loss"]).all()


def test_zip_cnn_keeps_4x4_maps_for_16x16_digits_and_trains_a_step():
    model = built(zoo.zip_cnn(seed=0))
    # 320 + 9,248 + 18,496 + 36,928 (convolutions) + 131,200 + 1,290 (dense) weights
    assert model.count_params() == 197_482 and model.output_shape == (None, 10) and model.name == "zip_cnn"
    assert [layer.output_shape for layer in model.layers[:7]] == [
        (16, 16, 32), (16, 16, 32), (8, 8, 32), (8, 8, 64), (8, 8, 64), (4, 4, 64), (4 * 4 * 64,)]
    assert [type(layer) for layer in model.layers[7:]] == [Dropout, Dense, Dropout, Dense]
    assert model.layers[-1].activation.name == "softmax"
    assert zoo.zip_cnn(input_shape=(16, 16, 1), classes=3).count_params() == 197_482 - 7 * 129
    got = zoo.get("zipcnn", seed=3)
    assert got.input_shape == (None, 16, 16) and got.count_params() == 197_482 and not got.compiled
    same = zoo.get("ZipCNN", seed=3)
    assert all(np.array_equal(u, v) for u, v in zip(got.get_weights(), same.get_weights()))
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    x = np.random.default_rng(0).uniform(-1, 1, (8, 16, 16)).astype(np.float32)
    history = model.fit(x, np.arange(8) % 10, epochs=2, batch_size=4, verbose=0)
    assert np.isfinite(history.history["loss"]).all()


def test_zip_resnet_is_a_graph_of_residual_blocks_and_trains_a_step():
    model = zoo.zip_resnet(seed=0)
    assert isinstance(model, nf.Model) and not isinstance(model, nf.Sequential) and model.name == "zip_resnet"
    # stem 320 + block (2 × 9,248) + widen 18,496 + block (2 × 36,928) + dense 4·4·64·10 + 10
    assert model.count_params() == 320 + 2 * 9248 + 18496 + 2 * 36928 + 10250 == 121_418
    assert model.input_shape == (None, 16, 16) and model.output_shape == (None, 10) and not model.compiled
    adds = [layer for layer in model.layers if isinstance(layer, Add)]
    assert [layer.name for layer in adds] == ["res1a_add", "res2a_add"]
    skip, body = adds[0]._nodes[0].inputs                                 # h + conv2(conv1(h)): h is the stem
    assert skip.node.layer.name == "stem" and body.node.layer.name == "res1a_conv2"
    assert [l.output_shape for l in model.layers if isinstance(l, (Conv2D, MaxPooling2D))] == [
        (16, 16, 32), (16, 16, 32), (16, 16, 32), (8, 8, 32), (8, 8, 64), (8, 8, 64), (8, 8, 64), (4, 4, 64)]
    assert model.layers[-1].activation.name == "softmax" and isinstance(model.get_layer("res2a_relu"), Activation)
    deeper = zoo.zip_resnet(filters=8, blocks=2, dropout=0.25, input_shape=(16, 16, 1), classes=3)
    assert deeper.count_params() == 80 + 4 * 584 + 1168 + 4 * 2320 + 4 * 4 * 16 * 3 + 3
    assert isinstance(deeper.get_layer("dropout"), Dropout) and deeper.get_layer("res2b_add") is not None
    same = zoo.get("ZipResNet", seed=0)
    assert all(np.array_equal(u, v) for u, v in zip(model.get_weights(), same.get_weights()))
    model = zoo.zip_resnet(seed=0, filters=8)                            # a narrower one trains quicker
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    x = np.random.default_rng(0).uniform(-1, 1, (16, 16, 16)).astype(np.float32)
    y = np.arange(16) % 10
    before = model.get_weights()
    history = model.fit(x, y, epochs=3, batch_size=8, verbose=0)
    assert np.isfinite(history.history["loss"]).all() and history.history["loss"][-1] < history.history["loss"][0]
    assert all(not np.array_equal(a, b) for a, b in zip(before, model.get_weights()))      # every weight moved


@pytest.mark.parametrize("option, error, said", [
    ({"filters": 0}, ValueError, r"zip_resnet: expected filters >= 1, got 0\."),
    ({"blocks": 1.5}, TypeError, r"zip_resnet: expected blocks a positive integer, got 1\.5\."),
    ({"blocks": True}, TypeError, r"zip_resnet: expected blocks a positive integer, got True\.")])
def test_zip_resnet_refuses_other_sizes(option, error, said):
    with pytest.raises(error, match=said):
        zoo.zip_resnet(**option)


def test_zip_resnet_gradients_match_finite_differences(float64):
    model = zoo.zip_resnet(seed=1, filters=2, input_shape=(8, 8))
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    x = np.random.default_rng(2).uniform(-1, 1, (3, 8, 8))
    errors = check_model(model, x, np.array([1, 4, 7]), max_checks=12)
    assert max(errors.values()) < 1e-6, errors


def test_get_table_and_defaults():
    assert zoo.names() == ["mlp", "cnn", "net1", "net2", "net3", "net4", "net5", "zipcnn", "lecun1989", "zipresnet"]
    assert zoo.get("mlp").count_params() == 101_770
    assert zoo.get("cnn").count_params() == 34_826
    assert [zoo.get(f"net{k}").count_params() for k in range(1, 6)] == [w for w, _ in ESL_TABLE.values()]
    assert zoo.get("NET5").count_links() == 5194                              # names are case-insensitive
    assert zoo.get("mlp", input_shape=(16, 16), classes=3).count_params() == 256 * 128 + 128 + 128 * 3 + 3
    assert zoo.get("net2", input_shape=[16, 16, 1]).input_shape == (None, 16, 16, 1)
    a, b = zoo.get("cnn", seed=5), zoo.get("cnn", seed=5)
    assert all(np.array_equal(u, v) for u, v in zip(a.get_weights(), b.get_weights()))
    assert not zoo.get("net1").compiled


def test_get_unknown_name_lists_the_supported_ones():
    with pytest.raises(ValueError, match=r"zoo\.get: unknown model 'lenet'; supported: mlp, cnn, net1, "
                                         r"net2, net3, net4, net5, zipcnn, lecun1989, zipresnet\."):
        zoo.get("lenet")


def test_get_passes_options_to_the_builder():
    model = zoo.get("net5", output_activation="softmax", activation="tanh", initializer="glorot_uniform")
    model.build()
    assert model.layers[-1].activation.name == "softmax" and model.layers[0].activation.name == "tanh"
    assert zoo.get("mlp", hidden=16).count_params() == 784 * 16 + 16 + 16 * 10 + 10
    with pytest.raises(TypeError, match=r"zoo\.get: model 'cnn' takes no option 'hidden'\."):
        zoo.get("cnn", hidden=16)
