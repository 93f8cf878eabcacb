"""Pruning on a farm: real worker processes against the test database over TCP, each
deciding locally from the evidence the driver publishes, and going on unpruned in an outage."""

from __future__ import annotations

import datetime
import subprocess
from pathlib import Path

import pytest
from farm import database, done_jobs, queue_experiment, start_worker, stop, wait_until
from objectives_for_tests import RUN_LOG_ENV_VAR, SLEEP_ENV_VAR, SLOW_EPOCH_ENV_VAR, SPEED_SPACE

from search.pruning import Evidence
from search.store import StoreError, open_store

SPEEDY = "tests.objectives_for_tests:epochs_by_speed"
SLOW_REPORTER = "tests.objectives_for_tests:records_run_then_reports_slow_epochs"
# Evidence reaches a worker within about two seconds (search.farm.evidence); a slow trial
# that starts this long after a fast one finished must be pruned. Slow trials run 6 s.
STALENESS_ALLOWED = datetime.timedelta(seconds=5)


def test_two_workers_prune_against_each_others_results(mongo_url, hpsearch, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(hpsearch.environment, SLOW_EPOCH_ENV_VAR, "0.6")
    space = tmp_path / "speed.yaml"
    space.write_text(SPEED_SPACE)
    workers = [start_worker(hpsearch, mongo_url, "--allow-objective", SPEEDY) for _ in range(2)]
    driver = hpsearch.start("search", "--store", mongo_url, "--exp-key", "farm-pruning",
                            "--objective", SPEEDY, "--space", str(space), "--max-evals", "14",
                            "--epochs", "10", "--min-accuracy", "0", "--pruner", "bound",
                            "--startup-trials", "14",
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    _, errors = driver.communicate(timeout=300)
    assert driver.returncode == 0, errors
    outcomes = [stop(worker) for worker in workers]
    assert [code for code, _ in outcomes] == [0, 0], outcomes

    db = database(mongo_url)
    jobs = done_jobs(db, "farm-pruning")
    assert [job["tid"] for job in jobs] == list(range(14))  # pruned trials count
    assert all(job["result"]["status"] == "ok" for job in jobs)
    pruned = [job for job in jobs if job["result"].get("pruned")]
    whole = [job for job in jobs if not job["result"].get("pruned")]
    best = max(-job["result"]["loss"] for job in whole)
    first_fast = min(job["refresh_time"] for job in whole
                     if job["misc"]["params"]["speed"] == "fast")
    late_slow = [job for job in jobs if job["misc"]["params"]["speed"] == "slow"
                 and job["book_time"] > first_fast + STALENESS_ALLOWED]
    assert all(job["result"].get("pruned") for job in late_slow), late_slow
    assert any(job["misc"]["params"]["speed"] == "slow" for job in pruned), jobs
    for job in pruned:  # each decision was exact against a score some worker had reached
        result = job["result"]
        assert result["score_bound"] < best and result["pruner"] == "bound"
        assert len(result["val_accuracy_per_epoch"]) == result["epochs"] < 10
    published = db.pruning.find_one({"_id": "farm-pruning"})
    assert published["evidence"]["incumbent"] == pytest.approx(best)


def test_an_outage_during_a_trial_means_no_pruning_and_no_failure(
        mongo_server, mongo_url, hpsearch, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    mongo_server.require_restartable()
    run_log = tmp_path / "runs.log"
    monkeypatch.setitem(hpsearch.environment, RUN_LOG_ENV_VAR, str(run_log))
    monkeypatch.setitem(hpsearch.environment, SLEEP_ENV_VAR, "2.5")  # per epoch
    queue_experiment(mongo_url, "pruning-outage", SLOW_REPORTER, 1, epochs=4, pruner="bound")
    store = open_store(mongo_url)
    try:  # evidence that would stop the trial at its second epoch, could the worker read it
        store.publish_pruning_evidence("pruning-outage", Evidence(incumbent=1e9).to_document())
    finally:
        store.close()
    worker = start_worker(hpsearch, mongo_url, "--allow-objective", SLOW_REPORTER)
    wait_until(run_log.exists, 120, "the trial runs")
    mongo_server.stop()
    db = database(mongo_url)
    try:
        wait_until(lambda: "accuracy" in _spooled(hpsearch), 120,
                   "the finished result is in the worker's spool")
    finally:
        mongo_server.start()
    wait_until(lambda: done_jobs(db, "pruning-outage"), 120, "the result is stored")
    code, output = stop(worker)
    assert code == 0, output
    (job,) = done_jobs(db, "pruning-outage")
    result = job["result"]
    assert result["status"] == "ok" and "pruned" not in result and result["attempt"] == 0
    assert result["val_accuracy_per_epoch"] == [0.9] * 4
    assert "pruning evidence unreadable" in output


def _spooled(hpsearch) -> str:  # type: ignore[no-untyped-def]
    root = Path(hpsearch.environment["HPSEARCH_SPOOL_DIR"])
    texts = (path.read_text() for path in root.glob("*/*.jsonl"))
    return "".join(text for text in texts if '"pruning-outage"' in text)


def test_evidence_past_what_one_document_holds_is_refused_before_it_is_sent(
        mongo_url: str) -> None:
    """pymongo sends up to 16 KiB past the 16 MiB a server takes; the store refuses it first,
    as a StoreError the driver goes on after (tests/test_pruning_rules.py)."""
    store = open_store(mongo_url)
    try:
        with pytest.raises(StoreError, match="more than one document"):
            store.publish_pruning_evidence("e", {"curves": [[0.5] * 20] * 100_000})
        assert store.pruning_evidence("e") is None
    finally:
        store.close()
