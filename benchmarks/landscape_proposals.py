"""Where a search's proposals go in one label of an issue-8 landscape: ours (today's or with
`--settings`) against our algorithm at a git ref, from the same common startup trials.

For each algorithm: how the label's proposals after the startup trials spread over its
values, how often the trial reported best after `--budgets` trials has each value, and the
median best. It shows which dimension a change of the kernels moves, e.g. why `bowl` with 1 in
flight at 50 trials got worse when the batch size's cell kernels widened:

    python benchmarks/landscape_proposals.py --function bowl --label batch_size \\
        --baseline 32082e7 --seeds 100 --budgets 25 50 --in-flight 1

A label with more than `--bins` distinct values is shown in equal bins of its range (in log10
for a positive range that spans more than a factor of 10).
"""

from __future__ import annotations

import argparse
import collections
import functools
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import hyperopt
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import search.tpe  # noqa: E402
import spaces  # noqa: E402
from benchmarks import _algorithms, _landscapes  # noqa: E402

Trial = tuple[float, dict[str, Any]]  # (true value, parameters), in the order trials finished


def run(factory: Callable[[Any, int], Any], function: str, seed: int, budget: int,
        in_flight: int) -> tuple[list[Trial], list[float]]:
    """One search of `budget` trials with `in_flight` running at once, oldest finishing first:
    the trials and their observed losses (with the landscape's noise), in finishing order."""
    graph = spaces.load_space("default").graph
    evaluate, noise_sd = _landscapes.LANDSCAPES[function]
    algorithm = factory(graph, seed)
    running: collections.deque[tuple[int, dict[str, Any]]] = collections.deque()
    finished: list[tuple[float, float, dict[str, Any]]] = []
    while len(finished) < budget:
        while len(running) < in_flight and len(finished) + len(running) < budget:
            running.append(algorithm.ask())
        tid, vals = running.popleft()
        params = hyperopt.space_eval(graph, vals)
        value = evaluate(params)
        observed = value + _landscapes.noise(seed, len(finished), noise_sd)
        algorithm.tell(tid, {"status": "ok", "loss": observed})
        finished.append((observed, value, params))
    return [(value, params) for _, value, params in finished], [o for o, _, _ in finished]


def _flat(params: dict[str, Any], label: str) -> Any:
    """The label's value in a sampled point (searching nested choices' dicts)."""
    if label in params:
        return params[label]
    for value in params.values():
        if isinstance(value, dict):
            found = _flat(value, label)
            if found is not None:
                return found
    return None


def _binner(values: list[float], bins: int) -> Callable[[float], str]:
    distinct = sorted(set(values))
    if len(distinct) <= bins:
        return lambda value: f"{value:g}"
    low, high = distinct[0], distinct[-1]
    log = low > 0 and high / low > 10
    if log:
        low, high = np.log10(low), np.log10(high)
    edges = np.linspace(low, high, bins + 1)

    def name(value: float) -> str:
        x = np.log10(value) if log else value
        index = min(int(np.searchsorted(edges, x, side="right")) - 1, bins - 1)
        unit = "log10 " if log else ""
        return f"{unit}[{edges[index]:.3g}, {edges[index + 1]:.3g})"
    return name


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--function", default="bowl", choices=sorted(_landscapes.LANDSCAPES))
    parser.add_argument("--label", default="batch_size")
    parser.add_argument("--seeds", type=int, default=100)
    parser.add_argument("--first-seed", type=int, default=0)
    parser.add_argument("--budgets", type=int, nargs="+", default=[25, 50])
    parser.add_argument("--in-flight", type=int, default=1)
    parser.add_argument("--settings", type=json.loads, default={})
    parser.add_argument("--baseline", metavar="GIT_REF")
    parser.add_argument("--bins", type=int, default=16)
    arguments = parser.parse_args()
    settings = search.tpe.Settings.from_json(arguments.settings)
    factories = {"ours": _algorithms.hyperopt_algo(
        functools.partial(search.tpe.suggest, settings=settings))}
    if arguments.baseline:
        factories[f"ours@{arguments.baseline}"] = _algorithms.hyperopt_algo(
            _algorithms.suggest_at(arguments.baseline))
    seeds = range(arguments.first_seed, arguments.first_seed + arguments.seeds)
    print(f"# landscape_proposals: {' '.join(sys.argv[1:])}")
    budget = max(arguments.budgets)
    results = {name: [run(factory, arguments.function, seed, budget, arguments.in_flight)
                      for seed in seeds] for name, factory in factories.items()}
    proposed = {name: [_flat(params, arguments.label) for trials, _ in runs
                       for _, params in trials[_algorithms.STARTUP_TRIALS:]]
                for name, runs in results.items()}
    every = [value for values in proposed.values() for value in values if value is not None]
    name_of = _binner(every, arguments.bins)
    keys = sorted({name_of(value) for value in every},
                  key=lambda key: float(key.split("[")[-1].split(",")[0]))
    for name, runs in results.items():
        print(f"\n## {name}: {arguments.function}, {arguments.in_flight} in flight, "
              f"{len(runs)} seeds; {arguments.label}")
        shares = collections.Counter(name_of(v) for v in proposed[name] if v is not None)
        total = sum(shares.values())
        print(f"{'value':<28}{'proposed':>10}" + "".join(
            f"{f'best@{b}':>10}" for b in arguments.budgets))
        at_best: dict[int, collections.Counter[str]] = {
            b: collections.Counter() for b in arguments.budgets}
        medians = {}
        for b in arguments.budgets:
            bests = []
            for trials, observed in runs:
                index = int(np.argmin(observed[:b]))
                value = _flat(trials[index][1], arguments.label)
                at_best[b][name_of(value) if value is not None else "inactive"] += 1
                bests.append(trials[index][0])
            medians[b] = float(np.median(bests))
        for key in keys + (["inactive"] if any(c["inactive"] for c in at_best.values()) else []):
            print(f"{key:<28}{shares[key] / max(total, 1):>10.3f}" + "".join(
                f"{at_best[b][key] / len(runs):>10.2f}" for b in arguments.budgets))
        print("median best: " + ", ".join(f"@{b} {medians[b]:.4g}" for b in arguments.budgets))


if __name__ == "__main__":
    main()
