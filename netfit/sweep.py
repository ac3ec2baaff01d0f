"""Sweeps: architectures × hyper-parameters × seeds, run in parallel with joblib, tidied into one table.

A sweep is a grid of settings (``{"hidden": [0, 2, 10], "weight_decay": [0, 1e-3]}``)
crossed with random seeds. Every (setting, seed) pair is one independent run of
a *task*, a function ``task(params, seed, data) -> dict of numbers``; the
default, :func:`train_task`, builds a net, fits it and reports its test error.
Runs go through joblib, so the same call uses

- ``backend="sequential"``: one after the other, in this process;
- ``backend="loky"`` (default): local worker processes;
- ``backend="dask"``: the workers of a Dask cluster — an existing one
  (``scheduler="tcp://host:8786"``, or a ``dask.distributed.Client`` already
  made in this process). netfit has no scheduler of its own.

Each run limits the BLAS threads of its process to ``blas_threads`` (1 by
default, via threadpoolctl), so that n workers on n cores do not each start n
BLAS threads; on Dask the limit is also set once in every worker process.
Seeds fix everything random in a run, so a sweep gives the same numbers
whichever backend runs it.

The result is one tidy table, a row per run: the grid's columns, ``seed``, the
task's numbers, ``seconds``. :meth:`SweepResult.summary` gives the mean and
standard deviation per cell; :meth:`SweepResult.write` saves ``results.csv``
(and ``results.parquet`` when pyarrow is installed), ``summary.csv`` and
``summary.md``.

Examples
--------
>>> def task(params, seed, data):
...     rng = np.random.default_rng(seed)
...     return {"error": params["scale"] * float(rng.normal() ** 2)}
>>> result = run_sweep({"scale": [1.0, 2.0]}, task, seeds=3, backend="sequential")
>>> len(result.rows), result.params, result.metrics
(6, ['scale'], ['error'])
>>> [row["n"] for row in result.summary()]
[3, 3]
"""
import contextlib
import csv
import functools
import itertools
import math
import numbers
import os
import sys
import time

import numpy as np

from . import optimizers, zoo
from .datasets.esl_simulated import simulate
from .images import load_data
from .layers import Dense, Normalization
from .lbfgs import LBFGS
from .metrics import r2_score
from .sequential import Sequential
from .utils import to_categorical

__all__ = ["run_sweep", "SweepResult", "train_task", "expand_grid", "load_sweep_data", "add_parser"]

_BACKENDS = ("sequential", "loky", "threading", "dask")


# -- the grid ----------------------------------------------------------------------------------
def expand_grid(grid):
    """All settings of ``grid``: a dict of lists (their product) or a list of such dicts (the union).

    Examples
    --------
    >>> expand_grid({"a": [1, 2], "b": ["x"]})
    [{'a': 1, 'b': 'x'}, {'a': 2, 'b': 'x'}]
    >>> expand_grid([{"model": ["net1"]}, {"model": ["net2"], "weight_decay": [0, 0.1]}])
    [{'model': 'net1'}, {'model': 'net2', 'weight_decay': 0}, {'model': 'net2', 'weight_decay': 0.1}]
    """
    grids = [grid] if isinstance(grid, dict) else grid
    if not isinstance(grids, (list, tuple)) or not all(isinstance(g, dict) for g in grids) or not grids:
        raise TypeError(f"run_sweep: expected grid a dict of lists, or a list of such dicts, got {grid!r}.")
    settings = []
    for g in grids:
        for key, values in g.items():
            if not isinstance(key, str):
                raise TypeError(f"run_sweep: expected grid keys to be names (str), got {key!r}.")
            if isinstance(values, (str, bytes)) or not hasattr(values, "__iter__"):
                raise TypeError(f"run_sweep: expected a list of values for {key!r}, got {values!r}; "
                                f"write [{values!r}] for a single value.")
            if key == "seed":
                raise ValueError("run_sweep: 'seed' is not a grid entry; pass seeds=... instead.")
        keys = list(g)
        for combo in itertools.product(*(list(g[k]) for k in keys)):
            settings.append(dict(zip(keys, combo)))
    return settings


