"""Keras 3's .keras files: netfit writes them for Keras and reads Keras's (netfit.keras_file, keras_config,
keras_compile, keras_layout).

Three kinds of test: refusals and the config translation (plain Python, always run); files written
and read by netfit alone (need h5py: ``pip install 'netfit[keras-files]'``, in the dev extra); and the
real thing against Keras 3 itself, run in a subprocess with the Python of a separate venv, so that
``make test``'s own environment needs neither Keras nor JAX: ``$NETFIT_KERAS_PYTHON``, else
``.venv-keras/bin/python`` in the repository (made by .ci/run: keras 3.15, h5py, scipy, jax[cpu];
tests/keras_side.py is Keras's side). Without it those tests skip and say how to make it.
"""
import io
import json
import os
import pathlib
import subprocess
import sys
import zipfile

import numpy as np
import pytest

import netfit as nf
from netfit import keras_compile, keras_config, keras_layout, layers as L
from netfit.io import ModelFileError, load_model

ROOT = pathlib.Path(__file__).resolve().parent.parent
KERAS_SIDE = ROOT / "tests" / "keras_side.py"


def _seq(*layers, shape=(5,), seed=0):
    return nf.Sequential([L.Input(shape), *layers], seed=seed)


# -- refused by name before anything is written ---------------------------------------------------------------
@pytest.mark.parametrize("make, match", [
    (lambda: _seq(L.Reshape((5, 1, 1)), L.LocallyConnected2D(2, 1)),
     r"expected layers that Keras 3 has, got LocallyConnected2D \(Keras 3 removed it"),
    (lambda: _seq(L.RandomFourierFeatures(8), L.Dense(2)),
     r"layer 'random_fourier_features' \(RandomFourierFeatures\): expected layers that Keras 3 has, got "
     r"RandomFourierFeatures \(Keras 3 has none; tf.keras 2 had it as keras.layers.experimental"),
    (lambda: _seq(L.Reshape((5, 1, 2)), L.Conv2D(2, 1, connections=[[True, False], [True, True]]), shape=(10,)),
     r"layer 'conv2d' \(Conv2D\): expected connections=None, got a netfit-only option"),
    (lambda: _seq(L.Reshape((5, 1, 1)), L.Conv2D(2, 1, bias="per_unit")),
     r"expected bias='shared', got a netfit-only option.*one bias per filter"),
    (lambda: _seq(L.Dense(3, activation="scaled_tanh")), r"expected an activation that Keras 3 has.*got 'scaled_tanh'"),
    (lambda: _seq(L.Dense(3, kernel_initializer="lecun1989_uniform")), r"FanInUniform\(power=1.0\).*±2.4/F"),
    (lambda: _seq(L.Normalization()), r"'normalization' \(Normalization\) is not adapted"),
])
def test_what_keras_lacks_is_refused_by_name_before_anything_is_written(tmp_path, make, match):
    model = make()
    with pytest.raises(ValueError, match=match):
        model.save(tmp_path / "m.keras")
    assert list(tmp_path.iterdir()) == []


def test_without_h5py_saving_says_what_to_install_and_writes_nothing(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "h5py", None)               # import h5py raises ImportError
    with pytest.raises(ImportError, match=r"save: Keras 3's .keras and .weights.h5 files keep weights in HDF5, "
                                          r"which needs h5py: pip install 'netfit\[keras-files\]'"):
        _seq(L.Dense(2)).save(tmp_path / "m.keras")
    assert list(tmp_path.iterdir()) == []


def test_netfit_s_own_writer_refuses_keras_names_and_says_which_writes_them(tmp_path):
    with pytest.raises(ValueError, match=r"save_model: expected a .netfit path.*Keras 2's HDF5 model files are not "
                                         r"written; model.save\('m.keras'\) writes Keras 3's"):
        _seq(L.Dense(2)).save(tmp_path / "m.h5")
    with pytest.raises(ValueError, match=r"save_model: expected no epoch or metadata for a .keras file"):
        nf.io.save_model(_seq(L.Dense(2)), tmp_path / "m.keras", metadata={"a": 1})


