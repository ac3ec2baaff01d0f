"""Features of keras.io's "The Sequential model" (guides/sequential_model.py), in a program of our own, in
Keras 3's form of that guide (its `ops.ones` test inputs are NumPy arrays here: netfit.ops is not built yet).

A Sequential from a list and layer by layer with add(), named layers and models, pop(), a model built by
its first call (weights appear then: layer.weights, model.weights), calling a model and a chain of layers
on an array, summary() of a model started with keras.Input and of a conv stack grown with add(), strides,
GlobalMaxPooling2D, and feature extraction: keras.Model(inputs=model.inputs, outputs=[layer.output ...])
and get_layer(name=...).output.
"""
import numpy as np
from netfit import keras
from netfit.keras import layers

keras.utils.set_random_seed(0)

model = keras.Sequential(
    [
        layers.Dense(2, activation="relu", name="layer1"),
        layers.Dense(3, activation="relu", name="layer2"),
        layers.Dense(4, name="layer3"),
    ]
)
x = np.ones((3, 3))
y = model(x)
print("model(x) shape:", tuple(y.shape))

layer1 = layers.Dense(2, activation="relu", name="layer1")
layer2 = layers.Dense(3, activation="relu", name="layer2")
layer3 = layers.Dense(4, name="layer3")
y = layer3(layer2(layer1(np.ones((3, 3)))))
print("layer chain shape:", tuple(y.shape))

model = keras.Sequential()
model.add(layers.Dense(2, activation="relu"))
model.add(layers.Dense(3, activation="relu"))
model.add(layers.Dense(4))
model.pop()
print("layers after pop:", len(model.layers))

model = keras.Sequential(name="my_sequential")
model.add(layers.Dense(2, activation="relu", name="layer1"))
model.add(layers.Dense(3, activation="relu", name="layer2"))
model.add(layers.Dense(4, name="layer3"))
print("model name:", model.name, [layer.name for layer in model.layers])

layer = layers.Dense(3)
print("weights before a call:", len(layer.weights))
y = layer(np.ones((1, 4)))
print("weight shapes after a call:", [tuple(w.shape) for w in layer.weights])

model = keras.Sequential(
    [
        layers.Dense(2, activation="relu"),
        layers.Dense(3, activation="relu"),
        layers.Dense(4),
    ]
)
y = model(np.ones((1, 4)))
print("Number of weights after calling the model:", len(model.weights))
model.summary()

model = keras.Sequential()
model.add(keras.Input(shape=(4,)))
model.add(layers.Dense(2, activation="relu"))
model.summary()
print("layers with an Input:", len(model.layers))

model = keras.Sequential()
model.add(keras.Input(shape=(100, 100, 3)))
model.add(layers.Conv2D(8, 5, strides=2, activation="relu"))
model.add(layers.Conv2D(8, 3, activation="relu"))
model.add(layers.MaxPooling2D(3))
model.summary()
model.add(layers.Conv2D(8, 3, activation="relu"))
model.add(layers.Conv2D(8, 3, activation="relu"))
model.add(layers.MaxPooling2D(2))
model.summary()
print("conv stack output:", model.output_shape)
model.add(layers.GlobalMaxPooling2D())
model.add(layers.Dense(10))
print("classifier output:", model.output_shape)

initial_model = keras.Sequential(
    [
        keras.Input(shape=(100, 100, 3)),
        layers.Conv2D(8, 5, strides=2, activation="relu"),
        layers.Conv2D(8, 3, activation="relu"),
        layers.Conv2D(8, 3, activation="relu"),
    ]
)
feature_extractor = keras.Model(
    inputs=initial_model.inputs,
    outputs=[layer.output for layer in initial_model.layers],
)
features = feature_extractor(np.ones((1, 100, 100, 3)))
print("all features:", [tuple(f.shape) for f in features])

initial_model = keras.Sequential(
    [
        keras.Input(shape=(100, 100, 3)),
        layers.Conv2D(8, 5, strides=2, activation="relu"),
        layers.Conv2D(8, 3, activation="relu", name="my_intermediate_layer"),
        layers.Conv2D(8, 3, activation="relu"),
    ]
)
feature_extractor = keras.Model(
    inputs=initial_model.inputs,
    outputs=initial_model.get_layer(name="my_intermediate_layer").output,
)
features = feature_extractor(np.ones((1, 100, 100, 3)))
print("one layer's features:", tuple(features.shape))
