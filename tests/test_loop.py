"""The training loop beyond arrays: Input(shape=...), batch-level calls, generators and Sequences.

Each streamed or one-batch call is checked against the array path it must
equal (same weights bit for bit where the batches are the same), and the
loop's guarantees (NaN guard, Ctrl-C, seeded shuffles and dropout) are checked
on the new paths too.
"""
import os
import signal

import numpy as np
import pytest

import netfit as nf
from netfit import optimizers
from netfit.layers import Dense, Dropout, Flatten, Input
from netfit.lbfgs import LBFGS
from netfit.utils import Sequence

RNG = np.random.default_rng(0)
X = RNG.normal(size=(40, 3)).astype(np.float32)
Y = (X[:, 0] + X[:, 1] > 0).astype(np.int64)


def _model(seed=0, dropout=False, metrics=("accuracy",), first=None):
    first = first or [Input(shape=(3,))]
    body = [Dense(5, activation="tanh")] + ([Dropout(0.3)] if dropout else []) + [Dense(2, activation="softmax")]
    model = nf.Sequential(first + body, seed=seed)
    model.compile(optimizer=optimizers.Adam(0.01), loss="sparse_categorical_crossentropy", metrics=list(metrics))
    return model


def _weights(model):
    return [w.copy() for w in model.get_weights()]


def _same(a, b):
    return all(np.array_equal(u, v) for u, v in zip(a, b)) and len(a) == len(b)


