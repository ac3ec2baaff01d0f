"""The playground's web app (Starlette): routes, the token, the Host check, size-limited uploads.

Every page and API call needs the token printed by ``netfit serve`` (query
``?token=``, header ``X-Netfit-Token``, or the cookie set when the page first
opens with it, one per port; any one of them that matches is enough); requests
whose Host header is not one of the allowed names are refused with 400 (a
DNS-rebinding page cannot reach the server under another name). Uploaded models
go only through netfit's safe loader (:func:`netfit.load_model`: JSON + arrays,
no pickle), uploads have size limits, and every library error comes back as
``{"error": message}`` with 400, without the server's paths (:mod:`.messages`).

Routes (all under the token)::

    GET  /                       the page          GET  /api/events          Server-Sent Events
    GET  /api/options            data, presets     POST /api/settings        new data / net / knobs
    POST /api/summary            the summary of edited layers (JSON architecture), nothing replaced
    GET  /api/state              summary, history  POST /api/train/<action>  start|pause|step|reset
    POST /api/predict            PNG -> probabilities, what the net sees, activations
    GET  /api/example/<i>        a test digit      GET  /api/mistakes        errors, confusion matrix
    GET  /api/first-layer        weight images     GET  /api/export.py       the run as Python code
    GET  /api/weights.netfit     download          POST /api/weights         upload (safe loader)
    GET  /api/backprop/<i>       one test digit's δ and gradients per layer (POST /api/backprop: a PNG)
    GET  /docs/backprop.md       the derivation     GET  /source/<path>       netfit's code, lines #L<n>
"""
import asyncio
import html
import json
import re
import secrets
import threading
from importlib import resources
from pathlib import Path

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.responses import HTMLResponse, JSONResponse, Response, StreamingResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

import netfit as nf
from netfit.io import ModelFileError

from .code import python_code
from .messages import public
from .session import DATASETS, DEFAULTS, PRESETS, Session, check_settings
from .worker import EventLog, Trainer

__all__ = ["cookie_name", "create_app", "Playground", "LOCAL_HOSTS", "MAX_PICTURE_BYTES", "MAX_MODEL_BYTES"]

LOCAL_HOSTS = ("127.0.0.1", "localhost", "[::1]", "::1")
MAX_PICTURE_BYTES = 2 * 1024 * 1024             # a 280×280 canvas PNG is ~10 kB
MAX_MODEL_BYTES = 64 * 1024 * 1024              # the CNNs save to < 3 MB
_COOKIE = "netfit_token"
_STATIC = resources.files("netfit.serve") / "static"
_SOURCE_ROOT = Path(nf.__file__).resolve().parents[1]      # a clone: docs/ beside netfit/


class Playground:
    """The server's state: the session (data + model), its trainer and the event log."""

    def __init__(self, settings=None, rate=20.0):
        self.log, self.rate = EventLog(), rate
        self._cache = {}
        self._lock = threading.Lock()                  # one settings change / reset at a time
        self.session = Session(settings, self._cache)
        self.trainer = Trainer(self.session, self.log, rate)

    def replace(self, settings=None, session=None):
        """Stop training and start over with new settings (fresh weights) or a given session."""
        with self._lock:
            self.trainer.stop()                        # the old run is over before its session goes
            self.session = session or Session(settings or self.session.settings, self._cache)
            self.trainer = Trainer(self.session, self.log, self.rate)
            self.log.put("reset", {"settings": self.session.settings})

    def state(self):
        return {"settings": self.session.settings, "summary": self.session.summary(),
                "metadata": self.session.metadata, "training": self.trainer.status()}


class _Refused(Exception):
    def __init__(self, status, message):
        super().__init__(message)
        self.status = status


def cookie_name(request):
    """The token's cookie, one per port: cookies ignore ports, and two playgrounds on one machine keep theirs."""
    port = request.url.port or (443 if request.url.scheme == "https" else 80)
    return f"{_COOKIE}_{port}"


def _error(status, message):
    return JSONResponse({"error": message}, status_code=status)


