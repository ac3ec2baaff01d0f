"""Callbacks that watch a logged value: EarlyStopping, ModelCheckpoint, TerminateOnNaN."""
import math
import numbers
import string

from ..files import MODEL_SUFFIX, WEIGHTS_SUFFIX, check_writable, renamed
from ..utils import check_flag
from .base import Callback, better, check_file_name, check_logged, check_mode

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
        self.mode = check_mode(mode, monitor, where)
        self._better = better(self.mode, monitor)
        self.monitor, self.min_delta, self.patience = monitor, abs(float(min_delta)), int(patience)
        self.restore_best_weights, self.verbose = bool(restore_best_weights), verbose
        self.stopped_epoch, self.best_epoch = None, None

    def check_before_fit(self, model, logs):
        """Refuse a monitor the logs will not hold, and settle ``mode="auto"`` from the compiled metric."""
        check_logged("EarlyStopping", "monitor", self.monitor, logs)
        self._better = better(self.mode, self.monitor, model)

    def on_train_begin(self, logs=None):
        self.wait, self.best, self.best_weights = 0, None, None
        self.stopped_epoch, self.best_epoch = None, None

    def on_epoch_end(self, epoch, logs=None):
        value = (logs or {}).get(self.monitor)
        if value is None:                             # only a callback of the user's own can cause this
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
    """Save the model after each epoch (or only when ``monitor`` improves); Keras's ``ModelCheckpoint``.

    ``filepath`` may hold fields of the logs, e.g. ``"model-{epoch:02d}-{val_loss:.3f}.netfit"``.
    Saving is atomic (:func:`netfit.io.save_model`): a crash mid-save keeps the previous file.

    Parameters
    ----------
    filepath : str or os.PathLike
        Ends in ``.netfit`` (the whole model: :meth:`~netfit.Sequential.save`), or with
        ``save_weights_only=True`` in ``.weights.npz`` (:meth:`~netfit.Sequential.save_weights`),
        as Keras 3 wants ``.keras`` and ``.weights.h5``.
    monitor, mode : str
        The logged value that ``save_best_only`` watches, and whether lower ("min") or
        higher ("max") is better; "auto" decides from the name.
    save_best_only : bool
        Save only after an epoch whose ``monitor`` is the best so far.
    verbose : int
        1 prints a line per file written.
    save_weights_only : bool
        Write the weights alone (Keras's flag); a ``.weights.npz`` file that
        ``model.load_weights`` reads into a model of the same architecture.

    Raises
    ------
    TypeError
        ``filepath`` not a str or path; ``save_best_only`` or ``save_weights_only`` not True or False.
    ValueError
        An unknown ``mode``. Before the first step of ``fit``: a name without the suffix
        its ``save_weights_only`` calls for (with the name to use), a field the logs will
        not hold, a monitor that is not logged; OSError, a folder that cannot take the file.

    Examples
    --------
    >>> from netfit.callbacks import ModelCheckpoint
    >>> ModelCheckpoint("best.weights.npz", save_best_only=True, save_weights_only=True).save_weights_only
    True
    """

    def __init__(self, filepath, monitor="val_loss", save_best_only=False, mode="auto", verbose=0,
                 save_weights_only=False):
        where = "ModelCheckpoint"
        filepath = check_file_name(filepath, where, "filepath")
        check_flag(save_best_only, where, "save_best_only")
        check_flag(save_weights_only, where, "save_weights_only")
        self.mode = check_mode(mode, monitor, where)
        self._better = better(self.mode, monitor)
        self.filepath, self.monitor = filepath, monitor
        self.save_best_only, self.verbose = bool(save_best_only), verbose
        self.save_weights_only = bool(save_weights_only)
        self.best = None

    def check_before_fit(self, model, logs):
        """Refuse a file name the logs cannot fill in, or an unwritable folder, now, not after the first epoch.

        :meth:`netfit.Sequential.fit` calls this before it changes anything: every
        ``{field}`` must be ``epoch`` or a logged name (``{val_loss}`` needs
        validation data), every format spec must suit it, the name must end in
        ``.netfit`` (``.weights.npz`` with ``save_weights_only``), and the folder must
        take a file; with ``save_best_only`` the monitor must be logged.
        """
        try:
            fields = {f for _, f, _, _ in string.Formatter().parse(self.filepath) if f is not None}
        except ValueError as exc:
            raise ValueError(f"ModelCheckpoint: cannot read filepath {self.filepath!r} as a template ({exc}); "
                             f"double braces {{{{ }}}} to write them literally.") from None
        for field in sorted(fields):
            name = field.split(".")[0].split("[")[0]
            if name != "epoch":
                check_logged("ModelCheckpoint", f"each field of filepath {self.filepath!r} to be epoch or",
                             name, logs)
        if self.save_best_only:
            check_logged("ModelCheckpoint", "monitor", self.monitor, logs)
        self._better = better(self.mode, self.monitor, model)
        path = self._format(0, {name: 0.0 for name in (*logs, *fields) if name != "epoch"})
        self._check_suffix(path)
        check_writable(path, "ModelCheckpoint", suffix=WEIGHTS_SUFFIX if self.save_weights_only else MODEL_SUFFIX)

    def _check_suffix(self, path):
        """The name fits ``save_weights_only`` (Keras 3: ``.weights.h5`` / ``.keras``); the fix names both ways."""
        weights_name = path.lower().endswith(WEIGHTS_SUFFIX)
        if self.save_weights_only and not weights_name:
            raise ValueError(f"ModelCheckpoint: expected a {WEIGHTS_SUFFIX} path with save_weights_only=True, got "
                             f"{path!r}; use {renamed(path, WEIGHTS_SUFFIX)!r} (netfit's weights file: NumPy's "
                             f".npz, where Keras 3 wants .weights.h5), or save_weights_only=False to save the "
                             f"whole model to {renamed(path, MODEL_SUFFIX)!r}.")
        if not self.save_weights_only and weights_name:
            raise ValueError(f"ModelCheckpoint: expected a {MODEL_SUFFIX} path, got {path!r}, a weights-file name; "
                             f"pass save_weights_only=True to save the weights alone, or use "
                             f"{renamed(path, MODEL_SUFFIX)!r} for the whole model.")

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
        if self.save_weights_only:
            self.model.save_weights(path)
        else:
            self.model.save(path, _epoch=epoch + 1)
        if self.verbose:
            print(f"ModelCheckpoint: saved {path}")




