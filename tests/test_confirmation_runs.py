"""Confirmation runs in a real search: repeats scheduled by the driver on either store, and
ranked by what the runs show together."""

from __future__ import annotations

import dataclasses
import json
import math
import threading
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from farm import database, start_worker, stop, wait_until
from stored_trials import record_trials, result_for

import search
from search.cli import main
from search.configurations import pool
from search.confirmation import REPEAT_OF, ConfirmationSettings, next_repeat, repeat_job
from search.store import open_store
from search.trial import Trial, trials_of

# Trials of `noop` take no time; a third of them may repeat, from the 11th configuration on.
CONFIRMING = search.SearchOptions(max_evals=16, epochs=1, min_accuracy=0.0, startup_trials=5,
                                  confirm="0.3")


def repeats_of(trials: list[Trial]) -> dict[int, int]:
    """Each repeat's tid and the tid it repeats."""
    return {trial.tid: trial.job[REPEAT_OF] for trial in trials if REPEAT_OF in trial.job}


def test_a_repeat_carries_its_link_and_its_own_seed_and_counts_toward_max_evals(
        tmp_path: Path) -> None:
    options = dataclasses.replace(CONFIRMING, store=str(tmp_path / "store"), exp_key="links")
    results = search.optimize("noop", "default", options)
    assert results.experiment.confirmation == ConfirmationSettings(fraction=0.3)
    trials = list(results.trials)
    assert [trial.tid for trial in trials] == list(range(16))  # repeats included
    links = repeats_of(trials)
    assert 1 <= len(links) <= 0.3 * 16
    for tid, original in links.items():
        repeat, first = trials[tid], trials[original]
        assert REPEAT_OF not in first.job and original < tid
        assert repeat.params == first.params
        assert repeat.job["misc"]["vals"] == first.job["misc"]["vals"]
        assert repeat.job["result"]["seed"] == tid != first.job["result"]["seed"]
        assert repeat.job["avoid_worker"] == first.worker  # on a farm, others go first
    configurations = pool(trials, options.min_accuracy)
    assert len(configurations) == 16 - len(links)
    assert max(configuration.runs for configuration in configurations) >= 2


def test_a_worker_never_reserves_ahead_the_repeat_it_should_leave_to_others(
        mongo_url: str) -> None:
    """Reserving ahead, a worker is busy: another may well take its trial's repeat. Idle, it
    takes the repeat itself (a preference, never a wait)."""
    record_trials(mongo_url, "avoid", [], queued=2)
    database(mongo_url).jobs.update_many({"exp_key": "avoid"}, {"$set": {"avoid_worker": "w1"}})
    store = open_store(mongo_url)
    try:
        assert store.reserve_next_job("w1", ["avoid"], ahead=True) is None
        assert store.reserve_next_job("w2", ["avoid"], ahead=True) is not None
        assert store.reserve_next_job("w1", ["avoid"]) is not None
    finally:
        store.close()


def test_a_resume_keeps_the_recorded_schedule(tmp_path: Path) -> None:
    first = dataclasses.replace(CONFIRMING, store=str(tmp_path / "store"), exp_key="resume",
                                max_evals=12)
    search.optimize("noop", "default", first)
    # The resume asks for no confirmation: the experiment keeps what it recorded.
    with pytest.warns(search.RecordedChoiceKept, match="keeps its recorded confirm"):
        resumed = search.optimize("noop", "default",
                                  dataclasses.replace(first, max_evals=18, confirm="none"))
    settings = resumed.experiment.confirmation
    assert settings == ConfirmationSettings(fraction=0.3)
    trials = list(resumed.trials)
    assert repeats_of(trials)  # (whether one falls after the resume depends on measured times)
    # One trial in flight: each trial was decided from the finished ones before it, and the
    # same history gives the same decision, across the resume too.
    for trial in trials:
        leader = next_repeat(trials[:trial.tid], first.min_accuracy, settings)
        assert trial.job.get(REPEAT_OF) == (None if leader is None else leader.tid)


def test_confirm_none_never_repeats(tmp_path: Path) -> None:
    options = dataclasses.replace(CONFIRMING, store=str(tmp_path / "store"), exp_key="off",
                                  confirm="none")
    results = search.optimize("noop", "default", options)
    assert not results.experiment.confirmation.enabled
    assert repeats_of(list(results.trials)) == {}


def test_a_bad_confirm_option_is_one_clear_error(tmp_path: Path) -> None:
    outcome = CliRunner().invoke(main, ["search", "--store", str(tmp_path / "store"),
                                        "--objective", "noop", "--confirm", "lots"])
    assert outcome.exit_code != 0
    assert "takes 'none', 'default' or a fraction" in outcome.output
    assert "Traceback" not in outcome.output


