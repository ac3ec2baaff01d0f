"""LivePlot: the training curves redrawn in place in the notebook cell while ``fit`` runs.

The playground's curves, in a notebook: after every epoch the cell's one picture
(loss and each metric, training against validation: :func:`netfit.plotting.plot_history`)
is replaced by the new one through a display id, so the saved notebook keeps the
last picture only. Outside a kernel it shows nothing, and with ``path`` writes the
same picture to a file after every epoch (a PNG to keep open beside a terminal).
"""
import base64
import numbers

from .. import display
from ..callbacks import Callback
from ..callbacks.curves import plot_history
from ..figures import require_matplotlib, to_png
from ..files import check_writable

__all__ = ["LivePlot"]


class LivePlot(Callback):
    """Redraw loss and metrics per epoch in the notebook cell (in place); harmless elsewhere.

    Parameters
    ----------
    path : str or os.PathLike, optional
        Also write the picture there after each redraw (PNG, or any format matplotlib
        knows from the suffix), in a notebook or not.
    every : int
        Epochs between redraws (1: every epoch); the last epoch is always drawn.

    Raises
    ------
    ImportError
        Before the first step, where a picture is to be drawn (a kernel or ``path``) and
        matplotlib is missing: ``pip install 'netfit[plot]'`` (the notebook extra brings it too).
    ValueError
        ``every`` not a positive integer; ``path`` a folder or in a folder that cannot take it.

    Examples
    --------
    >>> from netfit.notebook import LivePlot
    >>> live = LivePlot(every=2)          # model.fit(x, y, epochs=20, callbacks=[live])
    """

    def __init__(self, path=None, every=1):
        if isinstance(every, bool) or not isinstance(every, numbers.Integral) or every < 1:
            raise ValueError(f"LivePlot: expected every a positive number of epochs, got {every!r}.")
        self.path, self.every = path, int(every)
        self.handle, self.drawn = None, None

    def check_before_fit(self, model, logs):
        """Refuse a missing matplotlib or an unwritable ``path`` before the weights change."""
        if self.path is not None:
            check_writable(self.path, "LivePlot")
        if self.path is not None or display.kernel() is not None:
            require_matplotlib("LivePlot", "or leave LivePlot out of callbacks")

    def on_train_begin(self, logs=None):
        self.handle, self.drawn = None, None
        if display.kernel() is not None:              # the picture's place: above the epochs' progress lines
            first = "the first epoch" if self.every == 1 else f"epoch {self.every}"
            self.handle = display.show({"text/plain": f"<LivePlot: the curves appear after {first}>"})

    def on_epoch_end(self, epoch, logs=None):
        if (epoch + 1) % self.every == 0:
            self._draw()

    def on_train_end(self, logs=None):
        if self.model.history.epoch and self.drawn != self.model.history.epoch[-1]:
            self._draw()                              # the last epoch, whatever `every` skipped

    def _draw(self):
        """Draw the fit's History (it records each epoch before the user's callbacks run)."""
        history, shell = self.model.history, display.kernel()
        if (shell is None and self.path is None) or not history.epoch:
            return
        fig = plot_history(history, self.path)
        if shell is not None:
            latest = ", ".join(f"{k} {v[-1]:.4g}" for k, v in history.history.items())
            bundle = {"image/png": base64.b64encode(to_png(fig)).decode("ascii"),
                      "text/plain": f"<LivePlot: epoch {history.epoch[-1] + 1}, {latest}>"}
            self.handle = display.show(bundle, self.handle)
        self.drawn = history.epoch[-1]
