"""How fast the query commands answer on a big experiment, timed as whole commands.

Builds one experiment of 10,000 finished trials (real proposals from the `default` space,
replicated with fresh tids, each with a full result) in each store: an embedded directory and
a MongoDB database (the tests' FerretDB unless --store names a server). Then times, as a user
would see them (a new process each time, interpreter start included):

    hpsearch --help
    hpsearch best    --store S --exp-key big
    hpsearch trials  --store S --exp-key big --format csv
    hpsearch status  --store S --exp-key big

Baselines from the same run: `python -c pass` (the floor any command pays), and, with
--baseline DIR, the same commands run from another checkout of hpsearch (e.g. the code before
this change: `git archive <commit> | tar -x -C DIR`). Runs are interleaved; medians shown.

    python benchmarks/query_speed.py [--trials 10000] [--repeats 3] [--baseline DIR]
                                     [--store mongodb://HOST:PORT] [--skip-mongodb]
"""

from __future__ import annotations

import argparse
import copy
import datetime
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _farm import REPO_ROOT, database, database_server
from bson import json_util  # noqa: E402

import spaces  # noqa: E402
from search.experiment import Experiment  # noqa: E402
from search.farm.proposals import Proposer  # noqa: E402
from search.store import open_store  # noqa: E402

EXP_KEY = "big"
TARGETS = {"--help": 0.3, "best": 1.0, "trials": 1.0, "status": 1.0}
DISTINCT_PROPOSALS = 50


def finished_jobs(count: int) -> list[dict]:
    """`count` finished jobs as a worker leaves them, from a few real random proposals."""
    space = spaces.load_space("default")
    proposer = Proposer(EXP_KEY, space.graph, seed=3, startup_trials=DISTINCT_PROPOSALS + 1)
    templates: list[dict] = []
    for tid in range(DISTINCT_PROPOSALS):
        templates.append(proposer.propose(tid))
    start = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)
    jobs = []
    for tid in range(count):
        job = copy.deepcopy(templates[tid % DISTINCT_PROPOSALS])
        job["tid"] = job["misc"]["tid"] = tid
        for indices in job["misc"]["idxs"].values():
            indices[:] = [tid] * len(indices)
        accuracy = 0.5 + 0.45 * ((tid * 7919) % 1000) / 1000
        seconds = 0.2 + ((tid * 104729) % 1000) / 500
        booked = start + datetime.timedelta(seconds=2 * tid)
        job.update(
            state=2, owner=f"host:{tid % 8}:cpu", book_time=booked,
            refresh_time=booked + datetime.timedelta(seconds=seconds + 0.05),
            result={"status": "ok", "loss": -accuracy / seconds, "accuracy": accuracy,
                    "train_seconds": seconds, "epochs": 20, "device": "cpu",
                    "device_type": "cpu", "worker": f"host:{tid % 8}:cpu", "objective": "digits",
                    "val_accuracy_per_epoch": [accuracy] * 20, "min_accuracy": 0.5,
                    "seed": tid, "attempt": 0,
                    "timing": "wall time of the training loop, device synchronized"},
        )
        jobs.append(job)
    return jobs


def experiment(max_evals: int) -> Experiment:
    return Experiment(exp_key=EXP_KEY, space=spaces.load_space("default").record,
                      objective="digits", epochs=20, min_accuracy=0.5, max_evals=max_evals)


def build_embedded(root: Path, jobs: list[dict]) -> str:
    """The journal a search leaves: queued, running and done lines for every trial."""
    location = str(root / "store")
    store = open_store(location)
    try:
        store.record_experiment(experiment(len(jobs)))
    finally:
        store.close()
    options = json_util.RELAXED_JSON_OPTIONS
    with open(Path(location) / EXP_KEY / "jobs.jsonl", "a", encoding="utf-8") as journal:
        for job in jobs:
            queued = {**job, "state": 0, "owner": None, "book_time": None,
                      "result": {"status": "new"}, "refresh_time": job["book_time"]}
            running = {**job, "state": 1, "result": {"status": "new"}}
            for line in (queued, running, job):
                journal.write(json_util.dumps(line, json_options=options, sort_keys=True) + "\n")
    return location


