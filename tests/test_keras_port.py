"""Keras programs run on netfit with only their import lines changed.

Two programs, kept here as Keras users write them: the lecture's MNIST MLP (the
README's example in Keras) and Keras's own ``mnist_convnet`` example
(keras.io/examples/vision/mnist_convnet, Keras 3). The port replaces the import
lines and nothing else (checked line by line); to keep the suite quick the
harness then serves a subset of MNIST and runs one epoch (marked as harness
changes, apart from the port).
"""
import os
from pathlib import Path

import numpy as np
import pytest

import netfit
from netfit.datasets import mnist

ROOT = Path(__file__).resolve().parents[1]
from data_folder import ABSENT, SHARED_DATA as DATA_DIR, holds  # noqa: E402
needs_mnist = pytest.mark.skipif(not holds("mnist"), reason=f"{ABSENT} (mnist)")

LECTURE = '''\
import numpy as np
import keras
from keras import layers

(x_train, y_train), (x_test, y_test) = keras.datasets.mnist.load_data()
x_train, x_test = x_train / 255, x_test / 255
y_train, y_test = keras.utils.to_categorical(y_train), keras.utils.to_categorical(y_test)

model = keras.Sequential([layers.Flatten(input_shape=(28, 28)),
                          layers.Dense(128, activation="relu"),
                          layers.Dense(10, activation="softmax")])
model.summary()
model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
history = model.fit(x_train, y_train, epochs=15, batch_size=32)
loss, accuracy = model.evaluate(x_test, y_test)
classes = np.argmax(model.predict(x_test), axis=1)
'''

# keras.io/examples/vision/mnist_convnet ("Simple MNIST convnet", fchollet), its code as published.
CONVNET = '''\
import numpy as np
import keras
from keras import layers

# Model / data parameters
num_classes = 10
input_shape = (28, 28, 1)

# Load the data and split it between train and test sets
(x_train, y_train), (x_test, y_test) = keras.datasets.mnist.load_data()

# Scale images to the [0, 1] range
x_train = x_train.astype("float32") / 255
x_test = x_test.astype("float32") / 255
# Make sure images have shape (28, 28, 1)
x_train = np.expand_dims(x_train, -1)
x_test = np.expand_dims(x_test, -1)
print("x_train shape:", x_train.shape)
print(x_train.shape[0], "train samples")
print(x_test.shape[0], "test samples")


# convert class vectors to binary class matrices
y_train = keras.utils.to_categorical(y_train, num_classes)
y_test = keras.utils.to_categorical(y_test, num_classes)

model = keras.Sequential(
    [
        keras.Input(shape=input_shape),
        layers.Conv2D(32, kernel_size=(3, 3), activation="relu"),
        layers.MaxPooling2D(pool_size=(2, 2)),
        layers.Conv2D(64, kernel_size=(3, 3), activation="relu"),
        layers.MaxPooling2D(pool_size=(2, 2)),
        layers.Flatten(),
        layers.Dropout(0.5),
        layers.Dense(num_classes, activation="softmax"),
    ]
)

model.summary()

batch_size = 128
epochs = 15

model.compile(loss="categorical_crossentropy", optimizer="adam", metrics=["accuracy"])

model.fit(x_train, y_train, batch_size=batch_size, epochs=epochs, validation_split=0.1)

score = model.evaluate(x_test, y_test, verbose=0)
print("Test loss:", score[0])
print("Test accuracy:", score[1])
'''

PORTS = {
    "from-netfit-import-keras": {"import keras": "from netfit import keras",
                                 "from keras import layers": "from netfit.keras import layers"},
    "import-netfit-as-keras": {"import keras": "import netfit as keras",
                               "from keras import layers": "from netfit import layers"},
}


def port(source, imports):
    """Replace the import lines, and only them."""
    lines = [imports.get(line, line) for line in source.splitlines()]
    changed = [(a, b) for a, b in zip(source.splitlines(), lines) if a != b]
    assert all(a.startswith(("import ", "from ")) for a, _ in changed) and len(changed) == len(imports)
    return "\n".join(lines) + "\n"


@pytest.fixture
def small_mnist(monkeypatch):
    """Harness, not port: the first 512 training and 256 test images, so that a test takes seconds."""
    (x, y), (xt, yt) = mnist.load_data(DATA_DIR)
    monkeypatch.setattr(mnist, "load_data", lambda *a, **k: ((x[:512], y[:512]), (xt[:256], yt[:256])))
    netfit.utils.set_random_seed(0)


def run(source, epochs_line, capsys):
    source = source.replace(epochs_line, epochs_line.replace("15", "1"))     # harness: one epoch
    scope = {"__name__": "__keras_port__"}
    exec(compile(source, "<keras program>", "exec"), scope)
    return scope, capsys.readouterr().out


@needs_mnist
@pytest.mark.parametrize("imports", PORTS.values(), ids=PORTS.keys())
def test_the_lecture_program_runs_with_its_imports_changed(small_mnist, capsys, imports):
    scope, out = run(port(LECTURE, imports), "epochs=15", capsys)
    assert "Total params: 101,770" in out and "Epoch 1/1" in out
    assert np.isfinite(scope["loss"]) and scope["accuracy"] > 0.5            # 512 images, one epoch
    assert scope["classes"].shape == (256,) and len(scope["history"].history["loss"]) == 1


@needs_mnist
@pytest.mark.parametrize("imports", PORTS.values(), ids=PORTS.keys())
def test_keras_mnist_convnet_runs_with_its_imports_changed(small_mnist, capsys, imports):
    scope, out = run(port(CONVNET, imports), "epochs = 15", capsys)
    model = scope["model"]
    # Keras's own summary of this model: 34,826 parameters, the same layer shapes.
    assert "Total params: 34,826" in out and "(None, 5, 5, 64)" in out and "(None, 1600)" in out
    assert [type(layer).__name__ for layer in model.layers] == ["Conv2D", "MaxPooling2D", "Conv2D", "MaxPooling2D",
                                                                 "Flatten", "Dropout", "Dense"]
    assert "x_train shape: (512, 28, 28, 1)" in out and "val_accuracy" in out
    loss, accuracy = scope["score"]
    assert np.isfinite(loss) and accuracy > 0.15                                 # chance is 0.10
    assert f"Test accuracy: {accuracy}" in out


def test_the_port_changes_nothing_but_imports():
    with pytest.raises(AssertionError):
        port(CONVNET, {"batch_size = 128": "batch_size = 64"})
    ported = port(CONVNET, PORTS["from-netfit-import-keras"])
    assert ported.count("\n") == CONVNET.count("\n") and "keras.Input(shape=input_shape)" in ported


def test_the_keras_namespace_has_what_ported_code_reaches_for():
    from netfit import keras
    for name in ("Sequential", "Input", "layers", "models", "utils", "datasets", "optimizers", "callbacks",
                 "losses", "metrics", "saving"):
        assert hasattr(keras, name), name
    assert keras.saving.load_model is netfit.load_model and keras.saving.save_model is netfit.models.save_model
    assert keras.datasets.mnist.load_data is not None and keras.utils.to_categorical([1], 2).shape == (1, 2)
    assert keras.models.load_model is netfit.load_model and keras.layers.Conv2D is netfit.layers.Conv2D
    assert keras.optimizers.get("adam").name == "adam"
