"""ESL §11.6's figures as tables, boxplots and the book's findings, from the rows of :mod:`.esl_11_6`.

A row is one fit: ``figure``, ``kind`` ("sigmoid" or "radial"), ``hidden``,
``decay`` (the book's λ), ``data_seed`` (which simulated training set),
``impl`` ("netfit" or "sklearn"), ``seed`` (the random start), and the numbers
``test_error`` and ``linear_error`` (relative to the Bayes error; the second is
the least-squares linear fit on the same training set).
"""
import os

import numpy as np

__all__ = ["FIGURES", "BOOK_DECAY", "cell", "table", "check_findings", "format_report", "plots"]

BOOK_DECAY = 0.0005
FIGURES = {
    "11.6": {"title": "Figure 11.6: weight decay 0.0005",
             "panels": [("sigmoid", {"decay": [BOOK_DECAY]}), ("radial", {"decay": [BOOK_DECAY]})],
             "units": list(range(11))},
    "11.7": {"title": "Figure 11.7: sum of sigmoids, no weight decay / weight decay 0.1",
             "panels": [("sigmoid", {"decay": [0.0]}), ("sigmoid", {"decay": [0.1]})],
             "units": list(range(11))},
    "11.8": {"title": "Figure 11.8: sum of sigmoids, 10 hidden units",
             "panels": [("sigmoid", {"decay": [0.0, 0.02, 0.04, 0.06, 0.08, 0.1, 0.12, 0.14]})],
             "units": [10]},
}
NEAR_BAYES = 1.25          # "close to the Bayes rate": within 25 % of it
LOCAL_MINIMUM = 1.10       # a start this much worse than its set's best start ended in another minimum


def cell(rows, key="test_error", **match):
    """The values of ``key`` in the rows whose fields equal ``match``, as a float array."""
    return np.array([r[key] for r in rows if all(r.get(k) == v for k, v in match.items())], float)


def table(rows, fig):
    """Markdown: a line per (implementation, model, decay, units): median, mean ± sd, min, max over the runs."""
    lines = ["| implementation | model | weight decay | hidden units | runs | median | mean ± sd | min | max |",
             "|---|---|---|---|---|---|---|---|---|"]
    seen = []
    for r in rows:
        key = (r.get("impl", "netfit"), r["kind"], r["decay"], r["hidden"])
        if r["figure"] == fig and key not in seen:
            seen.append(key)
    for impl, kind, decay, hidden in sorted(seen, key=lambda k: (k[1], k[2], k[3], k[0])):
        e = cell(rows, figure=fig, impl=impl, kind=kind, decay=decay, hidden=hidden)
        sd = f" ± {e.std(ddof=1):.3f}" if e.size > 1 else ""
        lines.append(f"| {impl} | {kind} | {decay:g} | {hidden} | {e.size} | {np.median(e):.3f} | "
                     f"{e.mean():.3f}{sd} | {e.min():.3f} | {e.max():.3f} |")
    return "\n".join(lines)


