"""The playground widget's kernel side (netfit.notebook.widget), without a browser.

The widget is made on ESL's 320/160 ZIP digits and Net-2 (trains in well under a second); its
messages are answered as the front end would get them (``send`` is recorded), and its traits are
read as the front end would draw them. The browser side: tests/test_notebook_browser.py.
"""
import io
import logging
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("anywidget")
pytest.importorskip("PIL")
from PIL import Image                                     # noqa: E402

from netfit.notebook import Playground                    # noqa: E402
from netfit.notebook import widget as widget_module       # noqa: E402
from netfit.serve.session import Session                  # noqa: E402

from data_folder import ABSENT, SHARED_DATA, holds        # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
NET2 = {"data": "zip-esl", "preset": "net2", "epochs": 2, "seed": 0}


@pytest.fixture(scope="module")
def data_env():
    """NETFIT_DATA_DIR at the shared data when unset; skip without the ZIP digits."""
    if not holds("zip", SHARED_DATA):
        pytest.skip(f"{ABSENT} (zip)")
    with pytest.MonkeyPatch.context() as mp:
        if not os.environ.get("NETFIT_DATA_DIR"):
            mp.setenv("NETFIT_DATA_DIR", str(SHARED_DATA))
        yield


class Front:
    """The widget with its answers recorded: ``ask(...)`` sends a message as widget.js does and returns the answer."""

    def __init__(self, **settings):
        self.widget = Playground(**{**NET2, **settings})
        self.sent = []
        self.widget.send = lambda content, buffers=None: self.sent.append(content)

    def ask(self, content, buffers=()):
        self.widget._on_message(self.widget, content, list(buffers))
        return self.sent[-1]


@pytest.fixture
def front(data_env):
    f = Front()
    yield f
    f.widget.close()


def wait_for(predicate, timeout=30.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.01)
    raise AssertionError("timed out")


def seven(size=200):
    """A 7 as the pad sends it: white strokes on black, PNG bytes."""
    pad = np.zeros((size, size), np.uint8)
    pad[40:56, 40:160] = 255
    for row in range(56, 170):
        col = 160 - (row - 56) * 70 // 114
        pad[row, col - 8:col + 8] = 255
    out = io.BytesIO()
    Image.fromarray(pad).save(out, "PNG")
    return out.getvalue()


