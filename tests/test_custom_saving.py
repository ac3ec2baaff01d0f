"""Objects of your own by name (Keras 3's register_keras_serializable, custom_object_scope, custom_objects=):
layers of your own and keras.Model subclasses saved to .keras and .netfit and loaded back with the same
predictions; get_config / from_config / clone_model / model_from_json with them; nothing a file names is run."""
import json
import threading
import zipfile

import numpy as np
import pytest

import netfit as nf
from netfit import custom_objects as co
from netfit import keras, ops
from netfit.io import ModelFileError
from netfit.layers import Dense, Layer

X = np.random.default_rng(0).standard_normal((7, 5)).astype("float32")


class MyDense(Layer):
    def __init__(self, units, **kwargs):
        super().__init__(**kwargs)
        self.units = units

    def build(self, input_shape):
        self.w = self.add_weight(shape=(input_shape[-1], self.units), name="kernel")
        self.b = self.add_weight(shape=(self.units,), initializer="random_uniform", name="bias")

    def call(self, x):
        return ops.relu(ops.matmul(x, self.w) + self.b)

    def get_config(self):
        return {**super().get_config(), "units": self.units}


class Block(Layer):
    """An own weight, a built-in sublayer and a custom sublayer: weights in Keras's order (own first)."""

    def __init__(self, units, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.d1 = Dense(units, activation="tanh")
        self.inner = MyDense(units)

    def build(self, input_shape):
        self.scale = self.add_weight(shape=(self.units,), initializer="random_uniform", name="scale")

    def call(self, x):
        return self.inner(self.d1(x)) * self.scale

    def get_config(self):
        return {**super().get_config(), "units": self.units}


OWN = {"MyDense": MyDense, "Block": Block}


@keras.saving.register_keras_serializable(package="my_package")
class CustomModel(keras.Model):
    """Keras 3's guide's model (Save, serialize, and export models)."""

    def __init__(self, hidden_units, **kwargs):
        super().__init__(**kwargs)
        self.hidden_units = hidden_units
        self.dense_layers = [keras.layers.Dense(u) for u in hidden_units]

    def call(self, inputs):
        x = inputs
        for layer in self.dense_layers:
            x = layer(x)
        return x

    def get_config(self):
        return {"hidden_units": self.hidden_units}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


def _sequential():
    model = nf.Sequential([nf.Input(shape=(5,)), MyDense(4), Block(3), Dense(2)], seed=1)
    model.compile(optimizer="adam", loss="mse")
    model.fit(X, np.ones((7, 2)), epochs=2, verbose=0)            # weights away from their initial values
    return model


def _functional():
    x = nf.Input(shape=(5,))
    return nf.Model(x, Dense(2)(Block(3)(MyDense(4)(x))), seed=2)


def _h5py():
    pytest.importorskip("h5py")


# -- the registry and the scopes ---------------------------------------------------------------------------
def test_registered_names_are_keras_3s_package_and_name():
    @keras.saving.register_keras_serializable(package="pkg", name="Renamed")
    def fn(x):
        return x
    assert keras.saving.get_registered_name(fn) == "pkg>Renamed"
    assert keras.saving.get_registered_object("pkg>Renamed") is fn
    assert keras.saving.get_registered_name(MyDense) == "MyDense"             # not registered: its own name
    assert keras.saving.get_registered_name(CustomModel) == "my_package>CustomModel"
    assert keras.utils.register_keras_serializable is keras.saving.register_keras_serializable
    assert keras.utils.custom_object_scope is keras.saving.custom_object_scope
    with pytest.raises(ValueError, match="get_config"):
        keras.saving.register_keras_serializable()(type("NoConfig", (), {}))


def test_scopes_nest_and_each_thread_has_its_own():
    a, b = object(), object()
    with keras.saving.custom_object_scope({"Thing": a}):
        assert keras.saving.get_registered_object("Thing") is a
        with keras.utils.CustomObjectScope({"Thing": b}):
            assert keras.saving.get_registered_object("Thing") is b           # the inner scope first
        assert keras.saving.get_registered_object("Thing") is a
        seen = []
        thread = threading.Thread(target=lambda: seen.append(keras.saving.get_registered_object("Thing")))
        thread.start()
        thread.join()
        assert seen == [None]                                                # another thread: no scope
    assert keras.saving.get_registered_object("Thing") is None


def test_resolution_order_builtin_then_custom_objects_then_scope_then_registry():
    class Mine(Layer):
        def call(self, x):
            return x

    class Other(Mine):
        pass

    class Third(Mine):
        pass
    key = "ResolutionProbe"
    keras.saving.register_keras_serializable(package="probe", name=key)(Third)
    try:
        assert nf.layers.get(key) is Third                                   # the registry, by the plain name
        assert nf.layers.get(key, registered_name=f"probe>{key}") is Third
        with keras.saving.custom_object_scope({key: Other}):
            assert nf.layers.get(key) is Other                               # a scope before the registry
            assert nf.layers.get(key, custom_objects={key: Mine}) is Mine    # custom_objects before a scope
        assert nf.layers.get("Dense", custom_objects={"Dense": Mine}) is Dense   # netfit's own first
    finally:
        co._OBJECTS.pop(f"probe>{key}")
        co._NAMES.pop(Third)


def test_an_unknown_class_says_how_to_give_it():
    with pytest.raises(ValueError, match=r"unknown layer 'Nope'; supported: .*custom_objects=\{'Nope': Nope\}.*"
                                         r"register_keras_serializable"):
        nf.layers.get("Nope")
    with pytest.raises(ValueError, match="not a Layer class"):
        nf.layers.get("print", custom_objects={"print": print})


# -- files --------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("suffix", ["netfit", "keras"])
def test_a_sequential_of_own_layers_round_trips_three_ways(tmp_path, suffix):
    if suffix == "keras":
        _h5py()
    model = _sequential()
    path = tmp_path / f"m.{suffix}"
    model.save(path)
    want = model.predict(X, verbose=0)
    with pytest.raises(ModelFileError, match=r"'MyDense'.*custom_objects="):
        keras.models.load_model(path)
    loaded = keras.models.load_model(path, custom_objects=OWN)
    np.testing.assert_array_equal(loaded.predict(X, verbose=0), want)
    assert isinstance(loaded.layers[1], Block) and loaded.layers[1].units == 3
    for a, b in zip(loaded.get_weights(), model.get_weights()):
        np.testing.assert_array_equal(a, b)
    with keras.saving.custom_object_scope(OWN):
        np.testing.assert_array_equal(keras.models.load_model(path).predict(X, verbose=0), want)
    loaded = keras.models.load_model(path, OWN)                                 # Keras's positional form
    np.testing.assert_array_equal(loaded.predict(X, verbose=0), want)


@pytest.mark.parametrize("suffix", ["netfit", "keras"])
def test_a_functional_model_of_own_layers_round_trips(tmp_path, suffix):
    if suffix == "keras":
        _h5py()
    model = _functional()
    path = tmp_path / f"g.{suffix}"
    model.save(path)
    loaded = keras.models.load_model(path, custom_objects=OWN)
    np.testing.assert_array_equal(loaded.predict(X, verbose=0), model.predict(X, verbose=0))


def test_a_keras_file_writes_keras_3s_object_and_layout(tmp_path):
    _h5py()
    import h5py
    import io
    path = tmp_path / "g.keras"
    _functional().save(path)
    with zipfile.ZipFile(path) as archive:
        config = json.loads(archive.read("config.json"))
        h5 = h5py.File(io.BytesIO(archive.read("model.weights.h5")))
    block = next(e for e in config["config"]["layers"] if e["class_name"] == "Block")
    assert block["registered_name"] == "Block" and block["module"] == __name__
    assert block["config"]["units"] == 3 and block["build_config"] == {"input_shape": [None, 4]}
    assert sorted(h5["layers/block/vars"]) == ["0"]                         # its own weight
    assert sorted(h5["layers/block/d1/vars"]) == ["0", "1"]                 # tracked sublayers by attribute
    assert sorted(h5["layers/block/inner/vars"]) == ["0", "1"]


@pytest.mark.parametrize("suffix", ["netfit", "keras"])
def test_a_registered_model_subclass_round_trips(tmp_path, suffix):
    if suffix == "keras":
        _h5py()
    model = CustomModel([16, 16, 10])
    model.build((None, 5))
    path = tmp_path / f"c.{suffix}"
    model.save(path)
    loaded = keras.models.load_model(path)                                  # registered: nothing to pass
    assert type(loaded) is CustomModel and loaded.hidden_units == [16, 16, 10]
    np.testing.assert_array_equal(loaded.predict(X, verbose=0), model.predict(X, verbose=0))
    if suffix == "keras":
        with zipfile.ZipFile(path) as archive:
            top = json.loads(archive.read("config.json"))
        assert top["class_name"] == "CustomModel" and top["registered_name"] == "my_package>CustomModel"
        assert top["config"] == {"hidden_units": [16, 16, 10]}
        assert top["build_config"] == {"input_shape": [None, 5]}


def test_a_model_subclass_without_get_config_keeps_its_plain_arguments(tmp_path):
    class Plain(keras.Model):
        def __init__(self, units, **kwargs):
            super().__init__(**kwargs)
            self.d = Dense(units)

        def call(self, x):
            return self.d(x)

    class Opaque(Plain):
        pass
    model = Plain(3)
    model.build((None, 5))
    assert model.get_config()["units"] == 3                                 # Keras 3's auto-config
    model.save(tmp_path / "p.netfit")
    loaded = keras.models.load_model(tmp_path / "p.netfit", custom_objects={"Plain": Plain})
    np.testing.assert_array_equal(loaded.predict(X, verbose=0), model.predict(X, verbose=0))
    with pytest.raises(NotImplementedError, match="must override `get_config\\(\\)`"):
        Opaque(np.int64(3)).get_config()                                    # not a plain value


# -- configs in memory ---------------------------------------------------------------------------------------
def test_from_config_model_from_json_and_clone_model():
    model = _sequential()
    config = model.get_config()
    assert config["layers"][1]["class_name"] == "Block" and config["layers"][1]["config"]["units"] == 3
    with pytest.raises(ValueError, match="custom_objects="):
        nf.Sequential.from_config(config)
    twin = nf.Sequential.from_config(config, custom_objects=OWN)
    twin.set_weights(model.get_weights())
    np.testing.assert_array_equal(twin.predict(X, verbose=0), model.predict(X, verbose=0))
    again = keras.models.model_from_json(model.to_json(), custom_objects=OWN)
    assert [type(l) for l in again.layers] == [type(l) for l in model.layers]
    clone = keras.models.clone_model(model)                                 # its classes are in memory
    assert [type(l) for l in clone.layers] == [type(l) for l in model.layers]
    graph = _functional()
    twin = keras.Model.from_config(graph.get_config(), custom_objects=OWN)
    twin.set_weights(graph.get_weights())
    np.testing.assert_array_equal(twin.predict(X, verbose=0), graph.predict(X, verbose=0))
    assert type(keras.models.clone_model(graph).layers[2]) is Block
    sub = CustomModel([4, 2])
    sub.build((None, 5))
    copy = keras.models.clone_model(sub)
    assert type(copy) is CustomModel and [w.shape for w in copy.get_weights()] == [w.shape for w in sub.get_weights()]


def test_layers_serialize_and_deserialize():
    layer = MyDense(3)
    layer(X)                                                                # built
    out = keras.layers.serialize(layer)
    assert out["class_name"] == "MyDense" and out["registered_name"] == "MyDense"
    assert out["build_config"] == {"input_shape": [None, 5]} and out["config"]["units"] == 3
    again = keras.layers.deserialize(out, custom_objects=OWN)
    assert type(again) is MyDense and again.built and [w.shape for w in again.weights] == [(5, 3), (3,)]
    dense = keras.layers.deserialize(keras.layers.serialize(Dense(4, activation="relu")))
    assert type(dense) is Dense and dense.units == 4
    assert keras.saving.serialize_keras_object(layer) == out and out["module"] is None


def test_a_custom_layer_without_get_config_keeps_its_plain_arguments():
    class Scaled(Layer):
        def __init__(self, factor, **kwargs):
            super().__init__(**kwargs)
            self.factor = factor

        def call(self, x):
            return x * self.factor

    config = Scaled(2.5, name="s").get_config()
    assert config["factor"] == 2.5 and config["name"] == "s"
    assert Scaled.from_config(config).factor == 2.5


# -- nothing a file names is run -----------------------------------------------------------------------------
def _keras_file_naming(tmp_path, entry):
    _h5py()
    path = tmp_path / "m.keras"
    nf.Sequential([nf.Input(shape=(5,)), Dense(2)], seed=0).save(path)
    with zipfile.ZipFile(path) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    top = json.loads(members["config.json"])
    top["config"]["layers"][1] = entry
    members["config.json"] = json.dumps(top).encode()
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def test_a_file_naming_os_system_or_an_unregistered_function_is_refused(tmp_path, monkeypatch):
    ran = []
    monkeypatch.setattr("os.system", lambda *a: ran.append(a))
    path = _keras_file_naming(tmp_path, {"module": "os", "class_name": "system", "registered_name": "system",
                                         "config": {"command": "echo hi"}})
    with pytest.raises(ModelFileError, match="unknown layer class 'system'.*never runs code from a file"):
        keras.models.load_model(path)
    path = _keras_file_naming(tmp_path, {"module": "builtins", "class_name": "print", "registered_name": "print",
                                         "config": {}})
    with pytest.raises(ModelFileError, match="not a Layer class"):
        keras.models.load_model(path, custom_objects={"print": print})      # a function given is still no layer
    spec = {"input_shape": [5], "layers": [{"class_name": "Dense", "config": {"units": 2,
                                                                               "activation": "os.system"}}]}
    with pytest.raises(ValueError, match="unknown activation 'os.system'"):
        keras.models.model_from_json(spec)
    assert ran == []


# -- Keras's build((None, ...)) and weights as variables -----------------------------------------------------
def test_a_built_in_layer_built_by_user_code_with_keras_shape():
    layer = keras.layers.Dense(3)
    assert layer.build((None, 784)) is None
    assert [w.shape for w in layer.weights] == [(784, 3), (3,)]
    layer.kernel.assign(np.ones((784, 3)))
    layer.bias.assign(np.full(3, 2.0))
    np.testing.assert_array_equal(layer(np.ones((1, 784), "float32")), np.full((1, 3), 786.0))
    with pytest.raises(AttributeError):
        keras.layers.Dense(3).kernel                                        # not built: no weight yet
    model = nf.Sequential([nf.Input(shape=(4,)), Dense(2)], seed=0)         # netfit's own path is unchanged
    model.build()
    model.layers[0].kernel.assign(np.zeros((4, 2)))
    assert not model.get_weights()[0].any()


def test_losses_of_your_own_come_back_from_both_files_given_or_registered(tmp_path):
    pytest.importorskip("h5py")
    from netfit import keras, ops

    def my_loss(y_true, y_pred):
        return ops.mean(ops.square(y_pred - y_true), axis=-1)

    @keras.saving.register_keras_serializable(package="walk")
    def registered_loss(y_true, y_pred):
        return ops.mean(ops.abs(y_pred - y_true), axis=-1)

    rng = np.random.default_rng(0)
    x, y = rng.random((20, 4)), rng.random((20, 1))
    for fn, kwargs in ((my_loss, {"custom_objects": {"my_loss": my_loss}}), (registered_loss, {})):
        model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
        model.compile(optimizer="adam", loss=fn)
        model.fit(x, y, verbose=0)
        for name in ("m.keras", "m.netfit"):
            model.save(tmp_path / name)
            back = keras.models.load_model(tmp_path / name, **kwargs)
            assert back.compiled and back.evaluate(x, y, verbose=0) == pytest.approx(model.evaluate(x, y, verbose=0))
