"""ESL §11.6, "Example: Simulated Data": test error against hidden units and weight decay.

The book (Hastie, Tibshirani & Friedman, 2nd ed., §11.6, Figures 11.6–11.8)
fits single-hidden-layer networks to two additive-error models, Y = f(X) + ε:

- sum of sigmoids, Y = σ(a₁ᵀX) + σ(a₂ᵀX) + ε, X ∈ R² standard normal,
  a₁ = (3, 3), a₂ = (3, −3);
- radial, Y = Π_{m=1}^{10} φ(X_m) + ε, X ∈ R¹⁰ standard normal, φ the
  standard normal density;

with Gaussian ε whose variance makes the signal-to-noise ratio
Var(f(X)) / Var(ε) equal to 4. One training sample of 100, a test sample of
10,000, 10 random starting weights per setting, and the test error reported
*relative to the Bayes error* Var(ε) (a constant fit scores 1 + SNR = 5):

- Figure 11.6: 0–10 hidden units at weight decay 0.0005, both models;
- Figure 11.7: the sum of sigmoids with no weight decay and with λ = 0.1;
- Figure 11.8: ten hidden units, weight decay from 0 to 0.14.

How netfit runs it
------------------
- Var(f(X)) is computed exactly: for the sum of sigmoids, a₁ᵀX and a₂ᵀX are
  independent N(0, 18), so Var f = 2 Var σ(3√2 Z), integrated by Gauss–Hermite
  quadrature; for the radial model E φ(Z) = 1/(2√π) and E φ(Z)² = 1/(2π√3), so
  Var f = (2π√3)^(−10) − (4π)^(−10).
- Nets: sigmoid hidden units, a linear output, starting weights uniform on
  [−0.7, 0.7] (ESL §11.5.1), fit by full-batch L-BFGS (as R's nnet and, by all
  signs, the book) to convergence or ``maxiter`` iterations, in float64.
- Weight decay: the book penalises the *sum* of squares, R + λJ; netfit's loss
  is the *mean*, so netfit's weight_decay is λ / N (N = 100 training cases).
  netfit decays the weights, not the biases (nnet decays both).
- Targets are standardised with the training mean and standard deviation
  before fitting (and predictions mapped back). The radial model's f is of
  order 1e-5, where any fixed λ would act on a different scale; the book does
  not say, but its radial results (nets fit noise) imply a fit on a sensible scale.
- The test error is 1 + mean((f − f̂)²) / Var(ε) over the 10,000 test inputs:
  the expected squared error on fresh noisy Y relative to the Bayes error, with
  the noise's own sampling error removed (same expectation as the book's).

``netfit esl-sim --out DIR`` runs it all (about a minute on two cores) and
writes figures, Markdown tables and the per-run CSV; :func:`run` is the Python API.
"""
import argparse
import os
import time

import numpy as np

from ..datasets.esl_simulated import noise_variance, signal_variance, simulate
from ..layers import Dense
from ..lbfgs import LBFGS
from ..model import Sequential
from ..sweep import run_sweep

__all__ = ["simulate", "noise_variance", "signal_variance", "fit_net", "esl_task", "run", "FIGURES",
           "check_findings", "add_parser"]

BOOK_DECAY = 0.0005
FIGURES = {
    "11.6": {"title": "Figure 11.6: weight decay 0.0005",
             "panels": [("sigmoid", {"decay": [BOOK_DECAY]}), ("radial", {"decay": [BOOK_DECAY]})],
             "units": list(range(11))},
    "11.7": {"title": "Figure 11.7: sum of sigmoids, no weight decay / weight decay 0.1",
             "panels": [("sigmoid", {"decay": [0.0]}), ("sigmoid", {"decay": [0.1]})],
             "units": list(range(11))},
    "11.8": {"title": "Figure 11.8: sum of sigmoids, 10 hidden units",
             "panels": [("sigmoid", {"decay": [0.0, 0.02, 0.04, 0.06, 0.08, 0.1, 0.12, 0.14]})],
             "units": [10]},
}


