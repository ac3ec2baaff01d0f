"""Symbolic tensors and nodes: what calling a layer on ``nf.Input(...)`` records (Keras's functional API).

    inputs = nf.Input(shape=(28, 28))                 # a Tensor: the shape of what will flow, no values
    z = Dense(128, activation="relu")(Flatten()(inputs))
    model = nf.Model(inputs, Dense(10, activation="softmax")(z))

A :class:`Tensor` stands for one edge of the graph: the per-example shape and the
float type of the arrays that will flow along it, and the :class:`Node` that makes
it. A Node is one call of a layer: the layer, its input tensors and its output
tensors. Calling a layer twice makes two Nodes of one layer, which then share its
weights. The wiring lives in the tensors and nodes only: walking back from a
model's outputs through ``tensor.node.inputs`` finds the whole graph, and the layer
itself keeps nothing of it but a list of its nodes, for ``layer.input`` and
``layer.output`` (Keras's properties).

How this differs from Keras: a Tensor carries no operators (``a + b`` on two
tensors is ``nf.layers.Add()([a, b])``; custom ops are :mod:`netfit.ops`'s).
"""
import numpy as np

__all__ = ["Tensor", "Node", "is_symbolic"]


class Tensor:
    """A symbolic tensor: a batch of arrays of shape (None, *example_shape) that a graph will compute.

    Attributes
    ----------
    shape : tuple
        ``(None,) + example_shape``, the batch axis unknown (Keras's ``KerasTensor.shape``).
    dtype : str
        "float32" or "float64" (integer for an Embedding's input).
    node : Node
        The call that makes it (an ``InputLayer``'s for a model input).
    index : int
        Which of the node's outputs it is.
    name : str
        The making layer's name.
    """

    __slots__ = ("example_shape", "dtype", "node", "index")

    def __init__(self, example_shape, dtype, node, index=0):
        self.example_shape = tuple(int(d) for d in example_shape)
        self.dtype = str(np.dtype(dtype))
        self.node, self.index = node, index

    @property
    def name(self):
        """The making layer's name (with the output's index when it makes several)."""
        name = self.node.layer.name
        return name if len(self.node.outputs) == 1 else f"{name}_{self.index}"

    @property
    def shape(self):
        return (None,) + self.example_shape

    @property
    def ndim(self):
        return len(self.example_shape) + 1

    def __repr__(self):
        return f"<Tensor shape={self.shape}, dtype={self.dtype}, name={self.name}>"

    def __bool__(self):
        raise TypeError(f"{self!r} is symbolic: it has no value to test. Build a model with nf.Model(inputs, "
                        f"outputs) and call it on arrays, or use `is None` to test for a missing tensor.")

    def __array__(self, dtype=None, copy=None):
        raise TypeError(f"{self!r} is symbolic: it has no values for NumPy. Build a model with nf.Model(inputs, "
                        f"outputs) and call model.predict(x) on arrays.")


class Node:
    """One call of ``layer`` on ``inputs`` (Tensors), making ``outputs`` (Tensors).

    ``inputs`` is empty for an ``InputLayer``'s node.
    """

    __slots__ = ("layer", "inputs", "outputs")

    def __init__(self, layer, inputs, output_shapes, dtype):
        self.layer = layer
        self.inputs = tuple(inputs)
        self.outputs = tuple(Tensor(shape, dtype, self, i) for i, shape in enumerate(output_shapes))

    def __repr__(self):
        return f"<Node {self.layer.display_name}: {[t.shape for t in self.inputs]} -> {[t.shape for t in self.outputs]}>"


def is_symbolic(value):
    """True for a Tensor, or a non-empty list/tuple/dict of them (a call that records a node)."""
    if isinstance(value, Tensor):
        return True
    items = value.values() if isinstance(value, dict) else value if isinstance(value, (list, tuple)) else ()
    items = list(items)
    return bool(items) and all(isinstance(v, Tensor) for v in items)
