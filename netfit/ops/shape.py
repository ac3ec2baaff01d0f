"""Shape ops: reshaping, indexing, joining and splitting, copying, sorting, and making arrays.

Their VJPs move δ back to where each value came from: a value copied to several
places (tile, repeat, broadcast_to, take with a repeated index) gets the sum of the
δ of its copies; a value dropped (slice, get_item, a padded cell) gets none; the
ops that make arrays from shapes (zeros, arange, eye, ...) are constants, and
:func:`stop_gradient` is the op that cuts a path on purpose.
"""
import builtins

import numpy as np

from ..config import floatx as _floatx
from .op import Op, _array, op
from .table import TABLE
from .tape import unbroadcast


def _axis(axis):
    """Keras's axis argument as NumPy takes it (a list becomes a tuple)."""
    return tuple(axis) if isinstance(axis, list) else axis


def _weak_dtype(*values, floating=False):
    """The dtype Keras gives an array made from ``values`` when none is named.

    Python floats are "weak" (they take the arrays' float type, or the default float
    type, ``nf.config.floatx()``); Python ints give int32 unless an integer array is
    wider; arrays keep theirs. ``floating``: the result is a float (linspace).
    """
    python = (bool, int, float)                      # NumPy scalars (np.float64 is a float) count as arrays
    arrays = [np.asarray(v).dtype for v in values if v is not None and type(v) not in python]
    kinds = {type(v) for v in values if type(v) in python}
    floats = [d for d in arrays if d.kind in "fc"]
    if floats:
        return np.result_type(*floats)
    if floating or float in kinds:
        return np.dtype(_floatx())
    ints = [d for d in arrays if d.kind in "iu"]
    if ints:
        return np.result_type(*ints)
    if int in kinds:
        return np.dtype("int32")
    return np.dtype(bool) if arrays or kinds else np.dtype(_floatx())


# ---------------------------------------------------------------------------------------------
# Reshaping and moving axes: δ is reshaped or moved back.

@op("reshape")
def reshape(x, newshape):
    """x with shape ``newshape`` (one entry may be −1)."""
    return np.reshape(x, newshape)


@reshape.defvjp
def reshape_vjp(g, out, x, newshape):
    return np.reshape(g, np.shape(x)), None


@op("transpose")
def transpose(x, axes=None):
    """x with its axes permuted (reversed when ``axes`` is None; negative axes count from the end)."""
    return np.transpose(x, _axis(axes))


@transpose.defvjp
def transpose_vjp(g, out, x, axes=None):
    if axes is None:
        return np.transpose(g), None
    return np.transpose(g, np.argsort([a % np.ndim(x) for a in axes])), None     # the inverse permutation


@op("expand_dims")
def expand_dims(x, axis):
    """x with new axes of length 1 at ``axis`` (an int or a tuple; positions in the output)."""
    return np.expand_dims(x, _axis(axis))


@expand_dims.defvjp
def expand_dims_vjp(g, out, x, axis):
    return np.reshape(g, np.shape(x)), None


@op("squeeze")
def squeeze(x, axis=None):
    """x without its axes of length 1 (only those in ``axis`` when given).

    Raises
    ------
    ValueError
        An axis in ``axis`` whose length is not 1 (NumPy's error).
    """
    return np.squeeze(x, axis=_axis(axis))


@squeeze.defvjp
def squeeze_vjp(g, out, x, axis=None):
    return np.reshape(g, np.shape(x)), None


@op("ravel")
def ravel(x):
    """x as a 1-D array, in C order (keras.ops.ravel; Keras has no ``flatten`` op)."""
    return np.ravel(x)


@ravel.defvjp
def ravel_vjp(g, out, x):
    return (np.reshape(g, np.shape(x)),)


@op("moveaxis")
def moveaxis(x, source, destination):
    """x with axes ``source`` moved to positions ``destination`` (ints or sequences); the others keep their order."""
    return np.moveaxis(x, source, destination)


@moveaxis.defvjp
def moveaxis_vjp(g, out, x, source, destination):
    return np.moveaxis(g, destination, source), None, None


@op("swapaxes")
def swapaxes(x, axis1, axis2):
    """x with axes ``axis1`` and ``axis2`` exchanged."""
    return np.swapaxes(x, axis1, axis2)


