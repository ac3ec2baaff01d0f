"""predict and evaluate on every core: the thread policy of fit, applied to a forward pass (issue 25).

Under threads "auto", a large batch of a model with passes between its products (im2col,
pooling) is cut into shares, each share's whole forward pass on a thread of netfit.parallel's
pool with one BLAS thread and records of its own (Inference._infer_rows); a model of products
only (Dense and what goes around it) leaves BLAS its own threads; the BLAS limit is one hold
shared by every thread that asks for it (config.one_blas_thread).
"""
import threading
import warnings

import numpy as np
import pytest

import netfit as nf
from netfit import config, parallel
from netfit.layers import Conv2D, Dense, Flatten, MaxPooling2D


def _cnn(seed=0):
    model = nf.Sequential([Conv2D(4, 3, activation="relu", input_shape=(8, 8, 1)), MaxPooling2D(2),
                           Flatten(), Dense(3, activation="softmax")], seed=seed)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def _mlp(seed=0):
    model = nf.Sequential([Flatten(input_shape=(8, 8, 1)), Dense(6, activation="relu"),
                           Dense(3, activation="softmax")], seed=seed)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    return model


def _x(n, seed=0):
    return np.random.default_rng(seed).standard_normal((n, 8, 8, 1)).astype("float32")


@pytest.fixture
def threads_setting():
    before = config.threads()
    yield
    config.set_threads(before)


