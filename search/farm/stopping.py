"""Graceful stops: the first stop signal (SIGTERM, SIGINT, SIGHUP) finishes the current trial,
the second stops now (the job goes back to the queue), and later ones do not interrupt that.

A signal handler runs in the main thread between two bytecodes, possibly while that thread
holds a lock, for example the plain lock inside `threading.Event.wait`. So the handler takes
no such lock: it counts the signal, logs it (logging's locks are reentrant), and writes its
number to a pipe (one system call). A small thread reads the pipe and sets the Event that
wakes whoever waits.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import threading
from collections.abc import Iterator
from types import FrameType

from search.clock import SYSTEM_CLOCK, Clock

log = logging.getLogger(__name__)


class StopNow(BaseException):
    """Raised in the main thread by a second signal; a BaseException so that no objective's
    `except Exception` can swallow it."""

    def __init__(self, signum: int) -> None:
        super().__init__(f"stopped by {signal.Signals(signum).name}")
        self.signum = signum


def stop_signals() -> tuple[signal.Signals, ...]:
    """The signals that stop a worker: SIGTERM, SIGINT, and SIGHUP (a closed terminal: finish
    the trial rather than leave it for the reclaimer) unless this process was started to
    ignore it, as `nohup hpsearch worker` over ssh is."""
    hangup = () if signal.getsignal(signal.SIGHUP) is signal.SIG_IGN else (signal.SIGHUP,)
    return (signal.SIGTERM, signal.SIGINT, *hangup)


class StopRequest:
    """Whether a stop was asked for; `wait` doubles as an interruptible sleep."""

    def __init__(self) -> None:
        self._event = threading.Event()
        self._signals = 0  # written only by the signal handler, in the main thread
        self._signal_pipe: int | None = None

    @property
    def requested(self) -> bool:
        return self._signals > 0 or self._event.is_set()

    def request(self) -> None:
        self._event.set()

    def wait(self, seconds: float, clock: Clock = SYSTEM_CLOCK) -> bool:
        return clock.wait(self._event, seconds)

    def install_signal_handlers(self) -> None:
        """Route the `stop_signals` here. Call from the main thread."""
        read_end, self._signal_pipe = os.pipe()
        threading.Thread(target=self._wake_waiters, args=(read_end,), name="stop-signals",
                         daemon=True).start()
        for stop in stop_signals():
            signal.signal(stop, self._on_signal)

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        self._signals += 1
        if self._signals == 1:
            # Logging takes only reentrant locks, so it is safe here, and says at once that
            # the signal was taken; the Event (a plain lock inside) is set by _wake_waiters.
            log.warning("%s received: finishing the current trial, then stopping "
                        "(send it again to stop at once)", signal.Signals(signum).name)
            assert self._signal_pipe is not None
            os.write(self._signal_pipe, bytes([signum]))
        elif self._signals == 2:
            raise StopNow(signum)
        # A third signal finds the worker stopping now, handing its job back: raised there,
        # it would leave the job running until its heartbeat went stale. SIGKILL still works.

    def _wake_waiters(self, read_end: int) -> None:
        os.read(read_end, 1)
        self.request()


@contextlib.contextmanager
def stops_held() -> Iterator[None]:
    """SIGINT and SIGTERM wait while the block runs, and are delivered as it ends: for a store
    write whose outcome the caller must learn to undo it (a reservation, handed back on a
    stop). A stop landing inside it, after the write, would leave a job no one holds.
    Only the main thread receives signals; elsewhere this does nothing."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    # The handlers, not a signal mask: the kernel hands a process's signal to any thread that
    # does not block it (a heartbeat's, a pipe reader's), and Python then runs the handler in
    # the main thread all the same.
    held: list[int] = []

    def hold(signum: int, frame: FrameType | None) -> None:
        held.append(signum)

    previous = {signum: signal.signal(signum, hold) for signum in (signal.SIGINT, signal.SIGTERM)
                if signal.getsignal(signum) is not None}  # None: set outside Python, left so
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        for number in held:  # to the handlers in force again, in the order they came
            signal.raise_signal(number)