# -- running -----------------------------------------------------------------------------------
def run_sweep(grid, task=None, *, seeds=5, data=None, fixed=None, backend="loky", n_jobs=None,
              scheduler=None, blas_threads=1, on_error="raise", verbose=0):
    """Run ``task`` once for every setting of ``grid`` and every seed; return a :class:`SweepResult`.

    Parameters
    ----------
    grid : dict or list of dict
        Names → lists of values (see :func:`expand_grid`).
    task : callable, optional
        ``task(params, seed, data) -> {name: number}``; :func:`train_task` when None.
        With process backends it must be importable or picklable by cloudpickle.
    seeds : int or list of int
        ``k`` means seeds 0 … k − 1.
    data : object, optional
        Passed to every run: e.g. ``{"x_train": ..., "y_train": ..., "x_test": ..., "y_test": ...}``
        or a name that the task resolves in its worker (:func:`load_sweep_data`),
        which keeps large arrays off the wire.
    fixed : dict, optional
        Settings shared by every run (not columns of the table), e.g. ``{"epochs": 200}``.
    backend : {"loky", "sequential", "threading", "dask"}
    n_jobs : int, optional
        Parallel runs; default all cores (loky), all worker threads (dask).
    scheduler : str, optional
        Dask only: the scheduler's address. Without it the current
        ``dask.distributed`` client is used.
    blas_threads : int or None
        BLAS threads per run (None: leave as is).
    on_error : {"raise", "record"}
        "record" keeps going and puts the message in an ``exception`` column.
    verbose : int
        joblib's progress messages.
    """
    if task is None:
        task = train_task
    if not callable(task):
        raise TypeError(f"run_sweep: expected task a function (params, seed, data) -> dict, got {task!r}.")
    if backend not in _BACKENDS:
        raise ValueError(f"run_sweep: expected backend one of {', '.join(_BACKENDS)}, got {backend!r}.")
    if on_error not in ("raise", "record"):
        raise ValueError(f"run_sweep: expected on_error 'raise' or 'record', got {on_error!r}.")
    if scheduler is not None and backend != "dask":
        raise ValueError("run_sweep: scheduler= is for backend='dask'.")
    seeds = _seeds(seeds)
    settings = expand_grid(grid)
    fixed = dict(fixed or {})
    clash = sorted(set(fixed) & {k for s in settings for k in s})
    if clash:
        raise ValueError(f"run_sweep: {clash} are both in the grid and in fixed; keep each in one place.")
    jobs = [(task, {**fixed, **params}, seed, data, blas_threads, on_error) for params in settings for seed in seeds]
    if backend == "sequential" or (n_jobs == 1 and backend != "dask"):
        outputs = [_run_one(*job) for job in jobs]
    else:
        outputs = _run_parallel(jobs, backend, n_jobs, scheduler, blas_threads, verbose)
    rows = []
    for (_, params, seed, _, _, _), (values, seconds) in zip(jobs, outputs):
        row = {k: v for k, v in params.items() if k not in fixed}
        row["seed"] = seed
        row.update(values)
        row["seconds"] = seconds
        rows.append(row)
    return SweepResult(rows, params=_ordered_keys(settings), fixed=fixed)


def _seeds(seeds):
    if isinstance(seeds, numbers.Integral) and not isinstance(seeds, bool):
        if seeds < 1:
            raise ValueError(f"run_sweep: expected seeds >= 1, got {seeds}.")
        return list(range(int(seeds)))
    seeds = list(seeds)
    if not seeds or not all(isinstance(s, numbers.Integral) and not isinstance(s, bool) and s >= 0 for s in seeds):
        raise ValueError(f"run_sweep: expected seeds a positive count or a list of non-negative integers, got {seeds!r}.")
    return [int(s) for s in seeds]


def _ordered_keys(settings):
    keys = []
    for s in settings:
        keys += [k for k in s if k not in keys]
    return keys


def _run_parallel(jobs, backend, n_jobs, scheduler, blas_threads, verbose):
    try:
        from joblib import Parallel, delayed, parallel_config
    except ImportError:
        raise ImportError(f"run_sweep: backend={backend!r} needs joblib (pip install 'netfit[dask]' or joblib); "
                          f"backend='sequential' needs nothing.") from None
    with contextlib.ExitStack() as stack:
        if backend == "dask":
            client = stack.enter_context(_dask_client(scheduler))
            if blas_threads is not None:
                client.run(_limit_blas_for_process, blas_threads)
            n_jobs = n_jobs or -1
        else:
            n_jobs = n_jobs or -1
        stack.enter_context(parallel_config(backend=backend, n_jobs=n_jobs))
        return Parallel(verbose=verbose)(delayed(_run_one)(*job) for job in jobs)


