"""Worker documents: what a worker says of itself, which experiments count it, and those of
workers gone for long forgotten, so `status` stays quick on a farm that has run for months."""

from __future__ import annotations

import datetime
import json
import math
import socket
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner
from farm import database
from stored_trials import record_trials

from search.cli import main
from search.documents import utcnow
from search.experiment import Experiment
from search.farm.processes import cpu_workers_on_this_host
from search.farm.worker import Worker, WorkerOptions
from search.store import Store, WorkerStatus, open_store


def status(worker_id: str, last_seen: datetime.datetime) -> WorkerStatus:
    return WorkerStatus(worker_id=worker_id, host="host", device="cpu", state="idle",
                        last_seen=last_seen)


def report_long_ago(store_location: str, store: Store, worker_id: str,
                    ago: datetime.timedelta) -> None:
    """A report that reached the store `ago` by its clock, as if the worker fell silent then.
    The MongoDB store stamps a report with the server's time, so the test writes it there."""
    last_seen = store.now() - ago
    if store_location.startswith("mongodb://"):
        database(store_location).workers.insert_one(
            {"_id": worker_id, "host": "host", "device": "cpu", "state": "idle",
             "last_seen": last_seen, "exp_key": None, "tid": None, "jobs_done": 0})
    else:
        store.report_worker(status(worker_id, last_seen))


def test_workers_silent_for_days_are_forgotten(store_location: str) -> None:
    first = open_store(store_location)
    try:
        report_long_ago(store_location, first, "host:1:cpu", datetime.timedelta(days=2))
    finally:
        first.close()
    second = open_store(store_location)
    try:
        second.report_worker(status("host:2:cpu", second.now()))
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
        report_long_ago(store_location, store, "host:1:cpu", datetime.timedelta(hours=20))
        store.report_worker(status("host:2:cpu", store.now()))
        assert [worker.worker_id for worker in store.workers()] == ["host:2:cpu", "host:1:cpu"]
    finally:
        store.close()


def test_an_idle_worker_counts_only_for_experiments_it_serves_and_did_not_refuse(
        store_location: str) -> None:
    now = utcnow()
    store = open_store(store_location)
    try:
        for worker in [
            WorkerStatus("any", "h", "cpu", "idle", now),
            WorkerStatus("only-a", "h", "cpu", "idle", now, serves=("a",)),
            WorkerStatus("refused-b", "h", "cpu", "idle", now, refused=("b",)),
            WorkerStatus("busy-with-b", "h", "cpu", "busy", now, exp_key="b", tid=0,
                         serves=("a", "b")),
        ]:
            store.report_worker(worker)
        assert (store.live_workers("a", 60), store.live_workers("b", 60)) == (3, 2)
        by_id = {worker.worker_id: worker for worker in store.workers()}
        assert (by_id["only-a"].serves, by_id["only-a"].refused) == (("a",), ())
        assert (by_id["refused-b"].serves, by_id["refused-b"].refused) == (None, ("b",))
    finally:
        store.close()


def test_a_worker_record_from_before_restrictions_may_take_any_experiment(
        store_location: str) -> None:
    """Written by a worker that said neither which experiments it serves nor which it
    refused."""
    old = {"host": "h", "device": "cpu", "state": "idle", "last_seen": utcnow(),
           "exp_key": None, "tid": None, "jobs_done": 2}
    if store_location.startswith("mongodb://"):
        database(store_location).workers.insert_one({"_id": "h:1:cpu", **old})
    else:
        workers = Path(store_location) / "workers"
        workers.mkdir(parents=True)
        (workers / "h:1:cpu.json").write_text(json.dumps(
            {**old, "worker_id": "h:1:cpu", "last_seen": {"$date": old["last_seen"].isoformat()}}))
    store = open_store(store_location)
    try:
        (worker,) = store.workers()
        assert (worker.worker_id, worker.jobs_done, worker.serves, worker.refused) == (
            "h:1:cpu", 2, None, ())
        assert store.live_workers("any-experiment", 60) == 1
    finally:
        store.close()


def test_a_worker_says_which_experiments_it_serves_and_which_it_refused(
        store_location: str) -> None:
    record_trials(store_location, "a", [], queued=0)
    store = open_store(store_location)
    try:
        (recorded,) = store.experiments()
        store.record_experiment(Experiment(
            exp_key="b", space=recorded.space, objective="not_allowed.module:run", epochs=1,
            min_accuracy=recorded.min_accuracy, max_evals=1))
        restricted = Worker(store, "h:1:cpu", WorkerOptions(exp_keys=("a",)))
        refusing = Worker(store, "h:2:cpu", WorkerOptions())
        assert restricted.run_next() is None and refusing.run_next() is None

        by_id = {worker.worker_id: worker for worker in store.workers()}
        assert (by_id["h:1:cpu"].serves, by_id["h:1:cpu"].refused) == (("a",), ())
        assert (by_id["h:2:cpu"].serves, by_id["h:2:cpu"].refused) == (None, ("b",))
        assert (store.live_workers("a", 60), store.live_workers("b", 60)) == (2, 0)
    finally:
        store.close()


@pytest.mark.parametrize(("field", "value"), [
    ("exp_keys", "mx"), ("exp_keys", (1,)), ("allowed_objectives", "pkg.mod:run"),
    ("max_jobs", 0), ("max_jobs", "3"), ("max_consecutive_failures", True),
    ("idle_timeout", -5), ("idle_timeout", math.nan), ("poll_interval", 0),
])
def test_worker_options_a_worker_could_not_run_with_are_refused_by_name(field: str,
                                                                        value: object) -> None:
    """A string of keys would serve the experiments named by its letters."""
    with pytest.raises(ValueError, match=f"WorkerOptions.{field}"):
        WorkerOptions(**{field: value})  # type: ignore[arg-type]
    assert WorkerOptions(exp_keys=["a"]).exp_keys == ("a",)  # type: ignore[arg-type]


def test_a_cpu_worker_command_beside_another_on_this_host_says_they_oversubscribe(
        mongo_url: str, tmp_path: Path) -> None:
    """Each command shares out every core among its own processes: two commands on one
    box each take them all, and every trial's seconds then grow with what else runs."""
    host = socket.gethostname()
    other = subprocess.Popen(["sleep", "600"])  # the other command's process
    store = open_store(mongo_url)
    try:
        store.report_worker(WorkerStatus(worker_id=f"{host}:{other.pid}:cpu", host=host,
                                         device="cpu", state="idle", last_seen=utcnow()))
        result = CliRunner().invoke(main, ["worker", "--store", mongo_url, "--gpus", "none",
                                           "--idle-timeout", "0", "--spool-dir", str(tmp_path)])
        assert "1 CPU worker process(es) of another command already run on this host" in \
            result.output, result.output
        assert "--cpu-workers 2" in result.output
        other.kill()
        other.wait()  # killed a moment ago, as a restarted container's predecessor was
        assert cpu_workers_on_this_host(store) == 0
    finally:
        other.kill()
        store.close()
