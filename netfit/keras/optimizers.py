"""``keras.optimizers``: netfit.optimizers under Keras's module name."""
from ..optimizers import *          # noqa: F401,F403
from ..optimizers import __all__    # noqa: F401
from ..optimizers import get        # noqa: F401
