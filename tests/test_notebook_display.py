"""netfit in a real IPython kernel (nbclient): the progress bar redrawn in place, rich summary, History,
figures and LivePlot as cell outputs, and the same calls as plain text outside a kernel (netfit.display)."""
import gc
import os
import pathlib
import subprocess
import sys
import textwrap
import warnings

import numpy as np
import pytest

import netfit as nf
from netfit.callbacks import History
from netfit.layers import Dense
from netfit.notebook import LivePlot

ROOT = pathlib.Path(__file__).resolve().parents[1]

# The cells run in one kernel; each test reads the outputs of its own cells.
SETUP = """
import time, numpy as np, netfit as nf
from netfit.layers import Dense
from netfit.callbacks import LambdaCallback
from netfit.notebook import LivePlot
rng = np.random.default_rng(0)
x = rng.normal(size=(100, 4)); y = (x[:, 0] > 0).astype(int)
model = nf.Sequential([Dense(8, activation="relu", input_shape=(4,)), Dense(2, activation="softmax")], seed=0)
model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
slow = LambdaCallback(on_train_batch_end=lambda batch, logs: time.sleep(0.04))   # ~0.4 s an epoch: redraws
"""
CELLS = {
    "fit": "history = model.fit(x, y, epochs=3, batch_size=8, validation_split=0.2, callbacks=[slow])",
    "fit2": "model.fit(x, y, epochs=2, batch_size=8, verbose=2)",
    "summary": "model.summary()",
    "model": "model",
    "history": "history",
    "plot": "history.plot()",
    "digits": "from netfit.plotting import plot_digits; plot_digits(rng.random((9, 16, 16)), np.arange(9), np.arange(9))",
    "live": "model.fit(x, y, epochs=3, batch_size=8, verbose=2, validation_split=0.2, callbacks=[LivePlot(), slow])",
    "imported": "import sys; print(sorted(m for m in ('IPython', 'matplotlib.pyplot') if m in sys.modules))",
}


@pytest.fixture(scope="module")
def executed():
    """{cell name: (outputs, {message type: count})} of the cells above, run in a fresh kernel."""
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(SETUP)] + [nbformat.v4.new_code_cell(src) for src in CELLS.values()]
    counts = {}

    class Counting(nbclient.NotebookClient):
        def process_message(self, msg, cell, cell_index):         # every iopub message the cell received
            kinds = counts.setdefault(cell_index, {})
            kinds[msg["msg_type"]] = kinds.get(msg["msg_type"], 0) + 1
            return super().process_message(msg, cell, cell_index)

    # The kernel is this interpreter's (ipykernel's native spec) and imports this checkout's netfit.
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    old = os.environ.copy()
    os.environ.update(env)
    try:
        Counting(nb, kernel_name="python3", timeout=120).execute()
    finally:
        os.environ.clear()
        os.environ.update(old)
        with warnings.catch_warnings():               # nbclient leaves its ZeroMQ sockets to the collector:
            warnings.simplefilter("ignore", ResourceWarning)     # here, not in a later test that counts warnings
            gc.collect()
    return {name: (nb.cells[k + 1].outputs, counts.get(k + 1, {})) for k, name in enumerate(CELLS)}


def _streams(outputs):
    return "".join(o.text for o in outputs if o.output_type == "stream")


def _displays(outputs):
    return [o for o in outputs if o.output_type == "display_data"]


def test_progress_bar_redraws_in_place_and_keeps_one_line_per_epoch(executed):
    outputs, counts = executed["fit"]
    text = _streams(outputs)
    assert text == "Epoch 1/3\nEpoch 2/3\nEpoch 3/3\n"          # the bar never goes into the text stream
    bars = [o.data["text/plain"] for o in _displays(outputs)]
    assert len(bars) == 3                                          # one output per epoch, not one per redraw
    for line in bars:
        assert line.startswith("10/10 [==============================]"), line
        assert " - loss: " in line and " - val_loss: " in line and " - val_accuracy: " in line
        assert "ETA" not in line                                  # the finished line
    assert counts.get("update_display_data", 0) >= 3              # redrawn while the epochs ran
    order = [o.output_type for o in outputs]
    assert order == ["stream", "display_data"] * 3 or order[0] == "stream", order


def test_verbose_2_writes_lines_only(executed):
    outputs, counts = executed["fit2"]
    lines = _streams(outputs).splitlines()
    assert [line for line in lines if line.startswith("Epoch")] == ["Epoch 1/2", "Epoch 2/2"]
    assert all(line.startswith("13/13 - ") for line in lines if not line.startswith("Epoch")), lines
    assert not _displays(outputs) and "update_display_data" not in counts


