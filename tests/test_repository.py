"""Issue 21, part 1: a fresh clone works. What the repository tracks, and the Makefile's venv rule.

A symbolic link `.venv` into a developer's worktree was once committed: on every other
machine `make demo` stopped with a bare "[Errno 17] File exists: '.venv'". These tests
fail on any tracked path that a fresh clone would get wrong, and run the Makefile's
venv rule on each kind of stale `.venv` a user can have.
"""
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _git(*args):
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout (an sdist or a copied tree): nothing tracked to check")
    return subprocess.run(["git", "-C", str(ROOT), *args], check=True, capture_output=True, text=True).stdout


def test_no_tracked_symlink_leaves_the_repository():
    # `git ls-files -s` gives "<mode> <object> <stage>\t<path>"; mode 120000 is a symbolic link whose
    # object holds its target, as a clone would write it.
    leaving = []
    for line in _git("ls-files", "-s").splitlines():
        info, path = line.split("\t", 1)
        mode, obj = info.split()[:2]
        if mode != "120000":
            continue
        target = _git("cat-file", "-p", obj)
        inside = os.path.normpath(os.path.join(os.path.dirname(path), target))
        if os.path.isabs(target) or inside == ".." or inside.startswith("../"):
            leaving.append(f"{path} -> {target}")
    assert not leaving, f"tracked symbolic links that leave the repository (git rm --cached them): {leaving}"


def test_nothing_tracked_is_ignored():
    ignored = _git("ls-files", "-ci", "--exclude-standard").split()
    assert not ignored, f"tracked files that .gitignore ignores (git rm --cached them): {ignored}"


@pytest.mark.parametrize("name", [".venv", ".venv/", ".venv-peers", "benchmarks/.venv-peers"])
def test_every_form_of_venv_is_ignored(name):
    # check-ignore --no-index: judge the path by .gitignore alone, tracked or not, existing or not.
    done = subprocess.run(["git", "-C", str(ROOT), "check-ignore", "--no-index", "-q", name])
    if done.returncode == 128:
        pytest.skip("not a git checkout")
    assert done.returncode == 0, f"{name} is not ignored by .gitignore"


# -- the Makefile's rule for .venv ---------------------------------------------------------------
@pytest.fixture
def project(tmp_path):
    """A folder with the Makefile and an empty pyproject.toml: enough to run `make .venv/bin/python`."""
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    shutil.copy(ROOT / "Makefile", tmp_path / "Makefile")
    (tmp_path / "pyproject.toml").write_text("")
    return tmp_path


def _make(project, *targets):
    # PYTHON: the interpreter running the tests, as the user's python3 would be.
    return subprocess.run(["make", "--no-print-directory", f"PYTHON={sys.executable}", *targets], cwd=project,
                          capture_output=True, text=True, timeout=300)


def _works(project):
    python = project / ".venv" / "bin" / "python"
    return subprocess.run([str(python), "-c", "import sys; print(sys.prefix)"], capture_output=True,
                          text=True).stdout.strip() == str(project / ".venv")


def test_a_dangling_venv_link_is_replaced_by_a_local_environment(project):
    (project / ".venv").symlink_to("/work/wt-integ3/.venv-that-is-gone")     # what 616940b committed
    done = _make(project, ".venv/bin/python")
    assert done.returncode == 0, done.stderr
    assert "Errno 17" not in done.stdout + done.stderr
    assert "symbolic link" in done.stdout and "replacing it" in done.stdout
    assert not (project / ".venv").is_symlink() and _works(project)


def test_a_venv_whose_python_is_gone_is_rebuilt_and_its_stamps_redone(project):
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(project / ".venv")], check=True)
    python = project / ".venv" / "bin" / "python"
    python.unlink()
    python.symlink_to("/no/such/python3")                  # the venv's Python was removed or moved
    (project / ".venv" / ".installed-dev").touch()         # a stamp newer than pyproject.toml
    done = _make(project, "-n", "test")                    # what make would do, without installing
    assert "venv --clear .venv" in done.stdout and 'pip install' in done.stdout, done.stdout + done.stderr
    done = _make(project, ".venv/bin/python")
    assert done.returncode == 0 and "rebuilding it" in done.stdout, done.stdout + done.stderr
    assert _works(project)


