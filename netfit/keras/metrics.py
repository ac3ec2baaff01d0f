"""``keras.metrics``: netfit.metrics under Keras's module name, and Keras's ``Metric`` base for metrics of your own.

``keras.metrics.Metric`` (state in ``add_weight`` Variables), ``Mean``, ``Sum`` and
``MeanMetricWrapper`` are Keras's (:mod:`netfit.ops.metric`); ``netfit.metrics.Metric``
and ``netfit.metrics.Mean`` stay netfit's own bases of the built-in metrics.
"""
from ..metrics import *          # noqa: F401,F403
from ..metrics import __all__ as _netfit
from ..metrics import get        # noqa: F401
from ..ops.metric import Mean, MeanMetricWrapper, Metric, Sum      # noqa: F401 — Keras's, for metrics of your own

__all__ = list(_netfit) + ["MeanMetricWrapper", "Sum"]
