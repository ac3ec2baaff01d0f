"""Full-batch training by L-BFGS: minimise R(θ) + λ Σ w² over all N examples at once.

This is how R's ``nnet`` and ESL (§11.4–11.6) fit small networks: the whole
objective, a quasi-Newton direction from the last few gradient differences,
and a line search that guarantees a decrease at every iteration. Where SGD and
Adam need a learning rate and many epochs, L-BFGS needs neither and usually
converges in a few hundred iterations on problems of ESL's size.

The optimizer is SciPy's ``minimize(method="L-BFGS-B", jac=True)`` (an
optional dependency: ``pip install 'netfit[lbfgs]'``), driven on
the model's flat parameter vector θ. One "epoch" of the history is one L-BFGS
iteration: ``model.fit(x, y, epochs=200)`` runs at most 200 iterations.

Examples
--------
>>> import numpy as np, netfit as nf
>>> from netfit.layers import Dense
>>> from netfit.lbfgs import LBFGS
>>> rng = np.random.default_rng(0)
>>> x = rng.normal(size=(50, 2)); y = np.sin(x[:, 0]) + 0.1 * rng.normal(size=50)
>>> model = nf.Sequential([Dense(5, activation="tanh", input_shape=(2,)), Dense(1)], seed=0, dtype="float64")
>>> model.compile(optimizer=LBFGS(weight_decay=1e-4), loss="mse")
>>> history = model.fit(x, y, epochs=100, verbose=0)
>>> bool(np.all(np.diff(history.history["loss"]) <= 0))
True
"""
import contextlib
import math
import numbers
import os
import time
import warnings

import numpy as np

from . import callbacks as callbacks_mod
from . import optimizers
from .training import check_count, split_validation
from .utils import check_positive_int

__all__ = ["LBFGS", "fit_lbfgs"]

# Rows per forward/backward pass when the objective is evaluated; the gradient is
# their exact (weighted) sum, so the chunk size changes memory, never the result.
_CHUNK = 8192


class LBFGS(optimizers.Optimizer):
    """Limited-memory BFGS on the whole training set (full batch), with ESL's weight decay.

    Parameters
    ----------
    weight_decay : float
        ESL's λ: the objective is R(θ) + λ Σ w² over the kernels (not the biases),
        exactly as for :class:`netfit.optimizers.SGD` and ``Adam``.
    maxcor : int
        Number of (s, y) pairs kept: the "limited memory" m.
    gtol : float
        Stop when every component of the projected gradient is below ``gtol``.
    ftol : float
        Stop when the relative decrease of the objective falls below ``ftol``.
    maxls : int
        Largest number of line-search steps per iteration.

    Notes
    -----
    Works on the model's float type; in float32 the line search meets rounding
    near the optimum sooner and stops there (``history.stop_reason`` says so).
    Build the model with ``dtype="float64"`` to converge tightly. ``batch_size``
    and ``shuffle`` of ``fit`` do not apply: every iteration sees all examples.
    Layers with randomness in training (Dropout) are refused: L-BFGS needs a
    deterministic objective.

    Examples
    --------
    >>> LBFGS(weight_decay=0.01)
    LBFGS(weight_decay=0.01, maxcor=10, gtol=1e-05, ftol=2.220446049250313e-09, maxls=20)
    """

    name = "lbfgs"

    def __init__(self, weight_decay=0.0, maxcor=10, gtol=1e-5, ftol=2.220446049250313e-09, maxls=20, **unknown):
        if "learning_rate" in unknown or "lr" in unknown:
            raise TypeError("LBFGS: unknown argument 'learning_rate'; L-BFGS chooses its step by a line search, "
                            "so it takes none (use maxcor, gtol, ftol, maxls).")
        super().__init__(learning_rate=1.0, weight_decay=weight_decay, **unknown)
        self.maxcor = check_positive_int(maxcor, "LBFGS", "maxcor")
        self.maxls = check_positive_int(maxls, "LBFGS", "maxls")
        for name, value in (("gtol", gtol), ("ftol", ftol)):
            if not isinstance(value, numbers.Real) or isinstance(value, bool) or not value >= 0:
                raise ValueError(f"LBFGS: expected {name} a non-negative number, got {value!r}.")
        self.gtol, self.ftol = float(gtol), float(ftol)

    def _update(self, theta, grad, lr):
        raise RuntimeError("LBFGS: L-BFGS takes no mini-batch steps; train with model.fit(x, y, epochs=maxiter), "
                           "which runs it on the full batch.")

    def fit_model(self, model, x, y, **kwargs):
        """Called by :meth:`netfit.Sequential.fit`; see :func:`fit_lbfgs`."""
        return fit_lbfgs(model, x, y, **kwargs)

    def get_config(self):
        return {"weight_decay": self.weight_decay, "maxcor": self.maxcor, "gtol": self.gtol,
                "ftol": self.ftol, "maxls": self.maxls}


optimizers.register("lbfgs", LBFGS)


