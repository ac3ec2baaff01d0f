"""tests/conftest.py: the one line that says the browser tests were skipped, and how to run them (issue 21)."""
import ast
import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BROWSER = ROOT / "tests" / "test_serve_browser.py"


def pytest_run(args, cwd, env=None):
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args], cwd=cwd,
                          # the outer run's PYTEST_ADDOPTS (-rs, say) would add lines to the output read here
                          env={**{k: v for k, v in os.environ.items() if k != "PYTEST_ADDOPTS"}, **(env or {})},
                          capture_output=True, text=True, timeout=300)
    return done.returncode, done.stdout.strip().splitlines()


def fake_suite(tmp_path, body):
    tests = tmp_path / "tests"
    tests.mkdir()
    shutil.copy(ROOT / "tests" / "conftest.py", tests / "conftest.py")
    (tests / "test_serve_browser.py").write_text(body)
    (tests / "test_other.py").write_text("import pytest\n\ndef test_ok():\n    pass\n\n"
                                         "@pytest.mark.skip(reason='not a browser test')\ndef test_other_skip():\n"
                                         "    pass\n")
    return tests


def test_skipped_browser_tests_end_the_run_with_one_line(tmp_path):
    fake_suite(tmp_path, "import pytest\npytestmark = pytest.mark.skipif(True, reason='no Chromium found "
                         "(apt-get install chromium)')\n\ndef test_a():\n    pass\n\ndef test_b():\n    pass\n\n"
                         "@pytest.mark.skipif(True, reason='set NETFIT_SERVE_MEASURE')\ndef test_c():\n    pass\n")
    rc, lines = pytest_run(["tests"], tmp_path)
    assert rc == 0
    notes = [line for line in lines if "browser" in line]
    assert len(notes) == 1 and notes[0] in lines[-2:], lines
    assert notes[0].startswith("Note: 3 browser tests were skipped: no Chromium found (apt-get install chromium).")
    assert notes[0].endswith("python -m pytest tests/test_serve_browser.py")


def test_no_line_when_only_the_opt_in_browser_tests_skip(tmp_path):
    fake_suite(tmp_path, "import pytest\n\ndef test_a():\n    pass\n\n"
                         "@pytest.mark.skipif(True, reason='screenshots for docs/: set NETFIT_SERVE_SCREENSHOTS')\n"
                         "def test_shots():\n    pass\n")
    rc, lines = pytest_run(["tests"], tmp_path)
    assert rc == 0 and not any("browser" in line for line in lines), lines


def test_the_notebook_browser_tests_are_browser_tests_too(tmp_path):
    tests = fake_suite(tmp_path, "def test_a():\n    pass\n")
    (tests / "test_notebook_browser.py").write_text(
        "import pytest\npytestmark = pytest.mark.skipif(True, reason='no Chromium found (apt-get install chromium)')\n\n"
        "def test_a():\n    pass\n\n@pytest.mark.skipif(True, reason='screenshots for docs/: set "
        "NETFIT_NOTEBOOK_SCREENSHOTS=docs/img')\ndef test_shots():\n    pass\n")
    rc, lines = pytest_run(["tests"], tmp_path)
    notes = [line for line in lines if line.startswith("Note:")]
    assert rc == 0 and len(notes) == 1, lines
    assert notes[0].startswith("Note: 2 browser tests were skipped: no Chromium found (apt-get install chromium).")
    assert notes[0].endswith("python -m pytest tests/test_notebook_browser.py")


def test_the_real_browser_tests_without_chromium(tmp_path):
    """PATH without a chromium and no NETFIT_CHROMIUM: every test of the file is skipped and counted."""
    env = {"PATH": str(tmp_path), "NETFIT_CHROMIUM": ""}
    rc, lines = pytest_run([str(BROWSER.relative_to(ROOT))], ROOT, env)
    tests = [node for node in ast.parse(BROWSER.read_text()).body
             if isinstance(node, ast.FunctionDef) and node.name.startswith("test_")]
    note = [line for line in lines if line.startswith("Note:")]
    assert rc == 0 and len(note) == 1, lines
    if not all(importlib.util.find_spec(name) for name in ("starlette", "uvicorn", "PIL", "playwright")):
        assert note[0].startswith("Note: the browser tests were skipped: could not import")   # as a whole
    else:
        assert note[0].startswith(f"Note: {len(tests)} browser tests were skipped: no Chromium found")


def test_tests_skipped_for_data_or_a_package_are_counted_with_the_fix(tmp_path):
    tests = fake_suite(tmp_path, "def test_a():\n    pass\n")
    (tests / "test_data.py").write_text(
        "import pytest\n\n@pytest.mark.skip(reason='the ZIP digits are not available offline (set NETFIT_DATA_DIR)')\n"
        "def test_zip():\n    pass\n\n@pytest.mark.skip(reason=\"could not import 'torch': No module named 'torch'\")\n"
        "def test_torch():\n    pass\n\n@pytest.mark.skip(reason='screenshots for docs/: set NETFIT_SERVE_SCREENSHOTS')\n"
        "def test_opt_in():\n    pass\n")
    rc, lines = pytest_run(["tests"], tmp_path)
    notes = [line for line in lines if line.startswith("Note:")]
    assert rc == 0 and len(notes) == 1, lines
    assert notes[0].startswith("Note: 2 tests were skipped: 1 needs the ZIP digits (netfit data fetch zip")
    assert "1 needs PyTorch (pip install torch" in notes[0] and "not a browser test" not in notes[0]


def test_a_browser_test_skipped_for_data_is_no_opt_in(tmp_path):
    fake_suite(tmp_path, "import pytest\n\n@pytest.mark.skip(reason='MNIST is not available offline "
                         "(set NETFIT_DATA_DIR)')\ndef test_a():\n    pass\n")
    rc, lines = pytest_run(["tests"], tmp_path)
    notes = [line for line in lines if "browser" in line]
    assert rc == 0 and len(notes) == 1 and "MNIST is not available offline" in notes[0], lines
