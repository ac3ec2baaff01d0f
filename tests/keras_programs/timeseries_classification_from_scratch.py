"""Features of keras.io's "Timeseries classification from scratch"
(examples/timeseries/timeseries_classification_from_scratch.py), in a program of our own, in Keras 3's form of
that example (the best model kept as a .keras file, "sparse_categorical_accuracy" as the metric).

A functional model from keras.layers.Input(input_shape): three Conv1D(padding="same") + BatchNormalization + ReLU
blocks, GlobalAveragePooling1D, a softmax Dense; keras.models.Model(inputs=..., outputs=...);
keras.utils.plot_model(show_shapes=True); ModelCheckpoint(save_best_only=True, monitor="val_loss"),
ReduceLROnPlateau(factor, patience, min_lr), EarlyStopping(verbose=1); sparse categorical cross-entropy;
fit with validation_split; keras.models.load_model of the best model; evaluate; history keys.
The FordA files cannot be downloaded here: random series of their shape (500 steps, labels -1 and 1) whose
class changes the frequency. Shrunk for time: 400 training and 200 test series, 4 epochs, fewer filters.
"""
import numpy as np
from netfit import keras

keras.utils.set_random_seed(0)

rng = np.random.default_rng(0)


def make_series(n):
    y = rng.choice([-1, 1], size=n)
    steps = np.arange(500)
    x = np.sin(2 * np.pi * steps[None, :] * (0.01 + 0.05 * (y[:, None] > 0)) + rng.uniform(0, 6.3, (n, 1)))
    return x + rng.normal(0, 0.5, x.shape), y


x_train, y_train = make_series(400)
x_test, y_test = make_series(200)
x_train = x_train.reshape((x_train.shape[0], x_train.shape[1], 1))
x_test = x_test.reshape((x_test.shape[0], x_test.shape[1], 1))
num_classes = len(np.unique(y_train))
idx = rng.permutation(len(x_train))
x_train, y_train = x_train[idx], y_train[idx]
y_train[y_train == -1] = 0
y_test[y_test == -1] = 0


def make_model(input_shape):
    input_layer = keras.layers.Input(input_shape)
    x = input_layer
    for _ in range(3):
        x = keras.layers.Conv1D(filters=16, kernel_size=3, padding="same")(x)
        x = keras.layers.BatchNormalization()(x)
        x = keras.layers.ReLU()(x)
    gap = keras.layers.GlobalAveragePooling1D()(x)
    output_layer = keras.layers.Dense(num_classes, activation="softmax")(gap)
    return keras.models.Model(inputs=input_layer, outputs=output_layer)


model = make_model(input_shape=x_train.shape[1:])
keras.utils.plot_model(model, show_shapes=True)

callbacks = [
    keras.callbacks.ModelCheckpoint("best_model.keras", save_best_only=True, monitor="val_loss"),
    keras.callbacks.ReduceLROnPlateau(monitor="val_loss", factor=0.5, patience=2, min_lr=0.0001),
    keras.callbacks.EarlyStopping(monitor="val_loss", patience=5, verbose=1),
]
model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["sparse_categorical_accuracy"])
history = model.fit(x_train, y_train, batch_size=32, epochs=4, callbacks=callbacks, validation_split=0.2,
                    verbose=1)

model = keras.models.load_model("best_model.keras")
test_loss, test_acc = model.evaluate(x_test, y_test, verbose=0)
print("Test accuracy:", test_acc)
print("Test loss:", test_loss)
print("history keys:", sorted(history.history))
