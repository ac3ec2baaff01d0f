"""keras.io's "Save, serialize, and export models" (guides/serialization_and_saving.py), in Keras 3's form of that
guide (.keras and .weights.h5 files), as a program of our own: the guide's code with small data.

model.save("....keras") and keras.models.load_model (predictions equal, training resumes); custom objects: a layer
and an activation function registered with keras.saving.register_keras_serializable, loaded back registered, with
custom_objects= and inside keras.saving.custom_object_scope; get_config and from_config of a layer, a Sequential
and a functional model; to_json and keras.models.model_from_json; keras.models.clone_model;
keras.saving.serialize_keras_object / deserialize_keras_object of a regularizer; weights between layers built with
layer.build((None, 784)), into a subclassed model (model.weights' .numpy()), and between models with and without a
Dropout; a model cut below its last layer; save_weights("....weights.h5") and load_weights; the names of a nested
layer's weights before and after one of its sublayers is frozen; a functional model nested in a Sequential; a
Sequential made of another model's layers; the appendix: a layer whose config holds an initializer, a regularizer
and another layer (add_weight(regularizer=...)), keras.layers.serialize / deserialize of it, a layer whose config
holds layers in a functional model rebuilt by keras.Model.from_config.

What differs from Keras (printed values only): a weight's path has no model name in front ("nested/dense_1/kernel";
Keras 3: "sequential_3/nested/dense_1/kernel"); a regularizer's factor is the float given ({'l1': 0.005}; Keras:
the float32 nearest, {'l1': 0.004999999888241291}); the losses (other random draws). Keras 3.15, like netfit, keeps
the weights' order when a nested layer is frozen ("variable ordering changed: False" on both).
"""
import numpy as np
from netfit import keras
from netfit.keras import ops

keras.utils.set_random_seed(0)


def get_model():
    inputs = keras.Input(shape=(32,))
    outputs = keras.layers.Dense(1)(inputs)
    model = keras.Model(inputs, outputs)
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=0.01), loss="mean_squared_error")
    return model


rng = np.random.default_rng(0)
test_input = rng.random((128, 32))
test_target = rng.random((128, 1))
model = get_model()
model.fit(test_input, test_target, verbose=0)
model.save("my_model.keras")
reconstructed_model = keras.models.load_model("my_model.keras")
np.testing.assert_allclose(model.predict(test_input, verbose=0), reconstructed_model.predict(test_input, verbose=0))
before = reconstructed_model.evaluate(test_input, test_target, verbose=0)
reconstructed_model.fit(test_input, test_target, epochs=3, verbose=0)
print("reloaded model predicts the same; loss before and after more training:", before,
      reconstructed_model.evaluate(test_input, test_target, verbose=0))

# Custom objects: registered, given to load_model, in a custom object scope.
keras.saving.get_custom_objects().clear()


@keras.saving.register_keras_serializable(package="MyLayers")
class CustomLayer(keras.layers.Layer):
    def __init__(self, factor):
        super().__init__()
        self.factor = factor

    def call(self, x):
        return x * self.factor

    def get_config(self):
        return {"factor": self.factor}


@keras.saving.register_keras_serializable(package="my_package", name="custom_fn")
def custom_fn(x):
    return x**2


def get_model():
    inputs = keras.Input(shape=(4,))
    mid = CustomLayer(0.5)(inputs)
    outputs = keras.layers.Dense(1, activation=custom_fn)(mid)
    model = keras.Model(inputs, outputs)
    model.compile(optimizer="rmsprop", loss="mean_squared_error")
    return model


def train_model(model):
    input = rng.random((4, 4))
    target = rng.random((4, 1))
    model.fit(input, target, verbose=0)
    return model


test_input = rng.random((4, 4))
test_target = rng.random((4, 1))

model = get_model()
model = train_model(model)
model.save("custom_model.keras")
reconstructed_model = keras.models.load_model("custom_model.keras")
np.testing.assert_allclose(model.predict(test_input, verbose=0), reconstructed_model.predict(test_input, verbose=0),
                           rtol=1e-6)
print("custom objects, registered:", type(reconstructed_model.layers[1]).__name__,
      keras.saving.get_registered_name(custom_fn))

model = get_model()
model = train_model(model)
model.save("custom_model.keras")
reconstructed_model = keras.models.load_model(
    "custom_model.keras",
    custom_objects={"CustomLayer": CustomLayer, "custom_fn": custom_fn},
)
np.testing.assert_allclose(model.predict(test_input, verbose=0), reconstructed_model.predict(test_input, verbose=0),
                           rtol=1e-6)

model = get_model()
model = train_model(model)
model.save("custom_model.keras")
custom_objects = {"CustomLayer": CustomLayer, "custom_fn": custom_fn}
with keras.saving.custom_object_scope(custom_objects):
    reconstructed_model = keras.models.load_model("custom_model.keras")
np.testing.assert_allclose(model.predict(test_input, verbose=0), reconstructed_model.predict(test_input, verbose=0),
                           rtol=1e-6)
print("custom objects, given and in a scope: the same predictions")

