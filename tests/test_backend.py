"""netfit.backend: device names and their errors, nf.device / set_device, host <-> device, the fused kernels.

The fused GPU kernels are Python functions that run as they are on NumPy
arrays, so their arithmetic is checked here against the NumPy code they replace.
"""
import math
import sys
import types

import numpy as np
import pytest

import netfit as nf
from netfit import activations, backend
from netfit.losses import crossentropy
from netfit.optimizers import adam

import fake_gpu


@pytest.fixture(autouse=True)
def _fake_device():
    fake_gpu.install()
    yield
    backend.set_device("cpu")


@pytest.mark.parametrize("name, expected", [("cpu", ("cpu", 0)), ("gpu", ("gpu", 0)), ("gpu:0", ("gpu", 0)),
                                            ("cuda", ("gpu", 0)), ("cuda:1", ("gpu", 1)), (" GPU:2 ", ("gpu", 2)),
                                            ("fakegpu", ("fakegpu", 0)), ("cpu:0", ("cpu", 0))])
def test_device_names(name, expected):
    assert backend.parse_device(name) == expected


@pytest.mark.parametrize("bad", ["tpu", "gpu:x", "gpu:-1", "", 3, None, "cuda:"])
def test_bad_device_names_say_what_is_expected(bad):
    with pytest.raises(ValueError, match=r"netfit: expected device 'cpu' or 'gpu\[:N\]' \(or 'cuda\[:N\]'\), got .*"
                                         r"Fix: 'cpu', 'gpu' for the first GPU, 'gpu:1' for the second\.$"):
        backend.parse_device(bad)


@pytest.mark.parametrize("bad", ["cpu:1", " CPU:2"])
def test_a_cpu_index_gets_a_fix_about_the_cpu(bad):
    with pytest.raises(ValueError, match=r"expected device 'cpu' or 'gpu\[:N\]' \(or 'cuda\[:N\]'\), got .*\. Fix: "
                                         r"'cpu': netfit counts all of the CPU's cores as one device"):
        backend.parse_device(bad)


def test_nf_device_checks_the_name_when_called_not_when_entered():
    with pytest.raises(ValueError, match=r"^nf\.device: expected device 'cpu' or 'gpu\[:N\]'.*got 'tpu'"):
        nf.device("tpu")                                          # no `with`: refused all the same
    block = nf.device("fakegpu")
    assert nf.config.device() == "cpu"                            # checked, not entered yet
    with block:
        assert nf.config.device() == "fakegpu:0"
    assert nf.config.device() == "cpu"


def test_to_none_is_refused_with_the_names():
    """PyTorch's module.to(None) moves nothing; here None is a mistake (a device variable left unset)."""
    model = nf.Sequential([nf.layers.Dense(2, input_shape=(3,))], seed=0)
    with pytest.raises(ValueError, match=r"^Sequential\.to: expected device 'cpu' or 'gpu\[:N\]' \(or 'cuda\[:N\]'\), "
                                         r"got None\. Fix: 'cpu', 'gpu'"):
        model.to(None)
    assert model.device == "cpu"


def test_gpu_without_cupy_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "cupy", None)              # import cupy raises ImportError
    with pytest.raises(RuntimeError, match=r"asked for device 'gpu' but CuPy is not installed\. "
                                           r"Fix: pip install 'netfit\[gpu\]'"):
        nf.Sequential().to("gpu")
    with pytest.raises(RuntimeError, match=r"nf.device: asked for device 'gpu:1' but CuPy is not installed"):
        with nf.device("cuda:1"):
            pass


def _fake_cupy(count):
    def get_count():
        if count is None:
            raise RuntimeError("cudaErrorNoDevice: no CUDA-capable device is detected")
        return count
    cuda = types.SimpleNamespace(runtime=types.SimpleNamespace(getDeviceCount=get_count))
    return types.SimpleNamespace(cuda=cuda)


@pytest.mark.parametrize("count", [None, 0])
def test_cupy_without_a_device_says_so(monkeypatch, count):
    monkeypatch.setitem(sys.modules, "cupy", _fake_cupy(count))
    with pytest.raises(RuntimeError, match=r"Sequential.to: asked for device 'gpu' but CuPy finds no CUDA device"):
        nf.Sequential().to("gpu")


def test_gpu_index_beyond_the_devices(monkeypatch):
    monkeypatch.setitem(sys.modules, "cupy", _fake_cupy(2))
    with pytest.raises(ValueError, match=r"expected a GPU index in \[0, 1\], got device 'gpu:2'"):
        backend.get_device("cuda:2")


def test_set_device_and_the_device_block():
    assert nf.config.device() == "cpu"
    nf.config.set_device("fakegpu")
    assert nf.config.device() == "fakegpu:0"
    with nf.device("cpu"):
        assert nf.Sequential().device == "cpu"
        with nf.device("fakegpu:0"):
            assert nf.Sequential().device == "fakegpu:0"
        assert nf.config.device() == "cpu"
    assert nf.config.device() == "fakegpu:0"
    with pytest.raises(ValueError, match="set_device: expected device"):
        nf.config.set_device("tpu")
    assert nf.config.device() == "fakegpu:0"                    # a refused name leaves the default alone


