"""The MongoDB store: Hyperopt's `jobs` schema, reserved exactly on MongoDB and FerretDB alike.

Exactness rests on one primitive both servers make atomic: inserting a document whose `_id`
already exists fails. (FerretDB v1 runs `findAndModify` and `update` as a read followed by a
separate write, so a conditional update cannot decide who owns a job.) Every decision about a
job is therefore an insert into the `claims` collection, with an `_id` naming the decision:

- `<job>/run/<attempt>`: who runs that attempt of the job. Exactly one worker wins it.
- `<job>/requeue/<attempt>`: who gave that attempt up (its heartbeat stopped, or its worker
  was stopping), and the decision taken: requeue the job, or abandon it after its last attempt.
  A later process that gives up the same attempt applies the recorded decision.
- `<job>/result`: the result, committed once. A result from a worker presumed dead is the
  trial's result if it comes first; one that comes second is kept in `late_results`. An
  abandoned trial has no result claim, so a real result that arrives later still takes it.

The job document is a view of these claims, written after each decision. A writer that dies
between its claim and its write, or a lost update on FerretDB, leaves the view behind: reads
patch in the result claims, heartbeats and reservations repair the view from the claims, and
the reclaimer gives up attempts whose view stopped changing, so the view converges.
"""

from __future__ import annotations

import datetime
import logging
import threading
import time
import uuid
from collections.abc import Callable, Collection, Sequence
from functools import partial
from typing import Any, TypeVar

from pymongo import ASCENDING, DESCENDING
from pymongo.errors import BulkWriteError, DuplicateKeyError

from search.documents import (
    JOB_STATE_DONE,
    JOB_STATE_NEW,
    JOB_STATE_RUNNING,
    JobDoc,
    has_trial_identity,
    is_int,
    sort_by_tid,
    utcnow,
)
from search.experiment import Experiment, MalformedExperiment, check_same_definition
from search.store._base import (
    WORKERS_FORGOTTEN_AFTER,
    LateResult,
    Reservation,
    RunningAttempt,
    Store,
    StoreError,
    WorkerStatus,
    abandoned_result,
    check_exp_key,
    is_replaceable,
)
from search.store._connection import Connection

log = logging.getLogger(__name__)
T = TypeVar("T")

_BY_ID_LIMIT = 64  # up to this many jobs are read one `_id` lookup each on FerretDB
_CANDIDATES = 32  # queued jobs one read of the queue hands a worker to claim from
_PROBES = 8  # tids a reservation looks up by _id past the last one it saw, on FerretDB
_QUEUE_READ_WAIT = 1.0  # seconds between two reads of the whole queue (a scan) on FerretDB,
_LONGEST_QUEUE_READ_WAIT = 8.0  # doubling while those reads find nothing, up to this


def job_id(exp_key: str, tid: int) -> str:
    """Deterministic ids make queueing idempotent: a retried insert cannot add a job twice."""
    return f"{exp_key}/{tid}"


def _run_claim(job_id_: str, attempt: int) -> str:
    return f"{job_id_}/run/{attempt}"


def _requeue_claim(job_id_: str, attempt: int) -> str:
    return f"{job_id_}/requeue/{attempt}"


def _result_claim(job_id_: str) -> str:
    return f"{job_id_}/result"


