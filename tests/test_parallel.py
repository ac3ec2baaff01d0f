"""netfit.parallel: a step split over batch rows keeps its bits.

In deterministic mode every layer's forward and backward, and whole fits, are
compared bit for bit across 1, 2 and 3 threads on odd batch sizes; outside it,
the same thread count twice, and the exact passes (pooling, σ') across counts.
Each with the compiled loops (netfit[fast]) and without them (the NumPy path).
The pool itself must propagate errors, leak no threads and work when fit runs
outside the main thread.
"""
import multiprocessing
import sys
import threading
import time
import warnings

import numpy as np
import pytest

import netfit as nf
from netfit import _kernels, config, parallel
from netfit.layers import (AveragePooling2D, Conv2D, Dense, Dropout, Flatten, LocallyConnected2D,
                           MaxPooling2D)

# Counts above this machine's cores (3 threads on 2 cores) are what these tests need; set_threads warns of them.
pytestmark = pytest.mark.filterwarnings("ignore:set_threads. expected at most:RuntimeWarning")


@pytest.fixture(params=["numpy", "compiled"])
def path(request, monkeypatch):
    """Run the test on the NumPy path and, where numba is installed and on, the compiled loops."""
    if request.param == "numpy":
        monkeypatch.setattr(_kernels, "_compiled", False)
    else:
        pytest.importorskip("numba")
        monkeypatch.setattr(_kernels, "_compiled", None)
        if not _kernels.enabled():
            pytest.skip("compiled loops switched off by NETFIT_COMPILED")
    return request.param


@pytest.fixture
def tiny_blocks(monkeypatch):
    """Split even the tests' small arrays, so that every split path runs (and cache-sized pieces of one example)."""
    monkeypatch.setattr(parallel, "MIN_ITEMS", 1)
    monkeypatch.setattr(parallel, "MIN_FLOPS", 1)
    monkeypatch.setattr(parallel, "PIECE_BYTES", 1)


@pytest.fixture
def threads_setting():
    yield
    config.set_threads("auto")


@pytest.fixture
def deterministic():
    pytest.importorskip("threadpoolctl")
    assert config.set_deterministic(True)
    yield
    config.set_deterministic(False)


def test_blocks_cover_the_rows_once_in_order():
    for n in (1, 2, 7, 128):
        for parts in (1, 2, 3, 16, 200):
            spans = parallel.blocks(n, parts)
            assert spans[0][0] == 0 and spans[-1][1] == n
            assert all(a[1] == b[0] for a, b in zip(spans, spans[1:]))
            sizes = [hi - lo for lo, hi in spans]
            assert min(sizes) >= 1 and max(sizes) - min(sizes) <= 1 and len(spans) == min(parts, n)


def test_rows_runs_blocks_on_several_threads_and_keeps_their_order(monkeypatch):
    seen = []

    def block(lo, hi):
        seen.append(threading.get_ident())
        threading.Event().wait(0.01)
        return lo, hi

    with parallel.using(3):
        assert parallel.rows(block, 10) == parallel.blocks(10, 3 * parallel.BLOCKS_PER_THREAD)
    assert len(set(seen)) > 1                       # the pool really ran blocks
    monkeypatch.setattr(parallel, "BLOCKS_PER_THREAD", 1)
    with parallel.using(3):
        assert parallel.rows(block, 10) == [(0, 3), (3, 6), (6, 10)]
    assert parallel.rows(block, 10) == [(0, 10)]    # outside `using`: one block, this thread


def test_rows_small_work_stays_on_the_calling_thread():
    with parallel.using(4):
        assert parallel.rows(lambda lo, hi: threading.get_ident(), 100, size=100) == [threading.get_ident()]


@pytest.mark.parametrize("bad_block", [0, 2])
def test_an_error_in_any_block_is_raised_after_every_block_finished(bad_block, monkeypatch):
    monkeypatch.setattr(parallel, "BLOCKS_PER_THREAD", 1)
    finished = []

    def block(lo, hi):
        if lo == bad_block * 3:
            raise ValueError(f"block {lo}")
        threading.Event().wait(0.05)
        finished.append(lo)

    with parallel.using(3), pytest.raises(ValueError, match=f"block {bad_block * 3}"):
        parallel.rows(block, 9)
    assert sorted(finished) == sorted({0, 3, 6} - {bad_block * 3})


