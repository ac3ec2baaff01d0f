"""Training curves: History's picture, loss and each metric per epoch, training against validation.

``History.plot()`` and :func:`netfit.plotting.plot_history` draw it; in a notebook
the returned Figure shows in the cell (:mod:`netfit.figures`), and
:class:`netfit.notebook.LivePlot` redraws it after every epoch while ``fit`` runs.
"""
import numpy as np

from ..figures import finish, new_figure

__all__ = ["plot_history"]


def plot_history(history, path=None):
    """Draw loss (and each metric) per epoch, training against validation.

    Parameters
    ----------
    history : History or dict
        What :meth:`netfit.Sequential.fit` returns, or its ``.history`` dict.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> fig = plot_history({"loss": [1.0, 0.5], "val_loss": [1.1, 0.7], "accuracy": [0.6, 0.8]})
    >>> [ax.get_ylabel() for ax in fig.axes], len(fig.axes[0].lines)
    (['loss', 'accuracy'], 2)
    """
    logs = history.history if hasattr(history, "history") else history
    if not isinstance(logs, dict) or not logs:
        raise ValueError("plot_history: expected a History or a non-empty dict of per-epoch values, "
                         f"got {type(history).__name__}.")
    panels = [k for k in logs if not k.startswith("val_")]
    fig = new_figure((4.6 * len(panels), 3.4), "plot_history")
    from matplotlib.ticker import MaxNLocator
    axes = fig.subplots(1, len(panels), squeeze=False)
    for ax, key in zip(axes[0], panels):
        epochs = np.arange(1, len(logs[key]) + 1)
        ax.plot(epochs, logs[key], "o-", ms=3, label="training")
        if f"val_{key}" in logs:
            ax.plot(epochs, logs[f"val_{key}"], "s--", ms=3, label="validation")
        ax.set_xlabel("epoch")
        if len(epochs) <= 10:
            ax.set_xticks(epochs)                     # one tick per epoch (one epoch: one tick, not 0.95 … 1.05)
        else:
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_ylabel(key)
        ax.grid(alpha=0.3)
        ax.legend()
    return finish(fig, path)