@contextlib.contextmanager
def _dask_client(scheduler):
    """The client to run on: a new one for ``scheduler`` (closed afterwards), else the current one."""
    try:
        from dask.distributed import Client, get_client
    except ImportError:
        raise ImportError("run_sweep: backend='dask' needs dask.distributed: pip install 'netfit[dask]'.") from None
    if scheduler is not None:
        client = Client(scheduler)
        try:
            yield client
        finally:
            client.close()
        return
    try:
        client = get_client()
    except ValueError:
        raise ValueError("run_sweep: backend='dask' needs a cluster: pass scheduler='tcp://HOST:8786' "
                         "(--scheduler on the command line), or create a dask.distributed.Client first.") from None
    yield client


def _limit_blas_for_process(threads):
    """In a Dask worker: cap BLAS threads for the whole process (and for libraries loaded later)."""
    for name in ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "OMP_NUM_THREADS"):
        os.environ[name] = str(threads)
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return False
    threadpool_limits(limits=threads, user_api="blas")
    return True


def _blas_limit(threads):
    if threads is None:
        return contextlib.nullcontext()
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return contextlib.nullcontext()
    return threadpool_limits(limits=threads, user_api="blas")


def _run_one(task, params, seed, data, blas_threads, on_error):
    """One run, timed, with BLAS limited; returns (numbers, seconds)."""
    start = time.perf_counter()
    try:
        with _blas_limit(blas_threads):
            values = task(dict(params), seed, data)
        if not isinstance(values, dict):
            raise TypeError(f"run_sweep: the task returned {type(values).__name__}, expected a dict of numbers.")
        values = {k: (float(v) if isinstance(v, (numbers.Real, np.floating)) and not isinstance(v, bool) else v)
                  for k, v in values.items()}
    except Exception as exc:
        if on_error == "raise":
            raise
        values = {"exception": f"{type(exc).__name__}: {exc}"}
    return values, time.perf_counter() - start


# -- the result table --------------------------------------------------------------------------
class SweepResult:
    """A sweep's tidy table: ``rows`` (one dict per run), grid columns ``params``, numeric ``metrics``."""

    def __init__(self, rows, params, fixed=None):
        self.rows, self.params, self.fixed = rows, list(params), dict(fixed or {})
        skip = set(self.params) | {"seed", "seconds"}
        metrics = []
        for row in rows:
            for key, value in row.items():
                if key not in skip and key not in metrics and _is_number(value):
                    metrics.append(key)
        self.metrics = metrics

    @property
    def columns(self):
        cols = self.params + ["seed"] + self.metrics
        extra = [k for row in self.rows for k in row if k not in cols]
        return cols + list(dict.fromkeys(extra))

    def summary(self, metrics=None):
        """Per grid cell: ``n`` runs, then ``<metric>_mean`` and ``<metric>_sd`` (ddof = 1) for each metric.

        Runs whose value is missing or not finite are left out of that metric's statistics.
        """
        metrics = self.metrics if metrics is None else list(metrics)
        cells = {}
        for row in self.rows:
            key = tuple(_hashable(row.get(p)) for p in self.params)
            cells.setdefault(key, []).append(row)
        out = []
        for key, rows in cells.items():
            entry = {p: rows[0].get(p) for p in self.params}
            entry["n"] = len(rows)
            for m in metrics:
                values = np.array([r[m] for r in rows if _is_number(r.get(m)) and math.isfinite(r[m])], float)
                entry[f"{m}_mean"] = float(values.mean()) if values.size else float("nan")
                entry[f"{m}_sd"] = float(values.std(ddof=1)) if values.size > 1 else float("nan")
            out.append(entry)
        return out

    def summary_markdown(self, metrics=None, digits=4):
        """The summary as a Markdown table: ``mean ± sd`` per metric."""
        metrics = self.metrics if metrics is None else list(metrics)
        header = self.params + ["n"] + metrics
        lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        for entry in self.summary(metrics):
            cells = [str(entry[p]) for p in self.params] + [str(entry["n"])]
            for m in metrics:
                mean, sd = entry[f"{m}_mean"], entry[f"{m}_sd"]
                cells.append(f"{mean:.{digits}g}" + ("" if math.isnan(sd) else f" ± {sd:.{digits}g}"))
            lines.append("| " + " | ".join(cells) + " |")
        return "\n".join(lines)

    def to_csv(self, path):
        """Write the runs, one row each, to ``path``."""
        _write_csv(path, self.rows, self.columns)

    def to_pandas(self):
        """The runs as a pandas DataFrame (needs pandas)."""
        import pandas as pd
        return pd.DataFrame(self.rows, columns=self.columns)

    def write(self, folder):
        """Save results.csv (+ results.parquet with pyarrow), summary.csv and summary.md; return the paths."""
        os.makedirs(folder, exist_ok=True)
        paths = [os.path.join(folder, "results.csv")]
        self.to_csv(paths[0])
        try:
            import pyarrow as pa
            import pyarrow.parquet as pq
        except ImportError:
            pass
        else:
            table = pa.Table.from_pylist([{c: _plain(row.get(c)) for c in self.columns} for row in self.rows])
            paths.append(os.path.join(folder, "results.parquet"))
            pq.write_table(table, paths[-1])
        summary = self.summary()
        paths.append(os.path.join(folder, "summary.csv"))
        _write_csv(paths[-1], summary, list(summary[0]) if summary else self.params)
        paths.append(os.path.join(folder, "summary.md"))
        with open(paths[-1], "w", encoding="utf-8") as handle:
            handle.write(self.summary_markdown() + "\n")
        return paths

    def __repr__(self):
        return f"SweepResult({len(self.rows)} runs, params={self.params}, metrics={self.metrics})"


