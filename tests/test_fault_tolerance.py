"""No trial lost, no trial twice: dead, frozen and stopped workers, and a database outage."""

from __future__ import annotations

import dataclasses
import signal
import subprocess
import time
from collections import Counter

import pytest
from farm import (
    TEST_POLICY,
    OutputWatcher,
    database,
    done_jobs,
    finish,
    queue_experiment,
    start_worker,
    stop,
    wait_until,
)

SLEEPY = "tests.objectives_for_tests:sleeps"
STALE_AFTER = TEST_POLICY.stale_after
TRIAL_SECONDS = 1.5


@pytest.fixture
def slow_trials(hpsearch, monkeypatch: pytest.MonkeyPatch) -> float:
    monkeypatch.setitem(hpsearch.environment, "HPSEARCH_TEST_SLEEP", str(TRIAL_SECONDS))
    return TRIAL_SECONDS


def farm_worker(hpsearch, url: str, *options: str) -> subprocess.Popen[str]:
    return start_worker(hpsearch, url, "--allow-objective", SLEEPY, *options)


def driver(hpsearch, url: str, exp_key: str, max_evals: int) -> subprocess.Popen[str]:
    return hpsearch.start("search", "--store", url, "--exp-key", exp_key, "--objective", SLEEPY,
                          "--max-evals", str(max_evals), "--min-accuracy", "0",
                          "--stale-after", str(STALE_AFTER),
                          "--heartbeat-interval", str(TEST_POLICY.heartbeat_interval),
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def busy_job_of(db, process: subprocess.Popen[str]) -> dict | None:  # type: ignore[no-untyped-def]
    return db.jobs.find_one({"state": 1, "owner": {"$regex": f":{process.pid}:"}})


def job_in_progress(db, process: subprocess.Popen[str]) -> dict:  # type: ignore[no-untyped-def]
    """Wait until the worker process is in the middle of a trial; that trial's job."""
    wait_until(lambda: busy_job_of(db, process), 120, "the worker is in the middle of a trial")
    job = busy_job_of(db, process)
    assert job is not None
    return job


def assert_each_tid_done_once(db, exp_key: str, max_evals: int) -> list[dict]:  # type: ignore[no-untyped-def]
    jobs = done_jobs(db, exp_key)
    assert [job["tid"] for job in jobs] == list(range(max_evals))
    results = Counter(claim["job"] for claim in db.claims.find({"_id": {"$regex": "/result$"}}))
    assert len(results) == max_evals and set(results.values()) == {1}
    return jobs


def test_worker_killed_mid_trial_has_its_trial_redone_by_another(mongo_url, hpsearch, slow_trials
                                                                 ) -> None:
    db = database(mongo_url)
    workers = [farm_worker(hpsearch, mongo_url) for _ in range(3)]
    search = driver(hpsearch, mongo_url, "kill", 12)
    wait_until(lambda: len(done_jobs(db, "kill")) >= 2 and busy_job_of(db, workers[0]), 120,
               "the first worker is in the middle of a trial")
    workers[0].send_signal(signal.SIGKILL)
    workers[0].wait()
    # What it held when it died, from the claims it can no longer add to: a trial it was
    # seen running may have stored its result just before the signal landed.
    killed = unfinished_claims_of(db, workers[0])
    assert killed, "the worker died between trials"

    _, errors = search.communicate(timeout=300)
    assert search.returncode == 0, errors
    for worker in workers[1:]:
        stop(worker)

    jobs = {job["_id"]: job for job in assert_each_tid_done_once(db, "kill", 12)}
    for job_id in killed:
        assert jobs[job_id]["attempt"] >= 1
        assert f":{workers[0].pid}:" not in jobs[job_id]["result"]["worker"]


def unfinished_claims_of(db, process: subprocess.Popen[str]) -> set[str]:  # type: ignore[no-untyped-def]
    """The jobs `process` claimed to run and never stored a result for."""
    mine = {"owner": {"$regex": f":{process.pid}:"}}
    claimed = {claim["job"] for claim in db.claims.find({**mine, "_id": {"$regex": "/run/"}})}
    finished = {claim["job"] for claim in db.claims.find({**mine, "_id": {"$regex": "/result$"}})}
    return claimed - finished


def test_late_result_of_a_frozen_worker_is_kept_at_most_once(mongo_url, hpsearch, slow_trials
                                                             ) -> None:
    db = database(mongo_url)
    frozen = farm_worker(hpsearch, mongo_url)
    search = driver(hpsearch, mongo_url, "frozen", 6)
    job_in_progress(db, frozen)
    frozen.send_signal(signal.SIGSTOP)
    held = unfinished_claims_of(db, frozen)  # it may have finished the trial seen running
    assert held, "the worker froze between trials"
    rescuer = farm_worker(hpsearch, mongo_url)
    # Every job it held (the trial it was running, and one reserved ahead) is handed on.
    wait_until(lambda: db.jobs.count_documents({"_id": {"$in": sorted(held)},
                                                "attempt": {"$gte": 1}}) == len(held),
               60, "the jobs of the frozen worker are reclaimed")
    frozen.send_signal(signal.SIGCONT)

    _, errors = search.communicate(timeout=300)
    assert search.returncode == 0, errors
    code, output = stop(frozen)
    _, rescuer_output = stop(rescuer)
    assert code == 0, output
    # The frozen worker's trial ran on after it thawed, and which report came first is a race
    # the store settles: its heartbeat learnt the trial was handed on, or its result and the
    # new attempt's met and the second was kept late, or its result came first and was taken.
    mine = {"owner": {"$regex": f":{frozen.pid}:"}, "_id": {"$regex": "/result$"}}
    taken_first = held & {claim["job"] for claim in db.claims.find(mine)}
    assert ("no longer this worker's" in output or taken_first
            or "kept as a late result" in output + rescuer_output), (output, rescuer_output)
    assert_each_tid_done_once(db, "frozen", 6)


def test_search_survives_the_database_stopping_for_five_seconds(mongo_server, mongo_url, hpsearch
                                                                ) -> None:
    mongo_server.require_restartable()
    db = database(mongo_url)
    workers = [farm_worker(hpsearch, mongo_url) for _ in range(2)]
    watchers = [OutputWatcher(worker) for worker in workers]
    search = driver(hpsearch, mongo_url, "outage", 16)
    wait_until(lambda: len(done_jobs(db, "outage")) >= 4, 120, "four trials are done")
    mongo_server.stop()
    outage_began = time.monotonic()
    for watcher in watchers:
        watcher.wait_for(lambda text: "unreachable" in text, 120,
                         "the worker finds the database gone and retries")
    # The scenario's five seconds: long enough for the retries to back off. This sleep is the
    # outage's length, not a wait for something to happen (that was the wait above).
    time.sleep(max(0.0, outage_began + 5 - time.monotonic()))
    mongo_server.start()

    _, errors = search.communicate(timeout=300)
    assert search.returncode == 0, errors
    for worker, watcher in zip(workers, watchers, strict=True):
        worker.send_signal(signal.SIGTERM)
        code, output = watcher.finish()
        assert "reachable again" in output, output
    assert_each_tid_done_once(db, "outage", 16)


def test_sigterm_finishes_the_current_trial_and_exits_zero(mongo_url, hpsearch,
                                                           slow_trials) -> None:
    queue_experiment(mongo_url, "term", SLEEPY, 3)
    db = database(mongo_url)
    worker = farm_worker(hpsearch, mongo_url)
    job = job_in_progress(db, worker)
    code, output = stop(worker)
    assert code == 0, output
    assert db.jobs.find_one({"_id": job["_id"]})["state"] == 2
    assert db.jobs.count_documents({"exp_key": "term", "state": 2}) == 1


def test_second_sigterm_puts_the_job_back_in_the_queue(mongo_url, hpsearch, slow_trials) -> None:
    queue_experiment(mongo_url, "twice", SLEEPY, 2)
    db = database(mongo_url)
    worker = farm_worker(hpsearch, mongo_url)
    job = job_in_progress(db, worker)
    output = OutputWatcher(worker)
    worker.send_signal(signal.SIGTERM)
    output.wait_for(lambda text: "SIGTERM received" in text, 60, "the first SIGTERM is handled")
    worker.send_signal(signal.SIGTERM)
    code, text = output.finish()
    assert code == 128 + signal.SIGTERM, text
    requeued = db.jobs.find_one({"_id": job["_id"]})
    assert requeued["state"] == 0 and requeued["attempt"] == 1 and requeued["owner"] is None


def test_worker_stops_after_max_consecutive_failures(mongo_url, hpsearch) -> None:
    failing = "tests.objectives_for_tests:raises"
    queue_experiment(mongo_url, "failing", failing, 5)
    code, output = finish(start_worker(hpsearch, mongo_url, "--allow-objective", failing,
                                       "--max-consecutive-failures", "2"))
    assert code == 1
    assert "2 trials failed in a row" in output
    assert database(mongo_url).jobs.count_documents({"exp_key": "failing", "state": 2}) == 2


@pytest.mark.parametrize("objective, reason, text", [
    ("raises", "exception", "objective failed on purpose"),
    ("nan_accuracy", "diverged", None),
    ("out_of_memory", "out of memory", "CUDA out of memory"),
])
def test_failing_objectives_become_failed_trials_and_the_worker_carries_on(
        mongo_url, hpsearch, objective: str, reason: str, text: str | None) -> None:
    name = f"tests.objectives_for_tests:{objective}"
    queue_experiment(mongo_url, "fails", name, 2)
    code, output = finish(start_worker(hpsearch, mongo_url, "--allow-objective", name,
                                       "--idle-timeout", "2"))
    assert code == 0, output
    jobs = done_jobs(database(mongo_url), "fails")
    assert len(jobs) == 2  # the worker carried on after the first failure
    for job in jobs:
        result = job["result"]
        assert result["status"] == "fail" and result["reason"] == reason
        assert result["loss"] is None
        if text is not None:
            assert text in result["error"] and "Traceback" in result["traceback"]


def test_worker_refuses_an_objective_its_operator_did_not_allow(mongo_url, hpsearch) -> None:
    queue_experiment(mongo_url, "evil", "os:system", 2)
    code, output = finish(start_worker(hpsearch, mongo_url, "--idle-timeout", "2"))
    assert code == 0, output
    refusals = [line for line in output.splitlines() if "leaving experiment 'evil' alone" in line]
    assert len(refusals) == 1 and "os:system" in refusals[0] and "not allowed" in refusals[0]
    db = database(mongo_url)
    assert db.jobs.count_documents({"exp_key": "evil", "state": 0}) == 2
    assert db.claims.count_documents({}) == 0


def test_worker_leaves_alone_an_experiment_for_a_device_it_lacks(mongo_url, hpsearch) -> None:
    queue_experiment(mongo_url, "elsewhere", "noop", 2, device="cuda:99")
    code, output = finish(start_worker(hpsearch, mongo_url, "--idle-timeout", "2"))
    assert code == 0, output
    assert "leaving experiment 'elsewhere' alone" in output and "cuda:99" in output
    assert database(mongo_url).jobs.count_documents({"exp_key": "elsewhere", "state": 0}) == 2


def test_password_in_the_store_url_never_appears(mongo_server, hpsearch, tmp_path) -> None:
    secret = "s3cret-Pa55"
    port = mongo_server.url.rsplit(":", 1)[1]
    url = f"mongodb://hpuser:{secret}@127.0.0.1:{port}/hpsearch_secret?authSource=admin"
    outputs = [
        hpsearch("-v", "status", "--store", url),
        hpsearch("-v", "best", "--store", url, "--exp-key", "nothing"),
        hpsearch("-v", "worker", "--store", url, "--gpus", "none", "--idle-timeout", "1"),
        hpsearch("status", "--store", f"mongodb://hpuser:{secret}@127.0.0.1:1/db"
                 "?serverSelectionTimeoutMS=1000"),
    ]
    for completed in outputs:
        assert secret not in completed.stdout + completed.stderr
    assert any("hpuser:***@" in completed.stdout + completed.stderr for completed in outputs)


def test_job_is_failed_with_the_reason_after_max_attempts(mongo_url, hpsearch, slow_trials) -> None:
    queue_experiment(mongo_url, "doomed", SLEEPY, 1,
                     policy=dataclasses.replace(TEST_POLICY, max_attempts=1))
    db = database(mongo_url)
    first = farm_worker(hpsearch, mongo_url)
    job_in_progress(db, first)
    first.send_signal(signal.SIGKILL)
    first.wait()
    # Stopped once the trial is given up: an idle timeout would race the reclaimer on a
    # loaded machine.
    second = farm_worker(hpsearch, mongo_url)
    wait_until(lambda: done_jobs(db, "doomed"), 300, "the trial is given up")
    code, output = stop(second)
    assert code == 0, output
    (job,) = done_jobs(db, "doomed")
    assert job["result"]["status"] == "fail" and job["result"]["reason"] == "abandoned"
    assert "gave up after 1 attempts" in job["result"]["error"]
    assert "did not change" in job["result"]["error"]


def test_a_job_held_ahead_by_a_killed_worker_is_not_an_attempt(mongo_url, hpsearch,
                                                               monkeypatch) -> None:
    queue_experiment(mongo_url, "held", SLEEPY, 3,
                     policy=dataclasses.replace(TEST_POLICY, max_attempts=1))
    db = database(mongo_url)
    monkeypatch.setitem(hpsearch.environment, "HPSEARCH_TEST_SLEEP", "600")  # outlasts the test
    first = farm_worker(hpsearch, mongo_url, "--lookahead")
    monkeypatch.setitem(hpsearch.environment, "HPSEARCH_TEST_SLEEP", str(TRIAL_SECONDS))
    mine = {"exp_key": "held", "state": 1, "owner": {"$regex": f":{first.pid}:"}}
    wait_until(lambda: db.jobs.count_documents(mine) == 2, 120,
               "the worker runs trial 0 and holds trial 1 ahead")
    first.send_signal(signal.SIGKILL)
    first.wait()
    second = farm_worker(hpsearch, mongo_url)
    wait_until(lambda: len(done_jobs(db, "held")) == 3, 300, "every trial is done")
    code, output = stop(second)
    assert code == 0, output
    ran, held, _ = done_jobs(db, "held")
    # Trial 0 was running when its worker died: its one attempt is spent.
    assert ran["result"]["reason"] == "abandoned", ran["result"]
    assert "gave up after 1 attempts" in ran["result"]["error"]
    # Trial 1 was only held: its attempt never started, so it was requeued and run.
    assert held["result"]["status"] == "ok", held["result"]
    assert held["attempt"] == 1 and f":{second.pid}:" in held["result"]["worker"]
