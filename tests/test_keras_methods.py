"""Keras's Sequential methods: get_layer, pop, trainable and trainable_weights, to_json / model_from_json,
save_weights / load_weights (netfit's .weights.npz), ModelCheckpoint(save_weights_only=True), and save's .netfit
suffix. Each refusal leaves every weight as it was."""
import contextlib
import json
import zipfile

import numpy as np
import pytest

import fake_gpu
import netfit as nf
from netfit import backend, cli, weights_file
from netfit.callbacks import LambdaCallback, ModelCheckpoint
from netfit.io import ModelFileError
from netfit.layers import BatchNormalization, Dense, Dropout, Input

RNG = np.random.default_rng(0)
X = RNG.normal(size=(24, 3)).astype("float32")
Y = np.arange(24) % 3


def _model(seed=0, dtype=None, units=3, compiled=True):
    model = nf.Sequential([Input(shape=(3,)), Dense(5, activation="tanh"), Dropout(0.2),
                           Dense(units, activation="softmax")], seed=seed, dtype=dtype)
    if compiled:
        model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def _trained(**kwargs):
    model = _model(**kwargs)
    model.fit(X, Y, epochs=2, batch_size=8, verbose=0)
    return model


def _bytes(model):
    return [w.tobytes() for w in model.get_weights()]


# -- get_layer ---------------------------------------------------------------------------------------
def test_get_layer_by_name_and_by_index_as_keras_counts_them():
    model = _model()
    assert [layer.name for layer in model.layers] == ["dense", "dropout", "dense_1"]    # Input is not a layer
    assert model.get_layer("dropout") is model.layers[1] and model.get_layer(name="dense_1") is model.layers[2]
    assert model.get_layer(index=0) is model.layers[0] and model.get_layer(index=-1) is model.layers[2]
    assert model.get_layer(index=np.int64(1)) is model.layers[1]


@pytest.mark.parametrize("kwargs, error, match", [
    ({}, ValueError, r"Sequential.get_layer: expected exactly one of name and index, got neither; "
                     r"e.g. model.get_layer\('dense_1'\) or model.get_layer\(index=0\)"),
    ({"name": "dense", "index": 0}, ValueError, r"expected exactly one of name and index, got both"),
    ({"name": "dense_7"}, ValueError, r"Sequential.get_layer: expected name one of \['dense', 'dropout', 'dense_1'\], "
                                      r"got 'dense_7'"),
    ({"index": 3}, ValueError, r"Sequential.get_layer: expected index in range\(-3, 3\) \(the model has 3 layers\), "
                               r"got 3"),
    ({"index": -4}, ValueError, r"expected index in range\(-3, 3\)"),
    ({"index": 1.0}, TypeError, r"Sequential.get_layer: expected index an int, got float"),
    ({"index": True}, TypeError, r"expected index an int, got bool"),
    ({"name": 0}, TypeError, r"Sequential.get_layer: expected name a str, got int; for the layer at position 0, "
                             r"use model.get_layer\(index=0\)\.$"),
    ({"name": 1.5}, TypeError, r"Sequential.get_layer: expected name a str, got float\.$"),
], ids=["neither", "both", "unknown-name", "index-too-big", "index-too-small", "index-float", "index-bool", "name-int",
                             "name-float"])
def test_get_layer_refusals(kwargs, error, match):
    with pytest.raises(error, match=match):
        _model().get_layer(**kwargs)


# -- pop (and add on a built model) ------------------------------------------------------------------
def test_pop_returns_the_last_layer_and_the_others_keep_their_weights():
    model = _trained()
    before, last = model.get_weights(), model.layers[-1]
    assert model.pop() is last
    assert [layer.name for layer in model.layers] == ["dense", "dropout"] and model.built
    assert model.count_params() == 3 * 5 + 5 and model.output_shape == (None, 5)
    kept = model.get_weights()
    assert len(kept) == 2 and all(np.array_equal(a, b) for a, b in zip(kept, before[:2]))
    # θ is laid out anew: each layer's params are views of the new flat vector
    assert np.shares_memory(model.layers[0].params["kernel"], model._theta) and model._theta.size == 20
    reference = np.tanh(X @ before[0] + before[1])                      # Dropout passes through at predict
    np.testing.assert_allclose(model.predict(X, verbose=0), reference, rtol=1e-5, atol=1e-6)


def test_pop_add_compile_fit_is_keras_transfer_learning():
    model = _trained()
    body = model.get_weights()[:2]
    model.pop()
    model.add(Dense(2, activation="softmax", name="head"))
    assert np.array_equal(model.get_weights()[0], body[0]) and model.get_weights()[2].shape == (5, 2)
    model.get_layer("dense").trainable = False
    model.compile("adam", "sparse_categorical_crossentropy")
    model.fit(X, Y % 2, epochs=2, batch_size=8, verbose=0)
    assert np.array_equal(model.get_weights()[0], body[0])              # frozen body, trained head
    assert model.get_layer("head").get_weights()[0].shape == (5, 2)


