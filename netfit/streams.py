"""Streamed data: batches (x, y) read one at a time from a Python generator or a Sequence.

:meth:`netfit.Sequential.fit`, ``evaluate`` and ``predict`` accept, in place
of arrays, either

- a **Sequence**: any object with ``__len__`` (batches per epoch) and
  ``__getitem__(k)`` returning the k-th batch, such as a subclass of
  :class:`netfit.utils.Sequence` (Keras's ``keras.utils.Sequence`` / ``PyDataset``); or
- a **generator** (any iterator) yielding batches. It has no length, so the
  number of batches per epoch must be given (``steps_per_epoch``,
  ``validation_steps``, ``steps``), and it is read on across epochs: it
  should loop forever, as Keras expects.

A batch is ``(x_k, y_k)`` (or the list ``[x_k, y_k]``); for ``predict`` also
``x_k`` alone or ``(x_k,)``.
Only the batch in hand is in memory. Every batch is checked as arrays are
(shape, type, NaN) before it is used, and a bad one is named by its index.

How this differs from Keras: a generator without ``steps_per_epoch`` is
refused rather than read until it runs out (an endless generator would
otherwise hang, and a finite one can serve only one epoch); batches of
``(x, y, sample_weight)`` are refused; there are no worker processes.
"""
import numbers

import numpy as np

from .utils import check_positive_int

__all__ = ["OutOfData", "Stream", "is_stream"]


class OutOfData(Exception):
    """A generator stopped before the promised number of batches."""


def is_stream(x):
    """True for a generator/iterator or a Sequence-style object (``__len__`` + ``__getitem__``, not an array).

    Examples
    --------
    >>> import numpy as np
    >>> is_stream(iter([])), is_stream(np.zeros(3)), is_stream([[1.0, 2.0]])
    (True, False, False)
    """
    if x is None or isinstance(x, (np.ndarray, np.generic, list, tuple, range, str, bytes, dict, numbers.Number)):
        return False
    if hasattr(x, "__array__") or hasattr(x, "__array_interface__") or hasattr(x, "shape"):
        return False                         # array-likes (memmaps, pandas, array subclasses)
    if hasattr(x, "__next__"):
        return True
    return hasattr(x, "__len__") and hasattr(x, "__getitem__")


