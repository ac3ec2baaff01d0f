"""The Keras-style summary table of a model."""


def format_summary(model, links=False, width=None):
    """Return the table: layer (type), output shape, parameters, optionally links.

    Examples
    --------
    >>> import netfit as nf
    >>> from netfit.layers import Dense
    >>> print(format_summary(nf.Sequential([Dense(2, input_shape=(3,))])))  # doctest: +NORMALIZE_WHITESPACE
    Model: "sequential"
    _________________________________________________________________
     Layer (type)                Output Shape              Param #
    =================================================================
     dense (Dense)               (None, 2)                 8
    <BLANKLINE>
    =================================================================
    Total params: 8
    Trainable params: 8
    Non-trainable params: 0
    _________________________________________________________________
    """
    model._ensure_built()
    graph = getattr(model, "_graph", None)          # a graph model; a Sequential is a chain (no column)
    names = [f"{layer.name} ({type(layer).__name__})" for layer in model.layers]
    # Keras's widths, widened where a name or a shape would run into the next column.
    shapes = [_shape_text(layer) for layer in model.layers]
    columns = [("Layer (type)", max([29] + [len(n) + 2 for n in names])),
               ("Output Shape", max([26] + [len(s) + 2 for s in shapes])), ("Param #", 10)]
    if links:
        columns.append(("Links", 10))
    connected = [_connected(layer, graph) for layer in model.layers] if graph is not None else None
    if connected is not None:
        columns.append(("Connected to", max([20] + [len(c) + 2 for lines in connected for c in lines])))
    width = width or sum(w for _, w in columns)

    def row(values):
        return " " + "".join(f"{v:<{w}}" for v, (_, w) in zip(values, columns)).rstrip()[:width]

    lines = [f'Model: "{model.name}"', "_" * width, row([name for name, _ in columns]), "=" * width]
    for k, layer in enumerate(model.layers):
        values = [names[k], shapes[k], f"{layer.count_params():,}"]
        if links:
            values.append(f"{layer.count_links():,}")
        if connected is not None:
            values.append(connected[k][0])
        lines.append(row(values))
        for more in (connected[k][1:] if connected is not None else ()):
            lines.append(row([""] * (len(columns) - 1) + [more]))      # one line per inbound tensor
        lines.append("")
    total = model.count_params()
    # Frozen layers' weights, and the weights a layer lists in ``non_trainable`` (BatchNormalization's
    # moving statistics), as Keras counts them: the rule of Layer.trainable_flags.
    frozen = sum(spec.size for layer in model.layers
                 for spec, trained in zip(layer.specs, layer.trainable_flags()) if not trained)
    lines += ["=" * width, f"Total params: {total:,}", f"Trainable params: {total - frozen:,}",
              f"Non-trainable params: {frozen:,}"]
    if links:
        lines.append(f"Total links: {model.count_links():,}")
    lines.append("_" * width)
    return "\n".join(lines)


def _shape_text(layer):
    """A layer's output shape with the batch axis, ``(None, 28, 28)``; a model's several outputs as a list."""
    shapes = layer._output_shapes() if hasattr(layer, "_output_shapes") and layer.built else [layer.output_shape]
    texts = ["(None, " + ", ".join(map(str, shape)) + ")" for shape in shapes if shape is not None]
    return texts[0] if len(texts) == 1 else "[" + ", ".join(texts) + "]"


def _connected(layer, graph):
    """Keras's "Connected to": ``name[node][tensor]`` of each tensor each call of ``layer`` in ``graph`` reads."""
    lines = []
    for node in graph.nodes:
        if node.layer is layer:
            lines += [f"{t.node.layer.name}[{t.node.layer._nodes.index(t.node)}][{t.index}]" for t in node.inputs]
    return lines or ["-"]