@swapaxes.defvjp
def swapaxes_vjp(g, out, x, axis1, axis2):
    return np.swapaxes(g, axis1, axis2), None, None


@op("flip")
def flip(x, axis=None):
    """x reversed along ``axis`` (all axes when None)."""
    return np.flip(x, axis=_axis(axis))


@flip.defvjp
def flip_vjp(g, out, x, axis=None):
    return np.flip(g, axis=_axis(axis)), None


@op("roll")
def roll(x, shift, axis=None):
    """x shifted by ``shift`` along ``axis``, cyclically: ``out[(i + shift) % n] = x[i]`` (flattened when None)."""
    return np.roll(x, shift, axis=_axis(axis))


@roll.defvjp
def roll_vjp(g, out, x, shift, axis=None):
    return np.roll(g, np.negative(shift), axis=_axis(axis)), None, None          # rolled back


@op("tril")
def tril(x, k=0):
    """x with the entries above its k-th diagonal zeroed (the last two axes; k > 0 keeps more)."""
    return np.tril(x, k=k)


@tril.defvjp
def tril_vjp(g, out, x, k=0):
    return np.tril(g, k=k), None                  # the zeroed entries do not reach the output


@op("triu")
def triu(x, k=0):
    """x with the entries below its k-th diagonal zeroed (the last two axes; k < 0 keeps more)."""
    return np.triu(x, k=k)


@triu.defvjp
def triu_vjp(g, out, x, k=0):
    return np.triu(g, k=k), None


# ---------------------------------------------------------------------------------------------
# Indexing: δ is scattered back to the entries that were read (np.add.at sums repeats).

@op("get_item")
def get_item(x, key):
    """x[key]: NumPy's basic and advanced indexing."""
    return np.asarray(x)[key]


@get_item.defvjp
def get_item_vjp(g, out, x, key):
    gx = np.zeros(np.shape(x), g.dtype)
    np.add.at(gx, key, g)                        # an index used twice gets both δ
    return gx, None


@op("take")
def take(x, indices, axis=None):
    """The entries of x at integer ``indices`` along ``axis`` (of the flattened x when None); NumPy's take.

    Output shape: x.shape[:axis] + indices.shape + x.shape[axis+1:]. Negative indices
    count from the end; an index may repeat (δ at that entry is then the sum).

    Raises
    ------
    IndexError
        An index out of range (NumPy's error; JAX would clip it, TensorFlow raise).

    Examples
    --------
    >>> take(np.array([[1.0, 2.0], [3.0, 4.0]]), [1, 1, 0], axis=0)
    array([[3., 4.],
           [3., 4.],
           [1., 2.]])
    """
    return np.take(x, indices, axis=_axis(axis))


@take.defvjp
def take_vjp(g, out, x, indices, axis=None):
    shape = np.shape(x)
    idx = np.asarray(indices)
    if axis is None:
        gx = np.zeros(int(np.prod(shape)), g.dtype)
        np.add.at(gx, idx, g)                                      # repeated indices sum their δ
        return gx.reshape(shape), None, None
    a = axis % len(shape)
    gx = np.zeros(shape, g.dtype)
    g_first = np.moveaxis(g, tuple(range(a, a + idx.ndim)), tuple(range(idx.ndim)))   # indices' axes first
    np.add.at(np.moveaxis(gx, a, 0), idx, g_first)                 # a view of gx: writes gx
    return gx, None, None


def _along_axis_index(shape, indices, axis):
    """The fancy index NumPy's take_along_axis reads x[...] with (aranges on the other axes)."""
    idx = []
    for d, n in enumerate(shape):
        if d == axis:
            idx.append(indices)
        else:
            idx.append(np.arange(n).reshape([-1 if e == d else 1 for e in range(len(shape))]))
    return tuple(idx)


@op("take_along_axis")
def take_along_axis(x, indices, axis=None):
    """``out[..., i, ...] = x[..., indices[..., i, ...], ...]`` along ``axis`` (NumPy's take_along_axis).

    ``indices`` has x's number of axes (other axes broadcast against x's); ``axis``
    None: x is flattened and ``indices`` is 1-D. Used with argsort/argmax results
    (``take_along_axis(x, argsort(x), axis)`` is ``sort(x, axis)``).

    Raises
    ------
    ValueError, IndexError
        Indices of another number of axes, or out of range (NumPy's errors).
    """
    return np.take_along_axis(x, np.asarray(indices), axis=axis)


