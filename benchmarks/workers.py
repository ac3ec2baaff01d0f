"""One side of the benchmark (netfit or a peer) in its own process, driven by bench.py.

    python benchmarks/workers.py SIDE --result-fd N [--threads T]

SIDE is one of specs.SIDES. The worker imports its library, loads MNIST once, answers
``{"ready": ...}``, then reads one JSON command a line on stdin and writes one JSON
answer a line to file descriptor N. Its stdout and stderr are left to the libraries'
chatter (the driver logs them). Commands:

    {"op": "train", "arch": "mlp"|"cnn"|"rescnn"|"mlp-graph", "batch": 32, "seed": 0, "examples": 60000,
     "epochs": 1, "warmup": true, "threads": null}   -> {"seconds", "test_acc", "train_acc", "steps"}
                                           ("threads": 1 trains on one thread, netfit and torch only;
                                            netfit adds "cpu_seconds", the process's CPU time in fit;
                                            "rescnn": issue 22's small residual CNN, specs.RESCNN_SHAPES;
                                            "mlp-graph": the lecture MLP as an nf.Model, netfit only)
    {"op": "predict", "arch": ..., "batch": 1000}  -> {"seconds", "images"}
    {"op": "peak_memory"}                  -> {"vmhwm_mb", "maxrss_mb"}
    {"op": "ceiling"}                      -> numpy's GEMM GFLOP/s (envinfo.matmul_ceiling)
    {"op": "quit"}

A side that cannot do a command (a peer without that model, netfit without
``zoo.mnist_cnn`` yet) answers ``{"unsupported": reason}``; a failure answers
``{"error": traceback}``. Both are reported, neither stops the run.

Same data, order and start for every side: MNIST from ``netfit.datasets.mnist`` scaled
by 1/255 in float32; the examples of a (seed, epoch) are visited in the order
``default_rng([seed, epoch]).permutation(n)`` (netfit's own fit order; torch and NumPy
gather batches by it, Keras and scikit-learn get the data pre-permuted with shuffling
off); initial weights are netfit's Glorot-uniform kernels and zero biases for that seed,
copied into each library (scikit-learn, which cannot be given weights, draws its own).
"""
import argparse
import contextlib
import gc
import json
import os
import resource
import sys
import time
import traceback

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import specs  # noqa: E402


class Unsupported(Exception):
    pass


# -- shared data and start ----------------------------------------------------------------
def load_mnist():
    from netfit.datasets import mnist
    (x, y), (xt, yt) = mnist.load_data()
    x, xt = x.astype(np.float32), xt.astype(np.float32)
    x /= 255                                   # in place: no second float copy in the peak memory
    xt /= 255
    return x, y.astype(np.int64), xt, yt.astype(np.int64)


def visit_order(seed, epoch, n):
    """The order netfit's fit visits n examples in epoch ``epoch`` (netfit/training.py)."""
    return np.random.default_rng([seed, epoch]).permutation(n)


def subset(seed, examples):
    """Indices of the examples a shortened run trains on (all of them for a full epoch)."""
    if examples >= specs.N_TRAIN:
        return None
    return np.sort(np.random.default_rng([seed, 999]).permutation(specs.N_TRAIN)[:examples])


def netfit_model(arch, seed):
    import netfit as nf
    if arch == "mlp":
        model = nf.zoo.lecture_mlp(seed=seed)
    elif arch == "mlp-graph":
        model = lecture_mlp_graph(seed)
    elif arch == "rescnn":
        model = residual_cnn(seed)
    else:
        make = getattr(nf.zoo, "mnist_cnn", None)
        if make is None:
            raise Unsupported("netfit.zoo.mnist_cnn does not exist yet")
        try:
            model = make(seed=seed)
        except TypeError:
            model = make()
            model.seed = seed
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.build()
    return model


def lecture_mlp_graph(seed):
    """The lecture MLP as a graph, ``nf.Model(inputs, outputs)``: the same layers and weights as the Sequential."""
    import netfit as nf
    from netfit.layers import Dense, Flatten
    inputs = nf.Input(shape=(28, 28))
    outputs = Dense(10, activation="softmax")(Dense(128, activation="relu")(Flatten()(inputs)))
    return nf.Model(inputs, outputs, name="lecture_mlp_graph", seed=seed)


