"""``netfit serve``: the lecture in a browser, a playground on the real library.

Pick the data (ZIP digits, MNIST) and a net (ESL's Net-1 … Net-5, the lecture's
MLP, a CNN), train it live with the lecture's knobs, draw a digit and see what
the net sees, browse the mistakes and the first layer's weights, and take the
run home as Python code or a weights file. Install with ``pip install
'netfit[serve]'``; see docs/serve.md.

Layout: :mod:`~netfit.serve.session` (data, model, the views), :mod:`~netfit.serve.worker`
(``Sequential.fit`` in a thread, a callback feeding a bounded event log),
:mod:`~netfit.serve.app` (routes, token, Host check, uploads; needs Starlette),
:mod:`~netfit.serve.messages` (errors for the page, without the server's paths),
:mod:`~netfit.serve.cli` (the command; uvicorn), ``static/`` (the page: HTML,
ES modules, CSS; no build step). The library never imports this package; it
uses only netfit's public modules.
"""
