"""What ranking configurations (every run of the same hyperparameters pooled) costs the
dashboard's reader and the search's progress bar, on a big experiment.

Builds N finished trials with distinct hyperparameters (real proposals from the `default`
space, the learning rate made unique per trial) plus 10% confirmation runs of earlier ones,
then times, interleaved, what the dashboard's reader does once per change of an experiment:

- single runs: the summary (counts, pace, training time) and the Pareto front of single
  trials, with the best single run: what it did before configurations were ranked;
- pooled: the same summary and front from one pooling and ranking of the trials, plus the
  table of the best configurations;

and, for scale, building every trial's row (what the first read of the experiment does), and
one pooling for the progress bar's best (`SearchLedger.best_configuration`, which pools at
most a tenth of the driver's time). Medians of the repeats, milliseconds.

    python benchmarks/pooling_cost.py [--trials 1000 10000] [--repeats 5]
"""

from __future__ import annotations

import argparse
import copy
import datetime
import statistics
import time
from collections.abc import Callable

from query_speed import experiment, finished_jobs

from search.configurations import PoolCache, best_configuration
from search.dashboard._data import (
    Evidence,
    configuration_table,
    evidence,
    experiment_summary,
    front_points,
    trial_row,
)
from search.documents import JobDoc
from search.reports.queries import pareto_front
from search.trial import trials_of


def distinct_jobs(count: int) -> list[JobDoc]:
    """`count` finished trials of distinct configurations, then a tenth as many repeats."""
    jobs = finished_jobs(count)
    for job in jobs:
        job["misc"]["params"]["lr"] = 1e-4 * (1 + job["tid"] / count)
    repeats = []
    for index in range(count // 10):
        repeat = copy.deepcopy(jobs[index * 7 % count])
        repeat.update(tid=count + index, repeat_of=repeat["tid"])
        repeats.append(repeat)
    return [*jobs, *repeats]


def measure(count: int, repeats: int) -> dict[str, float]:
    """Median milliseconds of each step on `count` trials and their repeats, interleaved."""
    now = datetime.datetime.now(datetime.UTC)
    trials = trials_of(distinct_jobs(count))
    record = experiment(len(trials))
    nothing = Evidence([], [])

    def single_runs() -> None:
        experiment_summary(record, trials, [], now, nothing)
        max((trial.score for trial in trials if trial.is_scored), default=None)
        [trial.tid for trial in pareto_front(trials)]

    def pooled() -> None:
        found = evidence(record, trials)
        experiment_summary(record, trials, [], now, found)
        front_points(found)
        configuration_table(found)

    kept = PoolCache()
    evidence(record, trials, kept)  # the reader's last pooling, before one more result
    changed = trials_of(distinct_jobs(count + 1))[count:count + 1]

    def pooled_again() -> None:  # the reader's next change: one new result, its cache kept
        found = evidence(record, [*trials, *changed], kept)
        experiment_summary(record, trials, [], now, found)
        front_points(found)
        configuration_table(found)

    def rows() -> None:
        [trial_row(trial) for trial in trials]

    def progress() -> None:  # what SearchLedger.best_configuration pools
        best_configuration(trials, record.min_accuracy)

    steps: dict[str, Callable[[], None]] = {"single": single_runs, "pooled": pooled,
                                            "again": pooled_again, "rows": rows,
                                            "progress": progress}
    timed: dict[str, list[float]] = {name: [] for name in steps}
    for _ in range(repeats):
        for name, step in steps.items():
            started = time.perf_counter()
            step()
            timed[name].append(1000 * (time.perf_counter() - started))
    return {"trials": len(trials), **{name: statistics.median(values)
                                      for name, values in timed.items()}}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, nargs="+", default=[1000, 10_000])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    print("milliseconds, median of", args.repeats, "(each line timed interleaved)")
    print(f"{'trials':>7} {'single runs':>12} {'pooled':>8} {'ratio':>6} {'kept':>6} "
          f"{'all rows':>9} {'progress best':>14}")
    for count in args.trials:
        median = measure(count, args.repeats)
        print(f"{median['trials']:>7.0f} {median['single']:>12.0f} {median['pooled']:>8.0f} "
              f"{median['pooled'] / median['single']:>5.1f}x {median['again']:>6.0f} "
              f"{median['rows']:>9.0f} {median['progress']:>14.0f}")
    print("single runs, pooled: the dashboard reader's work per change of an experiment "
          "(summary, front, and for pooled the configurations table), pooling afresh; "
          "ratio: pooled over single runs; kept: pooled after one more result with the last "
          "pooling's cache kept, as the reader pools; all rows: building every trial's row "
          "(the first read); progress best: one pooling for the bar.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