def _is_number(value):
    return isinstance(value, (numbers.Real, np.floating, np.integer)) and not isinstance(value, bool)


def _hashable(value):
    return tuple(value) if isinstance(value, list) else value


def _plain(value):
    return str(value) if isinstance(value, (tuple, list, dict)) else value


def _write_csv(path, rows, columns):
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns, extrasaction="ignore")
        writer.writeheader()
        for row in rows:
            writer.writerow({k: ("" if v is None else _plain(v)) for k, v in row.items()})


# -- the default task: train one net -----------------------------------------------------------
_TASK_DEFAULTS = {"model": None, "hidden": 10, "activation": "sigmoid", "optimizer": "lbfgs",
                  "learning_rate": None, "weight_decay": 0.0, "epochs": 200, "batch_size": 32,
                  "standardize": True, "loss": None, "dtype": "float64"}


def train_task(params, seed, data):
    """Fit one net and report its errors: the default task of :func:`run_sweep`.

    ``params`` (all optional): ``model`` (a :func:`netfit.zoo.get` name such as
    "net3") or ``hidden`` (units of one hidden layer; 0 is a linear model, a
    tuple gives several layers) with ``activation``; ``optimizer`` ("lbfgs",
    "adam", "sgd"), ``learning_rate``, ``weight_decay`` (ESL's λ), ``epochs``,
    ``batch_size``, ``standardize`` (a Normalization layer first; ``hidden`` nets only), ``loss``
    and ``dtype``; data options are read by :func:`load_sweep_data`.

    Regression (float targets) reports ``train_loss``, ``test_mse``, ``test_r2``;
    classification (integer labels) ``train_loss``, ``test_loss``, ``test_error``.
    Every run is a function of (params, seed) only.
    """
    unknown = sorted(set(params) - set(_TASK_DEFAULTS) - _DATA_KEYS)
    if unknown:
        raise ValueError(f"train_task: unknown setting(s) {unknown}; known: "
                         f"{', '.join(sorted(set(_TASK_DEFAULTS) | _DATA_KEYS))}.")
    p = {**_TASK_DEFAULTS, **params}
    d = load_sweep_data(data, params)
    x_train, y_train, x_test, y_test = d["x_train"], d["y_train"], d["x_test"], d["y_test"]
    classify = np.asarray(y_train).dtype.kind in "iu"
    classes = int(max(y_train.max(), y_test.max())) + 1 if classify else None
    if p["model"] is not None:
        model = zoo.get(p["model"], input_shape=x_train.shape[1:], classes=classes or 1, seed=seed)
        model = Sequential(model.layers, name=model.name, seed=seed, dtype=p["dtype"])
    else:
        hidden = p["hidden"]
        hidden = () if hidden in (0, None) else ((hidden,) if isinstance(hidden, numbers.Integral) else tuple(hidden))
        body = [Dense(int(h), activation=p["activation"], kernel_initializer="esl_uniform",
                      bias_initializer="esl_uniform") for h in hidden]
        out = Dense(classes if classify else (1 if y_train.ndim == 1 else y_train.shape[1]),
                    activation="softmax" if classify else None)
        front = []
        if p["standardize"]:
            front = [Normalization(input_shape=x_train.shape[1:])]
            front[0].adapt(x_train)
        model = Sequential(front + body + [out], seed=seed, dtype=p["dtype"])
        if not front:
            model.build(x_train.shape[1:])
    last = model.layers[-1]
    loss = p["loss"] or ("mse" if not classify or getattr(getattr(last, "activation", None), "name", "") == "sigmoid"
                         else "sparse_categorical_crossentropy")
    if p["optimizer"] == "lbfgs":
        optimizer = LBFGS(weight_decay=p["weight_decay"])
    else:
        kwargs = {"weight_decay": p["weight_decay"]}
        if p["learning_rate"] is not None:
            kwargs["learning_rate"] = p["learning_rate"]
        optimizer = type(optimizers.get(p["optimizer"]))(**kwargs)
    model.compile(optimizer=optimizer, loss=loss)
    targets_train, targets_test = y_train, y_test
    if classify and loss != "sparse_categorical_crossentropy":      # ESL's nets: squared error on one-hot targets
        targets_train, targets_test = to_categorical(y_train, classes), to_categorical(y_test, classes)
    history = model.fit(x_train, targets_train, epochs=int(p["epochs"]), batch_size=p["batch_size"], verbose=0)
    row = {"train_loss": model.evaluate(x_train, targets_train, batch_size=4096),
           "epochs_run": len(history.epoch)}
    f = model.predict(x_test, batch_size=4096).astype(np.float64)
    if classify:
        row["test_loss"] = model.evaluate(x_test, targets_test, batch_size=4096)
        row["test_error"] = float(np.mean(f.argmax(axis=1) != y_test))
    else:
        yt = np.asarray(y_test, np.float64).reshape(f.shape)
        row["test_mse"] = float(np.mean((f - yt) ** 2))
        row["test_r2"] = r2_score(f, yt)
    return row


