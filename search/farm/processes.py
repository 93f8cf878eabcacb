"""`hpsearch worker` on a whole machine: one process per GPU, or CPU processes that share
the cores without oversubscribing them."""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import multiprocessing
import multiprocessing.connection
import os
import signal
import socket
import threading
from types import FrameType

import objectives
from search.farm.stopping import StopRequest, stop_signals
from search.farm.worker import Worker, WorkerExit, WorkerOptions, worker_id
from search.logs import configure_logging
from search.policy import DEFAULT_STALE_AFTER
from search.store import Store, StoreUnreachable, open_store
from search.store.outages import OutageLog
from search.urls import redact_location

log = logging.getLogger(__name__)

# How often a worker process starting in an outage tries its database again.
OUTAGE_RETRY_SECONDS = 2.0


class GpuSpecError(ValueError):
    pass


def parse_gpus(spec: str, available: int) -> list[str]:
    """`none` -> [], `all` -> every visible GPU, `0,2` -> those indices (checked)."""
    spec = spec.strip().lower()
    if spec == "none":
        return []
    if spec == "all":
        if available == 0:
            raise GpuSpecError("--gpus all: no CUDA GPU is visible here; "
                               "use --gpus none for CPU workers")
        return [str(index) for index in range(available)]
    try:
        indices = [int(part) for part in spec.split(",") if part.strip()]
    except ValueError:
        raise GpuSpecError(f"--gpus {spec!r}: expected 'all', 'none' or indices like 0,1") from None
    if not indices or len(set(indices)) != len(indices):
        raise GpuSpecError(f"--gpus {spec!r}: expected distinct indices like 0,1")
    missing = [index for index in indices if not 0 <= index < available]
    if missing:
        raise GpuSpecError(
            f"--gpus {spec!r}: no GPU {missing[0]} here ({available} visible); use --gpus all"
        )
    return [str(index) for index in indices]


@dataclasses.dataclass(frozen=True)
class ProcessPlan:
    """What each worker process gets: its GPU (None for CPU) and how to size its CPU threads."""

    gpu: str | None
    processes_on_machine: int
    threads: int | None = None  # overrides the even share of the cores


def cpu_workers_on_this_host(store: Store) -> int:
    """Live CPU worker processes on this host: each worker command shares out all the cores
    among its own processes only. Live as `status` judges it (by the longest stale_after of
    the store's experiments, a worker reporting a third as often), and its process still
    there: a predecessor killed a moment ago (a restarted container keeps its host name, and
    its pid) is not."""
    host, now = socket.gethostname(), store.now()
    stale_after = max([experiment.policy.stale_after for experiment in store.experiments()],
                      default=DEFAULT_STALE_AFTER)
    return sum(status.host == host and status.worker_id.endswith(":cpu")
               and status.is_live(stale_after, now) and _running_here(status.worker_id)
               for status in store.workers())


def _running_here(worker_id: str) -> bool:
    """Whether the process a worker id of this host names (`host:pid:device`) still runs."""
    try:
        pid = int(worker_id.split(":")[1])
    except (IndexError, ValueError):
        return False
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's: it runs
        return True
    return True


def plan_processes(gpus: list[str], cpu_workers: int, threads_per_worker: int | None
                   ) -> list[ProcessPlan]:
    """One process per GPU, or `cpu_workers` CPU processes sharing the cores."""
    slots: list[str | None] = list(gpus) if gpus else [None] * cpu_workers
    return [ProcessPlan(gpu=gpu, processes_on_machine=len(slots), threads=threads_per_worker)
            for gpu in slots]


def serve(store_location: str, options: WorkerOptions, plan: ProcessPlan) -> WorkerExit:
    """One worker process: open the store, warm up, serve jobs until told to stop."""
    objectives.configure_cpu_threads(plan.processes_on_machine, plan.threads)
    stop = StopRequest()
    stop.install_signal_handlers()
    store = _open_through_outage(store_location, stop)
    if store is None:
        return WorkerExit(0, "stopped by signal while waiting for the database")
    try:
        worker = Worker(store, worker_id(plan.gpu), options, stop)
        log.info("worker %s serving %s", worker.worker_id, store.location)
        return worker.run()
    finally:
        store.close()


def _open_through_outage(location: str, stop: StopRequest) -> Store | None:
    """The store, once its database answers. The command reached it before starting this
    process, so a database that does not answer now is an outage, which a worker waits out
    as it does one while serving; None if told to stop meanwhile."""
    outage = OutageLog(redact_location(location))
    while True:
        try:
            store = open_store(location)
        except StoreUnreachable as error:
            outage.failed(str(error))
            if stop.wait(OUTAGE_RETRY_SECONDS):
                return None
            continue
        outage.answered()
        return store


