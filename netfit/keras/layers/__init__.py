"""``keras.layers``: netfit's layers under Keras's names (``from netfit.keras.layers import Conv2D``)."""
from ...layers import *          # noqa: F401,F403 — the same names, one table (netfit.layers.__all__)
from ...layers import __all__ as _names
from ...layers import Input, InputLayer, Layer
from . import experimental      # noqa: F401 — tf.keras 2's keras.layers.experimental (RandomFourierFeatures)

__all__ = sorted(set(_names) | {"Input", "InputLayer", "Layer"})