new_model = keras.models.clone_model(model)
print("clone of the custom model:", [type(l).__name__ for l in new_model.layers])

layer = keras.layers.Dense(3, activation="relu")
layer_config = layer.get_config()
new_layer = keras.layers.Dense.from_config(layer_config)
print("layer from config:", new_layer.get_config()["units"], new_layer.get_config()["activation"])

model = keras.Sequential([keras.Input((32,)), keras.layers.Dense(1)])
config = model.get_config()
new_model = keras.Sequential.from_config(config)
print("sequential from config:", [type(l).__name__ for l in new_model.layers])

inputs = keras.Input((32,))
outputs = keras.layers.Dense(1)(inputs)
model = keras.Model(inputs, outputs)
config = model.get_config()
new_model = keras.Model.from_config(config)
print("functional from config:", new_model.count_params())

model = keras.Sequential([keras.Input((32,)), keras.layers.Dense(1)])
json_config = model.to_json()
new_model = keras.models.model_from_json(json_config)
print("from json:", new_model.count_params())

clone = keras.models.clone_model(model)
print("clone:", clone.count_params(), type(clone).__name__)

my_reg = keras.regularizers.L1(0.005)
config = keras.saving.serialize_keras_object(my_reg)
print("regularizer config:", config["class_name"], config["config"])
new_reg = keras.saving.deserialize_keras_object(config)
print("regularizer back:", type(new_reg).__name__, new_reg.get_config())


def create_layer():
    layer = keras.layers.Dense(64, activation="relu", name="dense_2")
    layer.build((None, 784))
    return layer


layer_1 = create_layer()
layer_2 = create_layer()
layer_2.set_weights(layer_1.get_weights())
print("layer weights copied:", all(np.array_equal(a, b) for a, b in zip(layer_1.get_weights(),
                                                                        layer_2.get_weights())))


def create_functional_model(dropout=False, classes=10, name="3_layer_mlp"):
    inputs = keras.Input(shape=(784,), name="digits")
    x = keras.layers.Dense(64, activation="relu", name="dense_1")(inputs)
    x = keras.layers.Dense(64, activation="relu", name="dense_2")(x)
    if dropout:
        x = keras.layers.Dropout(0.5)(x)
    outputs = keras.layers.Dense(classes, name="predictions")(x)
    return keras.Model(inputs=inputs, outputs=outputs, name=name)


functional_model = create_functional_model()


class SubclassedModel(keras.Model):
    def __init__(self, output_dim, name=None):
        super().__init__(name=name)
        self.output_dim = output_dim
        self.dense_1 = keras.layers.Dense(64, activation="relu", name="dense_1")
        self.dense_2 = keras.layers.Dense(64, activation="relu", name="dense_2")
        self.dense_3 = keras.layers.Dense(output_dim, name="predictions")

    def call(self, inputs):
        x = self.dense_1(inputs)
        x = self.dense_2(x)
        x = self.dense_3(x)
        return x

    def get_config(self):
        return {"output_dim": self.output_dim, "name": self.name}


subclassed_model = SubclassedModel(10)
subclassed_model(np.ones((1, 784)))
subclassed_model.set_weights(functional_model.get_weights())
assert len(functional_model.weights) == len(subclassed_model.weights)
for a, b in zip(functional_model.weights, subclassed_model.weights):
    np.testing.assert_allclose(a.numpy(), b.numpy())
print("weights into a subclassed model:", len(subclassed_model.weights))

functional_model_with_dropout = create_functional_model(dropout=True)
functional_model_with_dropout.set_weights(functional_model.get_weights())
probe = rng.random((2, 784)).astype("float32")
print("weights into a model with a Dropout:", bool(np.allclose(
    functional_model.predict(probe, verbose=0), functional_model_with_dropout.predict(probe, verbose=0))))

sequential_model = keras.Sequential(
    [
        keras.Input(shape=(784,), name="digits"),
        keras.layers.Dense(64, activation="relu", name="dense_1"),
        keras.layers.Dense(64, activation="relu", name="dense_2"),
        keras.layers.Dense(10, name="predictions"),
    ]
)
sequential_model.save_weights("my_model.weights.h5")
sequential_model.load_weights("my_model.weights.h5")


class NestedDenseLayer(keras.layers.Layer):
    def __init__(self, units, name=None):
        super().__init__(name=name)
        self.dense_1 = keras.layers.Dense(units, name="dense_1")
        self.dense_2 = keras.layers.Dense(units, name="dense_2")

    def call(self, inputs):
        return self.dense_2(self.dense_1(inputs))


nested_model = keras.Sequential([keras.Input((784,)), NestedDenseLayer(10, "nested")])
variable_names = [v.name for v in nested_model.weights]
print("variables: {}".format(variable_names))
nested_model.get_layer("nested").dense_1.trainable = False
variable_names_2 = [v.name for v in nested_model.weights]
print("variables after freezing dense_1: {}".format(variable_names_2))
print("variable ordering changed:", variable_names != variable_names_2)
print("paths after freezing dense_1:", [v.path for v in nested_model.weights])

