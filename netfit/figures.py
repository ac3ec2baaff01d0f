"""matplotlib Figures without pyplot, shown as pictures when a notebook cell returns them.

Every netfit picture (:mod:`netfit.plotting`, ``History.plot``, ``plot_model``,
the ESL and LeCun studies) is a :class:`matplotlib.figure.Figure` made here with
matplotlib's object-oriented API: no backend is switched, no window opens and no
figure stays open in pyplot, on a server, in CI or in a notebook alike.

A bare Figure returned by a notebook cell shows as text, ``<Figure size 640x480
with 1 Axes>``, unless pyplot's inline backend happens to have been started (it
registers a PNG formatter for figures). In a running kernel, :func:`new_figure`
registers the same formatter when none is there, so that ``plot_digits(...)`` as a
cell's last line shows the grid, as ``%matplotlib inline`` would. Outside a kernel
nothing is registered.
"""
import io

from .display import kernel

__all__ = ["require_matplotlib", "new_figure", "finish", "to_png"]


def require_matplotlib(where, alternative=""):
    """Raise ImportError naming the extra to install where matplotlib is missing (callers check before work).

    ``alternative`` adds another way out, e.g. ``"or pass plot=False (--no-plot)"``.
    """
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise ImportError(f"{where}: netfit.plotting needs matplotlib, which is not installed. "
                          f"Fix: pip install 'netfit[plot]'{', ' * bool(alternative)}{alternative}.") from None


def new_figure(figsize, where, layout="constrained", alternative=""):
    """A new Figure of ``figsize`` inches (width, height); shown as a PNG when a notebook cell returns it.

    Raises ImportError (with the fix) without matplotlib.
    """
    require_matplotlib(where, alternative)
    from matplotlib.figure import Figure
    shell = kernel()
    if shell is not None:
        _show_figures_as_png(shell, Figure)
    return Figure(figsize=figsize, layout=layout)


def finish(fig, path, dpi=100):
    """Write ``fig`` to ``path`` (PNG, or any format matplotlib knows from the suffix) when given; return it."""
    if path is not None:
        fig.savefig(path, dpi=dpi)
    return fig


def _show_figures_as_png(shell, figure_class):
    """Register a PNG formatter for Figures in the kernel, unless one is there (pyplot's inline backend's)."""
    formatter = shell.display_formatter.formatters["image/png"]
    try:
        formatter.lookup_by_type(figure_class)
    except KeyError:
        formatter.for_type(figure_class, to_png)


def to_png(fig):
    """The Figure as PNG bytes, cropped to what is drawn, on white (what a notebook cell shows)."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=fig.dpi, bbox_inches="tight", facecolor="white")
    return buffer.getvalue()
