"""Features of keras.io's "The Functional API" (guides/functional_api.py) that netfit has, in a program of our
own, in Keras 3's form of that guide.

keras.Input (its shape and dtype), layers called on tensors, keras.Model(inputs=, outputs=, name=), summary(),
keras.utils.plot_model, training with from_logits losses and RMSprop, evaluate; one graph of layers giving two
models (encoder, autoencoder) with Conv2D, MaxPooling2D, GlobalMaxPooling2D, Reshape, Conv2DTranspose,
UpSampling2D; models called like layers (nested); an ensemble averaged with layers.average; a model with three
inputs and two outputs (Embedding on variable-length integer inputs, concatenate, losses and loss_weights as lists
and as dicts by output name, fit on dicts of arrays); a toy ResNet with layers.add; a shared Embedding;
layer.output of every layer of a model as a feature extractor; model.save("....keras") and load_model.
Not here: LSTM (netfit has no recurrent layers; GlobalAveragePooling1D stands in for it below), variable-length
inputs (keras.Input(shape=(None,)): netfit needs the length),
keras.applications.VGG19 (pretrained weights: no download here, and no applications in netfit), custom layers
(CustomDense, CustomRNN: netfit.ops, the next issue). keras.datasets.cifar10 cannot be downloaded here: random
arrays of its shape. Shrunk for time: 2,000 MNIST images, small widths, 1-2 epochs.
"""
import numpy as np
from netfit import keras
from netfit.keras import layers

keras.utils.set_random_seed(0)

inputs = keras.Input(shape=(784,))
print("inputs:", inputs.shape, inputs.dtype)
dense = layers.Dense(64, activation="relu")
x = dense(inputs)
x = layers.Dense(64, activation="relu")(x)
outputs = layers.Dense(10)(x)
model = keras.Model(inputs=inputs, outputs=outputs, name="mnist_model")
model.summary()
keras.utils.plot_model(model, "my_first_model.png")
keras.utils.plot_model(model, "my_first_model_with_shape_info.png", show_shapes=True)

(x_train, y_train), (x_test, y_test) = keras.datasets.mnist.load_data()
x_train = x_train[:2000].reshape(2000, 784).astype("float32") / 255       # shrunk for time
x_test = x_test[:500].reshape(500, 784).astype("float32") / 255
y_train, y_test = y_train[:2000], y_test[:500]
model.compile(
    loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    optimizer=keras.optimizers.RMSprop(),
    metrics=["accuracy"],
)
history = model.fit(x_train, y_train, batch_size=64, epochs=2, validation_split=0.2, verbose=2)
test_scores = model.evaluate(x_test, y_test, verbose=2)
print("Test loss:", test_scores[0])
print("Test accuracy:", test_scores[1])

model.save("my_model.keras")
del model
model = keras.models.load_model("my_model.keras")
print("reloaded test scores:", model.evaluate(x_test, y_test, verbose=0))

encoder_input = keras.Input(shape=(28, 28, 1), name="img")
x = layers.Conv2D(8, 3, activation="relu")(encoder_input)
x = layers.Conv2D(8, 3, activation="relu")(x)
x = layers.MaxPooling2D(3)(x)
x = layers.Conv2D(8, 3, activation="relu")(x)
x = layers.Conv2D(16, 3, activation="relu")(x)
encoder_output = layers.GlobalMaxPooling2D()(x)
encoder = keras.Model(encoder_input, encoder_output, name="encoder")
encoder.summary()

x = layers.Reshape((4, 4, 1))(encoder_output)
x = layers.Conv2DTranspose(8, 3, activation="relu")(x)
x = layers.Conv2DTranspose(8, 3, activation="relu")(x)
x = layers.UpSampling2D(3)(x)
x = layers.Conv2DTranspose(8, 3, activation="relu")(x)
decoder_output = layers.Conv2DTranspose(1, 3, activation="relu")(x)
autoencoder = keras.Model(encoder_input, decoder_output, name="autoencoder")
autoencoder.summary()
print("autoencoder output:", autoencoder.output_shape)

decoder_input = keras.Input(shape=(16,), name="encoded_img")
x = layers.Reshape((4, 4, 1))(decoder_input)
x = layers.Conv2DTranspose(8, 3, activation="relu")(x)
x = layers.Conv2DTranspose(8, 3, activation="relu")(x)
x = layers.UpSampling2D(3)(x)
x = layers.Conv2DTranspose(8, 3, activation="relu")(x)
decoder_output = layers.Conv2DTranspose(1, 3, activation="relu")(x)
decoder = keras.Model(decoder_input, decoder_output, name="decoder")

autoencoder_input = keras.Input(shape=(28, 28, 1), name="img")
encoded_img = encoder(autoencoder_input)
decoded_img = decoder(encoded_img)
autoencoder = keras.Model(autoencoder_input, decoded_img, name="autoencoder")
autoencoder.summary()
images = x_train[:64].reshape(-1, 28, 28, 1)
autoencoder.compile(optimizer="adam", loss="mse")
nested_history = autoencoder.fit(images, images, epochs=2, batch_size=32, verbose=0)
print("nested autoencoder losses:", nested_history.history["loss"])


def get_model():
    inputs = keras.Input(shape=(128,))
    outputs = layers.Dense(1)(inputs)
    return keras.Model(inputs, outputs)


