"""README's figures: each one reproduced here, or found in the results file it cites (issue 21).

- The `netfit demo` transcript: the demo runs with OpenBLAS's kernels the README names for it
  (``OPENBLAS_CORETYPE``, read before NumPy loads, hence a child process) and every line but the
  times must match. About 25 s on a quiet 2-core machine, so it runs in `make test`; the other
  kernels' accuracies the README states run with NETFIT_TEST_ALL_KERNELS=1 (25 s each).
- The Speed section: every time, size and ratio in it is a figure of benchmarks/RESULTS*.md (or
  listed in ``ELSEWHERE`` with where it comes from).
- The figures that are the code's constants are read from the code.
"""
import os
import platform
import re
import subprocess
import sys
from pathlib import Path

import pytest

from netfit import config, replicas, zoo

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")
from data_folder import SHARED_DATA, holds  # noqa: E402


def section(title):
    """The README's text from the heading ``## title`` to the next ``## ``."""
    start = README.index(f"\n## {title}\n")
    end = README.find("\n## ", start + 1)
    return README[start:end if end > 0 else len(README)]


# -- the demo ---------------------------------------------------------------------------------------
def demo_block():
    """The lines of the ```text block after "`netfit demo` runs this model"."""
    match = re.search(r"`netfit demo` runs this model.*?```text\n(.*?)```", README, re.S)
    assert match, "README: expected the `netfit demo` transcript in a ```text block"
    return match.group(1).splitlines()


BLOCK_KERNEL = re.search(r"The block above is what OpenBLAS .*?`OPENBLAS_CORETYPE=(\w+)`", README, re.S).group(1)
OTHER_KERNELS = {kernel: accuracy for accuracy, kernel in re.findall(
    r"(\d+\.\d+) % with\s+(?:OpenBLAS's|its)\s+[\w-]+\s+kernels\s*\(`OPENBLAS_CORETYPE=(\w+)`", README)}
# CPU flags (Linux /proc/cpuinfo) each kernel needs; OpenBLAS may fall back without them.
NEEDS = {"Haswell": {"avx2", "fma"}, "SkylakeX": {"avx512f", "avx512bw", "avx512dq", "avx512vl"},
         "Sandybridge": {"avx"}}
TIMES = re.compile(r"\] - \S+ \S+/step - ")


def _mask(line):
    return TIMES.sub("] - (time) - ", line.rstrip())


def matches(block, output):
    """None if ``output`` shows ``block`` line for line ("..." stands for any lines), else the first difference."""
    i, gap = 0, False
    for line in block:
        if line.strip() == "...":
            gap = True
            continue
        while gap and i < len(output) and _mask(output[i]) != _mask(line):
            i += 1
        if i >= len(output) or _mask(output[i]) != _mask(line):
            return f"README shows {line!r}, the run printed {output[i] if i < len(output) else 'nothing more'!r}"
        i, gap = i + 1, False
    return None


def test_the_transcript_checker_catches_a_changed_figure():
    block = ["Epoch 1/2", "1/1 [=] - 9s 9ms/step - loss: 0.5", "...", "Test accuracy 97.48%"]
    run = ["Epoch 1/2", "1/1 [=] - 1s 2ms/step - loss: 0.5", "Epoch 2/2", "x", "Test accuracy 97.48%", "more"]
    assert matches(block, run) is None
    assert "97.48" in matches(block, run[:4] + ["Test accuracy 97.78%"])
    assert "loss: 0.5" in matches(block, ["Epoch 1/2", "1/1 [=] - 1s 2ms/step - loss: 0.4"])
    assert set(OTHER_KERNELS) == {"SkylakeX", "Sandybridge"} and BLOCK_KERNEL == "Haswell"


