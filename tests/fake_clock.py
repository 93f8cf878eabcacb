"""A `search.clock.Clock` that the test moves: timing logic runs at once, the same every run;
and a wall clock set wrong, as on a host whose clock is off."""

from __future__ import annotations

import datetime
import math
import sys
import threading
from collections.abc import Callable

import pytest

import search.documents

_TRUE_UTCNOW = search.documents.utcnow

PARKED_FOR_AT_MOST = 60.0  # real seconds a parked waiter waits for its event before failing


class FakeClock:
    """Monotonic time that moves only when the code under test sleeps or waits on it, or the
    test calls `advance`. Every sleep and wait is recorded in `slept`.

    `on_sleep(now)` runs after each sleep or wait has moved the clock, in the thread that
    slept: the test plays there what the rest of the world did meanwhile (a worker reserves a
    job, a result lands). Time stops at `until`: a wait that would pass it parks until its
    event is set for real (and sets `parked`, so the test knows that thread has nothing left
    to do), and a sleep that would pass it fails the test. One thread at a time moves it: a
    test with a second thread (the lookahead's) keeps the other waiting on that thread.
    """

    def __init__(self, on_sleep: Callable[[float], None] | None = None,
                 until: float = math.inf) -> None:
        self._now = 0.0
        self._on_sleep = on_sleep
        self._until = until
        self.slept: list[float] = []
        self.parked = threading.Event()

    def now(self) -> float:
        return self._now

    def advance(self, seconds: float) -> None:
        self._now += seconds

    def sleep(self, seconds: float) -> None:
        if self._now + seconds > self._until:
            raise AssertionError(f"slept past the test's end of time, {self._until:g} s")
        self._pass(seconds)

    def wait(self, event: threading.Event, seconds: float) -> bool:
        if event.is_set():
            return True
        if self._now + seconds > self._until:
            self.parked.set()
            if not event.wait(PARKED_FOR_AT_MOST):
                raise AssertionError(f"parked at {self._now:g} s, and nothing woke it")
            return True
        self._pass(seconds)
        return event.is_set()

    def _pass(self, seconds: float) -> None:
        self.slept.append(seconds)
        self._now += seconds
        if self._on_sleep is not None:
            self._on_sleep(self._now)


class _Skew:
    """How far the wall clock is set off now: every skewed binding reads it, so the test's
    end (monkeypatch's undo) sets every one right, those a lazy import made meanwhile too."""

    offset = datetime.timedelta(0)


def _skewed_utcnow() -> datetime.datetime:
    return _TRUE_UTCNOW() + _Skew.offset


def skew_wall_clock(monkeypatch: pytest.MonkeyPatch, offset: datetime.timedelta) -> None:
    """Set this process's wall clock, as hpsearch reads it (`search.documents.utcnow`, in every
    module that imported it), `offset` off the true time: a host whose clock is wrong. The
    monotonic clock is left alone, as between real hosts. An offset of zero sets it right;
    the test's end does too, for every module (one imported meanwhile binds the skewed
    function, which reads the true time again then).
    """
    monkeypatch.setattr(_Skew, "offset", offset)
    for module in list(sys.modules.values()):
        if getattr(module, "__name__", "").startswith("search") and \
                getattr(module, "utcnow", None) is _TRUE_UTCNOW:
            monkeypatch.setattr(module, "utcnow", _skewed_utcnow)
