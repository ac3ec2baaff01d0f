"""Callbacks watch the training loop: history, progress bar, early stopping, checkpoints.

The loop calls, in order: on_train_begin, then per epoch on_epoch_begin,
on_train_batch_end after each step, on_epoch_end with the epoch's logs
(loss, metrics, val_ metrics), and finally on_train_end. A callback stops
training by setting ``model.stop_training = True``.
"""
import math
import numbers
import os
import string
import sys
import time

import numpy as np

from .utils import check_flag


class Callback:
    """Base class with empty hooks; ``self.model`` is set before training starts."""

    def set_model(self, model):
        self.model = model

    def set_params(self, params):
        """Training parameters: epochs, steps (per epoch), batch_size, samples."""
        self.params = params

    def on_train_begin(self, logs=None): pass
    def on_train_end(self, logs=None): pass
    def on_epoch_begin(self, epoch, logs=None): pass
    def on_epoch_end(self, epoch, logs=None): pass
    def on_train_batch_end(self, batch, logs=None): pass


def check_callbacks(callbacks, model, where="Sequential.fit"):
    """Refuse anything but a list of Callback objects, and let each check itself before training.

    A callback may define ``check_before_fit(model)`` (ModelCheckpoint does: its
    file name and folder) to fail before the model changes, not after an epoch.
    """
    if callbacks is None:
        return
    if isinstance(callbacks, Callback) or not isinstance(callbacks, (list, tuple)):
        raise TypeError(f"{where}: expected callbacks a list of netfit Callback objects, got "
                        f"{type(callbacks).__name__}; wrap a single one in a list: callbacks=[cb].")
    for cb in callbacks:
        if not isinstance(cb, Callback):
            raise TypeError(f"{where}: expected callbacks to be netfit Callback objects, got {type(cb).__name__}.")
    for cb in callbacks:
        check = getattr(cb, "check_before_fit", None)
        if check is not None:
            check(model)


class History(Callback):
    """Record each epoch's logs: ``history.history["loss"][k]`` is epoch k's mean loss.

    ``interrupted`` is True when Ctrl-C ended training, and ``stop_reason`` says
    why training stopped early (None when it ran all epochs).
    """

    def __init__(self):
        self.history, self.epoch = {}, []
        self.params = {}
        self.interrupted, self.stop_reason = False, None

    def on_epoch_end(self, epoch, logs=None):
        self.epoch.append(epoch)
        for key, value in (logs or {}).items():
            self.history.setdefault(key, []).append(value)


class LambdaCallback(Callback):
    """A callback from plain functions, e.g. ``LambdaCallback(on_epoch_end=lambda e, logs: ...)``."""

    def __init__(self, on_epoch_begin=None, on_epoch_end=None, on_train_batch_end=None,
                 on_train_begin=None, on_train_end=None):
        for hook, fn in (("on_epoch_begin", on_epoch_begin), ("on_epoch_end", on_epoch_end),
                         ("on_train_batch_end", on_train_batch_end), ("on_train_begin", on_train_begin),
                         ("on_train_end", on_train_end)):
            if fn is not None and not callable(fn):
                raise TypeError(f"LambdaCallback: expected {hook} a function, got {type(fn).__name__}.")
            if fn is not None:
                setattr(self, hook, fn)


def _improved(mode, monitor, where="callback"):
    if not isinstance(monitor, str):
        raise TypeError(f"{where}: expected monitor the name of a logged value, e.g. 'val_loss', got {monitor!r}.")
    if mode == "auto":
        mode = "max" if ("acc" in monitor or monitor.endswith("r2")) else "min"
    if mode not in ("min", "max"):
        raise ValueError(f"{where}: expected mode 'auto', 'min' or 'max', got {mode!r}.")
    return (lambda new, best, delta: new < best - delta) if mode == "min" else \
           (lambda new, best, delta: new > best + delta)


