"""The embedded search end to end: a real TPE search on digits, resumable after SIGKILL."""

from __future__ import annotations

import json
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

import pytest
from farm import wait_until

import search
from search.documents import is_finished
from search.store import open_store

EPOCHS = "4"


def finished_jobs(store: Path, exp_key: str) -> list[dict]:
    opened = open_store(str(store))
    try:
        return [job for job in opened.jobs(exp_key) if is_finished(job)]
    finally:
        opened.close()


@pytest.fixture(scope="module")
def twenty_trial_search(tmp_path_factory: pytest.TempPathFactory, hpsearch) -> Path:
    store = tmp_path_factory.mktemp("store")
    # --pruner none: these tests measure the proposals and the scores of whole trials; how a
    # search prunes is tests/test_pruning_search.py's, on timings it controls.
    completed = hpsearch("search", "--store", str(store), "--exp-key", "twenty",
                         "--max-evals", "20", "--epochs", EPOCHS, "--min-accuracy", "0.5",
                         "--pruner", "none")
    assert completed.returncode == 0, completed.stderr
    return store


def test_twenty_trial_search_beats_median_of_its_random_startup(twenty_trial_search: Path) -> None:
    jobs = finished_jobs(twenty_trial_search, "twenty")
    assert sorted(job["tid"] for job in jobs) == list(range(20))
    losses = {job["tid"]: job["result"]["loss"] for job in jobs if job["result"]["status"] == "ok"}
    startup_median = statistics.median(losses[tid] for tid in range(10) if tid in losses)
    # The trials TPE proposed (after the 10 random startup trials), not the startup's own best.
    assert min(losses[tid] for tid in range(10, 20) if tid in losses) < startup_median


def test_every_trial_scores_accuracy_per_training_second(twenty_trial_search: Path) -> None:
    for job in finished_jobs(twenty_trial_search, "twenty"):
        result = job["result"]
        if result["status"] != "ok":
            continue
        assert 0.0 <= result["accuracy"] <= 1.0
        assert result["train_seconds"] > 0
        if result["accuracy"] >= 0.5:
            assert result["loss"] == pytest.approx(-result["accuracy"] / result["train_seconds"])
        else:
            assert result["loss"] == 0.0
        assert job["misc"]["params"]["batch_size"] % 32 == 0
        assert result["worker"] and result["device"] == "cpu"


def test_best_json_is_machine_readable(twenty_trial_search: Path, hpsearch) -> None:
    completed = hpsearch("best", "--store", str(twenty_trial_search), "--exp-key",
                                "twenty", "-n", "3", "--format", "json")
    assert completed.returncode == 0, completed.stderr
    rows = json.loads(completed.stdout)
    assert len(rows) == 3
    # Configurations, ranked by what their runs show together (docs/confirmation.md).
    best = search.results(str(twenty_trial_search), "twenty").best(3)
    assert [row["tid"] for row in rows] == [configuration.tid for configuration in best]
    assert [row["lower_bound"] for row in rows] == [c.lower_bound for c in best]
    floors = [row["below_floor"] for row in rows]
    assert floors == sorted(floors)  # below the floor by mean accuracy: last
    assert {"lr", "batch_size", "weight_decay", "optimizer", "accuracy", "train_seconds",
            "runs", "accuracy_spread", "seconds_spread"} <= set(rows[0])


