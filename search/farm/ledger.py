"""The driver's account of its experiment, kept up to date from the jobs that changed.

Each turn the driver learns which jobs changed (Store.job_changes) and hands them to the
ledger, which updates what the driver decides by: the jobs it knows, which are unfinished and
which still wait in the queue, how many trials finished and the training seconds spent. A
change costs the same with 10 trials as with 10,000: nothing here looks at the jobs that did
not change. Features that decide per result (a training-time budget, confirmation runs)
extend the account here, from the same changes.

The best so far, for the progress bar, is the best configuration (every run of the same
hyperparameters pooled, as `hpsearch best` ranks), so the bar never shows a lucky run that
the final table will not. It comes, as the confirmation schedule's decisions do, from
`Standings` kept one changed trial at a time, so it costs the same at 10 trials as at 10,000.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from search.configurations import DEFAULT_CONFIDENCE, Configuration
from search.confirmation import Standings, standings
from search.documents import (
    CANCELLED,
    JOB_STATE_NEW,
    JobDoc,
    finite_number,
    is_finished,
    malformed_reason,
    trial_state,
)
from search.trial import Trial


class SearchLedger:
    """What the driver knows of one experiment's jobs.

    Attributes:
        jobs: Every well-formed job by tid, as last read (or as queued).
        unfinished: The tids not finished (queued, running, or held ahead by a worker).
        queued: The tids waiting in the queue for a worker.
        cancelled: The tids another program cancelled (Hyperopt's JOB_STATE_CANCEL): neither
            finished nor waited for, and not counted toward max_evals (a new trial takes the
            place). Queued again by that program, one counts again, so the experiment may
            then end one trial past max_evals.
        train_seconds: The training seconds of the finished trials, failed ones included.
        trials: Every well-formed job as a Trial, by tid.
        standings: The trials' configurations, as confirmation runs are decided by.
    """

    def __init__(self, min_accuracy: float) -> None:
        self.jobs: dict[int, JobDoc] = {}
        self.unfinished: set[int] = set()
        self.queued: set[int] = set()
        self.cancelled: set[int] = set()
        self.train_seconds = 0.0
        self.trials: dict[int, Trial] = {}
        self._seconds: dict[int, float] = {}
        self._next_tid = 0
        self.standings: Standings = standings((), min_accuracy)
        self._reported = Standings(min_accuracy, DEFAULT_CONFIDENCE)  # as `hpsearch best` ranks

    @property
    def finished(self) -> int:
        """How many trials finished (ok or failed)."""
        return len(self.jobs) - len(self.unfinished) - len(self.cancelled)

    @property
    def counted(self) -> int:
        """How many trials count toward max_evals: every one but the cancelled."""
        return len(self.jobs) - len(self.cancelled)

    @property
    def next_tid(self) -> int:
        """One past the highest tid known: the next proposal's."""
        return self._next_tid

    def record(self, jobs: Iterable[JobDoc]) -> list[JobDoc]:
        """Take in jobs read from the store or just queued; returns those that are new or
        changed (state, attempt or result), the only ones the account looked at.

        A job that another program wrote malformed is left out: the algorithm cannot read it,
        and a worker fails it with reason `malformed job` rather than run it.
        """
        changed = []
        for job in jobs:
            known = self.jobs.get(job["tid"]) if isinstance(job.get("tid"), int) else None
            if known is not None and _same_outcome(known, job):
                continue
            if malformed_reason(job) is not None:
                continue
            self.jobs[job["tid"]] = job
            self._next_tid = max(self._next_tid, job["tid"] + 1)
            self._account(job)
            changed.append(job)
        return changed

    def _account(self, job: JobDoc) -> None:
        tid = job["tid"]
        cancelled = trial_state(job) == CANCELLED
        if is_finished(job) or cancelled:
            self.unfinished.discard(tid)
        else:
            self.unfinished.add(tid)
        if cancelled:
            self.cancelled.add(tid)
        else:
            self.cancelled.discard(tid)
        if job["state"] == JOB_STATE_NEW:
            self.queued.add(tid)
        else:
            self.queued.discard(tid)
        self.train_seconds += _train_seconds(job) - self._seconds.pop(tid, 0.0)
        if is_finished(job):
            self._seconds[tid] = _train_seconds(job)
        self.trials[tid] = Trial.from_job(job)
        self.standings.update(self.trials[tid])
        self._reported.update(self.trials[tid])

    def best_configuration(self) -> Configuration | None:
        """The best configuration so far, as `hpsearch best` would rank it now."""
        return self._reported.best()


def _same_outcome(known: JobDoc, job: JobDoc) -> bool:
    """Whether a job read again says nothing new to the account or to the algorithm."""
    return (known.get("state") == job.get("state") and known.get("attempt") == job.get("attempt")
            and known.get("result") == job.get("result"))


def _train_seconds(job: JobDoc) -> float:
    result: Any = job.get("result")
    if not is_finished(job) or not isinstance(result, dict):
        return 0.0
    return finite_number(result.get("train_seconds")) or 0.0
