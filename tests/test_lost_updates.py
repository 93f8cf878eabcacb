"""Lost updates, clock skew and dying threads, provoked deterministically.

FerretDB v1 runs an update as a read followed by a whole-document write, so a job view can be
overwritten by a stale copy. These tests write such stale views straight to the database
between two steps and check that the claims, not the view, decide.
"""

from __future__ import annotations

import datetime
import logging
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fake_clock import FakeClock
from farm import database, wait_until

import spaces
from search.experiment import Experiment
from search.farm.deadline import TrialTimedOut, deadline
from search.farm.heartbeat import Heartbeat
from search.farm.proposals import Proposer
from search.farm.reclaim import Reclaimer
from search.policy import Policy
from search.store import Reservation, Store, open_store
from search.store._mongo import MongoStore

POLICY = Policy(heartbeat_interval=0.05, stale_after=10.0, max_attempts=3)
RESULT = {"status": "ok", "loss": -1.0, "accuracy": 0.5, "train_seconds": 0.5, "attempt": 0}


@pytest.fixture
def store(mongo_url: str, mongo_dialect: str) -> Iterator[Store]:
    """A MongoDB store in each dialect (see conftest.mongo_dialect)."""
    opened = open_store(mongo_url)
    space = spaces.load_space("default")
    opened.record_experiment(Experiment(exp_key="e", space=space.record, objective="noop",
                                        epochs=1, min_accuracy=0.0, policy=POLICY))
    proposer = Proposer("e", space.graph, seed=0, startup_trials=10)
    jobs: list[dict[str, Any]] = []
    for tid in range(2):
        jobs.append(proposer.propose(tid))
    opened.queue_jobs(jobs)
    try:
        yield opened
    finally:
        opened.close()


def reserve(store: Store, worker: str = "w1") -> Reservation:
    reservation = store.reserve_next_job(worker, ["e"])
    assert reservation is not None
    return reservation


def test_a_heartbeat_repairs_a_view_that_lost_its_attempt(store: Store, mongo_url: str) -> None:
    db = database(mongo_url)
    stale = db.jobs.find_one({"tid": 0})
    reservation = reserve(store)
    db.jobs.replace_one({"_id": stale["_id"]}, stale)  # the view says queued again
    assert store.heartbeat(reservation)
    view = db.jobs.find_one({"_id": stale["_id"]})
    assert (view["state"], view["owner"], view["attempt"]) == (1, "w1", 0)
    assert store.reserve_next_job("w2", ["e"]).tid == 1  # type: ignore[union-attr]


def test_a_run_claim_on_a_finished_trial_shows_its_result_and_runs_nothing(
        store: Store, mongo_url: str) -> None:
    db = database(mongo_url)
    first = reserve(store)
    (running,) = store.running_attempts(["e"])
    assert store.give_up(running, POLICY.max_attempts, "silent") == "requeue"
    requeued = db.jobs.find_one({"tid": 0})
    assert store.finish_job(first, RESULT)  # the presumed-dead worker reports after all
    db.jobs.replace_one({"_id": requeued["_id"]}, requeued)  # that view write was lost

    assert [job["state"] for job in store.jobs("e", [0])] == [2]  # reads follow the claims
    assert [job["state"] for job in store.job_changes("e").read([0])] == [2]  # a feed too
    second = reserve(store, "w2")
    assert second.tid == 1  # trial 0 was not handed out again
    assert db.jobs.find_one({"tid": 0})["state"] == 2


def test_a_recorded_decision_holds_for_every_later_reclaimer(store: Store, mongo_url: str
                                                              ) -> None:
    reserve(store)
    (running,) = store.running_attempts(["e"])
    assert store.give_up(running, max_attempts=3, reason="silent") == "requeue"
    assert store.give_up(running, max_attempts=1, reason="silent") == "requeue"
    (job,) = store.jobs("e", [0])
    assert (job["state"], job["attempt"]) == (0, 1)


def test_a_reclaimer_gives_up_only_what_it_watched_stay_unchanged(store: Store, mongo_url: str
                                                                  ) -> None:
    db = database(mongo_url)
    clock = FakeClock()
    reclaimer = Reclaimer(store, clock)
    policies = {"e": POLICY}
    live, dead = reserve(store, "live"), reserve(store, "dead")
    assert reclaimer.run_pass(policies) == []
    for _ in range(3):
        clock.advance(POLICY.stale_after)
        # The live worker's clock is a day behind: its refresh_time looks ancient.
        store.heartbeat(live)
        db.jobs.update_one({"tid": live.tid},
                           {"$set": {"refresh_time": datetime.datetime(2000, 1, 1)}})
        given_up = reclaimer.run_pass(policies)
        if given_up:
            break
    assert given_up == [dead.tid]
    assert store.heartbeat(live) and not store.heartbeat(dead)


