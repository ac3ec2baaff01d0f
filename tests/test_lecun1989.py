"""The LeCun et al. 1989 experiment: both recipes on tiny subsets, its files, its CLI, its refusals."""
import argparse
import csv
import io
from pathlib import Path

import numpy as np
import pytest

from netfit.experiments import EXPERIMENTS, add_parsers, esl, lecun1989
from netfit.sdlm import SDLM

from data_folder import ABSENT, SHARED_DATA as SHARED, holds  # noqa: E402


@pytest.fixture(scope="module")
def data():
    return esl.synthetic_data(n_train=40, n_test=30, seed=0)


@pytest.mark.parametrize("recipe", ["paper", "modern"])
def test_each_recipe_on_a_tiny_subset(recipe, data, tmp_path):
    results = lecun1989.run(recipe, passes=2, data=data, out=tmp_path, verbose=0)
    assert [row["pass"] for row in results.rows] == [1, 2]
    for row in results.rows:
        assert row["train_misses"] == round(row["train_error"] * 40) and 0 <= row["test_misses"] <= 30
        assert np.isfinite(row["train_loss"]) and np.isfinite(row["test_loss"])
    model = results.model
    width = lecun1989.RECIPES[recipe]["net"].get("width", 1)             # the paper's net, or it widened k times
    assert (model.count_params(), model.count_links()) == {1: (9760, 64660), 2: (35830, 217630),
                                                           3: (78220, 458920), 4: (136930, 788530)}[width]
    assert recipe == "modern" or width == 1                              # the paper recipe keeps the paper's net
    assert len(results.models) == lecun1989.RECIPES[recipe].get("members", 1)   # the modern recipe is an ensemble
    if recipe == "paper":
        assert isinstance(model.optimizer, SDLM) and model.loss.name == "mean_squared_error"
        assert model.layers[-1].activation.name == "scaled_tanh"
    else:
        assert model.loss.name == "categorical_crossentropy" and model.layers[-1].activation.name == "softmax"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["lecun1989.png", "results.csv", "results.md"]
    rows = list(csv.DictReader(io.StringIO((tmp_path / "results.csv").read_text())))
    assert [r["pass"] for r in rows] == ["1", "2"] and rows[1]["test_misses"] == str(results.rows[1]["test_misses"])
    md = (tmp_path / "results.md").read_text()
    assert md.startswith(f"## LeCun et al. 1989 on the zip-code digits (recipe: {recipe})")
    assert ("Each net is widened: " in md) == (width > 1)                # weights beside the paper's
    assert "| paper, pass 23 | 0.14% | 10 | 5.0% | 102 |" in md


def test_paper_recipe_learns_and_is_deterministic(data):
    first = lecun1989.run("paper", passes=2, data=data, verbose=0, plot=False)
    again = lecun1989.run("paper", passes=2, data=data, verbose=0, plot=False)
    assert first.rows[-1]["train_misses"] == again.rows[-1]["train_misses"]
    assert first.rows[-1]["train_loss"] == again.rows[-1]["train_loss"]            # one fixed order, one seed
    assert first.rows[-1]["train_loss"] < first.rows[0]["train_loss"]               # it learns


def test_validation_holds_out_training_digits_and_never_reads_the_test_set(data):
    (x, y), (xt, yt) = data
    poisoned = ((x, y), (np.full_like(xt, np.nan), yt))
    results = lecun1989.run("paper", passes=1, validation=10, data=poisoned, verbose=0)
    assert results.config["train_size"] == 30 and results.config["test_size"] == 10
    assert np.isfinite(results.rows[0]["test_loss"])
    assert "validation digits held out of zip.train" in results.to_markdown()


def test_progress_lines(data, monkeypatch):
    narrow = dict(lecun1989.RECIPES["modern"], net=dict(lecun1989.RECIPES["modern"]["net"], width=1))
    monkeypatch.setitem(lecun1989.RECIPES, "modern", narrow)
    lines = []
    lecun1989.run("modern", passes=1, members=5, data=data, print_fn=lines.append)
    assert lines[0].startswith("lecun1989 (modern): 5 nets of 9,760 weights, 64,660 links; 40 training, 30 test")
    assert lines[0].endswith("digits; 1 pass") and lines[2].startswith("after 1 pass (")     # not "1 passes"
    assert lines[1].startswith("pass  1/1: train error")
    assert "the paper after 23: train 0.14 % (10), test 5.0 % (102)" in lines[2]
    monkeypatch.setitem(lecun1989.RECIPES, "modern", dict(narrow, net=dict(narrow["net"], width=2)))
    lines = []
    lecun1989.run("modern", passes=1, members=2, data=data, print_fn=lines.append)
    assert lines[0].startswith("lecun1989 (modern): 2 nets of 35,830 weights, 217,630 links "
                               "(widened; the paper's net: 9,760 weights, 64,660 links); 40 training")


