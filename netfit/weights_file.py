"""The weights alone, in a ``NAME.weights.npz`` file: Keras's ``save_weights`` / ``load_weights``.

Keras 3 writes weights to ``NAME.weights.h5``, an HDF5 file (h5py, which netfit
does not depend on); netfit writes NumPy's own ``.npz`` (a zip of ``.npy``
arrays), which ``np.load`` opens without netfit::

    manifest     a 0-d str array: JSON with the format name and version, the
                 netfit version, the model's dtype and input shape, and for each
                 layer its name, class and weights (name and shape)
    weight_<k>   the k-th array of model.get_weights(), in the model's dtype

Only the weights: the architecture is ``model.to_json()``'s, and the optimizer
state and history are in the ``.netfit`` file of ``model.save``. The write is
atomic (:func:`netfit.files.atomic_write`); the read uses numpy's .npy reader
with ``allow_pickle=False`` (nothing in the file is executed) and compares
every layer, weight shape and dtype with the model before any weight is
changed. Keras's ``load_weights(skip_mismatch=True)`` is not offered: a
mismatch is always refused, with what differs. Nothing is read that the model
does not need: the manifest is read within :data:`netfit.saving.MAX_JSON_BYTES`,
compared with the model, and only then each array's header with the model's
weight (shape and dtype), before its data are read (:mod:`netfit.saving`).
"""
import json
import os

import numpy as np

from ._version import __version__
from .files import WEIGHTS_SUFFIX, atomic_write, check_not_folder, check_path, check_suffix, renamed
from .saving import MAX_JSON_BYTES, ModelFileError, check_format, npy_header, read_npy, read_zip, same_dtype

SUFFIX = WEIGHTS_SUFFIX
FORMAT_NAME = "netfit-weights"
FORMAT_VERSION = 1
_MANIFEST = "manifest"
MANIFEST_MEMBER = _MANIFEST + ".npy"      # its name inside the zip (np.savez adds .npy): what marks a weights file


def save_weights(model, path, overwrite=True):
    """Write ``model.get_weights()`` and a manifest of the layers to ``path`` (``NAME.weights.npz``), atomically.

    Parameters
    ----------
    model : Sequential
        Built here if it is not yet (its input shape must be known).
    path : str or os.PathLike
        Must end in ``.weights.npz`` (Keras 3 requires ``.weights.h5``).
    overwrite : bool
        False refuses an existing file (Keras asks at a prompt; netfit never prompts).

    Raises
    ------
    ValueError
        A name without ``.weights.npz`` (Keras's ``.weights.h5`` included), with the name to use.
    FileExistsError
        ``overwrite=False`` and ``path`` exists.
    OSError
        The folder cannot be written; any previous file at ``path`` is unchanged.

    Examples
    --------
    >>> import netfit as nf, numpy as np, os, tempfile
    >>> from netfit.layers import Dense
    >>> model = nf.Sequential([Dense(2, input_shape=(3,))], seed=0)
    >>> path = os.path.join(tempfile.mkdtemp(), "m.weights.npz")
    >>> model.save_weights(path)
    >>> sorted(np.load(path).files)
    ['manifest', 'weight_0', 'weight_1']
    >>> fresh = nf.Sequential([Dense(2, input_shape=(3,))], seed=1)
    >>> fresh.load_weights(path)
    >>> all((a == b).all() for a, b in zip(fresh.get_weights(), model.get_weights()))
    True
    """
    where = "Sequential.save_weights"
    path = _check_name(path, where)
    if not isinstance(overwrite, (bool, np.bool_)):
        raise TypeError(f"{where}: expected overwrite True or False, got {overwrite!r}.")
    if not overwrite and os.path.exists(path):
        raise FileExistsError(f"{where}: {path!r} exists and overwrite=False; pass overwrite=True to replace it.")
    model._ensure_built()
    weights = model.get_weights()
    manifest = {"format": FORMAT_NAME, "format_version": FORMAT_VERSION, "netfit_version": __version__,
                "dtype": model.dtype.name, "input_shape": list(model.layers[0].input_shape),
                "layers": _describe(model)}
    arrays = {_MANIFEST: np.array(json.dumps(manifest))}
    arrays.update({f"weight_{k}": np.ascontiguousarray(w) for k, w in enumerate(weights)})
    atomic_write(path, lambda handle: np.savez(handle, **arrays), where)


