"""The playground widget in a real JupyterLab: Playwright driving Debian's chromium (no browser download).

A ``jupyter lab`` server (a subprocess on a free port, with a token, its root a temporary folder
holding a small notebook) runs the notebook's cells; its kernel imports this checkout's netfit
(PYTHONPATH). Then: the widget renders, a stroke on its pad gives ten probabilities, single-step
mode shows δ of each layer, and ▶ Start trains two epochs → the curves have two epochs of points.
Skips with one line without Chromium (`apt-get install chromium`) or without JupyterLab.

Screenshot: NETFIT_NOTEBOOK_SCREENSHOTS=docs/img writes docs/img/notebook_widget.png. Figures:
NETFIT_NOTEBOOK_MEASURE=FILE.json counts the updates that reach the page while the lecture MLP
trains on MNIST (docs/notebook.md).
"""
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

pytest.importorskip("jupyterlab", reason="no JupyterLab (pip install 'netfit[dev]')")
pytest.importorskip("anywidget", reason="no anywidget (pip install 'netfit[notebook]')")
pytest.importorskip("PIL")
pytest.importorskip("playwright.sync_api")

from data_folder import ABSENT, SHARED_DATA, holds        # noqa: E402
from chromium import NEEDS_CHROMIUM, browser, draw_seven   # noqa: E402,F401  (browser: a fixture)

pytestmark = NEEDS_CHROMIUM

ROOT = Path(__file__).resolve().parents[1]
TOKEN = "notebook-browser-test-token"
SHOTS = os.environ.get("NETFIT_NOTEBOOK_SCREENSHOTS")
MEASURE = os.environ.get("NETFIT_NOTEBOOK_MEASURE")
WIDGET = ".netfit-playground[data-ready='1']"
VIEW = "document.querySelector('.netfit-playground').netfit"        # the view's page state (widget.js)
PAD = ".netfit-playground .nw-pad"


def notebook(path, *cells):
    """A notebook of code cells, written as nbformat 4 JSON (the kernel: this Python's python3)."""
    path.write_text(json.dumps({
        "cells": [{"cell_type": "code", "execution_count": None, "id": f"cell{k}", "metadata": {}, "outputs": [],
                   "source": source} for k, source in enumerate(cells)],
        "metadata": {"kernelspec": {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}},
        "nbformat": 4, "nbformat_minor": 5}), encoding="utf-8")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Lab:
    """``jupyter lab`` in a process group of its own; ``close`` shuts its kernels down and ends the group."""

    def __init__(self, folder, data_dir):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        home = folder / "jupyter"
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep),
               "NETFIT_DATA_DIR": str(data_dir), "JUPYTER_CONFIG_DIR": str(home / "config"),
               "JUPYTER_DATA_DIR": str(home / "data"), "JUPYTER_RUNTIME_DIR": str(home / "runtime"),
               "IPYTHONDIR": str(home / "ipython"), "JUPYTER_PLATFORM_DIRS": "1"}
        notification = home / "settings" / "@jupyterlab" / "apputils-extension" / "notification.jupyterlab-settings"
        notification.parent.mkdir(parents=True)
        notification.write_text('{"fetchNews": "false", "checkForUpdates": false}')   # no "Jupyter news?" toast
        self.log = open(folder / "lab.log", "w")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1", f"--port={self.port}",
             "--ServerApp.port_retries=0", f"--IdentityProvider.token={TOKEN}", f"--ServerApp.root_dir={folder}",
             "--LabApp.expose_app_in_browser=True",                  # window.jupyterapp: run the cells by command
             f"--LabApp.user_settings_dir={home / 'settings'}", f"--LabApp.workspaces_dir={home / 'workspaces'}",
             "--LabApp.news_url=", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
             "--LabApp.extension_manager=readonly", "--ServerApp.terminals_enabled=False"]
            + (["--allow-root"] if hasattr(os, "geteuid") and os.geteuid() == 0 else []),
            cwd=folder, env=env, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)
        end = time.monotonic() + 60
        while time.monotonic() < end:
            if self.process.poll() is not None:
                raise RuntimeError(f"jupyter lab ended: {(folder / 'lab.log').read_text()[-2000:]}")
            try:
                self.api("GET", "/api/status")
                return
            except OSError:
                time.sleep(0.2)
        self.close()
        raise RuntimeError("jupyter lab did not answer within 60 s")

    def api(self, method, path):
        request = urllib.request.Request(f"{self.url}{path}", method=method,
                                         headers={"Authorization": f"token {TOKEN}"})
        with urllib.request.urlopen(request, timeout=10) as response:
            body = response.read()
        return json.loads(body) if body else None

    def open(self, page, name):
        """Open notebook ``name`` and run all its cells once its kernel is idle; wait for the widget.

        Each notebook opens in a workspace of its own: the default one would bring back the tabs of
        the notebooks opened before, with their widgets on the same page.
        """
        page.goto(f"{self.url}/lab/workspaces/{Path(name).stem}/tree/{name}?token={TOKEN}")
        page.wait_for_function("""(() => { const w = window.jupyterapp && window.jupyterapp.shell.currentWidget;
            const kernel = w && w.sessionContext && w.sessionContext.session && w.sessionContext.session.kernel;
            return kernel && kernel.connectionStatus === 'connected' && kernel.status === 'idle'; })()""",
                               timeout=60000, polling=200)
        page.evaluate("window.jupyterapp.commands.execute('notebook:run-all-cells')")
        page.wait_for_selector(WIDGET, timeout=60000)

    def close(self):
        try:
            for session in self.api("GET", "/api/sessions"):             # the kernels first, then the server
                self.api("DELETE", f"/api/sessions/{session['id']}")
        except OSError:
            pass
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                pass
        try:
            os.killpg(self.process.pid, signal.SIGKILL)                    # whatever is left of the group
        except (ProcessLookupError, PermissionError):
            pass
        self.process.wait(10)
        self.log.close()


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    if not holds("zip", SHARED_DATA):
        pytest.skip(f"{ABSENT} (zip)")
    folder = tmp_path_factory.mktemp("lab")
    notebook(folder / "widget.ipynb",
             "import netfit\nprint(netfit.__file__)",
             "from netfit.notebook import Playground\n"
             "w = Playground(data='zip-esl', preset='net2', epochs=2, seed=0)\nw")
    server = Lab(folder, SHARED_DATA)
    yield server, folder
    server.close()