def test_a_lucky_run_below_the_floor_never_heads_best_once_its_repeat_lands(
        store_location: str) -> None:
    # Trial 1 is lucky: the fastest, above the floor (0.5). Its repeat lands far below it.
    record_trials(store_location, "lucky", [(0.9, 1.0), (0.6, 0.05), (0.8, 0.5)])
    assert best_tids(store_location, "lucky") == [1, 2, 0]
    store = open_store(store_location)
    try:
        original = store.jobs("lucky", [1])[0]
        store.queue_jobs([repeat_job(original, 3)])
        reservation = store.reserve_next_job("worker-b", ["lucky"])
        assert reservation is not None and reservation.tid == 3
        assert store.finish_job(reservation, result_for((0.3, 0.06), "worker-b"))
    finally:
        store.close()
    assert best_tids(store_location, "lucky") == [2, 0, 1]  # mean accuracy 0.45: below
    rows = json.loads(run_cli("best", store_location, "lucky"))
    assert [row["tid"] for row in rows] == [2, 0, 1]
    assert rows[2]["runs"] == 2 and rows[2]["below_floor"] is True
    assert rows[2]["accuracy"] == pytest.approx(0.45) and rows[2]["tids"] == "1,3"
    assert rows[2]["accuracy_spread"] == pytest.approx(math.sqrt(2) * 0.15)
    assert rows[2]["test_accuracy"] is None  # these runs recorded none
    front = json.loads(run_cli("pareto", store_location, "lucky"))
    assert [row["tid"] for row in front] == [2, 0]
    trials = json.loads(run_cli("trials", store_location, "lucky"))
    assert [row["tid"] for row in trials] == [0, 1, 2, 3]  # single runs stay visible
    assert [row["repeat_of"] for row in trials] == [None, None, None, 1]


def test_a_farm_worker_leaves_a_repeat_of_its_own_trial_to_another(mongo_dialect: str,
                                                                   mongo_url: str) -> None:
    # record_trials finishes trial 0 on worker-a and trial 1 on worker-b.
    record_trials(mongo_url, "elsewhere", [(0.9, 1.0), (0.8, 1.0)])
    store = open_store(mongo_url)
    try:
        first, second = store.jobs("elsewhere", [0, 1])
        store.queue_jobs([repeat_job(first, 2), repeat_job(second, 3)])
        taken = store.reserve_next_job("worker-a", ["elsewhere"])
        assert taken is not None and taken.tid == 3  # not the older repeat of its own trial
        taken = store.reserve_next_job("worker-b", ["elsewhere"])
        assert taken is not None and taken.tid == 2
        # With no other job left, a worker still runs a repeat of its own trial.
        store.queue_jobs([repeat_job(first, 4)])
        taken = store.reserve_next_job("worker-a", ["elsewhere"])
        assert taken is not None and taken.tid == 4
    finally:
        store.close()


def best_tids(location: str, exp_key: str) -> list[int]:
    return [configuration.tid for configuration in search.results(location, exp_key).best()]


def run_cli(command: str, location: str, exp_key: str) -> str:
    outcome = CliRunner().invoke(main, [command, "--store", location, "--exp-key", exp_key,
                                        "--format", "json"])
    assert outcome.exit_code == 0, outcome.output
    return outcome.output


def test_repeats_on_two_workers_are_counted_once_per_run_and_pooled_once_per_configuration(
        mongo_url: str, hpsearch: Any) -> None:
    options = dataclasses.replace(CONFIRMING, store=mongo_url, exp_key="two-workers",
                                  max_evals=20)
    returned: list[search.ExperimentResults] = []
    driver = threading.Thread(target=lambda: returned.append(
        search.optimize("noop", "default", options)))
    driver.start()
    wait_until(lambda: database(mongo_url).experiments.find_one({"_id": "two-workers"})
               is not None, 120, "the driver recorded the experiment")
    workers = [start_worker(hpsearch, mongo_url, "--exp-key", "two-workers") for _ in range(2)]
    driver.join(timeout=600)
    for worker in workers:
        code, output = stop(worker)
        assert code == 0, output
    assert not driver.is_alive()
    (results,) = returned
    trials = trials_of(database(mongo_url).jobs.find({"exp_key": "two-workers"}))
    assert [trial.tid for trial in trials] == list(range(20))
    assert all(trial.state == "ok" for trial in trials)
    links = repeats_of(trials)
    assert links
    configurations = pool(trials, options.min_accuracy)
    assert sum(configuration.runs for configuration in configurations) == 20
    assert len(configurations) == 20 - len(links)
    for tid, original in links.items():
        (configuration,) = [c for c in configurations if tid in {t.tid for t in c.trials}]
        assert configuration.tid == original
    best = results.best(20)
    assert len(best) == len(configurations) and len({c.key for c in best}) == len(best)
