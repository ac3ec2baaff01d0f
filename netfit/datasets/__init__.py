"""Data sets as NumPy arrays, Keras style.

>>> from netfit.datasets import mnist
>>> (x_train, y_train), (x_test, y_test) = mnist.load_data()  # doctest: +SKIP

========================  ==========================  =======================================
name (aliases)            module                      arrays
========================  ==========================  =======================================
``mnist``                 :mod:`.mnist`               (60000, 28, 28) / (10000, 28, 28) uint8
``zip`` (``zipcode``)     :mod:`.zipcode`             (7291, 16, 16) / (2007, 16, 16) float32
``fashion``               :mod:`.fashion_mnist`       (60000, 28, 28) / (10000, 28, 28) uint8
(``fashion_mnist``,
``fashion-mnist``)
========================  ==========================  =======================================

Files are found in ``path=``, ``$NETFIT_DATA_DIR``, the cache (``$NETFIT_CACHE``,
default ``~/.cache/netfit``) or system folders, else downloaded into the cache
(from ``$NETFIT_MIRROR`` when set) and always verified against published
checksums; see :mod:`netfit.datasets._files`. ``netfit data`` manages them from
the shell.
"""
from . import fashion_mnist, mnist, zipcode
from ._files import DatasetIntegrityError, DatasetNotFoundError, DatasetSpec

__all__ = ["DATASETS", "DatasetIntegrityError", "DatasetNotFoundError", "DatasetSpec",
           "fashion_mnist", "get", "load", "mnist", "zipcode"]

#: Name -> :class:`DatasetSpec` (files, checksums, URLs, loader).
DATASETS = {spec.name: spec for spec in (mnist.SPEC, zipcode.SPEC, fashion_mnist.SPEC)}
_ALIASES = {alias: spec.name for spec in DATASETS.values() for alias in spec.aliases}


def get(name):
    """Return the :class:`DatasetSpec` registered as ``name`` or one of its aliases.

    Examples
    --------
    >>> get("zipcode").name
    'zip'
    """
    key = str(name).strip().lower()
    key = _ALIASES.get(key, key)
    if key not in DATASETS:
        supported = ", ".join(f"{s.name} ({', '.join(s.aliases)})" if s.aliases else s.name
                              for s in DATASETS.values())
        raise ValueError(f"datasets.get: expected one of {supported}, got {name!r}.")
    return DATASETS[key]


def load(name, path=None, *, verbose=None):
    """Return ``get(name).load_data(path, verbose=verbose)``: ``((x_train, y_train), (x_test, y_test))``."""
    return get(name).load_data(path, verbose=verbose)
