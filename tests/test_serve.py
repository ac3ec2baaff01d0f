"""`netfit serve`: every endpoint in-process (Starlette's TestClient), the token, the Host check, bad uploads.

Runs on the ZIP digits (ESL's 320/160 draw, or the first few hundred of the full split), so each
training here takes well under a second; skips when the data cannot be found offline.
"""
import io
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
import types
import warnings
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("starlette")
pytest.importorskip("PIL")
from PIL import Image                                     # noqa: E402
with warnings.catch_warnings():                          # Starlette 1.x asks for httpx2; httpx works
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient          # noqa: E402

import netfit as nf                                       # noqa: E402
from netfit import cli                                    # noqa: E402
from netfit.images import read_image                      # noqa: E402
from netfit.serve import session as session_mod           # noqa: E402
from netfit.serve.app import MAX_PICTURE_BYTES, create_app   # noqa: E402
from netfit.serve.cli import url_for                      # noqa: E402

from data_folder import SHARED_DATA, holds  # noqa: E402
TOKEN = "test-token"
AUTH = {"X-Netfit-Token": TOKEN}
SMALL = {"data": "zip", "preset": "net1", "epochs": 2, "limit": 300, "test_limit": 100, "seed": 0}


@pytest.fixture(scope="module")
def data_env():
    """Point NETFIT_DATA_DIR at ../shared/data when unset; skip when the ZIP digits are not available offline."""
    from netfit.datasets import _files, zipcode
    with pytest.MonkeyPatch.context() as mp:
        if not os.environ.get("NETFIT_DATA_DIR") and holds("zip", SHARED_DATA):
            mp.setenv("NETFIT_DATA_DIR", str(SHARED_DATA))
        if None in _files.find(zipcode.SPEC).values():
            pytest.skip("the ZIP digits are not available offline (set NETFIT_DATA_DIR)")
        yield dict(os.environ)


def make_client(settings=SMALL):
    app = create_app(token=TOKEN, settings=settings)
    return TestClient(app, base_url="http://127.0.0.1"), app.state.playground


@pytest.fixture
def client(data_env):
    c, playground = make_client()
    yield c
    playground.trainer.stop()


def wait_for(predicate, timeout=60.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.02)
    raise AssertionError("timed out")


def train_to_end(c):
    assert c.post("/api/train/start", headers=AUTH).status_code == 200
    wait_for(lambda: c.get("/api/state", headers=AUTH).json()["training"]["state"] == "done")
    return c.get("/api/state", headers=AUTH).json()


def png(array):
    buffer = io.BytesIO()
    Image.fromarray(np.asarray(array, np.uint8)).save(buffer, "PNG")
    return buffer.getvalue()


def one_stroke():
    """A 280×280 canvas with a vertical white stroke on black: a "1", as the page sends it."""
    canvas = np.zeros((280, 280), np.uint8)
    canvas[50:230, 128:150] = 255
    return png(canvas)


# -- the token and the Host check -----------------------------------------------------------------
ROUTES = [("GET", "/"), ("GET", "/api/options"), ("GET", "/api/state"), ("POST", "/api/settings"),
          ("POST", "/api/train/start"), ("GET", "/api/events"), ("POST", "/api/predict"),
          ("GET", "/api/example/0"), ("GET", "/api/mistakes"), ("GET", "/api/first-layer"),
          ("GET", "/api/export.py"), ("GET", "/api/weights.netfit"), ("POST", "/api/weights"),
          ("GET", "/api/backprop/0"), ("POST", "/api/backprop"), ("GET", "/docs/backprop.md"),
          ("GET", "/source/netfit/model.py")]


@pytest.mark.parametrize("method,path", ROUTES)
@pytest.mark.parametrize("headers", [{}, {"X-Netfit-Token": "wrong"}], ids=["none", "wrong"])
def test_every_route_needs_the_token(client, method, path, headers):
    response = client.request(method, path, headers=headers)
    assert response.status_code == 403
    assert "token" in response.json()["error"]
    assert client.get("/api/state", headers=AUTH).json()["training"]["state"] == "ready"   # nothing started


def test_token_by_header_query_or_cookie(client):
    assert client.get("/api/options", headers=AUTH).status_code == 200
    assert client.get(f"/api/options?token={TOKEN}").status_code == 200
    page = client.get(f"/?token={TOKEN}")
    assert page.status_code == 200 and "netfit playground" in page.text
    assert "httponly" in page.headers["set-cookie"].lower() and "samesite=strict" in page.headers["set-cookie"].lower()
    assert client.get("/api/options").status_code == 200             # the cookie the page set
    client.cookies.clear()
    assert client.get("/api/options").status_code == 403


def test_a_valid_cookie_is_not_beaten_by_a_foreign_token(client):
    """An address shared from another playground carries its ?token=; this browser's cookie still opens the page."""
    assert client.get(f"/?token={TOKEN}").status_code == 200            # sets this server's cookie
    assert client.get("/?token=another-playgrounds-token").status_code == 200
    assert client.get("/api/options?token=foreign").status_code == 200
    assert client.get("/api/options", headers={"X-Netfit-Token": "foreign"}).status_code == 200
    client.cookies.clear()
    assert client.get("/?token=foreign").status_code == 403             # a wrong token alone opens nothing
    assert client.get("/api/options", headers={"X-Netfit-Token": "", "Cookie": "netfit_token_80="}).status_code == 403


