"""Features of keras.io's "Timeseries anomaly detection using an Autoencoder"
(examples/timeseries/timeseries_anomaly_detection.py), in a program of our own.

A Sequential from layers.Input(shape=(steps, 1)): Conv1D with strides=2 and padding="same", Dropout(rate=...),
Conv1DTranspose back up to the input's length; Adam(learning_rate=...) and "mse"; fit on (x, x) with
validation_split and EarlyStopping(monitor="val_loss", patience=..., mode="min"); history.history["val_loss"];
predict, then a threshold on the reconstruction error. The NAB CSV files cannot be downloaded here: a series
of their shape (one value every 5 minutes for 14 days, a daily cycle plus noise) and a test series with a jump.
Shrunk for time: every 8th training window, 6 epochs.
"""
import numpy as np
from netfit import keras
from netfit.keras import layers

keras.utils.set_random_seed(0)

rng = np.random.default_rng(0)
t = np.arange(4032)
train_series = 20 + 10 * np.sin(2 * np.pi * t / 288) + rng.normal(0, 1, t.shape)
test_series = 20 + 10 * np.sin(2 * np.pi * t / 288) + rng.normal(0, 1, t.shape)
test_series[3000:3100] += 40.0                         # the anomaly: a jump up for a few hours

training_mean, training_std = train_series.mean(), train_series.std()
train_values = ((train_series - training_mean) / training_std).reshape(-1, 1)
test_values = ((test_series - training_mean) / training_std).reshape(-1, 1)

TIME_STEPS = 288


def create_sequences(values, time_steps=TIME_STEPS):
    return np.stack([values[i:i + time_steps] for i in range(len(values) - time_steps + 1)])


x_train = create_sequences(train_values)[::8].astype("float32")       # shrunk for time
print("Training input shape:", x_train.shape)

model = keras.Sequential(
    [
        layers.Input(shape=(x_train.shape[1], x_train.shape[2])),
        layers.Conv1D(filters=16, kernel_size=7, padding="same", strides=2, activation="relu"),
        layers.Dropout(rate=0.2),
        layers.Conv1D(filters=8, kernel_size=7, padding="same", strides=2, activation="relu"),
        layers.Conv1DTranspose(filters=8, kernel_size=7, padding="same", strides=2, activation="relu"),
        layers.Dropout(rate=0.2),
        layers.Conv1DTranspose(filters=16, kernel_size=7, padding="same", strides=2, activation="relu"),
        layers.Conv1DTranspose(filters=1, kernel_size=7, padding="same"),
    ]
)
model.compile(optimizer=keras.optimizers.Adam(learning_rate=0.003), loss="mse")
model.summary()

history = model.fit(
    x_train,
    x_train,
    epochs=6,
    batch_size=32,
    validation_split=0.1,
    callbacks=[keras.callbacks.EarlyStopping(monitor="val_loss", patience=5, mode="min")],
    verbose=2,
)
print("loss:", history.history["loss"])
print("val_loss:", history.history["val_loss"])

x_train_pred = model.predict(x_train, verbose=0)
train_mae_loss = np.mean(np.abs(x_train_pred - x_train), axis=1)
threshold = np.max(train_mae_loss)
print("Reconstruction error threshold:", threshold)

x_test = create_sequences(test_values).astype("float32")
x_test_pred = model.predict(x_test, verbose=0)
test_mae_loss = np.mean(np.abs(x_test_pred - x_test), axis=1).reshape(-1)
anomalies = test_mae_loss > threshold
print("Number of anomaly samples:", int(np.sum(anomalies)))
windows_over_the_jump = np.arange(3000 - TIME_STEPS + 1, 3100)
print("Anomalous windows over the jump:", float(np.mean(anomalies[windows_over_the_jump])))
print("Anomalous windows away from it:", float(np.mean(anomalies[:3000 - TIME_STEPS - 200])))
