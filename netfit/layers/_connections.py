"""Connection tables: which input maps each feature map of a convolution reads.

LeCun et al. 1989 connect each of H2's 12 maps to 8 of H1's 12; LeNet-5's C3
(LeCun et al. 1998, Table I) connects each of its 16 maps to 3, 4 or 6 of S2's 6.
A table is a boolean (input maps, feature maps) array, True where a feature map
reads an input map; :class:`~netfit.layers.Conv2D` takes one as ``connections``.
"""
import numpy as np


def check_table(table, where, filters):
    """A connection table as a (c_in, filters) bool array, or a clear ValueError."""
    try:
        arr = np.asarray(table)
    except (ValueError, TypeError):
        arr = None
    if arr is None or arr.ndim != 2 or arr.shape[1] != filters or arr.size == 0:
        got = f"shape {arr.shape}" if arr is not None else repr(table)
        raise ValueError(f"{where}: expected connections a 2-D (input maps, {filters}) table of booleans, "
                         f"got {got}.")
    if arr.dtype != bool:
        if arr.dtype.kind not in "iu" or not np.isin(arr, (0, 1)).all():
            raise ValueError(f"{where}: expected connections of booleans (or 0/1), got dtype {arr.dtype}.")
        arr = arr.astype(bool)
    for axis, what in ((0, "filter"), (1, "input map")):
        empty = np.flatnonzero(~arr.any(axis=axis))
        if empty.size:
            raise ValueError(f"{where}: expected every {what} connected at least once, got none for "
                             f"{what} {int(empty[0])} (an all-False {'column' if axis == 0 else 'row'} of "
                             f"connections); drop it or connect it.")
    return arr.copy()


def whole(value):
    """value as an int when it is whole (a fan), else as it is."""
    return int(value) if float(value).is_integer() else value
