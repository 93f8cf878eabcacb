"""The experiment's `trial_timeout`: a trial that runs too long is stopped, and fails.

In the main thread (a worker's trials run there) the deadline is a SIGALRM timer whose handler
raises TrialTimedOut: Python code (the training loop between two steps) stops at once, and a
native call (one CUDA kernel, one data-loading call, a sleep) stops as soon as it returns to
Python. A trial stuck in native code that never returns cannot be stopped from inside the
process: after a grace period a watchdog thread calls `on_stuck`, which records the failure
and ends the process; without one (an embedded search: the process is its caller's, a
notebook's kernel, a script, which a trial must never end) it says so, and the timeout lands
when the call returns. In another thread (an embedded search started from a web app's
thread), where no signal can go, a timer raises it asynchronously at the thread's next Python
step, which a blocking call delays until it returns. Either way a deadline that falls during
an import lands once the import ends, and one whose raise was lost is raised again.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from types import FrameType

from search.policy import MAX_SECONDS

log = logging.getLogger(__name__)

STUCK_GRACE = 30.0  # seconds past the deadline before a trial that ignores it is declared stuck


class TrialTimedOut(BaseException):
    """Raised in the trial's thread at its deadline; a BaseException so that an objective's
    `except Exception` cannot swallow it."""


@contextlib.contextmanager
def deadline(seconds: float | None, on_stuck: Callable[[], None] | None,
             grace: float | None = None) -> Iterator[None]:
    """Raise TrialTimedOut in this thread if the block runs past `seconds`.

    In the main thread, `on_stuck` runs in a watchdog thread if the block is still running
    `grace` seconds (STUCK_GRACE) after the deadline; it is expected to end the process. With
    `on_stuck` None, or in another thread, the process is the caller's (a notebook, a web
    app), which a trial must never end: the timeout lands when the blocking call returns.
    With `seconds` None, or beyond what timers take (MAX_SECONDS: an older release recorded
    such), no limit.
    """
    if seconds is None or seconds > MAX_SECONDS:
        yield
        return
    if threading.current_thread() is not threading.main_thread():
        with _async_raise(seconds):
            yield
        return
    finished = threading.Event()
    limit = seconds  # narrowed for the closure
    waited = STUCK_GRACE if grace is None else grace

    def watch() -> None:
        if finished.wait(limit + waited):
            return
        if on_stuck is None:
            log.error("the trial ignored its %g s timeout for %g s more (stuck in native "
                      "code): it fails once that call returns, and until then nothing in this "
                      "process can stop it (restart the kernel, or end the process, to stop "
                      "it now)", seconds, waited)
            return
        log.error("the trial ignored its %g s timeout for %g s more (stuck in native "
                  "code); ending this process", seconds, waited)
        on_stuck()

    watchdog = threading.Thread(target=watch, name="trial-watchdog", daemon=True)
    watchdog.start()
    try:
        with _alarm(seconds):
            yield
    finally:
        finished.set()


def _message(seconds: float) -> str:
    return f"ran past its {seconds:g} s trial timeout"


# How long a deadline that falls during an import waits before it looks again.
_IMPORT_RETRY = 0.05

# How long after raising TrialTimedOut the deadline raises it again if the block is still
# running. A raise can be lost: a signal handler that runs inside a callback whose exceptions
# Python ignores (logging's at-fork hook, on every fork a DataLoader makes) only prints
# "Exception ignored", and one timer would then leave the trial to the watchdog. Long enough
# that a trial's clean-up, once the first raise landed, is seldom cut short.
_RAISE_AGAIN = 2.0


def _imports(frame: FrameType | None) -> int:
    """How many imports `frame` runs inside (importlib's frames on its stack)."""
    count = 0
    while frame is not None:
        count += frame.f_code.co_filename.startswith("<frozen importlib._bootstrap>")
        frame = frame.f_back
    return count


class _Imports:
    """Whether the trial is inside an import it began. An exception raised there leaves the
    package half imported in `sys.modules` (a submodule loaded, its attribute never set), and
    every later trial in this process fails on it: a deadline waits for the import to end.
    One that never ends is the watchdog's, as a stuck native call is. Imports the caller was
    already in (a search started by importing a module) do not count."""

    def __init__(self) -> None:
        self._below = _imports(sys._getframe(1))

    def begun_in(self, frame: FrameType | None) -> bool:
        return _imports(frame) > self._below


@contextlib.contextmanager
def _alarm(seconds: float) -> Iterator[None]:
    """The deadline as a SIGALRM timer: it also cuts a blocking call short (a sleep)."""
    armed = True
    raised = False
    imports = _Imports()

    def on_alarm(signum: int, frame: FrameType | None) -> None:
        nonlocal raised
        if armed and imports.begun_in(frame):
            signal.setitimer(signal.ITIMER_REAL, _IMPORT_RETRY)
        elif armed:
            signal.setitimer(signal.ITIMER_REAL, _RAISE_AGAIN)
            raised = True
            raise TrialTimedOut(_message(seconds))

    previous = signal.signal(signal.SIGALRM, on_alarm)
    try:  # from here: a timer the system refuses must still give the handler back
        signal.setitimer(signal.ITIMER_REAL, seconds)
        yield
        if raised:  # lost, and the block ended before the next: it still ran too long
            raise TrialTimedOut(_message(seconds))
    finally:
        armed = False
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@contextlib.contextmanager
def _async_raise(seconds: float) -> Iterator[None]:
    """The deadline where no signal can go (a search run from a thread of a notebook or a web
    app): a timer raises TrialTimedOut in this thread at its next Python step."""
    thread = ctypes.c_ulong(threading.get_ident())
    lock = threading.Lock()
    state = {"armed": True, "raised": False}
    imports = _Imports()

    def expire() -> None:
        with lock:
            if not state["armed"]:
                return
            if imports.begun_in(sys._current_frames().get(thread.value)):
                start(_IMPORT_RETRY)
                return
            state["raised"] = True
            ctypes.pythonapi.PyThreadState_SetAsyncExc(thread, ctypes.py_object(TrialTimedOut))
            start(_RAISE_AGAIN)

    timer: list[threading.Timer] = []  # the one running: each retry replaces it

    def start(delay: float) -> None:
        timer[:] = [threading.Timer(delay, expire)]
        timer[0].daemon = True
        timer[0].start()

    start(seconds)
    try:
        yield
        if state["raised"]:  # asked for and lost, or not landed yet: it still ran too long
            raise TrialTimedOut(_message(seconds))
    finally:
        with lock:
            state["armed"] = False
            timer[0].cancel()
            if state["raised"]:  # asked for, perhaps not raised yet: it must not land later
                ctypes.pythonapi.PyThreadState_SetAsyncExc(thread, None)
