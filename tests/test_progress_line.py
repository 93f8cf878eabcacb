"""The search's progress on stderr: a line cut to a terminal's width and cleared for a log
record, or a line now and then in a file."""

from __future__ import annotations

import io
import logging
import sys
import warnings
from collections.abc import Callable

import pytest

from search.cli.progress import CLEAR_LINE, ProgressLine, progress_on_stderr
from search.farm.driver import SearchProgress


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def lines_drawn(text: str) -> list[str]:
    return [line for line in text.replace("\n", CLEAR_LINE).split(CLEAR_LINE) if line]


def test_on_a_terminal_each_update_is_cut_to_its_width(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    terminal, clock = Terminal(), Clock()
    line = ProgressLine(terminal, "search 'x'", clock)
    for finished in range(5):
        clock.now += 1.0
        line.update(SearchProgress(finished, 4, None, max_train_seconds=3600.0))
    line.close()
    drawn = lines_drawn(terminal.getvalue())
    assert drawn[0] == "search 'x'" and len(drawn) == 6
    assert all(len(text) <= 79 for text in drawn)
    assert "trials 1/4" in drawn[2] and "00:03 left" in drawn[2]
    assert terminal.getvalue().endswith("\n")


def test_a_log_record_clears_the_line_first(monkeypatch: pytest.MonkeyPatch) -> None:
    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    handler = logging.StreamHandler(sys.stderr)
    logging.getLogger().addHandler(handler)
    try:
        with progress_on_stderr("search 'x'") as on_progress, warnings.catch_warnings():
            warnings.simplefilter("always")
            on_progress(SearchProgress(1, 4, None))
            logging.getLogger("tests").warning("trial failed")
            on_progress(SearchProgress(2, 4, None))
            warnings.warn("a library's warning", UserWarning, stacklevel=1)
        logging.getLogger("tests").warning("after the search")
    finally:
        logging.getLogger().removeHandler(handler)
    text = terminal.getvalue()
    assert f"no score yet{CLEAR_LINE}trial failed\n" in text
    assert f"no score yet{CLEAR_LINE}" in text.split("trial failed")[1]
    assert "UserWarning: a library's warning" in text.split("trial failed")[1]
    assert text.endswith("no score yet\nafter the search\n")  # drawn again at its end


def test_in_a_file_a_line_is_written_now_and_then_and_at_the_end() -> None:
    log, clock = io.StringIO(), Clock()
    line = ProgressLine(log, "search 'x'", clock)
    for finished in range(0, 31):
        clock.now = finished * 1.0  # a trial a second
        line.update(SearchProgress(finished, 30, None))
    line.close()
    written = log.getvalue().splitlines()
    assert written[0] == "search 'x'"
    assert [text.split()[1] for text in written[1:]] == ["0/30", "10/30", "20/30", "30/30"]
    assert "\r" not in log.getvalue()


def test_in_a_file_a_line_held_back_is_written_once_due_without_another_update() -> None:
    """Results in a burst just after a line must not wait for the next trial, which on a farm
    of long trials may be long in coming."""
    log, clock = io.StringIO(), Clock()
    scheduled: list[tuple[float, Callable[[], None]]] = []

    def later(seconds: float, action: Callable[[], None]) -> Callable[[], None]:
        scheduled.append((seconds, action))
        return lambda: scheduled.remove((seconds, action))

    line = ProgressLine(log, "search 'x'", clock, later)
    for now, finished in ((0.0, 0), (12.0, 2), (13.0, 5)):
        clock.now = now
        line.update(SearchProgress(finished, 6, None))
    assert [seconds for seconds, _ in scheduled] == [9.0]  # due 10 s after the 2/6 line
    clock.now = 22.0
    held_back = scheduled[0][1]
    held_back()
    line.update(SearchProgress(5, 6, None))  # nothing new: nothing written, nothing scheduled
    line.update(SearchProgress(6, 6, None))  # the end is written at once
    assert len(scheduled) == 1  # that one ran; none since
    written = log.getvalue().splitlines()
    assert [text.split()[1] for text in written[1:]] == ["0/6", "2/6", "5/6", "6/6"]


def test_a_timer_that_fires_as_the_line_closes_writes_nothing_more() -> None:
    """A timer already running cannot be cancelled: once closed, it must not write the last
    line a second time."""
    log, clock = io.StringIO(), Clock()
    scheduled: list[Callable[[], None]] = []
    line = ProgressLine(log, "search 'x'", clock,
                        lambda seconds, action: scheduled.append(action) or (lambda: None))
    for now, finished in ((0.0, 1), (1.0, 2)):
        clock.now = now
        line.update(SearchProgress(finished, 10, None))
    line.close()  # writes 2/10, the last state
    scheduled[0]()  # the timer that had started before close cancelled it
    assert [text.split()[1] for text in log.getvalue().splitlines()[1:]] == ["1/10", "2/10"]


def test_the_time_left_counts_to_the_budget_when_it_runs_out_first() -> None:
    """A budget user sets a large --max-evals: the time left must not count to it."""
    log, clock = io.StringIO(), Clock()
    line = ProgressLine(log, "search 'x'", clock)
    for second in range(0, 21, 10):  # a trial of 1 training second every 10 s
        clock.now = float(second)
        line.update(SearchProgress(second // 10, 1000, None, train_seconds=second / 10,
                                   max_train_seconds=5.0))
    line.close()
    last = log.getvalue().splitlines()[-1]
    assert "trials 2/1000" in last and "00:30 left" in last  # 3 more seconds at 1 per 10 s
