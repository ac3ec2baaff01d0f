"""Every activation σ in netfit and its derivative σ', from the library's own backward.

A unit computes a = σ(z). Back-propagation needs σ'(z): each activation's
``backward(δ, z, a)`` returns δ ⊙ σ'(z), so with δ = 1 it *is* σ'(z). This
script draws σ and σ' for every name in ``netfit.activations.names()`` and
checks each σ' against central differences of σ.

Softmax maps a vector to a vector, so it is drawn for the two-class input
(z, 0): a_1 = e^z / (e^z + 1), which is the sigmoid. Its backward is a
Jacobian-vector product J δ; δ = (1, 0) picks ∂a_1/∂z_1 = a_1 (1 − a_1).
(δ = (1, 1) would give 0: the outputs always sum to one.)

Run:  python examples/activations.py [--out examples/out]
"""
import argparse
import math
from pathlib import Path

import numpy as np

from netfit import activations


def curve(name, z):
    """σ(z) and σ'(z) on a grid, through the library's forward and backward."""
    act = activations.get(name)
    if name == "softmax":                       # the two-class softmax of (z, 0), first output
        zz = np.stack([z, np.zeros_like(z)], axis=1)
        a = act.forward(zz.copy())
        delta = np.zeros_like(zz)
        delta[:, 0] = 1.0
        return a[:, 0], act.backward(delta, zz, a)[:, 0]
    a = act.forward(z.copy())
    return a, act.backward(np.ones_like(z), z, a)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "out",
                        help="folder for the picture (default: examples/out)")
    args = parser.parse_args(argv)

    names = activations.names()
    z = np.linspace(-4.0, 4.0, 801)
    h = 1e-5
    # Check points avoid z = 0 and ±3, where relu's, leaky_relu's, selu's and hard_sigmoid's σ' jump.
    zc = np.array([-2.5, -1.0, -0.3, 0.4, 1.5, 2.8])
    dname = "σ'(0)"
    print(f"{'activation':<10}{'σ(0)':>9}{dname:>9}   max |σ' − central difference|")
    worst = 0.0
    for name in names:
        a0, d0 = curve(name, np.zeros(1))
        numeric = (curve(name, zc + h)[0] - curve(name, zc - h)[0]) / (2 * h)
        err = float(np.max(np.abs(curve(name, zc)[1] - numeric)))
        worst = max(worst, err)
        print(f"{name:<10}{a0[0]:>9.4f}{d0[0]:>9.4f}   {err:.1e}")
    assert worst < 1e-6, f"a derivative disagrees with central differences by {worst:.3g}"
    print(f"all {len(names)} derivatives agree with central differences (max error {worst:.1e})")

    args.out.mkdir(parents=True, exist_ok=True)
    from matplotlib.figure import Figure
    cols = 4
    rows = math.ceil(len(names) / cols)
    fig = Figure(figsize=(3.3 * cols, 2.9 * rows), layout="constrained")
    axes = fig.subplots(rows, cols, squeeze=False)
    for ax, name in zip(axes.ravel(), names):
        a, d = curve(name, z)
        ax.axhline(0, color="#bbbbbb", lw=0.8)
        ax.axvline(0, color="#bbbbbb", lw=0.8)
        ax.plot(z, a, color="#2166ac", lw=2, label="σ(z)")
        ax.plot(z, d, color="#b2182b", lw=1.6, ls="--", label="σ'(z)")
        ax.set_title(name if name != "softmax" else "softmax of (z, 0), output 1")
        ax.set_xlabel("z")
        ax.set_ylim(-1.3, 2.3)
        ax.grid(alpha=0.25)
    for ax in axes.ravel()[len(names):]:
        ax.set_axis_off()
    axes[0, 0].legend(loc="upper left", fontsize=9)
    fig.suptitle("netfit.activations: σ from forward, σ' from backward with δ = 1")
    path = args.out / "activations.png"
    fig.savefig(path, dpi=90)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
