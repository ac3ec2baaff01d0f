"""Sequential: structure, weights, fit/evaluate/predict, callbacks, divergence, Ctrl-C, input errors."""
import re
import warnings

import numpy as np
import pytest

import netfit as nf
from netfit.callbacks import EarlyStopping, LambdaCallback
from netfit.layers import Dense, Dropout, Flatten
from netfit.utils import to_categorical


@pytest.fixture
def float64():
    nf.config.set_floatx("float64")
    yield
    nf.config.set_floatx("float32")


def lecture_mlp(seed=0):
    return nf.Sequential([Flatten(input_shape=(28, 28)), Dense(128, activation="relu"),
                          Dense(10, activation="softmax")], seed=seed)


def blobs(n=60, seed=0):
    """Two well separated Gaussian blobs in R², labels 0/1."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 2
    x = rng.standard_normal((n, 2)) * 0.5 + np.where(y[:, None] == 1, 2.0, -2.0)
    return x.astype(np.float32), y


def small_classifier(seed=0, **compile_kwargs):
    model = nf.Sequential([Dense(8, activation="tanh", input_shape=(2,)), Dense(2, activation="softmax")],
                          seed=seed)
    model.compile(**{"optimizer": "adam", "loss": "sparse_categorical_crossentropy", "metrics": ["accuracy"],
                     **compile_kwargs})
    return model


def flat(weights):
    return np.concatenate([w.ravel() for w in weights])


# -- structure ------------------------------------------------------------------------------------
def test_summary_of_the_lecture_mlp():
    lines = []
    lecture_mlp().summary(print_fn=lines.append)
    text = "\n".join(lines)
    rows = {line.split()[0]: line for line in text.splitlines() if "(None," in line}
    assert rows["flatten"].split()[-1] == "0" and "(None, 784)" in rows["flatten"]
    assert rows["dense"].split()[-1] == "100,480" and "(None, 128)" in rows["dense"]
    assert rows["dense_1"].split()[-1] == "1,290" and "(None, 10)" in rows["dense_1"]
    assert "Total params: 101,770" in text and "Trainable params: 101,770" in text


def test_count_params_and_keras_weight_layouts():
    model = lecture_mlp()
    assert model.count_params() == 101_770
    assert [w.shape for w in model.get_weights()] == [(784, 128), (128,), (128, 10), (10,)]
    assert model.input_shape == (None, 28, 28) and model.output_shape == (None, 10)


def test_set_weights_round_trip_and_copies():
    model = lecture_mlp()
    new = [np.full(w.shape, k, np.float32) for k, w in enumerate(model.get_weights())]
    model.set_weights(new)
    for a, b in zip(model.get_weights(), new):
        np.testing.assert_array_equal(a, b)
    got = model.get_weights()
    got[0][...] = 99
    assert model.get_weights()[0][0, 0] == 0                       # get_weights returns copies


def test_set_weights_errors():
    model = lecture_mlp()
    with pytest.raises(ValueError, match=r"Sequential.set_weights: expected 4 arrays, got 3"):
        model.set_weights(model.get_weights()[:3])
    bad = model.get_weights()
    bad[2] = bad[2].T
    with pytest.raises(ValueError, match=r"expected array 2 of shape \(128, 10\), got \(10, 128\)"):
        model.set_weights(bad)


def test_layers_get_unique_keras_names():
    model = nf.Sequential([Dense(2, input_shape=(3,)), Dense(2), Dropout(0.1), Dense(1)])
    assert [layer.name for layer in model.layers] == ["dense", "dense_1", "dropout", "dense_2"]
    with pytest.raises(ValueError, match=r"a layer named 'dense' is already in the model"):
        model.add(Dense(1, name="dense"))
    with pytest.raises(TypeError, match=r"Sequential.add: expected a netfit Layer, got str"):
        model.add("dense")


def test_same_seed_same_initial_weights():
    np.testing.assert_array_equal(flat(lecture_mlp(5).get_weights()), flat(lecture_mlp(5).get_weights()))
    assert not np.array_equal(flat(lecture_mlp(5).get_weights()), flat(lecture_mlp(6).get_weights()))


# -- fit ----------------------------------------------------------------------------------------------
def test_fit_reduces_the_loss_on_a_separable_problem():
    x, y = blobs()
    model = small_classifier()
    history = model.fit(x, y, epochs=20, batch_size=8, verbose=0)
    loss = history.history["loss"]
    assert loss[-1] < 0.5 * loss[0]
    assert history.history["accuracy"][-1] == 1.0
    assert history.epoch == list(range(20))


def test_fit_learns_a_binary_problem_with_one_sigmoid_output():
    x, y = blobs()
    model = nf.Sequential([Dense(4, activation="relu", input_shape=(2,)), Dense(1, activation="sigmoid")], seed=1)
    model.compile(nf.optimizers.Adam(0.05), "binary_crossentropy", metrics=["accuracy"])
    model.fit(x, y, epochs=10, batch_size=10, verbose=0)               # y as a vector of 0/1
    assert model.evaluate(x, y)[1] == 1.0
    np.testing.assert_array_equal(model.predict_classes(x), y)


def test_full_batch_equals_batch_size_n(float64):
    x, y = blobs(20)

    def train(batch_size):
        model = small_classifier(seed=1, optimizer=nf.optimizers.SGD(0.3, momentum=0.5))
        model.fit(x, y, epochs=3, batch_size=batch_size, verbose=0)
        return flat(model.get_weights())

    np.testing.assert_allclose(train(None), train(20), rtol=1e-12)
    np.testing.assert_allclose(train(None), train(1000), rtol=1e-12)      # larger than n means n


def test_same_seed_same_weights_after_fit():
    x, y = blobs(30)

    def train():
        model = nf.Sequential([Dense(6, activation="relu", input_shape=(2,)), Dropout(0.3),
                               Dense(2, activation="softmax")], seed=42)
        model.compile("adam", "sparse_categorical_crossentropy")
        model.fit(x, y, epochs=3, batch_size=4, verbose=0)
        return flat(model.get_weights())

    np.testing.assert_array_equal(train(), train())


def test_validation_split_takes_the_last_fraction():
    x, y = blobs(40)
    model = small_classifier()
    history = model.fit(x, y, epochs=1, batch_size=8, verbose=0, validation_split=np.float32(0.25))
    assert history.params["samples"] == 30
    val_loss, val_acc = model.evaluate(x[30:], y[30:])
    assert history.history["val_loss"] == [pytest.approx(val_loss, rel=1e-6)]
    assert history.history["val_accuracy"] == [pytest.approx(val_acc)]
    assert set(history.history) == {"loss", "accuracy", "val_loss", "val_accuracy"}


def test_validation_data_is_evaluated_each_epoch():
    x, y = blobs(40)
    xv, yv = blobs(10, seed=1)
    model = small_classifier()
    history = model.fit(x, y, epochs=2, verbose=0, validation_data=(xv, yv))
    assert len(history.history["val_loss"]) == 2
    assert history.history["val_loss"][-1] == pytest.approx(model.evaluate(xv, yv)[0], rel=1e-6)


def test_evaluate_returns_loss_and_accuracy():
    x, y = blobs(20)
    model = small_classifier()
    loss, acc = model.evaluate(x, y)
    proba = model.predict(x).astype(np.float64)
    assert loss == pytest.approx(-np.mean(np.log(proba[np.arange(20), y])), rel=1e-5)
    assert acc == pytest.approx(np.mean(proba.argmax(1) == y))
    assert model.evaluate(x, y, batch_size=3) == pytest.approx([loss, acc], rel=1e-5)
    assert model.evaluate(x, y, return_dict=True).keys() == {"loss", "accuracy"}


def test_evaluate_without_metrics_returns_a_float():
    x, y = blobs(10)
    model = small_classifier(metrics=None)
    assert isinstance(model.evaluate(x, y), float)


def test_predict_shapes_and_batch_size_independence():
    model = lecture_mlp()
    x = np.random.default_rng(0).random((37, 28, 28)).astype(np.float32)
    full = model.predict(x)
    assert full.shape == (37, 10) and full.dtype == np.float32
    np.testing.assert_allclose(model.predict(x, batch_size=5), full, rtol=1e-5)      # float32 BLAS blocking
    np.testing.assert_allclose(full.sum(axis=1), 1.0, rtol=1e-5)


def test_predict_classes():
    model = lecture_mlp()
    x = np.random.default_rng(0).random((6, 28, 28))
    np.testing.assert_array_equal(model.predict_classes(x), model.predict(x).argmax(axis=1))
    binary = nf.Sequential([Dense(1, activation="sigmoid", input_shape=(2,), kernel_initializer="ones")])
    np.testing.assert_array_equal(binary.predict_classes(np.array([[1.0, 1.0], [-1.0, -2.0]])), [1, 0])


def test_loss_and_gradients_follows_get_weights_order(float64):
    model = small_classifier()
    x, y = blobs(10)
    loss, grads = model.loss_and_gradients(x, y)
    assert [g.shape for g in grads] == [w.shape for w in model.get_weights()]
    assert loss == pytest.approx(model.evaluate(x, y)[0], rel=1e-12)
    assert loss == model.loss_and_gradients(x, y, gradients=False)[0]


def test_float64_via_config(float64):
    model = small_classifier()
    x, y = blobs(10)
    model.fit(x, y, epochs=1, verbose=0)
    assert all(w.dtype == np.float64 for w in model.get_weights())
    assert model.predict(x).dtype == np.float64


def test_float32_model_keeps_float32_with_float64_targets():
    model = nf.Sequential([Dense(3, activation="tanh", input_shape=(2,)), Dense(1)], seed=0)
    model.compile("sgd", "mse")
    seen = []
    original = model.layers[-1].backward
    model.layers[-1].backward = lambda delta, need_input_grad=True: (seen.append(delta.dtype),
                                                                     original(delta, need_input_grad))[1]
    x = np.random.default_rng(0).standard_normal((8, 2))
    model.fit(x, x[:, :1] * 2.0, epochs=1, batch_size=4, verbose=0)
    assert seen == [np.float32, np.float32]


def test_uint8_inputs_are_cast_on_the_way(float64):
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (12, 2)).astype(np.uint8)
    y = (x[:, 0] > x[:, 1]).astype(int)

    def train(xs):
        model = small_classifier(seed=3)
        model.fit(xs, y, epochs=2, batch_size=5, verbose=0)
        return flat(model.get_weights())

    np.testing.assert_allclose(train(x), train(x.astype(np.float64)), rtol=1e-12)


# -- callbacks -----------------------------------------------------------------------------------------
def _scripted(values):
    """A callback that writes values[epoch] into logs["score"] for EarlyStopping to watch."""
    return LambdaCallback(on_epoch_end=lambda epoch, logs: logs.__setitem__("score", values[epoch]))


def test_early_stopping_stops_after_patience_epochs_without_improvement():
    x, y = blobs(20)
    model = small_classifier()
    stopper = EarlyStopping(monitor="score", patience=2)
    history = model.fit(x, y, epochs=10, verbose=0,
                        callbacks=[_scripted([3.0, 2.0, 2.5, 2.6, 2.7, 1.0, 1, 1, 1, 1]), stopper])
    # Best at epoch 1; epochs 2 and 3 do not improve: stop after epoch 3 (Keras's rule).
    assert history.epoch == [0, 1, 2, 3]
    assert stopper.best_epoch == 1 and stopper.stopped_epoch == 3
    assert "EarlyStopping: score did not improve for 2 epochs" in history.stop_reason


def test_early_stopping_min_delta_and_mode_max():
    x, y = blobs(20)
    stopper = EarlyStopping(monitor="score", patience=1, mode="max", min_delta=0.1)
    history = small_classifier().fit(x, y, epochs=10, verbose=0,
                                     callbacks=[_scripted([0.5, 0.55, 0.9, 0.95] + [0] * 6), stopper])
    assert history.epoch == [0, 1] and stopper.best_epoch == 0


def test_early_stopping_restores_the_best_weights():
    x, y = blobs(20)
    model = small_classifier()
    snapshots = []
    keep = LambdaCallback(on_epoch_end=lambda epoch, logs: snapshots.append(model.get_weights()))
    stopper = EarlyStopping(monitor="score", patience=1, restore_best_weights=True)
    model.fit(x, y, epochs=10, verbose=0, callbacks=[_scripted([3.0, 1.0, 2.0, 2.0] + [0] * 6), keep, stopper])
    assert len(snapshots) == 3
    np.testing.assert_array_equal(flat(model.get_weights()), flat(snapshots[1]))
    assert not np.array_equal(flat(snapshots[1]), flat(snapshots[2]))


def test_early_stopping_unknown_monitor():
    x, y = blobs(10)
    with pytest.raises(ValueError, match=r"EarlyStopping: expected monitor one of the values fit will log "
                                         r"\(loss, accuracy\), got 'val_loss'; it needs validation data"):
        small_classifier().fit(x, y, epochs=2, verbose=0, callbacks=[EarlyStopping()])


def test_lambda_callback_hooks_use_keras_signatures():
    x, y = blobs(10)
    calls = []
    cb = LambdaCallback(on_train_begin=lambda logs: calls.append("begin"),
                        on_epoch_begin=lambda epoch, logs: calls.append(f"epoch{epoch}"),
                        on_train_batch_end=lambda batch, logs: calls.append(f"batch{batch}:{sorted(logs)}"),
                        on_epoch_end=lambda epoch, logs: calls.append(f"end{epoch}:{sorted(logs)}"),
                        on_train_end=lambda logs: calls.append("done"))
    small_classifier().fit(x, y, epochs=2, batch_size=5, verbose=0, callbacks=[cb])
    assert calls == ["begin",
                     "epoch0", "batch0:['accuracy', 'loss']", "batch1:['accuracy', 'loss']",
                     "end0:['accuracy', 'loss']",
                     "epoch1", "batch0:['accuracy', 'loss']", "batch1:['accuracy', 'loss']",
                     "end1:['accuracy', 'loss']", "done"]


def test_callbacks_must_be_callback_objects():
    x, y = blobs(10)
    with pytest.raises(TypeError, match=r"expected callbacks to be netfit Callback objects, got function"):
        small_classifier().fit(x, y, verbose=0, callbacks=[lambda: None])


def test_progress_bar_writes_one_line_per_epoch_when_not_a_tty(capsys):
    x, y = blobs(10)
    small_classifier().fit(x, y, epochs=2, batch_size=5, verbose=1)
    out = capsys.readouterr().out
    assert out.count("Epoch ") == 2 and out.count("2/2 [") == 2 and "loss:" in out


# -- divergence and interruption -------------------------------------------------------------------------
def test_nan_divergence_warns_stops_and_keeps_the_last_good_weights():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((40, 3)) * 1000                        # unscaled inputs
    y = rng.standard_normal((40, 1))
    model = nf.Sequential([Dense(4, activation="relu", input_shape=(3,)), Dense(1)], seed=0)
    model.compile(nf.optimizers.SGD(1e6), "mse")
    snapshots = [model.get_weights()]
    record = LambdaCallback(on_train_batch_end=lambda batch, logs: snapshots.append(model.get_weights()))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        history = model.fit(x, y, epochs=5, batch_size=8, verbose=0, callbacks=[record])
    messages = [str(w.message) for w in caught]
    assert len(messages) == 1, messages                            # one clear warning, no NumPy noise
    assert caught[0].category is RuntimeWarning and caught[0].filename == __file__
    assert re.match(r"Sequential.fit: the loss became (nan|inf) at epoch 1, step \d+; training stopped", messages[0])
    # The inputs (×1000) are what is large, so the message names them and their fix first.
    assert "The inputs are large (|x| up to " in messages[0] and "nf.layers.Normalization()" in messages[0]
    assert "lower the learning rate (now 1e+06)" in messages[0]
    # The steps of epoch 1 before the overflow are kept as its values (Keras keeps a stopped epoch's).
    assert list(history.history) == ["loss"] and len(history.history["loss"]) == 1
    assert np.isfinite(history.history["loss"][0]) and history.stop_reason == messages[0]
    final = flat(model.get_weights())
    assert np.isfinite(final).all()
    # The weights kept are the last ones that gave a finite loss: the snapshot before the last step's.
    np.testing.assert_array_equal(final, flat(snapshots[-2]))
    assert np.isfinite(model.evaluate(x, y))
    model.set_weights(snapshots[-1])
    with np.errstate(all="ignore"):
        assert not np.isfinite(model.evaluate(x, y))


def test_divergence_on_the_first_step_keeps_weights_set_after_compile():
    model = nf.Sequential([Dense(1, input_shape=(2,))], seed=0)
    model.compile("sgd", "mse")
    huge = [np.full((2, 1), 1e30, np.float32), np.zeros(1, np.float32)]
    model.set_weights(huge)                                        # (f − y)² overflows float32 at once
    with pytest.warns(RuntimeWarning, match=r"the loss became inf at epoch 1, step 1"):
        model.fit(np.ones((4, 2)), np.ones(4), epochs=1, verbose=0)
    np.testing.assert_array_equal(flat(model.get_weights()), flat(huge))


def test_overflow_in_the_very_last_step_is_caught_too():
    x = np.full((4, 2), 1000.0)
    model = nf.Sequential([Dense(1, input_shape=(2,))], seed=0)
    model.compile(nf.optimizers.SGD(1e37), "mse")                  # γ g overflows float32
    before = model.get_weights()
    with pytest.warns(RuntimeWarning, match=r"the weights became non-finite at epoch 1, step 1"):
        history = model.fit(x, np.ones(4), epochs=1, batch_size=None, verbose=0)
    np.testing.assert_array_equal(flat(model.get_weights()), flat(before))
    # The step's loss was finite (the weights it was computed with are the ones kept): it is the epoch's value.
    assert history.history == {"loss": [pytest.approx(model.evaluate(x, np.ones(4)), rel=1e-6)]}


def test_keyboard_interrupt_returns_the_history_so_far():
    x, y = blobs(40)
    model = small_classifier()
    steps = []

    def on_batch(batch, logs):
        steps.append(batch)
        if len(steps) == 7:                                        # 5 steps per epoch: mid-way through epoch 2
            raise KeyboardInterrupt

    history = model.fit(x, y, epochs=5, batch_size=8, verbose=0,
                        callbacks=[LambdaCallback(on_train_batch_end=on_batch)])
    assert history.interrupted and history.stop_reason == "interrupted (Ctrl-C)"
    assert history.epoch == [0] and len(history.history["loss"]) == 1
    assert np.isfinite(flat(model.get_weights())).all()
    assert model.optimizer.iterations == 7


def test_keyboard_interrupt_inside_the_update_restores_consistent_weights(monkeypatch):
    x, y = blobs(16)
    model = small_classifier()
    model.fit(x, y, epochs=1, batch_size=8, verbose=0)
    before = model.get_weights()
    optimizer = model.optimizer

    def half_done_step(theta, grad):
        theta[: theta.size // 2] = np.nan                          # Ctrl-C arrives mid-update
        raise KeyboardInterrupt

    monkeypatch.setattr(optimizer, "step", half_done_step)
    history = model.fit(x, y, epochs=2, batch_size=8, verbose=0)
    assert history.interrupted
    np.testing.assert_array_equal(flat(model.get_weights()), flat(before))


# -- input errors ------------------------------------------------------------------------------------------
def test_uncompiled_model_refuses_to_fit_and_evaluate():
    model = nf.Sequential([Dense(2, input_shape=(2,))])
    with pytest.raises(RuntimeError, match=r"Sequential.fit: the model is not compiled; call "
                                           r"model.compile\(optimizer=..., loss=...\) first"):
        model.fit(np.ones((2, 2)), np.ones((2, 2)))
    with pytest.raises(RuntimeError, match=r"Sequential.evaluate: the model is not compiled"):
        model.evaluate(np.ones((2, 2)), np.ones((2, 2)))


@pytest.mark.parametrize("kwargs,error,match", [
    ({"x": np.ones((4, 3))}, ValueError, r"Sequential.fit: expected x of shape \(n, 2\), got array of shape \(4, 3\)"),
    ({"x": np.array([[0.0, np.nan]] * 4)}, ValueError, r"Sequential.fit: x contains 4 NaN or infinite value\(s\); clean or impute them first"),
    ({"y": np.array([0, 1, 1])}, ValueError, r"x and y have different numbers of examples: 4 and 3"),
    ({"y": np.array([0, 1, 2, 1])}, ValueError, r"expected labels in \[0, 1\] for a model with 2 outputs, got label 2"),
    ({"batch_size": 0}, ValueError, r"Sequential.fit: expected batch_size >= 1, got 0"),
    ({"batch_size": -1}, ValueError, r"Sequential.fit: expected batch_size >= 1, got -1"),
    ({"batch_size": 2.0}, TypeError, r"Sequential.fit: expected batch_size a positive integer, got 2.0"),
    ({"epochs": -1}, ValueError, r"Sequential.fit: expected epochs a non-negative integer, got -1"),
    ({"verbose": 3}, ValueError, r"Sequential.fit: expected verbose 0, 1, 2 or 'auto', got 3"),
    ({"validation_split": 1.0}, ValueError, r"expected validation_split in \[0, 1\), got 1.0"),
    ({"validation_split": 0.01}, ValueError, r"validation_split=0.01 leaves 4 training and 0 validation examples"),
    ({"validation_data": np.ones((2, 2))}, ValueError, r"expected validation_data a tuple \(x_val, y_val\)"),
    ({"validation_data": (np.ones((2, 3)), np.array([0, 1]))}, ValueError,
     r"Sequential.fit \(validation_data\): expected x of shape \(n, 2\), got array of shape \(2, 3\)"),
])
def test_fit_input_errors(kwargs, error, match):
    model = small_classifier()
    args = {"x": np.ones((4, 2)), "y": np.array([0, 1, 1, 0]), "verbose": 0, **kwargs}
    with pytest.raises(error, match=match):
        model.fit(**args)


def test_predict_and_evaluate_batch_size_errors():
    model = small_classifier()
    with pytest.raises(ValueError, match=r"Sequential.predict: expected batch_size >= 1, got 0"):
        model.predict(np.ones((2, 2)), batch_size=0)
    with pytest.raises(ValueError, match=r"Sequential.evaluate: expected batch_size >= 1, got -1"):
        model.evaluate(np.ones((2, 2)), np.array([0, 1]), batch_size=-1)


def test_one_hot_targets_for_a_sparse_loss_and_vice_versa():
    model = small_classifier()
    with pytest.raises(ValueError, match=r"expected y a 1-D array of integer labels, got shape \(4, 2\)"):
        model.fit(np.ones((4, 2)), to_categorical([0, 1, 1, 0]), verbose=0)
    model = small_classifier(loss="categorical_crossentropy")
    with pytest.raises(ValueError, match=r"`y = nf.utils.to_categorical\(y, 2\)`, or use loss='sparse_categorical_crossentropy'"):
        model.fit(np.ones((4, 2)), np.array([0, 1, 1, 0]), verbose=0)


@pytest.mark.parametrize("kwargs,error,match", [
    ({"optimizer": "adadelta"}, ValueError, r"optimizers.get: unknown optimizer 'adadelta'; supported: sgd, rmsprop"),
    ({"loss": "ctc"}, ValueError, r"losses.get: unknown loss 'ctc'; supported:"),
    ({"loss": None}, ValueError, r"Sequential.compile: expected a loss, e.g. loss='categorical_crossentropy'"),
    ({"metrics": ["f1"]}, ValueError, r"compile: unknown metric 'f1'; supported: accuracy, mse"),
    ({"metrics": "accuracy"}, TypeError, r"Sequential.compile: expected metrics a list of names, got 'accuracy'"),
    ({"loss": "mse", "metrics": ["accuracy"]}, ValueError,
     r"compile: metric 'accuracy' needs a classification loss, got loss 'mean_squared_error'; use metrics=\['mae'\]"),
])
def test_compile_errors(kwargs, error, match):
    model = nf.Sequential([Dense(2, input_shape=(2,))])
    with pytest.raises(error, match=match):
        model.compile(**{"optimizer": "sgd", "loss": "categorical_crossentropy", **kwargs})


def test_unknown_activation_name():
    with pytest.raises(ValueError, match=r"activations.get: unknown activation 'relu6'; supported: linear, sigmoid"):
        Dense(2, activation="relu6")


def test_model_without_layers_or_input_shape():
    with pytest.raises(ValueError, match=r"Sequential.build: the model has no layers; add some first"):
        nf.Sequential().build()
    with pytest.raises(ValueError, match=r"Sequential.build: the input shape is unknown"):
        nf.Sequential([Dense(2)]).build()


def test_model_builds_from_the_first_data_it_sees():
    model = nf.Sequential([Dense(3), Dense(1)], seed=0)
    model.compile("sgd", "mse")
    model.fit(np.ones((4, 5)), np.ones(4), verbose=0)
    assert model.input_shape == (None, 5) and model.count_params() == 5 * 3 + 3 + 4
