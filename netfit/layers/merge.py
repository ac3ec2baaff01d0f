"""Merge layers: several tensors in, one out; each input gets its share of δ back.

Keras's Add, Subtract, Multiply, Average, Maximum, Minimum, Concatenate and Dot,
and their functional forms (``add([a, b])``, ``concatenate([a, b], axis=-1)``, ...).
Each layer takes a list of arrays and its backward returns a list of s, one per
input, in the inputs' order. Backward never copies δ when an input's share *is*
δ: Add hands the very same array to every input and Concatenate hands out views
of it, so a receiver must not write into its δ (no layer does; see
:class:`netfit.layers.Layer`).

Element-wise merges need inputs of one shape: Keras broadcasts axes of size 1 and
pads ranks, netfit refuses such inputs with both shapes in the message.
"""
import numpy as np

from .base import Layer

__all__ = ["Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum", "Concatenate", "Dot",
           "add", "subtract", "multiply", "average", "maximum", "minimum", "concatenate", "dot"]


def _sum(x, call):
    """x_1 + ... + x_m into the record's output buffer."""
    out = np.add(x[0], x[1], out=call.buffer("a", x[0].shape, x[0].dtype))
    for xk in x[2:]:
        out += xk
    return out


class _ElementWise(Layer):
    """Inputs of one shape in, that shape out."""

    multiple_inputs = True
    #: None: any number of inputs from two on; 2 for Subtract.
    arity = None

    def build(self, input_shape):
        if self.arity is not None and len(input_shape) != self.arity:
            raise ValueError(f"{self.display_name}: expected exactly {self.arity} inputs, got {len(input_shape)} "
                             f"(shapes {input_shape}).")
        first = input_shape[0]
        for k, shape in enumerate(input_shape[1:], 1):
            if shape != first:
                raise ValueError(f"{self.display_name}: expected inputs of one shape, got {first} (input 0) and "
                                 f"{shape} (input {k}); netfit does not broadcast or pad ranks as Keras does: "
                                 f"Reshape one input to the other's shape first.")
        return first


class Add(_ElementWise):
    """a = x_1 + x_2 + ... + x_m; every input gets the same δ back (one array, not copies).

    Shapes
    ------
    x_k : (n, *shape), m ≥ 2 of them  ->  a : (n, *shape)

    Examples
    --------
    >>> import numpy as np
    >>> Add()([np.ones((1, 2)), np.full((1, 2), 2.0)])
    array([[3., 3.]])
    """

    def forward(self, x, training=False, call=None):
        call = self.record(call)
        self.check_input(x)
        return _sum(x, call)

    def backward(self, delta, call=None):
        call = self.record(call)
        if not call.need_input_grad:
            return [None] * len(self.input_shape)
        return [delta] * len(self.input_shape)                         # ∂a/∂x_k = I for every k


class Subtract(_ElementWise):
    """a = x_1 − x_2 (exactly two inputs, as Keras); s_1 = δ, s_2 = −δ.

    Shapes
    ------
    x_1, x_2 : (n, *shape)  ->  a : (n, *shape)

    Examples
    --------
    >>> import numpy as np
    >>> Subtract()([np.ones((1, 2)), np.full((1, 2), 2.0)])
    array([[-1., -1.]])
    """

    arity = 2

    def forward(self, x, training=False, call=None):
        call = self.record(call)
        self.check_input(x)
        return np.subtract(x[0], x[1], out=call.buffer("a", x[0].shape, x[0].dtype))

    def backward(self, delta, call=None):
        call = self.record(call)
        if not call.need_input_grad:
            return [None] * len(self.input_shape)
        return [delta, np.negative(delta, out=call.buffer("s", delta.shape, delta.dtype))]


