"""What the residuals of a confirming search show of the noise's shape, and how far below the
floor the reported configurations that miss it are (issue 20, round 6; experiment code).

For each choosing landscape and seed, one `confirm` search of 100 trials as
`benchmarks/confirmed_best.py` runs it; then:

- `shape`: the residuals' sample skewness, and the residual quantile margin for 3 runs
  (`evidence.ResidualMargins`, alpha = 1 - Phi(1.7)) over today's normal margin (1.7 blended
  SDs / sqrt(3));
- `misses CACHE`: for every (landscape, seed, budget) whose reported best is truly below the
  floor in CACHE (a `confirmed_best.py --cache` file), the gap of its true mean to the floor,
  in accuracy and in its own true SD, and the experiment's measured SD over that true SD.

    nice -n 19 python benchmarks/residual_shape.py shape --seeds 10
    nice -n 19 python benchmarks/residual_shape.py misses /tmp/c6/base_choosing.jsonl
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import search.tpe  # noqa: E402
from benchmarks import _algorithms, _noise, _noisy_landscapes  # noqa: E402
from benchmarks._confirming import ConfirmingSearch  # noqa: E402
from search.confirmation import ConfirmationSettings  # noqa: E402
from search.reports import evidence  # noqa: E402


def searched(landscape: Any, seed: int, budget: int) -> ConfirmingSearch:
    """The `confirm` search of `confirmed_best.run_search`, one in flight."""
    inner = _algorithms.HyperoptAlgo(search.tpe.suggest, landscape.graph, seed,
                                     _algorithms.startup_seeds(seed))
    searcher = ConfirmingSearch(inner, landscape.graph, landscape.floor, ConfirmationSettings())
    for _ in range(budget):
        tid = searcher.ask()[0]
        searcher.tell(tid, landscape.observe(searcher.jobs[tid]["misc"]["params"], seed, tid))
    return searcher


def groups(searcher: ConfirmingSearch) -> list[list[Any]]:
    found: dict[str, list[Any]] = {}
    for trial in searcher.trials:
        found.setdefault(evidence.configuration_key(trial), []).append(trial)
    return list(found.values())


def shape(seeds: int) -> None:
    for name, landscape in _noisy_landscapes.landscapes().items():
        if not landscape.chooses or name.endswith("/none"):
            continue
        skews, ratios = [], []
        for seed in range(seeds):
            runs = groups(searched(landscape, seed, 100))
            noise = evidence.blended_noise(evidence.measured_noise(runs))
            residuals = np.array(evidence.residuals(runs))
            skews.append(float(np.mean((residuals / residuals.std()) ** 3)))
            margins = evidence.ResidualMargins(list(residuals), noise.accuracy, 1.7, True)
            ratios.append(margins.margin(3) / (1.7 * noise.accuracy / math.sqrt(3)))
        print(f"{name:<20} skewness median {np.median(skews):+.2f} [{min(skews):+.2f}, "
              f"{max(skews):+.2f}]; quantile / normal margin for 3 runs median "
              f"{np.median(ratios):.2f} [{min(ratios):.2f}, {max(ratios):.2f}]", flush=True)


def misses(cache: Path) -> None:
    every = _noisy_landscapes.landscapes()
    gaps, in_sds, measured_over_true = [], [], []
    for line in cache.read_text().splitlines():
        record = json.loads(line)
        name, _, _, seed, _ = json.loads(record["key"])
        for budget, outcome in record["outcome"]["confirm"].items():
            if not outcome["below"]:
                continue
            landscape = every[name]
            runs = groups(searched(landscape, seed, int(budget)))
            reported = evidence.rank(evidence.pool([t for g in runs for t in g],
                                                   landscape.floor))[0]
            accuracy = landscape.truth(reported.params)[0]
            true_sd = landscape.noise.configuration_scale(reported.params) * unit_sd(
                landscape.noise.shape)
            measured = evidence.measured_noise(runs)
            gaps.append(landscape.floor - accuracy)
            in_sds.append((landscape.floor - accuracy) / true_sd)
            measured_over_true.append((measured.accuracy if measured else 0.0) / true_sd)
    print(f"{len(gaps)} reported bests truly below the floor: gap to the floor median "
          f"{np.median(gaps):.4f} (max {max(gaps):.4f}), {np.median(in_sds):.2f} of their own "
          f"true SD (max {max(in_sds):.2f}); the measured SD is {np.median(measured_over_true):.2f}"
          " of that true SD (median)")


def unit_sd(shape_name: str) -> float:
    """The SD of `_noise`'s unit draws (bad seeds included for `skewed`)."""
    if shape_name == "symmetric":
        return math.sqrt(_noise.T_DEGREES_OF_FREEDOM / (_noise.T_DEGREES_OF_FREEDOM - 2))
    loss = _noise.BAD_SEED_LOSS
    probability = _noise.BAD_SEED_PROBABILITY
    return math.sqrt(1 + probability * 2 * loss**2 - (probability * loss) ** 2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("shape").add_argument("--seeds", type=int, default=10)
    commands.add_parser("misses").add_argument("cache", type=Path)
    arguments = parser.parse_args()
    if arguments.command == "shape":
        shape(arguments.seeds)
    else:
        misses(arguments.cache)


if __name__ == "__main__":
    main()
