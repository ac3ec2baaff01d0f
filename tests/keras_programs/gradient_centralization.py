"""Features of keras.io's "Gradient Centralization for Better Training Performance"
(examples/vision/gradient_centralization.py) that need neither TensorFlow nor custom code, in a program of our own,
in Keras 3's form of that example.

Rescaling and augmentation Sequentials (RandomFlip("horizontal_and_vertical"), RandomRotation, RandomZoom)
called on a batch with training=True; a Sequential convnet on 300x300 RGB images (Conv2D with input_shape=,
MaxPooling2D(2, 2), Dropout, Flatten, a sigmoid Dense); a Callback timing each epoch (on_train_begin,
on_epoch_begin, on_epoch_end with logs={}); binary cross-entropy, RMSprop(learning_rate=...), "accuracy";
history.history["loss"] and ["accuracy"]. Not here: the horses-or-humans data from TensorFlow Datasets and the
tf.data pipeline (TensorFlow: random images of that shape here), and the gradient-centralized optimizer itself
(an RMSprop subclass overriding get_gradients: custom optimizers are not in netfit). Shrunk for time: 12 images,
2 epochs, narrower convolutions.
"""
from time import time

import numpy as np
from netfit import keras
from netfit.keras import layers

keras.utils.set_random_seed(0)
num_classes = 2
input_shape = (300, 300, 3)

rng = np.random.default_rng(0)
labels = rng.integers(0, 2, size=(12, 1)).astype("float32")
images = rng.integers(0, 200, size=(12,) + input_shape).astype("float32")
images[:, 100:200, 100:200, 0] += 55.0 * labels[:, :, None]          # something to learn: a red square

rescale = keras.Sequential([layers.Rescaling(1.0 / 255)])
data_augmentation = keras.Sequential(
    [
        layers.RandomFlip("horizontal_and_vertical"),
        layers.RandomRotation(0.3),
        layers.RandomZoom(0.2),
    ]
)
x_train = rescale(images)
x_augmented = data_augmentation(x_train, training=True)
print("rescaled range:", float(np.min(x_train)), float(np.max(x_train)), "augmented shape:", x_augmented.shape)

model = keras.Sequential(
    [
        layers.Conv2D(8, (3, 3), activation="relu", input_shape=(300, 300, 3)),
        layers.MaxPooling2D(2, 2),
        layers.Conv2D(8, (3, 3), activation="relu"),
        layers.Dropout(0.5),
        layers.MaxPooling2D(2, 2),
        layers.Conv2D(16, (3, 3), activation="relu"),
        layers.Dropout(0.5),
        layers.MaxPooling2D(2, 2),
        layers.Conv2D(16, (3, 3), activation="relu"),
        layers.MaxPooling2D(2, 2),
        layers.Conv2D(16, (3, 3), activation="relu"),
        layers.MaxPooling2D(2, 2),
        layers.Flatten(),
        layers.Dropout(0.5),
        layers.Dense(32, activation="relu"),
        layers.Dense(1, activation="sigmoid"),
    ]
)


class TimeHistory(keras.callbacks.Callback):
    def on_train_begin(self, logs={}):
        self.times = []

    def on_epoch_begin(self, batch, logs={}):
        self.epoch_time_start = time()

    def on_epoch_end(self, batch, logs={}):
        self.times.append(time() - self.epoch_time_start)


time_callback = TimeHistory()
model.compile(loss="binary_crossentropy", optimizer=keras.optimizers.RMSprop(learning_rate=1e-3),
              metrics=["accuracy"])
history = model.fit(x_augmented, labels, batch_size=4, epochs=2, verbose=1, callbacks=[time_callback])
print(f"Loss: {history.history['loss'][-1]}")
print(f"Accuracy: {history.history['accuracy'][-1]}")
print(f"Epoch times: {len(time_callback.times)}")
