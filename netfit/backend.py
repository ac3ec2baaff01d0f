"""The array-module seam: NumPy by default, CuPy when a GPU is asked for.

Layers, losses, optimizers and the training loop take ``xp`` (the array module
of the model's device) instead of ``numpy`` where their code must run on both,
so the same written-out forward and backward run on a GPU unchanged. NumPy
stays the default and the only required dependency: CuPy (``pip install
'netfit[gpu]'``) is imported only when a GPU is asked for.

Asking for a device, as in Keras 3 and PyTorch:

- ``with nf.device("gpu"):`` models built inside live on the GPU (Keras 3's
  ``keras.device("gpu:0")``);
- ``nf.config.set_device("gpu")`` sets the default for models built from now on;
- ``model.to("gpu")`` moves a built model, weights and optimizer state
  (PyTorch's name).

Device names: ``"cpu"``, ``"gpu"``, ``"gpu:N"``, and their PyTorch spellings
``"cuda"``, ``"cuda:N"``. Arrays cross between host and device only through
:func:`to_device` and :func:`to_host`; :func:`host_syncs` counts the trips back
(each one waits for the GPU), so tests can check that training syncs once per
epoch, not once per batch.

Examples
--------
>>> parse_device("cuda:1")
('gpu', 1)
>>> get_array_module(np.zeros(3)) is np
True
"""
import contextlib

import numpy as np

__all__ = ["Device", "parse_device", "get_device", "set_device", "current_device", "device",
           "get_array_module", "device_of", "fits", "to_host", "to_device", "scalar", "host_syncs", "fuse", "is_host",
           "on_host"]

_default = "cpu"                 # set_device's default for models built from now on
_stack = []                      # the devices of the enclosing `with nf.device(...)` blocks
_extra = {}                      # kind -> array module: devices registered by tests (a fake GPU)
_syncs = [0]                     # trips from a device back to the host (to_host, float of a device scalar)


def parse_device(spec, where="netfit"):
    """Return ``(kind, index)`` for a device name: "cpu" -> ("cpu", 0), "gpu:1" / "cuda:1" -> ("gpu", 1).

    Raises
    ------
    ValueError
        A name that is not a device, e.g. ``"tpu"``.
    """
    text = spec.name if isinstance(spec, Device) else spec
    if isinstance(text, str):
        kind, sep, index = text.strip().lower().partition(":")
        kind = "gpu" if kind == "cuda" else kind
        if kind == "cpu" and (not sep or index == "0"):          # "cpu:0", as Keras and PyTorch accept
            return "cpu", 0
        if kind == "gpu" or kind in _extra:
            if not sep:
                return kind, 0
            if index.isdigit():
                return kind, int(index)
    fix = ("'cpu': netfit counts all of the CPU's cores as one device (the thread setting picks how many train)"
           if isinstance(text, str) and text.strip().lower().startswith("cpu:") else
           "'cpu', 'gpu' for the first GPU, 'gpu:1' for the second")
    raise ValueError(f"{where}: expected device 'cpu' or 'gpu[:N]' (or 'cuda[:N]'), got {spec!r}. Fix: {fix}.")


class Device:
    """A device and its array module ``xp`` (numpy, or cupy); built by :func:`get_device`.

    Attributes
    ----------
    kind : str
        "cpu" or "gpu" (or a test device's name).
    index : int
        Which GPU (0 on the CPU).
    xp : module
        The array module: ``numpy`` on the CPU, ``cupy`` on a GPU.
    """

    def __init__(self, kind, index, xp):
        self.kind, self.index, self.xp = kind, index, xp

    @property
    def name(self):
        return "cpu" if self.kind == "cpu" else f"{self.kind}:{self.index}"

    def activate(self):
        """Make this GPU CuPy's current device (allocations and kernels go to it); a no-op elsewhere."""
        if self.kind == "gpu":
            self.xp.cuda.Device(self.index).use()

    def __eq__(self, other):
        return isinstance(other, Device) and (self.kind, self.index) == (other.kind, other.index)

    def __hash__(self):
        return hash((self.kind, self.index))

    def __repr__(self):
        return f"Device({self.name!r})"

    def __reduce__(self):                 # copied and pickled by name: a module cannot be
        return get_device, (self.name,)

    def __deepcopy__(self, memo):
        return self


CPU = Device("cpu", 0, np)


