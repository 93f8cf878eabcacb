"""A worker holds one job reserved ahead while its trial runs, and an idle worker says so."""

from __future__ import annotations

import signal

from farm import database, queue_experiment, start_worker, stop, wait_until
from hpsearch_processes import HpsearchProcesses

SLEEPY = "tests.objectives_for_tests:sleeps"


def test_sigterm_hands_the_job_reserved_ahead_back_before_the_running_trial_ends(
        mongo_url: str, hpsearch: HpsearchProcesses) -> None:
    queue_experiment(mongo_url, "ahead", SLEEPY, 3)
    db = database(mongo_url)
    hpsearch.environment["HPSEARCH_TEST_SLEEP"] = "600"  # the trial outlasts the test
    try:
        worker = start_worker(hpsearch, mongo_url, "--allow-objective", SLEEPY, "--lookahead")
    finally:
        hpsearch.environment["HPSEARCH_TEST_SLEEP"] = "0.5"
    try:
        def running() -> list[dict]:
            return list(db.jobs.find({"exp_key": "ahead", "state": 1}))

        wait_until(lambda: len(running()) == 2, 120, "the worker runs one job and holds another")
        assert len({job["owner"] for job in running()}) == 1
        worker.send_signal(signal.SIGTERM)
        wait_until(lambda: db.jobs.count_documents({"exp_key": "ahead", "state": 0,
                                                    "attempt": 1}) == 1,
                   60, "the job held ahead is back in the queue")
        # Handed back at once: the trial that was running is still running.
        (still_running,) = running()
        assert still_running["attempt"] == 0
        assert db.jobs.count_documents({"exp_key": "ahead", "state": 2}) == 0
    finally:
        if worker.poll() is None:
            worker.send_signal(signal.SIGTERM)  # the second signal stops the trial now
        code, output = stop(worker)
    assert code == 128 + signal.SIGTERM, output
    assert db.jobs.count_documents({"exp_key": "ahead", "state": 0}) == 3, output


def test_status_says_a_worker_without_jobs_is_idle(mongo_url: str,
                                                   hpsearch: HpsearchProcesses) -> None:
    queue_experiment(mongo_url, "quiet", "noop", 2)
    db = database(mongo_url)
    worker = start_worker(hpsearch, mongo_url)
    try:
        wait_until(lambda: db.jobs.count_documents({"exp_key": "quiet", "state": 2}) == 2, 120,
                   "both trials are done")
        wait_until(lambda: db.workers.count_documents({"state": "idle"}) == 1, 60,
                   "the worker reports itself idle")
        shown = hpsearch("status", "--store", mongo_url, "--exp-key", "quiet")
    finally:
        stop(worker)
    assert shown.returncode == 0, shown.stderr
    (line,) = [line for line in shown.stdout.splitlines() if "worker " in line]
    assert line.split()[2] == "idle", shown.stdout
