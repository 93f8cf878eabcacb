"""What the query commands and exports print at their edges: hyperparameters named like a
column, failures' messages, pruned-only configurations, odd values, paths and empty stores."""

from __future__ import annotations

import csv
import dataclasses
import datetime
import io
import json
from pathlib import Path
from typing import Any

import pytest
from bson import ObjectId
from click.testing import CliRunner
from farm import database
from hyperopt.base import JOB_STATE_CANCEL
from stored_trials import finished_job, record_trials

import search
from search.cli import main
from search.configurations import pool
from search.documents import utcnow
from search.experiment import Experiment
from search.reports import queries
from search.reports.output import render, render_status
from search.store import WorkerStatus, open_store
from search.trial import TRIAL_FIELDS, Trial, trials_of

FLOOR = 0.5


def invoke(*args: str) -> Any:
    return CliRunner().invoke(main, list(args))


def trial(tid: int, outcome: tuple[float, float] | None, params: dict[str, Any],
          **result: Any) -> Trial:
    job = finished_job(tid, outcome, params)
    job["result"].update(result)
    return Trial.from_job(job)


def test_a_hyperparameter_named_like_a_column_keeps_both_values() -> None:
    clashing = {"state": "x", "rank": 32, "score": 7, "lr": 0.1}
    (row,) = [trial(0, (0.9, 1.0), clashing).row()]
    assert (row["state"], row["score"]) == ("ok", 0.9)
    assert (row["params.state"], row["params.score"], row["lr"]) == ("x", 7, 0.1)
    (configuration,) = queries.configuration_rows([trial(0, (0.9, 1.0), clashing)], FLOOR)
    assert (configuration["rank"], configuration["params.rank"]) == (1, 32)
    assert (configuration["score"], configuration["params.score"]) == (0.9, 7)


def test_an_empty_mapping_constant_keeps_its_column() -> None:
    (row,) = [trial(0, (0.9, 1.0), {"lr": 0.1, "extra": {}, "opt": {"name": "sgd"}}).row()]
    assert (row["extra"], row["opt"], row["lr"]) == ({}, "sgd", 0.1)


def test_a_hyperparameter_named_pruned_runs_has_one_column_on_every_row() -> None:
    """The count of pruned runs and a hyperparameter of the same name each keep a column of
    their own on every row."""
    runs = [trial(0, (0.9, 1.0), {"pruned_runs": 0.5}),
            trial(1, (0.3, 0.5), {"pruned_runs": 0.7}, pruned=True, loss=0.0)]
    rows = queries.configuration_rows(runs, FLOOR, include_pruned=True)
    assert [row["params.pruned_runs"] for row in rows] == [0.5, 0.7]
    assert [row.get("pruned_runs") for row in rows] == [0, 1]


def test_a_failed_trials_message_and_exception_type_are_in_its_row() -> None:
    row = trial(0, None, {"lr": 0.1}, reason="exception", error="'lr2'",
                error_type="KeyError").row()
    assert (row["state"], row["reason"], row["error"], row["error_type"]) == (
        "failed", "exception", "'lr2'", "KeyError")


def test_a_configuration_whose_every_run_was_pruned_is_listed_unranked() -> None:
    trials = [trial(0, (0.9, 1.0), {"lr": 0.1}), trial(1, (0.6, 0.5), {"lr": 0.2}, pruned=True)]
    assert [configuration.tid for configuration in pool(trials, FLOOR)] == [0]
    rows = queries.configuration_rows(trials, FLOOR)
    assert [(row["tid"], row["rank"], row["pruned"]) for row in rows] == [
        (0, 1, False), (1, None, True)]
    pooled = queries.configuration_rows(trials, FLOOR, include_pruned=True)
    assert [(row["tid"], row["pruned"]) for row in pooled] == [(1, True), (0, False)]


