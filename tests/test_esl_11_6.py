"""ESL §11.6 simulation: the models, their exact variances, one fit, a tiny study end to end, the CLI."""
import math

import numpy as np
import pytest

from netfit.cli import main
from netfit.experiments import esl_11_6 as esl

pytest.importorskip("scipy")


def test_models_and_exact_signal_to_noise_ratio():
    x, y, f = esl.simulate("sigmoid", 200_000, seed=3)
    assert x.shape == (200_000, 2)
    np.testing.assert_allclose(f[:3], 1 / (1 + np.exp(-x[:3] @ [3, 3])) + 1 / (1 + np.exp(-x[:3] @ [3, -3])))
    # Var f by quadrature against Monte Carlo; the noise makes Var f / Var ε = 4.
    assert f.var() == pytest.approx(esl.signal_variance("sigmoid"), rel=0.01)
    assert (y - f).var() == pytest.approx(esl.signal_variance("sigmoid") / 4, rel=0.01)
    x, y, f = esl.simulate("radial", 200_000, seed=3)
    assert x.shape == (200_000, 10)
    np.testing.assert_allclose(f[0], np.prod(np.exp(-x[0] ** 2 / 2) / math.sqrt(2 * math.pi)))
    assert f.var() == pytest.approx(esl.signal_variance("radial"), rel=0.05)
    assert esl.noise_variance("radial", snr=2) == pytest.approx(esl.signal_variance("radial") / 2)
    with pytest.raises(ValueError, match="kind 'sigmoid' or 'radial'"):
        esl.simulate("cubic", 5)


def test_two_hidden_units_beat_the_linear_fit_on_the_sum_of_sigmoids():
    x, y, _ = esl.simulate("sigmoid", 100, seed=[1, 0])
    xt, _, ft = esl.simulate("sigmoid", 2000, seed=[1, 1])
    bayes = esl.noise_variance("sigmoid")
    errors = {}
    for hidden in (0, 2):
        predict, model = esl.fit_net(x, y, hidden, 0.1, seed=0)
        errors[hidden] = 1 + np.mean((predict(xt) - ft) ** 2) / bayes
        assert model.optimizer.weight_decay == pytest.approx(0.1 / 100)      # book λ on the sum, netfit's on the mean
    assert errors[2] < 1.3 < errors[0]


def test_tiny_study_writes_tables_findings_and_pictures(tmp_path):
    report = esl.run(tmp_path, figures=("11.6", "11.8"), starts=2, units=[0, 2], n_test=300, maxiter=100,
                     data_seeds=(0,), implementations=("netfit",), backend="sequential")
    rows = report["rows"]
    assert len(rows) == (2 * 2 + 8) * 2                    # (2 models × 2 unit counts + 8 decays) × 2 starts
    assert all(r["test_error"] >= 1 - 0.2 for r in rows)  # relative to the Bayes error
    text = (tmp_path / "esl_11_6.md").read_text()
    assert "## Figure 11.6" in text and "| netfit | sigmoid | 0.0005 | 2 | 2 |" in text and "## The book's findings" in text
    assert {claim for claim, _, _ in report["findings"]["netfit"]} and (tmp_path / "results.csv").exists()
    pytest.importorskip("matplotlib")
    assert sorted(p.name for p in tmp_path.glob("*.png")) == ["fig11_6.png", "fig11_8.png"]


def test_cli(tmp_path, capsys):
    code = main(["esl-sim", "--out", str(tmp_path), "--figures", "11.7", "--starts", "1", "--units", "1",
                 "--n-test", "200", "--maxiter", "50", "--backend", "sequential", "--no-plot", "--impl", "netfit",
                 "--data-seeds", "0", "--quiet"])
    assert code == 0
    out = capsys.readouterr().out
    assert "Figure 11.7" in out and "| netfit | sigmoid | 0.1 | 1 | 1 |" in out
    assert main(["esl-sim", "--starts", "0", "--out", str(tmp_path)]) == 1
    assert "--starts >= 1" in capsys.readouterr().err