def _run_demo(kernel, tmp_path):
    """Run `netfit demo` (seed 0) on OpenBLAS's ``kernel``: its stdout lines, or a skip why it cannot."""
    import numpy as np
    if platform.machine() not in ("x86_64", "AMD64"):
        pytest.skip(f"OpenBLAS's {kernel} kernels need an x86-64 processor, not {platform.machine()}")
    blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]["name"]
    if "openblas" not in blas.lower():
        pytest.skip(f"NumPy's BLAS here is {blas}, not OpenBLAS")
    try:
        flags = set(re.search(r"^flags\s*:(.*)$", Path("/proc/cpuinfo").read_text(), re.M).group(1).split())
    except (OSError, AttributeError):
        pytest.skip("no /proc/cpuinfo to tell which kernels this processor can run")
    if not NEEDS[kernel] <= flags:
        pytest.skip(f"this processor lacks {sorted(NEEDS[kernel] - flags)} for OpenBLAS's {kernel} kernels")
    data = os.environ.get("NETFIT_DATA_DIR") or (str(SHARED_DATA) if holds("mnist", SHARED_DATA) else "")
    from netfit.datasets import _files, mnist
    old = os.environ.get("NETFIT_DATA_DIR")
    os.environ["NETFIT_DATA_DIR"] = data
    try:
        if None in _files.find(mnist.SPEC).values():
            pytest.skip("MNIST is not available offline (set NETFIT_DATA_DIR)")
    finally:
        os.environ.pop("NETFIT_DATA_DIR") if old is None else os.environ.__setitem__("NETFIT_DATA_DIR", old)
    script = ("import sys\n"
              "try:\n"
              "    import numpy, threadpoolctl\n"
              "    print('kernel:', *{i.get('architecture') for i in threadpoolctl.threadpool_info()}, file=sys.stderr)\n"
              "except ImportError:\n"
              "    pass\n"
              "from netfit import cli\n"
              "sys.exit(cli.main(['demo', '--out', sys.argv[1]]))\n")
    env = {**os.environ, "OPENBLAS_CORETYPE": kernel, "NETFIT_DATA_DIR": data, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", script, str(tmp_path / "demo")], env=env, capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    used = re.search(r"^kernel: (.*)$", done.stderr, re.M)
    if used and used.group(1).split() != [kernel]:
        pytest.skip(f"OpenBLAS ran {used.group(1)}, not {kernel}")
    return done.stdout.splitlines()


def test_the_demo_prints_what_the_readme_shows(tmp_path):
    output = _run_demo(BLOCK_KERNEL, tmp_path)
    difference = matches(demo_block(), output)
    assert difference is None, difference + "\n\nThe run:\n" + "\n".join(output)


@pytest.mark.skipif(os.environ.get("NETFIT_TEST_ALL_KERNELS") != "1",
                    reason="25 s a kernel; set NETFIT_TEST_ALL_KERNELS=1")
@pytest.mark.parametrize("kernel", sorted(OTHER_KERNELS))
def test_the_demo_accuracy_on_the_other_kernels_the_readme_names(kernel, tmp_path):
    output = _run_demo(kernel, tmp_path)
    result = next(line for line in output if line.startswith("Test loss"))
    assert result.endswith(f"test accuracy {OTHER_KERNELS[kernel]}%"), result


# -- the Speed section ------------------------------------------------------------------------------
RESULTS = "\n".join(p.read_text(encoding="utf-8") for p in sorted((ROOT / "benchmarks").glob("RESULTS*.md")))
# The figures of the results files: a number before its unit (kept with the unit: "12.0 µs" is no
# "12.0 s"), and without one: either end of a range, or a table cell.
UNIT = r"s|ms|µs|MB|×"


def figures_of(text):
    """(numbers with their unit, numbers without one, all numbers) of a results file's ``text``."""
    with_unit = set(re.findall(rf"(?<![\w.])(\d+(?:\.\d+)?)\s?({UNIT})(?!\w)", text))
    plain = {n for groups in re.findall(r"(?<![\w.])(\d+(?:\.\d+)?)(?=–)|–(\d+(?:\.\d+)?)|(?<=\| )(\d+(?:\.\d+)?)(?= \|)",
                                        text) for n in groups if n}
    return with_unit, plain, plain | {n for n, _ in with_unit}


WITH_UNIT, PLAIN, RECORDED = figures_of(RESULTS)
# Figures of the Speed section that are not in benchmarks/RESULTS*.md, and where they come from.
ELSEWHERE = {
    "168": "`du -sh .venv` of a fresh `make demo` environment, by hand (README says when and where)",
    "58": "the same, NumPy", "54": "the same, matplotlib and fontTools", "20": "the same, Pillow",
    "25": "the same, the venv's pip and setuptools", "11": "the same, the rest",
    "1.06–1.07": "the runs before the shares, in the git history of benchmarks/RESULTS-scaling.md",
    "0.90–0.99": "the same", "1.27–1.53": "the same", "1.39–1.73": "the same",
    "100": "~100 µs: netfit/replicas.py's docstring (a 2-core VM)",
}
# A range, or a number before a unit or before "against", "to", "→" (the first of a pair).
NUMBER = re.compile(r"(?<![\w.–-])(\d+(?:\.\d+)?)(?:–(\d+(?:\.\d+)?))?")
AFTER = re.compile(rf"\s?({UNIT})(?!\w)|\s(?:against|to|→)\s")


def speed_figures(text):
    return [m for m in NUMBER.finditer(text) if m.group(2) or AFTER.match(text, m.end())]


def recorded(m, figures=None):
    """True when each number of README's figure ``m`` is one of the results files (``figures``: figures_of's
    triple, by default the files'), with the same unit if it has one."""
    with_unit, plain, every = figures or (WITH_UNIT, PLAIN, RECORDED)
    after = AFTER.match(m.string, m.end())
    unit = after.group(1) if after else None
    return all(n in plain or ((n, unit) in with_unit if unit else n in every) for n in m.groups() if n)


def test_speed_figures_are_the_results_files():
    figures = speed_figures(section("Speed"))
    assert len(figures) > 40
    for m in figures:
        if m.group(0) in ELSEWHERE:
            continue
        assert recorded(m), (
            f"README's Speed section: {m.group(0)!r} is not a figure of benchmarks/RESULTS*.md; copy it as written "
            f"there, or say where it comes from in ELSEWHERE.")


def test_the_speed_checker_would_catch_a_rounded_figure():
    """README's Speed section once said 12.0 s, 0.69 s and 0.6 × for RESULTS.md's 12 s, 0.686 s, 0.59 and 0.60."""
    results = "| 12 s (11.5–13.1 s) | 0.686 s (0.654–0.692 s) | 0.59 | 0.60 |"       # that run's cells
    figures = figures_of(results)
    old = speed_figures("takes 12.0 s with netfit (0.69 s with netfit[fast]); memory 0.6 × PyTorch's")
    assert [m.group(0) for m in old] == ["12.0", "0.69", "0.6"]
    assert not any(recorded(m, figures) for m in old)
    right = speed_figures("takes 12 s (0.686 s with netfit[fast]); memory 0.59–0.60 × PyTorch's")
    assert [m.group(0) for m in right] == ["12", "0.686", "0.59–0.60"] and all(recorded(m, figures) for m in right)


# -- the code's constants ---------------------------------------------------------------------------
def test_thread_figures_are_the_code_constants():
    threads = section("What is inside")
    flops = re.search(r"`nf.config.SMALL_STEP_FLOPS` \((\d+) M\)", threads)
    assert flops and int(flops.group(1)) * 1e6 == config.SMALL_STEP_FLOPS
    products = re.search(r"`nf.config.SMALL_PRODUCTS_STEP_FLOPS`\s+\((\d+) M: the lecture MLP from batch (\d+)\)", threads)
    assert products and int(products.group(1)) * 1e6 == config.SMALL_PRODUCTS_STEP_FLOPS
    links = zoo.lecture_mlp().count_links()                       # 6 flops per link and example
    assert 6 * links * int(products.group(2)) >= config.SMALL_PRODUCTS_STEP_FLOPS > 6 * links * (int(products.group(2)) - 1)
    rows = re.search(r"A share holds at least (\d+) rows, so a batch of (\d+) uses at most (\d+) threads", threads)
    assert rows and int(rows.group(1)) == replicas.MIN_ROWS
    assert int(rows.group(2)) // replicas.MIN_ROWS == int(rows.group(3))
    assert f"down to {replicas.MIN_ROWS} rows each" in section("Speed")


def test_threadpoolctl_is_a_tenth_of_a_megabyte():
    from importlib import metadata
    try:
        files = metadata.distribution("threadpoolctl").files
    except metadata.PackageNotFoundError:
        pytest.skip("threadpoolctl is not installed")
    size = sum((f.size or 0) for f in files)
    assert "`threads` (threadpoolctl, 0.1 MB" in README and 0.05e6 < size < 0.15e6, size


def test_study_figures_are_the_code():
    import netfit as nf
    from netfit.experiments import esl
    inside = section("Learn from it")
    draws = re.search(r"`netfit esl` reproduces .*? on (\d+)\s+paired draws", inside, re.S)
    assert draws and int(draws.group(1)) == esl.SMALL["repeats"]
    counts = re.search(r"LeCun et al\. 1989's net \(([\d,]+) weights,\s+([\d,]+) connections\)", inside)
    model = nf.zoo.lecun1989(seed=0)
    assert counts and [int(c.replace(",", "")) for c in counts.groups()] == [model.count_params(),
                                                                              model.count_links()]
