"""Reservation is exact: racing worker processes never run a job twice and leave none behind,
also on FerretDB, whose findAndModify is a read followed by a separate write."""

from __future__ import annotations

import os
import pickle
from collections import Counter
from pathlib import Path

import gridfs
import pytest
from farm import database, finish, queue_experiment, queue_jobs, start_worker, stop, wait_until

RECORDS_RUN = "tests.objectives_for_tests:records_run"
JOBS = 100  # each races 4 workers (twice with lookahead); at 200 the four runs took 231 s
WORKERS = 4


@pytest.mark.parametrize("lookahead", ["--no-lookahead", "--lookahead"])
def test_racing_workers_run_every_job_exactly_once(mongo_url: str, hpsearch, tmp_path: Path,
                                                   lookahead: str, mongo_dialect: str) -> None:
    """With lookahead each worker also holds a job reserved ahead, so twice as many
    reservations race; none may be granted twice. Run in each MongoDB dialect."""
    queue_experiment(mongo_url, "race", RECORDS_RUN, 0)
    run_log = tmp_path / "runs.log"
    hpsearch.environment["HPSEARCH_TEST_RUN_LOG"] = str(run_log)
    db = database(mongo_url)
    workers = []
    try:
        # No idle timeout: on a loaded machine the first worker could time out waiting for
        # the last to start. They are stopped once every job is done.
        workers = [start_worker(hpsearch, mongo_url, "--allow-objective", RECORDS_RUN,
                                lookahead) for _ in range(WORKERS)]
        # Every worker polls the queue before the jobs arrive, so that all of them race.
        wait_until(lambda: db.workers.count_documents({"state": "idle"}) == WORKERS, 120,
                   "every worker waits for jobs")
        queue_jobs(mongo_url, "race", JOBS)
        wait_until(lambda: db.jobs.count_documents({"exp_key": "race", "state": 2}) == JOBS,
                   300, "every job is done")
    finally:
        del hpsearch.environment["HPSEARCH_TEST_RUN_LOG"]
        outcomes = [stop(worker) for worker in workers]

    runs = Counter(int(line.split()[0]) for line in run_log.read_text().splitlines())
    assert [code for code, _ in outcomes] == [0] * WORKERS, outcomes
    assert all(f"as on {mongo_dialect}" in output for _, output in outcomes)
    assert sorted(runs) == list(range(JOBS)), "some jobs were left behind"
    assert max(runs.values()) == 1, [tid for tid, count in runs.items() if count > 1]
    processes = Counter(line.split()[1] for line in run_log.read_text().splitlines())
    assert len(processes) == WORKERS, "every worker should have raced for jobs"


def test_worker_never_unpickles_the_gridfs_domain_attachment(mongo_url: str, hpsearch,
                                                             tmp_path: Path) -> None:
    queue_experiment(mongo_url, "pickled", "noop", 3)
    sentinel = tmp_path / "pwned"

    class WritesAFile:
        def __reduce__(self):  # type: ignore[no-untyped-def]
            return (os.system, (f"touch {sentinel}",))

    db = database(mongo_url)
    gridfs.GridFS(db).put(pickle.dumps(WritesAFile()), filename="FMinIter_Domain")
    db.jobs.update_many({"exp_key": "pickled"},
                        {"$set": {"misc.cmd": ["domain_attachment", "FMinIter_Domain"]}})

    code, output = finish(start_worker(hpsearch, mongo_url, "--idle-timeout", "3"))
    assert code == 0, output
    assert db.jobs.count_documents({"exp_key": "pickled", "state": 2}) == 3
    assert not sentinel.exists()
