"""Keras programs of our own, one per keras.io program of issue 22, run against netfit.

Each file in tests/keras_programs/ is written as a Keras 3 user writes Keras code, exercising the features of one
keras.io guide or example, with netfit's import lines (``from netfit import keras``, ``from netfit.keras import
layers``, ...) and nothing else of netfit: swapping those lines back (``import keras``, ``from keras import
layers``) gives a program for Keras itself (checked by hand with Keras 3.15 on JAX; set NETFIT_KERAS_PYTHON to a
Python with Keras 3 to run test_the_programs_run_on_keras too). Each runs here in a subprocess, in a folder of its
own, and the test reads what it printed. docs/keras.md has the table of features and the count.

A program that saves a .keras or .weights.h5 file needs h5py (netfit's `keras-files` extra, in the dev
extra that `make test` installs) and is skipped, saying so, without it.
"""
import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PROGRAMS = ROOT / "tests" / "keras_programs"
from data_folder import ABSENT, SHARED_DATA as DATA_DIR, holds  # noqa: E402
HAS_MNIST = holds("mnist")

# The only netfit lines a program may hold, and the Keras line each stands for.
IMPORTS = {
    "from netfit import keras": "import keras",
    "from netfit.keras import layers": "from keras import layers",
    "from netfit.keras import layers, ops": "from keras import layers, ops",
    "from netfit.keras import ops": "from keras import ops",
    "from netfit.keras import callbacks, layers": "from keras import callbacks, layers",
    "from netfit.keras.datasets import mnist": "from keras.datasets import mnist",
    "from netfit.keras.models import Model": "from keras.models import Model",
    "from netfit.keras.utils import set_random_seed": "from keras.utils import set_random_seed",
    # tf.keras 2's layer (quasi_svm): Keras 3 has none, so that program is not run on Keras 3 (KERAS_3_LACKS).
    "from netfit.keras.layers.experimental import RandomFourierFeatures":
        "from tensorflow.keras.layers.experimental import RandomFourierFeatures",
}

# Programs of the count (only their import lines differ from Keras code) and the others (see docs/keras.md).
COUNTED = ["mnist_convnet", "imbalanced_classification", "writing_your_own_callbacks", "sequential_model",
           "autoencoder", "timeseries_anomaly_detection", "timeseries_classification_from_scratch", "quasi_svm",
           "antirectifier", "intro_to_keras_for_engineers", "knowledge_distillation", "serialization_and_saving"]
PARTIAL = ["functional_api", "training_with_built_in_methods", "approximating_non_function_mappings",
           "gradient_centralization"]
# Programs of tf.keras 2 whose layers Keras 3 dropped: test_the_programs_run_on_keras skips them (not checked
# against TensorFlow here).
KERAS_3_LACKS = {"quasi_svm": "Keras 3 has no RandomFourierFeatures (the program is tf.keras 2's, "
                              "keras.layers.experimental; not checked against TensorFlow here)"}
USES_MNIST = {"mnist_convnet", "writing_your_own_callbacks", "autoencoder", "intro_to_keras_for_engineers",
              "functional_api", "training_with_built_in_methods", "antirectifier", "quasi_svm",
              "knowledge_distillation"}


def _values(out, key):
    """Every value printed as ``key: value`` (the text after the colon, stripped)."""
    return [line[len(key) + 1:].strip() for line in out.splitlines() if line.startswith(key + ":")]


def _value(out, key):
    found = _values(out, key)
    assert len(found) == 1, f"expected one line {key!r}: ..., got {found} in:\n{out[-3000:]}"
    return found[0]


def _number(out, key):
    return float(_value(out, key))


def _numbers(text):
    return [float(v) for v in re.findall(r"-?\d+\.\d+(?:e-?\d+)?|-?\d+", text)]


def run(name, tmp_path, timeout=120):
    """Run program ``name`` in ``tmp_path``. Returns the CompletedProcess (text)."""
    script = tmp_path / f"{name}.py"
    script.write_text((PROGRAMS / f"{name}.py").read_text())
    env = {**os.environ, "PYTHONPATH": str(ROOT), "NETFIT_DATA_DIR": str(DATA_DIR), "MPLBACKEND": "Agg",
           "PYTHONWARNINGS": "default"}
    return subprocess.run([sys.executable, str(script)], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=timeout)


