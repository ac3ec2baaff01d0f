"""Features of keras.io's "Training & evaluation with the built-in methods"
(guides/training_with_built_in_methods.py) that need no custom code, in a program of our own, in Keras 3's form of
that guide (a PyDataset subclass, .keras checkpoints).

A functional model on MNIST: compile with objects (RMSprop, SparseCategoricalCrossentropy,
SparseCategoricalAccuracy) and with strings, fit with validation_data and validation_split, history.history,
evaluate(batch_size=...), predict; a keras.utils.PyDataset subclass for fit and validation; class_weight and
sample_weight; a model with an image and a sequence input and two named outputs (Conv2D + GlobalMaxPooling2D,
Conv1D + GlobalMaxPooling1D, concatenate), losses and metrics as lists, lists of lists and dicts by output
name, loss_weights, an output without a loss (None, or left out of the dict), fit on lists and on dicts;
EarlyStopping(min_delta, patience, verbose), a Callback with on_train_begin and on_batch_end,
ModelCheckpoint(save_best_only, monitor, verbose) and ModelCheckpoint(save_freq=...) writing .keras files,
load_model of the newest; an ExponentialDecay schedule as an optimizer's learning rate.
Not here: the custom loss function and Loss subclass, the Metric subclass, add_loss layers and the
LogisticEndpoint layer (netfit.ops, the next issue); tf.data Datasets (TensorFlow); the TensorBoard callback
(TensorFlow's summaries); MeanAbsolutePercentageError (not in netfit). Shrunk for time: 3,000 MNIST images.
"""
import os

import numpy as np
from netfit import keras
from netfit.keras import layers

keras.utils.set_random_seed(0)


def get_uncompiled_model():
    inputs = keras.Input(shape=(784,), name="digits")
    x = layers.Dense(32, activation="relu", name="dense_1")(inputs)
    x = layers.Dense(32, activation="relu", name="dense_2")(x)
    outputs = layers.Dense(10, activation="softmax", name="predictions")(x)
    return keras.Model(inputs=inputs, outputs=outputs)


def get_compiled_model():
    model = get_uncompiled_model()
    model.compile(optimizer="rmsprop", loss="sparse_categorical_crossentropy",
                  metrics=["sparse_categorical_accuracy"])
    return model


(x_train, y_train), (x_test, y_test) = keras.datasets.mnist.load_data()
x_train = x_train[:3000].reshape(3000, 784).astype("float32") / 255           # shrunk for time
x_test = x_test[:500].reshape(500, 784).astype("float32") / 255
y_train, y_test = y_train[:3000].astype("float32"), y_test[:500].astype("float32")
x_val, y_val = x_train[-500:], y_train[-500:]
x_train, y_train = x_train[:-500], y_train[:-500]

model = get_uncompiled_model()
model.compile(
    optimizer=keras.optimizers.RMSprop(),
    loss=keras.losses.SparseCategoricalCrossentropy(),
    metrics=[keras.metrics.SparseCategoricalAccuracy()],
)
history = model.fit(x_train, y_train, batch_size=64, epochs=2, validation_data=(x_val, y_val), verbose=2)
print("history:", {k: [round(v, 4) for v in vs] for k, vs in history.history.items()})
results = model.evaluate(x_test, y_test, batch_size=128, verbose=0)
print("test loss, test acc:", results)
predictions = model.predict(x_test[:3], verbose=0)
print("predictions shape:", predictions.shape)

model = get_compiled_model()
model.fit(x_train, y_train, batch_size=64, validation_split=0.2, epochs=1, verbose=0)


class ExamplePyDataset(keras.utils.PyDataset):
    def __init__(self, x, y, batch_size, **kwargs):
        super().__init__(**kwargs)
        self.x, self.y, self.batch_size = x, y, batch_size

    def __len__(self):
        return int(np.ceil(len(self.x) / float(self.batch_size)))

    def __getitem__(self, idx):
        part = slice(idx * self.batch_size, (idx + 1) * self.batch_size)
        return self.x[part], self.y[part]


train_py_dataset = ExamplePyDataset(x_train, y_train, batch_size=64, workers=2)
val_py_dataset = ExamplePyDataset(x_val, y_val, batch_size=64)
model = get_compiled_model()
history = model.fit(train_py_dataset, validation_data=val_py_dataset, epochs=1, verbose=0)
print("PyDataset val accuracy:", history.history["val_sparse_categorical_accuracy"])
print("PyDataset evaluate:", model.evaluate(val_py_dataset, verbose=0))

class_weight = {k: 1.0 for k in range(10)}
class_weight[5] = 2.0
model = get_compiled_model()
model.fit(x_train, y_train, class_weight=class_weight, batch_size=64, epochs=1, verbose=0)
sample_weight = np.ones(shape=(len(y_train),))
sample_weight[y_train == 5] = 2.0
model = get_compiled_model()
model.fit(x_train, y_train, sample_weight=sample_weight, batch_size=64, epochs=1, verbose=0)
print("weighted fits done")

