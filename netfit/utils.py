"""Seeds, label encoding and input checks shared by the public entry points."""
import numbers
import os
import sys
import warnings

import numpy as np

# netfit's own seed source. It never touches NumPy's global state: models draw
# their seed from here when they are not given one.
_seed_source = np.random.default_rng()


def set_random_seed(seed):
    """Make every model created from now on start from reproducible weights.

    Each new model draws its own seed from a generator seeded here, so the same
    ``seed`` followed by the same code gives identical weights and shuffles.

    Examples
    --------
    >>> import netfit as nf
    >>> nf.utils.set_random_seed(0); a = nf.utils.new_seed()
    >>> nf.utils.set_random_seed(0); a == nf.utils.new_seed()
    True
    """
    global _seed_source
    if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, numbers.Integral) or seed < 0:
        raise ValueError(f"set_random_seed: expected a non-negative integer, got {seed!r}.")
    _seed_source = np.random.default_rng(int(seed))


def new_seed():
    """Draw a fresh 63-bit seed from netfit's seed source."""
    return int(_seed_source.integers(0, 2**63 - 1))


def to_categorical(y, num_classes=None, dtype="float32"):
    """Encode integer labels as one-hot rows: ``Y[i, y[i]] = 1``.

    Shapes
    ------
    y : (n,) integers in [0, num_classes)  ->  Y : (n, num_classes)

    Examples
    --------
    >>> to_categorical([0, 2], 3)
    array([[1., 0., 0.],
           [0., 0., 1.]], dtype=float32)
    """
    y = check_labels(y, "to_categorical", "y")
    if num_classes is None:
        num_classes = int(y.max()) + 1 if y.size else 0
        if y.shape[0] * num_classes * np.dtype(dtype).itemsize > 1 << 30:
            raise ValueError(f"to_categorical: the largest label, {num_classes - 1}, would make {num_classes:,} "
                             f"columns for {y.shape[0]:,} rows (over 1 GiB); check the labels, or pass "
                             f"num_classes explicitly.")
    if not isinstance(num_classes, numbers.Integral) or num_classes < 1:
        raise ValueError(f"to_categorical: expected num_classes a positive integer, got {num_classes!r}.")
    if y.size and (y.min() < 0 or y.max() >= num_classes):
        raise ValueError(
            f"to_categorical: expected labels in [0, {num_classes - 1}], "
            f"got labels from {y.min()} to {y.max()}.")
    out = np.zeros((y.shape[0], num_classes), dtype=dtype)
    out[np.arange(y.shape[0]), y] = 1
    return out


def check_array(x, where, name="x", *, allow_int=True, fits=None):
    """Return ``x`` as a numeric ndarray, or raise a clear error.

    Lists are converted; masked, object, string, date and boolean arrays, empty
    arrays and NaN/inf are refused with a message naming ``where`` and ``name``
    and saying how to fix it; with ``fits`` (a float dtype), so are values that
    would overflow to inf in it. The checks read ``x`` once (x·x), or twice
    (minimum and maximum) when ``x`` is wider than ``fits``, and allocate nothing
    the size of ``x``.
    """
    if isinstance(x, (str, bytes)) or x is None:
        raise TypeError(f"{where}: expected {name} a numeric array, got {type(x).__name__}.")
    if isinstance(x, np.ma.MaskedArray):
        raise TypeError(f"{where}: expected {name} a plain array, got a masked array; fill or drop the "
                        f"masked entries first, e.g. {name}.filled(0) or {name}.compressed().")
    try:
        arr = np.asarray(x)
    except (ValueError, TypeError) as exc:
        raise TypeError(f"{where}: expected {name} a numeric array, could not convert it ({exc}).") from None
    if arr.dtype == object or arr.dtype.kind in "USVbmM" or (arr.dtype.kind in "iu" and not allow_int):
        raise TypeError(f"{where}: expected {name} with a numeric dtype, got dtype {arr.dtype}; "
                        f"convert it first, e.g. np.asarray({name}, dtype='float32').")
    if arr.dtype.kind == "c":
        raise TypeError(f"{where}: expected {name} real-valued, got complex dtype {arr.dtype}; "
                        f"pass {name}.real or np.abs({name}).")
    if arr.ndim == 0 or arr.shape[0] == 0:
        raise ValueError(f"{where}: expected {name} with at least one example, got shape {arr.shape}.")
    if arr.dtype.kind == "f" and arr.size:
        wider = fits is not None and np.finfo(arr.dtype).max > np.finfo(fits).max
        if wider:
            # min and max are NaN when any entry is NaN and ±inf when any is infinite.
            low, high = float(arr.min()), float(arr.max())
            finite = np.isfinite(low) and np.isfinite(high)
        else:
            # One read instead of two: x·x is NaN or inf when any entry is (and, rarely, when finite
            # values overflow it: then the count below finds nothing wrong). BLAS reads a contiguous
            # x at memory speed, faster than NumPy's min or sum.
            flat = arr.reshape(-1) if arr.flags.c_contiguous else None
            with np.errstate(over="ignore", invalid="ignore"):
                total = np.dot(flat, flat) if flat is not None else np.add.reduce(arr, axis=None)
            finite = np.isfinite(total)
        bad = 0 if finite else int(np.size(arr) - np.count_nonzero(np.isfinite(arr)))
        if bad:
            raise ValueError(f"{where}: {name} contains {bad} NaN or infinite value(s); "
                             f"clean or impute them first.")
        if wider and max(-low, high) > float(np.finfo(fits).max):
            raise ValueError(f"{where}: {name} holds values beyond the range of the model's {np.dtype(fits)} "
                             f"(|{name}| > {float(np.finfo(fits).max):.3g}); scale the inputs first.")
    return arr


