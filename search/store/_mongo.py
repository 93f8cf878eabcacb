"""The MongoDB store: Hyperopt's `jobs` schema, reserved exactly on MongoDB and FerretDB alike.

Exactness rests on one primitive both servers make atomic: inserting a document whose `_id`
already exists fails. (FerretDB v1 runs `findAndModify` and `update` as a read followed by a
separate write, so a conditional update cannot decide who owns a job.) Every decision about a
job is therefore an insert into the `claims` collection, with an `_id` naming the decision:

- `<job>/run/<attempt>`: who runs that attempt of the job. Exactly one worker wins it.
- `<job>/requeue/<attempt>`: who gave that attempt up (stale heartbeat or worker stopping).
- `<job>/result`: the result, committed once. A late result from a worker presumed dead is
  accepted if it comes first and discarded otherwise, never both.

The job document is a view of these claims, written after each decision. A writer that dies
between its claim and its write, or a lost update on FerretDB, leaves the view behind; the
reclaim pass brings it back in line from the claims, so the view converges and nothing is lost.
"""

from __future__ import annotations

import dataclasses
import datetime
import logging
import threading
import time
import uuid
from typing import Any, Callable, Collection, Sequence, TypeVar

from pymongo import ASCENDING, DESCENDING
from pymongo.errors import BulkWriteError, DuplicateKeyError

from search.documents import (JOB_STATE_DONE, JOB_STATE_NEW, JOB_STATE_RUNNING, JobDoc,
                              sort_by_tid, utcnow)
from search.experiment import Experiment, MalformedExperiment, check_same_definition
from search.store._base import (WORKERS_FORGOTTEN_AFTER, Reservation, Store, StoreError,
                                WorkerStatus, check_exp_key)
from search.store._connection import Connection

log = logging.getLogger(__name__)
T = TypeVar("T")

