"""The zip-resnet experiment: a run on validation and on test digits, the two-round search, its CLI, its refusals."""
import numpy as np
import pytest

from netfit import cli
from netfit.datasets import zipcode
from netfit.experiments import EXPERIMENTS, esl, zip_resnet


@pytest.fixture(scope="module")
def data():
    return esl.synthetic_data(n_train=60, n_test=30, seed=0)


def test_a_run_on_held_out_digits_reads_them_after_every_pass(data, tmp_path):
    results = zip_resnet.run(dict(zip_resnet.RECIPE, epochs=2), validation=20, data=data, out=tmp_path, verbose=0)
    assert results.evaluated == "validation" and (results.train_size, results.eval_size) == (40, 20)
    assert [row["pass"] for row in results.rows] == [1, 2]
    assert all(0 <= row["misses"] <= 20 and np.isfinite(row["loss"]) for row in results.rows)
    assert results.final["misses"] == results.rows[-1]["misses"] == round(results.final["error"] * 20)
    assert results.model.count_params() == 121_418 and results.recipe == zip_resnet.RECIPE | {"epochs": 2}
    text = (tmp_path / "results.md").read_text()
    assert "validation error" in text and "lecun1989" not in text        # no zip.test figures beside validation ones


def test_a_run_on_test_digits_reads_them_once_and_shows_the_references(data, monkeypatch):
    reads = []
    real = zip_resnet._errors
    monkeypatch.setattr(zip_resnet, "_errors", lambda model, x, y: reads.append(len(x)) or real(model, x, y))
    results = zip_resnet.run({"epochs": 3, "filters": 4, "shift": False}, data=data, verbose=0)
    assert reads == [30, 60]                                # the test digits once, after the last pass; then train
    assert results.evaluated == "test" and all("error" not in row for row in results.rows)
    text = results.to_markdown()
    assert "| zoo.zip_resnet |" in text and "2.24%" in text and "4/8 filters" in text


def test_the_same_split_as_lecun1989s_validation(data):
    (x, y), _ = data
    xa, ya, xh, yh = zip_resnet.split(x, y, 20, seed=0)
    order = np.random.default_rng([0, 1989]).permutation(len(x))
    assert sorted(map(tuple, xh.reshape(20, -1).tolist())) == sorted(map(tuple, x[order[:20]].reshape(20, -1).tolist()))
    assert len(xa) == 40 and len(set(map(bytes, xa)) & set(map(bytes, xh))) == 0


def test_search_ranks_round_one_then_varies_its_best(data, tmp_path):
    (x, y), _ = data
    poisoned = ((x, y), (None, None))                        # the search never touches the test digits
    recipe, rows = zip_resnet.search(validation=20, base={"epochs": 1}, data=poisoned, out=tmp_path, verbose=0,
                                     architectures=({"filters": 4, "blocks": 1}, {"filters": 2, "blocks": 2}),
                                     variations=({"lr": 1e-3}, {"shift": False}))
    assert [row["round"] for row in rows] == [1, 1, 2, 2]
    best = min(rows[:2], key=lambda r: (r["misses"], r["loss"]))
    assert all(row["recipe"]["filters"] == best["recipe"]["filters"] for row in rows[2:])
    assert rows[2]["recipe"]["lr"] == 1e-3 and rows[3]["recipe"]["shift"] is False
    assert recipe == min(rows, key=lambda r: (r["misses"], r["loss"]))["recipe"]
    assert "**(chosen)**" in (tmp_path / "search.md").read_text()


def test_refusals():
    with pytest.raises(ValueError, match=r"zip_resnet.run: expected recipe keys among .*unknown \['depth'\]"):
        zip_resnet.run({"depth": 3}, data=esl.synthetic_data(10, 5, seed=0))
    with pytest.raises(ValueError, match=r"expected validation a number of digits in 1\.\.9, got 10"):
        zip_resnet.run(validation=10, data=esl.synthetic_data(10, 5, seed=0))


def test_the_cli_subcommand(data, monkeypatch, tmp_path, capsys):
    assert EXPERIMENTS["zip-resnet"] is zip_resnet
    monkeypatch.setattr(zipcode, "load_data", lambda path=None: data)
    monkeypatch.setattr(zip_resnet, "RECIPE", dict(zip_resnet.RECIPE, filters=4))
    code = cli.main(["zip-resnet", "--epochs", "1", "--validation", "20", "--out", str(tmp_path), "--verbose", "0",
                     "--threads", "1"])
    assert code == 0 and (tmp_path / "results.md").exists()
    out = capsys.readouterr().out
    assert "## zoo.zip_resnet on the ZIP digits (validation)" in out and "4/8 filters" in out