def test_device_block_ends_on_an_error():
    with pytest.raises(KeyError):
        with nf.device("fakegpu"):
            raise KeyError("inside")
    assert nf.config.device() == "cpu"


def test_host_and_device_round_trip_counts_syncs():
    dev = backend.get_device("fakegpu")
    a = np.arange(6.0).reshape(2, 3)
    assert backend.to_device(a, backend.get_device("cpu")) is a
    assert backend.to_host(a) is a and backend.to_device(None, dev) is None
    on = backend.to_device(a, dev)
    assert backend.get_array_module(on) is dev.xp and backend.get_array_module(a) is np
    assert backend.to_device(on, dev) is on                      # no second upload
    before = backend.host_syncs()
    back = backend.to_host(on)
    assert isinstance(back, np.ndarray) and np.array_equal(back, a)
    assert backend.host_syncs() == before + 1
    assert backend.scalar(np.float32(2.5)) == 2.5 and isinstance(backend.scalar(on.sum()), fake_gpu.FakeArray)


def test_the_fake_device_refuses_what_cupy_refuses():
    """The instrument the device tests rely on can fail: host arrays and implicit conversion are refused."""
    on = fake_gpu.fakecupy.zeros((2, 3))
    with pytest.raises(TypeError, match="host numpy.ndarray"):
        on + np.ones((2, 3))
    with pytest.raises(TypeError, match="host numpy.ndarray"):
        np.matmul(on, np.ones((3, 2)))
    with pytest.raises(TypeError, match="Implicit conversion to a NumPy array is not allowed"):
        np.asarray(on)
    with pytest.raises(TypeError, match="host numpy.ndarray"):
        on[np.array([0, 1])]
    with pytest.raises(AttributeError, match="no device random generator"):
        fake_gpu.fakecupy.random
    assert isinstance(on + 1.0, fake_gpu.FakeArray) and isinstance(np.exp(on), fake_gpu.FakeArray)


def test_fuse_runs_the_python_function_on_numpy_and_compiles_once_per_module():
    made = []

    @backend.fuse
    def axpy(xp):
        made.append(xp)
        return lambda a, x, y: a * x + y

    assert np.array_equal(axpy(2.0, np.ones(2), np.ones(2)), [3.0, 3.0])
    axpy(1.0, np.ones(2), np.ones(2))
    on = fake_gpu.fakecupy.ones(2)
    assert np.array_equal(backend.to_host(axpy(2.0, on, on)), [3.0, 3.0])
    assert made == [np, fake_gpu.fakecupy]


def test_fused_adam_step_is_the_numpy_update_bit_for_bit(monkeypatch):
    monkeypatch.setenv("NETFIT_COMPILED", "0")
    monkeypatch.setattr(adam._kernels, "_compiled", None)         # NumPy's ten passes, not numba's loop
    rng = np.random.default_rng(0)
    theta, g = rng.standard_normal(1000).astype(np.float32), rng.standard_normal(1000).astype(np.float32)
    opt = nf.optimizers.Adam(learning_rate=0.01)
    opt.build(theta)
    opt.m[...], opt.v[...] = rng.random(1000), rng.random(1000)
    t2, m2, v2 = theta.copy(), opt.m.copy(), opt.v.copy()
    opt.step(theta, g.copy())
    b1, b2 = opt.beta_1, opt.beta_2
    alpha = 0.01 * math.sqrt(1 - b2) / (1 - b1)                  # Python floats, as Adam._update passes
    root = math.sqrt(1 - b2)
    adam._adam_step(t2, g, m2, v2, b1, b2, opt.epsilon / root, alpha * (1 - b1) / root)
    assert np.array_equal(t2, theta) and np.array_equal(m2, opt.m) and np.array_equal(v2, opt.v)


@pytest.mark.parametrize("name, fused", [("relu", activations._relu_backward), ("sigmoid", activations._sigmoid_backward),
                                         ("tanh", activations._tanh_backward)])
def test_fused_activation_backward_is_the_numpy_backward(monkeypatch, name, fused):
    monkeypatch.setenv("NETFIT_COMPILED", "0")
    rng = np.random.default_rng(1)
    act = activations.get(name)
    z = rng.standard_normal((50, 7)).astype(np.float32)
    a = act.forward(z)
    delta = rng.standard_normal((50, 7)).astype(np.float32)
    expected = act.backward(delta, z, a)
    got = fused(delta, a)
    assert got.dtype == expected.dtype and np.array_equal(got, expected)


def test_fused_softmax_cross_entropy_error_is_the_numpy_error():
    rng = np.random.default_rng(2)
    p = activations.get("softmax").forward(rng.standard_normal((32, 10)).astype(np.float32))
    y = nf.utils.to_categorical(rng.integers(0, 10, 32), 10)
    expected = nf.losses.get("categorical_crossentropy").gradient(p, y, fused=True)
    assert np.array_equal(crossentropy._fused_error(p, y, 32), expected)
