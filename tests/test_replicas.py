"""Data parallelism (netfit/replicas.py): a batch cut into shares, one per thread, gradients added.

Each check trains the same model with the batch cut into shares and whole (the
cutting switched off), and compares: without dropout the two take the same steps
up to float32 rounding (the sum over the batch is added in another order); frozen
layers stay exactly; sample weights, the fused and the unfused loss, and the
metrics follow; and where shares are not used (deterministic mode,
BatchNormalization, small batches) nothing is cut.
"""
import numpy as np
import pytest

import netfit as nf
from netfit import config, parallel, replicas
from netfit.layers import BatchNormalization, Conv2D, Dense, Dropout, Flatten, MaxPooling2D


@pytest.fixture(autouse=True)
def _two_threads():
    config.set_threads(2)                 # a 2-thread step even on a 1-core CI runner (a warning there)
    yield
    config.set_threads("auto")


pytestmark = pytest.mark.filterwarnings("ignore:set_threads:RuntimeWarning")


def _data(n=96, seed=0):
    rng = np.random.default_rng(seed)
    return rng.random((n, 10, 10, 1), dtype=np.float32), rng.integers(0, 3, n)


def _cnn(dropout=0.0, loss="sparse_categorical_crossentropy", last="softmax", extra=()):
    layers = [Conv2D(4, 3, activation="relu", input_shape=(10, 10, 1)), MaxPooling2D(2), *extra, Flatten()]
    layers += [Dropout(dropout)] if dropout else []
    model = nf.Sequential(layers + [Dense(3, activation=last)], seed=2)
    model.compile(optimizer="adam", loss=loss, metrics=["mae" if loss == "mse" else "accuracy"])
    return model


def _shares_used(monkeypatch):
    """Record the number of shares of every batch fit cuts."""
    counts = []
    gradient = replicas.Replicas.gradient

    def spy(self, x, y, sample_weight=None):
        loss, outputs = gradient(self, x, y, sample_weight)
        counts.append(len(outputs))
        return loss, outputs
    monkeypatch.setattr(replicas.Replicas, "gradient", spy)
    return counts


def _whole(monkeypatch):
    monkeypatch.setattr(replicas, "usable", lambda model, threads: False)


def _fit(model, x, y, **kw):
    return model.fit(x, y, batch_size=kw.pop("batch_size", 48), epochs=kw.pop("epochs", 2), verbose=0,
                     shuffle=False, **kw)


@pytest.mark.parametrize("loss, last, target", [("sparse_categorical_crossentropy", "softmax", "labels"),
                                                ("categorical_crossentropy", "softmax", "onehot"),
                                                ("mse", "sigmoid", "onehot"),
                                                ("binary_crossentropy", "sigmoid", "onehot")])
def test_shares_take_the_steps_of_the_whole_batch(monkeypatch, loss, last, target):
    x, labels = _data()
    y = labels if target == "labels" else nf.utils.to_categorical(labels, 3)
    counts = _shares_used(monkeypatch)
    cut = _cnn(loss=loss, last=last)
    h_cut = _fit(cut, x, y)
    assert counts and set(counts) == {2}                         # every batch of 48 went to 2 threads
    with monkeypatch.context() as m:
        _whole(m)
        whole = _cnn(loss=loss, last=last)
        h_whole = _fit(whole, x, y)
    for a, b in zip(cut.get_weights(), whole.get_weights()):
        np.testing.assert_allclose(a, b, rtol=2e-4, atol=2e-6)
    np.testing.assert_allclose(h_cut.history["loss"], h_whole.history["loss"], rtol=1e-5)
    metric = "mae" if loss == "mse" else "accuracy"                       # over every share's rows
    np.testing.assert_allclose(h_cut.history[metric], h_whole.history[metric], rtol=1e-5)


def test_the_shares_gradient_is_the_batch_gradient_in_float64(monkeypatch):
    x, labels = _data(64)
    counts = _shares_used(monkeypatch)
    config.set_floatx("float64")
    try:
        cut, whole = _cnn(), _cnn()
        cut.build(), whole.build()
        before = cut.get_weights()
        _fit(cut, x, labels, batch_size=64, epochs=1)
        with monkeypatch.context() as m:
            _whole(m)
            _fit(whole, x, labels, batch_size=64, epochs=1)
    finally:
        config.set_floatx("float32")
    assert counts == [2, 1]                        # one step cut in two, then (switched off) not
    for a, b, w0 in zip(cut.get_weights(), whole.get_weights(), before):
        assert not np.array_equal(a, w0)
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)


