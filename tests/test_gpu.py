"""The GPU code paths, on a fake device (tests/fake_gpu.py) that refuses what CuPy refuses, and on a real GPU.

Every check compares a model on the device with the same model on the CPU:
same seed, same weights; the same training within float32 tolerance; host
syncs a few per epoch, not per batch; save on one device, load on the other.
Each test runs twice: on "fakegpu" (always, in ``make test``) and on "gpu",
which skips cleanly unless CuPy is installed and finds a CUDA device.
"""
import warnings

import numpy as np
import pytest

import netfit as nf
from netfit import backend
from netfit.layers import Conv2D, Dense, Dropout, Flatten, MaxPooling2D, Normalization

import fake_gpu



def _gpu_missing():
    try:
        import cupy
        return cupy.cuda.runtime.getDeviceCount() == 0
    except Exception:                    # no CuPy, no driver, no device
        return True


@pytest.fixture(params=["fakegpu", pytest.param("gpu", marks=pytest.mark.skipif(
    _gpu_missing(), reason="needs CuPy and a CUDA device (pip install 'netfit[gpu]')"))])
def device(request):
    """The device under test; its tolerance for agreeing with the CPU in ``_close`` (cuBLAS sums in another order)."""
    fake_gpu.install()
    global _TOL
    _TOL = 1.0 if request.param == "fakegpu" else 20.0
    yield request.param
    backend.set_device("cpu")


_TOL = 1.0


def _digits(n=96, seed=0):
    rng = np.random.default_rng(seed)
    return rng.random((n, 28, 28), dtype=np.float32), rng.integers(0, 10, n)


def _mlp(device="cpu", optimizer="adam", loss="categorical_crossentropy"):
    with nf.device(device):
        model = nf.zoo.lecture_mlp(seed=0)
    model.compile(optimizer=optimizer, loss=loss, metrics=["accuracy"])
    return model


def _cnn(device="cpu", optimizer="adam"):
    table = np.array([[1, 1, 0, 1], [0, 1, 1, 1], [1, 0, 1, 1]], bool)
    layers = [Conv2D(3, 3, activation="relu", input_shape=(28, 28, 1)), MaxPooling2D(2),
              Conv2D(4, 3, padding="same", activation="tanh", connections=table, pad_value=-1.0), MaxPooling2D(2),
              Conv2D(2, 3, bias="per_unit", activation="sigmoid"), Dropout(0.25), Flatten(),
              Dense(10, activation="softmax")]
    model = nf.Sequential(layers, seed=3).to(device)
    model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def _close(a, b, rtol=2e-5, atol=1e-6):
    for u, v in zip(a, b):
        np.testing.assert_allclose(u, v, rtol=rtol * _TOL, atol=atol * _TOL)


def _same_run(device, make, x, y, **fit):
    cpu, dev = make("cpu"), make(device)
    assert dev.device == backend.get_device(device).name and cpu.device == "cpu"
    h_cpu, h_dev = cpu.fit(x, y, verbose=0, **fit), dev.fit(x, y, verbose=0, **fit)
    for key in h_cpu.history:
        np.testing.assert_allclose(h_dev.history[key], h_cpu.history[key], rtol=1e-5 * _TOL)
        assert all(isinstance(v, float) for v in h_dev.history[key])
    _close(dev.get_weights(), cpu.get_weights())
    return cpu, dev


def test_same_seed_same_weights_on_every_device(device):
    cpu, dev = _mlp("cpu"), _mlp(device)
    cpu.build(), dev.build()
    for a, b in zip(cpu.get_weights(), dev.get_weights()):
        assert type(b) is np.ndarray and np.array_equal(a, b)     # drawn on the host, uploaded: bit for bit


def test_lecture_mlp_fit_evaluate_predict_agree_with_the_cpu(device):
    x, labels = _digits()
    y = nf.utils.to_categorical(labels, 10)
    cpu, dev = _same_run(device, _mlp, x, y, epochs=2, batch_size=32, validation_split=0.25)
    np.testing.assert_allclose(dev.evaluate(x, y), cpu.evaluate(x, y), rtol=1e-5 * _TOL)
    p_dev = dev.predict(x, batch_size=40)
    assert type(p_dev) is np.ndarray
    np.testing.assert_allclose(p_dev, cpu.predict(x, batch_size=40), atol=1e-6 * _TOL)
    assert np.array_equal(dev.predict_classes(x), cpu.predict_classes(x))


