"""Batches per epoch (Keras 3's rule, arrays included) and any iterable of batches: DataLoader, list, generator.

The rule is keras/src/trainers/epoch_iterator.py's, and the cases below are
what Keras 3.15.1 does for them (recorded on its PyTorch backend): with
steps_per_epoch=N the pass over the data goes on across epochs, the epoch
that reaches its end stops there with a warning ("Your input ran out of
data"), and the next epoch starts a new pass; without it each epoch is one
pass. Each streamed fit is checked against fit on the same batches as arrays.
"""
import numpy as np
import pytest

import netfit as nf
from netfit import streams
from netfit.callbacks import Callback, ProgressBar
from netfit.layers import Dense
from netfit.utils import Sequence

RNG = np.random.default_rng(0)
X = RNG.normal(size=(40, 3)).astype(np.float32)
Y = (X[:, 0] + X[:, 1] > 0).astype(np.int64)
BATCHES = [(X[k:k + 8], Y[k:k + 8]) for k in range(0, 40, 8)]          # 5 batches of 8


def _model(seed=0):
    model = nf.Sequential([Dense(5, activation="tanh", input_shape=(3,)), Dense(2, activation="softmax")], seed=seed)
    model.compile(optimizer=nf.optimizers.Adam(0.01), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def _weights(model):
    return [w.copy() for w in model.get_weights()]


def _same(a, b):
    return len(a) == len(b) and all(np.array_equal(u, v) for u, v in zip(a, b))


def _stepped(batches):
    """A model trained with train_on_batch on these (x, y) batches, in order: what fit must equal."""
    model = _model()
    for xb, yb in batches:
        model.train_on_batch(xb, yb)
    return _weights(model)


class Steps(Callback):
    """The number of steps of each epoch."""

    def on_train_begin(self, logs=None):
        self.per_epoch = []

    def on_epoch_begin(self, epoch, logs=None):
        self.per_epoch.append(0)

    def on_train_batch_end(self, batch, logs=None):
        self.per_epoch[-1] += 1


class Passes:
    """Batches read anew by each iter(), like a DataLoader; counts the passes started; len() only if asked."""

    def __init__(self, batches, sized=True):
        self.batches, self.sized, self.passes = batches, sized, 0

    def __iter__(self):
        self.passes += 1
        return iter(self.batches)

    def __len__(self):
        if not self.sized:
            raise TypeError("unsized")
        return len(self.batches)


# -- the rule ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("steps, per_epoch, short", [
    (2, [2, 1, 2, 1], [1, 3]),          # Keras 3.15.1, 3 batches, steps_per_epoch=2: 2 | 1 (warns) | 2 | 1 (warns)
    (5, [3, 3, 3, 3], [0, 1, 2, 3]),    # more steps than batches: each epoch one pass, and a warning
    (3, [3, 3, 3, 3], []),              # a divisor: no warning
    (None, [3, 3, 3, 3], []),
])
def test_epoch_part_is_keras_rule(steps, per_epoch, short):
    parts = [streams.epoch_part(e, steps, 3) for e in range(4)]
    assert [count for _, _, count in parts] == per_epoch
    assert [e for e, (_, _, count) in enumerate(parts) if steps is not None and count < steps] == short
    firsts = [first for _, first, _ in parts]
    assert firsts == ([0, 2, 0, 2] if steps == 2 else [0] * 4)


# -- arrays with steps_per_epoch (item 3) --------------------------------------------------------------------
def test_arrays_steps_per_epoch_goes_on_through_the_rows_as_keras():
    steps = Steps()
    model = _model()
    with pytest.warns(RuntimeWarning, match=r"Sequential.fit: the data ran out after 1 of steps_per_epoch=2 batches "
                                            r"\(a pass is 5 batches\); the epoch ends there"):
        history = model.fit(X, Y, batch_size=8, epochs=4, steps_per_epoch=2, shuffle=False, verbose=0,
                            callbacks=[steps])
    assert steps.per_epoch == [2, 2, 1, 2] and history.params["steps"] == 2
    assert _same(_weights(model), _stepped(BATCHES + BATCHES[:2]))


def test_arrays_steps_per_epoch_shuffles_each_pass_once():
    """A pass's order is drawn from (model seed, the epoch it began in) and read on across its epochs."""
    model = _model(seed=7)
    with pytest.warns(RuntimeWarning, match="ran out after 1 of steps_per_epoch=2"):
        model.fit(X, Y, batch_size=8, epochs=4, steps_per_epoch=2, verbose=0)
    order = [np.random.default_rng([7, start]).permutation(40) for start in (0, 3)]
    rows = [order[0][k:k + 8] for k in range(0, 40, 8)] + [order[1][k:k + 8] for k in (0, 8)]
    expected = _model(seed=7)
    for r in rows:
        expected.train_on_batch(X[r], Y[r])
    assert _same(_weights(model), _weights(expected))


