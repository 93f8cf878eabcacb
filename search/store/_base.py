"""The interface both stores implement: the driver, the worker and the queries use only this."""

from __future__ import annotations

import abc
import dataclasses
import datetime
import re
from collections.abc import Callable, Collection, Hashable, Sequence
from typing import Any, ClassVar

from objectives import Reason, failed_result
from search.documents import JobDoc, utcnow
from search.experiment import Experiment

EXP_KEY_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,99}")
# A worker silent this long is gone: stores forget it (status lists only the others).
WORKERS_FORGOTTEN_AFTER = datetime.timedelta(days=1)


class StoreError(Exception):
    """A store that cannot be used as asked: unreachable, unwritable, malformed, locked.

    The message is complete and safe to show: it never contains a password.
    """


class StoreUnreachable(StoreError):
    """The database did not answer when the store was opened: a wrong address, or an outage
    that a caller who knows the address is right (a worker's process) may wait out."""


class EvidenceTooLarge(StoreError):
    """Pruning evidence larger than one document holds: sending it again cannot help."""


def exp_key_problem(value: object) -> str | None:
    """What makes `value` no experiment key, or None: keys name directories and documents, so
    they keep to a portable alphabet."""
    if isinstance(value, str) and EXP_KEY_PATTERN.fullmatch(value):
        return None
    return (f"invalid experiment key {value!r}: use 1-100 letters, digits, '_', '-' or '.', "
            "starting with a letter or digit")


def check_exp_key(exp_key: str) -> str:
    """`exp_key`, if it is an experiment key (see `exp_key_problem`)."""
    problem = exp_key_problem(exp_key)
    if problem is not None:
        raise StoreError(problem)
    return exp_key


class _OfAJob:
    """An attempt of a job: which experiment and trial, as its job document says."""

    job: JobDoc

    @property
    def exp_key(self) -> str:
        exp_key: str = self.job["exp_key"]
        return exp_key

    @property
    def tid(self) -> int:
        tid: int = self.job["tid"]
        return tid


@dataclasses.dataclass(frozen=True)
class Reservation(_OfAJob):
    """A job handed to one worker for one attempt; only that attempt may heartbeat it.

    `ahead`: reserved ahead of its run (a worker's lookahead holds it while another trial
    runs), so the attempt starts only when the worker begins it (Store.begin).
    """

    job: JobDoc
    worker_id: str
    attempt: int
    ahead: bool = False


@dataclasses.dataclass(frozen=True)
class RunningAttempt(_OfAJob):
    """One attempt of a job that a worker holds, as one read saw it.

    `beat` changes whenever the attempt shows life, and whenever the store that read it lost
    its database since an earlier read (heartbeats could not reach it then, so a watch must
    start afresh). It is compared only for equality, never as a time, so that no decision
    compares the clocks of two machines.
    """

    job: JobDoc  # the job document as that read saw it (the store finds the job by it)
    attempt: int
    owner: str | None
    beat: Hashable


@dataclasses.dataclass(frozen=True)
class LateResult:
    """A result that arrived after its trial had one, kept for the user to see."""

    exp_key: str
    tid: int
    attempt: int
    worker: str | None
    result: dict[str, Any]
    arrived: datetime.datetime


def abandoned_result(attempts: int, reason: str) -> dict[str, Any]:
    """The failure a trial shows once its last attempt was given up; a real result that
    arrives later replaces it."""
    return failed_result(Reason.ABANDONED, f"gave up after {attempts} attempts; last: {reason}")


def is_replaceable(result: Any) -> bool:
    """Whether a stored result only stands in for one that never came (an abandoned trial's),
    so that a real result arriving late replaces it."""
    return isinstance(result, dict) and result.get("reason") == Reason.ABANDONED


