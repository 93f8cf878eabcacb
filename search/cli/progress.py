"""The search's progress on stderr: one line redrawn in place on a terminal, a line now and
then in a log file or a pipe (`nohup`, systemd, CI), and never anything on stdout.

On a terminal the line is cut to its width (a wrapped line cannot be redrawn with a carriage
return, and every update would leave one behind), and a log record clears it first, so a
warning never runs on from the end of the bar; the next update draws the line again.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import shutil
import sys
import threading
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from search.farm.driver import SearchProgress  # the driver's imports: only once it runs

LOG_EVERY = 10.0  # seconds between two progress lines written to a file or a pipe
BAR_WIDTH = 20
CLEAR_LINE = "\r\x1b[K"

# Runs an action after some seconds, returning how to cancel it.
Later = Callable[[float, Callable[[], None]], Callable[[], None]]


def _later(seconds: float, action: Callable[[], None]) -> Callable[[], None]:
    timer = threading.Timer(seconds, action)
    timer.daemon = True
    timer.start()
    return timer.cancel


class ProgressLine:
    """Shows a search's progress on `stream`, as a terminal or a log wants it."""

    def __init__(self, stream: TextIO, header: str,
                 clock: Callable[[], float] = time.monotonic, later: Later = _later) -> None:
        self._stream = stream
        self._header = header
        self._clock = clock
        self._later = later
        self._lock = threading.Lock()  # a held-back line is written from a timer's thread
        self._cancel_pending: Callable[[], None] | None = None
        self._closed = False  # a timer already running when close cancels it writes nothing
        self._terminal = stream.isatty()
        self._drawn = False  # a line is on the terminal, not yet ended
        # (when, finished, training seconds spent) at the first update
        self._start: tuple[float, int, float] | None = None
        self._written: tuple[float, int] | None = None  # the last line written to a log
        self._last: SearchProgress | None = None

    def update(self, progress: SearchProgress) -> None:
        """Show `progress`: redrawn on a terminal; in a log, when trials finished since the
        last line and LOG_EVERY seconds passed (then, or as soon as they have), or the search
        reached its end."""
        with self._lock:
            now = self._clock()
            if self._start is None:
                self._write(self._header + "\n")
                self._start = (now, progress.finished, progress.train_seconds)
            self._last = progress
            if self._terminal:
                self._draw(progress, now)
            elif self._written is None or progress.finished >= progress.max_evals:
                self._log(progress, now)
            elif progress.finished > self._written[1]:
                due = self._written[0] + LOG_EVERY - now
                if due <= 0:
                    self._log(progress, now)
                elif self._cancel_pending is None:  # written once due, if nothing else came
                    self._cancel_pending = self._later(due, self._write_held_back)

    def _log(self, progress: SearchProgress, now: float) -> None:
        self._write(self.text(progress, now) + "\n")
        self._written = (now, progress.finished)
        if self._cancel_pending is not None:
            self._cancel_pending()
            self._cancel_pending = None

    def _write_held_back(self) -> None:
        with self._lock:
            self._cancel_pending = None
            if self._closed:
                return
            last, written = self._last, self._written
            if last is not None and written is not None and last.finished > written[1]:
                self._log(last, self._clock())

    def clear(self) -> None:
        """Take the line off the terminal, so that what is written next starts a line."""
        if self._drawn:
            self._write(CLEAR_LINE)
            self._drawn = False

    def close(self) -> None:
        """End the line: on a terminal, keep it; in a log, write the last state if unsaid."""
        with self._lock:
            self._closed = True
            if self._cancel_pending is not None:
                self._cancel_pending()
                self._cancel_pending = None
            last = self._last
            if last is None:
                return
            if self._terminal:
                if not self._drawn:  # a log record took it off
                    self._draw(last, self._clock())
                self._write("\n")
                self._drawn = False
            elif self._written is None or last.finished > self._written[1]:
                self._write(self.text(last, self._clock()) + "\n")

    def text(self, progress: SearchProgress, now: float) -> str:
        """The progress as words: trials finished, the time left, the best so far."""
        over = progress.finished > progress.max_evals  # a resume lowered --max-evals
        parts = [f"trials {progress.finished}" + (f", more than --max-evals {progress.max_evals}"
                                                  if over else f"/{progress.max_evals}")]
        left = self._seconds_left(progress, now)
        if left is not None:
            parts.append(f"{_clock_time(left)} left")
        best = progress.best
        parts.append("no score yet" if best is None else (
            f"best {best.score:.3g} acc/s (trial {best.tid}, {best.runs} "
            f"run{'s' if best.runs > 1 else ''}: accuracy {best.accuracy:.3f} "
            f"in {best.train_seconds:.3f} s)"))
        if progress.max_train_seconds is not None:
            parts.append(f"trained {progress.train_seconds:.1f} of "
                         f"{progress.max_train_seconds:g} s")
        return "  ".join(parts)

    def _draw(self, progress: SearchProgress, now: float) -> None:
        done = min(1.0, progress.finished / max(progress.max_evals, 1))
        filled = round(done * BAR_WIDTH)
        line = f"[{'#' * filled}{'-' * (BAR_WIDTH - filled)}] {self.text(progress, now)}"
        self._write(CLEAR_LINE + line[:max(self._width() - 1, 1)])
        self._drawn = True

    def _width(self) -> int:
        """The terminal's columns, the one this line is drawn on (stdout may be a file)."""
        try:
            return os.get_terminal_size(self._stream.fileno()).columns
        except (OSError, ValueError, io.UnsupportedOperation):
            return shutil.get_terminal_size().columns

    def _seconds_left(self, progress: SearchProgress, now: float) -> float | None:
        """Until --max-evals at this run's pace, or until the budget of training seconds at
        the pace it is spent, whichever comes first."""
        assert self._start is not None
        started, finished_then, spent_then = self._start
        done = progress.finished - finished_then
        if done <= 0 or progress.finished >= progress.max_evals:
            return None
        left = (now - started) / done * (progress.max_evals - progress.finished)
        spent = progress.train_seconds - spent_then
        if progress.max_train_seconds is not None and spent > 0:
            budget_left = max(0.0, progress.max_train_seconds - progress.train_seconds)
            left = min(left, (now - started) / spent * budget_left)
        return left

    def _write(self, text: str) -> None:
        self._stream.write(text)
        self._stream.flush()