class Multiply(_ElementWise):
    """a = x_1 ⊙ x_2 ⊙ ... ⊙ x_m; s_k = δ ⊙ (the product of the other inputs).

    The products of the others come from running products from the left and from the
    right (no division, so inputs that are 0 are fine).

    Shapes
    ------
    x_k : (n, *shape), m ≥ 2 of them  ->  a : (n, *shape)

    Examples
    --------
    >>> import numpy as np
    >>> Multiply()([np.full((1, 2), 2.0), np.full((1, 2), 3.0)])
    array([[6., 6.]])
    """

    def forward(self, x, training=False, call=None):
        call = self.record(call)
        self.check_input(x)
        call.x = list(x)
        out = np.multiply(x[0], x[1], out=call.buffer("a", x[0].shape, x[0].dtype))
        for xk in x[2:]:
            out *= xk
        return out

    def backward(self, delta, call=None):
        call = self.record(call)
        if not call.need_input_grad:
            return [None] * len(self.input_shape)
        x, m = call.x, len(call.x)
        # right[k] = x_{k+1} ⊙ ... ⊙ x_m (None for the last input).
        right, product = [None] * m, None
        for k in range(m - 1, 0, -1):
            product = x[k] if product is None else product * x[k]
            right[k - 1] = product
        s, left = [], delta                                            # left = δ ⊙ x_1 ⊙ ... ⊙ x_{k-1}
        for k in range(m):
            out = call.buffer(f"s{k}", delta.shape, delta.dtype)
            if right[k] is None:                                       # the last input: s_m = δ ⊙ x_1 ⊙ ... ⊙ x_{m-1}
                np.copyto(out, left)
            else:
                np.multiply(left, right[k], out=out)
            s.append(out)
            if k < m - 1:
                left = left * x[k]
        return s                                                       # s_k = δ ⊙ Π_{j≠k} x_j


class Average(_ElementWise):
    """a = (x_1 + ... + x_m) / m; every input gets the same δ / m back (one array).

    Shapes
    ------
    x_k : (n, *shape), m ≥ 2 of them  ->  a : (n, *shape)

    Examples
    --------
    >>> import numpy as np
    >>> Average()([np.ones((1, 2)), np.full((1, 2), 2.0)])
    array([[1.5, 1.5]])
    """

    def forward(self, x, training=False, call=None):
        call = self.record(call)
        self.check_input(x)
        out = _sum(x, call)
        out *= 1.0 / len(x)
        return out

    def backward(self, delta, call=None):
        call = self.record(call)
        if not call.need_input_grad:
            return [None] * len(self.input_shape)
        s = np.multiply(delta, 1.0 / len(self.input_shape), out=call.buffer("s", delta.shape, delta.dtype))
        return [s] * len(self.input_shape)                             # ∂a/∂x_k = I / m


class _Extreme(_ElementWise):
    """Maximum / Minimum: the winner of each entry gets its δ, the others 0; ties go to the first input."""

    _better = None              # np.greater or np.less: does input k beat the best so far?

    def forward(self, x, training=False, call=None):
        call = self.record(call)
        self.check_input(x)
        out = call.buffer("a", x[0].shape, x[0].dtype)
        np.copyto(out, x[0])
        winner = call.buffer("winner", x[0].shape, np.uint8 if len(x) < 256 else np.intp)
        winner[...] = 0
        for k in range(1, len(x)):
            beats = self._better(x[k], out)                     # strictly: a tie stays with the earlier input
            np.copyto(out, x[k], where=beats)
            winner[beats] = k
        call.winner = winner
        return out

    def backward(self, delta, call=None):
        call = self.record(call)
        if not call.need_input_grad:
            return [None] * len(self.input_shape)
        s = []
        for k in range(len(self.input_shape)):                        # ∂a/∂x_k = 1 where input k won, else 0
            out = call.buffer(f"s{k}", delta.shape, delta.dtype)
            np.multiply(delta, call.winner == k, out=out)
            s.append(out)
        return s


