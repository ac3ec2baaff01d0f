"""What is measured: the workloads, their FLOP counts, the sides, and the issue's reference figures.

Shared by the driver (bench.py) and the workers (workers.py); imports nothing heavy.
"""

# -- sides -------------------------------------------------------------------------------
# key -> (column title, description)
SIDES = {
    "netfit": ("netfit", "netfit (this repo), Sequential.fit / predict (Model.fit for the graphs), pure NumPy "
                         "as `pip install netfit` runs it (`NETFIT_COMPILED=0`, so a numba in the venv is not used)"),
    "netfit-fast": ("netfit[fast]", "the same with its optional numba loops (`pip install netfit[fast]`): "
                                    "Adam's update in one compiled pass instead of ten NumPy passes, max "
                                    "pooling in one pass each way and relu's backward in one, bit-identical; "
                                    "numba's LLVM adds 55–115 MB to the training process"),
    "torch": ("PyTorch", "PyTorch eager, hand-written loop (torch.optim.Adam, F.cross_entropy)"),
    "keras-torch": ("Keras/torch", "Keras 3 model.fit on the torch backend"),
    "keras-jax": ("Keras/JAX", "Keras 3 model.fit on the JAX backend (jit_compile default)"),
    "sklearn": ("scikit-learn", "MLPClassifier(hidden_layer_sizes=(128,), solver='adam', max_iter=1)"),
    "numpy": ("plain NumPy", "hand-written NumPy loop (benchmarks/plain_numpy.py; im2col for the CNN)"),
}
PEERS = [s for s in SIDES if s != "netfit"]
# Sides that run in the netfit environment (.venv) rather than the peers' venv.
NETFIT_ENV_SIDES = {"netfit", "netfit-fast", "numpy"}
# Environment of a side's worker beyond the defaults.
SIDE_ENV = {"netfit": {"NETFIT_COMPILED": "0"}}

# -- architectures -----------------------------------------------------------------------
N_TRAIN, N_TEST = 60_000, 10_000

# Weight shapes in Keras layout, kernel before bias (what netfit's get_weights() gives).
MLP_SHAPES = [(784, 128), (128,), (128, 10), (10,)]
CNN_SHAPES = [(3, 3, 1, 32), (32,), (3, 3, 32, 64), (64,), (1600, 10), (10,)]
# Issue 22's small residual CNN (a graph: the block's input is added to its output):
#   x (28, 28, 1) -> Conv2D(32, 3, same, relu) -> MaxPooling2D(2) -> h (14, 14, 32)
#   h -> Conv2D(32, 3, same, relu) -> Conv2D(32, 3, same) -> Add([h, .]) -> ReLU -> MaxPooling2D(2)
#   -> Flatten (7·7·32 = 1568) -> Dense(10, softmax)                                  34,506 weights
RESCNN_SHAPES = [(3, 3, 1, 32), (32,), (3, 3, 32, 32), (32,), (3, 3, 32, 32), (32,), (1568, 10), (10,)]
SHAPES = {"mlp": MLP_SHAPES, "mlp-graph": MLP_SHAPES, "cnn": CNN_SHAPES, "rescnn": RESCNN_SHAPES}

# Multiply-adds x 2 per example. Training = forward + ∂R/∂W for every layer + ∂R/∂x for
# every layer except the first (nobody needs the input gradient), as netfit and the peers do.
_MLP_FWD = 2 * (784 * 128 + 128 * 10)
_CONV1 = 2 * 26 * 26 * 32 * (3 * 3 * 1)
_CONV2 = 2 * 11 * 11 * 64 * (3 * 3 * 32)
_DENSE = 2 * 1600 * 10
_RES1 = 2 * 28 * 28 * 32 * (3 * 3 * 1)
_RES_BLOCK = 2 * 14 * 14 * 32 * (3 * 3 * 32)           # each of the block's two convolutions
_RES_DENSE = 2 * 1568 * 10
FLOPS = {
    "mlp": {"forward": _MLP_FWD, "train": _MLP_FWD + _MLP_FWD + 2 * 128 * 10},
    "cnn": {"forward": _CONV1 + _CONV2 + _DENSE, "train": 2 * _CONV1 + 3 * _CONV2 + 3 * _DENSE},
    "rescnn": {"forward": _RES1 + 2 * _RES_BLOCK + _RES_DENSE,
               "train": 2 * _RES1 + 6 * _RES_BLOCK + 3 * _RES_DENSE},
}

# -- the issue's figures (this kind of machine, 2 cores) ------------------------------------
# Reference values per workload and side; strings are shown as given.
ISSUE = {
    "mlp32": {"torch": "1.96–2.16 s", "keras-torch": "5.35 s", "keras-jax": "0.61 s", "sklearn": "2.17 s",
              "numpy": "2.15 s"},
    "mlp128": {"torch": "0.61 s", "numpy": "0.59 s"},
    "mlp1024": {"torch": "0.27 s", "numpy": "0.22 s"},
    "cnn128": {"torch": "13–19 s", "keras-torch": "22–23 s", "keras-jax": "44 s", "numpy": "33 s (im2col)"},
    "predict-mlp": {"torch": "1.23 M/s", "numpy": "1.06 M/s"},
    "predict-cnn": {"torch": "5.3 k/s", "numpy": "4.1 k/s"},
    "mem-mlp": {"torch": "881 MB", "keras-torch": "650 MB", "keras-jax": "594 MB", "sklearn": "358 MB",
                "numpy": "615 MB"},
    "mem-cnn": {"torch": "962 MB", "keras-torch": "927 MB", "keras-jax": "884 MB", "numpy": "745 MB"},
    "install": {"torch": "895 MB", "keras-torch": "1,236 MB", "keras-jax": "688 MB", "numpy": "98 MB"},
}
# Targets: (ratio netfit / PyTorch, "<=" or ">=") or an absolute bound.
TARGETS = {
    "mlp32": (0.3, "<="), "mlp128": (0.6, "<="), "mlp1024": (0.8, "<="), "cnn128": (1.0, "<="),
    "rescnn128": (1.0, "<="),                                                                # issue 22
    "predict-mlp": (1.0, ">="), "predict-cnn": (1.0, ">="),
    "mem-mlp": (0.7, "<="), "mem-cnn": (0.7, "<="),
}
INSTALL_TARGET_MB = 150
# Issue 22: the lecture MLP built as a graph (nf.Model) against the same MLP as a Sequential, netfit alone,
# interleaved in one worker: graph time / Sequential time per epoch at most this.
GRAPH_TARGET = 1.05
GRAPH_BATCH_SIZES = (32,)
ACCURACY_TARGET = 0.975  # test accuracy after 15 epochs at batch 32

# -- CPU scaling (issue 16): one thread against each side's default, netfit beside PyTorch --------
SCALING_SIDES = ("netfit", "netfit-fast", "torch")
SCALING = {"cnn128": ("CNN epoch, batch 128", {"arch": "cnn", "batch": 128}),
           "mlp1024": ("MLP epoch, batch 1024", {"arch": "mlp", "batch": 1024})}
# The issue's targets for netfit / PyTorch at default threads, by the machine's core count; on every
# machine netfit's 1 → default-threads speed-up should be at least PyTorch's own in the same run.
SCALING_TARGETS = {2: {"cnn128": 0.9}, 16: {"cnn128": 1.2, "mlp1024": 1.0}}