def check_findings(rows, impl="netfit"):
    """The book's claims, each as (claim, holds?, the numbers behind it), for one implementation's rows.

    Cells pool the random starts over the simulated training sets, except where
    a claim is about one training set: "close to the Bayes rate" is judged on
    the median over training sets of each set's median (the book drew one set;
    how far one set can be from typical is shown beside), and "no better than
    the linear model" compares each start with the linear fit *of its own
    training set*. Claims lacking runs are skipped.
    """
    rows = [r for r in rows if r.get("impl", "netfit") == impl]
    out = []

    def med(**m):
        e = cell(rows, **m)
        return float(np.median(e)) if e.size else None

    s6 = {h: med(figure="11.6", kind="sigmoid", hidden=h) for h in range(11)}
    if s6[0] is not None and s6[2] is not None:
        few = [s6[h] for h in (0, 1) if s6[h] is not None]
        out.append(("Too few hidden units hurt: with λ=0.0005 the sum of sigmoids fits worse with 0–1 units "
                    "than with 2", all(v > s6[2] for v in few),
                    f"median relative test error 0 units {s6[0]:.3f}"
                    + (f", 1 unit {s6[1]:.3f}" if s6[1] is not None else "") + f", 2 units {s6[2]:.3f}"))
    two = [r for r in rows if r["figure"] == "11.6" and r["kind"] == "sigmoid" and r["hidden"] == 2]
    if two:
        sets = sorted({r["data_seed"] for r in two})
        per_set = [float(np.median([r["test_error"] for r in two if r["data_seed"] == d])) for d in sets]
        typical = float(np.median(per_set))
        out.append((f"Two hidden units come close to the Bayes rate (relative error below {NEAR_BAYES})",
                    typical < NEAR_BAYES,
                    f"median over {len(sets)} training set(s) {typical:.3f}; per set "
                    + ", ".join(f"{d}: {v:.3f}" for d, v in zip(sets, per_set))))
        stuck = [r for r in two if r["test_error"] >= r["linear_error"]]
        where = sorted({r["data_seed"] for r in stuck})
        out.append(("Multiple starts matter: some starts with 2 units end no better than the linear model of "
                    "their training set (the book: 2 of 10 on its one set)", bool(stuck),
                    f"{len(stuck)} of {len(two)} starts over {len(sets)} training set(s)"
                    + (f" (sets {', '.join(map(str, where))})" if where else "")))
        best = {d: min(r["test_error"] for r in two if r["data_seed"] == d) for d in sets}
        worse = [r for r in two if r["test_error"] > LOCAL_MINIMUM * best[r["data_seed"]]]
        out.append((f"... and starts end in different minima: some 2-unit starts end more than "
                    f"{LOCAL_MINIMUM - 1:.0%} above the best start of their training set", bool(worse),
                    f"{len(worse)} of {len(two)} starts"
                    + (f"; worst {max(r['test_error'] / best[r['data_seed']] for r in worse):.2f}× its set's best"
                       if worse else "")))
    s0 = {h: med(figure="11.7", kind="sigmoid", decay=0.0, hidden=h) for h in range(11)}
    s1 = {h: med(figure="11.7", kind="sigmoid", decay=0.1, hidden=h) for h in range(11)}
    big = [h for h in range(5, 11) if s0[h] is not None and s1[h] is not None]
    if big:
        m0, m1 = np.mean([s0[h] for h in big]), np.mean([s1[h] for h in big])
        out.append(("Weight decay helps: with 5–10 hidden units λ=0.1 beats no decay", m1 < m0,
                    f"mean of medians over {big[0]}–{big[-1]} units: λ=0 {m0:.3f}, λ=0.1 {m1:.3f}"))
    if s0[2] is not None and s0[10] is not None:
        out.append(("Without weight decay more units overfit (10 units worse than 2)", s0[10] > s0[2],
                    f"λ=0 medians: 2 units {s0[2]:.3f}, 10 units {s0[10]:.3f}"))
    if s1[2] is not None and s1[10] is not None:
        out.append(("With λ=0.1 there is no overfitting as units grow (10 units within 10% of 2)",
                    s1[10] <= 1.1 * s1[2], f"λ=0.1 medians: 2 units {s1[2]:.3f}, 10 units {s1[10]:.3f}"))
    r6 = {h: med(figure="11.6", kind="radial", hidden=h) for h in range(11)}
    have = [h for h in range(1, 11) if r6[h] is not None]
    if have:
        worst = max(r6[h] for h in have)
        out.append(("The radial function is hard: the nets stay well above the Bayes error",
                    min(r6[h] for h in have) > 1.5, "medians " + ", ".join(f"{h}: {r6[h]:.2f}" for h in have)))
        out.append(("... and with more units they do worse than the constant fit (relative error 5)", worst > 5,
                    f"largest median {worst:.2f} (at {max(have, key=lambda h: r6[h])} units)"))
    decays = sorted({r["decay"] for r in rows if r["figure"] == "11.8"})
    if decays:
        meds = {d: med(figure="11.8", decay=d) for d in decays}
        best = min(meds, key=meds.get)
        # An optimum needs worse values on both sides: a best λ at the end of the grid is not one.
        interior = decays[0] < best < decays[-1]
        out.append(("Figure 11.8: λ ≈ 0.1 is about optimal for 10 hidden units", interior and 0.04 <= best <= 0.14,
                    "medians " + ", ".join(f"{d:g}: {meds[d]:.3f}" for d in decays) + f"; best λ = {best:g}"
                    + ("" if interior else " (at the end of the grid: no optimum inside it)")))
    return out