def build_mongodb(url: str, jobs: list[dict]) -> str:
    store = open_store(url)
    try:
        store.record_experiment(experiment(len(jobs)))
    finally:
        store.close()
    db = database(url)
    for start in range(0, len(jobs), 1000):
        db.jobs.insert_many([{**job, "_id": f"{EXP_KEY}/{job['tid']}"}
                             for job in jobs[start:start + 1000]])
    return url


def commands(store: str) -> dict[str, list[str]]:
    common = ["--store", store, "--exp-key", EXP_KEY]
    return {"--help": ["--help"], "best": ["best", *common],
            "trials": ["trials", *common, "--format", "csv"], "status": ["status", *common]}


def timed(argv: list[str], code_root: Path) -> float:
    environment = {**os.environ, "PYTHONPATH": str(code_root)}
    began = time.perf_counter()
    completed = subprocess.run(argv, cwd=code_root, env=environment, capture_output=True,
                               text=True, timeout=600)
    elapsed = time.perf_counter() - began
    if completed.returncode != 0:
        raise RuntimeError(f"{' '.join(argv[2:5])} failed:\n{completed.stderr[-2000:]}")
    return elapsed


def measure(stores: dict[str, str], baseline: Path | None, repeats: int
            ) -> dict[tuple[str, str, str], list[float]]:
    """Interleaved: every (store, command, code) once per round, `repeats` rounds."""
    codes = {"ours": REPO_ROOT, **({"baseline": baseline} if baseline else {})}
    times: dict[tuple[str, str, str], list[float]] = {}
    for _ in range(repeats):
        times.setdefault(("-", "python -c pass", "floor"), []).append(
            timed([sys.executable, "-c", "pass"], REPO_ROOT))
        for store_kind, store in stores.items():
            for name, args in commands(store).items():
                if name == "--help" and store_kind != next(iter(stores)):
                    continue  # --help does not open a store
                for code, root in codes.items():
                    times.setdefault((store_kind, name, code), []).append(
                        timed([sys.executable, "-m", "search", *args], root))
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--baseline", type=Path, help="another checkout of hpsearch to compare")
    parser.add_argument("--store", help="an existing mongodb:// server instead of the test one")
    parser.add_argument("--skip-mongodb", action="store_true")
    args = parser.parse_args()

    jobs = finished_jobs(args.trials)
    with tempfile.TemporaryDirectory(prefix="hpsearch-query-bench-") as root, \
            database_server(args.store) as (databases, where):
        stores = {"embedded": build_embedded(Path(root), jobs)}
        if not args.skip_mongodb:
            stores["mongodb"] = build_mongodb(databases.new("query"), jobs)
        print(f"{args.trials} finished trials; database: {where}; {os.cpu_count()} CPU cores",
              flush=True)
        times = measure(stores, args.baseline, args.repeats)
    print_report(times, args.repeats)
    return 0


def print_report(times: dict[tuple[str, str, str], list[float]], repeats: int) -> None:
    print(f"\nmedian of {repeats} runs, seconds, whole command (process start included)")
    header = f"{'store':<9} {'command':<15} {'ours':>7} {'baseline':>9} {'ratio':>7} {'target':>7}"
    print(header)
    print("-" * len(header))
    floor = statistics.median(times[("-", "python -c pass", "floor")])
    print(f"{'-':<9} {'python -c pass':<15} {floor:>7.3f}")
    for (store, name, code), values in times.items():
        if code != "ours":
            continue
        ours = statistics.median(values)
        base_values = times.get((store, name, "baseline"))
        base = statistics.median(base_values) if base_values else None
        ratio = f"{base / ours:>6.1f}x" if base else f"{'':>7}"
        base_text = f"{base:>9.3f}" if base else f"{'-':>9}"
        verdict = "ok" if ours < TARGETS[name] else "MISSED"
        print(f"{store:<9} {name:<15} {ours:>7.3f} {base_text} {ratio} "
              f"{TARGETS[name]:>6.1f}s {verdict}")
    print("ratio = baseline / ours (how many times faster).")


if __name__ == "__main__":
    sys.exit(main())