def test_add_on_a_built_model_draws_only_the_new_layer_as_a_fresh_model_would():
    grown = nf.Sequential([Dense(4, input_shape=(3,)), Dense(2)], seed=7)
    grown.build()
    grown.add(Dense(6))
    assert grown.built
    fresh = nf.Sequential([Dense(4, input_shape=(3,)), Dense(2), Dense(6)], seed=7)
    assert [w.tobytes() for w in grown.get_weights()] == [w.tobytes() for w in fresh.get_weights()]


def test_add_refuses_a_layer_that_does_not_fit_and_leaves_the_model_as_it_was():
    model = _trained()
    before, theta = _bytes(model), model._theta
    with pytest.raises(ValueError, match=r"declared input_shape=\(4,\), but the layer below produces \(3,\)"):
        model.add(Dense(2, input_shape=(4,)))
    assert len(model.layers) == 3 and model.built and model._theta is theta and _bytes(model) == before
    model.fit(X, Y, epochs=1, verbose=0)                               # and it still trains


def test_pop_on_a_compiled_model_keeps_the_compile_and_fit_names_a_loss_that_no_longer_fits():
    model = _trained()
    model.pop()
    assert model.compiled and model.optimizer.m.shape == model._theta.shape    # Adam's state laid out anew
    with pytest.raises(ValueError, match=r"softmax"):
        model.fit(X, Y, epochs=1, verbose=0)                           # tanh output under cross-entropy
    model.compile("adam", "mse")
    model.fit(X, np.zeros((len(X), 5), "float32"), epochs=1, verbose=0)


def test_pop_down_to_nothing_then_refuse_and_rebuild_with_input():
    model = _trained()
    for _ in range(3):
        model.pop()
    assert model.layers == [] and not model.built
    with pytest.raises(ValueError, match=r"Sequential.pop: expected a model with layers, got an empty one"):
        model.pop()
    model.add(Dense(3, activation="softmax"))                            # the Input(shape=(3,)) still holds
    assert model.input_shape == (None, 3)
    model.fit(X, Y, epochs=1, verbose=0)


def test_pop_on_an_unbuilt_model_leaves_it_unbuilt():
    model = nf.Sequential([Dense(4), Dense(2)])
    model.pop()
    assert not model.built and [layer.name for layer in model.layers] == ["dense"]
    with pytest.raises(ValueError, match=r"Sequential.pop: expected a model with layers"):
        nf.Sequential().pop()


# -- trainable_weights / non_trainable_weights -------------------------------------------------------
def test_trainable_and_non_trainable_weights_split_get_weights_by_layer_trainable():
    model = _trained()
    all_weights = model.get_weights()
    assert [w.tobytes() for w in model.trainable_weights] == [w.tobytes() for w in all_weights]
    assert model.non_trainable_weights == []
    model.get_layer("dense").trainable = False
    assert [w.shape for w in model.non_trainable_weights] == [(3, 5), (5,)]
    assert [w.shape for w in model.trainable_weights] == [(5, 3), (3,)]
    assert sum(w.size for w in model.non_trainable_weights) + sum(w.size for w in model.trainable_weights) \
        == model.count_params()


def test_trainable_weights_are_copies_so_a_write_cannot_bypass_set_weights():
    model = _trained()
    before = _bytes(model)
    for w in model.trainable_weights:
        w[...] = np.nan
    assert _bytes(model) == before


def _bn_model(seed=0):
    model = nf.Sequential([Input(shape=(3,)), Dense(4, activation="relu"), BatchNormalization(),
                           Dense(3, activation="softmax")], seed=seed)
    model.compile("adam", "sparse_categorical_crossentropy")
    return model


def _summary(model):
    lines = []
    model.summary(print_fn=lines.append)
    return lines[0]


def test_batch_normalization_moving_statistics_are_non_trainable_weights_as_summary_counts_them():
    model = _bn_model()
    model.fit(X, Y, epochs=1, batch_size=8, verbose=0)
    w = _bytes(model)        # kernel, bias, gamma, beta, moving_mean, moving_variance, kernel_1, bias_1
    assert [a.tobytes() for a in model.trainable_weights] == w[:4] + w[6:]
    assert [a.tobytes() for a in model.non_trainable_weights] == w[4:6]        # Keras: moving_mean, moving_variance
    assert "Trainable params: 39" in _summary(model) and "Non-trainable params: 8" in _summary(model)
    model.get_layer("batch_normalization").trainable = False                    # a frozen layer: all four, in order
    assert [a.tobytes() for a in model.non_trainable_weights] == w[2:6]
    assert [a.tobytes() for a in model.trainable_weights] == w[:2] + w[6:]
    assert "Trainable params: 31" in _summary(model) and "Non-trainable params: 16" in _summary(model)