pretrained = keras.Model(functional_model.inputs, functional_model.layers[-1].input, name="pretrained_model")
pretrained.set_weights([rng.normal(size=w.shape) for w in pretrained.get_weights()])
pretrained.save_weights("pretrained_model.weights.h5")
pretrained.summary()

inputs = keras.Input(shape=(784,), name="digits")
x = keras.layers.Dense(64, activation="relu", name="dense_1")(inputs)
x = keras.layers.Dense(64, activation="relu", name="dense_2")(x)
pretrained_model = keras.Model(inputs=inputs, outputs=x, name="pretrained")
model = keras.Sequential([pretrained_model, keras.layers.Dense(5, name="predictions")])
model.summary()
pretrained_model.load_weights("pretrained_model.weights.h5")
print("pretrained weights loaded:", all(np.array_equal(a, b) for a, b in zip(pretrained.get_weights(),
                                                                              pretrained_model.get_weights())))

functional_model.save_weights("pretrained_weights.weights.h5")
pretrained_model = create_functional_model()
pretrained_model.load_weights("pretrained_weights.weights.h5")
extracted_layers = pretrained_model.layers[:-1]
extracted_layers.append(keras.layers.Dense(5, name="dense_3"))
model = keras.Sequential(extracted_layers)
model.summary()
print("new head on the extracted layers:", model.predict(probe, verbose=0).shape)


# Appendix: a layer whose config holds an initializer, a regularizer and a layer.
@keras.saving.register_keras_serializable(package="MyLayers", name="KernelMult")
class MyDense(keras.layers.Layer):
    def __init__(
        self,
        units,
        *,
        kernel_regularizer=None,
        kernel_initializer=None,
        nested_model=None,
        **kwargs
    ):
        super().__init__(**kwargs)
        self.hidden_units = units
        self.kernel_regularizer = kernel_regularizer
        self.kernel_initializer = kernel_initializer
        self.nested_model = nested_model

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "units": self.hidden_units,
                "kernel_regularizer": self.kernel_regularizer,
                "kernel_initializer": self.kernel_initializer,
                "nested_model": self.nested_model,
            }
        )
        return config

    def build(self, input_shape):
        input_units = input_shape[-1]
        self.kernel = self.add_weight(
            name="kernel",
            shape=(input_units, self.hidden_units),
            regularizer=self.kernel_regularizer,
            initializer=self.kernel_initializer,
        )

    def call(self, inputs):
        return ops.matmul(inputs, self.kernel)


layer = MyDense(units=16, kernel_regularizer="l1", kernel_initializer="ones")
layer3 = MyDense(units=64, nested_model=layer)
config = keras.layers.serialize(layer3)
print("serialized:", config["registered_name"], config["config"]["nested_model"]["registered_name"],
      config["config"]["nested_model"]["config"]["kernel_regularizer"])
new_layer = keras.layers.deserialize(config)
print("deserialized:", type(new_layer).__name__, new_layer.hidden_units,
      "nested_model stays a config:", isinstance(new_layer.nested_model, dict))


@keras.saving.register_keras_serializable(package="ComplexModels")
class CustomModel(keras.layers.Layer):
    def __init__(self, first_layer, second_layer=None, **kwargs):
        super().__init__(**kwargs)
        self.first_layer = first_layer
        if second_layer is not None:
            self.second_layer = second_layer
        else:
            self.second_layer = keras.layers.Dense(8)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "first_layer": self.first_layer,
                "second_layer": self.second_layer,
            }
        )
        return config

    @classmethod
    def from_config(cls, config):
        config["first_layer"] = keras.layers.deserialize(config["first_layer"])
        config["second_layer"] = keras.layers.deserialize(config["second_layer"])
        return cls(**config)

    def call(self, inputs):
        return self.first_layer(self.second_layer(inputs))


inputs = keras.Input((32,))
outputs = CustomModel(first_layer=layer)(inputs)
model = keras.Model(inputs, outputs)
config = model.get_config()
new_model = keras.Model.from_config(config)
print("model of a layer of layers from config:", new_model.count_params(), new_model.output_shape)
x = rng.random((8, 32))
y = rng.random((8, 16))
model.compile(optimizer="sgd", loss="mean_squared_error")
mse = float(np.mean((model.predict(x, verbose=0) - y) ** 2))
l1 = 0.01 * float(np.sum(np.abs(model.layers[1].first_layer.kernel.numpy())))
print("loss with the l1 penalty of the kernel:", round(model.evaluate(x, y, verbose=0), 4), round(mse + l1, 4))
history = model.fit(x, y, epochs=1, verbose=0)
print("fit's loss has the penalty:", bool(np.isclose(history.history["loss"][0], mse + l1, rtol=1e-4)))

layer = MyDense(
    units=16,
    kernel_regularizer=keras.regularizers.L1L2(l1=1e-5, l2=1e-4),
    kernel_initializer="ones",
)
config = keras.layers.serialize(layer)
print("registered layer:", config["class_name"], config["registered_name"], config["module"])
print("its regularizer:", config["config"]["kernel_regularizer"])
