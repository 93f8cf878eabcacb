"""The notebook API: an experiment's trials as typed views, on either store."""

from __future__ import annotations

import pandas
import pytest
from stored_trials import record_trials

import search
from search.store import opened_store

OUTCOMES = [(0.9, 0.1), (0.95, 0.5), (0.4, 0.01), None, (0.99, 2.0), (0.8, 0.05)]


def test_results_hold_typed_trials_with_the_best_and_the_front(store_location: str) -> None:
    record_trials(store_location, "api", OUTCOMES, queued=1)
    results = search.results(store_location, "api")
    assert results.experiment.exp_key == "api"
    assert [trial.state for trial in results.trials] == ["ok"] * 3 + ["failed"] + ["ok"] * 2 \
        + ["queued"]
    best = results.best(2)
    assert [trial.tid for trial in best] == [5, 0]  # 16/s, then 9/s
    assert best[0].score == pytest.approx(0.8 / 0.05)
    assert best[0].accuracy == 0.8 and best[0].train_seconds == 0.05
    assert best[0].params["optimizer"]["name"] in ("adamw", "sgd")
    assert [trial.tid for trial in results.pareto_front()] == [5, 0, 1, 4]
    failed = results.trials[3]
    assert failed.score is None and failed.reason == "diverged"


def test_trials_dataframe_has_one_row_per_trial_and_a_column_per_hyperparameter(
        tmp_path) -> None:
    location = str(tmp_path / "store")
    record_trials(location, "frame", OUTCOMES)
    frame = search.results(location, "frame").trials_dataframe()
    assert isinstance(frame, pandas.DataFrame)
    assert list(frame.index) == list(range(len(OUTCOMES)))
    assert {"score", "accuracy", "train_seconds", "lr", "batch_size", "optimizer"} <= set(frame)
    assert frame.loc[5, "score"] == pytest.approx(0.8 / 0.05)


def test_results_of_an_unknown_experiment_name_the_known_ones(tmp_path) -> None:
    location = str(tmp_path / "store")
    record_trials(location, "known", OUTCOMES[:1])
    with pytest.raises(search.StoreError, match="known"):
        search.results(location, "unknown")


def test_a_configuration_reads_at_a_glance_and_the_api_is_listed(store_location: str) -> None:
    record_trials(store_location, "glance", [(0.9, 0.5), (0.8, 0.1)])
    best = search.results(store_location, "glance").best(1)[0]
    assert isinstance(best, search.Configuration)
    shown = repr(best)
    assert shown.startswith(f"Configuration(tid={best.tid}, runs=1, accuracy=")
    assert "key=" not in shown and "Trial(" not in shown and len(shown) < 400
    assert {"optimize", "results", "SearchOptions", "Configuration"} <= set(dir(search))


def test_a_python_callers_mistakes_are_named_before_anything_is_loaded_or_written(
        tmp_path) -> None:
    """Each as the documented exception naming what to change, never a raw TypeError from
    deep inside, and before torch loads or the store is written."""
    location = str(tmp_path / "store")
    record_trials(location, "e", [(0.9, 1.0)])
    for key in (None, 3, "a/b", ""):
        with pytest.raises(search.StoreError, match="invalid experiment key"):
            search.results(location, key)  # type: ignore[arg-type]
        if isinstance(key, str):
            with pytest.raises(search.InvalidSearchOptions, match="invalid experiment key"):
                search.SearchOptions(store=location, exp_key=key)
    with pytest.raises(search.InvalidSearchOptions, match="on_progress must be a function"):
        search.optimize("noop", "default", search.SearchOptions(store=location, exp_key="new"),
                        on_progress=5)  # type: ignore[arg-type]
    with opened_store(location) as store:
        assert [experiment.exp_key for experiment in store.experiments()] == ["e"]
    results = search.results(location, "e")
    for wrong in ("x", 2, -0.1, True):
        with pytest.raises(ValueError, match="min_accuracy keeps configurations"):
            results.best(min_accuracy=wrong)  # type: ignore[arg-type]


def test_a_second_search_on_a_key_in_use_in_this_process_is_told_so(tmp_path) -> None:
    """A notebook's earlier call still running in a thread holds the experiment."""
    location = str(tmp_path / "store")
    record_trials(location, "busy", [(0.9, 1.0)])
    with opened_store(location) as first, opened_store(location) as second:
        experiment = first.experiment("busy")
        assert experiment is not None
        first.record_experiment(experiment)  # takes the experiment's lock, as a search does
        with pytest.raises(search.StoreError, match="in use by another search .* or in this "
                                                    "one"):
            second.record_experiment(experiment)
