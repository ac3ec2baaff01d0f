"""Features of keras.io's "Simple custom layer example: Antirectifier" (examples/keras_recipes/antirectifier.py)
other than its custom layer, in a program of our own.

A Sequential MLP from keras.Input(shape=(784,)) with Dense and Dropout, logits trained with
SparseCategoricalCrossentropy(from_logits=True), RMSprop() and SparseCategoricalAccuracy(), fit with
validation_split, evaluate. Not here: the Antirectifier layer itself (a keras.layers.Layer subclass with
add_weight, build, call written with ops and get_config: netfit.ops, the next issue). Shrunk for time: 3,000 MNIST
images, 2 epochs.
"""
from netfit import keras
from netfit.keras import layers

keras.utils.set_random_seed(0)
batch_size = 128
num_classes = 10
epochs = 2

(x_train, y_train), (x_test, y_test) = keras.datasets.mnist.load_data()
x_train, y_train, x_test, y_test = x_train[:3000], y_train[:3000], x_test[:500], y_test[:500]   # shrunk for time
x_train = x_train.reshape(-1, 784).astype("float32")
x_test = x_test.reshape(-1, 784).astype("float32")
x_train /= 255
x_test /= 255
print(x_train.shape[0], "train samples")

model = keras.Sequential(
    [
        keras.Input(shape=(784,)),
        layers.Dense(256),
        layers.Dense(256, activation="relu"),           # the example: an Antirectifier() after each Dense
        layers.Dropout(0.5),
        layers.Dense(10),
    ]
)
model.compile(
    loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    optimizer=keras.optimizers.RMSprop(),
    metrics=[keras.metrics.SparseCategoricalAccuracy()],
)
history = model.fit(x_train, y_train, batch_size=batch_size, epochs=epochs, validation_split=0.15, verbose=2)
print("test:", model.evaluate(x_test, y_test, verbose=0))