def test_small_cnn_with_a_connection_table_agrees_with_the_cpu(device):
    x, y = _digits(64)
    cpu, dev = _same_run(device, _cnn, x[..., None], y, epochs=2, batch_size=16)
    np.testing.assert_allclose(dev.predict(x[..., None]), cpu.predict(x[..., None]), atol=1e-6 * _TOL)
    np.testing.assert_allclose(dev.evaluate(x[..., None], y), cpu.evaluate(x[..., None], y), rtol=1e-5 * _TOL)


@pytest.mark.parametrize("optimizer", ["sgd", "adam", "adamw", "nadam", "rmsprop", "adagrad",
                                       {"class_name": "SGD", "config": {"learning_rate": 0.05, "momentum": 0.9,
                                                                        "nesterov": True, "clipnorm": 1.0}},
                                       {"class_name": "Adam", "config": {"weight_decay": 1e-3, "clipvalue": 0.5}}])
def test_each_optimizer_trains_the_same_on_the_device(device, optimizer):
    x, labels = _digits(64)
    _same_run(device, lambda d: _mlp(d, optimizer=nf.optimizers.get(optimizer), loss="sparse_categorical_crossentropy"),
              x, labels, epochs=2, batch_size=16)


@pytest.mark.parametrize("loss, activation, target", [
    ("categorical_crossentropy", "softmax", "onehot"), ("sparse_categorical_crossentropy", "softmax", "labels"),
    (nf.losses.CategoricalCrossentropy(from_logits=True), None, "onehot"),
    (nf.losses.SparseCategoricalCrossentropy(from_logits=True), None, "labels"),
    ("binary_crossentropy", "sigmoid", "multi"), (nf.losses.BinaryCrossentropy(from_logits=True), None, "multi"),
    ("mse", None, "real"), ("mae", None, "real"), ("huber", None, "real"), ("log_cosh", None, "real"),
    ("kl_divergence", "softmax", "onehot"), ("poisson", "softplus", "real")])
def test_each_loss_trains_the_same_on_the_device(device, loss, activation, target):
    rng = np.random.default_rng(5)
    x = rng.random((48, 6), dtype=np.float32)
    labels = rng.integers(0, 3, 48)
    y = {"onehot": nf.utils.to_categorical(labels, 3), "labels": labels,
         "multi": rng.integers(0, 2, (48, 3)).astype(np.float32), "real": rng.random((48, 3), dtype=np.float32)}[target]
    metrics = ["accuracy"] if target in ("onehot", "labels") and loss != "kl_divergence" else ["mae"]

    def make(device):
        model = nf.Sequential([Dense(5, activation="tanh", input_shape=(6,)), Dense(3, activation=activation)],
                              seed=1).to(device)
        model.compile(optimizer="adam", loss=loss, metrics=metrics)
        return model
    cpu, dev = _same_run(device, make, x, y, epochs=2, batch_size=8)
    np.testing.assert_allclose(dev.loss_and_gradients(x, y)[0], cpu.loss_and_gradients(x, y)[0], rtol=1e-5 * _TOL)
    _close(dev.loss_and_gradients(x, y)[1], cpu.loss_and_gradients(x, y)[1], atol=1e-6)


def test_host_syncs_are_per_epoch_not_per_batch(device):
    x, y = _digits(256)
    counts = []
    for batch_size, epochs in ((64, 1), (8, 1), (8, 3)):
        model = _mlp(device, loss="sparse_categorical_crossentropy")
        before = backend.host_syncs()
        model.fit(x, y, epochs=epochs, batch_size=batch_size, verbose=0)
        counts.append(backend.host_syncs() - before)
    assert counts[0] == counts[1] <= 6                 # 4 batches or 32: the same few reads
    assert counts[2] == 3 * counts[1]
    before = backend.host_syncs()
    model.predict(x, batch_size=16)
    model.evaluate(x, y, batch_size=16)
    assert backend.host_syncs() - before <= 4          # one copy back for predict; the loss and metric for evaluate


