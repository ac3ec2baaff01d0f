"""Streamed data: batches read one at a time from a Sequence, any iterable of batches, or a generator.

:meth:`netfit.Sequential.fit`, ``evaluate`` and ``predict`` accept, in place
of arrays,

- a **Sequence**: any object with ``__len__`` (batches per pass) and
  ``__getitem__(k)`` returning the k-th batch, such as a subclass of
  :class:`netfit.utils.Sequence` (Keras's ``keras.utils.Sequence`` / ``PyDataset``);
  with ``shuffle=True`` its batch order is shuffled, seeded like array rows;
- any other **iterable** of batches that can be read again: a PyTorch
  ``DataLoader``, a list of ``(x, y)`` tuples, an object with ``__iter__``;
  each pass is ``iter(source)``, in the source's own order; or
- a **generator** (any iterator), read once, in its own order.

A batch is ``(x_k, y_k)`` or ``(x_k, y_k, sample_weight_k)`` (a list ``[x_k, y_k]``
reads the same, as in Keras); for ``predict`` also ``x_k`` or ``(x_k,)``. Its
items are anything ``np.asarray`` converts (NumPy arrays, PyTorch tensors,
nested lists). Only the batch in hand is in memory. Every batch is checked as
arrays are (shape, type, NaN) before it is used, and a bad one is named by its index.

How many batches an epoch takes is Keras 3's rule (``keras/src/trainers/epoch_iterator.py``),
the same for arrays (:func:`epoch_part`):

- without ``steps_per_epoch`` (``validation_steps``, ``steps``), an epoch is
  one whole pass: ``len(source)`` batches, or until an iterable without a
  length runs out (its length is then known for the later epochs);
- with ``steps_per_epoch=N``, an epoch takes the next N batches of the pass
  in progress, and the pass goes on in the next epoch. An epoch that reaches
  the end of a pass ends there, short, with a warning, and the next epoch
  starts a new pass (as Keras, which warns "Your input ran out of data").

A generator cannot be read again: if it ends with ``steps_per_epoch`` given,
training stops with a warning kept in ``history.stop_reason``; without
``steps_per_epoch``, ``fit`` refuses more than one epoch (the first reads it
to its end; Keras 3.15 goes on, replaying the generator's first two batches).

Differs from Keras: Keras reads a plain list of batches as several inputs;
netfit reads a list whose every item is a tuple starting with an array as
batches. There are no worker processes.
"""
import numbers

import numpy as np

from .utils import check_positive_int, warn

__all__ = ["OutOfData", "Stream", "epoch_part", "is_stream", "warn_if_short"]

_END = object()                              # what _read returns at the end of a pass


class OutOfData(Exception):
    """A generator stopped before the promised number of batches."""


def is_stream(x):
    """True for a Sequence, a generator, any other iterable of batches, or a list of batch tuples; not for arrays.

    Examples
    --------
    >>> import numpy as np
    >>> is_stream(iter([])), is_stream(np.zeros(3)), is_stream([[1.0, 2.0]]), is_stream([(np.zeros((2, 3)), [0, 1])])
    (True, False, False, True)
    """
    if isinstance(x, list):
        return is_batch_list(x)
    if x is None or isinstance(x, (np.ndarray, np.generic, tuple, range, str, bytes, dict, numbers.Number)):
        return False
    if hasattr(x, "__array__") or hasattr(x, "__array_interface__") or hasattr(x, "shape"):
        return False                         # array-likes (memmaps, pandas, tensors, array subclasses)
    return hasattr(x, "__next__") or hasattr(x, "__iter__") or (hasattr(x, "__len__") and hasattr(x, "__getitem__"))


def is_batch_list(x):
    """A list of batches: non-empty, every item a tuple of 1 to 3 whose first element is an array, not a number.

    ``[(x0, y0), (x1, y1)]`` is batches; ``[[1.0, 2.0], [3.0, 4.0]]`` and
    ``[(1.0, 2.0), (3.0, 4.0)]`` are arrays of two rows.
    """
    return isinstance(x, list) and bool(x) and all(
        isinstance(item, tuple) and 1 <= len(item) <= 3 and item[0] is not None
        and not isinstance(item[0], (numbers.Number, np.generic, str, bytes)) for item in x)


