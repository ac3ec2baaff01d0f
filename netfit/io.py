"""Save and load models: one zip of JSON and .npy arrays, never pickle.

:func:`save_model` (in :mod:`netfit.saving`, re-exported here) writes the
``.netfit`` file; :func:`load_model` reads it back. Nothing in a file is ever
executed: the JSON is read with ``json``, arrays with numpy's .npy reader
(``allow_pickle=False``), layer and optimizer names are looked up in
netfit's own tables, and every member name, and each weight's shape and type,
is checked before a model is built. A file that is not a netfit model, or is truncated, damaged
(each member carries a CRC-32) or of an unknown format version is refused with
:class:`ModelFileError`.

Nothing is read that the model does not declare: the zip's member count and
sizes are checked from its directory, netfit.json from its declared size, and
every array's shape, dtype and size from its .npy header against the shapes
the layers declare once built from the config (and the optimizer's state), and
against ``max_bytes``, before a byte of array data is read. A 2 MB upload whose
header claims a (4,000,000, 128) array is refused in milliseconds instead of
inflating 2 GB.

Writes go through :func:`atomic_write` (in :mod:`netfit.files`): a temporary
file in the same folder, flushed to disk, then renamed over the target, so a
crash, a ``kill -9`` or a full disk mid-save leaves the previous file intact.
"""
import json
import math
import os

import numpy as np

from . import backend, keras_file, losses, optimizers, weights_file
from .ops import custom
from . import custom_objects as custom_objects_mod
from .architecture import graph_model_from_config, sequential_from_config
from .files import MODEL_SUFFIX, atomic_write, check_path, check_writable
from .model import Model
from .sequential import Sequential
from .saving import (ARRAY_MEMBER as _ARRAY, FORMAT_NAME, FORMAT_VERSION, JSON_MEMBER as _JSON, MAX_ARRAY_BYTES,
                     MAX_JSON_BYTES, ModelFileError, check_format, is_file_object, npy_header, read_npy, read_zip,
                     same_dtype, save_model as _save_netfit, shown_name)

__all__ = ["ModelFileError", "atomic_write", "check_writable", "load_model", "save_model",
           "FORMAT_NAME", "FORMAT_VERSION", "MAX_ARRAY_BYTES"]

_WHERE = "load_model"


def save_model(model, path, epoch=None, metadata=None):
    """Write ``model`` to ``path``: a ``.netfit`` file (:func:`netfit.saving.save_model`), or Keras 3's own
    ``.keras`` file for a name ending in ``.keras`` (:func:`netfit.keras_file.save_keras`: architecture,
    weights and compile config; ``epoch`` and ``metadata`` are then refused, Keras's file has no place
    for them)."""
    if keras_file.is_keras_name(path):
        if epoch is not None or metadata is not None:
            raise ValueError(f"save_model: expected no epoch or metadata for a .keras file (Keras's format keeps "
                             f"neither), got epoch={epoch!r}, metadata={metadata!r}; save to a .netfit file.")
        if not callable(getattr(model, "get_config", None)):
            raise TypeError(f"save_model: expected a netfit model, got {type(model).__name__}.")
        return model.save(path)
    return _save_netfit(model, path, epoch=epoch, metadata=metadata)