def test_a_worker_runs_nested_splits_inline():
    def block(lo, hi):
        threading.Event().wait(0.02)
        return parallel.workers()

    with parallel.using(2):
        inner = parallel.rows(block, 4)
    assert set(inner) == {1, 2}                    # the calling thread's 2, a worker's 1 (no nested pool)


def _products(order, threads):
    rng = np.random.default_rng(0)
    a = np.asarray(rng.standard_normal((301, 37), dtype=np.float32), order=order)
    b = rng.standard_normal((37, 19), dtype=np.float32)
    delta = rng.standard_normal((301, 19), dtype=np.float32)
    out, out_t = np.empty((301, 19), np.float32), np.empty((37, 19), np.float32)
    with parallel.using(threads):
        parallel.matmul(a, b, out)
        parallel.matmul(a.T, delta, out_t)             # a product summed over the batch: Xᵀ Δ
    return out, out_t, a @ b, a.T @ delta


@pytest.mark.parametrize("order", ["C", "F"])
def test_matmul_same_bits_for_a_thread_count_and_close_across(order, tiny_blocks):
    for threads in (2, 3, 5):
        first, second = _products(order, threads), _products(order, threads)
        for got, again, whole in zip(first[:2], second[:2], first[2:]):
            np.testing.assert_array_equal(got, again)
            np.testing.assert_allclose(got, whole, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("order", ["C", "F"])
def test_matmul_whole_in_deterministic_mode(order, tiny_blocks, deterministic):
    for threads in (2, 3):
        out, out_t, whole, whole_t = _products(order, threads)
        np.testing.assert_array_equal(out, whole)
        np.testing.assert_array_equal(out_t, whole_t)


LAYERS = {
    "conv 1 channel": (lambda: Conv2D(4, 3, activation="relu"), (9, 8, 1)),
    "conv same, strides, pad value": (lambda: Conv2D(5, (3, 2), strides=(2, 1), padding="same", activation="tanh",
                                                     pad_value=-1.0), (7, 6, 4)),
    "conv per-unit bias": (lambda: Conv2D(3, 2, bias="per_unit", activation="elu"), (6, 5, 2)),
    "conv connections": (lambda: Conv2D(2, 3, connections=np.array([[1, 0], [1, 1], [0, 1]], bool),
                                        activation="sigmoid"), (6, 6, 3)),
    "locally connected": (lambda: LocallyConnected2D(3, 2, activation="relu"), (5, 5, 2)),
    "max pooling tiles": (lambda: MaxPooling2D(2), (9, 9, 3)),
    "max pooling overlaps": (lambda: MaxPooling2D(3, strides=2, padding="same"), (7, 8, 2)),
    "average pooling tiles": (lambda: AveragePooling2D(2), (8, 6, 3)),
    "average pooling same": (lambda: AveragePooling2D(3, strides=2, padding="same"), (7, 7, 2)),
    "dense relu": (lambda: Dense(6, activation="relu"), (11,)),
    "dense softmax": (lambda: Dense(5, activation="softmax"), (7,)),
}


def _same_bits_on_1_2_3_threads(name):
    make, shape = LAYERS[name]
    rng = np.random.default_rng(1)
    x = rng.standard_normal((13,) + shape).astype(np.float32)
    x[0] = 0.0                                                   # ties in the pooling windows
    results = []
    for threads in (1, 2, 3):
        layer = make()
        layer.setup(shape, rng=np.random.default_rng(2))
        with parallel.using(threads):
            a = layer.forward(x, training=True).copy()
            delta = np.random.default_rng(3).standard_normal(a.shape).astype(np.float32)
            s = layer.backward(delta).copy()
            grads = {k: g.copy() for k, g in layer.grads.items()}
        results.append((a, s, grads))
    for a, s, grads in results[1:]:
        np.testing.assert_array_equal(a, results[0][0])
        np.testing.assert_array_equal(s, results[0][1])
        for k in grads:
            np.testing.assert_array_equal(grads[k], results[0][2][k])


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_layer_same_bits_on_1_2_3_threads_in_deterministic_mode(name, path, tiny_blocks, deterministic):
    _same_bits_on_1_2_3_threads(name)


@pytest.mark.parametrize("name", [name for name in sorted(LAYERS) if "pooling" in name])
def test_pooling_same_bits_on_1_2_3_threads(name, path, tiny_blocks):
    _same_bits_on_1_2_3_threads(name)             # no product: exact whatever the mode


def test_softmax_over_many_rows_same_bits_in_deterministic_mode(tiny_blocks, deterministic):
    # Softmax sums 128 rows or more by BLAS, fewer by np.sum: its blocks may differ, so it runs whole.
    layer = Dense(7, activation="softmax")
    layer.setup((5,), rng=np.random.default_rng(0))
    x = np.random.default_rng(1).standard_normal((301, 5)).astype(np.float32)
    whole = layer.forward(x).copy()
    for threads in (2, 3):
        with parallel.using(threads):
            np.testing.assert_array_equal(layer.forward(x), whole)


def _cnn(seed=0):
    return nf.Sequential([nf.Input(shape=(12, 12)), nf.layers.Reshape((12, 12, 1)),
                          Conv2D(6, 3, activation="relu"), MaxPooling2D(2),
                          Conv2D(5, 3, padding="same", activation="relu"), AveragePooling2D(2),
                          Flatten(), Dropout(0.3), Dense(10, activation="softmax")], seed=seed)


def _fit(threads, batch_size, deterministic=False):
    config.set_threads(threads)
    rng = np.random.default_rng(4)
    x = rng.random((71, 12, 12), dtype=np.float32)
    y = rng.integers(0, 10, 71)
    model = _cnn()
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    config.set_deterministic(deterministic)
    try:
        history = model.fit(x, y, batch_size=batch_size, epochs=2, verbose=0, validation_split=0.2)
    finally:
        config.set_deterministic(False)
    return model.get_weights(), history.history


@pytest.mark.parametrize("batch_size", [13, 25])
def test_fit_same_weights_on_1_2_3_threads_in_deterministic_mode(batch_size, path, tiny_blocks,
                                                                 threads_setting):
    pytest.importorskip("threadpoolctl")
    weights, history = _fit(1, batch_size, deterministic=True)
    for threads in (2, 3):
        w, h = _fit(threads, batch_size, deterministic=True)
        assert h == history
        for a, b in zip(w, weights):
            np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("threads", [2, 3])
def test_fit_same_weights_for_a_thread_count(threads, path, tiny_blocks, threads_setting):
    weights, history = _fit(threads, 13)
    w, h = _fit(threads, 13)
    assert h == history
    for a, b in zip(w, weights):
        np.testing.assert_array_equal(a, b)
    for a, b in zip(_fit(1, 13)[0], weights):         # another count: the products' last bits only
        np.testing.assert_allclose(a, b, rtol=1e-3, atol=1e-5)


def test_fit_in_another_thread_and_no_thread_leak(tiny_blocks, threads_setting):
    weights, _ = _fit(2, 13)                        # the pool's threads exist from here on
    before = threading.active_count()
    box = {}
    worker = threading.Thread(target=lambda: box.setdefault("result", _fit(2, 13)))
    worker.start()
    worker.join()
    for a, b in zip(box["result"][0], weights):
        np.testing.assert_array_equal(a, b)
    for _ in range(3):
        _fit(2, 13)
    assert threading.active_count() <= before
    assert parallel.workers() == 1                  # fit set the count back


def test_step_workers_follows_the_thread_policy(threads_setting):
    small, large = config.SMALL_STEP_FLOPS / 2, config.SMALL_STEP_FLOPS * 2
    config.set_threads("auto")
    assert parallel.step_workers(small) == 1
    assert parallel.step_workers(large) == parallel.available_cores()
    config.set_threads(3)
    assert parallel.step_workers(small) == 3
    config.set_threads(None)
    assert parallel.step_workers(large) == 1
    config.set_threads("auto")                      # products only: BLAS's threads, never the pool
    assert parallel.step_workers(large, blas_bound=True) == 1


def _pool_sizes_during(fit, monkeypatch):
    """The thread counts of the splits while ``fit()`` runs, and its result."""
    counts = []
    real = parallel.rows

    def spy(fn, n, *args, **kwargs):
        counts.append(parallel.workers())
        return real(fn, n, *args, **kwargs)

    monkeypatch.setattr(parallel, "rows", spy)
    result = fit()
    monkeypatch.setattr(parallel, "rows", real)
    return set(counts), result


def test_fit_uses_the_pool_for_a_large_step(monkeypatch, threads_setting):
    pytest.importorskip("threadpoolctl")                   # without it "auto" runs no pool (tests below)
    monkeypatch.setattr(parallel, "available_cores", lambda: 2)
    monkeypatch.setattr(config, "SMALL_STEP_FLOPS", 1)
    assert parallel.step_workers(1e12) == 2
    sizes, _ = _pool_sizes_during(lambda: _fit("auto", 13), monkeypatch)
    assert max(sizes) == 2


def _split_in_child(queue):
    with parallel.using(2):
        queue.put(parallel.rows(lambda lo, hi: (lo, hi), 4))


@pytest.mark.skipif(not hasattr(parallel.os, "fork"), reason="no fork on this platform")
def test_a_forked_child_starts_its_own_threads():
    with parallel.using(2):
        parallel.rows(lambda lo, hi: None, 4)            # the parent's threads exist
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    child = context.Process(target=_split_in_child, args=(queue,))
    child.start()
    result = queue.get(timeout=60)
    child.join(timeout=60)
    assert child.exitcode == 0 and result == parallel.blocks(4, 2 * parallel.BLOCKS_PER_THREAD)


# -- the thread setting: without threadpoolctl, above the cores, and lowered -------------------------
@pytest.fixture
def no_threadpoolctl(monkeypatch):
    """Run as `pip install netfit` without netfit[threads]: importing threadpoolctl fails."""
    monkeypatch.setitem(sys.modules, "threadpoolctl", None)
    monkeypatch.setattr(config, "_warned_unheld_blas", False)
    assert not config.can_limit_blas()


def test_auto_without_threadpoolctl_runs_no_pool_beside_blas(no_threadpoolctl, monkeypatch, threads_setting):
    monkeypatch.setattr(parallel, "available_cores", lambda: 2)
    monkeypatch.setattr(config, "SMALL_STEP_FLOPS", 1)                 # every step "large"
    with warnings.catch_warnings():
        warnings.simplefilter("error")                                 # "auto" warns of nothing
        config.set_threads("auto")
        assert parallel.step_workers(1e12) == 1
        sizes, _ = _pool_sizes_during(lambda: _fit("auto", 13), monkeypatch)
    assert sizes == {1}


def test_threads_without_threadpoolctl_warn_once_and_still_split(no_threadpoolctl, tiny_blocks, monkeypatch,
                                                                 threads_setting):
    alone, _ = _fit(1, 13)
    with pytest.warns(RuntimeWarning) as caught:
        config.set_threads(2)
    said = [str(w.message) for w in caught if "threadpoolctl" in str(w.message)]
    assert len(said) == 1 and said[0].startswith("set_threads: threadpoolctl is not installed, so BLAS cannot "
                                                 "be held at one thread while netfit's pool of 2 threads")
    assert "can be slower than one thread. Fix: pip install 'netfit[threads]'" in said[0]
    with warnings.catch_warnings(record=True) as again:
        warnings.simplefilter("always")
        sizes, (weights, history) = _pool_sizes_during(lambda: _fit(2, 13), monkeypatch)
        config.set_threads(3)
    assert not [w for w in again if "threadpoolctl" in str(w.message)]  # once per process
    assert 2 in sizes                                                  # the pool ran
    w2, h2 = _fit(2, 13)
    assert h2 == history
    for a, b in zip(w2, weights):                                      # the same count: the same bits
        np.testing.assert_array_equal(a, b)
    for a, b in zip(weights, alone):                                   # against no pool: the products' last bits
        np.testing.assert_allclose(a, b, rtol=1e-3, atol=1e-5)


@pytest.mark.parametrize("name", ["max pooling overlaps", "average pooling same"])
def test_pooling_without_threadpoolctl_same_bits_on_1_2_3_threads(name, no_threadpoolctl, tiny_blocks):
    _same_bits_on_1_2_3_threads(name)


def test_deterministic_mode_without_threadpoolctl_warns_with_the_extra(no_threadpoolctl):
    with pytest.warns(RuntimeWarning, match=r"set_deterministic: threadpoolctl is not installed, so deterministic "
                                            r"mode stays off.*Fix: pip install 'netfit\[threads\]'\.$"):
        assert config.set_deterministic(True) is False
    assert not config.deterministic()


def test_more_threads_than_cores_warn_with_the_fix(monkeypatch, threads_setting):
    monkeypatch.setattr(config, "available_cores", lambda: 2)
    with pytest.warns(RuntimeWarning, match=r"^set_threads: expected at most 2 threads, the cores this process may "
                                            r"run on, got 64: 64 threads would take turns on 2 cores, which is "
                                            r"slower\. Fix: set_threads\('auto'\) or set_threads\(2\)\.$"):
        config.set_threads(64)
    assert config.threads() == 64                                      # a warning: the setting holds
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        config.set_threads(2)
        config.set_threads("auto")
    assert not [w for w in caught if "expected at most" in str(w.message)]


def _workers_alive(expected, timeout=10.0):
    """The pool's threads alive, once they number ``expected`` (closed ones take a moment to exit) or time is up."""
    deadline = time.monotonic() + timeout
    while True:
        alive = [t for t in threading.enumerate() if t.name.startswith("netfit-worker-") and t.is_alive()]
        if len(alive) == expected or time.monotonic() > deadline:
            return len(alive)
        time.sleep(0.01)


def test_lowering_the_thread_count_closes_the_larger_pool(tiny_blocks, monkeypatch, threads_setting):
    monkeypatch.setattr(parallel, "available_cores", lambda: 2)
    _fit(4, 13)
    assert _workers_alive(3) == 3                                      # 4 threads: the caller and 3 workers
    weights, _ = _fit(2, 13)                                           # set_threads(2) closed the 3
    assert _workers_alive(1) == 1
    for a, b in zip(_fit(2, 13)[0], weights):                          # the new pool gives the same bits
        np.testing.assert_array_equal(a, b)
    config.set_threads(4)
    _fit(4, 13)
    assert _workers_alive(3) == 3
    config.set_threads("auto")                                         # 2 cores: at most 1 worker
    assert _workers_alive(1) <= 1
    config.set_threads(1)
    assert _workers_alive(0) == 0
    _fit(3, 13)                                                        # and it grows again when asked
    assert _workers_alive(2) == 2
    config.set_threads(None)
    assert _workers_alive(0) == 0


def test_the_pool_keeps_nothing_of_a_finished_job_alive():
    # A job's fn is a closure over a step's arrays (and through replicas a whole model): once rows() has
    # returned, neither the pool nor its idle threads may hold it, or a trained model outlives its last use.
    import gc
    import time
    import weakref

    class Big:
        pass

    big = Big()
    held = weakref.ref(big)

    def block(lo, hi, big=big):
        time.sleep(0.01)                   # every thread takes a block
        return hi - lo

    with parallel.using(3):
        assert sum(parallel.rows(block, 12)) == 12
    del big, block
    for _ in range(50):                    # the workers drop their job as they go idle
        gc.collect()
        if held() is None:
            break
        time.sleep(0.01)
    assert held() is None
