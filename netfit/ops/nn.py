"""Neural-network ops: activations, softmax, cross-entropies, convolution and pooling."""
import numpy as np

from .op import op


@op("relu")
def relu(x):
    """max(x, 0)."""
    return np.maximum(x, 0)


@relu.defvjp
def relu_vjp(g, out, x):
    return (g * (x > 0),)                         # σ'(x) = 1 where x > 0, else 0