def fit_lbfgs(model, x, y, *, epochs=100, verbose=1, callbacks=None, validation_split=0.0,
              validation_data=None, initial_epoch=0, batch_size=None, shuffle=True, sample_weight=None,
              class_weight=None):
    """Train ``model`` (compiled with :class:`LBFGS`) by full-batch L-BFGS for at most ``epochs`` iterations.

    Each iteration is logged like an epoch: ``history.history["loss"][k]`` is
    R(θ_k) + λ Σ w² after iteration k (monotonically non-increasing: the line
    search enforces a sufficient decrease), followed by metrics and ``val_``
    entries when asked for. Callbacks see one epoch per iteration; setting
    ``model.stop_training`` (EarlyStopping) ends the run. On return θ holds the
    final iterate; ``history.stop_reason`` is SciPy's message when it stopped
    before ``epochs`` iterations (converged, or the line search could not
    progress), and ``history.lbfgs`` holds the result's counters.

    ``batch_size`` and ``shuffle`` are accepted for the signature of ``fit`` and
    ignored: the objective is always the full-batch mean, or with
    ``sample_weight`` / ``class_weight`` the weighted mean (1/N) Σ_i w_i ℓ_i,
    exactly as in :meth:`netfit.Sequential.fit`.

    Raises
    ------
    ImportError
        SciPy is not installed.
    ValueError
        The model has Dropout (a random objective), or bad arguments.
    """
    where = "Sequential.fit (L-BFGS)"
    minimize = require_scipy("LBFGS")
    model._ensure_compiled("fit")
    x, y = model._check_xy(x, y, where)
    epochs, initial_epoch = check_count(epochs, where, "epochs"), check_count(initial_epoch, where, "initial_epoch")
    if verbose not in (0, 1, 2, "auto"):
        raise ValueError(f"{where}: expected verbose 0, 1, 2 or 'auto', got {verbose!r}.")
    random_layers = [layer.display_name for layer in model.layers if layer.needs_rng]
    if random_layers:
        raise ValueError(f"{where}: L-BFGS needs a deterministic objective, but {', '.join(random_layers)} "
                         f"draw(s) random masks in training; remove them or use optimizer='adam'.")
    # A frozen BatchNormalization runs in inference mode: its statistics stay put, so it is welcome.
    stateful = [layer.display_name for layer in model.layers
                if getattr(layer, "non_trainable", ()) and layer.trainable]
    if stateful:
        raise ValueError(f"{where}: L-BFGS moves all of θ as one vector, but {', '.join(stateful)} keep(s) "
                         f"weights in it that no gradient may move (BatchNormalization's moving statistics, "
                         f"RandomFourierFeatures' fixed random features); remove them, freeze them "
                         f"(layer.trainable = False) or use optimizer='adam'.")
    (x, y, w), val = split_validation(model, x, y, validation_split, validation_data, where, sample_weight,
                                      class_weight)
    callbacks_mod.check_callbacks(callbacks, model, where, validation=val is not None)    # before any change
    optimizer = model.optimizer
    history = model.history = callbacks_mod.History()
    history.params = {"epochs": epochs, "steps": 1, "batch_size": len(x), "samples": len(x), "optimizer": "lbfgs"}
    cbs = [history] + list(callbacks or [])
    for cb in cbs:
        cb.set_model(model)
    model.stop_training = False
    objective = _Objective(model, x, y, w)
    names = [name for name, _ in model.metrics]
    state = {"epoch": initial_epoch, "start": time.perf_counter()}

    def on_iteration(intermediate_result):
        epoch = state["epoch"]
        for cb in cbs:
            cb.on_epoch_begin(epoch, {})
        objective.set(intermediate_result.x)
        logs = {"loss": float(intermediate_result.fun)}
        if names:
            values = model._evaluate_arrays(x, y, _CHUNK)
            logs.update({k: values[k] for k in names})
        if val is not None:
            logs.update({f"val_{k}": v for k, v in model._evaluate_arrays(val[0], val[1], _CHUNK, val[2]).items()})
        for cb in cbs:
            cb.on_epoch_end(epoch, logs)
        if verbose == 2 or (verbose and (epoch + 1) % 50 == 0):
            print(f"L-BFGS iteration {epoch + 1}/{epochs}" + "".join(f" - {k}: {v:.6g}" for k, v in logs.items()))
        state["epoch"] = epoch + 1
        if model.stop_training:
            raise StopIteration

    for cb in cbs:
        cb.on_train_begin({})
    theta0 = model._theta.astype(np.float64)
    result = None
    maxiter = epochs - initial_epoch
    if maxiter > 0:
        try:
            with np.errstate(over="ignore", invalid="ignore"), _serial_scipy_blas():
                result = minimize(objective, theta0, jac=True, method="L-BFGS-B", callback=on_iteration,
                                  options={"maxiter": maxiter, "maxcor": optimizer.maxcor, "gtol": optimizer.gtol,
                                           "ftol": optimizer.ftol, "maxls": optimizer.maxls,
                                           "maxfun": max(15000, 20 * maxiter)})
        except KeyboardInterrupt:
            history.interrupted = True
            history.stop_reason = "interrupted (Ctrl-C)"
        except _NonFinite as exc:
            history.stop_reason = (f"Sequential.fit: {exc} during L-BFGS; training stopped and the last weights "
                                   f"with a finite loss were kept. Scale the inputs or add weight decay.")
            model.stop_training = True
            warnings.warn(history.stop_reason, RuntimeWarning, stacklevel=3)
    if result is not None and np.isfinite(result.fun):
        objective.set(result.x)
        history.lbfgs = {"iterations": int(result.nit), "evaluations": int(result.nfev),
                         "success": bool(result.success), "message": str(result.message)}
        if result.nit < maxiter and not model.stop_training:
            history.stop_reason = f"L-BFGS: {result.message}"
    else:
        objective.set(objective.best_theta)     # Ctrl-C or a non-finite loss: the best weights seen
    optimizer.iterations += state["epoch"] - initial_epoch
    np.copyto(model._theta_good, model._theta)
    if verbose:
        took = time.perf_counter() - state["start"]
        last = history.history.get("loss", [float("nan")])[-1] if history.history else float("nan")
        print(f"L-BFGS: {state['epoch'] - initial_epoch} iteration(s) in {took:.2f}s, loss {last:.6g}"
              + (f" ({history.stop_reason})" if history.stop_reason else ""))
    for cb in cbs:
        cb.on_train_end({})
    return history


