"""Products and matrix parts: matmul, dot, tensordot, einsum, inner, outer, vdot, norm, trace, diagonal, diag.

The VJP of a product is a product with δ: for out = Σ a·b over the contracted
indices, δ at ``a`` is δ contracted with ``b`` over the indices ``a`` does not share
with the output (and the same for ``b``). The matrix parts (trace, diagonal, diag)
put δ back on the diagonal they read, zeros elsewhere.
"""
import string

import numpy as np

from ..config import dtype as _default_dtype
from .op import op


@op("matmul")
def matmul(x1, x2):
    """x1 @ x2 (NumPy's matmul: batched over leading axes; a vector is promoted, then its axis dropped)."""
    return np.matmul(x1, x2)


@matmul.defvjp
def matmul_vjp(g, out, x1, x2, need=(True, True)):
    a, b = np.asarray(x1), np.asarray(x2)
    if a.ndim == 1 and b.ndim == 1:                       # a · b, a scalar
        return (g * b if need[0] else None), (g * a if need[1] else None)
    a2 = a[None, :] if a.ndim == 1 else a                 # vectors as 1×k and k×1 matrices
    b2 = b[:, None] if b.ndim == 1 else b
    g2 = g
    if a.ndim == 1:
        g2 = np.expand_dims(g2, -2)
    if b.ndim == 1:
        g2 = np.expand_dims(g2, -1)
    ga = np.matmul(g2, np.swapaxes(b2, -1, -2)) if need[0] else None      # δ Bᵀ
    gb = np.matmul(np.swapaxes(a2, -1, -2), g2) if need[1] else None      # Aᵀ δ
    if ga is not None and a.ndim == 1:
        ga = ga[..., 0, :]
    if gb is not None and b.ndim == 1:
        gb = gb[..., :, 0]
    return ga, gb                                         # batch axes are summed back by the tape


def _contract_vjp(g, a, b, a_axes, b_axes, need):
    """δ at a and b of out = tensordot(a, b, (a_axes, b_axes)), whose axes are a's free ones, then b's.

    δ at a: δ contracted with b over b's free axes; what is left is a's free axes, then
    a's contracted axes in the order of b's axes they pair with: transposed back to a's order.
    """
    a, b = np.asarray(a), np.asarray(b)
    free_a = [i for i in range(a.ndim) if i not in a_axes]
    free_b = [i for i in range(b.ndim) if i not in b_axes]
    nfa = len(free_a)
    ga = gb = None
    if need[0]:
        t = np.tensordot(g, b, axes=(list(range(nfa, g.ndim)), free_b))
        src = free_a + [a_axes[i] for i in np.argsort(b_axes, kind="stable")]
        ga = np.transpose(t, np.argsort(src))
    if need[1]:
        t = np.tensordot(a, g, axes=(free_a, list(range(nfa))))
        src = [b_axes[i] for i in np.argsort(a_axes, kind="stable")] + free_b
        gb = np.transpose(t, np.argsort(src))
    return ga, gb


def _tensordot_axes(axes, nda, ndb):
    """``axes`` of tensordot as two lists of non-negative axes (a's, b's)."""
    if np.ndim(axes) == 0:
        n = int(axes)
        return list(range(nda - n, nda)), list(range(n))
    a_axes, b_axes = axes
    a_axes = [int(a_axes)] if np.ndim(a_axes) == 0 else [int(i) for i in a_axes]
    b_axes = [int(b_axes)] if np.ndim(b_axes) == 0 else [int(i) for i in b_axes]
    return [i % nda for i in a_axes], [i % ndb for i in b_axes]


@op("dot")
def dot(x1, x2):
    """NumPy's (and Keras's) dot product.

    Scalars: x1 · x2 elementwise; 1-D with 1-D: Σᵢ x1ᵢ x2ᵢ; 2-D with 2-D: the matrix
    product; N-D with 1-D: Σ over x1's last axis and x2; N-D with M-D (M ≥ 2): Σ over
    x1's last axis and x2's second-to-last, ``dot(a, b)[i, j, k, m] = Σ a[i, j, :] b[k, :, m]``
    (unlike matmul, x2's leading axes are not batch axes: they appear in the output).

    Raises
    ------
    ValueError
        The contracted axes differ in length (NumPy's error).

    Examples
    --------
    >>> dot(np.ones((2, 3)), np.ones((4, 3, 5))).shape
    (2, 4, 5)
    """
    return np.dot(x1, x2)


@dot.defvjp
def dot_vjp(g, out, x1, x2, need=(True, True)):
    a, b = np.asarray(x1), np.asarray(x2)
    if a.ndim == 0 or b.ndim == 0:
        return g * b, g * a                     # a product with a scalar; the tape sums δ back to the scalar
    return _contract_vjp(g, a, b, [a.ndim - 1], [max(b.ndim - 2, 0)], need)