def load_model(path, compile=True, *, custom_objects=None, safe_mode=True, max_bytes=MAX_ARRAY_BYTES):
    """Read a model written by :func:`save_model`; refuse anything else with :class:`ModelFileError`.

    The returned model has the saved weights (bit for bit), ``metadata`` and
    ``epochs_trained``, and (when it was compiled, unless ``compile=False``) the
    same optimizer, optimizer state, loss, metrics and history, so that
    ``fit(..., initial_epoch=model.epochs_trained)`` continues training exactly
    as if it had not stopped.

    Parameters
    ----------
    path : str, os.PathLike or binary file object
        A file object (``open(name, "rb")``, ``io.BytesIO`` of an upload) is read from
        its start; errors name it by its ``name`` attribute, e.g. the name the user gave.
    compile : bool
        False skips the optimizer, loss and metrics (and does not read the optimizer state).
    custom_objects : dict, optional
        Keras's: objects of your own by the name the file holds: layer classes and
        keras.Model subclasses (``{"MyLayer": MyLayer}``), and the losses and metrics the
        model was compiled with (a function's ``__name__``, a Loss or Metric subclass's class
        name). Also found: those of an active ``keras.saving.custom_object_scope`` and those
        registered with ``@keras.saving.register_keras_serializable()``
        (:mod:`netfit.custom_objects`). Only these are ever instantiated, from the file's JSON
        config (``cls.from_config``); nothing from the file is imported or run.
        (Keras's ``load_model(path, custom_objects)`` by position is understood: a dict in
        ``compile``'s place is ``custom_objects``.)
    safe_mode : bool
        Keras's flag (it allows Lambda layers' code when False). netfit never runs code from a
        file either way, so it changes nothing.
    max_bytes : int or None
        The most bytes of arrays (weights and optimizer state together) the file may
        declare: 1 GiB by default (268 million float32 numbers). None for no cap, for a
        file you trust.

    Raises
    ------
    FileNotFoundError
        No file at ``path`` (naming ``path + ".netfit"`` when that file exists).
    ModelFileError
        Not a netfit model, damaged, truncated, inconsistent, or a newer format; an array
        whose header declares another shape or dtype than the config's layers, or more bytes
        than ``max_bytes``, before its data are read; a weights file of ``model.save_weights``
        (``.weights.npz``) is named as one, with ``model.load_weights``.
    """
    if not is_file_object(path):
        path = check_path(path, _WHERE)
        if os.path.isdir(path):
            raise IsADirectoryError(f"load_model: expected a model file, got the folder {path!r}.")
        if not os.path.lexists(path) and os.path.isfile(path + MODEL_SUFFIX):
            raise FileNotFoundError(f"load_model: no such file {path!r}; did you mean {path + MODEL_SUFFIX!r}?")
    if isinstance(compile, dict) and custom_objects is None:       # Keras's load_model(path, custom_objects)
        custom_objects, compile = compile, True
    if not isinstance(safe_mode, (bool, np.bool_)):
        raise TypeError(f"load_model: expected safe_mode True or False, got {safe_mode!r}.")
    if not isinstance(compile, (bool, np.bool_)):
        raise TypeError(f"load_model: expected compile True or False, got {compile!r}.")
    if max_bytes is not None and (isinstance(max_bytes, bool) or not isinstance(max_bytes, (int, np.integer))
                                  or max_bytes <= 0):
        raise ValueError(f"load_model: expected max_bytes a positive integer or None, got {max_bytes!r}.")
    shown = shown_name(path)

    def read(archive):
        if keras_file.is_keras_archive(archive):             # Keras 3's .keras file, by its members
            return keras_file.load_keras(archive, shown, _keras_model, compile, max_bytes, _WHERE)
        return _load(archive, shown, compile, max_bytes, custom_objects)
    with custom_objects_mod.given(custom_objects, _WHERE):
        return read_zip(path, read, _WHERE)


def _keras_model(config):
    """The netfit model of a translated Keras config (:mod:`netfit.keras_config`), built, weights not yet read."""
    where = "config.json"
    if "build_config" in config:                        # a keras.Model subclass of your own
        return subclassed_from_config(config, where)
    if "input_layers" in config:
        return graph_model_from_config(config, where)
    layers, input_shape = sequential_from_config(config, where)
    model = Sequential(layers, name=str(config.get("name", "sequential")), dtype=config.get("dtype"))
    model.build(input_shape)
    return model


