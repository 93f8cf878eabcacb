"""The worker loop: reserve a job, run it, report it, until told to stop.

With `lookahead`, the next job is reserved while the current one runs (search.farm.lookahead),
so consecutive trials follow each other without a database round trip between them. An idle
worker polls every 20 ms for a second, then backs off to `poll_interval`, and watches the
farm's running trials for dead ones (search.farm.reclaim).

A finished result goes to the worker's spool (search.farm.spool) before the store, and the
worker offers it until the store has it, however long the database is away; it does not exit
while it holds a result the store lacks. At start-up it offers whatever ended workers left
in the spool. The policy (heartbeat interval, stale after, attempts, trial timeout) is each
experiment's own, read from the store.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import math
import os
import pathlib
import socket
from collections.abc import Sequence
from typing import Any

import objectives
import spaces
from search.clock import SYSTEM_CLOCK, Clock
from search.documents import finite_number, utcnow
from search.experiment import Experiment
from search.farm.evidence import evidence_for, trial_pruning
from search.farm.execution import PreparedExperiment, run_job
from search.farm.lookahead import Lookahead
from search.farm.reclaim import Reclaimer
from search.farm.spool import Spool, SpooledResult
from search.farm.stopping import StopNow, StopRequest, stops_held
from search.policy import DEFAULT_STALE_AFTER
from search.pruning import CachedEvidence
from search.store import Reservation, Store, StoreError, WorkerStatus

log = logging.getLogger(__name__)

_EXPERIMENT_REFRESH_INTERVAL = 5.0
_FIRST_IDLE_POLL = 0.02  # seconds between polls in the first second without a job
_BACKOFF_AFTER = 1.0  # seconds without a job; then the wait doubles, up to poll_interval
_LONGEST_RESUBMIT_WAIT = 30.0  # seconds between offers of a result the store cannot take yet
_LOOKAHEAD_SHORTEST_RETRY = 1.0  # the lookahead's longest wait is never shorter than this
STUCK_EXIT_CODE = 3  # a trial stuck in native code past its timeout ends the worker process


@dataclasses.dataclass(frozen=True)
class WorkerOptions:
    """How a worker behaves; the defaults suit a farm of GPU boxes."""

    exp_keys: tuple[str, ...] | None = None  # None serves every experiment in the store
    max_jobs: int | None = None
    idle_timeout: float | None = None
    max_consecutive_failures: int | None = None
    allowed_objectives: tuple[str, ...] = ()
    data_dir: str | None = None  # this host's data sets; overrides the experiment's
    poll_interval: float = 1.0  # the longest wait between polls of an idle worker
    lookahead: bool = False  # reserve the next job while one runs (needs a thread-safe store)
    spool_root: pathlib.Path | None = None  # None: no spool (the embedded store is on disk)
    # A trial stuck in native code past its timeout ends this process (a worker's own, which
    # cannot stop the call from inside); False where the process is a caller's (an embedded
    # search's: a notebook's kernel, a script), which a trial must never end.
    end_when_stuck: bool = True

    def __post_init__(self) -> None:
        """Check each field as `hpsearch worker` checks its option, naming the one that is
        wrong: a string of keys would otherwise serve experiments named by its letters."""
        if self.exp_keys is not None:
            object.__setattr__(self, "exp_keys", _names("exp_keys", self.exp_keys))
        object.__setattr__(self, "allowed_objectives",
                           _names("allowed_objectives", self.allowed_objectives))
        for name in ("max_jobs", "max_consecutive_failures"):
            value = getattr(self, name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int)
                                      or value < 1):
                raise ValueError(f"WorkerOptions.{name} must be a whole number of at least 1, "
                                 f"or None, not {value!r}")
        if self.idle_timeout is not None and not _seconds(self.idle_timeout) >= 0:
            raise ValueError(f"WorkerOptions.idle_timeout must be a number of seconds, 0 or "
                             f"more, or None, not {self.idle_timeout!r}")
        if not _seconds(self.poll_interval) > 0:
            raise ValueError(f"WorkerOptions.poll_interval must be a number of seconds above "
                             f"0, not {self.poll_interval!r}")


def _names(field: str, value: object) -> tuple[str, ...]:
    if isinstance(value, str) or not isinstance(value, tuple | list) or not all(
            isinstance(item, str) for item in value):
        hint = f" (write ({value!r},))" if isinstance(value, str) else ""
        raise ValueError(f"WorkerOptions.{field} must be a tuple of strings, not {value!r}{hint}")
    return tuple(value)


def _seconds(value: object) -> float:
    """A finite number as a float; NaN for anything else, which every comparison refuses."""
    number = finite_number(value)
    return math.nan if number is None else number


@dataclasses.dataclass(frozen=True)
class WorkerExit:
    jobs_done: int
    reason: str
    exit_code: int = 0


def worker_id(gpu: str | None) -> str:
    """`host:pid:gpu`, unique across a farm and readable in `hpsearch status`."""
    return f"{socket.gethostname()}:{os.getpid()}:{gpu if gpu is not None else 'cpu'}"


class Worker:
    def __init__(self, store: Store, worker_id: str, options: WorkerOptions,
                 stop: StopRequest | None = None,
                 given_objectives: Sequence[objectives.Objective] = (),
                 clock: Clock = SYSTEM_CLOCK) -> None:
        """`given_objectives` are objectives handed over in this process (an embedded
        search's, which may be a function of the caller's): an experiment that names one
        runs it as given, without resolving the name. `clock` times the worker's idle polls,
        its reports, its retries and its watch of the farm's running trials."""
        self._store = store
        self._clock = clock
        self.worker_id = worker_id
        self._options = options
        self._stop = stop or StopRequest()
        self._given = {objective.name: objective for objective in given_objectives}
        self._prepared: dict[str, PreparedExperiment] = {}
        # Each experiment's pruning evidence, cached across its trials: read at most once a
        # second whatever the trials and epochs.
        self._evidence: dict[str, CachedEvidence] = {}
        self._refused: set[str] = set()
        self._awaited: set[str] = set()  # experiments named by --exp-key, said to be missing
        self._experiments_seen_at = float("-inf")
        # The driver watches its experiment four times per stale_after; each idle worker is
        # a backup (for a driver that died, or jobs queued by another tool), and on FerretDB
        # each pass reads the whole queue, so a worker watches once per stale_after.
        self._reclaimer = Reclaimer(store, clock, passes_per_stale_after=1)
        self._spool = Spool(options.spool_root, store.location) if options.spool_root else None
        self._last_report = float("-inf")
        self._last_state: str | None = None
        self._last_exp_key: str | None = None  # of the last trial it ran
        self._lookahead = (Lookahead(store, worker_id, self._stop, clock) if options.lookahead
                           else None)
        self.jobs_done = 0
        self.device = "unknown"
        self._failures_in_a_row = 0
        self._last_failure = ""

    def run(self) -> WorkerExit:
        """Serve jobs until a limit is reached or a stop is requested."""
        options = self._options
        # Idle from the first poll that found nothing: the first poll prepares the experiments
        # (imports the objectives), which is start-up, not a wait for a job.
        idle_since: float | None = None
        idle_wait = _FIRST_IDLE_POLL
        result: dict[str, Any] | None = None  # of the last poll: a trial's, or None when idle
        try:
            self._offer_spooled_results()
            while not self._stop.requested:
                if options.max_jobs is not None and self.jobs_done >= options.max_jobs:
                    return self._exit(f"finished --max-jobs {options.max_jobs} jobs")
                result = self.run_next()
                if result is None:
                    if idle_since is None:
                        idle_since = self._clock.now()
                    idle_for = self._clock.now() - idle_since
                    if options.idle_timeout is not None and idle_for >= options.idle_timeout:
                        return self._exit(f"no job for --idle-timeout {options.idle_timeout:g} s")
                    self._stop.wait(idle_wait, self._clock)
                    if idle_for >= _BACKOFF_AFTER:
                        idle_wait = min(idle_wait * 2, options.poll_interval)
                    continue
                idle_since = None
                idle_wait = _FIRST_IDLE_POLL
                if self.failing is not None:
                    return self._exit(self.failing, exit_code=1)
            return self._exit("stopped by signal after finishing its trial" if result is not None
                              else "stopped by signal while waiting for a job")
        except StopNow as stop:
            return self._exit(str(stop), exit_code=128 + stop.signum)

    def run_next(self) -> dict[str, Any] | None:
        """Reserve and run one job; its result, or None when nothing was queued."""
        exp_keys = self._serving()
        reservation: Reservation | None = None
        spooled: list[SpooledResult] = []
        try:  # from the reservation to the result: a stop asked for now hands the job back
            # A stop that lands as the job is reserved, once it is ours to hand back; where a
            # reservation may wait out an outage, the stop must reach it there instead.
            with stops_held() if self._store.answers_at_once else contextlib.nullcontext():
                reservation = self._lookahead.take() if self._lookahead is not None else None
                if reservation is None and exp_keys:
                    reservation = self._store.reserve_next_job(self.worker_id, exp_keys)
            if reservation is None:
                self._reclaim_if_due()  # an idle worker looks for jobs whose worker died
                self._report("idle", throttle=self._last_state == "idle")
                return None
            if self._refuse_if_space_differs(reservation):
                return None
            result = self._run(reservation, exp_keys, spooled)
        except StoreError:
            raise  # the database is away: the job's heartbeat lapses, and it is reclaimed
        except BaseException:  # a second signal; Ctrl-C or SIGTERM stopping an embedded search
            if reservation is not None:
                log.warning("putting trial %s of %s back in the queue", reservation.tid,
                            reservation.exp_key)
                self._store.release_job(reservation)
                if self._lookahead is not None:
                    self._lookahead.release()
                self._report("stopped")
            raise
        try:
            accepted, stop = self._submit(reservation, result, *spooled)
        except (StopNow, KeyboardInterrupt) as early:  # before its offer began: store it first
            accepted, stop = self._submit(reservation, result, *spooled)
            stop = stop or early
        self.jobs_done += 1
        self._count_failures(result)
        log.info("trial %s of %s: %s%s", reservation.tid, reservation.exp_key,
                 _summary(result), "" if accepted else " (kept as a late result: another "
                 "attempt reported first)")
        if stop is not None:  # asked for while the result was being stored: now it is
            raise stop
        return result

    def _run(self, reservation: Reservation, exp_keys: list[str],
             spooled: list[SpooledResult]) -> dict[str, Any]:
        """Run a reserved job (holding the next one ahead, if any) to its result."""
        # Before the objective runs: a job held ahead counts as an attempt from here on, so a
        # trial that kills this process is not retried forever.
        self._store.begin(reservation)
        self._report("busy", reservation, throttle=self._last_state == "busy")
        if self._lookahead is not None and self._may_run_another():
            self._lookahead.start(exp_keys, self._lookahead_retry())
        prepared = self._prepared[reservation.exp_key]
        if reservation.exp_key not in self._evidence:
            self._evidence[reservation.exp_key] = evidence_for(self._store, reservation.exp_key,
                                                               self._clock)
        evidence = self._evidence[reservation.exp_key]
        evidence.expire()
        return run_job(
            reservation, prepared, self._store,
            worker_id=self.worker_id, data_dir=self._options.data_dir,
            should_prune=trial_pruning(prepared.pruner, evidence, reservation.job),
            on_heartbeat=lambda: self._on_heartbeat(reservation),
            on_result=lambda result: spooled.extend(self._spooled(reservation, result)),
            on_stuck=(lambda result: self._give_up_stuck(reservation, result))
            if self._options.end_when_stuck else None,
        )

    @property
    def failing(self) -> str | None:
        """Why this worker should stop, its last `max_consecutive_failures` trials having all
        failed; None while it should go on."""
        limit = self._options.max_consecutive_failures
        if limit is None or self._failures_in_a_row < limit:
            return None
        return (f"{self._failures_in_a_row} trials failed in a row (max consecutive failures "
                f"{limit}); last: {self._last_failure}")

    def _count_failures(self, result: dict[str, Any]) -> None:
        if result.get("status") == objectives.STATUS_OK:
            self._failures_in_a_row = 0
            return
        self._failures_in_a_row += 1
        self._last_failure = objectives.describe_failure(result)

    # -- results ---------------------------------------------------------------------------

    def _spooled(self, reservation: Reservation, result: dict[str, Any]) -> list[SpooledResult]:
        """Write a result to the spool (none for a store on local disk already)."""
        return [self._spool.add(reservation, result)] if self._spool is not None else []

    def _submit(self, reservation: Reservation, result: dict[str, Any],
                *spooled: SpooledResult) -> tuple[bool, StopNow | KeyboardInterrupt | None]:
        """Spool the result (unless it is already), then offer it until the store has it;
        whether it is the trial's result (False: kept as a late one), and a stop asked for
        meanwhile (see `_offer`)."""
        entries = spooled or self._spooled(reservation, result)
        accepted, stop = self._offer(reservation, result)
        for entry in entries:
            assert self._spool is not None
            self._spool.sent(entry)
        return accepted, stop

    def _offer(self, reservation: Reservation, result: dict[str, Any]
               ) -> tuple[bool, StopNow | KeyboardInterrupt | None]:
        """Offer a result until the store takes it (a database waited out; a local store's
        refusal, such as a full disk, raised at once: the search ends, saying why). A second
        signal meanwhile is returned, for the caller to honour once it has recorded the
        stored result: stopping earlier would leave it only in the spool, and uncounted."""
        wait = 1.0
        deferred: StopNow | KeyboardInterrupt | None = None
        while True:
            try:
                accepted = self._store.finish_job(reservation, result)
                break
            except (StopNow, KeyboardInterrupt) as stop:  # finishing the job is idempotent
                deferred = stop
                log.warning("storing the result of trial %s first, then stopping",
                            reservation.tid)
            except StoreError as error:
                if self._store.answers_at_once:
                    raise  # a local disk's error (a full disk) is no outage to wait out
                where = f"; it is safe in {self._spool.path}" if self._spool else ""
                log.warning("cannot store the result of trial %s of %s yet (%s)%s; retrying in "
                            "%g s", reservation.tid, reservation.exp_key, error, where, wait)
                self._clock.sleep(wait)
                wait = min(2 * wait, _LONGEST_RESUBMIT_WAIT)
        return accepted, deferred

    def _offer_spooled_results(self) -> None:
        """Offer the results that ended workers left in the spool; say where those left for
        a store written otherwise wait."""
        if self._spool is None:
            return
        for location, files in self._spool.waiting_elsewhere().items():
            log.warning("%d spool file(s) of ended workers wait in %s for the store %s: start "
                        "a worker with that --store to deliver them (the same database under "
                        "another address counts as another store)", files,
                        self._spool.directory.parent, location)
        for entry in self._spool.left_by_ended_workers():
            reservation = entry.reservation
            log.warning("offering the spooled result of trial %s of %s (attempt %d) again",
                        reservation.tid, reservation.exp_key, reservation.attempt)
            _, stop = self._offer(reservation, entry.result)
            self._spool.sent(entry)
            if stop is not None:
                raise stop

    def _give_up_stuck(self, reservation: Reservation, result: dict[str, Any]) -> None:
        """A trial stuck past its timeout: record it as timed out, then end this process (the
        stuck call cannot be stopped from inside it)."""
        try:
            self._submit(reservation, result)
            self._report("stopped")
        finally:
            logging.shutdown()
            os._exit(STUCK_EXIT_CODE)

    # -- experiments -----------------------------------------------------------------------

    def _serving(self) -> list[str]:
        """The experiments this worker may run, rebuilt by name from its own installed code."""
        now = self._clock.now()
        if not self._prepared or now - self._experiments_seen_at >= _EXPERIMENT_REFRESH_INTERVAL:
            self._experiments_seen_at = now
            wanted = self._options.exp_keys
            experiments = (self._named_experiments(wanted) if wanted is not None
                           else self._store.experiments())
            for experiment in experiments:
                self._prepare(experiment)
        return sorted(self._prepared)

    def _named_experiments(self, exp_keys: tuple[str, ...]) -> list[Experiment]:
        """The experiments of `exp_keys` in the store. Those missing are said once, so that a
        mistyped --exp-key does not leave a worker idle in silence."""
        found = {key: self._store.experiment(key) for key in exp_keys}
        missing = [key for key, experiment in found.items()
                   if experiment is None and key not in self._awaited]
        if missing:
            self._awaited.update(missing)
            log.info("waiting for experiments not in %s yet: %s", self._store.location,
                     ", ".join(map(repr, missing)))
        return [experiment for experiment in found.values() if experiment is not None]

    def _prepare(self, experiment: Experiment) -> None:
        key = experiment.exp_key
        if key in self._prepared:  # the policy may have changed with a resume
            self._prepared[key] = dataclasses.replace(self._prepared[key], experiment=experiment)
            return
        if key in self._refused:
            return
        try:
            prepared = PreparedExperiment.build(experiment, self._options.allowed_objectives,
                                                self._given.get(experiment.objective))
            device = objectives.resolve_device(experiment.device)
        except (objectives.ObjectiveError, spaces.SpaceError) as error:
            self._refused.add(key)
            log.warning("leaving experiment %r alone: %s", key, error)
            return
        self.device = objectives.device_description(device)
        self._prepared[key] = prepared

    def _refuse_if_space_differs(self, reservation: Reservation) -> bool:
        """Hand the job back, and leave its experiment alone, when this machine's space turns
        its values into other hyperparameters than the driver recorded: another worker, on
        the driver's release, runs it as the store shows it."""
        from search.farm.params import differs_from_recorded  # loads Hyperopt

        key = reservation.exp_key
        if key in self._prepared:
            difference = differs_from_recorded(reservation.job, self._prepared[key].space.graph)
            if difference is None:
                return False
            log.warning("leaving experiment %r alone: this machine's space differs from the "
                        "driver's (%s); install the hpsearch release that started the search",
                        key, difference)
            del self._prepared[key]
            self._refused.add(key)
        self._store.release_job(reservation)  # reserved ahead before its experiment was left
        return True

    def _may_run_another(self) -> bool:
        """Whether a job reserved ahead could run: not past --max-jobs, no stop requested."""
        limit = self._options.max_jobs
        return not self._stop.requested and (limit is None or self.jobs_done + 1 < limit)

    def _on_heartbeat(self, reservation: Reservation) -> None:
        """The running trial's heartbeat also renews the job held ahead and our status, each
        three times per `stale_after`."""
        if self._lookahead is not None:
            self._lookahead.renew(self._report_interval())
        self._report("busy", reservation, throttle=True)

    # -- housekeeping ----------------------------------------------------------------------

    def _reclaim_if_due(self) -> None:
        policies = {key: prepared.experiment.policy for key, prepared in self._prepared.items()}
        if self._reclaimer.due(policies):
            self._reclaimer.run_pass(policies)

    def _report(self, state: str, reservation: Reservation | None = None,
                throttle: bool = False) -> None:
        """Publish this worker's state; `throttle` limits repeats to three per shortest
        `stale_after` of the experiments served: enough for a driver to count this worker
        live (WorkerStatus.is_live), and a write saved on most heartbeats."""
        now = self._clock.now()
        if throttle and now - self._last_report < self._report_interval():
            return
        self._last_report = now
        self._last_state = state
        if reservation is not None:
            self._last_exp_key = reservation.exp_key
        # A stopped worker names the experiment it last ran, whose status lists it; an idle
        # one names none: it may next take the trials of any experiment it serves and has
        # not refused.
        exp_key = reservation.exp_key if reservation else (
            self._last_exp_key if state == "stopped" else None)
        self._store.report_worker(WorkerStatus(
            worker_id=self.worker_id, host=self.worker_id.split(":")[0], device=self.device,
            state=state, last_seen=utcnow(), exp_key=exp_key,
            tid=reservation.tid if reservation else None, jobs_done=self.jobs_done,
            serves=self._options.exp_keys, refused=tuple(sorted(self._refused)),
        ))

    def _lookahead_retry(self) -> float:
        """The longest wait of the lookahead's looks at an empty queue: a heartbeat interval
        (the shortest of the experiments served), a second at least."""
        beats = [prepared.experiment.policy.heartbeat_interval
                 for prepared in self._prepared.values()]
        return max(_LOOKAHEAD_SHORTEST_RETRY, min(beats, default=_LOOKAHEAD_SHORTEST_RETRY))

    def _report_interval(self) -> float:
        stale_after = [prepared.experiment.policy.stale_after
                       for prepared in self._prepared.values()]
        return min(stale_after, default=DEFAULT_STALE_AFTER) / 3

    def report_stopped(self) -> None:
        """Say that this worker is done, so `status` shows it stopped rather than lost; a job
        held ahead goes back to the queue first."""
        if self._lookahead is not None:
            self._lookahead.release()
        self._report("stopped")

    def _exit(self, reason: str, exit_code: int = 0) -> WorkerExit:
        self.report_stopped()
        if self._spool is not None:
            self._spool.close()
        return WorkerExit(jobs_done=self.jobs_done, reason=reason, exit_code=exit_code)


def _summary(result: dict[str, Any]) -> str:
    if result.get("pruned"):
        return (f"pruned after {result.get('epochs')} of {result.get('epochs_planned')} epochs "
                f"({result.get('prune_reason')})")
    if result.get("status") == objectives.STATUS_OK:
        return (f"accuracy {result['accuracy']:.4f} in {result['train_seconds']:.3f} s "
                f"(score {-result['loss']:.3f}/s)" if result.get("loss") else
                f"accuracy {result['accuracy']:.4f} below the floor")
    return f"failed: {result.get('reason')}"
