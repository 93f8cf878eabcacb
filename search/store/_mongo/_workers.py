"""The `workers` collection: what each worker last said about itself, for `hpsearch status`.

A report's `last_seen` is the server's time when it arrived (`$currentDate`), and its age is
judged against the server's time now (ServerClock): workers and readers on hosts whose clocks
disagree agree on which workers are live. A document an older hpsearch wrote holds the
worker's own time, and reads as before.
"""

from __future__ import annotations

import datetime
import logging
from typing import Any

from pymongo import DESCENDING
from pymongo.collection import Collection

from search.documents import is_int
from search.store._base import WORKERS_FORGOTTEN_AFTER, WorkerStatus
from search.store._mongo._connection import Connection
from search.store._mongo._server_clock import ServerClock

log = logging.getLogger(__name__)


class WorkerRegistry:
    """Worker reports, one document per worker id, forgotten a day after the last."""

    def __init__(self, connection: Connection, workers: Collection[dict[str, Any]],
                 clock: ServerClock) -> None:
        self._call = connection.call
        self._workers = workers
        self._clock = clock
        self._pruned = False

    def report(self, status: WorkerStatus) -> None:
        """Record the report, stamped with the server's time (the worker's `last_seen`, by
        its own clock, is not kept)."""
        document = {
            "host": status.host, "device": status.device, "state": status.state,
            "exp_key": status.exp_key, "tid": status.tid, "jobs_done": status.jobs_done,
            "serves": None if status.serves is None else list(status.serves),
            "refused": list(status.refused),
        }
        if not self._pruned:
            # Once per worker process: a farm that has run for months keeps only the
            # workers seen lately, so `status` reads a few documents, not thousands.
            self._pruned = True
            forgotten = self._clock.now() - WORKERS_FORGOTTEN_AFTER
            self._call(lambda: self._workers.delete_many({"last_seen": {"$lt": forgotten}}))
        self._call(lambda: self._workers.update_one(
            {"_id": status.worker_id},
            {"$set": document, "$currentDate": {"last_seen": {"$type": "date"}}}, upsert=True))

    def recent(self) -> list[WorkerStatus]:
        """Every worker that reported within WORKERS_FORGOTTEN_AFTER, most recent first."""
        recent = {"last_seen": {"$gte": self._clock.now() - WORKERS_FORGOTTEN_AFTER}}
        documents = self._call(
            lambda: list(self._workers.find(recent).sort("last_seen", DESCENDING)))
        return [status for status in map(_worker_status, documents) if status is not None]

    def live(self, exp_key: str, stale_after: float) -> int:
        """How many workers reported within `stale_after`, not stopped, and serve `exp_key`
        (WorkerStatus.is_live and serves_experiment, as a query): counted by the server, one
        number whatever the farm."""
        # A record without `serves` or `refused` (an older worker's) matches as one that
        # may take any experiment.
        idle_and_free = {"exp_key": None, "serves": {"$in": [None, exp_key]},
                         "refused": {"$ne": exp_key}}
        since = self._clock.now() - datetime.timedelta(seconds=stale_after)
        live = {"state": {"$ne": "stopped"}, "last_seen": {"$gte": since},
                "$or": [{"exp_key": exp_key}, idle_and_free]}
        return int(self._call(lambda: self._workers.count_documents(live)))


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
        serves=_keys(document.get("serves")), refused=_keys(document.get("refused")) or (),
    )


def _keys(value: Any) -> tuple[str, ...] | None:
    """A stored list of experiment keys; None when absent (a record from before workers
    stored it) or not such a list."""
    if isinstance(value, list) and all(isinstance(key, str) for key in value):
        return tuple(value)
    return None