def subclassed_from_config(config, where, dtype=None):
    """A keras.Model subclass of your own from Keras 3's object (``Model._file_config``): its class found among the
    classes given or registered (never imported), ``cls.from_config(config)``, built for the build config's shape."""
    name, registered = config.get("class_name"), config.get("registered_name")
    cls = custom_objects_mod.resolve(name, registered) if isinstance(name, str) else None
    if cls is None:
        raise custom_objects_mod.unknown_class_error(name, where, "model", registered)
    if not (isinstance(cls, type) and issubclass(cls, Model) and cls.call is not None):
        raise ValueError(f"{where}: {registered or name!r} names {cls!r}, which is not a keras.Model subclass "
                         f"with a call method.")
    inner = config.get("config")
    if not isinstance(inner, dict):
        raise ValueError(f"{where}: expected the model's 'config' an object, got {type(inner).__name__}.")
    model = cls.from_config(dict(inner))
    if not isinstance(model, cls):
        raise ValueError(f"{where}: {cls.__name__}.from_config returned {type(model).__name__}, not the model.")
    shape = (config.get("build_config") or {}).get("input_shape")
    if not isinstance(shape, list) or len(shape) < 2 or not all(isinstance(d, int) and d > 0 for d in shape[1:]):
        raise ValueError(f"{where}: expected build_config's input_shape [None, d1, ...], got {shape!r:.80}.")
    dtype = dtype or config.get("dtype")
    if dtype is not None and not model.built and getattr(model, "_requested_dtype", None) is None:
        model._requested_dtype = np.dtype(dtype)
    model.build(tuple(shape))
    return model


def _load(archive, shown, compile, max_bytes, custom_objects=None):
    """The model in ``archive``: members and JSON checked, then every array's header, then the data."""
    names = _check_members(archive, shown)
    meta = _check_meta(json.loads(archive.read(_JSON)), shown)
    listed = _check_listed(meta["arrays"], names, shown)
    if compile and meta.get("compile_config"):           # losses and metrics of your own, by name (ops.custom)
        try:
            meta["compile_config"] = custom.resolve(meta["compile_config"], custom_objects, _WHERE)
        except ValueError as exc:                       # a custom object not given: the file is fine
            raise ModelFileError(str(exc)) from None
    try:
        model, expected = _build(archive, meta, compile, listed, shown, max_bytes)
    except ModelFileError:
        raise
    except (KeyError, TypeError, ValueError, IndexError, OverflowError, MemoryError) as exc:
        raise ModelFileError(f"load_model: {shown} holds an inconsistent model "
                             f"({type(exc).__name__}: {exc}).") from None
    arrays = {name: read_npy(archive, f"arrays/{name}.npy", header, shown, _WHERE)
              for name, (_, header) in expected.items()}
    try:
        model.set_weights([value for name, value in arrays.items() if name.startswith("weight_")])
    except ValueError as exc:                        # NaN or infinite weights
        raise ModelFileError(f"load_model: {shown}: {exc}") from None
    state = {name[4:]: value for name, value in arrays.items() if name.startswith("opt_")}
    if state:
        model.optimizer.set_state({name: backend.to_device(value, model._theta) for name, value in state.items()})
    _restore_history(model, meta, shown)
    return model


def _check_members(archive, shown):
    """The member names, after refusing duplicates, strangers, a weights file, and a missing or huge netfit.json."""
    names = archive.namelist()
    if len(set(names)) != len(names):
        raise ModelFileError(f"load_model: {shown} has duplicate members; refusing it.")
    if weights_file.MANIFEST_MEMBER in names and _JSON not in names:
        raise ModelFileError(f"load_model: {shown} is a weights file (written by model.save_weights: the "
                             f"weights without the architecture), not a model file; build a model like the "
                             f"saved one and call model.load_weights({shown}), or save whole models with "
                             f"model.save('model.netfit') for load_model.")
    for name in names:
        if name != _JSON and not _ARRAY.fullmatch(name):
            raise ModelFileError(f"load_model: {shown} holds an unexpected member {name!r}; refusing it.")
    if _JSON not in names:
        raise ModelFileError(f"load_model: {shown} is a zip file but not a netfit model (no {_JSON}).")
    size = archive.getinfo(_JSON).file_size
    if size > MAX_JSON_BYTES:
        raise ModelFileError(f"load_model: {shown}: expected {_JSON} of at most {MAX_JSON_BYTES:,} bytes, got "
                             f"{size:,}; refusing it before reading it.")
    return names


