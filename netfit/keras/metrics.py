"""``keras.metrics``: netfit.metrics under Keras's module name."""
from ..metrics import *          # noqa: F401,F403
from ..metrics import __all__    # noqa: F401
from ..metrics import get        # noqa: F401