def residual_cnn(seed):
    """Issue 22's small residual CNN (specs.RESCNN_SHAPES) as a netfit graph."""
    import netfit as nf
    from netfit.layers import Activation, Add, Conv2D, Dense, Flatten, MaxPooling2D
    inputs = nf.Input(shape=(28, 28, 1))
    h = MaxPooling2D(2)(Conv2D(32, 3, padding="same", activation="relu")(inputs))
    r = Conv2D(32, 3, padding="same")(Conv2D(32, 3, padding="same", activation="relu")(h))
    h = MaxPooling2D(2)(Activation("relu")(Add()([h, r])))
    return nf.Model(inputs, Dense(10, activation="softmax")(Flatten()(h)), name="residual_cnn", seed=seed)


def initial_weights(arch, seed):
    """Keras-layout start weights for ``seed``: netfit's own when it has the model, else Glorot uniform."""
    shapes = specs.SHAPES[arch]
    try:
        weights = netfit_model(arch, seed).get_weights()
        if [tuple(w.shape) for w in weights] == [tuple(s) for s in shapes]:
            return [np.asarray(w, np.float32) for w in weights], "netfit's initializer"
    except (ImportError, Unsupported):
        pass
    rng = np.random.default_rng(seed)
    weights = []
    for shape in shapes:
        if len(shape) == 1:
            weights.append(np.zeros(shape, np.float32))
            continue
        receptive = int(np.prod(shape[:-2])) if len(shape) > 2 else 1
        fan_in, fan_out = shape[-2] * receptive, shape[-1] * receptive
        limit = np.sqrt(6.0 / (fan_in + fan_out))
        weights.append(rng.uniform(-limit, limit, shape).astype(np.float32))
    return weights, "the benchmark's Glorot uniform (netfit has no such model)"


def accuracy(proba, y):
    return float((np.asarray(proba).argmax(axis=1) == y).mean())


