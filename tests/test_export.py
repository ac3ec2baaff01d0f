"""ONNX export: onnxruntime's outputs equal netfit's predict, layer type by layer type."""
import sys

import numpy as np
import pytest

import netfit as nf
from netfit import layers, zoo
from netfit.layers import Activation, Dense, Dropout, Flatten, Reshape

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")
from netfit.export import to_onnx  # noqa: E402  (after the skips)

TOL = 1e-5


def run_onnx(proto, x):
    session = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    return session.run(None, {"input": np.asarray(x, np.float32)})[0]


def assert_same(model, x):
    expected = model.predict(x)
    got = run_onnx(to_onnx(model), x)
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, rtol=0, atol=TOL)


def _layer(name):
    cls = getattr(layers, name, None)
    if cls is None:
        pytest.skip(f"netfit.layers.{name} is not importable")
    return cls


def test_lecture_mlp(tmp_path):
    model = zoo.lecture_mlp(seed=0)
    x = np.random.default_rng(0).random((64, 28, 28))
    proto = to_onnx(model, tmp_path / "mlp.onnx")
    assert [n.op_type for n in proto.graph.node] == ["Flatten", "Gemm", "Relu", "Gemm", "Softmax", "Identity"]
    np.testing.assert_allclose(run_onnx(onnx.load(tmp_path / "mlp.onnx"), x), model.predict(x), atol=TOL, rtol=0)


@pytest.mark.parametrize("activation", nf.activations.names())
def test_every_activation(activation):
    model = nf.Sequential([Dense(6, activation=activation, input_shape=(4,)), Dropout(0.3),
                           Activation(activation), Dense(3, use_bias=False)], seed=2)
    assert_same(model, np.random.default_rng(1).normal(size=(10, 4)) * 2)


def test_reshape_flatten_dropout():
    model = nf.Sequential([Reshape((3, 4), input_shape=(12,)), Flatten(), Dropout(0.5), Reshape((2, -1)),
                           Activation("softmax"), Flatten()], seed=0)
    assert_same(model, np.random.default_rng(2).normal(size=(5, 12)))


def test_small_cnn():
    conv, maxpool = _layer("Conv2D"), _layer("MaxPooling2D")
    avgpool, gap = _layer("AveragePooling2D"), _layer("GlobalAveragePooling2D")
    model = nf.Sequential([conv(4, 3, strides=2, padding="same", activation="relu", input_shape=(11, 10)),
                           maxpool(2, padding="same"), conv(3, 2, bias="per_unit", activation="gelu"),
                           avgpool(2, strides=1, padding="same"), conv(5, 1), gap(), Dense(3, activation="softmax")],
                          seed=3)
    assert_same(model, np.random.default_rng(3).random((8, 11, 10)))


def test_mnist_cnn_and_channels():
    if not hasattr(zoo, "mnist_cnn"):
        pytest.skip("netfit.zoo.mnist_cnn is not there yet")
    x = np.random.default_rng(4).random((4, 28, 28, 1))
    assert_same(zoo.mnist_cnn(input_shape=(28, 28, 1), seed=0), x)
    model = nf.Sequential([_layer("MaxPooling2D")(2, input_shape=(6, 6)), Flatten(), Dense(2)], seed=0)
    assert_same(model, x[:, :6, :6, 0])


def test_locally_connected_as_its_dense_equivalent():
    lc = _layer("LocallyConnected2D")
    model = nf.Sequential([lc(2, 3, strides=2, padding="same", activation="sigmoid", input_shape=(9, 8, 2)),
                           lc(1, 2, activation="tanh"), Flatten(), Dense(3)], seed=5)
    assert_same(model, np.random.default_rng(5).normal(size=(6, 9, 8, 2)))


@pytest.mark.parametrize("k", [1, 2, 3, 4, 5])
def test_esl_nets(k):
    if not hasattr(zoo, "esl_net"):
        pytest.skip("netfit.zoo.esl_net is not there yet")
    assert_same(zoo.esl_net(k, seed=k), np.random.default_rng(k).uniform(-1, 1, (5, 16, 16)))


