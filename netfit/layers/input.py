"""``Input(shape=...)``: a model's input, as a symbolic tensor (Keras 3's ``keras.Input``).

    inputs = nf.Input(shape=(28, 28))                      # a graph's input ...
    model = nf.Model(inputs, Dense(10)(Flatten()(inputs)))
    model = nf.Sequential([nf.Input(shape=(28, 28)), Flatten(), Dense(10)])   # ... or a Sequential's

``Input`` makes an :class:`InputLayer` and returns its output tensor. In a
Sequential it only gives the input shape (the same model as
``Sequential([Flatten(input_shape=(28, 28)), ...])``: same layers, same weights for
the same seed, same summary, file, JSON spec and ONNX graph); as in Keras, the
Sequential's ``layers`` and ``summary`` do not show it. In a graph model
(:class:`netfit.Model`) it is one of ``model.inputs`` and its layer is in
``model.layers``, first, as in Keras.
"""
from ..keras_args import own_arguments, refuse
from ..utils import check_dtype, check_positive_int
from .base import Layer, _check_shape
from .node import Node


class InputLayer(Layer):
    """The layer behind :func:`Input`: no weights; its one node makes the input tensor, ``layer.output``.

    Parameters
    ----------
    shape : tuple of int
        Per-example shape, without the batch axis: ``(784,)``, ``(28, 28)``, ``(28, 28, 1)``.
        ``batch_shape=(None, 28, 28)`` (Keras's other form) gives the same.
    batch_size : int, optional
        Accepted for Keras code; netfit takes batches of any size, so it is not enforced.
    dtype : "float32", "float64" or an integer type, optional
        The model's float type when ``Sequential(dtype=...)`` does not give one; an integer
        type (e.g. "int32") for token indices into an ``Embedding``.
    name : str, optional

    Raises
    ------
    TypeError, ValueError
        A shape that is not a tuple of positive integers (``shape=28`` is read as ``(28,)``;
        a ``None`` size is refused: netfit needs every example's shape, only the batch may vary).
    """

    blas_bound = True

    def __init__(self, shape=None, batch_size=None, dtype=None, batch_shape=None, name=None, **keras):
        keras.pop("trainable", None)
        refuse("InputLayer", keras, ("sparse", "ragged", "tensor", "input_tensor", "optional"),
               own_arguments(InputLayer))
        if batch_shape is not None:
            if shape is not None or not isinstance(batch_shape, (tuple, list)) or len(batch_shape) < 2:
                raise ValueError(f"Input: expected batch_shape (batch, *shape) such as (None, 28, 28) instead of "
                                 f"shape, got batch_shape={batch_shape!r} and shape={shape!r}.")
            if batch_size is None and batch_shape[0] is not None:
                batch_size = batch_shape[0]
            shape = tuple(batch_shape[1:])
        if shape is None:
            raise TypeError("Input: expected shape, the shape of one example, e.g. Input(shape=(28, 28)).")
        if isinstance(shape, (tuple, list)) and any(d is None for d in shape):
            raise ValueError(f"Input: expected shape a tuple of positive integers (one example, no batch axis), "
                             f"got {tuple(shape)!r}; netfit needs every size of an example (variable-length "
                             f"sequences: pad them to one length first), and leaves the batch axis out, "
                             f"e.g. Input(shape=(28, 28)).")
        if name is not None and not isinstance(name, str):
            raise TypeError(f"Input: expected name a str, got {type(name).__name__}.")
        super().__init__(name=name)
        self.shape = _check_shape(shape, "Input", "shape")
        self.batch_size = None if batch_size is None else check_positive_int(batch_size, "Input", "batch_size")
        self.dtype = check_dtype(dtype, "Input", integers=True)
        self.input_shape = self.output_shape = self.shape
        self.built = True
        node = Node(self, (), [self.shape], self.dtype if self.dtype is not None else "float32")
        self._nodes.append(node)

    def forward(self, x, training=False, call=None):
        self.check_input(x)
        return x

    def backward(self, delta, call=None):
        return None                                   # nothing below an input

    def get_config(self):
        config = {"name": self.name, "shape": list(self.shape)}
        if self.dtype is not None:
            config["dtype"] = self.dtype.name
        if self.batch_size is not None:
            config["batch_size"] = self.batch_size
        return config

    def __repr__(self):
        return f"InputLayer(shape={self.shape}, name={self.name!r})"


def Input(shape=None, batch_size=None, dtype=None, sparse=None, batch_shape=None, name=None, tensor=None,
          optional=False):
    """A model's input: the symbolic tensor of examples of ``shape`` (Keras 3's ``keras.Input``).

    Arguments as :class:`InputLayer`'s (``tensor`` is Keras's name for its ``input_tensor``).

    Returns
    -------
    Tensor
        Shape ``(None, *shape)``; its ``node.layer`` is the InputLayer.

    Examples
    --------
    >>> import netfit as nf
    >>> from netfit.layers import Dense
    >>> x = nf.Input(shape=(3,), name="features")
    >>> x.shape, x.name
    ((None, 3), 'features')
    >>> nf.Sequential([nf.Input(shape=(3,)), Dense(2)], seed=0).count_params()
    8
    """
    keras = {k: v for k, v in (("sparse", sparse), ("tensor", tensor), ("optional", optional)) if v not in (None, False)}
    layer = InputLayer(shape=shape, batch_size=batch_size, dtype=dtype, batch_shape=batch_shape, name=name, **keras)
    return layer.output
