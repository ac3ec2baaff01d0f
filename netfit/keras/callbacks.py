"""``keras.callbacks``: netfit.callbacks under Keras's module name."""
from ..callbacks import *          # noqa: F401,F403
from ..callbacks import __all__    # noqa: F401