def test_model_trainable_false_freezes_every_layer_in_fit_without_recompiling():
    model = _trained()                                       # Adam has momentum now: it must not move a weight
    assert model.trainable is True
    model.trainable = False
    assert "trainable" not in vars(model)                   # a property, not a new attribute that nothing reads
    assert model.trainable is False and [layer.trainable for layer in model.layers] == [False, False, False]
    before = _bytes(model)
    model.fit(X, Y, epochs=2, batch_size=8, verbose=0)
    model.train_on_batch(X, Y)
    assert _bytes(model) == before and model.optimizer.iterations > 0
    assert model.trainable_weights == [] and [a.tobytes() for a in model.non_trainable_weights] == before
    text = _summary(model)
    assert "Trainable params: 0" in text and f"Non-trainable params: {model.count_params()}" in text
    model.trainable = True                                   # from the next step on, every layer trains again
    assert all(layer.trainable for layer in model.layers) and "Non-trainable params: 0" in _summary(model)
    model.fit(X, Y, epochs=1, batch_size=8, verbose=0)
    after = _bytes(model)
    assert after[0] != before[0] and after[2] != before[2]


def test_model_trainable_false_then_a_new_head_trains_the_head_alone():
    model = _trained()
    model.trainable = False
    model.pop()
    model.add(Dense(2, activation="softmax"))                # added after the freeze: trainable, as layers start
    model.compile("adam", "sparse_categorical_crossentropy")
    base, head = _bytes(model)[:2], _bytes(model)[2:]
    model.fit(X, Y % 2, epochs=2, batch_size=8, verbose=0)
    assert _bytes(model)[:2] == base and _bytes(model)[2] != head[0]
    assert model.trainable is False                          # the flag last set on the model (Keras's getter)
    assert "Trainable params: 12" in _summary(model)


def test_model_trainable_freezes_batch_normalization_statistics_and_save_load_keeps_the_layers_flags(tmp_path):
    model = _bn_model()
    model.trainable = False
    before = _bytes(model)
    model.fit(X, Y, epochs=1, batch_size=8, verbose=0)       # a frozen BatchNormalization runs in inference mode
    assert _bytes(model) == before
    assert [spec["config"].get("trainable") for spec in model.get_config()["layers"]] == [False] * 3
    model.save(tmp_path / "m.netfit")
    loaded = nf.load_model(tmp_path / "m.netfit")
    assert [layer.trainable for layer in loaded.layers] == [False] * 3 and loaded.trainable is True
    assert loaded.trainable_weights == [] and "Trainable params: 0" in _summary(loaded)
    loaded.fit(X, Y, epochs=1, batch_size=8, verbose=0)
    assert _bytes(loaded) == before
    again = nf.Sequential.from_config(model.get_config())
    assert [layer.trainable for layer in again.layers] == [False] * 3


@pytest.mark.parametrize("value", [0, 1, "no", None, np.array([False])], ids=["0", "1", "str", "none", "array"])
def test_model_trainable_refuses_anything_but_a_bool_and_changes_no_layer(value):
    model = _model()
    model.layers[1].trainable = False
    with pytest.raises(TypeError, match=r"Sequential.trainable: expected True or False, got .*; e.g. "
                                        r"model.trainable = False to freeze every layer\."):
        model.trainable = value
    assert model.trainable is True and [layer.trainable for layer in model.layers] == [True, False, True]
    model.trainable = np.bool_(False)
    assert model.trainable is False and not any(layer.trainable for layer in model.layers)


# -- to_json / model_from_json -----------------------------------------------------------------------
def test_to_json_round_trips_through_models_model_from_json():
    model = _model(seed=3, dtype="float64")
    text = model.to_json()
    assert isinstance(text, str) and json.loads(text) == model.get_config()
    assert model.to_json(indent=2).startswith("{\n  ")                  # kwargs go to json.dumps, as in Keras
    again = nf.models.model_from_json(text)
    assert again.get_config() == model.get_config() and again.dtype == np.float64
    assert _bytes(again) == _bytes(model)                               # same seed: same initial weights
    assert nf.keras.models.model_from_json is nf.architecture.model_from_json


@pytest.mark.parametrize("spec", [
    {"module": "keras", "class_name": "Sequential", "registered_name": None, "build_config": {"input_shape": [None, 3]},
     "config": {"name": "sequential", "trainable": True, "layers": [{"module": "keras.layers", "class_name": "Dense",
                                                                     "config": {"units": 3}}]}},
    {"class_name": "Sequential", "config": {"name": "sequential", "layers": []}, "keras_version": "2.15.0",
     "backend": "tensorflow"}], ids=["keras3", "keras2"])
