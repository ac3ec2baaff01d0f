"""Export a model to ONNX, to run it with onnxruntime, in a browser, or on a phone.

``to_onnx(model, "model.onnx")`` writes one ONNX graph (opset 17) with input
``"input"`` of shape (N, *input_shape) and output ``"output"``, float32. It
needs the ``onnx`` package (``pip install 'netfit[onnx]'``); netfit itself
does not. Layer by layer:

=========================  ======================================================
netfit                     ONNX
=========================  ======================================================
Dense                      Gemm (MatMul without a bias)
activations                Relu, Sigmoid, Tanh, Softmax (last axis), Softplus,
                           Elu; gelu as ½ z (1 + Erf(z/√2)), gelu_tanh as its
                           formula in Mul/Add/Tanh; LeakyRelu, Selu, Softsign,
                           HardSigmoid; silu as Mul(z, Sigmoid(z)); scaled_tanh
                           as Mul/Tanh/Mul
Flatten, Reshape           Flatten, Reshape
Dropout                    nothing (the identity at prediction time)
Normalization              Sub and Div by constants μ, σ (Mul and Add inverted);
                           with ``input_dtype="float64"`` in double, then Cast
Conv2D                     Conv, with a Transpose from netfit's channels-last
                           layout to ONNX's NCHW (and back only where needed);
                           "same" padding as explicit pads, the odd pixel
                           bottom/right like netfit; per-unit biases as an Add;
                           a connection table as the full kernel, zero where
                           unconnected; a pad_value other than 0 as a Pad
                           (constant) before the Conv
MaxPooling2D               MaxPool (padding never wins, as in netfit)
AveragePooling2D           AveragePool, count_include_pad=0 (netfit's mean over
                           real pixels)
GlobalAveragePooling2D     GlobalAveragePool + Flatten
GlobalMaxPooling2D         GlobalMaxPool + Flatten
ZeroPadding2D              Pad (constant 0)
BatchNormalization         BatchNormalization with the moving statistics (after
                           Dense, or on channels-last images in NCHW); other
                           axes as the equivalent Mul + Add
LayerNormalization         LayerNormalization (opset 17), trailing axes only
RandomFourierFeatures      cos(x W/σ + b): MatMul by the constant W/σ, Add, Cos
LocallyConnected2D         its exact dense equivalent: a (H·W·C) × (P·filters)
                           MatMul that is zero outside each position's window;
                           refused (ValueError) when that matrix would exceed
                           16M entries, as ONNX has no locally connected op
=========================  ======================================================

Graph models (:class:`netfit.Model`) are exported node by node, a nested model's
nodes inlined, with the merge layers as ONNX's variadic ops: Add as Sum, Subtract as
Sub, Multiply as Mul, Average as Mean, Maximum as Max, Minimum as Min, Concatenate as
Concat (in netfit's layout); Dot is refused. One input and one output keep the names
``"input"`` and ``"output"``; several take the model's input and output names.
Rescaling is a Mul and an Add; the random augmentation layers are the identity, as
at prediction time.

A float64 model is exported in float32. ``model.metadata`` (e.g. the input
scaling that ``netfit train`` records) is copied into the ONNX metadata.
"""
import copy
import json
import math

import numpy as np

from ._version import __version__
from .files import atomic_write
from .graph import Graph

OPSET = 17
MAX_DENSE_EQUIVALENT = 1 << 24
_ELEMENTWISE = {"relu": "Relu", "sigmoid": "Sigmoid", "tanh": "Tanh", "softplus": "Softplus", "softsign": "Softsign"}


