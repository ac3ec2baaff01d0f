"""Shape ops: reshape, transpose, indexing, casting. Their VJPs move δ back to where each value came from."""
import numpy as np

from .op import op


@op("reshape")
def reshape(x, newshape):
    """x with shape ``newshape`` (one entry may be −1)."""
    return np.reshape(x, newshape)


@reshape.defvjp
def reshape_vjp(g, out, x, newshape):
    return np.reshape(g, np.shape(x)), None


@op("transpose")
def transpose(x, axes=None):
    """x with its axes permuted (reversed when ``axes`` is None)."""
    return np.transpose(x, axes)


@transpose.defvjp
def transpose_vjp(g, out, x, axes=None):
    return np.transpose(g, None if axes is None else np.argsort(axes)), None


@op("get_item")
def get_item(x, key):
    """x[key]: NumPy's basic and advanced indexing."""
    return np.asarray(x)[key]


@get_item.defvjp
def get_item_vjp(g, out, x, key):
    gx = np.zeros(np.shape(x), g.dtype)
    np.add.at(gx, key, g)                        # an index used twice gets both δ
    return gx, None


@op("cast")
def cast(x, dtype):
    """x as ``dtype``; δ flows back only between float types."""
    return np.asarray(x).astype(dtype)


@cast.defvjp
def cast_vjp(g, out, x, dtype):
    x = np.asarray(x)
    return (g.astype(x.dtype) if x.dtype.kind == "f" else None), None
