"""The store as every open page sees it: read by one thread, once per interval, and served to
each page as the difference from what that page already has.

Each read that changes something gets a version number. A trial's row remembers the version
at which it last changed, so a page that says "I have version 41" receives only the rows
changed since, and a page with nothing new to receive waits (long polling) until there is, or
until its wait runs out. A read costs the store's read and a comparison per job: trials are
rebuilt only for the job documents that changed.
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import logging
import secrets
import threading
import time
from collections.abc import Callable
from typing import Any

from search.configurations import PoolCache
from search.documents import JobDoc, trial_state, utcnow
from search.experiment import Experiment
from search.store import Store, StoreError
from search.trial import Trial, trials_of
from search.urls import redact

from ._data import (
    TrialRow,
    configuration_table,
    experiment_summary,
    front_points,
    live_workers,
    parameter_axes,
    pooled_configurations,
    timely_fields,
    trial_columns,
    trial_document,
    trial_row,
    worker_rows,
)
from ._reading import StoreReader, StoreReading

log = logging.getLogger(__name__)

# A read may take a while (FerretDB scans the collection even for a lookup by `_id`): the next
# one waits at least this many times as long, so the dashboard never keeps a database, or this
# machine, busy. (The reader spaces out its reads of whole experiments itself.)
READ_SHARE = 2.0
# With no page asking for this long, reads stop until one asks again.
IDLE_AFTER = 60.0
# How long a page's request waits for the first read before it is told to ask again (and how
# far the first read has got: a big experiment on FerretDB takes minutes).
FIRST_READ_WAIT = 2.0
# A read that has heard nothing from the store for this long is reported to the pages: the
# MongoDB store waits an outage out instead of failing the read, so this is how one shows.
STALLED_AFTER = 30.0
# How often the pace and time left of an experiment whose trials did not change are worked
# out again (as a stalled search's fall): often enough to see, not a new answer every read.
PACE_REFRESH = 5.0


@dataclasses.dataclass(frozen=True)
class Encoded:
    """A part of an answer encoded as JSON once, and sent as it is to every page."""

    text: bytes


@dataclasses.dataclass(frozen=True)
class KnownTrial:
    """A job as last read, with the trial and the row built from it."""

    job: JobDoc
    trial: Trial
    row: TrialRow


@dataclasses.dataclass(frozen=True)
class ExperimentView:
    """One experiment as of a version: its rows by tid and when each last changed."""

    experiment: Experiment
    known: dict[int, KnownTrial]
    row_versions: dict[int, int]
    summary: dict[str, Any]
    front: list[dict[str, Any]]  # the configurations' Pareto front
    configurations: dict[str, Any]  # the best configurations, ranked
    changed_at: int  # the version of its latest change
    table_at: int  # the version at which the front or the table's rows last changed
    reset_at: int  # the version at which rows vanished: a page older than it starts over
    summarised_at: datetime.datetime  # when its pace and time left were last worked out
    pool_cache: PoolCache  # what its pooling worked out, shared with the next view to reuse


@dataclasses.dataclass(frozen=True)
class Overview:
    """Every experiment's summary and every worker, as of a version."""

    experiments: list[dict[str, Any]]
    workers: list[dict[str, Any]]
    changed_at: int


class UnknownExperiment(LookupError):
    """A page asked for an experiment the store does not hold."""


class NotReadYet(Exception):
    """The first read of the store has not finished (a big store on a slow database)."""


