"""Stop signals: the first finishes the current trial, the second stops now, and neither can
hang the worker, wherever in its code the main thread happens to be."""

from __future__ import annotations

import subprocess
import sys
import textwrap

# The main thread holds the lock inside the stop request's own Event (as it does for a moment
# in every `wait`) when the signal's handler runs: a handler that took that lock would hang.
_SIGNAL_WHILE_HOLDING_THE_WAIT_LOCK = textwrap.dedent("""
    import os, signal
    from search.farm.stopping import StopNow, StopRequest

    stop = StopRequest()
    stop.install_signal_handlers()
    with stop._event._cond:
        os.kill(os.getpid(), signal.SIGTERM)
        assert stop.requested
    assert stop.wait(60), "the first signal never woke a waiter"
    try:
        os.kill(os.getpid(), signal.SIGTERM)
        raise AssertionError("the second signal did not stop at once")
    except StopNow as stop_now:
        print("stopped now by", stop_now.signum)
    os.kill(os.getpid(), signal.SIGTERM)  # a third must not interrupt handing the job back
    print("the third signal let the stop finish")
""")


def test_a_signal_while_the_main_thread_holds_the_wait_lock_neither_hangs_nor_is_lost() -> None:
    """And the second signal stops now, while a third leaves that stop to finish."""
    done = subprocess.run([sys.executable, "-c", _SIGNAL_WHILE_HOLDING_THE_WAIT_LOCK],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["stopped now by 15",
                                        "the third signal let the stop finish"]
    assert "SIGTERM received: finishing the current trial" in done.stderr
