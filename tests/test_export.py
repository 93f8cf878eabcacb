"""`hpsearch export`: one flat row per trial, every column, values as stored."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

from click.testing import CliRunner
from stored_trials import record_trials, stored_jobs

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