@take_along_axis.defvjp
def take_along_axis_vjp(g, out, x, indices, axis=None):
    shape = np.shape(x)
    idx = np.asarray(indices)
    if axis is None:
        gx = np.zeros(int(np.prod(shape)), g.dtype)
        np.add.at(gx, idx, g)
        return gx.reshape(shape), None, None
    gx = np.zeros(shape, g.dtype)
    np.add.at(gx, _along_axis_index(shape, idx, axis % len(shape)), g)        # repeats and broadcast axes sum
    return gx, None, None


def _slice_key(shape, start_indices, sizes, where):
    """The basic-indexing key of the block at ``start_indices`` of ``sizes``, checked against ``shape``."""
    start = [int(s) for s in np.asarray(start_indices).reshape(-1)]
    sizes = [int(s) for s in sizes]
    if len(start) != len(sizes) or len(start) != len(shape):
        raise ValueError(f"ops.{where}: start_indices {start} and the block's shape {tuple(sizes)} need one "
                         f"entry per axis of the input, of shape {tuple(shape)}.")
    for s, n, d in zip(start, sizes, shape):
        if s < 0 or n < 0 or s + n > d:
            raise ValueError(f"ops.{where}: the block at {start} of shape {tuple(sizes)} does not fit in the "
                             f"input of shape {tuple(shape)}.")
    return tuple(builtins.slice(s, s + n) for s, n in zip(start, sizes))


@op("slice")
def slice(inputs, start_indices, shape):                 # noqa: A001 — keras.ops's name
    """The block ``inputs[s₀:s₀+n₀, s₁:s₁+n₁, ...]``, ``start_indices`` s and ``shape`` n (keras.ops.slice).

    Raises
    ------
    ValueError
        start_indices or shape without one entry per axis, or a block that does not
        fit (Keras's NumPy backend raises IndexError; JAX clips the start).

    Examples
    --------
    >>> slice(np.arange(12.0).reshape(3, 4), (1, 1), (2, 2))
    array([[ 5.,  6.],
           [ 9., 10.]])
    """
    return np.asarray(inputs)[_slice_key(np.shape(inputs), start_indices, shape, "slice")]


@slice.defvjp
def slice_vjp(g, out, inputs, start_indices, shape):
    gx = np.zeros(np.shape(inputs), g.dtype)
    gx[_slice_key(gx.shape, start_indices, shape, "slice")] = g              # δ back in its block, 0 elsewhere
    return gx, None, None


@op("slice_update")
def slice_update(inputs, start_indices, updates):
    """A copy of ``inputs`` with the block at ``start_indices`` replaced by ``updates`` (keras.ops.slice_update).

    Unlike Keras's NumPy backend, ``inputs`` is not written in place (a traced input
    stays what the tape recorded). ``updates`` takes inputs' dtype.

    Raises
    ------
    ValueError
        start_indices without one entry per axis, updates of another number of axes,
        or a block that does not fit.
    """
    res = np.array(inputs, copy=True)
    res[_slice_key(res.shape, start_indices, np.shape(updates), "slice_update")] = updates
    return res


@slice_update.defvjp
def slice_update_vjp(g, out, inputs, start_indices, updates, need=(True, False, True)):
    key = _slice_key(np.shape(inputs), start_indices, np.shape(updates), "slice_update")
    gi = None
    if need[0]:
        gi = np.array(g, copy=True)
        gi[key] = 0                                  # the replaced entries do not reach the output
    gu = g[key] if need[2] else None
    return gi, None, gu


# ---------------------------------------------------------------------------------------------
# Joining and splitting: δ is split or joined the other way.

@op("concatenate", takes_list=True)
def concatenate(xs, axis=0):
    """The tensors of ``xs`` joined along an existing ``axis`` (their other axes equal).

    Raises
    ------
    ValueError
        Tensors whose other axes differ (NumPy's error).

    Examples
    --------
    >>> concatenate([np.zeros((1, 2)), np.ones((2, 2))]).shape
    (3, 2)
    """
    return np.concatenate(xs, axis=_axis(axis))


