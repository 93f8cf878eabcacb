"""What changed in an experiment's jobs since a reader last looked: two ways, one per dialect.

`MarkedChanges` (MongoDB) asks for the views whose change marker (`changed`, a timestamp the
server assigns to every write that changes a view, see _views) is newer than what it has seen,
from the (exp_key, changed) index: a read costs the changes, not the jobs.

Markers are handed out in order, but writes do not become visible in that order: a write that
took its marker first may land after one that took a later marker. So a read never asks for
"above the newest marker seen" but for "above the newest marker seen less `window` seconds
of the server's own clock (the marker's seconds), except the markers already seen". A write
that lands more than `window` seconds late, a server clock that steps back, or a writer that
sets no marker (Hyperopt's own workers) escapes that, so every `reconcile_interval` a read also
re-reads the jobs the reader has not seen finish, with their result claims: a change is then
seen late, never missed. No clock of another machine is compared with anything.

`UnfinishedViews` (FerretDB) re-reads the unfinished jobs by `_id` on every read, since FerretDB
scans the whole collection for any other filter, and patches in the result claims once a second.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection

from bson import Timestamp

from search.documents import JobDoc, sort_by_tid
from search.store._base import JobChanges
from search.store._mongo._views import MARKER, JobViews

WINDOW = 5.0  # seconds of server time re-asked for, for writes that land out of marker order
RECONCILE_INTERVAL = 10.0  # seconds between re-reads of the unfinished jobs
RESULTS_CHECK_INTERVAL = 1.0  # seconds between UnfinishedViews reads that check result claims

WithResults = Callable[[list[JobDoc]], list[JobDoc]]


class MarkedChanges(JobChanges):
    """The views whose change marker is newer than this reader has seen (see the module)."""

    def __init__(self, views: JobViews, exp_key: str, with_results: WithResults,
                 clock: Callable[[], float] = time.monotonic, window: float = WINDOW,
                 reconcile_interval: float = RECONCILE_INTERVAL) -> None:
        self._views = views
        self._exp_key = exp_key
        self._with_results = with_results
        self._clock = clock
        self._window = int(window)
        self._reconcile_interval = reconcile_interval
        self._newest = views.newest_marker(exp_key)
        self._seen: set[Timestamp] = set()  # markers read above the floor
        self._reconciled_at = float("-inf")

    def read(self, unfinished: Collection[int]) -> list[JobDoc]:
        changed = self._views.changed_since(self._exp_key, self._floor(), self._seen)
        for job in changed:
            marker = job.get(MARKER)
            if isinstance(marker, Timestamp):
                self._seen.add(marker)
                if self._newest is None or marker > self._newest:
                    self._newest = marker
        floor = self._floor()
        if floor is not None:
            self._seen = {marker for marker in self._seen if marker > floor}
        # As written: a view whose result write was lost is the reconciliation's to repair.
        found = {job["tid"]: job for job in changed}
        if self._clock() - self._reconciled_at >= self._reconcile_interval:
            self._reconciled_at = self._clock()
            if unfinished:  # read last, so that a job read twice is the fresher copy
                found.update((job["tid"], job) for job in self._with_results(
                    self._views.find(self._exp_key, unfinished)))
        return sort_by_tid(found.values())

    def _floor(self) -> Timestamp | None:
        if self._newest is None:
            return None
        return Timestamp(max(0, self._newest.time - self._window), 0)


class UnfinishedViews(JobChanges):
    """The views of the unfinished jobs, read again every time (see the module)."""

    def __init__(self, views: JobViews, exp_key: str, with_results: WithResults,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._views = views
        self._exp_key = exp_key
        self._with_results = with_results
        self._clock = clock
        self._results_checked_at = float("-inf")

    def read(self, unfinished: Collection[int]) -> list[JobDoc]:
        found = self._views.find(self._exp_key, unfinished) if unfinished else []
        if self._clock() - self._results_checked_at < RESULTS_CHECK_INTERVAL:
            return found
        self._results_checked_at = self._clock()
        return self._with_results(found)
