"""The fit loop of :class:`netfit.Sequential`: batches, callbacks, NaN guard, Ctrl-C.

Kept apart from model.py so that the loop reads top to bottom in one place.
Per step it allocates nothing large: each batch is gathered into a reused
buffer (never a shuffled copy of the whole data set), layers reuse their
scratch arrays, and the optimizer updates the flat weight vector in place.
"""
import math
import numbers
import signal
import threading

import numpy as np

from . import callbacks as callbacks_mod
from . import config
from .utils import check_positive_int, check_verbose, warn


def run_fit(model, x, y, *, batch_size, epochs, verbose, callbacks, validation_split, validation_data,
            shuffle, initial_epoch):
    """Train ``model``; see :meth:`netfit.Sequential.fit` for the arguments."""
    where = "Sequential.fit"
    model._ensure_compiled("fit")
    x, y = model._check_xy(x, y, where)
    epochs = check_count(epochs, where, "epochs")
    initial_epoch = check_count(initial_epoch, where, "initial_epoch")
    verbose = 1 if check_verbose(verbose, where) == "auto" else verbose
    (x, y), val = split_validation(model, x, y, validation_split, validation_data, where)
    n = x.shape[0]
    batch_size = n if batch_size is None else min(check_positive_int(batch_size, where, "batch_size"), n)
    steps = math.ceil(n / batch_size)

    history = callbacks_mod.History()
    params = {"epochs": epochs, "steps": steps, "batch_size": batch_size, "samples": n, "initial_epoch": initial_epoch}
    cbs = [history] + ([callbacks_mod.ProgressBar(verbose)] if verbose else []) + list(callbacks or [])
    for cb in cbs:                            # their types were checked by Sequential.fit
        cb.set_model(model)
        cb.set_params(params)
    model.stop_training = False
    loop = _Loop(model, x, y, batch_size)
    for cb in cbs:
        cb.on_train_begin({})
    model.history = history                   # only now: a callback refusing to start keeps the old one
    # Forward 2, backward 4 floating-point operations per link and example (config.set_threads).
    step_flops = 6 * model.count_links() * batch_size
    try:
        with config.training_threads(step_flops), _DeferredInterrupt() as interrupt:
            loop.interrupt = interrupt
            _run_epochs(model, loop, cbs, val, shuffle, initial_epoch, epochs)
    except KeyboardInterrupt:
        loop.recover()
        history.interrupted = True
        history.stop_reason = "interrupted (Ctrl-C)"
        if verbose:
            print(f"\nInterrupted: kept the weights after {loop.steps_done} steps and "
                  f"{len(history.epoch)} complete epoch(s).")
    for cb in cbs:
        cb.on_train_end({})
    return history


def _run_epochs(model, loop, cbs, val, shuffle, initial_epoch, epochs):
    for epoch in range(initial_epoch, epochs):
        for cb in cbs:
            cb.on_epoch_begin(epoch, {})
        logs = loop.run_epoch(epoch, shuffle, cbs)
        if logs is None:                          # the loss or the weights became NaN or infinite
            return
        if val is not None:
            logs.update({f"val_{k}": v for k, v in model._evaluate_arrays(*val, 256).items()})
        for cb in cbs:
            cb.on_epoch_end(epoch, logs)
        if model.stop_training:
            return


class _DeferredInterrupt:
    """Hold a Ctrl-C until the current step is complete; a second Ctrl-C interrupts at once.

    Without this, SIGINT could land inside the optimizer's update and leave the
    weights and the optimizer's moments out of step. The loop asks ``pending``
    after each step and raises KeyboardInterrupt there. Only Python's default
    handler in the main thread is replaced; a program's own handler is left alone.
    """

    pending = False

    def __enter__(self):
        self._previous = None
        if (threading.current_thread() is threading.main_thread()
                and signal.getsignal(signal.SIGINT) is signal.default_int_handler):
            self._previous = signal.signal(signal.SIGINT, self._handle)
        return self

    def _handle(self, signum, frame):
        if self.pending:
            raise KeyboardInterrupt
        self.pending = True

    def __exit__(self, *exc):
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)
        return False


