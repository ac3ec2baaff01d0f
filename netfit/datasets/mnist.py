"""MNIST handwritten digits (LeCun, Cortes, Burges): 60,000 + 10,000 grey 28x28 images.

Licence: CC BY-SA 3.0 (Yann LeCun and Corinna Cortes).
"""
from ._files import Checksum, DatasetSpec, FileSpec
from ._idx import load_idx_dataset, parse_idx

__all__ = ["SPEC", "load_data", "parse_idx"]


def load_data(path=None, *, verbose=None):
    """Load MNIST as uint8 arrays, finding or downloading its four IDX files.

    Files are looked for in ``path`` (alone, when given: missing files are then an error),
    else ``$NETFIT_DATA_DIR/mnist``, the cache and system folders, then downloaded into
    the cache (see :mod:`netfit.datasets._files`).
    Each file is verified by the MD5 of its decompressed IDX content.

    Parameters
    ----------
    path : str or Path, optional
        A folder holding ``mnist/`` or the four ``*-ubyte.gz`` files themselves.
    verbose : bool, optional
        Show download progress on stderr; by default only when stderr is a terminal.

    Returns
    -------
    (x_train, y_train), (x_test, y_test) : tuple of tuples of numpy.ndarray
        Grey levels 0..255 and labels 0..9, as in ``keras.datasets.mnist``.

    Shapes
    ------
    x_train : (60000, 28, 28) uint8,  y_train : (60000,) uint8
    x_test : (10000, 28, 28) uint8,   y_test : (10000,) uint8

    Raises
    ------
    DatasetNotFoundError
        When the files are nowhere and cannot be downloaded, or not in the ``path`` given
        (or that folder does not exist); lists where it looked.
    DatasetIntegrityError
        When a file does not match the published checksum.

    Examples
    --------
    >>> (x_train, y_train), (x_test, y_test) = load_data()  # doctest: +SKIP
    >>> x_train.shape, y_train[:5]                           # doctest: +SKIP
    ((60000, 28, 28), array([5, 0, 4, 1, 9], dtype=uint8))
    """
    return load_idx_dataset(SPEC, path, verbose=verbose)


SPEC = DatasetSpec(
    name="mnist",
    dirname="mnist",
    title="MNIST handwritten digits, 60,000 + 10,000 28x28",
    # The MD5s are of the decompressed IDX files, so re-compressed copies pass too.
    files=(
        FileSpec("train-images-idx3-ubyte.gz", (Checksum("md5", "6bbc9ace898e44ae57da46a324031adb"),)),
        FileSpec("train-labels-idx1-ubyte.gz", (Checksum("md5", "a25bea736e30d166cdddb491f175f624"),)),
        FileSpec("t10k-images-idx3-ubyte.gz", (Checksum("md5", "2646ac647ad5339dbf082846283269ea"),)),
        FileSpec("t10k-labels-idx1-ubyte.gz", (Checksum("md5", "27ae3e4e09519cfbb04c329615203637"),)),
    ),
    urls=(
        "https://storage.googleapis.com/cvdf-datasets/mnist/",
        "https://ossci-datasets.s3.amazonaws.com/mnist/",
        "http://yann.lecun.com/exdb/mnist/",
    ),
    loader=load_data,
)
