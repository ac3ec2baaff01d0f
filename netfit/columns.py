"""A model's inputs, targets and outputs: one array, or a list of arrays for a model of several.

A model with one input takes x as an array; one with several takes a list of
arrays in ``model.inputs`` order (checked and put in that order by the model,
:meth:`netfit.Model._check_x`). The same holds for targets and outputs. The
training loop and ``evaluate`` / ``predict`` handle both through these few
functions, so that the one-array case is the code it always was.

Examples
--------
>>> import numpy as np
>>> both = [np.arange(6).reshape(3, 2), np.arange(3)]
>>> count(both), [a.tolist() for a in rows(both, slice(1, 3))]
(3, [[[2, 3], [4, 5]], [1, 2]])
>>> each(lambda a: a * 2, np.arange(3)).tolist()
[0, 2, 4]
"""

__all__ = ["count", "each", "flat", "rows"]


def flat(v):
    """The arrays of ``v``: ``v`` itself if a list, else ``[v]``."""
    return v if isinstance(v, list) else [v]


def each(fn, v, *others):
    """``fn`` applied to each array of ``v`` (with the matching arrays of ``others``), keeping the structure."""
    if isinstance(v, list):
        return [fn(*args) for args in zip(v, *others)]
    return fn(v, *others)


def rows(v, index):
    """The rows ``index`` (a slice or an index array) of every array of ``v``."""
    return [a[index] for a in v] if isinstance(v, list) else v[index]


def count(v):
    """The number of examples (rows) in ``v``."""
    return len(v[0]) if isinstance(v, list) else len(v)
