"""keras.io's "Simple custom layer example: Antirectifier" (examples/keras_recipes/antirectifier.py), Keras 3's form.

The Antirectifier layer: a keras.layers.Layer subclass whose build makes its kernel with add_weight and whose
call is written with keras.ops (mean, relu, concatenate, matmul); get_config serializes its initializer. A
Sequential MLP from keras.Input(shape=(784,)) with Dense, Antirectifier and Dropout, logits trained with
SparseCategoricalCrossentropy(from_logits=True), RMSprop() and SparseCategoricalAccuracy(), fit with
validation_split, evaluate. Shrunk for time: 3,000 MNIST images, 2 epochs.
"""
from netfit import keras
from netfit.keras import layers, ops

keras.utils.set_random_seed(0)


class Antirectifier(layers.Layer):
    def __init__(self, initializer="he_normal", **kwargs):
        super().__init__(**kwargs)
        self.initializer = keras.initializers.get(initializer)

    def build(self, input_shape):
        output_dim = input_shape[-1]
        self.kernel = self.add_weight(
            shape=(output_dim * 2, output_dim),
            initializer=self.initializer,
            name="kernel",
            trainable=True,
        )

    def call(self, inputs):
        inputs -= ops.mean(inputs, axis=-1, keepdims=True)
        pos = ops.relu(inputs)
        neg = ops.relu(-inputs)
        concatenated = ops.concatenate([pos, neg], axis=-1)
        mixed = ops.matmul(concatenated, self.kernel)
        return mixed

    def get_config(self):
        # Implement get_config to enable serialization. This is optional.
        base_config = super().get_config()
        config = {"initializer": keras.initializers.serialize(self.initializer)}
        return dict(list(base_config.items()) + list(config.items()))


batch_size = 128
num_classes = 10
epochs = 2

(x_train, y_train), (x_test, y_test) = keras.datasets.mnist.load_data()
x_train, y_train, x_test, y_test = x_train[:3000], y_train[:3000], x_test[:500], y_test[:500]   # shrunk for time
x_train = x_train.reshape(-1, 784)
x_test = x_test.reshape(-1, 784)
x_train = x_train.astype("float32")
x_test = x_test.astype("float32")
x_train /= 255
x_test /= 255
print(x_train.shape[0], "train samples")
print(x_test.shape[0], "test samples")

model = keras.Sequential(
    [
        keras.Input(shape=(784,)),
        layers.Dense(256),
        Antirectifier(),
        layers.Dense(256),
        Antirectifier(),
        layers.Dropout(0.5),
        layers.Dense(10),
    ]
)
model.compile(
    loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    optimizer=keras.optimizers.RMSprop(),
    metrics=[keras.metrics.SparseCategoricalAccuracy()],
)
model.summary()
history = model.fit(x_train, y_train, batch_size=batch_size, epochs=epochs, validation_split=0.15, verbose=2)
print("test:", model.evaluate(x_test, y_test, verbose=0))
print("config:", sorted(model.layers[1].get_config()))
