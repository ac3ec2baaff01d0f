"""Saving and loading: bit-exact round trips, exact resumption, hostile files, atomic writes."""
import inspect
import io
import json
import os
import pickle
import signal
import subprocess
import sys
import textwrap
import time
import zipfile

import numpy as np
import pytest

import netfit as nf
from netfit import layers
from netfit.callbacks import ModelCheckpoint
from netfit.io import ModelFileError, load_model, save_model
from netfit.layers import Dense, Dropout, Flatten
from netfit.optimizers import SGD, Adam

# One example per layer type: (input shape, layer(s) under test). Layers that
# netfit.layers exports without an entry here get a generic example built from
# their constructor's required arguments, so new layers are covered too.
EXAMPLES = {
    "Dense": ((5,), lambda: [Dense(4, activation="tanh")]),
    "Flatten": ((3, 4), lambda: [Flatten()]),
    "Reshape": ((12,), lambda: [layers.Reshape((3, -1)), Flatten()]),
    "Activation": ((5,), lambda: [Dense(4), layers.Activation("elu")]),
    "Dropout": ((5,), lambda: [Dense(4), Dropout(0.3)]),
    "Conv2D": ((7, 6, 2), lambda: [layers.Conv2D(3, 3, strides=2, padding="same", activation="relu"),
                                   layers.Conv2D(2, 2, bias="per_unit"), Flatten()]),
    "LocallyConnected2D": ((6, 6), lambda: [layers.LocallyConnected2D(2, 3, activation="sigmoid"), Flatten()]),
    "MaxPooling2D": ((6, 6, 2), lambda: [layers.MaxPooling2D(2), Flatten()]),
    "AveragePooling2D": ((5, 5, 2), lambda: [layers.AveragePooling2D(2, padding="same"), Flatten()]),
    "GlobalAveragePooling2D": ((4, 4, 3), lambda: [layers.GlobalAveragePooling2D()]),
    "Normalization": ((3,), lambda: [layers.Normalization(mean=[0.5, -1.0, 2.0], variance=[1.0, 4.0, 0.25])]),
    "PReLU": ((6, 6, 2), lambda: [layers.PReLU(shared_axes=[1, 2]), Flatten()]),
    "Rescaling": ((5,), lambda: [layers.Rescaling(0.5, offset=1.0)]),
    "RandomRotation": ((6, 6, 2), lambda: [layers.RandomRotation(0.2, seed=1), Flatten()]),
    "RandomZoom": ((6, 6, 2), lambda: [layers.RandomZoom(0.2, width_factor=(-0.1, 0.3)), Flatten()]),
    "RandomTranslation": ((6, 6, 2), lambda: [layers.RandomTranslation(0.2, 0.1, fill_mode="constant"), Flatten()]),
    "RandomContrast": ((6, 6, 2), lambda: [layers.RandomContrast(0.3, value_range=(-3, 3)), Flatten()]),
    "Embedding": ((5,), lambda: [layers.Embedding(10, 3), Flatten()]),
    "RandomFourierFeatures": ((5,), lambda: [layers.RandomFourierFeatures(16, kernel_initializer="laplacian",
                                                                    trainable=True), Dense(2)]),
}
_INTEGER_INPUTS = {"Embedding"}                                    # layers that read token indices
_NOT_LAYERS = {"Layer", "ActivatedLayer", "Input", "InputLayer", "get", "register"}   # Input: a shape, not a layer
# Merge layers (several inputs) and their functional forms (add, concatenate, ...) cannot sit in a Sequential.
LAYER_NAMES = sorted(set(EXAMPLES) | {n for n in getattr(layers, "__all__", []) if n not in _NOT_LAYERS
                                      and isinstance(getattr(layers, n, None), type)
                                      and not getattr(layers, n).multiple_inputs})
_GUESSES = {"units": 3, "filters": 2, "kernel_size": 2, "pool_size": 2, "rate": 0.5, "target_shape": (-1,),
            "activation": "tanh"}


