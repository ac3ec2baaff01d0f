"""Weight sharing: a LocallyConnected2D with all its kernels set equal *is* a Conv2D.

ESL §11.7 (Net-3 against Net-4/5): a locally connected layer gives each output
position (p, q) its own 3×3 kernel; a convolution uses one kernel everywhere.
Both have the same links (every output unit sees one 3×3 window), but the
convolution has far fewer weights. Tie the locally connected kernels to one
value and the two layers compute exactly the same thing, forward and
backward, where the gradient of the shared kernel is the *sum* of the
gradients of its copies (the chain rule adds over every link that uses it).

Run:  python examples/weight_sharing.py [--out examples/out]
"""
import argparse
from pathlib import Path

import numpy as np

from netfit.layers import Conv2D, LocallyConnected2D


def seven(size=16):
    """A hand-drawn 7 on a 16×16 grid, grey values in [-1, 1] like the ZIP digits."""
    img = -np.ones((size, size))
    img[2:4, 3:13] = 1.0                                    # the top bar
    for r in range(4, 14):                                  # the stroke down to the left
        c = int(round(12 - (r - 4) * 0.6))
        img[r, c - 1:c + 1] = 1.0
    img[8, 6:11] = 0.2                                      # a faint cross bar
    return img


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "out",
                        help="folder for the picture (default: examples/out)")
    args = parser.parse_args(argv)
    rng = np.random.default_rng(0)

    # A batch: the 7 and three noisy copies, shape (n, 16, 16, 1).
    x = np.stack([seven()] + [np.clip(seven() + 0.3 * rng.standard_normal((16, 16)), -1, 1) for _ in range(3)])
    # Inputs and weights lie on grids of powers of two, so every product and sum below is exact
    # in floating point: the two layers then agree bit for bit, whatever order BLAS adds in.
    x = np.round(x[..., None] * 64) / 64

    conv = Conv2D(2, 3, activation="tanh")
    conv.setup((16, 16, 1), rng=rng, dtype="float64")
    # Two filters: a vertical-edge and a horizontal-edge detector (Keras layout (kh, kw, c_in, filters)).
    kernel = np.zeros((3, 3, 1, 2))
    kernel[:, :, 0, 0] = [[1, 0, -1], [2, 0, -2], [1, 0, -1]]
    kernel[:, :, 0, 1] = [[1, 2, 1], [0, 0, 0], [-1, -2, -1]]
    conv.set_weights([kernel / 4, np.array([0.25, -0.25])])

    local = LocallyConnected2D(2, 3, activation="tanh")
    local.setup((16, 16, 1), rng=rng, dtype="float64")
    positions, window, filters = local.params["kernel"].shape         # (out_h·out_w, kh·kw·c_in, filters)
    # Tie the weights: every position gets the conv kernel, rows in the same (u, v, c) order.
    tied = np.broadcast_to(conv.params["kernel"].reshape(window, filters), (positions, window, filters))
    local.set_weights([tied, np.broadcast_to(conv.params["bias"], local.params["bias"].shape)])

    print(f"input {x.shape}; both layers: 2 filters of 3×3, output {conv.output_shape}")
    print(f"Conv2D:             {conv.count_params():>5,} weights, {conv.count_links():>5,} links")
    print(f"LocallyConnected2D: {local.count_params():>5,} weights, {local.count_links():>5,} links")

    a_conv = conv.forward(x).copy()
    a_local = local.forward(x).copy()
    forward_diff = float(np.abs(a_conv - a_local).max())
    print(f"forward: max |Conv2D - LocallyConnected2D| = {forward_diff:g}")

    # Backward with the same error δ arriving at both outputs.
    delta = rng.standard_normal(a_conv.shape)
    s_conv = conv.backward(delta).copy()
    s_local = local.backward(delta).copy()
    summed = local.grads["kernel"].sum(axis=0).reshape(conv.grads["kernel"].shape)
    grad_diff = float(np.abs(conv.grads["kernel"] - summed).max())
    bias_diff = float(np.abs(conv.grads["bias"] - local.grads["bias"].sum(axis=(0, 1))).max())
    input_diff = float(np.abs(s_conv - s_local).max())
    print(f"backward: max |∂R/∂x difference| = {input_diff:.1e}")
    print(f"shared kernel gradient = sum of its {positions} copies' gradients: max difference "
          f"{max(grad_diff, bias_diff):.1e}")
    assert forward_diff == 0.0, forward_diff
    assert max(input_diff, grad_diff, bias_diff) < 1e-12

    args.out.mkdir(parents=True, exist_ok=True)
    from matplotlib.figure import Figure
    fig = Figure(figsize=(9.5, 6.0), layout="constrained")
    axes = fig.subplots(2, 3)
    panels = [(x[0, :, :, 0], "input x", "gray_r"),
              (a_conv[0, :, :, 0], "Conv2D, vertical edges", "RdBu"),
              (a_conv[0, :, :, 1], "Conv2D, horizontal edges", "RdBu"),
              (np.abs(a_conv - a_local)[0, :, :, 0], f"|difference|, max {forward_diff:g}", "Greys"),
              (a_local[0, :, :, 0], "LocallyConnected2D (tied), vertical", "RdBu"),
              (a_local[0, :, :, 1], "LocallyConnected2D (tied), horizontal", "RdBu")]
    for ax, (image, title, cmap) in zip(axes.ravel(), panels):
        limits = dict(vmin=-1, vmax=1) if cmap != "Greys" else dict(vmin=0, vmax=1)
        ax.imshow(image, cmap=cmap, interpolation="nearest", **limits)
        ax.set_title(title, fontsize=10)
        ax.set_xticks([])
        ax.set_yticks([])
    fig.suptitle(f"Same links, {conv.count_params()} shared weights against {local.count_params():,} "
                 f"untied ones: equal outputs when the copies are equal")
    path = args.out / "weight_sharing.png"
    fig.savefig(path, dpi=90)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
