"""Counting the database operations a process makes, by kind: what the farm's protocol costs.

Every MongoStore's client reports its commands to an OperationCounter (a pymongo command
listener), so a benchmark or a test can say how many inserts, updates and finds a trial's life
took, and how many documents the finds returned. An operation is "by _id" when its filter is a
bare `_id` equality: the one filter FerretDB v1 serves without decoding the whole collection.
MongoDB serves the other filters we use from indexes too.
"""

from __future__ import annotations

import dataclasses
import threading
from collections import Counter
from collections.abc import Mapping
from typing import Any

from pymongo import monitoring

WRITES = ("insert", "update by _id", "update by filter", "delete")
READS = ("find by _id", "find by filter", "getMore", "count")


@dataclasses.dataclass(frozen=True)
class OperationCounts:
    """Operations by kind, and the documents that finds returned (or inserts wrote), by kind.

    Kinds: `insert`, `update by _id`, `update by filter`, `delete`, `find by _id`,
    `find by filter`, `getMore`, `count`, and `other` (indexes, pings, server info).
    """

    operations: Mapping[str, int] = dataclasses.field(default_factory=dict)
    documents: Mapping[str, int] = dataclasses.field(default_factory=dict)

    def __sub__(self, earlier: OperationCounts) -> OperationCounts:
        """What was counted since `earlier` (a snapshot of the same counter)."""
        return OperationCounts(_minus(self.operations, earlier.operations),
                               _minus(self.documents, earlier.documents))

    def __add__(self, other: OperationCounts) -> OperationCounts:
        return OperationCounts(dict(Counter(self.operations) + Counter(other.operations)),
                               dict(Counter(self.documents) + Counter(other.documents)))

    @property
    def total(self) -> int:
        return sum(self.operations.values())

    @property
    def writes(self) -> int:
        return sum(self.operations.get(kind, 0) for kind in WRITES)

    @property
    def reads(self) -> int:
        return sum(self.operations.get(kind, 0) for kind in READS)

    @property
    def documents_read(self) -> int:
        return sum(self.documents.get(kind, 0) for kind in READS)


class OperationCounter(monitoring.CommandListener):
    """Counts the commands of the clients it listens to; thread-safe, cheap per command."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._operations: Counter[str] = Counter()
        self._documents: Counter[str] = Counter()
        self._pending: dict[int, str] = {}  # request id -> kind, for the documents of a reply

    def snapshot(self) -> OperationCounts:
        with self._lock:
            return OperationCounts(dict(self._operations), dict(self._documents))

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        kind, count = command_kind(event.command_name, event.command)
        with self._lock:
            self._operations[kind] += count
            if kind == "insert":
                self._documents[kind] += len(event.command.get("documents", ()))
            elif kind in READS:
                self._pending[event.request_id] = kind

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        with self._lock:
            kind = self._pending.pop(event.request_id, None)
            if kind is not None:
                self._documents[kind] += _returned(event.reply)

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        with self._lock:
            self._pending.pop(event.request_id, None)


def command_kind(name: str, command: Mapping[str, Any]) -> tuple[str, int]:
    """The kind of a command, and how many operations it holds (an update command may carry
    several statements; we send one)."""
    if name == "find":
        return ("find by _id" if _by_id(command.get("filter")) else "find by filter"), 1
    if name == "update":
        statements = command.get("updates") or [{}]
        by_id = all(_by_id(statement.get("q")) for statement in statements)
        return ("update by _id" if by_id else "update by filter"), len(statements)
    if name in ("insert", "delete", "getMore"):
        return name, 1
    if name in ("count", "aggregate"):
        return "count", 1
    return "other", 1


def _by_id(query: Any) -> bool:
    """A bare `_id` equality: `{"_id": value}` with a value that is no operator."""
    if not isinstance(query, Mapping) or list(query) != ["_id"]:
        return False
    value = query["_id"]
    return not (isinstance(value, Mapping) and any(str(key).startswith("$") for key in value))


def _returned(reply: Mapping[str, Any]) -> int:
    cursor = reply.get("cursor")
    if isinstance(cursor, Mapping):
        batch = cursor.get("firstBatch", cursor.get("nextBatch", ()))
        return len(batch)
    return 0


def _minus(now: Mapping[str, int], earlier: Mapping[str, int]) -> dict[str, int]:
    return {kind: count - earlier.get(kind, 0) for kind, count in now.items()
            if count - earlier.get(kind, 0)}
