"""The farm's own overhead: trials per second with a no-op objective, the gap between a
worker's trials, and the driver's CPU use, against Optuna 5 measured in the same run.

hpsearch: the real driver (`hpsearch search`) feeds 1, 2, 4 and 8 CPU worker processes
(`hpsearch worker --gpus none --threads-per-worker 1`) on the test database, each running
`--trials` no-op trials. The objective is `noop`, stamped with the worker's clock when it is
called and when it returns (benchmarks/stamped.py), so that

- trials/s = trials / (last return - first call);
- gap = from a worker's trial returning to its next trial being called (reporting the result,
  taking the next job, starting it), per worker, while the search has trials left.

Baseline: Optuna 5, 4 processes on one SQLite storage, each running `study.optimize` on a
no-op function over the same space (lr, batch size, weight decay, optimizer with momentum and
nesterov under sgd, scheduler with patience and factor under plateau), TPE sampler, the same
number of trials in all.

Quiet when idle: the driver's CPU use while 4 workers run 1-second trials
(`--cpu-trials` of them), from /proc, after its start-up.

    python benchmarks/farm_overhead.py [--trials 400] [--workers 1,2,4,8] [--cpu-trials 40]
                                       [--store mongodb://HOST:PORT] [--timeout 600]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _farm import (
    REPO_ROOT,
    database,
    database_server,
    environment,
    quantile,
    start_hpsearch,
    start_worker,
    stop_processes,
    tail,
)

BENCHMARKS = Path(__file__).resolve().parent
NOOP = "stamped:noop"
SLEEPS = "stamped:sleeps"
OPTUNA_PROCESSES = 4


# -- hpsearch ---------------------------------------------------------------------------------

def farm_environment(**extra: str) -> dict[str, str]:
    base = environment(**extra)
    return {**base, "PYTHONPATH": os.pathsep.join((str(BENCHMARKS), base["PYTHONPATH"]))}


def wait_for_idle_workers(url: str, processes: list[subprocess.Popen], logs: list[Path],
                          deadline: float) -> None:
    """Until every worker process has reported itself idle (start-up is not measured)."""
    db = database(url)
    pids = {str(process.pid) for process in processes}
    while True:
        idle = {doc["_id"].split(":")[1] for doc in db.workers.find({"state": "idle"}, {"_id": 1})}
        if pids <= idle:
            return
        for process, log in zip(processes, logs, strict=False):
            if process.poll() is not None:
                raise RuntimeError(f"worker {process.pid} exited with {process.returncode}:\n"
                                   f"{tail(log)}")
        if time.monotonic() > deadline:
            raise TimeoutError(f"workers not idle in time (idle: {sorted(idle)}, want {pids})")
        time.sleep(0.1)


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of a live process, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_driver_fed(url: str, workers: int, trials: int, objective: str, logdir: Path,
                   timeout: float, environment_extra: dict[str, str] | None = None) -> dict:
    """The real driver feeds `workers` processes until `trials` trials are done."""
    deadline = time.monotonic() + timeout
    exp_key = f"fed{workers}"
    env = farm_environment(**(environment_extra or {}))
    logs = [logdir / f"{exp_key}-{i}.log" for i in range(workers)]
    processes = [start_worker(url, log, env, "--exp-key", exp_key, "--allow-objective",
                              objective) for log in logs]
    driver = None
    cpu = None
    try:
        wait_for_idle_workers(url, processes, logs, deadline)
        driver_log = logdir / f"{exp_key}-driver.log"
        driver = start_hpsearch(["search", "--store", url, "--exp-key", exp_key, "--objective",
                                 objective, "--max-evals", str(trials), "--epochs", "1",
                                 "--min-accuracy", "0", "--device", "cpu"], driver_log, env)
        db = database(url)
        while db.jobs.count_documents({"exp_key": exp_key, "state": 2}) == 0:
            if driver.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"no trial finished:\n{tail(driver_log)}")
            time.sleep(0.05)
        cpu_start, wall_start = cpu_seconds(driver.pid), time.monotonic()
        while driver.poll() is None:
            if time.monotonic() > deadline:
                raise TimeoutError(f"the driver did not finish {trials} trials in time:\n"
                                   f"{tail(driver_log)}")
            try:
                cpu = (cpu_seconds(driver.pid) - cpu_start) / (time.monotonic() - wall_start)
            except (FileNotFoundError, ProcessLookupError, ValueError):
                break
            time.sleep(0.2)
        if driver.wait() != 0:
            raise RuntimeError(f"the driver exited with {driver.returncode}:\n{tail(driver_log)}")
    finally:
        stop_processes([p for p in (driver, *processes) if p is not None])
    jobs = list(database(url).jobs.find({"exp_key": exp_key, "state": 2}))
    return {**stamped_stats(jobs), "driver_cpu": cpu}


def stamped_stats(jobs: list[dict]) -> dict:
    stamped = [job["result"] for job in jobs if "called_at" in job.get("result", {})]
    if not stamped:
        return {"done": 0}
    span = max(r["returned_at"] for r in stamped) - min(r["called_at"] for r in stamped)
    by_worker: dict[str, list[dict]] = {}
    for result in stamped:
        by_worker.setdefault(result["worker"], []).append(result)
    gaps = []
    for results in by_worker.values():
        results.sort(key=lambda r: r["called_at"])
        gaps += [b["called_at"] - a["returned_at"]
                 for a, b in zip(results, results[1:], strict=False)]
    return {"done": len(stamped), "span_s": span, "trials_per_s": len(stamped) / span,
            "gap_median_ms": 1000 * statistics.median(gaps) if gaps else float("nan"),
            "gap_p95_ms": 1000 * quantile(gaps, 0.95) if gaps else float("nan"),
            "per_worker": sorted((len(v) for v in by_worker.values()), reverse=True)}


# -- Optuna -----------------------------------------------------------------------------------

def optuna_objective(trial) -> float:  # type: ignore[no-untyped-def]
    """A no-op over a space like hpsearch's `default` one."""
    trial.suggest_float("lr", 1e-5, 1e-1, log=True)
    trial.suggest_int("batch_size", 32, 512, step=32)
    trial.suggest_float("weight_decay", 1e-8, 1e-4, log=True)
    if trial.suggest_categorical("optimizer", ["adamw", "sgd"]) == "sgd":
        trial.suggest_float("momentum", 0.8, 0.99)
        trial.suggest_categorical("nesterov", [True, False])
    if trial.suggest_categorical("scheduler", ["cosine", "plateau"]) == "plateau":
        trial.suggest_int("patience", 1, 5)
        trial.suggest_float("factor", 0.1, 0.5, log=True)
    return 0.0


