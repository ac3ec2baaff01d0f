"""ProgressBar: Keras-style progress of fit, redrawn on a terminal and in a notebook cell, one line per epoch elsewhere."""
import math
import numbers
import sys
import time

import numpy as np

from .. import display
from .base import Callback


class ProgressBar(Callback):
    """Keras-style progress: a redrawn bar on a terminal and in a notebook, one line per epoch elsewhere.

    verbose=1 draws ``123/1875 [====>.....] - ETA: 3s - loss: 0.2311 - accuracy: 0.9312``;
    when the stream is not a terminal (a log file, CI) only the finished line of
    each epoch is written. In a notebook kernel (JupyterLab, VS Code, Colab; found by
    :func:`netfit.display.kernel`, with ``stream`` left None) each epoch's bar is one
    cell output redrawn in place (a display id), which ends as the epoch's line: the
    saved notebook keeps one line per epoch, not one per redraw (Keras writes carriage
    returns into the cell's text instead). verbose=2 writes one line per epoch. With streamed
    batches of unknown number (an iterable without a length) the first epoch
    counts ``123/Unknown``, as Keras does, and later epochs know it.

    The ETA is the remaining steps times the mean time of the steps after the
    epoch's first: the first step of a fit also pays for start-up (loading the
    compiled kernels of netfit[fast], threads, buffers: 0.8–1.1 s before steps of
    0.4 ms for the lecture's MLP on a loaded 2-core machine), which would make the
    first epoch's ETA far too long. It shows from the second step on.
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
        self.cell = self.verbose == 1 and self.stream is None and display.kernel() is not None
        self.tty = self.verbose == 1 and not self.cell and hasattr(self.out, "isatty") and self.out.isatty()
        self.epochs, self.steps = self.params["epochs"], self.params["steps"]     # steps: None while unknown

    def on_epoch_begin(self, epoch, logs=None):
        self.out.write(f"Epoch {epoch + 1}/{self.epochs}\n")
        self.start = self.last_draw = time.perf_counter()
        self.done, self.first_step_end, self.handle = 0, None, None

    def on_train_batch_end(self, batch, logs=None):
        self.done = batch + 1                     # an epoch may end short of steps (the data ran out)
        if not (self.tty or self.cell):
            return
        now = time.perf_counter()
        if batch == 0:
            self.first_step_end = now                 # steps' own times are counted from here
        if now - self.last_draw < self.interval and (self.steps is None or self.done < self.steps):
            return
        self.last_draw = now
        eta = ""
        if self.steps is not None and self.done > 1 and self.first_step_end is not None:
            per_step = (now - self.first_step_end) / (self.done - 1)       # steps 2 … done, without the start-up
            eta = f" - ETA: {_duration(per_step * (self.steps - self.done))}"
        self._draw(f"{self._bar(self.done)}{eta}{_format_logs(logs)}")

    def on_epoch_end(self, epoch, logs=None):
        elapsed = time.perf_counter() - self.start
        done = self.done or self.steps or 0
        if self.steps is None:
            self.steps = done                     # Keras: known after the first epoch
        per_step = elapsed / max(done, 1)
        step_time = f"{per_step * 1e3:.0f}ms" if per_step >= 1e-3 else f"{per_step * 1e6:.0f}us"
        timing = f"{_duration(elapsed)} {step_time}/step"
        if self.verbose == 2:
            self.out.write(f"{done}/{self.steps} - {timing}{_format_logs(logs)}\n")
        elif self.cell:
            self._draw(f"{self._bar(done)} - {timing}{_format_logs(logs)}")
        else:
            redraw = "\r" if self.tty else ""
            self.out.write(f"{redraw}{self._bar(done)} - {timing}{_format_logs(logs)}\n")
        self.out.flush()

    def _draw(self, line):
        """Redraw the epoch's bar: over the terminal's line, or in place of the cell's output."""
        if self.cell:
            self.out.flush()                      # "Epoch k/N" before its bar
            self.handle = display.show({"text/plain": line}, self.handle)
        else:
            self.out.write(f"\r{line}")
            self.out.flush()

    def _bar(self, done):
        if self.steps is None:
            return f"{done}/Unknown"
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
