"""Callbacks that watch a logged value: EarlyStopping, ModelCheckpoint, TerminateOnNaN."""
import math
import numbers
import string

from ..files import MODEL_SUFFIX, WEIGHTS_H5_SUFFIX, WEIGHTS_SUFFIX, check_writable, renamed, require_h5py
from ..keras_args import own_arguments, refuse
from ..utils import check_flag
from .base import Callback, LogNames, better, check_file_name, check_logged, check_mode, logged_names

class EarlyStopping(Callback):
    """Stop when ``monitor`` has not improved by ``min_delta`` for ``patience`` epochs.

    ESL §11.5.1 calls this the implicit regularisation of stopping early, with a
    validation set choosing when. ``restore_best_weights`` puts back the weights
    of the best epoch at the end. Keras's arguments, in Keras's order:
    ``baseline`` (an epoch counts as progress only once the value beats it, so a
    run that never reaches it stops after ``patience`` epochs) and
    ``start_from_epoch`` (epochs before it are not watched: a warm-up).
    """

    def __init__(self, monitor="val_loss", min_delta=0.0, patience=0, verbose=0, mode="auto", baseline=None,
                 restore_best_weights=False, start_from_epoch=0, **unknown):
        where = "EarlyStopping"
        refuse(where, unknown, (), own_arguments(EarlyStopping))
        if isinstance(min_delta, bool) or not isinstance(min_delta, numbers.Real) or not math.isfinite(min_delta):
            raise ValueError(f"{where}: expected min_delta a finite number, got {min_delta!r}.")
        if isinstance(patience, bool) or not isinstance(patience, numbers.Integral) or patience < 0:
            raise ValueError(f"{where}: expected patience a non-negative integer (epochs), got {patience!r}.")
        if baseline is not None and (isinstance(baseline, bool) or not isinstance(baseline, numbers.Real)
                                     or not math.isfinite(baseline)):
            raise ValueError(f"{where}: expected baseline a finite number (the value to beat) or None, "
                             f"got {baseline!r}.")
        if isinstance(start_from_epoch, bool) or not isinstance(start_from_epoch, numbers.Integral) \
                or start_from_epoch < 0:
            raise ValueError(f"{where}: expected start_from_epoch a non-negative integer (epochs), "
                             f"got {start_from_epoch!r}.")
        check_flag(restore_best_weights, where, "restore_best_weights")
        self.mode = check_mode(mode, monitor, where)
        self._better = better(self.mode, monitor)
        self.monitor, self.min_delta, self.patience = monitor, abs(float(min_delta)), int(patience)
        self.baseline = None if baseline is None else float(baseline)
        self.start_from_epoch = int(start_from_epoch)
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
        if epoch < self.start_from_epoch:             # warm-up epochs are not watched (Keras)
            return
        if self.best is None or self._better(value, self.best, self.min_delta):
            self.best, self.best_epoch = value, epoch
            if self.restore_best_weights:
                self.best_weights = self.model.get_weights()
            if self.baseline is None or self._better(value, self.baseline, self.min_delta):
                self.wait = 0
                return
        self.wait += 1                                # no progress, or the baseline not beaten yet
        if self.wait >= self.patience and epoch > 0:  # Keras: stop after `patience` epochs without progress
            self.stopped_epoch = epoch
            self.model.stop_training = True
            self.model.history.stop_reason = (f"EarlyStopping: {self.monitor} did not improve for {self.wait} epochs"
                                              + (f" (or did not beat the baseline {self.baseline:g})"
                                                 if self.baseline is not None else ""))

    def on_train_end(self, logs=None):
        if self.verbose and self.stopped_epoch is not None:
            print(f"Epoch {self.stopped_epoch + 1}: early stopping")          # Keras's line, verbose=1
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
    save_freq : "epoch" or int
        Save after each epoch, or after every ``save_freq`` batches (counted across
        epochs, as Keras counts them); then ``filepath`` may also hold ``{batch}``
        (1-based, within the epoch), and ``save_best_only`` compares the batch logs
        (the epoch's running loss and metrics; no ``val_`` values). A file written
        mid-epoch records the epochs completed before it, for ``fit(initial_epoch=...)``.
    initial_value_threshold : float, optional
        With ``save_best_only``, a first file is written only once ``monitor`` beats
        this value (Keras's argument).

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

    def __init__(self, filepath, monitor="val_loss", verbose=0, save_best_only=False, save_weights_only=False,
                 mode="auto", save_freq="epoch", initial_value_threshold=None, **unknown):
        where = "ModelCheckpoint"
        refuse(where, unknown, (), own_arguments(ModelCheckpoint))
        filepath = check_file_name(filepath, where, "filepath")
        check_flag(save_best_only, where, "save_best_only")
        check_flag(save_weights_only, where, "save_weights_only")
        if save_freq != "epoch" and (isinstance(save_freq, bool) or not isinstance(save_freq, numbers.Integral)
                                     or save_freq < 1):
            raise ValueError(f"{where}: expected save_freq 'epoch' or a positive number of batches, "
                             f"got {save_freq!r}.")
        if initial_value_threshold is not None and (isinstance(initial_value_threshold, bool) or not isinstance(
                initial_value_threshold, numbers.Real) or not math.isfinite(initial_value_threshold)):
            raise ValueError(f"{where}: expected initial_value_threshold a finite number or None, "
                             f"got {initial_value_threshold!r}.")
        self.mode = check_mode(mode, monitor, where)
        self._better = better(self.mode, monitor)
        self.filepath, self.monitor = filepath, monitor
        self.save_best_only, self.verbose = bool(save_best_only), verbose
        self.save_weights_only = bool(save_weights_only)
        self.save_freq = save_freq if save_freq == "epoch" else int(save_freq)
        self.initial_value_threshold = None if initial_value_threshold is None else float(initial_value_threshold)
        self.best = self.initial_value_threshold
        self._epoch, self._batches = 0, 0

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
        by_batch = self.save_freq != "epoch"
        if by_batch:                                  # the batch logs: the running loss and metrics
            logs = LogNames(logged_names(model, False), False, logs.open)
        for field in sorted(fields):
            name = field.split(".")[0].split("[")[0]
            if name != "epoch" and not (by_batch and name == "batch"):
                check_logged("ModelCheckpoint", f"each field of filepath {self.filepath!r} to be epoch"
                             f"{', batch' if by_batch else ''} or", name, logs)
        if self.save_best_only:
            check_logged("ModelCheckpoint", "monitor" + (f" (save_freq={self.save_freq}: batch logs)"
                                                         if by_batch else ""), self.monitor, logs)
        self._better = better(self.mode, self.monitor, model)
        self._batches = 0
        path = self._format(0, {name: 0.0 for name in (*logs, *fields) if name not in ("epoch", "batch")},
                            0 if by_batch else None)
        keras_name = self._check_suffix(path)
        suffix = None if keras_name else WEIGHTS_SUFFIX if self.save_weights_only else MODEL_SUFFIX
        check_writable(path, "ModelCheckpoint", suffix=suffix, keras=keras_name)
        if keras_name:                                   # Keras 3's files need h5py: say so before training
            require_h5py("ModelCheckpoint")

    def _check_suffix(self, path):
        """The name fits ``save_weights_only`` (netfit's ``.weights.npz`` / ``.netfit``, Keras 3's ``.weights.h5``
        / ``.keras``); the fix names both ways. True for one of Keras 3's names, which Keras's format is written to."""
        low = path.lower()
        weights_name = low.endswith((WEIGHTS_SUFFIX, WEIGHTS_H5_SUFFIX))
        if self.save_weights_only and not weights_name:
            raise ValueError(f"ModelCheckpoint: expected a {WEIGHTS_SUFFIX} or {WEIGHTS_H5_SUFFIX} path with "
                             f"save_weights_only=True, got {path!r}; use {renamed(path, WEIGHTS_SUFFIX)!r} "
                             f"(netfit's weights file, NumPy's .npz) or {renamed(path, WEIGHTS_H5_SUFFIX)!r} "
                             f"(Keras 3's, needs h5py), or save_weights_only=False to save the whole model to "
                             f"{renamed(path, MODEL_SUFFIX)!r}.")
        if not self.save_weights_only and weights_name:
            raise ValueError(f"ModelCheckpoint: expected a {MODEL_SUFFIX} or .keras path, got {path!r}, a "
                             f"weights-file name; pass save_weights_only=True to save the weights alone, or use "
                             f"{renamed(path, MODEL_SUFFIX)!r} for the whole model.")
        return low.endswith(WEIGHTS_H5_SUFFIX if self.save_weights_only else ".keras")

    def _format(self, epoch, logs, batch=None):
        try:
            extra = {} if batch is None else {"batch": batch + 1}
            return self.filepath.format(epoch=epoch + 1, **extra, **logs)
        except KeyError as exc:
            raise ValueError(f"ModelCheckpoint: filepath {self.filepath!r} names {exc}, which is not among the "
                             f"logs {sorted(logs)}; pass validation data or remove it.") from None
        except (ValueError, IndexError, AttributeError) as exc:
            raise ValueError(f"ModelCheckpoint: cannot fill in filepath {self.filepath!r} ({exc}).") from None

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        if self.save_freq == "epoch":
            return
        self._batches += 1
        if self._batches % self.save_freq == 0:
            self._save(self._epoch, logs or {}, batch)

    def on_epoch_end(self, epoch, logs=None):
        if self.save_freq == "epoch":
            self._save(epoch, logs or {})

    def _save(self, epoch, logs, batch=None):
        if self.save_best_only:
            value = logs.get(self.monitor)
            if value is None:
                raise ValueError(f"ModelCheckpoint: monitor {self.monitor!r} is not among the logs {sorted(logs)}.")
            if self.best is not None and not self._better(value, self.best, 0.0):
                return
            self.best = value
        path = self._format(epoch, logs, batch)
        if self.save_weights_only:
            self.model.save_weights(path)
        else:
            self.model.save(path, _epoch=epoch + (batch is None))      # epochs completed
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
    Keras does not check. ``raise_error=True`` (Keras's argument) raises a
    RuntimeError there instead of stopping quietly.
    """

    def __init__(self, raise_error=False, **unknown):
        refuse("TerminateOnNaN", unknown, (), own_arguments(TerminateOnNaN))
        self.raise_error = check_flag(raise_error, "TerminateOnNaN", "raise_error")

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
            if self.raise_error:
                raise RuntimeError(f"TerminateOnNaN: {name} was {value} at {when} (raise_error=True).")
            print(f"TerminateOnNaN: {when}: invalid {name} {value}, terminating training.")
            return True
        return False
