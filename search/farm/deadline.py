"""The experiment's `trial_timeout`: a trial that runs too long is stopped, and fails.

The trial runs in the worker's main thread, so the deadline is a SIGALRM timer whose handler
raises TrialTimedOut there: Python code (the training loop between two steps) stops at once,
and a native call (one CUDA kernel, one data-loading call) stops as soon as it returns to
Python. A trial stuck in native code that never returns cannot be stopped from inside the
process: after a grace period a watchdog thread calls `on_stuck`, which records the failure
and ends the process.
"""

from __future__ import annotations

import contextlib
import logging
import signal
import threading
from collections.abc import Callable, Iterator
from types import FrameType

log = logging.getLogger(__name__)

STUCK_GRACE = 30.0  # seconds past the deadline before a trial that ignores it is declared stuck


class TrialTimedOut(BaseException):
    """Raised in the trial's thread at its deadline; a BaseException so that an objective's
    `except Exception` cannot swallow it."""


@contextlib.contextmanager
def deadline(seconds: float | None, on_stuck: Callable[[], None],
             grace: float = STUCK_GRACE) -> Iterator[None]:
    """Raise TrialTimedOut in this (the main) thread if the block runs past `seconds`.

    `on_stuck` runs in a watchdog thread if the block is still running `grace` seconds after
    the deadline; it is expected to end the process. With `seconds` None, no limit.
    """
    if seconds is None:
        yield
        return
    armed = True

    def on_alarm(signum: int, frame: FrameType | None) -> None:
        if armed:
            raise TrialTimedOut(f"ran past its {seconds:g} s trial timeout")

    finished = threading.Event()

    def watch() -> None:
        if not finished.wait(seconds + grace):
            log.error("the trial ignored its %g s timeout for %g s more (stuck in native "
                      "code); ending this process", seconds, grace)
            on_stuck()

    previous = signal.signal(signal.SIGALRM, on_alarm)
    watchdog = threading.Thread(target=watch, name="trial-watchdog", daemon=True)
    watchdog.start()
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        armed = False
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        finished.set()
