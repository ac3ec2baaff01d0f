"""Kinds of faults, each found everywhere it can happen (docs/reliability.md, sections 15-18).

- an error or warning that names a fix must name the one that is right for the case:
  channels-first images, large regression targets, ink in the alpha channel;
- a stopped epoch keeps what it reached;
- a statistic over a single value is refused or warned about with the fix;
- a data path given and not there is an error, GELU is exact in float64.
"""
import math
import re
import warnings

import numpy as np
import pytest

import netfit as nf
from netfit import images
from netfit.callbacks import LambdaCallback
from netfit.layers import (AveragePooling2D, BatchNormalization, Conv2D, Dense, Dropout, Flatten,
                           GlobalAveragePooling2D, GlobalMaxPooling2D, LocallyConnected2D, MaxPooling2D)

IMAGE_LAYERS = [lambda: Conv2D(4, 3), lambda: Conv2D(4, 3, padding="same"), lambda: LocallyConnected2D(2, 3),
                lambda: MaxPooling2D(), lambda: AveragePooling2D(), lambda: GlobalAveragePooling2D(),
                lambda: GlobalMaxPooling2D()]
IMAGE_IDS = ["conv-valid", "conv-same", "locally-connected", "max-pool", "average-pool", "global-average",
             "global-max"]


def _images(n, shape, seed=0):
    return np.random.default_rng(seed).random((n,) + shape).astype(np.float32)


# -- 1. channels-first images: the transpose, never a reshape or padding="same" ------------------------
@pytest.mark.parametrize("hwc", [(32, 32, 3), (28, 28, 1), (16, 16, 4)])
def test_channels_first_x_is_told_to_transpose_not_reshape(hwc):
    chw = (hwc[2], hwc[0], hwc[1])
    model = nf.Sequential([nf.Input(shape=hwc), Conv2D(2, 3, activation="relu"), Flatten(),
                           Dense(2, activation="softmax")], seed=0)
    model.compile("adam", "sparse_categorical_crossentropy")
    x, y = _images(8, chw), np.arange(8) % 2
    for call in (lambda: model.fit(x, y, verbose=0), lambda: model.predict(x), lambda: model.evaluate(x, y)):
        with pytest.raises(ValueError, match=r"looks channels-first .*`x = x.transpose\(0, 2, 3, 1\)`") as info:
            call()
        assert "reshape" not in str(info.value)
    fixed = x.transpose(0, 2, 3, 1)                      # the fix the message names runs, and keeps each picture
    model.fit(fixed, y, verbose=0)
    np.testing.assert_array_equal(fixed[3, :, :, 0], x[3, 0])


@pytest.mark.parametrize("make", IMAGE_LAYERS, ids=IMAGE_IDS)
@pytest.mark.parametrize("chw", [(3, 32, 32), (1, 28, 28)])
def test_a_channels_first_input_shape_is_refused_by_every_image_layer(make, chw):
    """(3, 32, 32) used to build a 3-pixel-high, 32-channel model (or advise padding='same'); now: the transpose."""
    hwc = (chw[1], chw[2], chw[0])
    for first in ([nf.Input(shape=chw), make()], [nf.Input(shape=chw), Dropout(0.1), make()]):
        model = nf.Sequential(first, seed=0)
        with pytest.raises(ValueError, match=rf"got {re.escape(str(chw))}, which looks channels-first .*"
                                             rf"x.transpose\(0, 2, 3, 1\)` and give input_shape="
                                             rf"{re.escape(str(hwc))}") as info:
            model.build()
        assert "padding='same'" not in str(info.value) and not model.built
        nf.Sequential([nf.Input(shape=hwc), make()], seed=0).build()          # channels-last builds


def test_a_model_built_lazily_from_channels_first_x_is_refused_and_stays_unbuilt():
    model = nf.Sequential([Conv2D(2, 3), Flatten(), Dense(2, activation="softmax")], seed=0)
    model.compile("adam", "sparse_categorical_crossentropy")
    with pytest.raises(ValueError, match=r"looks channels-first"):
        model.fit(_images(4, (3, 16, 16)), np.arange(4) % 2, verbose=0)
    assert not model.built
    model.fit(_images(4, (16, 16, 3)), np.arange(4) % 2, verbose=0)
    assert model.input_shape == (None, 16, 16, 3)