def test_the_cookie_is_one_per_port(client):
    """Cookies ignore ports: two playgrounds on one machine must not overwrite each other's."""
    page = client.get(f"http://127.0.0.1:8765/?token={TOKEN}")
    assert page.status_code == 200 and page.headers["set-cookie"].startswith("netfit_token_8765=")
    assert client.get("http://127.0.0.1:8765/api/options").status_code == 200
    assert client.get("http://127.0.0.1:8766/api/options").status_code == 403     # another port's cookie


@pytest.mark.parametrize("host", ["evil.example", "evil.example:8765", "127.0.0.1.evil.example", "192.168.1.5"])
def test_host_header_other_than_localhost_is_refused(client, host):
    response = client.get("/api/options", headers={**AUTH, "Host": host})
    assert response.status_code == 400
    assert "host" in response.text.lower()


@pytest.mark.parametrize("host", ["127.0.0.1:8765", "localhost:8765", "localhost"])
def test_local_host_names_are_accepted(client, host):
    assert client.get("/api/options", headers={**AUTH, "Host": host}).status_code == 200


def test_static_files_are_served(client):
    for name, kind in (("app.js", "javascript"), ("plots.js", "javascript"), ("pad.js", "javascript"),
                       ("panels.js", "javascript"), ("style.css", "css")):
        response = client.get(f"/static/{name}")
        assert response.status_code == 200 and kind in response.headers["content-type"]


# -- data, presets, summary -------------------------------------------------------------------------
def test_options_list_data_and_presets(client):
    options = client.get("/api/options", headers=AUTH).json()
    assert set(options["datasets"]) == {"zip-esl", "zip", "mnist"}
    assert {"net1", "net2", "net3", "net4", "net5", "mlp", "cnn"} <= set(options["presets"])
    assert options["defaults"]["preset"] == "mlp" and options["defaults"]["data"] == "mnist"


@pytest.mark.parametrize("preset,params,links", [("net1", 2570, 2570), ("net3", 1226, 1226),
                                                  ("net4", 1132, 2266), ("net5", 1060, 5194)])
def test_presets_give_esl_table_11_1_counts(client, preset, params, links):
    state = client.post("/api/settings", headers=AUTH, json={**SMALL, "preset": preset}).json()
    assert state["summary"]["params"] == params and state["summary"]["links"] == links
    assert f"Total params: {params:,}" in state["summary"]["text"]
    assert sum(row["links"] for row in state["summary"]["layers"]) == links


def test_esl_protocol_draws_320_and_160_balanced_digits(data_env):
    c, playground = make_client({"data": "zip-esl", "preset": "net2", "epochs": 1})
    state = c.get("/api/state", headers=AUTH).json()
    assert (state["summary"]["train_size"], state["summary"]["test_size"]) == (320, 160)
    assert np.bincount(playground.session.y).tolist() == [32] * 10
    assert np.bincount(playground.session.y_test).tolist() == [16] * 10


@pytest.mark.parametrize("settings,message", [
    ({"preset": "resnet"}, "expected preset one of"),
    ({"data": "cifar"}, "expected data one of"),
    ({"lr": -0.1}, "expected lr a positive number"),
    ({"lr": "fast"}, "expected lr a positive number"),
    ({"batch_size": 2.5}, "expected batch_size"),
    ({"epochs": 0}, "expected epochs an integer in 1..10000"),
    ({"standardize": "yes"}, "expected standardize true or false"),
    ({"momentum": 0.9}, "momentum applies to optimizer sgd only"),
    ({"lerning_rate": 0.1}, "unknown key 'lerning_rate'"),
])
def test_bad_settings_are_refused_and_keep_the_net(client, settings, message):
    before = client.get("/api/state", headers=AUTH).json()
    response = client.post("/api/settings", headers=AUTH, json={**SMALL, **settings})
    assert response.status_code == 400
    assert message in response.json()["error"]
    assert client.get("/api/state", headers=AUTH).json()["settings"] == before["settings"]


def test_settings_that_are_not_a_json_object(client):
    for body, message in ((b"{not json", "invalid JSON"), (b"[1, 2]", "expected a JSON object"),
                          (b"", "got nothing"), (b"{" + b" " * 70000 + b"}", "at most")):
        response = client.post("/api/settings", headers=AUTH, content=body)
        assert response.status_code in (400, 413) and message in response.json()["error"]


HIDDEN_8 = {"layers": [{"class_name": "Flatten"},
                      {"class_name": "Dense", "config": {"units": 8, "activation": "tanh"}},
                      {"class_name": "Dense", "config": {"units": 10, "activation": "softmax"}}]}


