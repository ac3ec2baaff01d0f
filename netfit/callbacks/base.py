"""The callback contract, History, LambdaCallback, and the checks every callback runs before the first step.

The hooks are Keras 3's, called when Keras calls them and with Keras's logs
(:class:`~netfit.callbacks.CallbackList` says which, in order). ``fit`` calls
on_train_begin, then per epoch on_epoch_begin, on_train_batch_begin and
on_train_batch_end around each step, the on_test_* hooks while it validates,
on_epoch_end with the epoch's logs (loss, metrics, val_ metrics), and finally
on_train_end; ``evaluate`` calls the on_test_* hooks, ``predict`` the
on_predict_* ones. A callback stops training by setting
``model.stop_training = True`` (``stop_evaluating``, ``stop_predicting``).

Before any of that, :func:`check_callbacks` hands each callback the names the
logs will hold (from the compiled metrics and whether validation data was
given) through ``check_before_fit(model, logs)``, so that a monitor that will
never be logged, or a file name that cannot be filled in, fails before the
weights change, not after an epoch.
"""
import difflib
import html
import math
import numbers
import os

from .. import metrics as metrics_mod
from ..keras_args import GuardedAttributes
from .curves import plot_history

class Callback(GuardedAttributes):
    """Base class with empty hooks; ``self.model`` is set before training starts.

    ``adds_logs`` names the values the callback writes into each epoch's logs
    (ReduceLROnPlateau adds "learning_rate"), so that callbacks after it may
    monitor them.

    The logs each hook gets, as in Keras 3 (``batch`` counts from 0 within the
    epoch or the call):

    ======================================  ===============================================
    hook                                    logs
    ======================================  ===============================================
    on_train_begin, on_epoch_begin,         ``{}``
    on_(train|test|predict)_batch_begin,
    on_test_begin, on_predict_begin,
    on_predict_end
    on_train_batch_end(batch, logs)         loss and metrics over the epoch's batches so
                                            far (running values, not the batch's own)
    on_test_batch_end(batch, logs)          the same over the evaluation's batches so far
    on_test_end(logs)                       the evaluation's loss and metrics
    on_epoch_end(epoch, logs)               the epoch's loss and metrics, ``val_`` ones too
    on_train_end(logs)                      the last epoch's logs (``{}`` if none ran)
    on_predict_batch_end(batch, logs)       ``{"outputs": the batch's outputs}``
    ======================================  ===============================================

    ``on_batch_begin`` / ``on_batch_end`` are Keras's older names: the default
    ``on_train_batch_begin`` / ``on_train_batch_end`` call them.
    """

    adds_logs = ()

    def set_model(self, model):
        self.model = model

    def set_params(self, params):
        """Parameters of the call: verbose, epochs, steps (per epoch; None when unknown), and for
        ``fit`` on arrays batch_size and samples too."""
        self.params = params

    def check_before_fit(self, model, logs):
        """Raise a clear error now if this callback cannot work with ``model`` and these ``logs`` names.

        Called by :meth:`netfit.Sequential.fit` (and L-BFGS) before anything
        changes; ``logs`` is the tuple of names every epoch's logs will hold.
        """

    def on_train_begin(self, logs=None): pass
    def on_train_end(self, logs=None): pass
    def on_epoch_begin(self, epoch, logs=None): pass
    def on_epoch_end(self, epoch, logs=None): pass
    def on_batch_begin(self, batch, logs=None): pass
    def on_batch_end(self, batch, logs=None): pass

    def on_train_batch_begin(self, batch, logs=None):
        self.on_batch_begin(batch, logs=logs)           # Keras's older name

    def on_train_batch_end(self, batch, logs=None):
        self.on_batch_end(batch, logs=logs)

    def on_test_begin(self, logs=None): pass
    def on_test_end(self, logs=None): pass
    def on_test_batch_begin(self, batch, logs=None): pass
    def on_test_batch_end(self, batch, logs=None): pass
    def on_predict_begin(self, logs=None): pass
    def on_predict_end(self, logs=None): pass
    def on_predict_batch_begin(self, batch, logs=None): pass
    def on_predict_batch_end(self, batch, logs=None): pass