def _check_listed(listed, names, shown):
    """The array names netfit.json lists: valid, each once, and exactly the array members of the zip."""
    for name in listed:
        if not isinstance(name, str) or not _ARRAY.fullmatch(f"arrays/{name}.npy"):
            raise ModelFileError(f"load_model: {shown} lists an invalid array name {name!r}.")
    if len(set(listed)) != len(listed):
        raise ModelFileError(f"load_model: {shown} lists an array twice; refusing it.")
    members = {_ARRAY.fullmatch(name).group(1) for name in names if name != _JSON}
    missing, unlisted = sorted(set(listed) - members), sorted(members - set(listed))
    if missing:
        raise ModelFileError(f"load_model: {shown} is missing the array {missing[0]!r}.")
    if unlisted:
        raise ModelFileError(f"load_model: {shown} holds an array it does not list ({unlisted[0]!r}); refusing it.")
    return set(listed)


def _build(archive, meta, compile, listed, shown, max_bytes):
    """(model, {array name: (label, checked header)}): the model built and compiled from the config, each
    array it needs compared with its header, the sizes with ``max_bytes``; no array data read yet."""
    config = meta["model_config"]
    dtype = config.get("dtype", "float32")
    if dtype not in ("float32", "float64"):
        raise ModelFileError(f"load_model: {shown}: expected model dtype float32 or float64, got {dtype!r}.")
    if "build_config" in config:                 # a keras.Model subclass: made and built by its own code
        graph = subclassed_from_config(config, "model_config", dtype)
        layers, input_shape = [graph], None
    elif "input_layers" in config:               # a graph model: made without its weights laid out
        graph = graph_model_from_config(config, where="model_config", build=False)
        layers, input_shape = graph._weight_order(), None
    else:
        layers, input_shape = sequential_from_config(config, where="model_config")
        shape = input_shape
        for layer in layers:                     # build() declares each layer's weights without allocating
            shape = layer._build(shape)
    wanted = {}
    for owner, spec in _declared(layers):
        wanted[f"weight_{len(wanted)}"] = (f"{spec.name} of layer {owner!r}", spec.shape, np.dtype(dtype))
    _check_total(wanted, max_bytes, shown, "its layers' weights")
    extra = sorted(name for name in listed if name.startswith("weight_") and name not in wanted)
    if extra:
        raise ModelFileError(f"load_model: {shown} holds more weight arrays ({extra[0]!r}) than the "
                             f"{len(wanted)} weights its layers declare.")
    expected = {name: _expect(archive, name, want, listed, shown) for name, want in wanted.items()}
    if input_shape is None:
        model = graph
        if not model.built:
            model.build()
    else:
        model = Sequential(layers, name=str(config.get("name", "sequential")), seed=config.get("seed"), dtype=dtype)
        model.build(input_shape)
    compile_config = meta.get("compile_config")
    optimizer_state = sorted(name for name in listed if name.startswith("opt_"))
    if compile and compile_config:
        loss = compile_config["loss"]
        if isinstance(loss, dict) and "class_name" in loss:     # one loss with options (losses.serialize), not a
            loss = losses.get(loss)                             # dict by output name
        model.compile(optimizer=optimizers.get(compile_config["optimizer"]), loss=loss,
                      metrics=compile_config["metrics"], loss_weights=compile_config.get("loss_weights"))
        state = {}
        for key, value in model.optimizer.get_state().items():
            value = np.asarray(backend.to_host(value))
            state[f"opt_{key}"] = (f"optimizer state {key!r}", value.shape, value.dtype)
        stray = sorted(set(optimizer_state) - set(state))
        if stray:
            raise ModelFileError(f"load_model: {shown} holds optimizer state {stray[0][4:]!r} that "
                                 f"{type(model.optimizer).__name__} does not keep.")
        _check_total({**wanted, **state}, max_bytes, shown, "its weights and optimizer state")
        expected.update({name: _expect(archive, name, want, listed, shown) for name, want in state.items()})
    elif optimizer_state and not compile_config:
        raise ModelFileError(f"load_model: {shown} holds optimizer state ({optimizer_state[0]!r}) but no optimizer.")
    unknown = sorted(listed - set(wanted) - set(optimizer_state))
    if unknown:
        raise ModelFileError(f"load_model: {shown} holds an array {unknown[0]!r} that is neither a weight nor "
                             f"optimizer state.")
    return model, expected