def test_a_line_break_in_a_value_does_not_break_the_table() -> None:
    table = render([{"tid": 0, "note": "line1\nline2\tend"}, {"tid": 1, "note": "plain"}],
                   "table")
    assert len(table.splitlines()) == 3
    assert "line1\\nline2\\tend" in table
    assert json.loads(render([{"note": "a\nb"}], "json")) == [{"note": "a\nb"}], "data as is"


def test_queries_on_a_missing_store_or_a_file_say_so(tmp_path: Path) -> None:
    missing = str(tmp_path / "typo")
    for command in ("best", "experiments", "status", "trials"):
        outcome = invoke(command, "--store", missing)
        assert outcome.exit_code == 2, (command, outcome.output)
        assert f"no store at {missing}" in outcome.stderr and "Traceback" not in outcome.output
    assert not Path(missing).exists(), "a query creates nothing"
    a_file = tmp_path / "afile"
    a_file.write_text("not a store")
    outcome = invoke("best", "--store", str(a_file))
    assert outcome.exit_code == 2 and "is a file, not a directory" in outcome.stderr


def test_an_empty_store_lists_no_experiments_in_every_format(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    assert json.loads(invoke("experiments", "--store", str(empty), "--format", "json").output
                      ) == []
    assert "no experiments in" in invoke("experiments", "--store", str(empty)).output


def test_a_store_path_with_a_tilde_is_the_home_directory(tmp_path: Path,
                                                         monkeypatch: Any) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    record_trials(str(tmp_path / "runs"), "home", [(0.9, 1.0)])
    outcome = invoke("best", "--store", "~/runs", "--format", "json")
    assert outcome.exit_code == 0, outcome.output
    assert [row["tid"] for row in json.loads(outcome.output)] == [0]


def test_best_and_pareto_say_why_they_list_nothing(tmp_path: Path) -> None:
    location = str(tmp_path / "store")
    record_trials(location, "none", [None, (0.2, 1.0)])  # failed, then below the floor
    best = invoke("best", "--store", location, "--min-accuracy", "0.9").output
    assert "no configuration reaching accuracy 0.9 with a score yet" in best
    pareto = invoke("pareto", "--store", location).output
    assert "above the accuracy floor (--below-floor takes the rest)" in pareto


def test_export_to_a_dash_writes_standard_output(tmp_path: Path, monkeypatch: Any) -> None:
    location = str(tmp_path / "store")
    record_trials(location, "dash", [(0.9, 1.0)])
    monkeypatch.chdir(tmp_path)
    outcome = invoke("export", "--store", location, "-o", "-", "--format", "json")
    assert outcome.exit_code == 0 and json.loads(outcome.output)[0]["tid"] == 0
    assert not (tmp_path / "-").exists()


@pytest.mark.parametrize("command", ["export", "plot"])
def test_an_empty_output_name_is_refused_not_a_hidden_file(tmp_path: Path, monkeypatch: Any,
                                                           command: str) -> None:
    location = str(tmp_path / "store")
    record_trials(location, "empty", [(0.9, 1.0)])
    monkeypatch.chdir(tmp_path)
    outcome = invoke(command, "--store", location, "-o", "")
    assert outcome.exit_code == 2 and "the file name is empty" in outcome.output
    assert sorted(path.name for path in tmp_path.iterdir()) == ["store"]


def test_status_of_one_experiment_leaves_out_workers_that_stopped_elsewhere(tmp_path: Path
                                                                           ) -> None:
    location = str(tmp_path / "store")
    record_trials(location, "mine", [(0.9, 1.0)])
    store = open_store(location)
    try:
        for worker_id, state, exp_key in [("stopped-elsewhere", "stopped", None),
                                          ("idle-for-all", "idle", None),
                                          ("stopped-here", "stopped", "mine")]:
            store.report_worker(WorkerStatus(worker_id=worker_id, host="h", device="cpu",
                                             state=state, last_seen=utcnow(), exp_key=exp_key))
    finally:
        store.close()
    output = invoke("status", "--store", location, "--exp-key", "mine").output
    assert "idle-for-all" in output and "stopped-here" in output
    assert "stopped-elsewhere" not in output


def test_status_of_one_experiment_leaves_out_idle_workers_that_may_not_take_it(tmp_path: Path
                                                                              ) -> None:
    location = str(tmp_path / "store")
    record_trials(location, "mine", [(0.9, 1.0)])
    store = open_store(location)
    try:
        for worker_id, serves, refused in [("serves-others", ("other",), ()),
                                           ("refused-mine", None, ("mine",)),
                                           ("serves-mine", ("other", "mine"), ("third",))]:
            store.report_worker(WorkerStatus(worker_id=worker_id, host="h", device="cpu",
                                             state="idle", last_seen=utcnow(), serves=serves,
                                             refused=refused))
    finally:
        store.close()
    output = invoke("status", "--store", location, "--exp-key", "mine").output
    assert "serves-mine" in output
    assert "serves-others" not in output and "refused-mine" not in output


def test_best_refuses_a_count_or_an_order_it_cannot_give() -> None:
    trials = [trial(0, (0.9, 1.0), {"lr": 0.1})]
    for count in (-1, 2.5, None):
        with pytest.raises(ValueError, match="whole number of at least 0"):
            queries.best_configurations(trials, count, FLOOR)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="choose one of score, accuracy, time"):
        queries.best_configurations(trials, 1, FLOOR, sort="bogus")