class Maximum(_Extreme):
    """a = max(x_1, ..., x_m) entry by entry; δ goes to the largest input (the first of equal ones).

    Keras (TensorFlow) routes a tie's δ to the first input too; PyTorch and JAX split it.

    Shapes
    ------
    x_k : (n, *shape), m ≥ 2 of them  ->  a : (n, *shape)

    Examples
    --------
    >>> import numpy as np
    >>> Maximum()([np.array([[1.0, 5.0]]), np.array([[3.0, 2.0]])])
    array([[3., 5.]])
    """

    _better = np.greater


class Minimum(_Extreme):
    """a = min(x_1, ..., x_m) entry by entry; δ goes to the smallest input (the first of equal ones).

    Shapes
    ------
    x_k : (n, *shape), m ≥ 2 of them  ->  a : (n, *shape)

    Examples
    --------
    >>> import numpy as np
    >>> Minimum()([np.array([[1.0, 5.0]]), np.array([[3.0, 2.0]])])
    array([[1., 2.]])
    """

    _better = np.less


def _axis(value, where, name="axis"):
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{where}: expected {name} an integer, got {value!r}.")
    return int(value)


class Concatenate(Layer):
    """a = [x_1, x_2, ..., x_m] joined along ``axis``; each input gets back its slice of δ (a view).

    Parameters
    ----------
    axis : int
        Axis of the full tensor (0 is the batch, as Keras counts); -1 (the last,
        Keras's default) by default. The inputs must agree on every other axis.

    Shapes
    ------
    x_k : (n, ..., d_k, ...)  ->  a : (n, ..., d_1 + ... + d_m, ...)

    Examples
    --------
    >>> import numpy as np
    >>> Concatenate()([np.ones((1, 2)), np.zeros((1, 1))])
    array([[1., 1., 0.]])
    """

    multiple_inputs = True

    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        self.axis = _axis(axis, "Concatenate")

    def build(self, input_shape):
        rank = len(input_shape[0]) + 1                                  # with the batch axis
        axis = self.axis + rank if self.axis < 0 else self.axis
        if not 1 <= axis < rank or any(len(shape) + 1 != rank for shape in input_shape):
            raise ValueError(f"{self.display_name}: expected inputs of one rank and axis={self.axis} an axis "
                             f"other than the batch's (0), got input shapes {input_shape}.")
        k = axis - 1                                                    # the per-example axis
        first = input_shape[0]
        for j, shape in enumerate(input_shape[1:], 1):
            if shape[:k] + shape[k + 1:] != first[:k] + first[k + 1:]:
                raise ValueError(f"{self.display_name}: expected inputs that agree on every axis but {self.axis}, "
                                 f"got {first} (input 0) and {shape} (input {j}).")
        self._axis = axis
        return first[:k] + (sum(shape[k] for shape in input_shape),) + first[k + 1:]

    def forward(self, x, training=False, call=None):
        call = self.record(call)
        self.check_input(x)
        out = call.buffer("a", (len(x[0]),) + self.output_shape, np.result_type(*x))
        return np.concatenate(x, axis=self._axis, out=out)

    def backward(self, delta, call=None):
        call = self.record(call)
        if not call.need_input_grad:
            return [None] * len(self.input_shape)
        ends = np.cumsum([shape[self._axis - 1] for shape in self.input_shape])[:-1]
        return np.split(delta, ends, axis=self._axis)                  # views of δ, one per input

    def get_config(self):
        return {**super().get_config(), "axis": self.axis}


