"""How to reach documents cheaply on the server the store talks to: one strategy, chosen once.

MongoDB serves any indexed filter from its indexes and checks-and-writes a conditional update
in one step. FerretDB v1 (SQLite) evaluates only `_id` equality in its storage: any other
filter decodes every document of the collection, and its conditional update is a read and a
separate whole-document write all the same. On FerretDB the hot paths therefore go by `_id`:
a few lookups by `_id` beat one scan, a view is read, checked and written by `_id`, the
queue is found by probing the next job ids, read whole (a scan) at most once a second, and
the driver learns what changed by re-reading the unfinished jobs by `_id` (on MongoDB, by
their change marker, from an index: see _changes).

Both dialects are correct on both servers, since the claims decide and never a view: the
MongoDB dialect on FerretDB is only slower (the tests run both there), the FerretDB dialect
on MongoDB only makes more round trips. `auto` asks the server's `buildInfo`;
HPSEARCH_MONGO_DIALECT (`auto`, `mongodb` or `ferretdb`) forces one.
"""

from __future__ import annotations

import abc
import dataclasses
import os
from collections.abc import Callable
from collections.abc import Collection as Sized
from functools import partial
from typing import Any, ClassVar

from pymongo import ASCENDING
from pymongo.collection import Collection

from search.documents import JobDoc, sort_by_tid
from search.store._base import StoreError
from search.store._mongo._connection import Connection
from search.store._mongo._ids import job_id

DIALECT_VARIABLE = "HPSEARCH_MONGO_DIALECT"

Document = dict[str, Any]


@dataclasses.dataclass(frozen=True)
class QueueReading:
    """How a reservation finds queued jobs: reads of the whole queue, and probes by `_id`."""

    read_wait: float  # seconds between two reads of the whole queue (0: every reservation)
    longest_read_wait: float  # the wait doubles up to this while those reads find nothing
    probes: int  # tids looked up by `_id` past the last one seen, when no read is due
    candidates: int  # queued jobs one read hands the process's reservations to claim from


class Dialect(abc.ABC):
    """Reads and conditional writes, each done the way that is cheap on one kind of server."""

    name: ClassVar[str]
    queue_reading: ClassVar[QueueReading]
    # How a reader learns what changed (see _changes): by the views' change marker, or by
    # re-reading the unfinished views by `_id`.
    reads_changes_by_marker: ClassVar[bool]

    def __init__(self, connection: Connection) -> None:
        self._call = connection.call

    @abc.abstractmethod
    def find_by_ids(self, collection: Collection[Document], ids: list[Any],
                    fields: Document | None = None) -> list[Document]:
        """The documents with these `_id`s (only `fields`, when given), in no particular
        order."""

    @abc.abstractmethod
    def update_if(self, collection: Collection[Document], key: Any, condition: Document,
                  update: Document) -> bool:
        """Apply `update` to the document `key` if it meets `condition` (a value, or one of
        `$in`, `$ne`, `$exists` per field); whether it did."""

    def find_jobs(self, jobs: Collection[Document], exp_key: str, tids: Sized[int] | None,
                  fields: Sized[str] | None, progress: Callable[[int], None] | None = None
                  ) -> list[JobDoc]:
        """The experiment's jobs (those with `tids` when given), sorted by tid; `fields`
        (dotted paths) names what the caller reads, and a dialect may leave the rest out;
        `progress`, if given, a dialect may call with the count read so far."""
        query: dict[str, Any] = {"exp_key": exp_key}
        if tids is not None:
            query["tid"] = {"$in": list(tids)}
        projection = None if fields is None else dict.fromkeys(fields, 1)
        # Sorted by the server, which orders a malformed tid (a string) without failing.
        return self._call(lambda: list(jobs.find(query, projection).sort("tid", ASCENDING)))


class MongoDBDialect(Dialect):
    """MongoDB proper: any indexed filter is cheap, a conditional update is one step."""

    name = "mongodb"
    # Every reservation reads the queue: a few candidates, in case rivals won the first.
    queue_reading = QueueReading(read_wait=0.0, longest_read_wait=0.0, probes=0, candidates=4)
    reads_changes_by_marker = True

    def find_by_ids(self, collection: Collection[Document], ids: list[Any],
                    fields: Document | None = None) -> list[Document]:
        return self._call(lambda: list(collection.find({"_id": {"$in": ids}}, fields)))

    def update_if(self, collection: Collection[Document], key: Any, condition: Document,
                  update: Document) -> bool:
        updated = self._call(lambda: collection.update_one({"_id": key, **condition}, update))
        return updated.matched_count == 1


