"""Every script in examples/ runs, prints what it shows and writes its picture.

Each example runs in a subprocess, as a user would run it, with ``--out``
pointing into ``tmp_path`` and its quick settings. The examples on real data
(ZIP codes, MNIST) read them from $NETFIT_DATA_DIR, else ../shared/data, else the cache, and
are skipped when the files are not there (they are never downloaded here).
"""
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
from data_folder import ABSENT, SHARED_DATA as DATA_DIR, holds  # noqa: E402


def run_example(name, tmp_path, *args, timeout=120):
    env = {**os.environ, "NETFIT_DATA_DIR": str(DATA_DIR), "MPLBACKEND": "Agg", "PYTHONIOENCODING": "utf-8"}
    proc = subprocess.run([sys.executable, str(EXAMPLES / f"{name}.py"), "--out", str(tmp_path), *args],
                          capture_output=True, text=True, encoding="utf-8", env=env, timeout=timeout, cwd=ROOT)
    assert proc.returncode == 0, f"{name}.py failed (exit {proc.returncode}):\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout


def number_after(pattern, text):
    match = re.search(pattern + r"\s*([-+\d.eE]+)", text)
    assert match, f"expected a line matching {pattern!r} in:\n{text}"
    return float(match.group(1))


def needs_data(folder):
    return pytest.mark.skipif(not holds(folder), reason=f"{ABSENT} ({folder})")


def test_every_example_is_tested():
    tested = {"backprop_by_hand", "regression", "activations", "zip_code", "mnist_keras_lecture",
              "weight_sharing"}
    assert {p.stem for p in EXAMPLES.glob("*.py")} == tested


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.py")), ids=lambda p: p.name)
def test_examples_document_how_to_run_them(path):
    text = path.read_text(encoding="utf-8")
    assert text.startswith('"""'), f"{path.name}: expected a docstring saying what it shows"
    assert "Run:" in text and "--out" in text


def test_backprop_by_hand(tmp_path):
    out = run_example("backprop_by_hand", tmp_path)
    for quantity in ("z_i = σ", "f(x_i)", "δ_ki", "s_mi", "∂R/∂α_ml", "∂R/∂β_km"):
        assert quantity in out
    assert number_after(r"max \|hand - netfit\| =", out) < 1e-12
    assert number_after(r"new weights: max \|hand - netfit\| =", out) < 1e-12
    before, after = number_after("R before:", out), number_after("after one step:", out)
    assert after < before and "(R decreased)" in out
    assert (tmp_path / "backprop_by_hand.png").stat().st_size > 0


def test_regression(tmp_path):
    out = run_example("regression", tmp_path, "--fast")
    mse = {label: float(re.search(rf"^{re.escape(label)}\s+\d+\s+([\d.]+)", out, re.M).group(1))
           for label in ("linear (no hidden)", "1 tanh unit", "3 tanh units", "10 tanh units")}
    assert mse["10 tanh units"] < 0.1 < mse["linear (no hidden)"]          # beyond linear
    assert mse["3 tanh units"] < mse["1 tanh unit"] < mse["linear (no hidden)"]
    assert (tmp_path / "regression.png").stat().st_size > 0
    assert (tmp_path / "regression_network.png").stat().st_size > 0


def test_activations(tmp_path):
    from netfit import activations
    out = run_example("activations", tmp_path)
    for name in activations.names():
        assert re.search(rf"^{name}\s", out, re.M), f"no line for {name}"
    assert f"all {len(activations.names())} derivatives agree" in out
    assert (tmp_path / "activations.png").stat().st_size > 0


@needs_data("zip")
def test_zip_code(tmp_path):
    out = run_example("zip_code", tmp_path, "--fast")
    assert "training digits: (2000, 256)" in out
    assert number_after("test accuracy:", out) > 0.6
    for name in ("zip_code.png", "zip_code_first_layer.png", "zip_code_confusion.png"):
        assert (tmp_path / name).stat().st_size > 0


@needs_data("mnist")
def test_mnist_keras_lecture(tmp_path):
    out = run_example("mnist_keras_lecture", tmp_path, "--epochs", "1", "--subset", "1000")
    assert "Total params: 101,770" in out and "Epoch 1/1" in out
    assert number_after("Test accuracy:", out) > 0.5
    assert (tmp_path / "mnist_keras_lecture.png").stat().st_size > 0


def test_mnist_keras_lecture_keeps_the_r_code_beside_the_python():
    text = (EXAMPLES / "mnist_keras_lecture.py").read_text(encoding="utf-8")
    for r_line in ("# model <- keras_model_sequential() %>%",
                   "#   layer_flatten(input_shape = c(28, 28)) %>%",
                   '#   layer_dense(units = 128, activation = "relu") %>%',
                   '# model %>% compile(optimizer = "adam",',
                   "# model %>% fit(x_train, y_train, epochs = 15)",
                   "# class_pred <- model %>% predict_classes(x_test)"):
        assert r_line in text, r_line


def test_weight_sharing(tmp_path):
    out = run_example("weight_sharing", tmp_path)
    assert "forward: max |Conv2D - LocallyConnected2D| = 0\n" in out
    assert number_after(r"backward: max \|∂R/∂x difference\| =", out) < 1e-12
    assert number_after("gradients: max difference", out) < 1e-12
    assert (tmp_path / "weight_sharing.png").stat().st_size > 0
