"""Callbacks: every set-up error before the first step, and the learning-rate, CSV and NaN callbacks' values."""
import csv
import math

import numpy as np
import pytest

import netfit as nf
from netfit.callbacks import (CSVLogger, EarlyStopping, LambdaCallback, LearningRateScheduler, ModelCheckpoint,
                              ReduceLROnPlateau, TerminateOnNaN)
from netfit.layers import Dense


def _data(n=60, seed=0):
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 2
    x = rng.standard_normal((n, 2)) * 0.5 + np.where(y[:, None] == 1, 2.0, -2.0)
    return x.astype(np.float32), y


def _model(optimizer="adam", metrics=("accuracy",), seed=0, dtype=None):
    model = nf.Sequential([Dense(8, activation="tanh", input_shape=(2,)), Dense(2, activation="softmax")],
                          seed=seed, dtype=dtype)
    model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy", metrics=list(metrics))
    return model


def _lbfgs():
    pytest.importorskip("scipy")
    from netfit.lbfgs import LBFGS
    return _model(LBFGS(), dtype="float64")


def _scripted(name, values):
    """A LambdaCallback that writes values[epoch] into logs[name]."""
    return LambdaCallback(on_epoch_end=lambda epoch, logs: logs.__setitem__(name, values[epoch]))


def _unchanged(model, call, error, match):
    """``call`` raises ``error`` matching ``match``, and the weights, the optimizer and the history stay as they were."""
    weights, history = [w.copy() for w in model.get_weights()], model.history
    iterations = model.optimizer.iterations
    with pytest.raises(error, match=match):
        call()
    assert all(np.array_equal(a, b) for a, b in zip(weights, model.get_weights()))
    assert model.optimizer.iterations == iterations
    assert model.history is history