def test_edited_layers_live_summary_and_training_like_the_cli(client, tmp_path):
    preview = client.post("/api/summary", headers=AUTH, json={"architecture": HIDDEN_8})
    assert preview.status_code == 200
    assert preview.json()["params"] == 256 * 8 + 8 + 8 * 10 + 10 and "Total links: 2,146" in preview.json()["text"]
    assert client.get("/api/state", headers=AUTH).json()["settings"]["preset"] == "net1"      # nothing replaced
    state = client.post("/api/settings", headers=AUTH, json={**SMALL, "preset": "custom", "architecture": HIDDEN_8})
    assert state.status_code == 200 and state.json()["summary"]["params"] == 2146
    assert state.json()["summary"]["architecture"]["layers"][1]["config"]["units"] == 8
    train_to_end(client)
    spec = tmp_path / "arch.json"
    spec.write_text(json.dumps({"input_shape": [16, 16], **HIDDEN_8}))
    out = tmp_path / "cli.netfit"
    assert cli.main(["train", "--data", "zip", "--model", str(spec), "--epochs", "2", "--limit", "300",
                     "--test-limit", "100", "--seed", "0", "--verbose", "0", "--out", str(out)]) == 0
    for a, b in zip(nf.load_model(out).get_weights(), client.app.state.playground.session.model.get_weights()):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("spec,message", [
    ({"layers": [{"class_name": "Dense", "config": {"unit": 3}}]}, "unknown config key 'unit'"),
    ({"layers": [{"class_name": "Flatten"}, {"class_name": "Dense", "config": {"units": 3}}]},
     "expected the last layer to give 10 outputs"),
    ({"input_shape": [28, 28], "layers": [{"class_name": "Flatten"}, {"class_name": "Dense", "config": {"units": 10}}]},
     "expected input_shape [16, 16]"),
    ({"layers": []}, "non-empty list of layers"),
    ("Dense(10)", "JSON object"),
])
def test_bad_edited_layers(client, spec, message):
    for response in (client.post("/api/summary", headers=AUTH, json={"architecture": spec}),
                     client.post("/api/settings", headers=AUTH, json={**SMALL, "preset": "custom", "architecture": spec})):
        assert response.status_code == 400 and message in response.json()["error"]
    assert client.get("/api/state", headers=AUTH).json()["settings"]["preset"] == "net1"


def test_init_scale_and_standardize(data_env):
    plain = session_mod.Session(SMALL)
    scaled = session_mod.Session({**SMALL, "init_scale": 0.25, "standardize": True})
    for a, b in zip(plain.model.get_weights(), scaled.model.get_weights()):
        np.testing.assert_allclose(b, 0.25 * a, rtol=1e-6)
    pixels = scaled.x.reshape(len(scaled.x), -1)
    np.testing.assert_allclose(pixels.mean(axis=0), 0, atol=1e-5)
    assert np.allclose(pixels.std(axis=0)[plain.x.reshape(len(plain.x), -1).std(axis=0) > 0], 1, atol=1e-4)


