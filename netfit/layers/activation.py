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

    def forward(self, x, training=False, call=None):
        call = self.record(call)
        self.check_input(x)
        return self.activate(x, call)

    def backward(self, delta, call=None):
        call = self.record(call)
        return self.activation_backward(delta, call) if call.need_input_grad else None
