"""Results of the ESL experiment: per-run records, the summary table, Markdown, CSV and the picture."""
import csv
import io
import math
import os
import time

import numpy as np

from . import _plots, esl_recipes
from ._stats import paired_difference

#: ESL Table 11.1's test accuracies (Le Cun's 320/160 digits).
BOOK_ACCURACY = {"net1": 0.800, "net2": 0.870, "net3": 0.885, "net4": 0.940, "net5": 0.984}
LABELS = {"net1": "Net-1", "net2": "Net-2", "net3": "Net-3", "net4": "Net-4", "net5": "Net-5", "cnn": "CNN",
          "zipcnn": "ZIP CNN", "logreg": "LogisticRegression"}
ARCHITECTURES = {
    "net1": "no hidden layer",
    "net2": "12 hidden units, fully connected",
    "net3": "2 locally connected layers (8×8, 4×4)",
    "net4": "2 shared 8×8 maps, then 4×4 locally connected",
    "net5": "2 shared 8×8 maps, then 4 shared 4×4 maps",
    "cnn": "Keras mnist_convnet (relu, max-pool, dropout, softmax + CE)",
    "zipcnn": "2×2 'same' 3×3 conv blocks (32, 64), max-pool, dropout, dense 128, softmax + CE",
    "logreg": "scikit-learn LogisticRegression() (C = 1), same draws",
}
PAIRED_FIELDS = ("from", "to", "n", "mean", "sd", "low", "high", "book")
RUN_FIELDS = ("net", "repeat", "train_size", "test_size", "epochs", "test_accuracy", "train_accuracy",
              "seconds", "weights", "links")


def _sd(row):
    """A summary row's sd in percentage points, or "–" for one run (an sd over one value is not 0, it is none)."""
    return "–" if row["n"] < 2 else f"{100 * row['sd']:.1f}"


def runs_csv(fields, runs):
    """CSV text of run records: accuracies with 6 decimals, seconds with 3."""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fields, lineterminator="\n")
    writer.writeheader()
    for run in runs:
        writer.writerow({**run, "test_accuracy": f"{run['test_accuracy']:.6f}",
                         "train_accuracy": f"{run['train_accuracy']:.6f}", "seconds": f"{run['seconds']:.3f}"})
    return buf.getvalue()