def _cupy(index, where):
    asked = f"gpu:{index}" if index else "gpu"
    try:
        import cupy
    except ImportError:
        raise RuntimeError(f"{where}: asked for device '{asked}' but CuPy is not installed. "
                           f"Fix: pip install 'netfit[gpu]' (or the cupy-cuda12x / cupy-cuda13x wheel that "
                           f"matches your CUDA driver).") from None
    try:
        count = cupy.cuda.runtime.getDeviceCount()
    except Exception as exc:                                      # CUDARuntimeError: no driver, no device
        count, why = 0, f" ({exc})"
    else:
        why = ""
    if count == 0:
        raise RuntimeError(f"{where}: asked for device '{asked}' but CuPy finds no CUDA device{why}. Fix: run on a "
                           f"machine with an NVIDIA GPU and driver, or use device 'cpu'.")
    if index >= count:
        raise ValueError(f"{where}: expected a GPU index in [0, {count - 1}], got device 'gpu:{index}'.")
    return cupy


def get_device(spec=None, where="netfit"):
    """The :class:`Device` named by ``spec``; None means the current one (:func:`current_device`)."""
    if isinstance(spec, Device):
        return spec
    kind, index = parse_device(current_device() if spec is None else spec, where)
    if kind == "cpu":
        return CPU
    if kind == "gpu":
        return Device("gpu", index, _cupy(index, where))
    return Device(kind, index, _extra[kind])


def set_device(spec):
    """Set the device of models built from now on ("cpu", "gpu", "gpu:N"); checked at once.

    Examples
    --------
    >>> set_device("cpu"); current_device()
    'cpu'
    """
    global _default
    _default = get_device(spec, "nf.config.set_device").name


def current_device():
    """The device name a model built now gets: the innermost ``with nf.device(...)``, else :func:`set_device`'s."""
    return _stack[-1] if _stack else _default


def device(spec):
    """``with nf.device("gpu"):`` models built inside live on that device (Keras 3's ``keras.device``).

    The name is checked by this call, before ``with`` enters it (a GPU: CuPy and a
    CUDA device there), so ``nf.device("tpu")`` fails where it is written.

    Examples
    --------
    >>> with device("cpu"):
    ...     current_device()
    'cpu'
    """
    return _inside(get_device(spec, "nf.device").name)


@contextlib.contextmanager
def _inside(name):
    _stack.append(name)
    try:
        yield
    finally:
        _stack.pop()


# -- arrays -----------------------------------------------------------------------------------
def get_array_module(a):
    """The array module of ``a``: ``cupy`` for a CuPy array, ``numpy`` for anything else (cupy.get_array_module)."""
    if isinstance(a, np.ndarray) or np.isscalar(a):
        return np
    for xp in _extra.values():
        if isinstance(a, xp.ndarray):
            return xp
    module = type(a).__module__
    if module.startswith("cupy"):
        import cupy
        return cupy
    return np


def device_of(a):
    """The :class:`Device` an array lives on (the CPU for NumPy arrays and None)."""
    xp = get_array_module(a)
    if xp is np:
        return CPU
    for kind, module in _extra.items():
        if module is xp:
            return Device(kind, 0, xp)
    return Device("gpu", a.device.id, xp)


def fits(where, *arrays, share=0.5):
    """True when ``arrays`` (None skipped) take less than ``share`` of the free memory of ``where``'s device
    (an array there); always on the CPU. CuPy's free memory counts the blocks its memory pool holds."""
    xp = get_array_module(where)
    if xp is np:
        return True
    need = sum(a.nbytes for a in arrays if a is not None)
    if hasattr(xp, "cuda"):
        free = xp.cuda.runtime.memGetInfo()[0] + xp.get_default_memory_pool().free_bytes()
    else:
        free = xp.free_bytes                      # a test device says how much it has
    return need < share * free


def is_host(xp):
    """True when ``xp`` is NumPy (where numba kernels and thread pools may run)."""
    return xp is np


def on_host(a):
    """True when array ``a`` is a host (NumPy) array, not a device one."""
    return get_array_module(a) is np


def to_device(a, where):
    """``a`` on device ``where`` (a :class:`Device`, or an array whose device it takes): uploaded, or
    ``a`` itself when it is there already; a device array asked for on the CPU comes back (:func:`to_host`)."""
    xp = where.xp if isinstance(where, Device) else get_array_module(where)
    if a is None:
        return None
    if xp is np:
        return to_host(a)
    if get_array_module(a) is xp:
        return a
    return xp.asarray(np.asarray(a))


