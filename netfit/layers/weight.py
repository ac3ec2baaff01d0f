"""A layer's weight as ``layer.weights`` / ``model.weights`` give it: a NumPy view of θ that also answers Keras's
Variable API (``.numpy()``, ``.name``, ``.path``, ``.trainable``, ``.value``, ``.assign``).

netfit keeps every weight in the model's flat θ; ``layer.weights`` are views of it, so
``w[...] = value`` writes the model (netfit's own code does that). Keras code reads a
weight as a Variable (``for a, b in zip(m1.weights, m2.weights): a.numpy()``,
``[v.name for v in model.weights]``): :class:`Weight` is the same view, an
``np.ndarray`` subclass with those attributes. Arithmetic on it gives plain arrays
(``w * 2`` is an ndarray), as ``variable * 2`` is a tensor in Keras. ``get_weights``
still returns plain copies.

>>> import numpy as np
>>> theta = np.zeros(3)
>>> w = Weight.of(theta, "kernel", "dense/kernel", True)
>>> w.assign([1.0, 2.0, 3.0]).name, theta.tolist(), type(w * 2).__name__
('kernel', [1.0, 2.0, 3.0], 'ndarray')
"""
import numpy as np

__all__ = ["Weight"]


class Weight(np.ndarray):
    """A view of one weight in θ with Keras's Variable attributes (see the module)."""

    @classmethod
    def of(cls, array, name, path, trainable):
        """``array`` (a view of θ, a NumPy array) as a Weight; an array of another module (CuPy) as it is."""
        if type(array) is not np.ndarray and not isinstance(array, Weight):
            return array
        out = array.view(cls)
        out.name, out.path, out.trainable = name, path, bool(trainable)
        return out

    def __array_finalize__(self, obj):
        self.name = getattr(obj, "name", None)
        self.path = getattr(obj, "path", None)
        self.trainable = getattr(obj, "trainable", True)

    def __array_wrap__(self, array, context=None, return_scalar=False):
        if return_scalar and array.ndim == 0:                 # NumPy 2: a reduction to one number
            return array[()]
        return array.view(np.ndarray) if isinstance(array, np.ndarray) else array

    def __reduce__(self):                       # pickled (a process pool, deepcopy): a plain array
        return np.asarray(self).copy().__reduce__()

    def numpy(self):
        """A copy of the weight's values, a plain NumPy array (Keras's ``Variable.numpy()``)."""
        return np.array(self.view(np.ndarray))

    @property
    def value(self):
        """The weight as a plain array view of θ (writes to it change the model)."""
        return self.view(np.ndarray)

    def assign(self, value):
        """Write ``value`` (same shape, or one number) into the weight, in place; returns the weight.

        Raises ValueError for a value of another shape."""
        value = np.asarray(value)
        if value.ndim and value.shape != self.shape:
            raise ValueError(f"weight {self.path or self.name!r}.assign: expected a value of shape {self.shape}, "
                             f"got {value.shape}.")
        self.view(np.ndarray)[...] = value
        return self