@pytest.mark.parametrize("layers", [
    [nf.Input(shape=(1, 100, 16)), Conv2D(4, (1, 3))],                      # a deliberate 1-D convolution
    [nf.Input(shape=(3, 32, 32)), Flatten(), Dense(3)],                      # an MLP reads any layout
    [nf.Input(shape=(64, 256, 1)), MaxPooling2D(16), Conv2D(16, 3, padding="same"), MaxPooling2D(2)],
], ids=["one-row-window", "mlp", "inner-4x16x16-map"])
def test_shapes_that_only_look_channels_first_inside_a_model_are_fine(layers):
    nf.Sequential(layers, seed=0).build()


# -- 2. divergence names what is large -----------------------------------------------------------------
def _houses(n=400, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, 6)).astype(np.float32)                     # already standardised inputs
    y = 250_000 + 80_000 * x[:, :1] + 10_000 * rng.standard_normal((n, 1))
    return x, y.astype(np.float32)


def _regressor(lr=0.01):
    model = nf.Sequential([Dense(16, activation="relu", input_shape=(6,)), Dense(1)], seed=0)
    model.compile(nf.optimizers.SGD(lr), "mse")
    return model


@pytest.mark.filterwarnings("ignore:Sequential.fit. the targets are large:UserWarning")   # warned about in its own test
def test_raw_house_prices_diverge_with_a_message_that_names_the_targets():
    x, y = _houses()
    model = _regressor()
    with pytest.warns(RuntimeWarning) as caught:
        history = model.fit(x, y, epochs=3, verbose=0)
    message = [str(w.message) for w in caught if w.category is RuntimeWarning][0]
    assert "The targets are large for mean_squared_error (|y| up to " in message
    assert "y = (y - mu) / sd" in message and "pred * sd + mu" in message
    assert "inputs are large" not in message and "Lower the learning rate" not in message
    assert history.stop_reason == message
    # The fix it names trains: same model, same γ, standardised targets.
    mu, sd = y.mean(0), y.std(0)
    fixed = _regressor()
    history = fixed.fit(x, (y - mu) / sd, epochs=20, verbose=0)
    assert history.stop_reason is None and np.isfinite(history.history["loss"]).all()
    r2 = 1 - ((fixed.predict(x) * sd + mu - y) ** 2).sum() / ((y - mu) ** 2).sum()
    assert r2 > 0.8


def test_a_divergence_on_scaled_data_names_the_learning_rate_and_on_raw_inputs_the_inputs():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 3))
    y = x @ np.array([[1.0], [2.0], [-1.0]])
    for scale, expect, absent in ((1.0, r"Lower the learning rate \(now 1e\+06\) or use clipnorm\.$",
                                   "are large"),
                                  (1000.0, r"The inputs are large \(\|x\| up to .*Normalization", "targets")):
        model = nf.Sequential([Dense(4, activation="tanh", input_shape=(3,)), Dense(1)], seed=0)
        model.compile(nf.optimizers.SGD(1e6), "mse")
        with pytest.warns(RuntimeWarning, match=expect) as caught:
            model.fit(x * scale, y, epochs=3, batch_size=8, verbose=0)
        assert absent not in str(caught[0].message)


def test_huge_regression_targets_are_warned_about_before_the_first_step():
    x, y = _houses()
    model = _regressor(1e-9)
    with pytest.warns(UserWarning, match=r"Sequential.fit: the targets are large for mean_squared_error "
                                         r"\(\|y\| up to .*\).*y = \(y - mu\) / sd"):
        model.fit(x, y, epochs=1, verbose=0)
    for ordinary in (np.random.default_rng(1).standard_normal((400, 1)), np.linspace(0, 9000, 400)[:, None]):
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            _regressor(1e-6).fit(x, ordinary.astype(np.float32), epochs=1, verbose=0)
    classifier = nf.Sequential([Dense(3, activation="softmax", input_shape=(6,))], seed=0)
    classifier.compile("adam", "sparse_categorical_crossentropy")
    with warnings.catch_warnings():
        warnings.simplefilter("error")                     # labels are never "targets of large magnitude"
        classifier.fit(x, np.arange(400) % 3, verbose=0)