def format_report(report):
    """The Markdown report: configuration, one table per figure, the findings side by side per implementation."""
    c = report["config"]
    impls = c.get("implementations", ["netfit"])
    lines = ["# ESL §11.6 simulated data: test error relative to the Bayes error", "",
             f"{c['starts']} random starts per setting on {len(c['data_seeds'])} simulated training set(s) "
             f"(data seeds {', '.join(map(str, c['data_seeds']))}) of {c['n_train']} cases, {c['n_test']} test "
             f"cases, L-BFGS up to {c['maxiter']} iterations, float64; implementations: {', '.join(impls)}. "
             f"Weight decay is the book's λ (sum-of-squares scale). Run time {report['seconds']:.0f} s.", ""]
    for fig, text in report["tables"].items():
        lines += [f"## {FIGURES[fig]['title']}", "", text, ""]
    findings = report["findings"]
    lines += ["## The book's findings", "",
              "| finding | " + " | ".join(impls) + " |", "|---|" + "---|" * len(impls)]
    claims = [claim for claim, _, _ in findings[impls[0]]]
    for claim in claims:
        cells = []
        for impl in impls:
            match = [(ok, numbers) for c2, ok, numbers in findings[impl] if c2 == claim]
            cells.append(f"{'**yes**' if match[0][0] else '**no**'}: {match[0][1]}" if match else "—")
        lines.append(f"| {claim} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def plots(rows, figures, out, impl="netfit"):
    """Boxplots like the book's, one PNG per figure for ``impl``'s rows; returns the paths (none without matplotlib)."""
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        return []
    rows = [r for r in rows if r.get("impl", "netfit") == impl]
    paths = []
    for fig in figures:
        panels = FIGURES[fig]["panels"]
        figure = Figure(figsize=(5.5 * len(panels), 4.2))
        FigureCanvasAgg(figure)
        for i, (kind, extra) in enumerate(panels):
            ax = figure.add_subplot(1, len(panels), i + 1)
            if fig == "11.8":
                xs = extra["decay"]
                data = [cell(rows, figure=fig, kind=kind, decay=d) for d in xs]
                ax.set_xlabel("Weight decay parameter λ")
                labels = [f"{d:g}" for d in xs]
                title = "Sum of sigmoids, 10 hidden units"
            else:
                decay = extra["decay"][0]
                xs = sorted({r["hidden"] for r in rows if r["figure"] == fig and r["kind"] == kind
                             and r["decay"] == decay})
                data = [cell(rows, figure=fig, kind=kind, decay=decay, hidden=h) for h in xs]
                ax.set_xlabel("Number of hidden units")
                labels = [str(h) for h in xs]
                title = f"{'Sum of sigmoids' if kind == 'sigmoid' else 'Radial'}, weight decay {decay:g}"
            keep = [k for k, d in enumerate(data) if d.size]
            if not keep:
                continue
            ax.boxplot([data[k] for k in keep], tick_labels=[labels[k] for k in keep])
            ax.axhline(1.0, color="grey", lw=0.8, ls="--")
            values = np.concatenate([data[k] for k in keep])
            top = 1.25 * float(np.quantile(values, 0.95))
            if values.max() > 1.5 * top:                   # a few runaway fits would flatten every box
                ax.set_ylim(min(0.95, float(values.min()) * 0.95), top)
                off = int(np.sum(values > top))
                ax.text(0.99, 0.98, f"{off} run(s) above {top:.3g}, up to {values.max():.3g}",
                        transform=ax.transAxes, ha="right", va="top", fontsize=8)
            ax.set_ylabel("Test error (relative to Bayes)")
            ax.set_title(title, fontsize=10)
        figure.suptitle(f"{FIGURES[fig]['title']} ({impl})", fontsize=11)
        figure.tight_layout()
        suffix = "" if impl == "netfit" else f"_{impl}"
        path = os.path.join(out, f"fig{fig.replace('.', '_')}{suffix}.png")
        figure.savefig(path, dpi=110)
        paths.append(path)
    return paths
