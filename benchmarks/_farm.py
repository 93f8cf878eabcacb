"""Helpers shared by the farm benchmarks: a test database, worker processes, job statistics.

The database is the tests' own (``tests/mongodb_server.py``: FerretDB v1 built at
``.build/hpsearch-testdb``, or whatever ``HPSEARCH_TEST_*`` selects), started on a free loopback
port over a temporary directory and stopped at the end. With ``--store mongodb://HOST:PORT``
an existing server is used instead; each benchmark run then works in fresh, uniquely named
databases on it and drops them afterwards.
"""

from __future__ import annotations

import contextlib
import datetime
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
for _path in (REPO_ROOT, REPO_ROOT / "tests"):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

import pymongo  # noqa: E402
import pymongo.errors  # noqa: E402
from mongodb_server import MongoServer, database_url  # noqa: E402

HPSEARCH = [sys.executable, "-m", "search"]


def environment(**extra: str) -> dict[str, str]:
    """The environment of every `hpsearch` process: the repository importable (for `tests.…`)."""
    pythonpath = os.pathsep.join(p for p in (str(REPO_ROOT), os.environ.get("PYTHONPATH")) if p)
    return {**os.environ, "PYTHONPATH": pythonpath, **extra}


class Databases:
    """Fresh databases on one server; dropped on close."""

    def __init__(self, server_url: str) -> None:
        self.server_url = server_url
        self.server: MongoServer | None = None  # set when we started it: it can be stopped
        self._created: list[str] = []

    def new(self, label: str) -> str:
        name = f"hpsearch_bench_{label}_{uuid.uuid4().hex[:6]}"
        self._created.append(name)
        return database_url(self.server_url, name)

    def drop_all(self) -> None:
        client: pymongo.MongoClient = pymongo.MongoClient(self.server_url,
                                                          serverSelectionTimeoutMS=5000)
        with client:
            for name in self._created:
                with contextlib.suppress(pymongo.errors.PyMongoError):
                    client.drop_database(name)


@contextlib.contextmanager
def database_server(store: str | None) -> Iterator[tuple[Databases, str]]:
    """Yields (databases, description). Starts and stops a test database unless `store` is given."""
    if store:
        databases = Databases(store)
        try:
            yield databases, f"existing server {store}"
        finally:
            databases.drop_all()
        return
    with tempfile.TemporaryDirectory(prefix="hpsearch-bench-db-") as root:
        server = MongoServer.from_environment(Path(root))
        server.start()
        try:
            databases = Databases(server.url)
            databases.server = server if server.can_restart else None
            yield databases, f"{server.kind} started at {server.url} (temporary data dir)"
            if server.kind == "external":
                databases.drop_all()
        finally:
            if server.can_restart:
                server.stop()


def database(url: str):  # type: ignore[no-untyped-def]
    return pymongo.MongoClient(url, serverSelectionTimeoutMS=5000,
                               tz_aware=True).get_default_database()


def start_hpsearch(args: Sequence[str], log_path: Path, env: dict[str, str]
                   ) -> subprocess.Popen[bytes]:
    """Start `hpsearch ARGS`, its stdout and stderr going to `log_path`."""
    with open(log_path, "ab") as log:
        return subprocess.Popen([*HPSEARCH, *args], stdin=subprocess.DEVNULL, stdout=log,
                                stderr=subprocess.STDOUT, env=env, cwd=REPO_ROOT)


def start_worker(url: str, log_path: Path, env: dict[str, str], *options: str
                 ) -> subprocess.Popen[bytes]:
    """One CPU worker process with one torch thread (`hpsearch worker --gpus none ...`)."""
    return start_hpsearch(["worker", "--store", url, "--gpus", "none", "--threads-per-worker",
                           "1", *options], log_path, env)


def stop_processes(processes: Sequence[subprocess.Popen], timeout: float = 20.0) -> None:
    """SIGTERM (graceful: finish the current trial), then SIGKILL whatever is still alive."""
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + timeout
    for process in processes:
        try:
            process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError as error:
        return f"(no log: {error})"


# -- statistics from job documents ---------------------------------------------------------------

def seconds(a: datetime.datetime, b: datetime.datetime) -> float:
    return (b - a).total_seconds()


def throughput_stats(jobs: list[dict]) -> dict[str, float]:
    """From finished job documents: trials/s, per-trial service time, per-worker idle gaps.

    `book_time` is when a worker started a trial, `refresh_time` when its result was committed,
    `result.worker` the worker that ran it. A gap is the time from one trial's end to the same
    worker's next start: the farm's own overhead per trial (reserve, report, poll).
    """
    done = [job for job in jobs if job.get("state") == 2 and job.get("book_time")]
    if not done:
        return {"done": 0}
    first_start = min(job["book_time"] for job in done)
    last_finish = max(job["refresh_time"] for job in done)
    span = seconds(first_start, last_finish)
    by_worker: dict[str, list[dict]] = {}
    for job in done:
        by_worker.setdefault(job["result"].get("worker", "?"), []).append(job)
    gaps = []
    for worker_jobs in by_worker.values():
        worker_jobs.sort(key=lambda job: job["book_time"])
        gaps += [seconds(a["refresh_time"], b["book_time"])
                 for a, b in zip(worker_jobs, worker_jobs[1:], strict=False)]
    service = [seconds(job["book_time"], job["refresh_time"]) for job in done]
    return {
        "done": len(done),
        "workers_seen": len(by_worker),
        "span_s": span,
        "trials_per_s": len(done) / span if span > 0 else float("nan"),
        "service_median_ms": 1000 * statistics.median(service),
        "gap_median_ms": 1000 * statistics.median(gaps) if gaps else float("nan"),
        "gap_p90_ms": 1000 * quantile(gaps, 0.9) if gaps else float("nan"),
        "per_worker": sorted((len(v) for v in by_worker.values()), reverse=True),
    }


def quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]