@pytest.fixture(scope="module")
def page(browser, lab):
    context = browser.new_context(viewport={"width": 1280, "height": 1000})
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    lab[0].open(page, "widget.ipynb")
    yield page
    context.close()
    assert not errors, errors


@contextlib.contextmanager
def training_mnist(browser, lab, name, settings, viewport):
    """A new page on a notebook showing Playground(**settings) on MNIST, ▶ Start pressed; closed afterwards."""
    if not holds("mnist", SHARED_DATA):
        pytest.skip(f"{ABSENT} (mnist)")
    server, folder = lab
    notebook(folder / name, f"from netfit.notebook import Playground\nPlayground(**{settings!r})")
    context = browser.new_context(viewport=viewport)
    page = context.new_page()
    try:
        server.open(page, name)
        page.evaluate("window.jupyterapp.commands.execute('application:toggle-left-area')")   # the whole width
        page.click(".netfit-playground [data-part=start]")
        yield page
    finally:
        context.close()


def test_the_kernel_runs_this_checkouts_netfit(page):
    printed = page.locator(".jp-OutputArea-output pre").first.inner_text()
    assert printed.strip() == str(ROOT / "netfit" / "__init__.py")


def test_draw_a_digit_and_the_ten_probabilities_appear(page):
    draw_seven(page, PAD)
    page.wait_for_function(f"(() => {{ const v = {VIEW}; return v.proba && !v.busy && !v.pending; }})()")
    shown = page.evaluate(f"""(() => {{ const v = {VIEW}, root = document.querySelector('.netfit-playground');
        return {{proba: v.proba, bars: root.querySelectorAll('[data-part=probs] .bar').length,
                 prediction: root.querySelector('[data-part=prediction]').textContent,
                 error: root.querySelector('[data-part=error]').textContent}}; }})()""")
    assert len(shown["proba"]) == 10 and abs(sum(shown["proba"]) - 1) < 1e-3 and shown["bars"] == 10
    best = max(range(10), key=shown["proba"].__getitem__)
    assert shown["prediction"].startswith(f"Prediction: {best} (p = ") and shown["error"] == ""