def to_onnx(model, path=None, opset=OPSET, input_dtype="float32"):
    """Convert ``model`` to an ONNX ``ModelProto``; with ``path``, also write it there (atomically).

    Parameters
    ----------
    model : Sequential
    path : str or os.PathLike, optional
    opset : int
        ONNX operator set, at least 13.
    input_dtype : {"float32", "float64"}
        The graph input's type. "float64" needs a first layer that standardises
        (an adapted :class:`~netfit.layers.Normalization`): it then computes
        (x − μ) / σ in double and casts to float after, as netfit does, so that
        inputs such as timestamps keep their precision (:mod:`netfit.precision`).

    Returns
    -------
    onnx.ModelProto

    Raises
    ------
    ImportError
        The onnx package is not installed.
    ValueError
        A layer or activation that ONNX cannot express (the message names it).

    Examples
    --------
    >>> from netfit import zoo
    >>> proto = to_onnx(zoo.lecture_mlp(seed=0))            # doctest: +SKIP
    >>> [node.op_type for node in proto.graph.node]         # doctest: +SKIP
    ['Flatten', 'Gemm', 'Relu', 'Gemm', 'Softmax']
    """
    try:
        import onnx
        from onnx import TensorProto, helper
    except ImportError:
        raise ImportError("netfit.export.to_onnx needs the onnx package: pip install 'netfit[onnx]'.") from None
    if not isinstance(opset, int) or opset < 13:
        raise ValueError(f"to_onnx: expected opset an integer >= 13, got {opset!r}.")
    model._ensure_built()
    if input_dtype not in ("float32", "float64"):
        raise ValueError(f"to_onnx: expected input_dtype 'float32' or 'float64', got {input_dtype!r}.")
    first = model.inputs[0].node.layer if len(model.inputs) == 1 else None
    readers = [layer for layer in model.layers if layer is not first][:1]
    if input_dtype == "float64" and not getattr(readers[0] if readers else None, "keeps_input_precision", False):
        raise ValueError("to_onnx: input_dtype='float64' needs an adapted Normalization as the first layer "
                         "(it standardises in double before the cast to float); export with input_dtype='float32'.")
    graph = _Graph(helper, onnx.numpy_helper)
    graph.opset = opset
    single = len(model.inputs) == 1 and len(model.outputs) == 1
    in_names = ["input"] if single else list(model.input_names)
    out_names = ["output"] if single else list(model.output_names)
    states = [_State(name, "nhwc", t.example_shape) for name, t in zip(in_names, model.inputs)]
    for state in states:
        state.double = input_dtype == "float64"
    for state, name in zip(_convert(graph, model, states), out_names):
        graph.add("Identity", [_netfit_layout(graph, state)], outputs=[name])

    def io_info(name, shape, kind=TensorProto.FLOAT):
        return helper.make_tensor_value_info(name, kind, ["N"] + list(shape))
    input_kind = TensorProto.DOUBLE if input_dtype == "float64" else TensorProto.FLOAT
    onnx_graph = helper.make_graph(graph.nodes, model.name,
                                   [io_info(n, t.example_shape, input_kind) for n, t in zip(in_names, model.inputs)],
                                   [io_info(n, t.example_shape) for n, t in zip(out_names, model.outputs)],
                                   graph.initializers)
    proto = helper.make_model(onnx_graph, producer_name="netfit", producer_version=__version__,
                              opset_imports=[helper.make_opsetid("", opset)])
    proto.ir_version = 8                       # opset 17's IR version: readable by older runtimes too
    for key, value in (getattr(model, "metadata", None) or {}).items():
        entry = proto.metadata_props.add()
        entry.key, entry.value = str(key), json.dumps(value)
    onnx.checker.check_model(proto)
    if path is not None:
        data = proto.SerializeToString()
        atomic_write(path, lambda handle: handle.write(data), "to_onnx")
    return proto


def _convert(graph, model, states):
    """The states of ``model``'s outputs from those of its inputs: every node converted in order, nested models
    inlined; a tensor read by several nodes gives each a copy of its state (converters change theirs)."""
    walk = model._graph if hasattr(model, "_graph") else Graph(model.inputs, model.outputs, "to_onnx")
    values = {id(t): s for t, s in zip(walk.inputs, states)}
    for node in walk.nodes:
        layer, inputs = node.layer, [copy.copy(values[id(t)]) for t in node.inputs]
        if hasattr(layer, "_graph_layers"):            # a model used as a layer
            outputs = _convert(graph, layer, inputs)
        elif layer.multiple_inputs:
            merge = _MERGES.get(type(layer).__name__)
            if merge is None:
                raise ValueError(f"to_onnx: cannot export layer {layer.display_name!r} ({type(layer).__name__}); "
                                 f"merges supported: {', '.join(sorted(_MERGES))}.")
            outputs = [merge(graph, layer, inputs)]
        else:
            converter = _CONVERTERS.get(type(layer).__name__)
            if converter is None:
                raise ValueError(f"to_onnx: cannot export layer {layer.display_name!r} ({type(layer).__name__}); "
                                 f"supported: {', '.join(sorted(_CONVERTERS))}.")
            state = converter(graph, layer, inputs[0])
            state.shape = tuple(node.outputs[0].example_shape)
            outputs = [state]
        for t, state in zip(node.outputs, outputs):
            values[id(t)] = state
    return [values[id(t)] for t in walk.outputs]


