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
  [−0.7, 0.7] (ESL §11.5.1; R's ``nnet`` default ``rang = 0.7``), fit by
  full-batch L-BFGS to convergence or ``maxiter`` iterations, in float64.
- Weight decay: the book penalises the *sum* of squares, R + λJ; netfit's loss
  is the *mean*, so netfit's weight_decay is λ / N (N = 100 training cases).
  netfit decays the weights, not the biases (nnet decays both).
- The sum of sigmoids is fit on the raw Y, as the book (nnet) would. The radial
  model's f is of order 1e-5, where any fixed λ would swamp the fit, so its
  targets are standardised with the training mean and standard deviation
  (predictions mapped back); the book does not say, but its radial results
  (nets that fit noise) imply a fit on a sensible scale.
- The test error is 1 + mean((f − f̂)²) / Var(ε) over the 10,000 test inputs:
  the expected squared error on fresh noisy Y relative to the Bayes error, with
  the noise's own sampling error removed (same expectation as the book's).
- Several simulated training sets (``data_seeds``, five by default). The book
  drew one and calls it typical; one set can be far from typical (the default
  first set's best 2-unit fit has relative error 1.30, the median over sets
  about 1.1), so the findings are judged over the sets and each set is shown.
- A second implementation checks every number: scikit-learn's
  ``MLPRegressor(solver="lbfgs", activation="logistic", alpha=λ)`` minimises
  (1/2N)·SSE + (λ/2N)·Σw² over the weights (not the biases): the same objective
  as netfit's up to a factor 1/2, from its own (Glorot) starting weights.
  ``implementations=("netfit", "sklearn")`` runs both on the same data; the
  report puts their tables and findings side by side.

