"""Conv2D's connection table and pad value: loop reference, finite differences, counts, save/load, ONNX."""
import numpy as np
import pytest

import netfit as nf
from netfit.gradcheck import check_layer, check_model
from netfit.layers import Conv2D, Dense, Flatten

# LeNet-5's C3 (LeCun et al. 1998, Table I): 6 input maps × 16 feature maps, 3, 4 or 6 inputs each.
LENET5_C3 = np.array([[c in cols for c in range(6)] for cols in (
    (0, 1, 2), (1, 2, 3), (2, 3, 4), (3, 4, 5), (0, 4, 5), (0, 1, 5), (0, 1, 2, 3), (1, 2, 3, 4), (2, 3, 4, 5),
    (0, 3, 4, 5), (0, 1, 4, 5), (0, 1, 2, 5), (0, 1, 3, 4), (1, 2, 4, 5), (0, 2, 3, 5), (0, 1, 2, 3, 4, 5))]).T
SMALL = np.array([[True, False, True], [False, True, True]])        # 2 input maps × 3 filters


def loops(x, full_kernel, bias, stride, pads, fill):
    """Slow and obvious: pad with ``fill``, then z[i, p, q, f] = b + Σ window · kernel[..., f], one unit at a time."""
    kh, kw, _, f = full_kernel.shape
    xp = np.pad(x, ((0, 0), pads[0], pads[1], (0, 0)), constant_values=fill)
    out_h, out_w = (xp.shape[1] - kh) // stride + 1, (xp.shape[2] - kw) // stride + 1
    z = np.zeros((len(x), out_h, out_w, f))
    for i in range(len(x)):
        for p in range(out_h):
            for q in range(out_w):
                window = xp[i, p * stride:p * stride + kh, q * stride:q * stride + kw]
                for m in range(f):
                    z[i, p, q, m] = np.sum(window * full_kernel[..., m]) + (bias[m] if bias.ndim == 1 else bias[p, q, m])
    return z


def make(table, shape, seed=0, **kwargs):
    layer = Conv2D(table.shape[1], kwargs.pop("kernel_size", 3), connections=table, **kwargs)
    rng = np.random.default_rng(seed)
    layer.setup(shape, rng=rng, dtype=np.float64)
    layer.params["bias"][...] = rng.standard_normal(layer.params["bias"].shape)
    return layer, rng.standard_normal((3,) + shape)


@pytest.mark.parametrize("bias", ["shared", "per_unit"])
@pytest.mark.parametrize("pad_value", [0.0, -1.0])
def test_forward_matches_loops_over_the_masked_kernel(bias, pad_value):
    layer, x = make(SMALL, (6, 6, 2), strides=2, padding="same", bias=bias, pad_value=pad_value)
    full = layer.full_kernel()
    assert full.shape == (3, 3, 2, 3) and np.all(full[:, :, ~SMALL] == 0) and np.all(full[:, :, SMALL] != 0)
    # 6 → 3 at stride 2 with a 3×3 window: one padded pixel, at the bottom/right.
    expected = loops(x, full, layer.params["bias"], 2, ((0, 1), (0, 1)), pad_value)
    np.testing.assert_allclose(layer.forward(x), expected, rtol=1e-12, atol=1e-12)


