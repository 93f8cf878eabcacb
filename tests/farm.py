"""Helpers for farm tests: start workers and drivers as real processes, read the database."""

from __future__ import annotations

import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterator

import pymongo
from hpsearch_processes import HpsearchProcesses
from pymongo.database import Database

import spaces
from search.experiment import Experiment
from search.farm.proposals import Proposer
from search.policy import Policy
from search.store import open_store


def database(url: str) -> pymongo.database.Database:
    client = pymongo.MongoClient(url, serverSelectionTimeoutMS=5000, tz_aware=True)
    return client.get_default_database()


def start_worker(hpsearch: HpsearchProcesses, url: str, *options: str,
                 log: subprocess.Popen | None = None) -> subprocess.Popen[str]:
    """A CPU worker process with one torch thread, its log captured for assertions."""
    return hpsearch.start("-v", "worker", "--store", url, "--gpus", "none",
                          "--threads-per-worker", "1", *options,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def stop(process: subprocess.Popen[str], timeout: float = 60) -> tuple[int, str]:
    """SIGTERM (a graceful stop), then the exit code and everything it printed."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
    output, _ = process.communicate(timeout=timeout)
    return process.returncode, output or ""


def finish(process: subprocess.Popen[str], timeout: float = 300) -> tuple[int, str]:
    """Wait for a process to exit by itself (e.g. after --idle-timeout)."""
    output, _ = process.communicate(timeout=timeout)
    return process.returncode, output or ""


def wait_until(condition: Callable[[], bool], timeout: float, message: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting until {message}")
        time.sleep(0.1)


class OutputWatcher:
    """Collects a running process's output in a background thread, so a test can wait for a
    line to appear while the process goes on (a pipe read would block until it exits)."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        assert process.stdout is not None, "start the process with stdout=subprocess.PIPE"
        self._process = process
        self._chunks: list[str] = []
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        assert self._process.stdout is not None
        for line in self._process.stdout:
            self._chunks.append(line)

    @property
    def text(self) -> str:
        return "".join(self._chunks)

    def wait_for(self, condition: Callable[[str], bool], timeout: float, message: str) -> None:
        wait_until(lambda: condition(self.text), timeout, message)

    def finish(self, timeout: float = 300) -> tuple[int, str]:
        """Wait for the process to exit; its exit code and all it printed."""
        self._process.wait(timeout=timeout)
        self._thread.join(timeout=timeout)
        return self._process.returncode, self.text


def done_jobs(db: Database, exp_key: str) -> list[dict]:
    return list(db.jobs.find({"exp_key": exp_key, "state": 2}).sort("tid", 1))


def all_jobs(db: Database, exp_key: str | None = None) -> Iterator[dict]:
    return db.jobs.find({} if exp_key is None else {"exp_key": exp_key})


# Quick to notice a dead worker, so that tests of it are quick too.
TEST_POLICY = Policy(heartbeat_interval=0.5, stale_after=3.0)


def queue_experiment(url: str, exp_key: str, objective: str, jobs: int, device: str = "auto",
                     data_dir: str | None = None, policy: Policy = TEST_POLICY,
                     epochs: int = 1, pruner: str = "none") -> None:
    """Record an experiment and queue `jobs` random proposals at once, as a driver would."""
    space = spaces.load_space("default")
    store = open_store(url)
    try:
        store.record_experiment(Experiment(exp_key=exp_key, space=space.record,
                                           objective=objective, epochs=epochs,
                                           min_accuracy=0.0, device=device, data_dir=data_dir,
                                           policy=policy, pruner=pruner))
    finally:
        store.close()
    queue_jobs(url, exp_key, jobs)


def queue_jobs(url: str, exp_key: str, jobs: int) -> None:
    """Queue `jobs` random proposals at once for a recorded experiment, as a driver would."""
    space = spaces.load_space("default")
    store = open_store(url)
    try:
        proposer = Proposer(exp_key, space.graph, seed=1, startup_trials=jobs)
        proposals: list[dict] = []
        for tid in range(jobs):
            proposals.append(proposer.propose(tid))
        store.queue_jobs(proposals)
    finally:
        store.close()
