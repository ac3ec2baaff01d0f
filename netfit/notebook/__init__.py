"""netfit in a notebook (JupyterLab, VS Code, Colab): rich output, a live training plot, the playground as a widget.

``import netfit`` imports no IPython: the progress bar (:mod:`netfit.callbacks.progress`),
``model.summary()`` and the figures find a running kernel through ``sys.modules`` and
show themselves there; elsewhere they print text as before. This package holds what
exists only for notebooks. See docs/notebook.md.

:class:`Playground` (:mod:`netfit.notebook.widget`) is ``netfit serve``'s playground as a
widget: live curves, a pad to draw a digit and its ten probabilities, the first layer's
weights, one digit's δ at every layer; the training runs in the kernel, and the widget's
front end runs the playground's own ES modules (no Node build). It needs anywidget
(``pip install 'netfit[notebook]'``); without it ``import netfit.notebook`` still works,
and ``Playground(...)`` says what to install.
"""
from .live import LivePlot

try:
    import anywidget  # noqa: F401  (the widget's base class)
except ImportError as _missing:                  # the widget says what to install when it is made
    _MISSING = _missing

    class Playground:
        """Stands in for :class:`netfit.notebook.widget.Playground` when anywidget is not installed."""

        def __init__(self, *args, **kwargs):
            raise ImportError("Playground: the notebook widget needs anywidget; "
                              "pip install 'netfit[notebook]'.") from _MISSING
else:
    from .widget import Playground

__all__ = ["LivePlot", "Playground"]
