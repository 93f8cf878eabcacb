"""The evidence a worker decides from: read from the store at most once a second, cached.

The read is whatever part of the store holds the experiment's evidence (on MongoDB one
document by ``_id``). A read that fails means "no evidence": the trial goes on unpruned, and
the next read is tried a refresh period later, then twice as long after each further failure
(up to `LONGEST_RETRY` seconds), so an outage costs neither the trial nor a round trip per
epoch, nor a wait for the database at every other epoch.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from ._evidence import Evidence

logger = logging.getLogger(__name__)

LONGEST_RETRY = 30.0  # seconds between reads of evidence while the store stays unreadable


class CachedEvidence:
    """Callable returning the evidence read at most ``refresh_seconds`` ago, or None while
    the store cannot be read (no pruning then).

    Args:
        read: Reads the current evidence; any exception is taken as an outage.
        refresh_seconds: The least time between two reads.
        clock: Monotonic seconds (staleness is judged on this process's own clock).
    """

    def __init__(self, read: Callable[[], Evidence], refresh_seconds: float = 1.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._read = read
        self._refresh_seconds = refresh_seconds
        self._clock = clock
        self._evidence: Evidence | None = None
        self._attempted_at: float | None = None
        self._failures = 0  # reads failed in a row

    def expire(self) -> None:
        """Read afresh at the next call, unless reads are failing (then the back-off holds):
        a new trial decides from the evidence of every trial finished before it started."""
        if self._failures == 0:
            self._attempted_at = None

    def __call__(self) -> Evidence | None:
        now = self._clock()
        wait = self._refresh_seconds * 2 ** min(max(self._failures - 1, 0), 10)
        if self._attempted_at is None or now - self._attempted_at >= min(wait, LONGEST_RETRY):
            self._attempted_at = now
            try:
                self._evidence = self._read()
                self._failures = 0
            except Exception as error:
                logger.warning("pruning evidence unreadable (%s); not pruning until it is", error)
                self._evidence = None
                self._failures += 1
        return self._evidence