# -- 3. a stopped epoch keeps what it reached --------------------------------------------------------------
@pytest.mark.filterwarnings("ignore:Sequential.fit. the targets are large:UserWarning")   # warned about in its own test
def test_a_divergence_mid_epoch_keeps_the_mean_of_its_finite_steps(tmp_path):
    x, y = _houses()
    model = _regressor()
    steps = []
    record = LambdaCallback(on_train_batch_end=lambda batch, logs: steps.append(dict(logs)))
    ends = []
    watch = LambdaCallback(on_epoch_end=lambda epoch, logs: ends.append((epoch, dict(logs))))
    csv = nf.callbacks.CSVLogger(str(tmp_path / "log.csv"))
    with pytest.warns(RuntimeWarning, match=r"at epoch 1, step (\d+)"):
        history = model.fit(x, y, epochs=3, verbose=0, callbacks=[record, watch, csv])
    assert len(steps) >= 1 and history.epoch == [0]
    # The epoch's value is the running mean after the last finite step: what the batch logs said then.
    assert history.history["loss"] == [steps[-1]["loss"]] and math.isfinite(steps[-1]["loss"])
    assert ends == [(0, {"loss": steps[-1]["loss"]})]                      # the callbacks saw the epoch end
    assert len((tmp_path / "log.csv").read_text().splitlines()) == 2        # a header and epoch 0's row


@pytest.mark.filterwarnings("ignore:Sequential.fit. the targets are large:UserWarning")   # warned about in its own test
def test_a_divergence_at_the_first_step_of_an_epoch_records_nothing_for_it():
    """No step of the epoch had a finite loss: there is no value to keep, and the weights are those it began with."""
    x, y = _houses()
    model = _regressor()
    model.build()
    huge = [w * 0 + 1e30 for w in model.get_weights()]        # finite weights whose outputs overflow float32
    model.set_weights(huge)
    with pytest.warns(RuntimeWarning, match=r"the loss became (inf|nan) at epoch 1, step 1;"):
        history = model.fit(x, y, epochs=2, verbose=0)
    assert history.history == {} and history.epoch == []
    assert all(np.array_equal(a, b) for a, b in zip(model.get_weights(), huge))


# -- 4. ink in the alpha channel -----------------------------------------------------------------------------
def _stroke_picture(path, ink, paper):
    from PIL import Image, ImageDraw
    picture = Image.new("RGBA", (90, 120), paper)
    draw = ImageDraw.Draw(picture)
    draw.line((45, 10, 45, 110), fill=ink, width=9)
    draw.line((20, 30, 45, 10), fill=ink, width=9)
    picture.save(path)
    return path


@pytest.mark.parametrize("ink, paper", [
    ((255, 255, 255, 255), (0, 0, 0, 0)),            # white strokes on a transparent canvas (the report)
    ((255, 255, 255, 255), (255, 255, 255, 0)),      # ... whose transparent pixels are white
    ((0, 0, 0, 255), (0, 0, 0, 0)),                  # black strokes on a transparent canvas
    ((255, 255, 255, 255), (0, 0, 0, 255)),          # opaque: white on black
    ((20, 20, 20, 255), (250, 250, 250, 255)),       # opaque: dark on light
], ids=["white-on-transparent", "white-on-transparent-white", "black-on-transparent", "white-on-black",
        "dark-on-light"])
def test_strokes_are_ink_whatever_their_colour_and_transparency(tmp_path, ink, paper):
    pytest.importorskip("PIL")
    reference = images.read_image(_stroke_picture(tmp_path / "ref.png", (0, 0, 0, 255), (255, 255, 255, 255)),
                                  (28, 28))
    got = images.read_image(_stroke_picture(tmp_path / "p.png", ink, paper), (28, 28))
    np.testing.assert_allclose(got, reference, atol=2 / 255)


def test_a_transparent_picture_without_strokes_still_has_no_ink(tmp_path):
    pytest.importorskip("PIL")
    from PIL import Image
    Image.new("RGBA", (40, 40), (255, 255, 255, 0)).save(tmp_path / "empty.png")
    with pytest.raises(ValueError, match=r"no ink"):
        images.read_image(tmp_path / "empty.png", (28, 28))



# -- 5. statistics over a single value: refused or NaN, with the fix ------------------------------------------
def _bn_model(frozen=False):
    model = nf.Sequential([Dense(8, activation="relu", input_shape=(4,)), BatchNormalization(),
                           Dense(2, activation="softmax")], seed=0)
    model.layers[1].trainable = not frozen
    model.compile("adam", "sparse_categorical_crossentropy")
    return model