def fit_net(x, y, hidden, decay, seed, maxiter=500):
    """Fit ESL's net: ``hidden`` sigmoid units (0: linear regression), book weight decay ``decay``, by L-BFGS.

    Returns a function x ↦ f̂(x) on the original scale of y, and the fitted model.
    """
    init = {"kernel_initializer": "esl_uniform", "bias_initializer": "esl_uniform"}
    layers = ([Dense(hidden, activation="sigmoid", input_shape=x.shape[1:], **init)] if hidden else []) + \
        [Dense(1, **init, **({} if hidden else {"input_shape": x.shape[1:]}))]
    model = Sequential(layers, seed=seed, dtype="float64")
    model.compile(optimizer=LBFGS(weight_decay=decay / len(x)), loss="mse")   # book: SSE + λJ; netfit: mean
    mean, sd = float(y.mean()), float(y.std()) or 1.0
    model.fit(x, (y - mean) / sd, epochs=maxiter, verbose=0)

    def predict(x_new):
        return model.predict(x_new, batch_size=4096)[:, 0].astype(np.float64) * sd + mean
    return predict, model


def esl_task(params, seed, data=None):
    """One run for :func:`netfit.sweep.run_sweep`: simulate (cached), fit, return the relative test error."""
    kind, n_train, n_test = params["kind"], int(params.get("n_train", 100)), int(params.get("n_test", 10000))
    snr, data_seed = float(params.get("snr", 4.0)), int(params.get("data_seed", 0))
    x, y, xt, ft = _data(kind, n_train, n_test, data_seed, snr)
    predict, model = fit_net(x, y, int(params["hidden"]), float(params["decay"]), seed,
                             int(params.get("maxiter", 500)))
    bayes = noise_variance(kind, snr)
    train_mse = float(np.mean((predict(x) - y) ** 2))
    return {"test_error": 1.0 + float(np.mean((predict(xt) - ft) ** 2)) / bayes,
            "train_error": train_mse / bayes, "iterations": len(model.history.epoch)}


_CACHE = {}


def _data(kind, n_train, n_test, data_seed, snr):
    key = (kind, n_train, n_test, data_seed, snr)
    if key not in _CACHE:
        x, y, _ = simulate(kind, n_train, seed=[data_seed, 0], snr=snr)
        xt, _, ft = simulate(kind, n_test, seed=[data_seed, 1], snr=snr)
        if len(_CACHE) >= 8:
            _CACHE.pop(next(iter(_CACHE)))
        _CACHE[key] = (x, y, xt, ft)
    return _CACHE[key]


# -- the study ---------------------------------------------------------------------------------
def run(out=None, figures=("11.6", "11.7", "11.8"), starts=10, n_train=100, n_test=10000, maxiter=500,
        data_seeds=(0,), units=None, backend="loky", n_jobs=None, scheduler=None, plot=True):
    """Run the figures' sweeps; return ``{"rows": [...], "tables": {figure: markdown}, "findings": [...]}``.

    Parameters
    ----------
    out : str, optional
        Folder for esl_11_6.md (tables and findings), results.csv and fig11_*.png.
    figures : iterable of "11.6", "11.7", "11.8"
    starts : int
        Random starting weights per setting (the book: 10).
    n_train, n_test, maxiter :
        Sample sizes and the L-BFGS iteration limit.
    data_seeds : sequence of int
        Seeds of the simulated training/test samples. The book used one
        training set, ``(0,)``; several pool starts × training sets in each
        cell, which shows how typical one training set is.
    units : list of int, optional
        Hidden units for Figures 11.6–11.7 (default 0 … 10).
    backend, n_jobs, scheduler :
        As in :func:`netfit.sweep.run_sweep`.
    """
    start = time.perf_counter()
    common = {"n_train": n_train, "n_test": n_test, "maxiter": maxiter}
    data_seeds = [int(d) for d in data_seeds]
    grid = []
    for fig in figures:
        if fig not in FIGURES:
            raise ValueError(f"esl_11_6: unknown figure {fig!r}; choose from {', '.join(FIGURES)}.")
        spec = FIGURES[fig]
        fig_units = spec["units"] if fig == "11.8" or units is None else list(units)
        for kind, extra in spec["panels"]:
            grid.append({"figure": [fig], "kind": [kind], "hidden": fig_units, **extra, "data_seed": data_seeds})
    result = run_sweep(grid, esl_task, seeds=starts, fixed=common, backend=backend, n_jobs=n_jobs,
                       scheduler=scheduler)
    rows = result.rows
    tables = {fig: _table(rows, fig) for fig in figures}
    findings = check_findings(rows)
    report = {"rows": rows, "tables": tables, "findings": findings, "seconds": time.perf_counter() - start,
              "config": {"starts": starts, "data_seeds": data_seeds, **common}}
    if out:
        os.makedirs(out, exist_ok=True)
        result.to_csv(os.path.join(out, "results.csv"))
        with open(os.path.join(out, "esl_11_6.md"), "w", encoding="utf-8") as handle:
            handle.write(format_report(report) + "\n")
        if plot:
            report["pictures"] = _plots(rows, figures, out)
    return report


