"""One model, many threads (issue 24 §1; netfit/concurrency.py, docs/reliability.md).

A model shared by a server's threads, or watched by a notebook while it trains, must give
every caller exactly what it would get alone. The layers keep no per-call state (each call
has its own records, netfit.layers.base.Call), inference reads the weights between two
steps of a fit, and a second training call is refused at once.
"""
import threading

import numpy as np
import pytest

import netfit as nf
from netfit.layers import Conv2D, Dense, Dropout, Flatten, MaxPooling2D


def _mlp(seed=0):
    model = nf.Sequential([Dense(16, activation="tanh", input_shape=(12,)), Dropout(0.25),
                           Dense(4, activation="softmax")], seed=seed)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def _cnn(seed=0):
    model = nf.Sequential([Conv2D(4, 3, activation="relu", input_shape=(8, 8, 1)), MaxPooling2D(2),
                           Flatten(), Dense(3, activation="softmax")], seed=seed)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    return model


def _data(n, shape, k, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n,) + shape).astype("float32"), rng.integers(0, k, n)


def _in_threads(fn, k):
    """Run fn(i) in k threads started together; return their results in order (re-raising any error)."""
    results, errors = [None] * k, []
    start = threading.Barrier(k)

    def run(i):
        try:
            start.wait()
            results[i] = fn(i)
        except BaseException as exc:           # noqa: BLE001 — re-raised below, in the test's thread
            errors.append(exc)
    threads = [threading.Thread(target=run, args=(i,)) for i in range(k)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    return results


@pytest.mark.parametrize("make, shape, k", [(_mlp, (12,), 4), (_cnn, (8, 8, 1), 3)], ids=["mlp", "cnn"])
def test_eight_threads_predicting_get_the_serial_results_bit_for_bit(make, shape, k):
    model = make()
    inputs = [_data(n, shape, k, seed=n)[0] for n in (1, 7, 33, 64, 300)]
    sizes = (32, 64, 256)                                # (another batch size may change a product's last bit)
    serial = {(j, b): model.predict(x, batch_size=b) for j, x in enumerate(inputs) for b in sizes}

    def calls(i):                                        # 20 calls each, the inputs in a thread's own order
        b = sizes[i % 3]
        return [(j, b, model.predict(inputs[j], batch_size=b))
                for j in np.random.default_rng(i).integers(0, len(inputs), 20)]
    for results in _in_threads(calls, 8):
        for j, b, got in results:
            assert np.array_equal(got, serial[j, b])    # bit for bit, whatever the other threads did


def test_concurrent_evaluate_and_test_on_batch_give_the_serial_values():
    model = _mlp()
    x, y = _data(200, (12,), 4)
    alone = model.evaluate(x, y, batch_size=32)
    batch = model.test_on_batch(x[:50], y[:50])
    results = _in_threads(lambda i: (model.evaluate(x, y, batch_size=32), model.test_on_batch(x[:50], y[:50]),
                                     model.predict_on_batch(x[:9])), 6)
    for ev, tb, pb in results:
        assert ev == alone and tb == batch
        assert np.array_equal(pb, model.predict(x[:9]))


def test_predict_during_fit_reads_weights_between_two_steps():
    model = _mlp()
    x, y = _data(512, (12,), 4)
    probe = x[:16]
    snapshots = [model.get_weights()]                   # the weights before the first step and after each one

    class Snap(nf.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            snapshots.append(self.model.get_weights())
    seen, done = [], threading.Event()

    def watch():
        while not done.is_set():
            seen.append(model.predict(probe))
    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        history = model.fit(x, y, epochs=2, batch_size=16, verbose=0, callbacks=[Snap()])
    finally:
        done.set()
        watcher.join()
    assert len(history.history["loss"]) == 2 and len(snapshots) == 1 + 2 * 32    # the fit ran to its end
    assert len(seen) > 3
    # Each prediction is the model's output for one of the step boundaries' weights, never a mix.
    twin = _mlp()
    boundary = []
    for weights in snapshots:
        twin.set_weights(weights)
        boundary.append(twin.predict(probe))
    for got in seen:
        assert any(np.array_equal(got, b) for b in boundary)


def test_a_second_training_call_is_refused_at_once_and_changes_nothing():
    model = _mlp()
    x, y = _data(256, (12,), 4)
    started, release = threading.Event(), threading.Event()

    class Hold(nf.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            if batch == 0:
                started.set()
                release.wait(30)
    fitting = threading.Thread(target=lambda: model.fit(x, y, epochs=1, batch_size=32, verbose=0, callbacks=[Hold()]))
    fitting.start()
    try:
        assert started.wait(30)
        before = model.get_weights()
        for call in (lambda: model.fit(x, y, epochs=1, verbose=0), lambda: model.train_on_batch(x[:8], y[:8]),
                     lambda: model.loss_and_gradients(x[:8], y[:8])):
            with pytest.raises(RuntimeError, match=r"already training \(Sequential\.fit is running.*one run at a time"):
                call()
        assert all(np.array_equal(a, b) for a, b in zip(model.get_weights(), before))
        model.predict(x[:4])                             # inference stays open during the fit
    finally:
        release.set()
        fitting.join()
    assert model.fit(x, y, epochs=1, verbose=0).history["loss"]      # and a fit after the first one runs


def test_a_callback_cannot_start_a_fit_inside_a_fit():
    model = _mlp()
    x, y = _data(64, (12,), 4)
    refused = []

    class Nested(nf.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            try:
                self.model.fit(x, y, epochs=1, verbose=0)
            except RuntimeError as exc:
                refused.append(str(exc))
    model.fit(x, y, epochs=1, verbose=0, callbacks=[Nested()])
    assert refused and "already training" in refused[0]


def test_set_weights_waits_for_a_step_and_predictions_see_old_or_new_weights_only():
    model = _mlp()
    x, _ = _data(64, (12,), 4)
    old = model.get_weights()
    new = [w + 0.5 for w in old]
    expected = []
    for weights in (old, new):
        model.set_weights(weights)
        expected.append(model.predict(x))
    model.set_weights(old)

    def flip(i):
        out = []
        for k in range(30):
            if i == 0:
                model.set_weights(new if k % 2 else old)
            else:
                out.append(model.predict(x))
        return out
    for results in _in_threads(flip, 4)[1:]:
        for got in results:
            assert np.array_equal(got, expected[0]) or np.array_equal(got, expected[1])


def test_first_predictions_from_many_threads_build_the_model_once():
    model = nf.Sequential([Dense(5, activation="relu"), Dense(2)], seed=3)
    x, _ = _data(10, (6,), 2)
    results = _in_threads(lambda i: model.predict(x), 8)
    theta = model._theta
    assert all(np.array_equal(r, results[0]) for r in results)
    assert model.predict(x).tolist() == results[0].tolist() and model._theta is theta


def test_sklearn_wrappers_predict_from_threads():
    sklearn = pytest.importorskip("sklearn")     # noqa: F841
    from netfit.sklearn import NetClassifier
    x, y = _data(120, (12,), 3)
    clf = NetClassifier(hidden_layer_sizes=(8,), epochs=3, random_state=0).fit(x, y)
    alone = (clf.predict(x), clf.predict_proba(x), clf.score(x, y))
    for p, proba, score in _in_threads(lambda i: (clf.predict(x), clf.predict_proba(x), clf.score(x, y)), 4):
        assert np.array_equal(p, alone[0]) and np.array_equal(proba, alone[1]) and score == alone[2]


def test_a_layer_keeps_no_state_of_a_call():
    # The layers hold their weights and configuration only: two records, two independent calls.
    model = _cnn()
    x, _ = _data(5, (8, 8, 1), 3)
    model.predict(x)
    for layer in model.layers:
        assert not {"_x", "_z", "_a", "_mask", "_cols", "_winner", "_xhat", "_scratch"} & set(vars(layer))
    dense = model.layers[-1]
    first, second = dense.new_call(), dense.new_call()
    a1 = dense.forward(np.ones((2, dense.input_shape[0]), "float32"), call=first).copy()
    dense.forward(np.zeros((3, dense.input_shape[0]), "float32"), call=second)
    s = dense.backward(np.ones((2, 3), "float32"), first)
    assert s.shape == (2, dense.input_shape[0]) and first.x.shape == (2, dense.input_shape[0])
    assert np.array_equal(first.a, a1)