def test_cli_subcommand(data, tmp_path, monkeypatch, capsys):
    from netfit.datasets import zipcode
    monkeypatch.setattr(zipcode, "load_data", lambda path=None: data)
    parser = argparse.ArgumentParser(prog="netfit")
    add_parsers(parser.add_subparsers(dest="command"))
    assert "lecun1989" in EXPERIMENTS
    args = parser.parse_args(["lecun1989", "--recipe", "paper", "--passes", "1", "--train-size", "20",
                              "--test-size", "10", "--out", str(tmp_path), "--no-plot"])
    assert args.func(args) == 0
    printed = capsys.readouterr().out
    assert "pass  1/1: train error" in printed and "| netfit, pass 1 |" in printed
    assert sorted(p.name for p in tmp_path.iterdir()) == ["results.csv", "results.md"]
    with pytest.raises(SystemExit):
        parser.parse_args(["lecun1989", "--recipe", "1998"])


@pytest.mark.parametrize("kwargs, message", [
    ({"recipe": "lenet5"}, r"lecun1989\.run: expected recipe 'paper' or 'modern', got 'lenet5'"),
    ({"passes": 0}, r"lecun1989\.run: expected passes a positive integer, got 0"),
    ({"validation": 40}, r"lecun1989\.run: expected validation < 40 training digits, got 40"),
    ({"train_size": -3}, r"lecun1989\.run: expected train_size a positive integer, got -3"),
])
def test_bad_arguments_are_refused(kwargs, message, data):
    with pytest.raises(ValueError, match=message):
        lecun1989.run(**{"recipe": "paper", **kwargs}, data=data, verbose=0)


@pytest.mark.skipif(not holds("zip", SHARED), reason=f"{ABSENT} (zip)")
def test_real_digits_one_pass_on_a_few_dozen():
    results = lecun1989.run("paper", passes=1, train_size=48, test_size=24, data_path=SHARED, verbose=0)
    assert results.config["train_size"] == 48 and results.config["test_size"] == 24
    assert 0 <= results.rows[0]["test_error"] <= 1


def test_distort_is_the_identity_at_zero_and_stays_in_range():
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, (5, 16, 16)).astype(np.float32)
    same = lecun1989.distort(x, rng, rotation=0, scale=0, shear=0, shift=0)
    np.testing.assert_allclose(same, x, atol=1e-6)
    moved = lecun1989.distort(x[..., None], rng)
    assert moved.shape == (5, 16, 16, 1) and moved.dtype == np.float32
    assert moved.min() >= -1 and moved.max() <= 1 and not np.allclose(moved[..., 0], x)
    dot = -np.ones((1, 9, 9), np.float32)
    dot[0, 4, 4] = 1
    shifted = lecun1989.distort(dot, rng, rotation=0, scale=0, shear=0, shift=0.0)
    assert shifted[0, 4, 4] == 1 and (shifted == -1).sum() == 80      # the background stays −1


def test_summary_command_prints_the_papers_totals(capsys):
    from netfit import cli
    assert cli.main(["summary", "--model", "lecun1989", "--links"]) == 0
    out = capsys.readouterr().out
    assert "Total params: 9,760" in out and "Total links: 64,660" in out


