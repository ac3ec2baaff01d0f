"""Activation as a layer of its own: a = σ(x), element by element (softmax: per row)."""
from .base import ActivatedLayer


class Activation(ActivatedLayer):
    """Apply σ to the previous layer's output; no weights.

    Shapes
    ------
    x : (n, *shape)  ->  a : (n, *shape)

    Examples
    --------
    >>> import numpy as np
    >>> layer = Activation("relu"); layer.setup((2,))
    (2,)
    >>> layer.forward(np.array([[-1.0, 2.0]]))
    array([[0., 2.]])
    """

    runs_on_gpu = True

    def __init__(self, activation, **kwargs):
        super().__init__(activation, **kwargs)

    def forward(self, x, training=False):
        self.check_input(x)
        return self.activate(x)

    def backward(self, delta, need_input_grad=True):
        return self.activation_backward(delta) if need_input_grad else None
