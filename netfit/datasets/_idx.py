"""The IDX file format of MNIST and Fashion-MNIST: parse it, write it, load a data set of it.

An IDX file is a 4-byte magic number ``00 00 <type code> <ndim>``, then ``ndim``
big-endian uint32 dimension sizes, then the values, big-endian, row-major.
"""
import numpy as np

from ._files import load_payloads

# IDX type code -> big-endian dtype
IDX_TYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
_CODES = {np.dtype(t).newbyteorder("="): code for code, t in IDX_TYPES.items()}


def parse_idx(data, *, ndim=None, where="parse_idx"):
    """Return the array stored in the IDX bytes ``data``, in native byte order.

    Parameters
    ----------
    data : bytes
        A whole, decompressed IDX file.
    ndim : int, optional
        The number of dimensions the caller expects; anything else is refused.
    where : str
        Name used at the start of error messages, e.g. the file name.

    Returns
    -------
    numpy.ndarray
        A writable array with the dimensions from the header.

    Raises
    ------
    ValueError
        For a wrong magic number, type code or dimension count, and when the data
        is shorter or longer than the header announces.

    Examples
    --------
    >>> parse_idx(b"\\x00\\x00\\x08\\x01\\x00\\x00\\x00\\x03\\x07\\x02\\x01")
    array([7, 2, 1], dtype=uint8)
    """
    data = memoryview(data)
    if len(data) < 4 or data[0] != 0 or data[1] != 0:
        got = bytes(data[:4]).hex() or "an empty file"
        hint = " (still gzip-compressed?)" if bytes(data[:2]) == b"\x1f\x8b" else ""
        raise ValueError(f"{where}: expected an IDX magic number 0000<type><ndim>, got {got}{hint}.")
    code, dims = data[2], data[3]
    if code not in IDX_TYPES:
        known = ", ".join(f"0x{c:02X}" for c in IDX_TYPES)
        raise ValueError(f"{where}: expected an IDX type code in {known}, got 0x{code:02X}.")
    if dims == 0 or (ndim is not None and dims != ndim):
        raise ValueError(f"{where}: expected {ndim or 'at least 1'} dimension(s) in the IDX header, got {dims}.")
    start = 4 + 4 * dims
    if len(data) < start:
        raise ValueError(f"{where}: expected an IDX header of {start} bytes, got {len(data)} bytes in all.")
    shape = tuple(int(n) for n in np.frombuffer(data, ">u4", count=dims, offset=4))
    dtype = np.dtype(IDX_TYPES[code])
    expected = int(np.prod(shape)) * dtype.itemsize
    if len(data) - start != expected:
        raise ValueError(f"{where}: expected {expected} data bytes for shape {shape}, "
                         f"got {len(data) - start} (truncated or padded file).")
    return np.frombuffer(data, dtype, offset=start).reshape(shape).astype(dtype.newbyteorder("="))


def to_idx(array):
    """Return ``array`` encoded as IDX bytes (the inverse of :func:`parse_idx`).

    Examples
    --------
    >>> to_idx(np.array([7, 2, 1], dtype=np.uint8)).hex()
    '0000080100000003070201'
    """
    array = np.asarray(array)
    native = array.dtype.newbyteorder("=")
    if native not in _CODES or array.ndim == 0:
        raise ValueError(f"to_idx: expected an array of at least 1 dimension with dtype in "
                         f"uint8, int8, int16, int32, float32, float64, got {array.dtype} of shape {array.shape}.")
    header = bytes([0, 0, _CODES[native], array.ndim]) + np.asarray(array.shape, ">u4").tobytes()
    return header + np.ascontiguousarray(array, dtype=native.newbyteorder(">")).tobytes()


def load_idx_dataset(spec, path=None, *, verbose=None, num_classes=10):
    """Load the four IDX files of an MNIST-style ``spec`` as Keras-style train and test splits.

    Shapes
    ------
    x_train : (n_train, rows, cols) uint8,  y_train : (n_train,) uint8
    x_test : (n_test, rows, cols) uint8,    y_test : (n_test,) uint8
    """
    payloads = load_payloads(spec, path, verbose=verbose)
    splits = []
    for prefix in ("train", "t10k"):
        images, labels = f"{prefix}-images-idx3-ubyte.gz", f"{prefix}-labels-idx1-ubyte.gz"
        x = parse_idx(payloads[images], ndim=3, where=f"{spec.name}: {images}")
        y = parse_idx(payloads[labels], ndim=1, where=f"{spec.name}: {labels}")
        if x.dtype != np.uint8 or y.dtype != np.uint8:
            raise ValueError(f"{spec.name}: expected uint8 images and labels, got {x.dtype} and {y.dtype}.")
        if len(x) != len(y):
            raise ValueError(f"{spec.name}: expected as many labels as images in {prefix}, "
                             f"got {len(y)} labels for {len(x)} images.")
        if y.size and y.max() >= num_classes:
            raise ValueError(f"{spec.name}: expected labels in [0, {num_classes - 1}] in {labels}, got {y.max()}.")
        splits.append((x, y))
    return tuple(splits)
