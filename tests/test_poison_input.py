"""Poison input: malformed documents, broken objectives and unstorable values fail one trial
each, with the reason, and never crash a worker, the driver or a query."""

from __future__ import annotations

import datetime
import subprocess
from pathlib import Path

from farm import database, finish, queue_experiment, start_worker
from hyperopt import Trials
from objectives_for_tests import UNSTORABLE_EXTRAS

import spaces
from search.farm.proposals import Proposer


def job_like_ours(url: str, exp_key: str, tid: int) -> dict:
    """A proposal as our driver would queue it, to be damaged by the test."""
    proposer = Proposer(exp_key, spaces.load_space("default").graph, seed=tid, startup_trials=5)
    return {**proposer.propose(tid), "exp_key": exp_key, "state": 0}


def damaged_jobs(url: str, exp_key: str) -> dict[str, dict]:
    good = job_like_ours(url, exp_key, 100)
    vals_not_numbers = {**good["misc"], "vals": {**good["misc"]["vals"], "lr": ["abc"]}}
    choice_out_of_range = {**good["misc"], "vals": {**good["misc"]["vals"], "optimizer": [99]}}
    return {
        "tid not an int": {**good, "tid": "seven"},
        "no misc": {key: value for key, value in good.items() if key != "misc"},
        "misc.vals not numbers": {**good, "tid": 101, "misc": vals_not_numbers},
        "choice out of range": {**good, "tid": 102, "misc": choice_out_of_range},
        "attempt not a count": {**good, "tid": 103, "attempt": "x"},
        "misc a string": {**good, "tid": 104, "misc": "oops"},
    }


def test_malformed_jobs_fail_with_the_reason_and_the_worker_carries_on(mongo_url,
                                                                       hpsearch) -> None:
    queue_experiment(mongo_url, "poisoned", "noop", 2)
    db = database(mongo_url)
    damaged = damaged_jobs(mongo_url, "poisoned")
    db.jobs.insert_many([{**job, "_id": f"poisoned/bad/{name}"} for name, job in damaged.items()])
    code, output = finish(start_worker(hpsearch, mongo_url, "--idle-timeout", "3"))
    assert code == 0, output
    for name in damaged:
        job = db.jobs.find_one({"_id": f"poisoned/bad/{name}"})
        assert job["state"] == 2, name
        assert job["result"]["status"] == "fail", name
        assert job["result"]["reason"] == "malformed job", (name, job["result"])
    good = list(db.jobs.find({"exp_key": "poisoned", "tid": {"$in": [0, 1]}}))
    assert [job["result"]["status"] for job in good] == ["ok", "ok"]
    for command in ("best", "status", "trials", "export", "experiments"):
        completed = hpsearch(command, "--store", mongo_url)
        assert completed.returncode == 0, (command, completed.stderr)
        assert "Traceback" not in completed.stderr


