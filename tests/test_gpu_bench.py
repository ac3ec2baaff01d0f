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
