"""Graphs of layers (issue 22 §1): nf.Input, layer calls on tensors, nf.Model(inputs, outputs), back-propagation
on a graph (netfit/graph.py), shared layers, nested models, feature extraction, and weights shared between models.

Every graph's gradients are checked against float64 central differences; the residual, shared-layer and nested
graphs also against PyTorch's autograd (tests/test_graph_torch.py).
"""
import numpy as np
import pytest

import netfit as nf
from netfit.gradcheck import check_model
from netfit.layers import (Add, Average, BatchNormalization, Concatenate, Conv2D, Dense, Dropout, Flatten, MaxPooling2D,
                           Multiply)

TOL = 1e-6


def _data(n=12, shape=(6,), k=3, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n,) + shape), rng.integers(0, k, n)


def _compiled(model, loss="sparse_categorical_crossentropy", **kwargs):
    model.compile(optimizer="sgd", loss=loss, **kwargs)
    return model


def _assert_gradients(model, x, y):
    errors = check_model(model, x, y)
    assert max(errors.values()) < TOL, errors


# -- the graph ----------------------------------------------------------------------------------------
def test_a_chain_as_a_graph_trains_bit_for_bit_as_the_sequential():
    x, y = _data(64, (6,), 3)
    seq = nf.Sequential([Dense(8, activation="tanh", input_shape=(6,)), Dense(3, activation="softmax")], seed=5)
    inputs = nf.Input(shape=(6,))
    graph = nf.Model(inputs, Dense(3, activation="softmax")(Dense(8, activation="tanh")(inputs)), seed=5)
    for model in (seq, graph):
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        model.fit(x, y, epochs=3, batch_size=16, verbose=0, shuffle=True)
    for a, b in zip(seq.get_weights(), graph.get_weights()):
        assert np.array_equal(a, b)
    assert seq.history.history == graph.history.history


def test_model_inputs_outputs_layers_and_names_as_keras():
    inputs = nf.Input(shape=(4,), name="features")
    hidden = Dense(5, activation="relu")
    outputs = Dense(2)(hidden(inputs))
    model = nf.Model(inputs=inputs, outputs=outputs, name="small")
    assert model.inputs == [inputs] and model.outputs == [outputs] and model.name == "small"
    assert [layer.name for layer in model.layers] == ["features", "dense", "dense_1"]
    assert hidden.input is inputs and hidden.output is outputs.node.inputs[0]
    assert model.input_shape == (None, 4) and model.output_shape == (None, 2)
    assert model.get_layer("dense") is hidden and model.count_params() == 5 * 4 + 5 + 2 * 5 + 2
    assert nf.keras.Model is nf.Model and nf.models.Model is nf.Model and isinstance(nf.Sequential(), nf.Model)


def test_residual_graph_gradients_sum_over_both_paths():
    inputs = nf.Input(shape=(6,))
    h = Dense(6, activation="tanh")(inputs)
    skip = Add()([inputs, Dense(6, activation="tanh")(h)])        # inputs fans out: the sum of two δ's
    model = _compiled(nf.Model(inputs, Dense(3, activation="softmax")(skip), seed=1, dtype="float64"))
    _assert_gradients(model, *_data())


def test_a_tensor_used_by_three_layers_and_a_concatenation():
    inputs = nf.Input(shape=(5,))
    h = Dense(4, activation="sigmoid")(inputs)
    a, b, c = Dense(3, activation="tanh")(h), Dense(2)(h), Dense(2, activation="relu")(h)
    out = Dense(2, activation="softmax")(Concatenate()([a, Multiply()([b, c]), h]))
    model = _compiled(nf.Model(inputs, out, seed=2, dtype="float64"))
    _assert_gradients(model, *_data(10, (5,), 2))


