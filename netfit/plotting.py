"""Pictures: the network itself, digit grids, training curves, confusion matrices, first-layer weights.

matplotlib is an optional extra (``pip install 'netfit[plot]'``), imported only
when a picture is asked for. Figures are built with matplotlib's
object-oriented API (:class:`matplotlib.figure.Figure`) rather than pyplot, so
nothing global changes: no backend is switched, no window opens and no figure
is left open, on a server, in CI or in a notebook alike. Every function returns
the Figure and, given ``path``, also writes it there (PNG, or any format
matplotlib knows from the suffix).

Examples
--------
>>> import netfit as nf
>>> from netfit.layers import Dense
>>> from netfit.plotting import plot_network
>>> model = nf.Sequential([Dense(3, activation="sigmoid", input_shape=(2,)), Dense(1)], seed=0)
>>> fig = plot_network(model)          # plot_network(model, "net.png") also writes the file
>>> fig.axes[0].get_title()
'sequential: 2-3-1, 13 weights'
"""
import math

import numpy as np

from .callbacks.curves import plot_history
from .figures import finish, new_figure, require_matplotlib  # noqa: F401 (require_matplotlib: the CLI checks first)
from .layers import Activation, Conv2D, Dense, Dropout, Flatten, LocallyConnected2D, Reshape
from .sequential import Sequential
from .utils import check_labels

__all__ = ["plot_network", "plot_digits", "plot_history", "plot_confusion_matrix", "plot_first_layer"]

# Weight colours: blue for positive, red for negative, the ends of the "RdBu" map
# that plot_first_layer uses.
_POSITIVE, _NEGATIVE = "#2166ac", "#b2182b"


def _check_model(model, where):
    if not isinstance(model, Sequential):
        raise TypeError(f"{where}: expected a netfit Sequential model, got {type(model).__name__}.")
    model._ensure_built()


# -- the network ------------------------------------------------------------------------------
def plot_network(model, path=None, *, style="auto", max_units=30, show_bias=True,
                 input_names=None, output_names=None):
    """Draw the network: units and weighted links for small dense nets, else a block diagram.

    ``style="graph"`` is the lecture's picture (ESL Figure 11.2, R's
    ``NeuralNetTools::plotnet``): inputs X, hidden units Z and outputs Y as
    circles, each weight a line whose width grows with |w| and whose colour
    gives its sign (blue positive, orange negative); a bias is a link from a
    "1" node. ``style="blocks"`` is one box per layer with its output shape and
    parameter count (like ``keras.utils.plot_model``). ``"auto"`` draws the
    graph when every layer with weights is Dense and no layer, the input
    included, has more than ``max_units`` units.

    Parameters
    ----------
    model : netfit.Sequential
    path : str or Path, optional
        Where to write the picture.
    style : {"auto", "graph", "blocks"}
    max_units : int
        Widest layer that "auto" still draws unit by unit.
    show_bias : bool
        Draw the bias nodes and their links (graph style).
    input_names, output_names : list of str, optional
        Labels written beside the input and output units (graph style).

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import netfit as nf
    >>> from netfit.layers import Conv2D, Dense, Flatten
    >>> cnn = nf.Sequential([Conv2D(4, 3, input_shape=(8, 8, 1)), Flatten(), Dense(10)])
    >>> fig = plot_network(cnn)        # too wide to draw unit by unit: a block diagram
    >>> [t.get_text() for t in fig.axes[0].texts if "params" in t.get_text()][0]
    'output (None, 6, 6, 4)   40 params'
    """
    where = "plot_network"
    _check_model(model, where)
    if style not in ("auto", "graph", "blocks"):
        raise ValueError(f"{where}: expected style 'auto', 'graph' or 'blocks', got {style!r}.")
    dense = _dense_stack(model)
    if style == "graph" and dense is None:
        raise ValueError(f"{where}: style='graph' draws nets of Dense layers only (Flatten, Dropout and "
                         f"Activation may sit between them); use style='blocks' for this model.")
    if style == "auto":
        sizes = None if dense is None else [dense[0].params["kernel"].shape[0]] + [d.units for d in dense]
        style = "graph" if sizes is not None and max(sizes) <= max_units else "blocks"
    if style == "graph":
        fig = _draw_graph(model, dense, show_bias, input_names, output_names)
    else:
        fig = _draw_blocks(model)
    return finish(fig, path, dpi=120)


