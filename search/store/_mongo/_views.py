"""The `jobs` collection: Hyperopt's job documents, each a view of its job's claims.

A view is written after each decision. A writer that dies between its claim and its write, or
a lost update on FerretDB, leaves the view behind: reads patch in the result claims, heartbeats
and reservations repair the view from the claims, and the reclaimer gives up attempts whose
view stopped changing, so the view converges.

Every write that changes what a view says (its state, attempt, owner or result; not a plain
heartbeat) also sets the view's change marker, `changed`: a BSON timestamp the server assigns
(`$currentDate`), so a reader can ask for what changed since it last looked (see _changes).
It also adds one to the view's `version`, as Hyperopt's workers do: Hyperopt's
`MongoTrials.refresh()` re-reads a job it holds only when its version went up.

The times a view shows (`book_time`, `refresh_time`) are the server's (ServerClock), whichever
host wrote them; a finished job's `refresh_time` is its result claim's.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from collections.abc import Collection as Sized
from typing import Any

from bson import Timestamp
from pymongo import ASCENDING, DESCENDING
from pymongo.collection import Collection
from pymongo.errors import BulkWriteError

from search.documents import JOB_STATE_DONE, JOB_STATE_NEW, JOB_STATE_RUNNING, JobDoc
from search.store._base import is_replaceable
from search.store._mongo._claims import Claim
from search.store._mongo._connection import Connection
from search.store._mongo._dialect import Dialect
from search.store._mongo._ids import job_id
from search.store._mongo._server_clock import ServerClock

_UNFINISHED = {"$in": [JOB_STATE_NEW, JOB_STATE_RUNNING]}
MARKER = "changed"  # the change marker's field
_MARK = {"$currentDate": {MARKER: {"$type": "timestamp"}}}


def _marked(update: dict[str, Any]) -> dict[str, Any]:
    """An update that also sets the change marker and counts a new version."""
    return {**update, **_MARK, "$inc": {**update.get("$inc", {}), "version": 1}}


class JobViews:
    """Reads and writes of the job views."""

    def __init__(self, connection: Connection, jobs: Collection[JobDoc], dialect: Dialect,
                 clock: ServerClock) -> None:
        self._call = connection.call
        self._jobs = jobs
        self._dialect = dialect
        self._clock = clock
        self._indexed = False

    def ensure_indexes(self) -> None:
        """Create the job indexes once, on the first write: the read commands (best, status,
        export, …) then work for a user who may only read."""
        if self._indexed:
            return
        self._call(lambda: self._jobs.create_index([("state", ASCENDING), ("tid", ASCENDING)]))
        self._call(lambda: self._jobs.create_index([("exp_key", ASCENDING), ("tid", ASCENDING)]))
        self._call(lambda: self._jobs.create_index([("exp_key", ASCENDING), (MARKER, ASCENDING)]))
        self._indexed = True

    def queue(self, jobs: Sequence[JobDoc]) -> None:
        """Insert new jobs, queued, under ids that make a retried insert harmless."""
        documents = [{**job, "_id": job_id(job["exp_key"], job["tid"]), "state": JOB_STATE_NEW}
                     for job in jobs]

        def insert() -> None:
            try:
                self._jobs.insert_many(documents, ordered=False)
            except BulkWriteError as error:
                if any(e.get("code") != 11000 for e in error.details.get("writeErrors", [])):
                    raise  # 11000 is a job that a retried insert already added

        if documents:
            self._call(insert)

    def find(self, exp_key: str, tids: Sized[int] | None = None,
             fields: Sized[str] | None = None,
             progress: Callable[[int], None] | None = None) -> list[JobDoc]:
        """The views as written (see `with_results`), sorted by tid."""
        return self._dialect.find_jobs(self._jobs, exp_key, tids, fields, progress)

    def unfinished(self, exp_keys: Sized[str]) -> list[JobDoc]:
        """The queued and running views of these experiments, with what a reclaimer reads.
        One read (FerretDB scans for it, so it is made once per pass)."""
        fields = {"exp_key": 1, "tid": 1, "state": 1, "attempt": 1, "owner": 1, "beats": 1,
                  "refresh_time": 1}
        return self._call(lambda: list(self._jobs.find(
            {"exp_key": {"$in": sorted(exp_keys)}, "state": _UNFINISHED}, fields)))

    def start(self, job: JobDoc, worker_id: str) -> JobDoc:
        """Show `job`'s current attempt, whose run claim `worker_id` won, as running; the view
        as it now stands."""
        attempt = job.get("attempt", 0)
        now = self._clock.now()
        started = {"state": JOB_STATE_RUNNING, "owner": worker_id, "book_time": now,
                   "refresh_time": now, "attempt": attempt}
        # Hyperopt's own jobs have no attempt field: this write gives them one.
        unchanged = {"state": JOB_STATE_NEW,
                     "attempt": attempt if "attempt" in job else {"$exists": False}}
        self._dialect.update_if(self._jobs, job["_id"], unchanged, _marked({"$set": started}))
        return {**job, **started}

    def beat(self, key: Any, attempt: int, worker_id: str, *, repair: bool = False) -> bool:
        """Renew the heartbeat of `attempt`, if the view shows it; whether it did. `repair`
        writes the attempt back into a view that lost it (the claims still give it to us)."""
        beat: dict[str, dict[str, Any]] = {
            "$set": {"state": JOB_STATE_RUNNING, "owner": worker_id,
                     "refresh_time": self._clock.now()},
            "$inc": {"beats": 1},
        }
        if repair:
            beat["$set"]["attempt"] = attempt
            return self._dialect.update_if(self._jobs, key, {"state": {"$ne": JOB_STATE_DONE}},
                                           _marked(beat))
        return self._dialect.update_if(self._jobs, key, {"attempt": attempt,
                                                         "state": _UNFINISHED}, beat)

    def requeue(self, key: Any, attempt: int, reason: str) -> None:
        """Queue the job again for its next attempt, if the view still shows `attempt`."""
        self._dialect.update_if(self._jobs, key, {"attempt": attempt, "state": _UNFINISHED},
                                _marked({"$set": {"state": JOB_STATE_NEW, "attempt": attempt + 1,
                                                  "owner": None, "book_time": None,
                                                  "refresh_time": self._clock.now(),
                                                  "requeued_because": reason}}))

    def abandon(self, key: Any, attempt: int, result: dict[str, Any]) -> None:
        """Show the job failed with `result`, if the view still shows `attempt`."""
        self._dialect.update_if(self._jobs, key, {"attempt": attempt, "state": _UNFINISHED},
                                _marked({"$set": {"state": JOB_STATE_DONE, "owner": None,
                                                  "refresh_time": self._clock.now(),
                                                  "result": result}}))

    def show_result(self, key: Any, claim: Claim) -> None:
        """Write a committed result into the job's view."""
        self._call(lambda: self._jobs.update_one({"_id": key},
                                                 _marked({"$set": result_view(claim)})))

    def changed_since(self, exp_key: str, floor: Timestamp | None, seen: Sized[Timestamp]
                      ) -> list[JobDoc]:
        """The views whose change marker is above `floor` (any marker, when None) and not one
        of `seen`. MongoDB serves it from the (exp_key, changed) index; FerretDB scans."""
        marker: dict[str, Any] = {"$exists": True} if floor is None else {"$gt": floor}
        if seen:
            marker["$nin"] = list(seen)
        return self._call(lambda: list(self._jobs.find({"exp_key": exp_key, MARKER: marker})))

    def newest_marker(self, exp_key: str) -> Timestamp | None:
        """The highest change marker of the experiment's views, or None before any change."""
        newest = self._call(lambda: self._jobs.find_one(
            {"exp_key": exp_key, MARKER: {"$exists": True}}, {MARKER: 1},
            sort=[(MARKER, DESCENDING)]))
        marker = newest.get(MARKER) if newest else None
        return marker if isinstance(marker, Timestamp) else None


def result_view(claim: Claim) -> dict[str, Any]:
    """The job fields that show a committed result."""
    return {"state": JOB_STATE_DONE, "result": claim["result"], "owner": claim["owner"],
            "refresh_time": claim["time"]}


def may_lag_its_result(job: JobDoc) -> bool:
    """Whether a job view may lack its committed result: it is unfinished, or abandoned (a
    real result that came later replaces that)."""
    return job.get("state") != JOB_STATE_DONE or is_replaceable(job.get("result"))
