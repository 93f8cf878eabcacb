"""The search driver: TPE proposes, the store queues, workers (or this process) run.

One loop serves both stores. Embedded, the driver runs each queued trial itself through the
same worker code a farm uses; distributed, it keeps the queue topped up for the live workers
and waits.

Each turn costs what changed, not what the experiment or the farm holds: the driver reads the
jobs that changed since its last turn (`Store.job_changes`), and its account of the search
(search.farm.ledger: progress, best so far, queue depth) and the algorithm's history
(search.farm.proposals) take in only those. Distributed, it looks every 20 ms right after
something changed, backing off to `poll_interval` while nothing does, so a landing result is
answered at once and a quiet farm costs little. The live workers are counted at most once a
second.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from search.clock import SYSTEM_CLOCK, Clock
from search.configurations import Configuration
from search.confirmation import next_repeat_from, repeat_job
from search.documents import JobDoc, sort_by_tid
from search.experiment import Experiment
from search.farm.evidence import FARM_PUBLISH_INTERVAL, EvidencePublisher
from search.farm.ledger import SearchLedger
from search.farm.proposals import Proposer
from search.farm.reclaim import Reclaimer
from search.farm.worker import Worker
from search.store import Store

_SHORTEST_POLL = 0.02  # seconds between polls right after a job changed state
_WORKERS_READ_INTERVAL = 1.0


@dataclasses.dataclass(frozen=True)
class DriverOptions:
    """How the driver proposes and queues; what it searches, and how many trials it
    finishes (`max_evals`), is the Experiment."""

    seed: int = 0  # for an experiment that records none (its own wins)
    startup_trials: int = 10  # likewise
    max_queue: int | None = None
    poll_interval: float = 0.25  # the longest wait between polls, when nothing changes


class TrialsKeepFailing(Exception):
    """The embedded search stopped because its trials kept failing; the message says how."""


@dataclasses.dataclass
class SearchProgress:
    """What the progress bar shows after each turn of the loop that changed something."""

    finished: int
    max_evals: int
    best: Configuration | None  # as `hpsearch best` ranks, every run of its params pooled
    queued: int = 0  # jobs waiting for a worker
    train_seconds: float = 0.0  # spent by the finished trials
    max_train_seconds: float | None = None  # the budget of training seconds, if any


Progress = Callable[[SearchProgress], None]


def run_search(
    store: Store,
    experiment: Experiment,
    space_graph: object,
    options: DriverOptions,
    *,
    local_worker: Worker | None = None,
    on_progress: Progress | None = None,
    clock: Clock = SYSTEM_CLOCK,
) -> list[JobDoc]:
    """Run (or resume) a search until the experiment's `max_evals` trials have finished, or
    its trials have spent its `max_train_seconds` (pruned and failed ones included) and none
    is left unfinished; returns every job.

    With `local_worker`, queued trials run in this process (the embedded search), and the
    search stops with TrialsKeepFailing when that worker's trials keep failing; without, the
    driver waits for workers attached to the store. `clock` times its polls and its watch of
    the running trials.
    """
    try:
        return _drive(store, experiment, space_graph, options, local_worker, on_progress,
                      clock)
    finally:
        if local_worker is not None:
            local_worker.report_stopped()


def _drive(store: Store, experiment: Experiment, space_graph: object, options: DriverOptions,
           local_worker: Worker | None, on_progress: Progress | None,
           clock: Clock) -> list[JobDoc]:
    if experiment.max_evals is None:
        raise ValueError("a search needs the experiment's max_evals")
    max_evals = experiment.max_evals
    experiment = store.record_experiment(experiment)
    budget = experiment.max_train_seconds
    proposer = Proposer(
        experiment.exp_key, space_graph,
        options.seed if experiment.seed is None else experiment.seed,
        options.startup_trials if experiment.startup_trials is None else experiment.startup_trials,
        experiment.algo)
    policy = experiment.policy
    if local_worker is not None:
        # This process holds the experiment's lock, so a job found running was left by a run
        # that was killed: retried, or failed once it has had its attempts.
        for attempt in store.running_attempts([experiment.exp_key]):
            store.give_up(attempt, policy.max_attempts,
                          "its process died (found running when the search resumed)")
    changes = store.job_changes(experiment.exp_key)  # before the whole read: nothing slips
    ledger = SearchLedger(experiment.min_accuracy)
    evidence = EvidencePublisher(store, experiment,
                                 0.0 if local_worker is not None else FARM_PUBLISH_INTERVAL,
                                 clock)
    news = ledger.record(store.jobs(experiment.exp_key))
    proposer.record(news)
    evidence.record(news)
    reclaimer = Reclaimer(store, clock)
    live_workers = _LiveWorkers(store, experiment.exp_key, policy.stale_after, clock)
    poll = _SHORTEST_POLL
    changed = True

    def report() -> None:
        if on_progress is not None:
            on_progress(SearchProgress(ledger.finished, max_evals, ledger.best_configuration(),
                                       len(ledger.queued), ledger.train_seconds, budget))

    while True:
        spent = budget is not None and ledger.train_seconds >= budget
        if changed:
            # Spent, a farm lets the trials queued or running finish; an embedded search has
            # none running, and leaves those queued (by an earlier run) to a bigger budget.
            done = ledger.finished >= max_evals or (
                spent and (local_worker is not None or not ledger.unfinished))
            report()
            if done:
                evidence.flush()
                return sort_by_tid(ledger.jobs.values())
        wanted = 0 if spent else 1 if local_worker is not None else live_workers() + 1
        _top_up_queue(store, proposer, ledger, experiment, options.max_queue, wanted)
        evidence.publish_if_due()
        if local_worker is not None:
            local_worker.run_next()
        else:
            clock.sleep(poll)
            if reclaimer.due({experiment.exp_key: policy}):
                reclaimer.run_pass({experiment.exp_key: policy})
        # Cancelled jobs too: another program may queue one again, and it then counts again.
        news = ledger.record(changes.read(ledger.unfinished | ledger.cancelled))
        proposer.record(news)
        evidence.record(news)
        if local_worker is not None and local_worker.failing is not None:
            report()  # the failure that stops the search is counted, as `status` counts it
            raise TrialsKeepFailing(f"stopped: {local_worker.failing}")
        changed = bool(news)
        poll = _SHORTEST_POLL if changed else min(2 * poll, options.poll_interval)


def _top_up_queue(store: Store, proposer: Proposer, ledger: SearchLedger,
                  experiment: Experiment, max_queue: int | None, wanted: int) -> None:
    """Queue new trials until `wanted` wait for workers, without passing `max_evals`: a
    repeat of a leading configuration where the confirmation schedule asks for one
    (search.confirmation), a new proposal otherwise.

    One queued job per live worker, plus one, is enough: each worker also holds one job
    reserved ahead, and every job queued beyond need is proposed blind to results to come."""
    assert experiment.max_evals is not None
    if max_queue is not None:
        wanted = min(wanted, max_queue)
    count = max(0, min(wanted - len(ledger.queued), experiment.max_evals - ledger.counted))
    if count == 0:
        return
    jobs = []
    first_tid = ledger.next_tid
    for tid in range(first_tid, first_tid + count):
        job = _repeat(ledger, experiment, tid)
        if job is None:
            job = proposer.propose(tid)
        else:
            proposer.record([job])
        ledger.record([job])  # the next decision counts it
        jobs.append(job)
    store.queue_jobs(jobs)


def _repeat(ledger: SearchLedger, experiment: Experiment, tid: int) -> JobDoc | None:
    """Trial `tid` as a repeat of a leading configuration, if the schedule asks for one."""
    if not experiment.confirmation.enabled:
        return None
    leader = next_repeat_from(ledger.standings, experiment.confirmation)
    return None if leader is None else repeat_job(ledger.jobs[leader.tid], tid)


class _LiveWorkers:
    """How many workers could take this experiment's jobs, counted at most once a second."""

    def __init__(self, store: Store, exp_key: str, stale_after: float, clock: Clock) -> None:
        self._store = store
        self._clock = clock
        self._exp_key = exp_key
        self._stale_after = stale_after
        self._count = 0
        self._read_at = float("-inf")

    def __call__(self) -> int:
        if self._clock.now() - self._read_at >= _WORKERS_READ_INTERVAL:
            self._read_at = self._clock.now()
            self._count = self._read()
        return self._count

    def _read(self) -> int:
        return self._store.live_workers(self._exp_key, self._stale_after)