def _clock_time(seconds: float) -> str:
    minutes, second = divmod(round(seconds), 60)
    hours, minute = divmod(minutes, 60)
    return f"{hours}:{minute:02d}:{second:02d}" if hours else f"{minute:02d}:{second:02d}"


class _ClearsTheLine(logging.Filter):
    """Clears the progress line before a log record is written beside it."""

    def __init__(self, line: ProgressLine) -> None:
        super().__init__()
        self._line = line

    def filter(self, record: logging.LogRecord) -> bool:
        self._line.clear()
        return True


@contextlib.contextmanager
def progress_on_stderr(header: str) -> Iterator[Callable[[SearchProgress], None]]:
    """A progress callback that prints `header` once the search has started (its store
    opened and its experiment recorded), then the finished trials and the best
    configuration (its runs pooled, as the final table ranks). Nothing without a stderr."""
    if sys.stderr is None:
        yield lambda progress: None
        return
    line = ProgressLine(sys.stderr, header)
    beside = [handler for handler in logging.getLogger().handlers
              if getattr(handler, "stream", None) is sys.stderr]
    clears = _ClearsTheLine(line)
    for handler in beside:
        handler.addFilter(clears)
    logging.captureWarnings(True)  # a library's warning, too, clears the line first
    try:
        yield line.update
    finally:
        logging.captureWarnings(False)
        for handler in beside:
            handler.removeFilter(clears)
        line.close()