# -- Keras's config form, read: refusals by name --------------------------------------------------------------
def _keras_seq(*layers):
    first = {"module": "keras.layers", "class_name": "InputLayer", "registered_name": None,
             "config": {"batch_shape": [None, 4], "dtype": "float32", "name": "in"}}
    return {"module": "keras", "class_name": "Sequential", "registered_name": None,
            "config": {"name": "s", "layers": [first, *layers]}}


def _layer(kind, module="keras.layers", registered=None, **config):
    return {"module": module, "class_name": kind, "registered_name": registered, "config": {"name": "x", **config}}


@pytest.mark.parametrize("model, match", [
    (_keras_seq(_layer("Lambda", function="...")), r"a Lambda layer holds Python code; netfit never runs code"),
    (_keras_seq(_layer("MyDense", module="my_package", registered="my_package>MyDense")),
     r"unknown layer class 'my_package>MyDense'.*never runs code from a file.*custom_objects="),
    (_keras_seq(_layer("LSTM", units=3)), r"layers\[0\] \(LSTM\): expected a layer netfit has, got Keras's LSTM"),
    (_keras_seq(_layer("Add", module="keras.src.ops.numpy")), r"expected layers, got the keras.ops call "
                                                              r"keras.src.ops.numpy.Add"),
    (_keras_seq(_layer("Dense", units=3, activation={"module": "x", "class_name": "function", "config": "f"})),
     r"unknown activation 'f'.*custom_objects=\{'f': f\}.*register_keras_serializable"),   # never imported
    (_keras_seq(_layer("Dense", units=3, kernel_regularizer={"class_name": "L2", "config": {"l2": 0.01}})),
     r"\(Dense\): Keras's argument kernel_regularizer=.* is not available in netfit; netfit puts ESL's L2"),
    (_keras_seq(_layer("LayerNormalization", rms_scaling=True)),
     r"Keras's option rms_scaling=True has no netfit counterpart"),
    (_keras_seq(_layer("Dense", units=3, dtype={"module": "keras", "class_name": "DTypePolicy",
                                                "config": {"name": "mixed_float16"}})),
     r"expected layers computing in float32 or float64, got dtype policy 'mixed_float16'"),
    ({"module": "my_models", "class_name": "MyModel", "config": {}},
     r"unknown model class 'MyModel'.*register_keras_serializable"),
    ({"module": "keras", "class_name": "Sequential", "config": {"name": "s", "layers": [_layer("Dense", units=2)]}},
     r"expected a built Sequential.*an unbuilt Keras model holds no weights"),
])
def test_keras_configs_netfit_cannot_honour_are_refused_by_name(model, match):
    with pytest.raises(ValueError, match=match):
        keras_config.from_keras(model)


def test_a_keras_call_with_keyword_arguments_is_refused():
    node = {"args": [{"class_name": "__keras_tensor__", "config": {"keras_history": ["in", 0, 0]}}],
            "kwargs": {"training": True, "mask": None}}
    with pytest.raises(ValueError, match=r"expected a call without keyword arguments, got \['training'\]"):
        keras_layout.call_inputs(node, "here")


def test_keras_layer_groups_are_named_as_keras_names_them():
    assert [keras_layout.snake_case(n) for n in ("PReLU", "Conv2DTranspose", "MaxPooling2D", "InputLayer", "ReLU")] \
        == ["p_re_lu", "conv2d_transpose", "max_pooling2d", "input_layer", "re_lu"]


def _graph(layers, inputs, outputs):
    def entry(name, kind, *calls):
        return {"name": name, "class_name": kind, "config": {},
                "inbound_nodes": [{"args": [[{"class_name": "__keras_tensor__", "config": {"keras_history": r}}
                                            for r in call] if len(call) > 1 else
                                           {"class_name": "__keras_tensor__", "config": {"keras_history": call[0]}}],
                                   "kwargs": {}} for call in calls]}
    return {"layers": [entry(*spec) for spec in layers], "input_layers": inputs, "output_layers": outputs}


