"""A worker holds one job reserved ahead while its trial runs, and an idle worker says so."""

from __future__ import annotations

import pathlib
import signal
from typing import Any

from bson import Int64
from farm import database, queue_experiment, start_worker, stop, wait_until
from hpsearch_processes import HpsearchProcesses

import spaces
from objectives import Objective, TrialContext
from search.documents import JOB_STATE_NEW, JOB_STATE_RUNNING
from search.experiment import Experiment
from search.farm.params import differs_from_recorded
from search.farm.proposals import Proposer
from search.farm.worker import Worker, WorkerOptions
from search.policy import Policy
from search.store._embedded import EmbeddedStore

SLEEPY = "tests.objectives_for_tests:sleeps"


def test_a_job_taken_from_the_lookahead_counts_as_an_attempt_once_it_runs(
        tmp_path: pathlib.Path) -> None:
    store = EmbeddedStore(tmp_path)
    space = spaces.load_space("default")
    decisions: list[str] = []

    def run(params: dict[str, Any], trial: TrialContext) -> dict[str, Any]:
        if not decisions:  # trial 0: lets the lookahead reserve trial 1 ahead, then ends
            decisions.append("none")
            wait_until(lambda: store.jobs("e", [1])[0]["state"] == JOB_STATE_RUNNING, 60,
                       "the worker holds trial 1 ahead")
        else:  # trial 1, taken from the lookahead: a reclaimer that finds it dead now
            (running,) = [attempt for attempt in store.running_attempts(["e"])
                          if attempt.tid == 1]
            decisions.append(store.give_up(running, max_attempts=1, reason="silent"))
        with trial.timed():
            pass
        return {"accuracy": 0.5}

    objective = Objective(name="tests:gives_up_its_second_trial", description="", run=run)
    store.record_experiment(Experiment(exp_key="e", space=space.record, objective=objective.name,
                                       epochs=1, min_accuracy=0.0,
                                       policy=Policy(max_attempts=1)))
    proposer = Proposer("e", space.graph, seed=0, startup_trials=10)
    store.queue_jobs([proposer.propose(tid) for tid in range(2)])
    worker = Worker(store, "w1", WorkerOptions(exp_keys=("e",), max_jobs=2, lookahead=True),
                    given_objectives=(objective,))
    exit = worker.run()
    store.close()

    assert exit.jobs_done == 2, exit
    # Begun before its objective ran: a trial that killed the worker there would be spent.
    assert decisions == ["none", "abandon"]


def worker_on_other_options(tmp_path: pathlib.Path, drivers: str, ours: str, count: int
                            ) -> tuple[list[dict[str, Any]], list[dict[str, Any]], int]:
    """`count` trials proposed by a driver whose space offers the optimizers `drivers`, run
    by a worker whose space, by the same name, offers `ours`: the jobs as the worker left
    them, the params it trained, and how many jobs it did."""
    ran: list[dict[str, Any]] = []

    def run(params: dict[str, Any], trial: TrialContext) -> dict[str, Any]:
        ran.append(params)
        with trial.timed():
            pass
        return {"accuracy": 0.5}

    spaces_of = {}
    for name, values in (("drivers", drivers), ("ours", ours)):
        (tmp_path / f"{name}.yaml").write_text(f"parameters:\n  optimizer: {{values: {values}}}\n")
        spaces_of[name] = spaces.load_space(str(tmp_path / f"{name}.yaml"))
    objective = Objective(name="tests:records_its_params", description="", run=run)
    store = EmbeddedStore(tmp_path / "store")
    store.record_experiment(Experiment(exp_key="e", space=spaces_of["ours"].record,
                                       objective=objective.name, epochs=1, min_accuracy=0.0))
    proposer = Proposer("e", spaces_of["drivers"].graph, seed=0, startup_trials=10)
    store.queue_jobs([proposer.propose(tid) for tid in range(count)])
    exit = Worker(store, "w1", WorkerOptions(exp_keys=("e",), idle_timeout=0.0),
                  given_objectives=(objective,)).run()
    left = store.jobs("e", list(range(count)))
    store.close()
    return left, ran, exit.jobs_done


def test_a_worker_whose_space_builds_other_params_than_recorded_leaves_them_queued(
        tmp_path: pathlib.Path) -> None:
    """The driver's release had a `lion` option first; this worker's has not, so the same
    values would train `adamw` and `sgd` where the store shows `lion` and `adamw`."""
    left, ran, jobs_done = worker_on_other_options(tmp_path, "[lion, adamw]", "[adamw, sgd]", 6)
    assert {job["misc"]["params"]["optimizer"] for job in left} == {"lion", "adamw"}
    assert jobs_done == 0 and ran == []
    assert [job["state"] for job in left] == [JOB_STATE_NEW] * 6  # handed back, for others


def test_values_of_an_option_this_worker_lacks_fail_naming_what_the_driver_built(
        tmp_path: pathlib.Path) -> None:
    """The driver's release added `lion` at the end: its trials cannot be built here, and
    fail saying so; the others build as recorded, and run."""
    done, ran, _ = worker_on_other_options(tmp_path, "[adamw, sgd, lion]", "[adamw, sgd]", 8)
    lion = [job for job in done if job["misc"]["params"]["optimizer"] == "lion"]
    assert lion and all("install that one on this worker" in job["result"]["error"]
                        for job in lion)
    assert all(job["result"]["status"] == "ok" for job in done if job not in lion)
    assert [params["optimizer"] for params in ran] == [
        job["misc"]["params"]["optimizer"] for job in done if job not in lion]


def test_params_read_back_from_mongodb_agree_with_those_built_here() -> None:
    """pymongo reads an integer of 2**31 or more back as bson.Int64: the same value. A job
    whose values do not build here is malformed, for run_job to fail, not a space apart."""
    space = spaces.load_space("default")
    job = Proposer("e", space.graph, seed=0, startup_trials=10).propose(0)
    job["misc"]["params"] = {**job["misc"]["params"], "batch_size": Int64(
        job["misc"]["params"]["batch_size"])}
    assert differs_from_recorded(job, space.graph) is None
    job["misc"]["vals"] = {**job["misc"]["vals"], "lr": ["abc"]}
    assert differs_from_recorded(job, space.graph) is None


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