def run_program(name, tmp_path):
    """The program's output (stdout); it must exit 0."""
    if name in USES_MNIST and not HAS_MNIST:
        pytest.skip(f"{ABSENT} (mnist)")
    source = (PROGRAMS / f"{name}.py").read_text()
    if ('.keras"' in source or '.weights.h5"' in source) and importlib.util.find_spec("h5py") is None:
        pytest.skip(f"{name} writes Keras's .keras / .weights.h5 files, which need h5py: "
                    f"pip install 'netfit[keras-files]'")
    done = run(name, tmp_path)
    assert done.returncode == 0, f"{name} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done.stdout


def test_the_programs_are_the_sixteen_and_hold_nothing_of_netfit_but_import_lines():
    assert sorted(COUNTED + PARTIAL) == sorted(p.stem for p in PROGRAMS.glob("*.py")) and len(COUNTED + PARTIAL) == 16
    for path in PROGRAMS.glob("*.py"):
        code = path.read_text().split('"""', 2)[2]                # after the docstring
        for line in code.splitlines():
            if "netfit" in line.split("#")[0]:
                assert line in IMPORTS, f"{path.name}: a netfit line that is not an import of the table: {line!r}"
        ported = "\n".join(IMPORTS.get(line, line) for line in code.splitlines())
        assert "netfit" not in "\n".join(line.split("#")[0] for line in ported.splitlines()), path.name


# -- the programs of the count ---------------------------------------------------------------------------------

def test_mnist_convnet(tmp_path):
    out = run_program("mnist_convnet", tmp_path)
    assert "x_train shape: (2000, 28, 28, 1)" in out and "Total params: 12,810" in out
    assert "(None, 5, 5, 32)" in out and "(None, 800)" in out and "Epoch 2/2" in out
    assert _value(out, "history keys") == "['accuracy', 'loss', 'val_accuracy', 'val_loss']"
    assert _number(out, "Test accuracy") > 0.5                     # 2,000 images, 2 epochs; chance is 0.1


def test_imbalanced_classification(tmp_path):
    out = run_program("imbalanced_classification", tmp_path)
    assert "features.shape: (5000, 30)" in out
    keys = eval(_value(out, "history keys"))
    assert keys == sorted(["loss", "fn", "fp", "tn", "tp", "precision", "recall"]
                          + ["val_" + k for k in ("loss", "fn", "fp", "tn", "tp", "precision", "recall")])
    assert _number(out, "val tp + fn") == 19                       # the positives of the validation rows
    assert _number(out, "val recall") > 0.4                        # class_weight makes the rare class count
    assert eval(_value(out, "checkpoints")) == [f"fraud_model_at_epoch_{k}.keras"
                                                 for k in range(1, 6)]


def test_writing_your_own_callbacks(tmp_path):
    out = run_program("writing_your_own_callbacks", tmp_path)
    # The keys of each hook's logs, as Keras 3 gives them (the same lines under Keras 3.15).
    assert _values(out, "train begin") == ["[]"] and _values(out, "epoch 0 begin") == ["[]"]
    assert _values(out, "train batch 0 begin") == ["[]"]
    assert _values(out, "train batch 0 end") == ["['loss', 'mean_absolute_error']"]
    assert _values(out, "epoch 0 end") == ["['loss', 'mean_absolute_error', 'val_loss', 'val_mean_absolute_error']"]
    assert _values(out, "train end") == ["['loss', 'mean_absolute_error', 'val_loss', 'val_mean_absolute_error']"]
    assert _values(out, "test batch 0 end") == ["['loss', 'mean_absolute_error']"] * 2   # validation, evaluate
    assert _values(out, "test end") == ["['loss', 'mean_absolute_error']"] * 2
    assert _values(out, "predict batch 1 end") == ["['outputs']"] and _values(out, "predict end") == ["[]"]
    assert _value(out, "predict shape") == "(1000, 1)"
    losses = [float(v) for v in re.findall(r"^Epoch [01]: loss ([\d.]+),", out, re.M)]
    assert len(losses) == 2 and losses[1] < losses[0]
    assert 2 <= _number(out, "epochs run") < 30 and "Restoring the weights of the best epoch." in out
    rates = [float(v) for v in re.findall(r"^Epoch \d: learning rate ([\d.]+)$", out, re.M)]
    assert rates == [0.1, 0.1, 0.05, 0.05, 0.01, 0.005] and _number(out, "final learning rate") == 0.005