def test_model_layers_come_in_keras_s_order():
    """Keras 3.15 orders model.layers deepest first, ties by first seen from the outputs: these orders are
    what Keras printed for the same graphs (a shared layer at two depths; an input no output needs)."""
    # x = Input a; d = Dense; y = d(d(a)); z = Add()([y, Dense e(a)]); outputs z.   Keras: a, d, e, add
    config = _graph([("a", "InputLayer"), ("d", "Dense", [["a", 0, 0]], [["d", 0, 0]]), ("e", "Dense", [["a", 0, 0]]),
                     ("add", "Add", [["d", 1, 0], ["e", 0, 0]])], [["a", 0, 0]], [["add", 0, 0]])
    assert keras_layout.keras_order(config) == ["a", "d", "e", "add"]
    # inputs a, b (b unused); o1 = Dense(a), o2 = Dense(o1); outputs [o2, o1].   Keras: a, o1, b, o2
    config = _graph([("a", "InputLayer"), ("b", "InputLayer"), ("o1", "Dense", [["a", 0, 0]]),
                     ("o2", "Dense", [["o1", 0, 0]])], [["a", 0, 0], ["b", 0, 0]], [["o2", 0, 0], ["o1", 0, 0]])
    assert keras_layout.keras_order(config) == ["a", "o1", "b", "o2"]


def test_compile_configs_are_carried_only_where_both_compute_the_same():
    assert keras_compile.compile_to_keras({"optimizer": {"class_name": "LBFGS", "config": {}}, "loss": "mse",
                                           "metrics": []}) == (None, "Keras 3 has no LBFGS optimizer")
    kept, why = keras_compile.compile_to_keras({"optimizer": {"class_name": "Adam", "config": {"weight_decay": 0.1}},
                                                "loss": "mse", "metrics": []})
    assert kept is None and "netfit's L2 penalty on the kernels" in why
    kwargs, why = keras_compile.compile_from_keras({"optimizer": {"module": "keras.optimizers", "class_name": "AdamW",
                                                                  "config": {"weight_decay": 0.004}}, "loss": "mse"})
    assert kwargs is None and "no 'AdamW' optimizer with Keras's formulas" in why


# -- files written and read by netfit (h5py) ---------------------------------------------------------------------
def _graph_model():
    a, b = L.Input((4,), name="a"), L.Input((4,), name="b")
    shared = L.Dense(4, activation="tanh", name="shared")
    x = L.Add()([shared(a), shared(b)])
    inner = nf.Sequential([L.Input((4,)), L.Dense(4, activation="relu")], name="inner", seed=1)
    x = inner(x)
    sub_in = L.Input((4,))
    sub = nf.Model(sub_in, L.Dense(2)(sub_in), name="sub")
    out = L.Dense(1, name="o2")(L.Concatenate()([x, sub(x)]))
    return nf.Model({"a": a, "b": b}, {"o1": sub(x), "o2": out}, name="top")


