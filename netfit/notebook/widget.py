"""The playground as a notebook widget: its panels in a cell, the training in this kernel with netfit itself.

``Playground(data="mnist", preset="mlp", epochs=2, limit=6000)`` takes the playground's settings
(:data:`netfit.serve.session.DEFAULTS`) and holds what ``netfit serve`` holds: a
:class:`~netfit.serve.session.Session` (data, the net compiled as ``netfit train`` compiles
it, the views) and a :class:`~netfit.serve.worker.Trainer` (``Sequential.fit`` in a thread,
feeding an event log). A relay thread turns the log's events into the widget's traits
(``status``, ``progress``, ``history``), so the curves move while the kernel trains, also
while a cell blocks in :meth:`Playground.fit`.

The front end (widget.js) asks with anywidget's custom messages, ``{"do": ..., "id": ...}``
and, for a drawing, the pad as PNG bytes in a buffer; each answer carries the same ``id``.
Every message is checked here, and a bad one is answered ``{"kind": "error", "message": ...}``,
which the widget shows: the kernel's log gets no traceback.
"""
import threading
from importlib import resources
from pathlib import Path

import anywidget
import traitlets

from netfit.serve.messages import public
from netfit.serve.session import Session, check_settings
from netfit.serve.worker import EventLog, Trainer

__all__ = ["Playground"]

_STATIC = resources.files("netfit.serve") / "static"
#: The playground's modules the widget runs, each after the ones it imports (widget.js links them in this order).
SHARED = ("plots.js", "pad.js", "panels.js")
#: What the widget's root nests the playground's own style sheet under (CSS nesting: one sheet, no copy).
ROOT_CLASS = "netfit-playground"
MAX_PICTURE_BYTES = 2 * 1024 * 1024             # as `netfit serve` (serve.app): a 200×200 pad is ~5 kB
CONTROLS = ("start", "pause", "step", "reset", "stop")
ASKS = ("look", "backprop", "first_layer") + CONTROLS


def _style():
    """The playground's style.css nested under the widget's root, then the widget's own rules."""
    playground = (_STATIC / "style.css").read_text(encoding="utf-8")
    own = Path(__file__).with_name("widget.css").read_text(encoding="utf-8")
    return f".{ROOT_CLASS} {{\n{playground}\n}}\n{own}"


class _Log(EventLog):
    """The trainer's event log, which also wakes the relay thread on every event."""

    def __init__(self):
        super().__init__()
        self.wake = threading.Event()

    def put(self, kind, data):
        super().put(kind, data)
        self.wake.set()


