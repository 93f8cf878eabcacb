"""`hpsearch export`: one flat row per trial, every column, values as stored; or one per
configuration, its runs pooled, ranked as `hpsearch best` ranks."""

from __future__ import annotations

import csv
import io
import json
import math
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from stored_trials import record_repeat, record_trials, result_for, stored_jobs

from search.cli import main
from search.cli.reports import export
from search.documents import flatten

OUTCOMES = [(0.95, 4.0), None, (0.30, 0.5), (0.90, 2.0), (0.85, 1.5)]  # trial 2 takes sgd


def run_export(location: str, *options: str) -> str:
    outcome = CliRunner().invoke(
        export, ["--store", location, "--exp-key", "exported", *options])
    assert outcome.exit_code == 0, outcome.output + outcome.stderr
    return outcome.stdout


def expected_row(job: dict[str, Any]) -> dict[str, Any]:
    """What the export must say about a stored job, read straight from the document."""
    result = job["result"]
    loss = result.get("loss")
    return {
        "tid": job["tid"],
        **flatten(job["misc"]["params"]),
        "accuracy": result.get("accuracy"),
        "train_seconds": result.get("train_seconds"),
        "score": None if loss is None or result.get("status") != "ok" else -loss + 0.0,
        "device": result.get("device"),
        "worker": result.get("worker") or job.get("owner"),
        "started": job["book_time"].isoformat() if job.get("book_time") else None,
        "finished": job["refresh_time"].isoformat() if job["state"] == 2 else None,
    }


def test_json_export_has_one_row_per_trial_with_the_stored_values(store_location: str) -> None:
    record_trials(store_location, "exported", OUTCOMES, running=1, queued=1)
    jobs = stored_jobs(store_location, "exported")
    rows = json.loads(run_export(store_location, "--format", "json"))

    assert [row["tid"] for row in rows] == list(range(7))
    assert [row["state"] for row in rows] == ["ok", "failed", "ok", "ok", "ok", "running",
                                              "queued"]
    assert len({tuple(row) for row in rows}) == 1, "every row has the same columns"
    for row, job in zip(rows, jobs, strict=False):
        expected = expected_row(job)
        assert {column: row[column] for column in expected} == expected
    assert rows[2]["score"] == 0.0, "below the accuracy floor"
    assert rows[1]["reason"] == "diverged"


def test_csv_export_has_every_hyperparameter_as_its_own_column(store_location: str) -> None:
    record_trials(store_location, "exported", OUTCOMES)
    jobs = stored_jobs(store_location, "exported")
    text = run_export(store_location, "--format", "csv")
    header = text.splitlines()[0].split(",")
    rows = list(csv.DictReader(io.StringIO(text)))

    parameters = {column for job in jobs for column in flatten(job["misc"]["params"])}
    assert "optimizer/momentum" in parameters, "the seed-0 proposals take the sgd branch"
    assert parameters | {"tid", "state", "accuracy", "train_seconds", "score", "device", "worker",
                         "started", "finished"} <= set(header)
    assert header.index("optimizer/momentum") == header.index("optimizer") + 1
    for row, job in zip(rows, jobs, strict=True):
        for column, value in expected_row(job).items():
            assert row[column] == ("" if value is None else str(value)), (column, row[column])


def test_export_to_a_file_writes_what_it_would_print(tmp_path: Path) -> None:
    location = str(tmp_path / "store")
    record_trials(location, "exported", OUTCOMES)
    target = tmp_path / "trials.json"
    run_export(location, "--format", "json", "-o", str(target))
    assert target.read_text() == run_export(location, "--format", "json")


def test_unknown_experiment_is_one_clean_error(tmp_path: Path) -> None:
    location = str(tmp_path / "store")
    record_trials(location, "exported", OUTCOMES[:1])
    outcome = CliRunner().invoke(
        export, ["--store", location, "--exp-key", "missing"])
    assert outcome.exit_code == 2
    assert "no experiment 'missing'" in outcome.stderr and "exported" in outcome.stderr


def test_configuration_export_ranks_as_best_with_runs_and_spread(store_location: str) -> None:
    # Trial 1 is lucky: the fastest, above the floor (0.5). Its repeat lands far below it.
    record_trials(store_location, "exported", [(0.9, 1.0), (0.6, 0.05), (0.8, 0.5), None])
    before = json.loads(run_export(store_location, "--by", "configuration", "--format", "json"))
    assert before[0]["tid"] == 1
    record_repeat(store_location, "exported", 1, result_for((0.3, 0.06), "worker-b"))
    rows = json.loads(run_export(store_location, "--by", "configuration", "--format", "json"))

    assert [row["tid"] for row in rows] == [2, 0, 1, 3]  # the failed one has no score: last
    assert [row["rank"] for row in rows] == [1, 2, 3, None]
    lucky = rows[2]
    assert (lucky["runs"], lucky["below_floor"], lucky["tids"]) == (2, True, "1,4")
    assert lucky["accuracy"] == pytest.approx(0.45) and lucky["score"] == 0.0
    assert lucky["accuracy_spread"] == pytest.approx(math.sqrt(2) * 0.15)
    assert lucky["seconds_spread"] == pytest.approx(math.sqrt(2) * 0.005)
    assert lucky["score_spread"] == pytest.approx(abs(12 - 5) / math.sqrt(2))
    assert (rows[3]["runs"], rows[3]["failed"], rows[3]["score"]) == (0, 1, None)
    assert not any(row["pruned"] for row in rows)
    outcome = CliRunner().invoke(main, ["best", "--store", store_location, "--exp-key",
                                        "exported", "-n", "10", "--format", "json"])
    best = json.loads(outcome.output)
    assert [{column: row[column] for column in best[0]} for row in rows[:3]] == best

    text = run_export(store_location, "--by", "configuration", "--format", "csv")
    table = list(csv.DictReader(io.StringIO(text)))
    assert [row["tid"] for row in table] == ["2", "0", "1", "3"]
    assert table[0]["lr"] == str(best[0]["lr"]) and table[2]["below_floor"] == "True"


def test_pruned_runs_are_pooled_only_with_include_pruned(tmp_path: Path) -> None:
    location = str(tmp_path / "store")
    record_trials(location, "exported", [(0.9, 1.0), (0.8, 0.5)])
    record_repeat(location, "exported", 0, {**result_for((0.7, 0.2)), "pruned": True})
    plain = json.loads(run_export(location, "--by", "configuration", "--format", "json"))
    pooled = json.loads(run_export(location, "--by", "configuration", "--include-pruned",
                                   "--format", "json"))
    (first,) = [row for row in plain if row["tid"] == 0]
    (first_pooled,) = [row for row in pooled if row["tid"] == 0]
    assert (first["runs"], first["tids"]) == (1, "0")
    assert (first_pooled["runs"], first_pooled["tids"]) == (2, "0,2")
    assert first_pooled["accuracy"] == pytest.approx(0.8) and not first_pooled["pruned"]
    # Counted on every row once pruned runs are pooled, 0 included (a column to sum).
    assert [row["pruned_runs"] for row in pooled if row["tid"] in (0, 1)] == [1, 0]
    assert all("pruned_runs" not in row or row["pruned_runs"] is None for row in plain)
    outcome = CliRunner().invoke(export, ["--store", location, "--exp-key", "exported",
                                          "--include-pruned"])
    assert outcome.exit_code == 2 and "--include-pruned goes with --by configuration" in \
        outcome.stderr and "Traceback" not in outcome.output
