"""The ``netfit serve`` command: start the playground on 127.0.0.1 and print its URL with a fresh token.

The port is checked first and the URL printed only once the server listens.

Starlette and uvicorn come with ``pip install 'netfit[serve]'``; they are
imported when the command runs, so ``netfit --help`` works without them.
"""
import argparse
import errno
import os
import secrets
import socket
import sys

__all__ = ["add_parser", "listening_socket", "main", "url_for"]


def add_parser(subparsers):
    """Register ``netfit serve`` on the ``netfit`` command's sub-parsers."""
    from .session import DATASETS, DEFAULTS, PRESETS
    p = subparsers.add_parser("serve", help="the interactive playground in a browser",
                              description="Serve the playground on HOST:PORT and print its URL (with a random "
                                          "token). Needs netfit[serve] (Starlette, uvicorn).")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1, this machine only)")
    p.add_argument("--port", type=int, default=8765, help="port (0: any free port; default 8765)")
    p.add_argument("--data", choices=list(DATASETS), default=DEFAULTS["data"])
    p.add_argument("--model", choices=list(PRESETS), default=DEFAULTS["preset"])
    p.add_argument("--allow-host", action="append", default=[], metavar="NAME",
                   help="another name the browser may use for this server (Host header check)")
    p.add_argument("--token", default=None, help=argparse.SUPPRESS)
    p.set_defaults(func=main)


def url_for(host, port, token):
    """The address to open: ``http://HOST:PORT/?token=...`` (IPv6 hosts in brackets)."""
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}/?token={token}"


def listening_socket(host, port):
    """A socket bound to HOST:PORT and listening, made before anything slow so a busy port fails at once.

    Connections that arrive before the server runs wait in the socket's queue instead of
    being refused. SO_REUSEADDR (a restarted server may reuse a port in TIME_WAIT) only on
    POSIX: on Windows it would let two servers share one port.

    Raises
    ------
    OSError
        The port is taken or the address cannot be bound; the message names ``--port 0``.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    if os.name == "posix":
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
        sock.listen(128)
    except OSError as exc:
        sock.close()
        why = exc.strerror or str(exc)
        if exc.errno == errno.EADDRINUSE:
            why += "; another program (another netfit serve?) is using it"
        raise OSError(f"serve: cannot listen on {host}:{port} ({why}); try --port 0 (any free port) "
                      f"or another port, e.g. --port {port + 1 if 0 < port < 65535 else 8766}.") from None
    return sock


def main(args):
    """Run the server until Ctrl-C; return the exit code.

    The port is taken first (a busy one fails before the data loads), then the data and
    the net are built, and the URL is printed only once the server accepts connections.
    """
    try:
        import uvicorn
        from .app import LOCAL_HOSTS, create_app
    except ImportError as exc:
        raise ImportError(f"netfit serve needs Starlette and uvicorn ({exc}): pip install 'netfit[serve]'.") from None
    if not 0 <= args.port <= 65535:
        raise ValueError(f"serve: expected --port in 0..65535, got {args.port}.")
    token = args.token or secrets.token_urlsafe(24)
    hosts = list(LOCAL_HOSTS) + list(args.allow_host)
    if args.host not in ("0.0.0.0", "::"):
        hosts.append(args.host)
    else:
        print(f"warning: --host {args.host} makes the playground reachable from other machines; "
              "add their names with --allow-host.", file=sys.stderr)
    sock = listening_socket(args.host, args.port)
    try:
        print(f"netfit serve: loading {args.data} and building {args.model} ...", flush=True)
        app = create_app(token=token, settings={"data": args.data, "preset": args.model}, allowed_hosts=hosts)
        url = url_for("127.0.0.1" if args.host in ("0.0.0.0", "::") else args.host, sock.getsockname()[1], token)

        class Server(uvicorn.Server):
            async def startup(self, sockets=None):
                await super().startup(sockets=sockets)
                if self.started:                      # the server accepts connections now: a click gets the page
                    print(f"Open {url}", flush=True)
                    print("Ctrl-C stops the server.", flush=True)

        Server(uvicorn.Config(app, log_level="warning", lifespan="off")).run(sockets=[sock])
    finally:
        sock.close()
    return 0