def _cell(rows, **match):
    return np.array([r["test_error"] for r in rows if all(r.get(k) == v for k, v in match.items())], float)


def _table(rows, fig):
    """Markdown: one line per (model, decay, units): median, mean ± sd, min, max over the runs (starts × data seeds)."""
    lines = ["| model | weight decay | hidden units | runs | median | mean ± sd | min | max |",
             "|---|---|---|---|---|---|---|---|"]
    seen = []
    for r in rows:
        key = (r["kind"], r["decay"], r["hidden"])
        if r["figure"] == fig and key not in seen:
            seen.append(key)
    for kind, decay, hidden in seen:
        e = _cell(rows, figure=fig, kind=kind, decay=decay, hidden=hidden)
        sd = f" ± {e.std(ddof=1):.3f}" if e.size > 1 else ""
        lines.append(f"| {kind} | {decay:g} | {hidden} | {e.size} | {np.median(e):.3f} | {e.mean():.3f}{sd} | "
                     f"{e.min():.3f} | {e.max():.3f} |")
    return "\n".join(lines)


def check_findings(rows):
    """The book's qualitative claims, each as (claim, holds?, the numbers behind it); claims lacking runs are skipped."""
    out = []

    def med(**m):
        e = _cell(rows, **m)
        return float(np.median(e)) if e.size else None

    s6 = {h: med(figure="11.6", kind="sigmoid", hidden=h) for h in range(11)}
    if s6[0] is not None and s6[2] is not None:
        few = [s6[h] for h in (0, 1) if s6[h] is not None]
        out.append(("Too few hidden units hurt: with λ=0.0005 the sum of sigmoids fits worse with 0–1 units "
                    "than with 2", all(v > s6[2] for v in few),
                    f"median relative test error 0 units {s6[0]:.3f}"
                    + (f", 1 unit {s6[1]:.3f}" if s6[1] is not None else "") + f", 2 units {s6[2]:.3f}"))
        out.append(("Two hidden units come close to the Bayes rate (relative error near 1)", s6[2] < 1.25,
                    f"median {s6[2]:.3f}"))
        e2 = _cell(rows, figure="11.6", kind="sigmoid", hidden=2)
        e0 = _cell(rows, figure="11.6", kind="sigmoid", hidden=0)
        if e2.size and e0.size:
            bad = int(np.sum(e2 >= np.median(e0)))
            out.append(("Multiple starts matter: some starts with 2 units end no better than the linear model "
                        "(the book: 2 of 10)", bad > 0, f"{bad} of {e2.size} starts at or above the linear fit's "
                                                        f"{np.median(e0):.3f}"))
    s0 = {h: med(figure="11.7", kind="sigmoid", decay=0.0, hidden=h) for h in range(11)}
    s1 = {h: med(figure="11.7", kind="sigmoid", decay=0.1, hidden=h) for h in range(11)}
    big = [h for h in range(5, 11) if s0[h] is not None and s1[h] is not None]
    if big:
        m0, m1 = np.mean([s0[h] for h in big]), np.mean([s1[h] for h in big])
        out.append(("Weight decay helps: with 5–10 hidden units λ=0.1 beats no decay", m1 < m0,
                    f"mean of medians over {big[0]}–{big[-1]} units: λ=0 {m0:.3f}, λ=0.1 {m1:.3f}"))
    if s0[2] is not None and s0[10] is not None:
        out.append(("Without weight decay more units overfit (10 units worse than 2)", s0[10] > s0[2],
                    f"λ=0 medians: 2 units {s0[2]:.3f}, 10 units {s0[10]:.3f}"))
    if s1[2] is not None and s1[10] is not None:
        out.append(("With λ=0.1 there is no overfitting as units grow (10 units within 10% of 2)",
                    s1[10] <= 1.1 * s1[2], f"λ=0.1 medians: 2 units {s1[2]:.3f}, 10 units {s1[10]:.3f}"))
    r6 = {h: med(figure="11.6", kind="radial", hidden=h) for h in range(11)}
    have = [h for h in range(1, 11) if r6[h] is not None]
    if have:
        worst = max(r6[h] for h in have)
        out.append(("The radial function is hard: the nets stay well above the Bayes error", min(r6[h] for h in have)
                    > 1.5, "medians " + ", ".join(f"{h}: {r6[h]:.2f}" for h in have)))
        out.append(("... and with more units they do worse than the constant fit (relative error 5)", worst > 5,
                    f"largest median {worst:.2f} (at {max(have, key=lambda h: r6[h])} units)"))
    decays = sorted({r["decay"] for r in rows if r["figure"] == "11.8"})
    if decays:
        meds = {d: med(figure="11.8", decay=d) for d in decays}
        best = min(meds, key=meds.get)
        out.append(("Figure 11.8: λ ≈ 0.1 is about optimal for 10 hidden units", 0.04 <= best <= 0.14,
                    "medians " + ", ".join(f"{d:g}: {meds[d]:.3f}" for d in decays) + f"; best λ = {best:g}"))
    return out


