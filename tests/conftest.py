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