def test_a_keras_file_netfit_writes_reads_back_with_the_same_weights_and_compile_config(tmp_path):
    pytest.importorskip("h5py", reason="reading and writing .keras files needs h5py (netfit[keras-files])")
    model = _seq(L.Dense(6, activation="relu"), L.BatchNormalization(), L.Dense(3, activation="softmax"))
    model.compile(optimizer=nf.optimizers.SGD(0.05, momentum=0.9), loss="categorical_crossentropy",
                  metrics=["accuracy"])
    model.fit(np.random.default_rng(0).random((16, 5)), np.eye(3)[np.arange(16) % 3], epochs=2, verbose=0)
    model.save(tmp_path / "m.keras")
    assert sorted(zipfile.ZipFile(tmp_path / "m.keras").namelist()) == ["config.json", "metadata.json",
                                                                        "model.weights.h5"]
    back = load_model(tmp_path / "m.keras")
    assert all(np.array_equal(a, b) for a, b in zip(model.get_weights(), back.get_weights()))
    assert type(back.optimizer).__name__ == "SGD" and back.optimizer.momentum == 0.9
    assert back._compile_config()["loss"] == "categorical_crossentropy"
    graph = _graph_model()
    graph.save(tmp_path / "g.keras")
    with open(tmp_path / "g.keras", "rb") as handle:                 # a file object reads the same
        again = load_model(io.BytesIO(handle.read()))
    x = {"a": np.ones((2, 4), "float32"), "b": np.arange(8, dtype="float32").reshape(2, 4)}
    for key, value in graph.predict(x, verbose=0).items():
        np.testing.assert_array_equal(again.predict(x, verbose=0)[key], value)


def _rewrite(src, dst, edit):
    """Copy the .keras file ``src`` to ``dst`` with model.weights.h5 changed by ``edit(h5py.File)``."""
    import h5py
    with zipfile.ZipFile(src) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    buffer = io.BytesIO(members["model.weights.h5"])
    with h5py.File(buffer, "a") as h5:
        edit(h5)
    members["model.weights.h5"] = buffer.getvalue()
    with zipfile.ZipFile(dst, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)


def test_hostile_weights_files_are_refused_before_their_data_are_read(tmp_path):
    pytest.importorskip("h5py", reason="reading and writing .keras files needs h5py (netfit[keras-files])")
    _seq(L.Dense(3), L.Dense(2)).save(tmp_path / "m.keras")

    def bigger(h5):                      # a kernel declared larger than the config's layer
        del h5["layers/dense/vars/0"]
        h5["layers/dense/vars"].create_dataset("0", shape=(5000, 3000), dtype="float32")

    def linked(h5):
        del h5["layers/dense_1/vars/1"]
        h5["layers/dense_1/vars/1"] = __import__("h5py").SoftLink("/layers/dense/vars/1")

    def swapped(h5):                     # another layer's weights in this layer's group
        h5["layers/dense/vars"].attrs["name"] = "dense_1"
    for edit, match in [(bigger, r"expected kernel of layer 'dense' as floats of shape \(5, 3\), got float32 of "
                                 r"shape \(5000, 3000\)"),
                        (linked, r"expected layers/dense_1/vars/1 an array stored in the file, got a link"),
                        (swapped, r"expected the weights of layer 'dense' in layers/dense, got those of layer "
                                  r"'dense_1'")]:
        _rewrite(tmp_path / "m.keras", tmp_path / "bad.keras", edit)
        with pytest.raises(ModelFileError, match=match):
            load_model(tmp_path / "bad.keras")
    with pytest.raises(ModelFileError, match=r"expected at most 10 bytes of weights \(max_bytes\), got 104"):
        load_model(tmp_path / "m.keras", max_bytes=10)
    with zipfile.ZipFile(tmp_path / "m.keras") as archive, zipfile.ZipFile(tmp_path / "x.keras", "w") as out:
        for name in archive.namelist():
            out.writestr(name, archive.read(name))
        out.writestr("assets/vocab.txt", "a\nb\n")
    with pytest.raises(ModelFileError, match=r"holds 'assets/vocab.txt'; netfit reads .keras files of config.json"):
        load_model(tmp_path / "x.keras")


