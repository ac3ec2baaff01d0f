"""benchmarks/report.py's best-peer columns (issue 25): the fastest side other than netfit's own, by the row's sense."""
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

import report  # noqa: E402


def _row(**medians):
    return {side: {"median": value} for side, value in medians.items()}


def test_the_best_peer_is_the_fastest_for_times_and_the_highest_for_rates():
    sides = ["netfit", "netfit-fast", "torch", "keras-jax", "numpy"]
    times = _row(netfit=1.0, **{"netfit-fast": 0.5}, torch=1.2, **{"keras-jax": 0.8}, numpy=0.9)
    assert report._best_peer(times, "time", sides) == ("keras-jax", 0.8)      # netfit[fast] is not a peer
    assert report._to_best(times, "time", sides) == 1.0 / 0.8
    rates = _row(netfit=10.0, torch=4.0, **{"keras-jax": 40.0})
    assert report._best_peer(rates, "rate", sides) == ("keras-jax", 40.0)
    assert report._to_best(rates, "rate", sides) == 0.25
    assert report._best_peer(_row(netfit=1.0), "time", sides) == (None, None)
    assert report._to_best(_row(netfit=1.0), "time", sides) is None


def test_the_recorded_run_names_its_best_peers():
    text = report.render(report.load(ROOT / "benchmarks" / "RESULTS.json"))
    summary = text.split("## Summary")[1].split("\n## ")[0]
    head = [cell.strip() for cell in summary.splitlines()[4].split("|")[1:-1]]
    assert head[6:10] == ["netfit[fast]/PyTorch", "best peer", "netfit/best", "netfit[fast]/best"]
    cnn = next(line for line in summary.splitlines() if line.startswith("| predict CNN"))
    cells = [cell.strip() for cell in cnn.split("|")[1:-1]]
    best = dict(zip(head, cells))
    # The best peer is the side of the most images/s other than netfit's own; netfit/best their ratio.
    assert head[10] == "netfit[fast]"                         # the peers' columns follow it
    peers = {side: r for side in ["PyTorch", *head[11:]] if (r := _images_per_second(best[side]))}
    assert best["best peer"] == max(peers, key=peers.get)
    ratio = _images_per_second(best["netfit"]) / peers[best["best peer"]]
    assert abs(float(best["netfit/best"]) - ratio) <= 0.011 + 0.01 * ratio      # cells are rounded


def _images_per_second(cell):
    """The median of a predict cell ("20.7 k (19.6–23.1 k)"), in images/s; None for another cell."""
    m = re.match(r"([\d.]+) ([kM]) \(", cell)
    return float(m.group(1)) * {"k": 1e3, "M": 1e6}[m.group(2)] if m else None