def test_a_shared_layer_gets_the_sum_of_its_two_uses():
    inputs = nf.Input(shape=(4,))
    shared = Dense(4, activation="tanh")
    out = Dense(2, activation="softmax")(Add()([shared(inputs), shared(shared(inputs))]))   # three uses
    model = _compiled(nf.Model(inputs, out, seed=3, dtype="float64"))
    assert model.count_params() == 20 + 10 and len(shared._nodes) == 3
    x, y = _data(9, (4,), 2)
    _assert_gradients(model, x, y)
    # the same numbers with three separate layers holding equal weights, their gradients added
    k, b = shared.get_weights()
    one, two, three = Dense(4, activation="tanh"), Dense(4, activation="tanh"), Dense(4, activation="tanh")
    inputs2 = nf.Input(shape=(4,))
    head = Dense(2, activation="softmax")
    apart = _compiled(nf.Model(inputs2, head(Add()([one(inputs2), three(two(inputs2))])), dtype="float64"))
    for layer in (one, two, three):
        layer.set_weights([k, b])
    head.set_weights(model.layers[-1].get_weights())
    _, g_shared = model.loss_and_gradients(x, y)
    _, g_apart = apart.loss_and_gradients(x, y)
    np.testing.assert_allclose(g_shared[0], g_apart[0] + g_apart[2] + g_apart[4], rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(g_shared[1], g_apart[1] + g_apart[3] + g_apart[5], rtol=1e-12, atol=1e-14)


def test_a_model_used_as_a_layer_nested_twice():
    inner_in = nf.Input(shape=(4,))
    inner = nf.Model(inner_in, Dense(3, activation="tanh")(Dense(5, activation="relu")(inner_in)), name="block")
    seq = nf.Sequential([Dense(3, activation="sigmoid", input_shape=(3,))], name="seq")
    inputs = nf.Input(shape=(4,))
    out = Dense(2, activation="softmax")(seq(inner(inputs)))
    model = _compiled(nf.Model(inputs, out, seed=4, dtype="float64"))
    assert [l.name for l in model.layers] == ["input_layer", "block", "seq", "dense"] or model.layers[1] is inner
    assert model.count_params() == inner.count_params() + seq.count_params() + 8
    _assert_gradients(model, *_data(8, (4,), 2))
    # the nested models train with the outer one and predict with its weights
    before = inner.get_weights()
    model.fit(*_data(32, (4,), 2), epochs=2, verbose=0)
    assert not all(np.array_equal(a, b) for a, b in zip(before, inner.get_weights()))
    x = _data(5, (4,), 2)[0]
    np.testing.assert_allclose(seq.predict(inner.predict(x)), model.layers[2].predict(model.layers[1].predict(x)))


def test_a_sequential_holding_a_graph_model():
    base_in = nf.Input(shape=(6,))
    base = nf.Model(base_in, Dense(4, activation="relu")(base_in), name="base", dtype="float64")
    head = _compiled(nf.Sequential([base, Dense(3, activation="softmax")], name="head", dtype="float64"))
    x, y = _data(10, (6,), 3)
    assert head.predict(x).shape == (10, 3) and head.count_params() == 28 + 15
    _assert_gradients(head, x, y)


def test_feature_extraction_from_a_sequential_and_from_a_graph():
    seq = nf.Sequential([nf.Input(shape=(8, 8, 1)), Conv2D(2, 3, activation="relu"), MaxPooling2D(2), Flatten(),
                         Dense(4, activation="softmax")], seed=0)
    extractor = nf.Model(inputs=seq.inputs, outputs=[layer.output for layer in seq.layers][0])
    x = _data(3, (8, 8, 1))[0].astype("float32")
    conv = seq.layers[0](x)                                  # the same layer, eagerly
    np.testing.assert_allclose(extractor.predict(x), conv, rtol=1e-6)
    assert all(np.shares_memory(a, b) for a, b in zip(extractor.layers[1].weights, seq.layers[0].weights))


def test_weights_are_shared_between_models_that_share_layers():
    inputs = nf.Input(shape=(5,))
    encode = Dense(3, activation="tanh")
    encoder = nf.Model(inputs, encode(inputs), name="encoder")
    decoder_in = nf.Input(shape=(3,))
    decoder = nf.Model(decoder_in, Dense(5)(decoder_in), name="decoder")
    auto = nf.Model(inputs, decoder(encoder(inputs)), name="autoencoder", seed=0)
    auto.compile(optimizer="adam", loss="mse")
    x = _data(64, (5,))[0]
    code_before = encoder.predict(x)
    auto.fit(x, x, epochs=3, verbose=0)
    code_after = encoder.predict(x)                          # the encoder sees what the autoencoder trained
    assert not np.allclose(code_before, code_after)
    np.testing.assert_allclose(decoder.predict(code_after), auto.predict(x), rtol=1e-5, atol=1e-6)
    assert np.shares_memory(encode.weights[0], auto._theta)


def test_layers_built_before_keep_their_weights():
    dense = Dense(3)
    dense(np.ones((2, 4), "float32"))                        # built and drawn eagerly
    kept = dense.get_weights()
    inputs = nf.Input(shape=(4,))
    model = nf.Model(inputs, dense(inputs))
    for a, b in zip(kept, model.get_weights()):
        assert np.array_equal(a, b)


def test_eager_calls_return_arrays():
    x = _data(4, (6,))[0].astype("float32")
    assert Dense(3)(x).shape == (4, 3)
    inputs = nf.Input(shape=(6,))
    model = nf.Model(inputs, Dense(2, activation="softmax")(Dropout(0.5)(inputs)))
    np.testing.assert_array_equal(model(x), model.predict(x))
    assert model(x, training=True).shape == (4, 2)           # dropout on: a draw of its own
    assert isinstance(model(x), np.ndarray)


def test_unnamed_nested_models_are_numbered_as_keras_names_them():
    # Keras's ensemble: three unnamed models in one are functional, functional_1, functional_2; named ones
    # that clash are still refused, and so are two unnamed Sequentials only where they are not models.
    def member():
        x = nf.Input(shape=(4,))
        return nf.Model(x, Dense(1)(x))

    members = [member(), member(), member()]
    inputs = nf.Input(shape=(4,))
    ensemble = nf.Model(inputs, Average()([m(inputs) for m in members]))
    assert [layer.name for layer in ensemble.layers[1:4]] == ["functional", "functional_1", "functional_2"]
    x = _data(5, (4,))[0].astype("float32")
    np.testing.assert_allclose(ensemble.predict(x, verbose=0),
                               sum(m.predict(x, verbose=0) for m in members) / 3, rtol=1e-6)
    stack = nf.Sequential([nf.Input(shape=(4,)), nf.Sequential([Dense(4)]), nf.Sequential([Dense(2)])])
    assert [layer.name for layer in stack.layers] == ["sequential", "sequential_1"]
    with pytest.raises(ValueError, match=r"a layer named 'base' is already in the model"):
        nf.Sequential([nf.Input(shape=(4,)), nf.Sequential([Dense(4)], name="base"),
                       nf.Sequential([Dense(2)], name="base")])
    twins = [nf.Model(x_in, Dense(1)(x_in), name="twin") for x_in in (nf.Input(shape=(4,)), nf.Input(shape=(4,)))]
    with pytest.raises(ValueError, match=r"two layers are named 'twin'"):
        nf.Model(inputs, Average()([t(inputs) for t in twins]))


def test_a_models_input_and_output_are_its_own_tensors_also_when_nested():
    # Keras's Functional.input/output: the tensors given to Model(...), as given (one, list, dict), not those of
    # the model's first call in another graph; so Model(inputs=m.input, outputs=[l.output for l in m.layers]).
    image = nf.Input(shape=(6,), name="img")
    hidden = Dense(4, name="hidden")(image)
    encoder = nf.Model(image, Dense(2, name="code")(hidden))
    other = nf.Input(shape=(6,))
    nf.Model(other, encoder(other))                              # encoder's first call is in this graph
    assert encoder.input is image and encoder.output is encoder.outputs[0] and encoder.input is not other
    features = nf.Model(inputs=encoder.input, outputs=[layer.output for layer in encoder.layers])
    x = _data(3, (6,))[0].astype("float32")
    assert [f.shape for f in features.predict(x, verbose=0)] == [(3, 6), (3, 4), (3, 2)]
    a, b = nf.Input(shape=(2,), name="a"), nf.Input(shape=(3,), name="b")
    pair = nf.Model({"a": a, "b": b}, [Dense(1)(a), Dense(1)(b)])
    assert pair.input == {"a": a, "b": b} and pair.output == pair.outputs
    stack = nf.Sequential([nf.Input(shape=(6,)), Dense(2)])
    assert stack.input is stack.inputs[0] and stack.output is stack.outputs[0]


def test_unbuildable_graphs_are_refused_with_the_tensor_named():
    a, b = nf.Input(shape=(3,), name="a"), nf.Input(shape=(3,), name="b")
    out = Add()([Dense(3)(a), b])
    with pytest.raises(ValueError, match=r"graph disconnected.*'b'.*inputs \['a'\]"):
        nf.Model(a, out)
    with pytest.raises(ValueError, match=r"two layers are named 'twin'"):
        x = nf.Input(shape=(3,))
        nf.Model(x, Dense(2, name="twin")(Dense(3, name="twin")(x)))
    with pytest.raises(TypeError, match=r"expected inputs symbolic tensors"):
        nf.Model(np.ones((2, 3)), out)
    with pytest.raises(ValueError, match=r"built for \(3,\)"):
        shared = Dense(2)
        shared(nf.Input(shape=(3,)))
        shared(nf.Input(shape=(4,)))
    with pytest.raises(TypeError, match=r"one input tensor"):
        Dense(2)([nf.Input(shape=(3,))])


def test_a_graph_trains_on_threads_as_on_one():
    def residual():
        inputs = nf.Input(shape=(6,))
        h = Dense(16, activation="relu")(inputs)
        return nf.Model(inputs, Dense(3, activation="softmax")(Add()([h, Dense(16, activation="relu")(h)])), seed=0)
    x, y = _data(256, (6,), 3)
    results = []
    for threads in (1, 2):
        nf.config.set_threads(threads)
        try:
            model = residual()
            model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
            model.fit(x, y, epochs=2, batch_size=64, verbose=0)
            results.append(model.get_weights())
        finally:
            nf.config.set_threads("auto")
    for a, b in zip(*results):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)      # the shares' sum in another order


