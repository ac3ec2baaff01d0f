"""Features of keras.io's "A Quasi-SVM in Keras" (examples/keras_recipes/quasi_svm.py) that netfit has, in a
program of our own.

A Sequential from keras.Input(shape=(784,)) ending in Dense(units=10) scores, the hinge loss on one-hot targets
from keras.utils.to_categorical, Adam(learning_rate=...), CategoricalAccuracy(name="acc"), fit with
validation_split. Not here: RandomFourierFeatures (tf.keras's layers.experimental, which Keras 3 dropped: the
example needs TensorFlow's Keras 2; without it the model below is a linear SVM, not a kernel one), and
keras.losses.hinge given as a function (netfit takes the loss by name or as keras.losses.Hinge(); a function
as the loss is a custom loss, netfit.ops's). Shrunk for time: 3,000 MNIST images, 3 epochs.
"""
from netfit import keras
from netfit.keras import layers

keras.utils.set_random_seed(0)

model = keras.Sequential(
    [
        keras.Input(shape=(784,)),
        layers.Dense(units=10),            # the example: RandomFourierFeatures(output_dim=4096, ...) before it
    ]
)
model.compile(
    optimizer=keras.optimizers.Adam(learning_rate=1e-3),
    loss=keras.losses.Hinge(),             # the example: keras.losses.hinge
    metrics=[keras.metrics.CategoricalAccuracy(name="acc")],
)

(x_train, y_train), (x_test, y_test) = keras.datasets.mnist.load_data()
x_train, y_train = x_train[:3000], y_train[:3000]                        # shrunk for time
x_train = x_train.reshape(-1, 784).astype("float32") / 255
y_train = keras.utils.to_categorical(y_train)

history = model.fit(x_train, y_train, epochs=3, batch_size=128, validation_split=0.2, verbose=2)
print("history keys:", sorted(history.history))
