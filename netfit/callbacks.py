"""Callbacks watch the training loop: history, progress bar, early stopping, checkpoints.

The loop calls, in order: on_train_begin, then per epoch on_epoch_begin,
on_train_batch_end after each step, on_epoch_end with the epoch's logs
(loss, metrics, val_ metrics), and finally on_train_end. A callback stops
training by setting ``model.stop_training = True``.
"""
import math
import os
import sys
import time

import numpy as np


class Callback:
    """Base class with empty hooks; ``self.model`` is set before training starts."""

    def set_model(self, model):
        self.model = model

    def on_train_begin(self, logs=None): pass
    def on_train_end(self, logs=None): pass
    def on_epoch_begin(self, epoch, logs=None): pass
    def on_epoch_end(self, epoch, logs=None): pass
    def on_train_batch_end(self, batch, logs=None): pass


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
            if fn is not None:
                setattr(self, hook, fn)


def _improved(mode, monitor):
    if mode == "auto":
        mode = "max" if ("acc" in monitor or monitor.endswith("r2")) else "min"
    if mode not in ("min", "max"):
        raise ValueError(f"expected mode 'auto', 'min' or 'max', got {mode!r}.")
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
        self.monitor, self.min_delta, self.patience = monitor, abs(min_delta), int(patience)
        self.restore_best_weights, self.verbose = restore_best_weights, verbose
        self._better = _improved(mode, monitor)
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
        self.filepath, self.monitor = os.fspath(filepath), monitor
        self.save_best_only, self.verbose = save_best_only, verbose
        self._better = _improved(mode, monitor)
        self.best = None

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        if self.save_best_only:
            value = logs.get(self.monitor)
            if value is None:
                raise ValueError(f"ModelCheckpoint: monitor {self.monitor!r} is not among the logs {sorted(logs)}.")
            if self.best is not None and not self._better(value, self.best, 0.0):
                return
            self.best = value
        path = self.filepath.format(epoch=epoch + 1, **logs)
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
        self.verbose, self.stream, self.interval = verbose, stream, interval

    def on_train_begin(self, logs=None):
        self.out = self.stream or sys.stdout
        self.tty = self.verbose == 1 and hasattr(self.out, "isatty") and self.out.isatty()
        params = self.model.history.params
        self.epochs, self.steps = params["epochs"], params["steps"]

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
        timing = f"{_duration(elapsed)} {per_step * 1e3:.0f}ms/step"
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