@concatenate.defvjp
def concatenate_vjp(g, out, xs, axis=0):
    if axis is None:                                              # NumPy flattens each tensor first
        cuts = np.cumsum([np.size(x) for x in xs])[:-1]
        return [p.reshape(np.shape(x)) for p, x in zip(np.split(g, cuts), xs)]
    a = axis % g.ndim
    cuts = np.cumsum([np.shape(x)[a] for x in xs])[:-1]
    return np.split(g, cuts, axis=a)                              # one δ per tensor of the list


@op("stack", takes_list=True)
def stack(x, axis=0):
    """The tensors of ``x`` (one shape) stacked along a new ``axis`` of length len(x).

    Raises
    ------
    ValueError
        Tensors of different shapes (NumPy's error).
    """
    return np.stack(x, axis=axis)


@stack.defvjp
def stack_vjp(g, out, x, axis=0):
    a = axis % g.ndim
    return [np.take(g, i, axis=a) for i in range(len(x))]        # the i-th slice of δ to the i-th tensor


@op("split")
def split(x, indices_or_sections, axis=0):
    """x cut along ``axis`` into a list: ``indices_or_sections`` equal parts (an int), or cut before each index.

    Returns a list of tensors (on a tape, a list of traced values; δ at a part that the
    loss does not use is zero).

    Raises
    ------
    ValueError
        An int that does not divide the axis's length (NumPy's error; use cut indices).

    Examples
    --------
    >>> [p.shape for p in split(np.zeros((5, 2)), [2], axis=0)]
    [(2, 2), (3, 2)]
    """
    return np.split(x, indices_or_sections, axis=axis)


@split.defvjp
def split_vjp(g, out, x, indices_or_sections, axis=0):
    parts = g if isinstance(g, list) else [g]                    # the tape gives one part's δ unlisted
    return np.concatenate(parts, axis=axis), None, None          # one δ per part, joined back


@op("unstack")
def unstack(x, num=None, axis=0):
    """The slices of x along ``axis``, as a list of x.shape[axis] tensors (keras.ops.unstack).

    Raises
    ------
    ValueError
        ``num`` given and not x.shape[axis] (Keras's NumPy backend ignores it; TensorFlow checks it).
    """
    x = np.asarray(x)
    if num is not None and int(num) != x.shape[axis]:
        raise ValueError(f"ops.unstack: num={num} but axis {axis} of x (shape {x.shape}) has length "
                         f"{x.shape[axis]}.")
    return list(np.moveaxis(x, axis, 0))


@unstack.defvjp
def unstack_vjp(g, out, x, num=None, axis=0):
    return np.stack(g if isinstance(g, list) else [g], axis=axis), None, None


# ---------------------------------------------------------------------------------------------
# Copying: δ of the copies is summed back.

@op("broadcast_to")
def broadcast_to(x, shape):
    """x broadcast to ``shape`` (NumPy's rules: new leading axes, axes of length 1 repeated).

    Raises
    ------
    ValueError
        x does not broadcast to ``shape`` (NumPy's error).
    """
    return np.broadcast_to(x, shape)


@broadcast_to.defvjp
def broadcast_to_vjp(g, out, x, shape):
    return unbroadcast(g, np.shape(x), "broadcast_to"), None     # the copies' δ summed


@op("tile")
def tile(x, repeats):
    """x repeated ``repeats[i]`` times along each axis i, as whole blocks (NumPy's tile).

    Fewer repeats than axes: 1s are put in front; more: x gets leading axes of length 1.

    Examples
    --------
    >>> tile(np.array([1.0, 2.0]), 2)
    array([1., 2., 1., 2.])
    """
    return np.tile(x, repeats)


@tile.defvjp
def tile_vjp(g, out, x, repeats):
    shape = np.shape(x)
    reps = (int(repeats),) if np.ndim(repeats) == 0 else tuple(int(r) for r in repeats)
    d = max(len(shape), len(reps))
    xs = (1,) * (d - len(shape)) + tuple(shape)
    rs = (1,) * (d - len(reps)) + reps
    blocks = np.reshape(g, [n for pair in zip(rs, xs) for n in pair])   # (r₀, n₀, r₁, n₁, ...)
    return blocks.sum(axis=tuple(range(0, 2 * d, 2))).reshape(shape), None  # Σ over the copies