def visible_device(gpu: str) -> str:
    """What a child given GPU `gpu` (an index among the GPUs this process sees) must see as
    its CUDA_VISIBLE_DEVICES: the index-th entry of this process's own, where one is set (a
    scheduler's, a shared box's; physical indices, GPU-... or MIG-... ids), else the index:
    GPU 0 of `CUDA_VISIBLE_DEVICES=2,3` is physical GPU 2, not 0."""
    visible = [entry.strip() for entry in os.environ.get("CUDA_VISIBLE_DEVICES", "").split(",")]
    index = int(gpu)
    return visible[index] if index < len(visible) and visible[index] else gpu


def _child(store_location: str, options: WorkerOptions, plan: ProcessPlan, log_level: int
           ) -> None:
    os.setpgrp()  # signals reach children only through the parent, exactly once
    configure_logging(log_level)  # as the parent logs (-v), redacted
    _stop_when_orphaned()
    outcome = serve(store_location, options, plan)
    log.warning("worker %s stopped: %s", worker_id(plan.gpu), outcome.reason)
    raise SystemExit(outcome.exit_code)


def _stop_when_orphaned() -> None:
    """Stop as a SIGTERM stops (after the current trial) once the worker command that started
    this process dies: killed outright, or by a closed terminal's SIGHUP (which a child, in a
    process group of its own, never gets). Unsupervised, it would serve on, and a restarted
    command would put a second process on its GPU."""
    parent = multiprocessing.parent_process()
    if parent is None:
        return

    def watch() -> None:
        multiprocessing.connection.wait([parent.sentinel])
        log.warning("the worker command that started this process has ended: stopping")
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def run_processes(store_location: str, options: WorkerOptions, plans: list[ProcessPlan]) -> int:
    """Start one child per plan, each seeing only its own GPU (a CPU one none), and forward
    stop signals: SIGHUP too, which a child, in a process group of its own, would not get."""
    context = multiprocessing.get_context("spawn")
    children = []
    for plan in plans:
        environment = {"CUDA_VISIBLE_DEVICES": "" if plan.gpu is None
                       else visible_device(plan.gpu)}
        previous = {key: os.environ.get(key) for key in environment}
        os.environ.update(environment)  # a spawned child copies the environment at start
        try:
            child = context.Process(target=_child, name=f"hpsearch-worker-{plan.gpu or 'cpu'}",
                                    args=(store_location, options, plan,
                                          logging.getLogger().getEffectiveLevel()))
            child.start()
        finally:
            for key, value in previous.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
        children.append(child)

    forwarded: set[int] = set()

    def forward(signum: int, frame: FrameType | None) -> None:
        # System calls only (waitpid, kill): a handler may run while the main thread holds a
        # lock. A child already reaped is skipped, so its reused pid is never signalled.
        forwarded.add(signum)
        for child in children:
            if child.exitcode is None and child.pid is not None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(child.pid, signum)

    for stop in stop_signals():
        signal.signal(stop, forward)
    running = list(children)
    while running:  # each as it ends, so that one killed (by the OOM killer) is said at once
        for sentinel in multiprocessing.connection.wait([child.sentinel for child in running]):
            child = next(child for child in running if child.sentinel == sentinel)
            child.join()
            running.remove(child)
            _say_how_it_ended(child, len(running), forwarded)
    return max(_exit_status(child.exitcode) for child in children)


def _say_how_it_ended(child: multiprocessing.process.BaseProcess, others: int,
                      forwarded: set[int]) -> None:
    """Log a worker process killed by a signal (the OOM killer's SIGKILL, a segfault) or
    ended with an error code: it could not say so itself (an objective's `os._exit`), or its
    own last line does not say whether the others go on. One that a stop this command
    forwarded ended (before its handlers were in place, or a second signal's 128 + N) was
    only stopped."""
    code = child.exitcode
    if code is None or code == 0:
        return
    if (-code if code < 0 else code - 128) in forwarded:
        return
    if code > 0:
        how = f"ended with exit code {code}"
    else:
        try:
            how = f"was killed by {signal.Signals(-code).name}"
        except ValueError:
            how = f"was killed by signal {-code}"
    log.warning("worker process %s (pid %s) %s; %d other worker process(es) go on",
                child.name, child.pid, how, others)


def _exit_status(exitcode: int | None) -> int:
    """A child's exit code as a shell reports it: killed by signal N is 128 + N, so that a
    child killed outright is never hidden behind siblings that exited 0."""
    if exitcode is None:
        return 0
    return 128 - exitcode if exitcode < 0 else exitcode
