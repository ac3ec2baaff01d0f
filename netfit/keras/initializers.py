"""``keras.initializers``: netfit.initializers under Keras's module name (``get(name)`` finds one)."""
from ..initializers import *          # noqa: F401,F403
from ..initializers import get        # noqa: F401
