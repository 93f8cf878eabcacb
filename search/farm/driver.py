"""The search driver: TPE proposes, the store queues, workers (or this process) run.

One loop serves both stores. Embedded, the driver runs each queued trial itself through the
same worker code a farm uses; distributed, it keeps the queue topped up for the live workers
and waits. Either way it reads back only the jobs that were unfinished at its last look, so
a long search costs the same per turn as a short one.

Distributed, the driver polls those few jobs (`Store.poll_jobs`, which the store makes cheap):
every 20 ms right after something changed, backing off to `poll_interval` while nothing
does, so a landing result is answered at once and a quiet farm costs little. The workers are
read at most once a second.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable

from search.documents import (
    JOB_STATE_NEW,
    JobDoc,
    is_finished,
    malformed_reason,
    sort_by_tid,
    utcnow,
)
from search.experiment import Experiment
from search.farm.proposals import Proposer
from search.farm.reclaim import Reclaimer
from search.farm.worker import Worker
from search.reports.queries import best_trial
from search.store import Store
from search.trial import Trial, trials_of

_SHORTEST_POLL = 0.02  # seconds between polls right after a job changed state
_WORKERS_READ_INTERVAL = 1.0


@dataclasses.dataclass(frozen=True)
class DriverOptions:
    """How the driver proposes and queues; what it searches, and how many trials it
    finishes (`max_evals`), is the Experiment."""

    seed: int = 0
    startup_trials: int = 10
    max_queue: int | None = None
    poll_interval: float = 0.25  # the longest wait between polls, when nothing changes


class TrialsKeepFailing(Exception):
    """The embedded search stopped because its trials kept failing; the message says how."""


@dataclasses.dataclass
class SearchProgress:
    """What the progress bar shows after each turn of the loop."""

    finished: int
    max_evals: int
    best: Trial | None


Progress = Callable[[SearchProgress], None]


def run_search(
    store: Store,
    experiment: Experiment,
    space_graph: object,
    options: DriverOptions,
    *,
    local_worker: Worker | None = None,
    on_progress: Progress | None = None,
) -> list[JobDoc]:
    """Run (or resume) a search until the experiment's `max_evals` trials have finished;
    returns every job.

    With `local_worker`, queued trials run in this process (the embedded search), and the
    search stops with TrialsKeepFailing when that worker's trials keep failing; without, the
    driver waits for workers attached to the store.
    """
    try:
        return _drive(store, experiment, space_graph, options, local_worker, on_progress)
    finally:
        if local_worker is not None:
            local_worker.report_stopped()


def _drive(store: Store, experiment: Experiment, space_graph: object, options: DriverOptions,
           local_worker: Worker | None, on_progress: Progress | None) -> list[JobDoc]:
    if experiment.max_evals is None:
        raise ValueError("a search needs the experiment's max_evals")
    max_evals = experiment.max_evals
    experiment = store.record_experiment(experiment)
    proposer = Proposer(experiment.exp_key, space_graph, options.seed, options.startup_trials,
                        experiment.algo)
    policy = experiment.policy
    if local_worker is not None:
        # This process holds the experiment's lock, so a job found running was left by a run
        # that was killed: retried, or failed once it has had its attempts.
        for attempt in store.running_attempts([experiment.exp_key]):
            store.give_up(attempt, policy.max_attempts,
                          "its process died (found running when the search resumed)")
    jobs = _well_formed(store.jobs(experiment.exp_key))
    unfinished = {tid for tid, job in jobs.items() if not is_finished(job)}
    reclaimer = Reclaimer(store)
    live_workers = _LiveWorkers(store, experiment.exp_key, policy.stale_after)
    poll = _SHORTEST_POLL
    changed = True
    while True:
        if changed:  # each turn costs the same however long the search: nothing else is O(n)
            finished = len(jobs) - len(unfinished)
            if on_progress is not None:
                done = (job for job in jobs.values() if is_finished(job))
                on_progress(SearchProgress(finished, max_evals, best_trial(trials_of(done))))
            if finished >= max_evals:
                return sort_by_tid(jobs.values())
        wanted = 1 if local_worker is not None else live_workers() + 1
        unfinished |= _top_up_queue(store, proposer, jobs, unfinished, max_evals,
                                    options.max_queue, wanted)
        if local_worker is not None:
            local_worker.run_next()
            if local_worker.failing is not None:
                raise TrialsKeepFailing(f"stopped: {local_worker.failing}")
        else:
            time.sleep(poll)
            if reclaimer.due({experiment.exp_key: policy}):
                reclaimer.run_pass({experiment.exp_key: policy})
        read = _well_formed(store.poll_jobs(experiment.exp_key, sorted(unfinished)))
        changed = any(job["state"] != jobs[tid]["state"] for tid, job in read.items())
        jobs.update(read)
        unfinished -= {tid for tid, job in read.items() if is_finished(job)}
        poll = _SHORTEST_POLL if changed else min(2 * poll, options.poll_interval)


def _well_formed(found: list[JobDoc]) -> dict[int, JobDoc]:
    """The jobs by tid, less any that another program wrote malformed: TPE cannot read them,
    and a worker fails them with reason `malformed job` rather than run them."""
    return {job["tid"]: job for job in found if malformed_reason(job) is None}


def _top_up_queue(store: Store, proposer: Proposer, jobs: dict[int, JobDoc],
                  unfinished: set[int], max_evals: int, max_queue: int | None, wanted: int
                  ) -> set[int]:
    """Queue new proposals until `wanted` wait for workers, without passing `max_evals`;
    the tids queued.

    One queued job per live worker, plus one, is enough: each worker also holds one job
    reserved ahead, and every job queued beyond need is proposed blind to results to come."""
    queued = sum(1 for tid in unfinished if jobs[tid]["state"] == JOB_STATE_NEW)
    if max_queue is not None:
        wanted = min(wanted, max_queue)
    count = max(0, min(wanted - queued, max_evals - len(jobs)))
    if count == 0:
        return set()
    first_tid = max(jobs, default=-1) + 1
    proposals: list[JobDoc] = []
    for tid in range(first_tid, first_tid + count):
        proposals.append(proposer.propose(tid, [*jobs.values(), *proposals]))
    store.queue_jobs(proposals)
    jobs.update((job["tid"], job) for job in proposals)
    return {job["tid"] for job in proposals}


class _LiveWorkers:
    """How many workers could take this experiment's jobs, read at most once a second."""

    def __init__(self, store: Store, exp_key: str, stale_after: float) -> None:
        self._store = store
        self._exp_key = exp_key
        self._stale_after = stale_after
        self._count = 0
        self._read_at = float("-inf")

    def __call__(self) -> int:
        if time.monotonic() - self._read_at >= _WORKERS_READ_INTERVAL:
            self._read_at = time.monotonic()
            self._count = self._read()
        return self._count

    def _read(self) -> int:
        """Live workers that are not busy with another experiment."""
        now = utcnow()
        return sum(1 for worker in self._store.workers()
                   if worker.is_live(self._stale_after, now)
                   and worker.exp_key in (None, self._exp_key))
