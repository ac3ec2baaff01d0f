"""Keras 3's own ``.keras`` files, written and read: ``model.save("m.keras")``, ``load_model("m.keras")``.

A ``.keras`` file is a zip of three members (keras/src/saving/saving_lib.py)::

    config.json        the model: Keras's serialized Sequential or Functional, compile_config
    metadata.json      {"keras_version": ..., "date_saved": ...}
    model.weights.h5   HDF5: each layer's variables at <group>/vars/0, /1, ...

The config is translated by :mod:`netfit.keras_config` (layers) and
:mod:`netfit.keras_compile` (optimizer, loss, metrics); the groups and the order of
``model.layers`` are :mod:`netfit.keras_layout`'s. netfit keeps Keras's weight
layouts (Dense kernel (n_in, units), Conv2D (kh, kw, c_in, filters), BatchNormalization
gamma, beta, moving mean, moving variance), so each layer's weights are written as they
are; a Normalization's mean and variance are in the config (Keras: variables of an
adapted layer).

The HDF5 part needs h5py: ``pip install 'netfit[keras-files]'``. Nothing in a file is
run: the JSON is read with ``json``, classes looked up in netfit's own tables
(Lambda layers, custom classes and functions are refused by name), and the HDF5 file
is opened in memory, each dataset's shape and dtype compared with what the model's
layers declare, links and external or virtual datasets refused, and the sizes summed
against ``max_bytes``, before a byte of weights is read. A class or option one
library lacks is refused by name before anything is written or built.
"""
import datetime
import io
import json
import math
import os
import warnings
import zipfile

import numpy as np

from . import keras_compile, keras_config, keras_layout
from .layers import custom
from .ops.custom import resolve as resolve_custom
from ._version import __version__
from .files import WEIGHTS_H5_SUFFIX, atomic_write, check_not_folder, check_path, require_h5py
from .saving import MAX_JSON_BYTES, ModelFileError, save_model

CONFIG_MEMBER, METADATA_MEMBER, WEIGHTS_MEMBER = "config.json", "metadata.json", "model.weights.h5"
_H5_OVERHEAD = 16 << 20          # model.weights.h5's groups and headers, beyond its arrays' bytes


def _h5py(where):
    return require_h5py(where)


def is_keras_archive(archive):
    """True for a zip holding Keras's config.json and no netfit.json."""
    names = set(archive.namelist())
    return CONFIG_MEMBER in names and "netfit.json" not in names


# -- writing ------------------------------------------------------------------------------------------------
def is_keras_name(path):
    """True for a path ending in ``.keras`` (any case): Keras 3's file rather than netfit's."""
    return isinstance(path, (str, os.PathLike)) and str(os.fspath(path)).lower().endswith(".keras")


def save_model_file(model, path, epoch=None):
    """``model.save``'s file: Keras 3's for a name ending in ``.keras`` (:func:`save_keras`), else netfit's
    (:func:`netfit.saving.save_model`, which refuses other names with the one to use)."""
    if is_keras_name(path):
        save_keras(model, path)
    else:
        save_model(model, path, epoch=epoch)


