"""Features of keras.io's "Knowledge Distillation" (examples/vision/knowledge_distillation.py) that need no custom
code, in a program of our own, in Keras 3's form of that example (LeakyReLU(negative_slope=...)).

A teacher and a student Sequential named by name=: Conv2D with strides=(2, 2) and padding="same", LeakyReLU,
MaxPooling2D(pool_size=(2, 2), strides=(1, 1), padding="same"), Flatten, a Dense of logits;
keras.models.clone_model of the student before training; Adam(), SparseCategoricalCrossentropy(from_logits=True),
SparseCategoricalAccuracy(); fit and evaluate of the teacher and of the student trained from scratch.
Not here: the Distiller itself, a keras.Model subclass overriding compile and compute_loss with the teacher's
softened predictions (netfit.ops and subclassed models, the next issue). Shrunk for time: 2,000 MNIST images,
1-2 epochs, narrower convolutions.
"""
import numpy as np
from netfit import keras
from netfit.keras import layers

keras.utils.set_random_seed(0)

teacher = keras.Sequential(
    [
        keras.Input(shape=(28, 28, 1)),
        layers.Conv2D(32, (3, 3), strides=(2, 2), padding="same"),
        layers.LeakyReLU(negative_slope=0.2),
        layers.MaxPooling2D(pool_size=(2, 2), strides=(1, 1), padding="same"),
        layers.Conv2D(64, (3, 3), strides=(2, 2), padding="same"),
        layers.Flatten(),
        layers.Dense(10),
    ],
    name="teacher",
)
student = keras.Sequential(
    [
        keras.Input(shape=(28, 28, 1)),
        layers.Conv2D(8, (3, 3), strides=(2, 2), padding="same"),
        layers.LeakyReLU(negative_slope=0.2),
        layers.MaxPooling2D(pool_size=(2, 2), strides=(1, 1), padding="same"),
        layers.Conv2D(16, (3, 3), strides=(2, 2), padding="same"),
        layers.Flatten(),
        layers.Dense(10),
    ],
    name="student",
)
student_scratch = keras.models.clone_model(student)
print("models:", teacher.name, student.name, student_scratch.count_params() == student.count_params())

(x_train, y_train), (x_test, y_test) = keras.datasets.mnist.load_data()
x_train, y_train, x_test, y_test = x_train[:2000], y_train[:2000], x_test[:500], y_test[:500]   # shrunk for time
x_train = np.reshape(x_train.astype("float32") / 255.0, (-1, 28, 28, 1))
x_test = np.reshape(x_test.astype("float32") / 255.0, (-1, 28, 28, 1))

teacher.compile(
    optimizer=keras.optimizers.Adam(),
    loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    metrics=[keras.metrics.SparseCategoricalAccuracy()],
)
teacher.fit(x_train, y_train, epochs=2, verbose=2)
print("teacher:", teacher.evaluate(x_test, y_test, verbose=0))

student_scratch.compile(
    optimizer=keras.optimizers.Adam(),
    loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    metrics=[keras.metrics.SparseCategoricalAccuracy()],
)
student_scratch.fit(x_train, y_train, epochs=2, verbose=2)
print("student from scratch:", student_scratch.evaluate(x_test, y_test, verbose=0))