def test_the_issue_example_fails_before_the_first_step_of_20000_rows():
    """EarlyStopping() watches val_loss; without validation data it used to fail after 625 steps."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(20_000, 2)).astype(np.float32)
    y = (x[:, 0] > 0).astype(np.int64)
    model = _model()
    _unchanged(model, lambda: model.fit(x, y, batch_size=32, verbose=0, callbacks=[EarlyStopping()]), ValueError,
               r"EarlyStopping: expected monitor one of the values fit will log \(loss, accuracy\), got 'val_loss'; "
               r"it needs validation data: pass validation_data=\(x_val, y_val\) or validation_split=0.2 to fit, "
               r"or use 'loss'\.")


BAD_SETUPS = [  # id, callback factory, fit keywords, error, message
    ("early-stopping-val-loss", lambda t: EarlyStopping(), {}, ValueError, r"got 'val_loss'; it needs validation data"),
    ("early-stopping-keras2-val-acc", lambda t: EarlyStopping("val_acc"), {"validation_split": 0.25}, ValueError,
     r"got 'val_acc'; did you mean 'val_accuracy'\? \(the model was compiled with metrics=\['accuracy'\]\)"),
    ("early-stopping-keras2-acc", lambda t: EarlyStopping("acc"), {}, ValueError, r"got 'acc'; did you mean 'accuracy'"),
    ("early-stopping-typo", lambda t: EarlyStopping("acuracy"), {}, ValueError, r"got 'acuracy'; did you mean 'accuracy'"),
    ("early-stopping-not-compiled", lambda t: EarlyStopping("val_auc"), {"validation_split": 0.25}, ValueError,
     r"got 'val_auc'; compile with metrics=\['auc'\] to log it"),
    ("early-stopping-val-acc-no-validation", lambda t: EarlyStopping("val_acc"), {}, ValueError,
     r"got 'val_acc'; it needs validation data: .* \(it is then logged as 'val_accuracy'\), or use 'accuracy'"),
    ("early-stopping-val-after-lambda", lambda t: [_scripted("score", [0] * 9), EarlyStopping("val_score")], {},
     ValueError, r"got 'val_score'"),
    ("checkpoint-val-loss-field", lambda t: ModelCheckpoint(str(t / "m-{epoch:02d}-{val_loss:.2f}.netfit")), {},
     ValueError, r"ModelCheckpoint: expected each field of filepath .* got 'val_loss'; it needs validation data"),
    ("checkpoint-keras2-field", lambda t: ModelCheckpoint(str(t / "m-{val_acc:.3f}.netfit")), {"validation_split": 0.25},
     ValueError, r"got 'val_acc'; did you mean 'val_accuracy'"),
    ("checkpoint-format-spec", lambda t: ModelCheckpoint(str(t / "m-{loss:d}.netfit")), {}, ValueError,
     r"ModelCheckpoint: cannot fill in filepath"),
    ("checkpoint-best-only-monitor", lambda t: ModelCheckpoint(str(t / "m.netfit"), save_best_only=True), {},
     ValueError, r"ModelCheckpoint: expected monitor one of .* got 'val_loss'"),
    ("reduce-lr-val-loss", lambda t: ReduceLROnPlateau(), {}, ValueError,
     r"ReduceLROnPlateau: expected monitor one of .* got 'val_loss'; it needs validation data"),
    ("reduce-lr-keras2", lambda t: ReduceLROnPlateau("acc"), {}, ValueError, r"did you mean 'accuracy'"),
    ("csv-logger-folder", lambda t: CSVLogger(t), {}, IsADirectoryError, r"CSVLogger: expected a file path, got the folder"),
    ("csv-logger-missing-folder", lambda t: CSVLogger(t / "no" / "log.csv"), {}, OSError,
     r"CSVLogger: cannot write to folder"),
]


@pytest.mark.parametrize("start", ["minibatch", "lbfgs"])
@pytest.mark.parametrize("factory, kwargs, error, match", [pytest.param(*case[1:], id=case[0]) for case in BAD_SETUPS])
def test_every_callback_set_up_error_comes_before_the_first_step(tmp_path, start, factory, kwargs, error, match):
    """The same checks wherever training starts: the mini-batch loop and full-batch L-BFGS."""
    x, y = _data()
    model = _model() if start == "minibatch" else _lbfgs()
    cbs = factory(tmp_path)
    cbs = cbs if isinstance(cbs, list) else [cbs]
    if start == "lbfgs" and isinstance(cbs[-1], ReduceLROnPlateau):
        pytest.skip("L-BFGS has no learning rate: refused for that reason first (tested below)")
    _unchanged(model, lambda: model.fit(x, y, epochs=2, verbose=0, callbacks=cbs, **kwargs), error, match)
    assert not list(tmp_path.glob("m*"))                                     # no checkpoint written


def test_fit_lbfgs_called_directly_checks_callbacks_too():
    x, y = _data()
    model = _lbfgs()
    from netfit.lbfgs import fit_lbfgs
    _unchanged(model, lambda: fit_lbfgs(model, x, y, epochs=3, verbose=0, callbacks=[EarlyStopping()]), ValueError,
               r"Sequential.fit \(L-BFGS\)|EarlyStopping: expected monitor .* got 'val_loss'")
    # With validation data the same callback is fine.
    history = fit_lbfgs(model, x, y, epochs=3, verbose=0, validation_split=0.25, callbacks=[EarlyStopping()])
    assert len(history.epoch) >= 1


@pytest.mark.parametrize("cb", [lambda: ReduceLROnPlateau("loss"), lambda: LearningRateScheduler(lambda e, lr: lr)],
                         ids=["reduce-lr", "scheduler"])
def test_learning_rate_callbacks_refuse_a_schedule_or_lbfgs_before_the_first_step(cb):
    x, y = _data()
    model = _model(nf.optimizers.SGD(nf.optimizers.ExponentialDecay(0.1, decay_steps=10, decay_rate=0.5)))
    _unchanged(model, lambda: model.fit(x, y, verbose=0, callbacks=[cb()]), ValueError,
               r"expected the optimizer's learning_rate a number, got the schedule ExponentialDecay; use either")
    model = _lbfgs()
    _unchanged(model, lambda: model.fit(x, y, verbose=0, callbacks=[cb()]), ValueError,
               r"expected an optimizer with a learning rate, got LBFGS \(full-batch L-BFGS takes no learning rate\)")


def test_a_callback_of_ones_own_may_add_names_that_later_callbacks_watch():
    x, y = _data()
    stopper = EarlyStopping(monitor="score", patience=1)
    history = _model().fit(x, y, epochs=5, verbose=0, callbacks=[_scripted("score", [3, 2, 2, 2, 2]), stopper])
    assert history.epoch == [0, 1, 2] and stopper.best_epoch == 1


@pytest.mark.parametrize("verbose, scores, said", [(1, [3, 2, 2, 2, 2], "Epoch 3: early stopping\n"),
                                                   (0, [3, 2, 2, 2, 2], ""), (1, [5, 4, 3, 2, 1], "")])
def test_early_stopping_says_when_it_stopped_with_verbose(verbose, scores, said, capsys):
    # Keras's EarlyStopping(verbose=1) prints "Epoch N: early stopping" after fit when it stopped training.
    x, y = _data()
    stopper = EarlyStopping(monitor="score", patience=1, verbose=verbose)
    _model().fit(x, y, epochs=5, verbose=0, callbacks=[_scripted("score", scores), stopper])
    assert capsys.readouterr().out == said


@pytest.mark.parametrize("monitor, compiled, better", [
    ("val_auc", ["auc"], "max"), ("val_mae", ["mae"], "min"), ("precision", ["precision"], "max"),
    ("val_loss", ["auc"], "min"), ("val_accuracy", ["accuracy"], "max"),
])
def test_mode_auto_takes_the_compiled_metrics_direction(monitor, compiled, better):
    x, y = _data()
    stopper = EarlyStopping(monitor=monitor)
    model = _model(metrics=compiled)
    nf.callbacks.check_callbacks([stopper], model, validation=True)
    assert stopper._better(2.0, 1.0, 0.0) == (better == "max") and stopper._better(0.5, 1.0, 0.0) == (better == "min")


# -- ReduceLROnPlateau ------------------------------------------------------------------------------------

def _lr_seen(model):
    """The learning rate each epoch trained with, read at the epoch's start."""
    seen = []
    return seen, LambdaCallback(on_epoch_begin=lambda epoch, logs: seen.append(model.optimizer.learning_rate))


