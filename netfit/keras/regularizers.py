"""``keras.regularizers``: :mod:`netfit.ops.regularizers` under Keras's module name (L1, L2, L1L2, ``get``)."""
from ..ops.regularizers import *          # noqa: F401,F403
from ..ops.regularizers import Regularizer, deserialize, get, serialize        # noqa: F401
