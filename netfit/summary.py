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
    names = [f"{layer.name} ({type(layer).__name__})" for layer in model.layers]
    # Keras's widths, widened where a name or a shape would run into the next column.
    shapes = ["(None, " + ", ".join(map(str, layer.output_shape)) + ")" for layer in model.layers]
    columns = [("Layer (type)", max([29] + [len(n) + 2 for n in names])),
               ("Output Shape", max([26] + [len(s) + 2 for s in shapes])), ("Param #", 10)]
    if links:
        columns.append(("Links", 10))
    width = width or sum(w for _, w in columns)

    def row(values):
        return " " + "".join(f"{v:<{w}}" for v, (_, w) in zip(values, columns)).rstrip()[:width]

    lines = [f'Model: "{model.name}"', "_" * width, row([name for name, _ in columns]), "=" * width]
    for k, layer in enumerate(model.layers):
        values = [names[k], shapes[k], f"{layer.count_params():,}"]
        if links:
            values.append(f"{layer.count_links():,}")
        lines.append(row(values))
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
