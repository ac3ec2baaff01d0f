"""``keras.losses``: netfit.losses under Keras's module name."""
from ..losses import *          # noqa: F401,F403
from ..losses import __all__    # noqa: F401
from ..losses import get        # noqa: F401
