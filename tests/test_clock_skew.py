"""Hosts whose wall clocks disagree share a MongoDB store: the times it keeps and the ages it
judges are the database server's, so no decision or display compares two machines' clocks.

Each worker here is played in this process with its wall clock set minutes or a day off
(`skew_wall_clock`), as `faketime` sets a real worker's; the reader's clock is the true one,
but where the reader's is set off.
"""

from __future__ import annotations

import datetime
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fake_clock import FakeClock, skew_wall_clock
from farm import queue_experiment, wait_until
from stored_trials import result_for

import search.documents
import search.farm.worker  # noqa: F401 - imported before clocks are skewed (skew_wall_clock)
from search.dashboard._live import LiveStore
from search.policy import Policy
from search.reports import queries
from search.reports.output import render_status
from search.store import Store, WorkerStatus, open_store
from search.store._mongo._server_clock import REREAD_AFTER, ServerClock
from search.trial import trials_of

FIVE_MINUTES = datetime.timedelta(minutes=5)
# Longer than a report takes to be read back on a loaded machine, shorter than the skew.
GENEROUS_STALE_AFTER = 120.0


@pytest.fixture
def store(mongo_url: str) -> Iterator[Store]:
    queue_experiment(mongo_url, "skew", "noop", 0, policy=Policy(heartbeat_interval=0.25,
                                                                 stale_after=0.5))
    opened = open_store(mongo_url)
    yield opened
    opened.close()


def report(store: Store, worker_id: str, state: str = "idle") -> None:
    """A worker's report, stamped as the worker stamps it: by its own wall clock."""
    store.report_worker(WorkerStatus(worker_id=worker_id, host=worker_id, device="cpu",
                                     state=state, last_seen=search.documents.utcnow()))


def status_line(store: Store, exp_key: str, worker_id: str) -> str:
    """The worker's line in `hpsearch status`."""
    (line,) = [line for line in render_status(queries.experiment_status(store, exp_key))
               .splitlines() if worker_id in line]
    return line