def test_batchnormalization_in_a_graph_and_dropout_masks_per_epoch():
    inputs = nf.Input(shape=(6,))
    out = Dense(3, activation="softmax")(Dropout(0.3)(BatchNormalization()(Dense(8)(inputs))))
    x, y = _data(64, (6,), 3)
    first = nf.Model(inputs, out, seed=7)
    second = nf.models.clone_model(first)
    for model in (first, second):
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
        model.fit(x, y, epochs=2, batch_size=16, verbose=0)
    for a, b in zip(first.get_weights(), second.get_weights()):
        assert np.array_equal(a, b)                               # same seed, same masks, same bits


# -- several inputs and outputs ------------------------------------------------------------------------
def _two_by_two(seed=0, dtype=None):
    a, b = nf.Input(shape=(4,), name="a"), nf.Input(shape=(3,), name="b")
    h = Concatenate()([Dense(5, activation="tanh")(a), Dense(5, activation="sigmoid")(b)])
    cls = Dense(3, activation="softmax", name="cls")(h)
    reg = Dense(1, name="reg")(Add()([h, Dense(10)(h)]))
    return nf.Model({"a": a, "b": b}, {"cls": cls, "reg": reg}, seed=seed, dtype=dtype)


def _two_by_two_data(n=48, seed=0):
    rng = np.random.default_rng(seed)
    x = {"a": rng.standard_normal((n, 4)), "b": rng.standard_normal((n, 3))}
    return x, {"cls": rng.integers(0, 3, n), "reg": rng.standard_normal((n, 1))}


