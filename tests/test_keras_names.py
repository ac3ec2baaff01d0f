"""Keras names and behaviours: trainable = False, Keras 2's optimizer arguments, Keras file names, validation_split.

Issue 13 item 7: each of these used to differ from Keras without a word.
"""
import warnings

import numpy as np
import pytest

import netfit as nf
from netfit import optimizers
from netfit.layers import Dense

RNG = np.random.default_rng(0)
X = RNG.normal(size=(40, 3))
Y = (X[:, 0] > 0).astype(int) + (X[:, 1] > 0)


def _model(optimizer, dtype="float32", frozen=(0,)):
    model = nf.Sequential([Dense(5, activation="tanh", input_shape=(3,)), Dense(4, activation="relu"),
                           Dense(3, activation="softmax")], seed=0, dtype=dtype)
    for k in frozen:
        model.layers[k].trainable = False
    model.compile(optimizer, "sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


@pytest.mark.parametrize("optimizer", [
    lambda: optimizers.SGD(0.1, momentum=0.9, nesterov=True, weight_decay=0.01, clipnorm=1.0),
    lambda: optimizers.Adam(0.05, weight_decay=0.01), lambda: optimizers.SGD(0.1)], ids=["sgd-momentum", "adam", "sgd"])
def test_frozen_layers_keep_their_weights_and_the_others_train(optimizer):
    model = _model(optimizer(), frozen=(0,))
    before = model.get_weights()
    model.fit(X, Y, epochs=3, batch_size=8, verbose=0)
    after = model.get_weights()
    assert np.array_equal(before[0], after[0]) and np.array_equal(before[1], after[1])   # the frozen Dense
    assert not np.array_equal(before[2], after[2]) and not np.array_equal(before[4], after[4])
    model.layers[0].trainable = True                    # unfrozen: it trains from the next step on
    model.fit(X, Y, epochs=1, batch_size=8, verbose=0)
    assert not np.array_equal(after[0], model.get_weights()[0])


def test_frozen_layers_get_zero_gradients_and_the_trained_layers_the_same_as_without_freezing():
    frozen = _model(optimizers.SGD(0.1, weight_decay=0.1), dtype="float64", frozen=(1,))
    free = _model(optimizers.SGD(0.1, weight_decay=0.1), dtype="float64", frozen=())
    _, g_frozen = frozen.loss_and_gradients(X, Y)
    _, g_free = free.loss_and_gradients(X, Y)
    assert all(not g.any() for g in g_frozen[2:4])
    for k in (0, 1, 4, 5):
        np.testing.assert_array_equal(g_frozen[k], g_free[k])


def test_lbfgs_leaves_frozen_layers_alone():
    pytest.importorskip("scipy")
    from netfit.lbfgs import LBFGS
    model = _model(LBFGS(weight_decay=0.01), dtype="float64", frozen=(2,))
    before = model.get_weights()
    model.fit(X, Y, epochs=20, verbose=0)
    after = model.get_weights()
    assert np.array_equal(before[4], after[4]) and np.array_equal(before[5], after[5])
    assert not np.array_equal(before[0], after[0])


def test_summary_counts_non_trainable_params_and_save_load_keeps_the_flag(tmp_path):
    model = _model("adam", frozen=(0,))
    lines = []
    model.summary(print_fn=lines.append)
    text = lines[0]
    assert "Total params: 59" in text and "Trainable params: 39" in text and "Non-trainable params: 20" in text
    model.save(tmp_path / "m.netfit")
    loaded = nf.load_model(tmp_path / "m.netfit")
    assert [layer.trainable for layer in loaded.layers] == [False, True, True]
    assert nf.Sequential.from_config(model.get_config()).layers[0].trainable is False
    assert Dense(2, trainable=False).trainable is False
    with pytest.raises(TypeError, match=r"dense: expected trainable True or False, got 'no'"):
        model.layers[0].trainable = "no"


@pytest.mark.parametrize("cls", [optimizers.SGD, optimizers.Adam])
def test_keras_2_optimizer_arguments_are_refused_with_the_keras_3_replacement(cls):
    with pytest.raises(TypeError, match=rf"{cls.__name__}: unknown argument 'lr'; it is Keras 2's name: use "
                                        rf"learning_rate=0.1 \(Keras 3 refuses lr too\)"):
        cls(lr=0.1)
    with pytest.raises(TypeError, match=r"unknown argument 'decay'; it is Keras 2's per-step decay .*use "
                                        r"learning_rate=nf.optimizers.InverseTimeDecay\(0.2, decay_steps=1, "
                                        r"decay_rate=0.001\)"):
        cls(learning_rate=0.2, decay=1e-3)
    with pytest.raises(TypeError, match=r"unknown argument 'global_clipnorm'; .*use clipnorm=1.0"):
        cls(global_clipnorm=1.0)


def test_the_suggested_decay_schedule_is_keras_2s_decay():
    """Keras 2: γ_r = γ / (1 + decay · r). The schedule the message names gives exactly that."""
    opt = optimizers.SGD(learning_rate=optimizers.InverseTimeDecay(0.2, decay_steps=1, decay_rate=1e-3))
    theta, grad = np.zeros(1), np.ones(1)
    opt.build(theta)
    for r in range(5):
        assert opt.current_learning_rate() == pytest.approx(0.2 / (1 + 1e-3 * r))
        opt.step(theta, grad.copy())


def test_lbfgs_refuses_a_learning_rate():
    from netfit.lbfgs import LBFGS
    with pytest.raises(TypeError, match=r"LBFGS: unknown argument 'learning_rate'; L-BFGS chooses its step by a "
                                        r"line search"):
        LBFGS(lr=0.1)


@pytest.mark.parametrize("name", ["m.h5", "m.HDF5"])              # m.keras is Keras 3's file (test_keras_file)
def test_keras_file_names_are_refused_with_the_netfit_name(tmp_path, name):
    model = _model("adam")
    with pytest.raises(ValueError, match=r"save_model: expected a .netfit path, got .*; netfit writes its own "
                                         r"format .*save to 'm.netfit'"):
        model.save(tmp_path / name)
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(ValueError, match=r"ModelCheckpoint: expected a .netfit path"):
        model.fit(X, Y, verbose=0, callbacks=[nf.callbacks.ModelCheckpoint(tmp_path / ("ep-{epoch}" + name[1:]))])


def test_validation_split_takes_the_last_rows_and_warns_when_they_hold_unseen_classes():
    x, y = X, np.repeat([0, 1, 2], [16, 16, 8])          # sorted by class: the last 8 rows are all class 2
    model = _model("adam", frozen=())
    with pytest.warns(UserWarning, match=r"validation_split takes the last 8 rows before shuffling, and they hold "
                                         r"class\(es\) \[2\] that no training row has .*shuffle it first: `p = "):
        model.fit(x, y, validation_split=0.2, verbose=0)
    p = np.random.default_rng(0).permutation(len(x)); x, y = x[p], y[p]      # the suggested fix
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model.fit(x, y, validation_split=0.2, verbose=0)
    assert "holds out the *last*" in nf.Sequential.fit.__doc__ and "before any shuffling" in nf.Sequential.fit.__doc__
