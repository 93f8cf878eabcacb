"""The one read the dashboard makes of a store per interval, shared by every page.

A read of every job costs the whole experiment (10,000 jobs on 2 cores: 6 s on FerretDB, which
scans the collection, 1 s from an embedded journal), and the next read waits twice that: a
trial that landed would reach the page many seconds late. So after a whole read the reader
follows each experiment as the driver does: the store's feed of changed jobs
(`Store.job_changes`, given the jobs not yet seen finish), and the tid after the highest it
knows, again while one is found (the driver numbers its trials in order). A
finished job is final, so that is everything that can change; a whole read now and then
catches what is not (a gap in the tids, an experiment or its jobs removed). With 10,000
finished jobs a read then takes 0.4 s on FerretDB and 5 ms on the embedded store.
"""

from __future__ import annotations

import dataclasses
import datetime
import time
from collections.abc import Callable
from functools import partial

from search.documents import FINISHED_STATES, JobDoc, sort_by_tid
from search.experiment import Experiment
from search.store import JobChanges, Store, WorkerStatus

from ._data import DASHBOARD_FIELDS

# Seconds between whole reads of an experiment, at least; and at least this many times as long
# as the last whole read took, so a big experiment on a slow database is scanned rarely.
WHOLE_READ_INTERVAL = 60.0
WHOLE_READ_SHARE = 10.0


@dataclasses.dataclass(frozen=True)
class StoreReading:
    """What one read found: every experiment, its jobs (only the fields the pages show), and
    the workers; and the store's time when it was done (Store.now), which the times read are
    judged against (the dashboard's own clock may be another machine's)."""

    experiments: list[Experiment]
    jobs: dict[str, list[JobDoc]]
    workers: list[WorkerStatus]
    now: datetime.datetime


@dataclasses.dataclass
class _Followed:
    """One experiment's jobs as last read, and the feed that says what changed since."""

    created: datetime.datetime  # the experiment's: a key deleted and recorded anew is read anew
    changes: JobChanges
    jobs: dict[int, JobDoc]
    malformed: list[JobDoc]  # documents without a tid of their own: passed on as read
    read_at: float
    read_seconds: float


class StoreReader:
    """Reads a store again and again, paying for what changed rather than for every job."""

    def __init__(self, store: Store, clock: Callable[[], float] = time.monotonic) -> None:
        self.store = store
        self._clock = clock
        self._followed: dict[str, _Followed] = {}
        # Seconds the last read spent reading experiments whole: those reads are spaced out
        # here (WHOLE_READ_SHARE), so a caller pacing its reads leaves them out.
        self.whole_seconds = 0.0

    def read(self, progress: Callable[[str, int], None] | None = None) -> StoreReading:
        """Every experiment's jobs and the workers; `progress` hears (experiment, jobs read so
        far) while a long whole read of one goes on, where the store tells.

        Raises:
            StoreError: the store cannot be read (the caller keeps showing its last reading).
        """
        self.whole_seconds = 0.0
        experiments = self.store.experiments()
        self._followed = {e.exp_key: self._followed[e.exp_key] for e in experiments
                          if e.exp_key in self._followed
                          and self._followed[e.exp_key].created == e.created}
        jobs = {}
        for experiment in experiments:
            heard = None if progress is None else partial(progress, experiment.exp_key)
            jobs[experiment.exp_key] = self._jobs(experiment, heard)
        workers = self.store.workers()
        return StoreReading(experiments=experiments, jobs=jobs, workers=workers,
                            now=self.store.now())

    def _jobs(self, experiment: Experiment, progress: Callable[[int], None] | None
              ) -> list[JobDoc]:
        exp_key = experiment.exp_key
        followed = self._followed.get(exp_key)
        now = self._clock()
        if followed is None or now - followed.read_at >= max(
                WHOLE_READ_INTERVAL, WHOLE_READ_SHARE * followed.read_seconds):
            changes = self.store.job_changes(exp_key)  # before the whole read: nothing slips
            read = self.store.jobs(exp_key, fields=DASHBOARD_FIELDS, progress=progress)
            seconds = self._clock() - now
            self.whole_seconds += seconds
            self._followed[exp_key] = _Followed(
                experiment.created, changes,
                {job["tid"]: job for job in read if _tid(job) is not None},
                [job for job in read if _tid(job) is None], now, seconds)
            return read
        known = followed.jobs
        unfinished = [tid for tid, job in known.items()
                      if job.get("state") not in FINISHED_STATES]
        _update(known, followed.changes.read(unfinished))
        while True:  # one lookup per new job and one that finds none (FerretDB scans for each)
            wanted = max(known, default=-1) + 1
            ahead = [job for job in self.store.jobs(exp_key, [wanted], fields=DASHBOARD_FIELDS)
                     if _tid(job) == wanted]
            if not ahead:
                return [*sort_by_tid(known.values()), *followed.malformed]
            known[wanted] = ahead[0]


def _tid(job: JobDoc) -> int | None:
    tid = job.get("tid")
    return tid if isinstance(tid, int) and not isinstance(tid, bool) else None


def _update(known: dict[int, JobDoc], jobs: list[JobDoc]) -> None:
    for job in jobs:
        tid = _tid(job)
        if tid is not None:
            known[tid] = job