# -- sides ------------------------------------------------------------------------------------
class Side:
    """Base: ``train_run`` trains a fresh start for the given examples/epochs and times it."""

    def __init__(self, threads):
        self.threads = threads
        self.x, self.y, self.xt, self.yt = load_mnist()

    evaluate = True

    def versions(self):
        return {"numpy": np.__version__}

    def test_acc(self, predict):
        """Test accuracy from ``predict()``'s probabilities; None when evaluation is off (memory runs)."""
        return accuracy(predict(), self.yt) if self.evaluate else None

    def train(self, arch, batch, seed, examples, epochs, warmup):
        idx = subset(seed, examples)
        x = self.x if idx is None else self.x[idx]
        y = self.y if idx is None else self.y[idx]
        orders = [visit_order(seed, e, len(x)) for e in range(epochs)]
        if warmup:
            # A short untimed run first: imports, JIT compilation (both batch shapes), allocation.
            m = min(len(x), batch + (len(x) % batch or batch // 2 or 1))
            self.train_run(arch, batch, seed, x[:m], y[:m], [visit_order(seed, 0, m)])
        gc.collect()
        return self.train_run(arch, batch, seed, x, y, orders)

    def train_run(self, arch, batch, seed, x, y, orders):
        raise NotImplementedError

    def predict(self, arch, batch):
        raise NotImplementedError

    def thread_count(self, threads):
        """Context: train on ``threads`` threads (None: the side's default); yields what it runs with."""
        if threads is not None:
            raise Unsupported("no thread setting for this side in the CPU-scaling rows")
        return contextlib.nullcontext("default")


class NetfitSide(Side):
    def versions(self):
        import netfit as nf
        from netfit import _kernels
        info = {"netfit": nf.__version__, "numpy": np.__version__}
        if _kernels.enabled():
            import numba
            info["numba"] = numba.__version__
        else:
            info["compiled loops"] = "off"
        return info

    @contextlib.contextmanager
    def thread_count(self, threads):
        import netfit as nf
        from netfit import parallel
        nf.config.set_threads(threads or "auto")
        try:
            yield threads or f"auto ({parallel.available_cores()} cores for large steps)"
        finally:
            nf.config.set_threads("auto")

    def _x(self, model, x):
        shape = model.layers[0].input_shape
        return x if x.shape[1:] == tuple(shape) else x.reshape((len(x),) + tuple(shape))

    def train_run(self, arch, batch, seed, x, y, orders):
        model = netfit_model(arch, seed)
        x = self._x(model, x)
        cpu, start = time.process_time(), time.perf_counter()
        history = model.fit(x, y, batch_size=batch, epochs=len(orders), verbose=0)
        seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
        return {"seconds": seconds, "cpu_seconds": cpu, "train_acc": history.history["accuracy"][-1],
                "test_acc": self.test_acc(lambda: model.predict(self._x(model, self.xt), batch_size=1000))}

    def predict(self, arch, batch):
        model = netfit_model(arch, 0)
        xt = self._x(model, self.xt)
        model.predict(xt[:batch], batch_size=batch)
        start = time.perf_counter()
        model.predict(xt, batch_size=batch)
        return time.perf_counter() - start


class NumpySide(Side):
    def train_run(self, arch, batch, seed, x, y, orders):
        import plain_numpy
        if arch not in ("mlp", "cnn"):
            raise Unsupported("plain_numpy.py has the MLP and the CNN only")
        weights, _ = initial_weights(arch, seed)
        net = plain_numpy.MLP(weights) if arch == "mlp" else plain_numpy.CNN(weights, seed)
        start = time.perf_counter()
        for order in orders:
            _, train_acc = net.train(x, y, order, batch)
        seconds = time.perf_counter() - start
        return {"seconds": seconds, "test_acc": self.test_acc(lambda: net.predict(self.xt)), "train_acc": train_acc}

    def predict(self, arch, batch):
        import plain_numpy
        weights, _ = initial_weights(arch, 0)
        net = plain_numpy.MLP(weights) if arch == "mlp" else plain_numpy.CNN(weights)
        net.predict(self.xt[:batch], batch)
        start = time.perf_counter()
        net.predict(self.xt, batch)
        return time.perf_counter() - start


class TorchSide(Side):
    def __init__(self, threads):
        import torch
        torch.set_num_threads(threads)
        self.torch = torch
        super().__init__(threads)
        self.X = torch.from_numpy(self.x)                       # shares memory with x
        self.Y = torch.from_numpy(self.y)

    def versions(self):
        return {"torch": self.torch.__version__, "numpy": np.__version__,
                "torch threads": self.torch.get_num_threads()}

    @contextlib.contextmanager
    def thread_count(self, threads):
        default = self.torch.get_num_threads()
        self.torch.set_num_threads(threads or default)
        try:
            yield self.torch.get_num_threads()
        finally:
            self.torch.set_num_threads(default)

    def _model(self, arch, seed):
        torch, nn = self.torch, self.torch.nn
        w, _ = initial_weights(arch, seed)
        if arch == "mlp":
            model = nn.Sequential(nn.Flatten(), nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 10))
            tensors = [w[0].T, w[1], w[2].T, w[3]]
        elif arch == "rescnn":
            model = _torch_residual_cnn(nn)
            dense = w[6].reshape(7, 7, 32, 10).transpose(2, 0, 1, 3).reshape(1568, 10)   # (h, w, c) -> (c, h, w)
            tensors = [w[0].transpose(3, 2, 0, 1), w[1], w[2].transpose(3, 2, 0, 1), w[3],
                       w[4].transpose(3, 2, 0, 1), w[5], dense.T, w[7]]
        elif arch == "cnn":
            model = nn.Sequential(nn.Unflatten(1, (1, 28)), nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2),
                                  nn.Conv2d(32, 64, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                                  nn.Dropout(0.5), nn.Linear(1600, 10))
            # Keras layouts -> torch: conv (kh, kw, in, out) -> (out, in, kh, kw); the dense
            # kernel's rows are in (h, w, c) order after a channels-last flatten, torch's in (c, h, w).
            dense = w[4].reshape(5, 5, 64, 10).transpose(2, 0, 1, 3).reshape(1600, 10)
            tensors = [w[0].transpose(3, 2, 0, 1), w[1], w[2].transpose(3, 2, 0, 1), w[3], dense.T, w[5]]
        else:
            raise Unsupported(f"no {arch} model for PyTorch")
        with torch.no_grad():
            for p, t in zip(model.parameters(), tensors):
                p.copy_(torch.from_numpy(np.ascontiguousarray(t)))
        return model

    def train_run(self, arch, batch, seed, x, y, orders):
        torch = self.torch
        F = torch.nn.functional
        torch.manual_seed(seed)
        model = self._model(arch, seed)
        opt = torch.optim.Adam(model.parameters(), lr=1e-3, eps=1e-7)    # Keras's ε
        X, Y = torch.from_numpy(x), torch.from_numpy(y)
        model.train()
        start = time.perf_counter()
        for order in orders:
            order = torch.from_numpy(order)
            total, correct = 0.0, 0
            for s in range(0, len(order), batch):
                idx = order[s:s + batch]
                xb, yb = X.index_select(0, idx), Y.index_select(0, idx)
                out = model(xb)
                loss = F.cross_entropy(out, yb)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                # The running loss and accuracy that netfit and Keras report too.
                total += loss.item() * len(idx)
                correct += int((out.argmax(1) == yb).sum())
        seconds = time.perf_counter() - start
        return {"seconds": seconds, "test_acc": self.test_acc(lambda: self._predict(model, self.xt, 1000)),
                "train_acc": correct / len(order)}

    def _predict(self, model, x, batch):
        torch = self.torch
        model.eval()
        out = np.empty((len(x), 10), np.float32)
        X = torch.from_numpy(x)
        with torch.inference_mode():
            for s in range(0, len(x), batch):
                out[s:s + batch] = torch.softmax(model(X[s:s + batch]), dim=1).numpy()
        return out

    def predict(self, arch, batch):
        model = self._model(arch, 0)
        self._predict(model, self.xt[:batch], batch)
        start = time.perf_counter()
        self._predict(model, self.xt, batch)
        return time.perf_counter() - start


def _torch_residual_cnn(nn):
    """specs.RESCNN_SHAPES in PyTorch: the idiomatic module, NCHW, the skip added in forward."""

    class ResidualCNN(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(1, 32, 3, padding=1)
            self.conv2 = nn.Conv2d(32, 32, 3, padding=1)
            self.conv3 = nn.Conv2d(32, 32, 3, padding=1)
            self.dense = nn.Linear(1568, 10)

        def forward(self, x):
            f = nn.functional
            h = f.max_pool2d(f.relu(self.conv1(x.unsqueeze(1))), 2)
            h = f.max_pool2d(f.relu(h + self.conv3(f.relu(self.conv2(h)))), 2)
            return self.dense(h.flatten(1))

    return ResidualCNN()


class KerasSide(Side):
    """Keras 3 model.fit; KERAS_BACKEND (torch or jax) is set by the driver for this process.

    Compiling (JAX) happens once per model: the model is built and warmed up once per
    (arch, batch), and every timed repeat restores the start weights and zeroes the
    optimizer's state (iteration count, moments) before fitting.
    """

    def __init__(self, threads):
        import keras
        self.keras = keras
        if keras.backend.backend() == "torch":
            import torch
            torch.set_num_threads(threads)
        super().__init__(threads)
        self.models = {}

    def versions(self):
        keras = self.keras
        v = {"keras": keras.__version__, "backend": keras.backend.backend(), "numpy": np.__version__}
        if keras.backend.backend() == "jax":
            import jax
            v["jax"] = jax.__version__
        else:
            import torch
            v["torch"] = torch.__version__
            v["torch threads"] = torch.get_num_threads()
        return v

    def _model(self, arch, batch):
        keras = self.keras
        L = keras.layers
        if (arch, batch) not in self.models:
            if arch == "mlp":
                layers = [keras.Input((28, 28)), L.Flatten(), L.Dense(128, activation="relu"),
                          L.Dense(10, activation="softmax")]
                model = keras.Sequential(layers)
            elif arch == "cnn":   # https://keras.io/examples/vision/mnist_convnet/
                layers = [keras.Input((28, 28, 1)), L.Conv2D(32, (3, 3), activation="relu"), L.MaxPooling2D((2, 2)),
                          L.Conv2D(64, (3, 3), activation="relu"), L.MaxPooling2D((2, 2)), L.Flatten(),
                          L.Dropout(0.5), L.Dense(10, activation="softmax")]
                model = keras.Sequential(layers)
            elif arch == "rescnn":     # the functional API, as netfit's graph
                inputs = keras.Input((28, 28, 1))
                h = L.MaxPooling2D(2)(L.Conv2D(32, 3, padding="same", activation="relu")(inputs))
                r = L.Conv2D(32, 3, padding="same")(L.Conv2D(32, 3, padding="same", activation="relu")(h))
                h = L.MaxPooling2D(2)(L.Activation("relu")(L.Add()([h, r])))
                model = keras.Model(inputs, L.Dense(10, activation="softmax")(L.Flatten()(h)))
            else:
                raise Unsupported(f"no {arch} model for Keras")
            model.compile(optimizer=keras.optimizers.Adam(learning_rate=1e-3),
                          loss="sparse_categorical_crossentropy", metrics=["accuracy"])
            self.models[(arch, batch)] = model
        return self.models[(arch, batch)]

    def _reset(self, model, arch, seed):
        model.set_weights(initial_weights(arch, seed)[0])
        for v in model.optimizer.variables:
            if "learning_rate" not in v.path:
                v.assign(np.zeros(v.shape, v.dtype))

    def _x(self, arch, x):
        return x if arch == "mlp" else x[..., None]           # the CNNs' channel axis

    def train_run(self, arch, batch, seed, x, y, orders):
        if len(orders) != 1:
            raise Unsupported("one epoch per fit call only (the batch order is given by pre-permuting)")
        model = self._model(arch, batch)
        self._reset(model, arch, seed)
        self.keras.utils.set_random_seed(seed)
        xp, yp = self._x(arch, x[orders[0]]), y[orders[0]]
        start = time.perf_counter()
        history = model.fit(xp, yp, batch_size=batch, epochs=1, shuffle=False, verbose=0)
        seconds = time.perf_counter() - start
        return {"seconds": seconds, "train_acc": float(history.history["accuracy"][-1]),
                "test_acc": self.test_acc(lambda: model.predict(self._x(arch, self.xt), batch_size=1000, verbose=0))}

    def predict(self, arch, batch):
        model = self._model(arch, 128)
        self._reset(model, arch, 0)
        xt = self._x(arch, self.xt)
        model.predict(xt[:batch], batch_size=batch, verbose=0)
        start = time.perf_counter()
        model.predict(xt, batch_size=batch, verbose=0)
        return time.perf_counter() - start


class SklearnSide(Side):
    def versions(self):
        import sklearn
        return {"scikit-learn": sklearn.__version__, "numpy": np.__version__}

    def train_run(self, arch, batch, seed, x, y, orders):
        if arch != "mlp" or len(orders) != 1:
            raise Unsupported("scikit-learn runs the one-epoch MLP only")
        import warnings
        from sklearn.exceptions import ConvergenceWarning
        from sklearn.neural_network import MLPClassifier
        # alpha=0: no L2 penalty, as on the other sides; shuffle off: the data come pre-permuted.
        clf = MLPClassifier(hidden_layer_sizes=(128,), solver="adam", batch_size=batch, max_iter=1,
                            alpha=0.0, shuffle=False, random_state=seed)
        xp, yp = x[orders[0]].reshape(len(x), -1), y[orders[0]]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            start = time.perf_counter()
            clf.fit(xp, yp)
            seconds = time.perf_counter() - start
        return {"seconds": seconds, "train_acc": None,
                "test_acc": self.test_acc(lambda: clf.predict_proba(self.xt.reshape(len(self.xt), -1)))}

    def predict(self, arch, batch):
        raise Unsupported("not measured for scikit-learn")


SIDE_CLASSES = {"netfit": NetfitSide, "netfit-fast": NetfitSide, "numpy": NumpySide, "torch": TorchSide, "keras-torch": KerasSide,
                "keras-jax": KerasSide, "sklearn": SklearnSide}


# -- protocol ---------------------------------------------------------------------------------
def peak_memory():
    hwm = None
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                hwm = int(line.split()[1]) / 1024
    return {"vmhwm_mb": hwm, "maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


class CpuWatch:
    """Wall time, this process's CPU time, and the CPU time everything else on the machine used meanwhile."""

    def __enter__(self):
        self.t0, self.own0, self.all0 = time.perf_counter(), _own_cpu(), _machine_busy()
        return self

    def __exit__(self, *exc):
        wall = time.perf_counter() - self.t0
        own = _own_cpu() - self.own0
        busy = _machine_busy() - self.all0 if self.all0 is not None else None
        self.stats = {"wall": wall, "own_cpu": own,
                      "others_share": None if busy is None else max(0.0, busy - own) / (wall * (os.cpu_count() or 1))}


def _own_cpu():
    t = os.times()
    return t.user + t.system


def _machine_busy():
    """Busy CPU-seconds of the whole machine since boot (/proc/stat), or None."""
    try:
        with open("/proc/stat") as f:
            fields = [int(v) for v in f.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)        # idle + iowait
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def handle(side, cmd):
    with CpuWatch() as watch:
        result = _handle(side, cmd)
    if isinstance(result, dict) and cmd["op"] in ("train", "predict"):
        result["cpu"] = watch.stats
    return result


def _handle(side, cmd):
    op = cmd["op"]
    if op == "train":
        if cmd["arch"] != "mlp" and isinstance(side, SklearnSide):
            raise Unsupported("no CNN in scikit-learn")
        side.evaluate = cmd.get("evaluate", True)
        with side.thread_count(cmd.get("threads")) as threads:
            result = side.train(cmd["arch"], cmd["batch"], cmd["seed"], cmd.get("examples", specs.N_TRAIN),
                                cmd.get("epochs", 1), cmd.get("warmup", True))
        result["threads"] = threads
        result["steps"] = -(-min(cmd.get("examples", specs.N_TRAIN), specs.N_TRAIN) // cmd["batch"]) \
            * cmd.get("epochs", 1)
        result["init"] = initial_weights(cmd["arch"], cmd["seed"])[1]
        return result
    if op == "predict":
        return {"seconds": side.predict(cmd["arch"], cmd["batch"]), "images": specs.N_TEST}
    if op == "peak_memory":
        return peak_memory()
    if op == "ceiling":
        import envinfo
        return {"ceiling": envinfo.matmul_ceiling(cmd.get("budget", 0.4))}
    raise ValueError(f"unknown op {op!r}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("side", choices=sorted(SIDE_CLASSES))
    parser.add_argument("--result-fd", type=int, required=True)
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args(argv)
    out = os.fdopen(args.result_fd, "w", buffering=1)

    def send(obj):
        out.write(json.dumps(obj) + "\n")
        out.flush()

    import envinfo
    threads = args.threads or envinfo.blas_threads()
    try:
        side = SIDE_CLASSES[args.side](threads)
        info = side.versions()
    except ImportError as exc:
        send({"ready": False, "reason": f"cannot be imported: {exc}"})
        return 0
    except Exception:  # noqa: BLE001  (report, don't die silently)
        send({"ready": False, "reason": traceback.format_exc()})
        return 0
    send({"ready": True, "versions": info, "blas": envinfo.blas_info(), "pid": os.getpid(),
          "python": sys.version.split()[0], "executable": sys.executable})
    for line in sys.stdin:
        cmd = json.loads(line)
        if cmd.get("op") == "quit":
            break
        try:
            send(handle(side, cmd))
        except Unsupported as exc:
            send({"unsupported": str(exc)})
        except Exception:  # noqa: BLE001
            send({"error": traceback.format_exc()})
    return 0


if __name__ == "__main__":
    sys.exit(main())
