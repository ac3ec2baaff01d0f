"""benchmarks/bench_small_steps.py: both thread settings timed at every batch, beside a busy process too,
and the "auto" column read from netfit.config.SMALL_PRODUCTS_STEP_FLOPS.

Run in a subprocess: the script sets NETFIT_COMPILED=0 for its own process and starts a spinning one.
"""
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from netfit import config, zoo

sys.path.insert(0, os.path.dirname(__file__))
from data_folder import ABSENT, SHARED_DATA, holds  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
pytest.importorskip("threadpoolctl")                   # the script holds BLAS at one thread with it


@pytest.mark.skipif(not holds("mnist"), reason=ABSENT)
def test_both_settings_are_timed_at_every_batch_beside_a_busy_process_too(tmp_path):
    out = tmp_path / "small.md"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "NETFIT_DATA_DIR": str(SHARED_DATA)}
    done = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "bench_small_steps.py"), "--repeats", "1",
                           "--examples", "2048", "--batches", "32", "1024", "--busy", "1", "--out", str(out)],
                          cwd=tmp_path, capture_output=True, text=True, timeout=300, env=env)
    assert done.returncode == 0, done.stderr
    text = out.read_text()
    tables = text.split("\n## ")[1:]
    assert len(tables) == 2 and "1 other process spinning" in tables[1]
    links = zoo.lecture_mlp().count_links()
    for table in tables:
        assert re.search(r"other processes used \d+ % of the machine's CPU", table)
        rows = [line.split(" | ") for line in table.splitlines() if re.match(r"\| \d+ \|", line)]
        assert [int(r[0].strip("| ")) for r in rows] == [32, 1024]
        for batch, flops, one, own, ratio, auto in rows:
            b = int(batch.strip("| "))
            assert float(flops) == round(6 * links * b / 1e6, 1)
            medians = [float(cell.split()[0]) for cell in (one, own)]
            assert all(m > 0 for m in medians)                   # the cells round short epochs to 1 ms:
            assert float(ratio) == pytest.approx(medians[0] / medians[1], rel=0.08, abs=0.011)
            wanted = "BLAS's own threads" if 6 * links * b >= config.SMALL_PRODUCTS_STEP_FLOPS else "one BLAS thread"
            assert auto.strip(" |") == wanted
