"""benchmarks/bench_profile.py: every row profiled, layer times that add up, and the FLOP rule of its rates.

Run in subprocesses: the script sets NETFIT_COMPILED=0 and one BLAS thread for its own process.
"""
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _python(code_or_args, tmp_path):
    args = ["-c", code_or_args] if isinstance(code_or_args, str) else code_or_args
    done = subprocess.run([sys.executable, *args], cwd=tmp_path, capture_output=True, text=True, timeout=300,
                          env={"PYTHONPATH": f"{ROOT}:{ROOT / 'benchmarks'}", "PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_every_row_is_profiled_and_its_layers_add_up(tmp_path):
    out = tmp_path / "profile.md"
    _python([str(ROOT / "benchmarks" / "bench_profile.py"), "--steps", "1", "--out", str(out)], tmp_path)
    text = out.read_text()
    sections = text.split("\n## ")[1:]
    assert len(sections) == 7 and "residual CNN" in text and "predict, mnist_convnet CNN" in text
    for section in sections:
        rows = [line for line in section.splitlines() if line.startswith("| ") and "(" in line.split("|")[1]
                and "**" not in line and "the rest" not in line]
        times = [float(t) for row in rows for t in re.findall(r"\| (\d+\.\d+) ms", row)]
        total = float(re.search(r"\*\*all layers\*\* \|(?: \| \|)? (\d+\.\d+) ms", section).group(1))
        assert abs(sum(times) - total) <= 0.01 * len(times) + 1e-9, section   # each cell rounded to 0.01 ms
    assert re.search(r"GEMM ceiling .*: \*\*\d+\.\d GFLOP/s\*\*", text)


def test_backward_counts_s_for_every_layer_but_the_first_with_weights(tmp_path):
    code = """
import bench_profile as b, workers
model = workers.netfit_model("mlp", 0)
first, second = [l for l in model.layers if l.count_params()]
spent = {(first.name, "backward"): 1e-6, (second.name, "backward"): 1e-6}
rows = b.layer_rows(model, spent, 1, 1.0, passes=("backward",))
print(first.count_links(), second.count_links())
print("\\n".join(rows))
"""
    links, *rows = _python(code, tmp_path).splitlines()
    first_links, second_links = map(int, links.split())
    rates = [re.search(r"ms \| (\d+\.\d+) \(", row).group(1) for row in rows]       # 1 µs for each pass
    assert rates == [f"{2 * first_links / 1e3:.1f}", f"{4 * second_links / 1e3:.1f}"]