class FerretDBDialect(Dialect):
    """FerretDB v1: only `_id` equality is served without a scan of the collection."""

    name = "ferretdb"
    queue_reading = QueueReading(read_wait=1.0, longest_read_wait=8.0, probes=8, candidates=32)
    reads_changes_by_marker = False
    by_id_limit = 64  # up to this many documents are read one `_id` lookup each
    scan_batch = 500  # documents a batch of a scan: a second or so of FerretDB's work

    def find_by_ids(self, collection: Collection[Document], ids: list[Any],
                    fields: Document | None = None) -> list[Document]:
        if len(ids) > self.by_id_limit:  # then one scan costs less than the lookups
            return self._call(lambda: list(collection.find({"_id": {"$in": ids}}, fields)))
        found = []
        for key in ids:
            document = self._call(partial(collection.find_one, {"_id": key}, fields))
            if document is not None:
                found.append(document)
        return found

    def find_jobs(self, jobs: Collection[Document], exp_key: str, tids: Sized[int] | None,
                  fields: Sized[str] | None, progress: Callable[[int], None] | None = None
                  ) -> list[JobDoc]:
        """By `_id` for a few `tids`; else one scan, streamed in batches and sorted here.

        FerretDB sorts only once it has read and decoded every document it scans (a few ms a
        job document): sorted by the server, a read of 100,000 jobs sent nothing for minutes
        and outlasted the socket timeout. Unsorted, each batch comes as the scan reaches it.
        """
        if tids is not None and len(tids) <= self.by_id_limit:
            return sort_by_tid(self.find_by_ids(jobs, [job_id(exp_key, tid) for tid in tids]))
        query: dict[str, Any] = {"exp_key": exp_key}
        if tids is not None:
            query["tid"] = {"$in": list(tids)}
        projection = None if fields is None else dict.fromkeys(fields, 1)

        def scan() -> list[JobDoc]:
            found = []
            for job in jobs.find(query, projection, batch_size=self.scan_batch):
                found.append(job)
                if progress is not None and len(found) % self.scan_batch == 0:
                    progress(len(found))
            return found

        return sorted(self._call(scan), key=_tid_order)

    def update_if(self, collection: Collection[Document], key: Any, condition: Document,
                  update: Document) -> bool:
        """Read by `_id`, check here, write by `_id`: the guarantee of a conditional update
        (which FerretDB runs as a read and a separate write anyway), in constant time."""
        view = self._call(partial(collection.find_one, {"_id": key}, dict.fromkeys(condition, 1)))
        if view is None or not _meets(view, condition):
            return False
        self._call(lambda: collection.update_one({"_id": key}, update))
        return True


DIALECTS: dict[str, type[Dialect]] = {
    dialect.name: dialect for dialect in (MongoDBDialect, FerretDBDialect)}


def choose_dialect(connection: Connection) -> Dialect:
    """The dialect HPSEARCH_MONGO_DIALECT forces, or (`auto`, the default) the one the server's
    `buildInfo` calls for.

    Raises:
        StoreError: the variable names no dialect.
    """
    forced = os.environ.get(DIALECT_VARIABLE, "auto").strip().lower() or "auto"
    if forced == "auto":
        build = connection.call(lambda: connection.database.client.admin.command("buildInfo"))
        forced = FerretDBDialect.name if "ferretdbVersion" in build else MongoDBDialect.name
    if forced not in DIALECTS:
        raise StoreError(f"{DIALECT_VARIABLE}={forced!r} names no MongoDB dialect: use auto, "
                         f"{' or '.join(DIALECTS)}")
    return DIALECTS[forced](connection)


def _tid_order(job: JobDoc) -> tuple[int, Any]:
    """Jobs by tid as MongoDB sorts them: numbers first, then a malformed tid as its text."""
    tid = job.get("tid")
    if isinstance(tid, int | float) and not isinstance(tid, bool):
        return (0, tid)
    return (1, str(tid))


def _meets(document: Document, condition: Document) -> bool:
    """Whether `document` meets `condition`, with MongoDB's meaning of the filters
    `update_if` takes."""
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
            raise ValueError(f"update_if does not know the filter {wanted!r}")
        if not met:
            return False
    return True