def _merge(op, scale=None):
    """A merge layer as one ONNX op over its inputs in netfit's layout (Average: Mean)."""
    def convert(graph, layer, states):
        names = [_netfit_layout(graph, s) for s in states]
        out = states[0]
        if op == "Concat":
            out.name = graph.add("Concat", names, axis=int(layer.axis))
        else:
            out.name = graph.add(op, names)
        out.layout = "nhwc"
        return out
    return convert


def _rescaling(graph, layer, state):
    """a = x · scale + offset."""
    x = _netfit_layout(graph, state)
    scaled = graph.add("Mul", [x, graph.const("scale", np.asarray(layer.scale, np.float32))])
    state.name = graph.add("Add", [scaled, graph.const("offset", np.asarray(layer.offset, np.float32))])
    return state


class _State:
    """The tensor flowing between layers: its name, layout ("nhwc": netfit's, or "nchw") and netfit shape."""

    def __init__(self, name, layout, shape):
        self.name, self.layout, self.shape = name, layout, shape
        self.double = False                        # a float64 graph input, until the first layer casts it


class _Graph:
    """Collects nodes and initializers, naming every tensor uniquely."""

    def __init__(self, helper, numpy_helper):
        self.helper, self.numpy_helper = helper, numpy_helper
        self.nodes, self.initializers, self.count = [], [], 0

    def fresh(self, hint):
        self.count += 1
        return f"{hint}_{self.count}"

    def const(self, hint, value, dtype=np.float32):
        name = self.fresh(hint)
        self.initializers.append(self.numpy_helper.from_array(np.asarray(value, dtype), name))
        return name

    def add(self, op, inputs, outputs=None, **attrs):
        outputs = outputs or [self.fresh(op.lower())]
        self.nodes.append(self.helper.make_node(op, inputs, outputs, **attrs))
        return outputs[0]


def _netfit_layout(graph, state):
    """The tensor in netfit's layout (channels last; no channel axis for 2-D images)."""
    if state.layout == "nhwc":
        return state.name
    if len(state.shape) == 2:                                  # (n, 1, h, w) -> (n, h, w)
        name = graph.add("Squeeze", [state.name, graph.const("axes", [1], np.int64)])
    else:
        name = graph.add("Transpose", [state.name], perm=[0, 2, 3, 1])
    state.name, state.layout = name, "nhwc"
    return name


def _nchw(graph, state):
    """The tensor as ONNX images (n, C, H, W)."""
    if state.layout == "nchw":
        return state.name
    if len(state.shape) == 2:                                  # (n, h, w) -> (n, 1, h, w)
        return graph.add("Unsqueeze", [state.name, graph.const("axes", [1], np.int64)])
    return graph.add("Transpose", [state.name], perm=[0, 3, 1, 2])


