"""Save and load models: one zip of JSON and .npy arrays, never pickle.

Layout of a ``.netfit`` file (a plain zip archive)::

    netfit.json            format name and version, model config, compile config,
                           history, epochs trained, array index
    arrays/weight_<k>.npy  the k-th array of model.get_weights()
    arrays/opt_<name>.npy  optimizer state (Adam's m and v, SGD's velocity, iterations)

Arrays are read with ``allow_pickle=False`` and the JSON with ``json``; nothing
in the file is ever executed. Writes go to a temporary file in the same folder,
are flushed to disk and then renamed over the target, so a crash or a full disk
mid-save leaves the previous file intact.
"""
import io
import json
import os
import tempfile
import zipfile

import numpy as np

FORMAT_NAME = "netfit-model"
FORMAT_VERSION = 1


class ModelFileError(ValueError):
    """The file is not a netfit model, is damaged, or comes from an unknown format version."""


def save_model(model, path, epoch=None):
    """Write ``model`` to ``path`` atomically.

    Parameters
    ----------
    model : Sequential
    path : str or os.PathLike
    epoch : int, optional
        Epochs trained so far, stored for ``fit(initial_epoch=...)``; defaults to
        the length of the model's history.
    """
    from . import __version__, optimizers
    model._ensure_built()
    path = os.fspath(path)
    weights = model.get_weights()
    arrays = {f"weight_{k}": w for k, w in enumerate(weights)}
    compile_config = None
    if model.compiled:
        compile_config = {"loss": model.loss.name, "metrics": [name for name, _ in model.metrics],
                          "optimizer": optimizers.serialize(model.optimizer)}
        arrays.update({f"opt_{name}": np.asarray(value) for name, value in model.optimizer.get_state().items()})
    history = model.history
    meta = {
        "format": FORMAT_NAME, "format_version": FORMAT_VERSION, "netfit_version": __version__,
        "model_config": model.get_config(), "compile_config": compile_config,
        "history": {"history": history.history, "epoch": history.epoch},
        "epoch": int(epoch if epoch is not None else len(history.epoch)),
        "arrays": sorted(arrays),
    }
    folder = os.path.dirname(os.path.abspath(path))
    try:
        fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".netfit", dir=folder)
    except OSError as exc:
        raise OSError(f"save_model: cannot write to folder {folder!r}: {exc.strerror or exc}.") from exc
    try:
        with os.fdopen(fd, "wb") as handle:
            with zipfile.ZipFile(handle, "w", compression=zipfile.ZIP_DEFLATED) as archive:
                archive.writestr("netfit.json", json.dumps(meta, indent=1, default=_json_default))
                for name, value in arrays.items():
                    buffer = io.BytesIO()
                    np.save(buffer, np.asarray(value, order="C"), allow_pickle=False)
                    archive.writestr(f"arrays/{name}.npy", buffer.getvalue())
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException as exc:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        if isinstance(exc, OSError):
            raise OSError(f"save_model: could not save {path!r}: {exc.strerror or exc}; "
                          f"the previous file, if any, is unchanged.") from exc
        raise


def load_model(path, compile=True):
    """Read a model written by :func:`save_model`; refuse anything else with a clear error.

    The returned model has the saved weights, and (when it was compiled) the
    same optimizer, optimizer state, loss, metrics and history, so that
    ``fit(..., initial_epoch=model.epochs_trained)`` continues training exactly.
    """
    from . import Sequential, optimizers
    path = os.fspath(path)
    try:
        with zipfile.ZipFile(path) as archive:
            meta = _read_meta(archive, path)
            arrays = {name: _read_array(archive, name, path) for name in meta["arrays"]}
    except zipfile.BadZipFile as exc:
        raise ModelFileError(f"load_model: {path!r} is not a netfit model file or is damaged ({exc}).") from None
    except FileNotFoundError:
        raise FileNotFoundError(f"load_model: no such file {path!r}.") from None
    try:
        model = Sequential.from_config(meta["model_config"])
        weights = [arrays[f"weight_{k}"] for k in range(len(model.weights))]
        model.set_weights(weights)
        compile_config = meta.get("compile_config")
        if compile and compile_config:
            model.compile(optimizer=optimizers.get(compile_config["optimizer"]), loss=compile_config["loss"],
                          metrics=compile_config["metrics"])
            model.optimizer.set_state({name[4:]: value for name, value in arrays.items() if name.startswith("opt_")})
    except (KeyError, TypeError, ValueError) as exc:
        raise ModelFileError(f"load_model: {path!r} holds an inconsistent model ({exc}).") from None
    model.history.history = meta["history"]["history"]
    model.history.epoch = meta["history"]["epoch"]
    model.epochs_trained = meta["epoch"]
    return model


def _read_meta(archive, path):
    try:
        meta = json.loads(archive.read("netfit.json"))
    except KeyError:
        raise ModelFileError(f"load_model: {path!r} is a zip file but not a netfit model (no netfit.json).") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise ModelFileError(f"load_model: {path!r} has an unreadable netfit.json ({exc}).") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT_NAME:
        raise ModelFileError(f"load_model: {path!r} is not a netfit model file.")
    if meta.get("format_version") != FORMAT_VERSION:
        raise ModelFileError(f"load_model: {path!r} has format version {meta.get('format_version')!r}; this "
                             f"netfit reads version {FORMAT_VERSION}. Upgrade netfit to read it.")
    return meta


def _read_array(archive, name, path):
    if not isinstance(name, str) or "/" in name or name.startswith("."):
        raise ModelFileError(f"load_model: {path!r} lists an invalid array name {name!r}.")
    try:
        data = archive.read(f"arrays/{name}.npy")
        return np.load(io.BytesIO(data), allow_pickle=False)
    except KeyError:
        raise ModelFileError(f"load_model: {path!r} is missing the array {name!r}.") from None
    except ValueError as exc:
        raise ModelFileError(f"load_model: {path!r} has an unreadable array {name!r} ({exc}).") from None


def _json_default(value):
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"save_model: cannot store {type(value).__name__} in the model file.")
