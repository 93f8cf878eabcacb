"""The embedded store's journal: resumes honour max_attempts, crashes leave no glued lines,
experiment.json is written durably, and a line that is not a job is reported, not fatal."""

from __future__ import annotations

import errno
import json
import logging
import os
import shutil
from pathlib import Path

import pytest
from stored_trials import record_trials

import search
from search.store import StoreError, open_store
from search.store import _embedded as embedded
from search.store._embedded import EmbeddedStore

KILLER = "tests.objectives_for_tests:kills_its_process"


def test_a_trial_that_kills_its_process_is_not_retried_forever(tmp_path: Path, hpsearch,
                                                                monkeypatch) -> None:
    runs = tmp_path / "runs.log"
    monkeypatch.setitem(hpsearch.environment, "HPSEARCH_TEST_RUN_LOG", str(runs))
    command = ["search", "--store", str(tmp_path / "store"), "--objective", KILLER,
               "--max-evals", "1", "--max-attempts", "2"]
    first, second, third = (hpsearch(*command) for _ in range(3))
    assert first.returncode == second.returncode == -9  # the objective killed the search
    assert third.returncode == 1, third.stderr  # no third run: the trial is failed instead
    assert "abandoned" in third.stderr and "gave up after 2 attempts" in third.stderr
    assert len(runs.read_text().splitlines()) == 2  # the objective ran twice, not more
    (trial,) = open_store(str(tmp_path / "store")).jobs("default")
    assert trial["result"]["reason"] == "abandoned"
    assert "process died" in trial["result"]["error"]


def journal(store_root: Path, exp_key: str = "runs") -> Path:
    return store_root / exp_key / "jobs.jsonl"


def test_the_writer_cuts_off_a_torn_last_line_before_appending(tmp_path: Path) -> None:
    root = tmp_path / "store"
    record_trials(str(root), "runs", [(0.9, 1.0)], queued=2)
    with journal(root).open("a") as file:
        file.write('{"tid": 1, "state": 1, "exp_ke')  # a crash in the middle of an append
    store = EmbeddedStore(root)
    try:
        reservation = store.reserve_next_job("worker", ["runs"])
        assert reservation is not None and reservation.tid == 1
        assert store.finish_job(reservation, {"status": "ok", "loss": -1.0, "accuracy": 0.5,
                                              "train_seconds": 0.5})
    finally:
        store.close()
    lines = journal(root).read_text().splitlines()
    assert all(json.loads(line)["tid"] in (0, 1, 2) for line in lines)  # none glued or torn
    states = {job["tid"]: job["state"] for job in EmbeddedStore(root).jobs("runs")}
    assert states == {0: 2, 1: 2, 2: 0}