def _dense_stack(model):
    """The Dense layers, if every layer with weights is one; else None."""
    dense = [layer for layer in model.layers if isinstance(layer, Dense)]
    plain = all(isinstance(layer, (Dense, Flatten, Dropout, Activation)) for layer in model.layers)
    return dense if dense and plain else None


def _unit_labels(prefix, n, layer_index=None):
    if layer_index is None:
        return [f"${prefix}_{{{j + 1}}}$" for j in range(n)]
    return [f"${prefix}^{{({layer_index})}}_{{{j + 1}}}$" for j in range(n)]


def _draw_graph(model, dense, show_bias, input_names, output_names):
    from matplotlib.collections import LineCollection
    from matplotlib.lines import Line2D

    sizes = [dense[0].params["kernel"].shape[0]] + [d.units for d in dense]
    depth, tallest = len(dense), max(sizes)
    height = float(np.clip(0.45 * tallest + 1.9, 3.2, 8.0))
    fig = new_figure((2.2 + 2.4 * depth, height), "plot_network")
    ax = fig.add_subplot()
    ax.set_axis_off()
    # Units sit one data unit apart; size circles, text and lines from that spacing in points.
    top = tallest / 2.0 + 0.4
    spacing = 72.0 * 0.88 * height / (2 * top + 1.5)
    diam = min(30.0, 0.72 * spacing)
    font = min(11.0, diam / 2.6)
    most_links = max(a * b for a, b in zip(sizes, sizes[1:]))
    widest = float(np.clip(4.5 * math.sqrt(40.0 / most_links), 1.0, 4.5))

    def ys(n):
        return (n - 1) / 2.0 - np.arange(n)

    xs = np.arange(depth + 1) * 2.4
    weights = [d.params["kernel"] for d in dense]
    biases = [d.params["bias"] if d.use_bias else None for d in dense]
    biggest = max([float(np.abs(w).max()) for w in weights] +
                  [float(np.abs(b).max()) for b in biases if b is not None and show_bias]) or 1.0

    def links(x0, y0, x1, y1, w):
        """One line per weight: width and opacity grow with |w|, colour gives the sign."""
        mag = np.abs(w) / biggest
        colors = [_rgba(_POSITIVE if v >= 0 else _NEGATIVE, 0.25 + 0.75 * m) for v, m in zip(w, mag)]
        segs = [((x0, a), (x1, b)) for a, b in zip(np.broadcast_to(y0, len(w)), y1)]
        return LineCollection(segs, linewidths=0.25 + widest * mag, colors=colors, zorder=1)

    for k, (w, b) in enumerate(zip(weights, biases)):
        y0, y1 = ys(sizes[k]), ys(sizes[k + 1])
        src, dst = np.repeat(y0, len(y1)), np.tile(y1, len(y0))        # kernel[l, m]: unit l -> unit m
        ax.add_collection(links(xs[k], src, xs[k + 1], dst, w.ravel()))
        if show_bias and b is not None:                                 # bias α_m0: a link from a "1"
            bx, by = xs[k] + 0.9, top
            coll = links(bx, by, xs[k + 1], y1, b)
            coll.set_linestyle((0, (3, 2)))
            ax.add_collection(coll)
            ax.scatter([bx], [by], s=max(0.6 * diam, 9.0) ** 2, facecolor="#eeeeee", edgecolor="#777777",
                       zorder=3)
            ax.text(bx, by, "1", ha="center", va="center", fontsize=max(font * 0.85, 6), color="#444444",
                    zorder=4)

    hidden_many = depth > 2
    for k, n in enumerate(sizes):
        if k == 0:
            labels, face, kind = _unit_labels("X", n), "#ffffff", "inputs"
        elif k == depth:
            labels, face, kind = _unit_labels("Y", n), "#dbe8f5", "outputs"
        else:
            labels, face, kind = _unit_labels("Z", n, k if hidden_many else None), "#fdf3d0", "hidden"
        y = ys(n)
        ax.scatter(np.full(n, xs[k]), y, s=diam ** 2, facecolor=face, edgecolor="#333333",
                   linewidth=1.2 if diam > 14 else 0.8, zorder=3)
        if font >= 5.5:
            for yy, label in zip(y, labels):
                ax.text(xs[k], yy, label, ha="center", va="center", fontsize=font, zorder=4)
        act = "" if k == 0 else _activation_name(model, dense[k - 1])
        ax.text(xs[k], -top - 0.1, f"{kind} ({n})" + (f"\n{act}" if act else ""), ha="center", va="top",
                fontsize=10)
    for names, k, side in ((input_names, 0, "right"), (output_names, depth, "left")):
        if names is None:
            continue
        if len(names) != sizes[k]:
            raise ValueError(f"plot_network: expected {sizes[k]} {'input' if k == 0 else 'output'}_names, "
                             f"got {len(names)}.")
        dx = -0.35 if side == "right" else 0.35
        for yy, name in zip(ys(sizes[k]), names):
            ax.text(xs[k] + dx, yy, str(name), ha=side, va="center", fontsize=min(9.0, max(font, 6.0)))

    ax.set_xlim(xs[0] - (1.0 if input_names else 0.5), xs[-1] + (1.0 if output_names else 0.5))
    ax.set_ylim(-top - 1.0, top + 0.5)
    arch = "-".join(map(str, sizes))
    ax.set_title(f"{model.name}: {arch}, {model.count_params():,} weights", fontsize=11)
    handles = [Line2D([], [], color=_POSITIVE, lw=2.5, label="w > 0"),
               Line2D([], [], color=_NEGATIVE, lw=2.5, label="w < 0")]
    if show_bias and any(b is not None for b in biases):
        handles.append(Line2D([], [], color="#777777", lw=1.5, ls=(0, (3, 2)), label="bias (from 1)"))
    ax.legend(handles=handles, loc="upper right", fontsize=8, frameon=False,
              title=f"width ∝ |w|, max {biggest:.2g}", title_fontsize=8)
    return fig


