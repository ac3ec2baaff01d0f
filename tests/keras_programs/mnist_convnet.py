"""Features of keras.io's "Simple MNIST convnet" (examples/vision/mnist_convnet.py), in a program of our own.

A Sequential convnet from keras.Input, Conv2D + MaxPooling2D twice, Flatten, Dropout and a softmax Dense,
one-hot labels from keras.utils.to_categorical, Adam and categorical cross-entropy, fit with
validation_split, evaluate with verbose=0. Shrunk for time: 2,000 training and 500 test images, 2 epochs.
"""
import numpy as np
from netfit import keras
from netfit.keras import layers

keras.utils.set_random_seed(0)

num_classes = 10
input_shape = (28, 28, 1)

(x_train, y_train), (x_test, y_test) = keras.datasets.mnist.load_data()
x_train, y_train, x_test, y_test = x_train[:2000], y_train[:2000], x_test[:500], y_test[:500]  # shrunk for time
x_train = np.expand_dims(x_train.astype("float32") / 255, -1)
x_test = np.expand_dims(x_test.astype("float32") / 255, -1)
print("x_train shape:", x_train.shape)
y_train = keras.utils.to_categorical(y_train, num_classes)
y_test = keras.utils.to_categorical(y_test, num_classes)

model = keras.Sequential(
    [
        keras.Input(shape=input_shape),
        layers.Conv2D(16, kernel_size=(3, 3), activation="relu"),
        layers.MaxPooling2D(pool_size=(2, 2)),
        layers.Conv2D(32, kernel_size=(3, 3), activation="relu"),
        layers.MaxPooling2D(pool_size=(2, 2)),
        layers.Flatten(),
        layers.Dropout(0.5),
        layers.Dense(num_classes, activation="softmax"),
    ]
)
model.summary()

model.compile(loss="categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
history = model.fit(x_train, y_train, batch_size=64, epochs=2, validation_split=0.1, verbose=2)

score = model.evaluate(x_test, y_test, verbose=0)
print("history keys:", sorted(history.history))
print("Test loss:", score[0])
print("Test accuracy:", score[1])
