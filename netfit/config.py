"""Numerical settings shared by all of netfit: the default float type.

float32 is the default because it halves memory traffic and doubles BLAS speed;
float64 is there for gradient checks and teaching, where every digit matters.
"""
import numpy as np

_SUPPORTED = ("float32", "float64")
_floatx = "float32"


def floatx():
    """Return the default float type name, ``"float32"`` or ``"float64"``."""
    return _floatx


def set_floatx(name):
    """Set the default float type for models built from now on.

    Examples
    --------
    >>> import netfit as nf
    >>> nf.config.set_floatx("float64"); nf.config.floatx()
    'float64'
    >>> nf.config.set_floatx("float32")
    """
    global _floatx
    if name not in _SUPPORTED:
        raise ValueError(f"set_floatx: expected one of {_SUPPORTED}, got {name!r}.")
    _floatx = name


def dtype():
    """Return the default float type as a NumPy dtype."""
    return np.dtype(_floatx)