def _classes(n, seed=0):
    x = np.random.default_rng(seed).standard_normal((n, 4)).astype(np.float32)
    return x, (x[:, 0] > 0).astype(int)


def _unchanged(model):
    return [w.tobytes() for w in model.get_weights()] if model.built else None, model.optimizer.iterations


@pytest.mark.parametrize("n, batch_size, good, fix", [
    (64, 1, 32, r"use batch_size=32 \(or any that leaves no batch of one\), or LayerNormalization"),
    (1025, 32, 31, r"1025 examples at batch_size=32 leave a last batch of 1: use batch_size=31, or drop one "
                   r"example"),
    (33, None, None, None),                              # full batch: fine
])
def test_batch_normalization_over_one_value_per_statistic_is_refused_before_the_first_step(n, batch_size, good,
                                                                                          fix):
    x, y = _classes(n)
    model = _bn_model()
    if fix is None:
        model.fit(x, y, batch_size=batch_size, verbose=0)
        return
    with pytest.raises(ValueError, match=r"Sequential.fit: batch_normalization would compute each batch mean and "
                                         r"variance over a single value .*Expected more than 1 value per channel "
                                         rf"when training\"\); {fix}"):
        model.fit(x, y, batch_size=batch_size, verbose=0)
    assert not model.built and model.optimizer.iterations == 0               # nothing changed
    model.fit(x, y, batch_size=good, verbose=0)                               # the batch size it names trains


def test_every_training_entry_point_refuses_one_value_per_statistic_and_changes_nothing():
    x, y = _classes(8)
    model = _bn_model()
    model.fit(x, y, batch_size=4, verbose=0)
    before = _unchanged(model)
    with pytest.raises(ValueError, match=r"Sequential.train_on_batch: .*single value.*needs at least 2 examples"):
        model.train_on_batch(x[:1], y[:1])
    with pytest.raises(ValueError, match=r"Sequential.loss_and_gradients: .*single value"):
        model.loss_and_gradients(x[:1], y[:1], training=True)
    assert _unchanged(model) == before                                          # weights, moving statistics, steps
    model.loss_and_gradients(x[:1], y[:1])                                     # inference: moving statistics

    # A generator's batch of one is found when it comes: before the layer's moving statistics move.
    def stream():
        yield x[:4], y[:4]
        while True:
            yield x[4:5], y[4:5]
    with pytest.raises(ValueError, match=r"batch_normalization: batch_normalization would compute .*single value"):
        model.fit(stream(), steps_per_epoch=2, verbose=0)
    assert model.optimizer.iterations == before[1] + 1                         # the one full step it took


def test_batch_normalization_with_more_than_one_value_per_statistic_trains_at_batch_one():
    """After Conv2D a channel's statistics run over height × width, and a frozen layer uses its moving ones."""
    rng = np.random.default_rng(0)
    conv = nf.Sequential([Conv2D(2, 3, input_shape=(6, 6, 1)), BatchNormalization(), Flatten(),
                          Dense(2, activation="softmax")], seed=0)
    conv.compile("adam", "sparse_categorical_crossentropy")
    conv.fit(rng.random((5, 6, 6, 1)), np.arange(5) % 2, batch_size=1, verbose=0)
    frozen = _bn_model(frozen=True)
    frozen.fit(*_classes(5), batch_size=1, verbose=0)


@pytest.mark.parametrize("input_shape, axis", [((1,), -1), ((5, 1), -1), ((1, 1, 3), (1, 2))])
def test_layer_normalization_over_one_value_is_refused_at_build(input_shape, axis):
    from netfit.layers import LayerNormalization
    model = nf.Sequential([LayerNormalization(axis=axis, input_shape=input_shape)], seed=0)
    with pytest.raises(ValueError, match=r"layer_normalization: expected more than one value per example to "
                                         r"normalize over, got input shape .*every output would be β"):
        model.build()
    nf.Sequential([Dense(2, input_shape=(3,)), LayerNormalization()], seed=0).build()
    nf.Sequential([LayerNormalization(axis=(1, 2), input_shape=(5, 1))], seed=0).build()


