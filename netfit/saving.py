"""Write a model to a ``.netfit`` file: one zip of JSON and .npy arrays, never pickle.

Layout of a ``.netfit`` file (a plain zip archive)::

    netfit.json            format name and version, model config, compile config,
                           history, epochs trained, user metadata, array index
    arrays/weight_<k>.npy  the k-th array of model.get_weights()
    arrays/opt_<name>.npy  optimizer state (Adam's m and v, SGD's velocity, iterations)

This module writes the format and sits below :mod:`netfit.model` (so that
``model.save`` needs no import inside a function); :mod:`netfit.io` reads it
back, checks every member, and rebuilds the model. The write is atomic
(:func:`netfit.files.atomic_write`): a crash, a ``kill -9`` or a full disk
mid-save leaves the previous file intact.

The reading side that io and :mod:`netfit.weights_file` share is here too, with
its limits: :func:`read_zip` opens a netfit zip file (a path or a binary file
object) after checking the member count and the directory's size in the zip's
end record, and each member's compression and declared sizes (a zip bomb
declares more than deflate can expand) before zipfile parses or inflates
anything; :func:`npy_header` reads an array's shape and dtype from its header
alone, so a reader compares them with what it expects (and with
:data:`MAX_ARRAY_BYTES`) before :func:`read_npy` reads a byte of the data.
"""
import contextlib
import io
import json
import math
import os
import re
import struct
import zipfile
import zlib
from typing import NamedTuple

import numpy as np

from . import backend, losses, metrics as metrics_mod, optimizers
from ._version import __version__
from .files import atomic_write, check_not_folder, check_not_keras_format, check_path, check_suffix

FORMAT_NAME = "netfit-model"
FORMAT_VERSION = 1
JSON_MEMBER = "netfit.json"
ZIP_MAGIC = b"PK\x03\x04"
ARRAY_MEMBER = re.compile(r"arrays/([A-Za-z0-9_]{1,64})\.npy")

# What one file may make a reader read, each checked before the data are read (docs/reliability.md, section 5).
MAX_ARRAY_BYTES = 1 << 30       # a model file's arrays together, weights and optimizer state: 1 GiB
MAX_JSON_BYTES = 16 << 20       # netfit.json, or a weights file's manifest: 16 MiB
MAX_MEMBERS = 10_000            # members of one zip file (a model has 2 per layer, and its optimizer's state)
_ENTRY_BYTES = 256              # ... each taking at most this many bytes of the zip's directory (netfit's: < 160)
DEFLATE_MAX_RATIO = 1032        # deflate expands at most 1032-fold (a 258-byte match coded in 2 bits)


class ModelFileError(ValueError):
    """The file is not a netfit model, is damaged, or comes from an unknown format version."""


def check_format(meta, name, version, shown, where, what="model"):
    """Refuse a file's JSON ``meta`` unless it names format ``name`` at ``version`` (a newer one: "upgrade").

    ``shown`` names the file in the message (:func:`shown_name`).
    """
    if not isinstance(meta, dict) or meta.get("format") != name:
        raise ModelFileError(f"{where}: {shown} is not a netfit {what} file.")
    found = meta.get("format_version")
    if found != version:
        newer = isinstance(found, int) and found > version
        raise ModelFileError(f"{where}: {shown} has format version {found!r}; this netfit reads "
                             f"version {version}." + (" Upgrade netfit to read it." if newer else ""))


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
        compile_config = model._compile_config()
        arrays.update({f"opt_{name}": np.asarray(backend.to_host(value))
                       for name, value in model.optimizer.get_state().items()})
    history = model.history
    meta = {
        "format": FORMAT_NAME, "format_version": FORMAT_VERSION, "netfit_version": __version__,
        "model_config": model._file_config() if hasattr(model, "_file_config") else model.get_config(), "compile_config": compile_config,
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


# -- reading, for io and weights_file: limits checked before the data are read ------------------------------
def read_zip(source, read, where, what="model"):
    """Return ``read(archive)`` for the zip file ``source`` (a path or a binary file object), opened within limits.

    Before zipfile parses the directory, the zip's end record must declare at most
    :data:`MAX_MEMBERS` members; before ``read`` runs, every member must be stored or
    deflated, unencrypted, and declare no more bytes than its compressed data can
    expand to (stored: as many; deflate: :data:`DEFLATE_MAX_RATIO` times as many).
    A missing file is a FileNotFoundError; anything else wrong a :class:`ModelFileError`
    naming ``where``, the file and ``what`` ("model" or "weights"); ``read``'s own
    ModelFileErrors pass unchanged. A file object is read from its start and left open.
    """
    shown = shown_name(source)
    if is_file_object(source):
        opened = contextlib.nullcontext(source)
    else:
        try:
            opened = open(source, "rb")
        except FileNotFoundError:
            raise FileNotFoundError(f"{where}: no such file {source!r}.") from None
    with opened as handle:
        handle.seek(0)
        if handle.read(4) != ZIP_MAGIC:
            raise ModelFileError(f"{where}: {shown} is not a netfit {what} file (not a zip archive; "
                                 f"netfit never loads pickles or other formats).")
        try:
            count, directory = _declared_directory(handle)
            if count > MAX_MEMBERS or directory > count * _ENTRY_BYTES:
                raise ModelFileError(f"{where}: {shown}: expected a zip file of at most {MAX_MEMBERS:,} members "
                                     f"of at most {_ENTRY_BYTES} directory bytes each, got one whose end record "
                                     f"declares {count:,} members in {directory:,} bytes; refusing it before "
                                     f"reading them.")
            handle.seek(0)
            with zipfile.ZipFile(handle) as archive:
                if len(archive.infolist()) > MAX_MEMBERS:
                    raise ModelFileError(f"{where}: {shown}: expected at most {MAX_MEMBERS:,} members, got "
                                         f"{len(archive.infolist()):,}; refusing it.")
                for info in archive.infolist():
                    _check_member(info, shown, where)
                return read(archive)
        except ModelFileError:
            raise
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError, KeyError, RuntimeError,
                NotImplementedError, OverflowError, MemoryError, RecursionError, struct.error) as exc:
            raise ModelFileError(f"{where}: {shown} is damaged or truncated "
                                 f"({type(exc).__name__}: {exc}).") from None