# -- data that workers load themselves ---------------------------------------------------------
_DATA_KEYS = {"n_train", "n_test", "data_seed", "snr"}
_SIMULATED = {"esl-sigmoid": "sigmoid", "esl-radial": "radial"}


def load_sweep_data(data, params=None):
    """Resolve ``data`` to a dict with x_train, y_train, x_test, y_test.

    ``data`` may already be such a dict (or a tuple ``((x, y), (x_test, y_test))``);
    a callable ``data(params)``; or a name, loaded in the worker and cached per
    process: "esl-sigmoid" and "esl-radial" (ESL §11.6's simulations;
    ``n_train`` 100, ``n_test`` 10000, ``data_seed`` 0, ``snr`` 4 from ``params``)
    or a data set of :mod:`netfit.datasets` ("zip", "mnist", "fashion"; inputs
    scaled as ``netfit train`` does; ``n_train``/``n_test`` take the first rows).
    """
    params = params or {}
    if isinstance(data, dict):
        return data
    if isinstance(data, (tuple, list)) and len(data) == 2:
        (x, y), (xt, yt) = data
        return {"x_train": x, "y_train": y, "x_test": xt, "y_test": yt}
    if callable(data):
        return data(params)
    if isinstance(data, str):
        key = tuple(params.get(k) for k in ("n_train", "n_test", "data_seed", "snr"))
        return _named_data(data, *key)
    raise TypeError(f"run_sweep: expected data a dict of arrays, ((x, y), (x_test, y_test)), a function or a "
                    f"name such as 'esl-sigmoid' or 'zip', got {type(data).__name__}.")