def _blas_threads():
    from threadpoolctl import threadpool_info
    return {pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"}


def _spy_on_shares(model):
    """Record (which set of records, rows) of every forward pass predict runs on the model."""
    seen, infer = [], model._infer

    def spy(xb, calls):
        seen.append((id(calls), len(xb)))
        return infer(xb, calls)
    model._infer = spy
    return seen


def _two_threads():
    with warnings.catch_warnings():                  # more threads than cores: a warning, not an error
        warnings.simplefilter("ignore", RuntimeWarning)
        config.set_threads(2)


def test_predict_cuts_each_batch_into_shares_on_the_pool_and_gives_the_same_outputs(threads_setting):
    pytest.importorskip("threadpoolctl")
    model, x = _cnn(), _x(37)
    config.set_threads(1)
    alone = model.predict(x, batch_size=16)
    _two_threads()
    seen = _spy_on_shares(model)
    shared = model.predict(x, batch_size=16)
    # Batches of 16, 16 and 5 rows, each cut in two: every row once, each share with records of its own
    # (which thread runs which share is the pool's choice: a late worker may leave both to the caller).
    assert sorted(rows for _, rows in seen) == [2, 3, 8, 8, 8, 8]
    assert len({records for records, _ in seen}) == 2
    np.testing.assert_allclose(shared, alone, rtol=1e-5, atol=1e-7)
    assert np.array_equal(model.predict(x, batch_size=16), shared)          # the same bits for a thread count
    assert not model._spare_calls or all(len(c) == len(model._spare_calls[0]) for c in model._spare_calls)


def test_one_batch_is_cut_too_and_the_result_is_the_callers_own_array(threads_setting):
    pytest.importorskip("threadpoolctl")
    model, x = _cnn(), _x(10)
    _two_threads()
    seen = _spy_on_shares(model)
    first = model.predict(x)
    assert sorted(rows for _, rows in seen) == [5, 5]
    second = model.predict(x)
    assert first is not second and np.array_equal(first, second)            # not a record's reused buffer


def test_predict_in_deterministic_mode_runs_one_share_with_the_same_bits_as_one_thread(threads_setting):
    pytest.importorskip("threadpoolctl")
    model, x = _cnn(), _x(40)
    config.set_threads(1)
    alone = model.predict(x, batch_size=20)
    assert config.set_deterministic(True)
    try:
        _two_threads()
        seen = _spy_on_shares(model)
        assert np.array_equal(model.predict(x, batch_size=20), alone)
        assert sorted(rows for _, rows in seen) == [20, 20]
    finally:
        config.set_deterministic(False)


def test_evaluate_and_predict_with_callbacks_split_each_layers_passes_and_agree(threads_setting):
    # The loss reads the batch's records (the softmax's logits): evaluate keeps one set and lets
    # each layer split its passes; the figures are those of one thread.
    pytest.importorskip("threadpoolctl")
    model, x = _cnn(), _x(50)
    y = np.arange(50) % 3
    config.set_threads(1)
    alone, probabilities = model.evaluate(x, y, batch_size=25), model.predict(x, batch_size=25)
    _two_threads()
    np.testing.assert_allclose(model.evaluate(x, y, batch_size=25), alone, rtol=1e-5)
    kept = []
    with_callback = model.predict(x, batch_size=25, callbacks=[nf.callbacks.LambdaCallback(
        on_predict_batch_end=lambda batch, logs: kept.append(logs["outputs"].copy()))])
    np.testing.assert_allclose(with_callback, probabilities, rtol=1e-5, atol=1e-7)
    np.testing.assert_array_equal(np.concatenate(kept), with_callback)


def test_auto_holds_blas_at_one_thread_for_a_cnn_and_leaves_it_alone_for_dense_layers(threads_setting, monkeypatch):
    pytest.importorskip("threadpoolctl")
    monkeypatch.setattr(config, "SMALL_STEP_FLOPS", 0)                    # every batch "large"
    monkeypatch.setattr(config, "SMALL_PRODUCTS_STEP_FLOPS", 0)           # (a bound of their own: Dense only)
    monkeypatch.setattr(parallel, "MIN_FLOPS", 1)                         # (and none too small to matter)
    config.set_threads("auto")
    before = _blas_threads()
    seen = []
    watch = nf.callbacks.LambdaCallback(on_predict_batch_end=lambda batch, logs: seen.append(_blas_threads()))
    _cnn().predict(_x(8), callbacks=[watch])
    assert seen == [{1} if parallel.available_cores() > 1 else before]
    seen.clear()
    _mlp().predict(_x(8), callbacks=[watch])
    assert seen == [before]
    assert _blas_threads() == before


def test_auto_leaves_blas_alone_for_a_batch_smaller_than_one_block(threads_setting, monkeypatch):
    # A server's one-image request: holding BLAS at one thread would cost more than such a pass saves.
    pytest.importorskip("threadpoolctl")
    config.set_threads("auto")
    before = _blas_threads()
    if before == {1}:
        pytest.skip("BLAS runs one thread here already: nothing to tell apart")
    seen = []
    watch = nf.callbacks.LambdaCallback(on_predict_batch_end=lambda batch, logs: seen.append(_blas_threads()))
    _cnn().predict(_x(1), callbacks=[watch])                    # ~3 k flops, under parallel.MIN_FLOPS
    assert seen == [before]
    monkeypatch.setattr(parallel, "MIN_FLOPS", 1)               # the same batch, counted as large enough
    _cnn().predict(_x(1), callbacks=[watch])
    assert seen == [before, {1}]
    assert _blas_threads() == before


def test_a_model_with_a_layer_of_your_own_is_not_cut_into_shares(threads_setting):
    pytest.importorskip("threadpoolctl")

    class Doubled(nf.layers.Layer):                  # a call that could mix the batch's rows
        def call(self, inputs):
            return nf.ops.multiply(inputs, 2.0)

    model = nf.Sequential([Conv2D(2, 3, input_shape=(8, 8, 1)), Flatten(), Doubled(), Dense(2)], seed=0)
    model.compile(loss="mse")
    _two_threads()
    seen = _spy_on_shares(model)
    model.predict(_x(12))
    assert [rows for _, rows in seen] == [12]


def test_the_blas_hold_is_shared_by_threads_and_released_by_the_last_to_leave(monkeypatch):
    # Each thread limiting BLAS and restoring "its" original on the way out could leave it at one
    # thread for good; the hold limits once, for the first to enter, and restores for the last to leave.
    events = []

    class Limiter:
        def restore_original_limits(self):
            events.append("restored")

    monkeypatch.setattr(config, "limit_blas", lambda threads: events.append(f"limited to {threads}") or Limiter())
    a_in, b_in, a_out = threading.Event(), threading.Event(), threading.Event()

    def a():
        with config.one_blas_thread():
            a_in.set()
            b_in.wait(10)
        a_out.set()

    def b():
        a_in.wait(10)
        with config.one_blas_thread():
            b_in.set()
            a_out.wait(10)
            events.append("b still inside")
    threads = [threading.Thread(target=a), threading.Thread(target=b)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(20)
    assert events == ["limited to 1", "b still inside", "restored"]
    with config.one_blas_thread(), config.one_blas_thread():          # nested in one thread: the same
        pass
    assert events[3:] == ["limited to 1", "restored"]


@pytest.mark.parametrize("bad_rows", [[0], [40, 41], [3, 45]])
def test_predict_refuses_nan_in_any_batch_counting_every_bad_value_of_x(bad_rows):
    # The plain loop reads each batch's values just before its forward pass (while they are in the cache).
    model, x = _cnn(), _x(46)
    x[bad_rows, 2, 3, 0] = np.nan
    x[bad_rows[-1], 0, 0, 0] = np.inf
    with pytest.raises(ValueError, match=rf"^Sequential.predict: x contains {len(bad_rows) + 1} NaN or infinite "
                                         rf"value\(s\); clean or impute them first"):
        model.predict(x, batch_size=16)
    big = _x(3).astype("float64")
    big[2, 1, 1, 0] = 1e300                                  # beyond float32: refused before the cast
    with pytest.raises(ValueError, match=r"beyond the range of the model's float32"):
        model.predict(big, batch_size=2)