def test_float64_model_and_metadata():
    model = nf.Sequential([Dense(3, activation="tanh", input_shape=(4,))], seed=0, dtype="float64")
    model.metadata = {"input_scale": [0.0, 1.0]}
    proto = to_onnx(model)
    assert {p.key: p.value for p in proto.metadata_props} == {"input_scale": "[0.0, 1.0]"}
    assert_same(model, np.random.default_rng(6).normal(size=(4, 4)))


def test_refusals(monkeypatch):
    lc = _layer("LocallyConnected2D")
    big = nf.Sequential([lc(32, 3, input_shape=(64, 64, 8)), Flatten(), Dense(2)], seed=0)
    with pytest.raises(ValueError, match="LocallyConnected2D.*dense equivalent would have"):
        to_onnx(big)

    class Custom(layers.Layer):
        def forward(self, x, training=False):
            return x
    with pytest.raises(ValueError, match=r"cannot export layer 'custom' \(Custom\); supported: Activation"):
        to_onnx(nf.Sequential([Custom(input_shape=(2,))]))
    with pytest.raises(ValueError, match="opset"):
        to_onnx(zoo.lecture_mlp(), opset=9)
    monkeypatch.setitem(sys.modules, "onnx", None)
    with pytest.raises(ImportError, match=r"pip install 'netfit\[onnx\]'"):
        to_onnx(zoo.lecture_mlp())


@pytest.mark.parametrize("axis", [-1, None, (1, 2)])
def test_normalization_first_and_inverted_last(axis):
    from netfit.layers import Normalization
    rng = np.random.default_rng(7)
    x = rng.normal(3.0, 5.0, size=(40, 3, 4))
    x[:, 0, 0] = 2.0                                            # a constant input: σ taken as 1, as netfit
    norm = Normalization(axis=axis)
    norm.adapt(x)
    out = Normalization(mean=[10.0], variance=[4.0], invert=True)
    model = nf.Sequential([norm, Flatten(), Dense(5, activation="tanh"), Dense(1), out], seed=0)
    assert_same(model, x)
    ops = [n.op_type for n in to_onnx(model).graph.node]
    assert ops[:2] == ["Sub", "Div"] and ops[-3:-1] == ["Mul", "Add"]


def test_sklearn_wrapper_with_standardize_exports():
    sk = pytest.importorskip("netfit.sklearn")
    rng = np.random.default_rng(0)
    X = rng.normal(100.0, 20.0, size=(60, 3))
    y = X @ [0.01, -0.02, 0.03]
    reg = sk.NetRegressor(hidden_layer_sizes=(4,), epochs=3, random_state=0, standardize=True).fit(X, y)
    proto = to_onnx(reg.model_)
    np.testing.assert_allclose(run_onnx(proto, X), reg.model_.predict(X), rtol=0, atol=TOL)


def test_normalization_in_double_keeps_timestamps_apart():
    # 1.7e9 + k seconds: float32 input collapses them (spacing 128); input_dtype="float64" does not.
    from netfit.layers import Normalization
    x = (1.7e9 + np.arange(400.0)).reshape(-1, 1)
    norm = Normalization()
    norm.adapt(x)
    model = nf.Sequential([norm, Dense(3, activation="tanh"), Dense(1)], seed=0)
    model.build((1,))
    proto = to_onnx(model, input_dtype="float64")
    assert proto.graph.input[0].type.tensor_type.elem_type == onnx.TensorProto.DOUBLE
    session = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    got = session.run(None, {"input": x})[0]
    np.testing.assert_allclose(got, model.predict(x), rtol=0, atol=TOL)
    assert len(np.unique(got)) == 400
    with pytest.raises(ValueError, match="input_dtype='float64' needs an adapted Normalization"):
        to_onnx(nf.Sequential([Dense(1, input_shape=(1,))]), input_dtype="float64")
    with pytest.raises(ValueError, match="expected input_dtype 'float32' or 'float64', got 'int8'"):
        to_onnx(model, input_dtype="int8")
