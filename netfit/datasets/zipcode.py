"""USPS zip-code digits as published with The Elements of Statistical Learning (ESL).

7,291 training and 2,007 test images of 16x16 grey values in [-1, 1], the data of
ESL's Table 11.1 (Net-1 .. Net-5). The files are text: one image per row, the
digit followed by the 256 pixel values, row-major.
"""
import io

import numpy as np

from ._files import Checksum, DatasetSpec, FileSpec, load_payloads

__all__ = ["SPEC", "load_data", "parse_zip_text"]

SIDE = 16


def parse_zip_text(text, *, where="parse_zip_text"):
    """Parse ESL zip-code text: rows of a digit then 256 grey values.

    Parameters
    ----------
    text : bytes
        The decompressed file.
    where : str
        Name used at the start of error messages, e.g. the file name.

    Returns
    -------
    images : numpy.ndarray
        Grey values in [-1, 1] (-1 is background), float32.
    labels : numpy.ndarray
        Digits 0..9, int64.

    Shapes
    ------
    text with n rows  ->  images : (n, 16, 16),  labels : (n,)

    Raises
    ------
    ValueError
        For a row without 257 numbers, a label that is not a digit 0..9, or a
        grey value outside [-1, 1].

    Examples
    --------
    >>> x, y = parse_zip_text(b"3 " + b"-1 " * 255 + b"1\\n")
    >>> x.shape, y, float(x[0, -1, -1])
    ((1, 16, 16), array([3]), 1.0)
    """
    width = 1 + SIDE * SIDE
    if not text.strip():
        raise ValueError(f"{where}: expected at least one row, got an empty file.")
    try:
        table = np.loadtxt(io.BytesIO(text), dtype=np.float32, ndmin=2)
    except ValueError as exc:
        raise ValueError(f"{where}: expected rows of {width} numbers, {_first_bad_row(text, width, exc)}.") from None
    if table.shape[1] != width:
        raise ValueError(f"{where}: expected rows of {width} numbers (digit + {SIDE}x{SIDE} pixels), "
                         f"got {table.shape[1]} in every row.")
    labels, pixels = table[:, 0], table[:, 1:]
    bad = np.flatnonzero((labels != np.round(labels)) | (labels < 0) | (labels > 9))
    if bad.size:
        raise ValueError(f"{where}: expected a digit 0..9 first in each row, got {labels[bad[0]]:g} in row {bad[0] + 1}.")
    outside = ~((pixels >= -1) & (pixels <= 1))  # also catches NaN
    if outside.any():
        row, col = np.argwhere(outside)[0]
        raise ValueError(f"{where}: expected grey values in [-1, 1], got {pixels[row, col]:g} "
                         f"in row {row + 1}, column {col + 2}.")
    return pixels.reshape(-1, SIDE, SIDE), labels.astype(np.int64)


def _first_bad_row(text, width, exc):
    """Describe the first row that is not ``width`` numbers, for loadtxt's error."""
    for number, line in enumerate(text.splitlines(), 1):
        fields = line.split()
        if fields and len(fields) != width:
            return f"got {len(fields)} in row {number}"
    return f"got unreadable text ({exc})"


def load_data(path=None, *, verbose=None):
    """Load the ESL zip-code digits, finding or downloading ``zip.train.gz`` and ``zip.test.gz``.

    Files are looked for in ``path`` (alone, when given: missing files are then an error),
    else ``$NETFIT_DATA_DIR/zip``, the cache and system folders, then downloaded into
    the cache; each is verified by its SHA-256.

    Parameters
    ----------
    path : str or Path, optional
        A folder holding ``zip/`` or the two ``zip.*.gz`` files themselves.
    verbose : bool, optional
        Show download progress on stderr; by default only when stderr is a terminal.

    Returns
    -------
    (x_train, y_train), (x_test, y_test) : tuple of tuples of numpy.ndarray
        Grey values in [-1, 1] (float32) and digits 0..9 (int64).

    Shapes
    ------
    x_train : (7291, 16, 16) float32,  y_train : (7291,) int64
    x_test : (2007, 16, 16) float32,   y_test : (2007,) int64

    Examples
    --------
    >>> (x_train, y_train), (x_test, y_test) = load_data()  # doctest: +SKIP
    >>> x_train.shape, x_test.shape                          # doctest: +SKIP
    ((7291, 16, 16), (2007, 16, 16))
    """
    payloads = load_payloads(SPEC, path, verbose=verbose)
    return tuple(parse_zip_text(payloads[name], where=f"{SPEC.name}: {name}")
                 for name in ("zip.train.gz", "zip.test.gz"))


SPEC = DatasetSpec(
    name="zip",
    dirname="zip",
    title="USPS zip-code digits (ESL), 7,291 + 2,007 16x16",
    # SHA-256 of the published .gz, and of its text for re-compressed copies.
    files=(
        FileSpec("zip.train.gz", (
            Checksum("sha256", "66ebf231ab51f2cf6ac1a892d0f98ccffee1079d7a5db638c1f11f366046ca16", of="file"),
            Checksum("sha256", "abc9f5c75b997cabe66b5d01727d5a681c69298e1641a8d37b55433a52129dc0"))),
        FileSpec("zip.test.gz", (
            Checksum("sha256", "8dacc3c6e136af6c3488de9e5113a7daf140c8c2f1f0b61c54ee02f03f1a962f", of="file"),
            Checksum("sha256", "6bde17b4f1cd68e0630cd2751d6495b5795d9165ab2dc4a0be8b7002b732f4cc"))),
    ),
    urls=(
        "https://hastie.su.domains/ElemStatLearn/datasets/",
        "https://web.stanford.edu/~hastie/ElemStatLearn/datasets/",
    ),
    aliases=("zipcode",),
    loader=load_data,
)