def format_report(report):
    """The Markdown report: configuration, one table per figure, the findings."""
    c = report["config"]
    lines = ["# ESL §11.6 simulated data: test error relative to the Bayes error", "",
             f"{c['starts']} random starts per setting on {len(c['data_seeds'])} simulated training set(s) "
             f"(data seeds {', '.join(map(str, c['data_seeds']))}) of {c['n_train']} cases, {c['n_test']} test "
             f"cases, L-BFGS up to {c['maxiter']} iterations, float64. "
             f"Weight decay is the book's λ (sum-of-squares scale). Run time {report['seconds']:.0f} s.", ""]
    for fig, table in report["tables"].items():
        lines += [f"## {FIGURES[fig]['title']}", "", table, ""]
    lines += ["## The book's findings", "", "| finding | holds | numbers |", "|---|---|---|"]
    lines += [f"| {claim} | {'yes' if ok else 'no'} | {numbers} |" for claim, ok, numbers in report["findings"]]
    return "\n".join(lines)


def _plots(rows, figures, out):
    """Boxplots like the book's, one PNG per figure; returns the paths (none without matplotlib)."""
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        return []
    paths = []
    for fig in figures:
        panels = FIGURES[fig]["panels"]
        figure = Figure(figsize=(5.5 * len(panels), 4.2))
        FigureCanvasAgg(figure)
        for i, (kind, extra) in enumerate(panels):
            ax = figure.add_subplot(1, len(panels), i + 1)
            if fig == "11.8":
                xs = extra["decay"]
                data = [_cell(rows, figure=fig, kind=kind, decay=d) for d in xs]
                ax.set_xlabel("Weight decay parameter λ")
                labels = [f"{d:g}" for d in xs]
                title = "Sum of sigmoids, 10 hidden units"
            else:
                decay = extra["decay"][0]
                xs = sorted({r["hidden"] for r in rows if r["figure"] == fig and r["kind"] == kind
                             and r["decay"] == decay})
                data = [_cell(rows, figure=fig, kind=kind, decay=decay, hidden=h) for h in xs]
                ax.set_xlabel("Number of hidden units")
                labels = [str(h) for h in xs]
                title = f"{'Sum of sigmoids' if kind == 'sigmoid' else 'Radial'}, weight decay {decay:g}"
            keep = [k for k, d in enumerate(data) if d.size]
            if not keep:
                continue
            ax.boxplot([data[k] for k in keep], tick_labels=[labels[k] for k in keep])
            ax.axhline(1.0, color="grey", lw=0.8, ls="--")
            values = np.concatenate([data[k] for k in keep])
            top = 1.25 * float(np.quantile(values, 0.95))
            if values.max() > 1.5 * top:                   # a few runaway fits would flatten every box
                ax.set_ylim(min(0.95, float(values.min()) * 0.95), top)
                off = int(np.sum(values > top))
                ax.text(0.99, 0.98, f"{off} run(s) above {top:.3g}, up to {values.max():.3g}",
                        transform=ax.transAxes, ha="right", va="top", fontsize=8)
            ax.set_ylabel("Test error (relative to Bayes)")
            ax.set_title(title, fontsize=10)
        figure.suptitle(FIGURES[fig]["title"], fontsize=11)
        figure.tight_layout()
        path = os.path.join(out, f"fig{fig.replace('.', '_')}.png")
        figure.savefig(path, dpi=110)
        paths.append(path)
    return paths