def _activation_name(model, dense):
    """The activation after a Dense layer, including a following Activation layer."""
    name = dense.activation.name
    k = model.layers.index(dense)
    for layer in model.layers[k + 1:]:
        if isinstance(layer, Activation):
            name = layer.activation.name
        elif layer.specs:
            break
    return "" if name == "linear" else name


def _rgba(color, alpha):
    from matplotlib.colors import to_rgba
    r, g, b, _ = to_rgba(color)
    return (r, g, b, float(alpha))


_BLOCK_COLORS = {"Dense": "#dbe8f5", "Conv2D": "#dff0d8", "LocallyConnected2D": "#e8f3d2",
                 "MaxPooling2D": "#fde9d4", "AveragePooling2D": "#fde9d4", "GlobalAveragePooling2D": "#fde9d4",
                 "Dropout": "#ece3f4", "Flatten": "#eeeeee", "Reshape": "#eeeeee", "Activation": "#fdf3d0"}


def _draw_blocks(model):
    from matplotlib.patches import FancyBboxPatch

    rows = [("input", "Input", model.input_shape, None, None)]
    for layer in model.layers:
        act = getattr(layer, "activation", None)
        act = act.name if act is not None and act.name != "linear" else None
        rows.append((layer.name, type(layer).__name__, (None,) + layer.output_shape, layer.count_params(), act))
    step = 1.25
    fig = new_figure((5.6, 0.95 * step * len(rows) + 0.9), "plot_network")
    ax = fig.add_subplot()
    ax.set_axis_off()
    for k, (name, kind, shape, params, act) in enumerate(rows):
        y = -k * step
        box = FancyBboxPatch((-2.3, y - 0.42), 4.6, 0.84, boxstyle="round,pad=0.02,rounding_size=0.12",
                             facecolor=_BLOCK_COLORS.get(kind, "#ffffff"), edgecolor="#555555", linewidth=1)
        ax.add_patch(box)
        head = "input" if k == 0 else f"{name} ({kind})" + (f", {act}" if act else "")
        shape_text = "(" + ", ".join("None" if d is None else str(d) for d in shape) + ")"
        detail = f"shape {shape_text}" if k == 0 else f"output {shape_text}   {params:,} params"
        ax.text(0, y + 0.14, head, ha="center", va="center", fontsize=10, fontweight="bold")
        ax.text(0, y - 0.19, detail, ha="center", va="center", fontsize=9, family="monospace")
        if k:
            ax.annotate("", xy=(0, y + 0.44), xytext=(0, y + step - 0.44),
                        arrowprops=dict(arrowstyle="-|>", color="#555555", lw=1.2))
    ax.set_xlim(-2.45, 2.45)
    ax.set_ylim(-(len(rows) - 1) * step - 0.6, 0.6)
    ax.set_title(f"{model.name}: {model.count_params():,} weights", fontsize=11)
    return fig


