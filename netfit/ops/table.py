"""The table of ops by keras.ops name, and the lookup that names what is supported."""
import difflib

__all__ = ["TABLE", "lookup"]

#: Every op by its keras.ops name (filled by the family modules' ``@op`` decorators).
TABLE = {}


def lookup(name):
    """The op called ``name``; an unknown name lists the closest supported ones.

    Raises
    ------
    AttributeError
        No op of that name, with the closest names and where the list is.
    """
    found = TABLE.get(name)
    if found is None:
        close = difflib.get_close_matches(name, TABLE, n=5)
        raise AttributeError(f"netfit.ops has no op {name!r}"
                             f"{'; did you mean ' + ', '.join(close) + '?' if close else '.'} "
                             f"netfit.ops.list_ops() lists the {len(TABLE)} supported ops.")
    return found