def test_several_inputs_and_outputs_train_with_kerass_names_and_weights():
    model = _two_by_two()
    model.compile(optimizer="adam", loss={"cls": "sparse_categorical_crossentropy", "reg": "mse"},
                  loss_weights={"cls": 1.0, "reg": 0.5}, metrics={"cls": ["accuracy"]})
    x, y = _two_by_two_data()
    history = model.fit(x, y, epochs=2, batch_size=16, verbose=0, validation_split=0.25)
    assert list(history.history) == ["loss", "cls_loss", "cls_accuracy", "reg_loss", "val_loss", "val_cls_loss",
                                     "val_cls_accuracy", "val_reg_loss"]
    logs = model.evaluate(x, y, return_dict=True)
    assert logs["loss"] == pytest.approx(logs["cls_loss"] + 0.5 * logs["reg_loss"], rel=1e-6)
    as_list = model.evaluate([x["a"], x["b"]], [y["cls"], y["reg"]], return_dict=True)
    assert as_list == logs
    outputs = model.predict(x)
    assert sorted(outputs) == ["cls", "reg"] and outputs["cls"].shape == (48, 3) and outputs["reg"].shape == (48, 1)
    with pytest.raises(ValueError, match=r"expected x as a dict with keys \['a', 'b'\]"):
        model.predict({"a": x["a"]})
    with pytest.raises(ValueError, match=r"loss has key 'klass', which is not an output"):
        model.compile(loss={"klass": "mse"})


