"""``keras.activations``: netfit.activations under Keras's module name (``get(name)`` finds one)."""
from ..activations import *          # noqa: F401,F403
from ..activations import get        # noqa: F401
