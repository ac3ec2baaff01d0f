"""Normalization: standardise inputs, a = (x − μ) / σ, with μ and σ² learned once by ``adapt``.

ESL §11.5.3 ("Scaling of the inputs"): standardise each input to mean zero and
standard deviation one, so that the starting weights and the weight-decay
penalty treat all inputs alike. Keeping the standardisation *inside* the model
means that a saved model predicts from raw inputs, with the training set's
means and variances, and nobody has to ship a scaler beside it.

Where μ and σ² live
-------------------
They are the layer's *configuration*, not weights: ``get_config()`` holds them
as lists of floats (float64, which JSON keeps exactly), so :mod:`netfit.io`
saves and loads them with the architecture, and an architecture file written
by :func:`netfit.architecture.model_to_json` carries them too. Consequences:
they are never in the flat parameter vector θ, so no optimizer, weight decay
or gradient check can move them; ``count_params()`` is 0 for this layer (Keras
lists its mean, variance and count as non-trainable weights instead; netfit's
summary shows only weights the model trains); ``get_weights()`` does not
include them.
"""
import numbers
import warnings

import numpy as np

from ..config import dtype as _default_dtype
from ..utils import check_array
from .base import Layer


class Normalization(Layer):
    """a = (x − μ) / σ, μ and σ² per position of ``axis`` (Keras's Normalization).

    Parameters
    ----------
    axis : int, tuple of int or None
        Axes of the per-example input that keep their own statistics (Keras's
        meaning; counted over the full array, batch axis 0 included, so -1 is the
        last feature axis). The default -1 gives each feature of a (n, d) input
        its own mean and variance; ``None`` uses one mean and variance for all.
    mean, variance : array-like, optional
        Known statistics, instead of calling :meth:`adapt`. Shape: the sizes of
        the kept axes (or scalars).
    invert : bool
        Map the other way, a = x · σ + μ: put it last to return a regression
        output to the scale of targets it was fitted on after standardising.
    epsilon : float
        Inputs with σ ≤ ε (constant in the adapted data) are centred but not
        scaled (σ taken as 1), as scikit-learn's StandardScaler does; Keras
        divides by ε instead, which turns any later deviation into ~1e7.

    Shapes
    ------
    x : (n, *input_shape)  ->  a : (n, *input_shape)

    Examples
    --------
    >>> import numpy as np
    >>> norm = Normalization()
    >>> norm.adapt(np.array([[1.0, 10.0], [3.0, 30.0]]))
    >>> norm.mean, norm.variance
    (array([ 2., 20.]), array([  1., 100.]))
    >>> norm.setup((2,))
    (2,)
    >>> norm.forward(np.array([[3.0, 10.0]]))
    array([[ 1., -1.]], dtype=float32)
    """

    def __init__(self, axis=-1, mean=None, variance=None, invert=False, epsilon=1e-7, **kwargs):
        super().__init__(**kwargs)
        self.axis = _check_axis(axis)
        if (mean is None) != (variance is None):
            raise ValueError("Normalization: expected both mean and variance, or neither (then call adapt(x)).")
        self.invert = bool(invert)
        if not isinstance(epsilon, numbers.Real) or isinstance(epsilon, bool) or not epsilon > 0:
            raise ValueError(f"Normalization: expected epsilon a positive number, got {epsilon!r}.")
        self.epsilon = float(epsilon)
        self.mean = self.variance = None
        self._warned = False
        if mean is not None:
            self._set_stats(mean, variance, "Normalization")

    # -- statistics ------------------------------------------------------------------
    @property
    def is_adapted(self):
        """True once μ and σ² are known (from ``adapt`` or the constructor)."""
        return self.mean is not None

    @property
    def keeps_input_precision(self):
        """True when, as a model's first layer, it takes raw inputs and standardises them in float64.

        A float32 model then gives it float64 (or integer) batches uncast, and it writes
        float32 only after (x − μ): inputs such as ``1.7e9 + np.arange(400.)`` keep their
        400 distinct values instead of collapsing to ~4 in the cast (:mod:`netfit.precision`).
        Keras casts first; netfit standardises first.
        """
        return self.mean is not None and not self.invert

    def adapt(self, data):
        """Compute μ and σ² (the population variance, ddof=0, as Keras) from ``data``.

        Parameters
        ----------
        data : array-like of shape (n, *input_shape)
            Usually the training inputs. Statistics are computed in float64.

        Examples
        --------
        >>> norm = Normalization(axis=None)
        >>> norm.adapt([[0.0, 2.0], [4.0, 6.0]])
        >>> float(norm.mean), float(norm.variance)
        (3.0, 5.0)
        """
        data = check_array(data, "Normalization.adapt", "data")
        if data.ndim < 2:
            raise ValueError(f"Normalization.adapt: expected data of shape (n, *input_shape) with n examples, "
                             f"got array of shape {data.shape}; for one feature use data.reshape(-1, 1).")
        if self.input_shape is not None and data.shape[1:] != self.input_shape:
            raise ValueError(f"Normalization.adapt: expected data of shape (n, {', '.join(map(str, self.input_shape))})"
                             f", got array of shape {data.shape}.")
        kept = self._kept_axes(data.ndim, "Normalization.adapt")
        reduce = tuple(a for a in range(data.ndim) if a not in kept)
        if int(np.prod([data.shape[a] for a in reduce])) < 2:
            raise ValueError(f"Normalization.adapt: expected at least 2 values for each mean and variance, got 1 "
                             f"({len(data)} sample{'s' if len(data) != 1 else ''} of shape {data.shape[1:]}, "
                             f"axis={_axis_repr(self.axis)}): every variance would be "
                             f"0, so nothing would be scaled; adapt on the whole training set, e.g. "
                             f"norm.adapt(x_train), or give mean= and variance= you know.")
        x = np.asarray(data, np.float64)
        mean = x.mean(axis=reduce)
        variance = x.var(axis=reduce)
        self._set_stats(mean, variance, "Normalization.adapt")

    def _set_stats(self, mean, variance, where):
        mean, variance = np.asarray(mean, np.float64), np.asarray(variance, np.float64)
        if mean.shape != variance.shape:
            raise ValueError(f"{where}: expected mean and variance of the same shape, got {mean.shape} "
                             f"and {variance.shape}.")
        if not (np.isfinite(mean).all() and np.isfinite(variance).all()) or (variance < 0).any():
            raise ValueError(f"{where}: expected finite mean and non-negative finite variance.")
        if self.built:
            self._check_stats_shape(mean.shape, self.input_shape, where)
        self.mean, self.variance = mean, variance
        self._cast = {}

    def _kept_axes(self, ndim, where):
        """The kept axes as non-negative positions in an array of ``ndim`` dimensions (batch axis 0)."""
        if self.axis is None:
            return ()
        kept = []
        for a in self.axis:
            pos = a + ndim if a < 0 else a
            if not 1 <= pos < ndim:
                raise ValueError(f"{where}: axis {a} is not a feature axis of inputs with {ndim - 1} "
                                 f"dimension(s) per example (axis 0 is the batch).")
            kept.append(pos)
        return tuple(sorted(set(kept)))

    def _stats_shape(self, input_shape, where):
        """Broadcast shape of μ against one example of ``input_shape``: kept axes keep their size, others 1."""
        kept = self._kept_axes(len(input_shape) + 1, where)
        return tuple(d if i + 1 in kept else 1 for i, d in enumerate(input_shape))

    def _check_stats_shape(self, shape, input_shape, where):
        want = int(np.prod(self._stats_shape(input_shape, where)))
        if int(np.prod(shape)) not in (1, want):
            kept = tuple(d for d in self._stats_shape(input_shape, where) if d != 1) or ()
            raise ValueError(f"{where}: mean and variance of shape {shape} do not fit inputs of shape "
                             f"{input_shape} with axis={_axis_repr(self.axis)}; expected shape {kept} or a scalar.")

    # -- Layer contract ----------------------------------------------------------------
    def build(self, input_shape):
        self._stats_shape(input_shape, self.display_name)            # checks axis against the shape
        if self.mean is not None:
            self._check_stats_shape(self.mean.shape, input_shape, self.display_name)
        self._cast = {}
        return input_shape

    def attach(self, params=None, grads=None, dtype=None):
        super().attach(params, grads, dtype)
        self._dtype = np.dtype(params.dtype if params is not None else dtype or _default_dtype())

    def _params_for(self, dtype):
        """μ and σ (1 where σ ≤ ε) shaped to broadcast over a batch, in the computation's float type (cached)."""
        cached = self._cast.get(dtype)
        if cached is None:
            shape = (1,) + self._stats_shape(self.input_shape, self.display_name)
            if self.mean.size == 1:
                shape = (1,) * len(shape)
            sd = np.sqrt(self.variance)
            sd = np.where(sd > self.epsilon, sd, 1.0)                 # constant inputs: centre, do not scale
            cached = self._cast[dtype] = (self.mean.reshape(shape).astype(dtype), sd.reshape(shape).astype(dtype))
        return cached

    def forward(self, x, training=False, call=None):
        call = self.record(call)
        self.check_input(x)
        if self.mean is None:
            if not self._warned:
                warnings.warn(f"{self.display_name}: not adapted; passing inputs through unchanged. Call "
                              f"adapt(x_train) before training, or give mean= and variance=.",
                              RuntimeWarning, stacklevel=3)
                self._warned = True
            return x
        dtype = getattr(self, "_dtype", None) or x.dtype
        if x.dtype != dtype and not self.invert:
            # Raw inputs wider than the model (float64, int64): centre in float64, then cast.
            # np.subtract computes in float64 and writes float32; (x − μ) is small, so it survives.
            mean64, _ = self._params_for(np.dtype(np.float64))
            _, sd = self._params_for(dtype)
            out = call.buffer("a", x.shape, dtype)
            np.subtract(x, mean64, out=out, casting="same_kind")
            out /= sd                                                  # a = (x − μ) / σ
            return out
        mean, sd = self._params_for(x.dtype)
        out = call.buffer("a", x.shape, x.dtype)
        if self.invert:
            np.multiply(x, sd, out=out)
            out += mean                                                # a = x σ + μ
        else:
            np.subtract(x, mean, out=out)
            out /= sd                                                  # a = (x − μ) / σ
        return out

    def backward(self, delta, call=None):
        call = self.record(call)
        if not call.need_input_grad:
            return None
        if self.mean is None:
            return delta
        _, sd = self._params_for(delta.dtype)
        s = call.buffer("s", delta.shape, delta.dtype)
        # ∂a/∂x = 1/σ (or σ when inverted), elementwise: no weights to fill.
        return np.multiply(delta, sd, out=s) if self.invert else np.divide(delta, sd, out=s)

    def get_config(self):
        config = {**super().get_config(), "axis": _axis_repr(self.axis), "invert": self.invert,
                  "epsilon": self.epsilon}
        if self.mean is not None:
            config["mean"], config["variance"] = self.mean.tolist(), self.variance.tolist()
        return config


def _check_axis(axis):
    if axis is None:
        return None
    if isinstance(axis, (numbers.Integral,)) and not isinstance(axis, bool):
        return (int(axis),)
    if isinstance(axis, (tuple, list)) and axis and all(
            isinstance(a, numbers.Integral) and not isinstance(a, bool) for a in axis):
        return tuple(int(a) for a in axis)
    raise TypeError(f"Normalization: expected axis an int, a tuple of ints or None, got {axis!r}.")


def _axis_repr(axis):
    """The JSON form of a checked axis: an int, a list of ints, or None."""
    if axis is None:
        return None
    return axis[0] if len(axis) == 1 else list(axis)
