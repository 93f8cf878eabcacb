"""What one driver and one database cost per trial as a farm grows: the protocol counted, and
a simulated farm of 10 to 300 workers.

`protocol`: the database operations of one trial's life, by kind (insert, update, find; by a
bare `_id` or by another filter), through the real store code, for each MongoDB dialect:
queue (the driver's insert), reserve, one heartbeat, result, the job a worker reserves ahead
(lookahead) and the driver's reads of the changes. Then what one idle worker costs per second.

`farm`: simulated workers speak the real protocol through the real store code: `Worker`
objects (reserve ahead, heartbeat, report, reclaim) as threads, up to 100 per process, run a
`stamped:lognormal` objective that sleeps a lognormal time (sigma 0.5). The real driver
(`run_search`, in its own process) feeds them. Durations and heartbeats scale with the farm
(median W / RATE seconds, heartbeat every median / 5), so every farm size produces the same
results and heartbeats per second and only the size differs: the driver's cost per result
must not grow with it. The driver reads changes by marker (the MongoDB dialect); the workers
use the dialect the server calls for (on FerretDB, whose every read but by `_id` decodes the
whole collection, the by-`_id` one). Measured over the results after the farm's first wave:
driver CPU per result, proposal latency, operations per second (total and per worker),
operations per result, queue depth, and a worker's idle gap between two trials; then the
operations per second by the protocol step that made them (reserve, reserve ahead, heartbeat,
status report, result, the driver's reads of the changes, ...) and the database process's CPU.
A farm that does not reach its window in `--timeout` is reported as stalled, with the same
breakdown over its last minute. `--pool N` caps each process's connections (maxPoolSize).

`driver`: the driver's own work per result at 1,000 and 10,000 finished trials (proposal,
account, feed), with the embedded store and an in-process noop worker, the same driver loop,
with confirmation runs on (the default) and off.

    nice -n 10 python benchmarks/farm_scale.py protocol
    nice -n 10 python benchmarks/farm_scale.py farm --workers 10,100,300 --out farm.jsonl
    nice -n 10 python benchmarks/farm_scale.py driver --finished 1000,10000 [--confirm default,none]
    python benchmarks/farm_scale.py report --out farm.jsonl
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from _farm import REPO_ROOT, database, database_server, environment, quantile, tail
from pymongo import monitoring

import objectives  # noqa: E402
import spaces  # noqa: E402
from search.confirmation import REPEAT_OF, parse_confirm  # noqa: E402
from search.documents import JOB_STATE_DONE, utcnow  # noqa: E402
from search.experiment import Experiment  # noqa: E402
from search.farm import driver as driver_module  # noqa: E402
from search.farm.driver import DriverOptions, SearchProgress, run_search  # noqa: E402
from search.farm.proposals import Proposer  # noqa: E402
from search.farm.stopping import StopRequest  # noqa: E402
from search.farm.worker import Worker, WorkerOptions  # noqa: E402
from search.policy import Policy  # noqa: E402
from search.store import open_store  # noqa: E402
from search.store._mongo import MongoStore  # noqa: E402
from search.store._mongo._dialect import DIALECT_VARIABLE, DIALECTS  # noqa: E402
from search.store._mongo._operations import (  # noqa: E402
    READS,
    WRITES,
    OperationCounts,
    command_kind,
)

BENCHMARKS = Path(__file__).resolve().parent
SPACE = spaces.load_space("default")
OBJECTIVE = "stamped:lognormal"
RATE = 3.0  # results per second the simulated farms are sized for
BEATS_PER_TRIAL = 5  # heartbeats per median trial
THREADS_PER_PROCESS = 100
KINDS = (*WRITES, *READS)


# -- the protocol, counted ----------------------------------------------------------------------

def experiment(exp_key: str, policy: Policy, max_evals: int | None = None,
               objective: str = "noop", confirm: str = "none") -> Experiment:
    return Experiment(exp_key=exp_key, space=SPACE.record, objective=objective, epochs=1,
                      min_accuracy=0.0, device="cpu", policy=policy, max_evals=max_evals,
                      confirmation=parse_confirm(confirm))


def counted(store: MongoStore, action: Any) -> tuple[Any, OperationCounts]:
    before = store.operations
    value = action()
    return value, store.operations - before


def protocol(url: str, dialect: str) -> dict[str, OperationCounts]:
    """One trial's life, phase by phase, in `dialect` (a fresh store per role)."""
    os.environ[DIALECT_VARIABLE] = dialect
    driver_store, worker_store = open_store(url), open_store(url)
    assert isinstance(driver_store, MongoStore) and isinstance(worker_store, MongoStore)
    try:
        driver_store.record_experiment(experiment("p", Policy()))
        worker_store.reserve_next_job("warm", ["p"])  # indexes and first reads, not counted
        proposer = Proposer("p", SPACE.graph, seed=0, startup_trials=10)
        feed = driver_store.job_changes("p")
        feed.read(set())
        phases: dict[str, OperationCounts] = {}
        _, phases["queue (driver)"] = counted(driver_store, lambda: driver_store.queue_jobs(
            [proposer.propose(tid) for tid in range(2)]))
        phases["queue (driver)"] = halved(phases["queue (driver)"])  # two jobs, one insert
        reservation, phases["reserve"] = counted(
            worker_store, lambda: worker_store.reserve_next_job("w", ["p"]))
        ahead, phases["reserve ahead (lookahead)"] = counted(
            worker_store, lambda: worker_store.reserve_next_job("w", ["p"]))
        _, phases["heartbeat"] = counted(worker_store, lambda: worker_store.heartbeat(reservation))
        _, phases["heartbeat of the job ahead"] = counted(
            worker_store, lambda: worker_store.heartbeat(ahead))
        result = {"status": "ok", "loss": -1.0, "accuracy": 0.5, "train_seconds": 1.0,
                  "attempt": 0}
        _, phases["result"] = counted(worker_store,
                                      lambda: worker_store.finish_job(reservation, result))
        unfinished = {ahead.tid}
        _, phases["driver reads the change"] = counted(driver_store,
                                                       lambda: feed.read(unfinished))
        return phases
    finally:
        driver_store.close()
        worker_store.close()


