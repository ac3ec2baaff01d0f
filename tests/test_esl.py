"""The ESL Table 11.1 experiment: protocol, tables, files, CLI; tiny runs on synthetic digits."""
import argparse
import csv
import io
import re
from pathlib import Path

import numpy as np
import pytest

from netfit.experiments import EXPERIMENTS, add_parsers, esl
from netfit.experiments._report import RUN_FIELDS

from data_folder import ABSENT, SHARED_DATA as SHARED, holds  # noqa: E402
TINY = {"repeats": 1, "epochs": 2, "train_size": 20, "test_size": 10, "verbose": 0, "baseline": False}
ROW = re.compile(r"^\| (Net-[1-5]|CNN|LogisticRegression) \| [^|]+ \| [\d,]+ \| [\d,]+ \| \d+\.\d% \| \d+\.\d \| \d+\.\d% \| \d+\.\d% \| "
                 r"\d+\.\d% \| (\d+\.\d%|–) \|$")


@pytest.fixture(scope="module")
def data():
    return esl.synthetic_data(n_train=60, n_test=40, seed=0)


@pytest.fixture(scope="module")
def tiny(data, tmp_path_factory):
    out = tmp_path_factory.mktemp("esl")
    return esl.run(**{**TINY, "repeats": 2, "baseline": True}, data=data, out=out), out


