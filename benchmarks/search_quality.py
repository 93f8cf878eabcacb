"""How good a search gets in 25 and 50 trials: ours against Hyperopt's TPE, anneal, random
search and Optuna 5's default TPESampler, on training-shaped landscapes and on `digits`.

Each run simulates `--in-flight` trials running at once: a trial is proposed while the others
are still running and the oldest finishes first, as on a farm. For every function, algorithm
and budget it prints the median and quartiles over seeds of the best value found (for the
noisy landscapes, the noiseless value of the trial the search would report as best), and
ours relative to Optuna: the ratio of median distances to the optimum (0 for the
landscapes; for digits, the ratio of median best scores, accuracy per second, higher better).

Common random numbers: for a given seed every algorithm starts from the same 10 random trials
(Hyperopt's random search seeded from the run's seed; Optuna gets them by `enqueue_trial`), and
the noisy landscapes add the same noise to the n-th evaluation, so the ratios measure how the
algorithms model the history rather than the luck of their startup draws.

A landscape run is deterministic for a seed, so runs of one algorithm each can be compared.
Medians over 20 seeds swing by 20-50% per cell; settings are compared over 100 or more.

    python benchmarks/search_quality.py --seeds 20 --in-flight 1 4
    python benchmarks/search_quality.py --algorithms ours --seeds 100 --settings '{"gamma": 0.2}'
    python benchmarks/search_quality.py --functions digits --seeds 100 --epochs 1

Needs the `bench` extra (Optuna).
"""

from __future__ import annotations

import argparse
import collections
import datetime
import json
import os
import platform
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import hyperopt  # noqa: E402

import search.tpe  # noqa: E402
import spaces  # noqa: E402
from benchmarks import _algorithms, _landscapes  # noqa: E402


def run_one(algorithm: Any, evaluate: Callable[[dict], tuple[dict, float]], budget: int,
            in_flight: int) -> list[tuple[float, float]]:
    """(observed loss, true value) per finished trial, in the order they finished."""
    running: collections.deque = collections.deque()
    finished: list[tuple[float, float]] = []
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


def best_at(finished: list[tuple[float, float]], budget: int) -> float:
    """The true value of the trial with the best observed loss among the first `budget`."""
    observed, true_values = zip(*finished[:budget], strict=False)
    return true_values[int(np.argmin(observed))]


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--functions", nargs="+", default=list(_landscapes.TUNING),
                        help=f"of {sorted(_landscapes.LANDSCAPES)} and digits")
    parser.add_argument("--algorithms", nargs="+", default=list(_algorithms.ALGORITHMS))
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--first-seed", type=int, default=0)
    parser.add_argument("--budgets", type=int, nargs="+", default=[25, 50])
    parser.add_argument("--in-flight", type=int, nargs="+", default=[1, 4])
    parser.add_argument("--epochs", type=int, default=2, help="digits only")
    parser.add_argument("--min-accuracy", type=float, default=0.5, help="digits only")
    parser.add_argument("--settings", type=json.loads, default={},
                        help="our TPE's settings as JSON, e.g. '{\"gamma\": 0.15}'")
    parser.add_argument("--json", type=Path, help="also write every best value here")
    arguments = parser.parse_args()
    if arguments.settings:
        settings = search.tpe.Settings(**{
            key: search.tpe.Bandwidth(**value) if key == "bandwidth" else value
            for key, value in arguments.settings.items()})
        _algorithms.ALGORITHMS["ours"] = _algorithms.hyperopt_algo(
            lambda *a: search.tpe.suggest(*a, settings=settings))

    graph = spaces.load_space("default").graph
    print(f"# search_quality {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC, "
          f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs; "
          f"{' '.join(sys.argv[1:])}", flush=True)
    records = []
    for function in arguments.functions:
        for in_flight in arguments.in_flight:
            started = time.monotonic()
            bests: dict[str, dict[int, list[float]]] = {
                name: {budget: [] for budget in arguments.budgets}
                for name in arguments.algorithms}
            # Seed by seed, every algorithm in turn: a change in the machine's load during the
            # run then shifts every algorithm's training times alike (digits divides by them).
            for seed in range(arguments.first_seed, arguments.first_seed + arguments.seeds):
                for name in arguments.algorithms:
                    if function == "digits":
                        evaluate = digits_evaluator(graph, seed, arguments.epochs,
                                                    arguments.min_accuracy)
                    else:
                        evaluate = landscape_evaluator(graph, function, seed)
                    algorithm = _algorithms.ALGORITHMS[name](graph, seed)
                    finished = run_one(algorithm, evaluate, max(arguments.budgets), in_flight)
                    for budget in arguments.budgets:
                        bests[name][budget].append(best_at(finished, budget))
            records.append({"function": function, "in_flight": in_flight, "best": bests})
            _print_table(function, in_flight, bests, arguments.budgets, time.monotonic() - started)
    if arguments.json:
        arguments.json.write_text(json.dumps(records))


def _print_table(function: str, in_flight: int, bests: dict, budgets: list[int],
                 seconds: float) -> None:
    print(f"\n## {function}, {in_flight} in flight ({seconds:.0f} s)")
    print(f"{'algorithm':<14}" + "".join(f"{f'best@{b} median [q1, q3]':>34}" for b in budgets))
    for name, by_budget in bests.items():
        cells = []
        for budget in budgets:
            q1, median, q3 = np.percentile(by_budget[budget], [25, 50, 75])
            cells.append(f"{median:>12.4g} [{q1:.4g}, {q3:.4g}]")
        print(f"{name:<14}" + "".join(f"{cell:>34}" for cell in cells))
    if "ours" in bests and "optuna" in bests:
        ratios = [np.median(bests["ours"][b]) / np.median(bests["optuna"][b]) for b in budgets]
        what = "best score (higher is better)" if function == "digits" else \
            "distance to optimum (below 1: ours is closer)"
        cells = zip(budgets, ratios, strict=True)
        print("ours / optuna " + ", ".join(f"@{b}: {r:.2f}" for b, r in cells)
              + f"  ({what})", flush=True)


if __name__ == "__main__":
    main()
