"""Features of keras.io's "Save, serialize, and export models" (guides/serialization_and_saving.py) that need no
custom code, in a program of our own, in Keras 3's form of that guide (.keras and .weights.h5 files).

model.save("....keras") and keras.models.load_model (predictions equal, training resumes); get_config and
from_config of a layer (keras.layers.Dense.from_config), a Sequential and a functional model; to_json and
keras.models.model_from_json; keras.models.clone_model; get_weights/set_weights between models with and without a
Dropout; a model cut below its last layer
(keras.Model(model.inputs, model.layers[-1].input)); save_weights("....weights.h5") and load_weights; a
functional model nested in a Sequential; a Sequential made of another model's layers (its InputLayer first).
Not here: custom layers, models and functions with get_config, register_keras_serializable,
custom_object_scope (netfit.ops, the next issue); Variable.assign (netfit's weights are arrays: set_weights);
layer.build((None, 784)) called by the user (netfit's Layer.build takes one example's shape, no batch axis).
"""
import numpy as np
from netfit import keras

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


def create_functional_model(dropout=False, classes=10, name="3_layer_mlp"):
    inputs = keras.Input(shape=(784,), name="digits")
    x = keras.layers.Dense(64, activation="relu", name="dense_1")(inputs)
    x = keras.layers.Dense(64, activation="relu", name="dense_2")(x)
    if dropout:
        x = keras.layers.Dropout(0.5)(x)
    outputs = keras.layers.Dense(classes, name="predictions")(x)
    return keras.Model(inputs=inputs, outputs=outputs, name=name)


functional_model = create_functional_model()
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
