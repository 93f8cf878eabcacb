"""Milliseconds per proposal with 100, 500, 1,000 and 2,000 finished trials: ours, Hyperopt's
TPE and Optuna 5's TPESampler, measured in the same run, interleaved.

Each algorithm holds its own history of random trials of the `default` space, scored by the
`lr_batch` landscape; `--space grid` uses instead an HPOBench-shaped grid searched as ordinal
indices (5 labels with 10, 10, 10, 3 and 10 values), where thousands of trials share few cells.
A measured proposal is what a search does per trial: one more random trial finishes, then the
algorithm proposes the next (ours brings its arrays up to date with the change; Hyperopt
re-reads its Trials; Optuna samples through its study). Adding trials to the history and
telling results are not timed. Prints the median over `--repeats` proposals at each count, and
the ratios; `--clock cpu` times this process's CPU instead of the wall clock, for a loaded
machine.

    nice -n 10 python benchmarks/proposal_cost.py --counts 100 500 1000 2000 --repeats 20
    nice -n 10 python benchmarks/proposal_cost.py --space grid --counts 2000 --clock cpu
"""

from __future__ import annotations

import argparse
import datetime
import functools
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import hyperopt  # noqa: E402
import optuna  # noqa: E402
from hyperopt import rand, tpe  # noqa: E402

import search.tpe  # noqa: E402
import spaces  # noqa: E402
from benchmarks import _algorithms, _hpobench_grids, _landscapes  # noqa: E402

# Wall time is what a driver waits; CPU time of this process is what a proposal costs, and
# moves less when other processes load the machine.
CLOCKS = {"wall": time.perf_counter, "cpu": time.process_time}
CLOCK = "wall"
Score = Callable[[dict], float]  # a trial's loss from its values as Hyperopt stores them


def default_space() -> tuple[Any, Score]:
    graph = spaces.load_space("default").graph
    return graph, lambda vals: _landscapes.lr_batch(hyperopt.space_eval(graph, vals))


def grid_space() -> tuple[Any, Score]:
    grid = _hpobench_grids.grid(0)
    evaluate = grid.evaluator("index", 0)
    return grid.space("index"), lambda vals: float(evaluate(vals)[0]["loss"])


SPACES = {"default": default_space, "grid": grid_space}


class HyperoptTimer:
    """A Hyperopt algo over its own Trials: random trials are added, proposals are timed."""

    def __init__(self, suggest: Callable, graph: Any, score: Score) -> None:
        self._score = score
        self._timed = suggest
        self._algorithm = _algorithms.HyperoptAlgo(rand.suggest, graph, seed=0)

    def add_finished(self) -> None:
        self._algorithm.suggest = rand.suggest
        _finish(self._algorithm, self._score, *self._algorithm.ask())

    def timed_proposal(self) -> float:
        seconds = []

        def timed(*arguments: Any) -> Any:
            started = CLOCKS[CLOCK]()
            documents = self._timed(*arguments)
            seconds.append(CLOCKS[CLOCK]() - started)
            return documents
        self._algorithm.suggest = timed
        _finish(self._algorithm, self._score, *self._algorithm.ask())
        return seconds[0]


class OptunaTimer:
    """One in-memory study: random trials come from a RandomSampler view of it, timed
    proposals (ask and every suggest call) from a TPESampler view."""

    def __init__(self, graph: Any, score: Score) -> None:
        self._score = score
        storage = optuna.storages.InMemoryStorage()
        study = optuna.create_study(storage=storage, sampler=optuna.samplers.RandomSampler(seed=0))
        self._random = _algorithms.OptunaAlgo(graph, 0, study=study)
        tpe_view = optuna.load_study(study_name=study.study_name, storage=storage,
                                     sampler=optuna.samplers.TPESampler(seed=0))
        self._tpe = _algorithms.OptunaAlgo(graph, 0, study=tpe_view)

    def add_finished(self) -> None:
        _finish(self._random, self._score, *self._random.ask())

    def timed_proposal(self) -> float:
        started = CLOCKS[CLOCK]()
        tid, vals = self._tpe.ask()
        seconds = CLOCKS[CLOCK]() - started
        _finish(self._tpe, self._score, tid, vals)
        return seconds


def _finish(algorithm: Any, score: Score, tid: int, vals: dict) -> None:
    algorithm.tell(tid, {"status": "ok", "loss": score(vals)})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--counts", type=int, nargs="+", default=[100, 500, 1000, 2000])
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--clock", choices=sorted(CLOCKS), default="wall")
    parser.add_argument("--space", choices=sorted(SPACES), default="default")
    arguments = parser.parse_args()
    global CLOCK
    CLOCK = arguments.clock
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    graph, score = SPACES[arguments.space]()
    timers = {
        "ours": HyperoptTimer(search.tpe.suggest, graph, score),
        "hyperopt": HyperoptTimer(functools.partial(tpe.suggest, n_startup_jobs=10), graph,
                                  score),
        "optuna": OptunaTimer(graph, score),
    }
    print(f"# proposal_cost {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC, "
          f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs; "
          f"{' '.join(sys.argv[1:])}", flush=True)
    print(f"{'finished':>8} {'ours ms':>9} {'hyperopt ms':>12} {'optuna ms':>10} "
          f"{'ours/hyperopt':>14} {'ours/optuna':>12}", flush=True)
    finished = 0
    for count in arguments.counts:
        for timer in timers.values():  # fill to `count - 1`: each measured proposal adds one
            for _ in range(count - 1 - finished):
                timer.add_finished()
        finished = count - 1
        samples: dict[str, list[float]] = {name: [] for name in timers}
        for _ in range(arguments.repeats):
            for name, timer in timers.items():
                timer.add_finished()
                samples[name].append(timer.timed_proposal() * 1000)
        finished += 2 * arguments.repeats
        ms = {name: statistics.median(values) for name, values in samples.items()}
        print(f"{count:>8} {ms['ours']:>9.2f} {ms['hyperopt']:>12.2f} {ms['optuna']:>10.2f} "
              f"{ms['ours'] / ms['hyperopt']:>14.2f} {ms['ours'] / ms['optuna']:>12.2f}",
              flush=True)


if __name__ == "__main__":
    main()