def optuna_process(storage: str, trials: int) -> None:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.load_study(study_name="noop", storage=storage)
    study.optimize(optuna_objective, n_trials=trials)


def run_optuna(root: Path, trials: int, timeout: float) -> dict:
    import optuna

    storage = f"sqlite:///{root / 'optuna.db'}"
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    optuna.create_study(study_name="noop", storage=storage,
                        sampler=optuna.samplers.TPESampler(seed=0))
    per_process = trials // OPTUNA_PROCESSES
    processes = [subprocess.Popen([sys.executable, __file__, "--optuna-process", storage,
                                   str(per_process)], cwd=REPO_ROOT)
                 for _ in range(OPTUNA_PROCESSES)]
    for process in processes:
        if process.wait(timeout=timeout) != 0:
            raise RuntimeError(f"an Optuna process exited with {process.returncode}")
    study = optuna.load_study(study_name="noop", storage=storage)
    done = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    span = (max(t.datetime_complete for t in done)
            - min(t.datetime_start for t in done)).total_seconds()
    return {"done": len(done), "span_s": span, "trials_per_s": len(done) / span}


# -- report -----------------------------------------------------------------------------------

def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, default=400, help="trials per configuration")
    parser.add_argument("--workers", default="1,2,4,8", help="worker counts to measure")
    parser.add_argument("--cpu-trials", type=int, default=40,
                        help="1-second trials of the driver CPU measurement (0 skips it)")
    parser.add_argument("--store", help="an existing mongodb:// server instead of the test one")
    parser.add_argument("--timeout", type=float, default=600.0,
                        help="seconds allowed per configuration")
    parser.add_argument("--optuna-process", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.optuna_process:
        optuna_process(args.optuna_process[0], int(args.optuna_process[1]))
        return 0
    counts = [int(part) for part in args.workers.split(",") if part.strip()]
    cores = os.cpu_count() or 1
    began = time.monotonic()
    results: list[tuple[str, dict]] = []
    failures: list[str] = []
    cpu_result = None
    with tempfile.TemporaryDirectory(prefix="hpsearch-bench-") as root, \
            database_server(args.store) as (databases, where):
        print(f"database: {where}; machine: {cores} CPU cores; {args.trials} no-op trials per "
              "configuration", flush=True)
        for workers in counts:
            print(f"... hpsearch, driver + {workers} worker(s)", flush=True)
            try:
                results.append((f"hpsearch, {workers} worker(s)", run_driver_fed(
                    databases.new(f"w{workers}"), workers, args.trials, NOOP, Path(root),
                    args.timeout)))
            except (RuntimeError, TimeoutError) as error:
                failures.append(f"{workers} worker(s): {error}")
        # The baseline of every row, whatever --workers lists: the same run, the same trials.
        print(f"... Optuna 5, {OPTUNA_PROCESSES} processes on one SQLite file", flush=True)
        results.append((f"Optuna 5, {OPTUNA_PROCESSES} processes",
                        run_optuna(Path(root), args.trials, args.timeout)))
        if args.cpu_trials:
            print(f"... driver CPU: 4 workers, {args.cpu_trials} one-second trials", flush=True)
            try:
                cpu_result = run_driver_fed(databases.new("cpu"), 4, args.cpu_trials, SLEEPS,
                                            Path(root), args.timeout)
            except (RuntimeError, TimeoutError) as error:
                failures.append(f"driver CPU: {error}")
    print_report(results, cpu_result, cores)
    print(f"\ntotal benchmark time {time.monotonic() - began:.0f} s")
    for failure in failures:
        print(f"FAILED {failure}", file=sys.stderr)
    return 1 if failures else 0


def print_report(results: list[tuple[str, dict]], cpu_result: dict | None, cores: int) -> None:
    optuna = next((stats for name, stats in results if name.startswith("Optuna")), None)
    header = (f"{'configuration':<28} {'done':>5} {'trials/s':>9} {'vs Optuna':>9} "
              f"{'gap p50 ms':>10} {'gap p95 ms':>10} {'driver CPU':>10}")
    print("\n" + header)
    print("-" * len(header))
    for name, stats in results:
        if not stats.get("done"):
            print(f"{name:<28} nothing finished")
            continue
        ratio = stats["trials_per_s"] / optuna["trials_per_s"] if optuna else float("nan")
        gap50 = stats.get("gap_median_ms")
        gap95 = stats.get("gap_p95_ms")
        cpu = stats.get("driver_cpu")
        workers = int(name.split(", ")[1].split()[0]) if name.startswith("hpsearch") else 0
        note = "  (oversubscribed)" if workers > cores else ""
        print(f"{name:<28} {stats['done']:>5} {stats['trials_per_s']:>9.1f} {ratio:>8.2f}x "
              f"{'-' if gap50 is None else f'{gap50:.1f}':>10} "
              f"{'-' if gap95 is None else f'{gap95:.1f}':>10} "
              f"{'-' if cpu is None else f'{100 * cpu:.0f}%':>10}{note}")
    if cpu_result and cpu_result.get("done"):
        print(f"\ndriver CPU with 4 workers and 1-second trials: "
              f"{100 * cpu_result['driver_cpu']:.1f}% of one core (target under 10%); "
              f"{cpu_result['trials_per_s']:.2f} trials/s, gap p50 "
              f"{cpu_result['gap_median_ms']:.1f} ms, p95 {cpu_result['gap_p95_ms']:.1f} ms")
    print("\ntrials/s = done / (last trial's return - first trial's call); gap = a trial's "
          "return to the same worker's next call, as the worker's clock saw it. Driver CPU is "
          "measured from the first finished trial to the end (start-up excluded).")
    print(f"NOTE: this machine has {cores} CPU cores, shared by the database, the driver, the "
          "workers (and, for Optuna, its processes and SQLite); more processes than cores "
          "oversubscribe them.")


if __name__ == "__main__":
    sys.exit(main())
