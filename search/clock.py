"""Monotonic time, passed in: the farm's polls, back-offs and staleness read a `Clock`.

Staleness and every interval are judged on this process's own monotonic clock, never by
comparing the clocks of two machines. Code that times something takes a `Clock` (by default
`SYSTEM_CLOCK`) instead of calling `time.monotonic` and `time.sleep` itself, so that a test can
run the driver, the worker, the lookahead and the reclaimer on a clock it moves by hand
(tests/fake_clock.py), at once and the same every run. The wall-clock times stored in
documents (`search.documents.utcnow`) are another thing and do not go through it.
"""

from __future__ import annotations

import threading
import time
from typing import Protocol


class Clock(Protocol):
    """Where a process reads the time and waits."""

    def now(self) -> float:
        """Seconds on a monotonic clock; only differences between two readings mean anything."""

    def sleep(self, seconds: float) -> None:
        """Wait `seconds`."""

    def wait(self, event: threading.Event, seconds: float) -> bool:
        """Wait `seconds`, or until `event` is set if that comes first; whether it is set."""


class SystemClock:
    """The real clock: `time.monotonic`, `time.sleep` and `Event.wait`."""

    def now(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)

    def wait(self, event: threading.Event, seconds: float) -> bool:
        return event.wait(seconds)


SYSTEM_CLOCK: Clock = SystemClock()