@pytest.mark.parametrize("min_lr, last", [(0.0, 0.025), (0.03, 0.03)])
def test_reduce_lr_on_plateau_keras_rule_with_patience_cooldown_and_min_lr(min_lr, last):
    x, y = _data()
    model = _model(nf.optimizers.SGD(0.1))
    seen, spy = _lr_seen(model)
    scores = [1.0, 0.9, 0.95, 0.97, 0.99, 0.98, 0.97, 0.5]
    reducer = ReduceLROnPlateau(monitor="score", factor=0.5, patience=2, cooldown=2, min_lr=min_lr)
    history = model.fit(x, y, epochs=8, verbose=0, callbacks=[spy, _scripted("score", scores), reducer])
    # Best 0.9 at epoch 1; epochs 2, 3 do not beat it: γ 0.1 → 0.05 after epoch 3. Cooldown 2: epoch 4 does not
    # count (Keras decrements first, so cooldown=1 would change nothing); epochs 5, 6 do: γ → 0.025 after epoch 6.
    assert seen == [0.1, 0.1, 0.1, 0.1, 0.05, 0.05, 0.05, last]
    assert history.history["learning_rate"] == seen                 # the γ each epoch trained with
    assert model.optimizer.learning_rate == last and reducer.best == 0.5


def test_reduce_lr_on_plateau_min_delta_and_mode_max():
    x, y = _data()
    model = _model(nf.optimizers.SGD(0.2))
    reducer = ReduceLROnPlateau(monitor="score", factor=0.1, patience=1, mode="max", min_delta=0.05)
    model.fit(x, y, epochs=3, verbose=0, callbacks=[_scripted("score", [0.5, 0.54, 0.6]), reducer])
    # 0.54 does not beat 0.5 by more than 0.05: one epoch without improvement, patience 1 → γ = 0.2 · 0.1.
    assert model.optimizer.learning_rate == 0.2 * 0.1