class _NonFinite(ArithmeticError):
    pass


class _Objective:
    """θ ↦ (R(θ) + λ Σ w², gradient) on the full batch, for SciPy (float64 in and out)."""

    def __init__(self, model, x, y, sample_weight=None):
        # Cast once (inputs may be uint8 or float64): every evaluation reuses it.
        self.model, self.x, self.y, self.w = model, np.asarray(x, model._input_dtype(x.dtype)), y, sample_weight
        self.n = len(x)
        self.chunk = min(self.n, _CHUNK)
        self.grad = np.zeros(model._theta.size, np.float64)
        self.best_f, self.best_theta = math.inf, model._theta.astype(np.float64)

    def set(self, theta):
        self.model._theta[...] = theta                            # cast to the model's float type

    def __call__(self, theta):
        model = self.model
        self.set(theta)
        total, grad = 0.0, self.grad
        grad[...] = 0.0
        for start in range(0, self.n, self.chunk):
            stop = min(start + self.chunk, self.n)
            xb = self.x[start:stop]
            yb = self.y[start:stop]
            wb = None if self.w is None else self.w[start:stop]   # sample weights: (1/m) Σ w_i ℓ_i per chunk
            weight = (stop - start) / self.n                     # each chunk's mean, weighted to the full mean
            y_pred = model._forward(xb, True, model._calls)
            total += weight * model._data_loss(y_pred, yb, wb, model._calls)
            model._backward(y_pred, yb, wb, model._calls)
            grad += weight * model._grad
        total += model.optimizer.penalty(theta)                 # λ Σ w² over the kernels
        model.optimizer.add_penalty_gradient(theta, grad)        # and its gradient 2λw
        model._zero_frozen(grad)                                 # layers with trainable = False stay put
        if not (math.isfinite(total) and np.isfinite(grad).all()):
            raise _NonFinite(f"the loss became {total}" if not math.isfinite(total) else "the gradient overflowed")
        if total < self.best_f:
            self.best_f, self.best_theta = total, theta.copy()
        return total, grad.copy()


def require_scipy(where, instead="compile with optimizer='adam'"):
    """Return ``scipy.optimize.minimize``; an ImportError naming the extra (and ``instead``) without SciPy.

    ``instead`` is the other way its reader has to train (None: there is none): the
    experiments check before reading any data, and their commands pass their own
    option (``--optimizer adam``).
    """
    try:
        from scipy.optimize import minimize
    except ImportError:
        other = f", or {instead}" if instead else ""
        raise ImportError(f"{where}: full-batch L-BFGS needs SciPy, which is not installed. Fix: pip install "
                          f"'netfit[lbfgs]'{other}.") from None
    return minimize


def _serial_scipy_blas():
    """One BLAS thread for SciPy's own OpenBLAS while L-BFGS runs.

    L-BFGS-B's update works on vectors of length p (the parameters); SciPy's
    bundled OpenBLAS wakes its thread pool for each of those tiny products,
    which made an iteration ~10x slower on a 2-core machine. NumPy's BLAS (the
    network's matrix products) is left alone. Needs threadpoolctl; without it,
    nothing changes.
    """
    try:
        from threadpoolctl import ThreadpoolController
    except ImportError:
        return contextlib.nullcontext()
    controller = ThreadpoolController()
    paths = [info["filepath"] for info in controller.info()
             if info.get("user_api") == "blas" and "scipy" in os.path.dirname(info["filepath"])
             and "numpy" not in os.path.dirname(info["filepath"])]
    if not paths:
        return contextlib.nullcontext()
    return controller.select(filepath=paths).limit(limits=1)