def test_model_from_json_names_keras_json_as_such_with_the_way_over(spec):
    with pytest.raises(ValueError, match=r"model_from_json: expected the JSON of netfit's model.to_json\(\) \(or "
                                         r"netfit.architecture.model_to_json\), got what looks like a Keras model's "
                                         r"JSON \(top-level keys 'module'|'class_name'.*\); netfit does not read "
                                         r"Keras's JSON or files. Build the same layers as a netfit Sequential and copy "
                                         r"the weights: model.set_weights\(keras_model.get_weights\(\)\)"):
        nf.models.model_from_json(json.dumps(spec))
    with pytest.raises(ValueError, match=r"unknown key 'nme'; expected some of"):    # a netfit spec's typo: as before
        nf.models.model_from_json({"input_shape": [3], "nme": "x", "layers": [{"class_name": "Dense",
                                                                              "config": {"units": 3}}]})


# -- save_weights / load_weights ---------------------------------------------------------------------
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_save_weights_then_load_into_a_fresh_model_predicts_bit_for_bit(tmp_path, dtype):
    model = _trained(dtype=dtype)
    path = tmp_path / "m.weights.npz"
    model.save_weights(path)
    fresh = _model(seed=99, dtype=dtype, compiled=False)
    assert _bytes(fresh) != _bytes(model)
    fresh.load_weights(path)
    assert _bytes(fresh) == _bytes(model)
    assert model.predict(X, verbose=0).tobytes() == fresh.predict(X, verbose=0).tobytes()
    with np.load(path, allow_pickle=False) as npz:                      # NumPy's format: no netfit needed
        assert sorted(npz.files) == ["manifest", "weight_0", "weight_1", "weight_2", "weight_3"]
        manifest = json.loads(str(npz["manifest"]))
        assert npz["weight_0"].dtype == dtype and manifest["dtype"] == dtype
    assert [layer["name"] for layer in manifest["layers"]] == ["dense", "dropout", "dense_1"]
    assert list(tmp_path.iterdir()) == [path]                           # no temporary file left


def test_load_weights_builds_a_model_whose_input_shape_is_known_and_keeps_the_compile(tmp_path):
    model = _trained()
    model.save_weights(tmp_path / "m.weights.npz")
    lazy = nf.Sequential([Dense(5, activation="tanh", input_shape=(3,)), Dropout(0.2), Dense(3, activation="softmax")])
    lazy.compile("sgd", "sparse_categorical_crossentropy")
    lazy.load_weights(tmp_path / "m.weights.npz")
    assert lazy.built and _bytes(lazy) == _bytes(model)
    lazy.fit(X, Y, epochs=1, verbose=0)
    unknown = nf.Sequential([Dense(5, activation="tanh"), Dropout(0.2), Dense(3, activation="softmax")])
    with pytest.raises(ValueError, match=r"Sequential.load_weights: the model is not built and its input shape is "
                                         r"unknown; the file was saved from a model with input shape \(3,\): "
                                         r"call model.build\(\(3,\)\) first"):
        unknown.load_weights(tmp_path / "m.weights.npz")
    assert not unknown.built
    unknown.build((3,))
    unknown.load_weights(tmp_path / "m.weights.npz")
    assert _bytes(unknown) == _bytes(model)


def test_save_weights_overwrite_false_refuses_an_existing_file(tmp_path):
    model = _trained()
    path = tmp_path / "m.weights.npz"
    model.save_weights(path)
    first = path.read_bytes()
    with pytest.raises(FileExistsError, match=r"Sequential.save_weights: .* exists and overwrite=False; pass "
                                              r"overwrite=True to replace it"):
        _model(seed=5).save_weights(path, overwrite=False)
    assert path.read_bytes() == first
    with pytest.raises(TypeError, match=r"expected overwrite True or False, got 'no'"):
        model.save_weights(path, overwrite="no")


def test_a_failed_save_weights_keeps_the_previous_file(tmp_path, monkeypatch):
    path = tmp_path / "m.weights.npz"
    _trained().save_weights(path)
    first = path.read_bytes()

    def broken(handle, **arrays):
        handle.write(b"PK\x03\x04 half a file")
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(np, "savez", broken)
    with pytest.raises(OSError, match=r"Sequential.save_weights: could not write .*the previous file, if any, "
                                      r"is unchanged"):
        _model(seed=5).save_weights(path)
    assert path.read_bytes() == first and list(tmp_path.iterdir()) == [path]