# Every hook, as Keras 3 names them (LambdaCallback takes any of them by name).
HOOKS = ("on_train_begin", "on_train_end", "on_epoch_begin", "on_epoch_end", "on_train_batch_begin",
         "on_train_batch_end", "on_batch_begin", "on_batch_end", "on_test_begin", "on_test_end",
         "on_test_batch_begin", "on_test_batch_end", "on_predict_begin", "on_predict_end",
         "on_predict_batch_begin", "on_predict_batch_end")

def overrides(cb, hook):
    """True when ``cb`` has a ``hook`` of its own (a subclass's method or a LambdaCallback's function).

    The loops compute a batch's logs only when some callback will read them
    (Keras asks the same question to decide what it may run asynchronously).
    """
    if hook in vars(cb):
        return True
    return getattr(type(cb), hook) is not getattr(Callback, hook)

def logged_names(model, validation):
    """The names every epoch's logs will hold: loss, each metric, and their ``val_`` forms with validation data."""
    names = ["loss"] + [name for name, _ in getattr(model, "metrics", [])]
    return tuple(names + [f"val_{name}" for name in names] if validation else names)

def check_callbacks(callbacks, model, where="Sequential.fit", validation=False):
    """Refuse anything but a list of Callback objects, and let each check itself before training.

    Each callback's ``check_before_fit(model, logs)`` sees the names the logs
    will hold by the time it runs: those of ``model``'s compiled metrics (with
    ``val_`` forms when ``validation``), plus those the callbacks before it add.
    A callback of the user's own that overrides ``on_epoch_end`` (or a
    LambdaCallback with one) may write any name, so after one of those only the
    names that certainly cannot appear (``val_`` ones without validation data)
    are refused.
    """
    callbacks = check_callback_list(callbacks, where)
    if not getattr(model, "compiled", False):
        return                                     # fit refuses an uncompiled model next, with the fix
    logs = LogNames(logged_names(model, validation), validation)
    for cb in callbacks:
        cb.check_before_fit(model, logs)
        logs = LogNames(tuple(logs) + tuple(n for n in cb.adds_logs if n not in logs), validation,
                        logs.open or _may_write_logs(cb))

def check_callback_list(callbacks, where):
    """``callbacks`` as a list of Callback objects (None: an empty one), or a TypeError naming the fix."""
    if callbacks is None:
        return []
    if isinstance(callbacks, Callback) or not isinstance(callbacks, (list, tuple)):
        raise TypeError(f"{where}: expected callbacks a list of netfit Callback objects, got "
                        f"{type(callbacks).__name__}; wrap a single one in a list: callbacks=[cb].")
    for cb in callbacks:
        if not isinstance(cb, Callback):
            raise TypeError(f"{where}: expected callbacks to be netfit Callback objects, got {type(cb).__name__}.")
    return list(callbacks)

class LogNames(tuple):
    """The names the logs will hold, with ``validation`` and ``open`` (a callback before may add any name)."""

    def __new__(cls, names, validation=False, open=False):
        self = super().__new__(cls, names)
        self.validation, self.open = validation, open
        return self

def _may_write_logs(cb):
    """True for callbacks whose on_epoch_end is the user's own code (it may add names to the logs)."""
    if isinstance(cb, LambdaCallback):
        return "on_epoch_end" in vars(cb)
    hook = type(cb).on_epoch_end
    return hook is not Callback.on_epoch_end and not type(cb).__module__.startswith("netfit.")