def test_scikit_learn_reaches_the_same_two_unit_optimum_on_the_same_training_set():
    # The second implementation minimises the same objective (its α is the book's λ): the best of a few starts
    # must land on the same fit. Training set 1 of the study; 4 starts each (netfit ±0.7, sklearn Glorot).
    pytest.importorskip("sklearn")
    best = {}
    for impl in ("netfit", "sklearn"):
        runs = [esl.esl_task({"kind": "sigmoid", "hidden": 2, "decay": 0.0005, "data_seed": 1, "impl": impl,
                              "n_test": 2000}, seed) for seed in range(4)]
        best[impl] = min(r["test_error"] for r in runs)
        assert all(r["linear_error"] == runs[0]["linear_error"] for r in runs)   # one training set, one linear fit
    assert best["netfit"] == pytest.approx(best["sklearn"], rel=0.02)
    assert best["netfit"] < runs[0]["linear_error"] - 0.3                          # far better than the linear model


def test_linear_error_is_the_least_squares_fit_of_that_training_set():
    run = esl.esl_task({"kind": "sigmoid", "hidden": 0, "decay": 0.0, "data_seed": 2, "n_test": 500}, 0)
    assert run["test_error"] == pytest.approx(run["linear_error"], rel=1e-6)     # netfit's 0-unit net is OLS


def _rows(errors, linear):
    return [{"figure": "11.6", "kind": "sigmoid", "hidden": h, "decay": 0.0005, "data_seed": d, "impl": "netfit",
             "seed": s, "test_error": e, "linear_error": linear[d]}
            for (h, d), values in errors.items() for s, e in enumerate(values)]


def test_findings_judge_stuck_starts_against_their_own_training_set():
    # Set 0's linear fit is 1.5 and set 1's 2.0: a start at 1.8 is stuck on set 0 but not on set 1.
    rows = _rows({(0, 0): [1.5, 1.5], (2, 0): [1.1, 1.8], (0, 1): [2.0, 2.0], (2, 1): [1.05, 1.8]}, [1.5, 2.0])
    findings = {claim.split(":")[0]: (ok, numbers) for claim, ok, numbers in esl.check_findings(rows)}
    ok, numbers = findings["Multiple starts matter"]
    assert ok and numbers.startswith("1 of 4 starts over 2 training set(s) (sets 0)")
    ok, numbers = findings["Two hidden units come close to the Bayes rate (relative error below 1.25)"]
    assert not ok and "per set 0: 1.450, 1: 1.425" in numbers                   # medians per set; their median 1.44
    ok, numbers = findings["... and starts end in different minima"]
    assert ok and numbers == "2 of 4 starts; worst 1.71× its set's best"           # 1.8 / 1.05 on set 1
    rows = _rows({(0, 0): [1.5], (2, 0): [1.1], (0, 1): [2.0], (2, 1): [1.2]}, [1.5, 2.0])
    findings = {claim.split(":")[0]: ok for claim, ok, _ in esl.check_findings(rows)}
    assert findings["Two hidden units come close to the Bayes rate (relative error below 1.25)"]
    assert not findings["Multiple starts matter"] and not findings["... and starts end in different minima"]


def test_unknown_implementation_is_refused():
    with pytest.raises(ValueError, match="implementations among netfit, sklearn, got 'nnet'"):
        esl.run(None, figures=("11.8",), implementations=("nnet",))


def test_an_optimum_at_the_end_of_the_decay_grid_is_not_an_optimum():
    def rows(medians):
        return [{"figure": "11.8", "kind": "sigmoid", "hidden": 10, "decay": d, "data_seed": 0, "impl": "netfit",
                 "seed": 0, "test_error": e, "linear_error": 2.0} for d, e in medians.items()]
    claim = "Figure 11.8: λ ≈ 0.1 is about optimal for 10 hidden units"
    falling = {0.0: 1.9, 0.02: 1.3, 0.08: 1.2, 0.14: 1.19}               # still falling at the last λ
    (ok, numbers), = [(ok, n) for c, ok, n in esl.check_findings(rows(falling)) if c == claim]
    assert not ok and "best λ = 0.14 (at the end of the grid" in numbers
    dip = {0.0: 1.9, 0.02: 1.3, 0.08: 1.09, 0.14: 1.12}
    assert [ok for c, ok, _ in esl.check_findings(rows(dip)) if c == claim] == [True]