def check_labels(y, where, name="y"):
    """Return integer class labels as a 1-D int64 array, or raise a clear error."""
    arr = check_array(y, where, name)
    if arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr[:, 0]
    if arr.ndim != 1:
        raise ValueError(f"{where}: expected {name} a 1-D array of integer labels, got shape {arr.shape}.")
    if arr.dtype.kind == "f":
        if not np.array_equal(arr, np.round(arr)):
            raise ValueError(f"{where}: expected {name} integer class labels, got non-integer floats.")
    if arr.size and arr.min() < 0:
        raise ValueError(f"{where}: expected {name} non-negative class labels, got {arr.min()}.")
    if arr.size and arr.max() > np.iinfo(np.int64).max // 2:
        raise ValueError(f"{where}: expected {name} class labels, got the implausibly large label {arr.max()}.")
    return arr.astype(np.int64, copy=False)


def check_positive_int(value, where, name, *, allow_none=False):
    """Return ``value`` as an int >= 1 or raise a TypeError/ValueError naming it."""
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{where}: expected {name} a positive integer, got {value!r}.")
    if value < 1:
        raise ValueError(f"{where}: expected {name} >= 1, got {value}.")
    return int(value)


def check_flag(value, where, name):
    """Raise a TypeError naming ``name`` unless ``value`` is True or False (NumPy bools too)."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{where}: expected {name} True or False, got {value!r}.")
    return bool(value)


def check_verbose(value, where):
    """Raise a ValueError unless ``value`` is 0, 1, 2 or "auto" (Keras's choices; True and False count as 1 and 0)."""
    if not isinstance(value, (numbers.Integral, str)) or value not in (0, 1, 2, "auto"):
        raise ValueError(f"{where}: expected verbose 0, 1, 2 or 'auto', got {value!r}.")
    return value


def check_seed(seed, where):
    """Return ``seed`` as a non-negative int, or raise a TypeError/ValueError naming it."""
    if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, numbers.Integral):
        raise TypeError(f"{where}: expected seed a non-negative integer (or None), got {seed!r}.")
    if seed < 0:
        raise ValueError(f"{where}: expected seed a non-negative integer (or None), got {seed!r}.")
    return int(seed)


def check_dtype(dtype, where):
    """Return float32 or float64 as a NumPy dtype (None stays None), or raise a ValueError."""
    if dtype is None:
        return None
    try:
        resolved = np.dtype(dtype)
    except TypeError:
        resolved = None
    if resolved not in (np.float32, np.float64):
        raise ValueError(f"{where}: expected dtype 'float32' or 'float64' (or None for "
                         f"nf.config.floatx()), got {dtype!r}.")
    return resolved


def warn(message, category=RuntimeWarning):
    """Issue a warning attributed to the user's line: the first caller outside netfit."""
    package = os.path.dirname(os.path.abspath(__file__)) + os.sep
    frame, level = sys._getframe(1), 1
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(package):
        frame, level = frame.f_back, level + 1
    warnings.warn(message, category, stacklevel=level + 1)


class Sequence:
    """Base for data served batch by batch: ``len(seq)`` batches, ``seq[k]`` the k-th ``(x, y)``.

    Keras's ``keras.utils.Sequence`` (``PyDataset`` in Keras 3): subclass it,
    define ``__len__`` (batches per epoch) and ``__getitem__(k)`` (the batch
    ``(x_k, y_k)``, or ``(x_k,)`` / ``x_k`` for ``predict``), and hand it to
    :meth:`netfit.Sequential.fit`, ``evaluate`` or ``predict`` in place of
    arrays; only one batch is in memory at a time. ``on_epoch_end()`` is
    called after each training epoch (e.g. to reshuffle files). With
    ``fit(shuffle=True)`` the batch *order* is shuffled each epoch, seeded
    by (model seed, epoch) like array batches; the examples inside a batch
    are yours.

    Any object with ``__len__`` and ``__getitem__`` works the same; this base
    only documents the contract. Differs from Keras: no worker processes
    (``workers``, ``use_multiprocessing``, ``max_queue_size`` do not exist).

    Examples
    --------
    >>> import numpy as np
    >>> class Batches(Sequence):
    ...     def __init__(self, x, y, batch_size):
    ...         self.x, self.y, self.batch_size = x, y, batch_size
    ...     def __len__(self):
    ...         return -(-len(self.x) // self.batch_size)
    ...     def __getitem__(self, k):
    ...         part = slice(k * self.batch_size, (k + 1) * self.batch_size)
    ...         return self.x[part], self.y[part]
    >>> len(Batches(np.zeros((10, 3)), np.zeros(10), 4))
    3
    """

    def __len__(self):
        raise NotImplementedError(f"{type(self).__name__}: define __len__, the number of batches per epoch.")

    def __getitem__(self, index):
        raise NotImplementedError(f"{type(self).__name__}: define __getitem__(k), returning the batch (x, y).")

    def on_epoch_end(self):
        """Called after each training epoch; override to reshuffle or reload."""


PyDataset = Sequence    # Keras 3's name for the same contract
