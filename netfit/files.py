"""Files written safely: an atomic replace, and a check that a path can be written before hours of work.

Every file netfit writes for keeps (models, checkpoints, ONNX exports) goes
through :func:`atomic_write`: the data go to a temporary file in the same
folder, are flushed to disk and then renamed over the target (an atomic step on
POSIX and Windows), so a crash, a ``kill -9`` or a full disk mid-write leaves
the previous file intact. The bottom row of the package: it imports nothing of
netfit, so the model, the callbacks and the exporters may all use it.
"""
import os
import re
import secrets

MODEL_SUFFIX = ".netfit"            # model.save's whole-model file
WEIGHTS_SUFFIX = ".weights.npz"     # model.save_weights's weights file (Keras 3: .weights.h5)
WEIGHTS_H5_SUFFIX = ".weights.h5"   # Keras 3's weights file, which netfit writes too (netfit.keras_file)


def atomic_write(path, write, where="atomic_write"):
    """Call ``write(binary_file)`` on a temporary file beside ``path``, then rename it over ``path``.

    The data are flushed to disk (``fsync``) before the rename, so ``path``
    holds either the old content or the whole new content, never a mix. On any
    error, Ctrl-C included, the temporary file is removed and the error re-raised
    (an ``OSError`` with a message saying that the previous file is unchanged).
    """
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    tmp = os.path.join(folder, f".{os.path.basename(path)}.{secrets.token_hex(4)}.tmp")
    try:
        # O_EXCL: never follow or reuse someone else's file; 0o666 & ~umask like open().
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    except OSError as exc:
        raise _os_error(exc, f"{where}: cannot write to folder {folder!r}: {exc.strerror or exc}.") from None
    try:
        with os.fdopen(fd, "wb") as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException as exc:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        if isinstance(exc, OSError):
            raise _os_error(exc, f"{where}: could not write {path!r}: {exc.strerror or exc}; "
                                 f"the previous file, if any, is unchanged.") from exc
        raise
    _fsync_folder(folder)


def _fsync_folder(folder):
    """Make the rename itself durable (POSIX); a no-op where folders cannot be opened."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def check_writable(path, where="check_writable", suffix=None, keras=False):
    """Raise a clear error now unless a model file can be written at ``path`` later.

    For callers that would otherwise find out after hours of training (the
    ``netfit train --out`` option, :class:`~netfit.callbacks.ModelCheckpoint`):
    ``path`` must not be a folder, must end in ``suffix`` when one is given
    (``".netfit"`` for model files), and a file must be creatable in its folder.
    Keras's names (.keras, .h5) are refused unless ``keras`` (the caller writes Keras's format).
    The check really creates (and removes) a small file, so it holds for root too.

    Raises
    ------
    TypeError
        ``path`` is not a str or os.PathLike.
    ValueError
        ``path`` does not end in ``suffix``, or is one of Keras's names (.h5, .keras).
    OSError
        ``path`` is a folder, or its folder is missing or cannot be written.
    """
    path = check_path(path, where)
    check_not_folder(path, where)
    if not keras:
        check_not_keras_format(path, where)
    if suffix is not None:
        check_suffix(path, suffix, where)
    folder = os.path.dirname(os.path.abspath(path))
    probe = os.path.join(folder, f".netfit-probe-{secrets.token_hex(4)}.tmp")
    try:
        fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except OSError as exc:
        raise _os_error(exc, f"{where}: cannot write to folder {folder!r}: {exc.strerror or exc}; "
                             f"create it or choose another path.") from None
    os.close(fd)
    os.unlink(probe)
    return path


def _os_error(original, message):
    """An error of ``original``'s class (e.g. PermissionError) and errno, whose text is ``message`` alone."""
    error = type(original)(message)
    error.errno = original.errno
    return error


def check_not_folder(path, where):
    if os.path.isdir(path):
        raise IsADirectoryError(f"{where}: expected a file path, got the folder {path!r}; add a file name, "
                                f"e.g. {os.path.join(path, 'model.netfit')!r}.")


def check_not_keras_format(path, where):
    """Refuse Keras's file names where netfit writes its own zip (JSON + .npy); ``model.save`` writes .keras files."""
    stem, ext = os.path.splitext(path)
    if ext.lower() in (".h5", ".hdf5", ".keras"):
        keras = os.path.basename(stem) + ".keras"
        other = (f"write Keras 3's own file with model.save({keras!r})" if ext.lower() == ".keras" else
                 f"Keras 2's HDF5 model files are not written; model.save({keras!r}) writes Keras 3's")
        raise ValueError(f"{where}: expected a .netfit path, got {path!r}; netfit writes its own format "
                         f"(a zip of JSON and .npy arrays) here, not Keras's {ext} file; save to "
                         f"{os.path.basename(stem) + '.netfit'!r}, or {other}, or export ONNX with "
                         f"netfit.export.to_onnx(model, 'model.onnx') for other tools.")


def check_suffix(path, suffix, where, fix="{name!r}"):
    """Refuse a file name that does not end in ``suffix`` (any case), naming the name to use instead.

    Keras 3 does the same for its own names (``.keras``, ``.weights.h5``). ``fix`` says what
    to use, with a ``{name}`` field, e.g. ``"model.save({name!r})"``; the suggested name is
    the given one with a known ending (``.h5``, ``.keras``, ``.npz``, ...) replaced by ``suffix``.
    """
    if path.lower().endswith(suffix):
        return
    raise ValueError(f"{where}: expected a {suffix} path, got {path!r}; use {fix.format(name=renamed(path, suffix))}.")


def renamed(path, suffix):
    """The file name of ``path`` with a known ending (``.h5``, ``.weights.h5``, ``.npz``, ...) replaced by ``suffix``."""
    return (_ENDINGS.sub("", os.path.basename(path)) or "model") + suffix


_ENDINGS = re.compile(r"(\.weights)?\.(h5|hdf5|keras|netfit|npz|npy|json|pkl|pickle)$|\.weights$", re.IGNORECASE)


def check_path(path, where):
    """``path`` as a str, or a TypeError naming what came instead."""
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"{where}: expected path a str or os.PathLike, got {type(path).__name__}.")
    path = os.fspath(path)
    if not isinstance(path, str) or not path:
        raise TypeError(f"{where}: expected path a non-empty str, got {path!r}.")
    if "\0" in path:
        raise ValueError(f"{where}: expected a file path, got a path with a NUL character: {path!r}.")
    return path


def require_h5py(where):
    """h5py, or an ImportError naming the extra that installs it (Keras 3's files keep weights in HDF5)."""
    try:
        import h5py
    except ImportError:
        raise ImportError(f"{where}: Keras 3's .keras and .weights.h5 files keep weights in HDF5, which needs "
                          f"h5py: pip install 'netfit[keras-files]' (or use netfit's .netfit / .weights.npz "
                          f"names).") from None
    return h5py
