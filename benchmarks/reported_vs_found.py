"""Why a search's reported best ranks where it does on a grid of training runs: what it found,
what it reported, and how often the report was a lucky run of a cell that misses the floor.

On the grids the rank measure (search_quality.py) is dominated by one event: the trial with the
best observed score is a lucky run of a cell whose mean misses the floor (rank = the count of
qualifying cells, thousands). This splits it, per algorithm, in-flight count and budget:

- found: the geometric mean of (1 + the best true rank among the trials run), what the search
  reached whatever it reported;
- fooled: the share of searches whose reported best misses the floor on its mean;
- reported, when not fooled: the geometric mean of (1 + the reported best's rank) over the
  others;
- the rank measure itself, and the first algorithm's measure over each other's, with the 5-95 %
  interval of a paired bootstrap over seeds (within each grid).

Runs come from `--cache` as search_quality.py's do (ours is always run):

    python benchmarks/reported_vs_found.py --functions hpobench-tuning --encoding index \\
        --seeds 20 --cache /tmp/peers
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks import search_quality  # noqa: E402
from benchmarks._grid_landscapes import ENCODINGS  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--functions", nargs="+", default=["hpobench-tuning"])
    parser.add_argument("--algorithms", nargs="+", default=["ours", "optuna", "random"])
    parser.add_argument("--encoding", default="index", choices=ENCODINGS)
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--first-seed", type=int, default=0)
    parser.add_argument("--budgets", type=int, nargs="+", default=[25, 50, 100])
    parser.add_argument("--in-flight", type=int, nargs="+", default=[1, 4])
    parser.add_argument("--cache", type=Path)
    parser.add_argument("--workers", type=int, default=2)
    arguments = parser.parse_args()
    arguments.epochs, arguments.min_accuracy = 0, 0.0  # digits only, unused
    names = [name for function in arguments.functions
             for name in search_quality.GROUPS.get(function, [function])]
    grids = {name: grid for name in names if (grid := search_quality.grid_of(name))}
    qualifying = {name: int(np.count_nonzero(grid.score > 0)) for name, grid in grids.items()}
    seeds = range(arguments.first_seed, arguments.first_seed + arguments.seeds)
    cache = search_quality.PeerCache(arguments.cache, max(arguments.budgets))
    print(f"# reported_vs_found: {' '.join(sys.argv[1:])}")
    print(f"{'algorithm':<12}{'flight':>7}  " + "  ".join(
        f"@{budget}: found / fooled / reported if not / measure" for budget in arguments.budgets))
    for in_flight in arguments.in_flight:
        jobs = [(algorithm, name, arguments.encoding, in_flight, seed)
                for algorithm in arguments.algorithms for name in grids for seed in seeds]
        runs = search_quality.run_jobs(jobs, arguments, cache)
        reported_ranks: dict[str, list[np.ndarray]] = {}
        for algorithm in arguments.algorithms:
            cells = []
            for budget in arguments.budgets:
                found, fooled, reported, by_grid = [], [], [], []
                for name in grids:
                    by_grid.append([])
                    for seed in seeds:
                        finished = runs[(algorithm, name, arguments.encoding, in_flight, seed)]
                        found.append(min(rank for _, rank in finished[:budget]))
                        rank = search_quality.best_at(finished, budget)
                        by_grid[-1].append(rank)
                        fooled.append(rank >= qualifying[name])
                        if rank < qualifying[name]:
                            reported.append(rank)
                reported_ranks.setdefault(algorithm, []).append(np.array(by_grid))
                cells.append(f"{_geometric(found):>9.1f} / {np.mean(fooled):.2f} / "
                             f"{_geometric(reported):.1f} / "
                             f"{search_quality.rank_measure(by_grid):<8.1f}")
            print(f"{algorithm:<12}{in_flight:>7}  " + "  ".join(cells), flush=True)
        first, *others = arguments.algorithms
        for other in others:
            print(f"{first + '/' + other:<19}  " + "  ".join(
                _ratio(mine, theirs) for mine, theirs in zip(
                    reported_ranks[first], reported_ranks[other], strict=True)), flush=True)


def _ratio(mine: np.ndarray, theirs: np.ndarray, resamples: int = 2000) -> str:
    """The ratio of two rank measures (grids x seeds of reported ranks), with its paired
    bootstrap interval: the same seeds of each grid drawn for both."""
    def measure(ranks: np.ndarray) -> np.ndarray:
        return np.exp(np.log1p(ranks.mean(axis=-1)).mean(axis=-1))
    rng = np.random.default_rng(0)
    draws = rng.integers(mine.shape[1], size=(resamples, *mine.shape))
    ratios = (measure(np.take_along_axis(mine[None], draws, axis=2))
              / measure(np.take_along_axis(theirs[None], draws, axis=2)))
    low, high = np.percentile(ratios, [5, 95])
    return f"{float(measure(mine) / measure(theirs)):>10.2f} [{low:.2f}, {high:.2f}]".ljust(44)


def _geometric(ranks: list[float]) -> float:
    """The geometric mean of 1 + rank (nan for none)."""
    return float(np.exp(np.mean(np.log1p(ranks)))) if ranks else float("nan")


if __name__ == "__main__":
    main()
