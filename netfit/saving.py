"""Write a model to a ``.netfit`` file: one zip of JSON and .npy arrays, never pickle.

Layout of a ``.netfit`` file (a plain zip archive)::

    netfit.json            format name and version, model config, compile config,
                           history, epochs trained, user metadata, array index
    arrays/weight_<k>.npy  the k-th array of model.get_weights()
    arrays/opt_<name>.npy  optimizer state (Adam's m and v, SGD's velocity, iterations)

This module writes the format and sits below :mod:`netfit.model` (so that
``model.save`` needs no import inside a function); :mod:`netfit.io` reads it
back, checks every member, and rebuilds the model. :func:`read_zip` opens a
netfit zip file for reading, for io and :mod:`netfit.weights_file` alike. The write is atomic
(:func:`netfit.files.atomic_write`): a crash, a ``kill -9`` or a full disk
mid-save leaves the previous file intact.
"""
import io
import json
import re
import zipfile
import zlib

import numpy as np

from . import backend, losses, metrics as metrics_mod, optimizers
from ._version import __version__
from .files import atomic_write, check_not_folder, check_not_keras_format, check_path, check_suffix

FORMAT_NAME = "netfit-model"
FORMAT_VERSION = 1
JSON_MEMBER = "netfit.json"
ZIP_MAGIC = b"PK\x03\x04"
ARRAY_MEMBER = re.compile(r"arrays/([A-Za-z0-9_]{1,64})\.npy")


class ModelFileError(ValueError):
    """The file is not a netfit model, is damaged, or comes from an unknown format version."""


def check_format(meta, name, version, path, where, what="model"):
    """Refuse a file's JSON ``meta`` unless it names format ``name`` at ``version`` (a newer one: "upgrade")."""
    if not isinstance(meta, dict) or meta.get("format") != name:
        raise ModelFileError(f"{where}: {path!r} is not a netfit {what} file.")
    found = meta.get("format_version")
    if found != version:
        newer = isinstance(found, int) and found > version
        raise ModelFileError(f"{where}: {path!r} has format version {found!r}; this netfit reads "
                             f"version {version}." + (" Upgrade netfit to read it." if newer else ""))


def read_zip(path, read, where, what="model"):
    """Return ``read(binary_file)`` of the zip file at ``path``, for the readers of netfit's zip formats.

    A missing file is a FileNotFoundError; a file that is not a zip archive, or
    that ``read`` finds damaged or truncated, a :class:`ModelFileError` naming
    ``where`` and ``what`` ("model" or "weights"); ``read``'s own ModelFileErrors pass.
    """
    try:
        handle = open(path, "rb")
    except FileNotFoundError:
        raise FileNotFoundError(f"{where}: no such file {path!r}.") from None
    with handle:
        if handle.read(4) != ZIP_MAGIC:
            raise ModelFileError(f"{where}: {path!r} is not a netfit {what} file (not a zip archive; "
                                 f"netfit never loads pickles or other formats).")
        handle.seek(0)
        try:
            return read(handle)
        except ModelFileError:
            raise
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError, KeyError, RuntimeError,
                NotImplementedError, OverflowError, MemoryError, RecursionError) as exc:
            raise ModelFileError(f"{where}: {path!r} is damaged or truncated "
                                 f"({type(exc).__name__}: {exc}).") from None


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
        defaults to ``model.metadata`` when the model has one. :func:`netfit.io.load_model`
        puts it back in ``model.metadata``.

    Raises
    ------
    ValueError
        ``path`` does not end in ``.netfit`` (Keras 3 likewise refuses a name without
        ``.keras``); Keras's ``.h5`` / ``.keras`` names get their own message.
    OSError
        The folder cannot be written; any previous file at ``path`` is unchanged.

    Examples
    --------
    >>> import netfit as nf, tempfile, os
    >>> from netfit.layers import Dense
    >>> model = nf.Sequential([Dense(2, input_shape=(3,))], seed=0)
    >>> path = os.path.join(tempfile.mkdtemp(), "m.netfit")
    >>> save_model(model, path, metadata={"note": "untrained"})
    >>> nf.io.load_model(path).metadata
    {'note': 'untrained'}
    """
    if not all(callable(getattr(model, name, None)) for name in ("get_config", "get_weights", "_ensure_built")):
        raise TypeError(f"save_model: expected a netfit Sequential model, got {type(model).__name__}.")
    path = check_path(path, "save_model")
    check_not_folder(path, "save_model")
    check_not_keras_format(path, "save_model")
    check_suffix(path, ".netfit", "save_model", "model.save({name!r})")       # Keras 3 refuses a name without .keras
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
        compile_config = {"loss": losses.serialize(model.loss),
                          "metrics": [metrics_mod.serialize(name, m, model.loss) for name, m in model.metrics],
                          "optimizer": optimizers.serialize(model.optimizer)}
        arrays.update({f"opt_{name}": np.asarray(backend.to_host(value))
                       for name, value in model.optimizer.get_state().items()})
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
            archive.writestr(JSON_MEMBER, text)
            for name, value in arrays.items():
                buffer = io.BytesIO()
                np.save(buffer, np.asarray(value, order="C"), allow_pickle=False)
                archive.writestr(f"arrays/{name}.npy", buffer.getvalue())

    atomic_write(path, write, "save_model")


def _json_default(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray) and value.size <= 1024:
        return value.tolist()
    raise TypeError(f"cannot store {type(value).__name__} in a model file")
