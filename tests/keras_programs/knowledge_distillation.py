"""keras.io's "Knowledge Distillation" (examples/vision/knowledge_distillation.py), Keras 3's form, in a program of
our own.

The Distiller: a keras.Model subclass holding a teacher and a student, overriding compile (its own arguments,
then super().compile(optimizer=, metrics=) without a loss) and compute_loss (the student's loss on the labels
and the KL divergence between the teacher's and the student's softened predictions, keras.ops.softmax of the
logits over a temperature, weighted by alpha), with call returning the student's logits; fit and evaluate of
the distiller. A teacher and a student Sequential named by name=: Conv2D with strides=(2, 2) and
padding="same", LeakyReLU, MaxPooling2D(pool_size=(2, 2), strides=(1, 1), padding="same"), Flatten, a Dense
of logits; keras.models.clone_model of the student before training; Adam(),
SparseCategoricalCrossentropy(from_logits=True), SparseCategoricalAccuracy(); fit and evaluate of the
teacher and of the student trained from scratch. Shrunk for time: 2,000 MNIST images, 2 epochs, narrower
convolutions.
"""
import numpy as np
from netfit import keras
from netfit.keras import layers, ops


class Distiller(keras.Model):
    def __init__(self, student, teacher):
        super().__init__()
        self.teacher = teacher
        self.student = student

    def compile(
        self,
        optimizer,
        metrics,
        student_loss_fn,
        distillation_loss_fn,
        alpha=0.1,
        temperature=3,
    ):
        """Configure the distiller."""
        super().compile(optimizer=optimizer, metrics=metrics)
        self.student_loss_fn = student_loss_fn
        self.distillation_loss_fn = distillation_loss_fn
        self.alpha = alpha
        self.temperature = temperature

    def compute_loss(
        self, x=None, y=None, y_pred=None, sample_weight=None, allow_empty=False
    ):
        teacher_pred = self.teacher(x, training=False)
        student_loss = self.student_loss_fn(y, y_pred)

        distillation_loss = self.distillation_loss_fn(
            ops.softmax(teacher_pred / self.temperature, axis=1),
            ops.softmax(y_pred / self.temperature, axis=1),
        ) * (self.temperature**2)

        loss = self.alpha * student_loss + (1 - self.alpha) * distillation_loss
        return loss

    def call(self, x):
        return self.student(x)


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

distiller = Distiller(student=student, teacher=teacher)
distiller.compile(
    optimizer=keras.optimizers.Adam(),
    metrics=[keras.metrics.SparseCategoricalAccuracy()],
    student_loss_fn=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    distillation_loss_fn=keras.losses.KLDivergence(),
    alpha=0.1,
    temperature=10,
)
history = distiller.fit(x_train, y_train, epochs=2, verbose=2)
print("distiller losses:", history.history["loss"])
print("distilled student:", distiller.evaluate(x_test, y_test, verbose=0))

student_scratch.compile(
    optimizer=keras.optimizers.Adam(),
    loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    metrics=[keras.metrics.SparseCategoricalAccuracy()],
)
student_scratch.fit(x_train, y_train, epochs=2, verbose=2)
print("student from scratch:", student_scratch.evaluate(x_test, y_test, verbose=0))