# -- Keras 3's NAME.weights.h5 and checkpoints in Keras's names ------------------------------------------------
def test_weights_h5_round_trips_and_a_refused_file_changes_no_weight(tmp_path):
    pytest.importorskip("h5py", reason="reading and writing .weights.h5 files needs h5py (netfit[keras-files])")
    import h5py
    model = _seq(L.Dense(3, activation="relu"), L.BatchNormalization(), L.Dense(2), seed=0)
    _randomize(model)
    model.save_weights(tmp_path / "m.weights.h5")
    with h5py.File(tmp_path / "m.weights.h5", "r") as h5:                 # Keras's groups, as in a .keras file
        assert sorted(h5["layers"].keys()) == ["batch_normalization", "dense", "dense_1"]
        assert h5["layers/batch_normalization/vars/3"].shape == (3,)
    fresh = _seq(L.Dense(3, activation="relu"), L.BatchNormalization(), L.Dense(2), seed=5)
    fresh.load_weights(tmp_path / "m.weights.h5")
    assert all(np.array_equal(a, b) for a, b in zip(model.get_weights(), fresh.get_weights()))
    with pytest.raises(FileExistsError, match=r"exists and overwrite=False; pass overwrite=True"):
        model.save_weights(tmp_path / "m.weights.h5", overwrite=False)

    _randomize(fresh, seed=3)
    before = [w.copy() for w in fresh.get_weights()]
    with h5py.File(tmp_path / "m.weights.h5", "a") as h5:               # the last layer's bias NaN
        h5["layers/dense_1/vars/1"][0] = np.nan
    with pytest.raises(ModelFileError, match=r"layer 'dense_1' has NaN or infinite weights"):
        fresh.load_weights(tmp_path / "m.weights.h5")
    assert all(np.array_equal(a, b) for a, b in zip(fresh.get_weights(), before))   # not even the first layer's
    other = _seq(L.Dense(4, activation="relu"), L.BatchNormalization(), L.Dense(2), seed=5)
    kept = [w.copy() for w in other.get_weights()]
    model.save_weights(tmp_path / "m.weights.h5")
    with pytest.raises(ModelFileError, match=r"expected kernel of layer 'dense' as floats of shape \(5, 4\), got "
                                             r"float32 of shape \(5, 3\)"):
        other.load_weights(tmp_path / "m.weights.h5")
    assert all(np.array_equal(a, b) for a, b in zip(other.get_weights(), kept))
    (tmp_path / "text.weights.h5").write_text("not HDF5")
    with pytest.raises(ModelFileError, match=r"'text.weights.h5' is not an HDF5 weights file"):
        fresh.load_weights(tmp_path / "text.weights.h5")
    with pytest.raises(FileNotFoundError, match=r"no file at .*none.weights.h5"):
        fresh.load_weights(tmp_path / "none.weights.h5")
    with pytest.raises(ValueError, match=r"expected a .weights.npz path \(netfit's, NumPy's .npz\) or a .weights.h5 "
                                         r"path.*use 'm.weights.npz' or 'm.weights.h5'"):
        model.save_weights(tmp_path / "m.h5")


def test_checkpoints_write_keras_s_files_under_keras_s_names(tmp_path):
    pytest.importorskip("h5py", reason="reading and writing .keras files needs h5py (netfit[keras-files])")
    x, y = np.random.default_rng(0).random((8, 5)), np.random.default_rng(1).random((8, 2))
    model = _seq(L.Dense(2))
    model.compile(optimizer="sgd", loss="mse")
    model.fit(x, y, epochs=2, verbose=0, callbacks=[
        nf.callbacks.ModelCheckpoint(str(tmp_path / "m{epoch}.keras")),
        nf.callbacks.ModelCheckpoint(str(tmp_path / "w{epoch}.weights.h5"), save_weights_only=True)])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m1.keras", "m2.keras", "w1.weights.h5", "w2.weights.h5"]
    last = load_model(tmp_path / "m2.keras")
    assert all(np.array_equal(a, b) for a, b in zip(model.get_weights(), last.get_weights()))
    fresh = _seq(L.Dense(2), seed=9)
    fresh.load_weights(tmp_path / "w2.weights.h5")
    assert all(np.array_equal(a, b) for a, b in zip(model.get_weights(), fresh.get_weights()))
    for kwargs, match in [({"filepath": "m.weights.h5"}, r"expected a .netfit or .keras path, got 'm.weights.h5', a "
                                                         r"weights-file name; pass save_weights_only=True"),
                          ({"filepath": "m.keras", "save_weights_only": True},
                           r"expected a .weights.npz or .weights.h5 path with save_weights_only=True, got 'm.keras'; "
                           r"use 'm.weights.npz' .* or 'm.weights.h5'"),
                          ({"filepath": "m.h5"}, r"expected a .netfit path, got 'm.h5'; .*save to 'm.netfit'.*"
                                                 r"Keras 2's HDF5 model files are not written.*'m.keras'")]:
        with pytest.raises(ValueError, match=match):
            model.fit(x, y, verbose=0, callbacks=[nf.callbacks.ModelCheckpoint(**kwargs)])


