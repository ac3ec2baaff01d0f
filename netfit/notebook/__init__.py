"""netfit in a notebook (JupyterLab, VS Code, Colab): rich output, a live training plot, the playground as a widget.

``import netfit`` imports no IPython: the progress bar (:mod:`netfit.callbacks.progress`),
``model.summary()`` and the figures find a running kernel through ``sys.modules`` and
show themselves there; elsewhere they print text as before. This package holds what
exists only for notebooks. See docs/notebook.md.
"""
from .live import LivePlot

__all__ = ["LivePlot"]