@op("repeat")
def repeat(x, repeats, axis=None):
    """Each entry of x repeated ``repeats`` times along ``axis`` (of the flattened x when None); NumPy's repeat.

    ``repeats``: an int, or one count per entry along the axis.

    Examples
    --------
    >>> repeat(np.array([1.0, 2.0]), [2, 1])
    array([1., 1., 2.])
    """
    return np.repeat(x, repeats, axis=axis)


@repeat.defvjp
def repeat_vjp(g, out, x, repeats, axis=None):
    shape = np.shape(x)
    n = int(np.prod(shape)) if axis is None else shape[axis]
    src = np.repeat(np.arange(n), repeats)                       # output position → the entry it copies
    if axis is None:
        gx = np.zeros(n, g.dtype)
        np.add.at(gx, src, g)
        return gx.reshape(shape), None, None
    gx = np.zeros(shape, g.dtype)
    np.add.at(np.moveaxis(gx, axis, 0), src, np.moveaxis(g, axis, 0))     # Σ of each entry's copies
    return gx, None, None


_COPY_MODES = ("constant", "empty", "edge", "reflect", "symmetric", "wrap")


@op("pad")
def pad(x, pad_width, mode="constant", constant_values=None):
    """x with ``pad_width`` = ((before, after), ...) entries added around each axis (NumPy's pad).

    ``mode``: "constant" (``constant_values``, 0 by default), "edge", "reflect",
    "symmetric", "wrap", ... — NumPy's and Keras's modes.

    Gradient: each padded entry is a copy of an entry of x (or a constant), so δ at
    x sums the δ of its copies; the constant gets none. Back-propagating the modes
    computed from statistics ("linear_ramp", "maximum", "mean", "median", "minimum")
    raises NotImplementedError.

    Raises
    ------
    ValueError
        ``constant_values`` with a mode other than "constant" (Keras's error).

    Examples
    --------
    >>> pad(np.array([1.0, 2.0]), (1, 2))
    array([0., 1., 2., 0., 0.])
    """
    if constant_values is not None:
        if mode != "constant":
            raise ValueError(f"ops.pad: constant_values can only be given with mode='constant'; got mode={mode!r}.")
        return np.pad(x, pad_width, mode=mode, constant_values=constant_values)
    return np.pad(x, pad_width, mode=mode)


@pad.defvjp
def pad_vjp(g, out, x, pad_width, mode="constant", constant_values=None):
    if mode not in _COPY_MODES:
        raise NotImplementedError(f"ops.pad: no gradient for mode={mode!r}; netfit differentiates the modes "
                                  f"that copy entries: {', '.join(_COPY_MODES)}.")
    size = int(np.size(x))
    where = np.arange(size).reshape(np.shape(x))                # pad the entries' numbers the same way
    if mode in ("constant", "empty"):
        where = np.pad(where, pad_width, mode="constant", constant_values=-1)
    else:
        where = np.pad(where, pad_width, mode=mode)
    keep = where >= 0
    gx = np.bincount(where[keep], weights=g[keep], minlength=size)          # Σ of each entry's copies
    return gx.astype(g.dtype).reshape(np.shape(x)), None, None, None


# ---------------------------------------------------------------------------------------------
# Sorting.

@op("sort")
def sort(x, axis=-1):
    """x sorted ascending along ``axis`` (of the flattened x when None).

    Gradient: δ goes back to where each sorted entry came from (a permutation, through
    argsort); between equal entries the choice is argsort's.
    """
    return np.sort(x, axis=axis)


@sort.defvjp
def sort_vjp(g, out, x, axis=-1):
    x = np.asarray(x)
    if axis is None:
        gx = np.zeros(x.size, g.dtype)
        gx[np.argsort(x, axis=None)] = g
        return gx.reshape(x.shape), None
    gx = np.zeros(x.shape, g.dtype)
    np.put_along_axis(gx, np.argsort(x, axis=axis), g, axis=axis)      # out[i] = x[perm[i]]: δ to x[perm[i]]
    return gx, None


@op("argsort", instead="ops.sort for the sorted values, or ops.take_along_axis(x, ops.argsort(x), axis)")
def argsort(x, axis=-1):
    """The indices that sort x along ``axis`` (int32, as Keras's); no gradient (an integer output)."""
    return np.argsort(x, axis=axis).astype("int32")