def _activate(graph, layer, state):
    name = layer.activation.name
    if name == "linear":
        return state
    if name in _ELEMENTWISE:
        state.name = graph.add(_ELEMENTWISE[name], [state.name])
    elif name == "scaled_tanh":            # A tanh(S z)
        act = layer.activation
        t = graph.add("Tanh", [graph.add("Mul", [state.name, graph.const("s", act.S)])])
        state.name = graph.add("Mul", [t, graph.const("a", act.A)])
    elif name == "elu":
        state.name = graph.add("Elu", [state.name], alpha=float(layer.activation.alpha))
    elif name.startswith("leaky_relu"):
        state.name = graph.add("LeakyRelu", [state.name], alpha=float(layer.activation.negative_slope))
    elif name == "selu":
        state.name = graph.add("Selu", [state.name], alpha=float(layer.activation.alpha),
                               gamma=float(layer.activation.scale))
    elif name == "silu":                   # z · sigmoid(z)
        state.name = graph.add("Mul", [state.name, graph.add("Sigmoid", [state.name])])
    elif name == "hard_sigmoid":           # clip(z/6 + ½, 0, 1): Keras 3's relu6(z + 3)/6
        state.name = graph.add("HardSigmoid", [state.name], alpha=1.0 / 6.0, beta=0.5)
    elif name == "softmax":
        state.name = graph.add("Softmax", [_netfit_layout(graph, state)], axis=-1)
    elif name == "gelu":                   # z Φ(z) = ½ z (1 + erf(z / √2))
        z = state.name
        erf = graph.add("Erf", [graph.add("Mul", [z, graph.const("c", 1 / math.sqrt(2))])])
        half_z = graph.add("Mul", [z, graph.const("half", 0.5)])
        state.name = graph.add("Mul", [half_z, graph.add("Add", [erf, graph.const("one", 1.0)])])
    elif name == "gelu_tanh":              # ½ z (1 + tanh(√(2/π) (z + 0.044715 z³)))
        z = state.name
        cube = graph.add("Mul", [graph.add("Mul", [z, z]), z])
        inner = graph.add("Add", [z, graph.add("Mul", [cube, graph.const("c", 0.044715)])])
        t = graph.add("Tanh", [graph.add("Mul", [inner, graph.const("c", math.sqrt(2 / math.pi))])])
        half_z = graph.add("Mul", [z, graph.const("half", 0.5)])
        state.name = graph.add("Mul", [half_z, graph.add("Add", [t, graph.const("one", 1.0)])])
    else:
        raise ValueError(f"to_onnx: layer {layer.display_name!r}: cannot export activation {name!r}.")
    return state


def _dense(graph, layer, state):
    x = _netfit_layout(graph, state)
    kernel = graph.const("kernel", layer.params["kernel"])
    if layer.use_bias:
        state.name = graph.add("Gemm", [x, kernel, graph.const("bias", layer.params["bias"])])
    else:
        state.name = graph.add("MatMul", [x, kernel])
    return _activate(graph, layer, state)


def _flatten(graph, layer, state):
    state.name = graph.add("Flatten", [_netfit_layout(graph, state)], axis=1)
    return state


def _reshape(graph, layer, state):
    shape = graph.const("shape", [-1] + list(layer.output_shape), np.int64)
    state.name = graph.add("Reshape", [_netfit_layout(graph, state), shape])
    return state


def _normalization(graph, layer, state):
    """a = (x − μ) / σ as Sub and Div (x σ + μ as Mul and Add when inverted); σ = 1 where σ ≤ ε, as netfit."""
    if not layer.is_adapted:
        return state                                           # netfit passes the inputs through unchanged
    shape = (1,) + layer._stats_shape(layer.input_shape, layer.display_name)
    if layer.mean.size == 1:
        shape = (1,) * len(shape)
    sd = np.sqrt(layer.variance)
    sd = np.where(sd > layer.epsilon, sd, 1.0).reshape(shape)
    dtype = np.float64 if state.double else np.float32
    mean, sd = graph.const("mean", layer.mean.reshape(shape), dtype), graph.const("sd", sd, dtype)
    x = _netfit_layout(graph, state)
    if layer.invert:
        state.name = graph.add("Add", [graph.add("Mul", [x, sd]), mean])
    else:
        state.name = graph.add("Div", [graph.add("Sub", [x, mean]), sd])
    if state.double:                                           # standardised in double, now float like the rest
        state.name, state.double = graph.add("Cast", [state.name], to=1), False       # 1 = TensorProto.FLOAT
    state.layout = "nhwc"
    return state


def _identity(graph, layer, state):
    return state


def _activation(graph, layer, state):
    return _activate(graph, layer, state)


def _pads(win):
    return [win.top, win.left, win.bottom, win.right]


def _conv(graph, layer, state):
    win = layer._win
    kernel = graph.const("kernel", layer.full_kernel().transpose(3, 2, 0, 1))      # (f, c, kh, kw)
    x, pads = _nchw(graph, state), _pads(win)
    if win.padded and layer.pad_value != 0:          # ONNX's Conv pads with 0: pad with the value first
        begin, end = [0, 0, win.top, win.left], [0, 0, win.bottom, win.right]
        x = graph.add("Pad", [x, graph.const("pads", begin + end, np.int64),
                              graph.const("value", np.float32(layer.pad_value))], mode="constant")
        pads = [0, 0, 0, 0]
    inputs = [x, kernel]
    if layer.use_bias and layer.bias == "shared":
        inputs.append(graph.const("bias", layer.params["bias"]))
    name = graph.add("Conv", inputs, kernel_shape=[win.kh, win.kw], strides=[win.sh, win.sw], pads=pads)
    if layer.use_bias and layer.bias == "per_unit":                                   # (out_h, out_w, f) -> (f, ...)
        name = graph.add("Add", [name, graph.const("bias", layer.params["bias"].transpose(2, 0, 1))])
    state.name, state.layout, state.shape = name, "nchw", tuple(layer.output_shape)
    return _activate(graph, layer, state)