def is_file_object(source):
    """True for a binary file object (``open(..., "rb")``, ``io.BytesIO``), False for a path."""
    return all(callable(getattr(source, name, None)) for name in ("read", "seek", "tell"))


def shown_name(source):
    """How errors name ``source``: a path as ``repr(path)``, a file object by its ``name`` ("the file object")."""
    if not is_file_object(source):
        return repr(os.fspath(source))
    name = getattr(source, "name", None)
    return repr(os.fspath(name)) if isinstance(name, (str, os.PathLike)) else "the file object"


_END = struct.Struct("<4s4H2LH")                  # the end record: members and directory size
_END64_LOCATOR = struct.Struct("<4sLQL")          # zip64: these two sit just before it
_END64 = struct.Struct("<4sQ2H2L4Q")


def _declared_directory(handle):
    """(members, directory bytes) as the zip's end record declares them, zip64 included, as zipfile finds it."""
    size = handle.seek(0, os.SEEK_END)
    tail_size = min(size, _END.size + (1 << 16))  # the record and a comment of at most 64 KiB, as zipfile reads
    handle.seek(size - tail_size)
    tail = handle.read(tail_size)
    at = len(tail) - _END.size
    if tail[at:at + 4] != b"PK\x05\x06" or tail[-2:] != b"\0\0":
        at = tail.rfind(b"PK\x05\x06")
    if at < 0 or at + _END.size > len(tail):
        return 0, 0                               # no end record: zipfile says the file is damaged
    *_, count, directory, _, _ = _END.unpack_from(tail, at)
    start = size - tail_size + at
    if start >= _END64_LOCATOR.size + _END64.size:
        handle.seek(start - _END64_LOCATOR.size - _END64.size)
        record = handle.read(_END64.size + _END64_LOCATOR.size)
        if record[_END64.size:_END64.size + 4] == b"PK\x06\x07" and record[:4] == b"PK\x06\x06":
            *_, count, directory, _ = _END64.unpack_from(record)
    return count, directory


def _check_member(info, shown, where):
    """Refuse a member that netfit did not write: other compression, encryption, more bytes than its data hold."""
    name = info.filename
    if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        raise ModelFileError(f"{where}: {shown}: expected members stored or deflated (as netfit and np.savez "
                             f"write them), got {name!r} compressed with method {info.compress_type}.")
    if info.flag_bits & 0x1:
        raise ModelFileError(f"{where}: {shown}: member {name!r} is encrypted; netfit never encrypts.")
    most = info.compress_size * (1 if info.compress_type == zipfile.ZIP_STORED else DEFLATE_MAX_RATIO)
    if info.file_size > most:
        raise ModelFileError(f"{where}: {shown}: member {name!r} declares {info.file_size:,} bytes from "
                             f"{info.compress_size:,} compressed, more than its data can expand to "
                             f"({most:,}): a zip bomb or a damaged file; refusing it before inflating it.")


class NpyHeader(NamedTuple):
    """What an .npy member's header declares, and where its data start."""
    shape: tuple
    dtype: np.dtype
    fortran_order: bool
    offset: int

    @property
    def nbytes(self):
        return math.prod(self.shape) * self.dtype.itemsize

    def describe(self):
        return f"{self.dtype} of shape {self.shape}"


def npy_header(archive, member, shown, where):
    """The :class:`NpyHeader` of ``member``, from its first bytes alone (version 1.0, as numpy writes arrays)."""
    with archive.open(member) as handle:
        try:
            version = np.lib.format.read_magic(handle)
            if version != (1, 0):           # 2.0 and 3.0 are for headers over 64 KiB: never netfit's
                raise ValueError(f"expected .npy format version 1.0, got {version[0]}.{version[1]}")
            shape, fortran_order, dtype = np.lib.format.read_array_header_1_0(handle)
        except ValueError as exc:          # malformed headers, dtypes numpy does not know
            raise ModelFileError(f"{where}: {shown} has an unreadable array {member!r} ({exc}).") from None
        return NpyHeader(tuple(shape), dtype, bool(fortran_order), handle.tell())


def same_dtype(got, want):
    """``got`` is ``want``, in either byte order (a file from a big-endian machine reads the same)."""
    return np.dtype(got).newbyteorder("<") == np.dtype(want).newbyteorder("<")


def read_npy(archive, member, header, shown, where):
    """The array of ``member`` whose ``header`` the caller has checked; its declared size must be the header's."""
    info = archive.getinfo(member)
    if info.file_size != header.offset + header.nbytes:
        raise ModelFileError(f"{where}: {shown}: expected member {member!r} of {header.offset + header.nbytes:,} "
                             f"bytes (its header declares {header.describe()}), got {info.file_size:,} in the "
                             f"zip's directory; the file is damaged.")
    with archive.open(info) as handle:
        return np.lib.format.read_array(handle, allow_pickle=False)