def test_without_h5py_a_keras_checkpoint_is_refused_before_training(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "h5py", None)
    model = _seq(L.Dense(2))
    model.compile(optimizer="sgd", loss="mse")
    before = [w.copy() for w in model.get_weights()]
    with pytest.raises(ImportError, match=r"ModelCheckpoint: .*needs h5py: pip install 'netfit\[keras-files\]'"):
        model.fit(np.ones((4, 5)), np.ones((4, 2)), verbose=0,
                  callbacks=[nf.callbacks.ModelCheckpoint(str(tmp_path / "m.keras"))])
    assert all(np.array_equal(a, b) for a, b in zip(before, model.get_weights()))
    assert list(tmp_path.iterdir()) == []


# -- against Keras 3 itself ------------------------------------------------------------------------------------
def _keras_python():
    python = os.environ.get("NETFIT_KERAS_PYTHON") or str(ROOT / ".venv-keras" / "bin" / "python")
    how = ("make it with: python3 -m venv .venv-keras && .venv-keras/bin/pip install 'keras==3.15.*' h5py scipy "
           "'jax[cpu]' (or set NETFIT_KERAS_PYTHON to a Python that has them)")
    if not os.path.exists(python):
        pytest.skip(f"Keras 3 is not installed for the cross-library test (no {python}); {how}")
    found = subprocess.run([python, "-c", "import keras, h5py; print(keras.__version__)"], capture_output=True,
                           text=True, env={**os.environ, "KERAS_BACKEND": "numpy"})
    if found.returncode != 0 or not found.stdout.startswith("3."):
        pytest.skip(f"Keras 3 does not import in {python} ({found.stderr.strip().splitlines()[-1:]}); {how}")
    pytest.importorskip("h5py", reason="reading and writing .keras files needs h5py (netfit[keras-files])")
    return python


def _keras(python, mode, folder):
    done = subprocess.run([python, str(KERAS_SIDE), mode, str(folder)], capture_output=True, text=True,
                          env={**os.environ, "KERAS_BACKEND": "numpy"}, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]


def _randomize(model, seed=1):
    """Random weights everywhere, BatchNormalization's moving variance positive (as tests/keras_side.py)."""
    rng = np.random.default_rng(seed)
    model.set_weights([(rng.uniform(0.5, 1.5, w.shape) * rng.choice([-1, 1], w.shape)).astype(w.dtype)
                       for w in model.get_weights()])
    for layer in model._graph_layers():
        if isinstance(layer, L.BatchNormalization):
            gamma, beta, mean, variance = layer.get_weights()
            layer.set_weights([gamma, beta, mean, np.abs(variance)])


