"""Worker documents of workers gone for long are forgotten, so `status` stays quick on a farm
that has run for months."""

from __future__ import annotations

import datetime
from pathlib import Path

from farm import database

from search.documents import utcnow
from search.store import WorkerStatus, open_store


def status(worker_id: str, last_seen: datetime.datetime) -> WorkerStatus:
    return WorkerStatus(worker_id=worker_id, host="host", device="cpu", state="idle",
                        last_seen=last_seen)


def test_workers_silent_for_days_are_forgotten(store_location: str) -> None:
    first = open_store(store_location)
    try:
        first.report_worker(status("host:1:cpu", utcnow() - datetime.timedelta(days=2)))
    finally:
        first.close()
    second = open_store(store_location)
    try:
        second.report_worker(status("host:2:cpu", utcnow()))
        assert [worker.worker_id for worker in second.workers()] == ["host:2:cpu"]
    finally:
        second.close()
    assert stored_worker_documents(store_location) == 1  # gone, not only unlisted


def stored_worker_documents(store_location: str) -> int:
    if store_location.startswith("mongodb://"):
        return database(store_location).workers.count_documents({})
    return len(list((Path(store_location) / "workers").glob("*.json")))


def test_a_worker_seen_within_the_day_is_listed(store_location: str) -> None:
    store = open_store(store_location)
    try:
        store.report_worker(status("host:1:cpu", utcnow() - datetime.timedelta(hours=20)))
        store.report_worker(status("host:2:cpu", utcnow()))
        assert [worker.worker_id for worker in store.workers()] == ["host:2:cpu", "host:1:cpu"]
    finally:
        store.close()