# -- the layers added for Keras users: BatchNormalization, LayerNormalization, ZeroPadding2D, GlobalMaxPooling2D
def _trained_stats(model, x):
    """Fit one epoch so BatchNormalization's moving statistics are not the initial (0, 1)."""
    model.compile("adam", "mse")
    model.fit(x, np.zeros((len(x),) + model.output_shape[1:]), epochs=2, batch_size=4, verbose=0)
    return model


def test_batchnorm_after_dense_and_after_conv():
    from netfit.layers import BatchNormalization, Conv2D, GlobalMaxPooling2D, ZeroPadding2D
    rng = np.random.default_rng(7)
    dense = _trained_stats(nf.Sequential([Dense(5, input_shape=(3,)), BatchNormalization(), Dense(2)], seed=0),
                           rng.normal(size=(16, 3)))
    proto = to_onnx(dense)
    assert "BatchNormalization" in [n.op_type for n in proto.graph.node]
    assert_same(dense, rng.normal(size=(9, 3)))
    images = rng.normal(size=(16, 6, 6, 2))
    cnn = _trained_stats(nf.Sequential([ZeroPadding2D(((1, 0), (2, 1)), input_shape=(6, 6, 2)), Conv2D(3, 3),
                                        BatchNormalization(), ZeroPadding2D(1), GlobalMaxPooling2D(), Dense(2)],
                                       seed=1), images)
    ops = [n.op_type for n in to_onnx(cnn).graph.node]
    assert {"Pad", "BatchNormalization", "GlobalMaxPool"} <= set(ops)
    assert_same(cnn, rng.normal(size=(5, 6, 6, 2)))


def test_batchnorm_on_another_axis_and_without_gamma_beta():
    from netfit.layers import BatchNormalization
    rng = np.random.default_rng(8)
    model = _trained_stats(nf.Sequential([BatchNormalization(axis=1, input_shape=(4, 3)),
                                          BatchNormalization(center=False, scale=False), Flatten(), Dense(2)],
                                         seed=2), rng.normal(size=(16, 4, 3)))
    assert_same(model, rng.normal(size=(6, 4, 3)))


def test_layer_normalization_and_its_limits():
    from netfit.layers import LayerNormalization
    rng = np.random.default_rng(9)
    model = nf.Sequential([Dense(6, input_shape=(3,)), LayerNormalization(), Reshape((2, 3)),
                           LayerNormalization(axis=(1, 2), scale=False), Flatten()], seed=3)
    model.build()
    model.layers[1].params["gamma"][...] = rng.normal(size=6)
    assert "LayerNormalization" in [n.op_type for n in to_onnx(model).graph.node]
    assert_same(model, rng.normal(size=(5, 3)))
    with pytest.raises(ValueError, match=r"to_onnx: layer .* \(LayerNormalization\) needs opset >= 17, got 13"):
        to_onnx(model, opset=13)
    inner = nf.Sequential([LayerNormalization(axis=1, input_shape=(2, 3))], seed=0)
    with pytest.raises(ValueError, match=r"normalizes over axes \(1,\), not the trailing ones"):
        to_onnx(inner)


def test_leaky_relu_with_its_own_slope():
    model = nf.Sequential([Dense(4, activation=nf.activations.LeakyRelu(0.05), input_shape=(3,))], seed=0)
    assert_same(model, np.random.default_rng(10).normal(size=(6, 3)) * 3)


@pytest.mark.parametrize("kernel", ["gaussian", "laplacian"])
def test_random_fourier_features_as_matmul_add_cos(kernel):
    rff = _layer("RandomFourierFeatures")
    model = nf.Sequential([nf.Input(shape=(6,)), rff(32, kernel_initializer=kernel, scale=3.0), Dense(2)], seed=8)
    proto = to_onnx(model)
    assert [n.op_type for n in proto.graph.node][:3] == ["MatMul", "Add", "Cos"]
    assert_same(model, np.random.default_rng(8).normal(size=(7, 6)))