@functools.lru_cache(maxsize=8)
def _named_data(name, n_train, n_test, data_seed, snr):
    if name in _SIMULATED:
        seed = 0 if data_seed is None else int(data_seed)
        snr = 4.0 if snr is None else float(snr)
        x, y, _ = simulate(_SIMULATED[name], n_train or 100, seed=[seed, 0], snr=snr)
        xt, yt, _ = simulate(_SIMULATED[name], n_test or 10000, seed=[seed, 1], snr=snr)
        return {"x_train": x, "y_train": y, "x_test": xt, "y_test": yt}
    (x, y), (xt, yt), _ = load_data(name, n_train, n_test)
    return {"x_train": x, "y_train": y, "x_test": xt, "y_test": yt}


# -- command line ------------------------------------------------------------------------------
def add_parser(subparsers):
    """Add ``netfit sweep`` to ``subparsers``; return the parser."""
    parser = subparsers.add_parser(
        "sweep", help="run a grid of settings × seeds in parallel (local processes or Dask)",
        description="Train one net per (setting, seed) with netfit.sweep.train_task and write one tidy table "
                    "(results.csv, summary.csv, summary.md). Example: netfit sweep --data esl-sigmoid "
                    "--grid hidden=0,2,10 --grid weight_decay=0,0.001 --seeds 10 --out sweep/")
    parser.add_argument("--data", default="esl-sigmoid",
                        help="esl-sigmoid, esl-radial (ESL §11.6 simulations) or a data set: zip, mnist, fashion")
    parser.add_argument("--grid", action="append", default=[], metavar="NAME=V1,V2,...",
                        help="a grid axis, e.g. hidden=0,2,10 or model=net1,net2; repeat for more axes")
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                        help="a setting shared by all runs, e.g. epochs=200 or optimizer=adam")
    parser.add_argument("--seeds", type=int, default=5, help="random starts per setting (seeds 0..N-1)")
    parser.add_argument("--backend", choices=_BACKENDS, default="loky")
    parser.add_argument("--scheduler", metavar="ADDRESS", help="Dask scheduler, e.g. tcp://10.0.0.5:8786")
    parser.add_argument("--n-jobs", type=int, default=None, help="parallel runs (default: all cores/workers)")
    parser.add_argument("--blas-threads", type=int, default=1, help="BLAS threads per run (default 1)")
    parser.add_argument("--keep-going", action="store_true", help="record failed runs instead of stopping")
    parser.add_argument("--out", metavar="DIR", help="folder for results.csv, summary.csv, summary.md")
    parser.set_defaults(func=_cmd_sweep)
    return parser


def _parse_value(text):
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            pass
    return {"true": True, "false": False, "none": None}.get(text.lower(), text)


def _parse_pairs(items, many, where):
    out = {}
    for item in items:
        name, sep, values = item.partition("=")
        if not sep or not name or not values:
            raise ValueError(f"{where}: expected NAME=VALUE{',VALUE...' if many else ''}, got {item!r}.")
        parsed = [_parse_value(v.strip()) for v in values.split(",")]
        out[name.strip()] = parsed if many else (parsed[0] if len(parsed) == 1 else tuple(parsed))
    return out


def _cmd_sweep(args):
    if args.scheduler and args.backend != "dask":
        raise ValueError("sweep: --scheduler needs --backend dask.")
    grid = _parse_pairs(args.grid, True, "sweep --grid") or {"hidden": [_TASK_DEFAULTS["hidden"]]}
    fixed = _parse_pairs(args.set, False, "sweep --set")
    result = run_sweep(grid, train_task, seeds=args.seeds, data=args.data, fixed=fixed, backend=args.backend,
                       n_jobs=args.n_jobs, scheduler=args.scheduler, blas_threads=args.blas_threads,
                       on_error="record" if args.keep_going else "raise")
    print(result.summary_markdown())
    if args.out:
        for path in result.write(args.out):
            print(f"Wrote {path}")
    failed = [row for row in result.rows if row.get("exception")]
    if failed:
        print(f"error: {len(failed)} of {len(result.rows)} runs failed; first: {failed[0]['exception']}",
              file=sys.stderr)
        return 1
    return 0