def check_logged(where, what, name, logs):
    """Raise a ValueError naming the fix unless ``name`` will be among the ``logs`` names.

    The fix: validation data for a ``val_`` name, the logged name of the same metric
    (``val_acc`` → ``val_accuracy`` after ``metrics=["accuracy"]``), ``compile(metrics=[...])``
    for a metric not compiled, else the closest logged name (difflib).
    """
    if name in logs:
        return
    base = name[4:] if name.startswith("val_") else name
    if logs.open and not (name.startswith("val_") and not logs.validation):
        return                                     # a callback before this one may write it
    listing = ", ".join(logs)
    prefix = "val_" if name.startswith("val_") else ""
    alias = metrics_mod.SAME.get(base) or next((k for k, v in metrics_mod.SAME.items() if v == base), None)
    logged = alias if alias is not None and alias in logs else base if base in logs else None
    if prefix and not logs.validation and logged is not None:
        hint = (f"; it needs validation data: pass validation_data=(x_val, y_val) or validation_split=0.2 to fit"
                f"{f' (it is then logged as {prefix + logged!r})' if logged != base else ''}, or use {logged!r}")
    elif alias is not None and prefix + alias in logs:
        hint = f"; did you mean {prefix + alias!r}? (the model was compiled with metrics=[{alias!r}])"
    elif base in ("learning_rate", "lr"):
        hint = "; put a ReduceLROnPlateau or LearningRateScheduler before this callback to log learning_rate"
    elif base in metrics_mod.names():
        need = " and pass validation data" if prefix and not logs.validation else ""
        hint = f"; compile with metrics=[{base!r}]{need} to log it"
    else:
        close = difflib.get_close_matches(name, list(logs), n=1, cutoff=0.6)
        hint = f"; did you mean {close[0]!r}?" if close else ""
    end = "" if hint.endswith("?") else "."
    raise ValueError(f"{where}: expected {what} one of the values fit will log ({listing}), got {name!r}{hint}{end}")

def check_mode(mode, monitor, where):
    """Check ``mode`` and ``monitor`` at construction; the direction is settled by :func:`better`."""
    if not isinstance(monitor, str):
        raise TypeError(f"{where}: expected monitor the name of a logged value, e.g. 'val_loss', got {monitor!r}.")
    if mode not in ("auto", "min", "max"):
        raise ValueError(f"{where}: expected mode 'auto', 'min' or 'max', got {mode!r}.")
    return mode

def better(mode, monitor, model=None):
    """``improved(new, best, delta)`` for ``mode``; "auto" asks the compiled metric which way is better.

    A loss gets smaller; a compiled metric says its own direction
    (:attr:`netfit.metrics.Metric.direction`: accuracy, AUC, precision, recall,
    R² up; MSE, MAE down); any other name is "max" when it holds "acc" or ends in
    "r2" (Keras 2's rule), else "min".
    """
    if mode == "auto":
        base = monitor[4:] if monitor.startswith("val_") else monitor
        compiled = dict(getattr(model, "metrics", []) if model is not None else [])
        if base.endswith("loss"):
            mode = "min"
        elif base in compiled:
            mode = compiled[base].direction
        else:
            mode = "max" if ("acc" in monitor or monitor.endswith("r2")) else "min"
    return (lambda new, best, delta: new < best - delta) if mode == "min" else \
           (lambda new, best, delta: new > best + delta)

