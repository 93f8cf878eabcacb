"""Ours against a baseline on issue 8's landscapes, cell by cell, with the noise as a number:
the ratio of median distances to the optimum, its bootstrap interval over seeds, and the
same ratio for the baseline against itself on other seeds (what a change that changes
nothing shows).

Reads the `--json` files of `search_quality.py` runs of the same landscapes, one per seed
range, each with ours and the baseline (e.g. `--baseline 32082e7`, seeds 0-19 and 20-39):

    python benchmarks/search_quality.py --functions landscapes --algorithms ours \\
        --baseline 32082e7 --seeds 20 --budgets 25 50 --in-flight 1 4 --json a.json
    python benchmarks/search_quality.py ... --first-seed 20 --json b.json
    python benchmarks/landscape_ratios.py a.json b.json --baseline ours@32082e7
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

Cell = tuple[str, int, str]  # landscape, in flight, budget


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("runs", type=Path, nargs=2, help="two seed ranges' --json files")
    parser.add_argument("--ours", default="ours")
    parser.add_argument("--baseline", required=True, help="e.g. ours@32082e7")
    parser.add_argument("--resamples", type=int, default=2000)
    arguments = parser.parse_args()
    first, second = (_bests(path) for path in arguments.runs)
    rng = np.random.default_rng(0)
    cells = list(first)
    flights = sorted({cell[1] for cell in cells})
    budgets = sorted({cell[2] for cell in cells}, key=int)
    landscapes = list(dict.fromkeys(cell[0] for cell in cells))
    columns = [(flight, budget) for flight in flights for budget in budgets]
    header = "".join(f"{f'{flight}@{budget}':>22}" for flight, budget in columns)
    print(f"# {arguments.ours} / {arguments.baseline}: median distance ratio over both seed "
          "ranges [5 %, 95 % bootstrap over seeds]; null: the baseline's second seed range / "
          "its first")
    print(f"{'landscape':<18}{header}")
    pooled_ratios, nulls, draws = [], [], []
    for landscape in landscapes:
        row = []
        for flight, budget in columns:
            cell = (landscape, flight, budget)
            ours = np.concatenate([first[cell][arguments.ours], second[cell][arguments.ours]])
            base = np.concatenate([first[cell][arguments.baseline],
                                   second[cell][arguments.baseline]])
            ratio = np.median(ours) / np.median(base)
            resampled = _bootstrap(ours, base, arguments.resamples, rng)
            low, high = np.percentile(resampled, [5, 95])
            pooled_ratios.append(ratio)
            draws.append(np.log(resampled))
            nulls.append(np.median(second[cell][arguments.baseline])
                         / np.median(first[cell][arguments.baseline]))
            row.append(f"{ratio:.2f} [{low:.2f}, {high:.2f}]")
        print(f"{landscape:<18}" + "".join(f"{cell:>22}" for cell in row))
    for name, per_budget in (("ratio", pooled_ratios), ("null", nulls)):
        values = np.array(per_budget).reshape(len(landscapes), len(columns))
        print(f"{'geo mean ' + name:<18}" + "".join(
            f"{np.exp(np.mean(np.log(values[:, i]))):>22.2f}" for i in range(len(columns))))
    geometric = np.exp(np.mean(draws, axis=0))
    low, high = np.percentile(geometric, [5, 95])
    worse = sum(np.percentile(np.exp(draw), 5) > 1 for draw in draws)
    null = np.log(nulls)
    print(f"\nall {len(pooled_ratios)} cells: geometric mean "
          f"{np.exp(np.mean(np.log(pooled_ratios))):.2f} [{low:.2f}, {high:.2f}]; cells whose "
          f"5 % bound is above 1: {worse} (chance alone gives {0.05 * len(draws):.1f})")
    seeds = sorted({len(runs[arguments.baseline]) for runs in (*first.values(),
                                                                   *second.values())})
    print(f"null (baseline against itself, {'/'.join(map(str, seeds))} seeds each): "
          "geometric mean "
          f"{np.exp(np.mean(null)):.2f}, cells from {np.exp(null.min()):.2f} to "
          f"{np.exp(null.max()):.2f}, standard deviation of the log ratio {null.std():.2f}")

def _bests(path: Path) -> dict[Cell, dict[str, np.ndarray]]:
    """(landscape, in flight, budget) -> algorithm -> the best distance of every seed."""
    return {(record["function"], record["in_flight"], budget): {
        name: np.asarray(values[budget]) for name, values in record["best"].items()}
        for record in json.loads(path.read_text())
        for budget in next(iter(record["best"].values()))}


def _bootstrap(ours: np.ndarray, base: np.ndarray, resamples: int,
               rng: np.random.Generator) -> np.ndarray:
    """Ratios of medians with the seeds of each side drawn again with replacement."""
    pick_ours = rng.integers(0, len(ours), (resamples, len(ours)))
    pick_base = rng.integers(0, len(base), (resamples, len(base)))
    return np.median(ours[pick_ours], axis=1) / np.median(base[pick_base], axis=1)


if __name__ == "__main__":
    main()