def test_sequential_model(tmp_path):
    out = run_program("sequential_model", tmp_path)
    assert _value(out, "model(x) shape") == "(3, 4)" and _value(out, "layer chain shape") == "(3, 4)"
    assert _number(out, "layers after pop") == 2 and _value(out, "weights before a call") == "0"
    assert _value(out, "model name") == "my_sequential ['layer1', 'layer2', 'layer3']"
    assert _value(out, "weight shapes after a call") == "[(4, 3), (3,)]"
    assert _number(out, "Number of weights after calling the model") == 6 and "Total params: 35" in out
    assert _number(out, "layers with an Input") == 1
    assert _value(out, "conv stack output") == "(None, 5, 5, 8)" and _value(out, "classifier output") == "(None, 10)"
    assert _value(out, "all features") == "[(1, 48, 48, 8), (1, 46, 46, 8), (1, 44, 44, 8)]"
    assert _value(out, "one layer's features") == "(1, 46, 46, 8)"


def test_autoencoder(tmp_path):
    out = run_program("autoencoder", tmp_path)
    assert _value(out, "predictions shape") == "(150, 28, 28, 1)"
    first, second = (_numbers(_value(out, key)) for key in ("reconstruction losses", "denoising losses"))
    assert first[1] < first[0] and second[1] < second[0]           # training and validation losses fall
    assert _number(out, "error of the denoised images") < _number(out, "error of the noisy images")


def test_timeseries_anomaly_detection(tmp_path):
    out = run_program("timeseries_anomaly_detection", tmp_path)
    assert _value(out, "Training input shape") == "(469, 288, 1)"
    loss, val_loss = _numbers(_value(out, "loss")), _numbers(_value(out, "val_loss"))
    assert len(loss) == len(val_loss) == 6 and loss[-1] < loss[0] / 4
    assert _number(out, "Anomalous windows over the jump") > 0.9       # the jump is found
    assert _number(out, "Anomalous windows away from it") < 0.05       # and little else


def test_timeseries_classification_from_scratch(tmp_path):
    out = run_program("timeseries_classification_from_scratch", tmp_path)
    assert (tmp_path / "model.png").stat().st_size > 0                 # plot_model's default file
    assert (tmp_path / "best_model.keras").is_file()
    assert eval(_value(out, "history keys")) == ["learning_rate", "loss", "sparse_categorical_accuracy", "val_loss",
                                                 "val_sparse_categorical_accuracy"]
    assert _number(out, "Test accuracy") > 0.7                          # chance is 0.5


def test_quasi_svm(tmp_path):
    """The kernel machine beats the linear one: measured on this program (seed 0, 3,000 images, 10 epochs),
    val_acc 0.902 with RandomFourierFeatures(4096) before Dense(10), 0.825 for the same program without it
    (a linear hinge model); chance is 0.1."""
    out = run_program("quasi_svm", tmp_path)
    assert "Non-trainable params: 3,215,361" in out and "Trainable params: 40,970" in out   # 784·4096 + 4096 + 1
    assert eval(_value(out, "history keys")) == ["acc", "loss", "val_acc", "val_loss"]
    assert len(re.findall(r"^Epoch \d+/10$", out, re.M)) == 10
    assert float(re.findall(r"val_acc: ([\d.]+)", out)[-1]) > 0.87


# -- the programs that also need custom code or TensorFlow: what netfit runs of them -----------------------------

def test_intro_to_keras_for_engineers(tmp_path):
    if not HAS_MNIST:
        pytest.skip(f"{ABSENT} (mnist)")
    pytest.importorskip("torch")
    out = run_program("intro_to_keras_for_engineers", tmp_path)
    assert eval(_value(out, "history keys")) == ["acc", "loss", "val_acc", "val_loss"]
    assert _value(out, "predictions shape") == "(300, 10)"
    assert eval(_value(out, "custom model history keys")) == ["acc", "loss", "val_acc", "val_loss"]
    losses = eval(_value(out, "custom model losses"))
    assert losses[1] < losses[0] and len(_numbers(_value(out, "custom model score"))) == 2
    assert len(_numbers(_value(out, "after the DataLoader epochs"))) == 2