def test_the_trials_dataframe_of_an_experiment_without_trials_is_empty(tmp_path: Path) -> None:
    location = str(tmp_path / "store")
    record_trials(location, "empty", [])
    frame = search.results(tmp_path / "store", "empty").trials_dataframe()
    assert frame.empty and frame.index.name == "tid"


def test_pooled_pruned_runs_are_counted_in_the_row() -> None:
    trials = [trial(0, (0.9, 1.0), {"lr": 0.1}), trial(1, (0.6, 0.5), {"lr": 0.1}, pruned=True)]
    (plain,) = queries.best_configurations(trials, 5, FLOOR)
    (pooled,) = queries.best_configurations(trials, 5, FLOOR, include_pruned=True)
    assert "pruned_runs" not in plain.row()
    assert (pooled.row()["runs"], pooled.row()["pruned_runs"]) == (2, 1)


def test_status_names_no_best_while_every_configuration_is_below_the_floor(tmp_path: Path
                                                                          ) -> None:
    location = str(tmp_path / "store")
    record_trials(location, "low", [(0.2, 1.0), (0.3, 0.5)])
    output = invoke("status", "--store", location).output
    assert "best: none above the accuracy floor yet" in output and "acc/s" not in output
    assert invoke("status", "--store", location, "--exp-key", "").exit_code == 2


def test_the_pace_of_a_farm_gone_quiet_falls_instead_of_holding_its_last_value() -> None:
    start = utcnow()
    trials = []
    for tid in range(10):  # one a second
        job = finished_job(tid, (0.9, 1.0), {"lr": 0.1})
        job["refresh_time"] = start + datetime.timedelta(seconds=tid)
        trials.append(Trial.from_job(job))

    def at(seconds: float) -> datetime.datetime:
        return start + datetime.timedelta(seconds=seconds)

    assert queries.pace(trials, 5, at(9.5)) == (pytest.approx(60.0), pytest.approx(5.0))
    rate, left = queries.pace(trials, 5, at(100))
    assert rate == pytest.approx(9 / 99 * 60) and left == pytest.approx(5 / rate * 60)
    assert queries.pace(trials, 0, at(100)) == (pytest.approx(60.0), 0.0), "done: as it went"


