"""Issue 21: what a newcomer met on the command line, each with the behaviour that replaced it.

`netfit evaluate` of the demo's model (saved with categorical cross-entropy), hints that start
20-minute runs, `--epochs 0`, bare `netfit`, typos without a "did you mean", the `datasets.get:`
prefix, two things called MODEL, two of eight optimizers, `--batch-size 0`, `nan%` in `netfit esl`,
a silent `export`, swapped `predict` arguments and an ETA that counted start-up.
Most run in-process on a small synthetic stand-in for MNIST (`cli.load_data` patched), so they
take seconds and need no data set.
"""
import argparse
import io
import re
import shlex
import sys

import numpy as np
import pytest

import netfit as nf
from netfit import cli, losses, optimizers
from netfit.callbacks import ProgressBar
from netfit.layers import Dense, Flatten

CLASSES = [str(k) for k in range(10)]


def _digits(n, seed, classes=10):
    """n 28×28 pictures in [0, 1]; class k is a bright 4×4 block at its own place, with noise."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % classes
    x = rng.uniform(0, 0.2, (n, 28, 28)).astype(np.float32)
    for k in range(classes):
        row, col = divmod(k, 5)
        x[y == k, 4 + 10 * row:8 + 10 * row, 2 + 5 * col:6 + 5 * col] = 1.0
    return x, y


@pytest.fixture
def fake_mnist(monkeypatch):
    """`cli.load_data` returns 600 training and 200 test pictures of 10 classes, as MNIST's metadata says."""
    def load(data="mnist", limit=None, test_limit=None):
        (x, y), (xt, yt) = _digits(600, 0), _digits(200, 1)
        return (x[:limit], y[:limit]), (xt[:test_limit], yt[:test_limit]), {
            "data": "mnist", "class_names": CLASSES, "input_scale": [0.0, 1.0]}
    monkeypatch.setattr(cli, "load_data", load)
    return load


def run(capsys, *argv):
    code = cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def usage_error(capsys, *argv):
    """(exit code, stderr) of a command argparse refuses."""
    with pytest.raises(SystemExit) as info:
        cli.main([str(a) for a in argv])
    return info.value.code, capsys.readouterr().err


# -- 1. every command that feeds a saved model data reads its loss ---------------------------------
def _onehot(y):
    return nf.utils.to_categorical(y, 10)


# (id, loss, last activation, how the test encodes the labels for model.evaluate)
LOSS_KINDS = [
    ("sparse", "sparse_categorical_crossentropy", "softmax", lambda y: y),
    ("categorical", "categorical_crossentropy", "softmax", _onehot),
    ("kl", "kl_divergence", "softmax", _onehot),
    ("mse-sigmoid", "mse", "sigmoid", _onehot),                        # ESL's nets: squared error on one-hot rows
    ("binary-multilabel", "binary_crossentropy", "sigmoid", _onehot),
    ("logits", losses.CategoricalCrossentropy(from_logits=True), "linear", _onehot),
]


def _saved_model(path, loss, activation, encode, units=10, classes=10):
    x, y = _digits(600, 0, classes)
    model = nf.Sequential([Flatten(input_shape=(28, 28)), Dense(units, activation=activation)], seed=0)
    model.compile(optimizer=nf.optimizers.Adam(0.01), loss=loss)
    model.fit(x, encode(y), epochs=3, batch_size=32, verbose=0)
    model.metadata = {"data": "mnist", "class_names": CLASSES[:classes], "input_scale": [0.0, 1.0]}
    model.save(path)
    return nf.load_model(path)


def _printed(out):
    first = out.splitlines()[0]
    accuracy = float(re.search(r"Test accuracy ([\d.]+)%", first).group(1)) / 100
    return accuracy, float(re.search(r"loss ([\d.]+)", first).group(1))