class _Loop:
    """One epoch at a time: gather a batch, forward, loss, backward, step."""

    def __init__(self, model, x, y, batch_size):
        self.model, self.x, self.y, self.batch_size = model, x, y, batch_size
        shape = (batch_size,) + x.shape[1:]
        # Batches are gathered into these buffers; raw inputs (e.g. uint8) are cast on the way.
        self.xbuf = np.empty(shape, x.dtype)
        self.fbuf = self.xbuf if x.dtype == model.dtype else np.empty(shape, model.dtype)
        self.rng_layers = [layer for layer in model.layers if layer.needs_rng]
        self.in_update = False
        self.steps_done = 0
        self.interrupt = _DeferredInterrupt()          # replaced by the active one in run_fit
        # Weights set since compile (set_weights, a resumed checkpoint) are the good ones until a step succeeds.
        np.copyto(model._theta_good, model._theta)

    def run_epoch(self, epoch, shuffle, cbs):
        model, b = self.model, self.batch_size
        n = self.x.shape[0]
        # Seeding by (model seed, epoch) makes epoch k's order and dropout masks the
        # same whether or not training stopped and resumed before it.
        rng = np.random.default_rng([model.seed, epoch])
        order = rng.permutation(n) if shuffle else None
        for k, layer in enumerate(self.rng_layers):
            layer.rng = np.random.default_rng([model.seed, epoch, k + 1])
        metrics = [metric for _, metric in model.metrics]
        for metric in metrics:                     # each epoch's value is over all its predictions (metrics.py)
            metric.reset_state()
        total, seen = 0.0, 0
        want_batch_logs = len(cbs) > 1
        # Overflow in a diverging step is reported once, by the guard, not as NumPy warnings.
        with np.errstate(over="ignore", invalid="ignore"):
            for step, start in enumerate(range(0, n, b)):
                stop = min(start + b, n)
                xb, yb = self._batch(order, start, stop)
                y_pred = model._forward(xb, training=True)
                loss = model._loss_value(y_pred, yb)
                if not math.isfinite(loss):
                    self._diverged(epoch, step, f"the loss became {loss}")
                    return None
                m = stop - start
                total += loss * m
                seen += m
                for metric in metrics:
                    metric.update_state(yb, y_pred)
                model._backward(y_pred, yb)
                np.copyto(model._theta_good, model._theta)     # the weights that gave a finite loss
                self.in_update = True
                model.optimizer.step(model._theta, model._grad)
                self.in_update = False
                self.steps_done += 1
                if want_batch_logs:
                    logs = _epoch_logs(model, total / seen)
                    for cb in cbs:
                        cb.on_train_batch_end(step, logs)
                if self.interrupt.pending:             # Ctrl-C arrived during this step
                    raise KeyboardInterrupt
                if model.stop_training:                # a callback stopped it mid-epoch (TerminateOnNaN), as Keras
                    break
        if not np.isfinite(model._theta).all():             # the epoch's last step overflowed
            self._diverged(epoch, step, "the weights became non-finite")
            return None
        return _epoch_logs(model, total / seen)

    def _batch(self, order, start, stop):
        m = stop - start
        if order is None:
            xb, yb = self.x[start:stop], self.y[start:stop]
        else:
            idx = order[start:stop]
            # mode="clip": the indices are valid by construction, and mode="raise" (the default)
            # copies through an extra buffer when out= is given, 3× slower for big batches.
            xb = np.take(self.x, idx, axis=0, out=self.xbuf[:m], mode="clip")
            yb = self.y[idx]
        if xb.dtype != self.model.dtype:
            np.copyto(self.fbuf[:m], xb)
            xb = self.fbuf[:m]
        return xb, yb

    def _diverged(self, epoch, step, what):
        model = self.model
        model._theta[...] = model._theta_good
        model.stop_training = True
        message = (f"Sequential.fit: {what} at epoch {epoch + 1}, step {step + 1}; training "
                   f"stopped and the last weights with a finite loss were kept. Lower the learning rate "
                   f"(now {model.optimizer.current_learning_rate():g}), scale the inputs, or use clipnorm.")
        model.history.stop_reason = message
        warn(message)

    def recover(self):
        """After Ctrl-C: undo a half-done optimizer step."""
        if self.in_update:
            self.model._theta[...] = self.model._theta_good


def _epoch_logs(model, loss):
    """The logs so far: the mean loss and each metric's value over every prediction of the epoch."""
    logs = {"loss": float(loss)}
    logs.update((name, float(metric.result())) for name, metric in model.metrics)
    return logs


def check_count(value, where, name):
    """Return ``value`` as an int >= 0 (epochs, initial_epoch), or raise a ValueError naming it."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
        raise ValueError(f"{where}: expected {name} a non-negative integer, got {value!r}.")
    return int(value)


def split_validation(model, x, y, validation_split, validation_data, where):
    """Keras's rule: validation_split takes the *last* fraction, before shuffling."""
    if validation_data is not None:
        if not isinstance(validation_data, (tuple, list)) or len(validation_data) != 2:
            raise ValueError(f"{where}: expected validation_data a tuple (x_val, y_val).")
        return (x, y), model._check_xy(*validation_data, f"{where} (validation_data)")
    if not isinstance(validation_split, numbers.Real) or not 0 <= validation_split < 1:
        raise ValueError(f"{where}: expected validation_split in [0, 1), got {validation_split!r}.")
    if not validation_split:
        return (x, y), None
    n_val = int(round(len(x) * validation_split))
    if n_val < 1 or n_val >= len(x):
        raise ValueError(f"{where}: validation_split={validation_split} leaves {len(x) - n_val} training and "
                         f"{n_val} validation examples; both need at least one.")
    cut = len(x) - n_val
    return (x[:cut], y[:cut]), (x[cut:], y[cut:])