image_input = keras.Input(shape=(32, 32, 3), name="img_input")
timeseries_input = keras.Input(shape=(20, 10), name="ts_input")      # the guide: shape=(None, 10)
x1 = layers.Conv2D(3, 3)(image_input)
x1 = layers.GlobalMaxPooling2D()(x1)
x2 = layers.Conv1D(3, 3)(timeseries_input)
x2 = layers.GlobalMaxPooling1D()(x2)
x = layers.concatenate([x1, x2])
score_output = layers.Dense(1, name="score_output")(x)
class_output = layers.Dense(5, name="class_output")(x)
model = keras.Model(inputs=[image_input, timeseries_input], outputs=[score_output, class_output])
keras.utils.plot_model(model, "multi_input_and_output_model.png", show_shapes=True)

model.compile(
    optimizer=keras.optimizers.RMSprop(1e-3),
    loss=[keras.losses.MeanSquaredError(), keras.losses.CategoricalCrossentropy(from_logits=True)],
    metrics=[[keras.metrics.MeanAbsoluteError()], [keras.metrics.CategoricalAccuracy()]],
)
model.compile(
    optimizer=keras.optimizers.RMSprop(1e-3),
    loss={
        "score_output": keras.losses.MeanSquaredError(),
        "class_output": keras.losses.CategoricalCrossentropy(from_logits=True),
    },
    metrics={
        "score_output": [keras.metrics.MeanAbsoluteError()],
        "class_output": [keras.metrics.CategoricalAccuracy()],
    },
    loss_weights={"score_output": 2.0, "class_output": 1.0},
)
model.compile(optimizer=keras.optimizers.RMSprop(1e-3),
              loss=[None, keras.losses.CategoricalCrossentropy(from_logits=True)])
model.compile(optimizer=keras.optimizers.RMSprop(1e-3),
              loss={"class_output": keras.losses.CategoricalCrossentropy(from_logits=True)})

model.compile(
    optimizer=keras.optimizers.RMSprop(1e-3),
    loss=[keras.losses.MeanSquaredError(), keras.losses.CategoricalCrossentropy(from_logits=True)],
    metrics=[[keras.metrics.MeanAbsoluteError()], [keras.metrics.CategoricalAccuracy()]],
)
rng = np.random.default_rng(0)
img_data = rng.random(size=(100, 32, 32, 3))
ts_data = rng.random(size=(100, 20, 10))
score_targets = rng.random(size=(100, 1))
class_targets = keras.utils.to_categorical(rng.integers(0, 5, size=100), 5)   # the guide: random rows
history = model.fit([img_data, ts_data], [score_targets, class_targets], batch_size=32, epochs=1, verbose=0)
print("two outputs, lists:", sorted(history.history))
history = model.fit({"img_input": img_data, "ts_input": ts_data},
                    {"score_output": score_targets, "class_output": class_targets}, batch_size=32, epochs=1,
                    verbose=0)
print("two outputs, dicts:", sorted(history.history))

model = get_compiled_model()
callbacks = [keras.callbacks.EarlyStopping(monitor="val_loss", min_delta=1e-2, patience=2, verbose=1)]
history = model.fit(x_train, y_train, epochs=20, batch_size=64, callbacks=callbacks, validation_split=0.2,
                    verbose=0)
print("epochs before early stopping:", len(history.history["loss"]))


class LossHistory(keras.callbacks.Callback):
    def on_train_begin(self, logs):
        self.per_batch_losses = []

    def on_batch_end(self, batch, logs):
        self.per_batch_losses.append(logs.get("loss"))


loss_history = LossHistory()
model = get_compiled_model()
model.fit(x_train, y_train, epochs=1, batch_size=250, callbacks=[loss_history], verbose=0)
print("per-batch losses:", len(loss_history.per_batch_losses))

model = get_compiled_model()
callbacks = [keras.callbacks.ModelCheckpoint(filepath="mymodel_{epoch}.keras", save_best_only=True,
                                             monitor="val_loss", verbose=1)]
model.fit(x_train, y_train, epochs=2, batch_size=64, callbacks=callbacks, validation_split=0.2, verbose=0)

checkpoint_dir = "./ckpt"
if not os.path.exists(checkpoint_dir):
    os.makedirs(checkpoint_dir)


def make_or_restore_model():
    checkpoints = [checkpoint_dir + "/" + name for name in os.listdir(checkpoint_dir)]
    if checkpoints:
        latest_checkpoint = max(checkpoints, key=os.path.getctime)
        print("Restoring from", latest_checkpoint)
        return keras.models.load_model(latest_checkpoint)
    print("Creating a new model")
    return get_compiled_model()


for _ in range(2):
    model = make_or_restore_model()
    callbacks = [keras.callbacks.ModelCheckpoint(filepath=checkpoint_dir + "/model-loss={loss:.2f}.keras",
                                                 save_freq=20)]
    model.fit(x_train, y_train, epochs=1, callbacks=callbacks, verbose=0)
print("checkpoints:", len(os.listdir(checkpoint_dir)))

initial_learning_rate = 0.1
lr_schedule = keras.optimizers.schedules.ExponentialDecay(initial_learning_rate, decay_steps=100000,
                                                          decay_rate=0.96, staircase=True)
optimizer = keras.optimizers.RMSprop(learning_rate=lr_schedule)
print("schedule at step 200000:", float(lr_schedule(200000)))