def to_host(a):
    """``a`` as a NumPy array (or scalar): the one way back from a device, counted by :func:`host_syncs`."""
    if isinstance(a, (np.ndarray, np.generic)) or np.isscalar(a) or a is None:
        return a
    if hasattr(a, "get") and get_array_module(a) is not np:
        _syncs[0] += 1
        return a.get()
    return np.asarray(a)


def scalar(value):
    """``float(value)`` for a host value; on a device the 0-d device array itself (reading it would wait for
    the GPU), so that a loss can be summed over an epoch on the device and read once."""
    return float(value) if get_array_module(value) is np else value


def host_syncs():
    """How many times arrays came back from a device (each waits for it); tests compare two readings."""
    return _syncs[0]


def fuse(make):
    """An elementwise kernel: ``make(xp)`` returns its Python function, compiled by ``cupy.fuse`` for CuPy
    arrays (one GPU kernel instead of one per operation) and run as it is on NumPy arrays.

    The same Python function is the GPU kernel and its NumPy reference, so the
    tests check the GPU's arithmetic on the CPU. It may update its array
    arguments in place (``m *= b1``), as ``cupy.fuse`` allows; it takes
    positional arguments only (``cupy.fuse`` kernels take no keywords), and on a
    device its Python-number arguments go in as the arrays' float type.

    Examples
    --------
    >>> @fuse
    ... def axpy(xp):
    ...     def axpy(a, x, y):              # a named function: CuPy names the kernel after it
    ...         return a * x + y
    ...     return axpy
    >>> axpy(2.0, np.ones(2), np.ones(2))
    array([3., 3.])
    """
    compiled = {}

    def call(*args):
        xp = next((m for m in map(get_array_module, args) if m is not np), np)
        if xp not in compiled:
            function = make(xp)
            compiled[xp] = function if xp is np else xp.fuse(function)
        if xp is not np:
            args = _typed_scalars(args)
        return compiled[xp](*args)

    call.__name__, call.__doc__, call.__wrapped__ = make.__name__, make.__doc__, make
    return call


def _typed_scalars(args):
    """Python int/float arguments as scalars of the arrays' float type, so a float32 kernel stays float32.

    CuPy 13's ``fuse`` types a Python scalar argument by its Python type (float64,
    int64; cupy/_core/fusion.pyx, ``_gen_abstracted_args``) and, under NumPy 2,
    promotes it as a strong type: ``(p - y) / n`` on float32 arrays then computes
    and returns float64. A NumPy scalar of the arrays' type is float32 on every
    CuPy, and NumPy 2 (NEP 50) casts a Python scalar to that type anyway: the
    same bits as the NumPy reference.
    """
    dtype = next((a.dtype for a in args if hasattr(a, "dtype") and a.dtype.kind == "f"), None)
    if dtype is None:
        return args
    return tuple(dtype.type(a) if type(a) in (int, float) else a for a in args)


def register_device(kind, xp):
    """Register a device kind served by the array module ``xp`` (for tests: a fake GPU); returns its name."""
    _extra[kind] = xp
    return kind


# -- a model on a device --------------------------------------------------------------------------
def check_supported(layers, optimizer, dev, where):
    """Raise a clear error when a layer or the optimizer (None: not chosen yet) has no GPU code yet."""
    if dev.kind == "cpu":
        return
    for part in list(layers) + ([] if optimizer is None else [optimizer]):
        if not getattr(part, "runs_on_gpu", False):
            what = getattr(part, "display_name", None) or type(part).__name__
            raise ValueError(f"{where}: {what} ({type(part).__name__}) does not run on the GPU yet (docs/gpu.md "
                             f"lists what does); keep this model on the CPU: model.to('cpu').")


def place(model, dev, where="Sequential.to"):
    """Move a built model's flat weights θ, gradients and optimizer state to ``dev``; layers re-attach to them.

    Weights are drawn on the host (the model's seeded NumPy generator) and
    uploaded here, so the same seed gives the same weights on every device.
    """
    state = model.optimizer.get_state() if model.compiled and model.built else None   # (build binds it later)
    check_supported(model.layers, model.optimizer if model.compiled else None, dev, where)
    dev.activate()
    theta = to_device(model._theta, dev)
    model._theta, model._grad = theta, dev.xp.zeros_like(theta)
    offset = 0
    for layer in model.layers:
        k = layer.count_params()
        layer.attach(theta[offset:offset + k], model._grad[offset:offset + k])
        offset += k
    model._placed = dev
    if state is not None:
        model._bind_training()                    # the optimizer's state and θ_good, on the device
        model.optimizer.set_state({name: to_device(value, dev) for name, value in state.items()})
