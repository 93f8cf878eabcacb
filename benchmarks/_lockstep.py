"""Several workers in one process, in lockstep on their training clocks: a farm whose trials
are decided in the order they would be on real workers, however long each takes to compute.

Each worker is a thread with a clock: the training seconds of the trials it has run. Only one
thread runs at a time, the one whose clock is lowest; a worker hands over at every epoch
report and at the end of each trial. So every decision (a proposal, a pruning decision, a
result told to the algorithm) happens when no other worker is behind it in training time,
and sees exactly the results that finished before it: the order of a farm with no overhead
beside training. Real training (``digits``) runs one trial at a time, so its timings are
not disturbed by the simulation; replayed curves advance a virtual clock instead.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable
from typing import Any


@dataclasses.dataclass(frozen=True)
class Finished:
    """One trial as it ran: on which worker, from when to when in that worker's training
    seconds, and its result."""

    tid: int
    vals: dict[str, Any]
    result: dict[str, Any]
    worker: int
    start: float
    end: float


Pause = Callable[[float], None]  # called with the trial's training seconds so far
Ask = Callable[[], tuple[int, dict[str, Any]]]
Evaluate = Callable[[int, dict[str, Any], Pause], dict[str, Any]]
Tell = Callable[[int, dict[str, Any], dict[str, Any]], None]


class _Turns:
    """Hands the one running slot to the active worker with the lowest clock."""

    def __init__(self, workers: int) -> None:
        self._condition = threading.Condition()
        self._clocks = [0.0] * workers
        self._active = set(range(workers))
        self._running: int | None = None

    def wait_turn(self, worker: int, clock: float) -> None:
        with self._condition:
            self._clocks[worker] = clock
            if self._running == worker:
                self._running = None
            self._condition.notify_all()
            self._condition.wait_for(lambda: self._running is None and self._next() == worker)
            self._running = worker

    def leave(self, worker: int) -> None:
        with self._condition:
            self._active.discard(worker)
            if self._running == worker:
                self._running = None
            self._condition.notify_all()

    def _next(self) -> int:
        return min(self._active, key=lambda worker: (self._clocks[worker], worker))


def run_farm(workers: int, budget: int, ask: Ask, evaluate: Evaluate, tell: Tell) -> list[Finished]:
    """Run ``budget`` trials on ``workers`` lockstep workers; the trials in finishing order.

    ``evaluate(tid, vals, pause)`` runs one trial; it must call ``pause(train_seconds)`` at
    each epoch report (from its ``should_prune``) to let workers behind it catch up.
    """
    turns = _Turns(workers)
    finished: list[Finished] = []
    asked = [0]
    errors: list[BaseException] = []

    def work(worker: int) -> None:
        clock = 0.0
        try:
            turns.wait_turn(worker, clock)
            while asked[0] < budget and not errors:
                asked[0] += 1
                tid, vals = ask()
                start = clock

                def pause(seconds: float, start: float = start) -> None:
                    turns.wait_turn(worker, start + seconds)

                result = evaluate(tid, vals, pause)
                clock = start + (result.get("train_seconds") or 0.0)
                turns.wait_turn(worker, clock)
                tell(tid, vals, result)
                finished.append(Finished(tid, vals, result, worker, start, clock))
        except BaseException as error:  # re-raised in the caller's thread
            errors.append(error)
        finally:
            turns.leave(worker)

    threads = [threading.Thread(target=work, args=(worker,), daemon=True)
               for worker in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    return finished