class TerminateOnNaN(Callback):
    """Stop training after a batch whose logged loss is NaN or infinite (Keras's ``TerminateOnNaN``).

    netfit's loop already guards every step: a non-finite loss stops ``fit`` with
    a warning and the last weights that gave a finite loss, before this callback
    could see it. TerminateOnNaN is kept so that Keras code ports, and stops
    after the batch (``model.stop_training``) when a callback before it has
    written a non-finite ``loss`` into the batch logs; it also stops at an
    epoch's end when any logged value (``val_loss`` too) is non-finite, which
    Keras does not check.
    """

    def check_before_fit(self, model, logs):
        pass                                          # it reads "loss", which every log holds

    def on_train_batch_end(self, batch, logs=None):
        self._check((logs or {}).get("loss"), f"batch {batch + 1}", "loss")

    def on_epoch_end(self, epoch, logs=None):
        for name, value in (logs or {}).items():
            if self._check(value, f"epoch {epoch + 1}", name):
                return

    def _check(self, value, when, name):
        if isinstance(value, numbers.Real) and not math.isfinite(value):
            self.model.stop_training = True
            self.model.history.stop_reason = f"TerminateOnNaN: {name} was {value} at {when}"
            print(f"TerminateOnNaN: {when}: invalid {name} {value}, terminating training.")
            return True
        return False
