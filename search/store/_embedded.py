"""The embedded store: one directory, no server, for a search that runs in this process.

Layout: `<root>/<exp_key>/experiment.json` and `<root>/<exp_key>/jobs.jsonl`. Every change to a
job appends the whole job document as one line of MongoDB Extended JSON (the same documents the
MongoDB store holds) and is flushed to disk before the call returns, so a search killed with
SIGKILL loses at most the trial it was running. Reading takes the last line per tid; a last
line torn by a crash is ignored by readers and cut off when a writer next opens the journal, and
a line that is not a job is reported with its file and line number and skipped. One process at
a time may write an experiment (an flock guards it), so the jobs a writer finds running when it
opens the journal belong to a process that died: the search gives them up as it resumes.
Results that arrive after their trial had one go to `<root>/<exp_key>/late-results.jsonl`.
Worker status lives in `<root>/workers/<worker id>.json`, so `status` works from any shell.
"""

from __future__ import annotations

import dataclasses
import datetime
import fcntl
import json
import logging
import os
import pathlib
import threading
from collections.abc import Callable, Collection, Sequence
from typing import IO, Any

from bson import json_util
from bson.errors import BSONError

from search.documents import (
    JOB_STATE_DONE,
    JOB_STATE_NEW,
    JOB_STATE_RUNNING,
    JobDoc,
    has_trial_identity,
    is_finished,
    sort_by_tid,
    utcnow,
)
from search.experiment import Experiment, check_same_definition
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

log = logging.getLogger(__name__)

# A job reserved ahead whose attempt has not begun carries _AHEAD; _UNSTARTED counts its
# attempts given up before they began, which do not count toward max_attempts.
_AHEAD = "reserved_ahead"
_UNSTARTED = "attempts_not_started"
_READ = json_util.JSONOptions(tz_aware=True, tzinfo=datetime.UTC)
_WRITE = json_util.RELAXED_JSON_OPTIONS


def _dumps(document: dict[str, Any]) -> str:
    return json_util.dumps(document, json_options=_WRITE, sort_keys=True)


def _loads(text: str) -> dict[str, Any]:
    """A line or file decoded; ValueError for anything that is not ours to read, whatever
    the decoder raised (a damaged `{"$oid": ...}` raises bson's own errors, a huge date an
    OverflowError), so that every reader skips it as one bad line."""
    try:
        document: dict[str, Any] = json.loads(text, object_hook=_from_extended_json)
    except (TypeError, OverflowError, ArithmeticError, BSONError) as error:
        raise ValueError(f"{type(error).__name__}: {error}") from None
    return document


def _from_extended_json(document: dict[str, Any]) -> Any:
    """Extended JSON's `{"$type": ...}` wrappers back into values. Dates, the only wrapper our
    documents hold, are parsed here, 30 times faster than json_util's generic hook; anything
    else goes through json_util."""
    if len(document) == 1:
        ((key, value),) = document.items()
        if key.startswith("$"):
            if key == "$date" and isinstance(value, str):
                return datetime.datetime.fromisoformat(value).astimezone(datetime.UTC)
            return json_util.object_hook(document, _READ)
    return document


def _worker_status(document: dict[str, Any]) -> WorkerStatus:
    """A worker's file as a WorkerStatus (JSON gives its tuples of experiment keys back as
    lists).

    Raises TypeError for a file that is not a worker's status."""
    serves, refused = document.pop("serves", None), document.pop("refused", ())
    return WorkerStatus(**document, serves=None if serves is None else tuple(serves),
                        refused=tuple(refused))


def _tid_of_line(line: str) -> int | None:
    """The tid of a journal line without decoding it: lines are written with sorted keys, so
    the top-level `"tid"` is the last one in the line. None when the line does not show one;
    the reader checks every guess against the decoded document."""
    start = line.rfind('"tid": ')
    if start < 0:
        return None
    start += len('"tid": ')
    end = start
    while end < len(line) and line[end].isdigit():
        end += 1
    return int(line[start:end]) if end > start else None


