"""Conv2D then MaxPooling2D as one pass in inference (netfit/layers/conv_pool.py, issue 25).

The fused pass must give the bits of the two layers run one after the other: the same
products (the same cache-sized pieces, the bias inside the product), then max and relu,
which round nothing and commute. These tests compare it with the layers run apart, on
shapes that leave a pooling edge unread, on several pieces and threads, and check that
what cannot be fused (another σ, windows that overlap or pad, a connection table) is not.
"""
import numpy as np
import pytest

import netfit as nf
from netfit import config, parallel
from netfit.layers import Conv2D, Dense, Flatten, MaxPooling2D, conv_pool


def _apart(model, x):
    """The model's output with every layer's forward run on its own (no fusion)."""
    a = x
    for layer, call in zip(model.layers, model._new_calls(training=False)):
        a = layer.forward(a, False, call)
    return a


def _model(conv, pool, shape=(13, 11, 3), seed=0):
    model = nf.Sequential([nf.layers.Input(shape), conv, pool, Flatten(), Dense(4, activation="softmax")], seed=seed)
    model.compile(loss="sparse_categorical_crossentropy")
    return model


def _x(n, shape=(13, 11, 3), seed=1):
    return np.random.default_rng(seed).standard_normal((n,) + shape).astype("float32")


@pytest.fixture
def small_pieces(monkeypatch):
    monkeypatch.setattr(parallel, "PIECE_BYTES", 20_000)        # a few examples a piece: many pieces


@pytest.fixture
def threads_setting():
    before = config.threads()
    yield
    config.set_threads(before)


CASES = {
    "relu 3x3, pool 2": (lambda: Conv2D(5, 3, activation="relu"), lambda: MaxPooling2D(2)),
    "linear, stride 2, same": (lambda: Conv2D(4, 3, strides=2, padding="same"), lambda: MaxPooling2D(2)),
    "relu, pool 3x2 (edges unread)": (lambda: Conv2D(6, (2, 3), activation="relu"), lambda: MaxPooling2D((3, 2))),
    "no bias, relu": (lambda: Conv2D(3, 3, activation="relu", use_bias=False), lambda: MaxPooling2D(2)),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_the_fused_pass_gives_the_bits_of_the_layers_run_apart(case, small_pieces):
    conv, pool = (make() for make in CASES[case])
    model, x = _model(conv, pool), _x(23)
    model.build()
    assert conv_pool.fusable(conv, pool)
    fused = model._forward(x, False, model._inference_records())
    assert np.array_equal(fused, _apart(model, x))
    assert np.array_equal(model.predict(x, batch_size=7), _apart(model, x))


def test_predict_runs_the_fused_pass_and_fit_does_not(monkeypatch):
    runs = []
    real = conv_pool.forward_pooled
    monkeypatch.setattr(conv_pool, "forward_pooled", lambda *args: runs.append(len(args[2])) or real(*args))
    model, x = _model(Conv2D(4, 3, activation="relu"), MaxPooling2D(2)), _x(10)
    model.predict(x, batch_size=6)
    assert runs == [6, 4]
    runs.clear()
    model.fit(x, np.arange(10) % 4, epochs=1, batch_size=5, verbose=0)
    assert runs == []                                             # training keeps z and the winners apart


def test_on_two_threads_the_shares_give_the_same_bits(threads_setting):
    pytest.importorskip("threadpoolctl")
    model, x = _model(Conv2D(5, 3, activation="relu"), MaxPooling2D(2)), _x(31)
    config.set_threads(1)
    alone = model.predict(x)
    with pytest.warns(RuntimeWarning) if parallel.available_cores() < 2 else _nothing():
        config.set_threads(2)
    np.testing.assert_allclose(model.predict(x), alone, rtol=1e-5, atol=1e-7)


class _nothing:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


@pytest.mark.parametrize("conv, pool", [
    (lambda: Conv2D(4, 3, activation="tanh"), lambda: MaxPooling2D(2)),                 # σ may round
    (lambda: Conv2D(4, 3, activation=nf.activations.Relu(max_value=6.0)), lambda: MaxPooling2D(2)),  # settings
    (lambda: Conv2D(4, 3, activation="relu"), lambda: MaxPooling2D(2, strides=1)),      # windows overlap
    (lambda: Conv2D(4, 3, activation="relu"), lambda: MaxPooling2D(3, padding="same")),  # padded
    (lambda: Conv2D(4, 3, activation="relu", bias="per_unit"), lambda: MaxPooling2D(2)),
    (lambda: Conv2D(4, 3, activation="relu"), lambda: nf.layers.AveragePooling2D(2)),
])
def test_what_cannot_be_fused_runs_apart_with_the_same_result(conv, pool):
    conv, pool = conv(), pool()
    model, x = _model(conv, pool, shape=(12, 10, 3)), _x(9, shape=(12, 10, 3))
    model.build()
    assert not conv_pool.fusable(conv, pool)
    assert np.array_equal(model.predict(x), _apart(model, x))


def test_a_graph_runs_the_pair_as_one_pass_only_where_the_pool_alone_reads_the_conv(monkeypatch):
    runs = []
    real = conv_pool.forward_pooled
    monkeypatch.setattr(conv_pool, "forward_pooled", lambda *args: runs.append(args[0].name) or real(*args))
    inputs = nf.Input((12, 12, 2))
    h = MaxPooling2D(2)(Conv2D(6, 3, padding="same", activation="relu", name="first")(inputs))   # fused
    c = Conv2D(6, 3, padding="same", activation="relu", name="pooled_alone")(h)
    r = nf.layers.Add()([MaxPooling2D(2)(c), MaxPooling2D(2)(h)])     # c: read by its pool alone (fused)
    side = Conv2D(6, 3, padding="same", activation="relu", name="read_twice")(h)
    both = nf.layers.Add()([MaxPooling2D(2)(side), MaxPooling2D(2)(nf.layers.Activation("linear")(side))])
    out = Dense(3, activation="softmax")(Flatten()(nf.layers.Concatenate()([r, both])))
    model = nf.Model(inputs, out)
    model.compile(loss="sparse_categorical_crossentropy")
    x = _x(11, shape=(12, 12, 2))
    model.build()
    fused = model._forward(x, False, model._inference_records())
    assert set(runs) == {"first", "pooled_alone"}                     # read_twice feeds two layers: apart
    a = model._graph.forward([x], True, model._new_calls(training=True))[0]      # every node on its own
    assert np.array_equal(fused, a)
    assert np.array_equal(model.predict(x, batch_size=4), fused)


def test_a_forward_pass_that_a_backward_pass_follows_is_never_fused(monkeypatch):
    # loss_and_gradients(training=False) runs inference's forward, then backward: z and the winners are needed.
    runs = []
    real = conv_pool.forward_pooled
    monkeypatch.setattr(conv_pool, "forward_pooled", lambda *args: runs.append(1) or real(*args))
    model, x = _model(Conv2D(4, 3, activation="relu"), MaxPooling2D(2)), _x(8)
    loss, gradients = model.loss_and_gradients(x, np.arange(8) % 4)
    assert runs == [] and np.isfinite(loss) and sum(np.abs(g).sum() for g in gradients) > 0
    evaluated = model.evaluate(x, np.arange(8) % 4)
    assert np.isclose(evaluated[0] if isinstance(evaluated, list) else evaluated, loss) and runs == [1]
