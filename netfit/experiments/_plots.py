"""Pictures of the ESL studies: Table 11.1 with paired differences, Figure 11.11's epochs, learning curves.

matplotlib is imported when a picture is drawn (``pip install 'netfit[plot]'``).
Each function returns the matplotlib Figure and writes it to ``path`` when given.
"""
import numpy as np

from ..figures import finish, new_figure

BOOK_NOTE = "ESL Table 11.1 (Le Cun's 320 / 160)"


def _figure(size, where):
    return new_figure(size, where, alternative="or pass plot=False (--no-plot)")


def table_figure(results, path=None):
    """Left: mean test accuracy ± sd per net (ticks at min and max), the book's as crosses,
    LogisticRegression as a dashed line. Right: paired differences of consecutive nets,
    their 95 % t-intervals, the book's differences as crosses."""
    fig = _figure((11, 4.2), "esl")
    left, right = fig.subplots(1, 2)
    rows = results.summary()
    xs = np.arange(len(rows))
    for x, row in zip(xs, rows):
        c = f"C{x}"
        left.errorbar(x, 100 * row["mean"], yerr=100 * row["sd"], fmt="o", color=c, capsize=5)
        left.plot([x, x], [100 * row["min"], 100 * row["max"]], "_", color=c, markersize=12)
    book = [(x, 100 * row["book"]) for x, row in zip(xs, rows) if row["book"] is not None]
    if book:
        left.plot(*zip(*book), "x", color="black", markersize=8, label=BOOK_NOTE)
    if results.baseline:
        base = 100 * results.accuracies("logreg").mean()
        left.axhline(base, color="grey", linestyle="--", label=f"LogisticRegression, same draws ({base:.1f} %)")
    if book or results.baseline:
        left.legend(loc="lower right", fontsize="small")
    left.set_xticks(xs, [results.label(row["net"]) for row in rows])
    left.set(ylabel="% correct on test data",
             title=f"Test accuracy (n = {results.config['repeats']}): mean ± sd, ticks at min and max")
    left.grid(alpha=0.3, axis="y")
    paired = results.paired()
    ys = np.arange(len(paired))[::-1]
    for y, d in zip(ys, paired):
        low, high = (d["low"], d["high"]) if d["n"] > 1 else (d["mean"], d["mean"])
        right.errorbar(100 * d["mean"], y, xerr=[[100 * (d["mean"] - low)], [100 * (high - d["mean"])]],
                       fmt="o", color="C0", capsize=5)
        if d["book"] is not None:
            right.plot(100 * d["book"], y, "x", color="black", markersize=8)
    right.axvline(0, color="grey", linewidth=1)
    right.set_yticks(ys, [f"{results.label(d['to'])} − {results.label(d['from'])}" for d in paired])
    right.set(xlabel="difference in % correct (same draws)",
              title="Paired differences, 95 % t-intervals (× the book's)")
    right.grid(alpha=0.3, axis="x")
    return finish(fig, path)


def epochs_figure(results, path=None):
    """Test accuracy after every epoch, mean over the draws shaded ± one sd (ESL Figure 11.11's analogue)."""
    fig = _figure((7, 4.5), "esl")
    ax = fig.subplots()
    for i, net in enumerate(results.nets()):
        curves = 100 * np.vstack(results.curves[net])
        mean, sd = np.nanmean(curves, axis=0), np.nanstd(curves, axis=0)
        epochs = np.arange(1, curves.shape[1] + 1)
        ax.plot(epochs, mean, color=f"C{i}", label=results.label(net))
        ax.fill_between(epochs, mean - sd, mean + sd, color=f"C{i}", alpha=0.12, linewidth=0)
    ax.set(xlabel="training epochs", ylabel="% correct on test data",
           title=f"Test accuracy per epoch, mean ± sd over {results.config['repeats']} draws (cf. ESL Figure 11.11)")
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right")
    return finish(fig, path)


def learning_figure(curves, path=None):
    """Test accuracy on zip.test against the training-set size (log scale), mean ± sd over repeats.

    ``curves`` is a :class:`netfit.experiments.esl_curves.LearningCurves`.
    """
    fig = _figure((7.5, 4.8), "esl_curves")
    ax = fig.subplots()
    nets = [net for net in curves.nets() if net != "logreg"]         # the same colours as esl.png's
    for row in curves.summary_by_net():
        sizes = np.array(row["sizes"])
        mean, sd = 100 * np.array(row["mean"]), 100 * np.array(row["sd"])
        base = row["net"] == "logreg"
        color = "grey" if base else f"C{nets.index(row['net'])}"
        ax.plot(sizes, mean, "--" if base else "-", marker="o", color=color, label=curves.label(row["net"]))
        ax.fill_between(sizes, mean - sd, mean + sd, color=color, alpha=0.12, linewidth=0)
    ax.set_xscale("log")
    sizes = sorted({s for row in curves.summary_by_net() for s in row["sizes"]})
    ax.set_xticks(sizes, [f"{s:,}" for s in sizes])
    ax.set(xlabel="training digits (from zip.train)", ylabel="% correct on zip.test (2,007 digits)",
           title="Learning curves: mean ± sd over repeats")
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right", fontsize="small")
    return finish(fig, path)