def test_save_on_the_device_load_on_the_cpu_and_back(device, tmp_path):
    x, y = _digits(64)
    model = _mlp(device, loss="sparse_categorical_crossentropy")
    model.fit(x, y, epochs=1, batch_size=16, verbose=0)
    model.save(tmp_path / "m.netfit")
    on_cpu = nf.load_model(tmp_path / "m.netfit")
    assert on_cpu.device == "cpu"
    _close(on_cpu.get_weights(), model.get_weights(), rtol=0, atol=0)
    with nf.device(device):
        back = nf.load_model(tmp_path / "m.netfit")
    assert back.device == backend.get_device(device).name
    # Both continue alike: the optimizer state came along.
    on_cpu.fit(x, y, epochs=1, batch_size=16, verbose=0)
    back.fit(x, y, epochs=1, batch_size=16, verbose=0)
    _close(back.get_weights(), on_cpu.get_weights())
    on_cpu.save(tmp_path / "cpu.netfit")
    again = nf.load_model(tmp_path / "cpu.netfit").to(device)
    _close(again.get_weights(), on_cpu.get_weights(), rtol=0, atol=0)


def test_layer_weights_are_numpy_arrays_in_and_out(device):
    model = _mlp(device)
    model.build()
    layer = model.layers[1]
    kernel, bias = layer.get_weights()
    assert type(kernel) is np.ndarray and kernel.shape == (784, 128)
    layer.set_weights([kernel * 2, bias + 1])
    assert np.array_equal(model.get_weights()[0], kernel * 2) and np.array_equal(model.get_weights()[1], bias + 1)


def test_to_moves_a_trained_model_and_its_optimizer_state(device):
    x, y = _digits(64)
    a, b = _mlp("cpu", loss="sparse_categorical_crossentropy"), _mlp("cpu", loss="sparse_categorical_crossentropy")
    a.fit(x, y, epochs=1, batch_size=16, verbose=0)
    b.fit(x, y, epochs=1, batch_size=16, verbose=0)
    assert b.to(device) is b and b.device == backend.get_device(device).name
    a.fit(x, y, epochs=1, batch_size=16, verbose=0)
    b.fit(x, y, epochs=1, batch_size=16, verbose=0)
    _close(b.get_weights(), a.get_weights())
    b.to("cpu")
    assert type(b._theta) is np.ndarray and b.device == "cpu"
    a.fit(x, y, epochs=1, batch_size=16, verbose=0)
    b.fit(x, y, epochs=1, batch_size=16, verbose=0)
    _close(b.get_weights(), a.get_weights())


def test_batch_calls_and_streams_on_the_device(device):
    x, y = _digits(48)
    cpu, dev = _mlp("cpu", loss="sparse_categorical_crossentropy"), _mlp(device, loss="sparse_categorical_crossentropy")
    for model in (cpu, dev):
        model.train_on_batch(x[:16], y[:16])
    np.testing.assert_allclose(dev.test_on_batch(x, y), cpu.test_on_batch(x, y), rtol=1e-5 * _TOL)
    np.testing.assert_allclose(dev.predict_on_batch(x[:5]), cpu.predict_on_batch(x[:5]), atol=1e-6 * _TOL)

    def batches():
        while True:
            for k in range(0, 48, 16):
                yield x[k:k + 16], y[k:k + 16]
    h_cpu = cpu.fit(batches(), steps_per_epoch=3, epochs=1, verbose=0)
    h_dev = dev.fit(batches(), steps_per_epoch=3, epochs=1, verbose=0)
    np.testing.assert_allclose(h_dev.history["loss"], h_cpu.history["loss"], rtol=1e-5 * _TOL)
    np.testing.assert_allclose(dev.predict(batches(), steps=2), cpu.predict(batches(), steps=2), atol=1e-6 * _TOL)


def test_divergence_on_the_device_keeps_the_epochs_first_weights(device):
    x, y = _digits(64)
    model = _mlp(device, optimizer=nf.optimizers.SGD(learning_rate=1e30), loss="sparse_categorical_crossentropy")
    model.build()
    start = model.get_weights()
    with pytest.warns(RuntimeWarning, match=r"the loss became nan in epoch 1 \(on a GPU the loss is read once an "
                                            r"epoch; its starting weights are kept\); training stopped"):
        model.fit(x * 1e10, y, epochs=3, batch_size=16, verbose=0)
    assert all(np.isfinite(w).all() for w in model.get_weights())
    _close(model.get_weights(), start, rtol=0, atol=0)


