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
                           Elu; gelu as its tanh formula in Mul/Add/Tanh;
                           scaled_tanh as Mul/Tanh/Mul
Flatten, Reshape           Flatten, Reshape
Dropout                    nothing (the identity at prediction time)
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
LocallyConnected2D         its exact dense equivalent: a (H·W·C) × (P·filters)
                           MatMul that is zero outside each position's window;
                           refused (ValueError) when that matrix would exceed
                           16M entries, as ONNX has no locally connected op
=========================  ======================================================

A float64 model is exported in float32. ``model.metadata`` (e.g. the input
scaling that ``netfit train`` records) is copied into the ONNX metadata.
"""
import json
import math

import numpy as np

OPSET = 17
MAX_DENSE_EQUIVALENT = 1 << 24
_ELEMENTWISE = {"relu": "Relu", "sigmoid": "Sigmoid", "tanh": "Tanh", "softplus": "Softplus"}


def to_onnx(model, path=None, opset=OPSET):
    """Convert ``model`` to an ONNX ``ModelProto``; with ``path``, also write it there (atomically).

    Parameters
    ----------
    model : Sequential
    path : str or os.PathLike, optional
    opset : int
        ONNX operator set, at least 13.

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
    graph = _Graph(helper, onnx.numpy_helper)
    state = _State("input", "nhwc", tuple(model.layers[0].input_shape))
    for layer in model.layers:
        converter = _CONVERTERS.get(type(layer).__name__)
        if converter is None:
            raise ValueError(f"to_onnx: cannot export layer {layer.display_name!r} ({type(layer).__name__}); "
                             f"supported: {', '.join(sorted(_CONVERTERS))}.")
        state = converter(graph, layer, state)
        state.shape = tuple(layer.output_shape)
    graph.add("Identity", [_netfit_layout(graph, state)], outputs=["output"])

    def io_info(name, shape):
        return helper.make_tensor_value_info(name, TensorProto.FLOAT, ["N"] + list(shape))
    onnx_graph = helper.make_graph(graph.nodes, model.name, [io_info("input", model.layers[0].input_shape)],
                                   [io_info("output", model.layers[-1].output_shape)], graph.initializers)
    from . import __version__
    proto = helper.make_model(onnx_graph, producer_name="netfit", producer_version=__version__,
                              opset_imports=[helper.make_opsetid("", opset)])
    proto.ir_version = 8                       # opset 17's IR version: readable by older runtimes too
    for key, value in (getattr(model, "metadata", None) or {}).items():
        entry = proto.metadata_props.add()
        entry.key, entry.value = str(key), json.dumps(value)
    onnx.checker.check_model(proto)
    if path is not None:
        from .io import atomic_write
        data = proto.SerializeToString()
        atomic_write(path, lambda handle: handle.write(data), "to_onnx")
    return proto


class _State:
    """The tensor flowing between layers: its name, layout ("nhwc": netfit's, or "nchw") and netfit shape."""

    def __init__(self, name, layout, shape):
        self.name, self.layout, self.shape = name, layout, shape


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
    elif name == "softmax":
        state.name = graph.add("Softmax", [_netfit_layout(graph, state)], axis=-1)
    elif name == "gelu":                   # ½ z (1 + tanh(√(2/π) (z + 0.044715 z³)))
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
}