@pytest.mark.parametrize("name, match", [
    ("m", r"expected a .weights.npz path, got '.*m'; use 'm.weights.npz'"),
    ("m.npz", r"expected a .weights.npz path, got '.*m.npz'; use 'm.weights.npz'"),
    ("m.weights", r"expected a .weights.npz path, got '.*m.weights'; use 'm.weights.npz'"),
    ("m.h5", r"expected a .weights.npz path \(netfit's, NumPy's .npz\) or a .weights.h5 path \(Keras 3's, needs "
             r"h5py\), got '.*m.h5'; Keras 2's HDF5 names and whole-model .keras files are not weights files; use "
             r"'m.weights.npz' or 'm.weights.h5'"),
    ("m.keras", r"expected a .weights.npz path .*or a .weights.h5 path .*, got '.*m.keras'; .*use 'm.weights.npz'"),
    ("m.netfit", r"expected a .weights.npz path, got '.*m.netfit', a whole-model file name; use model.save / nf.load_model for .netfit files, "
                 r"or 'm.weights.npz' for the weights alone"),
], ids=["bare", "npz", "weights", "h5", "keras", "netfit"])
def test_weight_file_names_without_the_suffix_are_refused_with_the_name_to_use(tmp_path, name, match):
    model = _trained()
    with pytest.raises(ValueError, match=r"Sequential.save_weights: " + match):
        model.save_weights(tmp_path / name)
    assert list(tmp_path.iterdir()) == []
    before = _bytes(model)
    (tmp_path / name).write_bytes(b"anything")
    with pytest.raises(ValueError, match=r"Sequential.load_weights: " + match):
        model.load_weights(tmp_path / name)
    assert _bytes(model) == before


def _other_stacks():
    same = dict(activation="tanh")
    return [
        pytest.param(lambda: nf.Sequential([Dense(5, input_shape=(3,), **same), Dense(3)], seed=0),
                     r"expected a file of 2 layers \(dense, dense_1\), got 3 layers \(dense, dropout, dense_1\)",
                     id="layer-count"),
        pytest.param(lambda: nf.Sequential([Dense(3, input_shape=(3,))], seed=0),
                     r"expected a file of 1 layer \(dense\), got 3 layers \(dense, dropout, dense_1\)",
                     id="one-layer"),
        pytest.param(lambda: nf.Sequential([Dense(5, input_shape=(3,), **same), Dropout(0.2, name="drop"),
                                            Dense(3)], seed=0),
                     r"expected layer 1 'drop' \(Dropout\), got 'dropout' \(Dropout\)", id="layer-name"),
        pytest.param(lambda: nf.Sequential([Dense(5, input_shape=(3,), **same), Dense(5, name="dropout"),
                                            Dense(3)], seed=0),
                     r"expected layer 1 'dropout' \(Dense\), got 'dropout' \(Dropout\)", id="layer-class"),
        pytest.param(lambda: nf.Sequential([Dense(5, input_shape=(3,), **same), Dropout(0.2), Dense(4)], seed=0),
                     r"expected layer 2 'dense_1' with kernel of shape \(5, 4\), bias of shape \(4,\), got kernel "
                     r"of shape \(5, 3\), bias of shape \(3,\)", id="weight-shape"),
        pytest.param(lambda: nf.Sequential([Dense(5, input_shape=(4,), **same), Dropout(0.2), Dense(3)], seed=0),
                     r"expected layer 0 'dense' with kernel of shape \(4, 5\)", id="input-shape"),
        pytest.param(lambda: nf.Sequential([Dense(5, input_shape=(3,), **same), Dropout(0.2), Dense(3, use_bias=False)],
                                           seed=0),
                     r"expected layer 2 'dense_1' with kernel of shape \(5, 3\), got kernel of shape \(5, 3\), bias",
                     id="no-bias"),
        pytest.param(lambda: _model(dtype="float64"),
                     r"expected float64 weights \(the model's dtype\), got float32 in .*; build the model with "
                     r"dtype='float32'", id="dtype"),
    ]


@pytest.mark.parametrize("make, match", _other_stacks())
def test_load_weights_refuses_another_architecture_before_changing_any_weight(tmp_path, make, match):
    path = tmp_path / "m.weights.npz"
    _trained().save_weights(path)
    model = make()
    model.compile("adam", "mse")
    before = _bytes(model)
    with pytest.raises(ValueError, match=r"Sequential.load_weights: " + match) as info:
        model.load_weights(path)
    same_shapes = [w.shape for w in model.get_weights()] == [w.shape for w in _model().get_weights()]
    if "'drop'" in match:                                   # same arrays, other names: rename, or copy them
        assert "the weight shapes match, so either give the model's layers the file's names ('dense', 'dropout', " \
               "'dense_1', e.g. Dropout(..., name='dropout')), or copy the arrays" in str(info.value)
    elif same_shapes and "layers" in match:                 # same arrays in another stack: copy them
        assert "; the weight shapes match, so copy the arrays without the name check" in str(info.value)
    elif "layers" in match or "layer " in match:
        assert f"build a model like the saved one (the same layers, in order, with the same names) and load it " \
               f"there: saved.load_weights({str(path)!r}); then copy the layers you want: " \
               f"model.get_layer(name).set_weights(saved.get_layer(name).get_weights())" in str(info.value)
        assert "model_from_json" not in str(info.value)
    assert _bytes(model) == before