@op("tensordot")
def tensordot(x1, x2, axes=2):
    """Σ of x1 · x2 over pairs of axes (NumPy's and Keras's tensordot).

    ``axes``: an int N (x1's last N axes with x2's first N), or a pair of axis lists
    ``(axes1, axes2)`` contracted pairwise. The output's axes are x1's free axes, then
    x2's, each in order.

    Raises
    ------
    ValueError
        Paired axes of different lengths (NumPy's error).

    Examples
    --------
    >>> tensordot(np.ones((2, 3, 4)), np.ones((4, 3, 5)), axes=([1, 2], [1, 0])).shape
    (2, 5)
    """
    return np.tensordot(x1, x2, axes=tuple(axes) if isinstance(axes, list) else axes)


@tensordot.defvjp
def tensordot_vjp(g, out, x1, x2, axes=2, need=(True, True)):
    a_axes, b_axes = _tensordot_axes(axes, np.ndim(x1), np.ndim(x2))
    return _contract_vjp(g, x1, x2, a_axes, b_axes, need)


@op("inner")
def inner(x1, x2):
    """Σ over the last axis of both: ``inner(a, b)[i..., j...] = Σₖ a[i..., k] b[j..., k]``; a scalar multiplies.

    Output shape: x1.shape[:-1] + x2.shape[:-1] (NumPy's and Keras's inner).

    Examples
    --------
    >>> float(inner(np.array([1.0, 2.0]), np.array([3.0, 4.0])))
    11.0
    """
    return np.inner(x1, x2)


@inner.defvjp
def inner_vjp(g, out, x1, x2, need=(True, True)):
    a, b = np.asarray(x1), np.asarray(x2)
    if a.ndim == 0 or b.ndim == 0:
        return g * b, g * a
    return _contract_vjp(g, a, b, [a.ndim - 1], [b.ndim - 1], need)


@op("outer")
def outer(x1, x2):
    """The outer product of the flattened inputs: ``out[i, j] = x1.ravel()[i] · x2.ravel()[j]`` (NumPy, Keras).

    Output shape: (x1.size, x2.size).
    """
    return np.outer(x1, x2)


@outer.defvjp
def outer_vjp(g, out, x1, x2, need=(True, True)):
    a, b = np.asarray(x1), np.asarray(x2)
    ga = (g @ b.ravel()).reshape(a.shape) if need[0] else None        # Σⱼ δᵢⱼ bⱼ
    gb = (a.ravel() @ g).reshape(b.shape) if need[1] else None        # Σᵢ aᵢ δᵢⱼ
    return ga, gb


@op("vdot")
def vdot(x1, x2):
    """Σ x1.ravel() · x2.ravel(): the dot product of the flattened inputs, of equal size (NumPy, Keras).

    For complex inputs NumPy conjugates x1; netfit differentiates real inputs only.
    """
    return np.vdot(x1, x2)


@vdot.defvjp
def vdot_vjp(g, out, x1, x2):
    a, b = np.asarray(x1), np.asarray(x2)
    return g * b.reshape(a.shape), g * a.reshape(b.shape)      # δ is a scalar


def _einsum_spec(subscripts, shapes):
    """(input subscripts, output subscripts) of an einsum, explicit and with any '...' spelled out as letters.

    Each ellipsis becomes letters no subscript uses, right-aligned as NumPy broadcasts
    them; implicit mode's output is the ellipsis, then the letters used exactly once
    in ASCII order (NumPy's rule).
    """
    s = subscripts.replace(" ", "")
    ins, outs = s.split("->") if "->" in s else (s, None)
    ins = ins.split(",")
    if len(ins) != len(shapes):
        raise ValueError(f"ops.einsum: {subscripts!r} names {len(ins)} operands, got {len(shapes)}.")
    spare = [c for c in string.ascii_letters if c not in s]
    counts = [len(shape) - (len(sub) - 3) if "..." in sub else 0 for sub, shape in zip(ins, shapes)]
    ell = "".join(spare[:max(counts, default=0)])
    ins = [sub.replace("...", ell[len(ell) - n:] if n else "") for sub, n in zip(ins, counts)]
    if outs is None:
        once = [c for c in set("".join(ins)) if "".join(ins).count(c) == 1 and c not in ell]
        outs = ell + "".join(sorted(once))
    else:
        outs = outs.replace("...", ell)
    return ins, outs


