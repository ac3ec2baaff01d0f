"""Keras 3's callback hooks: each one called at Keras's time, with Keras's logs, by fit, evaluate and predict.

The expected sequences are those Keras 3.15.1 (PyTorch backend) gives for the
same calls, recorded with a callback that logs every hook: fit calls
on_train_begin, then per epoch on_epoch_begin, on_train_batch_begin /
on_train_batch_end per step, on_test_begin / on_test_batch_* / on_test_end
while validating, on_epoch_end; then on_train_end with the last epoch's logs.
evaluate calls the on_test_* hooks, predict the on_predict_* hooks
(``{"outputs": ...}`` at each batch's end). The running logs are checked
against values computed independently (test_on_batch before each step,
evaluate on the rows so far).
"""
import numpy as np
import pytest

import netfit as nf
from netfit import training
from netfit.callbacks import Callback, CallbackList, History, LambdaCallback, ProgressBar
from netfit.layers import Dense

RNG = np.random.default_rng(1)
X = RNG.normal(size=(10, 3)).astype(np.float32)
Y = (X[:, 0] > 0).astype(np.int64)


def _model(seed=0):
    model = nf.Sequential([Dense(4, activation="tanh", input_shape=(3,)), Dense(2, activation="softmax")], seed=seed)
    model.compile(optimizer=nf.optimizers.SGD(0.1), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


class Recorder(Callback):
    """Every hook's call as (hook, index or None, a copy of the logs)."""

    def __init__(self):
        self.calls = []

    def _record(self, hook, index, logs):
        self.calls.append((hook, index, dict(logs) if logs is not None else None))


def _recording(hook, with_index):
    if with_index:
        return lambda self, index, logs=None: self._record(hook, index, logs)
    return lambda self, logs=None: self._record(hook, None, logs)


for _hook in ("on_train_begin", "on_train_end", "on_test_begin", "on_test_end", "on_predict_begin", "on_predict_end"):
    setattr(Recorder, _hook, _recording(_hook, False))
for _hook in ("on_epoch_begin", "on_epoch_end", "on_train_batch_begin", "on_train_batch_end", "on_test_batch_begin",
              "on_test_batch_end", "on_predict_batch_begin", "on_predict_batch_end"):
    setattr(Recorder, _hook, _recording(_hook, True))


def _names(calls):
    return [(hook, index) for hook, index, _ in calls]


def test_fit_calls_every_hook_in_keras_order():
    rec = Recorder()
    _model().fit(X, Y, batch_size=4, epochs=2, verbose=0, callbacks=[rec], validation_data=(X[:6], Y[:6]))
    expected = [("on_train_begin", None)]
    for epoch in range(2):
        expected += [("on_epoch_begin", epoch)]
        for step in range(3):                                    # 10 rows in batches of 4: 4, 4, 2
            expected += [("on_train_batch_begin", step), ("on_train_batch_end", step)]
        expected += [("on_test_begin", None), ("on_test_batch_begin", 0), ("on_test_batch_end", 0),
                     ("on_test_end", None), ("on_epoch_end", epoch)]
    expected += [("on_train_end", None)]
    assert _names(rec.calls) == expected
    begins = [logs for hook, _, logs in rec.calls if hook.endswith("_begin")]
    assert all(logs == {} for logs in begins)                  # Keras passes {} to every *_begin hook
    assert rec.params == {"verbose": 0, "epochs": 2, "steps": 3, "batch_size": 4, "samples": 10,
                          "initial_epoch": 0}


def test_train_batch_logs_are_running_values_over_the_epoch():
    """on_train_batch_end gets the loss and accuracy over the epoch's batches so far (Keras's loss tracker and
    metrics), each batch's own taken before its step: here from test_on_batch in on_train_batch_begin."""
    model = _model()
    before = []
    batches = [(X[k:k + 4], Y[k:k + 4]) for k in range(0, 10, 4)]
    probe = LambdaCallback(on_train_batch_begin=lambda step, logs: before.append(
        model.test_on_batch(*batches[step], return_dict=True)))
    rec = Recorder()
    history = model.fit(X, Y, batch_size=4, epochs=1, shuffle=False, verbose=0, callbacks=[probe, rec])
    logs = [logs for hook, _, logs in rec.calls if hook == "on_train_batch_end"]
    sizes = np.array([len(b[1]) for b in batches])
    for k in range(3):
        m = sizes[:k + 1]
        loss = np.dot([b["loss"] for b in before[:k + 1]], m) / m.sum()
        hits = np.dot([b["accuracy"] for b in before[:k + 1]], m)
        assert logs[k] == pytest.approx({"loss": loss, "accuracy": hits / m.sum()}, rel=1e-6)
    epoch_end = [logs for hook, _, logs in rec.calls if hook == "on_epoch_end"][0]
    assert epoch_end == logs[-1] == {"loss": history.history["loss"][0], "accuracy": history.history["accuracy"][0]}


def test_on_train_end_gets_the_last_epochs_logs():
    rec = Recorder()
    model = _model()
    model.fit(X, Y, epochs=2, verbose=0, callbacks=[rec], validation_split=0.3)
    end = rec.calls[-1]
    assert end[0] == "on_train_end" and end[2] == {k: v[-1] for k, v in model.history.history.items()}
    assert set(end[2]) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    rec = Recorder()
    model.fit(X, Y, epochs=0, verbose=0, callbacks=[rec])
    assert rec.calls == [("on_train_begin", None, {}), ("on_train_end", None, {})]


def test_validation_calls_the_test_hooks_of_fits_callbacks_with_the_val_values():
    rec = Recorder()
    history = _model().fit(X, Y, epochs=2, verbose=0, callbacks=[rec], validation_data=(X[:6], Y[:6]))
    ends = [logs for hook, _, logs in rec.calls if hook == "on_test_end"]
    assert ends == [{"loss": history.history["val_loss"][e], "accuracy": history.history["val_accuracy"][e]}
                    for e in range(2)]


def test_evaluate_calls_the_test_hooks_with_running_logs_and_the_result():
    model = _model()
    model.fit(X, Y, epochs=2, verbose=0)
    rec = Recorder()
    result = model.evaluate(X, Y, batch_size=4, callbacks=[rec], return_dict=True)
    assert _names(rec.calls) == [("on_test_begin", None)] + [
        (hook, k) for k in range(3) for hook in ("on_test_batch_begin", "on_test_batch_end")] + [("on_test_end", None)]
    running = [logs for hook, _, logs in rec.calls if hook == "on_test_batch_end"]
    for k, stop in enumerate((4, 8, 10)):                       # over the rows so far
        assert running[k] == pytest.approx(model.evaluate(X[:stop], Y[:stop], return_dict=True), rel=1e-6)
    assert rec.calls[-1][2] == result
    assert rec.params == {"verbose": 0, "epochs": 1, "steps": 3} and rec.model is model
    assert model.history.epoch == [0, 1]                        # evaluate's callbacks leave fit's History alone


def test_predict_calls_the_predict_hooks_with_each_batchs_outputs():
    model = _model()
    rec = Recorder()
    proba = model.predict(X, batch_size=4, callbacks=[rec])
    assert _names(rec.calls) == [("on_predict_begin", None)] + [
        (hook, k) for k in range(3) for hook in ("on_predict_batch_begin", "on_predict_batch_end")] + [
        ("on_predict_end", None)]
    outputs = [logs["outputs"] for hook, _, logs in rec.calls if hook == "on_predict_batch_end"]
    assert [o.shape for o in outputs] == [(4, 2), (4, 2), (2, 2)]
    np.testing.assert_array_equal(np.concatenate(outputs), proba)
    assert rec.calls[0][2] == {} and rec.calls[-1][2] == {} and rec.params["steps"] == 3


@pytest.mark.parametrize("streamed", [False, True], ids=["arrays", "generator"])
def test_a_callback_stops_evaluate_and_predict_after_a_batch(streamed):
    """Keras's model.stop_evaluating / stop_predicting: the result is over the batches so far."""
    model = _model()

    class Stop(Callback):
        def on_test_batch_end(self, batch, logs=None):
            self.model.stop_evaluating = True

        def on_predict_batch_end(self, batch, logs=None):
            self.model.stop_predicting = True
    if streamed:
        values = model.evaluate(iter([(X[:4], Y[:4]), (X[4:], Y[4:])]), callbacks=[Stop()])
        proba = model.predict(iter([X[:4], X[4:]]), callbacks=[Stop()])
    else:
        values = model.evaluate(X, Y, batch_size=4, callbacks=[Stop()])
        proba = model.predict(X, batch_size=4, callbacks=[Stop()])
    assert values == pytest.approx(model.evaluate(X[:4], Y[:4]), rel=1e-6)
    np.testing.assert_array_equal(proba, model.predict(X)[:4])
    assert model.evaluate(X, Y, batch_size=4, callbacks=[Recorder()]) == pytest.approx(model.evaluate(X, Y))


def test_keras_older_batch_hooks_and_lambda_callbacks_of_every_hook():
    seen = []

    class Old(Callback):                                      # Keras 2 programs override on_batch_begin / _end
        def on_batch_begin(self, batch, logs=None):
            seen.append(("begin", batch, logs))

        def on_batch_end(self, batch, logs=None):
            seen.append(("end", batch, sorted(logs)))
    lam = LambdaCallback(on_train_batch_begin=lambda b, logs: seen.append(("lambda", b)),
                         on_test_end=lambda logs: seen.append(("test_end", sorted(logs))),
                         on_predict_batch_end=lambda b, logs: seen.append(("outputs", logs["outputs"].shape)))
    model = _model()
    model.fit(X, Y, batch_size=5, verbose=0, callbacks=[Old(), lam], validation_data=(X, Y))
    model.predict(X[:3], callbacks=[lam])
    assert seen == [("begin", 0, {}), ("lambda", 0), ("end", 0, ["accuracy", "loss"]), ("begin", 1, {}),
                    ("lambda", 1), ("end", 1, ["accuracy", "loss"]), ("test_end", ["accuracy", "loss"]),
                    ("outputs", (3, 2))]


def test_batch_logs_are_computed_only_for_callbacks_that_read_them(monkeypatch):
    """A callback with on_epoch_end alone costs nothing per step; on_train_batch_end (or on_batch_end) does."""
    counted = []
    epoch_logs = training._epoch_logs
    monkeypatch.setattr(training, "_epoch_logs", lambda *a: counted.append(1) or epoch_logs(*a))
    model = _model()
    model.fit(X, Y, batch_size=2, epochs=2, verbose=0, callbacks=[LambdaCallback(on_epoch_end=lambda e, logs: None)])
    assert len(counted) == 2                                   # once per epoch
    counted.clear()
    model.fit(X, Y, batch_size=2, epochs=2, verbose=0, callbacks=[LambdaCallback(on_batch_end=lambda b, logs: None)])
    assert len(counted) == 2 + 2 * 5


def test_callback_list_for_a_loop_of_ones_own():
    rec, model = Recorder(), _model()
    cbs = CallbackList([rec], add_history=True, add_progbar=True, model=model, verbose=2, epochs=1, steps=1)
    assert [type(cb) for cb in cbs] == [Recorder, History, ProgressBar] and len(cbs) == 3
    assert rec.model is model and rec.params == {"verbose": 2, "epochs": 1, "steps": 1}
    assert all(cbs.watches(hook) for hook in ("on_train_batch_begin", "on_test_end", "on_predict_end"))
    quiet = CallbackList([History()], add_history=True, add_progbar=True, verbose=0)
    assert len(quiet) == 1 and not quiet.watches("on_train_batch_begin")
    shared = {}
    cbs = CallbackList([LambdaCallback(on_epoch_end=lambda e, logs: logs.update(seen=1)),
                        LambdaCallback(on_epoch_end=lambda e, logs: shared.update(logs))])
    cbs.on_epoch_end(0, {"loss": 1.0})                         # one logs dict, shared down the list
    assert shared == {"loss": 1.0, "seen": 1}
    cbs.on_test_batch_end(0)                                   # no logs: {} (and hooks nobody has are no-ops)


def test_hooks_on_a_device_get_host_values():
    """On a GPU (here the fake one, tests/fake_gpu.py) the logs are floats and the outputs NumPy arrays."""
    import fake_gpu
    from netfit import backend
    fake_gpu.install()
    try:
        with nf.device("fakegpu"):
            model = _model()
        rec = Recorder()
        with pytest.warns(RuntimeWarning, match="ran out after 1 of steps_per_epoch=2"):    # 3 batches: 2, then 1
            model.fit(X, Y, batch_size=4, epochs=2, steps_per_epoch=2, verbose=0, callbacks=[rec],
                      validation_data=(X[:6], Y[:6]))
        assert [hook for hook, _, _ in rec.calls].count("on_train_batch_end") == 3
        values = [v for _, _, logs in rec.calls if logs for v in logs.values()]
        assert values and all(type(v) is float for v in values)
        rec = Recorder()
        result = model.evaluate(X, Y, batch_size=4, callbacks=[rec], return_dict=True)
        assert rec.calls[-1][2] == result and all(type(v) is float for _, _, logs in rec.calls for v in logs.values())
        proba = model.predict(X, batch_size=4, callbacks=[rec])
        outputs = [logs["outputs"] for hook, _, logs in rec.calls if hook == "on_predict_batch_end"]
        assert all(type(o) is np.ndarray for o in outputs)
        np.testing.assert_array_equal(np.concatenate(outputs), proba)
    finally:
        backend.set_device("cpu")