@pytest.mark.parametrize("kind, loss, activation, encode", LOSS_KINDS, ids=[k[0] for k in LOSS_KINDS])
def test_evaluate_reads_a_model_saved_with_any_loss(kind, loss, activation, encode, fake_mnist, tmp_path, capsys):
    model = _saved_model(tmp_path / "m.netfit", loss, activation, encode)
    code, out, err = run(capsys, "evaluate", tmp_path / "m.netfit")
    assert code == 0, err
    _, (xt, yt), _ = fake_mnist()
    accuracy, loss_value = _printed(out)
    assert accuracy == pytest.approx(np.mean(model.predict(xt).argmax(axis=1) == yt), abs=5e-5)
    assert accuracy > 0.9                                              # the blocks are easy: it learnt them
    assert loss_value == pytest.approx(model.evaluate(xt, encode(yt)), abs=5e-4)


def test_the_demos_model_evaluates(fake_mnist, monkeypatch, tmp_path, capsys):
    """The issue's path: `netfit demo` (categorical cross-entropy, one-hot labels), then `netfit evaluate`."""
    monkeypatch.setitem(sys.modules, "matplotlib", None)             # no pictures: faster, and not the point
    assert run(capsys, "demo", "--epochs", "1", "--verbose", "0", "--out", tmp_path)[0] == 0
    assert nf.load_model(tmp_path / "lecture_mlp.netfit").loss.name == "categorical_crossentropy"
    code, out, err = run(capsys, "evaluate", tmp_path / "lecture_mlp.netfit")
    assert code == 0 and err == "" and out.startswith("Test accuracy ")


def test_one_sigmoid_output_evaluates_on_two_classes_and_refuses_ten(monkeypatch, tmp_path, capsys):
    model = _saved_model(tmp_path / "b.netfit", "binary_crossentropy", "sigmoid", lambda y: y[:, None], units=1,
                         classes=2)
    (x, y), (xt, yt) = _digits(100, 0, 2), _digits(60, 1, 2)
    two = ((x, y), (xt, yt), {"data": "mnist", "class_names": ["0", "1"], "input_scale": [0.0, 1.0]})
    monkeypatch.setattr(cli, "load_data", lambda *a, **k: two)
    code, out, err = run(capsys, "evaluate", tmp_path / "b.netfit")
    assert code == 0, err
    accuracy, loss_value = _printed(out)
    assert accuracy == pytest.approx(np.mean(model.predict_classes(xt) == yt), abs=5e-5)
    assert loss_value == pytest.approx(model.evaluate(xt, yt[:, None].astype(np.float32)), abs=5e-4)
    ten = ((x, y), _digits(60, 1), {"data": "mnist", "class_names": CLASSES, "input_scale": [0.0, 1.0]})
    monkeypatch.setattr(cli, "load_data", lambda *a, **k: ten)
    code, _, err = run(capsys, "evaluate", tmp_path / "b.netfit")
    assert code == 1
    assert "evaluate: expected labels 0 … 1 for a model of 1 output(s) trained with binary_crossentropy, got " \
           "labels up to 9; give the data set it was trained on (--data)." in err


def _pictures(tmp_path, n=3):
    from PIL import Image
    xt, yt = _digits(n, 1)
    paths = []
    for i in range(n):
        paths.append(tmp_path / f"digit{i}.png")
        Image.fromarray((xt[i] * 255).astype(np.uint8)).save(paths[-1])
    return paths


@pytest.mark.parametrize("loss, activation, encode, units, classes", [
    (losses.CategoricalCrossentropy(from_logits=True), "linear", _onehot, 10, 10),
    ("binary_crossentropy", "sigmoid", lambda y: y[:, None], 1, 2)], ids=["logits", "one-sigmoid"])
def test_predict_prints_probabilities_whatever_the_loss(loss, activation, encode, units, classes, tmp_path, capsys):
    pytest.importorskip("PIL")
    _saved_model(tmp_path / "m.netfit", loss, activation, encode, units, classes)
    code, out, err = run(capsys, "predict", tmp_path / "m.netfit", *_pictures(tmp_path))
    assert code == 0, err
    rows = [line for line in out.splitlines() if line.startswith("  ")]
    for row in rows:
        p = [float(v) for v in re.findall(r": ([\d.]+)", row)]
        assert len(p) == classes and all(0 <= v <= 1 for v in p) and sum(p) == pytest.approx(1, abs=0.01)


