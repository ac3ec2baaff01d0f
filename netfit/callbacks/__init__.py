"""Callbacks watch the training loop: history, progress, early stopping, checkpoints, learning rate, logs.

Keras 3's hooks, at Keras's times and with Keras's logs (base.py has the
table): ``fit`` calls on_train_begin, then per epoch on_epoch_begin,
on_train_batch_begin / on_train_batch_end around each step, the on_test_*
hooks while validating, on_epoch_end with the epoch's logs (loss, metrics,
val_ metrics), and finally on_train_end; ``evaluate(callbacks=...)`` calls
the on_test_* hooks and ``predict(callbacks=...)`` the on_predict_* ones. A
callback stops training by setting ``model.stop_training = True``. Every
callback checks what it will read (monitored names, file-name fields, the
optimizer's learning rate) before the first step: :func:`check_callbacks`.

One concept per module: base.py (the contract, History, LambdaCallback, the
checks), callback_list.py (CallbackList, which calls a hook on each),
monitor.py (EarlyStopping, ModelCheckpoint, TerminateOnNaN), lr.py
(ReduceLROnPlateau, LearningRateScheduler), csv_logger.py (CSVLogger),
progress.py (ProgressBar). docs/callbacks_metrics.md describes each.
"""
from .base import Callback, History, LambdaCallback, check_callbacks, logged_names
from .callback_list import CallbackList
from .csv_logger import CSVLogger
from .lr import LearningRateScheduler, ReduceLROnPlateau
from .monitor import EarlyStopping, ModelCheckpoint, TerminateOnNaN
from .progress import ProgressBar

__all__ = ["Callback", "CallbackList", "History", "LambdaCallback", "EarlyStopping", "ModelCheckpoint",
           "TerminateOnNaN", "ReduceLROnPlateau", "LearningRateScheduler", "CSVLogger", "ProgressBar",
           "check_callbacks", "logged_names"]