def test_lenet5_c3_equals_a_full_convolution_with_zeros_where_unconnected():
    layer, x = make(LENET5_C3, (14, 14, 6), kernel_size=5)
    assert layer.params["kernel"].shape == (5, 5, 60) and layer.count_params() == 1516   # LeNet-5's C3
    assert layer.count_links() == 151_600                                                # its connections
    full = Conv2D(16, 5)
    full.setup((14, 14, 6), dtype=np.float64)
    full.set_weights([layer.full_kernel(), layer.params["bias"]])
    np.testing.assert_allclose(layer.forward(x), full.forward(x), rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(layer.params["kernel"], layer.full_kernel().reshape(5, 5, -1)[:, :, LENET5_C3.ravel()])


@pytest.mark.parametrize("table, shape, kwargs", [
    (SMALL, (6, 6, 2), {"strides": 2, "padding": "same", "bias": "per_unit", "pad_value": -1.0}),
    (SMALL, (5, 4, 2), {"bias": "shared"}),
    (LENET5_C3, (7, 7, 6), {"kernel_size": 5, "padding": "same", "pad_value": 0.5, "activation": "scaled_tanh"}),
    (np.ones((3, 2), bool), (5, 5, 3), {"strides": 2, "activation": "tanh"}),
])
def test_gradients(table, shape, kwargs):
    layer, x = make(table, shape, **kwargs)
    errors = check_layer(layer, x=x)
    assert max(errors.values()) < 1e-7, errors


def test_unconnected_entries_get_no_gradient_and_are_no_weights():
    layer, x = make(SMALL, (6, 6, 2))
    layer.forward(x)
    layer.backward(np.ones((3, 4, 4, 3)))
    assert layer.grads["kernel"].shape == (3, 3, int(SMALL.sum()))
    dfull = layer.record(None)._scratch["dfull"].reshape(3, 3, 2, 3)      # the full kernel's gradient, in the record
    assert np.all(dfull[:, :, ~SMALL].reshape(9, -1) != 0)               # the full gradient is not zero there …
    np.testing.assert_array_equal(layer.grads["kernel"], dfull.reshape(3, 3, -1)[:, :, SMALL.ravel()])
    assert layer.count_params() == 9 * 4 + 3                             # … but only the 4 connected slices are weights


def test_fans_count_only_connected_maps():
    seen = {}

    def spy(shape, rng, dtype, fan_in=None, fan_out=None):
        seen["fans"] = (fan_in, fan_out)
        return np.zeros(shape, dtype)
    Conv2D(3, 3, connections=SMALL, kernel_initializer=spy).setup((5, 5, 2))
    assert seen["fans"] == (9 * 4 / 3, 9 * 2)                            # 4 links over 3 filters, over 2 maps


def test_lecun1989_counts_and_whole_model_gradients():
    model = nf.zoo.lecun1989(seed=0)
    assert model.count_params() == 9760 and model.count_links() == 64660       # the paper's totals
    assert [layer.count_params() for layer in model.layers] == [1068, 2592, 0, 5790, 310]
    assert [layer.count_links() for layer in model.layers] == [19968, 38592, 0, 5790, 310]
    table = np.array(nf.zoo.LECUN1989_H2_TABLE)
    assert table.shape == (12, 12) and (table.sum(axis=0) == 8).all() and (table.sum(axis=1) == 8).all()
    text = []
    model.summary(print_fn=text.append, links=True)
    assert "Total params: 9,760" in text[0] and "Total links: 64,660" in text[0]
    small = nf.zoo.lecun1989(seed=1)
    small._requested_dtype = np.dtype("float64")
    small.build()
    small.compile(optimizer="sgd", loss="mse")
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, (2, 16, 16))
    y = np.where(np.eye(10)[[3, 7]] > 0, 1.0, -1.0)
    for w in small.weights:                         # larger than ±2.4/F so every layer's gradient is sizeable
        w[...] = rng.uniform(-0.5, 0.5, w.shape)
    errors = check_model(small, x, y, max_checks=40)
    assert max(errors.values()) < 1e-6, errors


def test_initial_weights_follow_the_paper():
    model = nf.zoo.lecun1989(seed=0)
    model.build()
    for layer, fan_in in zip([model.layers[i] for i in (0, 1, 3, 4)], (25, 200, 192, 30)):
        kernel = layer.params["kernel"]
        assert np.abs(kernel).max() <= 2.4 / fan_in and np.abs(kernel).max() > 0.9 * 2.4 / fan_in
        assert not layer.params["bias"].any()


