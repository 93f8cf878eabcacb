"""The GPU farm on a real MongoDB-protocol server: a driver and worker processes over TCP."""

from __future__ import annotations

import json
import os
import signal
import subprocess
from collections import Counter

from farm import (
    database,
    done_jobs,
    finish,
    queue_experiment,
    queue_jobs,
    start_worker,
    stop,
    wait_until,
)
from hpsearch_processes import HpsearchProcesses

from search.reports.queries import best_configurations
from search.trial import trials_of

SLEEPY = "tests.objectives_for_tests:sleeps"


def search(hpsearch: HpsearchProcesses, url: str, exp_key: str, *options: str
           ) -> subprocess.Popen[str]:
    return hpsearch.start("search", "--store", url, "--exp-key", exp_key, *options,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def test_driver_and_two_workers_finish_a_twenty_trial_digits_search(mongo_url, hpsearch) -> None:
    workers = [start_worker(hpsearch, mongo_url) for _ in range(2)]
    driver = search(hpsearch, mongo_url, "farm", "--max-evals", "20", "--epochs", "3")
    output, errors = driver.communicate(timeout=300)
    assert driver.returncode == 0, errors
    outcomes = [stop(worker) for worker in workers]
    assert [code for code, _ in outcomes] == [0, 0], outcomes

    db = database(mongo_url)
    jobs = done_jobs(db, "farm")
    assert [job["tid"] for job in jobs] == list(range(20))
    assert db.claims.count_documents({"_id": {"$regex": "/result$"}}) == 20
    per_worker = Counter(job["result"]["worker"] for job in jobs)
    assert len(per_worker) == 2, per_worker
    for job in jobs:
        assert job["owner"] == job["result"]["worker"]
        assert job["result"]["device"] == "cpu"
        assert job["misc"]["vals"] and job["misc"]["idxs"]
    assert "accuracy" in output  # the driver ends by printing the best trials


def test_worker_attached_halfway_gets_jobs(mongo_url, hpsearch) -> None:
    # The first worker leaves after 8 trials, so the search finishes only if the late one,
    # started while the search runs, is handed the rest: however slowly it starts.
    first = start_worker(hpsearch, mongo_url, "--allow-objective", SLEEPY, "--max-jobs", "8")
    driver = search(hpsearch, mongo_url, "late", "--max-evals", "16", "--objective", SLEEPY,
                    "--min-accuracy", "0")
    db = database(mongo_url)
    wait_until(lambda: len(done_jobs(db, "late")) >= 4, 120, "four trials are done")
    second = start_worker(hpsearch, mongo_url, "--allow-objective", SLEEPY)
    _, errors = driver.communicate(timeout=300)
    assert driver.returncode == 0, errors
    stop(first), stop(second)
    per_worker = Counter(job["result"]["worker"] for job in done_jobs(db, "late"))
    assert sorted(per_worker.values()) == [8, 8], per_worker


def test_two_experiments_run_side_by_side_without_touching_each_others_jobs(mongo_url, hpsearch
                                                                            ) -> None:
    workers = [start_worker(hpsearch, mongo_url, "--allow-objective", SLEEPY) for _ in range(2)]
    noop = search(hpsearch, mongo_url, "side-a", "--max-evals", "12", "--objective", "noop",
                  "--min-accuracy", "0")
    sleepy = search(hpsearch, mongo_url, "side-b", "--max-evals", "6", "--objective", SLEEPY,
                    "--min-accuracy", "0")
    for driver in (noop, sleepy):
        _, errors = driver.communicate(timeout=300)
        assert driver.returncode == 0, errors
    for worker in workers:
        stop(worker)

    db = database(mongo_url)
    a, b = done_jobs(db, "side-a"), done_jobs(db, "side-b")
    assert [job["tid"] for job in a] == list(range(12))
    assert [job["tid"] for job in b] == list(range(6))
    assert all(job["result"]["objective"] == "noop" for job in a)
    assert all(job["result"]["objective"] == SLEEPY for job in b)


def test_best_json_from_mongodb_matches_a_direct_query(mongo_url, hpsearch) -> None:
    worker = start_worker(hpsearch, mongo_url)
    driver = search(hpsearch, mongo_url, "best", "--max-evals", "8", "--objective", "noop")
    _, errors = driver.communicate(timeout=300)
    assert driver.returncode == 0, errors
    stop(worker)

    completed = hpsearch("best", "--store", mongo_url, "--exp-key", "best", "-n", "1",
                         "--format", "json")
    assert completed.returncode == 0, completed.stderr
    (row,) = json.loads(completed.stdout)
    # The best configuration, pooled from the job documents read directly.
    db = database(mongo_url)
    floor = db.experiments.find_one({"_id": "best"})["min_accuracy"]
    (expected,) = best_configurations(trials_of(db.jobs.find({"exp_key": "best"})), 1, floor)
    assert row["tid"] == expected.tid and row["runs"] == expected.runs
    assert row["score"] == expected.score and row["lower_bound"] == expected.lower_bound


def test_one_worker_command_fans_out_into_processes_that_stop_together(mongo_url, hpsearch
                                                                       ) -> None:
    # More trials than one process runs before the other is up, however loaded the machine:
    # the test waits until both have run some, then stops them.
    queue_experiment(mongo_url, "fan", SLEEPY, 60)
    worker = hpsearch.start("-v", "worker", "--store", mongo_url, "--gpus", "none",
                            "--cpu-workers", "2", "--allow-objective", SLEEPY,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    db = database(mongo_url)

    def processes() -> set[str]:
        return {job["result"]["worker"] for job in done_jobs(db, "fan")}

    wait_until(lambda: len(processes()) == 2, 180, "both processes ran trials")
    code, output = stop(worker)
    assert code == 0, output
    assert all(worker_id.endswith(":cpu") for worker_id in processes())
    assert output.count("stopped by signal") == 2  # SIGTERM reached both children once
    # Each process logs as the command asked (-v: its trials), in the command's format.
    assert output.count(" INFO search.farm.worker: trial ") >= 2, output


def test_worker_command_fails_when_one_of_its_processes_is_killed(mongo_url, hpsearch) -> None:
    worker = hpsearch.start("worker", "--store", mongo_url, "--gpus", "none", "--cpu-workers", "2",
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    db = database(mongo_url)
    wait_until(lambda: db.workers.count_documents({}) == 2, 120, "both processes report")
    victim = int(db.workers.find_one()["_id"].split(":")[1])
    os.kill(victim, signal.SIGKILL)
    code, output = stop(worker)  # the survivor stops cleanly and exits 0
    assert code == 128 + signal.SIGKILL, output
    assert f"(pid {victim}) was killed by SIGKILL" in output  # said, not only counted


def test_a_cpu_worker_beside_a_gpu_runs_in_a_process_that_cannot_see_it(
        mongo_url, hpsearch, tmp_path) -> None:
    """`--gpus none` on a GPU host: counting the GPUs initialised CUDA in the command, so its
    one CPU worker must run in a fresh process whose CUDA_VISIBLE_DEVICES hides them, or a
    trial's `--device auto` would train on the GPU. A GPU is faked where none is."""
    (tmp_path / "sitecustomize.py").write_text(
        "import torch.cuda\ntorch.cuda.device_count = lambda: 1\n")
    queue_experiment(mongo_url, "hidden", "noop", 1)
    environment = {**hpsearch.environment,
                   "PYTHONPATH": f"{tmp_path}{os.pathsep}{hpsearch.environment['PYTHONPATH']}"}
    worker = subprocess.Popen([*hpsearch.command, "worker", "--store", mongo_url, "--gpus",
                               "none", "--max-jobs", "1"], env=environment, text=True,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    code, output = finish(worker)
    assert code == 0, output
    (job,) = done_jobs(database(mongo_url), "hidden")
    assert job["result"]["device_type"] == "cpu"
    assert job["result"]["worker"].split(":")[1:] != [str(worker.pid), "cpu"], output


def test_a_worker_started_with_nohup_serves_on_after_its_terminal_closes(mongo_url, hpsearch
                                                                         ) -> None:
    """`nohup hpsearch worker &` over ssh: SIGHUP was ignored when it started, so it stays so."""
    queue_experiment(mongo_url, "nohup", "noop", 0)
    worker = hpsearch.start("worker", "--store", mongo_url, "--gpus", "none", "--cpu-workers", "2",
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            preexec_fn=lambda: signal.signal(signal.SIGHUP, signal.SIG_IGN))
    db = database(mongo_url)
    wait_until(lambda: db.workers.count_documents({"state": "idle"}) == 2, 120,
               "both processes wait for jobs")
    worker.send_signal(signal.SIGHUP)
    queue_jobs(mongo_url, "nohup", 2)  # after the hangup: only a worker still serving runs them
    wait_until(lambda: db.jobs.count_documents({"exp_key": "nohup", "state": 2}) == 2, 120,
               "the queued jobs ran")
    code, output = stop(worker)
    assert code == 0 and "SIGHUP" not in output, output


def test_worker_processes_stop_once_their_command_is_gone(mongo_url, hpsearch) -> None:
    """A worker command killed outright leaves no process serving unsupervised (a restart
    would put a second one on each GPU): its children stop as a SIGTERM stops them."""
    worker = hpsearch.start("worker", "--store", mongo_url, "--gpus", "none", "--cpu-workers", "2",
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    db = database(mongo_url)
    wait_until(lambda: db.workers.count_documents({}) == 2, 120, "both processes report")
    worker.kill()
    worker.communicate(timeout=60)
    wait_until(lambda: db.workers.count_documents({"state": "stopped"}) == 2, 120,
               "both processes, orphaned, stopped")


def test_a_closed_terminal_stops_the_worker_processes_as_sigterm_does(mongo_url, hpsearch
                                                                     ) -> None:
    """SIGHUP reaches the command alone (its children have process groups of their own): it
    stops them gracefully rather than die and leave them behind. Started as from a terminal,
    not to ignore SIGHUP, whatever this test run was started with (`nohup make test`)."""
    worker = hpsearch.start("worker", "--store", mongo_url, "--gpus", "none", "--cpu-workers", "2",
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            preexec_fn=lambda: signal.signal(signal.SIGHUP, signal.SIG_DFL))
    db = database(mongo_url)
    wait_until(lambda: db.workers.count_documents({}) == 2, 120, "both processes report")
    worker.send_signal(signal.SIGHUP)
    code, output = finish(worker)
    assert code == 0, output
    assert output.count("stopped by signal") == 2, output
    assert db.workers.count_documents({"state": "stopped"}) == 2