def test_load_weights_with_other_layer_names_suggests_a_copy_that_works(tmp_path):
    path = tmp_path / "m.weights.npz"
    saved = _trained()
    saved.save_weights(path)
    model = nf.Sequential([Input(shape=(3,)), Dense(5, activation="tanh", name="hidden"), Dropout(0.2),
                           Dense(3, activation="softmax", name="out")], seed=7)
    with pytest.raises(ValueError, match=r"expected layer 0 'hidden' \(Dense\), got 'dense' \(Dense\) in .*; the "
                                         r"weight shapes match, so either give the model's layers the file's names "
                                         r"\('dense', 'dropout', 'dense_1', e.g. Dense\(..., name='dense'\)\), or "
                                         r"copy the arrays without the name check: arrays = np.load\(.*\); "
                                         r"model.set_weights\(\[arrays\[f'weight_\{k\}'\] for k in range\(4\)\]\)\.$"):
        model.load_weights(path)
    code = str(pytest.raises(ValueError, model.load_weights, path).value).split("copy the arrays without the name "
                                                                                  "check: ")[1].rstrip(".")
    exec(code, {"np": np, "model": model})                   # the suggested lines run, and copy the weights
    assert _bytes(model) == _bytes(saved)


def test_load_model_names_a_weights_file_and_a_missing_suffix(tmp_path):
    model = _trained()
    model.save_weights(tmp_path / "w.weights.npz")
    with pytest.raises(ModelFileError, match=r"load_model: '.*w.weights.npz' is a weights file \(written by "
                                             r"model.save_weights: the weights without the architecture\), not a "
                                             r"model file; build a model like the saved one and call "
                                             r"model.load_weights\('.*w.weights.npz'\)"):
        nf.load_model(tmp_path / "w.weights.npz")
    with pytest.raises(FileNotFoundError, match=r"load_model: no such file '.*m'\.$"):     # no m.netfit: no hint
        nf.load_model(tmp_path / "m")
    model.save(tmp_path / "m.netfit")
    with pytest.raises(FileNotFoundError, match=r"load_model: no such file '(.*m)'; did you mean '\1.netfit'\?$"):
        nf.load_model(tmp_path / "m")
    with pytest.raises(ModelFileError, match=r"is a weights file"):           # the CLI says it the same way
        nf.load_model(str(tmp_path / "w.weights.npz"))
    assert cli.main(["summary", str(tmp_path / "m")]) == 1


def _npz(path, **arrays):
    with open(path, "wb") as handle:
        np.savez(handle, **arrays)


def _manifest(path):
    with np.load(path, allow_pickle=False) as npz:
        return json.loads(str(npz["manifest"])), {k: npz[k] for k in npz.files if k != "manifest"}


def _tamper(path, change):
    manifest, arrays = _manifest(path)
    change(manifest, arrays)
    _npz(path, manifest=np.array(json.dumps(manifest)), **arrays)


@pytest.mark.parametrize("damage, error, match", [
    (lambda p: p.unlink(), FileNotFoundError, r"Sequential.load_weights: no such file '.*m.weights.npz'"),
    (lambda p: p.write_bytes(b"\x93NUMPY not a zip"), ModelFileError, r"is not a netfit weights file \(not a zip"),
    (lambda p: p.write_bytes(p.read_bytes()[:200]), ModelFileError, r"is damaged or truncated"),
    (lambda p: _npz(p, weight_0=np.zeros(3)), ModelFileError, r"is a zip file but not a netfit weights file "
                                                               r"\(no manifest\)"),
    (lambda p: _npz(p, manifest=np.array("{}")), ModelFileError, r"is not a netfit weights file"),
    (lambda p: _tamper(p, lambda m, a: m.update(format_version=2)), ModelFileError,
     r"has format version 2; this netfit reads version 1. Upgrade netfit"),
    (lambda p: _tamper(p, lambda m, a: a.pop("weight_3")), ModelFileError,
     r"does not hold the arrays its manifest lists \(extra or missing: weight_3\)"),
    (lambda p: _tamper(p, lambda m, a: a.update(weight_1=np.zeros(4, "float32"))), ModelFileError,
     r"weight_1 should be a float32 array of shape \(5,\) \(its manifest says\), got float32 of shape \(4,\)"),
    (lambda p: _tamper(p, lambda m, a: a.update(weight_1=np.arange(5))), ModelFileError,
     r"weight_1 should be a float32 array"),
    (lambda p: _tamper(p, lambda m, a: m.update(layers="dense")), ModelFileError, r"has a malformed manifest"),
    (lambda p: _tamper(p, lambda m, a: a.update(weight_1=np.full(5, np.nan, "float32"))), ModelFileError,
     r"Sequential.load_weights: '.*': weight_1 holds NaN or infinite values"),
], ids=["missing", "not-zip", "truncated", "plain-npz", "other-json", "newer-version", "missing-array",
        "array-shape", "array-dtype", "malformed", "nan"])