def epoch_part(epoch, steps, length):
    """Which batches of a pass over ``length`` batches epoch ``epoch`` takes: ``(first epoch of its pass, first, count)``.

    Keras 3's rule for data of known length: without ``steps`` every epoch is a
    whole pass; with ``steps`` the pass goes on across epochs, N batches each,
    and the epoch that reaches its end takes what is left (``count < steps``,
    the epoch Keras warns about), so a pass lasts ⌈length / steps⌉ epochs.
    Epoch k's part depends on k alone, so a fit resumed at ``initial_epoch=k``
    takes the same batches as one that ran through (Keras starts a new pass there).

    Examples
    --------
    >>> [epoch_part(e, 2, 3) for e in range(4)]          # 3 batches, 2 per epoch
    [(0, 0, 2), (0, 2, 1), (2, 0, 2), (2, 2, 1)]
    >>> epoch_part(5, 4, 3), epoch_part(5, None, 3)      # more steps than batches: each epoch one pass
    ((5, 0, 3), (5, 0, 3))
    """
    if steps is None:
        return epoch, 0, length
    per_pass = -(-length // steps)
    k = epoch % per_pass
    return epoch - k, k * steps, min(steps, length - k * steps)


class Stream:
    """One source of batches and the pass in progress over it.

    Parameters
    ----------
    source : Sequence-style object, iterable or iterator
    steps : int or None
        Batches per epoch: ``steps_per_epoch`` / ``validation_steps`` / ``steps``;
        None: a whole pass.
    where : str
        The public call, for error messages (``"Sequential.fit"``).
    steps_name : str
        The argument that sets ``steps``, named in errors.
    with_y : bool
        Batches must carry targets (fit, evaluate); ``predict`` takes x alone.

    Attributes
    ----------
    kind : {"Sequence", "iterable", "generator"}
    length : int or None
        Batches in a pass: ``len(source)`` where it has one (a generator has
        none; an iterable without one gets it when its first pass ends).
    """

    def __init__(self, source, steps, where, steps_name="steps_per_epoch", with_y=True):
        self.source, self.where, self.steps_name, self.with_y = source, where, steps_name, with_y
        self.steps = check_positive_int(steps, where, steps_name, allow_none=True)
        self.length = None
        if hasattr(source, "__next__"):
            self.kind = "generator"
        elif hasattr(source, "__len__") and hasattr(source, "__getitem__") and not isinstance(source, list):
            self.kind = "Sequence"
            self.length = self._len(source)
        else:
            self.kind = "iterable"
            try:                                  # a DataLoader over an IterableDataset has __len__ that raises
                self.length = self._len(source)
            except TypeError:
                pass
        self._first = None                    # a Sequence's first batch, read by peek()
        self._pending = None                  # an iterable's first batch, read by peek() from the pass in progress
        self._it, self._seen = None, 0        # the pass in progress (iterables, generators) and its batches so far
        self._taken = 0                       # batches read from a generator so far

    def _len(self, source):
        what = "an iterable" if self.kind == "iterable" else f"a {self.kind}"
        try:
            length = len(source)
        except TypeError as exc:
            raise TypeError(f"{self.where}: expected {what} whose len() is the number of batches, "
                            f"but len() failed ({exc}).") from None
        if not isinstance(length, numbers.Integral) or length < 1:
            raise ValueError(f"{self.where}: expected {what} with at least one batch, got len() = {length!r}.")
        return int(length)

    @property
    def name(self):
        """What the source is called in messages: "Sequence", "generator", or the iterable's type ("DataLoader")."""
        return type(self.source).__name__ if self.kind == "iterable" else self.kind

    @property
    def epoch_steps(self):
        """Batches an epoch takes (``params["steps"]``): ``steps``, else the length (None while unknown)."""
        return self.steps if self.steps is not None else self.length

    def peek(self):
        """The first batch ``(x, y, w)`` (y None for predict) without using it up: to build the model from its shape."""
        if self.kind == "Sequence":
            if self._first is None:
                self._first = self._split(self._get(0), 0)
            return self._first
        if self._pending is None:
            self._start_pass()
            self._pending = self._read()
            if self._pending is _END:
                raise ValueError(f"{self.where}: the {self.name} yielded no batch at all; check that it yields "
                                 f"(x_batch, y_batch) tuples and is not already used up.")
        return self._split(self._pending, self._index())

    def batches(self, epoch=0, seed=None):
        """Yield ``(index, x_k, y_k, w_k)`` for one epoch (:func:`epoch_part`'s rule); ``w_k`` may be None.

        ``seed`` shuffles a Sequence's batch order, drawn from (seed, the epoch
        its pass began in); None keeps it. ``index`` is the batch's index in the
        Sequence or the pass, or its count in a generator's output, for :meth:`label`.

        Raises
        ------
        OutOfData
            A generator stopped (with ``steps`` given, or before its first batch);
            an iterable yielded nothing in a pass.
        """
        if self.kind == "Sequence":
            start, first, count = epoch_part(epoch, self.steps, self.length)
            order = np.random.default_rng([seed, start]).permutation(self.length) if seed is not None \
                else np.arange(self.length)
            for index in order[first:first + count]:
                yield (int(index), *self._split(self._get(int(index)), int(index)))
            warn_if_short(self.where, self.steps_name, self.steps, count, self.length)
            return
        yield from self._read_on()

    def _read_on(self):
        """One epoch from the pass in progress: Keras's EpochIterator for sources read by ``next``."""
        if self._pending is None and (self.steps is None or self._complete()):
            self._it = None                  # a new pass: without steps each epoch is one; with them, after the last
        limit, done = self.epoch_steps, 0
        while limit is None or done < limit:
            if self._pending is None and self._it is not None and self._complete():
                break                                            # the data ran out: the epoch ends short
            if self._it is None:
                self._start_pass()
            item = self._pending if self._pending is not None else self._read()
            self._pending = None
            if item is _END:                                     # the pass ended
                if self._seen == 0 or (self.kind == "generator" and self.steps is not None):
                    self._it = None
                    raise OutOfData(self._ran_out(done))
                if self.length is None:
                    self.length = self._seen                     # an iterable's length, known from now on
                self._it = None
                break
            done += 1
            yield (self._index(), *self._split(item, self._index()))
        warn_if_short(self.where, self.steps_name, self.steps, done, self.length)

    def _complete(self):
        return self.length is not None and self._seen >= self.length

    def _start_pass(self):
        self._it, self._seen = (self.source if self.kind == "generator" else iter(self.source)), 0

    def _read(self):
        """The next batch of the pass in progress, or _END."""
        try:
            item = next(self._it)
        except StopIteration:
            return _END
        self._seen += 1
        self._taken += 1
        return item

    def _index(self):
        return self._taken - 1 if self.kind == "generator" else self._seen - 1

    def _ran_out(self, done):
        if self.kind != "generator":
            return (f"{self.where}: the {self.name} yielded no batch in a new pass; make iter() of it start "
                    f"over each time (a DataLoader, a list), or pass a generator that loops forever.")
        of_steps = f" ({done} of this pass's {self.steps_name}={self.steps})" if self.steps is not None else ""
        fix = f", or lower {self.steps_name}" if self.steps is not None else f" and pass {self.steps_name}=N"
        return (f"{self.where}: the generator ran out after {self._taken} batch(es) in all{of_steps}; make it "
                f"loop forever (while True: ...){fix}.")


    def label(self, index):
        """``"Sequential.fit (batch 3 of the generator)"``: where a batch's error came from."""
        return f"{self.where} (batch {index} of the {self.name})"

    def end_epoch(self):
        """Keras's hook: tell a Sequence that an epoch has ended."""
        hook = getattr(self.source, "on_epoch_end", None)
        if self.kind == "Sequence" and callable(hook):
            hook()

    def _get(self, index):
        try:
            return self.source[index]
        except IndexError:
            raise IndexError(f"{self.where}: the Sequence has len() {len(self.source)} but has no batch "
                             f"{index}; make __getitem__ serve every index below len().") from None

    def _split(self, item, index):
        """``(x, y, w)`` from one batch (Keras's ``unpack_x_y_sample_weight``), or a TypeError naming it."""
        what = f"{self.where}: batch {index} of the {self.name}"
        if isinstance(item, list) and 1 <= len(item) <= 3:
            item = tuple(item)                 # Keras reads [x, y] as (x, y)
        if isinstance(item, tuple):
            if len(item) == 3 and self.with_y:
                return item
            if len(item) in (2, 3):
                return (item[0], item[1], None) if self.with_y else (item[0], None, None)
            if len(item) == 1 and not self.with_y:
                return item[0], None, None
        elif not self.with_y and not isinstance(item, (dict, str, bytes)) and item is not None:
            return item, None, None
        form = "(x_batch, y_batch) or (x_batch, y_batch, sample_weight)" if self.with_y else \
            "x_batch or (x_batch, y_batch)"
        got = f"a tuple of {len(item)}" if isinstance(item, tuple) else type(item).__name__
        raise TypeError(f"{what} is {got}; expected a tuple {form}.")


def warn_if_short(where, steps_name, steps, done, length):
    """Warn when an epoch reached the end of a pass before its ``steps`` batches (Keras's "ran out of data")."""
    if steps is None or done >= steps:
        return
    keras = "as in Keras 3 (\"Your input ran out of data\")"
    fix = (f"the call ends there, {keras}. Leave {steps_name} out to read one whole pass." if steps_name == "steps"
           else f"the epoch ends there and the next one starts a new pass, {keras}. For epochs of equal length "
                f"pass a {steps_name} that divides the batches of a pass, or leave it out.")
    of = f" (a pass is {length} batches)" if length is not None else ""
    warn(f"{where}: the data ran out after {done} of {steps_name}={steps} batches{of}; {fix}")
