"""A worker's spool: the results it finished are offered again by whichever worker process
starts next on the same spool directory, and only by it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from search.farm.spool import Spool
from search.store import Reservation

STORE = "mongodb://db-host/hpsearch"


def reservation(tid: int) -> Reservation:
    return Reservation(job={"_id": f"exp/{tid}", "exp_key": "exp", "tid": tid},
                       worker_id="box:1:cpu", attempt=0)


def killed(spool: Spool) -> None:
    """The process ends without a word: its lock goes with it, its file stays."""
    spool._file.close()


def test_a_result_left_by_an_ended_worker_is_offered_once_by_the_next(tmp_path: Path) -> None:
    first = Spool(tmp_path, STORE)
    first.add(reservation(0), {"status": "ok", "loss": -0.9})
    killed(first)
    second, third = Spool(tmp_path, STORE), Spool(tmp_path, STORE)
    (taken,) = second.left_by_ended_workers()
    assert taken.reservation.tid == 0 and taken.result["loss"] == -0.9
    assert list(third.left_by_ended_workers()) == []  # the second holds it now, under its lock


def test_a_restarted_container_finds_its_previous_runs_results(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # In a container the host name survives a restart, and the entrypoint's exec makes the
    # worker pid 1 every time.
    monkeypatch.setattr(os, "getpid", lambda: 1)
    before = Spool(tmp_path, STORE)
    before.add(reservation(7), {"status": "ok", "loss": -0.5})
    killed(before)
    after = Spool(tmp_path, STORE)
    assert [entry.reservation.tid for entry in after.left_by_ended_workers()] == [7]


def test_results_left_for_the_store_written_otherwise_are_said_to_wait(tmp_path: Path) -> None:
    before = Spool(tmp_path, "mongodb://127.0.0.1:27017/hpsearch")
    before.add(reservation(3), {"status": "ok", "loss": -0.5})
    killed(before)
    running = Spool(tmp_path, "mongodb://db-host/other")  # a live worker's file is its own
    running.add(reservation(4), {"status": "ok", "loss": -0.5})
    after = Spool(tmp_path, "mongodb://localhost:27017/hpsearch")
    assert list(after.left_by_ended_workers()) == []
    assert after.waiting_elsewhere() == {"mongodb://127.0.0.1:27017/hpsearch": 1}
