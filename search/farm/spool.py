"""A worker's spool: finished results on local disk until the store has them.

Before a worker offers a result to the store it appends it to its spool file and fsyncs it;
once the store has it, the entry is marked sent. A worker killed in between (or one that
cannot reach the database at all) leaves the result in the spool, and the next worker
started with the same spool directory offers it again: the store recognises a result it
already has by its trial and attempt, so offering twice never counts twice.

Each worker process writes its own file, `<host>-<pid>-<nonce>.jsonl`, under an exclusive
flock; a file whose lock can be taken belongs to a process that has ended. The nonce is new
with every process: a restarted container has the same host name and often the same pid (1,
for a process its entrypoint execs), and must find its previous run's file as an ended
worker's, not take it for its own. The directory is keyed by the store, so results only ever
go back to the store they came from.
"""

from __future__ import annotations

import dataclasses
import fcntl
import hashlib
import logging
import os
import pathlib
import socket
import tempfile
import uuid
from collections.abc import Iterator
from typing import IO, Any

from bson import json_util

from search.store import Reservation

log = logging.getLogger(__name__)


def default_spool_root() -> pathlib.Path:
    """Under the user's state directory (XDG): it outlives reboots, unlike /tmp."""
    state = os.environ.get("XDG_STATE_HOME") or os.path.join(os.path.expanduser("~"),
                                                              ".local", "state")
    return pathlib.Path(state) / "hpsearch" / "spool"


def check_spool_root(root: pathlib.Path) -> None:
    """Make sure results can be spooled under `root` (created if missing), before any worker
    process starts and runs a trial whose result would have nowhere to wait.

    Raises:
        OSError: the directory cannot be created or written; its strerror says why.
    """
    root.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryFile(dir=root):
        pass


@dataclasses.dataclass(frozen=True)
class SpooledResult:
    """A result and the reservation it answers, as written to the spool."""

    id: str
    reservation: Reservation
    result: dict[str, Any]


class Spool:
    """This worker process's spool file, in the directory of `store_location`."""

    def __init__(self, root: pathlib.Path, store_location: str) -> None:
        digest = hashlib.sha256(store_location.encode()).hexdigest()[:16]
        self.directory = root / digest
        self.directory.mkdir(parents=True, exist_ok=True)
        (self.directory / "store.txt").write_text(store_location + "\n")  # for a curious reader
        self.path = self.directory / (f"{socket.gethostname()}-{os.getpid()}-"
                                      f"{uuid.uuid4().hex[:8]}.jsonl")
        self._file: IO[str] = self._open_locked()
        self._unsent: set[str] = set()

    def _open_locked(self) -> IO[str]:
        """Our file, locked while this process lives. Between creating the file and locking
        it, another worker may take it for an ended worker's and remove it: then again."""
        while True:
            file = open(self.path, "a+", encoding="utf-8")
            fcntl.flock(file, fcntl.LOCK_EX)  # a worker checking whether it is ours lets go
            if _still_at(self.path, file):
                return file
            file.close()

    def add(self, reservation: Reservation, result: dict[str, Any]) -> SpooledResult:
        """Write a result durably before it is offered to the store."""
        entry = SpooledResult(id=uuid.uuid4().hex, reservation=reservation, result=result)
        self._append({"id": entry.id, "job": reservation.job, "worker_id": reservation.worker_id,
                      "attempt": reservation.attempt, "result": result}, sync=True)
        self._unsent.add(entry.id)
        return entry

    def sent(self, entry: SpooledResult) -> None:
        """The store has the result: the entry need never be offered again."""
        self._unsent.discard(entry.id)
        if self._unsent:
            self._append({"sent": entry.id}, sync=False)  # at worst, a harmless second offer
        else:
            self._file.truncate(0)

    def close(self) -> None:
        self._file.close()
        if not self._unsent:
            self.path.unlink(missing_ok=True)

    def left_by_ended_workers(self) -> Iterator[SpooledResult]:
        """The unsent results in the files of worker processes that have ended; each file is
        removed once all of its results were taken (the caller has offered them)."""
        for path in sorted(self.directory.glob("*.jsonl")):
            if path == self.path:
                continue
            try:
                file = open(path, "r+", encoding="utf-8")
            except FileNotFoundError:
                continue  # another worker took it
            with file:
                try:
                    fcntl.flock(file, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    continue  # its worker is still running
                if not _still_at(path, file):
                    continue  # another worker took it before us
                entries = _unsent_entries(path, file.read())
                for entry in entries:
                    # Copied into our own spool first: if we die while offering it, the next
                    # worker finds it in our file.
                    self._append({"id": entry.id, "job": entry.reservation.job,
                                  "worker_id": entry.reservation.worker_id,
                                  "attempt": entry.reservation.attempt,
                                  "result": entry.result}, sync=True)
                    self._unsent.add(entry.id)
                path.unlink()
            yield from entries

    def waiting_elsewhere(self) -> dict[str, int]:
        """Results that ended workers left for other stores under the same root, as {store
        location: files}. The directory is keyed by the location as written, so a worker
        restarted with the same database under another address (`localhost` for
        `127.0.0.1`, other options) does not offer them: it can say where they wait."""
        waiting: dict[str, int] = {}
        for directory in sorted(self.directory.parent.iterdir()):
            if directory == self.directory or not directory.is_dir():
                continue
            files = sum(_left_by_ended_worker(path) for path in directory.glob("*.jsonl"))
            if files:
                location = directory / "store.txt"
                shown = location.read_text().strip() if location.is_file() else str(directory)
                waiting[shown] = waiting.get(shown, 0) + files
        return waiting

    def _append(self, record: dict[str, Any], sync: bool) -> None:
        self._file.write(json_util.dumps(record, json_options=json_util.RELAXED_JSON_OPTIONS)
                         + "\n")
        self._file.flush()
        if sync:
            os.fsync(self._file.fileno())


def _left_by_ended_worker(path: pathlib.Path) -> bool:
    """Whether a spool file holds something and no live worker holds its lock."""
    try:
        with open(path, encoding="utf-8") as file:
            if not file.read(1):
                return False
            try:
                fcntl.flock(file, fcntl.LOCK_SH | fcntl.LOCK_NB)
            except BlockingIOError:
                return False  # its worker is running
            return True
    except OSError:
        return False


def _still_at(path: pathlib.Path, file: IO[str]) -> bool:
    """Whether `path` still names the open `file` (it was not removed or replaced)."""
    try:
        return os.stat(path).st_ino == os.fstat(file.fileno()).st_ino
    except FileNotFoundError:
        return False


def _unsent_entries(path: pathlib.Path, text: str) -> list[SpooledResult]:
    entries: dict[str, SpooledResult] = {}
    for number, line in enumerate(text.splitlines(), 1):
        try:
            record = json_util.loads(line)
            if "sent" in record:
                entries.pop(record["sent"], None)
                continue
            reservation = Reservation(job=record["job"], worker_id=record["worker_id"],
                                      attempt=record["attempt"])
            entries[record["id"]] = SpooledResult(record["id"], reservation, record["result"])
        except (ValueError, KeyError, TypeError):
            log.warning("%s:%d: skipped, not a spooled result (torn by a crash?)", path, number)
    return list(entries.values())