@pytest.mark.parametrize("argv, metric", [
    (["--loss", "categorical_crossentropy"], "categorical_accuracy"),
    (["--loss", "MSE"], "categorical_accuracy"),                        # an alias, in any case
    (["--optimizer", "sdlm", "--loss", "mse", "--lr", "0.01"], "categorical_accuracy"),
    (["--optimizer", "lbfgs", "--batch-size", "0"], "accuracy"),
])
def test_train_fits_any_loss_and_optimizer_and_evaluate_reads_the_file(argv, metric, fake_mnist, tmp_path, capsys):
    if "lbfgs" in argv:
        pytest.importorskip("scipy")
    path = tmp_path / "m.netfit"
    code, out, err = run(capsys, "train", "--epochs", "2", "--verbose", "0", "--out", path, *argv)
    assert code == 0, err
    model = nf.load_model(path)
    assert [name for name, _ in model.metrics] == [metric]
    trained = float(re.search(r"test accuracy ([\d.]+)%", out).group(1))
    code, out, err = run(capsys, "evaluate", path)
    assert code == 0, err
    assert _printed(out)[0] * 100 == pytest.approx(trained, abs=0.01)


# -- 8. hints that finish in about a minute ------------------------------------------------------
def test_the_demos_hint_is_a_run_of_about_a_minute(fake_mnist, monkeypatch, tmp_path, capsys):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    code, out, _ = run(capsys, "demo", "--epochs", "1", "--verbose", "0", "--out", tmp_path)
    assert code == 0
    hint = out.splitlines()[-1]
    command = re.search(r"`netfit (train [^`]*)`", hint).group(1)
    args = cli.build_parser().parse_args(shlex.split(command))
    # The CNN on 60,000 MNIST pictures: 11–12 s an epoch at batch 128 on 2 cores (README). The defaults
    # (15 epochs at batch 32: 28,125 steps) took 8–20 minutes; a minute is about 1,000 steps of 128.
    assert args.model == "cnn" and args.epochs * -(-60_000 // args.batch_size) <= 1_000
    assert "about 30 s" in hint                         # 27 s from a fresh clone (2 cores, 2026-12-07)


# -- 10. the smaller surprises -------------------------------------------------------------------
@pytest.mark.parametrize("command", ["train", "demo"])
def test_epochs_0_is_refused_naming_epochs_1(command, capsys):
    code, err = usage_error(capsys, command, "--epochs", "0")
    assert code == 2
    assert "argument --epochs: expected a positive number of epochs, got '0': fewer than 1 epoch would train " \
           "nothing and save an untrained model. Fix: --epochs 1" in err


def test_bare_netfit_prints_the_help(capsys):
    code, out, err = run(capsys)
    assert code == 2 and err == ""                                     # 2: still a usage error, for scripts
    assert out.startswith("usage: netfit") and "train" in out and "evaluate" in out and "--version" in out


@pytest.mark.parametrize("argv, said", [
    (["trian"], "invalid choice: 'trian' (choose from demo, train, "),
    (["train", "--model", "cnnn"], "argument --model: expected one of mlp, cnn, net1, net2, net3, net4, net5, "
                                   "zipcnn, lecun1989, zipresnet or a FILE.json, got 'cnnn'; did you mean 'cnn'?"),
    (["train", "--model", "Net-3"], "did you mean 'net3'?"),
    (["train", "--data", "mnsit"], "argument --data: expected one of mnist, zip (zipcode), fashion (fashion_mnist, "
                                   "fashion-mnist), got 'mnsit'; did you mean 'mnist'?"),
    (["evaluate", "m.netfit", "--data", "fahsion"], "did you mean 'fashion'?"),
    (["data", "path", "zpi"], "did you mean 'zip'?"),
    (["train", "--optimizer", "Adamm"], "did you mean 'adam'?"),
    (["train", "--loss", "categorial_crossentropy"], "did you mean 'categorical_crossentropy'?"),
])
def test_typos_get_a_did_you_mean_in_the_options_words(argv, said, capsys):
    code, err = usage_error(capsys, *argv)
    assert code == 2 and said in err
    assert "datasets.get" not in err and "optimizers.get" not in err


def test_names_in_another_case_just_work():
    parser = cli.build_parser()
    args = parser.parse_args(["train", "--model", "MLP", "--data", "MNIST", "--optimizer", "SGD", "--loss", "MSE"])
    assert (args.model, args.data, args.optimizer, args.loss) == ("mlp", "mnist", "sgd", "mean_squared_error")
    assert parser.parse_args(["summary", "--model", "CNN"]).model == "cnn"


def test_summary_has_one_thing_called_model(capsys):
    usage = next(p for name, p in _subparsers() if name == "summary").format_usage()
    assert "[--model ARCH]" in usage and "[MODEL.netfit]" in usage
    assert re.findall(r"\bMODEL\b(?!\.netfit)", usage) == []
    for name, parser in _subparsers():                                 # a saved file is MODEL.netfit everywhere
        assert not re.search(r"\bMODEL\b(?!\.netfit)", parser.format_usage()), name


def _subparsers():
    action = next(a for a in cli.build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    return list(action.choices.items())


def test_train_offers_every_registered_optimizer(monkeypatch, capsys):
    class Mine(optimizers.SGD):
        pass
    monkeypatch.setitem(optimizers._TABLE, "mine", Mine)                 # a registry entry, not a hand list
    parser = cli.build_parser()
    for name in optimizers.names():
        assert parser.parse_args(["train", "--optimizer", name]).optimizer == name
    assert len(optimizers.names()) >= 9 and {"rmsprop", "adagrad", "nadam", "adamw", "lbfgs", "sdlm"} <= \
        set(optimizers.names())
    assert "mine" in " ".join(next(p for n, p in _subparsers() if n == "train").format_help().split())


def test_optimizer_options_apply_where_the_optimizer_takes_them():
    assert cli.make_optimizer("adamw", {"--lr": None, "--weight-decay": None}).get_config()["weight_decay"] == 0.004
    assert cli.make_optimizer("rmsprop", {"--momentum": 0.5}).get_config()["momentum"] == 0.5
    with pytest.raises(ValueError, match=r"^train: --optimizer lbfgs takes no --lr; drop --lr, or choose an optimizer "
                                         r"that takes it: sgd, rmsprop, adagrad, adam, nadam, adamw, sdlm\.$"):
        cli.make_optimizer("lbfgs", {"--lr": 0.1})
    with pytest.raises(ValueError, match=r"--optimizer adam takes no --momentum; .* takes it: sgd, rmsprop\."):
        cli.make_optimizer("adam", {"--momentum": 0.9})


@pytest.mark.parametrize("command", ["train", "demo"])
def test_batch_size_0_is_the_whole_training_set(command, fake_mnist, monkeypatch, tmp_path, capsys):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    seen = {}
    fit = nf.Sequential.fit

    def spy(self, *args, **kwargs):
        history = fit(self, *args, **kwargs)
        seen.update(history.params)
        return history
    monkeypatch.setattr(nf.Sequential, "fit", spy)
    out = ["--out", tmp_path / ("m.netfit" if command == "train" else "demo")]
    code, _, err = run(capsys, command, "--batch-size", "0", "--epochs", "1", "--verbose", "0", *out)
    assert code == 0, err
    assert seen["steps"] == 1 and seen["batch_size"] == seen["samples"] == 600
    helptext = " ".join(next(p for n, p in _subparsers() if n == command).format_help().split())
    assert "0 for the whole training set in one step (full batch)" in helptext


def test_esl_prints_no_nan_when_every_draw_stopped_early():
    from netfit.experiments._report import Results
    config = {"full": False, "train_size": 320, "test_size": 160, "recipe": "tuned", "recipes": {}, "repeats": 2}
    results = Results(config)
    stopped_at_120 = np.r_[np.linspace(0.3, 0.8, 120), np.full(180, np.nan)]
    stopped_at_175 = np.r_[np.linspace(0.3, 0.9, 175), np.full(125, np.nan)]     # L-BFGS converged, ≤ 300 allowed
    results.add("net1", 0, 0.8, 1.0, stopped_at_120, 1.0, 2570, 2570)
    results.add("net1", 1, 0.9, 1.0, stopped_at_175, 1.0, 2570, 2570)
    lines = results.epochs_markdown()
    text = "\n".join(lines)
    assert "nan" not in text.lower()
    header = next(line for line in lines if line.startswith("| net |"))
    assert header.endswith("| epoch 150 | epoch 175 |")                 # ends where the longest draw stopped
    row = next(line for line in lines if line.startswith("| Net-1 |")).split(" | ")
    assert row[-1] == "85.0%† |"                                         # (0.8 + 0.9) / 2: as the results table
    assert row[-2] == f"{(0.8 + stopped_at_175[149]) / 2:.1%}†"           # the stopped draw keeps its last accuracy
    assert "† some draws had stopped before this epoch (L-BFGS converged" in text


def test_export_says_what_it_wrote_and_how_to_run_it(tmp_path, capsys):
    pytest.importorskip("onnx")
    _saved_model(tmp_path / "m.netfit", "sparse_categorical_crossentropy", "softmax", lambda y: y)
    code, out, err = run(capsys, "export", tmp_path / "m.netfit", tmp_path / "m.onnx")
    assert code == 0, err
    size = (tmp_path / "m.onnx").stat().st_size
    first = out.splitlines()[0]
    assert first == (f"Wrote {tmp_path / 'm.onnx'}: ONNX opset 17, {size / 1e6:.2f} MB; input \"input\" float32 "
                     f"(N, 28, 28) scaled to [0, 1] as the model was trained, output \"output\" (N, 10)")
    assert "onnxruntime.InferenceSession(" in out and 'session.run(None, {"input": x})' in out
    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        assert "Not checked: onnxruntime is not installed" in out
    else:
        difference = float(re.search(r"by at most ([\d.e+-]+)\.", out).group(1))
        assert difference < 1e-4


@pytest.mark.parametrize("argv, said", [
    (["picture.png", "model.netfit"], "expected the model first, then the pictures, got the picture 'picture.png' "
                                      "first and the model 'model.netfit' after it. Fix: netfit predict model.netfit "
                                      "picture.png"),
    (["a.png", "b.jpg"], "got the picture 'a.png' first. Fix: netfit predict MODEL.netfit ..."),
])
def test_swapped_predict_arguments_name_the_order(argv, said, capsys):
    code, err = usage_error(capsys, "predict", *argv)
    assert code == 2 and said in err and err.startswith("usage: netfit predict")


def test_swapped_export_arguments_name_the_order(capsys):
    code, err = usage_error(capsys, "export", "m.onnx", "m.netfit")
    assert code == 2 and err.startswith("usage: netfit export")
    assert "expected the model first, then the ONNX file, got the ONNX file 'm.onnx' first and the model " \
           "'m.netfit' after it. Fix: netfit export m.netfit m.onnx" in err


def test_the_eta_counts_the_steps_own_times_not_the_start_up(monkeypatch):
    class Tty(io.StringIO):
        def isatty(self):
            return True
    clock = iter([0.0, 10.0, 11.0, 12.0])                        # epoch begins; step 1 ends after 10 s of start-up
    monkeypatch.setattr("netfit.callbacks.progress.time.perf_counter", lambda: next(clock))
    stream = Tty()
    bar = ProgressBar(1, stream=stream, interval=0)
    bar.set_params({"epochs": 1, "steps": 11})
    bar.on_train_begin()
    bar.on_epoch_begin(0)
    for step in range(3):
        bar.on_train_batch_end(step, {"loss": 1.0})
    draws = stream.getvalue().split("\r")[1:]
    assert "ETA" not in draws[0]                                # one step says nothing about the others yet
    assert "ETA: 9s" in draws[1] and "ETA: 8s" in draws[2]      # 1 s a step, not (12 s / 3) × 8 = 32 s
