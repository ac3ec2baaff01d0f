"""Features of keras.io's "Approximating non-Function Mappings with Mixture Density Networks"
(examples/keras_recipes/approximating_non_function_mappings.py) that need neither TensorFlow Probability nor custom
code, in a program of our own, in Keras 3's form of that example (`import keras`, `from keras import callbacks`).

A noisy spiral made with Python's random and NumPy; a Sequential of Dense layers without an Input (built by
fit), "adam" and "mse", fit with batch_size, validation_split and callbacks.EarlyStopping(monitor="val_loss"),
then EarlyStopping(monitor="loss", restore_best_weights=True) with ReduceLROnPlateau(monitor="loss"); predict.
Not here: the mixture density network itself (a Layer subclass holding Dense layers, an activation function of
one's own, and a loss written with TensorFlow Probability's distributions: TensorFlow, and netfit.ops for the
rest). Shrunk for time: 3 spirals of 500 points, at most 30 epochs.
"""
import math
import random

import numpy as np
from netfit import keras
from netfit.keras import callbacks, layers

keras.utils.set_random_seed(0)
random.seed(0)


def normalize(x):
    return (x - np.min(x)) / (np.max(x) - np.min(x))


def create_noisy_spiral(n, jitter=0.2):
    x0, y0 = random.random() * 100 - 50, random.random() * 100 - 50
    out = np.zeros([n, 2])
    for i in range(n):
        t = 360.0 / n * i
        out[i, 0] = t / 360.0 * math.cos(t / 90.0 * math.pi) * 5 + x0 + random.uniform(-jitter / 2, jitter / 2)
        out[i, 1] = t / 360.0 * math.sin(t / 90.0 * math.pi) * 5 + y0 + random.uniform(-jitter / 2, jitter / 2)
    out = out.astype("float32")
    return (normalize(out[:, 0]) * 10) - 5, (normalize(out[:, 1]) * 10) - 5


xs, ys = zip(*[create_noisy_spiral(500) for _ in range(3)])
x = np.expand_dims(np.concatenate(xs, axis=0), axis=1)
y = np.concatenate(ys, axis=0)

N_HIDDEN = 64
model = keras.Sequential(
    [
        layers.Dense(N_HIDDEN, activation="relu"),
        layers.Dense(N_HIDDEN, activation="relu"),
        layers.Dense(1),
    ]
)
model.compile(optimizer="adam", loss="mse")
history = model.fit(x, y, epochs=30, batch_size=128, validation_split=0.15, verbose=0,
                    callbacks=[callbacks.EarlyStopping(monitor="val_loss", patience=5)])
print("epochs:", len(history.history["loss"]), "loss:", history.history["loss"][0], "->", history.history["loss"][-1])

history = model.fit(x, y, epochs=10, batch_size=128, validation_split=0.15, verbose=0,
                    callbacks=[callbacks.EarlyStopping(monitor="loss", patience=10, restore_best_weights=True),
                               callbacks.ReduceLROnPlateau(monitor="loss", patience=5)])
y_pred = model.predict(x, verbose=0)
print("predictions:", y_pred.shape)
print("mse of the fit:", float(np.mean((y_pred[:, 0] - y) ** 2)), "variance of y:", float(np.var(y)))