# ---------------------------------------------------------------------------------------------
# Types, conversion, and the op that cuts a path.

@op("cast")
def cast(x, dtype):
    """x as ``dtype``; δ flows back only between float types."""
    return np.asarray(x).astype(dtype)


@cast.defvjp
def cast_vjp(g, out, x, dtype):
    x = np.asarray(x)
    return (g.astype(x.dtype) if x.dtype.kind == "f" else None), None


@op("convert_to_tensor")
def convert_to_tensor(x, dtype=None, sparse=None, ragged=None):
    """x as a NumPy array (netfit's tensor), of ``dtype`` when given (keras.ops.convert_to_tensor).

    An array keeps its dtype; Python numbers and lists follow Keras: floats become the
    default float type (``nf.config.floatx()``), ints int32. A traced value stays on the
    tape: δ passes through (cast back to the input's float type). A list of traced
    values becomes a constant: use :func:`stack` to keep them traced.

    Raises
    ------
    ValueError
        ``sparse=True`` or ``ragged=True`` (NumPy has neither; Keras's NumPy backend raises too).
    """
    if sparse:
        raise ValueError("ops.convert_to_tensor: sparse=True is not supported (netfit's tensors are NumPy arrays).")
    if ragged:
        raise ValueError("ops.convert_to_tensor: ragged=True is not supported (netfit's tensors are NumPy arrays).")
    if dtype is not None:
        return np.asarray(x, dtype=dtype)
    if isinstance(x, (np.ndarray, np.generic)):
        return np.asarray(x)
    a = np.asarray(x)
    if a.dtype.kind == "f" and a.dtype == np.float64:
        return a.astype(_floatx())
    if a.dtype.kind in "iu" and a.dtype.itemsize == 8:
        return a.astype("int32")
    return a


@convert_to_tensor.defvjp
def convert_to_tensor_vjp(g, out, x, dtype=None, sparse=None, ragged=None):
    x = np.asarray(x)
    return (g.astype(x.dtype) if x.dtype.kind == "f" else None), None, None, None


@op("stop_gradient")
def stop_gradient(variable):
    """The value itself, but no δ flows back through it: the op that cuts a path of back-propagation.

    ``ops.stop_gradient(t)`` in a loss makes t a constant for the gradient (a target
    network's output, a straight-through estimator's ``x + stop_gradient(q − x)``,
    a normalizer that should not be trained through). The weights that reach the loss
    only through it get a zero gradient.
    """
    return variable


@stop_gradient.defvjp
def stop_gradient_vjp(g, out, variable):
    return (None,)                                # nothing flows back: the path ends here


@op("one_hot", instead="a softmax of scores; one-hot labels are constants (compute them from integer labels)")
def one_hot(x, num_classes, axis=-1, dtype=None):
    """Integer labels x as one-hot vectors of length ``num_classes`` along ``axis`` (keras.ops.one_hot).

    ``out[..., c, ...] = 1 if x[...] == c else 0``; a negative label gives a row of
    zeros (Keras's NumPy backend). ``dtype``: the default float type by default. No
    gradient: x is an integer index. Keras's ``sparse=`` is not taken (no sparse
    tensors in NumPy).

    Examples
    --------
    >>> one_hot(np.array([1, 0]), 3)
    array([[0., 1., 0.],
           [1., 0., 0.]], dtype=float32)
    """
    x = np.asarray(x).astype(np.int64)
    flat = x.reshape(-1)
    res = np.zeros((flat.size, int(num_classes)), dtype=dtype or _floatx())
    ok = flat >= 0
    res[np.arange(flat.size)[ok], flat[ok]] = 1
    res = res.reshape(x.shape + (int(num_classes),))
    return res if axis == -1 else np.moveaxis(res, -1, axis)


# ---------------------------------------------------------------------------------------------
# Making arrays: constants (no inputs, no gradient), and arrays like another.

@op("zeros")
def zeros(shape, dtype=None):
    """An array of ``shape`` full of 0 (of the default float type unless ``dtype``)."""
    return np.zeros(shape, dtype=dtype or _floatx())


