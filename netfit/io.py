"""Save and load models: one zip of JSON and .npy arrays, never pickle.

:func:`save_model` (in :mod:`netfit.saving`, re-exported here) writes the
``.netfit`` file; :func:`load_model` reads it back. Nothing in a file is ever
executed: the JSON is read with ``json``, arrays with
``numpy.load(allow_pickle=False)``, layer and optimizer names are looked up in
netfit's own tables, and every member name, shape and type is checked before a
model is built. A file that is not a netfit model, or is truncated, damaged
(each member carries a CRC-32) or of an unknown format version is refused with
:class:`ModelFileError`.

Writes go through :func:`atomic_write` (in :mod:`netfit.files`): a temporary
file in the same folder, flushed to disk, then renamed over the target, so a
crash, a ``kill -9`` or a full disk mid-save leaves the previous file intact.
"""
import io
import json
import os
import zipfile

import numpy as np

from . import backend, optimizers, weights_file
from .architecture import sequential_from_config
from .files import MODEL_SUFFIX, atomic_write, check_path, check_writable
from .model import Sequential
from .saving import (ARRAY_MEMBER as _ARRAY, FORMAT_NAME, FORMAT_VERSION, JSON_MEMBER as _JSON, ModelFileError,
                     check_format, read_zip, save_model)

__all__ = ["ModelFileError", "atomic_write", "check_writable", "load_model", "save_model",
           "FORMAT_NAME", "FORMAT_VERSION"]

_MAX_JSON_BYTES = 64 << 20


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
        No file at ``path`` (naming ``path + ".netfit"`` when that file exists).
    ModelFileError
        Not a netfit model, damaged, truncated, inconsistent, or a newer format; a weights
        file of ``model.save_weights`` (``.weights.npz``) is named as one, with ``model.load_weights``.
    """
    path = check_path(path, "load_model")
    if not isinstance(compile, (bool, np.bool_)):
        raise TypeError(f"load_model: expected compile True or False, got {compile!r}.")
    if os.path.isdir(path):
        raise IsADirectoryError(f"load_model: expected a model file, got the folder {path!r}.")
    if not os.path.lexists(path) and os.path.isfile(path + MODEL_SUFFIX):
        raise FileNotFoundError(f"load_model: no such file {path!r}; did you mean {path + MODEL_SUFFIX!r}?")
    meta, arrays = read_zip(path, lambda handle: _read_archive(handle, path), "load_model")
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
        if weights_file.MANIFEST_MEMBER in names and _JSON not in names:
            raise ModelFileError(f"load_model: {path!r} is a weights file (written by model.save_weights: the "
                                 f"weights without the architecture), not a model file; build a model like the "
                                 f"saved one and call model.load_weights({path!r}), or save whole models with "
                                 f"model.save('model.netfit') for load_model.")
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
    check_format(meta, FORMAT_NAME, FORMAT_VERSION, path, "load_model")
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
        model.optimizer.set_state({name: backend.to_device(value, model._theta) for name, value in state.items()})
    hist = meta["history"]
    logs, epochs = hist.get("history", {}), hist.get("epoch", [])
    if not (isinstance(logs, dict) and all(isinstance(v, list) for v in logs.values())
            and isinstance(epochs, list) and all(isinstance(e, int) for e in epochs)):
        raise ModelFileError("has a malformed training history.")
    model.history.history, model.history.epoch = logs, epochs
    model.epochs_trained = meta["epoch"]
    model.metadata = meta["metadata"]
    return model