def test_functional_api(tmp_path):
    out = run_program("functional_api", tmp_path)
    assert _value(out, "inputs") == "(None, 784) float32" and 'Model: "mnist_model"' in out
    assert _number(out, "Test accuracy") > 0.6
    assert _numbers(_value(out, "reloaded test scores")) == [_number(out, "Test loss"), _number(out, "Test accuracy")]
    assert _value(out, "autoencoder output") == "(None, 28, 28, 1)" and _value(out, "ensemble = mean of its models") \
        == "True"
    assert eval(_value(out, "multi-output history keys")) == ["department_loss", "loss", "priority_loss"]
    assert eval(_value(out, "toy resnet history keys")) == ["acc", "loss", "val_acc", "val_loss"]
    assert _value(out, "shared embedding weights") == "1 (2, 10, 32)"
    assert _value(out, "extracted features") == ("[(1, 28, 28, 1), (1, 26, 26, 8), (1, 24, 24, 8), (1, 8, 8, 8), "
                                                 "(1, 6, 6, 8), (1, 4, 4, 16), (1, 16)]")
    for picture in ("my_first_model.png", "mini_resnet.png", "multi_input_and_output_model.png"):
        assert (tmp_path / picture).stat().st_size > 0


def test_training_with_built_in_methods(tmp_path):
    out = run_program("training_with_built_in_methods", tmp_path)
    history = eval(_value(out, "history"))
    assert history["loss"][1] < history["loss"][0] and history["val_sparse_categorical_accuracy"][1] > 0.6
    assert _value(out, "predictions shape") == "(3, 10)"
    assert _numbers(_value(out, "PyDataset val accuracy"))[0] > 0.5
    heads = ["class_output_categorical_accuracy", "class_output_loss", "loss", "score_output_loss",
             "score_output_mean_absolute_error"]
    assert eval(_value(out, "two outputs, lists")) == heads == eval(_value(out, "two outputs, dicts"))
    assert 3 <= _number(out, "epochs before early stopping") < 20
    assert re.search(r"^Epoch \d+: early stopping$", out, re.M)
    assert _number(out, "per-batch losses") == 10 and _number(out, "checkpoints") == 6
    assert "Restoring from ./ckpt/model-loss=" in out
    assert _number(out, "schedule at step 200000") == pytest.approx(0.1 * 0.96 ** 2)


def test_serialization_and_saving(tmp_path):
    out = run_program("serialization_and_saving", tmp_path)
    before, after = _numbers(out.split("more training:")[1].splitlines()[0])
    assert after < before
    assert _value(out, "layer from config") == "3 relu" and _value(out, "sequential from config") == "['Dense']"
    assert _number(out, "functional from config") == 33 and _number(out, "from json") == 33
    assert _value(out, "weights into a model with a Dropout") == "True"
    assert _value(out, "pretrained weights loaded") == "True"
    assert _value(out, "new head on the extracted layers") == "(2, 5)"
    # Custom objects: registered, given to load_model, in a custom_object_scope (each asserts equal predictions).
    assert _value(out, "custom objects, registered") == "CustomLayer my_package>custom_fn"
    assert "custom objects, given and in a scope: the same predictions" in out
    assert _value(out, "clone of the custom model") == "['InputLayer', 'CustomLayer', 'Dense']"
    assert _value(out, "regularizer config") == "L1 {'l1': 0.005}" == _value(out, "regularizer back")
    assert _value(out, "layer weights copied") == "True" and _number(out, "weights into a subclassed model") == 6
    assert _value(out, "variables") == "['kernel', 'bias', 'kernel', 'bias']"
    assert _value(out, "variable ordering changed") == "False"            # Keras 3.15 prints False too
    assert _value(out, "paths after freezing dense_1") == str([f"nested/dense_{k}/{w}" for k in (1, 2)
                                                               for w in ("kernel", "bias")])
    assert _value(out, "serialized") == "MyLayers>KernelMult MyLayers>KernelMult l1"
    assert _value(out, "deserialized") == "MyDense 64 nested_model stays a config: True"
    assert _value(out, "model of a layer of layers from config") == "392 (None, 16)"
    loss, expected = _numbers(_value(out, "loss with the l1 penalty of the kernel"))
    assert loss == pytest.approx(expected, abs=2e-4) and _value(out, "fit's loss has the penalty") == "True"
    assert _value(out, "registered layer") == "MyDense MyLayers>KernelMult None"
    assert eval(_value(out, "its regularizer")) == {"module": "keras.regularizers", "class_name": "L1L2",
                                                   "config": {"l1": 1e-05, "l2": 0.0001}, "registered_name": None}


