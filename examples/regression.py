"""Beyond linear: a neural net fits a curve that a straight line cannot.

A 1-D regression y = sin(2x) + ε, ε ~ N(0, 0.2²), on 100 points. The model is
the lecture's single hidden layer with an identity output and squared-error
loss, f(x) = β_0 + Σ_m β_m σ(α_m0 + α_m x), fitted with M = 1, 3 and 10 tanh
units, beside plain linear regression (no hidden layer). Each fit is
full-batch Adam (``batch_size=None``): every step uses all n points. It writes
the fits (regression.png) and the fitted 10-unit net, each weight a line whose
width is |w| and colour its sign (regression_network.png).

Run:  python examples/regression.py [--out examples/out] [--fast]
"""
import argparse
import os
from pathlib import Path

import numpy as np

import netfit as nf
from netfit.layers import Dense
from netfit.plotting import plot_network


def make_data(n=100, noise=0.2, seed=0):
    rng = np.random.default_rng(seed)
    x = np.sort(rng.uniform(-2.0, 2.0, n))
    y = np.sin(2.0 * x) + noise * rng.standard_normal(n)
    return x[:, None], y[:, None]


def fit(hidden_units, x, y, epochs, seed=0):
    """Linear regression for 0 hidden units, else one tanh hidden layer."""
    layers = [Dense(1, input_shape=(1,))] if hidden_units == 0 else \
        [Dense(hidden_units, activation="tanh", input_shape=(1,)), Dense(1)]
    model = nf.Sequential(layers, name=f"hidden_{hidden_units}", seed=seed)
    model.compile(optimizer=nf.optimizers.Adam(learning_rate=0.03), loss="mse")
    model.fit(x, y, batch_size=None, epochs=epochs, verbose=0)
    return model


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "out",
                        help="folder for the picture (default: examples/out)")
    parser.add_argument("--fast", action="store_true", default=bool(os.environ.get("NETFIT_FAST")),
                        help="fewer steps (also: NETFIT_FAST=1)")
    args = parser.parse_args(argv)
    epochs = 600 if args.fast else 2000

    x, y = make_data()
    grid = np.linspace(-2.0, 2.0, 400)[:, None]
    truth = np.sin(2.0 * grid)
    print(f"y = sin(2x) + noise, n = {len(x)}; full-batch Adam, {epochs} steps each")
    print(f"{'model':<22}{'weights':>8}{'train MSE':>12}{'MSE vs sin(2x)':>16}")
    fits = []
    for units in (0, 1, 3, 10):
        model = fit(units, x, y, epochs)
        train = model.evaluate(x, y)
        curve = model.predict(grid)
        true_err = float(np.mean((curve - truth) ** 2))
        label = "linear (no hidden)" if units == 0 else f"{units} tanh unit{'s' if units > 1 else ''}"
        print(f"{label:<22}{model.count_params():>8}{train:>12.4f}{true_err:>16.4f}")
        fits.append((label, curve, train))
        net = model
    print(f"noise variance 0.2² = {0.2 ** 2:.4f}: a good fit's train MSE is near it, the linear one is far above.")

    args.out.mkdir(parents=True, exist_ok=True)
    from matplotlib.figure import Figure
    fig = Figure(figsize=(9.5, 4.5), layout="constrained")
    ax = fig.add_subplot()
    ax.scatter(x[:, 0], y[:, 0], s=12, color="#888888", label="data")
    ax.plot(grid[:, 0], truth[:, 0], "k--", lw=1.2, label="sin(2x)")
    colors = ["#b2182b", "#ef8a62", "#67a9cf", "#2166ac"]
    for (label, curve, train), color in zip(fits, colors):
        ax.plot(grid[:, 0], curve[:, 0], color=color, lw=2.2, label=f"{label} (MSE {train:.3f})")
    ax.set_xlabel("x")
    ax.set_ylabel("y")
    ax.set_title("Beyond linear: f(x) = β₀ + Σₘ βₘ tanh(αₘ₀ + αₘx)")
    ax.legend(fontsize=9, loc="center left", bbox_to_anchor=(1.01, 0.5), frameon=False)
    ax.grid(alpha=0.3)
    path = args.out / "regression.png"
    fig.savefig(path, dpi=100)
    print(f"wrote {path}")
    path = args.out / "regression_network.png"
    plot_network(net, path, input_names=["x"], output_names=["f(x)"])
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
