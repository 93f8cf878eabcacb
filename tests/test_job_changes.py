"""The driver learns what changed without re-reading what did not, and never misses a change.

The change marker is assigned by the server, but writes do not land in marker order: these
tests write views straight to the database with markers a late write would carry, and check
that the feed still reports them (within its window at once, beyond it at its next
reconciliation). Reads are counted with the store's own operation counter.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from bson import Timestamp
from fake_clock import FakeClock
from farm import database

import spaces
from search.documents import JOB_STATE_DONE
from search.experiment import Experiment
from search.farm.driver import DriverOptions, run_search
from search.farm.proposals import Proposer
from search.policy import Policy
from search.store import Reservation, Store, open_store
from search.store._mongo import MongoStore
from search.store._mongo._changes import RECONCILE_INTERVAL, WINDOW, MarkedChanges
from search.store._mongo._dialect import DIALECT_VARIABLE

SPACE = spaces.load_space("default")
# Trials held by workers that never beat must not be given up while a test runs.
PATIENT = Policy(heartbeat_interval=1.0, stale_after=3600.0)


def result(tid: int) -> dict[str, Any]:
    return {"status": "ok", "loss": -1.0 / (tid + 1), "accuracy": 0.5, "train_seconds": 0.5,
            "attempt": 0}


@pytest.fixture
def store(mongo_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[MongoStore]:
    """A MongoDB store reading changes by marker (the MongoDB dialect, forced on any server),
    with experiment `e`: 12 finished trials, 3 running, 5 queued."""
    monkeypatch.setenv(DIALECT_VARIABLE, "mongodb")
    opened = open_store(mongo_url)
    assert isinstance(opened, MongoStore)
    opened.record_experiment(Experiment(exp_key="e", space=SPACE.record, objective="noop",
                                        epochs=1, min_accuracy=0.0, policy=PATIENT))
    proposer = Proposer("e", SPACE.graph, seed=0, startup_trials=100)
    opened.queue_jobs([proposer.propose(tid) for tid in range(20)])
    for tid in range(15):
        reservation = opened.reserve_next_job(f"w{tid}", ["e"])
        assert reservation is not None and reservation.tid == tid
        if tid < 12:
            assert opened.finish_job(reservation, result(tid))
    try:
        yield opened
    finally:
        opened.close()


def unfinished(store: Store) -> set[int]:
    return {job["tid"] for job in store.jobs("e") if job["state"] < JOB_STATE_DONE}


def marked_changes(store: MongoStore) -> tuple[FakeClock, MarkedChanges]:
    """The store's marker feed on a clock the test moves, after its first read."""
    clock = FakeClock()
    feed = MarkedChanges(store._views, "e", store._with_results, clock=clock.now)
    feed.read(unfinished(store))
    return clock, feed


def newest_marker(mongo_url: str) -> Timestamp:
    newest = database(mongo_url).jobs.find_one({"exp_key": "e"}, sort=[("changed", -1)])
    return newest["changed"]


def test_a_read_returns_only_the_jobs_that_changed_and_reads_no_others(store: MongoStore
                                                                       ) -> None:
    assert isinstance(store.job_changes("e"), MarkedChanges)
    _, feed = marked_changes(store)
    assert feed.read(unfinished(store)) == []
    reservation = store.reserve_next_job("late", ["e"])
    assert reservation is not None and store.finish_job(reservation, result(reservation.tid))

    waiting = unfinished(store) | {reservation.tid}
    before = store.operations
    changed = feed.read(waiting)
    cost = store.operations - before
    assert [(job["tid"], job["state"]) for job in changed] == [(reservation.tid, 2)]
    assert (cost.reads, cost.documents_read, cost.writes) == (1, 1, 0)
    assert feed.read(unfinished(store)) == []  # a change is reported once


def test_a_write_that_lands_out_of_marker_order_is_still_read(store: MongoStore,
                                                              mongo_url: str) -> None:
    _, feed = marked_changes(store)
    # Trial 12's result write took its marker before the newest one seen, but lands only now.
    late = Timestamp(newest_marker(mongo_url).time - int(WINDOW) + 1, 0)
    database(mongo_url).jobs.update_one({"tid": 12}, {"$set": {"state": 2, "result": result(12),
                                                               "changed": late}})
    assert [(job["tid"], job["state"]) for job in feed.read(unfinished(store))] == [(12, 2)]