# -- training -------------------------------------------------------------------------------------------
def test_training_gives_the_cli_numbers(client, tmp_path):
    """The playground's run and `netfit train` with the same knobs end with identical weights."""
    state = train_to_end(client)
    history = state["training"]["history"]
    assert [row["epoch"] for row in history] == [1, 2]
    assert state["training"]["epoch"] == state["training"]["epochs"] == 2          # "epoch 2 of 2 done"
    assert {"loss", "accuracy", "test_loss", "test_accuracy"} <= set(history[0])
    out = tmp_path / "cli.netfit"
    assert cli.main(["train", "--data", "zip", "--model", "net1", "--epochs", "2", "--limit", "300",
                     "--test-limit", "100", "--seed", "0", "--batch-size", "32", "--verbose", "0",
                     "--out", str(out)]) == 0
    reference = nf.load_model(out)
    served = client.app.state.playground.session.model
    for a, b in zip(reference.get_weights(), served.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert reference.history.history["loss"] == pytest.approx([row["loss"] for row in history], rel=1e-12)
    test_loss, test_acc = reference.evaluate(served_x := client.app.state.playground.session.x_test,
                                             client.app.state.playground.session.y_test)
    assert served_x.shape[0] == 100
    assert history[-1]["test_loss"] == pytest.approx(test_loss) and history[-1]["test_accuracy"] == test_acc
    again = train_to_end(client)["training"]
    assert again["epoch"] == again["epochs"] == 4                # Start again: "epoch 4 of 4", not "4 of 2"
    running = [e[2] for e in client.app.state.playground.log.since(0) if e[1] == "state" and e[2]["state"] == "running"]
    assert [e["epochs"] for e in running] == [2, 4]              # the page's "epoch 3 of 4 · batch …" while it runs


def test_single_steps_then_pause_and_resume(client):
    playground = client.app.state.playground
    start = [w.copy() for w in playground.session.model.get_weights()]
    assert client.post("/api/train/step", headers=AUTH).json()["state"] == "paused"
    wait_for(lambda: playground.trainer.steps == 1)
    time.sleep(0.2)
    assert playground.trainer.steps == 1                     # held after one mini-batch
    after_one = [w.copy() for w in playground.session.model.get_weights()]
    assert any(not np.array_equal(a, b) for a, b in zip(start, after_one))
    client.post("/api/train/step", headers=AUTH)
    wait_for(lambda: playground.trainer.steps == 2)
    time.sleep(0.2)
    assert playground.trainer.steps == 2
    events = playground.log.since(0)
    assert [e[2]["steps"] for e in events if e[1] == "batch"] == [1, 2]   # every single step is reported
    state = train_to_end(client)
    assert state["training"]["steps"] == 2 * 10                 # 300 digits in batches of 32: 10 per epoch


def test_pause_holds_the_run(data_env):
    c, playground = make_client({**SMALL, "batch_size": 1, "epochs": 5})
    try:
        c.post("/api/train/start", headers=AUTH)
        wait_for(lambda: playground.trainer.steps >= 3)
        assert c.post("/api/train/pause", headers=AUTH).json()["state"] == "paused"
        time.sleep(0.2)
        held = playground.trainer.steps
        time.sleep(0.3)
        assert playground.trainer.steps == held
        assert c.get("/api/example/0", headers=AUTH).status_code == 200      # the model is free while paused
        c.post("/api/train/start", headers=AUTH)
        wait_for(lambda: playground.trainer.steps > held)
    finally:
        playground.trainer.stop()


def test_reset_restores_the_starting_weights(client):
    fresh = [w.copy() for w in client.app.state.playground.session.model.get_weights()]
    train_to_end(client)
    state = client.post("/api/train/reset", headers=AUTH).json()
    assert state["state"] == "ready" and state["history"] == [] and state["steps"] == 0
    for a, b in zip(fresh, client.app.state.playground.session.model.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_controls_in_any_order_never_hang(data_env):
    """Start, pause, step and reset pressed in a random order, quickly: every call returns, and the run ends."""
    c, playground = make_client({**SMALL, "batch_size": 8, "epochs": 3})
    rng = np.random.default_rng(0)
    try:
        for action in rng.choice(["start", "pause", "step", "reset"], size=40, p=[0.35, 0.25, 0.3, 0.1]):
            assert c.post(f"/api/train/{action}", headers=AUTH).status_code == 200
            if rng.random() < 0.3:
                assert c.get("/api/example/1", headers=AUTH).status_code == 200     # between two steps
            time.sleep(float(rng.uniform(0, 0.02)))
        state = train_to_end(c)
        assert state["training"]["state"] == "done" and len(state["training"]["history"]) >= 3
    finally:
        playground.trainer.stop()


def test_a_run_logs_its_state_before_its_thread_can_log_a_batch(data_env, monkeypatch):
    # The thread's batch events do not wait for the trainer's lock: logged after the thread started,
    # "running" came after the first batch in a CI run on a busy machine.
    from netfit.serve import worker
    c, playground = make_client()
    logged_at_start = []

    class Thread(threading.Thread):
        def start(self):
            logged = [(kind, data.get("state")) for _, kind, data in playground.log.since(0)]
            logged_at_start.append(logged[-1] if logged else None)
            super().start()
    monkeypatch.setattr(worker, "threading", types.SimpleNamespace(Thread=Thread, Condition=threading.Condition,
                                                                   Lock=threading.Lock))
    try:
        train_to_end(c)
        assert c.post("/api/train/reset", headers=AUTH).status_code == 200
        assert c.post("/api/train/step", headers=AUTH).status_code == 200
        assert logged_at_start == [("state", "running"), ("state", "paused")]
    finally:
        playground.trainer.stop()


def test_unknown_train_action(client):
    response = client.post("/api/train/fly", headers=AUTH)
    assert response.status_code == 404 and "start, pause, step or reset" in response.json()["error"]


def test_events_stream_batches_and_epochs(client):
    train_to_end(client)
    with client.stream("GET", "/api/events?after=0&limit_s=0.3", headers=AUTH) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        text = "".join(response.iter_text())
    events = [(int(i), kind, json.loads(data)) for i, kind, data in
              re.findall(r"id: (\d+)\nevent: (\w+)\ndata: (.*)\n\n", text)]
    ids = [i for i, _, _ in events]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    kinds = [kind for _, kind, _ in events]
    assert kinds[0] == "state" and kinds[-1] == "state" and kinds.count("epoch") == 2 and "batch" in kinds
    assert [data["epoch"] for _, kind, data in events if kind == "epoch"] == [1, 2]
    # A reconnecting EventSource sends Last-Event-ID and gets only what came after.
    with client.stream("GET", "/api/events?limit_s=0.2", headers={**AUTH, "Last-Event-ID": str(ids[-2])}) as response:
        again = re.findall(r"id: (\d+)", "".join(response.iter_text()))
    assert [int(i) for i in again] == [ids[-1]]


def test_events_a_state_change_between_two_streams_comes_with_the_next(client):
    """The server ends an idle stream (after limit_s); what happens before the EventSource is back is replayed."""
    playground = client.app.state.playground
    after = client.get("/api/state", headers=AUTH).json()["training"]["last_event"]
    with client.stream("GET", f"/api/events?after={after}&limit_s=0.1", headers=AUTH) as response:
        assert "id: " not in "".join(response.iter_text())          # idle: closed with nothing sent
    client.post("/api/train/start", headers=AUTH)                   # the whole run while no stream is open
    wait_for(lambda: playground.trainer.state == "done")
    # No event came, so the browser has no Last-Event-ID: it reconnects to the same URL (?after=).
    with client.stream("GET", f"/api/events?after={after}&limit_s=0.2", headers=AUTH) as response:
        text = "".join(response.iter_text())
    states = [json.loads(data)["state"] for data in re.findall(r"event: state\ndata: (.*)\n", text)]
    assert states == ["running", "done"]


class _LogRacedOnRead:
    """The event log, but reading ``last_id`` first runs ``action`` in a thread (waiting at most 0.5 s for it)."""

    def __init__(self, log, action):
        self._log, self._action = log, action

    def __getattr__(self, name):
        return getattr(self._log, name)

    @property
    def last_id(self):
        if self._action:
            thread, self._action = threading.Thread(target=self._action), None
            thread.start()
            thread.join(0.5)
        return self._log.last_id


def test_status_and_its_last_event_agree_while_a_control_changes_the_state(client):
    """An answer's last_event is the page's version of its state: both must come from the same moment.

    On a torn read (state "paused", then Start logs "running", then last_event = that event's id) the
    page would take the answer as newer than the "running" event and show "paused" until the next change.
    """
    trainer = client.app.state.playground.trainer
    trainer.step()
    wait_for(lambda: trainer.steps == 1)                            # paused after one mini-batch
    trainer.log = _LogRacedOnRead(trainer.log, trainer.start)
    status = trainer.status()
    trainer.log = trainer.log._log
    states = [(i, data["state"]) for i, kind, data in trainer.log.since(0) if kind == "state"]
    assert status["state"] == [state for i, state in states if i <= status["last_event"]][-1]


def test_events_bad_cursor(client):
    response = client.get("/api/events?after=soon", headers=AUTH)
    assert response.status_code == 400 and "expected an integer" in response.json()["error"]


# -- drawing, examples, mistakes, weights ---------------------------------------------------------------
def test_predict_a_drawn_digit_like_netfit_predict(client, tmp_path):
    picture = one_stroke()
    result = client.post("/api/predict", headers=AUTH, content=picture).json()
    assert sum(result["proba"]) == pytest.approx(1, abs=1e-4) and len(result["proba"]) == 10
    assert result["seen"]["shape"] == [16, 16]
    path = tmp_path / "digit.png"
    path.write_bytes(picture)
    session = client.app.state.playground.session
    expected = read_image(path, (16, 16), session.metadata["input_scale"], session.metadata["digit_box"])
    np.testing.assert_array_equal(np.array(result["seen"]["pixels"]).reshape(16, 16),
                                  np.round(np.clip((expected + 1) / 2 * 255, 0, 255)).astype(int))
    proba = session.model.predict(expected[None])[0]
    np.testing.assert_allclose(result["proba"], proba, atol=1e-5)
    assert [layer["type"] for layer in result["layers"]] == ["Flatten", "Dense"]
    assert result["layers"][-1]["values"] == pytest.approx(result["proba"], abs=1e-4)


@pytest.mark.parametrize("body,status,message", [
    (b"", 400, "got nothing"),
    (b"GIF89a not a png", 400, "expected a PNG picture"),
    (b"\x89PNG\r\n\x1a\n" + b"garbage" * 10, 400, "cannot read"),
    (b"\x89PNG\r\n\x1a\n" + b"\0" * (MAX_PICTURE_BYTES + 1), 413, "at most"),
])
def test_bad_pictures_are_refused(client, body, status, message):
    response = client.post("/api/predict", headers=AUTH, content=body)
    assert response.status_code == status and message in response.json()["error"]


def test_messages_name_the_drawing_or_the_users_file_never_a_server_path(client, tmp_path):
    """Readers that take paths get scratch copies; their errors name what the user handed in."""
    blank = png(np.zeros((280, 280)))
    cases = [("/api/predict", blank, "predict: the drawing: no ink"),
             ("/api/backprop?label=3", blank, "predict: the drawing: no ink"),
             ("/api/predict", b"\x89PNG\r\n\x1a\n" + b"garbage" * 10, "predict: cannot read the drawing as a picture"),
             ("/api/weights", b"junk", "load_model: the uploaded file is not a netfit model file"),
             ("/api/weights?name=bad.netfit", b"junk", "load_model: 'bad.netfit' is not a netfit model file"),
             ("/api/weights?name=C:%5CUsers%5Cana%5Cbad.netfit", b"junk", "load_model: 'bad.netfit' is not"),
             ("/api/weights?name=%2Fhome%2Fana%2Fm.netfit", b"PK\x05\x06" + b"\0" * 18, "load_model: 'm.netfit'")]
    for path, body, message in cases:
        error = client.post(path, headers=AUTH, content=body).json()["error"]
        assert error.startswith(message), (path, error)
        assert "/" not in error and "\\" not in error and tempfile.gettempdir() not in error, error


def test_every_error_the_page_gets_is_free_of_server_paths(client, tmp_path, monkeypatch):
    """The kind, not the example: a library error naming a server file reaches the page as the file's name."""
    def missing(*args):
        raise FileNotFoundError(f"mnist: no such file '{tmp_path}/netfit-data/mnist/train-images.gz'.")
    monkeypatch.setattr(session_mod, "load_data", missing)
    response = client.post("/api/settings", headers=AUTH, json={**SMALL, "limit": 200})
    assert response.status_code == 400
    assert response.json()["error"] == "mnist: no such file 'train-images.gz'."
    playground = client.app.state.playground

    def failing_fit(*args, **kwargs):
        raise OSError(f"cannot write '{tmp_path}/checkpoints/net1.netfit'")
    monkeypatch.setattr(playground.session.model, "fit", failing_fit)
    state = train_to_end(client)["training"]
    assert state["error"] == "OSError: cannot write 'net1.netfit'"
    events = client.get("/api/events?after=0&limit_s=0.1", headers=AUTH).text
    assert "cannot write 'net1.netfit'" in events and str(tmp_path) not in events


@pytest.mark.parametrize("message,shown", [
    ("no such file '/home/ana/data/x.gz'.", "no such file 'x.gz'."),
    ('cannot read "/tmp/tmpab12/canvas.png" (bad)', 'cannot read "canvas.png" (bad)'),
    ("cannot identify image file /tmp/tmpab12/canvas.png", "cannot identify image file canvas.png"),
    ("cannot read 'C:\\Users\\ana\\m.netfit'", "cannot read 'm.netfit'"),
    ("in (/srv/netfit/data/zip)", "in (zip)"),
    ("download https://example.org/a/b.gz failed", "download https://example.org/a/b.gz failed"),
    ("expected 16/16 pixels in netfit/layers/dense.py", "expected 16/16 pixels in netfit/layers/dense.py"),
])
def test_public_messages_cut_absolute_paths_to_their_last_part(message, shown):
    from netfit.serve.messages import public
    assert public(message) == shown


def test_a_test_example_and_its_activations(client):
    session = client.app.state.playground.session
    result = client.get("/api/example/7", headers=AUTH).json()
    assert result["label"] == int(session.y_test[7])
    np.testing.assert_allclose(result["proba"], session.model.predict(session.x_test[7:8])[0], atol=1e-5)
    for index in ("100", "-1", "x"):
        response = client.get(f"/api/example/{index}", headers=AUTH)
        assert response.status_code == 400 and "expected" in response.json()["error"]


def test_mistakes_and_confusion_matrix(client):
    train_to_end(client)
    session = client.app.state.playground.session
    predicted = session.model.predict_classes(session.x_test)
    m = client.get("/api/mistakes", headers=AUTH).json()
    assert m["errors"] == int((predicted != session.y_test).sum()) and m["total"] == 100
    assert np.array(m["confusion"]).sum() == 100 and np.trace(m["confusion"]) == 100 - m["errors"]
    assert len(m["shown"]) == min(9, m["errors"])
    confidences = [e["confidence"] for e in m["shown"]]
    assert confidences == sorted(confidences, reverse=True)
    for e in m["shown"]:
        assert e["true"] == session.y_test[e["index"]] != e["predicted"] == predicted[e["index"]]
        assert e["shape"] == [16, 16] and len(e["pixels"]) == 256
    by_index = client.get("/api/mistakes?order=index", headers=AUTH).json()["shown"]
    assert [e["index"] for e in by_index] == sorted(e["index"] for e in by_index)
    bad = client.get("/api/mistakes?order=worst", headers=AUTH)
    assert bad.status_code == 400 and "expected order" in bad.json()["error"]


def test_first_layer_weights_as_images(client):
    w = client.get("/api/first-layer", headers=AUTH).json()
    kernel = client.app.state.playground.session.model.layers[1].params["kernel"]       # (256, 10)
    assert (w["type"], w["count"], w["tile_shape"]) == ("Dense", 10, [16, 16])
    np.testing.assert_allclose(np.array(w["tiles"][3]), kernel[:, 3], atol=1e-4)
    client.post("/api/settings", headers=AUTH, json={**SMALL, "preset": "net4"})
    w = client.get("/api/first-layer", headers=AUTH).json()
    assert (w["type"], w["count"], w["tile_shape"]) == ("Conv2D", 2, [3, 3])
    client.post("/api/settings", headers=AUTH, json={**SMALL, "preset": "net3"})
    w = client.get("/api/first-layer", headers=AUTH).json()
    assert (w["type"], w["count"], w["tile_shape"]) == ("LocallyConnected2D", 64, [3, 3])


def test_backprop_of_one_example_matches_loss_and_gradients(client):
    client.post("/api/settings", headers=AUTH, json={**SMALL, "preset": "net2"})
    session = client.app.state.playground.session
    image, label = session.test_image(5)
    r = client.get("/api/backprop/5?label=2", headers=AUTH).json()
    loss, grads = session.model.loss_and_gradients(image[None], np.array([2]))
    assert r["loss"] == pytest.approx(loss, rel=1e-6) and r["label"] == 2 and r["fused"]
    norms = [g["norm"] for layer in reversed(r["layers"]) for g in layer["grads"]]
    np.testing.assert_allclose(norms, [np.linalg.norm(g) for g in grads], rtol=1e-5)
    output = r["layers"][0]                                       # δ = p − onehot(y) at the output's z
    p = session.model.predict(image[None])[0]
    np.testing.assert_allclose(output["delta"], p - np.eye(10)[2], atol=1e-5)
    assert output["at_z"] and output["code"]["path"] == "netfit/layers/dense.py"
    np.testing.assert_allclose(np.array(r["layers"][1]["kernel_tiles"]).T, grads[0], atol=1e-6)
    assert client.get("/api/backprop/5", headers=AUTH).json()["label"] == label       # default: the true digit
    assert r["steps"] == 0                                       # the steps these weights have had (the page's R trail)
    client.post("/api/train/step", headers=AUTH)
    wait_for(lambda: client.app.state.playground.trainer.steps == 1)
    assert client.get("/api/backprop/5", headers=AUTH).json()["steps"] == 1
    drawn = client.post("/api/backprop?label=1", headers=AUTH, content=one_stroke())
    assert drawn.status_code == 200 and drawn.json()["label"] == 1
    for url, message in (("/api/backprop/5?label=10", "expected a label in 0..9"),
                         ("/api/backprop/500", "expected an index"), ("/api/backprop/5?label=x", "expected an integer")):
        response = client.get(url, headers=AUTH)
        assert response.status_code == 400 and message in response.json()["error"]
    assert client.post("/api/backprop", headers=AUTH, content=one_stroke()).status_code == 400     # no label


def test_tiny_values_keep_their_significant_digits(client):
    """δ ≈ 1e-9 (a confident net) reaches the page as 1.234e-09, not 0 (it was rounded to 6 decimals)."""
    client.post("/api/settings", headers=AUTH, json={**SMALL, "preset": "net2", "init_scale": 1e-5})
    session = client.app.state.playground.session
    weights = session.model.get_weights()
    weights[-1][2] += 20.0                                    # the output says "2" with p ≈ 1 − 1e-8
    session.model.set_weights(weights)
    image, _ = session.test_image(5)
    r = client.get("/api/backprop/5?label=3", headers=AUTH).json()
    p = session.model.predict(image[None])[0]
    delta = p - np.eye(10, dtype=p.dtype)[3]
    assert 0 < np.abs(delta).min() < 1e-6
    np.testing.assert_allclose(r["layers"][0]["delta"], delta, rtol=1e-3)
    _, grads = session.model.loss_and_gradients(image[None], np.array([3]))
    assert 0 < np.abs(grads[0]).max() < 1e-4
    np.testing.assert_allclose(np.array(r["layers"][-2]["kernel_tiles"]).T, grads[0], rtol=1e-3,
                               atol=1e-3 * np.abs(grads[0]).max())
    look = client.get("/api/example/5", headers=AUTH).json()
    np.testing.assert_allclose(look["proba"], p, rtol=1e-5)
    np.testing.assert_allclose(look["layers"][-1]["values"], p, rtol=1e-3)
    tiles = client.get("/api/first-layer", headers=AUTH).json()["tiles"]         # weights ≈ 1e-6
    kernel = session.model.layers[1].params["kernel"]
    np.testing.assert_allclose(tiles[0], kernel[:, 0], rtol=1e-3)


def test_significant_digits():
    values = [1.23456e-09, -9.87654e-05, 0.5, 123456.0, 0.0, -0.0, 1.0 - 1e-9]
    assert session_mod.significant(values) == [1.235e-09, -9.877e-05, 0.5, 123500.0, 0.0, -0.0, 1.0]
    assert session_mod.significant([1.23456e-09], 2) == [1.2e-09]
    assert json.dumps(session_mod.significant(np.float32([1.2345e-05, 3.14159]))) == "[1.234e-05, 3.142]"


def test_docs_and_source_pages_for_the_links(client):
    docs = client.get("/docs/backprop.md", headers=AUTH)
    assert docs.status_code == 200
    for anchor in ("the-output-error-δ", "the-back-propagation-equation", "the-gradient-of-the-hidden-weights",
                   "classification-softmax-with-cross-entropy-fused"):
        assert f'id="{anchor}"' in docs.text
    source = client.get("/source/netfit/layers/dense.py", headers=AUTH)
    assert source.status_code == 200 and 'id="L66"' in source.text and "matmul(call.x.T" in source.text
    for path in ("../pyproject.toml", "netfit/../../../etc/passwd", "netfit/serve/static/app.js", "netfit/nothere.py"):
        assert client.get(f"/source/{path}", headers=AUTH).status_code == 404
    assert client.get("/source/netfit/layers/dense.py").status_code == 403


# -- keep and share ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("extra", [{}, {"data": "zip-esl", "limit": None, "test_limit": None, "standardize": True, "init_scale": 0.5,
                                         "optimizer": "sgd", "lr": 0.05, "momentum": 0.9, "weight_decay": 1e-4}])
