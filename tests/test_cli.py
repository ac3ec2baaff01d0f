"""The netfit command: in-process through cli.main, and a few real subprocess runs."""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import netfit as nf
from netfit import cli

from data_folder import SHARED_DATA, holds  # noqa: E402


@pytest.fixture(scope="module")
def data_env():
    """Point NETFIT_DATA_DIR at ../shared/data when unset; skip when MNIST cannot be found offline."""
    from netfit.datasets import _files, mnist
    with pytest.MonkeyPatch.context() as mp:
        if not os.environ.get("NETFIT_DATA_DIR") and holds("mnist", SHARED_DATA):
            mp.setenv("NETFIT_DATA_DIR", str(SHARED_DATA))
        if None in _files.find(mnist.SPEC).values():
            pytest.skip("MNIST is not available offline (set NETFIT_DATA_DIR)")
        yield dict(os.environ)


@pytest.fixture(scope="module")
def trained(data_env, tmp_path_factory):
    """An MLP trained by `netfit train` on 10,000 MNIST images for 2 epochs (~91% test accuracy)."""
    folder = tmp_path_factory.mktemp("trained")
    path = folder / "mlp.netfit"
    code = cli.main(["train", "--data", "mnist", "--model", "mlp", "--epochs", "2", "--batch-size", "64",
                     "--limit", "10000", "--test-limit", "2000", "--seed", "0", "--verbose", "0",
                     "--out", str(path), "--plot", str(folder / "plots")])
    assert code == 0
    return path


def run(capsys, *argv):
    code = cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def _commands():
    parser = cli.build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    return sorted(sub.choices)