class Playground(anywidget.AnyWidget):
    """The playground's panels in a notebook cell; training runs in this kernel with netfit.

    Live curves (loss and accuracy per epoch, the running loss per mini-batch), a pad to
    draw a digit and its ten probabilities, the first layer's weights as images, and one
    digit's δ at every layer, recomputed after each single step. Show it as a cell's last
    value (or with ``display``); ▶ Start trains in a thread, :meth:`fit` trains in the cell.

    Parameters
    ----------
    rate : float
        At most this many progress updates a second while training (every step when single-stepping).
    **settings
        The playground's knobs (:data:`netfit.serve.session.DEFAULTS`): ``data`` (zip-esl, zip,
        mnist), ``preset`` (net1 … net5, mlp, cnn, zipcnn, custom with ``architecture``),
        ``optimizer``, ``lr``, ``momentum``, ``batch_size``, ``weight_decay``, ``init_scale``,
        ``standardize``, ``seed``, ``epochs``, ``limit``, ``test_limit``.

    Examples
    --------
    >>> from netfit.notebook import Playground                              # doctest: +SKIP
    >>> w = Playground(data="mnist", preset="mlp", epochs=2, limit=6000); w   # doctest: +SKIP
    >>> w.fit()                    # two epochs in this cell, the curves live  # doctest: +SKIP
    """

    _esm = Path(__file__).with_name("widget.js")
    _css = _style()
    _modules = traitlets.List().tag(sync=True)          # [[name, source], ...] of SHARED
    settings = traitlets.Dict().tag(sync=True)
    names = traitlets.List().tag(sync=True)             # the class names
    summary = traitlets.Unicode().tag(sync=True)        # model.summary() with links
    generation = traitlets.Int(0).tag(sync=True)        # one more at each reset: the front end starts over
    status = traitlets.Dict().tag(sync=True)            # state, epoch, epochs, steps, error, examples_per_second
    progress = traitlets.Dict().tag(sync=True)          # the newest mini-batch: epoch, batch, of, loss, accuracy
    history = traitlets.List().tag(sync=True)           # one dict per epoch: loss, accuracy, test_loss, ...

    def __init__(self, *, rate=20.0, **settings):
        if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not rate > 0:
            raise ValueError(f"Playground: expected rate a positive number (updates a second), got {rate!r}.")
        self._cache = {}
        self._log = _Log()
        self._session = Session(check_settings(settings, where="Playground"), self._cache)
        self._trainer = Trainer(self._session, self._log, rate)
        self._rate, self._closed = rate, False
        modules = [[name, (_STATIC / name).read_text(encoding="utf-8")] for name in SHARED]
        super().__init__(_modules=modules, **self._described(), status=self._status())
        self.on_msg(self._on_message)
        self._relay_thread = threading.Thread(target=self._relay, name="netfit-notebook-relay", daemon=True)
        self._relay_thread.start()

    # -- what Python sees -----------------------------------------------------------------------------
    @property
    def session(self):
        """The :class:`~netfit.serve.session.Session`: ``model``, ``x``, ``y``, ``x_test``, ``y_test``, the views."""
        return self._session

    @property
    def model(self):
        """The net being trained (a compiled :class:`netfit.Sequential`)."""
        return self._session.model

    def start(self):
        """Train in a thread for the settings' epochs (again: that many more); the cell returns at once."""
        self._trainer.start()

    def pause(self):
        """Hold the run between two steps; ``start`` goes on, ``step`` takes one more."""
        self._trainer.pause()

    def step(self):
        """Train one mini-batch, then pause: the δ panel is recomputed for the drawn digit."""
        self._trainer.step()

    def stop(self):
        """End the run (the weights stay); ``start`` or :meth:`fit` goes on from the next epoch."""
        self._trainer.stop()

    def reset(self):
        """A fresh net from the same settings (the first weights again), the curves cleared."""
        self._trainer.stop()
        self._session = Session(self._session.settings, self._cache)
        self._trainer = Trainer(self._session, self._log, self._rate)
        self._log.put("reset", {"settings": self._session.settings})

    def fit(self, epochs=None):
        """Train in this cell until the run ends; the widget's curves follow live. Returns the history.

        ``epochs`` more epochs (default: the settings'). Interrupting the kernel stops the run
        as Ctrl-C stops ``fit``: the weights stay, and the next start goes on from there.
        """
        if epochs is not None:                        # checked as the setting is; the settings stay (Reset keeps them)
            epochs = check_settings({**self._session.settings, "epochs": epochs}, where="Playground.fit")["epochs"]
        self._trainer.start(epochs)
        try:
            self._trainer.wait()
        except KeyboardInterrupt:
            self._trainer.stop()
        with self.hold_sync():                        # up to date when the cell goes on (the relay may lag)
            self.history = list(self._trainer.history)
            self.status = self._status()
        return list(self._trainer.history)

    def close(self):
        """Stop the training and the relay thread, and close the widget."""
        self._closed = True
        if hasattr(self, "_trainer"):                 # not after a failed __init__ (ipywidgets closes on deletion)
            self._trainer.stop()
            self._log.wake.set()
        super().close()

    # -- the relay: events -> traits ------------------------------------------------------------------
    def _described(self):
        session = self._session
        return {"settings": dict(session.settings), "names": list(session.metadata["class_names"]),
                "summary": session.summary()["text"]}

    def _status(self):
        return {k: v for k, v in self._trainer.status().items() if k != "history"}

    def _relay(self):
        """Wait for events; hand each wake-up's events to the front end in one update of the traits."""
        last = 0
        while not self._closed:
            self._log.wake.wait()
            self._log.wake.clear()
            events = self._log.since(last)
            if not events or self._closed:
                continue
            last = events[-1][0]
            try:
                self._show(events)
            except Exception as exc:                  # a closed comm, say: the kernel goes on, the log says why
                self._log_error(exc)

    def _show(self, events):
        kinds = {kind for _, kind, _ in events}
        with self.hold_sync():                        # one message to the front end for all of them
            if "reset" in kinds:
                for key, value in self._described().items():
                    setattr(self, key, value)
                self.progress = {}
                self.generation += 1
            batches = [data for _, kind, data in events if kind == "batch"]
            if batches:
                self.progress = batches[-1]
            self.history = list(self._trainer.history)
            self.status = self._status()

    def _log_error(self, exc):
        self.log.warning("netfit Playground: %s", public(f"{type(exc).__name__}: {exc}"))

    # -- messages from the front end ------------------------------------------------------------------
    def _on_message(self, _widget, content, buffers):
        """Answer one message with the same id; a bad message gets {"kind": "error", "message": ...}."""
        ask = content.get("id") if isinstance(content, dict) else None
        if not (isinstance(ask, str) and len(ask) <= 64 or isinstance(ask, int) and not isinstance(ask, bool)):
            ask = None
        try:
            answer = self._answer(content, buffers)
        except (ValueError, TypeError, OSError, RuntimeError, ImportError) as exc:
            answer = {"kind": "error", "message": public(exc)}
        except Exception as exc:                      # anything else: still shown in the widget, not a traceback
            answer = {"kind": "error", "message": public(f"{type(exc).__name__}: {exc}")}
        self.send({**answer, "id": ask})

    def _answer(self, content, buffers):
        if not isinstance(content, dict):
            raise ValueError(f"Playground: expected a message object, got {type(content).__name__}.")
        action = content.get("do")
        if action not in ASKS:
            raise ValueError(f"Playground: expected do one of {', '.join(ASKS)}, got {action!r}.")
        session = self._session
        if action in CONTROLS:
            getattr(self, action)()
            return {"kind": action, "status": self._status()}
        if action == "first_layer":
            return {"kind": action, **session.first_layer()}
        image = session.read_picture(_picture(buffers, action))
        if action == "look":
            return {"kind": action, "seen": session.image_payload(image), "proba": session.look(image)["proba"]}
        return {"kind": action, **session.backprop(image, content.get("label"))}


def _picture(buffers, where):
    """The one PNG a drawing message carries, as bytes, or a ValueError that says what came instead."""
    if len(buffers) != 1:
        raise ValueError(f"{where}: expected one PNG picture (the pad) with the message, got {len(buffers)} buffers.")
    data = bytes(buffers[0])
    if len(data) > MAX_PICTURE_BYTES:
        raise ValueError(f"{where}: expected at most {MAX_PICTURE_BYTES:,} bytes of picture, got {len(data):,}.")
    if not data.startswith(b"\x89PNG\r\n\x1a\n"):
        raise ValueError(f"{where}: expected a PNG picture (the pad), got other bytes.")
    return data