def load_weights(model, path):
    """Copy the weights of a ``.weights.npz`` file into ``model``; refuse any mismatch before changing a weight.

    The file must describe the same stack: as many layers, each with the same
    name, class and weight shapes, in the model's dtype. Keras matches a weights
    file by the model's structure too; it has no name check, and offers
    ``skip_mismatch``, which netfit does not.

    Raises
    ------
    ValueError
        A name without ``.weights.npz``; another architecture or dtype
        ("expected ..., got ..." and the fix: when only the layer names differ, the
        names to give and the ``np.load`` / ``set_weights`` lines that copy the arrays
        anyway). The weights are then unchanged.
    FileNotFoundError, IsADirectoryError
        No file at ``path``, or a folder.
    ModelFileError
        Not a netfit weights file, damaged, or of a newer format version.
    """
    where = "Sequential.load_weights"
    path = _check_name(path, where)
    manifest = read_zip(path, lambda archive: _read_manifest(archive, path, where), where, "weights")
    if not model.built and model.layers and model.layers[0].input_shape is None:
        shape = tuple(manifest["input_shape"])
        raise ValueError(f"{where}: the model is not built and its input shape is unknown; the file was saved "
                         f"from a model with input shape {shape}: call model.build({shape}) first.")
    model._ensure_built()
    _compare(model, manifest, path, where)
    # The manifest matches the model: read the arrays the model's weights take, and nothing larger.
    arrays = read_zip(path, lambda archive: _read_arrays(archive, model, path, where), where, "weights")
    model.set_weights(arrays)            # checks every array (shape, finite) before copying any


def _check_name(path, where):
    path = check_path(path, where)
    check_not_folder(path, where)
    if path.lower().endswith((".h5", ".hdf5", ".keras")):
        raise ValueError(f"{where}: expected a {SUFFIX} path (netfit's, NumPy's .npz) or a .weights.h5 path "
                         f"(Keras 3's, needs h5py), got {path!r}; Keras 2's HDF5 names and whole-model .keras "
                         f"files are not weights files; use {renamed(path, SUFFIX)!r} or "
                         f"{renamed(path, '.weights.h5')!r}.")
    if path.lower().endswith(".netfit"):
        raise ValueError(f"{where}: expected a {SUFFIX} path, got {path!r}, a whole-model file name; use "
                         f"model.save / nf.load_model for .netfit files, or {renamed(path, SUFFIX)!r} for the "
                         f"weights alone.")
    check_suffix(path, SUFFIX, where)
    return path


def _describe(model):
    """Per layer: name, class and its weights' names and shapes (what load_weights compares)."""
    return [{"name": layer.name, "class_name": type(layer).__name__,
             "weights": [[spec.name, list(spec.shape)] for spec in layer.specs]} for layer in model.layers]


def _read_manifest(archive, path, where):
    """The manifest, after checking the member names against it; no weight is read."""
    names = archive.namelist()
    if MANIFEST_MEMBER not in names:
        raise ModelFileError(f"{where}: {path!r} is a zip file but not a netfit weights file (no manifest); "
                             f"read plain .npz arrays with np.load and model.set_weights.")
    header = npy_header(archive, MANIFEST_MEMBER, repr(path), where)
    if header.dtype.kind != "U" or header.shape != () or header.nbytes > 4 * MAX_JSON_BYTES:
        raise ModelFileError(f"{where}: {path!r} has a malformed manifest (expected a string of at most "
                             f"{MAX_JSON_BYTES:,} characters, got {header.describe()}).")
    manifest = json.loads(str(read_npy(archive, MANIFEST_MEMBER, header, repr(path), where)))
    _check_manifest(manifest, path, where)
    count = sum(len(layer["weights"]) for layer in manifest["layers"])
    expected = [MANIFEST_MEMBER] + [f"weight_{k}.npy" for k in range(count)]
    if sorted(names) != sorted(expected):
        odd = sorted(name.removesuffix(".npy") for name in set(names) ^ set(expected)) or ["a member twice"]
        raise ModelFileError(f"{where}: {path!r} does not hold the arrays its manifest lists "
                             f"(extra or missing: {', '.join(odd[:5])}).")
    return manifest


