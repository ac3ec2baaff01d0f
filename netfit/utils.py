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
    if y.size and y.max() >= num_classes:
        fix = (f"they look 1-based: `Y = nf.utils.to_categorical(y - 1, {num_classes})`"
               if y.max() == num_classes and y.min() >= 1 else f"pass num_classes={int(y.max()) + 1}")
        raise ValueError(
            f"to_categorical: expected labels in [0, {num_classes - 1}], "
            f"got labels from {y.min()} to {y.max()}; {fix}.")
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
    if type(x) is np.ndarray and x.dtype.kind == "f" and x.ndim and x.shape[0]:
        return _check_finite(x, where, name, fits)    # the common case (a float array), without the rest
    if isinstance(x, (str, bytes)) or x is None:
        raise TypeError(f"{where}: expected {name} a numeric array, got {type(x).__name__}.")
    if isinstance(x, np.ma.MaskedArray):
        raise TypeError(f"{where}: expected {name} a plain array, got a masked array; fill or drop the "
                        f"masked entries first, e.g. {name}.filled(0) or {name}.compressed().")
    try:
        arr = np.asarray(x)
    except (ValueError, TypeError) as exc:
        ragged = "inhomogeneous" in str(exc)
        raise TypeError(f"{where}: expected {name} a numeric array, could not convert it ({exc})"
                        + ("; its rows have different lengths: pad or trim them to one length first."
                           if ragged else ".")) from None
    if arr.dtype == object or arr.dtype.kind in "USVbmM" or (arr.dtype.kind in "iu" and not allow_int):
        raise TypeError(f"{where}: expected {name} with a numeric dtype, got dtype {arr.dtype}; "
                        f"{_dtype_fix(arr, name)}")
    if arr.dtype.kind == "c":
        raise TypeError(f"{where}: expected {name} real-valued, got complex dtype {arr.dtype}; "
                        f"pass {name}.real or np.abs({name}).")
    if arr.ndim == 0 or arr.shape[0] == 0:
        raise ValueError(f"{where}: expected {name} with at least one example, got shape {arr.shape}.")
    if arr.dtype.kind == "f":
        return _check_finite(arr, where, name, fits)
    return arr


def _check_finite(arr, where, name, fits):
    """``arr`` (a float array) unless it holds NaN or inf, or, with ``fits``, values beyond that dtype's range."""
    if arr.size:
        # A wider float type is one of more bytes (float16 < float32 < float64 < longdouble).
        wider = fits is not None and arr.dtype.itemsize > np.dtype(fits).itemsize
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
            drop = ""
            if name in ("x", "y"):
                drop = (f"; or drop those rows: `keep = np.isfinite({name}).reshape(len({name}), -1).all(1); "
                        f"x, y = x[keep], y[keep]`")
            raise ValueError(f"{where}: {name} contains {bad} NaN or infinite value(s); "
                             f"clean or impute them first{drop}.")
        if wider and max(-low, high) > float(np.finfo(fits).max):
            raise ValueError(f"{where}: {name} holds values beyond the range of the model's {np.dtype(fits)} "
                             f"(|{name}| > {float(np.finfo(fits).max):.3g}); scale the inputs first.")
    return arr


def _dtype_fix(arr, name):
    """The one-line fix for a non-numeric array: a cast when its values are numbers, else an encoding."""
    if arr.dtype.kind in "mM":
        return f"convert it to numbers first, e.g. `{name} = {name}.astype('int64').astype('float32')`."
    try:
        arr.astype(np.float64)
        numeric = arr.dtype.kind != "V"
    except (ValueError, TypeError):
        numeric = False
    if numeric:
        return f"convert it first: `{name} = np.asarray({name}, dtype='float32')`."
    if name == "y":
        return ("class names? Encode them as 0..K-1: `classes, y = np.unique(y, return_inverse=True)` "
                "(classes[k] names class k).")
    return "it holds text or None values: encode them as numbers first."


