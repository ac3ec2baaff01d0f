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
                     backend="sequential")
    rows = report["rows"]
    assert len(rows) == (2 * 2 + 8) * 2                    # (2 models × 2 unit counts + 8 decays) × 2 starts
    assert all(r["test_error"] >= 1 - 0.2 for r in rows)  # relative to the Bayes error
    text = (tmp_path / "esl_11_6.md").read_text()
    assert "## Figure 11.6" in text and "| sigmoid | 0.0005 | 2 | 2 |" in text and "## The book's findings" in text
    assert {claim for claim, _, _ in report["findings"]} and (tmp_path / "results.csv").exists()
    pytest.importorskip("matplotlib")
    assert sorted(p.name for p in tmp_path.glob("*.png")) == ["fig11_6.png", "fig11_8.png"]


def test_cli(tmp_path, capsys):
    code = main(["esl-sim", "--out", str(tmp_path), "--figures", "11.7", "--starts", "1", "--units", "1",
                 "--n-test", "200", "--maxiter", "50", "--backend", "sequential", "--no-plot"])
    assert code == 0
    out = capsys.readouterr().out
    assert "Figure 11.7" in out and "| sigmoid | 0.1 | 1 | 1 |" in out
    assert main(["esl-sim", "--starts", "0", "--out", str(tmp_path)]) == 1
    assert "--starts >= 1" in capsys.readouterr().err