def _declared(layers):
    """(layer name, weight spec) of every weight, in ``get_weights()`` order: a nested model's layers in its own."""
    for layer in layers:
        inner = getattr(layer, "_weight_order", None)
        if inner is not None:
            yield from _declared(inner())
        else:
            yield from ((layer.name, spec) for spec in layer.specs)


def _expect(archive, name, want, listed, shown):
    """(label, header) of array ``name`` after comparing its header with ``want`` = (label, shape, dtype)."""
    label, shape, dtype = want
    if name not in listed:
        raise ModelFileError(f"load_model: {shown} is missing the array {name!r} ({label}).")
    header = npy_header(archive, f"arrays/{name}.npy", shown, _WHERE)
    if header.shape != tuple(shape) or not same_dtype(header.dtype, dtype):
        raise ModelFileError(f"load_model: {shown}: expected array {name!r} ({label}) as {dtype} of shape "
                             f"{tuple(shape)}, as the model's config declares, got {header.describe()}; "
                             f"refusing the file before reading its data.")
    return label, header


def _check_total(wanted, max_bytes, shown, what):
    """Refuse arrays of more than ``max_bytes`` together, from their declared shapes (nothing allocated)."""
    total = sum(math.prod(shape) * np.dtype(dtype).itemsize for _, shape, dtype in wanted.values())
    if max_bytes is not None and total > max_bytes:
        raise ModelFileError(f"load_model: {shown}: expected at most {max_bytes:,} bytes of arrays (max_bytes), "
                             f"got a model whose config declares {total:,} bytes for {what}; refusing it before "
                             f"reading them. If you trust the file, pass load_model(..., max_bytes={total}).")


def _check_meta(meta, shown):
    check_format(meta, FORMAT_NAME, FORMAT_VERSION, shown, _WHERE)
    kinds = {"model_config": dict, "arrays": list, "history": dict, "epoch": int, "metadata": dict}
    for key, kind in kinds.items():
        if not isinstance(meta.get(key), kind) or isinstance(meta.get(key), bool):
            raise ModelFileError(f"load_model: {shown} has a malformed {_JSON}: expected {key!r} "
                                 f"a {kind.__name__}, got {type(meta.get(key)).__name__}.")
    if not isinstance(meta.get("compile_config"), (dict, type(None))):
        raise ModelFileError(f"load_model: {shown} has a malformed compile_config.")
    return meta


def _restore_history(model, meta, shown):
    hist = meta["history"]
    logs, epochs = hist.get("history", {}), hist.get("epoch", [])
    if not (isinstance(logs, dict) and all(isinstance(v, list) for v in logs.values())
            and isinstance(epochs, list) and all(isinstance(e, int) for e in epochs)):
        raise ModelFileError(f"load_model: {shown} has a malformed training history.")
    model.history.history, model.history.epoch = logs, epochs
    model.epochs_trained = meta["epoch"]
    model.metadata = meta["metadata"]
