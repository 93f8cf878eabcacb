"""Variants of our TPE's settings on the grids of training runs, against cached peer runs: one
line per variant, so settings are chosen on the tuning grids and then reported on held-out ones.

Every variant runs the same jobs as `search_quality.py` (same seeds, common startup trials);
the peers (Optuna's default TPESampler, random search) come from `--cache`, filled by
`search_quality.py --cache` or computed here once. Per variant: for each cell (encoding x in
flight x budget) the ratio ours / Optuna of the rank measure (geometric mean over grids of
1 + the mean rank over seeds); the line gives their geometric mean, the worst cell, the cells
above 1, and the same against random search.

    python benchmarks/tpe_settings_sweep.py --functions lcbench-tuning synthetic-tuning \\
        --seeds 20 --cache /tmp/peers --variants variants.json

`variants.json` maps names to settings, e.g. {"default": {}, "ordinal": {"ordinal": true}}.
`--peers` with no names runs ours only and gives each variant's ratios to the first variant's:
cheap enough for many grids and seeds, where a difference is smaller than the peers' noise.

    python benchmarks/tpe_settings_sweep.py --functions hpobench-tuning-wide --encodings index \
        --seeds 40 --peers --variants variants.json
"""

from __future__ import annotations

import argparse
import datetime
import functools
import json
import os
import platform
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import search.tpe  # noqa: E402
from benchmarks import _algorithms, search_quality  # noqa: E402
from benchmarks._grid_landscapes import ENCODINGS  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--functions", nargs="+", default=["lcbench-tuning", "synthetic-tuning"])
    parser.add_argument("--encodings", nargs="+", default=["values", "index"], choices=ENCODINGS)
    parser.add_argument("--variants", type=Path, required=True)
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--first-seed", type=int, default=0)
    parser.add_argument("--budgets", type=int, nargs="+", default=[25, 50, 100])
    parser.add_argument("--in-flight", type=int, nargs="+", default=[1, 4])
    parser.add_argument("--peers", nargs="*", default=["optuna", "random"],
                        help="the algorithms ours is compared with; none: the first variant")
    parser.add_argument("--cache", type=Path)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--json", type=Path, help="also write every variant's measures here")
    search_quality.add_own_startup(parser)
    arguments = parser.parse_args()
    search_quality.use_own_startup(arguments)
    arguments.epochs, arguments.min_accuracy = 0, 0.0  # digits only, unused
    variants = json.loads(arguments.variants.read_text())
    print(f"# tpe_settings_sweep {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC, "
          f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs; "
          f"{' '.join(sys.argv[1:])}", flush=True)
    for group in arguments.functions:
        grids = search_quality.GROUPS.get(group, [group])
        peers = _measures(grids, arguments.peers, arguments) if arguments.peers else {}
        names = arguments.peers or [next(iter(variants))]
        print(f"\n## {group}: {len(grids)} grids, encodings {arguments.encodings}, in flight "
              f"{arguments.in_flight}, budgets {arguments.budgets}; ratios of the rank measure")
        print(f"{'variant':<34}" + "".join(f"{'/' + name[:10] + ' geo':>15}{'worst':>7}{'>1':>4}"
                                            for name in names)
              + f"   cells (enc, flight, budget) / {names[0]}")
        records = {}
        for name, settings in variants.items():
            parsed = search.tpe.Settings.from_json(settings)
            _algorithms.ALGORITHMS["ours"] = _algorithms.hyperopt_algo(
                functools.partial(search.tpe.suggest, settings=parsed))
            ours = _measures(grids, ["ours"], arguments)["ours"]
            records[name] = {"settings": settings, "ours": ours, **peers}
            if not arguments.peers:
                peers = peers or {name: ours}
            cells = []
            for peer in names:
                ratios = np.array([ours[cell] / peers[peer][cell] for cell in ours])
                cells.append(f"{np.exp(np.mean(np.log(ratios))):>15.3f}{ratios.max():>7.2f}"
                             f"{int((ratios > 1).sum()):>4}")
            detail = " ".join(f"{ours[c] / peers[names[0]][c]:.2f}" for c in ours)
            print(f"{name:<34}{''.join(cells)}   {detail}", flush=True)
        if arguments.json:
            path = arguments.json.with_name(f"{arguments.json.stem}-{group}.json")
            path.write_text(json.dumps(records))


def _measures(grids: list[str], algorithms: list[str], arguments: argparse.Namespace
              ) -> dict[str, dict[str, float]]:
    """algorithm -> "encoding/in flight/budget" -> the rank measure over `grids`."""
    cache = search_quality.PeerCache(arguments.cache, max(arguments.budgets))
    seeds = range(arguments.first_seed, arguments.first_seed + arguments.seeds)
    jobs = [(name, grid, encoding, in_flight, seed) for encoding in arguments.encodings
            for in_flight in arguments.in_flight for grid in grids for seed in seeds
            for name in algorithms]
    finished = search_quality.run_jobs(jobs, arguments, cache)
    measures: dict[str, dict[str, float]] = {name: {} for name in algorithms}
    for name in algorithms:
        for encoding in arguments.encodings:
            for in_flight in arguments.in_flight:
                for budget in arguments.budgets:
                    ranks = ([search_quality.best_at(finished[(name, grid, encoding, in_flight,
                                                               seed)], budget) for seed in seeds]
                             for grid in grids)
                    measures[name][f"{encoding}/{in_flight}/{budget}"] = (
                        search_quality.rank_measure(ranks))
    return measures


if __name__ == "__main__":
    main()