class Stream:
    """One source of batches with a fixed number of steps per pass.

    Parameters
    ----------
    source : Sequence-style object or iterator
    steps : int or None
        Batches per pass: ``steps_per_epoch`` / ``validation_steps`` / ``steps``.
        Required for a generator; defaults to ``len(source)`` for a Sequence
        and may not exceed it.
    where : str
        The public call, for error messages (``"Sequential.fit"``).
    steps_name : str
        The argument that sets ``steps``, named in errors.
    with_y : bool
        Batches must carry targets (fit, evaluate); ``predict`` takes x alone.
    """

    def __init__(self, source, steps, where, steps_name="steps_per_epoch", with_y=True):
        self.source, self.where, self.steps_name, self.with_y = source, where, steps_name, with_y
        self.is_sequence = not hasattr(source, "__next__")
        if self.is_sequence:
            try:
                length = len(source)
            except TypeError as exc:
                raise TypeError(f"{where}: expected a Sequence whose len() is the number of batches, "
                                f"but len() failed ({exc}).") from None
            if not isinstance(length, numbers.Integral) or length < 1:
                raise ValueError(f"{where}: expected a Sequence with at least one batch, got len() = {length!r}.")
            steps = length if steps is None else check_positive_int(steps, where, steps_name)
            if steps > length:
                raise ValueError(f"{where}: {steps_name}={steps} is more than the Sequence's {length} batches; "
                                 f"leave {steps_name} out to use them all.")
        elif steps is None:
            raise ValueError(f"{where}: a generator has no length, so netfit cannot tell where a pass ends; "
                             f"pass {steps_name}=N (batches per pass) and let the generator loop forever "
                             f"(while True: ... yield x_batch, y_batch), or give a netfit.utils.Sequence.")
        else:
            steps = check_positive_int(steps, where, steps_name)
        self.steps = int(steps)
        self._pending = None                  # a generator's batch read early, by peek()
        self._first = None                    # a Sequence's first batch, read by peek()
        self._taken = 0                       # batches read from a generator so far

    def peek(self):
        """The first batch ``(x, y)`` (y None for predict) without using it up: to build the model from its shape."""
        if self.is_sequence:
            if self._first is None:
                self._first = self._split(self._get(0), 0)
            return self._first
        if self._pending is None:
            try:
                self._pending = self._next(0)
            except OutOfData:
                raise ValueError(f"{self.where}: the generator yielded no batch at all; check that it yields "
                                 f"(x_batch, y_batch) tuples and is not already used up.") from None
        return self._split(self._pending, 0)

    def batches(self, order_rng=None):
        """Yield ``(index, x_k, y_k)`` for one pass; ``order_rng`` shuffles a Sequence's batch order.

        ``index`` is the batch's index in the Sequence, or its count in the
        generator's output, for :meth:`label`.

        Raises
        ------
        OutOfData
            A generator stopped early; the message says how many batches it gave.
        """
        if self.is_sequence:
            order = order_rng.permutation(len(self.source))[:self.steps] if order_rng is not None else range(self.steps)
            for index in order:
                yield (int(index), *self._split(self._get(int(index)), int(index)))
            return
        for k in range(self.steps):
            if self._pending is not None:
                item, self._pending = self._pending, None
            else:
                item = self._next(k)
            yield (self._taken - 1, *self._split(item, self._taken - 1))

    def label(self, index):
        """``"Sequential.fit (batch 3 of the generator)"``: where a batch's error came from."""
        return f"{self.where} (batch {index} of the {'Sequence' if self.is_sequence else 'generator'})"

    def end_epoch(self):
        """Keras's hook: tell a Sequence that an epoch has ended."""
        hook = getattr(self.source, "on_epoch_end", None)
        if self.is_sequence and callable(hook):
            hook()

    def _get(self, index):
        try:
            return self.source[index]
        except IndexError:
            raise IndexError(f"{self.where}: the Sequence has len() {len(self.source)} but has no batch "
                             f"{index}; make __getitem__ serve every index below len().") from None

    def _next(self, k):
        try:
            item = next(self.source)
        except StopIteration:
            raise OutOfData(f"{self.where}: the generator ran out after {self._taken} batch(es) in all "
                            f"({k} of this pass's {self.steps_name}={self.steps}); make it loop forever "
                            f"(while True: ...), or lower {self.steps_name}.") from None
        self._taken += 1
        return item

    def _split(self, item, index):
        """``(x, y)`` from one batch, or a TypeError naming the batch and the expected form."""
        what = f"{self.where}: batch {index} of the {'Sequence' if self.is_sequence else 'generator'}"
        if self.with_y and isinstance(item, list) and len(item) in (2, 3):
            item = tuple(item)                 # Keras reads [x, y] as (x, y)
        if isinstance(item, tuple):
            if len(item) == 3:
                raise ValueError(f"{what} is (x, y, sample_weight); netfit reads (x, y) batches only. "
                                 f"Yield (x, y), or repeat examples to weight them.")
            if len(item) == 2:
                return item if self.with_y else (item[0], None)
            if len(item) == 1 and not self.with_y:
                return item[0], None
        elif not self.with_y and not isinstance(item, (dict, str, bytes)) and item is not None:
            return item, None
        form = "(x_batch, y_batch)" if self.with_y else "x_batch or (x_batch, y_batch)"
        got = f"a tuple of {len(item)}" if isinstance(item, tuple) else type(item).__name__
        raise TypeError(f"{what} is {got}; expected a tuple {form}.")
