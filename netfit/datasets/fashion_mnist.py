"""Fashion-MNIST (Zalando Research): 60,000 + 10,000 grey 28x28 images of clothing.

A drop-in replacement for MNIST: same IDX files, shapes and 10 classes, named in
:data:`class_names`. Debian's ``dataset-fashion-mnist`` package installs the files
under ``/usr/share/datasets/fashion-mnist/``, where they are found without a
download. Licence: MIT (Zalando SE).
"""
from ._files import Checksum, DatasetSpec, FileSpec
from ._idx import load_idx_dataset

__all__ = ["SPEC", "class_names", "load_data"]

#: Label -> article name, as published by Zalando.
class_names = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
               "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")


def load_data(path=None, *, verbose=None):
    """Load Fashion-MNIST as uint8 arrays, finding or downloading its four IDX files.

    Files are looked for in ``path`` (alone, when given: missing files are then an error),
    else ``$NETFIT_DATA_DIR/fashion-mnist``, the cache and system folders (Debian's
    package), then downloaded into the cache.

    Parameters
    ----------
    path : str or Path, optional
        A folder holding ``fashion-mnist/`` or the four ``*-ubyte.gz`` files themselves.
    verbose : bool, optional
        Show download progress on stderr; by default only when stderr is a terminal.

    Returns
    -------
    (x_train, y_train), (x_test, y_test) : tuple of tuples of numpy.ndarray
        Grey levels 0..255 and labels 0..9 (names in :data:`class_names`), as in
        ``keras.datasets.fashion_mnist``.

    Shapes
    ------
    x_train : (60000, 28, 28) uint8,  y_train : (60000,) uint8
    x_test : (10000, 28, 28) uint8,   y_test : (10000,) uint8

    Examples
    --------
    >>> (x_train, y_train), _ = load_data()  # doctest: +SKIP
    >>> class_names[y_train[0]]              # doctest: +SKIP
    'Ankle boot'
    """
    return load_idx_dataset(SPEC, path, verbose=verbose)


def _sums(payload_md5, gz_md5):
    # Zalando publishes MD5s of its .gz files; Debian re-compressed them (same
    # content, gzip header without the file name), so the decompressed MD5 is checked too.
    return (Checksum("md5", payload_md5), Checksum("md5", gz_md5, of="file"))


SPEC = DatasetSpec(
    name="fashion",
    dirname="fashion-mnist",
    title="Fashion-MNIST (Zalando), 60,000 + 10,000 28x28",
    files=(
        FileSpec("train-images-idx3-ubyte.gz",
                 _sums("f4a8712d7a061bf5bd6d2ca38dc4d50a", "8d4fb7e6c68d591d4c3dfef9ec88bf0d")),
        FileSpec("train-labels-idx1-ubyte.gz",
                 _sums("9018921c3c673c538a1fc5bad174d6f9", "25c81989df183df01b3e8a0aad5dffbe")),
        FileSpec("t10k-images-idx3-ubyte.gz",
                 _sums("8181f5470baa50b63fa0f6fddb340f0a", "bef4ecab320f06d8554ea6380940ec79")),
        FileSpec("t10k-labels-idx1-ubyte.gz",
                 _sums("15d484375f8d13e6eb1aabb0c3f46965", "bb300cfdad3c16e7a12a480ee83cd310")),
    ),
    urls=(
        "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
        "https://github.com/zalandoresearch/fashion-mnist/raw/master/data/fashion/",
    ),
    aliases=("fashion_mnist", "fashion-mnist"),
    loader=load_data,
    class_names=class_names,
)
