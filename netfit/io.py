"""Save and load models: one zip of JSON and .npy arrays, never pickle.

Layout of a ``.netfit`` file (a plain zip archive)::

    netfit.json            format name and version, model config, compile config,
                           history, epochs trained, user metadata, array index
    arrays/weight_<k>.npy  the k-th array of model.get_weights()
    arrays/opt_<name>.npy  optimizer state (Adam's m and v, SGD's velocity, iterations)

Nothing in a file is ever executed: the JSON is read with ``json``, arrays
with ``numpy.load(allow_pickle=False)``, layer and optimizer names are looked
up in netfit's own tables, and every member name, shape and type is checked
before a model is built. A file that is not a netfit model, or is truncated,
damaged (each member carries a CRC-32) or of an unknown format version is
refused with :class:`ModelFileError`.

Writes go to a temporary file in the same folder, are flushed to disk and then
renamed over the target (an atomic step on POSIX and Windows), so a crash, a
``kill -9`` or a full disk mid-save leaves the previous file intact.
"""
import io
import json
import os
import re
import secrets
import zipfile
import zlib

import numpy as np

FORMAT_NAME = "netfit-model"
FORMAT_VERSION = 1
_JSON = "netfit.json"
_ARRAY = re.compile(r"arrays/([A-Za-z0-9_]{1,64})\.npy")
_MAX_JSON_BYTES = 64 << 20
_ZIP_MAGIC = b"PK\x03\x04"


class ModelFileError(ValueError):
    """The file is not a netfit model, is damaged, or comes from an unknown format version."""


# -- writing ---------------------------------------------------------------------------------
def save_model(model, path, epoch=None, metadata=None):
    """Write ``model`` to ``path`` atomically: architecture, weights, optimizer state, history.

    Parameters
    ----------
    model : Sequential
    path : str or os.PathLike
    epoch : int, optional
        Epochs trained so far, stored for ``fit(initial_epoch=...)``; defaults to
        the length of the model's history.
    metadata : dict, optional
        JSON-able facts to keep with the model, e.g. ``{"input_scale": [0, 1]}``;
        defaults to ``model.metadata`` when the model has one. :func:`load_model`
        puts it back in ``model.metadata``.

    Raises
    ------
    OSError
        The folder cannot be written; any previous file at ``path`` is unchanged.

    Examples
    --------
    >>> import netfit as nf, tempfile, os
    >>> from netfit.layers import Dense
    >>> model = nf.Sequential([Dense(2, input_shape=(3,))], seed=0)
    >>> path = os.path.join(tempfile.mkdtemp(), "m.netfit")
    >>> save_model(model, path, metadata={"note": "untrained"})
    >>> load_model(path).metadata
    {'note': 'untrained'}
    """
    from . import __version__, metrics as metrics_mod, optimizers
    from .model import Sequential
    if not isinstance(model, Sequential):
        raise TypeError(f"save_model: expected a netfit Sequential model, got {type(model).__name__}.")
    path = _check_path(path, "save_model")
    _check_not_folder(path, "save_model")
    if epoch is not None and (isinstance(epoch, bool) or not isinstance(epoch, (int, np.integer)) or epoch < 0):
        raise ValueError(f"save_model: expected epoch a non-negative integer (epochs trained), got {epoch!r}.")
    model._ensure_built()
    if metadata is None:
        metadata = getattr(model, "metadata", None) or {}
    if not isinstance(metadata, dict):
        raise TypeError(f"save_model: expected metadata a dict, got {type(metadata).__name__}.")
    try:
        json.dumps(metadata, default=_json_default)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"save_model: expected metadata of JSON values (str, numbers, lists, dicts): {exc}") from None
    arrays = {f"weight_{k}": w for k, w in enumerate(model.get_weights())}
    compile_config = None
    if model.compiled:
        compile_config = {"loss": model.loss.name,
                          "metrics": [metrics_mod.serialize(name, m, model.loss) for name, m in model.metrics],
                          "optimizer": optimizers.serialize(model.optimizer)}
        arrays.update({f"opt_{name}": np.asarray(value) for name, value in model.optimizer.get_state().items()})
    history = model.history
    meta = {
        "format": FORMAT_NAME, "format_version": FORMAT_VERSION, "netfit_version": __version__,
        "model_config": model.get_config(), "compile_config": compile_config,
        "history": {"history": history.history, "epoch": history.epoch},
        "epoch": int(epoch if epoch is not None else len(history.epoch)),
        "metadata": metadata, "arrays": sorted(arrays),
    }
    try:
        text = json.dumps(meta, indent=1, default=_json_default)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"save_model: {exc}") from None

    def write(handle):
        with zipfile.ZipFile(handle, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            archive.writestr(_JSON, text)
            for name, value in arrays.items():
                buffer = io.BytesIO()
                np.save(buffer, np.asarray(value, order="C"), allow_pickle=False)
                archive.writestr(f"arrays/{name}.npy", buffer.getvalue())

    atomic_write(path, write, "save_model")


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


# -- reading ---------------------------------------------------------------------------------
def load_model(path, compile=True):
    """Read a model written by :func:`save_model`; refuse anything else with :class:`ModelFileError`.

    The returned model has the saved weights (bit for bit), ``metadata`` and
    ``epochs_trained``, and (when it was compiled, unless ``compile=False``) the
    same optimizer, optimizer state, loss, metrics and history, so that
    ``fit(..., initial_epoch=model.epochs_trained)`` continues training exactly
    as if it had not stopped.

    Raises
    ------
    FileNotFoundError
        No file at ``path``.
    ModelFileError
        Not a netfit model, damaged, truncated, inconsistent, or a newer format.
    """
    path = _check_path(path, "load_model")
    if not isinstance(compile, (bool, np.bool_)):
        raise TypeError(f"load_model: expected compile True or False, got {compile!r}.")
    if os.path.isdir(path):
        raise IsADirectoryError(f"load_model: expected a model file, got the folder {path!r}.")
    try:
        handle = open(path, "rb")
    except FileNotFoundError:
        raise FileNotFoundError(f"load_model: no such file {path!r}.") from None
    with handle:
        if handle.read(4) != _ZIP_MAGIC:
            raise ModelFileError(f"load_model: {path!r} is not a netfit model file (not a zip archive; "
                                 f"netfit never loads pickles or other formats).")
        handle.seek(0)
        try:
            meta, arrays = _read_archive(handle, path)
        except ModelFileError:
            raise
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError, KeyError, RuntimeError,
                NotImplementedError, OverflowError, MemoryError, RecursionError) as exc:
            raise ModelFileError(f"load_model: {path!r} is damaged or truncated "
                                 f"({type(exc).__name__}: {exc}).") from None
    try:
        return _rebuild(meta, arrays, compile)
    except ModelFileError as exc:
        raise ModelFileError(f"load_model: {path!r}: {exc}") from None
    except (KeyError, TypeError, ValueError, IndexError, OverflowError, MemoryError) as exc:
        raise ModelFileError(f"load_model: {path!r} holds an inconsistent model "
                             f"({type(exc).__name__}: {exc}).") from None


