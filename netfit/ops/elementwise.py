"""Elementwise ops with broadcasting: arithmetic, powers, exponentials, comparisons.

Each VJP returns δ in the broadcast shape; the tape sums it back to each input's
shape (:func:`netfit.ops.tape.unbroadcast`).
"""
import numpy as np

from .op import op


@op("add")
def add(x1, x2):
    """x1 + x2, broadcasting."""
    return np.add(x1, x2)


@add.defvjp
def add_vjp(g, out, x1, x2):
    return g, g                                   # ∂(x1+x2)/∂x1 = ∂/∂x2 = 1: δ passes to both


@op("subtract")
def subtract(x1, x2):
    """x1 − x2, broadcasting."""
    return np.subtract(x1, x2)


@subtract.defvjp
def subtract_vjp(g, out, x1, x2):
    return g, -g


@op("multiply")
def multiply(x1, x2):
    """x1 ⊙ x2, broadcasting."""
    return np.multiply(x1, x2)


@multiply.defvjp
def multiply_vjp(g, out, x1, x2):
    return g * x2, g * x1


@op("divide")
def divide(x1, x2):
    """x1 / x2, broadcasting (Keras's true division: integers give floats)."""
    return np.true_divide(x1, x2)


@divide.defvjp
def divide_vjp(g, out, x1, x2):
    return g / x2, -g * out / x2                  # ∂(x1/x2)/∂x2 = −x1/x2² = −out/x2


@op("negative")
def negative(x):
    """−x."""
    return np.negative(x)


@negative.defvjp
def negative_vjp(g, out, x):
    return (-g,)


@op("exp")
def exp(x):
    """eˣ."""
    return np.exp(x)


@exp.defvjp
def exp_vjp(g, out, x):
    return (g * out,)                             # (eˣ)' = eˣ, the output itself


@op("log")
def log(x):
    """ln x."""
    return np.log(x)


@log.defvjp
def log_vjp(g, out, x):
    return (g / x,)