class MongoStore(Store):
    def __init__(self, url: str) -> None:
        self._connection = Connection(url)
        self.location = self._connection.location
        database = self._connection.database
        self._experiments = database["experiments"]
        self._jobs = database["jobs"]
        self._claims = database["claims"]
        self._late_results = database["late_results"]
        self._workers = database["workers"]
        self._indexed = False
        # Queued jobs read but not yet tried: the next reservation claims from them before it
        # reads the queue again (on FerretDB that read scans every job). A stale candidate
        # costs one refused claim insert, never a wrong reservation: see _claim.
        self._candidates: list[JobDoc] = []
        self._candidates_lock = threading.Lock()
        # On FerretDB the queue is mostly found by `_id`: the driver queues tids in order, so
        # the next job is usually `<exp_key>/<one past the last tid seen>`. The queue is read
        # whole (a scan there) at most once a second, for requeued (older) jobs, and less
        # often while those reads find nothing (up to every eight seconds), so an idle farm
        # does not keep the database scanning. A requeue by this process reads it next.
        self._next_tids: dict[str, int] = {}
        self._next_queue_read_at = float("-inf")
        self._queue_read_wait = _QUEUE_READ_WAIT
        self._pruned_workers = False
        # FerretDB v1 (SQLite) evaluates only `_id` equality in its storage; any other filter
        # decodes every document of the collection. A few lookups by `_id` beat that scan.
        build = self._call(lambda: database.client.admin.command("buildInfo"))
        self._scans_unless_by_id = "ferretdbVersion" in build

    def _call(self, operation: Callable[[], T]) -> T:
        return self._connection.call(operation)

    def _ensure_indexes(self) -> None:
        """Create the job indexes once, on the first write: the read commands (best, status,
        export, …) then work for a user who may only read."""
        if self._indexed:
            return
        self._call(lambda: self._jobs.create_index([("state", ASCENDING), ("tid", ASCENDING)]))
        self._call(lambda: self._jobs.create_index([("exp_key", ASCENDING), ("tid", ASCENDING)]))
        self._indexed = True

    # -- experiments -----------------------------------------------------------------------

    def record_experiment(self, experiment: Experiment) -> Experiment:
        check_exp_key(experiment.exp_key)
        self._ensure_indexes()
        document = {"_id": experiment.exp_key, **experiment.to_document()}
        if self._insert_once(self._experiments, document):
            return experiment
        recorded = self.experiment(experiment.exp_key)
        assert recorded is not None
        check_same_definition(recorded, experiment)
        latest = recorded.latest(experiment)
        document = latest.to_document()
        resumed = {name: document[name] for name in Experiment.RESUMABLE}
        self._call(lambda: self._experiments.update_one({"_id": experiment.exp_key},
                                                        {"$set": resumed}))
        return latest

    def experiment(self, exp_key: str) -> Experiment | None:
        document = self._call(lambda: self._experiments.find_one({"_id": exp_key}))
        try:
            return Experiment.from_document(document) if document else None
        except MalformedExperiment as error:
            raise StoreError(f"{error} in {self.location}; repair or delete that document "
                             "in the experiments collection") from None

    def experiments(self) -> list[Experiment]:
        """Every well-formed experiment; a malformed document is logged and left out."""
        documents = self._call(lambda: list(self._experiments.find().sort("created", ASCENDING)))
        found = []
        for document in documents:
            try:
                found.append(Experiment.from_document(document))
            except MalformedExperiment as error:
                log.warning("skipping it: %s", error)
        return found

    # -- jobs ------------------------------------------------------------------------------

    def jobs(self, exp_key: str, tids: Collection[int] | None = None,
             fields: Collection[str] | None = None, *, views_only: bool = False
             ) -> list[JobDoc]:
        if tids is not None and self._scans_unless_by_id and len(tids) <= _BY_ID_LIMIT:
            found = sort_by_tid(self._find_by_ids(self._jobs,
                                                  [job_id(exp_key, tid) for tid in tids]))
        else:
            query: dict[str, Any] = {"exp_key": exp_key}
            if tids is not None:
                query["tid"] = {"$in": list(tids)}
            projection = None if fields is None else dict.fromkeys(fields, 1)
            # Sorted by the server, which orders a malformed tid (a string) without failing.
            found = self._call(
                lambda: list(self._jobs.find(query, projection).sort("tid", ASCENDING)))
        return found if views_only else self._with_results(found)

    def _with_results(self, jobs: list[JobDoc]) -> list[JobDoc]:
        """The jobs with their committed results: a view whose result write was lost (or not
        yet made) must not show a finished trial as queued or running, or a real result as
        abandoned."""
        behind = {job["_id"]: job for job in jobs if _may_lag_its_result(job)}
        if not behind:
            return jobs
        claims = self._find_by_ids(self._claims, [_result_claim(key) for key in behind])
        for claim in claims:
            job = behind[claim["job"]]
            job.update(_result_view(claim))
        return jobs

    def _find_by_ids(self, collection: Any, ids: list[str]) -> list[dict[str, Any]]:
        """The documents with these `_id`s: one lookup each on FerretDB while they are few
        (it serves `_id` equality from its primary key but scans for an `$in`)."""
        if not self._scans_unless_by_id or len(ids) > _BY_ID_LIMIT:
            return self._call(lambda: list(collection.find({"_id": {"$in": ids}})))
        found = []
        for key in ids:
            document = self._call(partial(collection.find_one, {"_id": key}))
            if document is not None:
                found.append(document)
        return found

    def queue_jobs(self, jobs: Sequence[JobDoc]) -> None:
        if not jobs:
            return
        documents = [
            {**job, "_id": job_id(job["exp_key"], job["tid"]), "state": JOB_STATE_NEW}
            for job in jobs
        ]

        def insert() -> None:
            try:
                self._jobs.insert_many(documents, ordered=False)
            except BulkWriteError as error:
                if any(e.get("code") != 11000 for e in error.details.get("writeErrors", [])):
                    raise  # 11000 is a job that a retried insert already added

        self._call(insert)

    def reserve_next_job(
        self, worker_id: str, exp_keys: Collection[str]
    ) -> Reservation | None:
        self._ensure_indexes()
        wanted = set(exp_keys)
        with self._candidates_lock:
            leftovers = [job for job in self._candidates if job["exp_key"] in wanted]
            self._candidates = []
        reservation = self._claim_first(worker_id, leftovers)
        if reservation is not None:
            return reservation
        if not self._scans_unless_by_id:
            return self._claim_first(worker_id, self._read_candidates(wanted))
        if time.monotonic() < self._next_queue_read_at:
            return self._claim_first(worker_id, self._probe_next_tids(wanted))
        reservation = self._claim_first(worker_id, self._read_candidates(wanted))
        if reservation is None:
            self._queue_read_wait = min(2 * self._queue_read_wait, _LONGEST_QUEUE_READ_WAIT)
        else:
            self._queue_read_wait = _QUEUE_READ_WAIT
        self._next_queue_read_at = time.monotonic() + self._queue_read_wait
        return reservation or self._claim_first(worker_id, self._probe_next_tids(wanted))

    def _probe_next_tids(self, wanted: set[str]) -> list[JobDoc]:
        """Queued jobs found by `_id` just past the last tid seen of each experiment (from
        tid 0 for one not seen yet)."""
        found: list[JobDoc] = []
        for exp_key in sorted(wanted):
            tid = self._next_tids.get(exp_key, 0)
            for probe in range(tid, tid + _PROBES):
                job = self._call(partial(self._jobs.find_one, {"_id": job_id(exp_key, probe)}))
                if job is None:
                    break  # not queued yet
                self._saw(job)
                if job["state"] == JOB_STATE_NEW:
                    found.append(job)  # and the next ones: a rival may win this one
        return found

    def _saw(self, job: JobDoc) -> None:
        if not has_trial_identity(job):
            return  # a malformed job: the worker that reserves it fails it
        key = job["exp_key"]
        self._next_tids[key] = max(self._next_tids.get(key, 0), job["tid"] + 1)

    def _read_candidates(self, wanted: set[str]) -> list[JobDoc]:
        """The oldest queued jobs, oldest first. Workers that read the queue at the same
        moment race for the same jobs; each lost race costs one refused insert."""
        query: dict[str, Any] = {"state": JOB_STATE_NEW, "exp_key": {"$in": sorted(wanted)}}
        found = self._call(
            lambda: list(self._jobs.find(query).sort("tid", ASCENDING).limit(_CANDIDATES))
        )
        for job in found:
            self._saw(job)
        return found

    def _claim_first(self, worker_id: str, candidates: list[JobDoc]) -> Reservation | None:
        """Claim the first candidate that no rival has claimed; keep the rest for next time."""
        for index, job in enumerate(candidates):
            reservation = self._claim(worker_id, job)
            if reservation is not None:
                with self._candidates_lock:
                    self._candidates = candidates[index + 1:] + self._candidates
                return reservation
        return None

    def _claim(self, worker_id: str, job: JobDoc) -> Reservation | None:
        """Claim the attempt of `job` that was queued when it was read.

        Exact however stale `job` is: an attempt is queued until someone claims it, and a job
        moves to a later attempt only after this one was claimed, so the insert of this
        attempt's run claim succeeds only while the attempt is still queued.
        """
        attempt = job.get("attempt", 0)
        now = utcnow()
        claim = {"_id": _run_claim(job["_id"], attempt), "job": job["_id"], "owner": worker_id,
                 "time": now}
        if not self._insert_once(self._claims, claim):
            return None
        if self._show_result(job["_id"]):
            # The trial has a result whose view write was lost: nothing left to run.
            log.info("trial %s of %s already has a result; not running it again", job["tid"],
                     job["exp_key"])
            return None
        started = {"state": JOB_STATE_RUNNING, "owner": worker_id, "book_time": now,
                   "refresh_time": now, "attempt": attempt}
        # Hyperopt's own jobs have no attempt field: this write gives them one.
        unchanged = {"state": JOB_STATE_NEW,
                     "attempt": attempt if "attempt" in job else {"$exists": False}}
        self._update_view(job["_id"], unchanged, {"$set": started})
        return Reservation(job={**job, **started}, worker_id=worker_id, attempt=attempt)

    def heartbeat(self, reservation: Reservation) -> bool:
        key = reservation.job["_id"]
        if not self._still_running(key, reservation.attempt):
            return False
        beat: dict[str, dict[str, Any]] = {
            "$set": {"state": JOB_STATE_RUNNING, "owner": reservation.worker_id,
                     "refresh_time": utcnow()},
            "$inc": {"beats": 1},
        }
        if self._update_view(key, {"attempt": reservation.attempt, "state": {
                "$in": [JOB_STATE_NEW, JOB_STATE_RUNNING]}}, beat):
            return True
        # The view does not show our attempt, but the claims still give it to us: on FerretDB
        # a stale whole-document write can overwrite the view. Repair it rather than give up.
        if not self._still_running(key, reservation.attempt):
            return False
        log.warning("repairing the job view of trial %s of %s, which lost our attempt %d",
                    reservation.tid, reservation.exp_key, reservation.attempt)
        self._update_view(key, {"state": {"$ne": JOB_STATE_DONE}},
                          {**beat, "$set": {**beat["$set"], "attempt": reservation.attempt}})
        return True

    def _still_running(self, key: str, attempt: int) -> bool:
        """Whether the claims leave `attempt` of the job running: not given up, no result."""
        for decided in (_requeue_claim(key, attempt), _result_claim(key)):
            # One lookup by _id each: FerretDB serves those from its primary key but scans the
            # whole collection for an `$in`, and this runs on every heartbeat of every trial.
            if self._call(partial(self._claims.find_one, {"_id": decided}, {"_id": 1})):
                return False
        return True

    def finish_job(self, reservation: Reservation, result: dict[str, Any]) -> bool:
        key = reservation.job["_id"]
        claim = {"_id": _result_claim(key), "job": key, "owner": reservation.worker_id,
                 "attempt": reservation.attempt, "result": result, "time": utcnow()}
        if self._insert_once(self._claims, claim):
            self._show_result(key, claim)
            return True
        committed = self._call(lambda: self._claims.find_one({"_id": _result_claim(key)}))
        self._show_result(key, committed)
        if committed is not None and committed.get("attempt") == reservation.attempt:
            return True  # our own result, offered again (a worker resubmitting its spool)
        late = {"_id": f"{_result_claim(key)}/{reservation.attempt}",
                "exp_key": reservation.exp_key, "tid": reservation.tid,
                "attempt": reservation.attempt, "worker": reservation.worker_id,
                "result": result, "time": utcnow()}
        self._insert_once(self._late_results, late)  # refused: kept already, by a resubmission
        log.warning("trial %s of %s already has a result; keeping this one as a late result",
                    reservation.tid, reservation.exp_key)
        return False

    def release_job(self, reservation: Reservation) -> None:
        attempt = RunningAttempt(job_key=reservation.job["_id"], exp_key=reservation.exp_key,
                                 tid=reservation.tid, attempt=reservation.attempt,
                                 owner=reservation.worker_id, beat=None)
        self._decide(attempt, None, f"released by {reservation.worker_id}")

    def running_attempts(self, exp_keys: Collection[str]) -> list[RunningAttempt]:
        # One read of the unfinished jobs (FerretDB scans for it, so it is made once).
        fields = {"exp_key": 1, "tid": 1, "state": 1, "attempt": 1, "owner": 1, "beats": 1,
                  "refresh_time": 1}
        unfinished = [job for job in self._call(lambda: list(self._jobs.find(
            {"exp_key": {"$in": sorted(exp_keys)},
             "state": {"$in": [JOB_STATE_NEW, JOB_STATE_RUNNING]}}, fields)))
            if has_trial_identity(job)]
        attempts = [
            RunningAttempt(job_key=job["_id"], exp_key=job["exp_key"], tid=job["tid"],
                           attempt=job.get("attempt", 0), owner=job.get("owner"),
                           # refresh_time as a token, never as a time: Hyperopt's own workers
                           # renew it but keep no beat counter.
                           beat=("running", job.get("owner"), job.get("beats"),
                                 job.get("refresh_time")))
            for job in unfinished if job["state"] == JOB_STATE_RUNNING
        ]
        queued = [job for job in unfinished if job["state"] == JOB_STATE_NEW]
        return attempts + self._claimed_but_never_started(queued)

    def _claimed_but_never_started(self, queued: list[JobDoc]) -> list[RunningAttempt]:
        """Queued jobs whose current attempt was claimed: a worker between its claim and its
        first write, or one that died there (then its claim is all a reclaimer sees)."""
        by_claim = {_run_claim(job["_id"], job.get("attempt", 0)): job for job in queued}
        claims = self._find_by_ids(self._claims, list(by_claim)) if by_claim else []
        return [
            RunningAttempt(job_key=job["_id"], exp_key=job["exp_key"], tid=job["tid"],
                           attempt=job.get("attempt", 0), owner=claim.get("owner"),
                           beat=("claimed", claim.get("owner")))
            for claim in claims for job in [by_claim[claim["_id"]]]
        ]

    def give_up(self, attempt: RunningAttempt, max_attempts: int, reason: str) -> str:
        return self._decide(attempt, max_attempts, reason)

    def late_results(self, exp_key: str) -> list[LateResult]:
        found = self._call(lambda: list(self._late_results.find({"exp_key": exp_key})))
        late = [LateResult(exp_key=exp_key, tid=document["tid"], attempt=document["attempt"],
                           worker=document.get("worker"), result=document["result"],
                           arrived=document["time"])
                for document in found if _is_late_result(document)]
        return sorted(late, key=lambda result: (result.tid, result.attempt))

    @property
    def outages(self) -> int:
        return self._connection.outages

    def _decide(self, attempt: RunningAttempt, max_attempts: int | None, reason: str) -> str:
        """Give up `attempt`: record the decision once, then show the recorded one."""
        key = attempt.job_key
        if self._show_result(key):
            return "finished"
        last = max_attempts is not None and attempt.attempt + 1 >= max_attempts
        decision = "abandon" if last else "requeue"
        claim_id = _requeue_claim(key, attempt.attempt)
        if not self._insert_once(self._claims, {"_id": claim_id, "job": key, "reason": reason,
                                                "decision": decision, "time": utcnow()}):
            recorded = self._call(lambda: self._claims.find_one({"_id": claim_id}))
            if recorded is not None:
                decision = recorded.get("decision", "requeue")
                reason = recorded.get("reason", reason)
            log.debug("attempt %s of %s was given up already: %s", attempt.attempt, key, decision)
        unchanged = {"attempt": attempt.attempt,
                     "state": {"$in": [JOB_STATE_NEW, JOB_STATE_RUNNING]}}
        if decision == "abandon":
            log.warning("abandoning %s after %d attempts: %s", key, attempt.attempt + 1, reason)
            self._update_view(key, unchanged, {"$set": {
                "state": JOB_STATE_DONE, "owner": None, "refresh_time": utcnow(),
                "result": abandoned_result(attempt.attempt + 1, reason)}})
        else:
            log.warning("requeueing %s (attempt %d): %s", key, attempt.attempt + 1, reason)
            with self._candidates_lock:
                # The requeued job is older than every cached candidate: the next reservation
                # reads the queue again, so it gets the oldest queued job first.
                self._candidates = []
                self._next_queue_read_at = float("-inf")
                self._queue_read_wait = _QUEUE_READ_WAIT
            self._update_view(key, unchanged, {"$set": {
                "state": JOB_STATE_NEW, "attempt": attempt.attempt + 1, "owner": None,
                "book_time": None, "refresh_time": utcnow(), "requeued_because": reason}})
        # A result committed while we decided wins over the decision: show it.
        return "finished" if self._show_result(key) else decision

    def _update_view(self, key: str, condition: dict[str, Any], update: dict[str, Any]) -> bool:
        """Apply `update` to the job view `key` if the view meets `condition`; whether it did.

        MongoDB checks and writes in one step, through the `_id` index. FerretDB scans the
        whole collection for any filter beyond `_id` (and its conditional update is a read and
        a separate write all the same), so there the view is read by `_id`, checked here and
        written by `_id`: the same guarantee, in constant time. Either way the claims decide;
        a view that a race overwrites is repaired from them.
        """
        if not self._scans_unless_by_id:
            return self._call(lambda: self._jobs.update_one({"_id": key, **condition}, update)
                              ).matched_count == 1
        view = self._call(partial(self._jobs.find_one, {"_id": key}, dict.fromkeys(condition, 1)))
        if view is None or not _meets(view, condition):
            return False
        self._call(lambda: self._jobs.update_one({"_id": key}, update))
        return True

    def _show_result(self, key: str, claim: dict[str, Any] | None = None) -> bool:
        """Write the committed result, if there is one, into the job's document."""
        if claim is None:
            claim = self._call(lambda: self._claims.find_one({"_id": _result_claim(key)}))
        if claim is None:
            return False
        self._call(lambda: self._jobs.update_one({"_id": key}, {"$set": _result_view(claim)}))
        return True

    def _insert_once(self, collection: Any, document: dict[str, Any]) -> bool:
        """Insert a document with a chosen `_id`; True if this call created it.

        A retried insert whose first try reached the server sees its own document as a
        duplicate: the nonce tells our own document from a rival's.
        """
        document = {**document, "nonce": uuid.uuid4().hex}
        tries = 0

        def insert() -> None:
            nonlocal tries
            tries += 1
            collection.insert_one(document)

        try:
            self._call(insert)
            return True
        except DuplicateKeyError:
            if tries == 1:
                return False  # refused at the first try: the document is a rival's
            existing = self._call(
                lambda: collection.find_one({"_id": document["_id"]}, {"nonce": 1}))
            return existing is not None and existing.get("nonce") == document["nonce"]

    # -- workers ---------------------------------------------------------------------------

    def report_worker(self, status: WorkerStatus) -> None:
        document = {
            "host": status.host, "device": status.device, "state": status.state,
            "last_seen": status.last_seen, "exp_key": status.exp_key, "tid": status.tid,
            "jobs_done": status.jobs_done,
        }
        if not self._pruned_workers:
            # Once per worker process: a farm that has run for months keeps only the
            # workers seen lately, so `status` reads a few documents, not thousands.
            self._pruned_workers = True
            forgotten = status.last_seen - WORKERS_FORGOTTEN_AFTER
            self._call(lambda: self._workers.delete_many({"last_seen": {"$lt": forgotten}}))
        self._call(lambda: self._workers.update_one(
            {"_id": status.worker_id}, {"$set": document}, upsert=True))

    def workers(self) -> list[WorkerStatus]:
        recent = {"last_seen": {"$gte": utcnow() - WORKERS_FORGOTTEN_AFTER}}
        documents = self._call(
            lambda: list(self._workers.find(recent).sort("last_seen", DESCENDING)))
        return [status for status in map(_worker_status, documents) if status is not None]

    def close(self) -> None:
        self._connection.close()


