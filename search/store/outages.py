"""What a user reads while a database is away: the same lines wherever an outage is waited
out, whether an operation is retried or a store opened."""

from __future__ import annotations

import logging

from search.clock import SYSTEM_CLOCK, Clock

log = logging.getLogger(__name__)

REMINDER_SECONDS = 300.0  # how often a long outage is logged again while it lasts


class OutageLog:
    """Says once that the database at `location` stopped answering, again every
    REMINDER_SECONDS while it stays away, and how long it was away once it answers; counts
    the outages."""

    def __init__(self, location: str, clock: Clock = SYSTEM_CLOCK) -> None:
        self.location = location  # redacted
        self.outages = 0  # outages lived through: heartbeats could not reach us meanwhile
        self._clock = clock
        self._started: float | None = None
        self._reminded = 0.0

    def failed(self, problem: str) -> None:
        """An attempt found the database away; `problem` (redacted) says how."""
        now = self._clock.now()
        if self._started is None:
            self._started, self._reminded = now, 0.0
            self.outages += 1
            log.warning("%s; waiting for it", problem)
        elif now - self._started - self._reminded >= REMINDER_SECONDS:
            self._reminded = now - self._started
            log.warning("database %s still unreachable after %.0f s (%s); waiting for it",
                        self.location, self._reminded, problem)

    def answered(self) -> None:
        """An attempt reached the database: an outage, if there was one, is over."""
        if self._started is not None:
            log.warning("database %s reachable again after %.1f s", self.location,
                        self._clock.now() - self._started)
            self._started = None