def test_load_weights_refuses_a_missing_or_damaged_file_and_changes_nothing(tmp_path, damage, error, match):
    path = tmp_path / "m.weights.npz"
    _trained().save_weights(path)
    model = _model(seed=4)
    before = _bytes(model)
    damage(path)
    with pytest.raises(error, match=match):
        model.load_weights(path)
    assert _bytes(model) == before


def test_load_weights_refuses_a_folder_and_skip_mismatch(tmp_path):
    folder = tmp_path / "w.weights.npz"
    folder.mkdir()
    model = _model()
    with pytest.raises(IsADirectoryError, match=r"Sequential.load_weights: expected a file path, got the folder"):
        model.load_weights(folder)
    with pytest.raises(ValueError, match=r"Sequential.load_weights: expected skip_mismatch=False, got True; netfit "
                                         r"loads all weights or none"):
        model.load_weights(folder, skip_mismatch=True)


def test_a_weights_file_holds_no_pickle(tmp_path):
    path = tmp_path / "m.weights.npz"
    _trained().save_weights(path)
    with zipfile.ZipFile(path) as archive:
        assert sorted(archive.namelist()) == ["manifest.npy"] + [f"weight_{k}.npy" for k in range(4)]
    manifest, arrays = _manifest(path)
    assert weights_file.FORMAT_NAME == manifest["format"] and all(a.dtype == np.float32 for a in arrays.values())


# -- save: the .netfit suffix ------------------------------------------------------------------------
@pytest.mark.parametrize("name, fix", [("m", "m.netfit"), ("m.npz", "m.netfit"), ("model.bin", "model.bin.netfit"),
                                       ("m.weights.npz", "m.netfit")])
def test_save_refuses_a_name_without_netfit_with_the_name_to_use(tmp_path, name, fix):
    model = _trained()
    with pytest.raises(ValueError, match=rf"save_model: expected a .netfit path, got '.*{name}'; use "
                                         rf"model.save\('{fix}'\)"):
        model.save(tmp_path / name)
    assert list(tmp_path.iterdir()) == []
    model.save(tmp_path / "M.NETFIT")                                   # any case of the suffix
    assert nf.load_model(tmp_path / "M.NETFIT").get_config() == model.get_config()


def test_checkpoint_and_train_out_refuse_a_name_without_netfit_before_the_first_step(tmp_path):
    model = _model()
    before = _bytes(model)
    with pytest.raises(ValueError, match=r"ModelCheckpoint: expected a .netfit path, got '.*ep-1'; use 'ep-1.netfit'"):
        model.fit(X, Y, verbose=0, callbacks=[ModelCheckpoint(tmp_path / "ep-{epoch}")])
    assert _bytes(model) == before and model.optimizer.iterations == 0
    assert cli.main(["train", "--out", str(tmp_path / "m"), "--epochs", "1"]) == 1
    assert list(tmp_path.iterdir()) == []


def _checkpoint_fit(model, tmp_path, epochs=4, **kwargs):
    """Fit with a ModelCheckpoint(**kwargs); return the weights after each epoch."""
    seen = []
    model.fit(X, Y, epochs=epochs, batch_size=8, verbose=0, validation_split=0.25,
              callbacks=[ModelCheckpoint(**kwargs), LambdaCallback(on_epoch_end=lambda e, l: seen.append(_bytes(model)))])
    return seen


def test_checkpoint_save_weights_only_writes_weights_files_that_load_weights_reads(tmp_path):
    model = _model()
    seen = _checkpoint_fit(model, tmp_path, filepath=str(tmp_path / "w-{epoch}.weights.npz"), save_weights_only=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"w-{k}.weights.npz" for k in range(1, 5)]
    for k in range(4):
        fresh = _model(seed=9)
        fresh.load_weights(tmp_path / f"w-{k + 1}.weights.npz")
        assert _bytes(fresh) == seen[k]
    with pytest.raises(ModelFileError, match=r"is a weights file"):
        nf.load_model(tmp_path / "w-1.weights.npz")


@pytest.mark.parametrize("weights_only", [True, False])
def test_checkpoint_save_best_only_with_and_without_weights_only_keeps_the_best_epoch(tmp_path, weights_only):
    model = _model()
    name = "best.weights.npz" if weights_only else "best.netfit"
    seen = _checkpoint_fit(model, tmp_path, epochs=6, filepath=str(tmp_path / name), monitor="val_loss",
                           save_best_only=True, save_weights_only=weights_only)
    val = model.history.history["val_loss"]
    best = int(np.argmin(val))
    assert [p.name for p in tmp_path.iterdir()] == [name]
    if weights_only:
        fresh = _model(seed=9)
        fresh.load_weights(tmp_path / name)
    else:
        fresh = nf.load_model(tmp_path / name)
        assert fresh.epochs_trained == best + 1
    assert _bytes(fresh) == seen[best]