def test_single_step_shows_delta_at_every_layer(page):
    page.click(".netfit-playground [data-part=delta-box] summary")       # open the δ panel
    page.click(".netfit-playground [data-part=step]")
    page.wait_for_function(f"(() => {{ const v = {VIEW}; return v.status === 'paused' && v.shown && v.shown.steps === 1; }})()")
    shown = page.evaluate(f"""(() => {{ const v = {VIEW}, root = document.querySelector('.netfit-playground');
        return {{layers: v.shown.layers.map((l) => l.type), panels: root.querySelectorAll('[data-part=deltas] .layer').length,
                 line: root.querySelector('[data-part=loss-line]').textContent}}; }})()""")
    assert shown["layers"] == ["Dense", "Dense", "Flatten"] and shown["panels"] == 3
    assert shown["line"].startswith("R = ") and "after 1 steps" in shown["line"]


def test_two_epochs_and_the_curves_have_two_points(page):
    start = time.perf_counter()
    page.click(".netfit-playground [data-part=start]")
    page.wait_for_function(f"(() => {{ const v = {VIEW}; return v.status === 'done' && v.history.length === 2; }})()",
                           timeout=60000, polling=100)
    # The history and the chart's pixels in one evaluation. With two epochs the points stand at the axes'
    # two ends (x = 52 and x = width - 12): training-loss blue there, and nowhere before training.
    shown = page.evaluate(f"""(() => {{ const v = {VIEW}, root = document.querySelector('.netfit-playground');
        const c = root.querySelector('[data-part=loss]'), d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        const blue = (x0) => {{ let n = 0; for (let y = 0; y < c.height; y++) for (let x = x0 - 3; x <= x0 + 3; x++) {{
            const i = 4 * (y * c.width + x); n += d[i] === 31 && d[i + 1] === 111 && d[i + 2] === 235; }} return n; }};
        return {{history: v.history, status: v.status, first: blue(52), last: blue(c.width - 12),
                 weights: root.querySelectorAll('[data-part=weights] canvas').length,
                 progress: root.querySelector('[data-part=progress]').textContent}}; }})()""")
    assert [row["epoch"] for row in shown["history"]] == [1, 2]
    assert shown["first"] > 0 and shown["last"] > 0
    assert shown["progress"] == "epoch 2 of 2 done · 20 steps" and shown["weights"] == 12
    print(f"two epochs in the browser: {time.perf_counter() - start:.2f} s")


@pytest.mark.skipif(not SHOTS, reason="screenshots for docs/: set NETFIT_NOTEBOOK_SCREENSHOTS=docs/img")
def test_screenshot(browser, lab):
    """The widget after two epochs of the lecture MLP on 6,000 MNIST digits, with a drawn 7."""
    settings = {"data": "mnist", "preset": "mlp", "epochs": 2, "limit": 6000, "test_limit": 1000, "seed": 0}
    with training_mnist(browser, lab, "screenshot.ipynb", settings, {"width": 1340, "height": 2400}) as page:
        page.wait_for_function(f"(() => {{ const v = {VIEW}; return v.status === 'done' && v.history.length === 2; }})()",
                               timeout=300000, polling=500)
        draw_seven(page, PAD)
        page.wait_for_function(f"(() => {{ const v = {VIEW}; return v.proba && !v.busy && !v.pending; }})()")
        page.wait_for_function(f"{VIEW}.weights && document.querySelectorAll('.netfit-playground "
                               "[data-part=weights] canvas').length === 128")
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        page.locator(".netfit-playground").screenshot(path=str(Path(SHOTS) / "notebook_widget.png"))


@pytest.mark.skipif(not MEASURE, reason="figures for docs/notebook.md: set NETFIT_NOTEBOOK_MEASURE")
def test_measure_updates(browser, lab):
    """Updates per second that reach the page while the lecture MLP trains (MNIST's 60,000 digits, two epochs)."""
    settings = {"data": "mnist", "preset": "mlp", "epochs": 2, "test_limit": 2000, "seed": 0}
    with training_mnist(browser, lab, "measure.ipynb", settings, {"width": 1340, "height": 900}) as page:
        # Poll twice a second: polling on every animation frame keeps the page busy on a small machine.
        page.wait_for_function(f"{VIEW}.status === 'done' && {VIEW}.history.length === 2", timeout=600000, polling=500)
        updates, history = page.evaluate(f"[{VIEW}.updates, {VIEW}.history]")
    seconds = (updates[-1] - updates[0]) / 1000
    figures = {"settings": settings, "updates": len(updates), "seconds": seconds,
               "updates_per_second": (len(updates) - 1) / seconds,
               "examples_per_second": [row["examples_per_second"] for row in history]}
    Path(MEASURE).write_text(json.dumps(figures, indent=1))
