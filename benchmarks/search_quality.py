"""How good a search gets in a budget of trials: ours against Optuna 5's default TPESampler,
random search and Hyperopt's TPE and anneal, on training-shaped landscapes, grids of training
runs (LCBench's surrogate, synthetic ones, and HPOBench-shaped ones) and on `digits`.

Each run simulates `--in-flight` trials running at once: a trial is proposed while the others
are still running and the oldest finishes first, as on a farm.

- The eight landscapes (`landscapes`, optimum 0): per function, algorithm and budget, the
  median and quartiles over seeds of the best value found (for the noisy ones, the noiseless
  value of the trial the search would report as best), and ours relative to Optuna: the ratio
  of median distances to the optimum.
- Grids (`lcbench-tuning`, `lcbench-held-out`, `synthetic-tuning`, `synthetic-held-out`,
  `hpobench-shaped` (its halves `hpobench-tuning`, `hpobench-held-out`, each with 8 spare
  grids in `hpobench-tuning-wide`, `hpobench-held-out-wide`, and those without noise,
  `hpobench-mean-tuning-wide`, `hpobench-mean-held-out-wide`), or single ones,
  `lcbench/3945`, `synthetic/5`, `hpobench/3`, `hpobench-mean/3`): the score is the mission's
  (accuracy per second, 0 below the floor); the measure is the rank of the cell the search reports
  as best (how many cells score more; 0 is the best cell). Per group, encoding, in-flight count
  and budget: the geometric mean over the group's grids of (1 + the mean rank over seeds), for
  each algorithm, ours relative to Optuna and to random search, and on how many grids ours is
  ahead. `--encodings` picks how the grid is searched (see `_grid_landscapes.py`).
- `digits` (a real objective): the median best score, accuracy per second, higher is better.

Common random numbers: for a given seed every algorithm starts from the same 10 random trials
(Hyperopt's random search seeded from the run's seed; Optuna gets them by `enqueue_trial`), and
noisy landscapes add the same noise to the n-th evaluation, so the ratios measure how the
algorithms model the history rather than the luck of their startup draws. `--own-startup`
lets each draw its own startup trials instead, as a user's search does, so how each one
starts is measured too.

A landscape or grid run is deterministic for a seed: `--cache DIR` keeps every peer's runs
(every algorithm but ours) in DIR and reuses them, so a sweep of our settings runs only ours.
`--workers` runs seeds in parallel processes.

    python benchmarks/search_quality.py --seeds 20 --in-flight 1 4
    python benchmarks/search_quality.py --functions lcbench-held-out --encodings values index \\
        --algorithms ours optuna random --budgets 25 50 100 --seeds 20 --cache /tmp/peers
    python benchmarks/search_quality.py --algorithms ours --seeds 100 --settings '{"gamma": 0.2}'
    python benchmarks/search_quality.py --functions digits --seeds 100 --epochs 1

Needs the `bench` extra (Optuna, onnxruntime).
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import datetime
import json
import multiprocessing
import os
import platform
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import hyperopt  # noqa: E402

import search.tpe  # noqa: E402
import spaces  # noqa: E402
from benchmarks import (  # noqa: E402
    _algorithms,
    _hpobench_grids,
    _landscapes,
    _lcbench,
    _synthetic_grids,
)
from benchmarks._grid_landscapes import ENCODINGS, Grid  # noqa: E402
from benchmarks._surrogate import TASKS  # noqa: E402

GROUPS = {
    "landscapes": list(_landscapes.LANDSCAPES),
    "lcbench-tuning": [f"lcbench/{task}" for task in _lcbench.TUNING],
    "lcbench-held-out": [f"lcbench/{task}" for task in _lcbench.HELD_OUT],
    "synthetic-tuning": _synthetic_grids.TUNING,
    "synthetic-held-out": _synthetic_grids.HELD_OUT,
    "hpobench-shaped": _hpobench_grids.TUNING + _hpobench_grids.HELD_OUT,
    "hpobench-tuning": _hpobench_grids.TUNING,
    "hpobench-held-out": _hpobench_grids.HELD_OUT,
    "hpobench-tuning-wide": _hpobench_grids.TUNING_WIDE,
    "hpobench-held-out-wide": _hpobench_grids.HELD_OUT_WIDE,
    "hpobench-mean-tuning-wide": _hpobench_grids.noiseless(_hpobench_grids.TUNING_WIDE),
    "hpobench-mean-held-out-wide": _hpobench_grids.noiseless(_hpobench_grids.HELD_OUT_WIDE),
}
NOT_CACHED = {"ours"}  # its runs change with our code and settings (ours@REF's are cached)

Finished = list[tuple[float, float]]  # (observed loss, true value) per trial, as they finished


def run_one(algorithm: Any, evaluate: Callable[[dict], tuple[dict, float]], budget: int,
            in_flight: int) -> Finished:
    """(observed loss, true value) per finished trial, in the order they finished."""
    running: collections.deque = collections.deque()
    finished: Finished = []
    asked = 0
    while len(finished) < budget:
        while len(running) < in_flight and asked < budget:
            running.append(algorithm.ask())
            asked += 1
        tid, vals = running.popleft()
        result, true_value = evaluate(vals)
        algorithm.tell(tid, result)
        finished.append((result["loss"] if result["status"] == "ok" else np.inf, true_value))
    return finished


def best_at(finished: Finished, budget: int) -> float:
    """The true value of the trial with the best observed loss among the first `budget`."""
    observed, true_values = zip(*finished[:budget], strict=False)
    return true_values[int(np.argmin(observed))]


def grid_of(function: str) -> Grid | None:
    kind, _, name = function.partition("/")
    if kind == "lcbench":
        return _lcbench.grid(name)
    if kind == "synthetic":
        return _synthetic_grids.grid(int(name))
    if kind == "hpobench":
        return _hpobench_grids.grid(int(name))
    if kind == "hpobench-mean":
        return _hpobench_grids.mean_grid(int(name))
    return None


def landscape_evaluator(graph: Any, name: str, seed: int) -> Callable:
    function, noise_sd = _landscapes.LANDSCAPES[name]
    count = iter(range(10**9))

    def evaluate(vals: dict) -> tuple[dict, float]:
        value = function(hyperopt.space_eval(graph, vals))
        observed = value + _landscapes.noise(seed, next(count), noise_sd)
        return {"status": "ok", "loss": observed}, value
    return evaluate


def digits_evaluator(graph: Any, seed: int, epochs: int, min_accuracy: float) -> Callable:
    import objectives

    objectives.configure_cpu_threads(1)
    objective = objectives.resolve_objective("digits")
    count = iter(range(10**9))

    def evaluate(vals: dict) -> tuple[dict, float]:
        settings = objectives.TrialSettings(epochs=epochs, device="cpu", min_accuracy=min_accuracy,
                                            seed=seed * 1000 + next(count))
        result = objectives.run_trial(objective, hyperopt.space_eval(graph, vals), settings)
        ok = result["status"] == "ok" and result.get("loss") is not None
        return result, result["loss"] if ok else 0.0
    return evaluate


def graph_and_evaluator(function: str, encoding: str, seed: int,
                        arguments: argparse.Namespace) -> tuple[Any, Callable]:
    grid = grid_of(function)
    if grid is not None:
        return grid.space(encoding), grid.evaluator(encoding, seed)
    graph = spaces.load_space("default").graph
    if function == "digits":
        return graph, digits_evaluator(graph, seed, arguments.epochs, arguments.min_accuracy)
    return graph, landscape_evaluator(graph, function, seed)


Job = tuple[str, str, str, int, int]  # algorithm, function, encoding, in flight, seed


def run_job(job: Job, arguments: argparse.Namespace) -> Finished:
    name, function, encoding, in_flight, seed = job
    graph, evaluate = graph_and_evaluator(function, encoding, seed, arguments)
    algorithm = _algorithms.ALGORITHMS[name](graph, seed)
    return run_one(algorithm, evaluate, max(arguments.budgets), in_flight)


class PeerCache:
    """Runs of the peers (every algorithm but ours), one JSON file per algorithm and cell."""

    def __init__(self, directory: Path | None, budget: int) -> None:
        self._directory = directory
        self._budget = budget
        self._files: dict[Path, dict[str, Finished]] = {}
        self._changed: set[Path] = set()

    def _path(self, job: Job) -> Path | None:
        name, function, encoding, in_flight, _ = job
        if self._directory is None or name in NOT_CACHED or function == "digits":
            return None
        cell = f"{function.replace('/', '-')}_{encoding}_{in_flight}_{self._budget}.json"
        return self._directory / name / cell

    def _runs(self, path: Path) -> dict[str, Finished]:
        if path not in self._files:
            self._files[path] = json.loads(path.read_text()) if path.exists() else {}
        return self._files[path]

    def get(self, job: Job) -> Finished | None:
        path = self._path(job)
        return None if path is None else self._runs(path).get(str(job[-1]))

    def put(self, job: Job, finished: Finished) -> None:
        path = self._path(job)
        if path is not None:
            self._runs(path)[str(job[-1])] = finished
            self._changed.add(path)

    def save(self) -> None:
        """Write the files that gained runs, each whole or not at all (by renaming a complete
        copy into place), so benchmarks running side by side never read half a file."""
        for path in self._changed:
            path.parent.mkdir(parents=True, exist_ok=True)
            partial = path.with_name(f"{path.name}.{os.getpid()}.partial")
            partial.write_text(json.dumps(self._files[path]))
            partial.replace(path)
        self._changed.clear()


_ARGUMENTS: argparse.Namespace | None = None


def _run_job_in_worker(job: Job) -> Finished:
    assert _ARGUMENTS is not None
    return run_job(job, _ARGUMENTS)


def run_jobs(jobs: list[Job], arguments: argparse.Namespace, cache: PeerCache
             ) -> dict[Job, Finished]:
    """Every job's run, from the cache where it has one, the rest computed (in parallel
    processes with `--workers`; seed by seed, every algorithm in turn, so a change in the
    machine's load shifts every algorithm's `digits` training times alike). The cache is
    saved as runs finish, so an interrupted benchmark resumes where it stopped."""
    results = {job: found for job in jobs if (found := cache.get(job)) is not None}
    missing = [job for job in jobs if job not in results]
    global _ARGUMENTS
    _ARGUMENTS = arguments
    with contextlib.ExitStack() as stack:
        if arguments.workers > 1 and len(missing) > 1:
            pool = stack.enter_context(
                multiprocessing.get_context("fork").Pool(arguments.workers))
            computed: Iterable[Finished] = pool.imap(_run_job_in_worker, missing)
        else:
            computed = (run_job(job, arguments) for job in missing)
        for count, (job, finished) in enumerate(zip(missing, computed, strict=True), 1):
            results[job] = finished
            cache.put(job, finished)
            if count % 20 == 0:
                cache.save()
    cache.save()
    return results


def _check(parser: argparse.ArgumentParser, arguments: argparse.Namespace) -> None:
    """Refuse what no run can use, before any run starts."""
    for name in ("seeds", "workers"):
        if getattr(arguments, name) < 1:
            parser.error(f"--{name} must be at least 1")
    if min(arguments.in_flight) < 1:
        parser.error("--in-flight must be at least 1")
    if _algorithms.COMMON_STARTUP and min(arguments.budgets) <= _algorithms.STARTUP_TRIALS:
        parser.error(f"--budgets must be above the {_algorithms.STARTUP_TRIALS} startup trials "
                     "every algorithm shares (at or below them, every row is the same)")
    unknown = sorted(set(arguments.algorithms) - set(_algorithms.ALGORITHMS))
    if unknown:
        parser.error(f"unknown --algorithms {', '.join(unknown)}; choose from "
                     f"{', '.join(_algorithms.ALGORITHMS)}")
    for function in arguments.functions:
        for name in GROUPS.get(function, [function]):
            if not _is_function(name):
                parser.error(f"unknown function {name!r} in --functions (see --help)")


def _is_function(name: str) -> bool:
    """Whether `name` is a function `evaluate` knows, without building its grid."""
    kind, _, which = name.partition("/")
    if kind == "lcbench":
        return which in TASKS
    if kind in ("synthetic", "hpobench", "hpobench-mean"):
        return which.isdigit()
    return name == "digits" or name in _landscapes.LANDSCAPES


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--functions", nargs="+", default=list(_landscapes.TUNING),
                        help=f"groups {sorted(GROUPS)}, names of {sorted(_landscapes.LANDSCAPES)},"
                             " lcbench/<task>, synthetic/<seed>, hpobench/<seed>,"
                             " hpobench-mean/<seed> or digits")
    parser.add_argument("--algorithms", nargs="+", default=list(_algorithms.ALGORITHMS))
    parser.add_argument("--encodings", nargs="+", default=["values"], choices=ENCODINGS,
                        help="how grids are searched (the other functions have one space)")
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--first-seed", type=int, default=0)
    parser.add_argument("--budgets", type=int, nargs="+", default=[25, 50])
    parser.add_argument("--in-flight", type=int, nargs="+", default=[1, 4])
    parser.add_argument("--epochs", type=int, default=2, help="digits only")
    parser.add_argument("--min-accuracy", type=float, default=0.5, help="digits only")
    parser.add_argument("--settings", type=json.loads, default={},
                        help="our TPE's settings as JSON, e.g. '{\"gamma\": 0.15}'")
    parser.add_argument("--baseline", metavar="GIT_REF",
                        help="also run our algorithm as it was at GIT_REF, as ours@GIT_REF")
    parser.add_argument("--cache", type=Path, help="keep and reuse the peers' runs here")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--per-grid", action="store_true", help="also print every grid's row")
    parser.add_argument("--json", type=Path, help="also write every best value here")
    add_own_startup(parser)
    arguments = parser.parse_args()
    use_own_startup(arguments)
    _check(parser, arguments)
    if arguments.settings:
        try:
            settings = search.tpe.Settings.from_json(arguments.settings)
        except (TypeError, ValueError) as error:
            parser.error(f"--settings: {error}")
        _algorithms.ALGORITHMS["ours"] = _algorithms.hyperopt_algo(
            lambda *a: search.tpe.suggest(*a, settings=settings))
    if arguments.baseline:
        try:
            commit = _algorithms.commit_of(arguments.baseline)
        except subprocess.CalledProcessError:
            parser.error(f"--baseline {arguments.baseline!r} names no commit of this repository")
        if arguments.cache and not commit.startswith(arguments.baseline.lower()):
            # Its runs are cached as ours@REF: a ref that moves (main) would outlive them.
            parser.error(f"with --cache, give --baseline as a commit ({commit[:10]}), not a ref "
                         f"that moves ({arguments.baseline})")
        name = f"ours@{arguments.baseline}"
        _algorithms.ALGORITHMS[name] = _algorithms.hyperopt_algo(_algorithms.suggest_at(commit))
        arguments.algorithms.append(name)
    functions = [name for function in arguments.functions
                 for name in GROUPS.get(function, [function])]
    print(f"# search_quality {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC, "
          f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs; "
          f"{' '.join(sys.argv[1:])}", flush=True)
    cache = PeerCache(arguments.cache, max(arguments.budgets))
    seeds = range(arguments.first_seed, arguments.first_seed + arguments.seeds)
    records = []
    for in_flight in arguments.in_flight:
        for encoding in arguments.encodings:
            cell_functions = [f for f in functions if grid_of(f) is not None or encoding
                              == arguments.encodings[0]]
            started = time.monotonic()
            jobs = [(name, function, encoding if grid_of(function) else "-", in_flight, seed)
                    for function in cell_functions for seed in seeds
                    for name in arguments.algorithms]
            finished = run_jobs(jobs, arguments, cache)
            bests = {function: {name: {budget: [best_at(finished[(
                name, function, encoding if grid_of(function) else "-", in_flight, seed)], budget)
                for seed in seeds] for budget in arguments.budgets}
                for name in arguments.algorithms} for function in cell_functions}
            seconds = time.monotonic() - started
            for function, by_algorithm in bests.items():
                records.append({"function": function, "encoding": encoding if grid_of(
                    function) else None, "in_flight": in_flight, "best": by_algorithm})
                if grid_of(function) is None:
                    _print_table(function, in_flight, by_algorithm, arguments.budgets, seconds)
            _print_grid_summaries(arguments.functions, encoding, in_flight, bests,
                                  arguments.budgets, arguments.per_grid)
    if arguments.json:
        arguments.json.write_text(json.dumps(records))


def add_own_startup(parser: argparse.ArgumentParser) -> None:
    """The `--own-startup` switch, shared with the other benchmarks that run these jobs."""
    parser.add_argument("--own-startup", action="store_true",
                        help="each algorithm draws its own startup trials (no common ones)")


def use_own_startup(arguments: argparse.Namespace) -> None:
    """With `--own-startup`: no common startup trials, and the peers' runs cached apart."""
    if arguments.own_startup:
        _algorithms.COMMON_STARTUP = False
        if arguments.cache is not None:
            arguments.cache = arguments.cache / "own-startup"