def test_malformed_workers_experiments_and_jobs_do_not_crash_driver_status_or_best(
        mongo_url, hpsearch) -> None:
    queue_experiment(mongo_url, "mixed", "noop", 1)
    db = database(mongo_url)
    db.workers.insert_many([
        {"_id": "no-time", "host": "h", "state": "idle"},
        {"_id": "time-as-text", "last_seen": "yesterday", "state": 3},
        {"_id": "odd-fields", "last_seen": datetime.datetime.now(datetime.UTC),
         "host": 5, "device": None, "state": ["busy"], "exp_key": 7, "tid": "x",
         "jobs_done": "many"},
        {"_id": 42, "last_seen": datetime.datetime.now(datetime.UTC)},
    ])
    db.experiments.insert_many([{"_id": "broken", "space": "not a record"},
                                {"_id": "half", "exp_key": "half", "objective": "noop"}])
    db.jobs.insert_one({**job_like_ours(mongo_url, "mixed", 50), "_id": "mixed/bad",
                        "tid": "fifty"})
    driver = hpsearch.start("search", "--store", mongo_url, "--exp-key", "mixed", "--objective",
                            "noop", "--epochs", "1", "--min-accuracy", "0", "--max-evals", "3",
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    code, output = finish(start_worker(hpsearch, mongo_url, "--exp-key", "mixed",
                                       "--idle-timeout", "15"))
    assert code == 0, output
    stdout, stderr = driver.communicate(timeout=300)
    assert driver.returncode == 0, stderr
    assert db.jobs.count_documents({"exp_key": "mixed", "result.status": "ok"}) == 3
    assert db.jobs.find_one({"_id": "mixed/bad"})["result"]["reason"] == "malformed job"
    for command in ("status", "best", "experiments", "trials"):
        completed = hpsearch(command, "--store", mongo_url, *(
            ["--exp-key", "mixed"] if command in ("best", "trials") else []))
        assert completed.returncode == 0, (command, completed.stderr)
        assert "Traceback" not in completed.stderr
    status = hpsearch("status", "--store", mongo_url).stdout
    assert "odd-fields" in status and "mixed" in status


def test_a_job_written_as_hyperopt_writes_it_is_reserved_and_run(mongo_url, hpsearch) -> None:
    """Hyperopt's MongoTrials gives jobs an ObjectId and no `attempt` field."""
    queue_experiment(mongo_url, "hyperopt", "noop", 0)
    ours = job_like_ours(mongo_url, "hyperopt", 0)
    misc = {key: value for key, value in ours["misc"].items() if key != "params"}
    (document,) = Trials(exp_key="hyperopt").new_trial_docs([0], [None], [{"status": "new"}],
                                                            [misc])
    db = database(mongo_url)
    inserted = db.jobs.insert_one(document).inserted_id
    assert "attempt" not in db.jobs.find_one({"_id": inserted})
    code, output = finish(start_worker(hpsearch, mongo_url, "--idle-timeout", "3"))
    assert code == 0, output
    job = db.jobs.find_one({"_id": inserted})
    assert job["state"] == 2 and job["result"]["status"] == "ok", job
    assert job["attempt"] == 0


def test_a_result_the_database_cannot_store_becomes_a_failed_trial(mongo_url, hpsearch) -> None:
    objective = "tests.objectives_for_tests:returns_unstorable"
    queue_experiment(mongo_url, "unstorable", objective, len(UNSTORABLE_EXTRAS))
    code, output = finish(start_worker(hpsearch, mongo_url, "--allow-objective", objective,
                                       "--idle-timeout", "3"))
    assert code == 0, output
    db = database(mongo_url)
    results = [job["result"] for job in db.jobs.find({"exp_key": "unstorable"}).sort("tid", 1)]
    assert [result["reason"] for result in results[:4]] == ["unstorable result"] * 4
    assert "8-byte ints" in results[0]["error"]
    assert "NUL" in results[1]["error"]
    assert "over the limit" in results[2]["error"]
    assert "surrogates not allowed" in results[3]["error"]
    assert results[4]["status"] == "ok"


def test_a_space_constant_the_database_cannot_store_is_refused_before_any_trial(
        mongo_url, hpsearch, tmp_path: Path) -> None:
    space = tmp_path / "big.yaml"
    space.write_text("parameters:\n"
                     "  big: {distribution: constant, value: 18446744073709551616}\n"
                     "  lr: {distribution: uniform, min: 0.1, max: 1}\n")
    completed = hpsearch("search", "--store", mongo_url, "--exp-key", "big", "--space",
                         str(space), "--objective", "noop", "--max-evals", "2")
    assert completed.returncode == 2, completed.stderr
    assert f"{space}: parameters.big.value: 18446744073709551616 is beyond the 64-bit " \
           "integers the database stores" in completed.stderr
    assert "Traceback" not in completed.stderr
    assert database(mongo_url).experiments.find_one({"_id": "big"}) is None


def test_a_broken_objective_does_not_look_like_success(tmp_path: Path, hpsearch) -> None:
    completed = hpsearch("search", "--store", str(tmp_path / "store"), "--objective", "os:getcwd",
                         "--max-evals", "2")
    assert completed.returncode == 1, completed.stderr
    assert "no trial succeeded" in completed.stderr
    assert "exception" in completed.stderr and "getcwd() takes no arguments" in completed.stderr
    assert "Traceback" not in completed.stderr


def test_the_embedded_search_stops_after_consecutive_failures(tmp_path: Path, hpsearch) -> None:
    store = str(tmp_path / "store")
    completed = hpsearch("search", "--store", store, "--objective",
                         "tests.objectives_for_tests:raises", "--max-evals", "20",
                         "--max-consecutive-failures", "3")
    assert completed.returncode == 1, completed.stderr
    assert "3 trials failed in a row" in completed.stderr
    assert "objective failed on purpose" in completed.stderr
    listed = hpsearch("trials", "--store", store, "--format", "csv").stdout.splitlines()
    assert len(listed) == 1 + 3  # the header and the three failures; nothing more was run
