"""The cast of inputs into the model's float type, and what it may lose.

A float32 model computes in float32, so inputs given as float64 (or int64) are
cast on their way in. float32 keeps 24 bits: at |x| ≈ 1.7e9 (seconds since 1970)
neighbouring float32 values are 128 apart, so ``1.7e9 + np.arange(400.)``
reaches the net as about 4 distinct values. Two things keep that from happening
silently:

1. **Standardise before the cast.** When the model's first layer says it can
   take the raw inputs (:attr:`netfit.layers.Normalization.keeps_input_precision`:
   an adapted, non-inverted Normalization), batches are handed to it in their own
   dtype (float64 for integers), and it computes (x − μ) / σ in float64 before
   writing float32: the small standardised values survive the cast.
2. **Otherwise warn, with the fix.** :func:`warn_if_collapsed` measures, per
   input feature, how many float32 steps its range spans; below
   :data:`MIN_LEVELS` it issues an :class:`InputPrecisionWarning` naming the
   feature and the fixes.

``Sequential`` uses :func:`feed_dtype` wherever it casts (fit's batches,
validation, evaluate, predict, ``loss_and_gradients``, L-BFGS) and calls
:func:`warn_if_collapsed` from its input check, so every entry point behaves alike.
"""
import numpy as np

from .utils import warn

__all__ = ["MIN_LEVELS", "InputPrecisionWarning", "feed_dtype", "float_levels", "warn_if_collapsed"]

#: A feature whose range spans fewer float steps than this (12 of float32's 24 bits) is reported.
MIN_LEVELS = 2 ** 12


class InputPrecisionWarning(RuntimeWarning):
    """Distinct input values collapse when cast to the model's float type."""


def lossless(x_dtype, dtype):
    """True when every value of ``x_dtype`` is exact in ``dtype`` (uint8 or float32 into float32)."""
    return np.can_cast(x_dtype, dtype, "safe")


def feed_dtype(x_dtype, dtype, first_layer):
    """The dtype batches of inputs of ``x_dtype`` are given to ``first_layer`` in, for a model of ``dtype``.

    The model's own ``dtype``, unless that cast could lose information and the first layer
    standardises in float64 itself (``keeps_input_precision``): then float64.

    Examples
    --------
    >>> feed_dtype(np.dtype("uint8"), np.dtype("float32"), None)
    dtype('float32')
    """
    dtype = np.dtype(dtype)
    if lossless(x_dtype, dtype) or not getattr(first_layer, "keeps_input_precision", False):
        return dtype
    return np.dtype(np.float64)


def float_levels(low, high, dtype):
    """(high − low) / (spacing of ``dtype`` at max(|low|, |high|)): the distinct values a cast can keep.

    Examples
    --------
    >>> float(float_levels(1.7e9, 1.7e9 + 399, np.float32))
    3.1171875
    """
    low, high = np.asarray(low, np.float64), np.asarray(high, np.float64)
    step = np.spacing(np.maximum(np.abs(low), np.abs(high)).astype(dtype)).astype(np.float64)
    return (high - low) / step


def warn_if_collapsed(x, dtype, first_layer, where, name="x"):
    """Warn when casting ``x`` to ``dtype`` leaves some feature fewer than :data:`MIN_LEVELS` values.

    Nothing is checked when the cast is exact (uint8, float32 into float32) or when
    the first layer standardises the raw inputs in float64 itself. Otherwise each
    feature's min and max are read once (a pass over ``x``; nothing its size is allocated).
    Returns the number of features reported.
    """
    dtype = np.dtype(dtype)
    if lossless(x.dtype, dtype) or getattr(first_layer, "keeps_input_precision", False):
        return 0
    flat = x.reshape(len(x), -1)
    low, high = flat.min(axis=0), flat.max(axis=0)
    levels = float_levels(low, high, dtype)
    bad = np.flatnonzero((high > low) & (levels < MIN_LEVELS))
    if bad.size:
        j = int(bad[np.argmin(levels[bad])])
        more = f" (and {bad.size - 1} other feature(s))" if bad.size > 1 else ""
        warn(f"{where}: {name}'s feature {j}{more} spans only {float(high[j] - low[j]):.4g} around "
             f"{float(low[j]):.6g}: cast to the model's {dtype} it keeps about {max(int(levels[j]), 1)} distinct "
             f"values, so different inputs reach the net as the same number. Standardise before the cast: "
             f"put an adapted Normalization first (norm = netfit.layers.Normalization(); norm.adapt(x); it "
             f"works in float64), subtract the offset ({name} - {name}.mean(axis=0)), or build the model with "
             f"dtype='float64'.", InputPrecisionWarning)
    return int(bad.size)