def _netfit_models():
    """name -> (model, inputs): every layer both libraries have, in Sequential, functional and nested models."""
    rng = np.random.default_rng(0)
    img = rng.random((6, 10, 10, 2)).astype("float32")
    flat = rng.random((6, 5)).astype("float32")
    dense = _seq(L.Normalization(mean=[1.0, 2.0, 0.5, 0.0, 3.0], variance=[1.0, 4.0, 0.25, 2.0, 1.0]),
                 L.Dense(8, activation="gelu"), L.BatchNormalization(), L.ReLU(max_value=6.0), L.Dropout(0.3),
                 L.Dense(6, activation="selu"), L.LayerNormalization(), L.PReLU(), L.LeakyReLU(0.1), L.ELU(0.5),
                 *[L.Dense(4, activation=a) for a in ("tanh", "sigmoid", "softplus", "softsign", "silu", "elu",
                                                      "hard_sigmoid", "leaky_relu", "linear")],
                 L.Activation("relu"), L.Dense(3), L.Softmax())
    dense.compile(optimizer=nf.optimizers.Adam(0.01), loss="categorical_crossentropy", metrics=["accuracy"])
    yield "dense", dense, [flat]
    yield "conv2d", _seq(
        L.Rescaling(2.0, offset=-1.0), L.RandomFlip(), L.RandomRotation(0.1), L.RandomZoom(0.1),
        L.RandomTranslation(0.1, 0.1), L.RandomContrast(0.2), L.ZeroPadding2D(((1, 0), (0, 1))),
        L.Conv2D(4, 3, strides=2, padding="same", activation="relu"), L.Cropping2D(((0, 1), (1, 0))),
        L.UpSampling2D(), L.Conv2DTranspose(3, 3, strides=2, padding="same"), L.MaxPooling2D(),
        L.AveragePooling2D(pool_size=2, padding="same"), L.Conv2D(2, 2, use_bias=False, kernel_initializer="he_normal"),
        L.GlobalMaxPooling2D(), shape=(10, 10, 2)), [img]
    yield "conv1d", _seq(
        L.Conv1D(4, 3, activation="relu"), L.ZeroPadding1D(2), L.Cropping1D((1, 0)), L.UpSampling1D(2),
        L.Conv1DTranspose(3, 3, strides=2), L.MaxPooling1D(2), L.AveragePooling1D(2), L.GlobalAveragePooling1D(),
        shape=(12, 3)), [rng.random((6, 12, 3)).astype("float32")]
    tokens, pic = L.Input((7,), name="tokens"), L.Input((10, 10, 2), name="pic")
    pooled = L.GlobalAveragePooling1D()(L.Embedding(20, 4)(tokens))
    maps = L.Conv2D(3, 3)(pic)
    shared = L.Dense(5, activation="relu", name="shared")
    a, b = shared(L.GlobalMaxPooling2D()(maps)), shared(L.GlobalAveragePooling2D()(L.Reshape((8, 8, 3))(
        L.Flatten()(maps))))
    inner = nf.Sequential([L.Input((5,)), L.Dense(5, activation="softplus")], name="inner", seed=2)
    sub_in = L.Input((5,))
    sub = nf.Model(sub_in, L.Dense(4, activation="softsign")(sub_in), name="sub")
    merged = [L.Add()([a, b]), L.Subtract()([a, b]), L.Multiply()([a, b]), L.Average()([a, b]),
              L.Maximum()([a, b]), L.Minimum()([a, b])]
    joined = L.Concatenate()([inner(merged[0]), *merged[1:], pooled])
    dot = L.Dot(axes=1, normalize=True)([sub(merged[2]), L.Dense(4)(joined)])
    graph = nf.Model({"tokens": tokens, "pic": pic}, {"score": L.Dense(1, activation="sigmoid", name="score")(joined),
                                                       "dot": dot}, name="graph")
    yield "graph", graph, [rng.integers(0, 20, (6, 7)).astype("float32"), img]
    last_in = L.Input((4,))
    last = nf.Model(last_in, L.Dense(2, activation="softmax")(last_in), name="last")
    yield "nested_seq", _seq(nf.Sequential([L.Input((5,)), L.Dense(6, activation="relu")], name="first", seed=3),
                             L.Dense(4), last), [flat]


def _feed(model, inputs, keys):
    return dict(zip(keys, inputs)) if keys else (inputs if len(inputs) > 1 else inputs[0])


