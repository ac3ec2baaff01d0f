"""netfit.plotting: each picture is written, has the expected parts, and refuses bad input clearly."""
import subprocess
import sys

import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")

import netfit as nf  # noqa: E402
from netfit.layers import Conv2D, Dense, Dropout, Flatten, LocallyConnected2D, MaxPooling2D  # noqa: E402
from netfit.plotting import (plot_confusion_matrix, plot_digits, plot_first_layer, plot_history,  # noqa: E402
                             plot_network)


def small_net(seed=0):
    return nf.Sequential([Dense(3, activation="sigmoid", input_shape=(2,)), Dense(1)], name="tiny", seed=seed)


def cnn():
    return nf.Sequential([Conv2D(4, 3, activation="relu", input_shape=(10, 10, 1)), MaxPooling2D(2),
                          Flatten(), Dropout(0.1), Dense(10, activation="softmax")], seed=0)


def read_png(path):
    from matplotlib.image import imread
    assert path.exists() and path.stat().st_size > 0
    return imread(path)


def segments(fig):
    """Line segments drawn as LineCollections (the links of a network picture)."""
    from matplotlib.collections import LineCollection
    return [seg for c in fig.axes[0].collections if isinstance(c, LineCollection) for seg in c.get_segments()]


# -- plot_network -----------------------------------------------------------------------------
def test_network_graph_draws_one_link_per_weight(tmp_path):
    model = small_net()
    fig = plot_network(model, tmp_path / "net.png")
    assert read_png(tmp_path / "net.png").ndim == 3
    assert len(fig.axes) == 1
    assert len(segments(fig)) == model.count_params() == 2 * 3 + 3 + 3 * 1 + 1   # kernels and biases
    labels = [t.get_text() for t in fig.axes[0].texts]
    for unit in ("$X_{1}$", "$X_{2}$", "$Z_{1}$", "$Z_{3}$", "$Y_{1}$"):
        assert unit in labels
    assert any("sigmoid" in t for t in labels)
    assert fig.axes[0].get_title() == "tiny: 2-3-1, 13 weights"


def test_network_graph_line_width_and_colour_follow_the_weights():
    model = small_net()
    kernel = np.array([[2.0, -0.5, 0.1], [-1.0, 0.0, 0.25]])
    model.set_weights([kernel, np.zeros(3), np.ones((3, 1)), np.zeros(1)])
    fig = plot_network(model, show_bias=False)
    from matplotlib.collections import LineCollection
    first = [c for c in fig.axes[0].collections if isinstance(c, LineCollection)][0]
    widths = first.get_linewidths()
    assert np.argmax(widths) == 0 and np.argmin(widths) == 4      # |2.0| widest, 0.0 thinnest
    colors = first.get_colors()
    blue, red = colors[0][:3], colors[1][:3]                         # w = 2.0 > 0, w = -0.5 < 0
    assert blue[2] > blue[0] and red[0] > red[2]
    assert len(segments(fig)) == 6 + 3                               # no bias links


def test_network_graph_with_names_and_several_hidden_layers():
    model = nf.Sequential([Dense(5, activation="relu", input_shape=(4,)), Dense(4, activation="tanh"),
                           Dense(3, activation="softmax")], seed=1)
    fig = plot_network(model, input_names=["a", "b", "c", "d"], output_names=["x", "y", "z"])
    labels = [t.get_text() for t in fig.axes[0].texts]
    assert {"a", "d", "x", "z", "$Z^{(1)}_{5}$", "$Z^{(2)}_{4}$"} <= set(labels)
    assert len(segments(fig)) == model.count_params()
    with pytest.raises(ValueError, match="plot_network: expected 4 input_names, got 2"):
        plot_network(model, input_names=["a", "b"])


def test_network_blocks_for_large_or_convolutional_nets(tmp_path):
    fig = plot_network(cnn(), tmp_path / "cnn.png")
    read_png(tmp_path / "cnn.png")
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert "conv2d (Conv2D), relu" in texts
    assert "output (None, 8, 8, 4)   40 params" in texts
    assert "dense (Dense), softmax" in texts and "shape (None, 10, 10, 1)" in texts
    assert len(fig.axes[0].patches) == 6                             # input + 5 layers
    wide = nf.Sequential([Flatten(input_shape=(28, 28)), Dense(128, activation="relu"), Dense(10)])
    assert len(plot_network(wide).axes[0].patches) == 4               # 784 inputs: blocks, not circles
    assert len(segments(plot_network(small_net(), style="blocks"))) == 0