def create_app(token=None, settings=None, allowed_hosts=LOCAL_HOSTS, rate=20.0, playground=None):
    """Return the Starlette app; ``token`` (default: a random one) is then ``app.state.token``.

    Parameters
    ----------
    token : str, optional
    settings : dict, optional
        The first session's knobs (see :data:`netfit.serve.session.DEFAULTS`).
    allowed_hosts : sequence of str
        Names accepted in the Host header (ports are not compared).
    rate : float
        At most this many progress events per second while training.
    """
    token = token or secrets.token_urlsafe(24)
    state = playground or Playground(settings, rate)

    expected = token.encode()

    def authorized(request):
        """Any one of header, query and this server's cookie carrying the token lets the request in.

        Each is enough alone, so a wrong one beside a right one cannot be what keeps a request
        out: an address shared from another playground carries that one's ``?token=``, and it
        must not beat this browser's valid cookie. Nothing opens to other sites: they can
        neither read the cookie (HttpOnly) nor make the browser send it (SameSite=Strict).
        """
        offered = (request.headers.get("x-netfit-token"), request.query_params.get("token"),
                   request.cookies.get(cookie_name(request)))
        return any(secrets.compare_digest(given.encode(), expected) for given in offered if given)

    def guarded(handler):
        async def endpoint(request):
            if not authorized(request):
                return _error(403, "forbidden: open the URL that `netfit serve` printed (it carries the token).")
            try:
                return await handler(request)
            except _Refused as exc:
                return _error(exc.status, public(exc))
            except (ValueError, TypeError, OSError, RuntimeError, ImportError, ModelFileError) as exc:
                return _error(400, public(exc))                  # no server paths (netfit.serve.messages)
        return endpoint

    def sync(work):
        """A handler that does its work in a thread (reading the weights may wait for a training step)."""
        async def handler(request):
            return await run_in_threadpool(work, request)
        return handler

    async def index(request):
        page = (_STATIC / "index.html").read_text(encoding="utf-8")
        response = HTMLResponse(page, headers={"Cache-Control": "no-store"})
        response.set_cookie(cookie_name(request), token, httponly=True, samesite="strict")
        return response

    def options(request):
        return JSONResponse({"datasets": {k: v[0] for k, v in DATASETS.items()}, "presets": PRESETS,
                             "defaults": DEFAULTS})

    def get_state(request):
        return JSONResponse(state.state())

    async def post_settings(request):
        raw = await _json(request)
        settings = check_settings(raw)
        await run_in_threadpool(state.replace, settings)
        return JSONResponse(state.state())

    async def preview(request):
        spec = (await _json(request)).get("architecture")
        return JSONResponse(await run_in_threadpool(state.session.preview, spec))

    def train(request):
        action = request.path_params["action"]
        if action == "reset":
            state.replace()
        elif action in ("start", "pause", "step"):
            getattr(state.trainer, action)()
        else:
            raise _Refused(404, f"train: expected start, pause, step or reset, got {action!r}.")
        return JSONResponse(state.trainer.status())

    async def events(request):
        # A reconnecting EventSource says where it stopped (Last-Event-ID); a first connection, with ?after=.
        after = _int(request.headers.get("last-event-id") or request.query_params.get("after") or 0, "after")
        limit = min(float(request.query_params.get("limit_s", 25)), 300.0)

        async def stream():
            last, waited, beat = after, 0.0, 0.0
            yield "retry: 500\n\n"
            while waited < limit:
                batch = state.log.since(last)
                for event_id, kind, data in batch:
                    last = event_id
                    yield f"id: {event_id}\nevent: {kind}\ndata: {json.dumps(data)}\n\n"
                if not batch:
                    await asyncio.sleep(0.02)
                    waited, beat = waited + 0.02, beat + 0.02
                    if beat >= 10:
                        beat = 0.0
                        yield ": keep-alive\n\n"
        return StreamingResponse(stream(), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})

    async def predict(request):
        data = await _picture(request)

        def work():
            session = state.session
            image = session.read_picture(data)
            return {"seen": session.image_payload(image), **session.look(image)}
        return JSONResponse(await run_in_threadpool(work))

    def example(request):
        index = _int(request.path_params["index"], "example")
        session = state.session
        image, label = session.test_image(index)
        return JSONResponse({"index": index, "label": label, "seen": session.image_payload(image),
                             **session.look(image)})

    def backprop_example(request):
        index = _int(request.path_params["index"], "backprop")
        session = state.session
        image, label = session.test_image(index)
        wanted = request.query_params.get("label")
        return JSONResponse(session.backprop(image, label if wanted is None else _int(wanted, "backprop")))

    async def backprop_picture(request):
        label = _int(request.query_params.get("label"), "backprop: label")
        data = await _picture(request)

        def work():
            session = state.session
            return session.backprop(session.read_picture(data), label)
        return JSONResponse(await run_in_threadpool(work))

    def docs_page(request):
        return HTMLResponse(_markdown_page(_SOURCE_ROOT / "docs" / "backprop.md"))

    def source_page(request):
        path = (_SOURCE_ROOT / request.path_params["path"]).resolve()
        package = (_SOURCE_ROOT / "netfit").resolve()
        if path.suffix != ".py" or package not in path.parents or not path.is_file():
            raise _Refused(404, f"source: expected a .py file of netfit, got {request.path_params['path']!r}.")
        return HTMLResponse(_source_page(path, request.path_params["path"]))

    def mistakes(request):
        return JSONResponse(state.session.mistakes(request.query_params.get("order", "confidence")))

    def first_layer(request):
        return JSONResponse(state.session.first_layer())

    def export(request):
        code = python_code(state.session)
        name = f"netfit_{state.session.settings['preset']}.py"
        return Response(code, media_type="text/x-python",
                        headers={"Content-Disposition": f'attachment; filename="{name}"'})

    def download(request):
        data = state.session.weights_file()
        name = f"{state.session.settings['preset']}.netfit"
        return Response(data, media_type="application/octet-stream",
                        headers={"Content-Disposition": f'attachment; filename="{name}"'})

    async def upload(request):
        data = await _body(request, MAX_MODEL_BYTES, "upload: the model file")
        name = _file_name(request.query_params.get("name"))

        def work():
            session = Session(state.session.settings, state._cache)
            session.load_weights_file(data, name)
            state.replace(session=session)
            return state.state()
        return JSONResponse(await run_in_threadpool(work))

    routes = [Route("/", guarded(index)),
              Route("/api/options", guarded(sync(options))),
              Route("/api/state", guarded(sync(get_state))),
              Route("/api/settings", guarded(post_settings), methods=["POST"]),
              Route("/api/summary", guarded(preview), methods=["POST"]),
              Route("/api/train/{action}", guarded(sync(train)), methods=["POST"]),
              Route("/api/events", guarded(events)),
              Route("/api/predict", guarded(predict), methods=["POST"]),
              Route("/api/example/{index}", guarded(sync(example))),
              Route("/api/backprop/{index}", guarded(sync(backprop_example))),
              Route("/api/backprop", guarded(backprop_picture), methods=["POST"]),
              Route("/docs/backprop.md", guarded(sync(docs_page))),
              Route("/source/{path:path}", guarded(sync(source_page))),
              Route("/api/mistakes", guarded(sync(mistakes))),
              Route("/api/first-layer", guarded(sync(first_layer))),
              Route("/api/export.py", guarded(sync(export))),
              Route("/api/weights.netfit", guarded(sync(download))),
              Route("/api/weights", guarded(upload), methods=["POST"]),
              Mount("/static", StaticFiles(directory=str(_STATIC)), name="static")]
    app = Starlette(routes=routes, middleware=[Middleware(TrustedHostMiddleware, allowed_hosts=list(allowed_hosts))])
    app.state.token = token
    app.state.playground = state
    return app