@op("einsum")
def einsum(subscripts, *operands, **kwargs):
    """Einstein summation (NumPy's and Keras's einsum): products of the operands, summed over the indices
    that are not in the output.

    ``einsum("ij,jk->ik", a, b)`` is a @ b, ``"bij,bjk->bik"`` a batched matmul,
    ``"ij->ji"`` a transpose, ``"ij->"`` a sum, ``"i,i->"`` a dot product,
    ``"bhqd,bhkd->bhqk"`` attention scores. Implicit mode (no ``->``) and ``...`` are
    NumPy's; ``kwargs`` (``optimize=``) go to np.einsum.

    Gradient: δ at operand k is the einsum of δ (with the output's subscripts) and
    the other operands into operand k's subscripts; an index of operand k that no
    other operand and not the output has was summed inside operand k alone, so δ is
    the same along it (broadcast).

    Raises
    ------
    NotImplementedError
        Back-propagating to an operand whose subscripts repeat an index (``"ii->"``,
        ``"ii->i"``, ``"bii->b"``: a trace or a diagonal); write those with
        :func:`trace` or :func:`diagonal`.

    Examples
    --------
    >>> einsum("ij,jk->ik", np.ones((2, 3)), np.ones((3, 4))).shape
    (2, 4)
    """
    return np.einsum(subscripts, *operands, **kwargs)


@einsum.defvjp
def einsum_vjp(g, out, subscripts, *operands, need=None, **kwargs):
    ins, outs = _einsum_spec(subscripts, [np.shape(a) for a in operands])
    grads = [None]                                        # the subscripts: no gradient
    for k, a in enumerate(operands):
        if need is not None and not need[k + 1]:
            grads.append(None)
            continue
        sub = ins[k]
        twice = [c for c in sub if sub.count(c) > 1]
        if twice:
            raise NotImplementedError(
                f"ops.einsum: no gradient for operand {k} of {subscripts!r}: its subscripts {sub!r} repeat the "
                f"index {twice[0]!r} (a diagonal or a trace of that operand). Rewrite it with ops.diagonal or "
                f"ops.trace first, e.g. einsum('ii->', x) is ops.trace(x), einsum('ii->i', x) is "
                f"ops.diagonal(x), einsum('bii->bi', x) is ops.diagonal(x, axis1=1, axis2=2).")
        others = [ins[j] for j in range(len(operands)) if j != k]
        present = set(outs).union(*others)
        kept = "".join(c for c in sub if c in present)
        arrays = [operands[j] for j in range(len(operands)) if j != k]
        ga = np.einsum(",".join([outs] + others) + "->" + kept, g, *arrays)     # δ ⊗ the others → k's indices
        ga = np.expand_dims(ga, tuple(i for i, c in enumerate(sub) if c not in present))
        grads.append(np.broadcast_to(ga, np.broadcast_shapes(ga.shape, np.shape(a))))  # the tape sums size-1 axes
    return tuple(grads)


def _norm_axes(ndim, ord, axis):
    """(reduced axes, True for a matrix norm) of norm(x, ord, axis) for x of ``ndim`` axes (NumPy's rules)."""
    if axis is None:
        return tuple(range(ndim)), ndim == 2 and ord is not None
    axes = (axis,) if np.ndim(axis) == 0 else tuple(axis)
    return tuple(int(a) % ndim for a in axes), len(axes) == 2


@op("norm")
def norm(x, ord=None, axis=None, keepdims=False):               # noqa: A002 — keras.ops's name
    """A vector or matrix norm (NumPy's np.linalg.norm; Keras's keras.ops.norm).

    ``axis`` None: x's 2-norm, flattened (for a matrix and ``ord`` given, that matrix
    norm); an int: vector norms along it; a pair: matrix norms over those two axes.
    ``ord``: None or 2 for vectors ‖x‖₂ = √Σx², a number p for (Σ|x|ᵖ)^{1/p}, inf, ...;
    for matrices None or 'fro' (√Σx²), 'nuc', 1, 2, inf, ... The forward computes all
    of NumPy's norms; integer input gives a float (netfit's default float type).

    Gradient: for the 2-norm and Frobenius norm δ · x/‖x‖; for a vector p-norm (p ≥ 1)
    δ · sign(x)|x|^{p−1}/‖x‖^{p−1}. At x = 0 the norm has no derivative (its cone
    has every unit vector as a subgradient); netfit gives δ = 0 there, as PyTorch does,
    where JAX gives NaN. Add a small ε inside a square root yourself if a loss sits at 0.

    Raises
    ------
    NotImplementedError
        Back-propagating a norm other than those above (inf, 0, 'nuc', a matrix 1-, 2-
        or inf-norm, p < 1): write it from ops that have gradients, e.g.
        ``ops.max(ops.abs(x), axis)`` for ord=inf.

    Examples
    --------
    >>> float(norm(np.array([3.0, 4.0])))
    5.0
    """
    x = np.asarray(x)
    if x.dtype.kind not in "fc":
        x = x.astype(_default_dtype())
    axis = tuple(axis) if isinstance(axis, list) else axis
    return np.asarray(np.linalg.norm(x, ord=ord, axis=axis, keepdims=keepdims)).astype(x.dtype)


