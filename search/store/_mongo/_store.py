"""MongoStore: the Store interface over the claims, the job views and the other collections."""

from __future__ import annotations

import datetime
import logging
from collections.abc import Callable, Collection, Sequence
from typing import Any

from search.documents import (
    JOB_STATE_NEW,
    JOB_STATE_RUNNING,
    JobDoc,
    has_trial_identity,
    is_int,
)
from search.experiment import Experiment
from search.store._base import (
    JobChanges,
    LateResult,
    Reservation,
    RunningAttempt,
    Store,
    StoreError,
    WorkerStatus,
    abandoned_result,
)
from search.store._mongo._changes import MarkedChanges, UnfinishedViews
from search.store._mongo._claims import Claim, Claims
from search.store._mongo._connection import Connection
from search.store._mongo._dialect import choose_dialect
from search.store._mongo._experiments import Experiments
from search.store._mongo._late_results import LateResults
from search.store._mongo._operations import OperationCounts
from search.store._mongo._pruning import PruningEvidence
from search.store._mongo._queue import QueuedJobs
from search.store._mongo._server_clock import ServerClock
from search.store._mongo._views import JobViews, may_lag_its_result, result_view
from search.store._mongo._workers import WorkerRegistry

log = logging.getLogger(__name__)


class MongoStore(Store):
    """Hyperopt's `jobs` schema, reserved exactly on MongoDB and FerretDB alike (see the
    package's docstring)."""

    answers_at_once = False  # every call waits a database outage out

    def __init__(self, url: str) -> None:
        self._connection = Connection(url)
        self.location = self._connection.location
        database = self._connection.database
        try:
            self.dialect = choose_dialect(self._connection)
        except StoreError:
            self._connection.close()
            raise
        log.info("%s: reading and writing as on %s", self.location, self.dialect.name)
        self._clock = ServerClock(self._connection)
        self._experiments = Experiments(self._connection, database["experiments"],
                                        self.location, self._clock)
        self._views = JobViews(self._connection, database["jobs"], self.dialect, self._clock)
        self._claims = Claims(self._connection, database["claims"], self.dialect, self._clock)
        self._queue = QueuedJobs(self._connection, database["jobs"], self.dialect.queue_reading)
        self._late_results = LateResults(self._connection, database["late_results"],
                                         self._clock)
        self._workers = WorkerRegistry(self._connection, database["workers"], self._clock)
        self._pruning = PruningEvidence(self._connection, database["pruning"], self.location)

    # -- experiments -----------------------------------------------------------------------

    def record_experiment(self, experiment: Experiment) -> Experiment:
        self._views.ensure_indexes()
        return self._experiments.record(experiment)

    def experiment(self, exp_key: str) -> Experiment | None:
        return self._experiments.get(exp_key)

    def experiments(self) -> list[Experiment]:
        return self._experiments.all()

    # -- jobs ------------------------------------------------------------------------------

    def jobs(self, exp_key: str, tids: Collection[int] | None = None,
             fields: Collection[str] | None = None,
             progress: Callable[[int], None] | None = None) -> list[JobDoc]:
        return self._with_results(self._views.find(exp_key, tids, fields, progress))

    def job_changes(self, exp_key: str) -> JobChanges:
        """By change marker where the server serves it from an index (MongoDB), else by
        re-reading the unfinished jobs by `_id` (FerretDB): see _changes."""
        feed = MarkedChanges if self.dialect.reads_changes_by_marker else UnfinishedViews
        return feed(self._views, exp_key, self._with_results)

    def _with_results(self, jobs: list[JobDoc]) -> list[JobDoc]:
        """The jobs with their committed results: a view whose result write was lost (or not
        yet made) must not show a finished trial as queued or running, or a real result as
        abandoned."""
        behind = {job["_id"]: job for job in jobs if may_lag_its_result(job)}
        for claim in self._claims.results(list(behind)) if behind else []:
            behind[claim["job"]].update(result_view(claim))
        return jobs

    def queue_jobs(self, jobs: Sequence[JobDoc]) -> None:
        self._views.queue(jobs)

    def reserve_next_job(
        self, worker_id: str, exp_keys: Collection[str], ahead: bool = False
    ) -> Reservation | None:
        self._views.ensure_indexes()
        return self._queue.reserve(set(exp_keys),
                                   lambda job: self._claim(worker_id, job, ahead), worker_id,
                                   ahead)

    def begin(self, reservation: Reservation) -> None:
        if reservation.ahead:
            self._claims.claim_start(reservation.job["_id"], reservation.attempt)

    def _claim(self, worker_id: str, job: JobDoc, ahead: bool) -> Reservation | None:
        """Claim the attempt of `job` that was queued when it was read.

        Exact however stale `job` is: an attempt is queued until someone claims it, and a job
        moves to a later attempt only after this one was claimed, so the insert of this
        attempt's run claim succeeds only while the attempt is still queued.
        """
        attempt = job.get("attempt", 0)
        if not self._claims.claim_run(job["_id"], attempt, worker_id, ahead):
            return None
        # Only an earlier attempt's holder can have committed a result: none before attempt 1.
        # (A malformed attempt is not 0 either: it is looked up, and the worker reports it.)
        if attempt != 0 and self._show_result(job["_id"]):
            # The trial has a result whose view write was lost: nothing left to run.
            log.info("trial %s of %s already has a result; not running it again", job["tid"],
                     job["exp_key"])
            return None
        return Reservation(job=self._views.start(job, worker_id), worker_id=worker_id,
                           attempt=attempt, ahead=ahead)

    def heartbeat(self, reservation: Reservation) -> bool:
        """One conditional write of the view while it shows our attempt running (the claims
        are read only when it does not): a beat is every running trial's recurring cost."""
        key = reservation.job["_id"]
        if self._views.beat(key, reservation.attempt, reservation.worker_id):
            return True
        if not self._claims.still_running(key, reservation.attempt):
            return False
        # The view does not show our attempt, but the claims still give it to us: on FerretDB
        # a stale whole-document write can overwrite the view. Repair it rather than give up.
        log.warning("repairing the job view of trial %s of %s, which lost our attempt %d",
                    reservation.tid, reservation.exp_key, reservation.attempt)
        self._views.beat(key, reservation.attempt, reservation.worker_id, repair=True)
        return True

    def finish_job(self, reservation: Reservation, result: dict[str, Any]) -> bool:
        key = reservation.job["_id"]
        ours, committed = self._claims.commit_result(key, reservation.attempt,
                                                     reservation.worker_id, result)
        self._show_result(key, committed)
        if ours or (committed is not None and committed.get("attempt") == reservation.attempt):
            return True  # the trial's result; or ours offered again (a worker's spool)
        self._late_results.keep(reservation, result)
        log.warning("trial %s of %s already has a result; keeping this one as a late result",
                    reservation.tid, reservation.exp_key)
        return False

    def release_job(self, reservation: Reservation) -> None:
        attempt = RunningAttempt(job=reservation.job, attempt=reservation.attempt,
                                 owner=reservation.worker_id, beat=None)
        self._decide(attempt, None, f"released by {reservation.worker_id}")

    def running_attempts(self, exp_keys: Collection[str]) -> list[RunningAttempt]:
        # A job whose attempt is no count cannot be requeued as the next attempt: only the
        # worker that took it reports it, as malformed.
        unfinished = [job for job in self._views.unfinished(exp_keys)
                      if has_trial_identity(job) and is_int(job.get("attempt", 0))]
        # Every beat carries the outages this store lived through: heartbeats could not reach
        # the database while it could not either, so after one every watch starts afresh.
        outages = self._connection.outages
        attempts = [
            RunningAttempt(job=job, attempt=job.get("attempt", 0), owner=job.get("owner"),
                           # refresh_time as a token, never as a time: Hyperopt's own workers
                           # renew it but keep no beat counter.
                           beat=(outages, "running", job.get("owner"), job.get("beats"),
                                 job.get("refresh_time")))
            for job in unfinished if job["state"] == JOB_STATE_RUNNING
        ]
        # Queued jobs whose current attempt was claimed: a worker between its claim and its
        # first write, or one that died there (then its claim is all a reclaimer sees).
        queued = {(job["_id"], job.get("attempt", 0)): job
                  for job in unfinished if job["state"] == JOB_STATE_NEW}
        claimed = self._claims.run_claims(list(queued))
        return attempts + [
            RunningAttempt(job=queued[key], attempt=key[1], owner=claim.get("owner"),
                           beat=(outages, "claimed", claim.get("owner")))
            for key, claim in claimed.items()
        ]

    def give_up(self, attempt: RunningAttempt, max_attempts: int, reason: str) -> str:
        return self._decide(attempt, max_attempts, reason)

    def _decide(self, attempt: RunningAttempt, max_attempts: int | None, reason: str) -> str:
        """Give up `attempt`: record the decision once, then show the recorded one.

        Only attempts that started count toward `max_attempts`: those reserved ahead and given
        up before they began are read from the claims, only when the count could reach it."""
        key = attempt.job["_id"]
        if self._show_result(key):
            return "finished"
        started = attempt.attempt + 1  # at most: every attempt so far
        last = False
        if max_attempts is not None and started >= max_attempts:
            begun = self._claims.started_attempts(key, attempt.attempt)
            started = len(begun)
            last = attempt.attempt in begun and started >= max_attempts
        decision, reason = self._claims.give_up(key, attempt.attempt,
                                                "abandon" if last else "requeue", reason)
        if decision == "abandon":
            log.warning("abandoning %s after %d attempts: %s", key, started, reason)
            self._views.abandon(key, attempt.attempt, abandoned_result(started, reason))
        else:
            log.warning("requeueing %s (attempt %d): %s", key, attempt.attempt + 1, reason)
            self._queue.requeued()
            self._views.requeue(key, attempt.attempt, reason)
        # A result committed while we decided wins over the decision: show it.
        return "finished" if self._show_result(key) else decision

    def _show_result(self, key: Any, claim: Claim | None = None) -> bool:
        """Write the committed result, if there is one, into the job's view."""
        if claim is None:
            claim = self._claims.result(key)
        if claim is None:
            return False
        self._views.show_result(key, claim)
        return True

    def late_results(self, exp_key: str) -> list[LateResult]:
        return self._late_results.of(exp_key)

    # -- pruning ---------------------------------------------------------------------------

    def publish_pruning_evidence(self, exp_key: str, document: dict[str, Any]) -> None:
        self._pruning.publish(exp_key, document)

    def pruning_evidence(self, exp_key: str) -> dict[str, Any] | None:
        return self._pruning.read(exp_key)

    # -- workers ---------------------------------------------------------------------------

    def report_worker(self, status: WorkerStatus) -> None:
        self._workers.report(status)

    def workers(self) -> list[WorkerStatus]:
        return self._workers.recent()

    def live_workers(self, exp_key: str, stale_after: float) -> int:
        return self._workers.live(exp_key, stale_after)

    def now(self) -> datetime.datetime:
        """The database server's time (see _server_clock)."""
        return self._clock.now()

    # -- costs -----------------------------------------------------------------------------

    @property
    def operations(self) -> OperationCounts:
        """The database operations this store has made so far, by kind."""
        return self._connection.operations.snapshot()

    def close(self) -> None:
        self._connection.close()
