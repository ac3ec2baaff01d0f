"""Features of keras.io's "Introduction to Keras for engineers" (guides/intro_to_keras_for_engineers.py) that
need no custom code, in a program of our own.

Its first half: a Sequential convnet from keras.layers.Input with GlobalAveragePooling2D, the
SparseCategoricalCrossentropy loss object, Adam(learning_rate=...), SparseCategoricalAccuracy(name="acc"),
ModelCheckpoint(filepath="..._{epoch}.keras") and EarlyStopping(monitor="val_loss", patience=...), fit with
validation_split, evaluate, model.save("....keras") and keras.saving.load_model, predict; then training on
PyTorch DataLoaders (fit with validation_data=loader). Not here: its custom layers and model (MyDense,
MyDropout, MyModel: keras.ops, keras.random, subclassed Model) are netfit.ops's (the next issue), and its
tf.data part needs TensorFlow. Shrunk for time: 1,000 training and 300 test images, 2 epochs.
"""
import numpy as np
import torch
from netfit import keras

keras.utils.set_random_seed(0)

(x_train, y_train), (x_test, y_test) = keras.datasets.mnist.load_data()
x_train, y_train, x_test, y_test = x_train[:1000], y_train[:1000], x_test[:300], y_test[:300]  # shrunk for time
x_train = np.expand_dims(x_train.astype("float32") / 255, -1)
x_test = np.expand_dims(x_test.astype("float32") / 255, -1)
print("x_train shape:", x_train.shape)
print("y_train shape:", y_train.shape)

num_classes = 10
input_shape = (28, 28, 1)

model = keras.Sequential(
    [
        keras.layers.Input(shape=input_shape),
        keras.layers.Conv2D(16, kernel_size=(3, 3), activation="relu"),
        keras.layers.MaxPooling2D(pool_size=(2, 2)),
        keras.layers.Conv2D(32, kernel_size=(3, 3), activation="relu"),
        keras.layers.GlobalAveragePooling2D(),
        keras.layers.Dropout(0.5),
        keras.layers.Dense(num_classes, activation="softmax"),
    ]
)
model.summary()
model.compile(
    loss=keras.losses.SparseCategoricalCrossentropy(),
    optimizer=keras.optimizers.Adam(learning_rate=3e-3),
    metrics=[keras.metrics.SparseCategoricalAccuracy(name="acc")],
)

callbacks = [
    keras.callbacks.ModelCheckpoint(filepath="model_at_epoch_{epoch}.keras"),
    keras.callbacks.EarlyStopping(monitor="val_loss", patience=2),
]
history = model.fit(x_train, y_train, batch_size=64, epochs=2, validation_split=0.15, callbacks=callbacks,
                    verbose=2)
score = model.evaluate(x_test, y_test, verbose=0)
print("history keys:", sorted(history.history))
print("score:", score)

model.save("final_model.keras")
model = keras.saving.load_model("final_model.keras")
predictions = model.predict(x_test, verbose=0)
print("predictions shape:", predictions.shape)
print("reloaded accuracy:", float(np.mean(np.argmax(predictions, axis=1) == y_test)))

train_loader = torch.utils.data.DataLoader(
    torch.utils.data.TensorDataset(torch.from_numpy(x_train), torch.from_numpy(y_train)), batch_size=64,
    shuffle=True)
val_loader = torch.utils.data.DataLoader(
    torch.utils.data.TensorDataset(torch.from_numpy(x_test), torch.from_numpy(y_test)), batch_size=64,
    shuffle=False)
model.fit(train_loader, epochs=1, validation_data=val_loader, verbose=2)
print("after the DataLoader epoch:", model.evaluate(val_loader, verbose=0))