def test_a_folder_named_venv_that_is_no_venv_is_left_alone_with_the_fix(project):
    (project / ".venv").mkdir()
    (project / ".venv" / "notes.txt").write_text("mine")
    done = _make(project, "demo")
    assert done.returncode != 0
    assert "is not a Python virtual environment" in done.stderr and "mv .venv .venv.old" in done.stderr
    assert "Errno 17" not in done.stdout + done.stderr
    assert (project / ".venv" / "notes.txt").read_text() == "mine"


def test_a_working_venv_is_kept(project):
    assert _make(project, ".venv/bin/python").returncode == 0
    marker = project / ".venv" / "kept"
    marker.touch()
    done = _make(project, ".venv/bin/python")
    assert done.returncode == 0 and marker.exists(), done.stdout + done.stderr


def _stamps(text):
    return set(re.findall(r"\.installed-[\w-]+", text))


def test_every_stamp_is_redone_without_a_working_venv_and_by_the_dev_install():
    """A new extra's stamp (make notebooks' .installed-notebook) joins the venv-missing rule and dev's touch line."""
    text = (ROOT / "Makefile").read_text(encoding="utf-8")
    stamps = _stamps(" ".join(re.findall(r"^\$\(VENV\)/(\.installed-[\w-]+):", text, re.M)))
    rule = re.search(r"^\$\(BIN\)/python (.*?): venv-missing$", text, re.M | re.S)
    assert rule and _stamps(rule.group(1)) == stamps, f"the venv-missing rule lists {rule and _stamps(rule.group(1))}, " \
                                                      f"the Makefile makes {stamps}"
    dev = re.search(r"^\$\(VENV\)/\.installed-dev:.*?^\ttouch \$@ (.*?)$", text, re.M | re.S)
    assert dev and _stamps(dev.group(1)) == stamps - {".installed-dev"}, \
        "the dev install (every extra) should touch every other stamp"


def test_the_end_of_run_note_names_fashion_mnist_apart_from_mnist():
    from types import SimpleNamespace

    import conftest
    skip = lambda reason: SimpleNamespace(nodeid="tests/test_datasets.py::t", longrepr=("f", 1, f"Skipped: {reason}"))
    counts = conftest.other_skips([skip("Debian's dataset-fashion-mnist is not installed"),
                                   skip("MNIST is not available offline")])
    assert counts == {"Fashion-MNIST": 1, "MNIST": 1}


def test_the_end_of_run_note_sends_cupy_to_the_gpu_extra():
    from types import SimpleNamespace

    import conftest
    report = SimpleNamespace(nodeid="tests/test_gpu_cupy_api.py::t", longrepr=("f", 1, "Skipped: could not import 'cupy'"))
    assert conftest.other_skips([report]) == {"CuPy": 1}


def test_real_data_tests_honour_netfit_data_dir(tmp_path):
    """A clone away from ../shared/data runs the real-data tests from $NETFIT_DATA_DIR (a newcomer's clone)."""
    code = "import data_folder; print(data_folder.SHARED_DATA)"
    env = {**os.environ, "NETFIT_DATA_DIR": str(tmp_path), "PYTHONPATH": str(ROOT / "tests")}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True).stdout
    assert out.strip() == str(tmp_path)
    env.pop("NETFIT_DATA_DIR")
    env["NETFIT_CACHE"] = str(tmp_path / "cache")           # where `netfit data fetch` puts them
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True).stdout
    beside = ROOT.parent / "shared" / "data"
    assert out.strip() == str(beside if beside.is_dir() else tmp_path / "cache")


def test_a_data_set_is_there_only_with_all_its_files(tmp_path):
    """An empty zip/ (a cache after a failed fetch) is no data set: the tests skip, not fail."""
    from data_folder import holds
    (tmp_path / "zip").mkdir()
    assert not holds("zip", tmp_path)
    (tmp_path / "zip" / "zip.train.gz").write_bytes(b"")
    assert not holds("zip", tmp_path)
    (tmp_path / "zip" / "zip.test.gz").write_bytes(b"")
    assert holds("zip", tmp_path)