def test_network_errors():
    with pytest.raises(TypeError, match="plot_network: expected a netfit Sequential model, got ndarray"):
        plot_network(np.zeros(3))
    with pytest.raises(TypeError, match="got Dense"):
        plot_network(Dense(3))
    with pytest.raises(ValueError, match="style='graph' draws nets of Dense layers only"):
        plot_network(cnn(), style="graph")
    with pytest.raises(ValueError, match="expected style 'auto', 'graph' or 'blocks', got 'round'"):
        plot_network(small_net(), style="round")
    with pytest.raises(ValueError, match="input shape is unknown"):
        plot_network(nf.Sequential([Dense(3)]))


# -- plot_digits ------------------------------------------------------------------------------
def test_digits_grid_titles_and_red_mistakes(tmp_path):
    rng = np.random.default_rng(0)
    images = rng.uniform(-1, 1, (12, 16, 16))
    labels = np.arange(12) % 10
    predictions = labels.copy()
    predictions[4] = 9
    fig = plot_digits(images, labels, predictions, tmp_path / "d.png")
    read_png(tmp_path / "d.png")
    assert len(fig.axes) == 9
    titles = [ax.get_title() for ax in fig.axes]
    assert titles[0] == "True digit: 0, Prediction: 0"
    assert fig.axes[4].title.get_color() == "red" and fig.axes[0].title.get_color() == "black"
    assert all(len(ax.images) == 1 for ax in fig.axes)


def test_digits_accepts_vectors_channels_and_names():
    flat = plot_digits(np.zeros((4, 256)), [0, 1, 2, 3], rows=2, cols=2)
    assert flat.axes[0].images[0].get_array().shape == (16, 16)
    assert flat.axes[0].get_title() == "True digit: 0"
    named = plot_digits(np.zeros((2, 8, 8, 1)), [0, 1], [1, 1], rows=1, cols=3, class_names=["cat", "dog"])
    assert [ax.get_title() for ax in named.axes] == ["True: cat\nPrediction: dog",      # not "True digit"
                                                    "True: dog\nPrediction: dog", ""]
    with pytest.raises(ValueError, match=r"plot_digits: expected images of shape \(n, h, w\)"):
        plot_digits(np.zeros((3, 10)), [0, 1, 2])
    with pytest.raises(ValueError, match="expected a label for each of the 4 images"):
        plot_digits(np.zeros((4, 5, 5)), [0, 1], rows=2, cols=2)


# -- plot_history -----------------------------------------------------------------------------
def test_history_from_a_real_fit(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((40, 2))
    y = (x[:, 0] > 0).astype(int)
    model = nf.Sequential([Dense(2, activation="softmax", input_shape=(2,))], seed=0)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(x, y, epochs=3, verbose=0, validation_split=0.25)
    fig = plot_history(history, tmp_path / "h.png")
    read_png(tmp_path / "h.png")
    assert [ax.get_ylabel() for ax in fig.axes] == ["loss", "accuracy"]
    assert [len(ax.lines) for ax in fig.axes] == [2, 2]
    assert list(fig.axes[0].lines[0].get_xdata()) == [1, 2, 3]
    with pytest.raises(ValueError, match="plot_history: expected a History or a non-empty dict"):
        plot_history({})


# -- plot_confusion_matrix --------------------------------------------------------------------
def test_confusion_matrix_counts_and_accuracy(tmp_path):
    y_true = [0, 0, 1, 1, 2, 2, 2]
    y_pred = [0, 1, 1, 1, 2, 0, 2]
    fig = plot_confusion_matrix(y_true, y_pred, tmp_path / "cm.png", class_names=["a", "b", "c"])
    read_png(tmp_path / "cm.png")
    ax = fig.axes[0]
    assert ax.images[0].get_array().tolist() == [[1, 1, 0], [0, 2, 0], [1, 0, 2]]
    assert ax.get_title() == "accuracy 0.714 (5 of 7)"
    assert [t.get_text() for t in ax.get_xticklabels()] == ["a", "b", "c"]
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("predicted", "true")
    assert sorted(t.get_text() for t in ax.texts) == ["1", "1", "1", "2", "2"]   # empty cells stay blank


def test_confusion_matrix_from_probabilities_and_errors():
    proba = np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4]])
    fig = plot_confusion_matrix(np.array([[1, 0], [0, 1], [0, 1]]), proba)
    assert fig.axes[0].images[0].get_array().tolist() == [[1, 0], [1, 1]]
    with pytest.raises(ValueError, match="y_true and y_pred have different lengths: 3 and 2"):
        plot_confusion_matrix([0, 1, 1], [0, 1])
    with pytest.raises(ValueError, match="expected at least 3 class_names, got 2"):
        plot_confusion_matrix([0, 1, 2], [0, 1, 2], class_names=["a", "b"])
    with pytest.raises(ValueError, match="y_true"):
        plot_confusion_matrix([0.5, 1], [0, 1])