def save_keras(model, path):
    """Write ``model`` to ``path`` as Keras 3's ``.keras`` file, atomically; Keras's ``load_model`` reads it.

    The architecture and weights always; the compile config (optimizer, loss, metrics)
    where Keras has the same (:mod:`netfit.keras_compile`), else the file is written
    uncompiled and a warning says why. Not written: the optimizer's state, the history,
    ``epochs_trained`` and ``metadata`` (a ``.netfit`` file keeps them all).

    Raises
    ------
    ValueError
        A layer, activation or option Keras 3 lacks (LocallyConnected2D, Conv2D(connections=),
        ...), named, before anything is written.
    ImportError
        h5py is not installed.
    """
    where = "save"
    path = check_path(path, where)
    check_not_folder(path, where)
    model._ensure_built()
    top = keras_config.to_keras(model._file_config(), _tensor_shapes(model, {}))
    if model.compiled:
        compiled, why = keras_compile.compile_to_keras(model._compile_config())
        if compiled is None:
            warnings.warn(f"save({path!r}): the .keras file is written uncompiled: {why}; compile the model "
                          f"again after keras.saving.load_model.", stacklevel=3)
        else:
            top["compile_config"] = compiled
    buffer = _weights_h5(model, top, where)
    config = json.dumps(top)
    metadata = json.dumps({"keras_version": keras_config.KERAS_VERSION, "netfit_version": __version__,
                           "date_saved": datetime.datetime.now().strftime("%Y-%m-%d@%H:%M:%S")})

    def write(handle):
        with zipfile.ZipFile(handle, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            archive.writestr(METADATA_MEMBER, metadata)
            archive.writestr(CONFIG_MEMBER, config)
            archive.writestr(WEIGHTS_MEMBER, buffer.getvalue())
    atomic_write(path, write, where)


def _weights_h5(model, top, where, weights_only=False):
    """Keras's ``model.weights.h5`` of ``model`` (whose Keras config is ``top``), in a BytesIO: each layer's
    weights at its group's vars/0, /1, ... (an adapted Normalization's statistics are in its config)."""
    groups = []
    for group, name, layer, own in _slots(model, top):
        kind = type(layer).__name__
        if kind == "Normalization" and getattr(layer, "mean", None) is None and not weights_only:
            raise ValueError(f"{where}: layer {name!r} (Normalization) is not adapted; call its adapt(x) or "
                             f"give mean= and variance= before saving a .keras file.")
        weights = [] if kind == "Normalization" else \
            [np.array(layer.params[spec.name]) for spec in layer._own_specs] if own else layer.get_weights()
        groups.append((group, name, weights))
    h5py = _h5py(where)                               # after every refusal by name: those need no h5py
    buffer = io.BytesIO()
    with h5py.File(buffer, "w") as h5:
        h5.create_group("vars").attrs["name"] = model.name
        for group, name, weights in groups:
            made = h5.require_group(f"{group}/vars" if group else "vars")
            if group and name is not None:
                made.attrs["name"] = name
            for k, value in enumerate(weights):
                made.create_dataset(str(k), data=np.ascontiguousarray(value))
    return buffer


# -- the weights alone: Keras 3's NAME.weights.h5 ----------------------------------------------------------
def is_weights_h5_name(path):
    """True for a path ending in ``.weights.h5`` (any case): Keras 3's weights file rather than netfit's."""
    return isinstance(path, (str, os.PathLike)) and str(os.fspath(path)).lower().endswith(WEIGHTS_H5_SUFFIX)


def save_weights_h5(model, path, where="save_weights"):
    """Write ``model``'s weights as Keras 3's ``NAME.weights.h5``, atomically; Keras's ``load_weights`` reads it.

    The file is the ``model.weights.h5`` member of a ``.keras`` file (:func:`save_keras`), on its
    own: the same groups and variables, so a Keras model of the same architecture reads it, and
    :func:`load_weights_h5` a netfit one. A layer Keras 3 lacks is refused by name, before writing.
    """
    path = check_path(path, where)
    check_not_folder(path, where)
    model._ensure_built()
    top = keras_config.to_keras(model._file_config(), _tensor_shapes(model, {}))
    buffer = _weights_h5(model, top, where, weights_only=True)
    atomic_write(path, lambda handle: handle.write(buffer.getvalue()), where)


def load_weights_h5(model, path, where="load_weights", max_bytes=None):
    """Read Keras 3's ``NAME.weights.h5`` (Keras's ``save_weights`` or :func:`save_weights_h5`) into ``model``.

    The file's groups are matched with the model's layers as Keras matches them (the layer
    order of :mod:`netfit.keras_layout`); every layer's variable count, shape and dtype is
    compared, and links and external datasets refused, before any weight changes. An
    adapted Keras Normalization's mean and variance (its three variables) are read into
    netfit's Normalization.

    Raises
    ------
    ModelFileError
        Not an HDF5 file, another architecture (the layer, its group and what differs named),
        or NaN weights; the model's weights are unchanged.
    FileNotFoundError, IsADirectoryError
        No file at ``path``, or a folder.
    """
    path = check_path(path, where)
    check_not_folder(path, where)
    if not os.path.exists(path):
        raise FileNotFoundError(f"{where}: no file at {path!r}; check the path (model.save_weights writes one).")
    h5py = _h5py(where)
    model._ensure_built()
    top = keras_config.to_keras(model._file_config(), _tensor_shapes(model, {}))
    shown = repr(os.path.basename(path))
    try:
        h5 = h5py.File(path, "r")
    except OSError as exc:
        raise ModelFileError(f"{where}: {shown} is not an HDF5 weights file ({exc}); expected a file written by "
                             f"save_weights.") from None
    with h5:
        paths = [] if getattr(model, "_subclassed", False) else keras_layout.layer_paths(top)
        stats = []
        for group, chain, kind, _ in paths:
            if kind == "Normalization" and _group(h5, f"{group}/vars", shown, where, h5py) is not None \
                    and len(h5[f"{group}/vars"].keys()):
                _, (mean, variance, _) = _variables(h5, group, 3, shown, where)
                stats.append((_find(model, chain), np.asarray(mean), np.asarray(variance)))
        kept = [(layer, layer.mean, layer.variance) for layer, _, _ in stats]
        try:
            for layer, mean, variance in stats:
                layer._set_stats(mean, variance, f"{where}({shown}) of Normalization {layer.name!r}")
            _read_weights(h5, top, model, shown, where, max_bytes)
        except Exception:
            for layer, mean, variance in kept:           # a refused file leaves the model as it was
                layer.mean, layer.variance, layer._cast = mean, variance, {}
            raise


def _tensor_shapes(model, found):
    """{model name: {(layer, call, output): ([None, *shape], dtype)}} of ``model``'s graph and its nested models'."""
    graph = getattr(model, "_graph", None)
    if graph is not None:
        table = found.setdefault(model.name, {})
        for t in model.inputs:
            table[(t.node.layer.name, 0, t.index)] = ([None, *t.example_shape], t.dtype)
        calls = {}
        for node in graph.nodes:
            k = calls[id(node.layer)] = calls.get(id(node.layer), -1) + 1
            for t in node.outputs:
                table[(node.layer.name, k, t.index)] = ([None, *t.example_shape], t.dtype)
    for layer in getattr(model, "layers", ()):
        if hasattr(layer, "layers"):
            _tensor_shapes(layer, found)
    return found


def _slots(model, top):
    """``[(h5 group, name, layer, own)]``: where each layer's variables go, in Keras's layout.

    A built-in layer: all its weights at its group (own False). A layer of your own
    (:mod:`netfit.layers.custom`): its ``add_weight`` variables at its group (own True), each
    tracked sublayer at ``<group>/<attribute>`` (a list's: ``<attribute>/<snake class>``), as
    Keras's ``_save_state`` walks a layer's attributes. A keras.Model subclass: its own
    variables at ``vars``, its layers at ``<attribute>``.
    """
    if getattr(model, "_subclassed", False):
        body = next(layer for layer in model.layers if custom.is_custom(layer))
        return _custom_slots(body, model, "")
    out = []
    for group, chain, _, _ in keras_layout.layer_paths(top):
        layer = _find(model, chain)
        out += _custom_slots(layer, layer, group) if custom.is_custom(layer) else [(group, chain[-1], layer, False)]
    return out


def _custom_slots(layer, host, group):
    out = [(group or "", layer.name if host is layer else None, layer, True)]
    paths = _attribute_paths(host)
    for sub, _, _ in layer._sub_parts:
        path = f"{group}/{paths[id(sub)]}" if group else paths[id(sub)]
        out += _custom_slots(sub, sub._custom_host(), path) if custom.is_custom(sub) else [(path, None, sub, False)]
    return out


def _attribute_paths(host):
    """{id(sublayer): its path under ``host``}: the attribute's name, a list's item by its snake-cased class."""
    found = {}
    for attr, value in vars(host).items():
        if attr.startswith("_"):
            continue
        if isinstance(value, dict):
            value = list(value.values())
        if isinstance(value, (list, tuple)):
            used = {}
            for item in value:
                if hasattr(item, "specs") and id(item) not in found:
                    base = keras_layout.snake_case(type(item).__name__)
                    used[base] = used.get(base, -1) + 1
                    found[id(item)] = f"{attr}/{base}" + (f"_{used[base]}" if used[base] else "")
        elif hasattr(value, "specs") and hasattr(value, "new_call") and id(value) not in found:
            found[id(value)] = attr
    return found


def _find(model, chain):
    """The layer that ``chain`` (outer model's layer name, ..., the layer's) names."""
    layer = model
    for name in chain:
        layer = {sub.name: sub for sub in layer.layers}[name]
    return layer


# -- reading ------------------------------------------------------------------------------------------------
def load_keras(archive, shown, build, compile, max_bytes, where="load_model"):
    """The model in the open ``.keras`` ``archive``; ``build(config)`` makes an unbuilt-weights netfit model.

    ``build`` is netfit's model maker for a translated config (given by :mod:`netfit.io`,
    above this module). Warnings say what was not carried: a compile config netfit
    cannot honour (the model is then uncompiled), initializers netfit lacks (netfit's
    defaults, the weights being read from the file), the optimizer's state.
    """
    names = archive.namelist()
    unknown = sorted(set(names) - {CONFIG_MEMBER, METADATA_MEMBER, WEIGHTS_MEMBER})
    if unknown:
        raise ModelFileError(f"{where}: {shown} holds {unknown[0]!r}; netfit reads .keras files of config.json, "
                             f"metadata.json and model.weights.h5 only (no assets, no .npz weights).")
    if WEIGHTS_MEMBER not in names:
        raise ModelFileError(f"{where}: {shown} is a .keras file without {WEIGHTS_MEMBER}.")
    top = _json(archive, CONFIG_MEMBER, shown, where)
    metadata = _json(archive, METADATA_MEMBER, shown, where) if METADATA_MEMBER in names else {}
    try:
        config, dropped = keras_config.from_keras(top)
    except ValueError as exc:
        raise ModelFileError(f"{where}: {shown}: {exc}") from None
    size = archive.getinfo(WEIGHTS_MEMBER).file_size
    if max_bytes is not None and size > max_bytes + _H5_OVERHEAD:
        raise ModelFileError(f"{where}: {shown}: expected at most {max_bytes:,} bytes of weights (max_bytes), got a "
                             f"{size:,}-byte {WEIGHTS_MEMBER}; refusing it before reading it. If you trust the file, "
                             f"pass load_model(..., max_bytes=None).")
    h5py = _h5py(where)
    with h5py.File(io.BytesIO(archive.read(WEIGHTS_MEMBER)), "r") as h5:
        paths = keras_layout.layer_paths(top) if "layers" in top.get("config", {}) and \
            top.get("class_name") in ("Sequential", "Functional", "Model") else []
        _normalization_stats(h5, paths, config, shown, where)
        try:
            model = build(config)
        except (ValueError, TypeError) as exc:
            raise ModelFileError(f"{where}: {shown}: {exc}") from None
        _read_weights(h5, top, model, shown, where, max_bytes)
        state = _optimizer_state(h5)
    if dropped:
        warnings.warn(f"{where}({shown}): netfit lacks these initializers and uses its defaults (the weights are "
                      f"the file's): {'; '.join(dropped)}.", stacklevel=4)
    if compile and top.get("compile_config"):
        kwargs, why = keras_compile.compile_from_keras(top["compile_config"])
        if kwargs is not None:
            try:                                    # losses and metrics of your own: given, in scope, registered
                kwargs = resolve_custom(kwargs, None, where)
                model.compile(**kwargs)
            except (ValueError, TypeError) as exc:
                kwargs, why = None, str(exc)
        if kwargs is None:
            warnings.warn(f"{where}({shown}): the model is loaded uncompiled: {why}; call model.compile(...).",
                          stacklevel=4)
        elif state:
            warnings.warn(f"{where}({shown}): the optimizer's state in the file is not read; fit goes on from "
                          f"fresh moments (a .netfit file keeps them).", stacklevel=4)
    model.metadata = {"keras": {k: v for k, v in metadata.items() if isinstance(v, (str, int, float))}}
    return model


def _json(archive, member, shown, where):
    size = archive.getinfo(member).file_size
    if size > MAX_JSON_BYTES:
        raise ModelFileError(f"{where}: {shown}: expected {member} of at most {MAX_JSON_BYTES:,} bytes, got "
                             f"{size:,}; refusing it before reading it.")
    try:
        value = json.loads(archive.read(member))
    except ValueError as exc:
        raise ModelFileError(f"{where}: {shown} has an unreadable {member} ({exc}).") from None
    if not isinstance(value, dict):
        raise ModelFileError(f"{where}: {shown}: expected {member} a JSON object, got {type(value).__name__}.")
    return value


def _group(h5, path, shown, where, h5py):
    """The h5 group at ``path``, refusing soft and external links (as Keras's safe_get_h5_group), or None."""
    node = h5
    for part in path.split("/"):
        if part not in node:
            return None
        link = node.get(part, getlink=True)
        if not isinstance(link, h5py.HardLink):
            raise ModelFileError(f"{where}: {shown}: {WEIGHTS_MEMBER} links {path!r} elsewhere "
                                 f"({type(link).__name__}); refusing it.")
        node = node[part]
    return node


def _variables(h5, group, count, shown, where):
    """The datasets vars/0 .. vars/count-1 of ``group``, checked to be exactly these, in the file itself."""
    h5py = _h5py(where)
    found = _group(h5, f"{group}/vars" if group else "vars", shown, where, h5py)
    keys = sorted(found.keys()) if found is not None else []
    if keys != sorted(str(k) for k in range(count)):
        raise ModelFileError(f"{where}: {shown}: expected {count} variables in {group}/vars of {WEIGHTS_MEMBER}, "
                             f"got {keys or 'none'}.")
    datasets = []
    for k in range(count):
        link = found.get(str(k), getlink=True)
        data = found[str(k)] if isinstance(link, h5py.HardLink) else None
        if not isinstance(data, h5py.Dataset) or data.external or data.is_virtual:
            raise ModelFileError(f"{where}: {shown}: expected {group}/vars/{k} an array stored in the file, got "
                                 f"a link, a group or an external or virtual dataset; refusing it.")
        datasets.append(data)
    return found, datasets


def _normalization_stats(h5, paths, config, shown, where):
    """An adapted Keras Normalization keeps mean, variance (and count) as variables; netfit in its config."""
    for group, chain, kind, layer_config in paths:
        if kind != "Normalization" or layer_config.get("mean") is not None:
            continue
        _, (mean, variance, _) = _variables(h5, group, 3, shown, where)
        if mean.shape != variance.shape or mean.size > 1 << 24 or mean.dtype.kind != "f":
            raise ModelFileError(f"{where}: {shown}: expected Normalization {chain[-1]!r}'s mean and variance "
                                 f"as float arrays of one shape, got {mean.shape} and {variance.shape}.")
        entry = _entry(config, chain)
        entry["mean"], entry["variance"] = np.asarray(mean).tolist(), np.asarray(variance).tolist()


def _entry(config, chain):
    """The netfit config dict of the layer that ``chain`` names in netfit's (translated) model config."""
    for name in chain:
        entries = config["layers"]
        found = [e for e in entries if (e.get("name") or e.get("config", {}).get("name")) == name][0]
        config = found["config"]
    return config


def _read_weights(h5, top, model, shown, where, max_bytes):
    plan, total = [], 0
    for group, label, layer, own in _slots(model, top):
        if type(layer).__name__ == "Normalization":     # its statistics are in its config (_normalization_stats)
            continue
        specs = list(layer._own_specs) if own else [_Shape(w.shape, f"weight {k}") for k, w in
                                                    enumerate(layer.weights)] if not layer.specs else list(layer.specs)
        found, datasets = _variables(h5, group, len(specs), shown, where)
        name = found.attrs.get("name") if found is not None and group else None
        if isinstance(name, bytes):
            name = name.decode("utf-8", "replace")
        if name is not None and label is not None and name != label:
            raise ModelFileError(f"{where}: {shown}: expected the weights of layer {label!r} in {group}, got "
                                 f"those of layer {name!r}; the file's layer order is not Keras's.")
        for spec, data in zip(specs, datasets):
            if tuple(data.shape) != tuple(spec.shape) or data.dtype.kind != "f":
                raise ModelFileError(f"{where}: {shown}: expected {spec.name} of layer {label!r} as floats of "
                                     f"shape {tuple(spec.shape)}, got {data.dtype} of shape {data.shape} in "
                                     f"{group}; refusing the file before reading its weights.")
            total += math.prod(data.shape) * data.dtype.itemsize
        plan.append((layer, datasets, [spec.name for spec in specs] if own else None))
    if max_bytes is not None and total > max_bytes:
        raise ModelFileError(f"{where}: {shown}: expected at most {max_bytes:,} bytes of weights (max_bytes), got "
                             f"{total:,}; refusing them before reading. If you trust the file, pass "
                             f"load_model(..., max_bytes={total}).")
    read = []
    for layer, datasets, own in plan:                  # every array read and checked before any is set
        values = [np.asarray(data[()], dtype=model.dtype) for data in datasets]
        if not all(np.isfinite(v).all() for v in values):
            raise ModelFileError(f"{where}: {shown}: layer {layer.name!r} has NaN or infinite weights.")
        read.append((layer, values, own))
    for layer, values, own in read:
        if own is not None:                            # a layer of your own: its add_weight variables
            for key, value in zip(own, values):
                layer.params[key][...] = value
        elif values:
            layer.set_weights(values)


class _Shape:
    """A weight's shape and label, for a layer whose weights are not listed by spec (a nested model)."""

    def __init__(self, shape, name):
        self.shape, self.name = shape, name


def _optimizer_state(h5):
    """True when the file keeps an optimizer's slots (more than Keras's iterations and learning rate)."""
    group = h5.get("optimizer/vars", getlink=False) if "optimizer" in h5 else None
    return group is not None and len(group.keys()) > 2
