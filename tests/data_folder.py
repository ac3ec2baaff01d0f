"""Where the tests find the real data sets (MNIST, the ZIP digits): one rule for every test module.

``$NETFIT_DATA_DIR`` when it is set (the loaders' own first place, netfit.datasets._files), else
``../shared/data`` beside the repository (the layout CI and the developers' machines have), else
netfit's cache (``$NETFIT_CACHE``, default ``~/.cache/netfit``), where ``netfit data fetch NAME`` puts
them in the same layout: so the end-of-run note's "netfit data fetch zip" makes those tests run.
A test asks :func:`holds` whether a data set's files are all there (an empty folder is not enough).
"""
import os
from pathlib import Path

from netfit import datasets
from netfit.datasets import _files

BESIDE = Path(__file__).resolve().parents[2] / "shared" / "data"


def _root():
    if os.environ.get("NETFIT_DATA_DIR"):
        return Path(os.environ["NETFIT_DATA_DIR"]).expanduser()
    return BESIDE if BESIDE.is_dir() else _files.cache_dir()


SHARED_DATA = _root()
#: The skip reason when a data set is not in SHARED_DATA (the end-of-run note gives its fix).
ABSENT = f"no data set in {SHARED_DATA} ($NETFIT_DATA_DIR, else ../shared/data, else netfit's cache)"


def holds(name, root=None):
    """True when ``root`` (default :data:`SHARED_DATA`) / the data set's folder has every one of its files.

    ``name``: a data set's name or alias ("mnist", "zip", "fashion").
    """
    spec = datasets.get(name)
    folder = Path(root or SHARED_DATA) / spec.dirname
    return all((folder / f.name).is_file() for f in spec.files)