def test_the_time_left_is_at_most_the_time_to_spend_the_training_budget() -> None:
    """As the progress bar has it: a budget spent before max_evals ends the search first."""
    start = utcnow()
    trials = []
    for tid in range(10):  # one a second, each training 1 s (finished_job's)
        job = finished_job(tid, (0.9, 1.0), {"lr": 0.1})
        job["refresh_time"] = start + datetime.timedelta(seconds=tid)
        trials.append(Trial.from_job(job))
    now = start + datetime.timedelta(seconds=9.5)
    assert queries.pace(trials, 50, now, budget_left=3.0) == (pytest.approx(60.0),
                                                              pytest.approx(3.0))
    assert queries.pace(trials, 2, now, budget_left=30.0)[1] == pytest.approx(2.0)
    experiment = Experiment(exp_key="e", space={"builtin": "default"}, objective="noop",
                            epochs=1, min_accuracy=FLOOR, max_evals=60, max_train_seconds=13.0)
    counts = queries.count_by_state(trials)
    assert queries.time_left(experiment, trials, counts, now)[1] == pytest.approx(3.0)
    spent = dataclasses.replace(experiment, max_train_seconds=10.0)
    assert queries.time_left(spent, trials, counts, now)[1] == 0.0
    # Spent, a farm still finishes what it queued or runs: two more at one a second.
    assert queries.time_left(spent, trials, {**counts, "running": 1, "queued": 1},
                             now)[1] == pytest.approx(2.0)


@pytest.mark.parametrize(("where", "value"), [
    ("misc.params", "notadict"), ("result.loss", "x"), ("result.accuracy", "high"),
    ("result.train_seconds", "2"), ("result.loss", float("nan")), ("refresh_time", 5),
    ("result.error", {"nested": 1}), ("attempt", "first"), ("misc.params.lr", ObjectId()),
])
def test_a_value_another_program_wrote_reads_as_missing(where: str, value: Any) -> None:
    """One malformed job in a shared database must not take every query down."""
    jobs = [finished_job(tid, (0.6 + tid / 10, 1.0), {"lr": 10.0 ** -tid}) for tid in range(3)]
    for job in jobs:
        job["refresh_time"] = utcnow()
    document: dict[str, Any] = jobs[1]
    *parents, field = where.split(".")
    for parent in parents:
        document = document[parent]
    document[field] = value
    trials = [Trial.from_job(job) for job in jobs]
    best = queries.best_configurations(trials, 3, FLOOR)
    assert best[0].tid == 2 and [trial.tid for trial in trials] == [0, 1, 2]
    queries.configuration_front(trials, FLOOR)
    queries.pace(trials, 1, utcnow())
    for output_format in ("table", "json", "csv"):
        render([t.row() for t in trials], output_format)
    json.loads(render([t.row() for t in trials], "json"))  # NaN would not be JSON


def test_a_job_hyperopt_wrote_shows_and_pools_by_its_chosen_values() -> None:
    """Hyperopt's own jobs carry `misc.vals`, not `misc.params`, and ours carry empty params
    where the database could not store them: their values are the hyperparameters the queries
    show and pool by, an inactive label left out."""
    jobs = []
    for tid, lr in enumerate((0.1, 0.1, 0.2)):
        job = finished_job(tid, (0.9, 1.0))
        job["misc"] = {"vals": {"lr": [lr], "momentum": []}, "idxs": {"lr": [tid], "momentum": []}}
        jobs.append(job)
    jobs[1]["misc"]["params"] = {}  # what the driver records for params it cannot store
    trials = [Trial.from_job(job) for job in jobs]
    assert [trial.params for trial in trials] == [{"lr": 0.1}, {"lr": 0.1}, {"lr": 0.2}]
    exported = csv.DictReader(io.StringIO(render([t.row() for t in trials], "csv")))
    assert [row["lr"] for row in exported] == ["0.1", "0.1", "0.2"]
    assert [[t.tid for t in c.trials] for c in pool(trials, FLOOR)] == [[0, 1], [2]]


