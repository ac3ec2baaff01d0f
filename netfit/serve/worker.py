"""Training in a worker thread: ``Sequential.fit`` itself, watched by a callback that feeds a bounded log.

The page starts, pauses, single-steps and resets; the thread runs the library's
own fit loop (so the numbers are the CLI's) and a :class:`Feed` callback, after
every mini-batch, (1) records the batch's running loss and accuracy into an
:class:`EventLog` at most ``rate`` times a second (every step when single-
stepping), (2) at the end of each epoch adds the test loss and accuracy, and
(3) waits while the run is paused. Stopping raises KeyboardInterrupt from the
callback, which ``fit`` handles as Ctrl-C: it keeps the last consistent
weights. Requests (a prediction, the mistakes, one example's backward pass)
use the model while it trains, with no gate of the server's own: the model
lets any number of threads predict during a fit, each reading the weights
between two steps (netfit.concurrency; docs/reliability.md, "One model, many threads").
"""
import collections
import threading
import time

from netfit.callbacks import Callback

from .messages import public

__all__ = ["EventLog", "Trainer"]


class EventLog:
    """A bounded, numbered log of events (oldest dropped first) that several pages can follow.

    ``put(kind, data)`` appends; ``since(n)`` returns the events numbered above n.
    """

    def __init__(self, maxlen=2000):
        self._events = collections.deque(maxlen=maxlen)
        self._lock = threading.Lock()
        self.last_id = 0

    def put(self, kind, data):
        with self._lock:
            self.last_id += 1
            self._events.append((self.last_id, kind, data))

    def since(self, after):
        with self._lock:
            return [event for event in self._events if event[0] > after]


class _Stop(KeyboardInterrupt):
    """Raised from the callback to end fit the way Ctrl-C does (fit keeps consistent weights)."""


class Feed(Callback):
    """The worker's callback: log progress, evaluate on the test set per epoch, wait while paused."""

    def __init__(self, trainer):
        super().__init__()
        self.trainer = trainer

    def on_train_begin(self, logs=None):
        self.trainer._mark()

    def on_train_batch_end(self, batch, logs=None):
        self.trainer._after_step(batch, logs or {})

    def on_epoch_end(self, epoch, logs=None):
        self.trainer._after_epoch(epoch, logs or {})