def _read_archive(handle, path):
    """Return (meta, {name: array}) after checking every member name, size and CRC."""
    with zipfile.ZipFile(handle) as archive:
        infos = archive.infolist()
        names = [info.filename for info in infos]
        if len(set(names)) != len(names):
            raise ModelFileError(f"load_model: {path!r} has duplicate members; refusing it.")
        for name in names:
            if name != _JSON and not _ARRAY.fullmatch(name):
                raise ModelFileError(f"load_model: {path!r} holds an unexpected member {name!r}; "
                                     f"refusing it.")
        if _JSON not in names:
            raise ModelFileError(f"load_model: {path!r} is a zip file but not a netfit model (no {_JSON}).")
        if archive.getinfo(_JSON).file_size > _MAX_JSON_BYTES:
            raise ModelFileError(f"load_model: {path!r} has an implausibly large {_JSON}.")
        meta = _check_meta(json.loads(archive.read(_JSON)), path)
        arrays = {}
        for name in meta["arrays"]:
            member = f"arrays/{name}.npy"
            if not isinstance(name, str) or not _ARRAY.fullmatch(member):
                raise ModelFileError(f"load_model: {path!r} lists an invalid array name {name!r}.")
            if member not in names:
                raise ModelFileError(f"load_model: {path!r} is missing the array {name!r}.")
            try:
                arrays[name] = np.load(io.BytesIO(archive.read(member)), allow_pickle=False)
            except ValueError as exc:          # object arrays (pickles) and malformed headers
                raise ModelFileError(f"load_model: {path!r} has an unreadable array {name!r} ({exc}).") from None
            if arrays[name].dtype.kind not in "fiub":
                raise ModelFileError(f"load_model: {path!r} has array {name!r} of type "
                                     f"{arrays[name].dtype}; expected numbers.")
    return meta, arrays