def test_experiment_json_is_synced_and_rewritten_only_when_it_changes(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    synced: list[str] = []
    real_fsync = os.fsync

    def recording_fsync(descriptor: int) -> None:
        synced.append(os.readlink(f"/proc/self/fd/{descriptor}"))
        real_fsync(descriptor)

    monkeypatch.setattr(os, "fsync", recording_fsync)
    root = tmp_path / "store"
    record_trials(str(root), "runs", [(0.9, 1.0)])
    path = root / "runs" / "experiment.json"
    assert str(path) + ".tmp" in synced and str(path.parent) in synced
    written = path.stat()
    record_trials(str(root), "runs", [])  # the same experiment, but max_evals changes to 0
    assert path.stat().st_ino != written.st_ino
    unchanged = path.stat()
    synced.clear()
    record_trials(str(root), "runs", [])  # nothing changes: the file is left alone
    assert path.stat().st_ino == unchanged.st_ino
    assert not any(name.startswith(str(path)) for name in synced)


@pytest.mark.parametrize("line", ['[1, 2]', '"text"', '{"no": "tid"}',
                                  '{"tid": "seven", "state": 0}', '{"tid": 3, "state": null}',
                                  '{"tid": 3, "sta', '{"tid": 7, "state": 0}',
                                  '{"exp_key": "other", "tid": 7, "state": 0}',
                                  '{"created": {"$oid": "zz"}, "tid": 7, "state": 2}',
                                  '{"exp_key": "runs", "tid": 7, "x": {"$date": 1e400}}',
                                  '{"exp_key": "runs", "tid": 7, "x": {"$binary": 1}}',
                                  '{"exp_key": "runs", "tid": 7, "x": {"$numberDecimal": "x"}}'])
def test_a_journal_line_that_is_not_a_job_is_reported_and_the_rest_loads(
        tmp_path: Path, line: str, caplog: pytest.LogCaptureFixture) -> None:
    root = journal_with_a_bad_third_line(tmp_path, line)
    caplog.set_level(logging.WARNING)
    jobs = EmbeddedStore(root).jobs("runs")
    assert [job["tid"] for job in jobs] == [0, 1]
    assert f"{journal(root)}:3: skipped" in caplog.text


def journal_with_a_bad_third_line(tmp_path: Path, line: str) -> Path:
    root = tmp_path / "store"
    record_trials(str(root), "runs", [(0.9, 1.0), (0.8, 1.0)])
    lines = journal(root).read_text().splitlines()
    lines.insert(2, line)
    journal(root).write_text("\n".join(lines) + "\n")
    return root


def test_queries_report_a_line_that_is_not_a_job_and_answer(tmp_path: Path, hpsearch) -> None:
    root = journal_with_a_bad_third_line(tmp_path, '{"tid": "seven", "state": 0}')
    for command in ("best", "status", "trials"):
        completed = hpsearch(command, "--store", str(root))
        assert completed.returncode == 0, completed.stderr
        assert "jobs.jsonl:3: skipped" in completed.stderr


def test_search_resumes_on_a_journal_with_a_line_that_is_not_a_job(tmp_path: Path,
                                                                  hpsearch) -> None:
    store = str(tmp_path / "store")
    command = ["search", "--store", store, "--objective", "noop", "--exp-key", "runs"]
    assert hpsearch(*command, "--max-evals", "2").returncode == 0
    line_number = len(journal(tmp_path / "store").read_text().splitlines()) + 1
    with journal(tmp_path / "store").open("a") as file:
        file.write('{"not": "a job"}\n')
    completed = hpsearch(*command, "--max-evals", "3")
    assert completed.returncode == 0, completed.stderr
    assert f"jobs.jsonl:{line_number}: skipped" in completed.stderr
    assert len(EmbeddedStore(store).jobs("runs")) == 3


def test_a_reader_decodes_only_what_another_process_appended(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A dashboard reads the journal every second while the search writes it: it must see every
    # append, never a half-written line, and decode only the lines that are new.
    root = tmp_path / "store"
    record_trials(str(root), "runs", [(0.9, 1.0)], queued=2)
    reader = EmbeddedStore(root)
    assert [job["state"] for job in reader.jobs("runs")] == [2, 0, 0]
    writer = EmbeddedStore(root)
    reservation = writer.reserve_next_job("worker", ["runs"])
    assert reservation is not None
    assert writer.finish_job(reservation, {"status": "ok", "loss": -1.0, "accuracy": 0.5,
                                           "train_seconds": 0.5})
    decoded: list[int] = []
    real_latest = embedded._latest_jobs
    monkeypatch.setattr(embedded, "_latest_jobs",
                        lambda lines, exp_key: decoded.append(len(lines))
                        or real_latest(lines, exp_key))
    assert [job["state"] for job in reader.jobs("runs")] == [2, 2, 0]
    assert decoded == [2]  # the two new lines (running, then done), not the whole journal

    line = journal(root).read_text().splitlines()[-1]
    with journal(root).open("a") as file:
        file.write(line.replace('"tid": 1', '"tid": 3')[:40])  # an append caught halfway
    assert len(reader.jobs("runs")) == 3
    with journal(root).open("a") as file:
        file.write(line.replace('"tid": 1', '"tid": 3')[40:] + "\n")
    assert [job["tid"] for job in reader.jobs("runs")] == [0, 1, 2, 3]

    journal(root).write_text("\n".join(journal(root).read_text().splitlines()[:2]) + "\n")
    assert [job["tid"] for job in reader.jobs("runs")] == [0, 1]  # cut: read it all again
    writer.close()
    reader.close()


def test_a_damaged_experiment_file_hides_no_other_experiment(tmp_path: Path) -> None:
    root = tmp_path / "store"
    record_trials(str(root), "kept", [(0.9, 1.0)])
    record_trials(str(root), "damaged", [(0.9, 1.0)])
    path = root / "damaged" / "experiment.json"
    path.write_text(path.read_text().replace('"epochs"', '"junk": {"$oid": "zz"}, "epochs"'))
    assert [e.exp_key for e in EmbeddedStore(root).experiments()] == ["kept"]


def test_an_experiment_directory_copied_under_a_new_name_is_refused_not_mixed(
        tmp_path: Path) -> None:
    root = tmp_path / "store"
    record_trials(str(root), "orig", [(0.9, 1.0)])
    shutil.copytree(root / "orig", root / "branch")
    store = EmbeddedStore(root)
    with pytest.raises(StoreError, match="records experiment 'orig', not 'branch'"):
        store.experiment("branch")
    assert [e.exp_key for e in store.experiments()] == ["orig"]


def test_a_full_disk_is_a_store_error_that_keeps_what_was_written(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "store"
    record_trials(str(root), "full", [(0.9, 1.0)], queued=1)
    store = EmbeddedStore(root)

    def no_space(descriptor: int) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "fsync", no_space)
    with pytest.raises(StoreError, match="No space left on device. Free space"):
        store.reserve_next_job("w", ["full"])
    monkeypatch.undo()
    store.close()
    reopened = EmbeddedStore(root)
    assert [job["tid"] for job in reopened.jobs("full")] == [0, 1]
    assert reopened.jobs("full")[0]["state"] == 2


def test_a_late_result_the_disk_refuses_is_a_store_error(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A worker's `_offer` keeps a result it could not write (a StoreError) for another try;
    a raw OSError from the late results' file escaped it."""
    root = tmp_path / "store"
    record_trials(str(root), "late", [], queued=1)
    store = EmbeddedStore(root)
    first = store.reserve_next_job("w1", ["late"])
    assert first is not None
    (running,) = store.running_attempts(["late"])
    assert store.give_up(running, max_attempts=3, reason="silent") == "requeue"
    second = store.reserve_next_job("w2", ["late"])
    assert second is not None
    assert store.finish_job(first, {"status": "ok", "loss": -1.0})

    def no_space(descriptor: int) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "fsync", no_space)
    with pytest.raises(StoreError, match="No space left on device. Free space"):
        store.finish_job(second, {"status": "ok", "loss": -2.0, "attempt": 1})
    monkeypatch.undo()  # the worker offers it again, once the disk has room: kept once
    assert not store.finish_job(second, {"status": "ok", "loss": -2.0, "attempt": 1})
    assert [(late.tid, late.attempt) for late in store.late_results("late")] == [
        (second.tid, second.attempt)]


def test_an_experiment_key_with_a_final_newline_is_refused(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="invalid experiment key"):
        EmbeddedStore(tmp_path / "store").experiment("x\n")


def test_a_disk_that_fills_as_a_result_is_written_ends_the_search_at_once(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """docs/failures.md: one message, not a retry every 30 s that holds off a SIGTERM; the
    trial found running is retried when a resume has space."""
    options = search.SearchOptions(store=str(tmp_path / "store"), exp_key="full", max_evals=3,
                                   epochs=1)
    real_finish = EmbeddedStore.finish_job

    def no_space(self: EmbeddedStore, *args: object, **kwargs: object) -> bool:
        raise StoreError("cannot write the store: No space left on device. Free space")

    monkeypatch.setattr(EmbeddedStore, "finish_job", no_space)
    with pytest.raises(StoreError, match="No space left on device"):
        search.optimize("noop", "default", options)
    monkeypatch.setattr(EmbeddedStore, "finish_job", real_finish)
    resumed = search.optimize("noop", "default", options)
    assert [trial.state for trial in resumed.trials] == ["ok"] * 3