def _meets(document: dict[str, Any], condition: dict[str, Any]) -> bool:
    """Whether `document` meets `condition`: the filters `_update_view` is given (a value, or
    one of `$in`, `$ne`, `$exists`), with MongoDB's meaning."""
    for field, wanted in condition.items():
        present = field in document
        value = document.get(field)
        if not isinstance(wanted, dict):
            met = present and value == wanted
        elif "$in" in wanted:
            met = present and value in wanted["$in"]
        elif "$ne" in wanted:
            met = value != wanted["$ne"]
        elif "$exists" in wanted:
            met = present == wanted["$exists"]
        else:
            raise ValueError(f"_meets does not know the filter {wanted!r}")
        if not met:
            return False
    return True


def _result_view(claim: dict[str, Any]) -> dict[str, Any]:
    """The job fields that show a committed result."""
    return {"state": JOB_STATE_DONE, "result": claim["result"], "owner": claim["owner"],
            "refresh_time": claim["time"]}


def _may_lag_its_result(job: JobDoc) -> bool:
    """Whether a job view may lack its committed result: it is unfinished, or abandoned (a
    real result that came later replaces that)."""
    return job.get("state") != JOB_STATE_DONE or is_replaceable(job.get("result"))


def _is_late_result(document: dict[str, Any]) -> bool:
    return (is_int(document.get("tid")) and is_int(document.get("attempt"))
            and isinstance(document.get("result"), dict)
            and isinstance(document.get("time"), datetime.datetime))


def _worker_status(document: dict[str, Any]) -> WorkerStatus | None:
    """A worker's report as a WorkerStatus; None for a document no worker of ours wrote (no
    id or time), and the fields that do not fit are left blank rather than crash a reader."""
    last_seen = document.get("last_seen")
    if not isinstance(document.get("_id"), str) or not isinstance(last_seen, datetime.datetime):
        log.warning("skipping malformed worker document %r", document.get("_id"))
        return None

    def text(name: str) -> str:
        value = document.get(name)
        return value if isinstance(value, str) else "?"

    exp_key, tid, done = document.get("exp_key"), document.get("tid"), document.get("jobs_done")
    return WorkerStatus(
        worker_id=document["_id"], host=text("host"), device=text("device"), state=text("state"),
        last_seen=last_seen, exp_key=exp_key if isinstance(exp_key, str) else None,
        tid=tid if is_int(tid) else None,
        jobs_done=done if isinstance(done, int) else 0,
    )