def _pool(op, **extra):
    def convert(graph, layer, state):
        win = layer._win
        state.name = graph.add(op, [_nchw(graph, state)], kernel_shape=[win.kh, win.kw],
                               strides=[win.sh, win.sw], pads=_pads(win), **extra)
        state.layout = "nchw"
        return state
    return convert


def _global_average(graph, layer, state):
    pooled = graph.add("GlobalAveragePool", [_nchw(graph, state)])
    state.name, state.layout = graph.add("Flatten", [pooled], axis=1), "nhwc"
    return state


def _locally_connected(graph, layer, state):
    matrix = dense_equivalent(layer)
    x = graph.add("Flatten", [_netfit_layout(graph, state)], axis=1)
    z = graph.add("MatMul", [x, graph.const("kernel", matrix)])
    if layer.use_bias:
        z = graph.add("Add", [z, graph.const("bias", layer.params["bias"].reshape(-1))])
    state.name = graph.add("Reshape", [z, graph.const("shape", [-1] + list(layer.output_shape), np.int64)])
    return _activate(graph, layer, state)


def _batch_normalization(graph, layer, state):
    """BatchNormalization (prediction mode) as ONNX's op where the channel axis fits it, else as x·k + b."""
    shape, axes = tuple(layer.input_shape), layer._param_axes(layer.input_shape)
    c = layer._shape
    gamma = layer.params["gamma"] if layer.scale else np.ones(c)
    beta = layer.params["beta"] if layer.center else np.zeros(c)
    mean, var = layer.params["moving_mean"], layer.params["moving_variance"]
    if axes == (len(shape) - 1,) and len(shape) in (1, 3):           # features (N, C), or channels-last images
        x = _netfit_layout(graph, state) if len(shape) == 1 else _nchw(graph, state)
        state.name = graph.add("BatchNormalization", [x] + [graph.const(hint, v) for hint, v in (
            ("gamma", gamma), ("beta", beta), ("moving_mean", mean), ("moving_variance", var))],
            epsilon=float(layer.epsilon))
        state.layout = "nhwc" if len(shape) == 1 else "nchw"
        return state
    # Any other axis: a = x · γ/√(σ̄² + ε) + (β − μ̄ γ/√(σ̄² + ε)), broadcast in netfit's layout.
    k = np.asarray(gamma, np.float64) / np.sqrt(np.asarray(var, np.float64) + layer.epsilon)
    b = np.asarray(beta, np.float64) - np.asarray(mean, np.float64) * k
    x = _netfit_layout(graph, state)
    scaled = graph.add("Mul", [x, graph.const("scale", k.reshape(layer._bshape))])
    state.name = graph.add("Add", [scaled, graph.const("shift", b.reshape(layer._bshape))])
    return state


def _layer_normalization(graph, layer, state):
    """LayerNormalization as ONNX's LayerNormalization (opset 17) over the trailing axes."""
    shape, axes = tuple(layer.input_shape), layer._param_axes(layer.input_shape)
    if axes != tuple(range(axes[0], len(shape))):
        raise ValueError(f"to_onnx: layer {layer.display_name!r} (LayerNormalization) normalizes over axes "
                         f"{layer.axis}, not the trailing ones; ONNX's LayerNormalization cannot express it.")
    if graph.opset < 17:
        raise ValueError(f"to_onnx: layer {layer.display_name!r} (LayerNormalization) needs opset >= 17, "
                         f"got {graph.opset}.")
    c = layer._shape
    gamma = layer.params["gamma"] if layer.scale else np.ones(c)
    beta = layer.params["beta"] if layer.center else np.zeros(c)
    state.name = graph.add("LayerNormalization", [_netfit_layout(graph, state), graph.const("gamma", gamma),
                                                  graph.const("beta", beta)],
                           axis=axes[0] + 1, epsilon=float(layer.epsilon))
    return state


