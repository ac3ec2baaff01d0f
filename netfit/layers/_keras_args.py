"""Keras's layer arguments, checked one way: sizes given as an int or a tuple, and the options netfit fixes.

Keras 3 writes ``kernel_size=3`` or ``kernel_size=(3,)`` for a 1-D layer and
``(3, 3)`` for a 2-D one (its ``standardize_tuple``); :func:`ints` reads all of
them. netfit's layers are channels-last only and undilated: ``data_format`` and
``dilation_rate`` are accepted at their Keras defaults (what a Keras program
usually passes) and refused by name otherwise, with what to do instead.
"""
import numbers

DATA_FORMATS = (None, "channels_last")


def ints(value, rank, where, name, minimum=1):
    """(v_1, …, v_rank) from an int or a tuple/list of ``rank`` ints, each ≥ ``minimum``; else a ValueError.

    Examples
    --------
    >>> ints(3, 1, "Conv1D", "kernel_size"), ints((2, 1), 2, "Conv2DTranspose", "strides")
    ((3,), (2, 1))
    >>> ints(0, 2, "Conv2DTranspose", "output_padding", minimum=0)
    (0, 0)
    """
    items = (value,) * rank if _is_int(value) else value
    ok = isinstance(items, (tuple, list)) and len(items) == rank and all(_is_int(v) and v >= minimum for v in items)
    if not ok:
        what = "a positive integer" if minimum == 1 else f"an integer >= {minimum}"
        tuple_of = "a tuple of one" if rank == 1 else f"a tuple of {rank}"
        raise ValueError(f"{where}: expected {name} {what} or {tuple_of} of them, got {value!r}.")
    return tuple(int(v) for v in items)


def _is_int(v):
    return isinstance(v, numbers.Integral) and not isinstance(v, bool)


def data_format(value, where):
    """Accept Keras's channels-last ``data_format`` (None or "channels_last"); refuse the rest by name."""
    if value in DATA_FORMATS:
        return
    if value == "channels_first":
        raise ValueError(f"{where}: expected data_format 'channels_last' (netfit is channels-last only), got "
                         f"'channels_first'; move the channel axis last (x = np.moveaxis(x, 1, -1)) and drop "
                         f"data_format.")
    raise ValueError(f"{where}: expected data_format None or 'channels_last', got {value!r}.")


def dilation_rate(value, rank, where):
    """Accept ``dilation_rate`` 1 (Keras's default); refuse dilated kernels by name."""
    if ints(value, rank, where, "dilation_rate") != (1,) * rank:
        raise ValueError(f"{where}: expected dilation_rate 1 (netfit has no dilated kernels), got {value!r}; "
                         f"a dilated kernel is an undilated one with zeros between its taps: use kernel_size "
                         f"(k - 1)·rate + 1 instead.")