def test_an_ensemble_averages_its_members_outputs_and_member_0_is_the_single_net(data, monkeypatch):
    single = dict(lecun1989.RECIPES["modern"], decay="cosine", members=1)
    monkeypatch.setitem(lecun1989.RECIPES, "modern", dict(single, members=3))
    ensemble = lecun1989.run("modern", passes=2, data=data, verbose=0, plot=False)
    members = ensemble.models
    assert len(members) == 3 and ensemble.model is members[0]
    assert not np.allclose(members[0].get_weights()[0], members[1].get_weights()[0])     # seeds 0, 1, 2
    (x, y), (xt, yt) = data
    mean = np.mean([m.predict(xt) for m in members], axis=0)
    row = ensemble.rows[-1]
    assert row["test_misses"] == int(np.sum(mean.argmax(axis=1) != yt))
    assert row["test_loss"] == pytest.approx(float(members[0].loss.value(mean, np.eye(10)[yt])), rel=1e-5)
    assert "an ensemble of 3 nets (seeds 0–2" in ensemble.to_markdown() and "cosine decay to 0" in ensemble.to_markdown()
    monkeypatch.setitem(lecun1989.RECIPES, "modern", single)
    alone = lecun1989.run("modern", passes=2, data=data, verbose=0, plot=False)
    assert len(alone.models) == 1
    for a, b in zip(alone.model.get_weights(), members[0].get_weights()):
        np.testing.assert_array_equal(a, b)                      # same seed, shifts, shuffles: the same net


def test_cosine_decay_runs_the_step_down_to_zero_over_the_whole_run():
    recipe = dict(lecun1989.RECIPES["modern"], decay="cosine", lr=0.002)
    schedule = lecun1989._optimizer(recipe, None, steps_per_pass=10, passes=4).learning_rate
    assert schedule(0) == pytest.approx(0.002) and schedule(20) == pytest.approx(0.001)
    assert schedule(40) == pytest.approx(0.0, abs=1e-12)


def _smooth_by_loops(u, sigma):
    """G_σ * u the obvious way: every pixel a weighted sum of its neighbours, zeros outside."""
    radius = int(4 * sigma + 0.5)
    g = np.exp(-0.5 * (np.arange(-radius, radius + 1) / sigma) ** 2)
    g /= g.sum()
    n, h, w = u.shape
    out = np.zeros_like(u)
    for i in range(h):
        for j in range(w):
            for a in range(-radius, radius + 1):
                for b in range(-radius, radius + 1):
                    if 0 <= i + a < h and 0 <= j + b < w:
                        out[:, i, j] += g[a + radius] * g[b + radius] * u[:, i + a, j + b]
    return out


@pytest.mark.parametrize("sigma", [0.7, 1.5, 3.0])
def test_smooth_is_a_gaussian_filter_with_zeros_outside(sigma):
    u = np.random.default_rng(1).uniform(-1, 1, (2, 9, 7))
    np.testing.assert_allclose(lecun1989.smooth(u, sigma), _smooth_by_loops(u, sigma), atol=1e-12)
    ones = np.ones((1, 40, 40))                       # far from the edges a constant is left as it is
    assert lecun1989.smooth(ones, sigma)[0, 20, 20] == pytest.approx(1.0)


def test_smooth_matches_scipy_when_it_is_installed():
    ndimage = pytest.importorskip("scipy.ndimage")
    u = np.random.default_rng(2).uniform(-1, 1, (3, 16, 16))
    np.testing.assert_allclose(lecun1989.smooth(u, 3.0), ndimage.gaussian_filter(u, (0, 3.0, 3.0), mode="constant"),
                               atol=1e-12)


def test_elastic_distortion_is_seeded_in_range_and_the_identity_at_alpha_0():
    x = np.random.default_rng(0).uniform(-1, 1, (4, 16, 16)).astype(np.float32)
    still = {"rotation": 0, "scale": 0, "shear": 0, "shift": 0}
    np.testing.assert_allclose(lecun1989.distort(x, np.random.default_rng(5), elastic=0.0, **still), x, atol=1e-6)
    a = lecun1989.distort(x, np.random.default_rng(5), elastic=18.0, **still)
    b = lecun1989.distort(x, np.random.default_rng(5), elastic=18.0, **still)
    np.testing.assert_array_equal(a, b)                                         # same seed, same field
    c = lecun1989.distort(x, np.random.default_rng(6), elastic=18.0, **still)
    assert not np.allclose(a, x) and not np.allclose(a, c)
    assert a.dtype == np.float32 and a.min() >= -1 and a.max() <= 1
    moved = lecun1989.distort(x[..., None], np.random.default_rng(5), elastic=18.0)
    assert moved.shape == (4, 16, 16, 1) and moved.dtype == np.float32
    blank = -np.ones((3, 16, 16), np.float32)                                   # the background stays −1
    assert (lecun1989.distort(blank, np.random.default_rng(7), elastic=30.0) == -1).all()
    # α = 0 draws no field: the affine maps (and the generator's stream after them) are those of before.
    first, second = np.random.default_rng(8), np.random.default_rng(8)
    np.testing.assert_array_equal(lecun1989.distort(x, first), lecun1989.distort(x, second, elastic=0.0))
    assert first.random() == second.random()


