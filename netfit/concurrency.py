"""One model, many threads: which calls may run at once on one model, and the two locks that make it so.

A web server answering requests from a pool of threads, or a notebook that
predicts while a fit runs in the background, calls one model from several
threads at once. The rules (docs/reliability.md, "One model, many threads"):

- **Inference** (``predict``, ``evaluate``, ``test_on_batch``, ``predict_on_batch``,
  ``model(x)``, the scikit-learn wrappers' ``predict``/``predict_proba``/``score``)
  may run in any number of threads at once. Each call works on records of its
  own (:class:`netfit.layers.base.Call`: the layers keep only their weights), so
  every thread gets exactly the result it would get alone, bit for bit.
- **Training** (``fit``, ``train_on_batch``, ``loss_and_gradients``) runs one at a
  time on a model: a second one, from another thread or from a callback of the
  first, is refused at once with a :class:`RuntimeError` (:class:`TrainingGuard`),
  before anything changes.
- **Inference during training** reads the weights between two optimizer steps,
  never in the middle of one: each step (forward, backward, update) holds the
  weights for writing, each inference batch for reading (:class:`WeightsLock`);
  so does ``set_weights``. A long ``predict`` lets the fit go on between its batches.

No module-level state is involved: both locks belong to the model.
"""
import contextlib
import functools
import threading

__all__ = ["WeightsLock", "TrainingGuard", "training_call"]


class WeightsLock:
    """A readers–writer lock over a model's weights: many readers at once, or one writer; phase-fair.

    Readers and writers take turns: readers that wait while a writer holds the lock
    all go in when it lets go, before the next writer; a writer waiting for readers
    to finish holds back readers that come after it. So a fit that takes step after
    step lets every waiting prediction through between two steps, and a stream of
    predictions cannot starve the fit. The writing thread may read (a callback that
    predicts inside a step does not deadlock), and writing is re-entrant.

    Examples
    --------
    >>> lock = WeightsLock()
    >>> with lock.reading():
    ...     with lock.reading():          # readers share it
    ...         pass
    >>> with lock.writing():
    ...     with lock.reading():          # the writer may read
    ...         pass
    """

    def __init__(self):
        self._cond = threading.Condition(threading.Lock())
        self._readers = 0                 # reading now
        self._readers_waiting = 0
        self._readers_turn = False        # a writer has let go while readers waited: they go first
        self._writer = None               # the thread id holding it for writing
        self._writers_waiting = 0

    @contextlib.contextmanager
    def reading(self):
        """Hold the weights for reading (one inference batch)."""
        held = self.acquire_read()
        try:
            yield
        finally:
            if held:
                self.release_read()

    def acquire_read(self):
        """Wait for a turn to read; False (nothing to release) inside this thread's own writing."""
        if self._writer == threading.get_ident():      # inside this thread's own step
            return False
        with self._cond:
            self._readers_waiting += 1
            while self._writer is not None or (self._writers_waiting and not self._readers_turn):
                self._cond.wait()
            self._readers_waiting -= 1
            if not self._readers_waiting:
                self._readers_turn = False             # every reader that waited is in: the writers' turn
            self._readers += 1
        return True

    def release_read(self):
        with self._cond:
            self._readers -= 1
            if not self._readers and self._writers_waiting:   # only a writer waits for the readers to go
                self._cond.notify_all()

    @contextlib.contextmanager
    def writing(self):
        """Hold the weights for writing (one training step, ``set_weights``); re-entrant in its thread."""
        held = self.acquire_write()
        try:
            yield
        finally:
            if held:
                self.release_write()

    def acquire_write(self):
        """Wait for the turn to write; False (nothing to release) when this thread writes already."""
        me = threading.get_ident()
        if self._writer == me:
            return False
        with self._cond:
            self._writers_waiting += 1
            while self._writer is not None or self._readers or self._readers_turn:
                self._cond.wait()
            self._writers_waiting -= 1
            self._writer = me
        return True

    def release_write(self):
        with self._cond:
            self._writer = None
            self._readers_turn = self._readers_waiting > 0
            if self._readers_waiting or self._writers_waiting:
                self._cond.notify_all()


class TrainingGuard:
    """At most one training call on a model at a time; a second is refused at once, not queued.

    Examples
    --------
    >>> guard = TrainingGuard()
    >>> with guard.hold("Sequential.fit"):
    ...     try:
    ...         with guard.hold("Sequential.train_on_batch"):
    ...             pass
    ...     except RuntimeError as exc:
    ...         print(str(exc)[:62])
    Sequential.train_on_batch: the model is already training (Sequ
    """

    def __init__(self):
        self._lock = threading.Lock()
        self._holder = None

    @contextlib.contextmanager
    def hold(self, where):
        if not self._lock.acquire(blocking=False):
            raise RuntimeError(
                f"{where}: the model is already training ({self._holder} is running, in this thread's callback "
                f"or in another thread); one model trains one run at a time. Wait for it to end, or train a copy: "
                f"`twin = nf.models.clone_model(model); twin.set_weights(model.get_weights())`. Predicting and "
                f"evaluating during a fit are safe.")
        self._holder = where
        try:
            yield
        finally:
            self._holder = None
            self._lock.release()


def training_call(name):
    """Decorator of a model's training method ``name``: a second training call while one runs is refused
    (:class:`TrainingGuard`); errors name it as the model's class does ("Sequential.fit", "Model.fit")."""
    def wrap(method):
        @functools.wraps(method)
        def guarded(self, *args, **kwargs):
            with self._training.hold(f"{self._kind}.{name}"):
                return method(self, *args, **kwargs)
        return guarded
    return wrap
