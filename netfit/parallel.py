"""Every core on the CPU: a training step's passes split over batch rows, on a pool of threads.

BLAS spreads a matrix product over the cores, but a training step is more than
its products: im2col's copy, col2im's additions, pooling and σ, σ' are
whole-array NumPy passes (or netfit[fast]'s compiled loops) on one core. While
fit runs with n > 1 threads (:func:`netfit.config.set_threads`), this module
splits those passes, and the products too, into n blocks of consecutive batch
rows and runs them at once on a pool of n − 1 threads plus the calling one.
NumPy's loops, OpenBLAS and the numba loops (``nogil=True``) release the GIL,
so the blocks run in parallel. (Adam's update and the loss stay on one thread:
for these models they take well under 1 % of a step.)

Where it can, fit runs a coarser split on the same pool: the batch cut into n
shares, each share's whole forward and backward pass on one thread
(:mod:`netfit.replicas`; the threads meet once a step instead of at every
pass, 8–12 % faster on Keras's MNIST CNN). The passes are split here in
deterministic mode and for layers that need the whole batch (BatchNormalization),
and :func:`rows` and :func:`matmul` run whole inside a share (one thread each).

Why the products too: an OpenBLAS thread that has finished its share of a
product spins for a while, waiting for the next one, on the core the pool
needs for the passes between products; on a 2-core machine that cost more than
the pool gained (Keras's MNIST CNN, a step at batch 128 with netfit[fast], on a
machine loaded by other work: 45 ms with the pool beside two BLAS threads, 31 ms
with one BLAS thread and the products split, 41 ms on one thread). So while the
pool runs, BLAS is held at one thread and each worker multiplies its own rows
(:func:`matmul`); a kernel gradient XᵀΔ, a long sum over the batch with few
output rows, is split over the sum instead, its partial products added in
block order. A row of an im2col copy, a pooled image or σ'(z) depends on that
row of the input only, so those splits change no bit. The products' blocks are
BLAS calls on fewer rows (or a sum in pieces), which OpenBLAS may sum in another
order than one call on all rows, so:

- for a given thread count, a step gives the same bits from run to run;
- in deterministic mode (:func:`netfit.config.set_deterministic`), the same bits
  whatever the thread count: the products run whole, on one BLAS thread, and
  only the exact passes are split (tests/test_parallel.py checks 1, 2 and 3
  threads on odd batches, with and without netfit[fast]);
- otherwise a different thread count may change the last bit of a product, as
  BLAS's own threads may.

Holding BLAS at one thread needs ``threadpoolctl`` (``pip install
'netfit[threads]'``). Without it, for the 45-against-41 ms above, ``"auto"``
runs no pool (BLAS keeps its threads, as before this module), and an explicit
``set_threads(n)``, n > 1, runs the pool beside BLAS's threads after one warning.
So a NumPy-only install takes the 41 ms step, not the 31 ms one: a CNN epoch
takes 1.2–2× as long as with threadpoolctl (figures in :mod:`netfit.config`).

Outside fit (and inside a worker) everything runs on the calling thread, as
before. The thread count is per calling thread, so fits in two threads of a
program do not share a setting; the pool itself is shared and grows to the
largest count asked for, and :func:`netfit.config.set_threads` closes it (its
threads exit) when the new setting needs fewer threads. A block raising an
exception raises it in the caller after every block has finished (no thread
writes into a buffer after the call returns).
"""
import contextlib
import os
import threading

import numpy as np

from . import backend, config

# Work below these sizes stays on one thread: a split costs ~10-20 µs (waking the threads, joining them).
MIN_FLOPS = 2_000_000           # per block of a matrix product (~50 µs of one core's float32 GEMM); a predict
                                # batch of less work runs as it comes (netfit.inference, threads "auto")