def test_config_and_save_load_round_trip(tmp_path):
    model = nf.Sequential([Conv2D(3, 3, strides=2, padding="same", connections=SMALL, pad_value=-1.0, bias="per_unit",
                                  activation="scaled_tanh", input_shape=(6, 6, 2)), Flatten(), Dense(2)], seed=0)
    model.compile(optimizer="sgd", loss="mse")
    config = model.layers[0].get_config()
    assert config["connections"] == SMALL.tolist() and config["pad_value"] == -1.0
    x = np.random.default_rng(0).uniform(-1, 1, (4, 6, 6, 2)).astype(np.float32)
    model.save(tmp_path / "m.netfit")
    back = nf.load_model(tmp_path / "m.netfit")
    np.testing.assert_array_equal(back.layers[0].connections, SMALL)
    assert back.layers[0].pad_value == -1.0 and back.count_params() == model.count_params()
    np.testing.assert_array_equal(back.predict(x), model.predict(x))
    lecun = nf.zoo.lecun1989(seed=3)
    lecun.compile(optimizer="sgd", loss="mse")
    lecun.save(tmp_path / "lecun.netfit")
    again = nf.load_model(tmp_path / "lecun.netfit")
    digits = np.random.default_rng(1).uniform(-1, 1, (5, 16, 16)).astype(np.float32)
    np.testing.assert_array_equal(again.predict(digits), lecun.predict(digits))
    assert again.count_links() == 64660


def test_onnx_export_matches_predict():
    pytest.importorskip("onnx")
    ort = pytest.importorskip("onnxruntime")
    from netfit.export import to_onnx
    model = nf.zoo.lecun1989(seed=0)
    rng = np.random.default_rng(0)
    for w in model.weights:
        w[...] = rng.uniform(-0.3, 0.3, w.shape)        # weights that make the padding and the table matter
    x = rng.uniform(-1, 1, (7, 16, 16)).astype(np.float32)
    proto = to_onnx(model)
    assert "Pad" in [node.op_type for node in proto.graph.node]
    session = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    got = session.run(None, {"input": x})[0]
    np.testing.assert_allclose(got, model.predict(x), rtol=0, atol=1e-5)


@pytest.mark.parametrize("kwargs, message", [
    ({"connections": [True, False, True]}, r"expected connections a 2-D \(input maps, 3\) table of booleans, "
                                           r"got shape \(3,\)"),
    ({"connections": np.ones((2, 4), bool)}, r"expected connections a 2-D \(input maps, 3\) table of "
                                             r"booleans, got shape \(2, 4\)"),
    ({"connections": np.full((2, 3), 0.5)}, r"expected connections of booleans \(or 0/1\), got dtype float64"),
    ({"connections": [[True, False, False], [True, False, True]]}, r"expected every filter connected at least once, "
                                                                   r"got none for filter 1"),
    ({"connections": [[True, True, True], [False, False, False]]}, r"expected every input map connected at least once, "
                                                                   r"got none for input map 1"),
    ({"connections": "all"}, r"expected connections a 2-D"),
    ({"pad_value": float("nan")}, r"expected pad_value a finite number, got nan"),
    ({"pad_value": "-1"}, r"expected pad_value a finite number, got '-1'"),
    ({"pad_value": True}, r"expected pad_value a finite number, got True"),
])
def test_bad_arguments_are_refused(kwargs, message):
    with pytest.raises(ValueError, match=r"Conv2D: " + message):
        Conv2D(3, 3, **kwargs)


def test_a_table_for_other_input_maps_is_refused_at_build():
    layer = Conv2D(3, 3, connections=SMALL)
    with pytest.raises(ValueError, match=r"Conv2D: expected connections of shape \(4, 3\) \(input maps × filters\) "
                                         r"for input shape \(6, 6, 4\), got \(2, 3\)"):
        layer.setup((6, 6, 4))
    model = nf.Sequential([Conv2D(3, 3, connections=SMALL, input_shape=(6, 6, 4))])
    with pytest.raises(ValueError, match=r"expected connections of shape \(4, 3\)"):
        model.build()


def test_integer_tables_are_read_as_booleans():
    layer = Conv2D(3, 3, connections=SMALL.astype(int))
    assert layer.connections.dtype == bool and (layer.connections == SMALL).all()
