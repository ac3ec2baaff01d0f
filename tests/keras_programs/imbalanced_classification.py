"""Features of keras.io's "Imbalanced classification: credit card fraud detection"
(examples/structured_data/imbalanced_classification.py), in a program of our own.

Sequential from keras.Input(shape=features.shape[1:]), Dense + Dropout, a sigmoid output, the confusion
counts, Precision and Recall metrics named by name=, Adam(1e-2) given positionally, binary cross-entropy,
fit with class_weight, validation_data and verbose=2, and a ModelCheckpoint writing one .keras file per epoch.
The Kaggle CSV cannot be downloaded here: random arrays of its shape (30 features, about 0.2 % fraud; here
2 % of 5,000 rows, shrunk for time) whose positive rows are shifted so that there is something to learn.
"""
import os
import tempfile

import numpy as np
from netfit import keras

keras.utils.set_random_seed(0)

rng = np.random.default_rng(0)
n, n_features = 5000, 30
targets = (rng.random((n, 1)) < 0.02).astype("uint8")
features = rng.normal(size=(n, n_features)).astype("float32") + 0.4 * targets
print("features.shape:", features.shape)
print("targets.shape:", targets.shape)

num_val_samples = int(len(features) * 0.2)
train_features, train_targets = features[:-num_val_samples], targets[:-num_val_samples]
val_features, val_targets = features[-num_val_samples:], targets[-num_val_samples:]

counts = np.bincount(train_targets[:, 0])
print("Number of positive samples in training data: {} ({:.2f}% of total)".format(
    counts[1], 100 * float(counts[1]) / len(train_targets)))
weight_for_0 = 1.0 / counts[0]
weight_for_1 = 1.0 / counts[1]

mean = np.mean(train_features, axis=0)
train_features -= mean
val_features -= mean
std = np.std(train_features, axis=0)
train_features /= std
val_features /= std

model = keras.Sequential(
    [
        keras.Input(shape=train_features.shape[1:]),
        keras.layers.Dense(64, activation="relu"),
        keras.layers.Dense(64, activation="relu"),
        keras.layers.Dropout(0.3),
        keras.layers.Dense(1, activation="sigmoid"),
    ]
)
model.summary()

metrics = [
    keras.metrics.FalseNegatives(name="fn"),
    keras.metrics.FalsePositives(name="fp"),
    keras.metrics.TrueNegatives(name="tn"),
    keras.metrics.TruePositives(name="tp"),
    keras.metrics.Precision(name="precision"),
    keras.metrics.Recall(name="recall"),
]
model.compile(optimizer=keras.optimizers.Adam(1e-2), loss="binary_crossentropy", metrics=metrics)

checkpoints = tempfile.mkdtemp()
callbacks = [keras.callbacks.ModelCheckpoint(os.path.join(checkpoints, "fraud_model_at_epoch_{epoch}.keras"))]
class_weight = {0: weight_for_0, 1: weight_for_1}

history = model.fit(
    train_features,
    train_targets,
    batch_size=256,
    epochs=5,
    verbose=2,
    callbacks=callbacks,
    validation_data=(val_features, val_targets),
    class_weight=class_weight,
)
print("history keys:", sorted(history.history))
print("val recall:", history.history["val_recall"][-1])
print("val tp + fn:", history.history["val_tp"][-1] + history.history["val_fn"][-1])
print("checkpoints:", sorted(os.listdir(checkpoints)))