class Trainer:
    """Start / pause / step / stop training of ``session.model`` in one background thread.

    ``state`` is "ready" (not started), "running", "paused", or "done" (the epochs
    ran out or the loss diverged; ``start`` goes on for another ``epochs``).
    ``history`` keeps one dict per epoch: loss, accuracy, test_loss, test_accuracy.
    """

    def __init__(self, session, log, rate=20.0):
        self.session, self.log, self.rate = session, log, rate
        self._cv = threading.Condition()
        self._thread = None
        self._paused = False
        self._credit = 0                              # single steps allowed while paused
        self._stop = False
        self.state = "ready"
        self.history = []
        self.steps = 0
        self.examples = 0
        self.busy_seconds = 0.0                       # time in training steps, without pauses and tests
        self.error = None
        self._last_sent = 0.0
        self._t0 = None
        self._feed = None
        self._run_end = None                          # the epoch the run going (or last gone) ends at
        self._at_epoch = (0, 0.0)                     # examples and busy seconds when the last epoch ended

    # -- controls (request threads) ------------------------------------------------------------
    def start(self, epochs=None):
        """Go on training; a new run lasts ``epochs`` epochs (default: the settings'), a paused one resumes."""
        with self._cv:
            self._paused, self._credit = False, 0
            self._cv.notify_all()
            if self._thread is None or not self._thread.is_alive():
                self._launch("running", epochs)
            else:
                self._set_state("running")

    def pause(self):
        with self._cv:
            if self._thread is not None and self._thread.is_alive():
                self._paused = True
                self._set_state("paused")

    def step(self):
        """Run one more mini-batch, then pause (starting a paused run if none is going)."""
        with self._cv:
            self._paused = True
            if self._thread is None or not self._thread.is_alive():
                self._launch("paused")                # fit's first batch runs, then the pause holds it
            else:
                self._credit += 1
                self._cv.notify_all()
                self._set_state("paused")

    def stop(self, timeout=30.0):
        """End the run (the weights stay as they are); blocks until the thread is gone.

        A run that was going is then "done", so ``start`` goes on from the next epoch.
        """
        with self._cv:
            self._stop = True
            self._cv.notify_all()
        thread = self._thread
        if thread is not None:
            thread.join(timeout)
        with self._cv:
            self._thread = None
            self._stop = False
            if thread is not None and not thread.is_alive() and self.state in ("running", "paused"):
                self._set_state("done")

    def wait(self, timeout=None):
        """Block until the run's thread ends: its epochs ran out, the loss diverged, or it was stopped."""
        thread = self._thread
        if thread is not None:
            thread.join(timeout)

    def status(self):
        """The run now; ``last_event`` is the id of the newest event it includes (its version for the page).

        Read under the lock that every state change holds while it logs its event, so ``state`` and
        ``last_event`` agree: the page drops answers older than an event it has shown, and an answer
        with the old state but a newer ``last_event`` would hide that event for good.
        """
        with self._cv:
            state, last_event = self.state, self.log.last_id
        rate = self.examples / self.busy_seconds if self.busy_seconds else None
        return {"state": state, "epoch": len(self.history), "steps": self.steps, "history": self.history,
                "examples_per_second": rate, "error": self.error, "epochs": self._last_epoch(),
                "last_event": last_event}

    # -- the thread ----------------------------------------------------------------------------
    def _last_epoch(self):
        """The epoch the run going (or last gone) ends at, counted over every run: "epoch 3 of 4"."""
        return self._run_end if self._run_end is not None else len(self.history) + self.session.settings["epochs"]

    def _launch(self, state, epochs=None):
        """Start a run of ``epochs`` epochs (default: the settings', which stay as they are) in
        ``state``; hold ``self._cv``.

        The state is logged before the thread starts: its batch events do not wait for the lock
        (its "done" does), and a page reading the log from the start must see "running" first.
        """
        self._stop, self.error = False, None
        self._run_end = len(self.history) + (epochs or self.session.settings["epochs"])
        self._set_state(state)
        self._thread = threading.Thread(target=self._run, name="netfit-serve-train", daemon=True)
        self._thread.start()

    def _set_state(self, state):
        """Change the state and log it; callers hold ``self._cv`` (see :meth:`status`)."""
        self.state = state
        self.log.put("state", {"state": state, "epoch": len(self.history), "steps": self.steps,
                               "epochs": self._last_epoch()})

    def _run(self):
        s, model = self.session.settings, self.session.model
        done = len(self.history)
        self._feed = Feed(self)
        try:
            history = model.fit(self.session.x, self.session.y, epochs=self._run_end,
                                batch_size=s["batch_size"] or None, verbose=0, callbacks=[self._feed],
                                initial_epoch=done)
            reason = getattr(history, "stop_reason", None)
            if reason and not history.interrupted:
                self.error = public(reason)
        except _Stop:                                 # only if fit let it through
            pass
        except Exception as exc:                      # shown on the page (no server paths); the server goes on
            self.error = public(f"{type(exc).__name__}: {exc}")
        if self.error:
            self.log.put("error", {"message": self.error})
        with self._cv:                                # after any state a control set while fit ran
            if not self._stop:
                self._set_state("done")

    def _mark(self):
        self._t0 = time.perf_counter()

    def _after_step(self, batch, logs):
        now = time.perf_counter()
        self.busy_seconds += now - self._t0
        self.steps += 1
        params = self.params
        self.examples += min(params.get("batch_size", 0), params.get("samples", 0) - batch * params.get("batch_size", 0))
        if self._paused or now - self._last_sent >= 1.0 / self.rate:
            self._last_sent = now
            self.log.put("batch", {"epoch": len(self.history), "batch": batch + 1, "steps": self.steps,
                                   "of": params.get("steps"), **{k: float(v) for k, v in logs.items()}})
        self._hold()

    @property
    def params(self):
        return getattr(self._feed, "params", None) or {}

    def _after_epoch(self, epoch, logs):
        self.busy_seconds += time.perf_counter() - self._t0
        session = self.session
        test_loss, test_acc = session.model.evaluate(session.x_test, session.y_test)
        examples, seconds = self.examples - self._at_epoch[0], self.busy_seconds - self._at_epoch[1]
        self._at_epoch = (self.examples, self.busy_seconds)
        row = {"epoch": epoch + 1, **{k: float(v) for k, v in logs.items()},
               "test_loss": float(test_loss), "test_accuracy": float(test_acc),
               "examples_per_second": examples / seconds if seconds else None}     # this epoch's steps only
        self.history.append(row)
        self.log.put("epoch", row)
        self._hold()

    def _hold(self):
        """Between steps: wait while paused; stop when asked."""
        with self._cv:
            while self._paused and not self._credit and not self._stop:
                self._cv.wait()
            if self._credit:
                self._credit -= 1
        if self._stop:
            raise _Stop
        self._t0 = time.perf_counter()