class LiveStore:
    """Reads `store` on a thread of its own and answers the pages from what it read.

    The store's reads also run on the threads that serve the pages (for one trial's whole
    document): both stores allow that, the MongoDB client being thread-safe and the embedded
    store's reads only replacing its cache of a journal.
    """

    def __init__(self, store: Store, *, interval: float = 1.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.store = store
        self._reader = StoreReader(store, clock)
        self.interval = interval
        self.instance = secrets.token_hex(8)  # a page from another server run starts over
        self._clock = clock
        self._condition = threading.Condition()
        self._version = 0
        self._views: dict[str, ExperimentView] = {}
        self._overview = Overview([], [], 0)
        self._axes: dict[str, tuple[dict[str, Any], list[dict[str, Any]]]] = {}  # space, axes
        self._axes_lock = threading.Lock()
        self._encoded: dict[tuple[str, int], Encoded] = {}
        self._read_at: float | None = None
        self._store_now: datetime.datetime | None = None  # Store.now at the last read's end
        self._reading: tuple[str, int] | None = None  # the read under way: experiment, jobs read
        self._read_started = clock()
        self._read_seconds = 0.0
        self._error: str | None = None
        self._heard_at: float | None = None  # the store's last sign of life in a read under way
        self._longest_silence = 0.0  # the read under way's longest wait for the store
        self._asked_at = clock()
        self._fresh_from: float | None = None  # a request after an idle spell waits for a read
        self._caught_up_at = 0  # the version whose read caught up after an idle spell
        self._stopping = threading.Event()
        self._wake = threading.Event()
        self._thread = threading.Thread(target=self._run, name="dashboard-reader", daemon=True)

    # -- the reading thread ----------------------------------------------------------------

    def start(self) -> None:
        self._thread.start()

    def close(self) -> None:
        self._stopping.set()
        self._wake.set()
        with self._condition:
            self._condition.notify_all()
        if self._thread.ident is not None:  # started
            self._thread.join(timeout=10)

    def wait_until_read(self, timeout: float) -> bool:
        """Wait for the first read (or the first failure to read); True once it is done."""
        with self._condition:
            return self._wait_for_first_read(timeout)

    def _wait_for_first_read(self, timeout: float) -> bool:
        return self._condition.wait_for(
            lambda: self._read_at is not None or self._error is not None, timeout)

    def _first_read(self) -> None:
        """Wait (a while) for the first read, and for a fresh one when nobody had asked for
        IDLE_AFTER (the reader had stopped: the last reading is as old as the idle spell);
        called with the condition held. A fresh read that takes longer answers with the last
        reading, its `read_age` saying how old.

        Raises:
            NotReadYet: the first read is still under way.
        """
        if not self._wait_for_first_read(FIRST_READ_WAIT) or self._read_at is None:
            raise NotReadYet(self._error or self._first_read_progress())
        fresh_from = self._fresh_from
        if fresh_from is not None:
            self._condition.wait_for(lambda: self._read_at is not None
                                     and self._read_at >= fresh_from, FIRST_READ_WAIT)

    def _first_read_progress(self) -> str:
        seconds = self._clock() - self._read_started
        reading = self._reading
        if reading is None:
            return f"still reading the store ({seconds:.0f} s)"
        return (f"still reading the store: {reading[1]:,} jobs of {reading[0]} read in "
                f"{seconds:.0f} s")

    def _heard(self, exp_key: str, jobs: int) -> None:
        self._reading = (exp_key, jobs)
        self._note_silence()

    def _note_silence(self) -> None:
        """Keep the longest time the read under way went without a word from the store."""
        now = self._clock()
        if self._heard_at is not None:
            self._longest_silence = max(self._longest_silence, now - self._heard_at)
        self._heard_at = now

    def _run(self) -> None:
        while not self._stopping.is_set():
            if self._read_at is not None and self._clock() - self._asked_at > IDLE_AFTER:
                self._wake.wait(self.interval)  # nobody is looking: read when someone asks
                self._wake.clear()
                continue
            started = self._read_started = self._clock()
            self._reading = None
            self._longest_silence = 0.0
            self.read_once()
            self._read_seconds = self._clock() - started
            for experiment in list(self._views.values()):  # ready before a page asks
                self._axes_of(experiment.experiment)
            # A read that waited out an outage measured the outage, not what reading costs
            # the store: the next one comes at the interval, or the page stays stale for twice
            # the outage after the store is back.
            following = (0.0 if self._longest_silence >= STALLED_AFTER
                         else self._read_seconds - self._reader.whole_seconds)
            self._stopping.wait(max(self.interval, READ_SHARE * following))

    def read_once(self) -> None:
        """Read the store and publish what changed; a failed read keeps the last reading."""
        self._heard_at = self._clock()
        try:
            reading = self._reader.read(self._heard)
        except StoreError as error:
            self._publish_error(str(error))
            return
        except Exception as error:  # a bug or a document we cannot read: say so, keep serving
            log.exception("reading the store failed")
            self._publish_error(f"reading the store failed: {type(error).__name__}: {error}")
            return
        finally:
            self._note_silence()
            self._heard_at = None
        self._publish(reading)

    def _publish_error(self, message: str) -> None:
        with self._condition:
            if redact(message) != self._error:
                log.warning("%s", redact(message))
            self._error = redact(message)
            self._condition.notify_all()

    def _publish(self, reading: StoreReading) -> None:
        now = reading.now
        read_at = self._clock()  # when the store's time was `now`: building the views takes a while
        version = self._version + 1
        catching_up = self._catching_up()
        views = {experiment.exp_key: self._view(self._views.get(experiment.exp_key), experiment,
                                                reading, version, now)
                 for experiment in reading.experiments}
        stale_after = {e.exp_key: e.policy.stale_after for e in reading.experiments}
        summaries = [views[e.exp_key].summary for e in reading.experiments]
        workers = worker_rows(reading.workers, stale_after, now)
        changed = (summaries != self._overview.experiments or workers != self._overview.workers
                   or views.keys() != self._views.keys())
        with self._condition:
            if changed:
                self._overview = Overview(summaries, workers, version)
            if changed or any(view.changed_at == version for view in views.values()):
                self._version = version
            self._views = views
            with self._axes_lock:
                self._axes = {key: kept for key, kept in self._axes.items() if key in views}
            self._encoded = {key: value for key, value in self._encoded.items()
                             if key[0] in views and views[key[0]].changed_at == key[1]}
            self._read_at = read_at
            if catching_up and not self._catching_up():  # news to a page that said so
                self._version = self._caught_up_at = version
            self._store_now = now
            self._error = None
            self._condition.notify_all()

    def _view(self, old: ExperimentView | None, experiment: Experiment, reading: StoreReading,
              version: int, now: datetime.datetime) -> ExperimentView:
        """The experiment as this reading shows it; with the same `changed_at` as `old` when
        nothing a page shows changed."""
        if old is not None and old.experiment.created != experiment.created:
            old = None  # the key was deleted and recorded anew: another experiment
        before = old.known if old is not None else {}
        known: dict[int, KnownTrial] = {}
        changed_jobs = []
        for job in reading.jobs[experiment.exp_key]:
            entry = before.get(job.get("tid"))  # type: ignore[arg-type]
            if entry is not None and entry.job == job:
                known[entry.trial.tid] = entry
            else:
                changed_jobs.append(job)
        changed = []
        for trial in trials_of(changed_jobs):  # leaves out documents that are not trials
            row = trial_row(trial)
            previous = before.get(trial.tid)
            known[trial.tid] = KnownTrial(trial.job, trial, row)
            if previous is None or previous.row != row:
                changed.append(trial.tid)
        vanished = before.keys() - known.keys()
        if old is not None and not changed and not vanished and experiment == old.experiment:
            # No trial changed, but a stalled search's pace falls and its workers go quiet:
            # the workers each read, the pace every PACE_REFRESH seconds.
            timely = live_workers(experiment, reading.workers, now)
            summarised_at = old.summarised_at
            if (now - summarised_at).total_seconds() >= PACE_REFRESH:
                timely = timely_fields(experiment, [entry.trial for entry in known.values()],
                                       old.summary["counts"], reading.workers, now)
                summarised_at = now
            if all(old.summary[name] == value for name, value in timely.items()):
                return (old if summarised_at == old.summarised_at
                        else dataclasses.replace(old, summarised_at=summarised_at))
            return dataclasses.replace(old, summary={**old.summary, **timely},
                                       changed_at=version, summarised_at=summarised_at)
        trials = [known[tid].trial for tid in sorted(known)]
        pool_cache = PoolCache() if old is None else old.pool_cache
        found = pooled_configurations(experiment, trials, pool_cache)  # once per change
        row_versions = dict.fromkeys(sorted(known), version)
        if old is not None:
            row_versions.update((tid, old.row_versions[tid]) for tid in known
                                if tid in old.row_versions and tid not in changed)
        front, configurations = front_points(found), configuration_table(found)
        same_table = old is not None and front == old.front and \
            configurations["rows"] == old.configurations["rows"]
        return ExperimentView(
            experiment=experiment, known=known, row_versions=row_versions,
            summary=experiment_summary(experiment, trials, reading.workers, now, found),
            front=front, configurations=configurations, changed_at=version,
            table_at=old.table_at if old is not None and same_table else version,
            # A page starts over where rows vanished, or the key names a new experiment.
            reset_at=version if old is None or vanished else old.reset_at,
            summarised_at=now, pool_cache=pool_cache)

    def _axes_of(self, experiment: Experiment) -> list[dict[str, Any]]:
        """How to draw the experiment's hyperparameters; built once per space (it builds the
        space), and again for a key deleted and recorded anew with another."""
        with self._axes_lock:
            kept = self._axes.get(experiment.exp_key)
            if kept is None or kept[0] != experiment.space:
                kept = self._axes[experiment.exp_key] = (experiment.space,
                                                         parameter_axes(experiment))
            return kept[1]

    # -- answers for the pages -------------------------------------------------------------

    def overview(self, since: int, wait: float) -> dict[str, Any]:
        """Every experiment's summary and the workers; with `since`, waits up to `wait`
        seconds for something newer and answers `changed: false` if nothing came.

        Raises:
            NotReadYet: the first read of the store is still under way.
        """
        self._asked()
        with self._condition:
            self._first_read()
            self._condition.wait_for(
                lambda: self._overview.changed_at > since or self._stopping.is_set()
                or self._caught_up_at > since,  # the page says it is catching up
                wait if since > 0 else 0)
            overview = self._overview
            answer = self._status()
        if since > 0 and overview.changed_at <= since:
            return {**answer, "changed": False}
        return {**answer, "changed": True, "experiments": overview.experiments,
                "workers": overview.workers}

    def experiment(self, exp_key: str, since: int, wait: float) -> dict[str, Any]:
        """One experiment's summary, axes, Pareto front, best configurations and the trial
        rows changed after version `since` (all of them for 0, or for a page older than the
        last reset). The rows come as one `Encoded` part, encoded once per version for every
        page.

        Raises:
            UnknownExperiment: the store holds no experiment `exp_key`.
            NotReadYet: the first read of the store is still under way.
        """
        self._asked()
        with self._condition:
            self._first_read()
            if exp_key not in self._views:
                if self._catching_up():  # an experiment recorded while nobody looked
                    raise NotReadYet(f"{self._first_read_progress()} (again, after an idle "
                                     "spell)")
                raise UnknownExperiment(exp_key)

            def newer() -> bool:
                view = self._views.get(exp_key)
                return view is None or view.changed_at > since or self._stopping.is_set() \
                    or self._caught_up_at > since  # the page says it is catching up

            self._condition.wait_for(newer, wait if since > 0 else 0)
            if exp_key not in self._views:
                raise UnknownExperiment(exp_key)
            view = self._views[exp_key]
            answer = self._status()
        full = since < view.reset_at
        if not full and view.changed_at <= since:
            return {**answer, "changed": False}
        if full:
            trials = self._encoded_rows(view)
        else:
            rows = [view.known[tid].row for tid, at in view.row_versions.items() if at > since]
            trials = Encoded(_encode(trial_columns(rows)))
        answer = {**answer, "changed": True, "full": full, "summary": view.summary,
                  "configurations": view.configurations, "trials": trials}
        if full:
            answer["axes"] = self._axes_of(view.experiment)
        # The front and the table's rows (most of an answer's bytes after the trials) go only
        # to a page that has not seen them; the table's counts always.
        if full or view.table_at > since:
            answer["front"] = view.front
        else:
            answer["configurations"] = {name: value for name, value
                                        in view.configurations.items() if name != "rows"}
        return answer

    def _encoded_rows(self, view: ExperimentView) -> Encoded:
        key = (view.experiment.exp_key, view.changed_at)
        encoded = self._encoded.get(key)
        if encoded is None:
            rows = [view.known[tid].row for tid in sorted(view.known)]
            encoded = Encoded(_encode(trial_columns(rows)))
            with self._condition:
                if self._views.get(key[0]) is view:
                    self._encoded[key] = encoded
        return encoded

    def trial(self, exp_key: str, tid: int) -> dict[str, Any] | None:
        """One trial's whole job document, read now; None if there is no such trial.

        Raises:
            UnknownExperiment: the store holds no experiment `exp_key`.
            NotReadYet: the first read of the store is still under way.
            StoreError: the store cannot be read.
        """
        self._asked()
        with self._condition:
            self._first_read()
            if exp_key not in self._views:
                raise UnknownExperiment(exp_key)
        jobs = trials_of(self.store.jobs(exp_key, tids=[tid]))
        if not jobs:
            return None
        trial = jobs[0]
        return {"tid": tid, "state": trial_state(trial.job), "document": trial_document(trial.job),
                "params": dict(trial_row(trial).params)}

    def _catching_up(self) -> bool:
        """Whether the reading predates a request that came after an idle spell (the reader
        had stopped), and the read that catches up is still under way; with the condition
        held."""
        fresh_from = self._fresh_from
        return fresh_from is not None and (self._read_at is None or self._read_at < fresh_from)

    def _asked(self) -> None:
        now = self._clock()
        if now - self._asked_at > IDLE_AFTER:  # the reader stopped: its reading is old
            self._fresh_from = now
        self._asked_at = now
        self._wake.set()

    def _status(self) -> dict[str, Any]:
        """How current the answer is; called with the condition held."""
        return {
            "instance": self.instance,
            "version": self._version,
            "now": self._now().timestamp(),
            "store": self.store.location,
            "read_age": None if self._read_at is None else self._clock() - self._read_at,
            "read_seconds": self._read_seconds,
            "interval": self.interval,
            "error": self._error or self._stalled(),
            "catching_up": self._catching_up(),
        }

    def _now(self) -> datetime.datetime:
        """The store's time now (the workers' last reports are on it), carried forward from
        the last read on this process's clock; called with the condition held."""
        if self._store_now is None or self._read_at is None:
            return utcnow()  # nothing read yet: no time of the store's to show
        return self._store_now + datetime.timedelta(seconds=self._clock() - self._read_at)

    def _stalled(self) -> str | None:
        """Why the reading is stale while a read under way hears nothing from the store."""
        heard_at = self._heard_at
        silent = None if heard_at is None else self._clock() - heard_at
        if silent is None or silent < STALLED_AFTER:
            return None
        return f"{self.store.location} has not answered for {silent:.0f} s"


def _encode(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":"), allow_nan=False).encode()


def encode_answer(answer: dict[str, Any]) -> bytes:
    """An answer as JSON, its `Encoded` parts spliced in as they are."""
    parts = {key: value for key, value in answer.items() if isinstance(value, Encoded)}
    head = _encode({key: value for key, value in answer.items() if key not in parts})
    if not parts:
        return head
    spliced = b",".join(_encode(key) + b":" + part.text for key, part in parts.items())
    return head[:-1] + (b"," if len(head) > 2 else b"") + spliced + b"}"
