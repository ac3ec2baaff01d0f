"""Callbacks that set the learning rate γ between epochs: ReduceLROnPlateau, LearningRateScheduler.

Both write the optimizer's ``learning_rate`` (a number) and log it as
``learning_rate`` at each epoch's end, as Keras 3 does; so the history
(through :meth:`History.record`) and a CSVLogger after them record γ per epoch. An optimizer whose learning rate is a
schedule (``ExponentialDecay``...) or full-batch L-BFGS (no learning rate) is
refused before the first step: two rules for one γ would fight.
"""
import inspect
import math
import numbers

from ..keras_args import own_arguments, refuse
from .base import Callback, better, check_logged, check_mode, check_number


def _check_settable_learning_rate(model, where):
    """Refuse an optimizer whose learning rate cannot be set to a number between epochs."""
    optimizer = model.optimizer
    if getattr(optimizer, "fit_model", None) is not None:
        raise ValueError(f"{where}: expected an optimizer with a learning rate, got {type(optimizer).__name__} "
                         f"(full-batch L-BFGS takes no learning rate); remove {where} or compile with "
                         f"optimizer='adam' or 'sgd'.")
    if callable(optimizer.learning_rate):
        raise ValueError(f"{where}: expected the optimizer's learning_rate a number, got the schedule "
                         f"{type(optimizer.learning_rate).__name__}; use either the schedule or {where}, "
                         f"e.g. compile with optimizer={type(optimizer).__name__}(learning_rate=0.001).")


class ReduceLROnPlateau(Callback):
    """γ ← max(γ · factor, min_lr) when ``monitor`` has not improved for ``patience`` epochs (Keras's rule).

    An epoch improves when the value beats the best so far by more than
    ``min_delta`` (below best − min_delta for "min", above best + min_delta for
    "max"). After ``patience`` epochs in a row without improvement, γ is
    multiplied by ``factor`` (unless it is already at ``min_lr``), the count
    restarts, and for ``cooldown`` epochs no epoch counts as a non-improvement.

    Parameters
    ----------
    monitor : str
        A logged value, "val_loss" by default (needs validation data).
    factor : float in (0, 1)
    patience, cooldown : int >= 0
    min_delta, min_lr : float >= 0
        (Keras 2's ``epsilon`` is ``min_delta``; it is refused with that name.)
    mode : "auto", "min" or "max"
        "auto" takes the direction of the compiled metric (Keras 3 reads only
        whether "acc" is in the name).

    Examples
    --------
    With patience=2 and factor=0.5, a loss of 1.0, 0.9, 0.95, 0.97 halves γ
    after the fourth epoch: epochs 3 and 4 did not beat 0.9.
    """

    adds_logs = ("learning_rate",)

    def __init__(self, monitor="val_loss", factor=0.1, patience=10, verbose=0, mode="auto", min_delta=1e-4,
                 cooldown=0, min_lr=0.0, **keras):
        where = "ReduceLROnPlateau"
        refuse(where, keras, ("epsilon",), own_arguments(ReduceLROnPlateau))    # Keras 2's epsilon: min_delta
        if isinstance(factor, bool) or not isinstance(factor, numbers.Real) or not 0 < factor < 1:
            raise ValueError(f"{where}: expected factor a number in (0, 1), got {factor!r}; γ is multiplied by it "
                             f"on a plateau, e.g. factor=0.1.")
        self.factor = float(factor)
        self.patience = check_number(patience, where, "patience", integer=True)
        self.cooldown = check_number(cooldown, where, "cooldown", integer=True)
        self.min_delta = check_number(min_delta, where, "min_delta")
        self.min_lr = check_number(min_lr, where, "min_lr")
        self.mode = check_mode(mode, monitor, where)
        self.monitor, self.verbose = monitor, verbose
        self._better = better(self.mode, monitor)

    def check_before_fit(self, model, logs):
        _check_settable_learning_rate(model, "ReduceLROnPlateau")
        check_logged("ReduceLROnPlateau", "monitor", self.monitor, logs)
        self._better = better(self.mode, self.monitor, model)

    def on_train_begin(self, logs=None):
        self.best, self.wait, self.cooldown_counter = None, 0, 0

    def on_epoch_end(self, epoch, logs=None):
        logs = logs if logs is not None else {}
        optimizer = self.model.optimizer
        _log_learning_rate(self.model, logs)
        current = logs.get(self.monitor)
        if current is None:                           # only a callback of the user's own can cause this
            raise ValueError(f"ReduceLROnPlateau: monitor {self.monitor!r} is not among the logs {sorted(logs)}.")
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.wait = 0
        if self.best is None or self._better(current, self.best, self.min_delta):
            self.best, self.wait = current, 0
        elif self.cooldown_counter == 0:
            self.wait += 1
            if self.wait >= self.patience:
                old = float(optimizer.learning_rate)
                if old > self.min_lr:
                    optimizer.learning_rate = max(old * self.factor, self.min_lr)
                    if self.verbose:
                        print(f"Epoch {epoch + 1}: ReduceLROnPlateau reducing learning rate to "
                              f"{optimizer.learning_rate:g}.")
                    self.cooldown_counter, self.wait = self.cooldown, 0


