"""keras.io's "Introduction to Keras for engineers" (guides/intro_to_keras_for_engineers.py), in a program of our own.

Its first half: a Sequential convnet from keras.layers.Input with GlobalAveragePooling2D, the
SparseCategoricalCrossentropy loss object, Adam(learning_rate=...), SparseCategoricalAccuracy(name="acc"),
ModelCheckpoint(filepath="..._{epoch}.keras") and EarlyStopping(monitor="val_loss", patience=...), fit with
validation_split, evaluate, model.save("....keras") and keras.saving.load_model, predict. Then its custom
layers and model: MyDense (add_weight with initializer objects, keras.ops.matmul, keras.activations.get),
MyDropout (keras.random.dropout with a keras.random.SeedGenerator) and MyModel, a keras.Model subclass whose
call runs a Sequential convnet made without an Input, then the two custom layers; compiled and fit with
validation_split. Then training on PyTorch DataLoaders (fit with validation_data=loader), as the guide does
with a fresh MyModel. Not here: its tf.data part (TensorFlow). Shrunk for time: 1,000 training and 300 test
images, 2 epochs, smaller convnets.
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



class MyDense(keras.layers.Layer):
    def __init__(self, units, activation=None, name=None):
        super().__init__(name=name)
        self.units = units
        self.activation = keras.activations.get(activation)

    def build(self, input_shape):
        input_dim = input_shape[-1]
        self.w = self.add_weight(
            shape=(input_dim, self.units),
            initializer=keras.initializers.GlorotNormal(),
            name="kernel",
            trainable=True,
        )

        self.b = self.add_weight(
            shape=(self.units,),
            initializer=keras.initializers.Zeros(),
            name="bias",
            trainable=True,
        )

    def call(self, inputs):
        # Use Keras ops to create backend-agnostic layers/metrics/etc.
        x = keras.ops.matmul(inputs, self.w) + self.b
        return self.activation(x)


class MyDropout(keras.layers.Layer):
    def __init__(self, rate, name=None):
        super().__init__(name=name)
        self.rate = rate
        # Use seed_generator for managing RNG state.
        self.seed_generator = keras.random.SeedGenerator(1337)

    def call(self, inputs):
        # Use `keras.random` for random ops.
        return keras.random.dropout(inputs, self.rate, seed=self.seed_generator)


class MyModel(keras.Model):
    def __init__(self, num_classes):
        super().__init__()
        self.conv_base = keras.Sequential(
            [
                keras.layers.Conv2D(16, kernel_size=(3, 3), activation="relu"),       # the guide: 64, 64, 128, 128
                keras.layers.MaxPooling2D(pool_size=(2, 2)),
                keras.layers.Conv2D(32, kernel_size=(3, 3), activation="relu"),
                keras.layers.GlobalAveragePooling2D(),
            ]
        )
        self.dp = MyDropout(0.5)
        self.dense = MyDense(num_classes, activation="softmax")

    def call(self, x):
        x = self.conv_base(x)
        x = self.dp(x)
        return self.dense(x)


model = MyModel(num_classes=10)
model.compile(
    loss=keras.losses.SparseCategoricalCrossentropy(),
    optimizer=keras.optimizers.Adam(learning_rate=3e-3),
    metrics=[keras.metrics.SparseCategoricalAccuracy(name="acc")],
)
history = model.fit(x_train, y_train, batch_size=64, epochs=2, validation_split=0.15, verbose=2)
print("custom model history keys:", sorted(history.history))
print("custom model losses:", history.history["loss"])
print("custom model score:", model.evaluate(x_test, y_test, verbose=0))

train_loader = torch.utils.data.DataLoader(
    torch.utils.data.TensorDataset(torch.from_numpy(x_train), torch.from_numpy(y_train)), batch_size=64,
    shuffle=True)
val_loader = torch.utils.data.DataLoader(
    torch.utils.data.TensorDataset(torch.from_numpy(x_test), torch.from_numpy(y_test)), batch_size=64,
    shuffle=False)
model = MyModel(num_classes=10)
model.compile(
    loss=keras.losses.SparseCategoricalCrossentropy(),
    optimizer=keras.optimizers.Adam(learning_rate=3e-3),
    metrics=[keras.metrics.SparseCategoricalAccuracy(name="acc")],
)
model.fit(train_loader, epochs=2, validation_data=val_loader, verbose=2)
print("after the DataLoader epochs:", model.evaluate(val_loader, verbose=0))