def test_gradients_of_several_outputs_are_the_weighted_sum():
    model = _two_by_two(dtype="float64")
    model.compile(optimizer="sgd", loss=["sparse_categorical_crossentropy", "mse"], loss_weights=[2.0, 0.3])
    x, y = _two_by_two_data(10)
    _assert_gradients(model, [x["a"], x["b"]], [y["cls"], y["reg"]])


def test_an_output_without_a_loss_is_not_trained_by_it():
    model = _two_by_two(dtype="float64")
    model.compile(optimizer="sgd", loss={"cls": "sparse_categorical_crossentropy"})     # reg: no loss
    x, y = _two_by_two_data(10)
    _, grads = model.loss_and_gradients(x, {"cls": y["cls"]})
    reg_layer = model.get_layer("reg")
    k = [w.shape for w in model.get_weights()].index(reg_layer.weights[0].shape)
    assert not grads[k].any()                               # nothing reaches the untrained head


# -- files, description, other front ends ----------------------------------------------------------------
def test_a_graph_saves_loads_and_round_trips_through_json(tmp_path):
    model = _two_by_two(seed=3)
    model.compile(optimizer="adam", loss={"cls": "sparse_categorical_crossentropy", "reg": "mse"},
                  metrics={"cls": ["accuracy"]})
    x, y = _two_by_two_data()
    model.fit(x, y, epochs=1, verbose=0)
    model.save(tmp_path / "two.netfit")
    loaded = nf.load_model(tmp_path / "two.netfit")
    assert type(loaded) is nf.Model and loaded.output_names == ["cls", "reg"]
    for k in ("cls", "reg"):
        assert np.array_equal(loaded.predict(x)[k], model.predict(x)[k])
    assert loaded.evaluate(x, y, return_dict=True) == model.evaluate(x, y, return_dict=True)
    again = nf.models.model_from_json(model.to_json())
    assert [l.name for l in again.layers] == [l.name for l in model.layers] and again.count_params() == 199
    assert nf.models.clone_model(model).count_params() == model.count_params()


