"""Embedding: integer tokens to learned vectors, a = W[x]."""
import numpy as np

from .. import initializers
from ..utils import check_positive_int, warn
from .base import Layer


class Embedding(Layer):
    """a[i, t] = W[x[i, t]]: row x of the table W for every integer x of the input.

    The same as a Dense layer without bias applied to one-hot rows, so only the rows
    that were looked up get a gradient; backward adds δ into them,

        ∂R/∂W_v = Σ_{(i, t): x[i, t] = v} δ[i, t],

    and sends nothing down (the input is integers: no s; an Embedding comes first).

    Inputs are integer indices in [0, input_dim) of any shape per example; floats
    that hold integers are taken too (``fit`` hands int64 data over as float64,
    exactly), other values are refused, as are indices outside the table (Keras
    truncates floats and, on TensorFlow, raises for such indices). The table is a
    kernel: the optimizers' weight_decay shrinks it.

    Parameters
    ----------
    input_dim : int
        Size of the vocabulary: indices run over 0 .. input_dim − 1.
    output_dim : int
        Length of each vector.
    embeddings_initializer : str or Initializer
        "uniform" (Keras's default: uniform on ±0.05).
    mask_zero : bool
        Only False: netfit has no masks (True is refused).
    input_length : int, optional
        Keras 2's argument, which Keras 3 ignores with a warning; here it gives the input
        shape (input_length,) when the layer has none, with the same warning.
    embeddings_regularizer, embeddings_constraint, weights, lora_rank : None
        Refused unless None (set weights with ``set_weights`` once built).

    Shapes
    ------
    x : (n, *shape) integers  ->  a : (n, *shape, output_dim); embeddings (input_dim, output_dim)

    Examples
    --------
    >>> import numpy as np
    >>> layer = Embedding(10, 3, embeddings_initializer="ones")
    >>> layer(np.array([[1, 2, 4, 5], [4, 3, 2, 9]])).shape
    (2, 4, 3)
    """

    #: Indices are read exactly: fit hands integer data to this layer as float64, not float32 (netfit.precision).
    keeps_input_precision = True

    def __init__(self, input_dim, output_dim, embeddings_initializer="uniform", embeddings_regularizer=None,
                 embeddings_constraint=None, mask_zero=False, weights=None, lora_rank=None, input_length=None,
                 **kwargs):
        for name, value in (("embeddings_regularizer", embeddings_regularizer),
                            ("embeddings_constraint", embeddings_constraint), ("weights", weights),
                            ("lora_rank", lora_rank)):
            if value is not None:
                fix = ("call set_weights([table]) once the layer is built" if name == "weights" else
                       "netfit has no regularizers, constraints or LoRA; weight_decay is the optimizers' L2 penalty")
                got = f"a {type(value).__name__}" if name == "weights" else repr(value)
                raise ValueError(f"Embedding: expected {name}=None, got {got}; {fix}.")
        if mask_zero is not False:
            raise ValueError(f"Embedding: expected mask_zero=False (netfit has no masks), got {mask_zero!r}; "
                             f"index 0 is then an ordinary token with a vector of its own.")
        if input_length is not None:
            input_length = check_positive_int(input_length, "Embedding", "input_length")
            warn("Embedding: argument `input_length` is deprecated (Keras 3); give the input shape with "
                 "keras.Input(shape=(input_length,)) instead.", DeprecationWarning)
            kwargs.setdefault("input_shape", (input_length,))
        super().__init__(**kwargs)
        self.input_dim = check_positive_int(input_dim, "Embedding", "input_dim")
        self.output_dim = check_positive_int(output_dim, "Embedding", "output_dim")
        self.embeddings_initializer = initializers.get(embeddings_initializer)

    def build(self, input_shape):
        self.add_weight("embeddings", (self.input_dim, self.output_dim), self.embeddings_initializer, decay=True)
        return input_shape + (self.output_dim,)

    def _indices(self, x):
        """x as row numbers of the table, or a clear error for non-integers and indices outside it."""
        if x.dtype.kind in "iu":
            index = x.astype(np.intp, copy=False)
        else:
            index = x.astype(np.intp)
            if not np.array_equal(index, x):
                bad = x[index != x].flat[0]
                raise ValueError(f"{self.display_name}: expected integer token indices, got {float(bad):g}; an "
                                 f"Embedding reads tokens (0 .. {self.input_dim - 1}), not features: encode the data "
                                 f"first.")
        if index.size and (index.min() < 0 or index.max() >= self.input_dim):
            bad = index.min() if index.min() < 0 else index.max()
            raise ValueError(f"{self.display_name}: expected indices in [0, {self.input_dim}) (input_dim="
                             f"{self.input_dim}), got {bad}; make input_dim the vocabulary size + 1 for indices "
                             f"up to the vocabulary size.")
        return index

    def forward(self, x, training=False, call=None):
        call = self.record(call)
        self.check_input(x)
        call.index = self._indices(x)
        table = self.params["embeddings"]
        out = call.buffer("a", x.shape + (self.output_dim,), table.dtype)
        return np.take(table, call.index, axis=0, out=out, mode="clip")   # checked above: clip never clips

    def backward(self, delta, call=None):
        call = self.record(call)
        grad = call.grads["embeddings"]
        grad[...] = 0
        np.add.at(grad, call.index.reshape(-1), delta.reshape(-1, self.output_dim))   # ∂R/∂W_v = Σ_{x = v} δ
        return None

    def get_config(self):
        return {**super().get_config(), "input_dim": self.input_dim, "output_dim": self.output_dim,
                "embeddings_initializer": initializers.serialize(self.embeddings_initializer)}