def test_elastic_field_moves_pixels_by_about_alpha_times_the_smoothed_noise():
    dot = -np.ones((200, 16, 16))
    dot[:, 7:9, 7:9] = 1
    still = {"rotation": 0, "scale": 0, "shear": 0, "shift": 0}
    small = lecun1989.distort(dot, np.random.default_rng(0), elastic=2.0, **still)
    large = lecun1989.distort(dot, np.random.default_rng(0), elastic=20.0, **still)
    assert np.abs(small - dot).mean() < np.abs(large - dot).mean()              # more α, more movement


def test_a_widened_net_keeps_the_family_and_the_default_is_the_papers():
    from netfit import zoo
    assert zoo.lecun1989().count_params() == 9760 and zoo.lecun1989(width=1).count_links() == 64660
    wide = zoo.lecun1989(width=2)
    assert wide.count_params() == 35830 and [layer.count_params() for layer in wide.layers] == [
        24 * 89, 24 * 16 * 25 + 24 * 16, 0, 384 * 60 + 60, 610]
    h1, h2 = wide.layers[0], wide.layers[1]
    assert (h1.filters, h2.filters, wide.layers[3].units) == (24, 24, 60)
    assert h1.kernel_size == h2.kernel_size == (5, 5) and h1.strides == h2.strides == (2, 2)
    table = np.array(h2.connections)
    np.testing.assert_array_equal(table, np.kron(np.array(zoo.LECUN1989_H2_TABLE), np.ones((2, 2), bool)))
    assert (table.sum(axis=0) == 16).all()                                     # each H2 map reads 16 of 24
    for bad in (0, 1.5, True, "2"):
        with pytest.raises(ValueError, match=r"lecun1989: expected width a positive integer \(1: the paper's net\)"):
            zoo.lecun1989(width=bad)


def test_folds_are_disjoint_validation_sets_and_fold_0_is_the_first_split(data):
    (x, y), (xt, yt) = data
    x = x.copy()
    x[:, 0, 0] = np.arange(40)                                 # a pixel that says which digit it is
    tagged = ((x, y), (xt, yt))

    def held(fold):
        seen = {}

        def spy(models, xs, ys, Y, split):
            seen[split] = np.rint(xs[:, 0, 0]).astype(int)
            return {f"{split}_error": 0.0, f"{split}_misses": 0, f"{split}_loss": 0.0}

        original = lecun1989._errors
        lecun1989._errors = spy
        try:
            lecun1989.run("paper", passes=1, validation=10, fold=fold, data=tagged, verbose=0)
        finally:
            lecun1989._errors = original
        return seen["test"], seen["train"]

    parts = [held(k) for k in range(3)]
    order = np.random.default_rng([0, 1989]).permutation(40)
    np.testing.assert_array_equal(parts[0][0], np.sort(order[:10]))               # the split of earlier rounds
    for k, (val, train) in enumerate(parts):
        assert len(val) == 10 and len(train) == 30 and not set(val) & set(train)
        assert (np.diff(val) > 0).all()                                           # file order is kept
    assert not set(parts[0][0]) & set(parts[1][0]) and not set(parts[1][0]) & set(parts[2][0])


@pytest.mark.parametrize("kwargs, message", [
    ({"fold": 1}, r"lecun1989\.run: expected fold 0 without validation, got 1; pass validation=n too"),
    ({"fold": -1, "validation": 5}, r"lecun1989\.run: expected fold a non-negative integer, got -1"),
    ({"fold": 3, "validation": 10}, r"expected \(fold \+ 1\) · validation < 40 training digits, got fold 3 of 10"),
    ({"members": 0}, r"lecun1989\.run: expected members a positive integer, got 0"),
])
def test_bad_folds_and_members_are_refused(kwargs, message, data):
    with pytest.raises(ValueError, match=message):
        lecun1989.run("modern", data=data, verbose=0, **kwargs)


def test_members_overrides_the_recipes_ensemble_size(data):
    results = lecun1989.run("modern", passes=1, members=2, data=data, verbose=0, plot=False)
    assert len(results.models) == 2 and "an ensemble of 2 nets (seeds 0–1" in results.to_markdown()