_BY_ID_LIMIT = 64  # up to this many jobs are read one `_id` lookup each on FerretDB
_CANDIDATES = 32  # queued jobs one read of the queue hands a worker to claim from
_PROBES = 8  # tids a reservation looks up by _id past the last one it saw, on FerretDB
_EMPTY_SCAN_INTERVAL = 1.0  # seconds before a queue read that found nothing is repeated


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
        self._workers = database["workers"]
        self._indexed = False
        # Queued jobs read but not yet tried: the next reservation claims from them before it
        # reads the queue again (on FerretDB that read scans every job). A stale candidate
        # costs one refused claim insert, never a wrong reservation: see _claim.
        self._candidates: list[JobDoc] = []
        self._candidates_lock = threading.Lock()
        # On FerretDB the queue is also found by `_id`: the driver queues tids in order, so
        # the next job is usually `<exp_key>/<one past the last tid seen>`. The scan still
        # runs, at most once a second while it finds nothing, for requeued (older) jobs.
        self._next_tids: dict[str, int] = {}
        self._last_empty_scan = float("-inf")
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
        self._call(lambda: self._experiments.update_one(
            {"_id": experiment.exp_key}, {"$set": {"max_evals": experiment.max_evals}}))
        return dataclasses.replace(recorded, max_evals=experiment.max_evals)

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
             fields: Collection[str] | None = None) -> list[JobDoc]:
        if tids is not None and self._scans_unless_by_id and len(tids) <= _BY_ID_LIMIT:
            found = [self._call(lambda key=job_id(exp_key, tid): self._jobs.find_one({"_id": key}))
                     for tid in tids]
            return sort_by_tid(job for job in found if job is not None)
        query: dict[str, Any] = {"exp_key": exp_key}
        if tids is not None:
            query["tid"] = {"$in": list(tids)}
        projection = None if fields is None else dict.fromkeys(fields, 1)
        return self._call(lambda: list(self._jobs.find(query, projection).sort("tid", ASCENDING)))

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
        if reservation is None and self._scans_unless_by_id:
            reservation = self._claim_first(worker_id, self._probe_next_tids(wanted))
        if reservation is None and (
                not self._scans_unless_by_id
                or time.monotonic() - self._last_empty_scan >= _EMPTY_SCAN_INTERVAL):
            reservation = self._claim_first(worker_id, self._read_candidates(wanted))
            if reservation is None:
                self._last_empty_scan = time.monotonic()
        return reservation

    def _probe_next_tids(self, wanted: set[str]) -> list[JobDoc]:
        """Queued jobs found by `_id` just past the last tid seen of each experiment."""
        found: list[JobDoc] = []
        for exp_key, tid in list(self._next_tids.items()):
            if exp_key not in wanted:
                continue
            for probe in range(tid, tid + _PROBES):
                key = job_id(exp_key, probe)
                job = self._call(lambda: self._jobs.find_one({"_id": key}))
                if job is None:
                    break  # not queued yet
                self._saw(job)
                if job["state"] == JOB_STATE_NEW:
                    found.append(job)
                    break
        return found

    def _saw(self, job: JobDoc) -> None:
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
        started = {"state": JOB_STATE_RUNNING, "owner": worker_id, "book_time": now,
                   "refresh_time": now, "attempt": attempt}
        # Hyperopt's own jobs have no attempt field: this write gives them one.
        unchanged = {"_id": job["_id"], "state": JOB_STATE_NEW,
                     "attempt": attempt if "attempt" in job else {"$exists": False}}
        self._call(lambda: self._jobs.update_one(unchanged, {"$set": started}))
        return Reservation(job={**job, **started}, worker_id=worker_id, attempt=attempt)

    def heartbeat(self, reservation: Reservation) -> bool:
        key = reservation.job["_id"]
        for decided in (_requeue_claim(key, reservation.attempt), _result_claim(key)):
            # One lookup by _id each: FerretDB serves those from its primary key but scans the
            # whole collection for an `$in`, and this runs on every heartbeat of every trial.
            if self._call(lambda: self._claims.find_one({"_id": decided}, {"_id": 1})):
                return False
        renewed = self._call(lambda: self._jobs.update_one(
            {"_id": key, "attempt": reservation.attempt,
             "state": {"$in": [JOB_STATE_NEW, JOB_STATE_RUNNING]}},
            {"$set": {"state": JOB_STATE_RUNNING, "owner": reservation.worker_id,
                      "refresh_time": utcnow()}},
        ))
        return renewed.matched_count == 1

    def finish_job(self, reservation: Reservation, result: dict[str, Any]) -> bool:
        key = reservation.job["_id"]
        claim = {"_id": _result_claim(key), "job": key, "owner": reservation.worker_id,
                 "attempt": reservation.attempt, "result": result, "time": utcnow()}
        if self._insert_once(self._claims, claim):
            self._show_result(key, claim)
            return True
        log.warning("trial %s of %s already has a result; discarding this one",
                    reservation.tid, reservation.exp_key)
        self._show_result(key)
        return False

    def release_job(self, reservation: Reservation) -> None:
        self._requeue(reservation.job["_id"], reservation.attempt, max_attempts=None,
                      reason=f"released by {reservation.worker_id}")

    def reclaim_stale_jobs(
        self, stale_after: float, max_attempts: int, exp_keys: Collection[str]
    ) -> list[int]:
        cutoff = utcnow() - datetime.timedelta(seconds=stale_after)
        scope: dict[str, Any] = {"exp_key": {"$in": list(exp_keys)}}
        silent = self._call(lambda: list(self._jobs.find(
            {**scope, "state": JOB_STATE_RUNNING, "refresh_time": {"$lt": cutoff}})))
        reclaimed = []
        for job in silent:
            reason = f"no heartbeat from {job.get('owner')} for over {stale_after:g} s"
            self._requeue(job["_id"], job.get("attempt", 0), max_attempts, reason)
            reclaimed.append(job["tid"])
        for job in self._claimed_but_never_started(scope, cutoff):
            reason = "reserved by a worker that never started it"
            self._requeue(job["_id"], job.get("attempt", 0), max_attempts, reason)
            reclaimed.append(job["tid"])
        return reclaimed

    def _claimed_but_never_started(self, scope: dict[str, Any], cutoff: datetime.datetime
                                   ) -> list[JobDoc]:
        """Queued jobs whose current attempt was claimed long ago: the claimant died between
        its claim and its first write."""
        queued = self._call(lambda: list(self._jobs.find(
            {**scope, "state": JOB_STATE_NEW}, {"attempt": 1, "tid": 1})))
        by_claim = {_run_claim(job["_id"], job.get("attempt", 0)): job for job in queued}
        if not by_claim:
            return []
        old = self._call(lambda: list(self._claims.find(
            {"_id": {"$in": list(by_claim)}, "time": {"$lt": cutoff}}, {"_id": 1})))
        return [by_claim[claim["_id"]] for claim in old]

    def _requeue(self, key: str, attempt: int, max_attempts: int | None, reason: str) -> None:
        """Give up `attempt` of a job: back to the queue, or failed after `max_attempts`."""
        if self._show_result(key):
            return
        if not self._insert_once(self._claims, {"_id": _requeue_claim(key, attempt), "job": key,
                                                 "reason": reason, "time": utcnow()}):
            log.debug("attempt %s of %s was already given up; repairing its job view", attempt, key)
        if max_attempts is not None and attempt + 1 >= max_attempts:
            failure = {"status": "fail", "reason": "abandoned", "loss": None,
                       "error": f"gave up after {attempt + 1} attempts; last: {reason}"}
            self._insert_once(self._claims, {"_id": _result_claim(key), "job": key, "owner": None,
                                             "attempt": attempt, "result": failure,
                                             "time": utcnow()})
            self._show_result(key)
            return
        log.warning("requeueing %s (attempt %d): %s", key, attempt + 1, reason)
        with self._candidates_lock:
            # The requeued job is older than every cached candidate: the next reservation
            # reads the queue again, so it gets the oldest queued job first.
            self._candidates = []
            self._last_empty_scan = float("-inf")
        self._call(lambda: self._jobs.update_one(
            {"_id": key, "attempt": attempt, "state": {"$in": [JOB_STATE_NEW, JOB_STATE_RUNNING]}},
            {"$set": {"state": JOB_STATE_NEW, "attempt": attempt + 1, "owner": None,
                      "book_time": None, "refresh_time": utcnow(), "requeued_because": reason}},
        ))

    def _show_result(self, key: str, claim: dict[str, Any] | None = None) -> bool:
        """Write the committed result, if there is one, into the job's document."""
        if claim is None:
            claim = self._call(lambda: self._claims.find_one({"_id": _result_claim(key)}))
        if claim is None:
            return False
        self._call(lambda: self._jobs.update_one(
            {"_id": key},
            {"$set": {"state": JOB_STATE_DONE, "result": claim["result"], "owner": claim["owner"],
                      "refresh_time": claim["time"]}},
        ))
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
            existing = self._call(lambda: collection.find_one({"_id": document["_id"]}, {"nonce": 1}))
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
        tid=tid if isinstance(tid, int) and not isinstance(tid, bool) else None,
        jobs_done=done if isinstance(done, int) else 0,
    )