@norm.defvjp
def norm_vjp(g, out, x, ord=None, axis=None, keepdims=False):  # noqa: A002
    x = np.asarray(x)
    axes, matrix = _norm_axes(x.ndim, ord, axis)
    n = out if keepdims else np.expand_dims(out, axes)           # ‖x‖ and δ with the reduced axes kept
    gk = g if keepdims else np.expand_dims(g, axes)
    euclid = (ord in (None, "fro")) if matrix else (ord is None or ord == 2)
    if euclid:
        ratio = np.divide(x, n, out=np.zeros(x.shape, g.dtype), where=n > 0)              # x/‖x‖, 0 at x = 0
        return gk * ratio, None, None, None
    if not matrix and not isinstance(ord, str) and np.isfinite(ord) and ord >= 1:
        p = float(ord)
        up = np.sign(x) * np.abs(x) ** (p - 1)
        ratio = np.divide(up, n ** (p - 1), out=np.zeros(x.shape, g.dtype), where=n > 0)
        return gk * ratio, None, None, None
    raise NotImplementedError(
        f"ops.norm: no gradient for ord={ord!r} ({'matrix' if matrix else 'vector'} norm); netfit differentiates "
        f"the 2-norm, the Frobenius norm and vector p-norms with p >= 1. Write this one from ops with gradients, "
        f"e.g. ops.max(ops.abs(x), axis) for ord=inf.")


def _diagonal_scatter(g, shape, offset, axis1, axis2):
    """Zeros of ``shape`` with ``g`` (the diagonal's δ, last axis along the diagonal) put on that diagonal."""
    nd = len(shape)
    a1, a2 = axis1 % nd, axis2 % nd
    gx = np.zeros(shape, g.dtype)
    moved = np.moveaxis(gx, (a1, a2), (-2, -1))                    # a view: writing it writes gx
    i = np.arange(g.shape[-1])
    moved[..., i + max(-offset, 0), i + max(offset, 0)] = g
    return gx


@op("diagonal")
def diagonal(x, offset=0, axis1=0, axis2=1):
    """The diagonal ``x[..., i, i + offset]`` of the planes (axis1, axis2) (NumPy's and Keras's diagonal).

    Output: x's other axes in order, then the diagonal as the last axis.

    Examples
    --------
    >>> diagonal(np.arange(9.0).reshape(3, 3), offset=1)
    array([1., 5.])
    """
    return np.diagonal(x, offset=offset, axis1=axis1, axis2=axis2)


@diagonal.defvjp
def diagonal_vjp(g, out, x, offset=0, axis1=0, axis2=1):
    return _diagonal_scatter(g, np.shape(x), offset, axis1, axis2), None, None, None   # δ back on the diagonal


@op("trace")
def trace(x, offset=0, axis1=0, axis2=1):
    """Σ of the diagonal ``x[..., i, i + offset]`` of the planes (axis1, axis2) (NumPy's and Keras's trace).

    Output: x's other axes.

    Examples
    --------
    >>> float(trace(np.eye(3)))
    3.0
    """
    return np.trace(x, offset=offset, axis1=axis1, axis2=axis2)


@trace.defvjp
def trace_vjp(g, out, x, offset=0, axis1=0, axis2=1):
    d = np.diagonal(np.asarray(x), offset=offset, axis1=axis1, axis2=axis2).shape[-1]
    diag_g = np.broadcast_to(np.expand_dims(g, -1), np.shape(g) + (d,))            # ∂tr/∂xᵢᵢ = 1
    return _diagonal_scatter(diag_g, np.shape(x), offset, axis1, axis2), None, None, None


@op("diag")
def diag(x, k=0):
    """A 1-D x: the square matrix with x on its k-th diagonal; a 2-D x: its k-th diagonal (NumPy, Keras).

    Raises
    ------
    ValueError
        x of another number of axes (NumPy's error).
    """
    return np.diag(x, k=k)


@diag.defvjp
def diag_vjp(g, out, x, k=0):
    if np.ndim(x) == 1:
        return np.diagonal(g, offset=k).copy(), None                               # δ read off the diagonal
    return _diagonal_scatter(g, np.shape(x), k, 0, 1), None