class EarlyStopping(Callback):
    """Stop when ``monitor`` has not improved by ``min_delta`` for ``patience`` epochs.

    ESL §11.5.1 calls this the implicit regularisation of stopping early, with a
    validation set choosing when. ``restore_best_weights`` puts back the weights
    of the best epoch at the end.
    """

    def __init__(self, monitor="val_loss", min_delta=0.0, patience=0, mode="auto",
                 restore_best_weights=False, verbose=0):
        where = "EarlyStopping"
        if isinstance(min_delta, bool) or not isinstance(min_delta, numbers.Real) or not math.isfinite(min_delta):
            raise ValueError(f"{where}: expected min_delta a finite number, got {min_delta!r}.")
        if isinstance(patience, bool) or not isinstance(patience, numbers.Integral) or patience < 0:
            raise ValueError(f"{where}: expected patience a non-negative integer (epochs), got {patience!r}.")
        check_flag(restore_best_weights, where, "restore_best_weights")
        self._better = _improved(mode, monitor, where)
        self.monitor, self.min_delta, self.patience = monitor, abs(float(min_delta)), int(patience)
        self.restore_best_weights, self.verbose = bool(restore_best_weights), verbose
        self.stopped_epoch, self.best_epoch = None, None

    def on_train_begin(self, logs=None):
        self.wait, self.best, self.best_weights = 0, None, None
        self.stopped_epoch, self.best_epoch = None, None

    def on_epoch_end(self, epoch, logs=None):
        value = (logs or {}).get(self.monitor)
        if value is None:
            raise ValueError(f"EarlyStopping: monitor {self.monitor!r} is not among the logs "
                             f"{sorted(logs or {})}; pass validation data or monitor 'loss'.")
        if self.best is None or self._better(value, self.best, self.min_delta):
            self.best, self.best_epoch, self.wait = value, epoch, 0
            if self.restore_best_weights:
                self.best_weights = self.model.get_weights()
            return
        self.wait += 1
        if self.wait >= self.patience:                # Keras: stop after `patience` epochs without progress
            self.stopped_epoch = epoch
            self.model.stop_training = True
            self.model.history.stop_reason = f"EarlyStopping: {self.monitor} did not improve for {self.wait} epochs"

    def on_train_end(self, logs=None):
        if self.restore_best_weights and self.best_weights is not None:
            self.model.set_weights(self.best_weights)
            if self.verbose:
                print(f"EarlyStopping: restored the weights of epoch {self.best_epoch + 1}.")


class ModelCheckpoint(Callback):
    """Save the model after each epoch (or only when ``monitor`` improves).

    ``filepath`` may hold fields of the logs, e.g. ``"model-{epoch:02d}-{val_loss:.3f}.netfit"``.
    Saving is atomic (:func:`netfit.io.save_model`): a crash mid-save keeps the previous file.
    """

    def __init__(self, filepath, monitor="val_loss", save_best_only=False, mode="auto", verbose=0):
        where = "ModelCheckpoint"
        if not isinstance(filepath, (str, os.PathLike)):
            raise TypeError(f"{where}: expected filepath a str or os.PathLike, got {type(filepath).__name__}.")
        filepath = os.fspath(filepath)
        if not isinstance(filepath, str) or not filepath:
            raise TypeError(f"{where}: expected filepath a non-empty str, got {filepath!r}.")
        check_flag(save_best_only, where, "save_best_only")
        self._better = _improved(mode, monitor, where)
        self.filepath, self.monitor = filepath, monitor
        self.save_best_only, self.verbose = bool(save_best_only), verbose
        self.best = None

    def check_before_fit(self, model):
        """Refuse a bad file name or an unwritable folder now, not after the first epoch.

        :meth:`netfit.Sequential.fit` calls this before it changes anything.
        """
        names = ["loss"] + [name for name, _ in getattr(model, "metrics", [])]
        known = {"epoch", *names, *(f"val_{n}" for n in names)}
        try:
            fields = {f for _, f, _, _ in string.Formatter().parse(self.filepath) if f is not None}
        except ValueError as exc:
            raise ValueError(f"ModelCheckpoint: cannot read filepath {self.filepath!r} as a template ({exc}); "
                             f"double braces {{{{ }}}} to write them literally.") from None
        unknown = sorted(f for f in fields if f.split(".")[0].split("[")[0] not in known)
        if unknown:
            raise ValueError(f"ModelCheckpoint: filepath {self.filepath!r} names {', '.join(map(repr, unknown))}, "
                             f"which the logs will not have; use {{epoch}} and {', '.join(sorted(known - {'epoch'}))}.")
        from .io import check_writable
        check_writable(self._format(0, {name: 0.0 for name in known - {"epoch"}}), "ModelCheckpoint")

    def _format(self, epoch, logs):
        try:
            return self.filepath.format(epoch=epoch + 1, **logs)
        except KeyError as exc:
            raise ValueError(f"ModelCheckpoint: filepath {self.filepath!r} names {exc}, which is not among the "
                             f"logs {sorted(logs)}; pass validation data or remove it.") from None
        except (ValueError, IndexError, AttributeError) as exc:
            raise ValueError(f"ModelCheckpoint: cannot fill in filepath {self.filepath!r} ({exc}).") from None

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        if self.save_best_only:
            value = logs.get(self.monitor)
            if value is None:
                raise ValueError(f"ModelCheckpoint: monitor {self.monitor!r} is not among the logs {sorted(logs)}.")
            if self.best is not None and not self._better(value, self.best, 0.0):
                return
            self.best = value
        path = self._format(epoch, logs)
        self.model.save(path, _epoch=epoch + 1)
        if self.verbose:
            print(f"ModelCheckpoint: saved {path}")