def _check_meta(meta, path):
    if not isinstance(meta, dict) or meta.get("format") != FORMAT_NAME:
        raise ModelFileError(f"load_model: {path!r} is not a netfit model file.")
    version = meta.get("format_version")
    if version != FORMAT_VERSION:
        newer = isinstance(version, int) and version > FORMAT_VERSION
        raise ModelFileError(f"load_model: {path!r} has format version {version!r}; this netfit reads "
                             f"version {FORMAT_VERSION}." + (" Upgrade netfit to read it." if newer else ""))
    kinds = {"model_config": dict, "arrays": list, "history": dict, "epoch": int, "metadata": dict}
    for key, kind in kinds.items():
        if not isinstance(meta.get(key), kind) or isinstance(meta.get(key), bool):
            raise ModelFileError(f"load_model: {path!r} has a malformed {_JSON}: expected {key!r} "
                                 f"a {kind.__name__}, got {type(meta.get(key)).__name__}.")
    if not isinstance(meta.get("compile_config"), (dict, type(None))):
        raise ModelFileError(f"load_model: {path!r} has a malformed compile_config.")
    return meta


def _rebuild(meta, arrays, compile):
    """Model from checked meta and arrays: shapes are compared before anything is allocated."""
    from . import optimizers
    from .architecture import sequential_from_config
    from .model import Sequential

    config = meta["model_config"]
    dtype = config.get("dtype", "float32")
    if dtype not in ("float32", "float64"):
        raise ModelFileError(f"expected model dtype float32 or float64, got {dtype!r}.")
    layers, input_shape = sequential_from_config(config, where="model_config")
    # Per-layer weight shapes, declared by build() without allocating anything.
    shape = input_shape
    expected = []
    for layer in layers:
        shape = layer._build(shape)
        expected += [spec.shape for spec in layer.specs]
    weights = []
    for k, want in enumerate(expected):
        w = arrays.get(f"weight_{k}")
        if w is None or w.shape != want or w.dtype.kind != "f":
            got = "missing" if w is None else f"{w.dtype} array of shape {w.shape}"
            raise ModelFileError(f"weight {k} should be a float array of shape {want}, got {got}.")
        weights.append(w)
    if f"weight_{len(expected)}" in arrays:
        raise ModelFileError(f"holds more weight arrays than its {len(expected)} layers' weights.")
    model = Sequential(layers, name=str(config.get("name", "sequential")), seed=config.get("seed"), dtype=dtype)
    model.build(input_shape)
    model.set_weights(weights)
    compile_config = meta.get("compile_config")
    if compile and compile_config:
        model.compile(optimizer=optimizers.get(compile_config["optimizer"]), loss=compile_config["loss"],
                      metrics=compile_config["metrics"])
        current = model.optimizer.get_state()
        state = {name[4:]: value for name, value in arrays.items() if name.startswith("opt_")}
        for name, value in current.items():
            if name not in state or np.shape(state[name]) != np.shape(value):
                raise ModelFileError(f"optimizer state {name!r} should have shape {np.shape(value)}, "
                                     f"got {'nothing' if name not in state else np.shape(state[name])}.")
        model.optimizer.set_state(state)
    hist = meta["history"]
    logs, epochs = hist.get("history", {}), hist.get("epoch", [])
    if not (isinstance(logs, dict) and all(isinstance(v, list) for v in logs.values())
            and isinstance(epochs, list) and all(isinstance(e, int) for e in epochs)):
        raise ModelFileError("has a malformed training history.")
    model.history.history, model.history.epoch = logs, epochs
    model.epochs_trained = meta["epoch"]
    model.metadata = meta["metadata"]
    return model


def check_writable(path, where="check_writable"):
    """Raise a clear error now unless a model file can be written at ``path`` later.

    For callers that would otherwise find out after hours of training (the
    ``netfit train --out`` option, :class:`~netfit.callbacks.ModelCheckpoint`):
    ``path`` must not be a folder, and a file must be creatable in its folder.
    The check really creates (and removes) a small file, so it holds for root too.

    Raises
    ------
    TypeError
        ``path`` is not a str or os.PathLike.
    OSError
        ``path`` is a folder, or its folder is missing or cannot be written.
    """
    path = _check_path(path, where)
    _check_not_folder(path, where)
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


def _check_not_folder(path, where):
    if os.path.isdir(path):
        raise IsADirectoryError(f"{where}: expected a file path, got the folder {path!r}; add a file name, "
                                f"e.g. {os.path.join(path, 'model.netfit')!r}.")


def _check_path(path, where):
    """``path`` as a str, or a TypeError naming what came instead."""
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"{where}: expected path a str or os.PathLike, got {type(path).__name__}.")
    path = os.fspath(path)
    if not isinstance(path, str) or not path:
        raise TypeError(f"{where}: expected path a non-empty str, got {path!r}.")
    if "\0" in path:
        raise ValueError(f"{where}: expected a file path, got a path with a NUL character: {path!r}.")
    return path


def _json_default(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray) and value.size <= 1024:
        return value.tolist()
    raise TypeError(f"cannot store {type(value).__name__} in a model file")