def test_summary_is_an_html_table_with_its_text(executed):
    outputs, _ = executed["summary"]
    (shown,) = _displays(outputs)
    html, text = shown.data["text/html"], shown.data["text/plain"]
    assert "<table>" in html and "<td>dense (Dense)</td><td>(None, 8)</td><td>40</td>" in html
    assert "Total params: 58" in html and "Total params: 58" in text and " dense (Dense)" in text
    assert not _streams(outputs)                                  # not printed a second time


def test_model_and_history_show_as_tables(executed):
    (model,), _ = executed["model"]
    assert model.output_type == "execute_result" and "Total params: 58" in model.data["text/html"]
    (history,), _ = executed["history"]
    html = history.data["text/html"]
    assert history.data["text/plain"] == "<History: 3 epochs of loss, accuracy, val_loss, val_accuracy>"
    assert html.count("<tr>") == 1 + 3 and "<th>val_accuracy</th>" in html


def test_figures_returned_by_a_cell_show_as_pictures(executed):
    for name in ("plot", "digits"):
        (result,), _ = executed[name]
        assert result.output_type == "execute_result" and "image/png" in result.data, (name, result.data.keys())


def test_live_plot_is_one_picture_redrawn_after_each_epoch(executed):
    outputs, counts = executed["live"]
    (picture,) = _displays(outputs)
    assert "image/png" in picture.data and picture.data["text/plain"].startswith("<LivePlot: epoch 3, loss ")
    assert counts.get("update_display_data") == 3                 # each epoch's picture replaced what was there
    order = [o.output_type for o in outputs]
    assert order[0] == "display_data" and "stream" in order       # the picture above the epochs' lines
    assert _streams(outputs).count("Epoch ") == 3


def test_pyplot_is_not_started(executed):
    outputs, _ = executed["imported"]
    assert _streams(outputs) == "['IPython']\n"                    # figures without pyplot, in a kernel too


def test_outside_a_kernel_everything_is_text(capsys, tmp_path):
    model = nf.Sequential([Dense(2, input_shape=(3,))])
    model.summary()
    assert capsys.readouterr().out.startswith('Model: "sequential"\n')
    assert model._repr_html_().startswith('<div class="netfit-summary">')
    assert nf.Sequential([Dense(2)])._repr_html_() is None       # input shape unknown: IPython shows repr
    model.compile(optimizer="sgd", loss="mse")
    x = np.zeros((4, 3))
    history = model.fit(x, x[:, :2], epochs=2, verbose=0, callbacks=[LivePlot(), LivePlot(tmp_path / "c.png")])
    assert capsys.readouterr().out == "" and (tmp_path / "c.png").stat().st_size > 0
    assert repr(history) == "<History: 2 epochs of loss>"


def test_history_table_shortens_long_runs():
    history = History()
    for epoch in range(40):
        history.on_epoch_end(epoch, {"loss": 1 / (epoch + 1)})
    html = history._repr_html_()
    assert html.count("<tr>") == 1 + 10 + 1 + 10 and "<td>40</td><td>0.025</td>" in html and "…" in html
    assert History()._repr_html_() is None


def test_live_plot_refuses_bad_arguments_before_training(tmp_path):
    with pytest.raises(ValueError, match=r"LivePlot: expected every a positive number of epochs, got 0"):
        LivePlot(every=0)
    model = nf.Sequential([Dense(1, input_shape=(1,))])
    model.compile(optimizer="sgd", loss="mse")
    before = model.get_weights()
    with pytest.raises((ValueError, OSError), match="LivePlot"):
        model.fit(np.zeros((2, 1)), np.zeros((2, 1)), verbose=0, callbacks=[LivePlot(path=tmp_path)])
    assert all(np.array_equal(a, b) for a, b in zip(before, model.get_weights()))


def test_kernel_check_reads_sys_modules_only(monkeypatch):
    from netfit import display

    class Shell:
        kernel = object()

    fake = type(sys)("IPython")
    fake.get_ipython = lambda: Shell()
    monkeypatch.setitem(sys.modules, "IPython", fake)
    assert isinstance(display.kernel(), Shell)
    fake.get_ipython = lambda: type("TerminalShell", (), {})()    # terminal IPython: no kernel
    assert display.kernel() is None


SCRIPT = textwrap.dedent("""\
    import netfit as nf, numpy as np
    from netfit.layers import Dense
    m = nf.Sequential([Dense(1, input_shape=(1,))]); m.compile(optimizer="sgd", loss="mse")
    m.fit(np.zeros((64, 1)), np.zeros((64, 1)), epochs=2)
""")


def test_a_log_file_gets_the_epoch_lines_only(tmp_path):
    """Not a terminal, not a kernel (CI, `> log`): verbose="auto" writes each epoch's finished line."""
    out = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, check=True,
                         env={**os.environ, "PYTHONPATH": str(ROOT)}).stdout.splitlines()
    assert out[0] == "Epoch 1/2" and out[1].startswith("2/2 [====") and out[2] == "Epoch 2/2" and len(out) == 4
    assert "\r" not in "".join(out)