class LearningRateScheduler(Callback):
    """γ ← schedule(epoch, γ) at the start of each epoch (epoch counted from 0), as in Keras.

    ``schedule`` may also take the epoch alone (Keras 2's form): which one is
    decided from its signature, not, as Keras does, by calling it again after a
    TypeError (which would hide a TypeError inside the schedule). It must return
    a positive finite number; anything else stops ``fit`` before that epoch's
    first step.

    Examples
    --------
    >>> cb = LearningRateScheduler(lambda epoch, lr: lr if epoch < 10 else lr * 0.9)
    """

    adds_logs = ("learning_rate",)

    def __init__(self, schedule, verbose=0, **unknown):
        refuse("LearningRateScheduler", unknown, (), own_arguments(LearningRateScheduler))
        if not callable(schedule):
            raise TypeError(f"LearningRateScheduler: expected schedule a function schedule(epoch, lr) -> lr, "
                            f"got {type(schedule).__name__}.")
        self.schedule, self.verbose = schedule, verbose
        self._takes_lr = _positional_arity(schedule) >= 2

    def check_before_fit(self, model, logs):
        _check_settable_learning_rate(model, "LearningRateScheduler")
        if _positional_arity(self.schedule) < 1:
            raise TypeError("LearningRateScheduler: expected schedule to take (epoch, lr) or (epoch), got a "
                            "function that takes no positional argument; e.g. lambda epoch, lr: lr * 0.9.")

    def on_train_begin(self, logs=None):
        # The first epoch's rate is asked for now, so that a bad one stops fit before it replaces the history.
        params = getattr(self, "params", {})
        first = params.get("initial_epoch", 0)
        self._first = (first, self._rate(first)) if params.get("epochs", first + 1) > first else None

    def _rate(self, epoch):
        lr = float(self.model.optimizer.learning_rate)
        lr = self.schedule(epoch, lr) if self._takes_lr else self.schedule(epoch)
        if isinstance(lr, bool) or not isinstance(lr, numbers.Real) or not (math.isfinite(lr) and lr > 0):
            raise ValueError(f"LearningRateScheduler: expected schedule({epoch}, lr) to return a positive finite "
                             f"number, got {lr!r}; training stopped before epoch {epoch + 1}.")
        return float(lr)

    def on_epoch_begin(self, epoch, logs=None):
        first = getattr(self, "_first", None)
        lr = first[1] if first is not None and first[0] == epoch else self._rate(epoch)
        self._first = None
        optimizer = self.model.optimizer
        optimizer.learning_rate = lr
        if self.verbose:
            print(f"Epoch {epoch + 1}: LearningRateScheduler setting learning rate to {float(lr):g}.")

    def on_epoch_end(self, epoch, logs=None):
        _log_learning_rate(self.model, logs if logs is not None else {})


def _log_learning_rate(model, logs):
    """Put this epoch's γ into the logs (for callbacks after this one) and into the history."""
    logs["learning_rate"] = float(model.optimizer.learning_rate)
    model.history.record("learning_rate", logs["learning_rate"])


def _positional_arity(fn):
    """How many positional arguments ``fn`` takes (99 for *args; 2 when its signature cannot be read)."""
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return 2
    if any(p.kind is p.VAR_POSITIONAL for p in params):
        return 99
    return sum(p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) for p in params)