class Dot(Layer):
    """a_i = Σ_k x_i[..., k, ...] y_i[..., k, ...]: per example, the dot product over one axis of each input.

    Keras's ``Dot`` (its ``batch_dot``): for inputs x (n, *p) and y (n, *q) and
    ``axes=(a, b)``, each example's output holds x's remaining axes then y's, the
    summed axes left out; a scalar per example becomes shape (1,). With
    ``normalize=True`` both inputs are first scaled to unit length along their
    axis, x̂ = x / max(‖x‖, ε) with ε = 1e-7 (Keras's), so a is the cosine similarity.

    Backward: with X (n, P, d) and Y (n, d, Q) the inputs with the summed axis moved
    next to each other, A = X Y, and G = δ reshaped to (n, P, Q),

        ∂R/∂X = G Yᵀ,   ∂R/∂Y = Xᵀ G   (per example);

    through the normalisation, ∂R/∂x = (g − x̂ (x̂ · g)) / ‖x‖ (g / ε where ‖x‖ < ε).

    Parameters
    ----------
    axes : int or (int, int)
        Axis of each input, counted with the batch axis (0, which is refused);
        negative from the end. One int is the same axis of both.
    normalize : bool
        Cosine similarity instead of the dot product.

    Shapes
    ------
    x : (n, *p), y : (n, *q), p[a-1] = q[b-1]  ->  a : (n, *p without a, *q without b), or (n, 1)

    Examples
    --------
    >>> import numpy as np
    >>> Dot(axes=1)([np.array([[1.0, 2.0]]), np.array([[3.0, 4.0]])])
    array([[11.]])
    """

    multiple_inputs = True
    EPSILON = 1e-7

    def __init__(self, axes, normalize=False, **kwargs):
        super().__init__(**kwargs)
        if isinstance(axes, (list, tuple)):
            if len(axes) != 2:
                raise ValueError(f"Dot: expected axes an int or a pair of ints, got {axes!r}.")
            self.axes = (_axis(axes[0], "Dot", "axes"), _axis(axes[1], "Dot", "axes"))
        else:
            self.axes = _axis(axes, "Dot", "axes")
        if not isinstance(normalize, (bool, np.bool_)):
            raise TypeError(f"Dot: expected normalize True or False, got {normalize!r}.")
        self.normalize = bool(normalize)

    def build(self, input_shape):
        if len(input_shape) != 2:
            raise ValueError(f"{self.display_name}: expected exactly 2 inputs, got {len(input_shape)} "
                             f"(shapes {input_shape}).")
        p, q = input_shape
        pair = self.axes if isinstance(self.axes, tuple) else (self.axes, self.axes)
        axes = tuple(a % (len(shape) + 1) if a < 0 else a for a, shape in zip(pair, (p, q)))
        if 0 in axes or axes[0] > len(p) or axes[1] > len(q):
            raise ValueError(f"{self.display_name}: expected axes={self.axes} to name an axis of each input other "
                             f"than the batch's (0), got input shapes {p} and {q}.")
        if p[axes[0] - 1] != q[axes[1] - 1]:
            raise ValueError(f"{self.display_name}: expected axes of one size, got size {p[axes[0] - 1]} (axis "
                             f"{axes[0]} of {p}) and {q[axes[1] - 1]} (axis {axes[1]} of {q}).")
        self._axes = axes
        out = p[:axes[0] - 1] + p[axes[0]:] + q[:axes[1] - 1] + q[axes[1]:]
        return out or (1,)

    def _unit(self, v, axis):
        """v / max(‖v‖, ε) along ``axis``, and max(‖v‖, ε)."""
        norm = np.maximum(np.sqrt(np.sum(v * v, axis=axis, keepdims=True)), self.EPSILON)
        return v / norm, norm

    def _unit_backward(self, g, v_hat, norm, axis):
        """∂R/∂v from g = ∂R/∂v̂: (g − v̂ (v̂ · g)) / ‖v‖, or g / ε where the norm was clamped."""
        inner = np.sum(v_hat * g, axis=axis, keepdims=True)
        inner *= norm > self.EPSILON                                   # the clamped norm is a constant
        return (g - v_hat * inner) / norm

    def forward(self, x, training=False, call=None):
        call = self.record(call)
        self.check_input(x)
        n, (a, b) = len(x[0]), self._axes
        X = np.moveaxis(x[0], a, -1)                                   # (n, *p', d)
        Y = np.moveaxis(x[1], b, 1)                                    # (n, d, *q')
        call.shapes = (X.shape, Y.shape)
        X = X.reshape(n, -1, X.shape[-1])                              # (n, P, d)
        Y = Y.reshape(n, Y.shape[1], -1)                               # (n, d, Q)
        if self.normalize:
            (X, call.x_norm), (Y, call.y_norm) = self._unit(X, -1), self._unit(Y, 1)
        call.X, call.Y = X, Y
        out = call.buffer("a", (n, X.shape[1], Y.shape[2]), np.result_type(X, Y))
        return np.matmul(X, Y, out=out).reshape((n,) + self.output_shape)     # A = X Y, example by example

    def backward(self, delta, call=None):
        call = self.record(call)
        if not call.need_input_grad:
            return [None, None]
        X, Y, (a, b) = call.X, call.Y, self._axes
        G = delta.reshape(len(delta), X.shape[1], Y.shape[2])          # (n, P, Q)
        dX = np.matmul(G, Y.transpose(0, 2, 1))                         # ∂R/∂X = G Yᵀ
        dY = np.matmul(X.transpose(0, 2, 1), G)                         # ∂R/∂Y = Xᵀ G
        if self.normalize:
            dX = self._unit_backward(dX, X, call.x_norm, -1)
            dY = self._unit_backward(dY, Y, call.y_norm, 1)
        x_shape, y_shape = call.shapes
        return [np.moveaxis(dX.reshape(x_shape), -1, a), np.moveaxis(dY.reshape(y_shape), 1, b)]

    def get_config(self):
        return {**super().get_config(), "axes": list(self.axes) if isinstance(self.axes, tuple) else self.axes,
                "normalize": self.normalize}