@pytest.mark.parametrize("command", [None] + _commands())
def test_every_command_has_help(command, capsys):
    with pytest.raises(SystemExit) as info:
        cli.main(([command] if command else []) + ["--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: netfit") and "--help" in out


def test_commands_are_wired():
    commands = _commands()
    assert {"demo", "train", "evaluate", "predict", "summary", "export", "data"} <= set(commands)
    try:
        import netfit.experiments.esl  # noqa: F401
    except ImportError:
        return
    assert "esl" in commands


def test_summary_of_named_architectures(capsys):
    code, out, _ = run(capsys, "summary", "--model", "mlp")
    assert code == 0 and "Total params: 101,770" in out
    code, out, _ = run(capsys, "summary", "--model", "net5", "--links")
    assert code == 0 and "Total params: 1,060" in out and "Total links: 5,194" in out


def test_usage_and_library_errors(capsys, tmp_path):
    with pytest.raises(SystemExit) as info:
        cli.main(["train", "--model", "resnet"])
    assert info.value.code == 2
    assert "expected one of mlp, cnn, net1" in capsys.readouterr().err
    with pytest.raises(SystemExit) as info:
        cli.main(["train", "--data", "cifar"])
    assert info.value.code == 2
    with pytest.raises(SystemExit) as info:
        cli.main(["summary", "m.netfit", "--model", "mlp"])
    assert info.value.code == 2
    capsys.readouterr()
    code, _, err = run(capsys, "evaluate", tmp_path / "missing.netfit")
    assert code == 1 and err.startswith("error: load_model: no such file")
    (tmp_path / "junk.netfit").write_bytes(b"not a model")
    code, _, err = run(capsys, "summary", tmp_path / "junk.netfit")
    assert code == 1 and "not a netfit model file" in err
    spec = {"input_shape": [28, 28], "layers": [{"class_name": "Flatten"}, {"class_name": "Dense",
                                                                             "config": {"unit": 64}}]}
    (tmp_path / "bad.json").write_text(json.dumps(spec))
    code, _, err = run(capsys, "train", "--model", tmp_path / "bad.json", "--data", "zip")
    assert code == 1 and "layers[1] (Dense): unknown config key 'unit'" in err


def test_missing_zoo_function_gives_a_clear_error(monkeypatch):
    import netfit.zoo
    monkeypatch.delattr(netfit.zoo, "mnist_cnn", raising=False)
    with pytest.raises(ValueError, match=r"needs netfit\.zoo\.mnist_cnn\(\)"):
        cli.build_model("cnn")


def test_train_writes_model_metadata_and_plots(trained):
    model = nf.load_model(trained)
    assert model.epochs_trained == 2 and model.compiled
    assert model.metadata["data"] == "mnist" and model.metadata["input_scale"] == [0.0, 1.0]
    assert model.metadata["class_names"] == [str(k) for k in range(10)]
    plots = trained.parent / "plots"
    from netfit import plotting
    for function, name in cli_plots():
        if hasattr(plotting, function):
            assert (plots / name).stat().st_size > 0, name


def cli_plots():
    return [("plot_history", "training_curves.png"), ("plot_confusion_matrix", "confusion_matrix.png"),
            ("plot_first_layer", "first_layer.png"), ("plot_digits", "test_predictions.png")]


def test_train_json_architecture_on_zip(data_env, tmp_path, capsys):
    from netfit.datasets import _files, zipcode
    if None in _files.find(zipcode.SPEC).values():
        pytest.skip("zip-code data not available offline")
    spec = {"input_shape": [16, 16], "layers": [{"class_name": "Flatten"},
                                                {"class_name": "Dense", "config": {"units": 10,
                                                                                   "activation": "softmax"}}]}
    (tmp_path / "net.json").write_text(json.dumps(spec))
    code, out, _ = run(capsys, "train", "--data", "zip", "--model", tmp_path / "net.json", "--epochs", "2",
                       "--optimizer", "sgd", "--lr", "0.1", "--momentum", "0.9", "--verbose", "2",
                       "--out", tmp_path / "zip.netfit")
    assert code == 0 and "Epoch 2/2" in out and "Test loss" in out
    assert nf.load_model(tmp_path / "zip.netfit").metadata["input_scale"] == [-1.0, 1.0]
    code, out, _ = run(capsys, "evaluate", tmp_path / "zip.netfit", "--limit", "300")
    assert code == 0 and "on 300 zip test examples" in out


def test_evaluate_prints_accuracy_per_class_and_confusion(trained, capsys):
    code, out, _ = run(capsys, "evaluate", trained)
    assert code == 0
    first = out.splitlines()[0]
    assert first.startswith("Test accuracy ") and "on 10,000 mnist test examples, loss" in first
    assert float(first.split()[2].rstrip("%")) > 85
    assert "Per-class accuracy:" in out and "Confusion matrix (rows: true class, columns: predicted class):" in out
    rows = out.split("predicted class):\n")[1].splitlines()[1:]
    matrix = np.array([[int(v) for v in row.split()[1:]] for row in rows])
    assert matrix.shape == (10, 10) and matrix.sum() == 10000


def _render(image, path, invert=False, size=None, mode="L"):
    from PIL import Image
    picture = Image.fromarray(255 - image if invert else image)
    if size:
        picture = picture.resize((size, size), Image.BILINEAR)
    picture.convert(mode).save(path)


def test_predict_classifies_rendered_mnist_digits(trained, tmp_path, capsys):
    pytest.importorskip("PIL")
    from netfit.datasets import mnist
    _, (x_test, y_test) = mnist.load_data()
    model = nf.load_model(trained)
    proba = model.predict(x_test[:50].astype("float32") / 255)
    confident = [i for i in range(50) if proba[i].argmax() == y_test[i] and proba[i].max() > 0.95][:4]
    files, labels = [], []
    for i in confident:
        for variant, kwargs in (("raw", {}), ("paper", {"invert": True, "size": 140, "mode": "RGB"})):
            path = tmp_path / f"digit{i}-{variant}.{'png' if variant == 'raw' else 'jpg'}"
            _render(x_test[i], path, **kwargs)
            files.append(path)
            labels.append(str(y_test[i]))
    from PIL import Image
    ink = Image.fromarray(x_test[confident[0]]).resize((96, 96), Image.BILINEAR)
    transparent = Image.new("RGBA", ink.size, (0, 0, 0, 0))
    transparent.putalpha(ink)                      # black ink, transparent paper: drawn over white
    transparent.save(tmp_path / "transparent.png")
    files.append(tmp_path / "transparent.png")
    labels.append(str(y_test[confident[0]]))
    code, out, _ = run(capsys, "predict", trained, *files)
    assert code == 0
    answers = [line for line in out.splitlines() if not line.startswith(" ")]
    assert [a.split(": ")[1].split()[0] for a in answers] == labels
    probabilities = [line for line in out.splitlines() if line.startswith(" ")]
    assert len(probabilities) == len(files) and probabilities[0].strip().startswith("0: ")


def test_predict_errors(trained, tmp_path, capsys):
    (tmp_path / "text.png").write_text("not a picture")
    code, _, err = run(capsys, "predict", trained, tmp_path / "text.png")
    assert code == 1 and err.startswith("error: predict:")
    code, _, err = run(capsys, "predict", trained, tmp_path / "missing.png")
    assert code == 1 and "no such file" in err


def test_summary_and_export_of_saved_model(trained, tmp_path, capsys):
    code, out, _ = run(capsys, "summary", trained)
    assert code == 0 and "Total params: 101,770" in out
    pytest.importorskip("onnx")
    code, out, _ = run(capsys, "export", trained, tmp_path / "m.onnx")
    assert code == 0 and (tmp_path / "m.onnx").stat().st_size > 400_000


def test_data_command_is_mounted(data_env, capsys):
    code, out, _ = run(capsys, "data", "list")
    assert code == 0 and "mnist" in out


def _netfit(*argv, **kwargs):
    env = {**os.environ, **kwargs.pop("env", {}), "PYTHONUNBUFFERED": "1", "OPENBLAS_NUM_THREADS": "1"}
    return subprocess.Popen([sys.executable, "-m", "netfit", *map(str, argv)], env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kwargs)


def test_subprocess_entry_point(tmp_path):
    proc = _netfit("summary", "--model", "mlp")
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0 and "101,770" in out, err
    proc = _netfit("summary", tmp_path / "missing.netfit")
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 1 and err.startswith("error: ") and out == ""


def test_ctrl_c_saves_the_model_and_exits_130(data_env, tmp_path):
    path = tmp_path / "interrupted.netfit"
    proc = _netfit("train", "--data", "mnist", "--epochs", "100", "--limit", "2000", "--test-limit", "100",
                   "--verbose", "2", "--out", path, env=data_env)
    deadline = time.monotonic() + 60
    lines = []
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        lines.append(line)
        if "loss:" in line:                     # the end-of-epoch line of epoch 1
            proc.send_signal(signal.SIGINT)
            break
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, "".join(lines) + out + err
    assert "interrupted" in out.lower()
    model = nf.load_model(path)
    assert 1 <= model.epochs_trained < 100 and model.metadata["data"] == "mnist"


# -- --threads and --device ------------------------------------------------------------------------
def test_every_training_command_takes_threads_and_device():
    parser = cli.build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    present = [c for c in cli.TRAINING_COMMANDS if c in sub.choices]
    assert {"demo", "train"} <= set(present)
    for command in present:
        options = {o for a in sub.choices[command]._actions for o in a.option_strings}
        assert {"--threads", "--device"} <= options, command


def test_threads_and_device_hold_for_the_command_and_are_put_back(monkeypatch, capsys):
    import fake_gpu
    from netfit import backend, config
    fake_gpu.install()
    seen = {}

    def spy(args):
        seen.update(threads=config.threads(), device=backend.current_device())
        return 0

    monkeypatch.setattr(cli, "cmd_train", spy)
    before = config.threads()
    assert cli.main(["train", "--threads", "2", "--device", "fakegpu"]) == 0
    assert seen == {"threads": 2, "device": "fakegpu:0"}
    assert config.threads() == before and backend.current_device() == "cpu"
    assert cli.main(["train", "--threads", "AUTO"]) == 0 and seen["threads"] == "auto"


def test_threads_above_the_cores_warn_on_stderr_and_the_command_runs(monkeypatch, capsys):
    from netfit import config
    monkeypatch.setattr(config, "available_cores", lambda: 2)
    monkeypatch.setattr(cli, "cmd_demo", lambda args: 0)
    code, _, err = run(capsys, "demo", "--threads", "64")
    assert code == 0
    assert "warning: --threads 64: expected at most 2 threads, the cores this process may run on, got 64: 64 " \
           "threads would take turns on 2 cores, which is slower. Fix: --threads auto or --threads 2.\n" in err
    assert "set_threads" not in err                                   # the command line's words, not Python's


def test_threads_without_threadpoolctl_warn_in_the_command_lines_words(monkeypatch, capsys):
    from netfit import config
    monkeypatch.setitem(sys.modules, "threadpoolctl", None)
    monkeypatch.setattr(config, "_warned_unheld_blas", False)
    monkeypatch.setattr(config, "available_cores", lambda: 2)
    monkeypatch.setattr(cli, "cmd_train", lambda args: 0)
    for _ in range(2):                                                # every command says it, not once per process
        code, _, err = run(capsys, "train", "--threads", "2")
        assert code == 0
        assert err == ("warning: --threads 2: threadpoolctl is not installed, so BLAS cannot be held at one thread "
                       "while netfit's pool of 2 threads runs beside BLAS's own threads; that can be slower than one "
                       "thread. Fix: pip install 'netfit[threads]', or set OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 "
                       "MKL_NUM_THREADS=1 before starting Python.\n")


def test_demo_without_matplotlib_warns_once_up_front_and_trains(monkeypatch, capsys, tmp_path):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    said_before_the_data = []
    x, y = np.random.default_rng(0).random((64, 28, 28), dtype=np.float32), np.arange(64) % 10

    def tiny_mnist(*args, **kwargs):
        said_before_the_data.append(capsys.readouterr().err)
        return (x, y), (x[:32], y[:32]), {"data": "mnist", "class_names": [str(i) for i in range(10)]}
    monkeypatch.setattr(cli, "load_data", tiny_mnist)
    code, out, err = run(capsys, "demo", "--epochs", "1", "--verbose", "0", "--out", tmp_path / "out")
    assert code == 0, err
    assert said_before_the_data == ["warning: demo: netfit.plotting needs matplotlib, which is not installed. Fix: "
                                    "pip install 'netfit[plot]'. The demo trains and saves the model without its "
                                    "pictures.\n"]
    assert err == "" and ".png" not in out                           # no second warning, no picture
    assert (tmp_path / "out" / "lecture_mlp.netfit").exists()


def test_device_without_cupy_fails_before_any_data(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "cupy", None)

    def no_data(*args, **kwargs):
        raise AssertionError("read data before checking --device")
    monkeypatch.setattr(cli, "load_data", no_data)
    code, _, err = run(capsys, "train", "--device", "cuda:0")
    assert code == 1
    assert err.strip() == ("error: --device: asked for device 'gpu' but CuPy is not installed. Fix: pip install "
                           "'netfit[gpu]' (or the cupy-cuda12x / cupy-cuda13x wheel that matches your CUDA driver).")


def test_train_on_the_fake_gpu_with_threads(data_env, tmp_path, capsys):
    import fake_gpu
    fake_gpu.install()
    path = tmp_path / "m.netfit"
    code, out, err = run(capsys, "train", "--model", "mlp", "--epochs", "1", "--limit", "600", "--test-limit", "200",
                         "--verbose", "0", "--device", "fakegpu", "--threads", "2", "--out", path)
    assert code == 0, err
    assert "Test loss" in out and path.exists()
    assert nf.load_model(path).device == "cpu"                        # loaded on the current device
