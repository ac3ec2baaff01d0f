"""benchmarks/gpu.py's --smoke mode runs every netfit code path of the GPU benchmark in seconds, so that the
run on the GPU machine does not fail on a typo: on the CPU, and on the fake device (tests/fake_gpu.py)."""
import importlib.util
import pathlib

import pytest

from netfit import backend

import fake_gpu

SCRIPT = pathlib.Path(__file__).resolve().parents[1] / "benchmarks" / "gpu.py"


def _bench():
    spec = importlib.util.spec_from_file_location("gpu_bench", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("device", [None, "fakegpu"])
def test_smoke_run_writes_every_row(tmp_path, device):
    fake_gpu.install()
    out = tmp_path / "RESULTS-gpu.md"
    argv = ["--smoke", "--smoke-n", "300", "--out", str(out)] + (["--device", device] if device else [])
    try:
        assert _bench().main(argv) == 0
    finally:
        backend.set_device("cpu")
    text = out.read_text()
    where = "CPU (smoke)" if device is None else "fakegpu (smoke)"
    for workload in ("mlp-b32", "mlp-b128", "mlp-b1024", "cnn-b128", "predict"):
        assert f"| {where} | {workload}" in text
    assert "- netfit device: " + (device or "cpu") in text
    if device == "fakegpu":                           # a GPU run also measures the machine's CPU
        assert "| CPU (" in text and "cores) | cnn-b128 | 2 steps" in text


def test_report_compares_with_the_targets(tmp_path):
    """The table's ratios and target column, from rows as run() makes them with PyTorch present."""
    rows = [{"where": "GPU", "workload": "mlp-b32", "how": "epoch", "netfit": 1.0, "netfit acc": 0.97,
             "torch": 2.88, "torch acc": 0.96},
            {"where": "GPU", "workload": "cnn-b128", "how": "epoch", "netfit": 1.8, "netfit acc": 0.98,
             "torch": 1.03, "torch acc": 0.98},
            {"where": "GPU", "workload": "predict 10k", "how": "images/s", "netfit": 2e6, "torch": 1e6},
            {"where": "CPU (16 cores)", "workload": "mlp-b128", "how": "epoch", "netfit": 0.5, "netfit acc": 0.9,
             "torch": 1.0, "torch acc": 0.9}]
    text = _bench().write(tmp_path / "r.md", {"GPU": "test"}, rows, ["a note"], 12.0, "gpu")
    assert "| GPU | mlp-b32 | epoch | 1.000 | 2.880 | 0.35 | ≤ 0.4 | yes | 0.9700 / 0.9600 |" in text
    assert "| GPU | cnn-b128 | epoch | 1.800 | 1.030 | 1.75 | ≤ 1.5 | no |" in text
    assert "| GPU | predict 10k | images/s | 2,000,000 | 1,000,000 | 2.00 | ≥ 1 | yes |" in text
    assert "| CPU (16 cores) | mlp-b128 | epoch | 0.500 | 1.000 | 0.50 |  |  |" in text
    assert "- a note" in text and "No GPU in this run" not in text