# -- plot_first_layer -------------------------------------------------------------------------
def test_first_layer_dense_units_as_images(tmp_path):
    model = nf.Sequential([Flatten(input_shape=(16, 16)), Dense(12, activation="sigmoid"), Dense(10)], seed=0)
    fig = plot_first_layer(model, tmp_path / "w.png")
    read_png(tmp_path / "w.png")
    panels = [ax for ax in fig.axes if ax.images]
    assert len(panels) == 12 and len(fig.axes) == 12 + 1              # 12 units and the colour bar
    unit = panels[0].images[0].get_array()
    assert unit.shape == (16, 16)
    np.testing.assert_allclose(unit, model.layers[1].params["kernel"][:, 0].reshape(16, 16))
    assert panels[0].get_title() == "unit 1"
    assert len([ax for ax in plot_first_layer(model, max_units=5).axes if ax.images]) == 5


def test_first_layer_vectors_convolutions_and_local_layers():
    square = nf.Sequential([Dense(3, input_shape=(64,))], seed=0)
    assert plot_first_layer(square).axes[0].images[0].get_array().shape == (8, 8)
    table = plot_first_layer(nf.Sequential([Dense(3, input_shape=(5,))], seed=0))
    assert table.axes[0].images[0].get_array().shape == (5, 3)      # not an image: the kernel as a heat map
    conv = plot_first_layer(cnn())
    assert [ax.get_title() for ax in conv.axes if ax.images][:4] == ["filter 1", "filter 2", "filter 3", "filter 4"]
    assert conv.axes[0].images[0].get_array().shape == (3, 3)
    local = nf.Sequential([LocallyConnected2D(2, 3, input_shape=(6, 6, 1))], seed=0)
    mosaic = plot_first_layer(local).axes[0].images[0].get_array()
    assert mosaic.shape == (4 * 4 - 1, 4 * 4 - 1)                    # 4×4 positions of 3×3 kernels, 1-pixel gaps
    kernel = local.layers[0].params["kernel"]
    np.testing.assert_allclose(mosaic[:3, 4:7], kernel[1, :, 0].reshape(3, 3))


def test_first_layer_errors():
    with pytest.raises(TypeError, match="plot_first_layer: expected a netfit Sequential model, got list"):
        plot_first_layer([1, 2])
    with pytest.raises(ValueError, match="expected a model with a Dense, Conv2D or LocallyConnected2D layer"):
        plot_first_layer(nf.Sequential([Flatten(input_shape=(2, 2))]))


# -- no global state --------------------------------------------------------------------------
def test_plotting_leaves_pyplot_alone(tmp_path):
    """The functions use Figure objects: pyplot is never imported, the backend never switched."""
    code = ("import sys, numpy as np, netfit as nf\n"
            "from netfit.layers import Dense\n"
            "from netfit import plotting\n"
            "m = nf.Sequential([Dense(2, input_shape=(2,))], seed=0)\n"
            f"plotting.plot_network(m, {str(tmp_path / 'n.png')!r})\n"
            "plotting.plot_digits(np.zeros((1, 4, 4)), [0], rows=1, cols=1)\n"
            "assert 'matplotlib.pyplot' not in sys.modules\n")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
    assert (tmp_path / "n.png").exists()
