"""Pruning in a whole search: the experiment's pruner stops trials where they report epochs,
and the pruned trials are finished trials that the queries leave out unless asked."""

from __future__ import annotations

import dataclasses
import datetime
import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from objectives_for_tests import SPEED_SPACE

import search
import spaces
from search import SearchOptions
from search.cli import main
from search.farm.proposals import Proposer
from search.pruning import DEFAULT_PRUNER
from search.store import opened_store

OBJECTIVE = "tests.objectives_for_tests:epochs_by_speed"


def speed_space(tmp_path: Path) -> str:
    path = tmp_path / "speed.yaml"
    path.write_text(SPEED_SPACE)
    return str(path)


def pruning_options(tmp_path: Path, **changes: object) -> SearchOptions:
    options = SearchOptions(store=str(tmp_path / "store"), exp_key="speed", max_evals=8,
                            epochs=10, min_accuracy=0.0, startup_trials=8, pruner="bound")
    return dataclasses.replace(options, **changes)


@pytest.fixture(scope="module")
def pruned_search(tmp_path_factory: pytest.TempPathFactory
                  ) -> tuple[str, search.ExperimentResults]:
    """An embedded search whose slow trials are pruned: its store, and its results."""
    tmp_path = tmp_path_factory.mktemp("pruned")
    options = pruning_options(tmp_path)
    return options.store, search.optimize(OBJECTIVE, speed_space(tmp_path), options)


def test_an_embedded_search_prunes_what_cannot_win_and_counts_it(
        pruned_search: tuple[str, search.ExperimentResults]) -> None:
    _, results = pruned_search
    trials = results.trials
    assert len(trials) == 8 and all(t.state in ("ok", "pruned") for t in trials)  # max_evals
    first_fast = min(t.tid for t in trials if t.params["speed"] == "fast")
    late_slow = [t for t in trials if t.params["speed"] == "slow" and t.tid > first_fast]
    assert late_slow, "the seed must draw a slow trial after a fast one"
    for trial in late_slow:  # one at a time: each saw a finished fast trial's score
        result = trial.job["result"]
        assert trial.state == "pruned" and result["status"] == "ok" and result["pruned"]
        assert result["loss"] == 0.0 and result["pruner"] == "bound"
        assert result["epochs"] == 2 and result["epochs_planned"] == 10
        assert result["val_accuracy_per_epoch"] == [0.9, 0.9]
        assert trial.accuracy == 0.9 and trial.train_seconds >= 2 * 0.15 * 0.999  # 2 epochs
        assert trial.reason.startswith("bound: at most")
    pruned = {t.tid for t in trials if t.pruned}
    assert not pruned & {t.tid for t in results.best(8)}
    assert not pruned & {t.tid for t in results.pareto_front(below_floor=True)}
    assert pruned <= {t.tid for t in results.best(8, include_pruned=True)}
    assert_hyperopt_reads_every_job([trial.job for trial in trials])


def assert_hyperopt_reads_every_job(jobs: list[dict]) -> None:
    """Hyperopt's own Trials takes the documents as they are stored (its schema check on
    insert, refresh's filter on state), pruned ones as finished trials with the worst loss."""
    from hyperopt import STATUS_OK, Trials

    trials = Trials(exp_key=jobs[0]["exp_key"])
    fields = ("state", "tid", "spec", "result", "misc", "exp_key", "owner", "version",
              "book_time", "refresh_time")
    trials.insert_trial_docs([{key: job.get(key) for key in fields} for job in jobs])
    trials.refresh()
    assert len(trials.trials) == len(jobs)
    assert trials.statuses() == [STATUS_OK] * len(jobs)
    pruned = [job["result"]["loss"] for job in jobs if job["result"].get("pruned")]
    assert pruned and all(loss == 0.0 for loss in pruned)


def test_the_commands_leave_pruned_trials_out_of_best_and_pareto_unless_asked(
        pruned_search: tuple[str, search.ExperimentResults]) -> None:
    store, results = pruned_search
    pruned = sorted(t.tid for t in results.trials if t.pruned)

    def tids(*args: str) -> list[int]:
        outcome = CliRunner().invoke(main, [*args, "--store", store, "--exp-key", "speed",
                                            "--format", "json"])
        assert outcome.exit_code == 0, outcome.output
        return sorted(row["tid"] for row in json.loads(outcome.output))

    assert tids("trials", "--state", "pruned") == pruned
    assert not set(pruned) & set(tids("best", "-n", "8"))
    assert set(pruned) <= set(tids("best", "-n", "8", "--include-pruned"))
    assert not set(pruned) & set(tids("pareto", "--below-floor"))
    status = CliRunner().invoke(main, ["status", "--store", store, "--exp-key", "speed"])
    assert f"{len(pruned)} pruned" in status.output and "8/8 finished" in status.output


def test_the_pruner_is_recorded_and_kept_on_resume_like_the_algorithm(tmp_path: Path) -> None:
    options = pruning_options(tmp_path, max_evals=2, epochs=1)
    first = search.optimize(OBJECTIVE, speed_space(tmp_path), options)
    assert first.experiment.pruner == "bound"
    with pytest.warns(search.RecordedChoiceKept, match="keeps its recorded pruner"):
        resumed = search.optimize(OBJECTIVE, speed_space(tmp_path),
                                  dataclasses.replace(options, max_evals=3, pruner="none"))
    assert resumed.experiment.pruner == "bound" and len(resumed.trials) == 3
    assert SearchOptions().pruner == DEFAULT_PRUNER


