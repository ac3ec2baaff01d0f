"""Products: matmul, dot, tensordot, einsum. The VJP of a product is a product with δ."""
import numpy as np

from .op import op


@op("matmul")
def matmul(x1, x2):
    """x1 @ x2 (NumPy's matmul: batched over leading axes; a vector is promoted, then its axis dropped)."""
    return np.matmul(x1, x2)


@matmul.defvjp
def matmul_vjp(g, out, x1, x2, need=(True, True)):
    a, b = np.asarray(x1), np.asarray(x2)
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