def check_labels(y, where, name="y", *, sparse_loss=False):
    """Return integer class labels as a 1-D int64 array, or raise a clear error with the fix."""
    arr = check_array(y, where, name)
    if arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr[:, 0]
    if arr.ndim != 1:
        hint = ""
        if arr.ndim == 2 and arr.min() >= 0 and np.allclose(arr.sum(axis=1), 1.0, atol=1e-3):
            hint = (f"; it looks one-hot: pass the class indices, `{name} = {name}.argmax(1)`"
                    + (", or use loss='categorical_crossentropy' with these rows" if sparse_loss else ""))
        raise ValueError(f"{where}: expected {name} a 1-D array of integer labels, got shape {arr.shape}{hint}.")
    if arr.dtype.kind == "f":
        if not np.array_equal(arr, np.round(arr)):
            if np.allclose(arr, np.round(arr), rtol=0, atol=1e-4):
                hint = f"they are integers up to rounding: `{name} = np.rint({name}).astype(int)`"
            else:
                hint = ("a continuous target is regression: use loss='mse' with a linear last layer "
                        "(Dense(1)); to bin it into classes, use np.digitize")
            raise ValueError(f"{where}: expected {name} integer class labels, got non-integer floats "
                             f"(e.g. {arr[np.argmax(arr != np.round(arr))]:g}); {hint}.")
    if arr.size and arr.min() < 0:
        raise ValueError(f"{where}: expected {name} non-negative class labels, got {arr.min()}; encode the "
                         f"labels as 0..K-1: `classes, {name} = np.unique({name}, return_inverse=True)`.")
    if arr.size and arr.max() > np.iinfo(np.int64).max // 2:
        raise ValueError(f"{where}: expected {name} class labels, got the implausibly large label {arr.max()}.")
    return arr.astype(np.int64, copy=False)


def label_range_hint(labels, k, where):
    """None when integer ``labels`` fit K = ``k`` classes; "y - 1" when they look 1-based (1..K); else the error."""
    if not labels.size or labels.max() < k:
        return None
    top = int(labels.max())
    if top == k and labels.min() >= 1:
        return "y - 1"
    if k == 1:
        return (f"{where}: expected labels in [0, 0] for a model with 1 output, got label {top}; a one-unit "
                f"output cannot hold {top + 1} classes: end the model with Dense({top + 1}, activation='softmax').")
    return (f"{where}: expected labels in [0, {k - 1}] for a model with {k} outputs, got label {top}; "
            f"one output per class: end the model with Dense({top + 1}, activation='softmax'), "
            f"or re-encode the labels: `classes, y = np.unique(y, return_inverse=True)`.")


def check_sample_weight(sample_weight, n, where, name="sample_weight"):
    """Return per-example weights as a float64 array (n,), or raise a clear error.

    Keras's rules: one finite, non-negative weight per example (a column (n, 1) is
    accepted); the loss is (1/n) Σ_i w_i ℓ_i.
    """
    w = check_array(sample_weight, where, name)
    if w.ndim == 2 and w.shape[1] == 1:
        w = w[:, 0]
    if w.ndim != 1 or w.shape[0] != n:
        raise ValueError(f"{where}: expected {name} one weight per example, shape ({n},), got shape {w.shape}.")
    if w.min() < 0:
        raise ValueError(f"{where}: expected {name} non-negative, got {w.min():g}.")
    return w.astype(np.float64, copy=False)