@pytest.mark.parametrize("name, weights_only, match", [
    ("w.h5", True, r"expected a .weights.npz or .weights.h5 path with save_weights_only=True, got '.*w.h5'; use "
                   r"'w.weights.npz' \(netfit's weights file, NumPy's .npz\) or 'w.weights.h5' \(Keras 3's, needs "
                   r"h5py\), or save_weights_only=False to save the whole model to 'w.netfit'"),
    ("w-{epoch}", True, r"expected a .weights.npz or .weights.h5 path with save_weights_only=True, got '.*w-1'; use 'w-1.weights.npz'"),
    ("w.netfit", True, r"expected a .weights.npz or .weights.h5 path with save_weights_only=True, got '.*w.netfit'; use "
                       r"'w.weights.npz'"),
    ("w.weights.npz", False, r"expected a .netfit or .keras path, got '.*w.weights.npz', a weights-file name; pass "
                             r"save_weights_only=True to save the weights alone, or use 'w.netfit' for the whole model"),
    ("w-{epoch}.weights.npz", False, r"expected a .netfit or .keras path, got '.*w-1.weights.npz', a weights-file name"),
], ids=["weights-h5-of-keras-2", "weights-no-suffix", "weights-netfit", "model-weights-name", "model-weights-template"])
def test_checkpoint_refuses_a_name_that_does_not_fit_save_weights_only_before_the_first_step(
        tmp_path, name, weights_only, match):
    model = _model()
    before = _bytes(model)
    for best_only in (False, True):
        with pytest.raises(ValueError, match=r"ModelCheckpoint: " + match):
            model.fit(X, Y, verbose=0, validation_split=0.25, callbacks=[ModelCheckpoint(
                tmp_path / name, save_weights_only=weights_only, save_best_only=best_only)])
    assert _bytes(model) == before and model.optimizer.iterations == 0 and list(tmp_path.iterdir()) == []
    with pytest.raises(TypeError, match=r"ModelCheckpoint: expected save_weights_only True or False, got 'yes'"):
        ModelCheckpoint(tmp_path / name, save_weights_only="yes")


# -- on a (fake) GPU ---------------------------------------------------------------------------------
@contextlib.contextmanager
def _fitted_on_fake_gpu(make):
    """A model made on the fake GPU (tests/fake_gpu.py) and fitted for an epoch there; the CPU again after."""
    fake_gpu.install()
    try:
        with nf.device("fakegpu"):
            model = make()
        model.fit(X, Y, epochs=1, batch_size=8, verbose=0)
        assert model.device != "cpu"
        yield model
    finally:
        backend.set_device("cpu")


def test_the_methods_on_a_device_give_host_arrays_and_keep_weights(tmp_path):
    with _fitted_on_fake_gpu(_model) as model:
        weights = model.get_weights()
        assert all(type(w) is np.ndarray for w in model.trainable_weights)
        model.save_weights(tmp_path / "m.weights.npz")
        on_cpu = _model(seed=5)
        on_cpu.load_weights(tmp_path / "m.weights.npz")
        assert _bytes(on_cpu) == [w.tobytes() for w in weights]
        with nf.device("fakegpu"):
            back = _model(seed=5)
        back.load_weights(tmp_path / "m.weights.npz")
        assert back.device == model.device and _bytes(back) == [w.tobytes() for w in weights]
        model.pop()
        model.add(Dense(2, activation="softmax"))
        assert model.device != "cpu" and _bytes(model)[:2] == [w.tobytes() for w in weights[:2]]
        model.compile("adam", "sparse_categorical_crossentropy")
        model.fit(X, Y % 2, epochs=1, verbose=0)


def test_model_trainable_on_a_device_freezes_and_unfreezes_without_recompiling():
    with _fitted_on_fake_gpu(_bn_model) as model:
        model.trainable = False
        before = _bytes(model)
        model.fit(X, Y, epochs=2, batch_size=8, verbose=0)
        model.train_on_batch(X, Y)
        assert _bytes(model) == before and model.trainable_weights == []
        assert [a.tobytes() for a in model.non_trainable_weights] == before
        model.trainable = True
        assert [a.tobytes() for a in model.non_trainable_weights] == before[4:6]       # BatchNormalization's statistics
        model.fit(X, Y, epochs=1, batch_size=8, verbose=0)
        after = _bytes(model)
        assert all(a != b for a, b in zip(after, before))                    # every weight moved, the statistics too