def test_arrays_steps_per_epoch_resumed_equals_one_run():
    """Epoch k's batches depend on k alone: a fit resumed at initial_epoch=k goes on where the pass was."""
    a, b = _model(), _model()
    with pytest.warns(RuntimeWarning):
        a.fit(X, Y, batch_size=8, epochs=5, steps_per_epoch=3, verbose=0)
        b.fit(X, Y, batch_size=8, epochs=1, steps_per_epoch=3, verbose=0)
        b.fit(X, Y, batch_size=8, epochs=5, initial_epoch=1, steps_per_epoch=3, verbose=0)
    assert _same(_weights(a), _weights(b))


def test_arrays_more_steps_than_batches_train_one_pass_an_epoch():
    steps = Steps()
    model = _model()
    with pytest.warns(RuntimeWarning, match=r"ran out after 5 of steps_per_epoch=9 batches"):
        model.fit(X, Y, batch_size=8, epochs=2, steps_per_epoch=9, shuffle=False, verbose=0, callbacks=[steps])
    assert steps.per_epoch == [5, 5] and _same(_weights(model), _stepped(BATCHES * 2))


# -- any iterable of batches (item 4) ------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["list", "sized", "unsized"])
def test_an_iterable_is_read_anew_each_epoch_and_equals_arrays(kind):
    source = list(BATCHES) if kind == "list" else Passes(BATCHES, sized=kind == "sized")
    a, b = _model(), _model()
    ha = a.fit(source, epochs=3, verbose=0, validation_data=[BATCHES[0]])
    hb = b.fit(X, Y, batch_size=8, epochs=3, shuffle=False, verbose=0, validation_data=BATCHES[0])
    assert _same(_weights(a), _weights(b))
    for key in hb.history:
        assert ha.history[key] == pytest.approx(hb.history[key], rel=1e-6)
    assert ha.params["steps"] == (None if kind == "unsized" else 5)
    if kind != "list":
        assert source.passes == 3                             # the first pass also served the batch that built it


def test_an_iterable_without_a_length_counts_unknown_then_knows_it():
    class Tty:
        def __init__(self):
            self.text = ""

        def write(self, s):
            self.text += s

        def flush(self):
            pass

        def isatty(self):
            return True
    out = Tty()
    model = _model()
    model.fit(Passes(BATCHES, sized=False), epochs=2, verbose=0, callbacks=[ProgressBar(1, stream=out, interval=0)])
    first, second = out.text.split("Epoch 2/2")
    assert "\r1/Unknown" in first and "\r5/Unknown" in first and "5/5 [" in second and "Unknown" not in second


def test_an_iterable_with_steps_per_epoch_goes_on_as_keras():
    """Keras 3.15.1 on a DataLoader of 5 batches with steps_per_epoch=2: epochs of 2, 2, 1 (warns), 2, ..."""
    source, steps = Passes(BATCHES), Steps()
    model = _model()
    with pytest.warns(RuntimeWarning, match=r"ran out after 1 of steps_per_epoch=2 batches \(a pass is 5 batches\)"):
        model.fit(source, epochs=4, steps_per_epoch=2, verbose=0, callbacks=[steps])
    assert steps.per_epoch == [2, 2, 1, 2] and source.passes == 2
    assert _same(_weights(model), _stepped(BATCHES + BATCHES[:2]))
    unsized, steps = Passes(BATCHES, sized=False), Steps()
    with pytest.warns(RuntimeWarning, match=r"ran out after 1 of steps_per_epoch=2 batches \(a pass is 5"):
        history = _model().fit(unsized, epochs=4, steps_per_epoch=2, verbose=0, callbacks=[steps])
    assert steps.per_epoch == [2, 2, 1, 2] and unsized.passes == 2 and history.params["steps"] == 2


def test_weighted_batches_equal_sample_weight():
    w = RNG.uniform(0.1, 2.0, size=40)
    a, b = _model(), _model()
    a.fit([(xb, yb, w[k:k + 8]) for k, (xb, yb) in zip(range(0, 40, 8), BATCHES)], epochs=2, verbose=0)
    b.fit(X, Y, sample_weight=w, batch_size=8, epochs=2, shuffle=False, verbose=0)
    assert _same(_weights(a), _weights(b))
    assert a.evaluate(iter([(X, Y, w)])) == pytest.approx(a.evaluate(X, Y, sample_weight=w), rel=1e-6)


