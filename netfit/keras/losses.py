"""``keras.losses``: netfit.losses under Keras's module name, and Keras's loss functions (``keras.losses.hinge``)."""
from ..losses import *          # noqa: F401,F403
from ..losses import __all__ as _classes
from ..losses import get        # noqa: F401
from ..losses.functions import *          # noqa: F401,F403 — hinge(y_true, y_pred), ...: compile takes them too
from ..losses.functions import __all__ as _functions

__all__ = list(_classes) + list(_functions)
from ..losses.base import reduce_values     # noqa: F401 — Keras's reduce_weighted_values, for Loss subclasses