def test_search_killed_with_sigkill_resumes_to_exactly_max_evals(tmp_path: Path, hpsearch) -> None:
    arguments = ["search", "--store", str(tmp_path), "--exp-key", "killed", "--max-evals", "12",
                 "--epochs", "30"]
    process = hpsearch.start(*arguments, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    journal = tmp_path / "killed" / "jobs.jsonl"
    while time.monotonic() < deadline:
        if journal.exists() and journal.read_text().count('"state": 2') >= 3:
            break
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    done_before = {job["tid"] for job in finished_jobs(tmp_path, "killed")}
    assert 3 <= len(done_before) < 12

    completed = hpsearch(*arguments)
    assert completed.returncode == 0, completed.stderr
    jobs = finished_jobs(tmp_path, "killed")
    tids = [job["tid"] for job in jobs]
    assert sorted(tids) == list(range(12))
    for job in jobs:
        if job["tid"] in done_before:
            assert job["attempt"] == 0  # finished trials were kept, not rerun


def test_same_seed_proposes_the_same_startup_trials(tmp_path: Path, hpsearch) -> None:
    def proposals(exp_key: str, seed: str) -> list[dict]:
        completed = hpsearch("search", "--store", str(tmp_path), "--exp-key", exp_key,
                             "--max-evals", "4", "--objective", "noop", "--seed", seed)
        assert completed.returncode == 0, completed.stderr
        return [job["misc"]["vals"] for job in finished_jobs(tmp_path, exp_key)]

    seven = proposals("a", "7")  # the objective does not matter: what is proposed does
    assert len(seven) == 4 and seven == proposals("b", "7")
    assert seven != proposals("c", "8")


def test_a_finished_search_shows_its_own_worker_as_stopped(twenty_trial_search: Path,
                                                           hpsearch) -> None:
    completed = hpsearch("status", "--store", str(twenty_trial_search))
    assert completed.returncode == 0, completed.stderr
    (worker_line,) = [line for line in completed.stdout.splitlines() if "worker " in line]
    assert " stopped " in worker_line and " lost " not in worker_line


def _as_from_a_terminal() -> None:
    for stop in (signal.SIGINT, signal.SIGHUP):
        signal.signal(stop, signal.SIG_DFL)


@pytest.mark.parametrize(("signum", "exit_code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143),
                                                  (signal.SIGHUP, 129)])
def test_an_interrupted_search_hands_its_running_trial_back(tmp_path: Path, hpsearch,
                                                            signum: int, exit_code: int) -> None:
    """Ctrl-C, a `kill` or a closed terminal is a stop: the trial goes back to the queue at
    once instead of staying `running` until a resume counts it as a dead attempt. Started as
    from a terminal, whatever this test run ignores."""
    runs = tmp_path / "runs.log"
    arguments = ["search", "--store", str(tmp_path / "store"), "--exp-key", "stopped",
                 "--objective", "tests.objectives_for_tests:records_run_then_sleeps",
                 "--max-evals", "2", "--epochs", "1", "--max-attempts", "1"]
    hpsearch.environment.update(HPSEARCH_TEST_RUN_LOG=str(runs), HPSEARCH_TEST_SLEEP="600")
    process = hpsearch.start(*arguments, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             preexec_fn=_as_from_a_terminal)
    wait_until(lambda: runs.exists() and bool(runs.read_text()), 120, "trial 0 started")
    process.send_signal(signum)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == exit_code, stderr
    assert "goes back to the queue" in stderr and "Traceback" not in stderr
    opened = open_store(str(tmp_path / "store"))
    try:
        assert [job["state"] for job in opened.jobs("stopped")] == [0], "queued, not running"
    finally:
        opened.close()

    hpsearch.environment["HPSEARCH_TEST_SLEEP"] = "0"
    completed = hpsearch(*arguments)
    assert completed.returncode == 0, completed.stderr
    jobs = finished_jobs(tmp_path / "store", "stopped")
    assert [job["result"]["status"] for job in jobs] == ["ok", "ok"], "not abandoned"


# Runs `hpsearch` in this process, sending itself SIGTERM as the third reservation is made:
# the moment between the store's write and the worker's learning of it.
TERM_AS_THE_THIRD_JOB_IS_RESERVED = """
import os, signal, sys
from search.cli import main
from search.store._embedded import EmbeddedStore

original, made = EmbeddedStore.reserve_next_job, []

def reserve(store, *args, **options):
    reservation = original(store, *args, **options)
    made.append(reservation)
    if len(made) == 3:
        os.kill(os.getpid(), signal.SIGTERM)
    return reservation

EmbeddedStore.reserve_next_job = reserve
main.main(sys.argv[1:], prog_name="hpsearch")
"""


def test_a_stop_as_a_job_is_reserved_hands_that_job_back(tmp_path: Path, hpsearch) -> None:
    arguments = ["search", "--store", str(tmp_path / "store"), "--exp-key", "reserved",
                 "--objective", "noop", "--max-evals", "5", "--max-attempts", "1"]
    stopped = subprocess.run([sys.executable, "-c", TERM_AS_THE_THIRD_JOB_IS_RESERVED,
                              *arguments], capture_output=True, text=True, timeout=300,
                             env=hpsearch.environment)
    assert stopped.returncode == 143, stopped.stderr
    completed = hpsearch(*arguments)
    assert completed.returncode == 0, completed.stderr
    jobs = finished_jobs(tmp_path / "store", "reserved")
    assert [job["result"]["status"] for job in jobs] == ["ok"] * 5, "none abandoned"