# -- made like the playground ----------------------------------------------------------------------------
def test_made_from_the_playgrounds_settings_with_its_modules_and_style(front):
    w = front.widget
    assert w.settings["preset"] == "net2" and w.settings["epochs"] == 2 and w.settings["batch_size"] == 32
    assert w.names == [str(k) for k in range(10)]
    assert "Total params" in w.summary and w.status["state"] == "ready" and w.history == []
    static = ROOT / "netfit" / "serve" / "static"
    assert [name for name, _ in w._modules] == ["plots.js", "pad.js", "panels.js"]      # the playground's own
    assert all(source == (static / name).read_text(encoding="utf-8") for name, source in w._modules)
    assert w._css.startswith(".netfit-playground {\n" + (static / "style.css").read_text(encoding="utf-8"))
    assert len(w.session.x) == 320 and len(w.session.x_test) == 160                    # ESL's draw
    same = Session(NET2)                                                               # netfit serve's net
    for a, b in zip(same.model.get_weights(), w.model.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_the_front_end_links_the_shared_modules_in_the_order_sent():
    """widget.js rewrites each `from "./x.js"` to x.js's Blob URL: x.js must come before the module importing it."""
    source = (ROOT / "netfit" / "notebook" / "widget.js").read_text(encoding="utf-8")
    assert 'export default {render}' in source and "URL.createObjectURL" in source
    static = ROOT / "netfit" / "serve" / "static"
    sent = []
    for name in widget_module.SHARED:
        imports = [line for line in (static / name).read_text(encoding="utf-8").splitlines() if line.startswith("import ")]
        assert all(any(f'"./{earlier}"' in line for earlier in sent) for line in imports), (name, imports)
        sent.append(name)


@pytest.mark.parametrize("settings, message", [
    ({"preset": "net9"}, "Playground: expected preset one of net1, net2, net3, net4, net5, mlp, cnn, zipcnn, custom, "
                         "got 'net9'."),
    ({"data": "cifar"}, "Playground: expected data one of zip-esl, zip, mnist, got 'cifar'."),
    ({"epochs": 0}, r"Playground: expected epochs an integer in 1..10000, got 0."),
    ({"colour": "red"}, "Playground: unknown key 'colour'; known: data, preset, optimizer"),
    ({"preset": "custom"}, "Playground: expected architecture, a JSON object"),
    ({"rate": 0}, "Playground: expected rate a positive number (updates a second), got 0."),
])
def test_bad_settings_say_what_is_expected(data_env, settings, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)").replace(".", r"\.")):
        Playground(**settings)


# -- the messages: drawing, first layer, δ ---------------------------------------------------------------
def test_a_drawing_gives_the_ten_probabilities_of_the_net(front):
    answer = front.ask({"do": "look", "id": "view:1"}, [seven()])
    assert answer["kind"] == "look" and answer["id"] == "view:1"
    proba = np.array(answer["proba"])
    assert proba.shape == (10,) and abs(proba.sum() - 1) < 1e-4 and (proba >= 0).all()
    session = front.widget.session
    image = session.read_picture(seven())                        # netfit predict's preprocessing
    np.testing.assert_allclose(proba, session.model.predict(image[None]).ravel(), rtol=1e-3, atol=1e-6)
    assert answer["seen"]["shape"] == [16, 16] and max(answer["seen"]["pixels"]) > 128       # what the net sees


def test_the_first_layer_as_images(front):
    answer = front.ask({"do": "first_layer", "id": 7})
    assert answer["kind"] == "first_layer" and answer["id"] == 7
    assert answer["count"] == 12 and answer["tile_shape"] == [16, 16] and len(answer["tiles"][0]) == 256


def test_a_single_step_then_delta_at_every_layer(front):
    w = front.widget
    assert front.ask({"do": "step", "id": 1})["status"]["state"] == "paused"
    wait_for(lambda: w.status.get("steps") == 1 and w.status["state"] == "paused")
    wait_for(lambda: w.progress.get("steps") == 1)                # the step reached the front end's trait
    answer = front.ask({"do": "backprop", "label": 7, "id": 2}, [seven()])
    assert answer["kind"] == "backprop" and answer["steps"] == 1 and answer["label"] == 7
    assert [layer["type"] for layer in answer["layers"]] == ["Dense", "Dense", "Flatten"]    # output first
    output = answer["layers"][0]
    proba = np.array(front.ask({"do": "look"}, [seven()])["proba"])
    np.testing.assert_allclose(output["delta"], proba - np.eye(10)[7], atol=1e-5)            # δ = p − onehot(y)
    assert output["at_z"] and [g["name"] for g in output["grads"]] == ["kernel", "bias"]
    front.ask({"do": "step"})
    wait_for(lambda: w.status.get("steps") == 2)
    assert front.ask({"do": "backprop", "label": 7}, [seven()])["steps"] == 2


def test_training_reaches_the_traits_live(front):
    w = front.widget
    changes = []
    w.observe(lambda change: changes.append((change["name"], time.perf_counter())), names=["history", "status", "progress"])
    history = w.fit()                                            # blocks this cell until the run ends
    assert [row["epoch"] for row in history] == [1, 2]
    wait_for(lambda: w.status["state"] == "done" and len(w.history) == 2)
    assert w.history == history == w._trainer.history
    assert {"loss", "accuracy", "test_loss", "test_accuracy"} <= set(w.history[-1])
    assert w.progress["of"] == 10 and w.status["steps"] == 20 and w.status["epochs"] == 2
    names = [name for name, _ in changes]
    # The relay sends what arrived since its last wake-up as one update (at most `rate` a second): the two
    # epochs of this 20-step run may come as one change or two. The browser test watches a longer run live.
    assert names.count("history") in (1, 2) and "progress" in names
    assert w.fit(epochs=1)[-1]["epoch"] == 3                             # one more, from where it was
    assert w.session.settings["epochs"] == w.settings["epochs"] == 2     # for that run only: Reset keeps 2
    assert w.status["state"] == "done" and w.status["epoch"] == w.status["epochs"] == 3   # as fit returns: 3 of 3
    with pytest.raises(ValueError, match=r"Playground\.fit: expected epochs an integer in 1\.\.10000, got 0\."):
        w.fit(epochs=0)


def test_start_from_the_front_end_then_stop(data_env):
    f = Front(epochs=200, batch_size=1)
    w = f.widget
    try:
        assert f.ask({"do": "start"})["status"]["state"] == "running"
        wait_for(lambda: w.status.get("steps", 0) >= 5)
        assert f.ask({"do": "stop"})["status"]["state"] == "done"   # the thread is gone, the weights stay
        wait_for(lambda: w.status["state"] == "done")
        steps = w._trainer.steps
        time.sleep(0.1)
        assert w._trainer.steps == steps and not w._trainer._thread
        assert f.ask({"do": "pause"})["status"]["state"] == "done"       # nothing to pause
    finally:
        w.close()


def test_reset_gives_the_first_weights_again(front):
    w = front.widget
    first = [a.copy() for a in w.model.get_weights()]
    w.fit()
    assert front.ask({"do": "reset", "id": 3})["status"]["state"] == "ready"
    wait_for(lambda: w.generation == 1 and w.history == [] and w.progress == {})
    for a, b in zip(first, w.model.get_weights()):
        np.testing.assert_array_equal(a, b)


# -- bad messages: an answer the widget shows, never a traceback ------------------------------------------
BIG = b"\x89PNG\r\n\x1a\n" + bytes(widget_module.MAX_PICTURE_BYTES)


@pytest.mark.parametrize("content, buffers, message", [
    ("look", [], "Playground: expected a message object, got str."),
    ({"id": 1}, [], "Playground: expected do one of look, backprop, first_layer, start, pause, step, reset, stop, "
                    "got None."),
    ({"do": "fly"}, [], "Playground: expected do one of look, backprop, first_layer, start, pause, step, reset, stop, "
                        "got 'fly'."),
    ({"do": "look"}, [], "look: expected one PNG picture (the pad) with the message, got 0 buffers."),
    ({"do": "look"}, [b"a", b"b"], "look: expected one PNG picture (the pad) with the message, got 2 buffers."),
    ({"do": "look"}, [b"GIF89a..."], "look: expected a PNG picture (the pad), got other bytes."),
    ({"do": "look"}, [BIG], "look: expected at most 2,097,152 bytes of picture, got 2,097,160."),
    ({"do": "look"}, [b"\x89PNG\r\n\x1a\nbroken"], "predict: cannot read the drawing as a picture"),
    ({"do": "backprop", "label": 12}, ["seven"], "backprop: expected a label in 0..9, got 12."),
    ({"do": "backprop", "label": "7"}, ["seven"], "backprop: expected a label in 0..9, got '7'."),
    ({"do": "backprop", "label": True}, ["seven"], "backprop: expected a label in 0..9, got True."),
    ({"do": "backprop"}, ["seven"], "backprop: expected a label in 0..9, got None."),
])
def test_a_bad_message_is_answered_with_an_error(front, caplog, content, buffers, message):
    buffers = [seven() if b == "seven" else b for b in buffers]
    with caplog.at_level(logging.WARNING):
        answer = front.ask(content, buffers)
    assert answer["kind"] == "error" and answer["message"].startswith(message), answer
    assert "/" not in answer["message"].replace("0..9", "")               # no kernel paths
    assert not caplog.records


def test_an_unexpected_failure_is_an_answer_too(front, monkeypatch):
    def broken():
        raise KeyError("kernel")
    monkeypatch.setattr(front.widget.session, "first_layer", broken)
    answer = front.ask({"do": "first_layer", "id": {"not": "an id"}})
    assert answer == {"kind": "error", "message": "KeyError: 'kernel'", "id": None}


# -- installing: the notebook extra ------------------------------------------------------------------------
def run_python(script):
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(script)], cwd=ROOT, capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_without_anywidget_the_package_imports_and_the_widget_says_what_to_install():
    out = run_python("""
        import sys
        sys.modules["anywidget"] = None                      # as if it were not installed
        import netfit.notebook
        try:
            netfit.notebook.Playground(data="zip-esl")
        except ImportError as exc:
            print(exc)
    """)
    assert out.strip() == "Playground: the notebook widget needs anywidget; pip install 'netfit[notebook]'."


def test_import_netfit_imports_no_ipython_nor_widgets():
    out = run_python("""
        import sys
        import netfit
        print(sorted(m for m in ("IPython", "ipywidgets", "anywidget", "ipykernel", "netfit.notebook") if m in sys.modules))
    """)
    assert out.strip() == "[]"