def test_a_generator_without_steps_is_one_epoch_read_to_its_end():
    """Keras 3 reads a generator until it stops; netfit refuses a second epoch, which nothing would be left for."""
    model = _model()
    history = model.fit((batch for batch in BATCHES), verbose=0)
    assert model.optimizer.iterations == 5 and history.params["steps"] is None
    with pytest.raises(ValueError, match=r"a generator is read once.*a list of batches, a DataLoader or a "
                                         r"netfit.utils.Sequence"):
        model.fit((batch for batch in BATCHES), epochs=2, verbose=0)
    assert model.optimizer.iterations == 5


class Served(Sequence):
    """The five BATCHES served by index, each index asked for kept in ``served``; Keras's PyDataset arguments."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.served = []

    def __len__(self):
        return 5

    def __getitem__(self, k):
        self.served.append(k)
        return BATCHES[k]


def test_a_validation_sequence_with_validation_steps_goes_on_across_epochs():
    """Keras keeps fit's validation iterator: with validation_steps=2 of 5 batches, epoch 2 validates batches 2, 3."""
    val = Served()
    model = _model()
    model.fit(X, Y, epochs=2, verbose=0, validation_data=val, validation_steps=2)
    assert val.served == [0, 0, 1, 2, 3]                      # the first read once more, to check it


def test_a_pydataset_takes_keras_worker_arguments_and_reads_batches_in_order():
    # Keras 3's PyDataset subclasses pass workers / use_multiprocessing / max_queue_size to super().__init__.
    assert nf.utils.PyDataset is Sequence
    data = Served(workers=4, use_multiprocessing=True, max_queue_size=2)
    assert (data.workers, data.use_multiprocessing, data.max_queue_size) == (4, True, 2)
    model = _model()
    model.fit(data, epochs=1, verbose=0, shuffle=False)
    assert data.served[-5:] == [0, 1, 2, 3, 4] and model.optimizer.iterations == 5   # after a first look at 0
    assert Served().workers == 1
    with pytest.raises(ValueError, match=r"Served: expected workers a positive integer, got 0"):
        Served(workers=0)
    with pytest.raises(TypeError, match=r"Served: expected use_multiprocessing True or False, got 'yes'"):
        Served(use_multiprocessing="yes")


def test_a_bad_batch_of_an_iterable_is_named_by_its_place():
    model = _model()
    with pytest.raises(ValueError, match=r"Sequential.fit \(batch 2 of the Passes\): expected x of shape \(n, 3\)"):
        model.fit(Passes(BATCHES[:2] + [(X[:8, :2], Y[:8])]), verbose=0)
    assert model.optimizer.iterations == 2


def test_what_counts_as_streamed_batches():
    yes = [iter([]), (b for b in BATCHES), Passes(BATCHES), BATCHES, [(X,)], [(X, Y, None)], [([[1.0]], [0])]]
    no = [X, X.tolist(), [(1.0, 2.0), (3.0, 4.0)], (X, Y), [], {"x": X}, None, "x.npy", 3.0, [X, Y]]
    assert all(streams.is_stream(x) for x in yes)
    assert not any(streams.is_stream(x) for x in no)


# -- a PyTorch DataLoader, unchanged ---------------------------------------------------------------------------
def test_a_pytorch_dataloader_works_unchanged():
    torch = pytest.importorskip("torch")
    data = torch.utils.data
    loader = data.DataLoader(data.TensorDataset(torch.tensor(X), torch.tensor(Y)), batch_size=8)
    assert streams.is_stream(loader) and not streams.is_stream(torch.tensor(X))
    a, b = _model(), _model()
    ha = a.fit(loader, epochs=3, verbose=0, validation_data=loader)
    hb = b.fit(X, Y, batch_size=8, epochs=3, shuffle=False, verbose=0, validation_data=(X, Y))
    assert _same(_weights(a), _weights(b)) and ha.params["steps"] == 5
    assert ha.history["val_loss"] == pytest.approx(hb.history["val_loss"], rel=1e-6)
    assert a.evaluate(loader) == pytest.approx(a.evaluate(X, Y), rel=1e-6)
    inputs = data.DataLoader(data.TensorDataset(torch.tensor(X)), batch_size=16)      # batches [x]: x alone
    np.testing.assert_allclose(a.predict(inputs), a.predict(X), rtol=1e-6)
    np.testing.assert_allclose(a.predict(loader), a.predict(X), rtol=1e-6)          # [x, y]: y ignored
    shuffled = data.DataLoader(data.TensorDataset(torch.tensor(X), torch.tensor(Y)), batch_size=8, shuffle=True)
    steps = Steps()
    with pytest.warns(RuntimeWarning, match="ran out after 1 of steps_per_epoch=2"):
        _model().fit(shuffled, epochs=4, steps_per_epoch=2, verbose=0, callbacks=[steps])
    assert steps.per_epoch == [2, 2, 1, 2]
