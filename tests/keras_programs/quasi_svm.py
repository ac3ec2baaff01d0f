"""keras.io's "A Quasi-SVM in Keras" (examples/keras_recipes/quasi_svm.py), a program of our own with its features.

A Sequential from keras.Input(shape=(784,)): RandomFourierFeatures(output_dim=..., scale=10.0,
kernel_initializer="gaussian"), a fixed random map whose inner products approximate a Gaussian kernel, then
Dense(units=10) scores: with the hinge loss (keras.losses.hinge, given as the function) on one-hot targets from
keras.utils.to_categorical, a kernel SVM trained by Adam(learning_rate=...); CategoricalAccuracy(name="acc"), fit
with validation_split. The example is tf.keras 2's (``from tensorflow.keras.layers.experimental import
RandomFourierFeatures``); Keras 3 has no such layer. Shrunk for time: 3,000 MNIST images and 10 epochs (the
4,096 features are the example's).
"""
from netfit import keras
from netfit.keras import layers
from netfit.keras.layers.experimental import RandomFourierFeatures

keras.utils.set_random_seed(0)

model = keras.Sequential(
    [
        keras.Input(shape=(784,)),
        RandomFourierFeatures(output_dim=4096, scale=10.0, kernel_initializer="gaussian"),
        layers.Dense(units=10),
    ]
)
model.compile(
    optimizer=keras.optimizers.Adam(learning_rate=1e-3),
    loss=keras.losses.hinge,
    metrics=[keras.metrics.CategoricalAccuracy(name="acc")],
)
model.summary()

(x_train, y_train), (x_test, y_test) = keras.datasets.mnist.load_data()
x_train, y_train = x_train[:3000], y_train[:3000]                        # shrunk for time
x_train = x_train.reshape(-1, 784).astype("float32") / 255
y_train = keras.utils.to_categorical(y_train)

history = model.fit(x_train, y_train, epochs=10, batch_size=128, validation_split=0.2, verbose=2)
print("history keys:", sorted(history.history))
