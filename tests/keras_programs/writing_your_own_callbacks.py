"""Features of keras.io's "Writing your own callbacks" (guides/writing_your_own_callbacks.py), in a program
of our own, in Keras 3's form of that guide (`import keras`, a Dense layer built by fit, the learning rate
read and set as `optimizer.learning_rate`).

A Callback subclass with every hook that prints the keys of its logs for fit (with validation_split),
evaluate and predict; per-batch and per-epoch losses from logs; self.model.stop_training,
self.model.get_weights()/set_weights() for early stopping at the minimum loss; a learning-rate schedule
written as a callback; steps_per_epoch with arrays. MNIST shrunk to 1,000 images as in the guide.
"""
import numpy as np
from netfit import keras

keras.utils.set_random_seed(0)


def get_model():
    model = keras.Sequential()
    model.add(keras.layers.Dense(1))
    model.compile(
        optimizer=keras.optimizers.RMSprop(learning_rate=0.1),
        loss="mean_squared_error",
        metrics=["mean_absolute_error"],
    )
    return model


(x_train, y_train), (x_test, y_test) = keras.datasets.mnist.load_data()
x_train = x_train.reshape(-1, 784).astype("float32") / 255.0
x_test = x_test.reshape(-1, 784).astype("float32") / 255.0
x_train, y_train = x_train[:1000], y_train[:1000]
x_test, y_test = x_test[:1000], y_test[:1000]


class KeyPrinter(keras.callbacks.Callback):
    """Prints which hook ran and the keys of the logs it got."""

    def _show(self, what, logs):
        print("{}: {}".format(what, sorted(logs.keys())))

    def on_train_begin(self, logs=None):
        self._show("train begin", logs)

    def on_train_end(self, logs=None):
        self._show("train end", logs)

    def on_epoch_begin(self, epoch, logs=None):
        self._show("epoch {} begin".format(epoch), logs)

    def on_epoch_end(self, epoch, logs=None):
        self._show("epoch {} end".format(epoch), logs)

    def on_test_begin(self, logs=None):
        self._show("test begin", logs)

    def on_test_end(self, logs=None):
        self._show("test end", logs)

    def on_predict_begin(self, logs=None):
        self._show("predict begin", logs)

    def on_predict_end(self, logs=None):
        self._show("predict end", logs)

    def on_train_batch_begin(self, batch, logs=None):
        self._show("train batch {} begin".format(batch), logs)

    def on_train_batch_end(self, batch, logs=None):
        self._show("train batch {} end".format(batch), logs)

    def on_test_batch_begin(self, batch, logs=None):
        self._show("test batch {} begin".format(batch), logs)

    def on_test_batch_end(self, batch, logs=None):
        self._show("test batch {} end".format(batch), logs)

    def on_predict_batch_begin(self, batch, logs=None):
        self._show("predict batch {} begin".format(batch), logs)

    def on_predict_batch_end(self, batch, logs=None):
        self._show("predict batch {} end".format(batch), logs)


model = get_model()
model.fit(x_train, y_train, batch_size=250, epochs=1, verbose=0, validation_split=0.5, callbacks=[KeyPrinter()])
res = model.evaluate(x_test, y_test, batch_size=500, verbose=0, callbacks=[KeyPrinter()])
res = model.predict(x_test, batch_size=500, verbose=0, callbacks=[KeyPrinter()])
print("predict shape:", res.shape)


class LossPrinter(keras.callbacks.Callback):
    def on_train_batch_end(self, batch, logs=None):
        print("Batch {}: loss {:.3f}".format(batch, logs["loss"]))

    def on_test_batch_end(self, batch, logs=None):
        print("Test batch {}: loss {:.3f}".format(batch, logs["loss"]))

    def on_epoch_end(self, epoch, logs=None):
        print("Epoch {}: loss {:.3f}, mean absolute error {:.3f}".format(
            epoch, logs["loss"], logs["mean_absolute_error"]))


model = get_model()
model.fit(x_train, y_train, batch_size=200, epochs=2, verbose=0, callbacks=[LossPrinter()])
res = model.evaluate(x_test, y_test, batch_size=500, verbose=0, callbacks=[LossPrinter()])


class StopAtMinimumLoss(keras.callbacks.Callback):
    """Stops when the loss has not fallen for `patience` epochs, and puts back the best weights."""

    def __init__(self, patience=0):
        super().__init__()
        self.patience = patience
        self.best_weights = None

    def on_train_begin(self, logs=None):
        self.wait = 0
        self.stopped_epoch = 0
        self.best = np.inf

    def on_epoch_end(self, epoch, logs=None):
        current = logs.get("loss")
        if np.less(current, self.best):
            self.best = current
            self.wait = 0
            self.best_weights = self.model.get_weights()
        else:
            self.wait += 1
            if self.wait >= self.patience:
                self.stopped_epoch = epoch
                self.model.stop_training = True
                print("Restoring the weights of the best epoch.")
                self.model.set_weights(self.best_weights)

    def on_train_end(self, logs=None):
        if self.stopped_epoch > 0:
            print("Stopped early after epoch {}".format(self.stopped_epoch + 1))


model = get_model()
history = model.fit(x_train, y_train, batch_size=50, steps_per_epoch=5, epochs=30, verbose=0,
                    callbacks=[StopAtMinimumLoss(patience=1)])
print("epochs run:", len(history.history["loss"]))


class ScheduleCallback(keras.callbacks.Callback):
    """Sets the optimizer's learning rate at the start of each epoch from schedule(epoch, lr)."""

    def __init__(self, schedule):
        super().__init__()
        self.schedule = schedule

    def on_epoch_begin(self, epoch, logs=None):
        if not hasattr(self.model.optimizer, "learning_rate"):
            raise ValueError('Optimizer must have a "learning_rate" attribute.')
        lr = self.model.optimizer.learning_rate
        scheduled_lr = self.schedule(epoch, lr)
        self.model.optimizer.learning_rate = scheduled_lr
        print("Epoch {}: learning rate {:.4f}".format(epoch, float(np.array(scheduled_lr))))


STEPS = [(2, 0.05), (4, 0.01), (5, 0.005)]


def lr_schedule(epoch, lr):
    for start, rate in STEPS:
        if epoch == start:
            return rate
    return lr


model = get_model()
history = model.fit(x_train, y_train, batch_size=50, steps_per_epoch=5, epochs=6, verbose=0,
                    callbacks=[ScheduleCallback(lr_schedule)])
print("final learning rate:", float(np.array(model.optimizer.learning_rate)))
