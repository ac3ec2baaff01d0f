"""``plot_model``: a picture of a model's graph, drawn with matplotlib (Keras's ``keras.utils.plot_model``).

Keras draws with pydot and the Graphviz program; netfit draws the same picture with
matplotlib (the ``plot`` extra), so nothing outside Python is needed: one box per
layer ("name: Class", optionally its input and output shapes), in rows by depth
(the longest path from an input), and one arrow per tensor a layer reads. A layer
called at several places is one box with an arrow for each call, as in Keras.
"""
from .figures import finish, new_figure, require_matplotlib
from .layers.input import InputLayer

__all__ = ["plot_model"]


def plot_model(model, to_file="model.png", show_shapes=False, show_dtype=False, show_layer_names=True,
               rankdir="TB", expand_nested=False, dpi=200, show_layer_activations=False, show_trainable=False,
               **kwargs):
    """Draw ``model``'s layers and the tensors between them; save to ``to_file`` (PNG, PDF, SVG by its suffix).

    Arguments as Keras's ``plot_model`` (``rankdir`` "TB" top to bottom or "LR" left to
    right); ``expand_nested=True`` is not offered (a nested model is one box). Returns
    the matplotlib Figure; ``to_file=None`` saves nothing.

    Raises
    ------
    ImportError
        matplotlib is not installed: ``pip install 'netfit[plot]'``.
    ValueError
        ``rankdir`` other than "TB" or "LR"; ``expand_nested=True``.
    TypeError
        ``model`` is not a netfit model; an argument Keras's plot_model does not have.

    Examples
    --------
    >>> import netfit as nf
    >>> from netfit.layers import Add, Dense
    >>> x = nf.Input(shape=(4,))
    >>> h = Dense(4)(x)
    >>> figure = plot_model(nf.Model(x, Add()([x, h])), to_file=None, show_shapes=True)
    >>> len(figure.axes[0].patches) >= 3                  # three boxes: input, dense, add
    True
    """
    if kwargs:
        raise TypeError(f"plot_model: unexpected argument(s) {sorted(kwargs)}; Keras's are to_file, show_shapes, "
                        f"show_dtype, show_layer_names, rankdir, expand_nested, dpi, show_layer_activations, "
                        f"show_trainable.")
    if not hasattr(model, "layers") or not hasattr(model, "_ensure_built"):
        raise TypeError(f"plot_model: expected a netfit model, got {type(model).__name__}.")
    if rankdir not in ("TB", "LR"):
        raise ValueError(f"plot_model: expected rankdir 'TB' or 'LR', got {rankdir!r}.")
    if expand_nested:
        raise ValueError("plot_model: expand_nested=True is not offered; a nested model is drawn as one box "
                         "(plot it on its own: plot_model(inner_model)).")
    require_matplotlib("plot_model")
    from matplotlib.patches import FancyArrowPatch, FancyBboxPatch
    boxes, edges = _structure(model)
    depth = _depths(boxes, edges)
    rows = {}
    for layer in boxes:
        rows.setdefault(depth[id(layer)], []).append(layer)
    labels = {id(layer): _label(layer, show_shapes, show_dtype, show_layer_names, show_layer_activations,
                                show_trainable) for layer in boxes}
    width = max(len(line) for text in labels.values() for line in text.split("\n"))
    lines = max(text.count("\n") + 1 for text in labels.values())
    box_w, box_h = 0.11 * width + 0.4, 0.32 * lines + 0.3
    place = {}
    for d, row in rows.items():
        for i, layer in enumerate(row):
            across = (i - (len(row) - 1) / 2) * (box_w + 0.6)
            down = -d * (box_h + 0.8)
            place[id(layer)] = (across, down) if rankdir == "TB" else (-down, -across)
    xs, ys = [p[0] for p in place.values()], [p[1] for p in place.values()]
    figure = new_figure((max(xs) - min(xs) + box_w + 1, max(ys) - min(ys) + box_h + 1), "plot_model", layout=None)
    axes = figure.add_axes([0, 0, 1, 1])
    axes.set_xlim(min(xs) - box_w / 2 - 0.5, max(xs) + box_w / 2 + 0.5)
    axes.set_ylim(min(ys) - box_h / 2 - 0.5, max(ys) + box_h / 2 + 0.5)
    axes.axis("off")
    for layer in boxes:
        cx, cy = place[id(layer)]
        axes.add_patch(FancyBboxPatch((cx - box_w / 2, cy - box_h / 2), box_w, box_h, boxstyle="round,pad=0.05",
                                      facecolor="#eef3fb" if isinstance(layer, InputLayer) else "white",
                                      edgecolor="#333333"))
        axes.text(cx, cy, labels[id(layer)], ha="center", va="center", family="monospace", fontsize=9)
    for source, target in edges:
        (x0, y0), (x1, y1) = place[id(source)], place[id(target)]
        if rankdir == "TB":
            start, end = (x0, y0 - box_h / 2), (x1, y1 + box_h / 2)
        else:
            start, end = (x0 + box_w / 2, y0), (x1 - box_w / 2, y1)
        axes.add_patch(FancyArrowPatch(start, end, arrowstyle="-|>", mutation_scale=12, color="#333333",
                                       connectionstyle="arc3,rad=0.0" if x0 == x1 or y0 == y1 else "arc3,rad=0.08"))
    return finish(figure, to_file, dpi=dpi)


def _structure(model):
    """(layers to draw, [(source layer, target layer)] one per tensor read)."""
    model._ensure_built()
    graph = getattr(model, "_graph", None)
    if graph is None:                                  # a Sequential: its chain, led by its input
        chain = [model.inputs[0].node.layer] + list(model.layers)
        return chain, list(zip(chain, chain[1:]))
    edges = [(t.node.layer, node.layer) for node in graph.nodes for t in node.inputs]
    return list(model.layers), edges


def _depths(boxes, edges):
    """Each layer's row: the longest path to it from an input (edges come in an order that runs)."""
    depth = {id(layer): 0 for layer in boxes}
    for _ in boxes:                                    # a DAG: as many rounds as layers settle every depth
        changed = False
        for source, target in edges:
            if depth[id(target)] < depth[id(source)] + 1:
                depth[id(target)] = depth[id(source)] + 1
                changed = True
        if not changed:
            break
    return depth


def _input_shapes(layer):
    """A layer's per-example input shapes (a model's: its inputs')."""
    if hasattr(layer, "_graph"):
        return [t.example_shape for t in layer.inputs]
    shape = getattr(layer, "_declared_input_shape", None)
    shape = shape() if shape is not None else layer.input_shape
    return shape if isinstance(shape, list) else [shape]


def _batch(shapes):
    """(None, ...) for one shape, a list of them for several."""
    texts = [(None,) + tuple(shape) for shape in shapes]
    return texts[0] if len(texts) == 1 else texts


def _label(layer, shapes, dtype, names, activations, trainable):
    kind = type(layer).__name__
    text = f"{layer.name}: {kind}" if names else kind
    activation = getattr(getattr(layer, "activation", None), "name", None)
    if activations and activation:
        text += f"\nactivation: {activation}"
    if shapes:
        if not isinstance(layer, InputLayer):
            text += f"\ninput: {_batch(_input_shapes(layer))}"
        text += f"\noutput: {_batch(layer._output_shapes())}"
    if dtype:
        params = getattr(layer, "params", {})
        text += f"\ndtype: {next(iter(params.values())).dtype if params else 'float32'}"
    if trainable:
        text += f"\ntrainable: {layer.trainable}"
    return text