def test_a_reclaimer_starts_watching_afresh_after_its_own_outage(
        mongo_server, store: Store, caplog: pytest.LogCaptureFixture) -> None:
    mongo_server.require_restartable()
    caplog.set_level(logging.WARNING)
    clock = FakeClock()
    reclaimer = Reclaimer(store, clock)
    policies = {"e": POLICY}
    reserve(store)
    reclaimer.run_pass(policies)
    mongo_server.stop()
    passes: list[list[int]] = []
    thread = threading.Thread(target=lambda: passes.append(reclaimer.run_pass(policies)))
    clock.advance(2 * POLICY.stale_after)  # the worker could not beat during the outage
    thread.start()
    wait_until(lambda: "unreachable" in caplog.text, 60, "the reclaimer finds the database gone")
    mongo_server.start()
    thread.join(timeout=120)
    assert passes == [[]]  # the watch restarted: nothing is given up yet
    clock.advance(POLICY.stale_after)
    assert reclaimer.run_pass(policies) == [0]  # watched unchanged for stale_after since


class FailsOnce:
    """A store whose first heartbeat raises, as a bug or a broken connection would."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self.calls = 0

    def heartbeat(self, reservation: Reservation) -> bool:
        self.calls += 1
        if self.calls == 1:
            raise RuntimeError("heartbeat broke")
        return self._store.heartbeat(reservation)


def test_a_heartbeat_thread_that_dies_is_restarted(store: Store) -> None:
    reservation = reserve(store)
    failing = FailsOnce(store)
    beats = threading.Semaphore(0)
    with Heartbeat(failing, reservation, POLICY.heartbeat_interval,  # type: ignore[arg-type]
                   on_beat=beats.release) as heartbeat:
        assert beats.acquire(timeout=60) and beats.acquire(timeout=60)
    assert heartbeat.restarts == 1 and failing.calls >= 3


def test_a_deadline_stops_python_code() -> None:
    with pytest.raises(TrialTimedOut):
        with deadline(0.2, on_stuck=lambda: None):
            time.sleep(60)  # the trial's work, which the deadline must cut short


def run_in(where: str, trial: Callable[[], None]) -> None:
    """Run `trial` in the main thread (the deadline is a SIGALRM there) or another one (an
    asynchronous raise)."""
    if where == "main":
        trial()
        return
    thread = threading.Thread(target=trial)
    thread.start()
    thread.join(timeout=120)


@pytest.mark.parametrize("where", ["main", "thread"])
def test_a_deadline_whose_raise_was_lost_raises_again(where: str) -> None:
    """A raise can be lost (a handler run in logging's at-fork hook only prints "Exception
    ignored"); here the block itself swallows the first, as such a hook would."""
    outcome: list[int] = []

    def trial() -> None:
        swallowed = 0
        try:
            with deadline(0.2, on_stuck=lambda: None):
                for _ in range(6000):  # a minute of work, far past the deadline
                    try:
                        time.sleep(0.01)
                    except TrialTimedOut:
                        swallowed += 1
                        if swallowed > 1:
                            raise
        except TrialTimedOut:
            outcome.append(swallowed)

    run_in(where, trial)
    assert outcome == [2]


@pytest.mark.parametrize("where", ["main", "thread"])
def test_a_block_that_ends_after_its_deadline_raise_was_lost_still_timed_out(where: str) -> None:
    outcome: list[str] = []

    def trial() -> None:
        try:
            with deadline(0.2, on_stuck=lambda: None):
                for _ in range(6000):  # until the deadline's raise, which is lost here
                    try:
                        time.sleep(0.01)
                    except TrialTimedOut:
                        break
                outcome.append("ended")
        except TrialTimedOut:
            outcome.append("timed out")

    run_in(where, trial)
    assert outcome == ["ended", "timed out"]


def test_a_deadline_stops_python_code_in_a_thread_where_no_signal_can_go() -> None:
    outcome: list[str] = []

    def trial() -> None:
        try:
            with deadline(0.2, on_stuck=lambda: None):
                while True:  # Python steps: the asynchronous raise lands between two
                    time.sleep(0.01)
        except TrialTimedOut:
            outcome.append("timed out")
        with deadline(60, on_stuck=lambda: None):  # one that does not expire
            outcome.append("finished in time")

    thread = threading.Thread(target=trial)
    thread.start()
    thread.join(timeout=120)
    assert outcome == ["timed out", "finished in time"]


@pytest.mark.parametrize("where", ["main", "thread"])
def test_a_deadline_during_an_import_lands_once_the_import_ends(
        where: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Raised inside an import, it would leave the package half imported: `slow_{where}.part`
    loaded but never set on the package, and every later trial failing on it."""
    package = tmp_path / f"slow_{where}"
    package.mkdir()
    (package / "__init__.py").write_text("from . import part\n")
    # Busy for 0.5 s inside the import: the 0.1 s deadline falls there.
    (package / "part.py").write_text("import time\nend = time.monotonic() + 0.5\n"
                                     "while time.monotonic() < end:\n    pass\nVALUE = 1\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    outcome: list[str] = []

    def trial() -> None:
        try:
            with deadline(0.1, on_stuck=lambda: None):
                __import__(package.name)
                while True:  # the rest of the trial, in Python steps, which the deadline cuts
                    pass
        except TrialTimedOut:
            outcome.append("timed out")

    run_in(where, trial)
    try:
        assert outcome == ["timed out"]
        assert sys.modules[package.name].part.VALUE == 1
    finally:
        for name in (package.name, f"{package.name}.part"):
            sys.modules.pop(name, None)


def test_a_search_started_by_an_import_still_times_its_trials_out(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`import my_experiment` whose module runs the search: the import the caller is in is
    not one the trial began, so the deadline does not wait for it to end."""
    (tmp_path / "starts_a_trial.py").write_text(
        "import time\n"
        "from search.farm.deadline import TrialTimedOut, deadline\n"
        "outcome = []\n"
        "try:\n"
        "    with deadline(0.1, on_stuck=lambda: None):\n"
        "        end = time.monotonic() + 30  # the trial, in Python steps\n"
        "        while time.monotonic() < end:\n"
        "            pass\n"
        "        outcome.append('ran to its end')\n"
        "except TrialTimedOut:\n"
        "    outcome.append('timed out')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        assert __import__("starts_a_trial").outcome == ["timed out"]
    finally:
        sys.modules.pop("starts_a_trial", None)


# A call stuck in native code runs no Python signal handler: SIGALRM blocked in every thread
# (set before any thread starts) stands for it, and the GIL is free, as a CUDA wait leaves it.
STUCK = """
import os, signal, time
signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGALRM})
from search.farm.deadline import deadline
with deadline(0.1, on_stuck=lambda: (print("stuck", flush=True), os._exit(3)), grace=0.1):
    time.sleep(60)
"""


def test_a_deadline_reports_a_trial_stuck_in_native_code() -> None:
    completed = subprocess.run([sys.executable, "-c", STUCK], capture_output=True, text=True,
                               timeout=120, cwd=Path(__file__).resolve().parent.parent)
    assert (completed.returncode, completed.stdout) == (3, "stuck\n"), completed.stderr


def test_threads_of_one_process_never_race_each_other_for_a_claim(store: Store) -> None:
    """Many threads of one process find the same next jobs: each attempt is claimed by one
    of them only (one run-claim insert per job, none refused), and every job runs once."""
    assert isinstance(store, MongoStore)
    proposer = Proposer("e", spaces.load_space("default").graph, seed=0, startup_trials=100)
    store.queue_jobs([proposer.propose(tid) for tid in range(2, 26)])  # 0 and 1 are queued
    reserved: list[int] = []
    start = threading.Barrier(8)

    def reserve(name: str) -> None:
        start.wait()
        while (reservation := store.reserve_next_job(name, ["e"])) is not None:
            reserved.append(reservation.tid)

    before = store.operations
    threads = [threading.Thread(target=reserve, args=(f"w{i}",)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    cost = store.operations - before
    assert sorted(reserved) == list(range(26))
    assert cost.operations.get("insert", 0) == 26, cost


# From a thread, a trial blocked past its timeout and the grace delays the timeout; the
# process, a notebook's or a web app's, must go on.
BLOCKED_IN_A_THREAD = """
import threading, time
from search.farm.deadline import TrialTimedOut, deadline
def trial():
    try:
        with deadline(0.05, on_stuck=lambda: print("ended", flush=True), grace=0.05):
            time.sleep(0.5)  # blocking: the timeout lands as it returns
            time.sleep(0)
    except TrialTimedOut:
        print("timed out", flush=True)
thread = threading.Thread(target=trial)
thread.start()
thread.join()
print("host survived", flush=True)
"""


def test_a_deadline_in_a_thread_never_ends_the_process() -> None:
    completed = subprocess.run([sys.executable, "-c", BLOCKED_IN_A_THREAD], capture_output=True,
                               text=True, timeout=120, cwd=Path(__file__).resolve().parent.parent)
    assert (completed.returncode, completed.stdout) == (0, "timed out\nhost survived\n"), \
        completed.stderr
