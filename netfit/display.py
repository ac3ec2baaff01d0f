"""Rich output where a notebook can show it: find a running IPython kernel, never import IPython to look.

JupyterLab, VS Code and Colab run Python in an IPython kernel, whose output is a
cell rather than a terminal: ``sys.stdout.isatty()`` is False there, so a text
bar drawn with carriage returns would either print nothing or leave one line per
batch in the saved notebook. A kernel has loaded IPython already, so it is found
in ``sys.modules`` (``import netfit`` imports no IPython); outside one, everything
here answers None and callers print text as before.

Used by the progress bar (:mod:`netfit.callbacks.progress`), ``model.summary()``
and the figures (:mod:`netfit.figures`). Shown objects are MIME bundles
(``{"text/plain": ..., "text/html": ...}``): the front end picks the richest it
can show and the saved notebook keeps all of them. Updates go through a display
id (the Jupyter messaging protocol's ``update_display_data``): the cell keeps one
output that is redrawn in place, which is also what nbclient saves.
"""
import sys

__all__ = ["kernel", "show"]


def kernel():
    """The running IPython kernel's shell, or None (a script, a terminal, terminal IPython).

    A terminal IPython (no kernel: ``shell.kernel`` is absent) is a terminal, and
    gets the terminal's output.

    Examples
    --------
    >>> kernel() is None          # doctests do not run in a kernel
    True
    """
    ipython = sys.modules.get("IPython")
    get_ipython = getattr(ipython, "get_ipython", None)
    shell = get_ipython() if callable(get_ipython) else None
    return shell if getattr(shell, "kernel", None) is not None else None


def show(bundle, handle=None):
    """Show a MIME bundle in the current cell's output; return the handle that redraws it in place.

    Parameters
    ----------
    bundle : dict
        MIME type -> data, e.g. ``{"text/plain": "3/10 [=====>...]"}``; text/plain should
        always be there (nbclient, ``jupyter nbconvert --to script`` and screen readers read it).
    handle : IPython's DisplayHandle or None
        What an earlier call returned: the output it made is replaced by ``bundle``.

    Only call this where :func:`kernel` is not None.
    """
    from IPython.display import display     # the kernel has loaded it already: no start-up cost
    if handle is None:
        return display(bundle, raw=True, display_id=True)
    handle.update(bundle, raw=True)
    return handle