# -- command line ------------------------------------------------------------------------------
def add_parser(subparsers):
    """Add ``netfit esl-sim`` to ``subparsers``; return the parser."""
    p = subparsers.add_parser(
        "esl-sim", help="reproduce ESL §11.6 (Figures 11.6-11.8): test error vs hidden units and weight decay",
        description="Fit single-hidden-layer nets by L-BFGS to ESL's simulated sum-of-sigmoids and radial "
                    "models (SNR 4, 100 training cases), several random starts per setting, and report the "
                    "test error relative to the Bayes error as Markdown tables, CSV and boxplots.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--out", default="esl-sim-output", help="folder for esl_11_6.md, results.csv, fig11_*.png")
    p.add_argument("--figures", nargs="+", default=list(FIGURES), choices=list(FIGURES))
    p.add_argument("--starts", type=int, default=10, help="random starting weights per setting")
    p.add_argument("--units", type=int, nargs="+", default=None, help="hidden units for 11.6/11.7 (default 0..10)")
    p.add_argument("--n-train", type=int, default=100)
    p.add_argument("--n-test", type=int, default=10000)
    p.add_argument("--maxiter", type=int, default=500, help="L-BFGS iteration limit")
    p.add_argument("--data-seeds", type=int, nargs="+", default=[0],
                   help="simulated training sets (the book: one); cells pool starts over them")
    p.add_argument("--backend", default="loky", choices=("loky", "sequential", "threading", "dask"))
    p.add_argument("--n-jobs", type=int, default=None)
    p.add_argument("--scheduler", default=None, help="Dask scheduler address (with --backend dask)")
    p.add_argument("--no-plot", action="store_true")
    p.set_defaults(func=_cmd)
    return p


def _cmd(args):
    for name in ("starts", "n_train", "n_test", "maxiter"):
        if getattr(args, name) < 1:
            raise ValueError(f"esl-sim: expected --{name.replace('_', '-')} >= 1, got {getattr(args, name)}.")
    report = run(args.out, figures=args.figures, starts=args.starts, n_train=args.n_train, n_test=args.n_test,
                 maxiter=args.maxiter, data_seeds=args.data_seeds, units=args.units, backend=args.backend,
                 n_jobs=args.n_jobs, scheduler=args.scheduler, plot=not args.no_plot)
    print(format_report(report))
    print(f"Wrote {os.path.join(args.out, 'esl_11_6.md')} and {os.path.join(args.out, 'results.csv')}")
    for path in report.get("pictures", []):
        print(f"Wrote {path}")
    return 0
