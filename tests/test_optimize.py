"""`search.optimize`, the library's entry point: a search launched or resumed from Python, on
either store, returning what `search.results` reads."""

from __future__ import annotations

import dataclasses
import math
import os
import threading
from pathlib import Path
from typing import Any

import pytest
from farm import database, start_worker, stop, wait_until

import objectives
import search
import spaces
from search import InvalidSearchOptions, SearchOptions

QUICK = {"epochs": 1, "min_accuracy": 0.0}


def peaked_at_lr_0_01(params: dict[str, Any], trial: objectives.TrialContext) -> dict[str, Any]:
    """A plain function objective of the caller's: best at a learning rate of 0.01."""
    with trial.timed():
        distance = (math.log10(params["lr"]) + 2) ** 2
    return {"accuracy": 1 / (1 + distance), "distance": distance}


def fails(params: dict[str, Any], trial: objectives.TrialContext) -> dict[str, Any]:
    raise RuntimeError("fails on purpose")


def test_an_embedded_search_by_name_returns_what_results_reads(tmp_path: Path) -> None:
    store = str(tmp_path / "store")
    seen: list[search.SearchProgress] = []
    results = search.optimize("noop", "default",
                              SearchOptions(store=store, exp_key="named", max_evals=3, **QUICK),
                              on_progress=seen.append)
    assert [trial.state for trial in results.trials] == ["ok"] * 3
    assert results.experiment.objective == "noop" and results.experiment.max_evals == 3
    assert results == search.results(store, "named")
    finished = [progress.finished for progress in seen]
    assert finished[0] == 0 and finished[-1] == 3 and finished == sorted(finished)
    assert seen[0].best is None and seen[-1].best == results.best(1)[0]  # as best ranks


def test_a_function_objective_runs_embedded_and_resumes_to_the_new_target(tmp_path: Path
                                                                           ) -> None:
    options = SearchOptions(store=str(tmp_path / "store"), exp_key="function", max_evals=3,
                            startup_trials=2, **QUICK)
    first = search.optimize(peaked_at_lr_0_01, spaces.load_space("default"), options)
    assert first.experiment.objective.endswith(":peaked_at_lr_0_01")
    assert all(trial.state == "ok" for trial in first.trials)
    resumed = search.optimize(peaked_at_lr_0_01, "default",
                              dataclasses.replace(options, max_evals=5))
    assert [trial.tid for trial in resumed.trials] == [0, 1, 2, 3, 4]
    assert resumed.trials[:3] == first.trials  # the first run's trials, kept as they were
    (best,) = resumed.best(1)
    assert best.accuracy == pytest.approx(1 / (1 + best.trials[0].job["result"]["distance"]))


def test_a_search_whose_trials_all_fail_raises_search_failed(tmp_path: Path) -> None:
    options = SearchOptions(store=str(tmp_path / "store"), max_evals=2, **QUICK)
    with pytest.raises(search.SearchFailed, match="no trial succeeded.*fails on purpose"):
        search.optimize(fails, "default", options)
    assert [t.reason for t in search.results(options.store, "default").trials] == [
        objectives.Reason.EXCEPTION] * 2


def test_an_embedded_search_stops_after_its_consecutive_failures(tmp_path: Path) -> None:
    options = SearchOptions(store=str(tmp_path / "store"), max_evals=10,
                            max_consecutive_failures=2, **QUICK)
    with pytest.raises(search.SearchFailed, match="2 trials failed in a row"):
        search.optimize(fails, "default", options)
    assert len(search.results(options.store, "default").trials) == 2


def test_options_no_search_can_run_with_are_refused(tmp_path: Path) -> None:
    with pytest.raises(InvalidSearchOptions, match="max_evals"):
        SearchOptions(max_evals=0)
    with pytest.raises(InvalidSearchOptions, match="unknown algo 'best'"):
        SearchOptions(algo="best")
    with pytest.raises(InvalidSearchOptions, match="stale_after"):
        search.optimize("noop", "default", SearchOptions(
            store=str(tmp_path / "store"), stale_after=1.0, heartbeat_interval=2.0))
    with pytest.raises(objectives.ObjectiveError, match="epochs"):
        search.optimize("noop", "default", SearchOptions(store=str(tmp_path / "store"),
                                                         epochs=0))


def test_a_farm_refuses_a_function_objective_before_writing_anything(mongo_url: str) -> None:
    with pytest.raises(objectives.ObjectiveError, match="by name"):
        search.optimize(peaked_at_lr_0_01, "default", SearchOptions(store=mongo_url))
    assert database(mongo_url).experiments.count_documents({}) == 0


def test_a_farm_search_runs_on_a_worker_process_and_returns_its_results(mongo_url: str,
                                                                        hpsearch) -> None:
    returned: list[search.ExperimentResults] = []
    options = SearchOptions(store=mongo_url, exp_key="farm", max_evals=4, startup_trials=2,
                            **QUICK)
    driver = threading.Thread(target=lambda: returned.append(
        search.optimize("noop", "default", options)))
    driver.start()
    wait_until(lambda: database(mongo_url).experiments.find_one({"_id": "farm"}) is not None,
               120, "the driver recorded the experiment")
    worker = start_worker(hpsearch, mongo_url, "--exp-key", "farm")
    driver.join(timeout=300)
    code, output = stop(worker)
    assert code == 0, output
    assert not driver.is_alive()
    (results,) = returned
    assert [trial.state for trial in results.trials] == ["ok"] * 4
    (ran_them,) = {trial.worker for trial in results.trials}
    assert ran_them.endswith(":cpu") and f":{os.getpid()}:" not in ran_them  # the worker did
    assert results == search.results(mongo_url, "farm")
