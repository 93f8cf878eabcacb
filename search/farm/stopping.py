"""Graceful stops: the first SIGTERM/SIGINT finishes the current trial, the second stops now."""

from __future__ import annotations

import logging
import signal
import threading
from types import FrameType

log = logging.getLogger(__name__)


class StopNow(BaseException):
    """Raised in the main thread by a second signal; a BaseException so that no objective's
    `except Exception` can swallow it."""

    def __init__(self, signum: int) -> None:
        super().__init__(f"stopped by {signal.Signals(signum).name}")
        self.signum = signum


class StopRequest:
    """Whether a stop was asked for; `wait` doubles as an interruptible sleep."""

    def __init__(self) -> None:
        self._event = threading.Event()

    @property
    def requested(self) -> bool:
        return self._event.is_set()

    def request(self) -> None:
        self._event.set()

    def wait(self, seconds: float) -> bool:
        return self._event.wait(seconds)

    def install_signal_handlers(self) -> None:
        """Route SIGTERM and SIGINT here. Call from the main thread."""
        signal.signal(signal.SIGTERM, self._on_signal)
        signal.signal(signal.SIGINT, self._on_signal)

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        if self.requested:
            raise StopNow(signum)
        log.warning("%s received: finishing the current trial, then stopping "
                    "(send it again to stop at once)", signal.Signals(signum).name)
        self.request()