# -- digits -----------------------------------------------------------------------------------
def plot_digits(images, labels, predictions=None, path=None, rows=3, cols=3, class_names=None):
    """Draw a rows×cols grid of images titled "True digit: i, Prediction: j".

    With ``class_names`` that are not the digits themselves (Fashion-MNIST's
    "T-shirt/top", ...), titles read "True: T-shirt/top" and "Prediction: Coat" on two lines.

    Misclassified images get a red title. Images given as vectors (n, d) with
    d a square, e.g. ZIP codes in R^256, are drawn as √d×√d pictures.

    Shapes
    ------
    images : (n, h, w), (n, h, w, 1) or (n, h·w); labels, predictions : (n,)

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import numpy as np
    >>> fig = plot_digits(np.zeros((4, 16, 16)), [1, 2, 3, 4], [1, 2, 3, 5], rows=2, cols=2)
    >>> [ax.get_title() for ax in fig.axes][-1]
    'True digit: 4, Prediction: 5'
    >>> fig.axes[-1].title.get_color()
    'red'
    >>> names = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat"]
    >>> fig = plot_digits(np.zeros((1, 28, 28)), [0], [4], rows=1, cols=1, class_names=names)
    >>> fig.axes[0].get_title()
    'True: T-shirt/top\\nPrediction: Coat'
    """
    images = _as_images(images, "plot_digits")
    labels = np.asarray(labels)
    if len(labels) < min(rows * cols, len(images)):
        raise ValueError(f"plot_digits: expected a label for each of the {min(rows * cols, len(images))} images "
                         f"drawn, got {len(labels)}.")
    count = min(rows * cols, len(images))
    fig = new_figure((2.3 * cols, 2.5 * rows), "plot_digits")
    axes = fig.subplots(rows, cols, squeeze=False)
    name = (lambda c: class_names[int(c)]) if class_names is not None else int
    digits = class_names is None or all(str(n) == str(i) for i, n in enumerate(class_names))
    true, sep = ("True digit", ", ") if digits else ("True", "\n")
    for k, ax in enumerate(axes.ravel()):
        ax.set_axis_off()
        if k >= count:
            continue
        ax.imshow(images[k], cmap="gray_r", interpolation="nearest")
        title = f"{true}: {name(labels[k])}"
        wrong = False
        if predictions is not None:
            title += f"{sep}Prediction: {name(predictions[k])}"
            wrong = int(predictions[k]) != int(labels[k])
        ax.set_title(title, fontsize=9, color="red" if wrong else "black")
    return finish(fig, path)