``netfit esl-sim --out DIR`` runs it all (16 minutes on two cores shared with other jobs,
both implementations, five training sets) and writes figures, Markdown tables and the per-run CSV;
:func:`run` is the Python API. The tables, findings and pictures are made by
:mod:`netfit.experiments.esl_11_6_report`.
"""
import argparse
import importlib.util
import os
import time

import numpy as np

from ..datasets.esl_simulated import noise_variance, signal_variance, simulate
from ..layers import Dense
from ..lbfgs import LBFGS, require_scipy
from ..sequential import Sequential
from ..sweep import run_sweep
from .esl_11_6_report import FIGURES, check_findings, format_report, plots, table

__all__ = ["simulate", "noise_variance", "signal_variance", "fit_net", "fit_sklearn", "esl_task", "run",
           "FIGURES", "IMPLEMENTATIONS", "check_findings", "format_report", "add_parser"]

IMPLEMENTATIONS = ("netfit", "sklearn")


def fit_net(x, y, hidden, decay, seed, maxiter=500, standardise=False):
    """Fit ESL's net: ``hidden`` sigmoid units (0: linear regression), book weight decay ``decay``, by L-BFGS.

    Parameters
    ----------
    x : (N, p) array;  y : (N,) array
    hidden : int
        Sigmoid hidden units; 0 fits a linear model (no hidden layer).
    decay : float
        The book's λ in SSE + λ Σ w² (netfit's weight_decay is λ / N).
    seed : int
        Starting weights, uniform on [−0.7, 0.7].
    standardise : bool
        Fit (y − ȳ) / sd(y) and map predictions back.

    Returns
    -------
    predict : function, (M, p) array -> (M,) float64 predictions on y's scale
    model : the fitted Sequential
    """
    init = {"kernel_initializer": "esl_uniform", "bias_initializer": "esl_uniform"}
    layers = ([Dense(hidden, activation="sigmoid", input_shape=x.shape[1:], **init)] if hidden else []) + \
        [Dense(1, **init, **({} if hidden else {"input_shape": x.shape[1:]}))]
    model = Sequential(layers, seed=seed, dtype="float64")
    model.compile(optimizer=LBFGS(weight_decay=decay / len(x)), loss="mse")   # book: SSE + λJ; netfit: mean
    mean, sd = (float(y.mean()), float(y.std()) or 1.0) if standardise else (0.0, 1.0)
    model.fit(x, (y - mean) / sd, epochs=maxiter, verbose=0)

    def predict(x_new):
        return model.predict(x_new, batch_size=4096)[:, 0].astype(np.float64) * sd + mean
    return predict, model


def fit_sklearn(x, y, hidden, decay, seed, maxiter=500, standardise=False):
    """The same fit by scikit-learn: ``MLPRegressor(solver="lbfgs", activation="logistic", alpha=λ)``.

    scikit-learn minimises (1/2N) Σ (y − f)² + (α/2N) Σ w² over the weights (not
    the biases), which is (1/2N) times the book's SSE + λ Σ w² when α = λ: the
    same minimisers as :func:`fit_net`. Its starting weights are Glorot-uniform,
    not ±0.7, and ``hidden = 0`` is ordinary least squares. Returns ``predict``
    as :func:`fit_net` does, and the fitted estimator.
    """
    import warnings

    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LinearRegression
    from sklearn.neural_network import MLPRegressor
    mean, sd = (float(y.mean()), float(y.std()) or 1.0) if standardise else (0.0, 1.0)
    if hidden:
        est = MLPRegressor(hidden_layer_sizes=(hidden,), activation="logistic", solver="lbfgs", alpha=decay,
                           max_iter=maxiter, tol=1e-10, random_state=seed)
    else:
        est = LinearRegression()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)    # maxiter reached: as netfit, keep the fit
        est.fit(x, (y - mean) / sd)

    def predict(x_new):
        return est.predict(x_new).astype(np.float64) * sd + mean
    return predict, est


_FITS = {"netfit": fit_net, "sklearn": fit_sklearn}


def esl_task(params, seed, data=None):
    """One run for :func:`netfit.sweep.run_sweep`: simulate (cached), fit, return the relative test errors.

    ``params``: kind, hidden, decay, and optionally impl ("netfit" or "sklearn"),
    n_train, n_test, snr, data_seed, maxiter. Returns test_error, train_error
    (relative to the Bayes error), linear_error (the least-squares linear fit on
    the same training set) and iterations (netfit only; 0 for scikit-learn's).
    """
    kind, n_train, n_test = params["kind"], int(params.get("n_train", 100)), int(params.get("n_test", 10000))
    snr, data_seed = float(params.get("snr", 4.0)), int(params.get("data_seed", 0))
    impl = params.get("impl", "netfit")
    if impl not in _FITS:
        raise ValueError(f"esl_11_6: expected impl one of {', '.join(_FITS)}, got {impl!r}.")
    x, y, xt, ft = _data(kind, n_train, n_test, data_seed, snr)
    predict, model = _FITS[impl](x, y, int(params["hidden"]), float(params["decay"]), seed,
                                 int(params.get("maxiter", 500)), standardise=kind == "radial")
    bayes = noise_variance(kind, snr)
    train_mse = float(np.mean((predict(x) - y) ** 2))
    return {"test_error": 1.0 + float(np.mean((predict(xt) - ft) ** 2)) / bayes,
            "train_error": train_mse / bayes, "linear_error": _linear_error(kind, n_train, n_test, data_seed, snr),
            "iterations": len(model.history.epoch) if impl == "netfit" else int(getattr(model, "n_iter_", 0))}


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


def _linear_error(kind, n_train, n_test, data_seed, snr):
    """Relative test error of the least-squares linear fit (the book's "zero hidden units") on that training set."""
    x, y, xt, ft = _data(kind, n_train, n_test, data_seed, snr)
    design = np.column_stack([np.ones(len(x)), x])
    coef = np.linalg.lstsq(design, y, rcond=None)[0]
    fit = np.column_stack([np.ones(len(xt)), xt]) @ coef
    return 1.0 + float(np.mean((fit - ft) ** 2)) / noise_variance(kind, snr)


# -- the study ---------------------------------------------------------------------------------
def run(out=None, figures=("11.6", "11.7", "11.8"), starts=10, n_train=100, n_test=10000, maxiter=500,
        data_seeds=(0, 1, 2, 3, 4), units=None, implementations=IMPLEMENTATIONS, backend="loky", n_jobs=None,
        scheduler=None, plot=True, verbose=0):
    """Run the figures' sweeps; return ``{"rows": [...], "tables": {figure: markdown}, "findings": {impl: [...]}}``.

    Parameters
    ----------
    out : str, optional
        Folder for esl_11_6.md (tables and findings), results.csv and fig11_*.png
        (fig11_*_sklearn.png for the second implementation).
    figures : iterable of "11.6", "11.7", "11.8"
    starts : int
        Random starting weights per setting and training set (the book: 10).
    n_train, n_test, maxiter :
        Sample sizes and the L-BFGS iteration limit.
    data_seeds : sequence of int
        Seeds of the simulated training/test samples; cells pool the starts over
        them. The book used one training set: ``(0,)``.
    units : list of int, optional
        Hidden units for Figures 11.6–11.7 (default 0 … 10).
    implementations : sequence of "netfit", "sklearn"
        Who fits the nets; scikit-learn (the ``sklearn`` extra) cross-checks netfit.
    backend, n_jobs, scheduler, verbose :
        As in :func:`netfit.sweep.run_sweep` (verbose > 0 shows joblib's progress).

    Raises
    ------
    ValueError
        An unknown figure or implementation.
    ImportError
        "sklearn" asked for without scikit-learn installed (the message says how to install it).
    """
    start = time.perf_counter()
    implementations = list(implementations)
    for impl in implementations:
        if impl not in _FITS:
            raise ValueError(f"esl_11_6: expected implementations among {', '.join(_FITS)}, got {impl!r}.")
    if "sklearn" in implementations:
        try:
            import sklearn  # noqa: F401
        except ImportError:
            raise ImportError("esl_11_6: the scikit-learn cross-check needs scikit-learn: "
                              "pip install 'netfit[sklearn]', or pass implementations=('netfit',) "
                              "(--impl netfit).") from None
    if "netfit" in implementations:                 # its fits are L-BFGS: refused before any worker starts
        require_scipy("esl_11_6", instead=None)
    common = {"n_train": n_train, "n_test": n_test, "maxiter": maxiter}
    data_seeds = [int(d) for d in data_seeds]
    grid = []
    for fig in figures:
        if fig not in FIGURES:
            raise ValueError(f"esl_11_6: unknown figure {fig!r}; choose from {', '.join(FIGURES)}.")
        spec = FIGURES[fig]
        fig_units = spec["units"] if fig == "11.8" or units is None else list(units)
        for kind, extra in spec["panels"]:
            grid.append({"figure": [fig], "kind": [kind], "hidden": fig_units, **extra, "data_seed": data_seeds,
                         "impl": implementations})
    result = run_sweep(grid, esl_task, seeds=starts, fixed=common, backend=backend, n_jobs=n_jobs,
                       scheduler=scheduler, verbose=verbose)
    rows = result.rows
    tables = {fig: table(rows, fig) for fig in figures}
    findings = {impl: check_findings(rows, impl) for impl in implementations}
    report = {"rows": rows, "tables": tables, "findings": findings, "seconds": time.perf_counter() - start,
              "config": {"starts": starts, "data_seeds": data_seeds, "implementations": implementations, **common}}
    if out:
        os.makedirs(out, exist_ok=True)
        result.to_csv(os.path.join(out, "results.csv"))
        with open(os.path.join(out, "esl_11_6.md"), "w", encoding="utf-8") as handle:
            handle.write(format_report(report) + "\n")
        if plot:
            report["pictures"] = [p for impl in implementations for p in plots(rows, figures, out, impl)]
    return report


# -- command line ------------------------------------------------------------------------------
def add_parser(subparsers):
    """Add ``netfit esl-sim`` to ``subparsers``; return the parser."""
    p = subparsers.add_parser(
        "esl-sim", help="reproduce ESL §11.6 (Figures 11.6-11.8): test error vs hidden units and weight decay",
        description="Fit single-hidden-layer nets by L-BFGS to ESL's simulated sum-of-sigmoids and radial "
                    "models (SNR 4, 100 training cases), several random starts per setting on several simulated "
                    "training sets, with netfit and (as a cross-check) scikit-learn's MLPRegressor, and report "
                    "the test error relative to the Bayes error and the book's findings as Markdown tables, "
                    "CSV and boxplots.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--out", default="esl-sim-output", help="folder for esl_11_6.md, results.csv, fig11_*.png")
    p.add_argument("--figures", nargs="+", default=list(FIGURES), choices=list(FIGURES))
    p.add_argument("--starts", type=int, default=10, help="random starting weights per setting")
    p.add_argument("--units", type=int, nargs="+", default=list(range(11)), help="hidden units for 11.6/11.7")
    p.add_argument("--n-train", type=int, default=100)
    p.add_argument("--n-test", type=int, default=10000)
    p.add_argument("--maxiter", type=int, default=500, help="L-BFGS iteration limit")
    p.add_argument("--data-seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4],
                   help="simulated training sets (the book drew one: --data-seeds 0); cells pool starts over them")
    p.add_argument("--impl", nargs="+", default=list(IMPLEMENTATIONS), choices=list(IMPLEMENTATIONS),
                   help="who fits the nets: netfit, and scikit-learn's MLPRegressor as a cross-check")
    # Local processes when joblib is there (the dask or dev extra); one after the other otherwise.
    p.add_argument("--backend", default="loky" if importlib.util.find_spec("joblib") else "sequential",
                   choices=("loky", "sequential", "threading", "dask"),
                   help="how the fits run: local processes (joblib), one by one, threads, or a Dask cluster")
    p.add_argument("--n-jobs", type=int, default=None, help="parallel fits (default: all cores)")
    p.add_argument("--scheduler", default=None, help="Dask scheduler address (with --backend dask)")
    p.add_argument("--no-plot", action="store_true", help="skip the boxplots")
    p.add_argument("--quiet", action="store_true", help="no progress lines while the fits run")
    p.set_defaults(func=_cmd)
    return p


def _cmd(args):
    for name in ("starts", "n_train", "n_test", "maxiter"):
        if getattr(args, name) < 1:
            raise ValueError(f"esl-sim: expected --{name.replace('_', '-')} >= 1, got {getattr(args, name)}.")
    report = run(args.out, figures=args.figures, starts=args.starts, n_train=args.n_train, n_test=args.n_test,
                 maxiter=args.maxiter, data_seeds=args.data_seeds, units=args.units, backend=args.backend,
                 implementations=args.impl, n_jobs=args.n_jobs, scheduler=args.scheduler, plot=not args.no_plot,
                 verbose=0 if args.quiet else 5)
    print(format_report(report))
    print(f"Wrote {os.path.join(args.out, 'esl_11_6.md')} and {os.path.join(args.out, 'results.csv')}")
    for path in report.get("pictures", []):
        print(f"Wrote {path}")
    return 0