def test_max_train_seconds_stops_the_search_once_its_trials_have_spent_it(tmp_path: Path
                                                                          ) -> None:
    options = pruning_options(tmp_path, max_evals=100, pruner="none", max_train_seconds=2.0)
    seen: list[float] = []
    results = search.optimize(OBJECTIVE, speed_space(tmp_path), options,
                              on_progress=lambda progress: seen.append(progress.train_seconds))
    seconds = [trial.train_seconds for trial in results.trials]
    assert len(seconds) < 100 and all(t.state == "ok" for t in results.trials)
    assert sum(seconds) >= 2.0 > sum(seconds[:-1])  # one trial at a time: none after the budget
    assert seen[-1] == sum(seconds)
    resumed = search.optimize(OBJECTIVE, speed_space(tmp_path), options)
    assert len(resumed.trials) == len(seconds)  # a resume counts the seconds already spent


def test_a_search_that_spent_its_budget_reads_as_done_not_stalled(tmp_path: Path) -> None:
    """The budget is recorded with the experiment, as max_evals is: `status` and the dashboard
    count no trial left once it is spent, so the pace does not fall as a stalled farm's does,
    and a resume's own budget (or none) replaces it."""
    from search.dashboard._data import experiment_summary
    from search.reports import queries

    options = pruning_options(tmp_path, max_evals=100, pruner="none", max_train_seconds=1.0)
    results = search.optimize(OBJECTIVE, speed_space(tmp_path), options)
    spent = sum(trial.train_seconds for trial in results.trials)
    later = max(trial.finished for trial in results.trials) + datetime.timedelta(hours=1)
    with opened_store(options.store) as store:
        status = queries.experiment_status(store, "speed")
        recorded = store.experiment("speed")
    assert recorded is not None and recorded.max_train_seconds == 1.0
    assert (status.train_seconds, status.max_train_seconds) == (pytest.approx(spent), 1.0)
    counts = queries.count_by_state(results.trials)
    assert queries.pace(results.trials, queries.trials_left(recorded, counts, spent),
                        later)[1] == 0.0
    summary = experiment_summary(recorded, results.trials, [], later)
    assert (summary["seconds_left"], summary["max_train_seconds"]) == (0.0, 1.0)
    shown = CliRunner().invoke(main, ["status", "--store", str(options.store), "--exp-key",
                                      "speed"])
    assert shown.exit_code == 0, shown.output
    assert f"trained: {spent:.1f} of 1 s (the budget is spent: no new trials)" in shown.output
    search.optimize(OBJECTIVE, speed_space(tmp_path),
                    dataclasses.replace(options, max_train_seconds=None, max_evals=1))
    with opened_store(options.store) as store:
        resumed = store.experiment("speed")
    assert resumed is not None and resumed.max_train_seconds is None


def test_a_resume_whose_budget_is_spent_runs_no_trial_left_queued(tmp_path: Path) -> None:
    """A trial an interrupted run left queued waits for a bigger budget: a run that starts
    with its budget spent stops at once, rather than train it past the budget."""
    options = pruning_options(tmp_path, max_evals=100, pruner="none", max_train_seconds=1.0)
    first = search.optimize(OBJECTIVE, speed_space(tmp_path), options)
    with opened_store(options.store) as store:
        recorded = store.experiment("speed")
        assert recorded is not None
        proposer = Proposer("speed", spaces.space_from_record(recorded.space).graph, seed=1,
                            startup_trials=1000)
        store.queue_jobs([{**proposer.propose(len(first.trials)), "exp_key": "speed"}])
    resumed = search.optimize(OBJECTIVE, speed_space(tmp_path), options)
    assert [trial.state for trial in resumed.trials] == [
        *(trial.state for trial in first.trials), "queued"]


def test_the_plot_marks_pruned_trials_where_they_stopped(
        pruned_search: tuple[str, search.ExperimentResults]) -> None:
    from search.reports.plots import plot_data

    _, results = pruned_search
    pruned = [t for t in results.trials if t.pruned]
    data = plot_data(results.trials, spaces.space_from_record(results.experiment.space),
                     exp_key="speed")
    assert f"{len(pruned)} pruned" in data.title and data.counts["pruned"] == len(pruned)
    assert data.trade_off.pruned_seconds == tuple(t.train_seconds for t in pruned)
    assert not {t.tid for t in pruned} & set(data.trade_off.tids)


def test_a_search_whose_every_trial_was_pruned_says_so_and_where_they_are(tmp_path) -> None:
    result = CliRunner().invoke(main, [
        "search", "--store", str(tmp_path / "store"), "--objective",
        "tests.objectives_for_tests:stays_flat", "--epochs", "10", "--max-evals", "3"])
    assert result.exit_code == 0, result.output
    assert "3 trial(s) were pruned" in result.output and "--include-pruned" in result.output
