"""Results of the ESL experiment: per-run records, the summary table, Markdown, CSV and the picture."""
import csv
import io
import math
import os
import time

import numpy as np

#: ESL Table 11.1's test accuracies (Le Cun's 320/160 digits).
BOOK_ACCURACY = {"net1": 0.800, "net2": 0.870, "net3": 0.885, "net4": 0.940, "net5": 0.984}
LABELS = {"net1": "Net-1", "net2": "Net-2", "net3": "Net-3", "net4": "Net-4", "net5": "Net-5", "cnn": "CNN",
          "zipcnn": "ZIP CNN"}
ARCHITECTURES = {
    "net1": "no hidden layer",
    "net2": "12 hidden units, fully connected",
    "net3": "2 locally connected layers (8×8, 4×4)",
    "net4": "2 shared 8×8 maps, then 4×4 locally connected",
    "net5": "2 shared 8×8 maps, then 4 shared 4×4 maps",
    "cnn": "Keras mnist_convnet (relu, max-pool, dropout, softmax + CE)",
    "zipcnn": "2×2 'same' 3×3 conv blocks (32, 64), max-pool, dropout, dense 128, softmax + CE",
}
RUN_FIELDS = ("net", "repeat", "train_size", "test_size", "epochs", "test_accuracy", "train_accuracy",
              "seconds", "weights", "links")