def test_a_query_of_the_database_reads_the_values_that_stand_in_for_params(
        mongo_url: str) -> None:
    """The queries ask MongoDB for TRIAL_FIELDS only: those must hold `misc.vals` too."""
    record_trials(mongo_url, "stand-in", [(0.9, 1.0), (0.8, 1.0)])
    database(mongo_url).jobs.update_one({"exp_key": "stand-in", "tid": 0},
                                        {"$set": {"misc.params": {}}})
    store = open_store(mongo_url)
    try:
        whole, read = (trials_of(store.jobs("stand-in", fields=fields))
                       for fields in (None, TRIAL_FIELDS))
    finally:
        store.close()
    assert read[0].params and read[0].params == {
        label: values[0] for label, values in whole[0].job["misc"]["vals"].items() if values}


def test_a_cancelled_job_is_counted_and_selectable(tmp_path: Path) -> None:
    """Hyperopt's JOB_STATE_CANCEL (SparkTrials writes it): status's counts add up, and
    `trials --state cancelled` lists it."""
    jobs = [finished_job(0, (0.9, 1.0), {"lr": 0.1}),
            {**finished_job(1, None, {"lr": 0.2}), "state": JOB_STATE_CANCEL}]
    trials = [Trial.from_job(job) for job in jobs]
    counts = queries.count_by_state(trials)
    status = queries.ExperimentStatus(
        exp_key="e", objective="noop", space="default", counts=counts, max_evals=2,
        train_seconds=1.0, max_train_seconds=None, best=None, trials_per_minute=None,
        seconds_left=None, workers=[], stale_after=60.0, late_results=0, read_at=utcnow())
    assert "1/2 finished (1 ok, 0 failed), 0 running, 0 queued, 1 cancelled" in \
        render_status(status)
    assert [trial.tid for trial in queries.select_trials(trials, ["cancelled"])] == [1]
    location = str(tmp_path / "store")
    record_trials(location, "e", [(0.9, 1.0)])
    listed = invoke("trials", "--store", location, "--state", "cancelled")
    assert (listed.exit_code, listed.output.strip()) == (0, "(no trials)")


def test_status_after_a_resume_lowered_max_evals_says_so_rather_than_36_of_10() -> None:
    trials = [Trial.from_job(finished_job(tid, (0.9, 1.0), {"lr": tid})) for tid in range(3)]
    status = queries.ExperimentStatus(
        exp_key="e", objective="noop", space="default", counts=queries.count_by_state(trials),
        max_evals=2, train_seconds=3.0, max_train_seconds=None, best=None,
        trials_per_minute=None, seconds_left=None, workers=[],
        stale_after=60.0, late_results=0, read_at=utcnow())
    assert render_status(status) == "e: noop on space default: 3 finished (3 ok, 0 failed), " \
        "0 running, 0 queued; more than --max-evals 2, which a resume lowered"


def test_a_csv_of_no_rows_still_names_its_columns(tmp_path: Path) -> None:
    """`pandas.read_csv` refuses a file with no header ("No columns to parse")."""
    location = str(tmp_path / "store")
    record_trials(location, "e", [], queued=1)
    for command, first in ((["trials", "--state", "failed"], "tid,state,score,accuracy"),
                           (["best"], "tid,runs,score,lower_bound"),
                           (["pareto"], "tid,runs,score,lower_bound")):
        result = invoke(*command, "--store", location, "--exp-key", "e", "--format", "csv")
        assert result.exit_code == 0, result.output
        assert result.output.startswith(first) and result.output.count("\n") == 1, command


def test_a_stored_whole_number_is_exported_as_one() -> None:
    """`accuracy: 1` and `train_seconds: 12` read back as 1 and 12, not 1.0 and 12.0."""
    job = {"tid": 0, "state": 2, "misc": {"params": {"lr": 0.1}},
           "result": {"status": "ok", "loss": -1, "accuracy": 1, "train_seconds": 12}}
    row = Trial.from_job(job).row()
    assert (row["accuracy"], row["train_seconds"]) == (1, 12)
    assert render([row], "csv").splitlines()[1].startswith("0,ok,1.0,1,,12,")
