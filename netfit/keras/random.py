"""``keras.random``: netfit.ops's random family under Keras's module name (``keras.random.normal``, ``SeedGenerator``)."""
from ..ops.random import (SeedGenerator, beta, binomial, categorical, dropout, gamma, normal, randint,  # noqa: F401
                          shuffle, truncated_normal, uniform)
from ..ops.random import __all__  # noqa: F401
