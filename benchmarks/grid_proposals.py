"""Where searches' proposals and reported bests go on grids of training runs, axis by axis: ours
(today's or with `--settings`) against Optuna's default TPESampler, from the same common
startup trials and the same runs (`search_quality.py`'s jobs).

For each algorithm and axis: the share of the proposals after the startup trials on each grid
value (by index, 0 the range's low edge), of the trials each search reports as best at the
budget, and of the grids' best cells. Then, per algorithm: the share of reported bests whose
cell misses the floor on its mean (a lucky run of a cell that mostly misses it), the shares of
proposals on a cell that misses the floor and on a cell already run, and the rank measure.
It shows which dimension, which edge and which kind of mistake separates two searches, e.g.
on the HPOBench-shaped tuning half:

    python benchmarks/grid_proposals.py --functions hpobench-tuning --seeds 20 --budget 100 \\
        --in-flight 1 --encoding values
"""

from __future__ import annotations

import argparse
import collections
import functools
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import search.tpe  # noqa: E402
from benchmarks import _algorithms, search_quality  # noqa: E402
from benchmarks._grid_landscapes import ENCODINGS, Grid  # noqa: E402

Cells = list[tuple[int, ...]]  # the cell of every trial, in the order they finished


def run(name: str, grid: Grid, encoding: str, seed: int, budget: int, in_flight: int
        ) -> tuple[Cells, list[float]]:
    """One search's cells and observed losses, in finishing order."""
    evaluate = grid.evaluator(encoding, seed)
    cells: Cells = []

    def recording(vals: dict[str, Any]) -> tuple[dict, float]:
        cells.append(grid.cell(encoding, vals))
        return evaluate(vals)
    algorithm = _algorithms.ALGORITHMS[name](grid.space(encoding), seed)
    finished = search_quality.run_one(algorithm, recording, budget, in_flight)
    return cells, [loss for loss, _ in finished]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--functions", nargs="+", default=["hpobench-tuning"])
    parser.add_argument("--algorithms", nargs="+", default=["ours", "optuna"])
    parser.add_argument("--encoding", default="values", choices=ENCODINGS)
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--first-seed", type=int, default=0)
    parser.add_argument("--budget", type=int, default=100)
    parser.add_argument("--in-flight", type=int, default=1)
    parser.add_argument("--settings", type=json.loads, default={})
    arguments = parser.parse_args()
    if arguments.settings:
        settings = search.tpe.Settings.from_json(arguments.settings)
        _algorithms.ALGORITHMS["ours"] = _algorithms.hyperopt_algo(
            functools.partial(search.tpe.suggest, settings=settings))
    functions = [name for function in arguments.functions
                 for name in search_quality.GROUPS.get(function, [function])]
    grids = [grid for function in functions if (grid := search_quality.grid_of(function))]
    seeds = range(arguments.first_seed, arguments.first_seed + arguments.seeds)
    print(f"# grid_proposals: {' '.join(sys.argv[1:])}")
    for name in arguments.algorithms:
        proposed = [collections.Counter[int]() for _ in grids[0].axes]
        reported = [collections.Counter[int]() for _ in grids[0].axes]
        optimum = [collections.Counter[int]() for _ in grids[0].axes]
        fooled = missed = repeated = total = 0
        ranks = []
        for grid in grids:
            best = np.unravel_index(int(np.argmax(grid.score)), grid.score.shape)
            for axis, count in enumerate(optimum):
                count[int(best[axis])] += len(seeds)
            grid_ranks = []
            for seed in seeds:
                cells, losses = run(name, grid, arguments.encoding, seed, arguments.budget,
                                    arguments.in_flight)
                chosen = cells[int(np.argmin(losses))]
                grid_ranks.append(float(grid.rank[chosen]))
                fooled += bool(grid.score[chosen] == 0)
                for position, cell in enumerate(cells[_algorithms.STARTUP_TRIALS:],
                                                _algorithms.STARTUP_TRIALS):
                    missed += bool(grid.score[cell] == 0)
                    repeated += cell in cells[:position]
                    total += 1
                    for axis, count in enumerate(proposed):
                        count[cell[axis]] += 1
                for axis, count in enumerate(reported):
                    count[chosen[axis]] += 1
            ranks.append(grid_ranks)
        runs = len(grids) * len(seeds)
        print(f"\n## {name}: {len(grids)} grids, {arguments.encoding}, {arguments.in_flight} in "
              f"flight, {len(seeds)} seeds, @{arguments.budget}; measure "
              f"{search_quality.rank_measure(ranks):.1f}; reported best below the floor on its "
              f"mean: {fooled / runs:.2f}; proposals below the floor: {missed / total:.2f}, "
              f"on a cell already run: {repeated / total:.2f}")
        print("per axis and value index: share of proposals after the startup / of reported "
              "bests / of best cells")
        for axis, count in enumerate(proposed):
            print(f"  {grids[0].axes[axis].name:<12}" + " ".join(
                f"{index}:{count[index] / total:.2f}/{reported[axis][index] / runs:.2f}/"
                f"{optimum[axis][index] / runs:.2f}"
                for index in sorted(set(count) | set(reported[axis]) | set(optimum[axis]))))


if __name__ == "__main__":
    main()
