"""Multiple random starts: fit k nets from different seeds, keep the best or average them.

ESL §11.5.3 ("Multiple minima"): the error function of a network is nonconvex
and the fit depends on the starting weights. "One must at least try a number
of random starting configurations, and choose the solution giving lowest
(penalized) error. Probably a better approach is to use the average
predictions over the collection of networks as the final prediction" —
averaging *predictions*, not weights, which the nonlinearity would spoil.
:func:`multi_start` does either in one call.
"""
import numbers

import numpy as np

from . import metrics as metrics_mod
from .utils import check_positive_int

__all__ = ["multi_start", "MultiStart"]

_STRATEGIES = ("best", "average")


class MultiStart:
    """The k fitted nets of :func:`multi_start`, used as one predictor.

    Attributes
    ----------
    models : list of Sequential
        All k fitted nets, in seed order.
    seeds : list of int
    scores : list of float
        What each start was judged by (``select_by``); lower is better.
    select_by : str
        "val_loss" when there was validation data, else "loss": the final
        training objective, penalty included (ESL's "lowest penalized error").
    histories : list of History
    strategy : {"best", "average"}
    best_index : int
        Position of the lowest score.
    """

    def __init__(self, models, seeds, scores, select_by, histories, strategy):
        self.models, self.seeds, self.scores = models, seeds, scores
        self.select_by, self.histories, self.strategy = select_by, histories, strategy
        self.best_index = int(np.nanargmin(scores)) if np.isfinite(scores).any() else 0

    @property
    def best_model(self):
        """The net with the lowest score."""
        return self.models[self.best_index]

    def predict(self, x, batch_size=None):
        """f(x): the best net's outputs ("best") or the mean of all nets' outputs ("average").

        For classifiers "average" averages the predicted probabilities.

        Shapes
        ------
        x : (n, *input_shape)  ->  (n, *output_shape)
        """
        if self.strategy == "best":
            return self.best_model.predict(x, batch_size=batch_size)
        total = None
        for model in self.models:
            out = model.predict(x, batch_size=batch_size).astype(np.float64)
            total = out if total is None else total + out
        return (total / len(self.models)).astype(self.models[0].dtype)

    def predict_classes(self, x, batch_size=None):
        """Argmax of :meth:`predict` (p > 0.5 for one output)."""
        proba = self.predict(x, batch_size)
        if proba.ndim == 2 and proba.shape[1] == 1:
            return (proba[:, 0] > 0.5).astype(np.int64)
        return proba.argmax(axis=-1)

    def evaluate(self, x, y, batch_size=None, return_dict=False):
        """Loss and the first model's metrics of the ensemble's predictions on (x, y).

        The loss here is the *data* loss of :meth:`predict` (no weight-decay
        penalty: that belongs to one net's objective, not to a prediction rule),
        so "best" and "average" are compared on the same footing. Metrics are
        computed on all of x at once (R² included, exactly).
        """
        model = self.models[0]
        x, y = model._check_xy(x, y, "MultiStart.evaluate")
        f = self.predict(x, batch_size)
        values = {"loss": float(model.loss.value(f, y))}
        for name, metric in model.metrics:
            values[name] = float(metrics_mod.result_of(metric, y, f))
        if return_dict:
            return values
        return list(values.values()) if model.metrics else values["loss"]

    def __repr__(self):
        return (f"MultiStart(k={len(self.models)}, strategy={self.strategy!r}, select_by={self.select_by!r}, "
                f"best_index={self.best_index}, scores={[round(s, 6) for s in self.scores]})")


