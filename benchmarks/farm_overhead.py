"""The farm's own overhead per trial, measured with the `noop` objective (returns at once).

For 1, 2 and 4 CPU worker processes (`hpsearch worker --gpus none --threads-per-worker 1`):
record an experiment, start the workers and wait until each has reported idle (so that torch
import and start-up are not measured), queue every trial at once (random proposals, as
tests/test_reservation_race.py does), and wait until all are done. From the job documents:

- trials/s: done trials / (last finish - first start);
- gap: from one trial's end (`refresh_time`) to the same worker's next start (`book_time`),
  i.e. what a worker spends reserving, reporting and polling between trials.

Then a "driver-fed" run: 2 workers fed by the real `hpsearch search --objective noop` driver,
which proposes (TPE after the startup trials) and tops up the queue as it goes, so its
queueing overhead shows.

    python benchmarks/farm_overhead.py [--trials 300] [--driver-trials N] [--workers 1,2,4]
                                       [--store mongodb://HOST:PORT] [--timeout 300]

Starts its own test database (see benchmarks/_farm.py) unless --store is given.
"""

from __future__ import annotations

import argparse
import copy
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _farm import (database, database_server, environment, seconds, start_hpsearch,
                   start_worker, stop_processes, tail, throughput_stats)

import spaces  # noqa: E402
from search.experiment import Experiment  # noqa: E402
from search.farm.proposals import Proposer  # noqa: E402
from search.store import open_store  # noqa: E402

EXP_KEY = "overhead"


def proposals_for(count: int) -> list[dict]:
    """`count` random proposals (all startup trials), made once and reused by every run."""
    space = spaces.load_space("default")
    proposer = Proposer(EXP_KEY, space.graph, seed=1, startup_trials=count)
    proposals: list[dict] = []
    for tid in range(count):
        proposals.append(proposer.propose(tid, proposals))
    return proposals


def wait_for_idle_workers(url: str, processes: list[subprocess.Popen], logs: list[Path],
                          deadline: float) -> None:
    """Until every worker process has reported itself idle in the `workers` collection."""
    db = database(url)
    pids = {str(process.pid) for process in processes}
    while True:
        idle = {doc["_id"].split(":")[1] for doc in db.workers.find({"state": "idle"}, {"_id": 1})}
        if pids <= idle:
            return
        for process, log in zip(processes, logs):
            if process.poll() is not None:
                raise RuntimeError(f"worker {process.pid} exited with {process.returncode}:\n"
                                   f"{tail(log)}")
        if time.monotonic() > deadline:
            raise TimeoutError(f"workers not idle in time (idle: {sorted(idle)}, want {pids})")
        time.sleep(0.1)


def wait_for_done(url: str, exp_key: str, count: int, processes: list[subprocess.Popen],
                  deadline: float) -> None:
    db = database(url)
    while db.jobs.count_documents({"exp_key": exp_key, "state": 2}) < count:
        if all(process.poll() is not None for process in processes):
            raise RuntimeError("every worker exited before the trials were done")
        if time.monotonic() > deadline:
            done = db.jobs.count_documents({"exp_key": exp_key, "state": 2})
            raise TimeoutError(f"only {done} of {count} trials done in time")
        time.sleep(0.1)


def run_queued(url: str, workers: int, proposals: list[dict], logdir: Path, timeout: float
               ) -> dict:
    """Everything queued at once, `workers` processes draining it."""
    deadline = time.monotonic() + timeout
    space = spaces.load_space("default")
    store = open_store(url)
    processes: list[subprocess.Popen] = []
    try:
        store.record_experiment(Experiment(exp_key=EXP_KEY, space=space.record, objective="noop",
                                           epochs=1, min_accuracy=0.0, device="cpu"))
        logs = [logdir / f"queued-{workers}w-{i}.log" for i in range(workers)]
        env = environment()
        processes = [start_worker(url, log, env, "--exp-key", EXP_KEY) for log in logs]
        wait_for_idle_workers(url, processes, logs, deadline)
        queued_at = time.monotonic()
        store.queue_jobs(copy.deepcopy(proposals))
        wait_for_done(url, EXP_KEY, len(proposals), processes, deadline)
        wall = time.monotonic() - queued_at
    finally:
        stop_processes(processes)
        store.close()
    stats = throughput_stats(list(database(url).jobs.find({"exp_key": EXP_KEY})))
    return {**stats, "wall_s": wall}