@dataclasses.dataclass(frozen=True)
class WorkerStatus:
    """What a worker last said about itself, for `hpsearch status`.

    `last_seen` is when it said so. As read from a store, that is by the store's clock
    (Store.now), whatever the worker's own clock said: judge it against Store.now only.
    """

    worker_id: str
    host: str
    device: str
    state: str
    last_seen: datetime.datetime
    exp_key: str | None = None
    tid: int | None = None
    jobs_done: int = 0
    # The experiments it may serve (its --exp-key; None: every one), and those whose
    # objective or space it refused: an idle worker takes no job of any other.
    serves: tuple[str, ...] | None = None
    refused: tuple[str, ...] = ()

    def is_live(self, stale_after: float, now: datetime.datetime) -> bool:
        """Still serving: it has not said it stopped, and it reported within `stale_after`
        before `now`, the time by the store's clock (Store.now) when it was read."""
        return self.state != "stopped" and self.silent_for(now) <= stale_after

    def silent_for(self, now: datetime.datetime) -> float:
        """Seconds from its last report to `now` (Store.now when it was read); never less
        than 0 (the store's clock read here may be a few milliseconds off the one that
        stamped the report)."""
        return max(0.0, (now - self.last_seen).total_seconds())

    def serves_experiment(self, exp_key: str) -> bool:
        """Whether it works for `exp_key`: running its trial, or idle and free to take its
        jobs next. One rule for the driver's queue, `status` and the dashboard; a stopped
        worker that last ran none of its trials has nothing to do with it."""
        if self.exp_key is not None:
            return self.exp_key == exp_key
        return self.state != "stopped" and self.may_take(exp_key)

    def may_take(self, exp_key: str) -> bool:
        """Whether its restriction and refusals let it take `exp_key`'s jobs (a record written
        before workers said either lets it take any experiment's)."""
        return (self.serves is None or exp_key in self.serves) and exp_key not in self.refused


class JobChanges(abc.ABC):
    """What changed in one experiment's jobs since the last read: a reader that asks every
    few milliseconds pays for the changes, not for the jobs that did not change."""

    @abc.abstractmethod
    def read(self, unfinished: Collection[int]) -> list[JobDoc]:
        """The jobs that changed since the previous read (the first: since the feed opened),
        sorted by tid. Every change is in some read; a job may also come unchanged, or with
        its change a read or a few seconds late where the write that showed it was lost.

        `unfinished` names the jobs the reader has not seen finish: a feed may re-read them
        to learn what changed.
        """


class UnfinishedJobs(JobChanges):
    """A feed that re-reads the unfinished jobs every time: for a store where that is cheap
    (the embedded one holds them in memory)."""

    def __init__(self, store: Store, exp_key: str) -> None:
        self._store = store
        self._exp_key = exp_key

    def read(self, unfinished: Collection[int]) -> list[JobDoc]:
        return self._store.jobs(self._exp_key, unfinished) if unfinished else []