def test_a_first_dense_of_one_unit_then_layer_normalization_used_to_output_a_constant():
    from netfit.layers import LayerNormalization
    with pytest.raises(ValueError, match=r"put it after a layer with more than one unit"):
        nf.Sequential([Dense(1, input_shape=(3,)), LayerNormalization(), Dense(1)], seed=0).build()


@pytest.mark.parametrize("data, axis", [(np.ones((1, 3)), -1), (np.ones((1, 1)), None),
                                        (np.ones((1, 4, 4, 3)), (1, 2, 3))])
def test_normalization_adapt_on_one_value_per_statistic_is_refused(data, axis):
    from netfit.layers import Normalization
    norm = Normalization(axis=axis)
    with pytest.raises(ValueError, match=r"Normalization.adapt: expected at least 2 values for each mean and "
                                         r"variance, got 1 \(1 sample of shape .*norm.adapt\(x_train\)"):
        norm.adapt(data)
    assert not norm.is_adapted
    Normalization(axis=None).adapt(np.ones((1, 3)))                  # one sample, but 3 values for one statistic


def test_r2_over_one_example_is_nan_not_a_score():
    from netfit.metrics import R2Score
    r2 = R2Score()
    r2.update_state(np.array([3.0]), np.array([2.5]))
    assert math.isnan(r2.result())
    r2.update_state(np.array([1.0]), np.array([1.5]))
    assert r2.result() == pytest.approx(1 - 0.5 / 2)
    model = nf.Sequential([Dense(1, input_shape=(2,))], seed=0)
    model.compile("sgd", "mse", metrics=["r2"])
    assert math.isnan(model.evaluate(np.ones((1, 2)), np.ones(1))[1])


def test_a_study_of_one_repeat_reports_no_standard_deviation():
    from netfit.experiments import esl
    results = esl.run(repeats=1, epochs=1, train_size=20, test_size=10, verbose=0, baseline=False, nets=["net1"],
                      data=esl.synthetic_data(n_train=30, n_test=20, seed=0), optimizer="adam")
    (row,) = results.summary()
    assert row["n"] == 1 and math.isnan(row["sd"])
    row = [line for line in results.to_markdown().splitlines() if line.startswith("| Net-1 | no hidden")]
    assert len(row) == 1 and row[0].split(" | ")[5] == "–"              # the sd column: none, not 0.0


# -- 6. a data path given is the only place looked in ---------------------------------------------------------
LOADERS = ["mnist", "fashion_mnist", "zipcode", "load"]


def _loader(name):
    from netfit import datasets
    from netfit.datasets import fashion_mnist, mnist, zipcode
    return {"mnist": mnist.load_data, "fashion_mnist": fashion_mnist.load_data, "zipcode": zipcode.load_data,
            "load": lambda path: datasets.load("mnist", path)}[name]


@pytest.fixture
def no_download(monkeypatch):
    from netfit.datasets import _files

    def refuse(*args, **kwargs):
        raise AssertionError("a loader given a path downloaded instead")
    monkeypatch.setattr(_files, "download", refuse)


@pytest.mark.parametrize("name", LOADERS)
def test_a_path_that_does_not_exist_is_an_error_naming_it(name, no_download, tmp_path):
    """Data sets found elsewhere ($NETFIT_DATA_DIR, the cache) are not returned for a path that is not there."""
    missing = tmp_path / "no" / "such" / "dir"
    with pytest.raises(FileNotFoundError, match=rf"expected path a folder holding .*, got '{re.escape(str(missing))}', "
                                                r"which does not exist; .*leave path out"):
        _loader(name)(path=missing)


@pytest.mark.parametrize("name", LOADERS)
def test_a_path_without_the_files_is_an_error_naming_it(name, no_download, tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError) as info:
        _loader(name)(path=tmp_path / "empty")
    message = str(info.value)
    assert str(tmp_path / "empty") in message and "Fix: pass the folder that holds" in message
    assert "NETFIT_DATA_DIR" not in message.splitlines()[1]             # only the given folder is listed


def test_a_path_that_holds_the_data_still_loads():
    from data_folder import ABSENT, SHARED_DATA as shared, holds
    from netfit.datasets import zipcode
    if not holds("zip", shared):
        pytest.skip(f"{ABSENT} (zip)")
    (x_train, _), (x_test, _) = zipcode.load_data(path=shared)
    assert x_train.shape == (7291, 16, 16) and x_test.shape == (2007, 16, 16)