def test_sample_weights_are_cut_with_their_rows(monkeypatch):
    x, labels = _data()
    w = np.random.default_rng(5).random(len(x)).astype(np.float32) * 2
    cut = _cnn()
    _fit(cut, x, labels, sample_weight=w)
    with monkeypatch.context() as m:
        _whole(m)
        whole = _cnn()
        _fit(whole, x, labels, sample_weight=w)
    for a, b in zip(cut.get_weights(), whole.get_weights()):
        np.testing.assert_allclose(a, b, rtol=2e-4, atol=2e-6)


def test_a_frozen_layer_stays_exactly_as_it_was():
    x, labels = _data()
    model = _cnn()
    model.build()
    model.layers[0].trainable = False
    kernel = model.layers[0].get_weights()
    _fit(model, x, labels)
    for a, b in zip(model.layers[0].get_weights(), kernel):
        assert np.array_equal(a, b)


def test_same_thread_count_same_bits_with_dropout(monkeypatch):
    x, labels = _data()
    counts = _shares_used(monkeypatch)
    first, second = _cnn(dropout=0.5), _cnn(dropout=0.5)
    _fit(first, x, labels, epochs=3)
    _fit(second, x, labels, epochs=3)
    assert set(counts) == {2}
    for a, b in zip(first.get_weights(), second.get_weights()):
        assert np.array_equal(a, b)


def test_each_share_draws_its_own_dropout_masks():
    x, labels = _data(64)
    model = _cnn(dropout=0.5)
    model.build()
    shares = replicas.Replicas(model, 2)
    shares.seed(0)                                                      # as fit seeds epoch 0
    with parallel.using(2):
        shares.gradient(x, labels)
    first, second = shares.lanes[0][3].mask, shares.lanes[1][3].mask    # each share's record of the Dropout
    assert first.shape == second.shape == (32, 64) and not np.array_equal(first, second)


@pytest.mark.parametrize("why", ["deterministic", "batchnorm", "small batch", "one thread"])
def test_no_shares_where_they_cannot_be_used(monkeypatch, why):
    x, labels = _data()
    counts = _shares_used(monkeypatch)
    model = _cnn(extra=[BatchNormalization()] if why == "batchnorm" else ())
    if why == "deterministic" and not config.set_deterministic(True):
        pytest.skip("deterministic mode needs threadpoolctl")
    if why == "one thread":
        config.set_threads(1)
    try:
        _fit(model, x, labels, batch_size=24 if why == "small batch" else 48)
    finally:
        config.set_deterministic(False)
    assert counts and set(counts) == {1}


def test_lanes_share_the_layers_and_keep_their_own_records_and_gradients():
    model = _cnn(dropout=0.25)
    model.build()
    layers = list(model.layers)
    shares = replicas.Replicas(model, 3)
    assert shares.lanes[0] is model._calls and len(shares.lanes) == 3
    assert model.layers == layers                                         # no layer is copied
    for calls, grad in zip(shares.lanes[1:], shares.grads):
        for layer, mine, lane in zip(model.layers, model._calls, calls):
            assert lane is not mine and lane._scratch is not mine._scratch
            for name in layer.params:
                assert np.shares_memory(lane.grads[name], grad)                      # writes its own ∂R/∂θ
                assert not np.shares_memory(lane.grads[name], model._grad)
                assert np.shares_memory(mine.grads[name], model._grad)               # lane 0: the model's


def test_an_error_in_a_share_is_raised_and_no_step_is_taken(monkeypatch):
    x, labels = _data()
    model = _cnn()
    model.build()
    before = model.get_weights()
    calls = []
    backward = Dense.backward

    def fail_in_a_replica(self, delta, call=None):
        calls.append(call)
        if self is model.layers[-1] and call is not model._calls[-1]:        # share 1's record of the top layer
            raise RuntimeError("boom in share 1")
        return backward(self, delta, call)
    monkeypatch.setattr(Dense, "backward", fail_in_a_replica)
    with pytest.raises(RuntimeError, match="boom in share 1"):
        _fit(model, x, labels, epochs=1)
    assert len(calls) == 2
    for a, b in zip(model.get_weights(), before):
        assert np.array_equal(a, b)


def test_train_on_batch_keeps_its_one_batch_whole(monkeypatch):
    x, labels = _data(64)
    counts = _shares_used(monkeypatch)
    model = _cnn()
    model.train_on_batch(x, labels)
    assert counts == [1]