class History(Callback):
    """Record each epoch's logs: ``history.history["loss"][k]`` is epoch k's mean loss.

    ``interrupted`` is True when Ctrl-C ended training, and ``stop_reason`` says
    why training stopped early (None when it ran all epochs). It runs before the
    user's callbacks (so a checkpoint saved at an epoch's end holds that
    epoch); a callback that adds a value to the logs records it here with
    :meth:`record` (Keras runs History last instead). After full-batch L-BFGS,
    ``lbfgs`` holds its iteration count and stopping message (None otherwise).
    """

    def __init__(self):
        self.history, self.epoch = {}, []
        self.params = {}
        self.interrupted, self.stop_reason = False, None
        self.lbfgs = None

    def on_epoch_end(self, epoch, logs=None):
        self.epoch.append(epoch)
        for key, value in (logs or {}).items():
            self.history.setdefault(key, []).append(value)

    def record(self, key, value):
        """Add ``key``'s value for the epoch just recorded, once (for values callbacks add after History ran)."""
        values = self.history.setdefault(key, [])
        if len(values) < len(self.epoch):
            values.append(value)

    def plot(self, path=None):
        """Loss and each metric per epoch, training against validation: :func:`~netfit.plotting.plot_history`.

        Returns the matplotlib Figure (a notebook cell shows it); ``path`` also writes it.
        Raises ValueError before the first epoch (nothing to draw), ImportError without matplotlib.
        """
        return plot_history(self, path)

    def __repr__(self):
        keys = ", ".join(self.history) or "nothing yet"
        return f"<History: {len(self.epoch)} epoch{'s' * (len(self.epoch) != 1)} of {keys}>"

    def _repr_html_(self):
        """The per-epoch logs as a table, for a notebook cell that returns the History (IPython's protocol).

        Long runs show their first and last ten epochs. Values are the logs' own (4 significant digits).
        """
        if not self.epoch:
            return None                                   # IPython then shows __repr__
        keys = list(self.history)
        shown = list(range(len(self.epoch)))
        if len(shown) > 30:
            shown = shown[:10] + [None] + shown[-10:]
        head = "".join(f"<th>{html.escape(k)}</th>" for k in ["epoch"] + keys)
        rows = []
        for i in shown:
            if i is None:
                rows.append(f'<tr><td colspan="{len(keys) + 1}">…</td></tr>')
                continue
            cells = [str(self.epoch[i] + 1)] + [_cell(self.history[k], i) for k in keys]
            rows.append("<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
        return (f"<details open><summary>{html.escape(repr(self))}</summary>"
                f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table></details>")


def _cell(values, i):
    """One logged value for the History table: 4 significant digits; blank where the epoch has none."""
    if i >= len(values):
        return ""
    value = values[i]
    return f"{value:.4g}" if isinstance(value, numbers.Real) else html.escape(str(value))

class LambdaCallback(Callback):
    """A callback from plain functions, e.g. ``LambdaCallback(on_epoch_end=lambda e, logs: ...)``.

    Keras 3's arguments: on_epoch_begin, on_epoch_end, on_train_begin,
    on_train_end, on_train_batch_begin, on_train_batch_end, and any other hook
    by keyword (``on_test_batch_end=...``, ``on_predict_end=...``).
    """

    def __init__(self, on_epoch_begin=None, on_epoch_end=None, on_train_begin=None, on_train_end=None,
                 on_train_batch_begin=None, on_train_batch_end=None, **hooks):
        unknown = sorted(set(hooks) - set(HOOKS))
        if unknown:
            raise TypeError(f"LambdaCallback: expected hooks by their Keras names ({', '.join(HOOKS)}), "
                            f"got {unknown[0]!r}.")
        hooks.update(on_epoch_begin=on_epoch_begin, on_epoch_end=on_epoch_end, on_train_batch_end=on_train_batch_end,
                     on_train_begin=on_train_begin, on_train_end=on_train_end,
                     on_train_batch_begin=on_train_batch_begin)
        for hook, fn in hooks.items():
            if fn is not None and not callable(fn):
                raise TypeError(f"LambdaCallback: expected {hook} a function, got {type(fn).__name__}.")
            if fn is not None:
                setattr(self, hook, fn)

def check_number(value, where, name, integer=False):
    """Return ``value`` as a float (or an int when ``integer``) that is finite and >= 0, or raise a ValueError."""
    kind = numbers.Integral if integer else numbers.Real
    if isinstance(value, bool) or not isinstance(value, kind) or not (math.isfinite(value) and value >= 0):
        raise ValueError(f"{where}: expected {name} a non-negative {'integer' if integer else 'finite number'}, "
                         f"got {value!r}.")
    return int(value) if integer else float(value)

def check_file_name(value, where, name):
    """Return ``value`` (a str or os.PathLike) as a non-empty str, or raise a TypeError naming ``name``."""
    if not isinstance(value, (str, os.PathLike)):
        raise TypeError(f"{where}: expected {name} a str or os.PathLike, got {type(value).__name__}.")
    value = os.fspath(value)
    if not isinstance(value, str) or not value:
        raise TypeError(f"{where}: expected {name} a non-empty str, got {value!r}.")
    return value