def _example(name):
    cls = getattr(layers, name, None)
    if cls is None:
        pytest.skip(f"netfit.layers.{name} is not importable")
    if name in EXAMPLES:
        shape, make = EXAMPLES[name]
        return shape, make()
    params = list(inspect.signature(cls.__init__).parameters.values())[1:]
    required = [p.name for p in params if p.default is p.empty and p.kind is p.POSITIONAL_OR_KEYWORD]
    if any(r not in _GUESSES for r in required):
        pytest.fail(f"add an example for {name} to EXAMPLES in tests/test_io.py")
    for shape in ((6, 6, 2), (6, 6), (12,)):
        candidate = [cls(**{r: _GUESSES[r] for r in required}), Flatten()]
        try:
            nf.Sequential(candidate).build(shape)
            return shape, [cls(**{r: _GUESSES[r] for r in required}), Flatten()]
        except ValueError:
            continue
    pytest.fail(f"could not build a model around {name}; add an example to EXAMPLES in tests/test_io.py")


def _model(name, seed=1):
    shape, body = _example(name)
    model = nf.Sequential(body + [Dense(3, activation="softmax")], seed=seed)
    model.build(shape)
    return model


def _data(shape, n=40, seed=0, integers=False):
    rng = np.random.default_rng(seed)
    if integers:
        return rng.integers(0, 10, (n,) + shape), rng.integers(0, 3, n)
    return rng.normal(size=(n,) + shape).astype("float32"), rng.integers(0, 3, n)


@pytest.mark.parametrize("name", LAYER_NAMES)
def test_round_trip_is_bit_exact_for_every_layer(name, tmp_path):
    model = _model(name)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    x, y = _data(model.layers[0].input_shape, integers=name in _INTEGER_INPUTS)
    model.fit(x, y, epochs=2, batch_size=16, verbose=0)
    model.save(tmp_path / "m.netfit")
    loaded = nf.load_model(tmp_path / "m.netfit")
    assert [type(l).__name__ for l in loaded.layers] == [type(l).__name__ for l in model.layers]
    assert loaded.get_config() == model.get_config()
    for a, b in zip(model.get_weights(), loaded.get_weights(), strict=True):
        assert a.dtype == b.dtype and a.tobytes() == b.tobytes()
    assert loaded.predict(x).tobytes() == model.predict(x).tobytes()


