"""Screen pruner variants on the unpruned search's own trials (a `run --shadow-only` file):
per variant and cell, the median shadow x none, and over the cells their geometric mean, how
often the variant would have stopped the unpruned best or lost it (as `report` counts them),
its wrong stops (trials that would have beaten the incumbent of the moment it stopped them)
and its harmful stops (trials reaching 95% of B before the search had one).

    python benchmarks/pruning_screen.py shadow.jsonl [more.jsonl ...]
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.pruning import HINDSIGHT, hindsight_stops, measure_shadow  # noqa: E402


def stop_errors(trials: list[list[Any]], stops: dict[str, float]) -> tuple[int, int]:
    """Wrong stops and harmful stops (above) among `stops` of the unpruned search's trials."""
    best = max(t[4] for t in trials)
    wrong = harmful = 0
    for tid, _, start, _, trial_score, *_ in trials:
        stopped = stops.get(str(tid))
        if stopped is None:
            continue
        before = [t[4] for t in trials if t[3] <= start + stopped]
        wrong += trial_score > max(before, default=0.0)
        harmful += trial_score >= 0.95 * best and not any(s >= 0.95 * best for s in before)
    return wrong, harmful


def main(paths: list[str]) -> None:
    runs = [json.loads(line) for path in paths for line in Path(path).read_text().splitlines()]
    table: dict[str, dict[tuple[str, int], list[tuple[float, bool, bool, int, int]]]] = {}
    for run in runs:
        if run["method"] != "ours/none":
            continue
        trials, cell = run["trials"], (run["family"], run["in_flight"])
        stops = {**run["shadow_stops"], HINDSIGHT: hindsight_stops(trials)}
        for name, stopped in stops.items():
            if name.startswith("optuna/") and not name.endswith("/aps"):
                continue
            shadow = measure_shadow(trials, stopped)
            table.setdefault(name, {}).setdefault(cell, []).append(
                (shadow.saving, shadow.stopped_best, shadow.lost, *stop_errors(trials, stopped)))
    cells = sorted({cell for by_cell in table.values() for cell in by_cell})
    print("| variant | " + " | ".join(f"{f}/{k}" for f, k in cells)
          + " | geo | stopped best | lost | wrong stops | harmful stops |")
    print("|---" * (len(cells) + 6) + "|")
    for name, by_cell in table.items():
        medians = [statistics.median(o[0] for o in by_cell[c]) if c in by_cell else 0.0
                   for c in cells]
        geo = math.exp(statistics.mean(map(math.log, medians))) if all(medians) else 0.0
        outcomes = [o for c in cells for o in by_cell.get(c, [])]
        sums = [sum(o[i] for o in outcomes) for i in range(1, 5)]
        print(f"| {name} | " + " | ".join(f"{m:.2f}" for m in medians) + f" | {geo:.2f} | "
              f"{sums[0]}/{len(outcomes)} | {sums[1]}/{len(outcomes)} | {sums[2]} | {sums[3]} |")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("inputs", nargs="+", help="files of `pruning.py run --shadow-only`")
    main(parser.parse_args().inputs)