class EmbeddedStore(Store):
    def __init__(self, root: str | os.PathLike[str]) -> None:
        self._root = pathlib.Path(root).expanduser()
        self.location = str(self._root)
        if self._root.exists() and not self._root.is_dir():
            raise StoreError(f"store {self.location} is a file, not a directory: give --store a "
                             "directory (it is created if missing) or a mongodb:// URL")
        self._jobs: dict[str, dict[int, JobDoc]] = {}
        self._queued: dict[str, set[int]] = {}  # the queued tids of each loaded experiment
        self._writers: dict[str, IO[str]] = {}
        # How far each loaded journal was read: (device, inode, offset past its last whole line).
        self._read_to: dict[str, tuple[int, int, int]] = {}
        self._reported: set[tuple[pathlib.Path, int]] = set()
        self._pruning_evidence: dict[str, dict[str, Any]] = {}

    # -- experiments -----------------------------------------------------------------------

    def record_experiment(self, experiment: Experiment) -> Experiment:
        check_exp_key(experiment.exp_key)
        recorded = self.experiment(experiment.exp_key)
        if recorded is not None:
            check_same_definition(recorded, experiment)
            experiment = recorded.latest(experiment)
        directory = self._directory(experiment.exp_key)
        try:
            directory.mkdir(parents=True, exist_ok=True)
            self._writer(experiment.exp_key)
            _write_durably(directory / "experiment.json", _dumps(experiment.to_document()) + "\n")
        except OSError as error:
            raise StoreError(
                f"cannot write the store at {self.location}: {error.strerror or error}. "
                "Choose a writable directory with --store or HPSEARCH_STORE."
            ) from None
        return experiment

    def experiment(self, exp_key: str) -> Experiment | None:
        path = self._directory(exp_key) / "experiment.json"
        try:
            experiment = Experiment.from_document(_loads(path.read_text()))
        except (FileNotFoundError, NotADirectoryError):
            return None
        except (OSError, ValueError) as error:
            raise StoreError(f"cannot read {path}: {error}") from None
        if experiment.exp_key != exp_key:  # a directory copied or renamed under a new name
            raise StoreError(
                f"{path} records experiment {experiment.exp_key!r}, not {exp_key!r} (a copied "
                f"or renamed directory?): to keep it as {exp_key!r}, set its exp_key to "
                f"{exp_key!r} in that file and in every line of jobs.jsonl; or copy it under "
                "its own name into another store")
        return experiment

    @property
    def absent(self) -> str | None:
        if self._root.exists():
            return None
        return (f"there is no store at {self.location}: no search has written there (check "
                "--store or HPSEARCH_STORE)")

    def experiments(self) -> list[Experiment]:
        if not self._root.is_dir():
            return []
        found = []
        for path in self._root.glob("*/experiment.json"):
            try:
                found.append(self.experiment(path.parent.name))
            except StoreError as error:  # one damaged experiment must not hide the others
                log.warning("skipping it: %s", error)
        return sorted((e for e in found if e is not None), key=lambda e: e.created)

    # -- jobs ------------------------------------------------------------------------------

    def jobs(self, exp_key: str, tids: Collection[int] | None = None,
             fields: Collection[str] | None = None,
             progress: Callable[[int], None] | None = None) -> list[JobDoc]:
        if exp_key not in self._writers:
            self._catch_up(exp_key)  # another process may be writing: read what it appended
        jobs = self._load(exp_key)
        selected = jobs.values() if tids is None else (jobs[t] for t in tids if t in jobs)
        return sort_by_tid(selected)

    def queue_jobs(self, jobs: Sequence[JobDoc]) -> None:
        for job in jobs:
            self._save({**job, "state": JOB_STATE_NEW})

    def reserve_next_job(
        self, worker_id: str, exp_keys: Collection[str], ahead: bool = False
    ) -> Reservation | None:
        for exp_key in exp_keys:
            jobs = self._load(exp_key)
            if self._queued[exp_key]:
                job = jobs[min(self._queued[exp_key])]
                now = utcnow()
                job = {**job, "state": JOB_STATE_RUNNING, "owner": worker_id, "book_time": now,
                       "refresh_time": now, **({_AHEAD: True} if ahead else {})}
                self._save(job)
                return Reservation(job=job, worker_id=worker_id, attempt=job.get("attempt", 0),
                                   ahead=ahead)
        return None

    def begin(self, reservation: Reservation) -> None:
        job = self._current(reservation)
        if (reservation.ahead and job is not None and job.get(_AHEAD)
                and job.get("attempt", 0) == reservation.attempt):
            self._save({key: value for key, value in job.items() if key != _AHEAD})

    def heartbeat(self, reservation: Reservation) -> bool:
        job = self._current(reservation)
        if job is None:
            return False
        # In memory only: nothing outside this process watches it.
        job["beats"] = job.get("beats", 0) + 1
        job["refresh_time"] = utcnow()
        return True

    def finish_job(self, reservation: Reservation, result: dict[str, Any]) -> bool:
        job = self._load(reservation.exp_key).get(reservation.tid)
        if job is None:
            raise StoreError(f"trial {reservation.tid} of {reservation.exp_key!r} is not in "
                             f"{self.location}")
        committed = job.get("result") if job["state"] == JOB_STATE_DONE else None
        if committed is None or is_replaceable(committed):
            self._save({**job, "state": JOB_STATE_DONE, "result": result,
                        "owner": reservation.worker_id, "refresh_time": utcnow()})
            return True
        if committed.get("attempt") == reservation.attempt:
            return True  # our own result, offered again
        late = LateResult(exp_key=reservation.exp_key, tid=reservation.tid,
                          attempt=reservation.attempt, worker=reservation.worker_id,
                          result=result, arrived=utcnow())
        path = self._directory(reservation.exp_key) / "late-results.jsonl"
        try:
            with open(path, "a", encoding="utf-8") as file:
                _cut_torn_tail(path, file)
                _append_durably(file, _dumps(dataclasses.asdict(late)))
        except OSError as error:
            raise self._write_failed(error) from None
        log.warning("trial %s of %s already has a result; keeping this one as a late result",
                    reservation.tid, reservation.exp_key)
        return False

    def release_job(self, reservation: Reservation) -> None:
        job = self._current(reservation)
        if job is not None:
            self._save(_requeued(job, f"released by {reservation.worker_id}"))

    def running_attempts(self, exp_keys: Collection[str]) -> list[RunningAttempt]:
        return [
            RunningAttempt(job=job, attempt=job.get("attempt", 0), owner=job.get("owner"),
                           beat=(job.get("owner"), job.get("beats")))
            for exp_key in exp_keys for job in self._load(exp_key).values()
            if job["state"] == JOB_STATE_RUNNING
        ]

    def give_up(self, attempt: RunningAttempt, max_attempts: int, reason: str) -> str:
        job = self._load(attempt.exp_key).get(attempt.tid)
        if job is None or is_finished(job):
            return "finished"
        if job.get("attempt", 0) != attempt.attempt or job["state"] != JOB_STATE_RUNNING:
            return "requeue"  # given up already: the job moved on
        started = attempt.attempt + 1 - job.get(_UNSTARTED, 0)
        if job.get(_AHEAD) or started < max_attempts:  # only started attempts count
            log.warning("requeueing trial %s (attempt %d): %s", job["tid"], attempt.attempt + 1,
                        reason)
            self._save(_requeued(job, reason))
            return "requeue"
        log.warning("abandoning trial %s after %d attempts: %s", job["tid"], started, reason)
        self._save({**job, "state": JOB_STATE_DONE, "owner": None, "refresh_time": utcnow(),
                    "result": abandoned_result(started, reason)})
        return "abandon"

    def late_results(self, exp_key: str) -> list[LateResult]:
        path = self._directory(exp_key) / "late-results.jsonl"
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:
            return []
        found: dict[tuple[int, int], LateResult] = {}
        for number, line in enumerate(lines, 1):
            try:
                late = LateResult(**_loads(line))
            except (ValueError, TypeError):
                self._report_line(path, number, "not a late result")
                continue
            # An attempt has one result: a line written again, after a sync that failed once
            # the line was out (a retried offer), is that result, not another.
            found.setdefault((late.tid, late.attempt), late)
        return [found[key] for key in sorted(found)]

    # -- workers ---------------------------------------------------------------------------

    def publish_pruning_evidence(self, exp_key: str, document: dict[str, Any]) -> None:
        # One process runs an embedded search's trials: the evidence never leaves it, and a
        # resumed search folds it again from the journal.
        self._pruning_evidence[exp_key] = document

    def pruning_evidence(self, exp_key: str) -> dict[str, Any] | None:
        return self._pruning_evidence.get(exp_key)

    def report_worker(self, status: WorkerStatus) -> None:
        """One small file per worker, replaced atomically, so `status` in another process sees
        the search's in-process worker too."""
        directory = self._root / "workers"
        temporary = directory / f".{status.worker_id}.{threading.get_ident()}.tmp"
        try:
            directory.mkdir(parents=True, exist_ok=True)
            temporary.write_text(_dumps(dataclasses.asdict(status)))
            temporary.replace(directory / f"{status.worker_id}.json")
        except OSError as error:  # a status line is advice: never worth failing a search for
            log.debug("cannot write the status of worker %s: %s", status.worker_id, error)

    def workers(self) -> list[WorkerStatus]:
        found = []
        forgotten = utcnow() - WORKERS_FORGOTTEN_AFTER
        for path in (self._root / "workers").glob("*.json"):
            try:
                status = _worker_status(_loads(path.read_text()))
            except (OSError, ValueError, TypeError):
                continue  # replaced or removed while we read it
            if status.last_seen >= forgotten:
                found.append(status)
            else:
                path.unlink(missing_ok=True)
        return sorted(found, key=lambda w: w.last_seen, reverse=True)

    def close(self) -> None:
        for writer in self._writers.values():
            try:
                writer.close()  # closing the file releases its flock
            except OSError as error:  # a line _save already reported as not written
                log.warning("closing %s: %s", writer.name, error.strerror or error)
        self._writers.clear()

    # -- files -----------------------------------------------------------------------------

    def _directory(self, exp_key: str) -> pathlib.Path:
        return self._root / check_exp_key(exp_key)

    def _writer(self, exp_key: str) -> IO[str]:
        """The append handle of an experiment's journal, taken with an exclusive lock."""
        if exp_key in self._writers:
            return self._writers[exp_key]
        path = self._directory(exp_key) / "jobs.jsonl"
        writer = open(path, "a", encoding="utf-8")
        try:
            fcntl.flock(writer, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            writer.close()
            raise StoreError(
                f"experiment {exp_key!r} in {self.location} is in use by another search (in "
                "another hpsearch process, or in this one: a notebook's earlier call still "
                "running); wait for it to finish or use another experiment key"
            ) from None
        _cut_torn_tail(path, writer)
        self._jobs.pop(exp_key, None)
        self._writers[exp_key] = writer
        return writer

    def _load(self, exp_key: str) -> dict[int, JobDoc]:
        if exp_key not in self._jobs:
            path = self._directory(exp_key) / "jobs.jsonl"
            lines: list[str] = []
            if path.exists():
                with open(path, "rb") as reader:
                    status = os.fstat(reader.fileno())
                    data = reader.read()
                lines = data.decode("utf-8").splitlines()
                self._read_to[exp_key] = (status.st_dev, status.st_ino, data.rfind(b"\n") + 1)
            jobs = _latest_jobs(lines, exp_key)
            if jobs is None:  # the fast path met a line it cannot vouch for: read each one
                jobs = self._decode_every_line(path, lines)
            self._jobs[exp_key] = jobs
            self._queued[exp_key] = {tid for tid, job in jobs.items()
                                     if job["state"] == JOB_STATE_NEW}
        return self._jobs[exp_key]

    def _catch_up(self, exp_key: str) -> None:
        """Bring a loaded journal that another process writes up to date by decoding only the
        whole lines appended since it was read (a dashboard asks every second); read it all
        again when it was cut, replaced, or holds a line the fast path cannot vouch for."""
        read_to = self._read_to.get(exp_key)
        if exp_key not in self._jobs or read_to is None:
            self._jobs.pop(exp_key, None)
            return
        device, inode, offset = read_to
        try:
            with open(self._directory(exp_key) / "jobs.jsonl", "rb") as reader:
                status = os.fstat(reader.fileno())
                if (status.st_dev, status.st_ino) != (device, inode) or status.st_size < offset:
                    self._jobs.pop(exp_key)
                    return
                reader.seek(offset)
                data = reader.read()
        except FileNotFoundError:
            self._jobs.pop(exp_key)
            return
        end = data.rfind(b"\n") + 1
        appended = _latest_jobs(data[:end].decode("utf-8").splitlines(), exp_key)
        if appended is None:
            self._jobs.pop(exp_key)
            return
        jobs, queued = self._jobs[exp_key], self._queued[exp_key]
        for tid, job in appended.items():
            jobs[tid] = job
            if job["state"] == JOB_STATE_NEW:
                queued.add(tid)
            else:
                queued.discard(tid)
        self._read_to[exp_key] = (device, inode, offset + end)

    def _decode_every_line(self, path: pathlib.Path, lines: list[str]) -> dict[int, JobDoc]:
        jobs: dict[int, JobDoc] = {}
        for number, line in enumerate(lines, start=1):
            try:
                job = _loads(line)
            except (ValueError, json.JSONDecodeError):
                if number < len(lines):  # the last line may be torn by a crash
                    self._report_line(path, number, "not valid JSON")
                continue
            if not has_trial_identity(job) or job.get("exp_key") != path.parent.name:
                self._report_line(path, number, f"not a job of {path.parent.name}: {line[:80]}")
                continue
            jobs[job["tid"]] = job
        return jobs

    def _report_line(self, path: pathlib.Path, number: int, problem: str) -> None:
        """Say once per store which journal line was skipped, so it can be found and fixed."""
        if (path, number) not in self._reported:
            self._reported.add((path, number))
            log.warning("%s:%d: skipped, %s", path, number, problem)

    def _save(self, job: JobDoc) -> None:
        writer = self._writer(job["exp_key"])
        try:
            _append_durably(writer, _dumps(job))
        except OSError as error:  # a full disk: what is written stays, a torn line is cut
            raise self._write_failed(error) from None
        self._load(job["exp_key"])[job["tid"]] = job
        queued = self._queued[job["exp_key"]]
        if job["state"] == JOB_STATE_NEW:
            queued.add(job["tid"])
        else:
            queued.discard(job["tid"])

    def _write_failed(self, error: OSError) -> StoreError:
        """The error callers handle for a write the disk refused (full, or not writable)."""
        return StoreError(
            f"cannot write the store at {self.location}: {error.strerror or error}. Free "
            "space (or fix its permissions), then rerun the search to resume it: finished "
            "trials are kept")

    def _current(self, reservation: Reservation) -> JobDoc | None:
        job = self._load(reservation.exp_key).get(reservation.tid)
        if job is None or is_finished(job) or job.get("owner") != reservation.worker_id:
            return None
        return job


def _append_durably(file: IO[str], line: str) -> None:
    """Append one journal line and sync it: a trial reported finished survives a power cut."""
    file.write(line + "\n")
    file.flush()
    os.fsync(file.fileno())


def _cut_torn_tail(path: pathlib.Path, writer: IO[str]) -> None:
    """Cut off a last line without its newline (an append torn by a crash), so that the next
    append starts a line of its own instead of being glued to the torn one."""
    size = os.fstat(writer.fileno()).st_size
    if size == 0:
        return
    with open(path, "rb") as reader:
        end = size
        while end > 0:
            start = max(0, end - 65536)
            reader.seek(start)
            chunk = reader.read(end - start)
            if end == size and chunk.endswith(b"\n"):
                return  # nothing torn
            newline = chunk.rfind(b"\n")
            if newline >= 0:
                end = start + newline + 1
                break
            end = start
    log.warning("%s: cut off a last line torn by a crash (%d bytes); the trial it recorded had "
                "not finished", path, size - end)
    os.truncate(writer.fileno(), end)


def _write_durably(path: pathlib.Path, text: str) -> None:
    """Replace `path` with `text` unless it already holds it, syncing the file and then its
    directory, so that the new file and its name both survive a power cut."""
    try:
        if path.read_text(encoding="utf-8") == text:
            return
    except FileNotFoundError:
        pass
    temporary = path.with_name(path.name + ".tmp")
    with open(temporary, "w", encoding="utf-8") as file:
        file.write(text)
        file.flush()
        os.fsync(file.fileno())
    temporary.replace(path)
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


def _latest_jobs(lines: list[str], exp_key: str) -> dict[int, JobDoc] | None:
    """Each tid's last complete line, decoded. A journal holds about three lines per trial
    (queued, running, finished); only the last counts, so only the last is decoded. None when
    a line is torn or not a job, for the careful reader to report."""
    latest: dict[int, str] = {}
    for line in lines:
        tid = _tid_of_line(line)
        if tid is None:
            return None
        latest[tid] = line
    jobs: dict[int, JobDoc] = {}
    for tid, line in latest.items():
        try:
            job = _loads(line)
        except ValueError:
            return None
        if not has_trial_identity(job) or job["tid"] != tid or job.get("exp_key") != exp_key:
            return None
        jobs[tid] = job
    return jobs


def _requeued(job: JobDoc, reason: str) -> JobDoc:
    """The job queued for its next attempt; an attempt reserved ahead and never begun is
    counted as one that did not start."""
    requeued = {**job, "state": JOB_STATE_NEW, "owner": None, "book_time": None,
                "refresh_time": utcnow(), "attempt": job.get("attempt", 0) + 1,
                "requeued_because": reason}
    if requeued.pop(_AHEAD, False):
        requeued[_UNSTARTED] = job.get(_UNSTARTED, 0) + 1
    return requeued