def test_antirectifier(tmp_path):
    out = run_program("antirectifier", tmp_path)
    assert _numbers(_value(out, "test"))[1] > 0.7
    assert eval(_value(out, "config")) == ["initializer", "name"]
    assert "Total params: 531,466" in out            # Keras's count: Dense 200,960 + 65,792 + 2,570; kernels 2·(512·256)


def test_approximating_non_function_mappings(tmp_path):
    out = run_program("approximating_non_function_mappings", tmp_path)
    assert _value(out, "predictions") == "(1500, 1)"
    loss = _numbers(_value(out, "epochs").split("loss:")[1])
    assert loss[1] < loss[0]
    # The point of the example: a plain network learns about the mean, so its error stays near y's variance.
    mse, variance = _numbers(_value(out, "mse of the fit"))
    assert 0.5 < mse / variance < 1.01


def test_gradient_centralization(tmp_path):
    out = run_program("gradient_centralization", tmp_path)
    low, high, *_ = _numbers(_value(out, "rescaled range").split("augmented")[0])
    assert 0 <= low < high <= 1 and "augmented shape: (12, 300, 300, 3)" in out
    assert _number(out, "Epoch times") == 2 and _number(out, "Loss") > 0


def test_knowledge_distillation(tmp_path):
    out = run_program("knowledge_distillation", tmp_path)
    assert _value(out, "models") == "teacher student True"
    assert _numbers(_value(out, "teacher"))[1] > 0.7 and _numbers(_value(out, "student from scratch"))[1] > 0.6
    distilled = eval(_value(out, "distiller losses"))
    assert distilled[1] < distilled[0] and _numbers(_value(out, "distilled student"))[1] > 0.6


# -- by hand, or where a Keras 3 is at hand: the same programs on Keras itself --------------------------------------

ON_KERAS = '''
import os, runpy, sys
sys.path.append({root!r})                     # only for MNIST's files: Keras would download them
import keras
from netfit.datasets import mnist
keras.datasets.mnist.load_data = lambda *args, **kwargs: mnist.load_data()
try:
    import pydot
except ImportError:                          # Keras's plot_model needs pydot and graphviz
    keras.utils.plot_model = lambda *args, **kwargs: None
runpy.run_path(sys.argv[1], run_name="__main__")
'''


@pytest.mark.skipif(not os.environ.get("NETFIT_KERAS_PYTHON"), reason="opt-in (5-10 minutes): set "
                    "NETFIT_KERAS_PYTHON=.venv-keras/bin/python (made by .ci/run) to run the programs on Keras 3 (JAX)")
@pytest.mark.parametrize("name", COUNTED + PARTIAL)
def test_the_programs_run_on_keras(name, tmp_path):
    if name in KERAS_3_LACKS:
        pytest.skip(KERAS_3_LACKS[name])
    code = (PROGRAMS / f"{name}.py").read_text()
    if "import torch" in code and subprocess.run([os.environ["NETFIT_KERAS_PYTHON"], "-c", "import torch"]).returncode:
        pytest.skip("PyTorch is not installed beside that Keras")
    (tmp_path / "program.py").write_text("\n".join(IMPORTS.get(line, line) for line in code.splitlines()))
    (tmp_path / "on_keras.py").write_text(ON_KERAS.format(root=str(ROOT)))
    env = {"KERAS_BACKEND": "jax", **os.environ, "NETFIT_DATA_DIR": str(DATA_DIR), "MPLBACKEND": "Agg"}
    env.pop("PYTHONPATH", None)                    # Keras's default backend is TensorFlow, which is not needed
    done = subprocess.run([os.environ["NETFIT_KERAS_PYTHON"], "on_keras.py", "program.py"], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