def test_a_worker_whose_clock_runs_behind_is_live(store: Store,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    skew_wall_clock(monkeypatch, -FIVE_MINUTES)
    report(store, "behind")
    skew_wall_clock(monkeypatch, datetime.timedelta(0))
    assert store.live_workers("skew", GENEROUS_STALE_AFTER) == 1


def test_the_status_of_a_worker_whose_clock_runs_behind_is_live(
        store: Store, mongo_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    queue_experiment(mongo_url, "generous", "noop", 0,
                     policy=Policy(heartbeat_interval=1.0, stale_after=GENEROUS_STALE_AFTER))
    skew_wall_clock(monkeypatch, -FIVE_MINUTES)
    report(store, "behind")
    skew_wall_clock(monkeypatch, datetime.timedelta(0))
    line = status_line(store, "generous", "behind")
    assert " idle " in line and " lost " not in line, line


def test_a_worker_whose_clock_runs_ahead_is_lost_once_silent(
        store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    skew_wall_clock(monkeypatch, FIVE_MINUTES)
    report(store, "ahead")
    skew_wall_clock(monkeypatch, datetime.timedelta(0))
    assert store.live_workers("skew", GENEROUS_STALE_AFTER) == 1
    # Killed: it reports no more. It is lost once silent for the experiment's stale_after
    # (0.5 s) by the server's clock, not five minutes later.
    wait_until(lambda: store.live_workers("skew", 0.5) == 0, 60,
               "the silent worker is no longer counted")
    line = status_line(store, "skew", "ahead")
    assert " lost " in line and "heartbeat -" not in line, line


def test_the_dashboard_shows_a_worker_whose_clock_runs_behind_as_live(
        store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    skew_wall_clock(monkeypatch, -FIVE_MINUTES)
    report(store, "behind")
    skew_wall_clock(monkeypatch, datetime.timedelta(0))
    live = LiveStore(store)
    try:
        live.read_once()
        overview = live.overview(0, 0)
    finally:
        live.close()
    (row,) = overview["workers"]
    assert row["live"] and row["last_seen"] <= overview["now"] + 1.0, (row, overview["now"])
    # The page shows the heartbeat's age as its `now` less `last_seen`: both the server's.
    assert overview["now"] - row["last_seen"] < GENEROUS_STALE_AFTER


@pytest.mark.parametrize("reader_off", [FIVE_MINUTES, -FIVE_MINUTES])
def test_a_reader_whose_clock_is_off_sees_a_live_worker_live(
        mongo_url: str, monkeypatch: pytest.MonkeyPatch, reader_off: datetime.timedelta) -> None:
    """The other half: `status`, the driver's count and the dashboard on a host whose clock
    is off judge a worker that just reported by the server's time, not their own."""
    queue_experiment(mongo_url, "reader", "noop", 0,
                     policy=Policy(heartbeat_interval=1.0, stale_after=GENEROUS_STALE_AFTER))
    worker = open_store(mongo_url)
    try:
        report(worker, "true-clock")
    finally:
        worker.close()
    skew_wall_clock(monkeypatch, reader_off)
    reader = open_store(mongo_url)  # its own reading of the server's time
    try:
        assert reader.live_workers("reader", GENEROUS_STALE_AFTER) == 1
        line = status_line(reader, "reader", "true-clock")
        assert " idle " in line and " lost " not in line, line
        live = LiveStore(reader)
        try:
            live.read_once()
            (row,) = live.overview(0, 0)["workers"]
        finally:
            live.close()
        assert row["live"], row
    finally:
        reader.close()


@pytest.mark.parametrize("offset", [datetime.timedelta(hours=25), -datetime.timedelta(hours=25)],
                         ids=["a day ahead", "a day behind"])
def test_a_worker_a_day_off_neither_forgets_nor_is_forgotten(
        store: Store, mongo_url: str, monkeypatch: pytest.MonkeyPatch,
        offset: datetime.timedelta) -> None:
    report(store, "on-time")
    skew_wall_clock(monkeypatch, offset)
    off = open_store(mongo_url)  # a new process: its first report clears out the forgotten
    try:
        report(off, "a-day-off")
    finally:
        off.close()
    skew_wall_clock(monkeypatch, datetime.timedelta(0))
    assert sorted(worker.worker_id for worker in store.workers()) == ["a-day-off", "on-time"]


def test_the_pace_of_workers_whose_clocks_disagree_is_their_pace(
        mongo_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    queue_experiment(mongo_url, "pace", "noop", 4)
    store = open_store(mongo_url)
    try:
        started = time.monotonic()
        for tid, offset in enumerate([-FIVE_MINUTES, FIVE_MINUTES] * 2):
            skew_wall_clock(monkeypatch, offset)
            reservation = store.reserve_next_job(f"worker-{tid}", ["pace"])
            assert reservation is not None
            assert store.finish_job(reservation, result_for((0.9, 1.0), f"worker-{tid}"))
        took = time.monotonic() - started
        skew_wall_clock(monkeypatch, datetime.timedelta(0))
        status = queries.experiment_status(store, "pace")
        finished = sorted(trial.finished for trial in trials_of(store.jobs("pace"))
                          if trial.finished is not None)
    finally:
        store.close()
    assert len(finished) == 4
    # Four results in `took` seconds of this process's clock; the server's clock, read here
    # within a round trip, may be a little off at each end.
    spread = (finished[-1] - finished[0]).total_seconds()
    assert spread <= took + 1.0, (spread, took)
    assert status.trials_per_minute is not None
    assert status.trials_per_minute >= 3 / (took + 1.0) * 60


def test_experiments_list_in_the_order_they_were_recorded(
        mongo_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    skew_wall_clock(monkeypatch, FIVE_MINUTES)  # the first driver's host runs ahead
    queue_experiment(mongo_url, "first", "noop", 0)
    skew_wall_clock(monkeypatch, datetime.timedelta(0))
    queue_experiment(mongo_url, "second", "noop", 0)
    store = open_store(mongo_url)
    try:
        assert [experiment.exp_key for experiment in store.experiments()] == ["first", "second"]
    finally:
        store.close()


class _Server:
    """A connection to a server whose clock reads `epoch` when the test's clock reads 0,
    answering after `round_trip` seconds of the test's clock; counts the reads of its clock."""

    def __init__(self, clock: FakeClock, epoch: datetime.datetime, round_trip: float) -> None:
        self.clock = clock
        self.epoch = epoch
        self.round_trip = round_trip
        self.outages = 0
        self.reads = 0
        self.database = self  # ServerClock asks `database.client.admin.command`
        self.client = self
        self.admin = self

    def call(self, operation: Callable[[], Any]) -> Any:
        return operation()

    def command(self, name: str) -> dict[str, Any]:
        assert name == "hello"
        self.reads += 1
        self.clock.advance(self.round_trip / 2)
        local_time = self.epoch + datetime.timedelta(seconds=self.clock.now())
        self.clock.advance(self.round_trip / 2)
        return {"localTime": local_time.replace(tzinfo=None), "ok": 1.0}  # as pymongo decodes


def test_the_servers_time_is_read_once_a_minute_and_again_after_an_outage() -> None:
    clock = FakeClock()
    epoch = datetime.datetime(2030, 1, 1, tzinfo=datetime.UTC)
    server = _Server(clock, epoch, round_trip=0.2)
    suspended = datetime.timedelta(0)  # the time this host slept: its monotonic clock stopped

    def wall() -> datetime.datetime:
        return epoch + datetime.timedelta(seconds=clock.now()) + suspended

    server_clock = ServerClock(server, monotonic=clock.now,  # type: ignore[arg-type]
                               wall=wall)

    def at(seconds: float) -> datetime.datetime:
        return epoch + datetime.timedelta(seconds=seconds)

    assert server_clock.now() == at(0.2)  # read at the round trip's middle, plus its half
    clock.advance(REREAD_AFTER - 1)  # carried forward on this process's clock, not read
    assert (server_clock.now(), server.reads) == (at(REREAD_AFTER - 0.8), 1)
    clock.advance(1)
    server.epoch += datetime.timedelta(seconds=7)  # its clock was set meanwhile
    assert (server_clock.now(), server.reads) == (at(REREAD_AFTER + 7.4), 2)
    server.outages += 1  # perhaps another server now (a replica set's new primary)
    server.epoch -= datetime.timedelta(seconds=7)
    assert (server_clock.now(), server.reads) == (at(REREAD_AFTER + 0.6), 3)
    suspended = datetime.timedelta(minutes=10)  # a laptop's lid closed, then opened
    server.epoch += suspended  # the server's time went on meanwhile
    assert server_clock.now() == at(REREAD_AFTER + 600.8) and server.reads == 4
