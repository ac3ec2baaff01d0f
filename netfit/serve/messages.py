"""What the page is told when something fails: the library's message, never the server's file paths.

The page may be shown to a class or opened from another machine (``--host``), and a
path such as ``/tmp/tmpfm86uoja/canvas.png`` means nothing to the person drawing. A
message names what the user handed in: "the drawing", the uploaded file by its own
name. Two rules carry it:

- a reader that takes a path gets its scratch copy from :func:`scratch_file`, whose
  errors name the file as the user knows it;
- every message that leaves the server passes :func:`public`, which cuts any other
  absolute path down to its last part (the full message goes to the server's log).
"""
import contextlib
import logging
import os
import re
import tempfile

__all__ = ["public", "scratch_file"]

_LOG = logging.getLogger("netfit.serve")
# An absolute path of two or more parts (POSIX, C:\..., \\server\...), quoted or not; not the tail of a URL
# ("https://host/a/b": the slashes follow ':' or '/') nor a relative path or a fraction ("a/b", "1/2").
_ABSOLUTE = re.compile(r"""(?<![\w.~:/\\-])(?:[A-Za-z]:[\\/]|[\\/]{1,2})(?:[^\s'"\\/]+[\\/])+([^\s'"\\/]*)""")


def public(message):
    """``message`` with every absolute path replaced by its last part; the original is logged when it differs.

    Examples
    --------
    >>> public("mnist: cannot read '/home/ana/.netfit/data/mnist/train.gz' (no such file).")
    "mnist: cannot read 'train.gz' (no such file)."
    >>> public("download from https://example.org/a/b failed")
    'download from https://example.org/a/b failed'
    """
    text = str(message)
    shown = _ABSOLUTE.sub(lambda match: match.group(1), text)
    if shown != text:
        _LOG.warning("netfit serve: %s", text)
    return shown


@contextlib.contextmanager
def scratch_file(data, suffix, shown):
    """A temporary file holding ``data`` for a reader that takes a path; its errors name it ``shown``.

    Yields the path. An exception raised inside is raised again, of the same type, with
    the path (quoted or bare) replaced by ``shown``: ``predict: the drawing: no ink ...``.
    The folder is removed afterwards.

    Parameters
    ----------
    data : bytes
    suffix : str
        The file's extension (readers may look at it), e.g. ".png".
    shown : str
        How messages name the file, e.g. "the drawing" or ``repr(uploaded_name)``.
    """
    with tempfile.TemporaryDirectory(prefix="netfit-serve-") as folder:
        path = os.path.join(folder, "upload" + suffix)
        with open(path, "wb") as handle:
            handle.write(data)
        try:
            yield path
        except Exception as exc:
            text = str(exc)
            if path not in text:
                raise
            renamed = text.replace(repr(path), shown).replace(path, shown)
            try:
                again = type(exc)(renamed)
            except Exception:                         # a type that takes other arguments: keep the kind of error
                again = (OSError if isinstance(exc, OSError) else ValueError)(renamed)
            raise again from None