def test_a_change_beyond_the_window_is_read_at_the_next_reconciliation(
        store: MongoStore, mongo_url: str) -> None:
    clock, feed = marked_changes(store)
    db = database(mongo_url)
    # A write an hour late by the server's clock (a clock stepped back), and one with no marker
    # at all (Hyperopt's own workers write none): the marker query cannot see either.
    db.jobs.update_one({"tid": 12}, {"$set": {
        "state": 2, "result": result(12),
        "changed": Timestamp(newest_marker(mongo_url).time - 3600, 0)}})
    db.jobs.update_one({"tid": 13}, {"$set": {"state": 2, "result": result(13)}})
    assert feed.read({12, 13, 14}) == []
    clock.advance(RECONCILE_INTERVAL)
    assert [(job["tid"], job["state"]) for job in feed.read({12, 13, 14})] == [
        (12, 2), (13, 2), (14, 1)]


def test_a_result_whose_view_write_was_lost_is_read_at_the_next_reconciliation(
        store: MongoStore, mongo_url: str) -> None:
    clock, feed = marked_changes(store)
    db = database(mongo_url)
    running = db.jobs.find_one({"tid": 12})
    (job,) = store.jobs("e", [12])
    assert store.finish_job(Reservation(job=job, worker_id="w12", attempt=0), result(12))
    db.jobs.replace_one({"_id": running["_id"]}, running)  # the result's view write was lost
    assert feed.read({12, 13, 14}) == []
    clock.advance(RECONCILE_INTERVAL)
    assert [(job["tid"], job["state"]) for job in feed.read({12, 13, 14})] == [
        (12, 2), (13, 1), (14, 1)]


def run_workers(url: str, stop: threading.Event, count: int, held: list[Reservation]
                ) -> list[threading.Thread]:
    """Threads that run the protocol as workers do, with no-op trials; once the queue is
    empty, the trials in `held` (run long by other workers) finish too."""
    def work(name: str) -> None:
        worker_store = open_store(url)
        try:
            while not stop.is_set():
                reservation = worker_store.reserve_next_job(name, ["e"])
                if reservation is None and held:
                    reservation = held.pop()
                if reservation is None:
                    stop.wait(0.02)
                    continue
                worker_store.finish_job(reservation, result(reservation.tid))
        except IndexError:
            pass  # another thread took the last held trial
        finally:
            worker_store.close()

    threads = [threading.Thread(target=work, args=(f"t{i}",), daemon=True) for i in range(count)]
    for thread in threads:
        thread.start()
    return threads


def test_a_driver_reads_the_changes_not_the_experiment_or_the_farm(store: MongoStore,
                                                                   mongo_url: str) -> None:
    # 12 trials finished and 3 held by workers that run long: a driver that re-read either
    # on each of its turns (every 20 ms while results land) would read them thousands of times.
    held = [Reservation(job=job, worker_id=job["owner"], attempt=0)
            for job in store.jobs("e") if job["state"] == 1]
    stop = threading.Event()
    threads = run_workers(mongo_url, stop, 2, held)
    experiment = dataclasses.replace(store.experiment("e"), max_evals=40)  # type: ignore[arg-type]
    before, started = store.operations, time.monotonic()
    try:
        jobs = run_search(store, experiment, SPACE.graph, DriverOptions(startup_trials=100))
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=60)
    cost, elapsed = store.operations - before, time.monotonic() - started
    assert [job["tid"] for job in jobs if job["state"] == 2] == list(range(40))
    whole_read, first_reads = 20, 2 * 20  # every job once; the first feed read and reclaim pass
    per_result = 2 * (40 - 12)  # a job is read when it starts and when it finishes
    # Once every reconciliation interval the unfinished jobs (at most 8), once a second the
    # count of live workers (one document).
    per_second = 8 / RECONCILE_INTERVAL + 1
    assert cost.documents_read <= whole_read + first_reads + per_result + 8 + \
        per_second * elapsed, (cost, elapsed)