def halved(counts: OperationCounts) -> OperationCounts:
    """Per job, for a phase that handled two jobs in one batch (operations round up)."""
    return OperationCounts({k: math.ceil(v / 2) for k, v in counts.operations.items()},
                           {k: v // 2 for k, v in counts.documents.items()})


def idle_worker(url: str, dialect: str, seconds: float) -> OperationCounts:
    """What one idle worker asks of the database per second, after its first minute's
    back-off (its polls reach their longest interval within seconds)."""
    os.environ[DIALECT_VARIABLE] = dialect
    store = open_store(url)
    assert isinstance(store, MongoStore)
    store.record_experiment(experiment("idle", Policy()))  # an experiment with no jobs
    stop = StopRequest()
    worker = Worker(store, f"idle-{dialect}:1:cpu", WorkerOptions(exp_keys=("idle",)), stop)
    thread = threading.Thread(target=worker.run, daemon=True)
    thread.start()
    try:
        time.sleep(5.0)  # the back-off reaches its longest wait
        before = store.operations
        time.sleep(seconds)
        counts = store.operations - before
    finally:
        stop.request()
        thread.join(timeout=60)
        store.close()
    return OperationCounts({k: v / seconds for k, v in counts.operations.items()},
                           {k: v / seconds for k, v in counts.documents.items()})


def run_protocol(args: argparse.Namespace) -> int:
    with database_server(args.store) as (databases, where):
        print(f"database: {where}\n")
        for dialect in DIALECTS:
            url = databases.new(f"protocol_{dialect}")
            phases = protocol(url, dialect)
            print(f"## One trial's life, {dialect} dialect: operations (documents read)")
            print_counts(phases)
            idle = idle_worker(url, dialect, args.idle_seconds)
            print(f"\none idle worker, per second: {idle.total:.2f} operations "
                  f"({idle.writes:.2f} writes), " + ", ".join(
                      f"{kind} {count:.2f}" for kind, count in sorted(idle.operations.items()))
                  + f"; 1,000 idle workers: {1000 * idle.total:.0f} operations/s\n")
    return 0


def print_counts(phases: dict[str, OperationCounts]) -> None:
    kinds = [kind for kind in KINDS if any(kind in c.operations for c in phases.values())]
    header = f"{'phase':<28}" + "".join(f"{kind:>17}" for kind in kinds) + f"{'writes':>8}"
    print(header)
    for phase, counts in phases.items():
        cells = "".join(f"{cell(counts, kind):>17}" for kind in kinds)
        print(f"{phase:<28}{cells}{counts.writes:>8}")


def cell(counts: OperationCounts, kind: str) -> str:
    operations = counts.operations.get(kind, 0)
    if not operations:
        return "-"
    documents = counts.documents.get(kind)
    return f"{operations} ({documents})" if documents is not None and kind in READS \
        else str(operations)


# -- the simulated farm -------------------------------------------------------------------------

def prefill(url: str, exp_key: str, finished: int, policy: Policy, max_evals: int) -> None:
    """Record the experiment with `finished` finished trials, as a resumed search holds them."""
    store = open_store(url)
    try:
        store.record_experiment(experiment(exp_key, policy, max_evals, OBJECTIVE))
        proposer = Proposer(exp_key, SPACE.graph, seed=5, startup_trials=10**9)
        templates = [proposer.propose(tid) for tid in range(min(finished, 200))]
        jobs = []
        now = utcnow()
        for tid in range(finished):
            template = templates[tid % len(templates)]
            accuracy = 0.5 + 0.4 * ((tid * 7919) % 1000) / 1000
            seconds = 1.0 + (tid * 104729) % 100 / 10
            jobs.append({**template, "_id": f"{exp_key}/{tid}", "tid": tid,
                         "state": JOB_STATE_DONE, "owner": "prefill", "book_time": now,
                         "refresh_time": now, "result": {
                             "status": "ok", "loss": -accuracy / seconds, "accuracy": accuracy,
                             "train_seconds": seconds, "worker": "prefill", "device": "cpu"}})
        db = database(url)
        for start in range(0, len(jobs), 1000):
            db.jobs.insert_many(jobs[start:start + 1000])
    finally:
        store.close()


class SourceCounter(monitoring.CommandListener):
    """This process's operations by the protocol step that made them (the store method a
    worker called, "ahead" when its lookahead thread called it) and kind: where the database's
    work comes from."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._local = threading.local()
        self.counts: dict[str, int] = {}

    def labelled(self, name: str, method: Any) -> Any:
        def call(*args: Any, **kwargs: Any) -> Any:
            if getattr(self._local, "label", None) is not None:
                return method(*args, **kwargs)  # a step's inner store calls are its own
            thread = threading.current_thread().name
            self._local.label = f"{name} (ahead)" if thread == "lookahead" else name
            try:
                return method(*args, **kwargs)
            finally:
                self._local.label = None
        return call

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        kind, count = command_kind(event.command_name, event.command)
        key = f"{getattr(self._local, 'label', None) or 'other'}: {kind}"
        with self._lock:
            self.counts[key] = self.counts.get(key, 0) + count

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass

    def snapshot(self) -> dict[str, int]:
        with self._lock:
            return dict(self.counts)


STEPS = ("reserve_next_job", "heartbeat", "report_worker", "finish_job", "experiment",
         "running_attempts", "give_up", "release_job", "pruning_evidence", "job_changes",
         "queue_jobs", "live_workers", "jobs", "late_results", "publish_pruning_evidence",
         "record_experiment")


def counted_by_source(url: str) -> tuple[MongoStore, SourceCounter]:
    """A store whose operations are also counted by protocol step (see SourceCounter)."""
    sources = SourceCounter()
    monitoring.register(sources)  # every client created from now on reports to it
    store = open_store(url)
    assert isinstance(store, MongoStore)
    for name in STEPS:
        setattr(store, name, sources.labelled(name, getattr(store, name)))
    return store, sources


def workers_process(url: str, exp_key: str, count: int, prefix: str, out: str) -> int:
    """`count` simulated workers as threads; counts this process's operations every second,
    written to `out` every ten, until SIGTERM."""
    objectives.configure_cpu_threads(1)
    store, sources = counted_by_source(url)
    stop = StopRequest()
    stop.install_signal_handlers()
    workers = [Worker(store, f"{prefix}-{i}:{os.getpid()}:cpu",
                      WorkerOptions(exp_keys=(exp_key,), lookahead=True,
                                    allowed_objectives=(OBJECTIVE,)), stop)
               for i in range(count)]
    threads = [threading.Thread(target=worker.run, daemon=True) for worker in workers]
    for thread in threads:
        thread.start()
    sample_counts(store, sources, out, stop.wait)
    return 0


def sample_counts(store: MongoStore, sources: SourceCounter, out: str,
                  wait: Any) -> None:
    """Record this process's counts every second, written to `out` every ten (the farm may
    end the process without a goodbye), until `wait(1.0)` is true."""
    samples: list[dict[str, Any]] = []
    while not wait(1.0):
        counts = store.operations
        samples.append({"time": time.time(), "operations": counts.operations,
                        "documents": counts.documents, "sources": sources.snapshot()})
        if len(samples) % 10 == 0:
            written = Path(f"{out}.part")
            written.write_text(json.dumps(samples))
            written.replace(out)


class TimedProposer(Proposer):
    """The driver's Proposer, timing each proposal."""

    timings: list[tuple[float, float, float]] = []  # (time.time(), seconds, CPU seconds)

    def propose(self, tid: int) -> dict[str, Any]:
        started, cpu_started = time.perf_counter(), time.process_time()
        job = super().propose(tid)
        TimedProposer.timings.append((time.time(), time.perf_counter() - started,
                                      time.process_time() - cpu_started))
        return job


class WindowMeasured(Exception):
    """The measured results are in: the driver stops (the search could be resumed)."""


def driver_process(url: str, exp_key: str, window_from: int, window_results: int, out: str
                   ) -> int:
    """The real driver, measured from the `window_from`-th finished trial over the next
    `window_results`, while the farm is still fed (its max_evals lies beyond)."""
    store, sources = counted_by_source(url)
    opened = store.job_changes

    def job_changes(exp_key: str) -> Any:
        feed = opened(exp_key)
        feed.read = sources.labelled("job_changes.read", feed.read)  # type: ignore[method-assign]
        return feed

    store.job_changes = job_changes  # type: ignore[method-assign]
    threading.Thread(target=sample_counts, args=(store, sources, f"{out}.samples",
                                                 threading.Event().wait), daemon=True).start()
    recorded = store.experiment(exp_key)
    assert recorded is not None
    driver_module.Proposer = TimedProposer  # type: ignore[misc]
    marks: dict[str, Any] = {}
    queued: list[int] = []

    def mark() -> tuple[float, float, OperationCounts, dict[str, int]]:
        return time.time(), time.process_time(), store.operations, sources.snapshot()

    def on_progress(progress: SearchProgress) -> None:
        if progress.finished >= window_from and "start" not in marks:
            marks["start"], marks["from"] = mark(), progress.finished
        if "start" in marks:
            queued.append(progress.queued)
            if progress.finished >= marks["from"] + window_results:
                marks["end"], marks["to"] = mark(), progress.finished
                raise WindowMeasured

    with contextlib.suppress(WindowMeasured):
        run_search(store, recorded, SPACE.graph, DriverOptions(startup_trials=10),
                   on_progress=on_progress)
    (began, cpu_began, ops_began, sources_began), (ended, cpu_ended, ops_ended, sources_ended) \
        = marks["start"], marks["end"]
    operations = ops_ended - ops_began
    Path(out).write_text(json.dumps({
        "window": [began, ended], "cpu": cpu_ended - cpu_began,
        "results": marks["to"] - marks["from"], "operations": operations.operations,
        "documents": operations.documents,
        "sources": {key: count - sources_began.get(key, 0)
                    for key, count in sources_ended.items() if count - sources_began.get(key, 0)},
        "proposals": [s for t, s, _ in TimedProposer.timings if began <= t <= ended],
        "queued": queued}))
    store.close()
    return 0


def farm(databases: Any, workers: int, finished: int, results: int, root: Path,
         timeout: float, pool: int | None = None,
         server_processes: Sequence[str] = ()) -> dict[str, Any]:
    """One farm of `workers`; `pool` caps each process's connections to the database (its
    threads then queue in the client, not in the server); `server_processes` names an
    existing server's processes, whose CPU is then sampled as the test database's is."""
    median = workers / RATE
    policy = Policy(heartbeat_interval=median / BEATS_PER_TRIAL,
                    stale_after=max(30.0, 4 * median))
    exp_key = f"scale{workers}"
    url = databases.new(f"w{workers}f{finished}")
    # Half the first wave, the measured results, and enough beyond to keep every worker fed.
    max_evals = finished + workers // 2 + results + 3 * workers + 1
    prefill(url, exp_key, finished, policy, max_evals)
    if pool is not None:
        url = f"{url}{'&' if '?' in url else '?'}maxPoolSize={pool}"
    env = environment(**{"PYTHONPATH": os.pathsep.join((str(BENCHMARKS), str(REPO_ROOT))),
                         "HPSEARCH_BENCH_TRIAL_MEDIAN": str(median)})
    processes = []
    outputs = []
    for index in range(math.ceil(workers / THREADS_PER_PROCESS)):
        count = min(THREADS_PER_PROCESS, workers - index * THREADS_PER_PROCESS)
        out = root / f"{exp_key}-workers-{index}.json"
        log = open(root / f"{exp_key}-workers-{index}.log", "wb")  # noqa: SIM115
        processes.append(subprocess.Popen(
            [sys.executable, __file__, "workers-process", url, exp_key, str(count),
             f"sim{index}", str(out)], stdout=log, stderr=subprocess.STDOUT, env=env,
            cwd=REPO_ROOT))
        outputs.append(out)
    db = database(url)
    server_cpu = ServerCPU(databases.server, server_processes)
    deadline = time.monotonic() + timeout
    while db.workers.count_documents({"state": "idle"}) < workers:
        if time.monotonic() > deadline or any(p.poll() is not None for p in processes):
            stop_all(processes)
            raise RuntimeError(f"workers not ready:\n{tail(root / f'{exp_key}-workers-0.log')}")
        time.sleep(0.5)
    print(f"    {workers} workers ready after {timeout - (deadline - time.monotonic()):.0f} s",
          flush=True)
    driver_out = root / f"{exp_key}-driver.json"
    driver_log = root / f"{exp_key}-driver.log"
    driver_env = {**env, DIALECT_VARIABLE: "mongodb"}
    with open(driver_log, "wb") as log:
        driver = subprocess.Popen([sys.executable, __file__, "driver-process", url, exp_key,
                                   str(finished + workers // 2), str(results),
                                   str(driver_out)],
                                  stdout=log, stderr=subprocess.STDOUT, env=driver_env,
                                  cwd=REPO_ROOT)
    try:
        driver.wait(timeout=max(1.0, deadline - time.monotonic()))
        time.sleep(11.0)  # the workers' counts of the window's end are written
    except subprocess.TimeoutExpired:
        stalled_at = time.time()
        time.sleep(11.0)  # the last counts are written
        driver.kill()
        stop_all(processes)
        server_cpu.stop()
        return stalled(db, exp_key, workers, finished, [*outputs, Path(f"{driver_out}.samples")],
                       server_cpu, stalled_at, tail(driver_log))
    finally:
        server_cpu.stop()
        stop_all(processes)
    if driver.returncode != 0:
        raise RuntimeError(f"the driver failed:\n{tail(driver_log)}")
    measured = json.loads(driver_out.read_text())
    begin, end = measured["window"]
    worker_counts = [window_counts(json.loads(out.read_text()), begin, end) for out in outputs]
    jobs = [job for job in db.jobs.find({"exp_key": exp_key, "state": 2}, {"result": 1})
            if "returned_at" in job.get("result", {})]
    return summarize(workers, finished, median, policy, measured, worker_counts, jobs,
                     server_cpu.over(begin, end))


class ServerCPU:
    """The CPU seconds the database server has used, sampled every second: the test
    database's process, or an existing server's processes on this machine named by `names`
    (for example FerretDB and PostgreSQL); None when neither is there to watch."""

    def __init__(self, server: Any, names: Sequence[str] = ()) -> None:
        process = getattr(server, "_proc", None)
        self._pid = process.pid if process is not None else None
        self._names = frozenset(names)
        self._samples: list[tuple[float, float]] = []
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        if self._pid is not None or self._names:
            self._thread.start()

    def _seconds(self) -> float:
        """User and system time of the server's processes, with their reaped children's (a
        PostgreSQL backend's time moves to the postmaster when its connection closes)."""
        ticks = os.sysconf("SC_CLK_TCK")
        stats = ([Path(f"/proc/{self._pid}/stat")] if self._pid is not None
                 else Path("/proc").glob("[0-9]*/stat"))
        total = 0.0
        for stat in stats:
            with contextlib.suppress(OSError):
                head, fields = stat.read_text().rsplit(")", 1)
                if self._pid is None and head.split("(", 1)[1] not in self._names:
                    continue
                total += sum(int(field) for field in fields.split()[11:15]) / ticks
        return total

    def _sample(self) -> None:
        while not self._stopped.wait(1.0):
            self._samples.append((time.time(), self._seconds()))

    def stop(self) -> None:
        self._stopped.set()
        if self._thread.is_alive():
            self._thread.join()

    def over(self, begin: float, end: float) -> float | None:
        """Cores the server used on average between `begin` and `end`."""
        inside = [s for s in self._samples if begin <= s[0] <= end]
        if len(inside) < 2:
            return None
        (t0, c0), (t1, c1) = inside[0], inside[-1]
        return (c1 - c0) / (t1 - t0)


def stalled(db: Any, exp_key: str, workers: int, finished: int, outputs: list[Path],
            server_cpu: ServerCPU, end: float, driver_log: str) -> dict[str, Any]:
    """The profile of a farm that did not reach its measured window by `end`: what each side
    asked of the database over the last minute, what the server spent, where the jobs stood,
    and what one read by a filter (a scan on FerretDB) costs the idle server at that size."""
    begin = end - 60.0
    per_s: dict[str, dict[str, float]] = {"worker": {}, "driver": {}}
    for out in outputs:
        if not out.exists():
            continue
        counts = window_counts(json.loads(out.read_text()), begin, end)
        side = per_s["driver" if out.name.endswith(".samples") else "worker"]
        for key, count in counts["sources"].items():
            side[key] = side.get(key, 0.0) + count / counts["span"]
    states: dict[str, int] = {}
    for job in db.jobs.find({"exp_key": exp_key}, {"state": 1}):
        states[str(job["state"])] = states.get(str(job["state"]), 0) + 1
    scans = []
    for _ in range(3):
        started = time.perf_counter()
        list(db.jobs.find({"state": 0, "exp_key": {"$in": [exp_key]}}).sort("tid").limit(32))
        scans.append(time.perf_counter() - started)
    print(f"    stalled: {driver_log.strip().splitlines()[-1] if driver_log.strip() else ''}")
    return {"workers": workers, "finished": finished, "stalled": True,
            "worker_sources_per_s": per_s["worker"], "driver_sources_per_s": per_s["driver"],
            "total_ops_per_s": sum(sum(side.values()) for side in per_s.values()),
            "server_cores": server_cpu.over(begin, end), "states": states,
            "scan_ms": 1000 * statistics.median(scans)}


def stop_all(processes: list[subprocess.Popen]) -> None:
    """End the simulated workers once measured: their trials (minutes long in a big farm)
    are not waited for."""
    for process in processes:
        if process.poll() is None:
            process.kill()
    for process in processes:
        process.wait()


def window_counts(samples: list[dict], begin: float, end: float) -> dict[str, float]:
    """Operations a workers process made between `begin` and `end`, from its samples."""
    inside = [s for s in samples if begin <= s["time"] <= end] or samples[-1:]
    first, last = inside[0], inside[-1]
    span = max(last["time"] - first["time"], 1e-9)
    counts = {kind: last["operations"].get(kind, 0) - first["operations"].get(kind, 0)
              for kind in last["operations"]}
    sources = {key: count - first["sources"].get(key, 0)
               for key, count in last["sources"].items()}
    return {"span": span, **counts, "sources": sources}


def summarize(workers: int, finished: int, median: float, policy: Policy, measured: dict,
              worker_counts: list[dict], jobs: list[dict], server_cores: float | None
              ) -> dict[str, Any]:
    begin, end = measured["window"]
    results = measured["results"]
    driver_ops = sum(measured["operations"].values())
    worker_ops = {kind: sum(c.get(kind, 0) for c in worker_counts) for kind in KINDS}
    worker_span = statistics.mean(c["span"] for c in worker_counts)
    worker_total = sum(worker_ops.values())
    by_worker: dict[str, list[dict]] = {}
    for job in jobs:
        result = job["result"]
        if begin <= result["returned_at"] <= end:
            by_worker.setdefault(result["worker"], []).append(result)
    gaps = []
    for done in by_worker.values():
        done.sort(key=lambda r: r["called_at"])
        gaps += [b["called_at"] - a["returned_at"] for a, b in zip(done, done[1:], strict=False)]
    proposals = measured["proposals"]
    worker_sources: dict[str, float] = {}
    for counts in worker_counts:
        for key, count in counts["sources"].items():
            worker_sources[key] = worker_sources.get(key, 0.0) + count / worker_span
    driver_sources = {key: count / (end - begin) for key, count in measured["sources"].items()}
    total_per_s = worker_total / worker_span + driver_ops / (end - begin)
    return {
        "workers": workers, "finished": finished, "median_s": median,
        "heartbeat_s": policy.heartbeat_interval, "results": results,
        "results_per_s": results / (end - begin),
        "driver_cpu_ms_per_result": 1000 * measured["cpu"] / results,
        "driver_ops_per_result": driver_ops / results,
        "driver_docs_per_result": sum(measured["documents"].get(k, 0) for k in READS) / results,
        "driver_ops": measured["operations"],
        "proposal_ms_p50": 1000 * statistics.median(proposals) if proposals else None,
        "proposal_ms_p95": 1000 * quantile(proposals, 0.95) if proposals else None,
        "worker_ops_per_s": worker_total / worker_span,
        "worker_ops_per_s_per_worker": worker_total / worker_span / workers,
        "worker_writes_per_result": sum(worker_ops[k] for k in WRITES) / worker_span
        / (results / (end - begin)),
        "worker_ops": worker_ops,
        "total_ops_per_s": total_per_s,
        "worker_sources_per_s": worker_sources,
        "driver_sources_per_s": driver_sources,
        "server_cores": server_cores,
        "server_ms_per_op": 1000 * server_cores / total_per_s if server_cores else None,
        "stalled": False,
        "queue_p50": statistics.median(measured["queued"]) if measured["queued"] else None,
        "gap_ms_p50": 1000 * statistics.median(gaps) if gaps else None,
        "gap_ms_p95": 1000 * quantile(gaps, 0.95) if gaps else None,
    }


def run_farm(args: argparse.Namespace) -> int:
    out = Path(args.out)
    done = {(r["workers"], r["finished"]) for r in read_results(out)}
    with tempfile.TemporaryDirectory(prefix="hpsearch-scale-") as root, \
            database_server(args.store) as (databases, where):
        print(f"database: {where}; load average {os.getloadavg()[0]:.1f}", flush=True)
        for finished in [int(part) for part in args.finished.split(",")]:
            for workers in [int(part) for part in args.workers.split(",")]:
                if (workers, finished) in done:
                    continue
                print(f"... {workers} workers, {finished} finished trials", flush=True)
                began = time.monotonic()
                row = farm(databases, workers, finished, args.results, Path(root),
                           args.timeout, args.pool, args.server_process)
                row["pool"] = args.pool
                row["load_average"] = os.getloadavg()[0]
                row["wall_s"] = time.monotonic() - began
                with open(out, "a") as file:
                    file.write(json.dumps(row) + "\n")
                print_farm([row])
    print_farm(read_results(out))
    return 0


def print_stalls(rows: list[dict]) -> None:
    for r in rows:
        print(f"\n{r['workers']} workers did not reach the measured window: jobs by state "
              f"{r['states']}; server CPU {r['server_cores'] or 0:.2f} cores over the last "
              f"minute; one read of the queue by filter on the idle server: "
              f"{r['scan_ms']:.0f} ms")


def read_results(path: Path) -> list[dict]:
    with contextlib.suppress(FileNotFoundError):
        return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return []


def print_farm(rows: list[dict]) -> None:
    measured = [r for r in rows if not r.get("stalled")]
    print_measured(measured)
    print_sources([r for r in rows if "worker_sources_per_s" in r])
    print_stalls([r for r in rows if r.get("stalled")])


def print_measured(rows: list[dict]) -> None:
    print(f"\n{'workers':>7} {'finished':>8} {'results/s':>9} {'driver CPU':>10} "
          f"{'driver ops':>10} {'driver docs':>11} {'proposal':>14} {'worker ops/s':>12} "
          f"{'per worker':>10} {'worker writes':>13} {'queue':>5} {'gap ms':>13} {'load':>5}")
    print(f"{'':>7} {'':>8} {'':>9} {'ms/result':>10} {'/result':>10} {'/result':>11} "
          f"{'ms p50/p95':>14} {'':>12} {'':>10} {'/result':>13} {'p50':>5} {'p50/p95':>13}")
    for r in rows:
        print(f"{r['workers']:>7} {r['finished']:>8} {r['results_per_s']:>9.2f} "
              f"{r['driver_cpu_ms_per_result']:>10.1f} {r['driver_ops_per_result']:>10.2f} "
              f"{r['driver_docs_per_result']:>11.2f} "
              f"{r['proposal_ms_p50']:>6.1f}/{r['proposal_ms_p95']:<7.1f} "
              f"{r['worker_ops_per_s']:>12.1f} {r['worker_ops_per_s_per_worker']:>10.2f} "
              f"{r['worker_writes_per_result']:>13.2f} {r['queue_p50']:>5.0f} "
              f"{r['gap_ms_p50']:>6.1f}/{r['gap_ms_p95']:<6.0f} {r['load_average']:>5.1f}")


def print_sources(rows: list[dict]) -> None:
    """Operations per second by the step that made them, and what the server spent on them."""
    if not rows:
        return
    keys = sorted({(side, key) for r in rows for side in ("driver", "worker")
                   for key in r[f"{side}_sources_per_s"]})
    print("\noperations per second by step (server CPU: the database process, in cores)")
    print(f"{'side':<7}{'step: kind':<44}" + "".join(f"{r['workers']:>9}" for r in rows))
    for side, key in keys:
        if all(r[f"{side}_sources_per_s"].get(key, 0.0) < 0.05 for r in rows):
            continue
        cells = "".join(f"{r[f'{side}_sources_per_s'].get(key, 0.0):>9.1f}" for r in rows)
        print(f"{side:<7}{key:<44}{cells}")
    print(f"{'':<7}{'total':<44}" + "".join(f"{r['total_ops_per_s']:>9.1f}" for r in rows))
    print(f"{'':<7}{'server CPU, cores':<44}"
          + "".join(figure(r["server_cores"]) for r in rows))
    print(f"{'':<7}{'server CPU ms per operation':<44}"
          + "".join(figure(r.get("server_ms_per_op")) for r in rows))


def figure(value: float | None) -> str:
    """A table cell; n/a where the server's CPU could not be watched."""
    return f"{'n/a':>9}" if value is None else f"{value:>9.2f}"


# -- the driver alone, at 1,000 and 10,000 finished trials ---------------------------------------

def driver_alone(finished: int, results: int, root: Path, confirm: str) -> dict[str, Any]:
    """The driver loop over an embedded store holding `finished` trials, running `results`
    noop trials in this process: CPU per result and proposal latency. The finished trials
    are distinct configurations, a tenth of them repeats of earlier ones whose results
    differ (so that, with `confirm` on, the schedule measures noise and ranks leaders before
    each proposal, as on a real search)."""
    from search.farm.worker import worker_id
    from search.store._embedded import _dumps as journal_dumps

    def journal_line(job: dict[str, Any]) -> str:
        return journal_dumps(job) + "\n"

    location = root / f"driver{finished}-{confirm}"
    store = open_store(str(location))
    exp_key = "alone"
    store.record_experiment(experiment(exp_key, Policy(), finished + results,
                                       confirm=confirm))
    store.close()
    proposer = Proposer(exp_key, SPACE.graph, seed=5, startup_trials=10**9)
    templates = [proposer.propose(tid) for tid in range(200)]
    lines = []
    for tid in range(finished):  # the journal a search with `finished` trials leaves
        accuracy = 0.5 + 0.4 * ((tid * 7919) % 1000) / 1000
        seconds = 1.0 + (tid * 104729) % 100 / 10
        original = tid - 1 - tid % 97 if tid % 10 == 9 else None  # a repeat of an earlier one
        job = copy.deepcopy(templates[(tid if original is None else original) % 200])
        lr = 1e-4 * (1 + (tid if original is None else original) / finished)
        job["misc"]["params"]["lr"], job["misc"]["vals"]["lr"] = lr, [lr]
        lines.append(journal_line({
            **job, "tid": tid, "exp_key": exp_key, "state": JOB_STATE_DONE,
            "owner": "prefill", REPEAT_OF: original,
            "result": {"status": "ok", "loss": -accuracy / seconds, "accuracy": accuracy,
                       "train_seconds": seconds}}))
    (location / exp_key / "jobs.jsonl").write_text("".join(lines))
    store = open_store(str(location))
    recorded = store.experiment(exp_key)
    assert recorded is not None
    worker = Worker(store, worker_id(None), WorkerOptions(exp_keys=(exp_key,)))
    driver_module.Proposer = TimedProposer  # type: ignore[misc]
    marks: dict[str, float] = {}

    def on_progress(progress: SearchProgress) -> None:
        if progress.finished > finished and "start" not in marks:  # start-up excluded
            marks["start"], marks["wall"] = time.process_time(), time.time()
            marks["from"] = progress.finished
        TimedProposer.timings[:] = [t for t in TimedProposer.timings
                                    if t[0] >= marks.get("wall", math.inf)]

    TimedProposer.timings = []
    run_search(store, recorded, SPACE.graph, DriverOptions(startup_trials=10),
               local_worker=worker, on_progress=on_progress)
    cpu = time.process_time() - marks["start"]
    results = finished + results - int(marks["from"])
    store.close()
    proposals = [seconds for _, seconds, _ in TimedProposer.timings]
    proposal_cpu = sum(cpu for _, _, cpu in TimedProposer.timings)
    return {"finished": finished, "confirm": confirm, "results": results,
            "cpu_ms_per_result": 1000 * cpu / results,
            "other_cpu_ms_per_result": 1000 * (cpu - proposal_cpu) / results,
            "proposal_cpu_ms": 1000 * proposal_cpu / len(proposals),
            "proposal_ms_p50": 1000 * statistics.median(proposals),
            "proposal_ms_p95": 1000 * quantile(proposals, 0.95)}


def run_driver(args: argparse.Namespace) -> int:
    rows = []
    with tempfile.TemporaryDirectory(prefix="hpsearch-driver-") as root:
        for finished in [int(part) for part in args.finished.split(",")]:
            for confirm in args.confirm.split(","):
                print(f"... {finished} finished trials, --confirm {confirm}", flush=True)
                rows.append(driver_alone(finished, args.results, Path(root), confirm))
    print(f"\nload average {os.getloadavg()[0]:.1f}; embedded store, noop trials run in the "
          "driver's process (their CPU included)")
    print(f"{'finished':>8} {'confirm':>7} {'results':>7} {'CPU ms/result':>13} "
          f"{'less proposals':>14} {'proposal CPU ms':>15} {'wall p50 ms':>11} {'p95 ms':>7}")
    for r in rows:
        print(f"{r['finished']:>8} {r['confirm']:>7} {r['results']:>7} "
              f"{r['cpu_ms_per_result']:>13.1f} "
              f"{r['other_cpu_ms_per_result']:>14.1f} {r['proposal_cpu_ms']:>15.1f} "
              f"{r['proposal_ms_p50']:>11.1f} {r['proposal_ms_p95']:>7.1f}")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    protocol_parser = commands.add_parser("protocol")
    protocol_parser.add_argument("--idle-seconds", type=float, default=20.0)
    farm_parser = commands.add_parser("farm")
    farm_parser.add_argument("--workers", default="10,100,300")
    farm_parser.add_argument("--finished", default="1000")
    farm_parser.add_argument("--results", type=int, default=150,
                             help="results measured after the first wave")
    farm_parser.add_argument("--timeout", type=float, default=900.0)
    farm_parser.add_argument("--pool", type=int, help="connections per process at most "
                             "(maxPoolSize); default: pymongo's 100")
    farm_parser.add_argument("--out", default="farm_scale.jsonl")
    farm_parser.add_argument("--server-process", action="append", default=[],
                             help="with --store on this machine: a process name whose CPU "
                             "counts as the server's (repeat it, e.g. postgres and the "
                             "FerretDB binary)")
    driver_parser = commands.add_parser("driver")
    driver_parser.add_argument("--finished", default="1000,10000")
    driver_parser.add_argument("--results", type=int, default=100)
    driver_parser.add_argument("--confirm", default="default,none",
                               help="confirmation settings to run, comma-separated")
    report_parser = commands.add_parser("report")
    report_parser.add_argument("--out", default="farm_scale.jsonl")
    for sub in (protocol_parser, farm_parser):
        sub.add_argument("--store", help="an existing mongodb:// server instead of the test one")
    workers_parser = commands.add_parser("workers-process")
    workers_parser.add_argument("arguments", nargs=5)
    driver_process_parser = commands.add_parser("driver-process")
    driver_process_parser.add_argument("arguments", nargs=5)
    args = parser.parse_args()
    if args.command == "workers-process":
        url, exp_key, count, prefix, out = args.arguments
        return workers_process(url, exp_key, int(count), prefix, out)
    if args.command == "driver-process":
        url, exp_key, window_from, window_results, out = args.arguments
        return driver_process(url, exp_key, int(window_from), int(window_results), out)
    if args.command == "report":
        print_farm(read_results(Path(args.out)))
        return 0
    return {"protocol": run_protocol, "farm": run_farm, "driver": run_driver}[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