@op("ones")
def ones(shape, dtype=None):
    """An array of ``shape`` full of 1 (of the default float type unless ``dtype``)."""
    return np.ones(shape, dtype=dtype or _floatx())


@op("full")
def full(shape, fill_value, dtype=None):
    """An array of ``shape`` full of ``fill_value`` (broadcast; the default float type unless ``dtype``).

    A traced ``fill_value`` gets δ summed over the copies.
    """
    return np.full(shape, fill_value, dtype=dtype or _floatx())


@full.defvjp
def full_vjp(g, out, shape, fill_value, dtype=None):
    return None, g, None                          # the tape sums δ down to fill_value's shape


@op("zeros_like")
def zeros_like(x, dtype=None):
    """Zeros of x's shape (and dtype unless ``dtype``); δ at x is zero (the output does not depend on x)."""
    return np.zeros_like(x, dtype=dtype)


@zeros_like.defvjp
def zeros_like_vjp(g, out, x, dtype=None):
    return None, None


@op("ones_like")
def ones_like(x, dtype=None):
    """Ones of x's shape (and dtype unless ``dtype``); δ at x is zero."""
    return np.ones_like(x, dtype=dtype)


@ones_like.defvjp
def ones_like_vjp(g, out, x, dtype=None):
    return None, None


@op("full_like")
def full_like(x, fill_value, dtype=None):
    """``fill_value`` in x's shape (and dtype unless ``dtype``); δ at x is zero, at a traced fill_value Σ δ."""
    return np.full_like(x, fill_value, dtype=dtype)


@full_like.defvjp
def full_like_vjp(g, out, x, fill_value, dtype=None):
    return None, g, None


@op("arange", instead="a constant ramp: start + step * ops.arange(n) with start, step traced")
def arange(start, stop=None, step=None, dtype=None):
    """start, start + step, ... below stop (one argument: 0 … start − 1); NumPy's arange.

    dtype by Keras's rule: int32 for Python ints, the default float type for Python floats.

    Examples
    --------
    >>> arange(3)
    array([0, 1, 2], dtype=int32)
    """
    if dtype is None:
        dtype = _weak_dtype(start, stop, step)
    if stop is None:
        start, stop = 0, start
    return np.arange(start, stop, 1 if step is None else step, dtype=dtype)


@op("linspace", instead="a constant grid: start + (stop - start) * ops.linspace(0.0, 1.0, num)")
def linspace(start, stop, num=50, endpoint=True, retstep=False, dtype=None, axis=0):
    """``num`` evenly spaced values from start to stop (stop included when ``endpoint``); NumPy's linspace.

    dtype: the default float type unless ``dtype`` or a float64 start/stop. With
    ``retstep`` a pair (values, step).
    """
    if dtype is None:
        dtype = _weak_dtype(start, stop, floating=True)
    return np.linspace(start, stop, num=num, endpoint=endpoint, retstep=retstep, dtype=dtype, axis=axis)


@op("eye")
def eye(N, M=None, k=0, dtype=None):                             # noqa: N803 — keras.ops's names
    """The N×M matrix (M = N by default) with ones on its k-th diagonal (the default float type)."""
    return np.eye(N, M=M, k=k, dtype=dtype or _floatx())


@op("identity")
def identity(n, dtype=None):
    """The n×n identity matrix (the default float type)."""
    return np.identity(n, dtype=dtype or _floatx())


# ---------------------------------------------------------------------------------------------
# What a tensor's shape is: Python ints, never on a tape.

class _Metadata(Op):
    """An op that reads a tensor's shape, not its values: Python ints out, never recorded on a tape."""

    def __call__(self, x):
        return self.forward(_array(x, self.name))


def _metadata(name):
    def make(forward):
        made = _Metadata(name, forward, "shape")
        TABLE[name] = made
        return made
    return make


@_metadata("shape")
def shape(x):
    """x's shape, a tuple of Python ints (keras.ops.shape).

    Examples
    --------
    >>> shape(np.zeros((8, 12)))
    (8, 12)
    """
    return tuple(int(n) for n in np.shape(x))


@_metadata("size")
def size(x):
    """The number of entries of x, a Python int."""
    return int(np.size(x))


@_metadata("ndim")
def ndim(x):
    """x's number of axes, a Python int."""
    return int(np.ndim(x))