class Results:
    """What :func:`netfit.experiments.esl.run` measured: one record per (net, repeat).

    ``runs`` holds dicts with the fields of results.csv; ``curves[net]`` is an
    array (repeats, epochs) of test accuracy after each epoch (NaN after an
    early stop).
    """

    def __init__(self, config):
        self.config = config
        self.runs = []
        self.curves = {}
        self.seconds = 0.0
        self.interrupted = False

    @staticmethod
    def label(net):
        return LABELS.get(net, net)

    def add(self, net, repeat, test_accuracy, train_accuracy, curve, seconds, weights, links):
        c = self.config
        self.runs.append({"net": net, "repeat": repeat, "train_size": c["train_size"], "test_size": c["test_size"],
                          "epochs": c["epochs"], "test_accuracy": float(test_accuracy),
                          "train_accuracy": float(train_accuracy), "seconds": float(seconds),
                          "weights": int(weights), "links": int(links)})
        self.curves.setdefault(net, []).append(np.asarray(curve, float))

    def nets(self):
        """The nets that have results, in the order they were run."""
        return list(dict.fromkeys(run["net"] for run in self.runs))

    def accuracies(self, net):
        """Final test accuracies of ``net``, one per repeat."""
        return np.array([run["test_accuracy"] for run in self.runs if run["net"] == net])

    def summary(self):
        """One dict per net: weights, links, n, mean, sd (n − 1), min, max test accuracy, the book's."""
        rows = []
        for net in self.nets():
            acc = self.accuracies(net)
            first = next(run for run in self.runs if run["net"] == net)
            rows.append({"net": net, "weights": first["weights"], "links": first["links"], "n": len(acc),
                         "mean": float(acc.mean()), "sd": float(acc.std(ddof=1)) if len(acc) > 1 else 0.0,
                         "min": float(acc.min()), "max": float(acc.max()),
                         "train_mean": float(np.mean([r["train_accuracy"] for r in self.runs
                                                      if r["net"] == net])),
                         "book": BOOK_ACCURACY.get(net)})
        return rows

    # -- text ------------------------------------------------------------------------------------
    def protocol(self):
        """One paragraph saying what was run."""
        c = self.config
        if c["full"]:
            data = (f"all {c['train_size']:,} zip.train digits for training and all {c['test_size']:,} "
                    f"zip.test digits for testing; {c['repeats']} repeat(s) with fresh starting weights")
        else:
            data = (f"{c['repeats']} repeat(s), each a fresh stratified draw of {c['train_size']} training digits "
                    f"from zip.train and {c['test_size']} test digits from zip.test, and fresh starting weights")
        loss = ("Sigmoid outputs, squared error on one-hot targets (the book's)" if c["loss"] == "mse"
                else "Softmax outputs, categorical cross-entropy")
        opt = ("Adam" if c["optimizer"] == "adam" else "SGD with momentum 0.9") + f" (learning rate {c['lr']:g})"
        batch = "full batch" if c["batch_size"] is None else f"batch size {c['batch_size']}"
        init = "uniform on ±0.7 (the book's)" if c["initializer"] == "esl_uniform" else c["initializer"]
        text = (f"Protocol: {data}. {loss}; {c['activation']} hidden units; {opt}, {batch}, {c['epochs']} epochs; "
                f"starting weights {init}. Test accuracy after the last epoch.")
        if c.get("shift"):
            text += " Training digits moved by a random ±1 pixel each epoch."
        if "zipcnn" in c.get("nets", ()):
            text += (" The ZIP CNN uses its own recipe instead (relu units, softmax + cross-entropy, Glorot "
                     "starting weights, Adam from 1e-3 decaying ×0.9 per epoch, weight decay 1e-4), chosen on the "
                     "last 1,000 zip.train digits.")
        return text

    def to_markdown(self):
        """The summary as a Markdown section: protocol, command, and the table beside ESL's numbers."""
        c = self.config
        title = "full split" if c["full"] else f"{c['train_size']} / {c['test_size']} digits"
        stamp = f"{time.strftime('%Y-%m-%d %H:%M')} · {self.seconds:.0f} s"
        lines = [f"## ESL Table 11.1 on the zip-code digits ({title})", "", self.protocol(), ""]
        if c.get("command"):
            lines += [f"Command: `{c['command']}` · {stamp}", ""]
        else:
            lines += [stamp, ""]
        if self.interrupted:
            lines += ["**Interrupted**: the table holds the runs that finished.", ""]
        lines += ["| net | architecture | weights | links | test accuracy (mean) | sd | min | max | "
                  "train accuracy | ESL Table 11.1 |",
                  "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
        for row in self.summary():
            book = f"{row['book']:.1%}" if row["book"] is not None else "–"
            lines.append(f"| {self.label(row['net'])} | {ARCHITECTURES.get(row['net'], '')} | {row['weights']:,} | "
                         f"{row['links']:,} | {row['mean']:.1%} | {100 * row['sd']:.1f} | {row['min']:.1%} | "
                         f"{row['max']:.1%} | {row['train_mean']:.1%} | {book} |")
        lines += ["", f"n = {self.config['repeats']} runs per net; sd in percentage points (n − 1 in the "
                      f"denominator). The book's digits were Le Cun's (1989) 320 + 160; these are USPS digits."]
        return "\n".join(lines) + "\n"

    def to_csv(self):
        """One line per (net, repeat), the fields of :data:`RUN_FIELDS`."""
        buf = io.StringIO()
        writer = csv.DictWriter(buf, RUN_FIELDS, lineterminator="\n")
        writer.writeheader()
        for run in self.runs:
            writer.writerow({**run, "test_accuracy": f"{run['test_accuracy']:.6f}",
                             "train_accuracy": f"{run['train_accuracy']:.6f}", "seconds": f"{run['seconds']:.3f}"})
        return buf.getvalue()

    def curves_csv(self):
        """Test accuracy after each epoch: net, repeat, epoch (from 1), test_accuracy."""
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(["net", "repeat", "epoch", "test_accuracy"])
        for net, curves in self.curves.items():
            for r, curve in enumerate(curves):
                writer.writerows([net, r, e + 1, f"{v:.6f}"] for e, v in enumerate(curve) if not math.isnan(v))
        return buf.getvalue()

    # -- picture ---------------------------------------------------------------------------------
    def plot(self, path=None):
        """Two panels: test accuracy per epoch (ESL Figure 11.11) and final accuracy per net with the book's.

        Left: the mean over repeats, shaded ± one sd. Right: mean ± sd as error
        bars, min and max as ticks, ESL Table 11.1 as crosses. Returns the
        matplotlib Figure (and writes it to ``path`` when given).
        """
        try:
            from matplotlib.figure import Figure
        except ImportError:
            raise ImportError("esl: the plot needs matplotlib; pip install 'netfit[plot]', "
                              "or pass plot=False (--no-plot).") from None
        fig = Figure(figsize=(11, 4.2), layout="constrained")
        left, right = fig.subplots(1, 2, gridspec_kw={"width_ratios": [3, 2]})
        nets = self.nets()
        colors = {net: f"C{i}" for i, net in enumerate(nets)}
        for net in nets:
            curves = 100 * np.vstack(self.curves[net])
            mean, sd = np.nanmean(curves, axis=0), np.nanstd(curves, axis=0)
            epochs = np.arange(1, curves.shape[1] + 1)
            left.plot(epochs, mean, color=colors[net], label=self.label(net))
            left.fill_between(epochs, mean - sd, mean + sd, color=colors[net], alpha=0.15, linewidth=0)
        left.set(xlabel="training epochs", ylabel="% correct on test data",
                 title="Test accuracy per epoch (cf. ESL Figure 11.11)")
        left.grid(alpha=0.3)
        left.legend(loc="lower right")
        rows = self.summary()
        xs = np.arange(len(rows))
        for x, row in zip(xs, rows):
            c = colors[row["net"]]
            right.errorbar(x, 100 * row["mean"], yerr=100 * row["sd"], fmt="o", color=c, capsize=5)
            right.plot([x, x], [100 * row["min"], 100 * row["max"]], "_", color=c, markersize=12)
        book = [(x, 100 * row["book"]) for x, row in zip(xs, rows) if row["book"] is not None]
        if book:
            right.plot(*zip(*book), "x", color="black", markersize=8, label="ESL Table 11.1 (Le Cun's 320 / 160)")
            right.legend(loc="lower right")
        right.set_xticks(xs, [self.label(row["net"]) for row in rows])
        right.set(ylabel="% correct on test data",
                  title=f"After {self.config['epochs']} epochs (n = {self.config['repeats']}): "
                        f"mean ± sd,\nticks at min and max")
        right.grid(alpha=0.3, axis="y")
        if path is not None:
            fig.savefig(path, dpi=100)
        return fig

    def write(self, out, plot=True):
        """Write results.md, results.csv, curves.csv (and esl.png) into folder ``out``; return the paths."""
        os.makedirs(out, exist_ok=True)
        paths = []
        for name, text in (("results.md", self.to_markdown()), ("results.csv", self.to_csv()),
                           ("curves.csv", self.curves_csv())):
            path = os.path.join(out, name)
            with open(path, "w", encoding="utf-8") as handle:
                handle.write(text)
            paths.append(path)
        if plot and self.runs:
            path = os.path.join(out, "esl.png")
            self.plot(path)
            paths.append(path)
        return paths