def _zero_padding(graph, layer, state):
    (top, bottom), (left, right) = layer.padding
    if state.layout == "nchw":
        pads = [0, 0, top, left, 0, 0, bottom, right]
    else:
        rank = len(state.shape) + 1
        pads = [0, top, left] + [0] * (rank - 3) + [0, bottom, right] + [0] * (rank - 3)
    state.name = graph.add("Pad", [state.name, graph.const("pads", pads, np.int64)], mode="constant")
    return state


def _random_features(graph, layer, state):
    """a = cos(x (W/σ) + b), W/σ folded into one constant."""
    kernel = layer.params["unscaled_kernel"] / layer.params["kernel_scale"][0]
    z = graph.add("MatMul", [_netfit_layout(graph, state), graph.const("kernel", kernel)])
    state.name = graph.add("Cos", [graph.add("Add", [z, graph.const("bias", layer.params["bias"])])])
    return state


def _global_max(graph, layer, state):
    pooled = graph.add("GlobalMaxPool", [_nchw(graph, state)])
    state.name, state.layout = graph.add("Flatten", [pooled], axis=1), "nhwc"
    return state


def dense_equivalent(layer):
    """The matrix M with z = x.reshape(n, -1) @ M + b for a LocallyConnected2D layer.

    Row (h·W + w)·C + c (the input pixel), column p·filters + f (output unit f at
    position p): the weight of window p at that pixel, 0 outside the window.

    Shapes
    ------
    layer (H, W[, C]) -> (out_h, out_w, f)  gives  M : (H·W·C, out_h·out_w·f), float32
    """
    win, f = layer._win, layer.filters
    size = win.h * win.w * win.c * win.positions * f
    if size > MAX_DENSE_EQUIVALENT:
        raise ValueError(f"to_onnx: layer {layer.display_name!r} (LocallyConnected2D) has no ONNX operator, and "
                         f"its dense equivalent would have {size:,} entries (limit {MAX_DENSE_EQUIVALENT:,}); "
                         f"export a model with smaller locally connected layers or use Conv2D.")
    p_i, p_j, u, v, c = np.meshgrid(np.arange(win.out_h), np.arange(win.out_w), np.arange(win.kh),
                                    np.arange(win.kw), np.arange(win.c), indexing="ij")
    rows, cols = p_i * win.sh + u - win.top, p_j * win.sw + v - win.left           # the pixel each weight reads
    inside = (rows >= 0) & (rows < win.h) & (cols >= 0) & (cols < win.w)
    pixel = ((rows * win.w + cols) * win.c + c)[inside]
    position = (p_i * win.out_w + p_j)[inside]
    offset = ((u * win.kw + v) * win.c + c)[inside]                               # the kernel's (u, v, c) row
    matrix = np.zeros((win.h * win.w * win.c, win.positions, f), np.float32)
    matrix[pixel, position] = layer.params["kernel"][position, offset]
    return matrix.reshape(len(matrix), -1)


_CONVERTERS = {
    "Dense": _dense, "Flatten": _flatten, "Reshape": _reshape, "Dropout": _identity, "Activation": _activation,
    "Conv2D": _conv, "MaxPooling2D": _pool("MaxPool"), "AveragePooling2D": _pool("AveragePool", count_include_pad=0),
    "GlobalAveragePooling2D": _global_average, "LocallyConnected2D": _locally_connected,
    "Normalization": _normalization,
}
_CONVERTERS.update({"BatchNormalization": _batch_normalization, "LayerNormalization": _layer_normalization,
                    "ZeroPadding2D": _zero_padding, "GlobalMaxPooling2D": _global_max, "Rescaling": _rescaling,
                    "RandomFourierFeatures": _random_features})
# Activation layers are their activation; the random augmentations are the identity at prediction time.
_CONVERTERS.update(dict.fromkeys(("ReLU", "LeakyReLU", "ELU", "Softmax"), _activation))
_CONVERTERS.update(dict.fromkeys(("RandomFlip", "RandomRotation", "RandomZoom", "RandomTranslation",
                                  "RandomContrast"), _identity))
_MERGES = {"Add": _merge("Sum"), "Subtract": _merge("Sub"), "Multiply": _merge("Mul"), "Average": _merge("Mean"),
           "Maximum": _merge("Max"), "Minimum": _merge("Min"), "Concatenate": _merge("Concat")}
