"""The fit loop of :class:`netfit.Sequential`: batches, callbacks, NaN guard, Ctrl-C.

Batches come from arrays (gathered into reused buffers) or from a stream
(:mod:`netfit.streams`: a Sequence, a generator, any iterable of batches such
as a PyTorch DataLoader); the step itself, the NaN guard, Ctrl-C handling and
the seeding of shuffles and dropout are the same for both, and for the
one-batch calls (``train_on_batch``). Both take Keras 3's batches per epoch
(``steps_per_epoch``: :func:`netfit.streams.epoch_part`) and call Keras 3's
callback hooks with Keras's logs (:class:`netfit.callbacks.CallbackList`).

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

from . import backend
from . import callbacks as callbacks_mod
from . import columns, parallel, replicas
from .advice import check_batch_statistics, divergence_fix, warn_large_targets
from .metrics.base import update as update_metric
from .streams import OutOfData, Stream, epoch_part, is_stream, warn_if_short
from .utils import check_flag, check_positive_int, check_verbose, warn


def run_fit(model, x, y, *, batch_size, epochs, verbose, callbacks, validation_split, validation_data,
            shuffle, initial_epoch, steps_per_epoch=None, validation_steps=None, sample_weight=None,
            class_weight=None, validation_batch_size=None):
    """Train ``model``; see :meth:`netfit.Model.fit` for the arguments."""
    where = f"{model._kind}.fit"
    model._ensure_compiled("fit")
    epochs = check_count(epochs, where, "epochs")
    initial_epoch = check_count(initial_epoch, where, "initial_epoch")
    streamed = is_stream(x)
    if streamed:
        loop = _StreamLoop(model, open_stream(model, x, y, steps_per_epoch, where, "steps_per_epoch",
                                              epochs=epochs - initial_epoch))
    else:
        x, y = model._check_xy(x, y, where)
        warn_large_targets(model, y, where)
        steps_per_epoch = check_positive_int(steps_per_epoch, where, "steps_per_epoch", allow_none=True)
    verbose = 1 if check_verbose(verbose, where) == "auto" else verbose
    val = None
    if streamed or is_stream(validation_data) or validation_steps is not None:
        val = _stream_validation(model, validation_split if streamed else 0.0, validation_data, validation_steps,
                                 where, epochs - initial_epoch, validation_batch_size or 256)
        validation_split, validation_data = 0.0, None          # arrays: validation_data wins, as in Keras
    if streamed:
        batch_size, steps, n = loop.batch_size, loop.stream.epoch_steps, None
    else:
        (x, y, w), val_xyw = split_validation(model, x, y, validation_split, validation_data, where, sample_weight,
                                              class_weight)
        n = columns.count(x)
        batch_size = n if batch_size is None else min(check_positive_int(batch_size, where, "batch_size"), n)
        steps = steps_per_epoch or math.ceil(n / batch_size)
        check_batch_statistics(model, n, batch_size, where)
        loop = _Loop(model, x, y, batch_size, w, steps_per_epoch)
        if val_xyw is not None:
            if backend.fits(model._theta, *columns.flat(val_xyw[0]), *columns.flat(val_xyw[1]), val_xyw[2]):
                val_xyw = tuple(columns.each(lambda a: backend.to_device(a, model._theta), v)    # once, on a GPU
                                for v in val_xyw)
            val = lambda epoch, cbs: model._evaluate_arrays(*val_xyw[:2], validation_batch_size or 256,  # noqa: E731
                                                            val_xyw[2], cbs)

    history = callbacks_mod.History()
    # Keras's params (verbose, epochs, steps) and netfit's (batch_size, samples, initial_epoch).
    params = {"verbose": verbose, "epochs": epochs, "steps": steps, "batch_size": batch_size, "samples": n,
              "initial_epoch": initial_epoch}
    # History first (a checkpoint saved at an epoch's end holds that epoch); the types were checked by fit.
    cbs = callbacks_mod.CallbackList([history] + ([callbacks_mod.ProgressBar(verbose)] if verbose else [])
                                     + list(callbacks or []), model=model, **params)
    model.stop_training = False
    cbs.on_train_begin()
    model.history = history                   # only now: a callback refusing to start keeps the old one
    # Forward 2, backward 4 floating-point operations per link and example (config.set_threads).
    step_flops = 6 * model.count_links() * batch_size
    try:
        with parallel.training(step_flops, model.device == "cpu", model._blas_bound), \
                _DeferredInterrupt() as interrupt:
            loop.interrupt = interrupt
            _run_epochs(model, loop, cbs, val, shuffle, initial_epoch, epochs)
    except KeyboardInterrupt:
        loop.recover()
        history.interrupted = True
        history.stop_reason = "interrupted (Ctrl-C)"
        if verbose:
            print(f"\nInterrupted: kept the weights after {loop.steps_done} steps and "
                  f"{len(history.epoch)} complete epoch(s).")
    cbs.on_train_end(loop.epoch_logs)                # Keras: the last epoch's logs
    return history


def _run_epochs(model, loop, cbs, val, shuffle, initial_epoch, epochs):
    for epoch in range(initial_epoch, epochs):
        cbs.on_epoch_begin(epoch)
        try:
            logs = loop.run_epoch(epoch, shuffle, cbs)
            if logs is None:                      # the loss or the weights became NaN or infinite
                return
            if val is not None:                   # Keras's evaluate, with the on_test_* hooks of fit's callbacks
                logs.update({f"val_{k}": v for k, v in val(epoch, cbs).items()})
        except OutOfData as exc:                  # a generator ended before steps_per_epoch batches
            loop.stop(str(exc) + " Training stopped; the weights after the last complete step were kept.")
            return
        cbs.on_epoch_end(epoch, logs)
        loop.epoch_logs = logs
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

    def __init__(self, model, x, y, batch_size, sample_weight=None, steps_per_epoch=None):
        # On a GPU x, y and the weights are uploaded once, as they are (uint8 pixels stay uint8), and
        # each batch is gathered and cast there; data that would fill half the GPU's free memory stay
        # on the host instead, and each batch goes up on its own.
        staged = backend.fits(model._theta, *columns.flat(x), *columns.flat(y), sample_weight)
        where = model._theta if staged else columns.flat(x)[0]
        x, y, sample_weight = (columns.each(lambda a: backend.to_device(a, where), v) for v in (x, y, sample_weight))
        self.upload = None if staged else model._theta
        self.data_xp = backend.get_array_module(columns.flat(x)[0])     # where the batches are gathered
        self.x, self.y, self.batch_size = x, y, batch_size
        self.w = sample_weight                         # per-example weights (n,) or None
        self.steps_per_epoch = steps_per_epoch         # None: each epoch one pass over the rows
        # Batches are gathered into these buffers (one per input); raw inputs (e.g. uint8) are cast on the way.
        inputs = columns.flat(x)
        self.xbuf = [self.data_xp.empty((batch_size,) + a.shape[1:], a.dtype) for a in inputs]
        self.feed = [model._input_dtype(a.dtype, k) for k, a in enumerate(inputs)]   # float64: a first Normalization
        self.fbuf = [buf if buf.dtype == feed else self.data_xp.empty(buf.shape, feed)
                     for buf, feed in zip(self.xbuf, self.feed)]
        self._attach(model)

    def _attach(self, model, where=None):
        self.model, self.where = model, where or f"{model._kind}.fit"
        self.xp = backend.get_array_module(model._theta)
        self.in_update = False
        self.steps_done = 0
        self.epoch_logs = {}                            # the last complete epoch's, for on_train_end
        self.replicas = None                            # the shares of a batch, made in the first epoch
        self.cut_batches = True                         # fit's loop; train_on_batch's one step keeps them whole
        self.interrupt = _DeferredInterrupt()          # replaced by the active one in run_fit
        # Weights set since compile (set_weights, a resumed checkpoint) are the good ones until a step succeeds.
        np.copyto(model._theta_good, model._theta)

    def run_epoch(self, epoch, shuffle, cbs):
        """One epoch's steps, with the train-batch hooks of ``cbs`` (a CallbackList); its logs, or None if it diverged."""
        model = self.model
        if self.replicas is None:                      # inside parallel.training: its thread count holds
            threads = parallel.workers() if self.cut_batches else 1
            self.replicas = replicas.Replicas(model, threads if replicas.usable(model, threads) else 1)
        self.replicas.seed(epoch)                      # the dropout masks
        metrics = [metric for _, metric in model.metrics]
        for metric in metrics:                     # each epoch's value is over all its predictions (metrics.py)
            metric.reset_state()
        total, seen = 0.0, 0
        # Only the hooks a callback has of its own are called, and the running logs computed only for them.
        batch_begin, batch_end = cbs.watches("on_train_batch_begin"), cbs.watches("on_train_batch_end")
        # On a GPU nothing waits for the device within the epoch: the loss is summed there and read
        # (with the metrics) once at its end, where the guard also checks it; θ_good is the epoch's start.
        on_host = backend.is_host(self.xp)
        if not on_host:
            model._theta_good[...] = model._theta
        logs = {}
        lock = model._weights_lock
        # Overflow in a diverging step is reported once, by the guard, not as NumPy warnings.
        with np.errstate(over="ignore", invalid="ignore"):
            for step, (xb, yb, wb) in enumerate(self._batches(epoch, shuffle)):
                if batch_begin:
                    cbs.on_train_batch_begin(step)
                # The step holds the weights for writing: a predict in another thread reads them before or after.
                held = lock.acquire_write()
                try:
                    # Forward, R and backward, on as many threads as the batch has shares (netfit.replicas);
                    # they fill the gradient only: a non-finite loss below leaves θ as it was.
                    data_loss, outputs = self.replicas.gradient(xb, yb, wb)
                    loss = data_loss + model.optimizer.penalty(model._theta)
                    if on_host and not math.isfinite(loss):
                        return self._diverged(epoch, step, f"the loss became {loss}", total, seen)
                    m = columns.count(xb)                          # rows (of each input)
                    total += loss * m
                    seen += m
                    for y_share, y_pred in outputs:
                        model._update_metrics(metrics, y_share, y_pred)
                    if on_host:
                        np.copyto(model._theta_good, model._theta)     # the weights that gave a finite loss
                    self.in_update = True
                    model._apply_step()                            # optimizer.step; frozen layers kept
                    self.in_update = False
                finally:
                    if held:
                        lock.release_write()
                self.steps_done += 1
                if batch_end:                          # Keras's logs: loss and metrics over the epoch so far
                    if on_host or step % _DEVICE_LOG_EVERY == 0:     # on a GPU a read waits: the logs of step k·100
                        logs = _epoch_logs(model, total / seen)
                    cbs.on_train_batch_end(step, logs)
                if self.interrupt.pending:             # Ctrl-C arrived during this step
                    raise KeyboardInterrupt
                if model.stop_training:                # a callback stopped it mid-epoch (TerminateOnNaN), as Keras
                    break
        if not on_host:
            loss = float(backend.to_host(total / seen))     # the epoch's one read of the loss
            if not math.isfinite(loss):
                return self._diverged(epoch, None, f"the loss became {loss}")
        if not np.isfinite(model._theta).all():             # the epoch's last step overflowed
            return self._diverged(epoch, step, "the weights became non-finite", total, seen)
        return _epoch_logs(model, total / seen)

    def _batches(self, epoch, shuffle):
        """Yield epoch ``epoch``'s batches (x_k, y_k, w_k or None): its part of a pass over the rows (all of one
        without steps_per_epoch; :func:`netfit.streams.epoch_part`), in a permutation when shuffling.

        The permutation is drawn from (model seed, the epoch the pass began in), so epoch k's order and
        dropout masks are the same whether or not training stopped and resumed before it.
        """
        n, b = columns.count(self.x), self.batch_size
        start, first, count = epoch_part(epoch, self.steps_per_epoch, -(-n // b))
        order = backend.to_device(np.random.default_rng([self.model.seed, start]).permutation(n),
                                     columns.flat(self.x)[0]) \
            if shuffle else None                                                   # drawn on the host
        for k in range(first, first + count):
            yield self._batch(order, k * b, min((k + 1) * b, n))
        warn_if_short(self.where, "steps_per_epoch", self.steps_per_epoch, count, -(-n // b))

    def _batch(self, order, start, stop):
        m = stop - start
        rows = slice(start, stop) if order is None else order[start:stop]
        if isinstance(self.x, list):
            xb = [self._gather(k, a, rows, m) for k, a in enumerate(self.x)]
        else:
            xb = self._gather(0, self.x, rows, m)
        yb = columns.rows(self.y, rows)
        wb = None if self.w is None else self.w[rows]
        if self.upload is not None:                    # data kept on the host: this batch goes up
            xb, yb, wb = (columns.each(lambda a: backend.to_device(a, self.upload), v) for v in (xb, yb, wb))
        return xb, yb, wb

    def _gather(self, k, x, rows, m):
        """Rows ``rows`` of input ``k`` in its reused buffer, cast to what its first layer takes."""
        if isinstance(rows, slice):
            xb = x[rows]
        else:
            # mode="clip": the indices are valid by construction, and mode="raise" (the default)
            # copies through an extra buffer when out= is given, 3× slower for big batches.
            xb = np.take(x, rows, axis=0, out=self.xbuf[k][:m], mode="clip") if self.data_xp is np else \
                self.data_xp.take(x, rows, axis=0, out=self.xbuf[k][:m])     # CuPy's take has no mode
        if xb.dtype != self.feed[k]:
            np.copyto(self.fbuf[k][:m], xb)
            xb = self.fbuf[k][:m]
        return xb

    def _diverged(self, epoch, step, what, total=0.0, seen=0):
        """Stop after a non-finite loss or weights, with θ_good back; return the epoch's logs so far, or None.

        In ``fit`` the steps of this epoch that had a finite loss are kept as the epoch's
        values (their mean loss, the metrics over their predictions), as Keras keeps a
        stopped epoch's; the callbacks see them at ``on_epoch_end``. None when no step
        of the epoch was finite (or on a GPU, where the epoch's sum is all there is).
        """
        with self.model._weights_lock.writing():
            self.model._theta[...] = self.model._theta_good
        at = f"at epoch {epoch + 1}, step {step + 1}" if epoch < _BATCH_CALLS and step is not None else "in this step"
        if step is None and epoch < _BATCH_CALLS:        # on a GPU, read once an epoch: θ_good is its start
            at = f"in epoch {epoch + 1} (on a GPU the loss is read once an epoch; its starting weights are kept)"
        self.stop(f"{self.where}: {what} {at}; training stopped and the last weights with a finite loss "
                  f"were kept. {divergence_fix(self.model, getattr(self, 'x', None), getattr(self, 'y', None))}")
        return _epoch_logs(self.model, total / seen) if seen and self.where.endswith(".fit") else None

    def stop(self, message):
        """End training with a warning that ``history.stop_reason`` keeps (fit only)."""
        self.model.stop_training = True
        if self.where.endswith(".fit"):
            self.model.history.stop_reason = message
        warn(message)

    def recover(self):
        """After Ctrl-C: undo a half-done optimizer step."""
        if self.in_update:
            with self.model._weights_lock.writing():
                self.model._theta[...] = self.model._theta_good


# On a GPU, callbacks that watch every batch (the progress bar) get the logs read every this many steps.
_DEVICE_LOG_EVERY = 100

# Seeds of train_on_batch's dropout masks: (model seed, _BATCH_CALLS + step), apart from any epoch's.
_BATCH_CALLS = 1 << 32


class _StreamLoop(_Loop):
    """The same epoch, with batches read from a :class:`~netfit.streams.Stream` and checked one by one."""

    def __init__(self, model, stream):
        self.stream = stream
        self.batch_size = len(stream.peek()[0])       # open_stream has checked it and built the model
        self._attach(model)

    def _batches(self, epoch, shuffle):
        # A Sequence's batch order is shuffled like array rows; an iterable's or a generator's order is its own.
        theta = self.model._theta
        return (tuple(backend.to_device(a, theta) for a in batch)
                for batch in checked_batches(self.model, self.stream, epoch, self.model.seed if shuffle else None))

    def run_epoch(self, epoch, shuffle, cbs):
        logs = super().run_epoch(epoch, shuffle, cbs)
        self.stream.end_epoch()
        return logs


def open_stream(model, x, y, steps, where, steps_name, with_y=True, epochs=1):
    """A :class:`~netfit.streams.Stream` over ``x``, its first batch checked (and the model built from it).

    Everything that can be checked before the first step is checked here, so a
    refused call leaves the model as it was: among it, a generator without
    ``steps`` for more than one epoch (its first epoch reads it to its end).
    """
    if y is not None:
        raise ValueError(f"{where}: y must be None when x is a generator, a Sequence or another iterable of "
                         f"batches (got {type(y).__name__}); its batches carry the targets: yield (x_batch, y_batch).")
    stream = Stream(x, steps, where, steps_name, with_y)
    if stream.kind == "generator" and stream.steps is None and epochs > 1:
        raise ValueError(f"{where}: a generator is read once, and without {steps_name} an epoch reads it to its "
                         f"end, so nothing is left for the {epochs - 1} epoch(s) after the first (an endless one "
                         f"never ends the first); pass {steps_name}=N and let it loop forever (while True: ... "
                         f"yield x_batch, y_batch), or pass something read anew each epoch: a list of batches, a "
                         f"DataLoader or a netfit.utils.Sequence.")
    xb, yb, wb = stream.peek()
    if with_y:
        xb, yb = model._check_xy(xb, yb, stream.label(0))
        if wb is not None:
            model._example_weights(yb, wb, None, stream.label(0))
    else:
        model._check_x(xb, stream.label(0))
    return stream


def checked_batches(model, stream, epoch=0, seed=None):
    """Yield a stream's batches (x_k, y_k, w_k or None) for epoch ``epoch`` after the same checks as arrays, x in
    the type the first layer takes; ``seed`` shuffles a Sequence's batch order (:meth:`Stream.batches`)."""
    for index, xb, yb, wb in stream.batches(epoch, seed):
        label = stream.label(index)
        if stream.with_y:
            xb, yb = model._check_xy(xb, yb, label)
            if wb is not None:
                wb = model._example_weights(yb, wb, None, label)
        else:
            xb = model._check_x(xb, label)
        yield np.asarray(xb, model._input_dtype(xb.dtype)), yb, wb


def _stream_validation(model, validation_split, validation_data, validation_steps, where, epochs, batch_size=256):
    """A function (epoch, callbacks) -> the validation logs: from a stream of validation batches, or arrays."""
    if validation_split:
        raise ValueError(f"{where}: validation_split needs arrays to cut; with streamed batches pass "
                         f"validation_data=(x_val, y_val) or validation batches (a generator, a Sequence, ...).")
    if validation_data is None:
        if validation_steps is not None:
            raise ValueError(f"{where}: validation_steps={validation_steps!r} without validation_data; "
                             f"pass validation_data or leave validation_steps out.")
        return None
    if is_stream(validation_data):
        stream = open_stream(model, validation_data, None, validation_steps, f"{where} (validation_data)",
                             "validation_steps", epochs=epochs)

        def validate(epoch, cbs):              # Keras: each validation goes on with the pass in progress
            values = model._evaluate_batches(checked_batches(model, stream, epoch), cbs)
            stream.end_epoch()
            return values
        return validate
    if validation_steps is not None:
        raise ValueError(f"{where}: validation_steps applies to streamed validation batches (a generator, a "
                         f"Sequence, ...); with arrays all of validation_data is used. Leave validation_steps out.")
    _, val_xyw = split_validation(model, None, None, 0.0, validation_data, where)
    return lambda epoch, cbs: model._evaluate_arrays(*val_xyw[:2], batch_size, val_xyw[2], cbs)


# -- one batch at a time ----------------------------------------------------------------------
def train_on_batch(model, x, y, return_dict=False, sample_weight=None, class_weight=None):
    """One optimizer step on the batch (x, y); the batch's loss and metrics before the step.

    The step is the one ``fit`` takes (same NaN guard: a non-finite loss leaves the
    weights as they were and warns; a Ctrl-C is held until the step is complete;
    the same weighted loss (1/n) Σ_i w_i ℓ_i with ``sample_weight`` / ``class_weight``).
    Dropout masks are seeded by (model seed, optimizer step), so the same calls in
    the same order give the same weights.
    """
    where = f"{model._kind}.train_on_batch"
    model._ensure_compiled("train_on_batch")
    check_flag(return_dict, where, "return_dict")
    refuse_stream(x, where, "fit(generator, steps_per_epoch=N)")
    if getattr(model.optimizer, "fit_model", None) is not None:
        raise ValueError(f"{where}: {type(model.optimizer).__name__} takes no mini-batch steps; "
                         f"train with model.fit(x, y, epochs=...), which runs it on the full batch.")
    with model._unbuilt_if_refused():
        x, y = model._check_xy(x, y, where)
        w = model._example_weights(y, sample_weight, class_weight, where)
        check_batch_statistics(model, len(x), len(x), where)
    loop = _Loop(model, x, y, len(x), w)
    # One step: lanes made for it would allocate their scratch arrays at every call, so its
    # passes are split over the threads instead (netfit.parallel).
    loop.where, loop.cut_batches = where, False
    with parallel.training(6 * model.count_links() * len(x), model.device == "cpu", model._blas_bound), \
            _DeferredInterrupt() as interrupt:
        loop.interrupt = interrupt
        logs = loop.run_epoch(_BATCH_CALLS + model.optimizer.iterations, False, callbacks_mod.CallbackList())
    if logs is None:                          # the guard refused the step
        logs = dict.fromkeys(["loss"] + [name for name, _ in model.metrics], math.nan)
    return batch_result(model, logs, return_dict)


def refuse_stream(x, where, instead):
    """The batch-level calls take one batch of arrays; streamed batches go to the whole-data calls."""
    if is_stream(x):
        raise TypeError(f"{where}: expected one batch as an array, got a {type(x).__name__} (a generator, a "
                        f"Sequence or another iterable of batches); use {instead} for streamed data.")


def batch_result(model, logs, return_dict):
    """Keras's return value: the dict, else the loss alone, or [loss, *metrics] when there are metrics."""
    if return_dict:
        return logs
    return list(logs.values()) if model.metrics else logs["loss"]
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


def split_validation(model, x, y, validation_split, validation_data, where, sample_weight=None,
                     class_weight=None):
    """Keras's rule: validation_split takes the *last* fraction, before shuffling.

    Returns ``(x, y, w), (x_val, y_val, w_val)`` (the weights may be None; the
    second triple is None without validation). ``class_weight`` weights the
    training rows only, as in Keras: the validation loss is weighted by
    ``sample_weight`` alone, whether the rows come from ``validation_split`` or
    ``validation_data``. Warns when the validation rows hold classes that no
    training row has (data sorted by class).
    """
    w = model._example_weights(y, sample_weight, class_weight, where)
    if validation_data is not None:
        if not isinstance(validation_data, (tuple, list)) or len(validation_data) not in (2, 3):
            raise ValueError(f"{where}: expected validation_data a tuple (x_val, y_val) or "
                             f"(x_val, y_val, sample_weight_val).")
        at = f"{where} (validation_data)"
        x_val, y_val = model._check_xy(*validation_data[:2], at)
        w_val = None if len(validation_data) == 2 or validation_data[2] is None else \
            model._example_weights(y_val, validation_data[2], None, at)
        return (x, y, w), (x_val, y_val, w_val)
    if not isinstance(validation_split, numbers.Real) or not 0 <= validation_split < 1:
        raise ValueError(f"{where}: expected validation_split in [0, 1), got {validation_split!r}.")
    if not validation_split:
        return (x, y, w), None
    n = columns.count(x)
    n_val = int(round(n * validation_split))
    if n_val < 1 or n_val >= n:
        raise ValueError(f"{where}: validation_split={validation_split} leaves {n - n_val} training and "
                         f"{n_val} validation examples; both need at least one.")
    cut = n - n_val
    if not isinstance(y, list):
        _warn_unseen_classes(model, y[:cut], y[cut:], where)
    w_val = w if class_weight is None else model._example_weights(y, sample_weight, None, where)
    head, tail = slice(None, cut), slice(cut, None)
    return ((columns.rows(x, head), columns.rows(y, head), None if w is None else w[head]),
            (columns.rows(x, tail), columns.rows(y, tail), None if w_val is None else w_val[tail]))


def _warn_unseen_classes(model, y_train, y_val, where):
    """Warn when the last rows (validation_split's) hold classes that the training rows lack."""
    loss = model.loss
    if loss.integer_targets:
        train, val = y_train, y_val
    elif loss.name == "categorical_crossentropy":
        train, val = y_train.argmax(axis=1), y_val.argmax(axis=1)
    elif loss.name == "binary_crossentropy" and y_train.shape[1:] == (1,):
        train, val = np.rint(y_train[:, 0]), np.rint(y_val[:, 0])
    else:
        return
    unseen = np.setdiff1d(np.unique(val), np.unique(train))
    if unseen.size:
        warn(f"{where}: validation_split takes the last {len(y_val)} rows before shuffling, and they hold "
             f"class(es) {unseen.astype(int).tolist()[:10]} that no training row has (is the data sorted by "
             f"class?); shuffle it first: `p = np.random.default_rng(0).permutation(len(x)); x, y = x[p], y[p]`.", UserWarning)
