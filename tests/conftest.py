"""Test-session set-up shared by every test file."""
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


BROWSER_TESTS = "tests/test_serve_browser.py"
OPT_IN = "set NETFIT_"          # skips a browser test asks for (screenshots, measurements), not a missing tool


def browser_skips(reports):
    """(number skipped, reasons not asked for) of the skip reports from the browser tests."""
    mine = [r for r in reports if r.nodeid.split("::")[0].endswith(BROWSER_TESTS.split("/")[-1])]
    reasons = []
    for report in mine:
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        reason = reason.removeprefix("Skipped: ")
        if OPT_IN not in reason and reason not in reasons:
            reasons.append(reason)
    return len(mine), reasons


def pytest_terminal_summary(terminalreporter):
    """One line at the end when the browser tests were skipped for want of a tool, with how to run them.

    `make test` passes without Chromium; this line keeps that from going unnoticed.
    """
    count, reasons = browser_skips(terminalreporter.stats.get("skipped", []))
    if not reasons:
        return
    what = "the browser tests were" if count == 1 else f"{count} browser tests were"   # 1: the module as a whole
    terminalreporter.write_line(
        f"Note: {what} skipped: {'; '.join(reasons)}. To run them, with netfit[dev] and Chromium installed "
        f"(or NETFIT_CHROMIUM=/path/to/chromium): python -m pytest {BROWSER_TESTS}", yellow=True, bold=True)