def rank_measure(ranks_by_grid: Iterable[list[float]]) -> float:
    """Geometric mean over grids of (1 + the mean rank over seeds)."""
    return float(np.exp(np.mean([np.log1p(np.mean(ranks)) for ranks in ranks_by_grid])))


def _print_grid_summaries(requested: list[str], encoding: str, in_flight: int, bests: dict,
                          budgets: list[int], per_grid: bool) -> None:
    groups = {name: GROUPS.get(name, [name]) for name in requested}
    for group, members in groups.items():
        members = [m for m in members if m in bests and grid_of(m) is not None]
        if not members:
            continue
        algorithms = list(bests[members[0]])
        print(f"\n## {group}: {len(members)} grids, {encoding} encoding, {in_flight} in flight; "
              "geometric mean over grids of (1 + mean rank over seeds)")
        print(f"{'algorithm':<20}" + "".join(f"{f'@{b}':>10}" for b in budgets))
        measures = {name: [rank_measure(bests[m][name][b] for m in members) for b in budgets]
                    for name in algorithms}
        for name in algorithms:
            print(f"{name:<20}" + "".join(f"{value:>10.1f}" for value in measures[name]))
        ours = next((name for name in algorithms if name.split("@")[0] == "ours"), None)
        for peer in ("optuna", "hyperopt-tpe", "random"):
            if ours is not None and peer in measures:
                ahead = [sum(np.mean(bests[m][ours][b]) < np.mean(bests[m][peer][b])
                             for m in members) for b in budgets]
                print(f"{ours + ' / ' + peer:<20}" + "".join(
                    f"{o / p:>10.2f}" for o, p in zip(measures[ours], measures[peer],
                                                      strict=True))
                      + "   ahead on " + ", ".join(f"{a}/{len(members)}" for a in ahead))
        if per_grid:
            for member in members:
                print(f"  {member:<18}" + "  ".join(
                    f"{name} " + "/".join(f"{np.mean(bests[member][name][b]):.0f}"
                                          for b in budgets) for name in algorithms))
        sys.stdout.flush()


def _print_table(function: str, in_flight: int, bests: dict, budgets: list[int],
                 seconds: float) -> None:
    print(f"\n## {function}, {in_flight} in flight ({seconds:.0f} s)")
    print(f"{'algorithm':<20}" + "".join(f"{f'best@{b} median [q1, q3]':>34}" for b in budgets))
    for name, by_budget in bests.items():
        cells = []
        for budget in budgets:
            q1, median, q3 = np.percentile(by_budget[budget], [25, 50, 75])
            cells.append(f"{median:>12.4g} [{q1:.4g}, {q3:.4g}]")
        print(f"{name:<20}" + "".join(f"{cell:>34}" for cell in cells))
    if "ours" in bests and "optuna" in bests:
        ratios = [np.median(bests["ours"][b]) / np.median(bests["optuna"][b]) for b in budgets]
        what = "best score (higher is better)" if function == "digits" else \
            "distance to optimum (below 1: ours is closer)"
        cells = zip(budgets, ratios, strict=True)
        print("ours / optuna " + ", ".join(f"@{b}: {r:.2f}" for b, r in cells)
              + f"  ({what})", flush=True)


if __name__ == "__main__":
    main()