def multi_start(build_fn, x, y, k=5, strategy="average", *, seeds=None, validation_data=None,
                validation_split=0.0, n_jobs=None, **fit_kwargs):
    """Fit ``k`` nets from different random starts; return a :class:`MultiStart` to predict with.

    Parameters
    ----------
    build_fn : callable
        ``build_fn(seed) -> Sequential``, *compiled*, whose starting weights (and
        shuffles) come from ``seed``, e.g. ``lambda s: make(seed=s)``.
    x, y : arrays
        Training data, passed to each ``fit``.
    k : int
        Number of starts.
    strategy : {"average", "best"}
        "average" predicts with the mean of the k nets' outputs (ESL's
        preference); "best" with the net of lowest validation loss, or of lowest
        final training objective when there is no validation data.
    seeds : list of int, optional
        The k seeds; default 0, 1, …, k − 1.
    validation_data, validation_split :
        As in ``fit``; they decide "best" (and are reported in each history).
    n_jobs : int, optional
        Fit the starts in parallel processes with joblib (None or 1: one after
        the other). ``build_fn`` must then be picklable by cloudpickle (lambdas are).
    **fit_kwargs :
        Passed to every ``model.fit`` (epochs, batch_size, callbacks, ...);
        ``verbose`` defaults to 0.

    Returns
    -------
    MultiStart

    Examples
    --------
    >>> import numpy as np, netfit as nf
    >>> from netfit.layers import Dense
    >>> def build(seed):
    ...     model = nf.Sequential([Dense(4, activation="tanh", input_shape=(1,)), Dense(1)], seed=seed)
    ...     model.compile(optimizer="adam", loss="mse")
    ...     return model
    >>> x = np.linspace(-2, 2, 40)[:, None]; y = np.sin(x)
    >>> ens = multi_start(build, x, y, k=3, strategy="average", epochs=5)
    >>> ens.predict(x).shape, len(ens.models)
    ((40, 1), 3)
    """
    k = check_positive_int(k, "multi_start", "k")
    if strategy not in _STRATEGIES:
        raise ValueError(f"multi_start: expected strategy 'best' or 'average', got {strategy!r}.")
    if not callable(build_fn):
        raise TypeError(f"multi_start: expected build_fn a function seed -> compiled Sequential, "
                        f"got {type(build_fn).__name__}.")
    seeds = list(range(k)) if seeds is None else list(seeds)
    if len(seeds) != k or not all(isinstance(s, numbers.Integral) and not isinstance(s, bool) for s in seeds):
        raise ValueError(f"multi_start: expected seeds a list of {k} integers, got {seeds!r}.")
    fit_kwargs.setdefault("verbose", 0)
    fit_kwargs.update(validation_data=validation_data, validation_split=validation_split)
    jobs = [(build_fn, int(seed), x, y, fit_kwargs) for seed in seeds]
    if n_jobs in (None, 1):
        results = [_fit_one(*job) for job in jobs]
    else:
        try:
            from joblib import Parallel, delayed
        except ImportError:
            raise ImportError("multi_start: n_jobs needs joblib; pip install joblib, or leave n_jobs=None.") from None
        results = Parallel(n_jobs=n_jobs)(delayed(_fit_one)(*job) for job in jobs)
    models, histories, scores = (list(column) for column in zip(*results))
    select_by = "val_loss" if validation_data is not None or validation_split else "loss"
    return MultiStart(models, [int(s) for s in seeds], scores, select_by, histories, strategy)


def _fit_one(build_fn, seed, x, y, fit_kwargs):
    """Build, fit and score one start: data loss on the validation set, else the penalized training objective."""
    model = build_fn(seed)
    if not getattr(model, "compiled", False):
        raise ValueError("multi_start: build_fn must return a compiled model "
                         "(call model.compile(optimizer=..., loss=...) inside it).")
    history = model.fit(x, y, **fit_kwargs)
    val, split = fit_kwargs.get("validation_data"), fit_kwargs.get("validation_split")
    if val is None and split:
        cut = len(x) - int(round(len(x) * split))           # Keras's rule: the last fraction
        val = (x[cut:], y[cut:])
    if val is not None:
        xv, yv = model._check_xy(*val, "multi_start (validation data)")
        score = model.loss.value(model.predict(xv), yv)
    else:
        score = model.evaluate(x, y)
        score = score[0] if isinstance(score, list) else score
    score = float(score)
    return model, history, score if np.isfinite(score) else float("inf")