def run_driver_fed(url: str, workers: int, trials: int, logdir: Path, timeout: float) -> dict:
    """The real driver (`hpsearch search --objective noop`) feeds `workers` processes."""
    deadline = time.monotonic() + timeout
    exp_key = "driven"
    env = environment()
    logs = [logdir / f"driven-{workers}w-{i}.log" for i in range(workers)]
    processes = [start_worker(url, log, env, "--exp-key", exp_key) for log in logs]
    driver = None
    try:
        wait_for_idle_workers(url, processes, logs, deadline)
        driver_log = logdir / "driver.log"
        started = time.monotonic()
        driver = start_hpsearch(["search", "--store", url, "--exp-key", exp_key, "--objective",
                                 "noop", "--max-evals", str(trials), "--epochs", "1",
                                 "--min-accuracy", "0", "--device", "cpu"], driver_log, env)
        try:
            code = driver.wait(timeout=max(1.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            raise TimeoutError(f"the driver did not finish {trials} trials in time:\n"
                               f"{tail(driver_log)}") from None
        driver_wall = time.monotonic() - started
        if code != 0:
            raise RuntimeError(f"the driver exited with {code}:\n{tail(driver_log)}")
    finally:
        stop_processes([p for p in (driver, *processes) if p is not None])
    jobs = list(database(url).jobs.find({"exp_key": exp_key}))
    stats = throughput_stats(jobs)
    waits = [seconds(job["created"], job["book_time"]) for job in jobs
             if job.get("state") == 2 and job.get("created") and job.get("book_time")]
    queue_gaps = _driver_queue_gaps(jobs)
    return {**stats, "wall_s": driver_wall,
            "queue_wait_median_ms": 1000 * statistics.median(waits) if waits else float("nan"),
            "propose_gap_median_ms": queue_gaps}


def _driver_queue_gaps(jobs: list[dict]) -> float:
    """Median time between consecutive proposals' `created` stamps (the driver's pace)."""
    created = sorted(job["created"] for job in jobs if job.get("created"))
    gaps = [seconds(a, b) for a, b in zip(created, created[1:])]
    return 1000 * statistics.median(gaps) if gaps else float("nan")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, default=300, help="trials per configuration")
    parser.add_argument("--driver-trials", type=int, help="trials of the driver-fed run "
                        "(default: --trials)")
    parser.add_argument("--workers", default="1,2,4", help="worker counts to measure; the "
                        "first is the baseline of the ratios")
    parser.add_argument("--driver-workers", type=int, default=2)
    parser.add_argument("--no-driver", action="store_true", help="skip the driver-fed run")
    parser.add_argument("--store", help="an existing mongodb:// server to use (fresh databases "
                        "on it, dropped afterwards) instead of starting a test database")
    parser.add_argument("--timeout", type=float, default=900.0,
                        help="seconds allowed per configuration")
    args = parser.parse_args()
    counts = [int(part) for part in args.workers.split(",") if part.strip()]
    driver_trials = args.driver_trials or args.trials
    cores = os.cpu_count() or 1

    began = time.monotonic()
    proposals = proposals_for(args.trials)
    results: list[tuple[str, int, dict]] = []
    failures: list[str] = []
    with tempfile.TemporaryDirectory(prefix="hpsearch-bench-logs-") as logdir, \
            database_server(args.store) as (databases, where):
        print(f"database: {where}", flush=True)
        print(f"machine: {cores} CPU cores; noop objective, {args.trials} trials per "
              "configuration, workers start and report idle before the queue is filled",
              flush=True)
        for workers in counts:
            print(f"... {workers} worker(s), queued up front", flush=True)
            try:
                stats = run_queued(databases.new(f"q{workers}"), workers, proposals,
                                   Path(logdir), args.timeout)
                results.append(("queued up front", workers, stats))
            except (RuntimeError, TimeoutError) as error:
                failures.append(f"{workers} worker(s), queued: {error}")
                print(f"    FAILED: {error}", flush=True)
        if not args.no_driver:
            print(f"... {args.driver_workers} worker(s), fed by `hpsearch search` "
                  f"({driver_trials} trials)", flush=True)
            try:
                stats = run_driver_fed(databases.new("driver"), args.driver_workers,
                                       driver_trials, Path(logdir), args.timeout)
                results.append(("driver-fed", args.driver_workers, stats))
            except (RuntimeError, TimeoutError) as error:
                failures.append(f"driver-fed: {error}")
                print(f"    FAILED: {error}", flush=True)

    print_report(results, cores)
    print(f"\ntotal benchmark time {time.monotonic() - began:.1f} s")
    for failure in failures:
        print(f"FAILED {failure}", file=sys.stderr)
    return 1 if failures else 0


def print_report(results: list[tuple[str, int, dict]], cores: int) -> None:
    baseline = next((stats["trials_per_s"] for mode, _, stats in results
                     if mode == "queued up front"), None)
    header = (f"{'feeding':<16} {'workers':>7} {'done':>5} {'span s':>7} {'trials/s':>9} "
              f"{'vs base':>7} {'trial ms':>8} {'gap p50 ms':>10} {'gap p90 ms':>10}  "
              f"trials per worker")
    print("\n" + header)
    print("-" * len(header))
    for mode, workers, stats in results:
        if not stats.get("done"):
            print(f"{mode:<16} {workers:>7} {0:>5}  (nothing finished)")
            continue
        ratio = stats["trials_per_s"] / baseline if baseline else float("nan")
        note = "  (oversubscribed)" if workers > cores else ""
        print(f"{mode:<16} {workers:>7} {stats['done']:>5} {stats['span_s']:>7.2f} "
              f"{stats['trials_per_s']:>9.1f} {ratio:>6.2f}x {stats['service_median_ms']:>8.1f} "
              f"{stats['gap_median_ms']:>10.1f} {stats['gap_p90_ms']:>10.1f}  "
              f"{stats['per_worker']}{note}")
    print("\ntrials/s = done / (last finish - first start), from the job documents; 'vs base' "
          "is the ratio to the first queued-up-front configuration of this run.")
    print("trial ms = median book_time -> refresh_time (reserve write, objective, result "
          "commit); gap = one trial's end to the same worker's next start.")
    if any(workers > cores for _, workers, _ in results):
        print(f"NOTE: this machine has {cores} CPU cores; configurations with more workers than "
              "cores (and the test database, and this script) oversubscribe them, so their "
              "throughput understates what separate machines would get.")
    for mode, workers, stats in results:
        if mode == "driver-fed" and stats.get("done"):
            print(f"\ndriver-fed ({workers} workers): the driver finished {stats['done']} trials "
                  f"in {stats['wall_s']:.1f} s of wall time (start-up included); median wait in "
                  f"the queue (proposal created -> worker start) "
                  f"{stats['queue_wait_median_ms']:.0f} ms; median time between consecutive "
                  f"proposals {stats['propose_gap_median_ms']:.0f} ms.")


if __name__ == "__main__":
    sys.exit(main())
