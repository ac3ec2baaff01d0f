"""Features of keras.io's "Convolutional Autoencoder For Image Denoising" (examples/vision/autoencoder.py),
in a program of our own.

A functional Model from layers.Input through Conv2D and MaxPooling2D with padding="same" down, then Conv2D
and UpSampling2D up to a sigmoid Conv2D; binary cross-entropy on images as targets, Adam; fit on (x, x) with
shuffle=True and validation_data, then on (noisy x, x); predict. Imports as that example has them
(keras.models.Model, keras.datasets.mnist). Shrunk for time: 600 training and 150 test images, 2 epochs each,
narrower convolutions.
"""
import numpy as np
from netfit.keras import layers
from netfit.keras.datasets import mnist
from netfit.keras.models import Model
from netfit.keras.utils import set_random_seed

set_random_seed(0)


def preprocess(images):
    return np.reshape(images.astype("float32") / 255.0, (len(images), 28, 28, 1))


def add_noise(images, rng):
    noisy = images + 0.4 * rng.normal(loc=0.0, scale=1.0, size=images.shape)
    return np.clip(noisy, 0.0, 1.0).astype("float32")


(train_data, _), (test_data, _) = mnist.load_data()
train_data, test_data = preprocess(train_data[:600]), preprocess(test_data[:150])   # shrunk for time
rng = np.random.default_rng(0)
noisy_train_data, noisy_test_data = add_noise(train_data, rng), add_noise(test_data, rng)

image = layers.Input(shape=(28, 28, 1))
x = layers.Conv2D(8, (3, 3), activation="relu", padding="same")(image)
x = layers.MaxPooling2D((2, 2), padding="same")(x)
x = layers.Conv2D(8, (3, 3), activation="relu", padding="same")(x)
x = layers.MaxPooling2D((2, 2), padding="same")(x)
x = layers.Conv2D(8, (3, 3), activation="relu", padding="same")(x)
x = layers.UpSampling2D((2, 2))(x)
x = layers.Conv2D(8, (3, 3), activation="relu", padding="same")(x)
x = layers.UpSampling2D((2, 2))(x)
x = layers.Conv2D(1, (3, 3), activation="sigmoid", padding="same")(x)

autoencoder = Model(image, x)
autoencoder.compile(optimizer="adam", loss="binary_crossentropy")
autoencoder.summary()

history = autoencoder.fit(x=train_data, y=train_data, epochs=2, batch_size=32, shuffle=True,
                          validation_data=(test_data, test_data), verbose=2)
predictions = autoencoder.predict(test_data, verbose=0)
print("predictions shape:", predictions.shape)
print("reconstruction losses:", history.history["loss"], history.history["val_loss"])

history = autoencoder.fit(x=noisy_train_data, y=train_data, epochs=2, batch_size=32, shuffle=True,
                          validation_data=(noisy_test_data, test_data), verbose=2)
predictions = autoencoder.predict(noisy_test_data, verbose=0)
print("denoising losses:", history.history["loss"], history.history["val_loss"])
print("error of the noisy images:", float(np.mean((noisy_test_data - test_data) ** 2)))
print("error of the denoised images:", float(np.mean((predictions - test_data) ** 2)))