def _merge(cls, inputs, where, **kwargs):
    """``cls(**kwargs)(inputs)``: the functional form of a merge layer (Keras's ``keras.layers.add`` and kin)."""
    if not isinstance(inputs, (list, tuple)):
        raise TypeError(f"{where}: expected a list of inputs, got {type(inputs).__name__}.")
    return cls(**kwargs)(list(inputs))


def add(inputs, **kwargs):
    """Add()(inputs): the sum of the inputs (Keras's ``keras.layers.add``)."""
    return _merge(Add, inputs, "add", **kwargs)


def subtract(inputs, **kwargs):
    """Subtract()(inputs): the first input minus the second."""
    return _merge(Subtract, inputs, "subtract", **kwargs)


def multiply(inputs, **kwargs):
    """Multiply()(inputs): the product of the inputs, entry by entry."""
    return _merge(Multiply, inputs, "multiply", **kwargs)


def average(inputs, **kwargs):
    """Average()(inputs): the mean of the inputs, entry by entry."""
    return _merge(Average, inputs, "average", **kwargs)


def maximum(inputs, **kwargs):
    """Maximum()(inputs): the largest input, entry by entry."""
    return _merge(Maximum, inputs, "maximum", **kwargs)


def minimum(inputs, **kwargs):
    """Minimum()(inputs): the smallest input, entry by entry."""
    return _merge(Minimum, inputs, "minimum", **kwargs)


def concatenate(inputs, axis=-1, **kwargs):
    """Concatenate(axis)(inputs): the inputs joined along ``axis``.

    Examples
    --------
    >>> import numpy as np
    >>> concatenate([np.ones((2, 1)), np.zeros((2, 2))]).shape
    (2, 3)
    """
    return _merge(Concatenate, inputs, "concatenate", axis=axis, **kwargs)


def dot(inputs, axes=-1, normalize=False, **kwargs):
    """Dot(axes, normalize)(inputs): per example, the dot product of the two inputs over ``axes``."""
    return _merge(Dot, inputs, "dot", axes=axes, normalize=normalize, **kwargs)