class Batches(Sequence):
    """The rows of (x, y) in order, ``batch_size`` at a time; counts what it serves."""

    def __init__(self, x, y, batch_size, with_y=True):
        self.x, self.y, self.batch_size, self.with_y = x, y, batch_size, with_y
        self.served, self.epochs_ended = [], 0

    def __len__(self):
        return -(-len(self.x) // self.batch_size)

    def __getitem__(self, k):
        self.served.append(k)
        part = slice(k * self.batch_size, (k + 1) * self.batch_size)
        return (self.x[part], self.y[part]) if self.with_y else self.x[part]

    def on_epoch_end(self):
        self.epochs_ended += 1


def forever(x, y, batch_size):
    while True:
        for start in range(0, len(x), batch_size):
            yield x[start:start + batch_size], y[start:start + batch_size]


# -- Input -----------------------------------------------------------------------------------------
def test_input_is_the_same_model_as_input_shape():
    a = _model(first=[Input(shape=(3,))])
    b = nf.Sequential([Dense(5, activation="tanh", input_shape=(3,)), Dense(2, activation="softmax")], seed=0)
    assert a.get_config() == b.get_config() and _same(_weights(a), _weights(b))
    lines_a, lines_b = [], []
    a.summary(print_fn=lines_a.append)
    b.summary(print_fn=lines_b.append)
    assert lines_a == lines_b and len(a.layers) == 2 and a.input_shape == (None, 3)


def test_input_shapes_for_images_and_keras_names():
    model = nf.keras.Sequential([nf.keras.Input(shape=(28, 28)), Flatten(), Dense(10)], seed=0)
    assert model.layers[0].input_shape == (28, 28) and model.count_params() == 7850
    assert nf.Input is nf.layers.Input is nf.keras.Input and nf.keras.layers.InputLayer is nf.layers.InputLayer
    assert nf.models.Sequential is nf.Sequential and nf.models.load_model is nf.io.load_model
    assert Input(shape=5).shape == (None, 5)                      # a symbolic tensor, as keras.Input's
    assert isinstance(Input(shape=5).node.layer, nf.layers.InputLayer)
    assert nf.Sequential([Input(shape=(3,), dtype="float64"), Dense(1)]).get_config()["dtype"] == "float64"


def test_input_by_add_as_keras_3_writes_it():
    model = nf.Sequential(seed=0)
    model.add(nf.Input(shape=(16,)))
    model.add(Dense(8, activation="relu"))
    assert model.input_shape == (None, 16) and model.count_params() == 136


def test_input_model_saves_loads_and_writes_json(tmp_path):
    model = _model()
    model.fit(X, Y, epochs=1, verbose=0)
    path = tmp_path / "m.netfit"
    model.save(path)
    back = nf.models.load_model(path)
    assert _same(_weights(back), _weights(model)) and back.get_config() == model.get_config()
    spec = nf.architecture.model_to_json(model)
    assert spec["input_shape"] == [3]
    assert nf.architecture.model_from_json(spec, seed=0).get_config() == model.get_config()


def test_input_model_exports_to_onnx(tmp_path):
    pytest.importorskip("onnx")
    ort = pytest.importorskip("onnxruntime")
    model = _model()
    path = tmp_path / "m.onnx"
    nf.export.to_onnx(model, path)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    out = session.run(None, {session.get_inputs()[0].name: X})[0]
    np.testing.assert_allclose(out, model.predict(X), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("layers, match", [
    (lambda: [Dense(2, input_shape=(3,)), Input(shape=(3,))], r"Input\(shape=\(3,\)\) must come first"),
    (lambda: [Input(shape=(3,)), Input(shape=(3,)), Dense(2)], r"must come first, before any layer, and only once"),
    (lambda: [Input(shape=(3,)), Dense(2, input_shape=(4,))], r"declares input_shape=\(4,\), but the model's Input "
                                                             r"has shape \(3,\)"),
])
def test_input_in_the_wrong_place_is_refused(layers, match):
    with pytest.raises(ValueError, match=match):
        nf.Sequential(layers())


# -- batch-level calls -------------------------------------------------------------------------------
def test_train_on_batch_is_one_fit_step():
    a, b = _model(), _model()
    before = a.test_on_batch(X[:16], Y[:16])
    loss, accuracy = a.train_on_batch(X[:16], Y[:16])
    history = b.fit(X[:16], Y[:16], batch_size=16, epochs=1, shuffle=False, verbose=0)
    assert _same(_weights(a), _weights(b))
    assert loss == pytest.approx(history.history["loss"][0], rel=1e-12)
    assert [loss, accuracy] == pytest.approx(before, rel=1e-6)
    assert a.optimizer.iterations == 1


def test_batch_calls_return_what_keras_returns():
    model = _model(metrics=())
    assert isinstance(model.train_on_batch(X, Y), float) and isinstance(model.test_on_batch(X, Y), float)
    model = _model()
    assert len(model.train_on_batch(X, Y)) == 2
    assert set(model.test_on_batch(X, Y, return_dict=True)) == {"loss", "accuracy"}
    assert set(model.train_on_batch(X, Y, return_dict=True)) == {"loss", "accuracy"}


def test_test_and_predict_on_batch_change_nothing():
    model = _model()
    weights = _weights(model)
    assert model.test_on_batch(X, Y) == pytest.approx(model.evaluate(X, Y), rel=1e-6)
    np.testing.assert_array_equal(model.predict_on_batch(X), model.predict(X))
    assert _same(weights, _weights(model)) and model.optimizer.iterations == 0


def test_train_on_batch_builds_a_lazy_model_and_is_seeded():
    def lazy():
        model = nf.Sequential([Dense(5, activation="tanh"), Dropout(0.5), Dense(2, activation="softmax")], seed=3)
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
        return model
    a, b = lazy(), lazy()
    for model in (a, b):
        for k in range(3):
            model.train_on_batch(X[k * 8:(k + 1) * 8], Y[k * 8:(k + 1) * 8])
    assert _same(_weights(a), _weights(b))
    c = nf.Sequential([Dense(5, activation="tanh"), Dense(2, activation="softmax")], seed=3)  # no dropout
    c.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    for k in range(3):
        c.train_on_batch(X[k * 8:(k + 1) * 8], Y[k * 8:(k + 1) * 8])
    assert not _same(_weights(a), _weights(c))          # the masks were used


def test_train_on_batch_refuses_a_step_with_a_non_finite_loss():
    model = nf.Sequential([Dense(1, input_shape=(3,))], seed=0)
    model.compile(optimizer="sgd", loss="mse")
    model.set_weights([np.full((3, 1), 3e38, np.float32), np.zeros(1, np.float32)])
    weights = _weights(model)
    with pytest.warns(RuntimeWarning, match=r"train_on_batch: the loss became inf in this step; training stopped"):
        loss = model.train_on_batch(np.ones((4, 3), np.float32), np.zeros(4, np.float32))
    assert np.isnan(loss) and _same(weights, _weights(model))


def test_train_on_batch_holds_ctrl_c_until_the_step_is_done(monkeypatch):
    model, twin = _model(), _model()
    step = model.optimizer.step

    def interrupted_step(theta, grad):
        os.kill(os.getpid(), signal.SIGINT)            # lands inside the update
        step(theta, grad)
    monkeypatch.setattr(model.optimizer, "step", interrupted_step)
    with pytest.raises(KeyboardInterrupt):
        model.train_on_batch(X, Y)
    twin.train_on_batch(X, Y)
    assert _same(_weights(model), _weights(twin))      # the whole step, not half of it


def test_train_on_batch_refuses_lbfgs():
    model = nf.Sequential([Dense(1, input_shape=(3,))], seed=0)
    model.compile(optimizer=LBFGS(), loss="mse")
    with pytest.raises(ValueError, match=r"train_on_batch: LBFGS takes no mini-batch steps; train with model.fit"):
        model.train_on_batch(X, X[:, 0])


# -- streamed data ------------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["sequence", "generator"])
def test_streamed_fit_equals_fit_on_arrays(kind):
    a, b = _model(dropout=True), _model(dropout=True)
    source = Batches(X, Y, 8) if kind == "sequence" else forever(X, Y, 8)
    ha = a.fit(source, epochs=3, shuffle=False, verbose=0, steps_per_epoch=None if kind == "sequence" else 5)
    hb = b.fit(X, Y, batch_size=8, epochs=3, shuffle=False, verbose=0)
    assert _same(_weights(a), _weights(b))
    assert ha.history.keys() == hb.history.keys()
    for key in ha.history:
        assert ha.history[key] == pytest.approx(hb.history[key], rel=1e-12)


def test_a_sequence_is_read_batch_by_batch_and_told_of_each_epoch():
    data = Batches(X, Y, 16)                             # 3 batches: 16, 16, 8
    model = _model()
    model.fit(data, epochs=2, verbose=0)
    assert len(data.served) == 1 + 2 * 3               # the first batch once more, to check and build
    assert sorted(data.served[1:4]) == [0, 1, 2] and data.epochs_ended == 2


def test_sequence_shuffle_is_seeded_by_model_seed_and_epoch():
    runs = []
    for _ in range(2):
        data = Batches(X, Y, 8)
        model = _model(seed=5)
        model.fit(data, epochs=3, verbose=0)
        runs.append((data.served, _weights(model)))
    assert runs[0][0] == runs[1][0] and _same(runs[0][1], runs[1][1])
    orders = [runs[0][0][1 + 5 * e:1 + 5 * (e + 1)] for e in range(3)]
    assert all(sorted(o) == [0, 1, 2, 3, 4] for o in orders) and len({tuple(o) for o in orders}) > 1
    unshuffled = _model(seed=5)
    unshuffled.fit(Batches(X, Y, 8), epochs=3, shuffle=False, verbose=0)
    assert not _same(runs[0][1], _weights(unshuffled))


def test_steps_per_epoch_goes_on_through_a_sequence_and_a_generator():
    """Keras 3: the pass goes on across epochs; the epoch that reaches its end stops there, with a warning."""
    data = Batches(X, Y, 8)                               # 5 batches, 2 an epoch: 0 1 | 2 3 | 4 (short) | 0 1
    model = _model()
    with pytest.warns(RuntimeWarning, match=r"Sequential.fit: the data ran out after 1 of steps_per_epoch=2 batches "
                                            r"\(a pass is 5 batches\); the epoch ends there and the next one starts "
                                            r"a new pass, as in Keras 3"):
        history = model.fit(data, epochs=4, steps_per_epoch=2, shuffle=False, verbose=0)
    assert data.served == [0, 0, 1, 2, 3, 4, 0, 1] and model.optimizer.iterations == 7 and len(history.epoch) == 4
    assert history.params["steps"] == 2 and data.epochs_ended == 4
    a, b = _model(), _model()
    a.fit(forever(X, Y, 8), steps_per_epoch=2, epochs=5, shuffle=False, verbose=0)    # 10 steps = 2 passes
    b.fit(X, Y, batch_size=8, epochs=2, shuffle=False, verbose=0)
    assert _same(_weights(a), _weights(b))


def test_validation_from_a_generator_and_a_sequence():
    model = _model()
    history = model.fit(forever(X[:32], Y[:32], 8), steps_per_epoch=4, epochs=2, verbose=0,
                        validation_data=forever(X[32:], Y[32:], 3), validation_steps=3)
    assert model.evaluate(X[32:], Y[32:], return_dict=True)["loss"] == pytest.approx(history.history["val_loss"][-1])
    history = model.fit(Batches(X[:32], Y[:32], 8), epochs=1, verbose=0, validation_data=Batches(X[32:], Y[32:], 5))
    assert model.evaluate(X[32:], Y[32:]) == pytest.approx([history.history[k][-1] for k in ("val_loss",
                                                                                            "val_accuracy")])
    history = model.fit(Batches(X[:32], Y[:32], 8), epochs=1, verbose=0, validation_data=(X[32:], Y[32:]))
    assert "val_loss" in history.history
    history = model.fit(X[:32], Y[:32], epochs=1, verbose=0, validation_data=forever(X[32:], Y[32:], 4),
                        validation_steps=2, validation_split=0.5)          # arrays, validated on a generator
    assert model.evaluate(X[32:], Y[32:])[0] == pytest.approx(history.history["val_loss"][-1])
    assert history.history.keys() == {"loss", "accuracy", "val_loss", "val_accuracy"}


def test_streamed_evaluate_and_predict_equal_the_array_ones():
    model = _model()
    model.fit(X, Y, epochs=2, verbose=0)
    # Unequal batches (16, 16, 8): the mean is over examples, not over batches.
    assert model.evaluate(Batches(X, Y, 16)) == pytest.approx(model.evaluate(X, Y), rel=1e-6)
    assert model.evaluate(forever(X, Y, 16), steps=3, return_dict=True) == pytest.approx(
        model.evaluate(X, Y, return_dict=True), rel=1e-6)
    expected = model.predict(X)
    np.testing.assert_allclose(model.predict(Batches(X, Y, 16, with_y=False)), expected, rtol=1e-6)
    np.testing.assert_allclose(model.predict(forever(X, Y, 16), steps=3), expected, rtol=1e-6)
    np.testing.assert_allclose(model.predict((x for x, _ in forever(X, Y, 10)), steps=4), expected, rtol=1e-6)


def test_a_lazy_model_is_built_from_the_first_batch():
    model = nf.Sequential([Dense(4, activation="relu"), Dense(2, activation="softmax")], seed=0)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    with pytest.raises(ValueError, match=r"fit \(batch 0 of the generator\): expected y"):
        model.fit(iter([(X[:4], np.ones((4, 7)))]), steps_per_epoch=1, verbose=0)
    assert not model.built                              # the refused call did not pin a shape
    model.fit(forever(X, Y, 8), steps_per_epoch=5, verbose=0)
    assert model.input_shape == (None, 3)


def test_streamed_fit_keeps_the_nan_guard():
    model = nf.Sequential([Dense(4, activation="relu", input_shape=(3,)), Dense(1)], seed=0)
    model.compile(optimizer=optimizers.SGD(1e20), loss="mse")
    with pytest.warns(RuntimeWarning, match=r"Sequential.fit: the (loss|weights) became"):
        history = model.fit(forever(X, X[:, :1] * 100, 8), steps_per_epoch=5, epochs=5, verbose=0)
    assert all(np.isfinite(w).all() for w in model.get_weights())
    assert "Lower the learning rate" in history.stop_reason and len(history.epoch) < 5


def test_streamed_fit_stops_cleanly_on_ctrl_c():
    class Interrupt(nf.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            if batch == 2:
                os.kill(os.getpid(), signal.SIGINT)
    model = _model()
    history = model.fit(forever(X, Y, 8), steps_per_epoch=5, epochs=3, verbose=0, callbacks=[Interrupt()])
    assert history.interrupted and model.optimizer.iterations == 3 and history.epoch == []


def test_a_generator_that_runs_out_stops_training_with_the_reason():
    model = _model()
    with pytest.warns(RuntimeWarning, match=r"the generator ran out after 7 batch\(es\) in all \(2 of this pass's "
                                             r"steps_per_epoch=5\); make it loop forever"):
        history = model.fit(iter(list(forever_n(7))), steps_per_epoch=5, epochs=3, verbose=0)
    assert history.epoch == [0] and model.optimizer.iterations == 7 and "ran out" in history.stop_reason


def forever_n(n):
    gen = forever(X, Y, 8)
    return [next(gen) for _ in range(n)]


def test_a_bad_batch_later_in_the_stream_is_named():
    batches = forever_n(3) + [(X[:8, :2], Y[:8])]
    model = _model()
    with pytest.raises(ValueError, match=r"Sequential.fit \(batch 3 of the generator\): expected x of shape \(n, 3\)"):
        model.fit(iter(batches), steps_per_epoch=4, verbose=0)
    assert model.optimizer.iterations == 3              # the three good batches were steps


def test_a_sequence_missing_a_batch_is_named():
    class Short(Batches):
        def __len__(self):
            return 9

        def __getitem__(self, k):
            if k >= 5:
                raise IndexError(k)
            return super().__getitem__(k)
    with pytest.raises(IndexError, match=r"Sequential.fit: the Sequence has len\(\) 9 but has no batch 5"):
        _model().fit(Short(X, Y, 8), shuffle=False, verbose=0)


def test_streams_accept_keras_pydataset_name_and_plain_objects():
    assert nf.utils.PyDataset is Sequence

    class Plain:                                          # no base class: __len__ and __getitem__ suffice
        def __len__(self):
            return 2

        def __getitem__(self, k):
            return X[k * 20:(k + 1) * 20], Y[k * 20:(k + 1) * 20]
    assert nf.streams.is_stream(Plain()) and not nf.streams.is_stream(X) and not nf.streams.is_stream(X.tolist())
    model = _model()
    model.fit(Plain(), epochs=1, verbose=0)
    assert model.optimizer.iterations == 2
    model.fit(iter([[X, Y]]), steps_per_epoch=1, verbose=0)               # a list [x, y] reads as (x, y)
    assert model.optimizer.iterations == 3
    with pytest.raises(NotImplementedError, match=r"define __len__"):
        len(Sequence())