def _as_images(images, where):
    images = np.asarray(images)
    if images.ndim == 4 and images.shape[-1] == 1:
        images = images[..., 0]
    if images.ndim == 2:
        side = math.isqrt(images.shape[1])
        if side * side == images.shape[1]:
            images = images.reshape(-1, side, side)
    if images.ndim != 3:
        raise ValueError(f"{where}: expected images of shape (n, h, w) or (n, h·w) with a square h·w, "
                         f"got {images.shape}.")
    return images


# -- confusion matrix -------------------------------------------------------------------------
def plot_confusion_matrix(y_true, y_pred, path=None, class_names=None):
    """Draw the confusion matrix C[t, p] = #{i : y_i = t, ŷ_i = p}, counts in each cell.

    Rows are true classes, columns predicted ones; the diagonal holds the
    correct predictions and the title the accuracy. Probabilities or one-hot
    rows (n, K) are turned into classes by argmax.

    Shapes
    ------
    y_true, y_pred : (n,) class labels, or (n, K)

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> fig = plot_confusion_matrix([0, 1, 1, 2], [0, 1, 2, 2])
    >>> fig.axes[0].get_title()
    'accuracy 0.750 (3 of 4)'
    >>> fig.axes[0].images[0].get_array().tolist()
    [[1, 0, 0], [0, 1, 1], [0, 0, 1]]
    """
    where = "plot_confusion_matrix"
    t, p = _classes(y_true, where, "y_true"), _classes(y_pred, where, "y_pred")
    if len(t) != len(p):
        raise ValueError(f"{where}: y_true and y_pred have different lengths: {len(t)} and {len(p)}.")
    k = max(int(t.max()), int(p.max())) + 1
    if class_names is not None:
        if len(class_names) < k:
            raise ValueError(f"{where}: expected at least {k} class_names, got {len(class_names)}.")
        k = len(class_names)
    counts = np.zeros((k, k), np.int64)
    np.add.at(counts, (t, p), 1)
    names = [str(c) for c in class_names] if class_names is not None else [str(c) for c in range(k)]
    size = min(9.0, 1.6 + 0.55 * k)
    fig = new_figure((size + 0.8, size), where)
    ax = fig.add_subplot()
    image = ax.imshow(counts, cmap="Blues", interpolation="nearest")
    fig.colorbar(image, ax=ax, shrink=0.8)
    threshold = counts.max() / 2.0
    font = 10 if k <= 12 else 7
    for (i, j), c in np.ndenumerate(counts):
        if c:
            ax.text(j, i, str(c), ha="center", va="center", fontsize=font,
                    color="white" if c > threshold else "black")
    ax.set_xticks(range(k), names, rotation=45 if max(map(len, names)) > 2 else 0)
    ax.set_yticks(range(k), names)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    right = int(np.trace(counts))
    ax.set_title(f"accuracy {right / len(t):.3f} ({right:,} of {len(t):,})")
    return finish(fig, path)


def _classes(y, where, name):
    arr = np.asarray(y)
    if arr.ndim == 2 and arr.shape[1] > 1:
        return arr.argmax(axis=1)
    return check_labels(arr, where, name)


