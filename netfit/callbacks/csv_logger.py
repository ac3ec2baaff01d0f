"""CSVLogger: one row per epoch of the logs, written as training goes (Keras's ``CSVLogger``)."""
import csv
import os

from ..files import check_writable
from ..keras_args import own_arguments, refuse
from ..utils import check_flag
from .base import Callback, check_file_name


class CSVLogger(Callback):
    """Write ``epoch`` (from 0, as Keras) and every logged value, one row per epoch, to ``filename``.

    The columns are ``epoch`` then the log names in sorted order, fixed by the
    first epoch; a value missing later is written ``NA``. ``append=True`` adds
    to an existing file (writing the header only when the file is empty);
    otherwise the file is replaced when training begins. Each row is flushed as
    it is written, so the file is useful while training runs. Keras 3 also adds
    empty ``val_`` columns when there is no validation data (for its
    ``validation_freq``); netfit has no ``validation_freq`` and does not.

    Examples
    --------
    >>> logger = CSVLogger("training.csv", separator=";", append=True)
    """

    def __init__(self, filename, separator=",", append=False, **unknown):
        refuse("CSVLogger", unknown, (), own_arguments(CSVLogger))
        where = "CSVLogger"
        filename = check_file_name(filename, where, "filename")
        if not isinstance(separator, str) or len(separator) != 1 or separator in "\r\n\"":
            raise ValueError(f"{where}: expected separator one character such as ',' or ';' (not a quote or a "
                             f"line break), got {separator!r}.")
        check_flag(append, where, "append")
        self.filename, self.sep, self.append = filename, separator, bool(append)
        self.keys, self.writer, self.file = None, None, None

    def check_before_fit(self, model, logs):
        """Refuse a folder, or a folder that cannot take the file, before the first step."""
        check_writable(self.filename, "CSVLogger")

    def on_train_begin(self, logs=None):
        header = not (self.append and os.path.exists(self.filename) and os.path.getsize(self.filename) > 0)
        self.file = open(self.filename, "a" if self.append else "w", newline="", encoding="utf-8")
        self.keys, self.writer, self._header = None, None, header

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        if self.writer is None:
            self.keys = sorted(logs)
            self.writer = csv.writer(self.file, delimiter=self.sep, lineterminator="\n")
            if self._header:
                self.writer.writerow(["epoch"] + self.keys)
        self.writer.writerow([epoch] + [logs.get(key, "NA") for key in self.keys])
        self.file.flush()

    def on_train_end(self, logs=None):
        if self.file is not None:
            self.file.close()
        self.file, self.writer = None, None