def test_exported_code_reproduces_the_run(data_env, extra):
    c, playground = make_client({**SMALL, **extra})
    train_to_end(c)
    response = c.get("/api/export.py", headers=AUTH)
    assert response.status_code == 200 and "attachment" in response.headers["content-disposition"]
    data_line = next(line for line in response.text.splitlines() if "= load_data(" in line)
    assert "None" not in data_line                            # only the limits that are set, by name
    namespace = {"print": lambda *a, **k: None}
    exec(compile(response.text, "exported.py", "exec"), namespace)
    for a, b in zip(namespace["model"].get_weights(), playground.session.model.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)
    assert namespace["accuracy"] == pytest.approx(playground.trainer.history[-1]["test_accuracy"])


def test_download_and_upload_weights(client, tmp_path):
    train_to_end(client)
    trained = [w.copy() for w in client.app.state.playground.session.model.get_weights()]
    data = client.get("/api/weights.netfit", headers=AUTH)
    assert data.status_code == 200 and data.headers["content-type"] == "application/octet-stream"
    path = tmp_path / "served.netfit"
    path.write_bytes(data.content)
    loaded = nf.load_model(path)
    for a, b in zip(trained, loaded.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert loaded.metadata["data"] == "zip"                  # `netfit predict` can read pictures with it
    client.post("/api/train/reset", headers=AUTH)
    state = client.post("/api/weights", headers=AUTH, content=data.content).json()
    assert state["training"]["state"] == "ready"
    for a, b in zip(trained, client.app.state.playground.session.model.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_an_upload_saved_with_another_loss_trains_on_the_playgrounds_labels(client, tmp_path):
    # The demo saves its model compiled with categorical_crossentropy (one-hot labels); the playground's
    # labels are integers: the upload is compiled the playground's way, so training it works.
    session = client.app.state.playground.session
    model = nf.models.clone_model(session.model)
    model.set_weights(session.model.get_weights())
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    path = tmp_path / "demo_like.netfit"
    model.save(path)
    client.post("/api/weights?name=demo_like.netfit", headers=AUTH, content=path.read_bytes())
    assert client.app.state.playground.session.model.loss.name == "sparse_categorical_crossentropy"
    state = train_to_end(client)
    assert state["training"]["error"] is None and state["training"]["history"]


def test_bad_uploads_are_refused(client, tmp_path):
    import pickle
    mnist_mlp = tmp_path / "mlp.netfit"
    nf.zoo.lecture_mlp(seed=0).save(mnist_mlp)
    before = [w.copy() for w in client.app.state.playground.session.model.get_weights()]
    cases = [(b"", 400, "got nothing"),
             (b"not a model at all", 400, ""),
             (pickle.dumps({"weights": [1, 2, 3]}), 400, ""),
             (mnist_mlp.read_bytes(), 400, "expected a model of input shape (16, 16)")]
    for body, status, message in cases:
        response = client.post("/api/weights", headers=AUTH, content=body)
        assert response.status_code == status, body[:20]
        assert message in response.json()["error"]
    big = client.post("/api/weights", headers={**AUTH, "Content-Length": str(65 * 2 ** 20)}, content=b"x")
    assert big.status_code == 413 and "at most" in big.json()["error"]
    for a, b in zip(before, client.app.state.playground.session.model.get_weights()):
        np.testing.assert_array_equal(a, b)


# -- the command ------------------------------------------------------------------------------------------
def test_url_for():
    assert url_for("127.0.0.1", 8765, "abc") == "http://127.0.0.1:8765/?token=abc"
    assert url_for("::1", 80, "t") == "http://[::1]:80/?token=t"


def test_serve_help_and_bad_port(capsys):
    with pytest.raises(SystemExit) as exit_:
        cli.main(["serve", "--help"])
    assert exit_.value.code == 0 and "127.0.0.1" in capsys.readouterr().out
    assert cli.main(["serve", "--port", "70000"]) == 1
    assert "expected --port in 0..65535" in capsys.readouterr().err


def test_netfit_serve_prints_a_tokened_url_and_serves(data_env):
    import httpx
    process = subprocess.Popen([sys.executable, "-m", "netfit", "serve", "--port", "0", "--data", "zip-esl",
                                "--model", "net1"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env=data_env)
    try:
        url = None
        for _ in range(10):
            line = process.stdout.readline()
            match = re.search(r"(http://127\.0\.0\.1:\d+/)\?token=([\w-]{20,})", line)
            if match:
                url, token = match.groups()
                break
        assert url, "no URL printed"
        assert httpx.get(url, timeout=10).status_code == 403      # at once: the URL comes once it listens
        assert httpx.get(f"{url}?token={token}").status_code == 200
        assert httpx.get(f"{url}api/options", headers={"X-Netfit-Token": token, "Host": "attacker.example"}
                         ).status_code == 400
    finally:
        process.terminate()
        process.wait(20)


def test_netfit_serve_prints_its_url_only_once_the_server_listens(data_env, monkeypatch):
    """A slow start (here 0.5 s more inside uvicorn's startup) must not let the URL out early."""
    import httpx
    import uvicorn
    events, servers, urls = [], [], []
    original = uvicorn.Server.startup

    async def slow_startup(self, sockets=None):
        servers.append(self)
        time.sleep(0.5)
        await original(self, sockets=sockets)
        events.append("listening")

    class Lines(io.StringIO):
        def write(self, text):
            match = re.search(r"Open (http://\S+)", text)
            if match:
                events.append("printed")
                urls.append(match.group(1))
            return super().write(text)

    monkeypatch.setattr(uvicorn.Server, "startup", slow_startup)
    monkeypatch.setattr(sys, "stdout", Lines())
    result = []
    thread = threading.Thread(target=lambda: result.append(cli.main(
        ["serve", "--port", "0", "--data", "zip-esl", "--model", "net1", "--token", TOKEN])), daemon=True)
    thread.start()
    try:
        wait_for(lambda: urls or not thread.is_alive())
        assert events == ["listening", "printed"]
        assert httpx.get(urls[0], timeout=10).status_code == 200
    finally:
        for server in servers:
            server.should_exit = True
        thread.join(20)
    assert result == [0]


def test_a_busy_port_fails_before_the_data_loads(data_env, monkeypatch, capsys):
    import socket
    from netfit.serve import app as app_mod
    monkeypatch.setattr(app_mod, "create_app", lambda **kw: pytest.fail("the data loaded before the port was checked"))
    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen()
    port = busy.getsockname()[1]
    try:
        assert cli.main(["serve", "--port", str(port), "--data", "zip-esl", "--model", "net1"]) == 1
    finally:
        busy.close()
    out, err = capsys.readouterr()
    assert "loading" not in out and "Open " not in out
    assert f"serve: cannot listen on 127.0.0.1:{port}" in err and "in use" in err
    assert "try --port 0 (any free port)" in err and f"--port {port + 1}" in err


@pytest.mark.skipif(not os.environ.get("NETFIT_SERVE_MEASURE"), reason="figures for docs/serve.md: set NETFIT_SERVE_MEASURE")
def test_measure_worker_against_fit():
    """The training worker (no browser) against plain fit, alternating rounds; writes <NETFIT_SERVE_MEASURE>.worker.json."""
    from netfit.serve.app import Playground
    if not os.environ.get("NETFIT_DATA_DIR") and holds("mnist", SHARED_DATA):
        os.environ["NETFIT_DATA_DIR"] = str(SHARED_DATA)
    settings = {"data": "mnist", "preset": "mlp", "epochs": 2, "limit": 20000, "test_limit": 2000, "seed": 0}
    playground = Playground(settings)
    rounds = []
    for _ in range(int(os.environ.get("NETFIT_SERVE_ROUNDS", "3"))):
        playground.replace()
        playground.trainer.start()
        wait_for(lambda: playground.trainer.state == "done", timeout=600)
        trainer = playground.trainer
        session = session_mod.Session(settings, playground._cache)
        start = time.perf_counter()
        session.model.fit(session.x, session.y, epochs=2, batch_size=32, verbose=0)
        seconds = time.perf_counter() - start
        rounds.append({"worker_examples_per_second": [row["examples_per_second"] for row in trainer.history],
                       "worker_overall": trainer.examples / trainer.busy_seconds,
                       "fit_examples_per_second": trainer.examples / seconds,
                       "same_loss": trainer.history[-1]["loss"] == session.model.history.history["loss"][-1]})
    Path(os.environ["NETFIT_SERVE_MEASURE"] + ".worker.json").write_text(json.dumps(rounds, indent=1))
    assert all(r["same_loss"] for r in rounds)