def _read_arrays(archive, model, path, where):
    """The weights, each header compared with the model's weight before its data are read."""
    arrays = []
    for k, (want, dtype) in enumerate((w.shape, w.dtype) for w in model.weights):
        member = f"weight_{k}.npy"
        header = npy_header(archive, member, repr(path), where)
        if header.shape != tuple(want) or not same_dtype(header.dtype, dtype):
            raise ModelFileError(f"{where}: {path!r}: weight_{k} should be a {dtype} array of shape {tuple(want)} "
                                 f"(its manifest says), got {header.dtype} of shape {header.shape}; refusing the "
                                 f"file before reading its data.")
        w = read_npy(archive, member, header, repr(path), where)
        if not np.isfinite(w).all():
            raise ModelFileError(f"{where}: {path!r}: weight_{k} holds NaN or infinite values; refusing it.")
        arrays.append(w)
    return arrays


def _check_manifest(manifest, path, where):
    check_format(manifest, FORMAT_NAME, FORMAT_VERSION, repr(path), where, "weights")
    layers = manifest.get("layers")
    ok = (manifest.get("dtype") in ("float32", "float64") and isinstance(layers, list)
          and isinstance(manifest.get("input_shape"), list)
          and all(isinstance(d, int) and not isinstance(d, bool) and d > 0 for d in manifest["input_shape"])
          and all(isinstance(layer, dict) and isinstance(layer.get("name"), str)
                  and isinstance(layer.get("class_name"), str) and isinstance(layer.get("weights"), list)
                  and all(isinstance(w, list) and len(w) == 2 and isinstance(w[0], str) and isinstance(w[1], list)
                          and all(isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in w[1])
                          for w in layer["weights"])
                  for layer in layers))
    if not ok:
        raise ModelFileError(f"{where}: {path!r} has a malformed manifest.")


def _compare(model, manifest, path, where):
    """Refuse a file of another stack or dtype: "expected <the model's>, got <the file's>" and a fix that works."""
    want, got = _describe(model), manifest["layers"]
    shapes = _flat_shapes(got)
    if _flat_shapes(want) == shapes:
        # The same arrays under other layer names (or classes): they can be copied as they are.
        copy = (f"copy the arrays without the name check: arrays = np.load({path!r}); "
                f"model.set_weights([arrays[f'weight_{{k}}'] for k in range({len(shapes)})])")
        renames = [theirs for mine, theirs in zip(want, got) if mine["name"] != theirs["name"]]
        if len(want) == len(got) and renames:
            example = f"{renames[0]['class_name']}(..., name={renames[0]['name']!r})"
            fix = (f"the weight shapes match, so either give the model's layers the file's names "
                   f"({', '.join(repr(l['name']) for l in got)}, e.g. {example}), or {copy}")
        else:
            fix = f"the weight shapes match, so {copy}"
    else:
        fix = (f"build a model like the saved one (the same layers, in order, with the same names) and load it "
               f"there: saved.load_weights({path!r}); then copy the layers you want: "
               f"model.get_layer(name).set_weights(saved.get_layer(name).get_weights())")
    if len(want) != len(got):
        raise ValueError(f"{where}: expected a file of {_count(len(want), 'layer')} "
                         f"({', '.join(l['name'] for l in want)}), got {_count(len(got), 'layer')} "
                         f"({', '.join(l['name'] for l in got)}) in {path!r}; {fix}.")
    for k, (mine, theirs) in enumerate(zip(want, got)):
        if (mine["name"], mine["class_name"]) != (theirs["name"], theirs["class_name"]):
            raise ValueError(f"{where}: expected layer {k} {mine['name']!r} ({mine['class_name']}), got "
                             f"{theirs['name']!r} ({theirs['class_name']}) in {path!r}; {fix}.")
        if mine["weights"] != theirs["weights"]:
            raise ValueError(f"{where}: expected layer {k} {mine['name']!r} with {_shapes(mine['weights'])}, got "
                             f"{_shapes(theirs['weights'])} in {path!r}; {fix}.")
    if manifest["dtype"] != model.dtype.name:
        raise ValueError(f"{where}: expected {model.dtype.name} weights (the model's dtype), got "
                         f"{manifest['dtype']} in {path!r}; build the model with dtype={manifest['dtype']!r} "
                         f"(Sequential(..., dtype={manifest['dtype']!r})), or cast the arrays yourself: "
                         f"model.set_weights([w.astype({model.dtype.name!r}) for w in ...]).")


def _flat_shapes(layers):
    """The shapes of all weights, in ``get_weights()`` order, whatever the layers' names."""
    return [tuple(shape) for layer in layers for _, shape in layer["weights"]]


def _count(n, noun):
    return f"{n} {noun}" + ("" if n == 1 else "s")


def _shapes(weights):
    return ", ".join(f"{name} of shape {tuple(shape)}" for name, shape in weights) or "no weights"