def write_texts(out, texts):
    """Write {file name: text} into folder ``out`` (made if missing); return the paths."""
    os.makedirs(out, exist_ok=True)
    paths = []
    for name, text in texts.items():
        paths.append(os.path.join(out, name))
        with open(paths[-1], "w", encoding="utf-8") as handle:
            handle.write(text)
    return paths


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
        self.baseline = []
        self.seconds = 0.0
        self.started = time.strftime("%Y-%m-%d %H:%M")      # when the run began (the Markdown's stamp)
        self.interrupted = False

    @staticmethod
    def label(net):
        return LABELS.get(net, net)

    def add(self, net, repeat, test_accuracy, train_accuracy, curve, seconds, weights, links):
        c = self.config
        self.runs.append({"net": net, "repeat": repeat, "train_size": c["train_size"], "test_size": c["test_size"],
                          "epochs": len(curve), "test_accuracy": float(test_accuracy),
                          "train_accuracy": float(train_accuracy), "seconds": float(seconds),
                          "weights": int(weights), "links": int(links)})
        self.curves.setdefault(net, []).append(np.asarray(curve, float))

    def add_baseline(self, repeat, test_accuracy, train_accuracy, seconds):
        """Record scikit-learn's LogisticRegression on draw ``repeat``."""
        c = self.config
        self.baseline.append({"net": "logreg", "repeat": repeat, "train_size": c["train_size"],
                              "test_size": c["test_size"], "epochs": "", "test_accuracy": float(test_accuracy),
                              "train_accuracy": float(train_accuracy), "seconds": float(seconds), "weights": 2570,
                              "links": 2570})

    def nets(self):
        """The nets that have results, in the order they were run."""
        return list(dict.fromkeys(run["net"] for run in self.runs))

    def accuracies(self, net):
        """Final test accuracies of ``net``, one per repeat."""
        return np.array([run["test_accuracy"] for run in self.runs + self.baseline if run["net"] == net])

    def summary(self, baseline=False):
        """One dict per net: weights, links, n, mean, sd (n − 1; NaN for one run), min, max test accuracy, the book's.

        With ``baseline`` (and a baseline run), LogisticRegression's row comes first.
        """
        rows = []
        for net in (["logreg"] if baseline and self.baseline else []) + self.nets():
            acc = self.accuracies(net)
            first = next(run for run in self.runs + self.baseline if run["net"] == net)
            rows.append({"net": net, "weights": first["weights"], "links": first["links"], "n": len(acc),
                         "mean": float(acc.mean()), "sd": float(acc.std(ddof=1)) if len(acc) > 1 else math.nan,
                         "min": float(acc.min()), "max": float(acc.max()),
                         "train_mean": float(np.mean([r["train_accuracy"] for r in self.runs + self.baseline
                                                      if r["net"] == net])),
                         "book": BOOK_ACCURACY.get(net)})
        return rows

    def paired(self):
        """Paired differences between consecutive nets (and Net-1 − LogisticRegression), over the same draws.

        One dict per pair: from, to, n, mean, sd, low, high (the 95 % t-interval of
        the mean of to − from over the draws both finished; see
        :func:`netfit.experiments._stats.paired_difference`) and book (the book's
        difference, or None).
        """
        nets = self.nets()
        pairs = [("logreg", "net1")] if self.baseline and "net1" in nets else []
        pairs += list(zip(nets, nets[1:]))
        rows = []
        for a, b in pairs:
            acc_a = {r["repeat"]: r["test_accuracy"] for r in self.runs + self.baseline if r["net"] == a}
            acc_b = {r["repeat"]: r["test_accuracy"] for r in self.runs + self.baseline if r["net"] == b}
            both = sorted(set(acc_a) & set(acc_b))
            if not both:
                continue
            d = paired_difference([acc_a[r] for r in both], [acc_b[r] for r in both])
            book = (BOOK_ACCURACY[b] - BOOK_ACCURACY[a]) if a in BOOK_ACCURACY and b in BOOK_ACCURACY else None
            rows.append({"from": a, "to": b, **{k: d[k] for k in ("n", "mean", "sd", "low", "high")}, "book": book})
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
                    f"from zip.train and {c['test_size']} test digits from zip.test, on which every net trains "
                    f"(paired draws) from fresh starting weights")
        which = ("the book's recipe (sigmoid units, squared error, ±0.7 starts; Adam mini-batches)"
                 if c["recipe"] == "book" else "its recipe chosen on validation draws from zip.train "
                 "(netfit esl-search; never on zip.test)")
        text = (f"Protocol: {data}. Each net trained by {which}, with the options given on the command line "
                f"replacing ingredients (recipes below). Test accuracy after the last epoch.")
        if c.get("baseline"):
            text += " LogisticRegression: scikit-learn's defaults (L2, C = 1) on the same draws."
        if c.get("shift"):
            text += " Training digits moved by a random ±1 pixel each epoch."
        return text

    def to_markdown(self):
        """The results as a Markdown section: protocol, command, recipes, the table beside ESL's, paired differences."""
        c = self.config
        title = "full split" if c["full"] else f"{c['train_size']} / {c['test_size']} digits"
        stamp = f"started {self.started} · {self.seconds:.0f} s"
        lines = [f"## ESL Table 11.1 on the zip-code digits ({title})", "", self.protocol(), ""]
        if c.get("command"):
            lines += [f"Command: `{c['command']}` · {stamp}", ""]
        else:
            lines += [stamp, ""]
        if self.interrupted:
            lines += ["**Interrupted**: the table holds the runs that finished.", ""]
        lines += ["| net | recipe |", "|---|---|"]
        lines += [f"| {self.label(net)} | {esl_recipes.describe(recipe, net)} |"
                  for net, recipe in c["recipes"].items()]
        lines += ["", "| net | architecture | weights | links | test accuracy (mean) | sd | min | max | "
                      "train accuracy | ESL Table 11.1 |",
                  "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
        for row in self.summary(baseline=True):
            book = f"{row['book']:.1%}" if row["book"] is not None else "–"
            lines.append(f"| {self.label(row['net'])} | {ARCHITECTURES.get(row['net'], '')} | {row['weights']:,} | "
                         f"{row['links']:,} | {row['mean']:.1%} | {_sd(row)} | {row['min']:.1%} | "
                         f"{row['max']:.1%} | {row['train_mean']:.1%} | {book} |")
        lines += ["", f"n = {self.config['repeats']} runs per net; sd in percentage points (n − 1 in the "
                      f"denominator). The book's digits were Le Cun's (1989) 320 + 160; these are USPS digits."]
        lines += self.epochs_markdown()
        paired = self.paired()
        if paired:
            lines += ["", "Paired differences (same draws; percentage points, 95 % t-interval on the n differences):",
                      "", "| difference | n | mean | sd | 95 % interval | ESL Table 11.1 |", "|---|---:|---:|---:|---|---:|"]
            for d in paired:
                interval = (f"[{100 * d['low']:+.1f}, {100 * d['high']:+.1f}]" if d["n"] > 1 else "–")
                book = f"{100 * d['book']:+.1f}" if d["book"] is not None else "–"
                sd = f"{100 * d['sd']:.1f}" if d["n"] > 1 else "–"
                lines.append(f"| {self.label(d['to'])} − {self.label(d['from'])} | {d['n']} | {100 * d['mean']:+.1f} | "
                             f"{sd} | {interval} | {book} |")
        return "\n".join(lines) + "\n"

    def epochs_markdown(self, marks=(1, 5, 10, 20, 50, 100, 150)):
        """Lines of a table: mean test accuracy after epochs ``marks`` (and the last), per net (Figure 11.11's numbers)."""
        if not self.curves:
            return []
        # A curve is NaN after its run stopped (L-BFGS converged, Ctrl-C): the columns end at the last epoch trained.
        longest = max(int(np.sum(~np.isnan(c))) for curves in self.curves.values() for c in curves)
        epochs = sorted({e for e in marks if e <= longest} | {longest})
        lines = ["", "Test accuracy after each epoch, mean over the draws (ESL Figure 11.11's numbers; – past a net's "
                     "last epoch):", "", "| net | " + " | ".join(f"epoch {e}" for e in epochs) + " |",
                 "|---|" + "---:|" * len(epochs)]
        carried = False
        for net, curves in self.curves.items():
            cells, trained = [], [int(np.sum(~np.isnan(c))) for c in curves]
            for e in epochs:
                # A draw that stopped before epoch e keeps its weights, so it counts with its last accuracy.
                values = [c[min(e, t) - 1] for c, t in zip(curves, trained) if t and e <= len(c)]
                stopped = any(t < e for c, t in zip(curves, trained) if t and e <= len(c))
                carried |= stopped
                cells.append(f"{np.mean(values):.1%}" + ("†" if stopped else "") if values else "–")
            lines.append(f"| {self.label(net)} | " + " | ".join(cells) + " |")
        if carried:
            lines += ["", "† some draws had stopped before this epoch (L-BFGS converged, or the run was "
                          "interrupted); they count with the accuracy they stopped at."]
        return lines

    def to_csv(self):
        """One line per (net, repeat), the fields of :data:`RUN_FIELDS` (LogisticRegression as net "logreg")."""
        return runs_csv(RUN_FIELDS, self.baseline + self.runs)

    def paired_csv(self):
        """The paired differences, fields :data:`PAIRED_FIELDS` (accuracies as fractions)."""
        buf = io.StringIO()
        writer = csv.DictWriter(buf, PAIRED_FIELDS, lineterminator="\n")
        writer.writeheader()
        for d in self.paired():
            writer.writerow({k: (f"{v:.6f}" if isinstance(v, float) else ("" if v is None else v))
                             for k, v in d.items()})
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

    # -- pictures ---------------------------------------------------------------------------------
    def plot(self, path=None):
        """Final accuracy per net beside the book's, and the paired differences (:func:`_plots.table_figure`)."""
        return _plots.table_figure(self, path)

    def plot_epochs(self, path=None):
        """Test accuracy after every epoch, ESL Figure 11.11's analogue (:func:`_plots.epochs_figure`)."""
        return _plots.epochs_figure(self, path)

    def write(self, out, plot=True):
        """Write results.md, results.csv, paired.csv, curves.csv (and esl.png, epochs.png) into ``out``; return the paths."""
        paths = write_texts(out, {"results.md": self.to_markdown(), "results.csv": self.to_csv(),
                                  "paired.csv": self.paired_csv(), "curves.csv": self.curves_csv()})
        if plot and self.runs:
            for name, draw in (("esl.png", self.plot), ("epochs.png", self.plot_epochs)):
                paths.append(os.path.join(out, name))
                draw(paths[-1])
        return paths