async def _picture(request):
    data = await _body(request, MAX_PICTURE_BYTES, "predict: the picture")
    if not data.startswith(b"\x89PNG\r\n\x1a\n"):
        raise ValueError("predict: expected a PNG picture (the canvas), got other bytes.")
    return data


def _slug(heading):
    """GitHub's anchor for a Markdown heading: lower case, spaces to '-', punctuation dropped."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def _markdown_page(path):
    """A Markdown file as a page whose headings carry GitHub's anchors (the text kept as written)."""
    if not path.is_file():
        raise _Refused(404, f"docs: {path.name} is not installed with this netfit; read it in the repository.")
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        heading = re.match(r"(#+) (.*)", line)
        text = html.escape(line)
        rows.append(f'<b id="{html.escape(_slug(heading.group(2)))}">{text}</b>' if heading else text)
    return _page(path.name, "\n".join(rows))


def _source_page(path, name):
    """A source file with numbered lines, each with an anchor #L<n>."""
    lines = path.read_text(encoding="utf-8").splitlines()
    rows = [f'<span id="L{n}"><i>{n:4d}</i>  {html.escape(line)}</span>' for n, line in enumerate(lines, 1)]
    return _page(name, "\n".join(rows))


def _page(title, body):
    return (f"<!doctype html><meta charset='utf-8'><title>{html.escape(title)}</title>"
            "<style>body{margin:0;font:13px/1.45 monospace}pre{padding:12px;white-space:pre-wrap}"
            "i{color:#999;font-style:normal}:target{background:#fff3bf}</style>"
            f"<pre>{body}</pre>")


def _file_name(name):
    """The uploaded file's name as the page sends it, for messages: its last part, printable, ≤ 100 characters."""
    name = re.split(r"[\\/]", name or "")[-1]
    name = "".join(c for c in name if c.isprintable())[:100]
    return name or None


def _int(text, where):
    try:
        return int(text)
    except (TypeError, ValueError):
        raise ValueError(f"{where}: expected an integer, got {text!r}.") from None


async def _json(request):
    data = await _body(request, 64 * 1024, "settings")
    try:
        value = json.loads(data)
    except ValueError as exc:
        raise ValueError(f"settings: expected a JSON object, got invalid JSON ({exc}).") from None
    if not isinstance(value, dict):
        raise ValueError(f"settings: expected a JSON object, got {type(value).__name__}.")
    return value


async def _body(request, limit, what):
    """The request body, refused with 413 past ``limit`` bytes (checked while reading, not only the header)."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise _Refused(413, f"{what}: expected at most {limit:,} bytes, got {int(declared):,}.")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _Refused(413, f"{what}: expected at most {limit:,} bytes, got more.")
        chunks.append(chunk)
    if not size:
        raise ValueError(f"{what}: expected data in the request body, got nothing.")
    return b"".join(chunks)