# -- first-layer weights ----------------------------------------------------------------------
def plot_first_layer(model, path=None, max_units=36):
    """Draw the first Dense or convolutional layer's weights as images.

    A Dense unit's kernel column α_m (what hidden unit m looks for) is shown
    reshaped to the input's image shape; a Conv2D filter as its kh×kw window
    (channels side by side); a LocallyConnected2D filter as the mosaic of its
    kernels at every output position. Blue is positive, red negative, on one
    colour scale for all panels (the colour bar).

    Parameters
    ----------
    model : netfit.Sequential
    path : str or Path, optional
    max_units : int
        Draw at most this many units or filters.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import netfit as nf
    >>> from netfit.layers import Dense, Flatten
    >>> model = nf.Sequential([Flatten(input_shape=(16, 16)), Dense(12, activation="sigmoid")], seed=0)
    >>> fig = plot_first_layer(model)
    >>> len(fig.axes[0].images), fig.axes[0].images[0].get_array().shape
    (1, (16, 16))
    """
    where = "plot_first_layer"
    _check_model(model, where)
    layer = next((l for l in model.layers if isinstance(l, (Dense, Conv2D, LocallyConnected2D))), None)
    if layer is None:
        raise ValueError(f"{where}: expected a model with a Dense, Conv2D or LocallyConnected2D layer, "
                         f"got layers {', '.join(type(l).__name__ for l in model.layers)}.")
    kernel = layer.params["kernel"]
    if isinstance(layer, Dense):
        panels, kind = _dense_panels(model, layer, kernel), "unit"
    elif isinstance(layer, Conv2D):
        kh, kw, c, f = kernel.shape
        panels, kind = [np.hstack([kernel[:, :, ch, j] for ch in range(c)]) for j in range(f)], "filter"
    else:
        win = layer._win
        panels = [_mosaic(kernel[:, :, j].reshape(win.out_h, win.out_w, win.kh, win.kw, win.c)[..., 0])
                  for j in range(kernel.shape[2])]
        kind = "filter"
    if panels is None:                         # 1-D inputs that are not images: one heat map
        fig = new_figure((min(12.0, 2.0 + 0.25 * kernel.shape[1]), min(9.0, 2.0 + 0.12 * kernel.shape[0])), where)
        ax = fig.add_subplot()
        vmax = float(np.abs(kernel).max()) or 1.0
        image = ax.imshow(kernel, cmap="RdBu", vmin=-vmax, vmax=vmax, aspect="auto", interpolation="nearest")
        ax.set_xlabel("unit m")
        ax.set_ylabel("input l")
        ax.set_title(f"{layer.name}: kernel α_lm")
        fig.colorbar(image, ax=ax)
        return finish(fig, path)
    shown = panels[:max_units]
    cols = math.ceil(math.sqrt(len(shown)))
    rows = math.ceil(len(shown) / cols)
    fig = new_figure((1.55 * cols + 0.9, 1.6 * rows + 0.5), where)
    axes = fig.subplots(rows, cols, squeeze=False)
    vmax = max(float(np.nanmax(np.abs(p))) for p in shown) or 1.0
    image = None
    for k, ax in enumerate(axes.ravel()):
        ax.set_axis_off()
        if k < len(shown):
            image = ax.imshow(shown[k], cmap="RdBu", vmin=-vmax, vmax=vmax, interpolation="nearest")
            ax.set_title(f"{kind} {k + 1}", fontsize=8)
    fig.colorbar(image, ax=axes, shrink=0.8)
    more = f" (first {len(shown)} of {len(panels)})" if len(panels) > len(shown) else ""
    fig.suptitle(f"{layer.name} ({type(layer).__name__}) weights{more}", fontsize=10)
    return finish(fig, path)


def _dense_panels(model, layer, kernel):
    """Kernel columns reshaped to the input image, or None when the input is not an image."""
    before = model.layers[:model.layers.index(layer)]
    shape = model.layers[0].input_shape if all(isinstance(l, (Flatten, Dropout, Reshape)) for l in before) \
        else (kernel.shape[0],)
    if len(shape) == 3 and shape[-1] == 1:
        shape = shape[:2]
    if len(shape) == 1:
        side = math.isqrt(shape[0])
        if side * side != shape[0] or side < 4:
            return None
        shape = (side, side)
    if len(shape) == 3:                        # channels side by side
        return [np.hstack(np.moveaxis(kernel[:, m].reshape(shape), -1, 0)) for m in range(kernel.shape[1])]
    return [kernel[:, m].reshape(shape) for m in range(kernel.shape[1])]


def _mosaic(tiles):
    """(rows, cols, h, w) tiles -> one image with a one-pixel gap between tiles (NaN, drawn blank)."""
    r, c, h, w = tiles.shape
    out = np.full((r * (h + 1) - 1, c * (w + 1) - 1), np.nan)
    for i in range(r):
        for j in range(c):
            out[i * (h + 1):i * (h + 1) + h, j * (w + 1):j * (w + 1) + w] = tiles[i, j]
    return out