MIN_ITEMS = 32_768              # array entries per block of an element-wise pass
LONG_SUM = 8                    # matmul splits the sum, not the rows, of a product with k ≥ LONG_SUM · m
# in_pieces, Windows.times: bytes a piece of rows brings into the cache. On one core 0.5 to 4 MB did
# alike; with two threads (two shares of the batch) 2 MB beat 0.5 MB (the residual CNN's step: 50 to
# 43 ms): fewer pieces, fewer Python calls holding the GIL between the NumPy calls that release it.
PIECE_BYTES = 1 << 21
# Blocks per thread. The threads take blocks in turn, so a thread that starts late (another process
# holds its core) leaves its block to the others. More, smaller blocks balance a loaded machine
# better but cost more: 2 or 4 made the MNIST CNN step 2-6 % slower than 1 on 2 loaded cores.
BLOCKS_PER_THREAD = 1

_local = threading.local()      # .workers: the thread count fit asked for, in this thread
_lock = threading.Lock()
_team = None


available_cores = config.available_cores     # the cores this process may run on (its CPU affinity)


def workers():
    """The number of threads a split may use now in this thread: 1 outside fit and inside a worker."""
    return getattr(_local, "workers", 1)


def step_workers(step_flops, blas_bound=False):
    """Threads for a training step of ``step_flops`` floating-point operations, as the thread policy says.

    ``set_threads("auto")``: 1 below :data:`netfit.config.SMALL_STEP_FLOPS` (on one BLAS
    thread) and for a model of products only (``blas_bound``: on BLAS's own threads from
    :data:`netfit.config.SMALL_PRODUCTS_STEP_FLOPS` up), else every available core (1
    without threadpoolctl: the pool beside BLAS's own threads was slower than one thread);
    an int n: n; ``None`` (leave BLAS alone): 1, no pool.
    """
    if config.threads() == "auto" and (blas_bound or step_flops < config.SMALL_STEP_FLOPS):
        return 1
    return most_workers()


def most_workers():
    """The most threads a fit may use under the current :func:`netfit.config.set_threads` setting."""
    wanted = config.threads()
    if wanted is None:
        return 1
    if wanted == "auto":
        return available_cores() if config.can_limit_blas() else 1
    return int(wanted)


@contextlib.contextmanager
def using(n):
    """Run splits in this thread on ``n`` threads (BLAS held at one thread while n > 1)."""
    previous = workers()
    _local.workers = max(1, int(n))
    try:
        if _local.workers > 1:
            # Without threadpoolctl BLAS keeps its threads: slower (set_threads warned), the same bits.
            with config.one_blas_thread():
                yield
        else:
            yield
    finally:
        _local.workers = previous


@contextlib.contextmanager
def training(step_flops, on_host=True, blas_bound=False):
    """The thread policy of one fit (or one ``predict``): the pool's threads for a step this size, and BLAS's.

    With more than one thread the pool does the splitting and BLAS runs one thread
    per product; with one, BLAS gets what :func:`netfit.config.training_threads` says.
    A model on a GPU (``on_host=False``) runs every pass on the calling thread: the
    device does the parallel work, and CuPy's current device is per thread.
    ``blas_bound``: the model is products only (:func:`step_workers`). Yields the thread count.
    """
    n = step_workers(step_flops, blas_bound) if on_host else 1
    if n > 1:
        with using(n):
            yield n
    else:
        with config.training_threads(step_flops, blas_bound), using(1):
            yield 1


def _get_team(size):
    global _team
    with _lock:
        if _team is None or _team.size < size:
            if _team is not None:
                _team.close()                     # its threads finish their block and exit
            _team = _Team(size)
        return _team


def _shrink_team():
    """Close the pool if it has more threads than the thread setting now asks for: they exit.

    Called by :func:`netfit.config.set_threads`; the next split builds a pool of
    the size it needs. A split running in another thread meanwhile is not harmed:
    the workers finish the block they hold, and its calling thread runs the rest.
    """
    global _team
    with _lock:
        if _team is not None and _team.size > most_workers() - 1:
            _team.close()
            _team = None


config.on_set_threads.append(_shrink_team)


def _forget_team():
    """In a forked child the parent's threads do not exist: start a new team when needed."""
    global _team, _lock
    _team, _lock = None, threading.Lock()