def test_writes_the_six_files(tiny):
    _, out = tiny
    assert sorted(p.name for p in out.iterdir()) == ["curves.csv", "epochs.png", "esl.png", "paired.csv",
                                                     "results.csv", "results.md"]
    for name in ("esl.png", "epochs.png"):
        assert (out / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_markdown_table_has_one_row_per_net_beside_the_books_numbers(tiny):
    results, out = tiny
    text = (out / "results.md").read_text(encoding="utf-8")
    assert text == results.to_markdown()
    assert text.startswith("## ESL Table 11.1 on the zip-code digits (20 / 10 digits)\n")
    assert "Protocol: 2 repeat(s), each a fresh stratified draw of 20 training digits" in text
    assert "on which every net trains (paired draws)" in text
    lines = text.splitlines()
    header = lines.index(next(line for line in lines if line.startswith("| net | architecture")))
    assert lines[header + 1] == "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"
    assert lines[header + 2].startswith("| LogisticRegression | scikit-learn LogisticRegression() (C = 1)")
    assert ROW.match(lines[header + 2]) and lines[header + 2].endswith("| – |")
    rows = lines[header + 3:header + 8]
    assert [row.split(" | ")[0] for row in rows] == [f"| Net-{k}" for k in range(1, 6)]
    assert all(ROW.match(row) for row in rows), rows
    assert [row.split(" | ")[2:4] for row in rows] == [["2,570", "2,570"], ["3,214", "3,214"], ["1,226", "1,226"],
                                                       ["1,132", "2,266"], ["1,060", "5,194"]]
    assert [row.split(" | ")[-1] for row in rows] == ["80.0% |", "87.0% |", "88.5% |", "94.0% |", "98.4% |"]


def test_csv_files_hold_every_run_and_epoch(tiny):
    results, out = tiny
    runs = list(csv.DictReader(io.StringIO((out / "results.csv").read_text())))
    assert list(runs[0]) == list(RUN_FIELDS)
    assert [r["net"] for r in runs] == ["logreg"] * 2 + list(esl.NETS) * 2
    runs = runs[2:]
    assert {r["train_size"] for r in runs} == {"20"} and {r["epochs"] for r in runs} == {"2"}
    assert all(0 <= float(r["test_accuracy"]) <= 1 for r in runs)
    curves = list(csv.DictReader(io.StringIO((out / "curves.csv").read_text())))
    assert len(curves) == 5 * 2 * 2 and {c["epoch"] for c in curves} == {"1", "2"}
    # The last epoch's test accuracy is the reported one.
    last = {(c["net"], c["repeat"]): float(c["test_accuracy"]) for c in curves if c["epoch"] == "2"}
    assert all(abs(last[r["net"], r["repeat"]] - float(r["test_accuracy"])) < 1e-6 for r in runs)
    paired = list(csv.DictReader(io.StringIO((out / "paired.csv").read_text())))
    assert [(d["from"], d["to"]) for d in paired] == [("logreg", "net1"), ("net1", "net2"), ("net2", "net3"),
                                                      ("net3", "net4"), ("net4", "net5")]
    assert paired[0]["book"] == "" and float(paired[1]["book"]) == pytest.approx(0.07)


def test_summary_statistics_over_repeats(data):
    results = esl.run(**{**TINY, "repeats": 3}, nets=["net2"], data=data)
    (row,) = results.summary()
    acc = results.accuracies("net2")
    assert row["n"] == 3 and len(acc) == 3
    assert row["mean"] == pytest.approx(acc.mean()) and row["sd"] == pytest.approx(acc.std(ddof=1))
    assert (row["min"], row["max"]) == (acc.min(), acc.max()) and row["book"] == 0.87
    assert results.curves["net2"][0].shape == (2,)


def test_same_seed_same_numbers_other_seed_other_draws(data):
    a = esl.run(**TINY, nets=["net1", "net4"], data=data, seed=3).to_csv()
    b = esl.run(**TINY, nets=["net1", "net4"], data=data, seed=3).to_csv()
    drop_time = lambda text: [line.rsplit(",", 3)[0] for line in text.splitlines()]    # noqa: E731
    assert drop_time(a) == drop_time(b)


def test_progress_one_line_per_run(data):
    lines = []
    esl.run(**{**TINY, "verbose": 1, "repeats": 2}, nets=["net1", "net3"], data=data, print_fn=lines.append)
    assert len(lines) == 4
    assert re.match(r"\[1/4\] Net-1 repeat 1/2: test accuracy \d+\.\d%, train \d+\.\d% \(\d+\.\d s\)", lines[0])
    assert lines[-1].startswith("[4/4] Net-3 repeat 2/2")


def test_crossentropy_cnn_sgd_full_batch_and_full_split(data):
    results = esl.run(**{**TINY, "train_size": None, "test_size": None}, full=True, nets=["net5", "cnn"],
                      loss="crossentropy", optimizer="sgd", lr=0.1, batch_size=None, data=data)
    c = results.config
    assert (c["train_size"], c["test_size"], c["batch_size"]) == (60, 40, None)
    assert "all 60 zip.train digits for training" in results.protocol()
    rows = results.to_markdown().splitlines()
    assert "| Net-5 | sigmoid units, softmax + cross-entropy, glorot_uniform starts, SGD (momentum 0.9) γ=0.1, λ=0.0001, " \
           "2 epochs, full batch |" in rows, rows
    assert any(line.startswith("| CNN | softmax + cross-entropy, SGD (momentum 0.9) γ=0.1") for line in rows)
    assert any(line.startswith("| CNN |") and line.endswith("| – |") for line in rows)


def test_stratified_sample_balances_classes():
    y = np.repeat(np.arange(10), [40, 35, 33, 50, 32, 60, 32, 45, 38, 36])
    rng = np.random.default_rng(0)
    idx = esl.stratified_sample(y, 163, rng)
    counts = np.bincount(y[idx], minlength=10)
    assert len(set(idx.tolist())) == 163 and counts.min() >= 16 and counts.sum() == 163
    assert sorted(esl.stratified_sample(y, len(y), rng).tolist()) == list(range(len(y)))
    with pytest.raises(ValueError, match=r"esl\.run: expected at least 33 examples of digit 4 to draw 330, got 32"):
        esl.stratified_sample(y, 330, rng)


@pytest.mark.parametrize("kwargs, message", [
    ({"optimizer": "rmsprop"}, r"esl\.run: expected optimizer 'adam' or 'sgd', got 'rmsprop'\."),
    ({"loss": "hinge"}, r"esl\.run: expected loss 'mse' or 'crossentropy', got 'hinge'\."),
    ({"nets": ["net6"]}, r"esl\.run: expected nets from net1, net2, net3, net4, net5, cnn, got \['net6'\]\."),
    ({"repeats": 0}, r"esl\.run: expected repeats a positive integer, got 0\."),
    ({"recipe": "modern"}, r"esl\.run: expected recipe 'tuned' or 'book', got 'modern'\."),
    ({"lr": -1.0}, r"esl recipe for net1: expected lr > 0, decay in \(0, 1\] and weight_decay ≥ 0, got -1\.0"),
    ({"train_size": 100}, r"esl\.run: expected train_size ≤ 60 and test_size ≤ 40, got 100 and 10\."),
])
def test_errors_say_what_was_expected(data, kwargs, message):
    with pytest.raises(ValueError, match=message):
        esl.run(**{**TINY, **kwargs}, data=data)


def test_cli_subcommand(data, tmp_path, monkeypatch, capsys):
    from netfit.datasets import zipcode
    monkeypatch.setattr(zipcode, "load_data", lambda path=None: data)
    parser = argparse.ArgumentParser(prog="netfit")
    add_parsers(parser.add_subparsers(dest="command"))
    assert "esl" in EXPERIMENTS
    args = parser.parse_args(["esl", "--repeats", "1", "--epochs", "2", "--train-size", "20", "--test-size", "10",
                              "--nets", "net1", "net5", "--out", str(tmp_path), "--no-plot", "--no-baseline"])
    assert args.func(args) == 0
    printed = capsys.readouterr().out
    assert re.search(r"^\[2/2\] Net-5 repeat 1/1", printed, re.M)
    assert "| Net-5 | 2 shared 8×8 maps, then 4 shared 4×4 maps | 1,060 | 5,194 |" in printed
    assert sorted(p.name for p in tmp_path.iterdir()) == ["curves.csv", "paired.csv", "results.csv", "results.md"]
    assert parser.parse_args(["esl", "--nets", "net1,net3", "net5"]).nets == [["net1", "net3"], ["net5"]]
    for bad in (["esl", "--loss", "hinge"], ["esl", "--nets", "net1,net9"], ["esl", "--recipe", "modern"]):
        with pytest.raises(SystemExit):
            parser.parse_args(bad)


@pytest.mark.skipif(not holds("zip", SHARED), reason=f"{ABSENT} (zip)")
def test_real_zip_digits_320_and_160(tmp_path):
    results = esl.run(repeats=1, epochs=1, nets=["net1"], data_path=SHARED, verbose=0)
    (run,) = results.runs
    assert (run["train_size"], run["test_size"], run["weights"]) == (320, 160, 2570)
    assert 0.0 <= run["test_accuracy"] <= 1.0


def test_shift_pixels_moves_each_image_by_at_most_one_pixel():
    rng = np.random.default_rng(0)
    x = np.full((200, 6, 6), -1.0, "float32")
    x[:, 2, 3] = 1.0                                   # one bright pixel per image
    moved = esl.shift_pixels(x, np.random.default_rng(1))
    assert moved.shape == x.shape and moved.dtype == x.dtype
    rows, cols = np.nonzero(moved == 1.0)[1:]
    assert len(rows) == 200                            # the pixel never falls off a 6×6 image
    assert set(rows) <= {1, 2, 3} and set(cols) <= {2, 3, 4}
    assert len({(r, c) for r, c in zip(rows, cols)}) == 9          # all nine shifts occur in 200 draws
    assert np.count_nonzero(moved == -1.0) == 200 * 35           # the rest is background
    edge = np.full((50, 4, 4), 1.0, "float32")
    assert (esl.shift_pixels(edge, rng) == -1.0).any()             # what a shift uncovers is background


def test_zipcnn_only_on_the_full_split(data):
    with pytest.raises(ValueError, match="zipcnn"):
        esl.run(nets=["zipcnn"], repeats=1, epochs=1, data=data, plot=False, verbose=0)


def test_zipcnn_keeps_its_own_recipe_on_the_full_split(data):
    results = esl.run(nets=["zipcnn"], full=True, repeats=1, epochs=1, optimizer="sgd", loss="mse", data=data,
                      verbose=0, baseline=False)
    recipe = results.config["recipes"]["zipcnn"]
    assert (recipe["optimizer"], recipe["loss"], recipe["decay"], recipe["weight_decay"]) == \
        ("adam", "crossentropy", 0.9, 1e-4)                # what zipcnn was tuned with; --optimizer/--loss do not apply
    assert "| ZIP CNN | softmax + cross-entropy, Adam γ=0.001 ×0.9/epoch, λ=0.0001, 1 epochs, batch 32 |" \
        in results.to_markdown()