def test_optimizer_state_history_and_metadata_are_restored(tmp_path):
    model = _model("Dense")
    model.compile(optimizer=SGD(0.05, momentum=0.9, nesterov=True, weight_decay=1e-3),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    x, y = _data((5,))
    model.fit(x, y, epochs=3, batch_size=8, verbose=0, validation_split=0.25)
    save_model(model, tmp_path / "m.netfit", metadata={"input_scale": [0.0, 1.0], "data": "toy"})
    loaded = load_model(tmp_path / "m.netfit")
    assert type(loaded.optimizer) is SGD and loaded.optimizer.get_config() == model.optimizer.get_config()
    for key, value in model.optimizer.get_state().items():
        np.testing.assert_array_equal(loaded.optimizer.get_state()[key], value)
    assert loaded.history.history == model.history.history and loaded.history.epoch == [0, 1, 2]
    assert loaded.epochs_trained == 3 and loaded.metadata == {"input_scale": [0.0, 1.0], "data": "toy"}
    assert loaded.loss.name == model.loss.name
    loaded.save(tmp_path / "again.netfit")                  # metadata travels with the model
    assert load_model(tmp_path / "again.netfit").metadata["data"] == "toy"
    assert not load_model(tmp_path / "m.netfit", compile=False).compiled


@pytest.mark.parametrize("graph", [False, True], ids=["sequential", "functional"])
def test_a_loss_object_with_options_is_restored(graph, tmp_path):
    # losses.serialize writes {"class_name", "config"} for a loss with options; load_model gives it back as
    # that one loss, not as a dict of losses by output name.
    if graph:
        inputs = nf.Input(shape=(5,))
        model = nf.Model(inputs, Dense(3)(inputs))
    else:
        model = nf.Sequential([nf.Input(shape=(5,)), Dense(3)])
    model.compile(optimizer="rmsprop", loss=nf.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    x, y = _data((5,))
    model.fit(x, y, epochs=1, batch_size=8, verbose=0)
    save_model(model, tmp_path / "m.netfit")
    loaded = load_model(tmp_path / "m.netfit")
    assert loaded.loss.name == "sparse_categorical_crossentropy" and loaded.loss.get_config() == {"from_logits": True}
    assert loaded.evaluate(x, y, verbose=0) == model.evaluate(x, y, verbose=0)


def test_uncompiled_model_and_bad_metadata(tmp_path):
    model = _model("Flatten")
    model.save(tmp_path / "m.netfit")
    loaded = load_model(tmp_path / "m.netfit")
    assert not loaded.compiled and loaded.epochs_trained == 0 and loaded.metadata == {}
    with pytest.raises(TypeError, match="metadata"):
        save_model(model, tmp_path / "x.netfit", metadata={"f": object()})
    with pytest.raises(FileNotFoundError, match="no such file"):
        load_model(tmp_path / "missing.netfit")


@pytest.mark.parametrize("optimizer", [lambda: Adam(0.01), lambda: SGD(0.05, momentum=0.9),
                                       lambda: SGD(0.05, momentum=0.8, nesterov=True, weight_decay=1e-3)],
                         ids=["adam", "sgd-momentum", "sgd-nesterov-decay"])
def test_resumed_training_is_bit_identical(optimizer, tmp_path):
    x, y = _data((6,), n=50)

    def fresh():
        model = nf.Sequential([Dense(8, activation="relu", input_shape=(6,)), Dropout(0.4),
                               Dense(3, activation="softmax")], seed=7)
        model.compile(optimizer=optimizer(), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        return model

    straight = fresh()
    straight.fit(x, y, epochs=4, batch_size=8, verbose=0)
    first = fresh()
    first.fit(x, y, epochs=2, batch_size=8, verbose=0)
    first.save(tmp_path / "half.netfit")
    resumed = nf.load_model(tmp_path / "half.netfit")
    assert resumed.epochs_trained == 2
    resumed.fit(x, y, epochs=4, batch_size=8, verbose=0, initial_epoch=resumed.epochs_trained)
    for a, b in zip(straight.get_weights(), resumed.get_weights(), strict=True):
        assert a.tobytes() == b.tobytes()
    assert resumed.history.history["loss"] == straight.history.history["loss"][2:]


# -- hostile and damaged files ------------------------------------------------------------
class _Payload:
    """Unpickling this runs code that creates a marker file."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return exec, (f"open({self.marker!r}, 'w').close()",)


@pytest.fixture
def good_file(tmp_path):
    model = nf.Sequential([Dense(2, input_shape=(3,), activation="relu"), Dense(2)], seed=0)
    model.compile(optimizer="adam", loss="mse")
    path = tmp_path / "good.netfit"
    model.save(path)
    return path, model


def _rewrite(src, dest, change=None, extra=()):
    """Copy the zip at src to dest, passing each (name, data) through change and adding extra members."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dest, "w") as zout:
        for name in zin.namelist():
            data = zin.read(name)
            if change:
                name, data = change(name, data)
            zout.writestr(name, data)
        for name, data in extra:
            zout.writestr(name, data)
    return dest


def test_pickle_renamed_to_netfit_is_refused_without_running(tmp_path):
    marker = tmp_path / "pwned"
    assert pickle.loads(pickle.dumps(_Payload(tmp_path / "check"))) is None and (tmp_path / "check").exists()
    path = tmp_path / "evil.netfit"
    path.write_bytes(pickle.dumps(_Payload(marker)))
    with pytest.raises(ModelFileError, match="not a netfit model file"):
        load_model(path)
    assert not marker.exists()


def test_object_array_in_zip_is_refused_without_running(good_file, tmp_path):
    marker = tmp_path / "pwned"
    buffer = io.BytesIO()
    np.save(buffer, np.array([_Payload(marker)], dtype=object), allow_pickle=True)
    evil = _rewrite(good_file[0], tmp_path / "evil.netfit",
                    lambda n, d: (n, buffer.getvalue() if n == "arrays/weight_0.npy" else d))
    with pytest.raises(ModelFileError, match=r"expected array 'weight_0' .* as float32 of shape \(3, 2\), .*got object"):
        load_model(evil)
    assert not marker.exists()


@pytest.mark.parametrize("member", ["../escape.npy", "/etc/evil.npy", "arrays/../../x.npy", "arrays\\..\\x.npy",
                                    "data.pkl"])
def test_unexpected_or_traversing_member_names_are_refused(good_file, tmp_path, member):
    evil = _rewrite(good_file[0], tmp_path / "evil.netfit", extra=[(member, b"x")])
    with pytest.raises(ModelFileError, match="unexpected member"):
        load_model(evil)
    assert not (tmp_path.parent / "escape.npy").exists()


def _edit_meta(src, dest, edit):
    def change(name, data):
        if name != "netfit.json":
            return name, data
        meta = json.loads(data)
        edit(meta)
        return name, json.dumps(meta)
    return _rewrite(src, dest, change)


@pytest.mark.parametrize("edit, message", [
    (lambda m: m.update(format_version=2), "format version 2; this netfit reads version 1. Upgrade"),
    (lambda m: m.update(format="something-else"), "not a netfit model file"),
    (lambda m: m["arrays"].append("../../etc/passwd"), "invalid array name"),
    (lambda m: m["model_config"]["layers"][0].update(class_name="__import__"), "unknown class_name"),
    (lambda m: m["model_config"]["layers"][0]["config"].update(units=10**12), "declares 24,000,000,000,008 bytes"),
    (lambda m: m["model_config"]["layers"][0]["config"].update(units=3), "'weight_0' .* of shape \\(3, 3\\)"),
    (lambda m: m["model_config"]["layers"][0]["config"].update(kernel_initializer={"class_name": "os.system"}),
     "unknown initializer"),
    (lambda m: m["model_config"].update(dtype="object"), "dtype"),
    (lambda m: m["compile_config"]["optimizer"].update(class_name="Evil"), "unknown optimizer"),
    (lambda m: m.update(history=[1, 2]), "malformed"),
])
def test_crafted_json_is_refused(good_file, tmp_path, edit, message):
    with pytest.raises(ModelFileError, match=message):
        load_model(_edit_meta(good_file[0], tmp_path / "evil.netfit", edit))


def test_deeply_nested_json_is_refused(tmp_path):
    with zipfile.ZipFile(tmp_path / "deep.netfit", "w") as archive:
        archive.writestr("netfit.json", "[" * 100_000 + "]" * 100_000)
    with pytest.raises(ModelFileError, match="damaged"):
        load_model(tmp_path / "deep.netfit")


def test_wrong_shaped_optimizer_state_is_refused(good_file, tmp_path):
    def change(name, data):
        if name == "arrays/opt_m.npy":
            buffer = io.BytesIO()
            np.save(buffer, np.zeros(1, "float32"))
            data = buffer.getvalue()
        return name, data
    with pytest.raises(ModelFileError, match="optimizer state 'm'"):
        load_model(_rewrite(good_file[0], tmp_path / "evil.netfit", change))


def test_truncated_files_are_refused(good_file, tmp_path):
    data = good_file[0].read_bytes()
    cut = tmp_path / "cut.netfit"
    for length in range(0, len(data), 37):
        cut.write_bytes(data[:length])
        with pytest.raises(ModelFileError):
            load_model(cut)


def test_every_flipped_byte_is_refused_or_harmless(good_file, tmp_path):
    path, model = good_file
    data = bytearray(path.read_bytes())
    flipped = tmp_path / "flip.netfit"
    accepted = 0
    for k in range(len(data)):
        data[k] ^= 0x5A
        flipped.write_bytes(data)
        data[k] ^= 0x5A
        try:
            loaded = load_model(flipped)
        except ModelFileError:
            continue
        accepted += 1                 # e.g. a timestamp or the zip's "version made by": must be harmless
        assert loaded.get_config() == model.get_config()
        for a, b in zip(model.get_weights(), loaded.get_weights(), strict=True):
            assert a.tobytes() == b.tobytes()
        for key, value in model.optimizer.get_state().items():
            assert np.array_equal(loaded.optimizer.get_state()[key], value)
    print(f"{accepted} of {len(data)} flipped bytes were harmless")
    assert accepted < len(data) // 3


# -- atomic writes ----------------------------------------------------------------------------
def _folder_state(folder):
    return sorted(p.name for p in folder.iterdir())


@pytest.mark.parametrize("fail_in", ["np.save", "os.replace", "KeyboardInterrupt"])
def test_failure_mid_write_keeps_previous_file_and_no_temp_files(good_file, monkeypatch, fail_in):
    path, model = good_file
    before, names = path.read_bytes(), _folder_state(path.parent)
    if fail_in == "np.save":
        calls = []

        def failing_save(*args, **kwargs):
            calls.append(1)
            if len(calls) == 2:
                raise OSError(28, "No space left on device")
            return np.lib.format.write_array(args[0], np.asanyarray(args[1]), allow_pickle=False)
        monkeypatch.setattr("netfit.io.np.save", failing_save)
        error = OSError
    elif fail_in == "os.replace":
        def failing_replace(src, dest):
            raise OSError(13, "Permission denied")
        monkeypatch.setattr("netfit.io.os.replace", failing_replace)
        error = OSError
    else:
        def interrupted(*args, **kwargs):
            raise KeyboardInterrupt
        monkeypatch.setattr("netfit.saving.zipfile.ZipFile.writestr", interrupted)
        error = KeyboardInterrupt
    for w in model.weights:
        w[...] = 42
    with pytest.raises(error) as info:
        model.save(path)
    if error is OSError:
        assert "previous file, if any, is unchanged" in str(info.value)
    assert path.read_bytes() == before
    assert _folder_state(path.parent) == names


def test_unwritable_folder_keeps_previous_file(good_file, tmp_path):
    path, model = good_file
    with pytest.raises(OSError, match="cannot write to folder"):
        model.save(tmp_path / "no" / "such" / "m.netfit")
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(OSError, match="cannot write to folder"):
        model.save(blocker / "m.netfit")
    if os.geteuid() != 0:                       # root may write anywhere
        before = path.read_bytes()
        path.parent.chmod(0o500)
        try:
            with pytest.raises(OSError, match="cannot write to folder"):
                model.save(path)
        finally:
            path.parent.chmod(0o700)
        assert path.read_bytes() == before


_SAVER = textwrap.dedent("""
    import sys
    import netfit as nf
    from netfit.layers import Dense
    model = nf.Sequential([Dense(96, input_shape=(96,)), Dense(96)], seed=0)
    k = int(sys.argv[2])
    print("ready", flush=True)
    while True:
        k += 1
        for w in model.weights:
            w[...] = k
        model.metadata = {"k": k}
        model.save(sys.argv[1])
""")


def test_kill_9_mid_save_never_leaves_a_corrupt_file(tmp_path):
    path = tmp_path / "m.netfit"
    rng = np.random.default_rng()
    seen = set()
    for attempt in range(6):
        proc = subprocess.Popen([sys.executable, "-c", _SAVER, str(path), str(attempt * 100000)],
                                stdout=subprocess.PIPE, text=True)
        assert proc.stdout.readline().strip() == "ready"
        time.sleep(rng.uniform(0.0, 0.25))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        proc.stdout.close()
        if not path.exists():
            continue
        model = load_model(path)                # a file that exists must load, and be one whole save
        k = model.metadata["k"]
        seen.add(k)
        assert all(np.all(w == k) for w in model.get_weights())
    print(f"saves seen: {sorted(seen)}; temp files left by kill -9: {len(list(tmp_path.glob('.*.tmp')))}")
    assert seen, "no save finished in any attempt"


# -- ModelCheckpoint -----------------------------------------------------------------------------
def test_model_checkpoint_writes_each_epoch(tmp_path):
    model = _model("Dense")
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    x, y = _data((5,))
    model.fit(x, y, epochs=3, batch_size=8, verbose=0,
              callbacks=[ModelCheckpoint(str(tmp_path / "m-{epoch:02d}-{loss:.2f}.netfit"))])
    files = sorted(p.name for p in tmp_path.glob("m-*.netfit"))
    assert [f[:4] for f in files] == ["m-01", "m-02", "m-03"]
    loaded = load_model(tmp_path / files[-1])
    assert loaded.epochs_trained == 3
    for a, b in zip(model.get_weights(), loaded.get_weights()):
        assert a.tobytes() == b.tobytes()


def test_model_checkpoint_save_best_only(tmp_path):
    model = _model("Dense")
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    path = tmp_path / "best.netfit"
    checkpoint = ModelCheckpoint(path, monitor="val_loss", save_best_only=True)
    checkpoint.set_model(model)
    for epoch, val_loss, saved_epoch in [(0, 1.0, 1), (1, 2.0, 1), (2, 0.5, 3), (3, 0.7, 3)]:
        checkpoint.on_epoch_end(epoch, {"loss": 1.0, "val_loss": val_loss})
        assert load_model(path).epochs_trained == saved_epoch
    with pytest.raises(ValueError, match="monitor 'val_acc'"):
        ModelCheckpoint(path, monitor="val_acc", save_best_only=True).on_epoch_end(0, {"loss": 1.0})
    x, y = _data((5,))
    model.fit(x, y, epochs=3, verbose=0, validation_split=0.25,
              callbacks=[ModelCheckpoint(tmp_path / "fit-best.netfit", save_best_only=True)])
    best = int(np.argmin(model.history.history["val_loss"])) + 1
    assert load_model(tmp_path / "fit-best.netfit").epochs_trained == best