def test_summary_names_what_each_layer_reads():
    inputs = nf.Input(shape=(4,), name="x")
    shared = Dense(4, name="shared")
    model = nf.Model(inputs, Add(name="sum")([shared(inputs), shared(shared(inputs))]))
    lines = []
    model.summary(print_fn=lines.append)
    text = lines[0]
    assert "Connected to" in text and " x (InputLayer)" in text
    row = next(line for line in text.splitlines() if line.startswith(" sum (Add)"))
    assert "shared[0][0]" in row and "shared[2][0]" in text


def test_plot_model_writes_a_picture(tmp_path):
    pytest.importorskip("matplotlib")
    model = _two_by_two()
    nf.keras.utils.plot_model(model, to_file=tmp_path / "model.png", show_shapes=True)
    assert (tmp_path / "model.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(ValueError, match="rankdir"):
        nf.keras.utils.plot_model(model, to_file=None, rankdir="BT")


def test_onnx_export_of_a_graph_predicts_the_same(tmp_path):
    ort = pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")
    model = _two_by_two()
    nf.export.to_onnx(model, tmp_path / "two.onnx")
    session = ort.InferenceSession(str(tmp_path / "two.onnx"))
    x, _ = _two_by_two_data(5)
    got = session.run(None, {k: v.astype("float32") for k, v in x.items()})
    for g, want in zip(got, (model.predict(x)[k] for k in ("cls", "reg"))):
        np.testing.assert_allclose(g, want, rtol=1e-5, atol=1e-6)


def test_sklearn_wrappers_take_a_graph_model():
    pytest.importorskip("sklearn")
    from netfit.sklearn import NetClassifier
    inputs = nf.Input(shape=(4,))
    h = Dense(8, activation="tanh")(inputs)
    net = nf.Model(inputs, Dense(3, activation="softmax")(Add()([h, Dense(8, activation="tanh")(h)])))
    x, y = _data(90, (4,), 3)
    clf = NetClassifier(model=net, epochs=30, random_state=0).fit(x, y)
    assert clf.score(x, y) > 0.4 and clf.predict_proba(x).shape == (90, 3)
    assert net.count_params() == sum(w.size for w in net.get_weights())     # the given model is left alone
    with pytest.raises(ValueError, match=r"expected model to take \(n, 5\) inputs"):
        NetClassifier(model=net).fit(np.ones((6, 5)), [0, 1, 2, 0, 1, 2])


def test_the_readmes_graph_example_runs_as_written():
    from pathlib import Path
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    start = readme.index("import netfit as nf\nfrom netfit.layers import Add")
    namespace = {}
    exec(readme[start:readme.index("```", start)], namespace)      # noqa: S102 — the README's own code
    model = namespace["model"]
    rng = np.random.default_rng(0)
    x = {"image": rng.random((8, 28, 28, 1)), "meta": rng.random((8, 3))}
    y = {"digit": rng.integers(0, 10, 8), "size": rng.random((8, 1))}
    assert list(model.fit(x, y, epochs=1, verbose=0).history) == ["loss", "digit_loss", "digit_accuracy", "size_loss"]


def test_an_epoch_loss_of_several_inputs_weighs_each_batch_by_its_rows():
    # With a learning rate of 1e-12 the weights stay put, so the epoch's loss is the loss over all examples,
    # which evaluate computes: the last, short batch (2 of 10 rows) must weigh 2/10, not 1/3.
    a, b = nf.Input((3,), name="a"), nf.Input((2,), name="b")
    out = Dense(1)(Concatenate()([a, b]))
    model = nf.Model([a, b], out, seed=0)
    model.compile(optimizer=nf.optimizers.SGD(learning_rate=1e-12), loss="mse")
    rng = np.random.default_rng(0)
    x = [rng.standard_normal((10, 3)), rng.standard_normal((10, 2))]
    y = rng.standard_normal((10, 1)) * np.arange(10)[:, None]          # the last rows weigh most
    history = model.fit(x, y, batch_size=4, epochs=1, shuffle=False, verbose=0)
    assert history.history["loss"][0] == pytest.approx(model.evaluate(x, y, verbose=0), rel=1e-6)