def test_reduce_lr_on_plateau_on_a_real_validation_loss():
    x, y = _data(80)
    model = _model(nf.optimizers.SGD(0.05))
    history = model.fit(x, y, epochs=12, verbose=0, validation_split=0.25,
                        callbacks=[ReduceLROnPlateau(factor=0.5, patience=1, min_delta=10.0)])
    # min_delta 10 on a loss below 1: every epoch after the first is a plateau, so γ halves after each from the
    # second on; the history holds the γ each epoch trained with.
    assert history.history["learning_rate"] == [0.05] + [0.05 * 0.5 ** k for k in range(11)]


# -- LearningRateScheduler ----------------------------------------------------------------------------------

def test_learning_rate_scheduler_sets_each_epochs_rate_and_sgd_steps_with_it():
    x, y = _data(40)
    model = _model(nf.optimizers.SGD(0.01))
    seen, spy = _lr_seen(model)
    sched = LearningRateScheduler(lambda epoch, lr: lr if epoch < 2 else lr * 0.5)
    history = model.fit(x, y, epochs=4, verbose=0, callbacks=[sched, spy])
    assert seen == [0.01, 0.01, 0.005, 0.0025] == history.history["learning_rate"]
    # The step really uses it: one full-batch SGD step from θ moves by exactly −γ ∂R/∂θ.
    model = _model(nf.optimizers.SGD(0.01), dtype="float64")
    before = model.get_weights()
    _, grads = model.loss_and_gradients(x, y)
    model.fit(x, y, epochs=4, initial_epoch=3, batch_size=len(x), shuffle=False, verbose=0,
              callbacks=[LearningRateScheduler(lambda epoch: 0.1 / (epoch + 1))])      # Keras 2's one-argument form
    for w0, g, w1 in zip(before, grads, model.get_weights()):
        np.testing.assert_allclose(w1, w0 - 0.025 * g, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("bad", [-1.0, float("nan"), "0.1", None])
def test_learning_rate_scheduler_refuses_a_bad_rate_before_that_epochs_first_step(bad):
    x, y = _data()
    model = _model(nf.optimizers.SGD(0.01))
    _unchanged(model, lambda: model.fit(x, y, epochs=2, verbose=0, callbacks=[LearningRateScheduler(lambda e, lr: bad)]),
               ValueError, r"LearningRateScheduler: expected schedule\(0, lr\) to return a positive finite number, "
                           r"got .*; training stopped before epoch 1")


# -- CSVLogger ------------------------------------------------------------------------------------------------

def test_csv_logger_writes_every_epochs_logs_exactly_and_appends(tmp_path):
    x, y = _data()
    path = tmp_path / "log.csv"
    model = _model()
    history = model.fit(x, y, epochs=3, verbose=0, validation_split=0.25, callbacks=[CSVLogger(path)])
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["epoch", "accuracy", "loss", "val_accuracy", "val_loss"]        # Keras: sorted keys
    assert [int(r[0]) for r in rows[1:]] == [0, 1, 2]
    for k, key in enumerate(rows[0][1:], 1):
        assert [float(r[k]) for r in rows[1:]] == history.history[key]             # repr(float): exact
    model.fit(x, y, epochs=5, initial_epoch=3, verbose=0, validation_split=0.25,
              callbacks=[CSVLogger(path, separator=";", append=True)])
    lines = path.read_text().splitlines()
    assert len(lines) == 6 and lines[4].startswith("3;") and lines[5].startswith("4;")   # no second header
    model.fit(x, y, epochs=1, verbose=0, callbacks=[CSVLogger(path)])                   # append=False replaces
    assert path.read_text().splitlines()[0] == "epoch,accuracy,loss" and len(path.read_text().splitlines()) == 2


def test_csv_logger_records_the_learning_rate_of_callbacks_before_it(tmp_path):
    x, y = _data()
    path = tmp_path / "log.csv"
    _model(nf.optimizers.SGD(0.1)).fit(x, y, epochs=2, verbose=0, callbacks=[
        LearningRateScheduler(lambda epoch, lr: 0.1 * 0.5 ** epoch), CSVLogger(path)])
    rows = list(csv.DictReader(open(path, newline="")))
    assert [float(r["learning_rate"]) for r in rows] == [0.1, 0.05]


# -- TerminateOnNaN ---------------------------------------------------------------------------------------------

def test_terminate_on_nan_stops_after_the_batch_whose_loss_is_nan(capsys):
    x, y = _data(40)
    model = _model()
    poison = LambdaCallback(on_train_batch_end=lambda b, logs: logs.__setitem__("loss", math.nan) if b == 2 else None)
    history = model.fit(x, y, epochs=3, batch_size=4, verbose=0, callbacks=[poison, TerminateOnNaN()])
    assert model.optimizer.iterations == 3 and history.epoch == [0]               # 3 of 10 steps, then stop
    assert history.stop_reason == "TerminateOnNaN: loss was nan at batch 3"
    assert "TerminateOnNaN: batch 3: invalid loss nan, terminating training." in capsys.readouterr().out
    # An epoch whose logs hold a non-finite value (here a scripted val_loss) stops after that epoch.
    model = _model()
    history = model.fit(x, y, epochs=4, verbose=0, validation_split=0.25,
                        callbacks=[_scripted("val_loss", [1.0, math.inf, 1.0, 1.0]), TerminateOnNaN()])
    assert history.epoch == [0, 1] and history.stop_reason == "TerminateOnNaN: val_loss was inf at epoch 2"


def test_terminate_on_nan_passes_a_finite_run_through():
    x, y = _data()
    history = _model().fit(x, y, epochs=2, verbose=0, callbacks=[TerminateOnNaN()])
    assert history.epoch == [0, 1] and history.stop_reason is None


def test_learning_rate_can_be_watched_only_after_the_callback_that_logs_it(tmp_path):
    x, y = _data()
    model = _model(nf.optimizers.SGD(0.1))
    path = str(tmp_path / "m-{epoch}-{learning_rate:g}.netfit")
    _unchanged(model, lambda: model.fit(x, y, verbose=0, callbacks=[ModelCheckpoint(path), ReduceLROnPlateau("loss")]),
               ValueError, r"got 'learning_rate'; put a ReduceLROnPlateau or LearningRateScheduler before this callback")
    model.fit(x, y, epochs=2, verbose=0, callbacks=[LearningRateScheduler(lambda e, lr: 0.1 / (e + 1)),
                                                     ModelCheckpoint(path)])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m-1-0.1.netfit", "m-2-0.05.netfit"]


def test_csv_logger_and_early_stopping_work_under_lbfgs(tmp_path):
    x, y = _data()
    model = _lbfgs()
    path = tmp_path / "lbfgs.csv"
    history = model.fit(x, y, epochs=6, verbose=0, validation_split=0.25,
                        callbacks=[CSVLogger(path), EarlyStopping("val_accuracy", patience=1)])
    rows = list(csv.DictReader(open(path, newline="")))
    assert [int(r["epoch"]) for r in rows] == history.epoch
    assert [float(r["loss"]) for r in rows] == history.history["loss"]
