"""The Keras-style summary table of a model: text for a terminal, HTML for a notebook."""
from html import escape


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
    title, columns, rows, totals = _table(model, links)
    widths = [max([29] + [len(r[0]) + 2 for r in rows]), max([26] + [len(r[1]) + 2 for r in rows]), 10]
    widths += [10] * links
    if "Connected to" in columns:
        widths.append(max([20] + [len(c) + 2 for r in rows for c in r[-1]]))
    width = width or sum(widths)

    def row(values):
        return " " + "".join(f"{v:<{w}}" for v, w in zip(values, widths)).rstrip()[:width]

    lines = [title, "_" * width, row(columns), "=" * width]
    for r in rows:
        if "Connected to" in columns:
            lines.append(row(r[:-1] + [r[-1][0]]))
            lines += [row([""] * (len(columns) - 1) + [more]) for more in r[-1][1:]]  # one line per inbound tensor
        else:
            lines.append(row(r))
        lines.append("")
    lines += ["=" * width] + [f"{label}: {value:,}" for label, value in totals] + ["_" * width]
    return "\n".join(lines)


def format_summary_html(model, links=False):
    """The same table as :func:`format_summary`, as HTML for a notebook cell (``model.summary()`` in a kernel).

    Examples
    --------
    >>> import netfit as nf
    >>> from netfit.layers import Dense
    >>> html = format_summary_html(nf.Sequential([Dense(2, input_shape=(3,))]))
    >>> "<td>dense (Dense)</td><td>(None, 2)</td><td>8</td>" in html, "Total params: 8" in html
    (True, True)
    """
    title, columns, rows, totals = _table(model, links)
    head = "".join(f"<th>{escape(c)}</th>" for c in columns)
    body = "".join("<tr>" + "".join(f"<td>{'<br>'.join(map(escape, v)) if isinstance(v, list) else escape(v)}</td>"
                                    for v in r) + "</tr>" for r in rows)
    foot = "<br>".join(f"{label}: {value:,}" for label, value in totals)
    return (f'<div class="netfit-summary"><b>{escape(title)}</b>'
            f'<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>{foot}</div>')


def _table(model, links):
    """The summary's parts: title, column names, one row of texts per layer, (label, count) totals.

    A graph's rows end with the list of tensors the layer reads ("Connected to", Keras's column).
    """
    model._ensure_built()
    graph = getattr(model, "_graph", None)          # a graph model; a Sequential is a chain (no column)
    columns = ["Layer (type)", "Output Shape", "Param #"] + ["Links"] * links
    if graph is not None:
        columns.append("Connected to")
    rows = []
    for layer in model.layers:
        r = [f"{layer.name} ({type(layer).__name__})", _shape_text(layer), f"{layer.count_params():,}"]
        if links:
            r.append(f"{layer.count_links():,}")
        if graph is not None:
            r.append(_connected(layer, graph))
        rows.append(r)
    total = model.count_params()
    # Frozen layers' weights, and the weights a layer lists in ``non_trainable`` (BatchNormalization's
    # moving statistics), as Keras counts them: the rule of Layer.trainable_flags.
    frozen = sum(spec.size for layer in model.layers
                 for spec, trained in zip(layer.specs, layer.trainable_flags()) if not trained)
    totals = [("Total params", total), ("Trainable params", total - frozen), ("Non-trainable params", frozen)]
    if links:
        totals.append(("Total links", model.count_links()))
    return f'Model: "{model.name}"', columns, rows, totals


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
