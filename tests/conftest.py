"""Test-session set-up shared by every test file."""
import re
import signal


def pytest_configure(config):
    """Deliver Ctrl-C to the tests that send it.

    A shell starts background jobs (`make test &`, some CI runners) with SIGINT
    ignored, and an ignored signal stays ignored in every child process, so the
    tests that press Ctrl-C on fit and on `netfit train` would see nothing.
    Installing Python's own handler here undoes that for this process, and child
    processes start with the default action again.
    """
    if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)


BROWSER_TESTS = ("tests/test_serve_browser.py", "tests/test_notebook_browser.py")
# Skips a test asks for (screenshots, measurements, the network): not a missing tool or missing data.
OPT_IN = re.compile(r"set NETFIT_(SERVE_|NOTEBOOK_|TEST_)|NETFIT_COMPILED|fake device|this processor lacks|(^|: )opt-in")


def _browser_file(report):
    """The browser test file ``report`` comes from (as BROWSER_TESTS names it), or None."""
    name = report.nodeid.split("::")[0].split("/")[-1]
    return next((path for path in BROWSER_TESTS if path.split("/")[-1] == name), None)


def browser_skips(reports):
    """(number skipped, reasons not asked for, files with such skips) of the skip reports from the browser tests."""
    mine = [r for r in reports if _browser_file(r)]
    reasons, files = [], []
    for report in mine:
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        reason = reason.removeprefix("Skipped: ")
        if not OPT_IN.search(reason):
            if reason not in reasons:
                reasons.append(reason)
            if _browser_file(report) not in files:
                files.append(_browser_file(report))
    return len(mine), reasons, files


#: What a skipped test needed, recognised in its reason, and the fix: (what, pattern, fix).
NEEDS = [
    ("PyTorch", r"import 'torch'", "pip install torch (a CPU wheel is enough)"),
    ("real Keras 3", r"(?i)keras 3|\.venv-keras|NETFIT_KERAS_PYTHON", ".ci/run's .venv-keras"),
    ("the ZIP digits", r"(?i)zip", "netfit data fetch zip (needs the network), or NETFIT_DATA_DIR=<folder holding zip/>"),
    ("Fashion-MNIST", r"(?i)fashion", "apt install dataset-fashion-mnist: the test reads Debian's package"),
    ("MNIST", r"(?i)mnist", "netfit data fetch mnist"),
    ("MNIST and the ZIP digits", r"shared/data", "netfit data fetch mnist; netfit data fetch zip (needs the network), "
                                                "or NETFIT_DATA_DIR=<folder holding mnist/ and zip/>"),
    ("CuPy", r"import 'cupy'", "pip install 'netfit[gpu]' (CuPy; a CUDA GPU for the tests that run on one)"),
    ("other packages", r"could not import|not installed|import ", "pip install -e '.[dev]'"),
]


def other_skips(reports):
    """{what: count} of the skips outside the browser tests that name something missing (data, a package)."""
    counts = {}
    for report in reports:
        if _browser_file(report):
            continue
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        if OPT_IN.search(reason):
            continue
        for what, pattern, _ in NEEDS:
            if re.search(pattern, reason):
                counts[what] = counts.get(what, 0) + 1
                break
    return counts


def pytest_terminal_summary(terminalreporter):
    """One line at the end for the tests skipped for want of data or a package, one for the browser tests,
    each with how to run them.

    `make test` passes without Chromium, PyTorch or the ZIP digits; these lines keep that from going unnoticed.
    """
    skipped = terminalreporter.stats.get("skipped", [])
    others = other_skips(skipped)
    if others:
        fixes = {what: fix for what, _, fix in NEEDS}
        parts = [f"{n} need{'s' if n == 1 else ''} {what} ({fixes[what]})"
                 for what, n in sorted(others.items(), key=lambda kv: -kv[1])]
        total = sum(others.values())
        terminalreporter.write_line(f"Note: {total} {'test was' if total == 1 else 'tests were'} skipped: "
                                    f"{'; '.join(parts)}.",
                                    yellow=True, bold=True)
    count, reasons, files = browser_skips(skipped)
    if not reasons:
        return
    what = "the browser tests were" if count == 1 else f"{count} browser tests were"   # 1: the module as a whole
    terminalreporter.write_line(
        f"Note: {what} skipped: {'; '.join(reasons)}. To run them, with netfit[dev] and Chromium installed "
        f"(or NETFIT_CHROMIUM=/path/to/chromium): python -m pytest {' '.join(files)}", yellow=True, bold=True)