def test_unsupported_parts_are_refused_with_the_fix(device):
    model = nf.Sequential([Normalization(input_shape=(4,)), Dense(2)])
    with pytest.raises(ValueError, match=r"Sequential.to: normalization \(Normalization\) does not run on the GPU "
                                         r"yet .*model.to\('cpu'\)"):
        model.build()
        model.to(device)
    assert model.device == "cpu" and type(model._theta) is np.ndarray      # left where it was
    dev = nf.Sequential([Dense(2, input_shape=(3,))]).to(device)
    dev.build()
    with pytest.raises(ValueError, match=r"Sequential.compile: LBFGS .* does not run on the GPU yet"):
        dev.compile(optimizer="lbfgs", loss="mse")
    assert not dev.compiled
    # Unbuilt models are refused as early: at to() and at compile, not later at build.
    unbuilt = nf.Sequential([Normalization(), Dense(2)])
    with pytest.raises(ValueError, match=r"Sequential.to: normalization \(Normalization\) does not run on the GPU"):
        unbuilt.to(device)
    assert unbuilt.device == "cpu"
    unbuilt = nf.Sequential([Dense(2)]).to(device)
    with pytest.raises(ValueError, match=r"Sequential.compile: LBFGS .* does not run on the GPU yet"):
        unbuilt.compile(optimizer="lbfgs", loss="mse")
    assert not unbuilt.compiled and not unbuilt.built


def test_metrics_without_gpu_code_get_host_copies(device):
    x, labels = _digits(48)
    y = nf.utils.to_categorical(labels, 10)

    def make(device):
        model = nf.zoo.lecture_mlp(seed=0).to(device)
        model.compile("adam", "categorical_crossentropy", metrics=["accuracy", "auc", "precision", "top_k_categorical_accuracy"])
        return model
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _same_run(device, make, x, y, epochs=1, batch_size=16)


def test_a_model_on_the_device_deep_copies_and_pickles(device):
    import copy
    import pickle
    model = _mlp(device)
    model.build()
    twin = copy.deepcopy(model)
    assert twin.device == model.device and twin.layers[1].xp is model.layers[1].xp
    _close(twin.get_weights(), model.get_weights(), rtol=0, atol=0)
    if device == "fakegpu":                          # (a CuPy array pickles through the host)
        again = pickle.loads(pickle.dumps(nf.zoo.lecture_mlp(seed=0).to(device)))
        assert again.device == backend.get_device(device).name


def test_batch_callbacks_see_every_step_and_read_the_logs_every_100(device):
    x, y = _digits(256)

    class Count(nf.callbacks.Callback):
        steps = []

        def on_train_batch_end(self, batch, logs=None):
            self.steps.append((batch, logs["loss"]))
    model = _mlp(device, loss="sparse_categorical_crossentropy")
    before = backend.host_syncs()
    model.fit(x, y, epochs=1, batch_size=2, verbose=0, callbacks=[Count()])
    assert [b for b, _ in Count.steps] == list(range(128))
    assert Count.steps[99][1] == Count.steps[0][1] != Count.steps[100][1]      # logs read at steps 0 and 100
    if device == "fakegpu":
        assert backend.host_syncs() - before <= 6 + 2 * 2


def test_data_too_big_for_the_device_goes_up_batch_by_batch(device, monkeypatch):
    if device != "fakegpu":
        pytest.skip("the fake device is told how little memory it has")
    monkeypatch.setattr(fake_gpu.fakecupy, "free_bytes", 100_000)      # x alone is 301,056 bytes
    x, y = _digits(96)
    cpu, dev = _same_run(device, lambda d: _mlp(d, loss="sparse_categorical_crossentropy"), x, y,
                         epochs=2, batch_size=16, validation_split=0.25)
    np.testing.assert_allclose(dev.evaluate(x, y), cpu.evaluate(x, y), rtol=1e-5)
    np.testing.assert_allclose(dev.predict(x, batch_size=40), cpu.predict(x, batch_size=40), atol=1e-6)
    before = backend.host_syncs()
    dev.fit(x, y, epochs=1, batch_size=8, verbose=0)
    assert backend.host_syncs() - before <= 6
