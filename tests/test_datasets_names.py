"""Issue 13, item 7 (part): Keras names that behave as in Keras.

`import netfit` loads `nf.datasets` (the lecture's `nf.datasets.mnist.load_data()`), without
loading the network stack; Fashion-MNIST's class names reach train, evaluate, predict and the
plots. (GELU's exact form: tests/test_activations.py; Normalization in ONNX: tests/test_export.py.)
"""
import dataclasses
import subprocess
import sys

import numpy as np
import pytest

import netfit as nf
from netfit import cli, datasets, images
from netfit.datasets import fashion_mnist

FASHION = list(fashion_mnist.class_names)


def test_import_netfit_loads_datasets_without_the_network_stack():
    assert nf.datasets.mnist.load_data is datasets.mnist.load_data
    assert "datasets" in nf.__all__
    code = ("import sys, netfit as nf; nf.datasets.mnist.load_data; "
            "print(sorted(m for m in ('urllib.request', 'http.client', 'ssl') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"          # downloads load urllib when they happen, not at import


@pytest.fixture
def tiny_fashion(monkeypatch):
    rng = np.random.default_rng(0)
    y = np.arange(60) % 10
    x = (rng.random((60, 28, 28)) * 40).astype(np.uint8)
    for k in range(10):                        # a learnable block per class
        x[y == k, 2 * k:2 * k + 6, 4:24] = 250
    arrays = ((x[:40], y[:40]), (x[40:], y[40:]))
    spec = dataclasses.replace(fashion_mnist.SPEC, loader=lambda path=None, verbose=None: arrays)
    monkeypatch.setitem(datasets.DATASETS, "fashion", spec)
    return arrays


def test_fashion_names_reach_train_evaluate_predict_and_plots(tiny_fashion, tmp_path, monkeypatch, capsys):
    pytest.importorskip("matplotlib")
    from netfit import plotting
    drawn = []
    real = plotting.plot_digits
    monkeypatch.setattr(plotting, "plot_digits",
                        lambda *a, **k: drawn.append(k.get("class_names")) or real(*a, **k))
    assert images.load_data("fashion")[2]["class_names"] == FASHION
    model_path = tmp_path / "f.netfit"
    assert cli.main(["train", "--data", "fashion", "--epochs", "3", "--verbose", "0", "--out", str(model_path),
                     "--plot", str(tmp_path / "plots")]) == 0
    assert nf.load_model(model_path).metadata["class_names"] == FASHION
    assert drawn == [FASHION]
    assert cli.main(["evaluate", str(model_path)]) == 0
    out = capsys.readouterr().out
    assert "0 T-shirt/top" in out and "9 Ankle boot" in out
    pytest.importorskip("PIL")
    from PIL import Image
    Image.fromarray(tiny_fashion[1][0][0]).save(tmp_path / "item.png")
    assert cli.main(["predict", str(model_path), str(tmp_path / "item.png")]) == 0
    out = capsys.readouterr().out
    assert "T-shirt/top: " in out and any(f"item.png: {name} (p = " in out for name in FASHION)


def test_plot_titles_say_digit_only_for_digits():
    pytest.importorskip("matplotlib")
    from netfit import plotting
    x = np.zeros((2, 28, 28))
    fig = plotting.plot_digits(x, [0, 9], [6, 9], rows=1, cols=2, class_names=FASHION)
    assert [ax.get_title() for ax in fig.axes] == ["True: T-shirt/top\nPrediction: Shirt",
                                                   "True: Ankle boot\nPrediction: Ankle boot"]
    fig = plotting.plot_digits(x, [0, 9], [6, 9], rows=1, cols=2, class_names=[str(i) for i in range(10)])
    assert fig.axes[0].get_title() == "True digit: 0, Prediction: 6"


def test_old_fashion_models_with_digit_names_get_the_real_ones(tiny_fashion, tmp_path, capsys):
    pytest.importorskip("PIL")
    model = nf.zoo.lecture_mlp(seed=0)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    model.metadata = {"data": "fashion", "input_scale": [0.0, 1.0], "digit_box": None,
                      "class_names": [str(i) for i in range(10)]}          # what netfit train used to record
    model.save(tmp_path / "old.netfit")
    from PIL import Image
    Image.fromarray(tiny_fashion[1][0][0]).save(tmp_path / "item.png")
    assert cli.main(["predict", str(tmp_path / "old.netfit"), str(tmp_path / "item.png")]) == 0
    assert "Ankle boot: " in capsys.readouterr().out