class _Team:
    """``size`` threads waiting on one condition: :meth:`post` wakes as many as a job needs at once.

    (A ThreadPoolExecutor takes one submit, ~10 µs, per thread: on 16 cores ~150 µs
    before the last thread starts, at every split of a step.)
    """

    def __init__(self, size):
        self.size = size
        self._cond = threading.Condition(threading.Lock())
        self._job, self._posted, self._closed = None, 0, False
        for i in range(size):
            threading.Thread(target=self._serve, name=f"netfit-worker-{i}", daemon=True).start()

    def _serve(self):
        seen = 0
        while True:
            with self._cond:
                while self._posted == seen and not self._closed:
                    self._cond.wait()
                if self._closed:
                    return
                seen, job = self._posted, self._job
            if job is not None:                   # None: the job was done and released before this thread woke
                job.work()                        # blocks taken in turn; none left: returns at once
            job = None                            # hold nothing of a finished job (its fn's closure) while idle

    def post(self, job, helpers):
        """Offer ``job`` to ``helpers`` threads (fewer join if some are busy elsewhere)."""
        with self._cond:
            self._job = job
            self._posted += 1
            self._cond.notify(helpers)

    def release(self, job):
        """Forget ``job`` once it is done, so that the pool keeps nothing it refers to alive."""
        with self._cond:
            if self._job is job:
                self._job = None

    def close(self):
        """Let every thread exit: a waiting one at once, a busy one after its block."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_team)


def in_pieces(fn, row_bytes, piece_bytes=None):
    """fn(lo, hi) made to run a few rows at a time: each piece's ~``piece_bytes`` stay in the cache.

    Several whole-array NumPy passes in a row (max pooling's running maximum and
    winner, offset by offset) each stream the whole batch from memory; on a piece
    of a few examples, the passes after the first read it from the cache (the
    residual CNN's first max pooling, batch 128, one core: forward 7.1 to 4.2 ms,
    backward 4.9 to 3.3). For passes whose rows are independent: any cut, same bits.
    ``row_bytes``: the bytes one row (example) brings in; ``piece_bytes`` defaults
    to :data:`PIECE_BYTES`.

    Examples
    --------
    >>> seen = []
    >>> in_pieces(lambda lo, hi: seen.append((lo, hi)), row_bytes=300_000, piece_bytes=600_000)(0, 5)
    >>> seen
    [(0, 2), (2, 4), (4, 5)]
    """
    step = max(1, int((piece_bytes or PIECE_BYTES) // max(1, row_bytes)))

    def run(lo, hi):
        for a in range(lo, hi, step):
            fn(a, min(a + step, hi))

    return run


def blocks(n, parts):
    """Split range(n) into ``parts`` runs of consecutive rows, sizes differing by at most one.

    Examples
    --------
    >>> blocks(7, 3)
    [(0, 2), (2, 4), (4, 7)]
    """
    parts = max(1, min(parts, n))
    edges = [n * i // parts for i in range(parts + 1)]
    return list(zip(edges[:-1], edges[1:]))


def rows(fn, n, size=None, min_size=MIN_ITEMS, exact=True):
    """Call fn(lo, hi) on blocks of range(n) at once; return their results, in block order.

    fn must write only rows lo … hi − 1 of its outputs (and read what no other
    block writes). ``size`` is the work of all n rows (array entries, or flops
    with ``min_size=MIN_FLOPS``): the rows are cut into at most size / min_size
    blocks, and at most :data:`BLOCKS_PER_THREAD` per thread of :func:`workers`.
    The threads (the calling one among them) take the blocks in turn, so a thread
    the machine holds back takes fewer; where the rows are cut depends only on n,
    size and the thread count. An exception in any block is raised here once every
    block has finished. ``exact=False`` says that a block's bits depend on where
    the rows are cut (a BLAS product over fewer rows may sum in another order):
    deterministic mode then runs one block.
    """
    threads = workers() if exact or not config.deterministic() else 1
    parts = threads * BLOCKS_PER_THREAD
    if size is not None:
        parts = min(parts, int(size // min_size))
    if threads <= 1 or parts <= 1 or n <= 1:
        return [fn(0, n)]
    job = _Job(fn, blocks(n, parts))
    team = _get_team(threads - 1)
    team.post(job, min(threads, len(job.spans)) - 1)
    job.work()
    while True:
        try:
            job.done.wait()
            break
        except BaseException as exc:  # noqa: BLE001  (Ctrl-C while waiting: the blocks still write)
            job.errors.append(exc)
    team.release(job)
    job.fn = None
    errors = [e for e in job.errors if e is not None]
    if errors:
        raise errors[0]
    return job.results


class _Job:
    """The blocks of one :func:`rows` call, taken in turn by whichever thread is free."""

    def __init__(self, fn, spans):
        self.fn, self.spans = fn, spans
        self.results = [None] * len(spans)
        self.errors = [None] * len(spans)
        self.lock = threading.Lock()
        self.taken = self.left = len(spans)
        self.done = threading.Event()

    def work(self):
        """Run blocks until none is left; a thread that starts late finds none and returns."""
        while True:
            with self.lock:
                if self.taken == 0:
                    return
                self.taken -= 1
                i = len(self.spans) - 1 - self.taken
            try:
                self.results[i] = self.fn(*self.spans[i])
            except BaseException as exc:  # noqa: BLE001  (raised by rows() in the calling thread)
                self.errors[i] = exc
            with self.lock:
                self.left -= 1
                if self.left == 0:
                    self.done.set()


def each(fn, count):
    """[fn(0), fn(1), …, fn(count − 1)], the calls spread over the threads as :func:`rows` spreads rows.

    Examples
    --------
    >>> each(lambda i: i * i, 4)
    [0, 1, 4, 9]
    """
    parts = rows(lambda lo, hi: [fn(i) for i in range(lo, hi)], count)
    return [result for part in parts for result in part]


def matmul(a, b, out):
    """out = a @ b for 2-D a, b, split over the threads; returns out.

    Most products are split over a's rows (and out's): each block is one BLAS
    product of whole rows. A product with a long sum and few output rows (a
    kernel gradient XᵀΔ, summed over every window of the batch: k ≥
    :data:`LONG_SUM` · m) is split over the sum instead: each block multiplies
    its stretch of the batch, and the partial products are added in block order.
    (Split by rows, every block would read all of Δ; by the sum, each reads its
    own part: the first conv layer's kernel gradient at batch 128 went from 2.0–2.8
    to 1.4 ms on 2 threads.) Blocks of a fixed thread count give the same bits
    from run to run; another count adds the sum in other pieces, and OpenBLAS may
    sum a block of few rows in another order than the whole product (its
    small-matrix kernels), so it can change the last bit, as BLAS's own threads
    can. In deterministic mode the product runs whole on the calling thread (BLAS
    holds one thread there anyway). Device (CuPy) arrays go to the device's own
    ``matmul`` unsplit.

    Shapes
    ------
    a : (m, k), b : (k, f), out : (m, f)
    """
    if not isinstance(a, np.ndarray):               # a device array (CuPy): the device's own product
        return backend.get_array_module(a).matmul(a, b, out=out)
    m, k = a.shape
    flops = 2 * m * k * b.shape[1]
    if workers() == 1 or config.deterministic():   # one block: the whole product, straight into out
        return np.matmul(a, b, out=out)
    if k < LONG_SUM * m:
        rows(lambda lo, hi: np.matmul(a[lo:hi], b, out=out[lo:hi]), m, flops, MIN_FLOPS, exact=False)
        return out
    parts = rows(lambda lo, hi: np.matmul(a[:, lo:hi], b[lo:hi]), k, flops, MIN_FLOPS, exact=False)
    np.copyto(out, parts[0])
    for part in parts[1:]:
        out += part                                  # in block order: the same bits for a thread count
    return out
