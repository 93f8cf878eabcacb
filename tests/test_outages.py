"""Outages longer than the heartbeat, results finished while the database is away, timeouts:
real workers and drivers against the test database."""

from __future__ import annotations

import dataclasses
import logging
import signal
import subprocess
import threading
import time
from collections import Counter
from pathlib import Path

import pytest
from fake_clock import FakeClock
from farm import (
    TEST_POLICY,
    OutputWatcher,
    database,
    done_jobs,
    finish,
    queue_experiment,
    start_worker,
    wait_until,
)

from search.farm.processes import _open_through_outage
from search.farm.stopping import StopRequest
from search.store import Store
from search.store.outages import REMINDER_SECONDS, OutageLog

LONG = "tests.objectives_for_tests:records_run_then_sleeps"
SLEEPY = "tests.objectives_for_tests:sleeps"


@pytest.fixture
def run_log(hpsearch, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The file in which the objective itself counts its runs."""
    path = tmp_path / "runs.log"
    monkeypatch.setitem(hpsearch.environment, "HPSEARCH_TEST_RUN_LOG", str(path))
    return path


def runs_by_tid(run_log: Path) -> Counter[int]:
    text = run_log.read_text() if run_log.exists() else ""
    return Counter(int(line.split()[0]) for line in text.splitlines())


def sleep_for(hpsearch, monkeypatch: pytest.MonkeyPatch, seconds: float) -> None:
    monkeypatch.setitem(hpsearch.environment, "HPSEARCH_TEST_SLEEP", str(seconds))


def spooled_text(hpsearch, exp_key: str) -> str:  # type: ignore[no-untyped-def]
    root = Path(hpsearch.environment["HPSEARCH_SPOOL_DIR"])
    texts = (path.read_text() for path in root.glob("*/*.jsonl"))
    return "".join(text for text in texts if f'"{exp_key}"' in text)


def test_an_outage_longer_than_stale_after_reruns_no_trial(mongo_server, mongo_url, hpsearch,
                                                           run_log, monkeypatch) -> None:
    mongo_server.require_restartable()
    stale_after, trial_seconds = 6.0, 20.0
    sleep_for(hpsearch, monkeypatch, trial_seconds)
    db = database(mongo_url)
    workers = [start_worker(hpsearch, mongo_url, "--allow-objective", LONG, "--no-lookahead",
                            "--max-jobs", "1") for _ in range(2)]
    search = hpsearch.start("search", "--store", mongo_url, "--exp-key", "long-outage",
                            "--objective", LONG, "--max-evals", "2", "--min-accuracy", "0",
                            "--stale-after", str(stale_after), "--heartbeat-interval", "1",
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    watchers = [OutputWatcher(worker) for worker in workers]
    wait_until(lambda: len(runs_by_tid(run_log)) == 2, 120, "both trials run")
    mongo_server.stop()
    outage_began = time.monotonic()
    for watcher in watchers:
        watcher.wait_for(lambda text: "unreachable" in text, 120,
                         "the worker's heartbeat finds the database gone")
    # The scenario: an outage longer than stale_after. This sleep is its length, not a wait
    # for something to happen (that was the wait above).
    time.sleep(max(0.0, outage_began + 1.5 * stale_after - time.monotonic()))
    mongo_server.start()

    _, errors = search.communicate(timeout=300)
    assert search.returncode == 0, errors
    for watcher in watchers:
        code, output = watcher.finish()
        assert code == 0, output
    assert runs_by_tid(run_log) == {0: 1, 1: 1}
    jobs = done_jobs(db, "long-outage")
    assert [(job["result"]["status"], job["result"]["attempt"]) for job in jobs] == [("ok", 0)] * 2
    assert db.claims.count_documents({"_id": {"$regex": "/requeue/"}}) == 0
    assert db.late_results.count_documents({}) == 0


def test_a_result_finished_in_an_outage_is_spooled_and_sent_by_the_next_worker(
        mongo_server, mongo_url, hpsearch, run_log, monkeypatch) -> None:
    mongo_server.require_restartable()
    sleep_for(hpsearch, monkeypatch, 8)  # time enough to stop the database mid-trial
    queue_experiment(mongo_url, "spooled", LONG, 1)
    db = database(mongo_url)
    first = start_worker(hpsearch, mongo_url, "--allow-objective", LONG)
    wait_until(lambda: runs_by_tid(run_log), 120, "the trial runs")
    mongo_server.stop()
    wait_until(lambda: "accuracy" in spooled_text(hpsearch, "spooled"), 120,
               "the finished result is in the worker's spool")
    first.kill()  # with the result only on its local disk
    first.communicate()
    mongo_server.start()

    code, output = finish(start_worker(hpsearch, mongo_url, "--allow-objective", LONG,
                                       "--idle-timeout", "1"))
    assert code == 0, output
    assert "offering the spooled result of trial 0" in output
    (job,) = done_jobs(db, "spooled")
    assert job["result"]["status"] == "ok" and job["result"]["attempt"] == 0
    assert f":{first.pid}:" in job["result"]["worker"]
    assert runs_by_tid(run_log) == {0: 1}
    assert "accuracy" not in spooled_text(hpsearch, "spooled")


def test_a_stopped_worker_exits_only_once_its_result_is_stored(mongo_server, mongo_url, hpsearch,
                                                                run_log, monkeypatch) -> None:
    mongo_server.require_restartable()
    sleep_for(hpsearch, monkeypatch, 8)  # time enough to stop the database mid-trial
    queue_experiment(mongo_url, "held", LONG, 1)
    db = database(mongo_url)
    worker = start_worker(hpsearch, mongo_url, "--allow-objective", LONG)
    watcher = OutputWatcher(worker)
    wait_until(lambda: runs_by_tid(run_log), 120, "the trial runs")
    mongo_server.stop()
    wait_until(lambda: "accuracy" in spooled_text(hpsearch, "held"), 120,
               "the finished result is in the worker's spool")
    worker.send_signal(signal.SIGTERM)
    watcher.wait_for(lambda text: "SIGTERM received" in text, 60, "the worker takes the stop")
    assert worker.poll() is None  # it holds a result the store lacks
    mongo_server.start()

    code, output = watcher.finish()
    assert code == 0, output
    (job,) = done_jobs(db, "held")
    assert job["result"]["status"] == "ok"


def test_a_heartbeat_thread_that_dies_is_restarted_and_the_trial_goes_on(mongo_url, hpsearch,
                                                                         monkeypatch) -> None:
    breaker = "tests.objectives_for_tests:breaks_its_heartbeat_once"
    sleep_for(hpsearch, monkeypatch, 6 * TEST_POLICY.heartbeat_interval)
    queue_experiment(mongo_url, "broken-beat", breaker, 1)
    code, output = finish(start_worker(hpsearch, mongo_url, "--allow-objective", breaker,
                                       "--max-jobs", "1"))
    assert code == 0, output
    assert "the heartbeat of trial 0 of broken-beat died (RuntimeError" in output
    assert "restarting it" in output
    (job,) = done_jobs(database(mongo_url), "broken-beat")
    assert (job["result"]["status"], job["attempt"]) == ("ok", 0)
    assert job["beats"] >= 1  # it beat again after the restart


def test_a_trial_past_its_timeout_fails_and_the_worker_goes_on(mongo_url, hpsearch,
                                                               monkeypatch) -> None:
    sleep_for(hpsearch, monkeypatch, 120)
    queue_experiment(mongo_url, "slow", SLEEPY, 2,
                     policy=dataclasses.replace(TEST_POLICY, trial_timeout=1.0))
    code, output = finish(start_worker(hpsearch, mongo_url, "--allow-objective", SLEEPY,
                                       "--max-jobs", "2"))
    assert code == 0, output
    jobs = done_jobs(database(mongo_url), "slow")
    assert [job["result"]["reason"] for job in jobs] == ["timeout", "timeout"]
    assert "trial timeout of 1 s" in jobs[0]["result"]["error"]


def test_an_embedded_search_fails_a_trial_past_its_timeout(hpsearch, tmp_path: Path,
                                                            monkeypatch) -> None:
    sleep_for(hpsearch, monkeypatch, 120)
    completed = hpsearch("search", "--store", str(tmp_path / "store"), "--objective", SLEEPY,
                         "--max-evals", "1", "--trial-timeout", "1", "--min-accuracy", "0")
    assert completed.returncode == 1
    assert "timeout: the trial ran past the experiment's trial timeout of 1 s" in completed.stderr
    assert "Traceback" not in completed.stderr


def test_a_worker_process_that_starts_in_an_outage_waits_for_the_database(
        mongo_server, mongo_url, caplog: pytest.LogCaptureFixture) -> None:
    """The worker command reached the database before starting its processes: one that
    finds it gone waits, as a serving worker does, rather than end the command."""
    mongo_server.require_restartable()
    opened: list[Store | None] = []
    stopped: list[Store | None] = []
    stop_waiting = StopRequest()
    mongo_server.stop()
    try:
        with caplog.at_level(logging.WARNING, logger="search.farm.processes"):
            waiting = threading.Thread(
                target=lambda: opened.append(_open_through_outage(mongo_url, StopRequest())))
            given_up = threading.Thread(
                target=lambda: stopped.append(_open_through_outage(mongo_url, stop_waiting)))
            waiting.start()
            given_up.start()
            wait_until(lambda: caplog.text.count("waiting for it") == 2, 120,
                       "both processes say they wait for the database")
            stop_waiting.request()
            given_up.join(timeout=120)
            mongo_server.start()
            waiting.join(timeout=120)
    finally:
        mongo_server.ensure_running()
    assert stopped == [None], "a stop ends the wait"
    assert opened and opened[0] is not None, "the database came back: the store is open"
    opened[0].close()
    assert "reachable again" in caplog.text and "Traceback" not in caplog.text


def test_an_outage_is_said_once_then_every_five_minutes_and_when_it_ends(
        caplog: pytest.LogCaptureFixture) -> None:
    """One OutageLog for every place an outage is waited out: a worker process starting in
    one was never reminded of it, as a retried operation was."""
    clock = FakeClock()
    outage = OutageLog("mongodb://db.example/x", clock)
    with caplog.at_level(logging.WARNING, logger="search.store.outages"):
        outage.answered()  # no outage: nothing to say
        outage.failed("database mongodb://db.example/x unreachable (refused)")
        clock.advance(REMINDER_SECONDS - 1)
        outage.failed("refused")
        clock.advance(1)
        outage.failed("refused")
        clock.advance(10)
        outage.answered()
        outage.failed("refused again")
    assert [record.getMessage() for record in caplog.records] == [
        "database mongodb://db.example/x unreachable (refused); waiting for it",
        "database mongodb://db.example/x still unreachable after 300 s (refused); waiting for it",
        "database mongodb://db.example/x reachable again after 310.0 s",
        "refused again; waiting for it",
    ]
    assert outage.outages == 2
