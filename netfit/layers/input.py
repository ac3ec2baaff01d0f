"""``Input(shape=...)``: the model's input declared the Keras 3 way, as the first element of a Sequential.

    model = nf.Sequential([nf.Input(shape=(28, 28)), Flatten(), Dense(10, activation="softmax")])

is the same model as ``Sequential([Flatten(input_shape=(28, 28)), Dense(10, ...)])``
(the form Keras 3 deprecates): same layers, same weights for the same seed,
same summary, file, JSON spec and ONNX graph.

How this differs from Keras: ``keras.Input`` returns a symbolic tensor that
also feeds the functional API. netfit has only Sequential, so ``Input`` is a
plain marker that carries the per-example shape; it is not a layer, computes
nothing, and does not appear in ``model.layers`` or the summary (as in Keras,
whose Sequential hides its InputLayer too).
"""
from ..keras_args import own_arguments, refuse
from ..utils import check_dtype, check_positive_int
from .base import _check_shape


class Input:
    """The shape of one example, x ∈ R^shape; a batch is (n, *shape).

    Parameters
    ----------
    shape : tuple of int
        Per-example shape, without the batch axis: ``(784,)``, ``(28, 28)``, ``(28, 28, 1)``.
    batch_size : int, optional
        Accepted for Keras code; netfit takes batches of any size, so it is not enforced.
    dtype : "float32" or "float64", optional
        The model's float type when ``Sequential(dtype=...)`` does not give one.
    batch_shape : tuple, optional
        Keras's shape with the batch axis first, ``(None, 28, 28)``: the same as ``shape=(28, 28)``.
    name : str, optional

    Keras's ``sparse``, ``ragged``, ``tensor`` and ``optional`` are refused unless "off", with
    what to do instead (:mod:`netfit.keras_args`).

    Raises
    ------
    TypeError, ValueError
        A shape that is not a tuple of positive integers (e.g. ``shape=28`` is
        read as ``(28,)``; ``shape=(None, 28)`` is refused: give the example's shape).

    Examples
    --------
    >>> import netfit as nf
    >>> from netfit.layers import Dense
    >>> nf.Sequential([nf.Input(shape=(3,)), Dense(2)], seed=0).count_params()
    8
    """

    def __init__(self, shape=None, batch_size=None, dtype=None, batch_shape=None, name=None, **keras):
        refuse("Input", keras, ("sparse", "ragged", "tensor", "input_tensor", "optional"), own_arguments(Input))
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
                             f"got {tuple(shape)!r}; leave the batch axis out, e.g. Input(shape=(28, 28)).")
        self.shape = _check_shape(shape, "Input", "shape")
        self.batch_size = None if batch_size is None else check_positive_int(batch_size, "Input", "batch_size")
        self.dtype = check_dtype(dtype, "Input")
        if name is not None and not isinstance(name, str):
            raise TypeError(f"Input: expected name a str, got {type(name).__name__}.")
        self.name = name or "input"

    def __repr__(self):
        return f"Input(shape={self.shape})"


InputLayer = Input      # Keras's layer-class name for the same thing