def _outputs(y):
    return [y[k] for k in sorted(y)] if isinstance(y, dict) else y if isinstance(y, list) else [y]


def _close(got, want, what):
    scale = max(1.0, float(np.abs(want).max()))
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5 * scale, err_msg=what)


def test_keras_loads_netfit_s_files_and_predicts_the_same(tmp_path):
    python = _keras_python()
    expected = {}
    expected_after_weights = {}
    for name, model, inputs in _netfit_models():
        _randomize(model)
        model.save(tmp_path / f"{name}.keras")
        keys = getattr(model, "input_names", None) if isinstance(model, nf.Model) and len(inputs) > 1 else None
        np.savez(tmp_path / f"{name}.in.npz", **{f"x{k}": x for k, x in enumerate(inputs)},
                 **({"keys": json.dumps(keys)} if keys else {}))
        expected[name] = _outputs(model.predict(_feed(model, inputs, keys), verbose=0))
        _randomize(model, seed=7)                  # other weights, for Keras's load_weights of .weights.h5
        model.save_weights(tmp_path / f"{name}.weights.h5")
        expected_after_weights[name] = _outputs(model.predict(_feed(model, inputs, keys), verbose=0))
    _keras(python, "load", tmp_path)
    for name, ours in expected.items():
        theirs = np.load(tmp_path / f"{name}.keras_out.npz")
        assert len(theirs.files) == len(ours)
        for k, y in enumerate(ours):
            _close(theirs[f"y{k}"], y, f"{name} output {k}")
        after = np.load(tmp_path / f"{name}.keras_wout.npz")
        for k, y in enumerate(expected_after_weights[name]):
            _close(after[f"y{k}"], y, f"{name} output {k} after load_weights")
    compiled = json.loads((tmp_path / "dense.compile.json").read_text())
    assert compiled == {"compiled": True, "optimizer": "Adam", "learning_rate": pytest.approx(0.01),
                        "loss": "categorical_crossentropy"}
    assert json.loads((tmp_path / "conv2d.compile.json").read_text()) == {"compiled": False}


def test_netfit_loads_keras_s_files_and_predicts_the_same(tmp_path):
    python = _keras_python()
    _keras(python, "save", tmp_path)
    names = sorted(p.name[:-6] for p in tmp_path.glob("*.keras"))
    assert names == ["conv1d", "conv2d", "dense_norm", "graph", "nested_seq"]
    for name in names:
        model = load_model(tmp_path / f"{name}.keras")
        xs = np.load(tmp_path / f"{name}.in.npz")
        keys = json.loads(str(xs["keys"])) if "keys" in xs.files else None
        inputs = [xs[f"x{k}"] for k in range(sum(f.startswith("x") for f in xs.files))]
        ours = _outputs(model.predict(_feed(model, inputs, keys), verbose=0))
        theirs = np.load(tmp_path / f"{name}.keras_out.npz")
        for k, y in enumerate(ours):
            _close(y, theirs[f"y{k}"], f"{name} output {k}")
        assert model.compiled == (name == "dense_norm")
        _randomize(model, seed=7)                  # then Keras's .weights.h5 of the same weights as its .keras
        for layer in model._graph_layers():
            if isinstance(layer, L.Normalization):
                layer.mean, layer.variance, layer._cast = np.zeros_like(layer.mean), np.ones_like(layer.variance), {}
        model.load_weights(tmp_path / f"{name}.weights.h5")
        for k, y in enumerate(_outputs(model.predict(_feed(model, inputs, keys), verbose=0))):
            _close(y, theirs[f"y{k}"], f"{name} output {k} after load_weights")
        assert type(model).__name__ == ("Model" if name in ("graph", "nested_seq") else "Sequential")
    model = load_model(tmp_path / "dense_norm.keras")
    assert type(model.optimizer).__name__ == "Adam" and model.optimizer.learning_rate == pytest.approx(0.01)
    assert model._compile_config()["loss"] == "mean_squared_error"