model1, model2, model3 = get_model(), get_model(), get_model()
inputs = keras.Input(shape=(128,))
y1, y2, y3 = model1(inputs), model2(inputs), model3(inputs)
outputs = layers.average([y1, y2, y3])
ensemble_model = keras.Model(inputs=inputs, outputs=outputs)
probe = np.random.default_rng(1).normal(size=(4, 128)).astype("float32")
mean_of_three = (model1.predict(probe, verbose=0) + model2.predict(probe, verbose=0)
                 + model3.predict(probe, verbose=0)) / 3
print("ensemble = mean of its models:", bool(np.allclose(ensemble_model.predict(probe, verbose=0), mean_of_three,
                                                          atol=1e-5)))

num_tags, num_words, num_departments = 12, 1000, 4
title_input = keras.Input(shape=(10,), name="title")      # the guide: shape=(None,), variable length
body_input = keras.Input(shape=(100,), name="body")       # the guide: shape=(None,)
tags_input = keras.Input(shape=(num_tags,), name="tags")
title_features = layers.Embedding(num_words, 16)(title_input)
body_features = layers.Embedding(num_words, 16)(body_input)
title_features = layers.GlobalAveragePooling1D()(title_features)     # the guide: layers.LSTM(128)
body_features = layers.GlobalAveragePooling1D()(body_features)       # the guide: layers.LSTM(32)
x = layers.concatenate([title_features, body_features, tags_input])
priority_pred = layers.Dense(1, name="priority")(x)
department_pred = layers.Dense(num_departments, name="department")(x)
model = keras.Model(inputs=[title_input, body_input, tags_input], outputs=[priority_pred, department_pred])
keras.utils.plot_model(model, "multi_input_and_output_model.png", show_shapes=True)
model.compile(
    optimizer=keras.optimizers.RMSprop(1e-3),
    loss=[
        keras.losses.BinaryCrossentropy(from_logits=True),
        keras.losses.CategoricalCrossentropy(from_logits=True),
    ],
    loss_weights=[1.0, 0.2],
)
model.compile(
    optimizer=keras.optimizers.RMSprop(1e-3),
    loss={
        "priority": keras.losses.BinaryCrossentropy(from_logits=True),
        "department": keras.losses.CategoricalCrossentropy(from_logits=True),
    },
    loss_weights={"priority": 1.0, "department": 0.2},
)
rng = np.random.default_rng(0)
title_data = rng.integers(num_words, size=(256, 10))
body_data = rng.integers(num_words, size=(256, 100))
tags_data = rng.integers(2, size=(256, num_tags)).astype("float32")
priority_targets = rng.random(size=(256, 1))
dept_targets = keras.utils.to_categorical(rng.integers(num_departments, size=256), num_departments)  # the guide's
# random 0/1 rows (several departments at once) are refused by netfit's categorical cross-entropy: rows sum to 1
history = model.fit(
    {"title": title_data, "body": body_data, "tags": tags_data},
    {"priority": priority_targets, "department": dept_targets},
    epochs=2,
    batch_size=32,
    verbose=2,
)
print("multi-output history keys:", sorted(history.history))

inputs = keras.Input(shape=(32, 32, 3), name="img")
x = layers.Conv2D(16, 3, activation="relu")(inputs)
x = layers.Conv2D(16, 3, activation="relu")(x)
block_1_output = layers.MaxPooling2D(3)(x)
x = layers.Conv2D(16, 3, activation="relu", padding="same")(block_1_output)
x = layers.Conv2D(16, 3, activation="relu", padding="same")(x)
block_2_output = layers.add([x, block_1_output])
x = layers.Conv2D(16, 3, activation="relu", padding="same")(block_2_output)
x = layers.Conv2D(16, 3, activation="relu", padding="same")(x)
block_3_output = layers.add([x, block_2_output])
x = layers.Conv2D(16, 3, activation="relu")(block_3_output)
x = layers.GlobalAveragePooling2D()(x)
x = layers.Dense(32, activation="relu")(x)
x = layers.Dropout(0.5)(x)
outputs = layers.Dense(10)(x)
model = keras.Model(inputs, outputs, name="toy_resnet")
model.summary()
keras.utils.plot_model(model, "mini_resnet.png", show_shapes=True)
cifar_x = rng.integers(0, 256, size=(200, 32, 32, 3)).astype("float32") / 255.0   # cifar10's shape
cifar_y = keras.utils.to_categorical(rng.integers(0, 10, size=(200, 1)), 10)
model.compile(
    optimizer=keras.optimizers.RMSprop(1e-3),
    loss=keras.losses.CategoricalCrossentropy(from_logits=True),
    metrics=["acc"],
)
history = model.fit(cifar_x, cifar_y, batch_size=64, epochs=1, validation_split=0.2, verbose=2)
print("toy resnet history keys:", sorted(history.history))

shared_embedding = layers.Embedding(1000, 16)
text_input_a = keras.Input(shape=(10,), dtype="int32")   # the guide: shape=(None,)
text_input_b = keras.Input(shape=(10,), dtype="int32")
encoded_input_a = shared_embedding(text_input_a)
encoded_input_b = shared_embedding(text_input_b)
shared = keras.Model([text_input_a, text_input_b], layers.concatenate([encoded_input_a, encoded_input_b]))
print("shared embedding weights:", len(shared.weights), tuple(shared.predict(
    [title_data[:2], title_data[2:4]], verbose=0).shape))

features_list = [layer.output for layer in encoder.layers]
feat_extraction_model = keras.Model(inputs=encoder.input, outputs=features_list)
extracted_features = feat_extraction_model(np.random.random((1, 28, 28, 1)).astype("float32"))
print("extracted features:", [tuple(f.shape) for f in extracted_features])