class ProgressBar(Callback):
    """Keras-style progress: a redrawn bar on a terminal, one line per epoch elsewhere.

    verbose=1 draws ``123/1875 [====>.....] - ETA: 3s - loss: 0.2311 - accuracy: 0.9312``;
    when the stream is not a terminal (a log file, CI) only the finished line of
    each epoch is written. verbose=2 writes one line per epoch.
    """

    width = 30

    def __init__(self, verbose=1, stream=None, interval=0.1):
        if verbose not in (1, 2):                  # True counts as 1, as in Keras
            raise ValueError(f"ProgressBar: expected verbose 1 (a bar) or 2 (a line per epoch), got {verbose!r}.")
        if stream is not None and not callable(getattr(stream, "write", None)):
            raise TypeError(f"ProgressBar: expected stream a file-like object with write(), "
                            f"got {type(stream).__name__}.")
        if isinstance(interval, bool) or not isinstance(interval, numbers.Real) or not interval >= 0:
            raise ValueError(f"ProgressBar: expected interval a non-negative number of seconds, got {interval!r}.")
        self.verbose, self.stream, self.interval = verbose, stream, interval

    def on_train_begin(self, logs=None):
        self.out = self.stream or sys.stdout
        self.tty = self.verbose == 1 and hasattr(self.out, "isatty") and self.out.isatty()
        self.epochs, self.steps = self.params["epochs"], self.params["steps"]

    def on_epoch_begin(self, epoch, logs=None):
        self.out.write(f"Epoch {epoch + 1}/{self.epochs}\n")
        self.start = self.last_draw = time.perf_counter()

    def on_train_batch_end(self, batch, logs=None):
        if not self.tty:
            return
        now = time.perf_counter()
        if now - self.last_draw < self.interval and batch + 1 < self.steps:
            return
        self.last_draw = now
        done = batch + 1
        eta = (now - self.start) / done * (self.steps - done)
        self.out.write(f"\r{self._bar(done)} - ETA: {_duration(eta)}{_format_logs(logs)}")
        self.out.flush()

    def on_epoch_end(self, epoch, logs=None):
        elapsed = time.perf_counter() - self.start
        per_step = elapsed / max(self.steps, 1)
        step_time = f"{per_step * 1e3:.0f}ms" if per_step >= 1e-3 else f"{per_step * 1e6:.0f}us"
        timing = f"{_duration(elapsed)} {step_time}/step"
        if self.verbose == 2:
            self.out.write(f"{self.steps}/{self.steps} - {timing}{_format_logs(logs)}\n")
        else:
            redraw = "\r" if self.tty else ""
            self.out.write(f"{redraw}{self._bar(self.steps)} - {timing}{_format_logs(logs)}\n")
        self.out.flush()

    def _bar(self, done):
        digits = len(str(self.steps))
        filled = int(self.width * done / max(self.steps, 1))
        bar = "=" * filled + (">" if filled < self.width else "") + "." * (self.width - filled - 1)
        return f"{done:>{digits}}/{self.steps} [{bar[:self.width]}]"


def _format_logs(logs):
    return "".join(f" - {k}: {v:.4f}" for k, v in (logs or {}).items()
                   if isinstance(v, (float, np.floating)) and math.isfinite(v))


def _duration(seconds):
    if seconds >= 3600:
        return f"{int(seconds // 3600)}:{int(seconds % 3600 // 60):02d}:{int(seconds % 60):02d}"
    if seconds >= 60:
        return f"{int(seconds // 60)}:{int(seconds % 60):02d}"
    return f"{seconds:.0f}s" if seconds >= 1 else f"{seconds * 1e3:.0f}ms"