def class_weights(classes, class_weight, where):
    """w_i = class_weight[class of example i], from a dict {class index: weight} (Keras's class_weight).

    ``classes`` are the integer classes of the examples (labels, argmax of
    one-hot rows, or 0/1 for one sigmoid output). Classes missing from the dict
    get weight 1, as in Keras.
    """
    if not isinstance(class_weight, dict):
        raise TypeError(f"{where}: expected class_weight a dict {{class index: weight}}, "
                        f"got {type(class_weight).__name__}.")
    table = {}
    for key, value in class_weight.items():
        if isinstance(key, (bool, np.bool_)) or not isinstance(key, numbers.Integral) or key < 0:
            raise ValueError(f"{where}: expected class_weight keys class indices 0..K-1, got {key!r}; "
                             f"with class names, map them first: {{k: weight[classes[k]]}} for k in range(K).")
        if (isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real)
                or not 0 <= value < float("inf")):
            raise ValueError(f"{where}: expected class_weight values non-negative numbers, got {value!r} "
                             f"for class {key}.")
        table[int(key)] = float(value)
    lookup = np.ones(max([int(classes.max()) + 1] + [k + 1 for k in table]))
    for key, value in table.items():
        lookup[key] = value
    return lookup[classes]


def example_weights(y, sample_weight, class_weight, loss, where, dtype):
    """Per-example weights w (n,) from ``sample_weight`` and ``class_weight`` (their product), or None.

    The class of example i is its integer label (sparse losses), the argmax of
    its one-hot row, or its rounded 0/1 target for one sigmoid output, as in Keras.
    """
    if sample_weight is None and class_weight is None:
        return None
    w = np.ones(len(y))
    if sample_weight is not None:
        w = check_sample_weight(sample_weight, len(y), where)
    if class_weight is not None:
        if loss.integer_targets:
            classes = y
        elif y.ndim == 2 and y.shape[1] > 1:
            classes = y.argmax(axis=1)                                     # Keras: the class of a one-hot row
        elif y.ndim == 2 and y.shape[1] == 1 and loss.name == "binary_crossentropy":
            classes = np.rint(y[:, 0])                                     # one sigmoid unit: classes 0 and 1
        else:
            raise ValueError(f"{where}: class_weight needs class targets (a classification loss), got loss "
                             f"{loss.name!r}; pass per-example weights as sample_weight instead.")
        w = w * class_weights(np.asarray(classes, np.int64), class_weight, where)
    return w.astype(dtype)


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


def check_dtype(dtype, where, integers=False):
    """Return float32 or float64 as a NumPy dtype (None stays None), or raise a ValueError.

    ``integers=True`` also takes integer types (an input of token indices).
    """
    if dtype is None:
        return None
    try:
        resolved = np.dtype(dtype)
    except TypeError:
        resolved = None
    if integers and resolved is not None and resolved.kind in "iu":
        return resolved
    if resolved not in (np.float32, np.float64):
        raise ValueError(f"{where}: expected dtype 'float32' or 'float64'{' or an integer type' if integers else ''} "
                         f"(or None for "
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
    only documents the contract. A subclass may hand Keras's ``workers``,
    ``use_multiprocessing`` and ``max_queue_size`` to ``super().__init__(**kwargs)``,
    as Keras 3's PyDataset takes them; they are kept, but netfit reads the batches
    in order in the calling thread (Keras's results do not depend on them either).

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

    def __init__(self, workers=1, use_multiprocessing=False, max_queue_size=10):
        where = type(self).__name__
        for name, value in (("workers", workers), ("max_queue_size", max_queue_size)):
            if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
                raise ValueError(f"{where}: expected {name} a positive integer, got {value!r}.")
        if not isinstance(use_multiprocessing, (bool, np.bool_)):
            raise TypeError(f"{where}: expected use_multiprocessing True or False, got {use_multiprocessing!r}.")
        self.workers, self.max_queue_size = int(workers), int(max_queue_size)
        self.use_multiprocessing = bool(use_multiprocessing)

    def __len__(self):
        raise NotImplementedError(f"{type(self).__name__}: define __len__, the number of batches per epoch.")

    def __getitem__(self, index):
        raise NotImplementedError(f"{type(self).__name__}: define __getitem__(k), returning the batch (x, y).")

    def on_epoch_end(self):
        """Called after each training epoch; override to reshuffle or reload."""


PyDataset = Sequence    # Keras 3's name for the same contract