class Store(abc.ABC):
    """Where trials live. `location` is safe to print (no password).

    `answers_at_once`: every call returns promptly (a local disk), so a caller may hold off a
    stop signal for the length of one (see `search.farm.stopping.stops_held`). The MongoDB
    store waits a database outage out, however long it lasts: a stop must reach its calls.
    """

    location: str
    answers_at_once: ClassVar[bool] = True

    @abc.abstractmethod
    def record_experiment(self, experiment: Experiment) -> Experiment:
        """Record a new experiment, or return the recorded one if the definitions agree.

        Raises:
            ExperimentConflict: the key exists with another definition.
        """

    @abc.abstractmethod
    def experiment(self, exp_key: str) -> Experiment | None:
        """The recorded experiment, or None."""

    @abc.abstractmethod
    def experiments(self) -> list[Experiment]:
        """Every experiment in the store, oldest first."""

    @property
    def absent(self) -> str | None:
        """Why nothing at all is there (a directory that does not exist: a mistyped path, most
        likely), for the message a query gives; None for a store that exists."""
        return None

    @abc.abstractmethod
    def jobs(self, exp_key: str, tids: Collection[int] | None = None,
             fields: Collection[str] | None = None,
             progress: Callable[[int], None] | None = None) -> list[JobDoc]:
        """The experiment's jobs (only those with `tids` when given), sorted by tid.

        `fields` (dotted paths) names what the caller reads; a store may then leave the rest
        out, which spares a query over thousands of trials reading their histories.
        `progress`, when given, may be called with the number of jobs read so far while a
        long read goes on (a dashboard shows it).
        """

    def job_changes(self, exp_key: str) -> JobChanges:
        """A feed of the experiment's changed jobs, for a reader that asks again and again
        (the driver, each turn). Open it before reading the jobs whole: it reports what
        changes from then on."""
        return UnfinishedJobs(self, exp_key)

    @abc.abstractmethod
    def queue_jobs(self, jobs: Sequence[JobDoc]) -> None:
        """Add new jobs (state NEW) for workers to reserve."""

    @abc.abstractmethod
    def reserve_next_job(
        self, worker_id: str, exp_keys: Collection[str], ahead: bool = False
    ) -> Reservation | None:
        """Hand the oldest queued job of the `exp_keys` experiments to `worker_id`, or None
        when none is queued.

        No two reservations are ever granted for the same job and attempt. The attempt starts
        at once, unless it is reserved `ahead` of its run: then it starts at `begin`, and one
        given up or released before that does not count toward `max_attempts`.
        """

    @abc.abstractmethod
    def begin(self, reservation: Reservation) -> None:
        """Record that the worker starts running the attempt, before its objective runs (a
        trial that kills its process then counts); nothing for an attempt not reserved
        ahead, which started at its reservation."""

    @abc.abstractmethod
    def heartbeat(self, reservation: Reservation) -> bool:
        """Show that the attempt is alive: renew the job's heartbeat (a counter that every beat
        changes). False when the attempt is no longer this worker's to run: it was given up,
        or the trial has a result. (A decision whose job document was not written yet is seen
        once it is; meanwhile the attempt runs on, and its result still counts if it is the
        first.)"""

    @abc.abstractmethod
    def finish_job(self, reservation: Reservation, result: dict[str, Any]) -> bool:
        """Record the result. True if it is the trial's result: the first to arrive, or this
        same attempt's result offered again (a resubmission is harmless). A result that
        arrives after another attempt's is kept as a late result, and False is returned."""

    @abc.abstractmethod
    def release_job(self, reservation: Reservation) -> None:
        """Put a reserved job back in the queue at once (a worker told to stop now)."""

    @abc.abstractmethod
    def running_attempts(self, exp_keys: Collection[str]) -> list[RunningAttempt]:
        """Every attempt of the `exp_keys` experiments that a worker holds, with its heartbeat
        as it stands now, for a Reclaimer to watch."""

    @abc.abstractmethod
    def give_up(self, attempt: RunningAttempt, max_attempts: int, reason: str) -> str:
        """Give up an attempt that stopped beating: the job goes back to the queue, or is
        abandoned (failed with the reason) when it was its `max_attempts`-th attempt that
        started. Only started attempts count (see `reserve_next_job`): one reserved ahead and
        never begun cannot have killed its worker, and is always requeued.

        The first process to give an attempt up records the decision; any other process
        that gives it up later applies the recorded decision, not its own. Returns the
        decision: "requeue", "abandon", or "finished" when the trial has a result already.
        """

    @abc.abstractmethod
    def late_results(self, exp_key: str) -> list[LateResult]:
        """Results that arrived after their trial already had one, by tid then attempt."""

    @abc.abstractmethod
    def publish_pruning_evidence(self, exp_key: str, document: dict[str, Any]) -> None:
        """Replace the experiment's pruning evidence (`search.pruning.Evidence.to_document`),
        which its driver folds from the finished results, for its workers to read."""

    @abc.abstractmethod
    def pruning_evidence(self, exp_key: str) -> dict[str, Any] | None:
        """The pruning evidence last published for the experiment (None: none yet), in one
        read by key and a single try: a worker asks during a trial, and in an outage it must
        go on unpruned at once rather than wait for the database.

        Raises:
            StoreError: the store cannot be read now.
        """

    @abc.abstractmethod
    def report_worker(self, status: WorkerStatus) -> None:
        """Publish a worker's heartbeat and what it is doing. A store whose workers may run on
        other machines stamps the report with its own clock (see `now`), not `last_seen`."""

    @abc.abstractmethod
    def workers(self) -> list[WorkerStatus]:
        """Every worker that reported within WORKERS_FORGOTTEN_AFTER, most recent first."""

    def now(self) -> datetime.datetime:
        """The time now by the clock this store's times are stamped with: a worker's report,
        a trial's start and finish. Judge a stored time against this, never against this
        process's own clock, which on another host may be minutes off. The machine's own
        clock for a directory (every process that writes it runs there); the server's for
        MongoDB.
        """
        return utcnow()

    def live_workers(self, exp_key: str, stale_after: float) -> int:
        """How many workers could take `exp_key`'s jobs: live (WorkerStatus.is_live), and
        serving it (WorkerStatus.serves_experiment)."""
        now = self.now()
        return sum(1 for worker in self.workers()
                   if worker.is_live(stale_after, now) and worker.serves_experiment(exp_key))

    def close(self) -> None:  # noqa: B027 - optional: a store may hold nothing to release
        """Release connections and locks."""
