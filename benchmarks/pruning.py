"""Pruning for a score of accuracy per second: our pruners against none and against Optuna 5's
pruners, in training seconds to reach the unpruned search's best.

Every search proposes through an ask/tell loop (`benchmarks/_algorithms.py`: our TPE,
`search.tpe.suggest`, or Optuna's `TPESampler`, all starting from the same 10 random trials
per seed) and runs its trials through `objectives.run_trial`, with the pruner's decision as
the trial's `should_prune`. `--in-flight` workers run in lockstep on their training clocks
(`benchmarks/_lockstep.py`): decisions happen in the order a farm would make them, and a
pruned trial frees its worker as early as it would on a farm.

Families (`benchmarks/_curves.py`): `lcbench` (real learning curves through the LCBench
surrogate, with a time model where batch size and network size matter), `fast-poor` and
`late-bloomers` (synthetic), replayed on a virtual clock, and `digits`, trained for real on
the CPU. Each has a tuning half (tasks or seeds that chose our settings) and a reporting half.

Accounting: the training seconds of a search are the sum of its trials' `train_seconds`,
pruned ones included; at a moment of the search, those spent up to then by every worker.
For each family, half and number in flight, against B = the best score of the unpruned
search (ours, no pruner) after `--trials` trials, the report prints per method, as medians
over seeds: the training seconds until the best score first reached 90%, 95% and 100% of B
(pruned searches may run up to twice the trials for it; "-" when more than half the seeds
never got there), the ratio to the unpruned search's seconds to 95%, the best score (as a
fraction of B) within 5%, 10%, 25% and 50% of the unpruned search's total seconds, and how
the pruner costs the best. Each pruner also watches the unpruned search without acting
(shadow decisions, from what it would have known then): "stopped best" is how often it would
have stopped the trial that became the unpruned search's best, "lost (shadow)" how often the
best trial it would have let finish scores more than 5% below B. "lost (own run)" is how often
the pruned search's own best after `--trials` trials ended more than 5% below B: that also
counts the search taking another path once its history differs (an unpruned search with
other random draws loses that way too: `ours/none-redraw` measures that floor), so the shadow
figure is pruning's own share. With `--kept-evidence` each of our shadow pruners learns only
from the trials as it would have left them (a trial it would have stopped gives no finished
curve), as in its own run; without, from every trial's whole curve, more than it would ever
know. Last, over all the cells read, what a choice of default reads:
per method, x none in each cell, their geometric mean, and "lost" pooled over the searches.

    python benchmarks/pruning.py run --families lcbench fast-poor late-bloomers --half tuning
    python benchmarks/pruning.py run --families digits --half reporting --seeds 20
    python benchmarks/pruning.py report pruning-runs.jsonl
    python benchmarks/pruning.py measure-margin --trials 80 --epochs 20

`run` appends one JSON line per search to `--out` and skips searches already there, so it
resumes where it stopped. Needs the `bench` extra (Optuna, onnxruntime).
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import json
import math
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import hyperopt  # noqa: E402

import objectives  # noqa: E402
import search.tpe  # noqa: E402
import spaces  # noqa: E402
from benchmarks import _algorithms, _curves, _lockstep  # noqa: E402
from search import pruning  # noqa: E402

DIGITS_EPOCHS = 8
DIGITS_MIN_ACCURACY = 0.9
TARGETS = (0.9, 0.95, 1.0)
BUDGET_FRACTIONS = (0.05, 0.1, 0.25, 0.5)
LOST_BELOW = 0.95

# Our pruners by benchmark name: as shipped (`search.pruning.make_pruner`), or with settings
# changed, as the tuning half compared them: "bound:margin=0.25" (a fixed margin instead of
# the measured one), "asha:keep=0.5,grid=3,min=10,floor=0" (floor=0: rung values ignore the
# floor), "curve:tol=0.02,window=3,min=3,tangent=0".
OUR_SHIPPED = ("none", "bound", "asha", "curve")
OUR_VARIANTS = ("bound:margin=0.75", "bound:margin=0.25", "bound:margin=1", "asha:floor=0",
                "asha:keep=0.5", "asha:grid=3", "asha:min=10", "curve:tangent=0",
                "curve:tol=0.02", "curve:margin=0.75", "curve:min=1")


def our_pruner(spec: str, floor: float) -> pruning.Pruner | None:
    """The pruner a benchmark name stands for, on a task with accuracy floor `floor`: the
    shipped one (`search.pruning.make_pruner`) with the named settings changed."""
    name, _, options = spec.partition(":")
    pruner = pruning.make_pruner(name, min_accuracy=floor)
    settings = dict(option.split("=") for option in options.split(",") if option)
    if pruner is None or not settings:
        return pruner
    bound = pruner if isinstance(pruner, pruning.BoundPruner) else pruner.bound
    if "margin" in settings:
        bound = dataclasses.replace(bound, margin=float(settings.pop("margin")))
    if isinstance(pruner, pruning.BoundPruner):
        return bound
    if isinstance(pruner, pruning.CurvePruner):
        return dataclasses.replace(
            pruner, bound=bound, tolerance=float(settings.pop("tol", pruner.tolerance)),
            window=int(settings.pop("window", pruner.window)),
            min_neighbours=int(settings.pop("min", pruner.min_neighbours)),
            tangent=bool(int(settings.pop("tangent", pruner.tangent))))
    assert isinstance(pruner, pruning.RungPruner)
    grid = pruning.RungGrid(factor=float(settings.pop("grid", pruner.grid.factor)),
                            min_accuracy=floor * float(settings.pop("floor", 1)))
    return dataclasses.replace(pruner, bound=bound, grid=grid,
                               keep_fraction=float(settings.pop("keep", pruner.keep_fraction)),
                               min_trials=int(settings.pop("min", pruner.min_trials)))


# How a pruned trial is read by our TPE: at its projected score when it stopped (as shipped:
# search.tpe reads it so, `search.pruning.pruned_estimate`), or, told to TPE as a trial not
# pruned: as the worst score it records (loss 0.0, below the floor if its accuracy was), as
# failed (never good), or censored at its score bound.
TREATMENTS = ("estimate", "worst", "failed", "censored")
OPTUNA_PRUNERS = ("none", "median", "sha", "hyperband")
OPTUNA_VALUES = ("acc", "aps")  # intermediate value: accuracy, or accuracy per second so far


@dataclasses.dataclass(frozen=True)
class Problem:
    """What one search runs on: a family's instance, or digits."""

    family: str
    name: str
    space: Any
    epochs: int
    min_accuracy: float
    curve: Callable[[dict[str, Any]], _curves.Curve] | None  # None: train digits for real


def problem(family: str, seed: int, reporting: bool) -> Problem:
    if family == "digits":
        return Problem("digits", "digits", spaces.load_space("default").graph, DIGITS_EPOCHS,
                       DIGITS_MIN_ACCURACY, None)
    task = _curves.FAMILIES[family].task(seed, reporting)
    return Problem(family, task.name, _curves.FAMILIES[family].space, task.epochs,
                   task.min_accuracy, task.curve)


class VirtualClock:
    """The clock a replayed trial's `trial.timed()` reads: it moves by each epoch's seconds."""

    def __init__(self) -> None:
        self.seconds = 0.0

    def __call__(self) -> float:
        return self.seconds


def replay_objective(curve: _curves.Curve, clock: VirtualClock) -> objectives.Objective:
    """An objective that trains its recorded epochs: each advances the virtual clock by the
    epoch's seconds inside `trial.timed()`, then reports the epoch's accuracy."""
    accuracy, seconds = curve

    def run(params: dict[str, Any], trial: objectives.TrialContext) -> dict[str, Any]:
        for epoch in range(trial.epochs):
            with trial.timed():
                clock.seconds += seconds[epoch]
            trial.report_epoch(accuracy[epoch])
        return {"accuracy": accuracy[trial.epochs - 1]}

    return objectives.Objective(name="replay", description="", run=run)


def run_trial(task: Problem, seed: int, tid: int, vals: dict[str, Any],
              should_prune: objectives.ShouldPrune | None) -> dict[str, Any]:
    params = hyperopt.space_eval(task.space, vals)
    settings = objectives.TrialSettings(epochs=task.epochs, min_accuracy=task.min_accuracy,
                                        device="cpu", seed=seed * 1000 + tid)
    if task.curve is None:
        return objectives.run_trial(objectives.resolve_objective("digits"), params, settings,
                                    should_prune=should_prune)
    clock = VirtualClock()
    return objectives.run_trial(replay_objective(task.curve(params), clock), params, settings,
                                should_prune=should_prune, clock=clock)


# Methods ---------------------------------------------------------------------------------------

class Search:
    """One method's search: an algorithm, and per trial the `should_prune` it gets."""

    def __init__(self, algorithm: Any) -> None:
        self.algorithm = algorithm

    def decide(self, tid: int, report: objectives.EpochReport) -> objectives.PruneDecision | None:
        return None

    def told(self, tid: int, result: dict[str, Any]) -> dict[str, Any]:
        """Note a finished trial; return the result the algorithm is told."""
        return result


class OurSearch(Search):
    def __init__(self, algorithm: Any, pruner: pruning.Pruner | None, treatment: str) -> None:
        super().__init__(algorithm)
        self.pruner = pruner
        self.treatment = treatment
        self.evidence = pruning.EvidenceBuilder(pruner.grid if pruner else None)

    def decide(self, tid: int, report: objectives.EpochReport) -> objectives.PruneDecision | None:
        return None if self.pruner is None else self.pruner.decide(report, self.evidence.evidence())

    def told(self, tid: int, result: dict[str, Any]) -> dict[str, Any]:
        self.evidence.add(result)
        if not result.get("pruned") or self.treatment == "estimate":
            return result
        # Other readings: TPE is told a trial not pruned, with the loss the reading gives.
        told = {key: value for key, value in result.items() if key != "pruned"}
        if self.treatment == "failed":  # search.tpe takes a below-floor trial as failed
            return {**told, "below_accuracy_floor": True}
        if self.treatment == "censored":  # it might have reached the ceiling, so no floor
            return {**told, "loss": -result["score_bound"], "below_accuracy_floor": False}
        return told  # "worst": the loss 0.0 it records


class OptunaSearch(Search):
    def __init__(self, algorithm: Any, value: str) -> None:
        super().__init__(algorithm)
        self.value = value

    def decide(self, tid: int, report: objectives.EpochReport) -> objectives.PruneDecision | None:
        trial = self.algorithm.running_trial(tid)
        trial.report(intermediate_value(report, self.value), report.epoch)
        if not trial.should_prune():
            return None
        return objectives.PruneDecision(
            pruner=f"optuna-{type(self.algorithm.study.pruner).__name__}", reason="optuna",
            score_bound=1.0 / report.train_seconds)


def intermediate_value(report: objectives.EpochReport, value: str) -> float:
    """What Optuna's pruner is told, to minimise like the loss: minus the accuracy, or minus
    the accuracy per second so far (at equal steps, the order of the projected score)."""
    if value == "acc":
        return -report.val_accuracy
    return -report.val_accuracy / max(report.train_seconds, 1e-12)


def optuna_pruner(name: str, epochs: int) -> Any:
    import optuna

    return {
        "none": lambda: optuna.pruners.NopPruner(),
        "median": lambda: optuna.pruners.MedianPruner(),
        "sha": lambda: optuna.pruners.SuccessiveHalvingPruner(),
        "hyperband": lambda: optuna.pruners.HyperbandPruner(min_resource=1,
                                                            max_resource=epochs),
    }[name]()


def method_names() -> list[str]:
    ours = [f"ours/{name}" for name in (*OUR_SHIPPED, "none-redraw", *OUR_VARIANTS)] + [
        f"ours/asha/{treatment}" for treatment in TREATMENTS[1:]]
    optuna = ["optuna/none"] + [f"optuna/{name}/{value}" for name in OPTUNA_PRUNERS[1:]
                                for value in OPTUNA_VALUES]
    return ours + optuna


def is_unpruned(method: str) -> bool:
    return method.startswith(("ours/none", "optuna/none"))


def make_search(method: str, task: Problem, seed: int) -> Search:
    kind, pruner, *rest = method.split("/")
    if method == "ours/none-redraw":  # the path noise: other TPE draws after the same start
        algorithm = _algorithms.HyperoptAlgo(search.tpe.suggest, task.space, seed + 7919,
                                             _algorithms.startup_seeds(seed))
        return OurSearch(algorithm, None, TREATMENTS[0])
    if kind == "ours":
        algorithm = _algorithms.ALGORITHMS["ours"](task.space, seed)
        return OurSearch(algorithm, our_pruner(pruner, task.min_accuracy),
                         rest[0] if rest else TREATMENTS[0])
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(sampler=optuna.samplers.TPESampler(seed=seed),
                                pruner=optuna_pruner(pruner, task.epochs))
    algorithm = _algorithms.OptunaAlgo(task.space, seed, study=study,
                                       startup=_algorithms.startup_vals(task.space, seed))
    return OptunaSearch(algorithm, rest[0] if rest else "acc")


class Shadows:
    """Every pruner watching the unpruned search without acting: the first epoch at which each
    would have stopped each trial, given what it would have known then.

    ``kept_evidence``: each of our pruners learns from the trials as it would have left them
    (a trial it would have stopped counts as pruned there, its curve cut at that epoch), as in
    its own run, where only the trials it let finish give finished curves; otherwise it learns
    from every trial's whole curve, more evidence than it would ever have had."""

    def __init__(self, task: Problem, methods: list[str], kept_evidence: bool = False) -> None:
        import optuna

        self._kept_evidence = kept_evidence
        self._stopped_at: dict[tuple[str, int], int] = {}
        self._ours = {}
        for method in methods:
            kind, spec, *_ = method.split("/")
            pruner = None if is_unpruned(method) or kind != "ours" else our_pruner(
                spec, task.min_accuracy)
            if pruner is not None:
                self._ours[spec] = (pruner, pruning.EvidenceBuilder(pruner.grid))
        self._optuna = {f"optuna/{name}/{value}": (optuna.create_study(
            pruner=optuna_pruner(name, task.epochs)), value)
            for name in OPTUNA_PRUNERS[1:] for value in OPTUNA_VALUES}
        self._trials: dict[tuple[str, int], Any] = {}
        # pruner -> trial -> its training seconds when the pruner would have stopped it
        self.stops: dict[str, dict[int, float]] = {name: {} for name in
                                                 [*(f"ours/{n}" for n in self._ours),
                                                  *self._optuna]}

    def watch(self, tid: int, report: objectives.EpochReport) -> None:
        for name, (pruner, evidence) in self._ours.items():
            if pruner.decide(report, evidence.evidence()) is not None:
                self.stops[f"ours/{name}"].setdefault(tid, report.train_seconds)
                self._stopped_at.setdefault((name, tid), report.epoch)
        for name, (study, value) in self._optuna.items():
            trial = self._trials.get((name, tid)) or self._trials.setdefault(
                (name, tid), study.ask())
            trial.report(intermediate_value(report, value), report.epoch)
            if trial.should_prune():
                self.stops[name].setdefault(tid, report.train_seconds)

    def finished(self, tid: int, result: dict[str, Any]) -> None:
        import optuna

        for name, (_, evidence) in self._ours.items():
            epoch = self._stopped_at.get((name, tid))
            evidence.add(result if epoch is None or not self._kept_evidence
                         else cut_short(result, epoch))
        for name, (study, _) in self._optuna.items():
            trial = self._trials.pop((name, tid), None) or study.ask()
            loss = result.get("loss")
            if result.get("status") == "ok" and isinstance(loss, float) and math.isfinite(loss):
                study.tell(trial, loss)
            else:
                study.tell(trial, state=optuna.trial.TrialState.FAIL)


def cut_short(result: dict[str, Any], epoch: int) -> dict[str, Any]:
    """The result a trial would have had, pruned after ``epoch`` epochs."""
    curve, seconds = (result[key][:epoch] for key in ("val_accuracy_per_epoch",
                                                       "train_seconds_at_epoch"))
    return {**result, "pruned": True, "loss": 0.0, "epochs": epoch,
            "epochs_planned": len(result["val_accuracy_per_epoch"]),
            "val_accuracy_per_epoch": curve, "train_seconds_at_epoch": seconds,
            "accuracy": curve[-1], "train_seconds": seconds[-1]}


def run_search(method: str, task: Problem, seed: int, in_flight: int, budget: int,
               shadows: Shadows | None = None) -> list[_lockstep.Finished]:
    search = make_search(method, task, seed)
    watching = shadows is not None or not is_unpruned(method)

    def evaluate(tid: int, vals: dict[str, Any], pause: _lockstep.Pause) -> dict[str, Any]:
        def should_prune(report: objectives.EpochReport) -> objectives.PruneDecision | None:
            pause(report.train_seconds)
            if shadows is not None:
                shadows.watch(tid, report)
            return search.decide(tid, report)

        return run_trial(task, seed, tid, vals, should_prune if watching else None)

    def tell(tid: int, vals: dict[str, Any], result: dict[str, Any]) -> None:
        if shadows is not None:
            shadows.finished(tid, result)
        search.algorithm.tell(tid, search.told(tid, result))

    return _lockstep.run_farm(in_flight, budget, search.algorithm.ask, evaluate, tell)


def score(result: dict[str, Any]) -> float:
    """The trial's score as the search ranks it: accuracy per second, 0 when it has none."""
    loss = result.get("loss")
    if result.get("status") != "ok" or result.get("pruned") or not isinstance(loss, float):
        return 0.0
    return max(0.0, -loss)


def record(trials: list[_lockstep.Finished]) -> list[list[Any]]:
    return [[t.tid, t.worker, t.start, t.end, score(t.result), bool(t.result.get("pruned")),
             len(t.result.get("val_accuracy_per_epoch") or [])] for t in trials]


def run(arguments: argparse.Namespace) -> None:
    out: Path = arguments.out
    done = set()
    if out.exists():
        for line in out.read_text().splitlines():
            row = json.loads(line)
            done.add((row["family"], row["half"], row["in_flight"], row["seed"], row["method"]))
    objectives.configure_cpu_threads(1)
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    methods = arguments.methods or method_names()
    methods = ["ours/none", *(m for m in methods if m != "ours/none")]
    running = ["ours/none"] if arguments.shadow_only else methods
    half = arguments.half
    first_seed = 0 if half == "tuning" else 1000
    print(f"# pruning run {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC, "
          f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs; "
          f"{' '.join(sys.argv[1:])}", flush=True)
    for family in arguments.families:
        budget = arguments.trials if family != "digits" else arguments.digits_trials
        for in_flight in arguments.in_flight:
            for seed in range(first_seed, first_seed + arguments.seeds):
                task = problem(family, seed, half == "reporting")
                # Method by method within a seed: a change in the machine's load shifts every
                # method's digits timings alike.
                for method in running:
                    key = (family, half, in_flight, seed, method)
                    if key in done:
                        continue
                    started = time.monotonic()
                    unpruned = method == "ours/none"
                    shadows = Shadows(task, methods, arguments.kept_evidence
                                      ) if unpruned else None
                    trials = run_search(method, task, seed, in_flight,
                                        budget * (1 if is_unpruned(method) else 2), shadows)
                    row = {"family": family, "half": half, "in_flight": in_flight, "seed": seed,
                           "method": method, "task": task.name, "budget": budget,
                           "trials": record(trials),
                           "shadow_stops": shadows.stops if shadows else None,
                           "kept_evidence": arguments.kept_evidence,
                           "wall_seconds": time.monotonic() - started}
                    with out.open("a") as file:
                        file.write(json.dumps(row) + "\n")
                print(f"{family} {half} {in_flight} in flight seed {seed} done", flush=True)


# Report ----------------------------------------------------------------------------------------

@dataclasses.dataclass
class Outcome:
    """One search's measures against its seed's unpruned reference."""

    seconds_to: dict[float, float]
    best_within: dict[float, float]
    lost: bool
    seconds: float
    pruned_fraction: float
    lost_at_seconds: bool  # the best within the unpruned search's seconds ended below 95% of B
    x_none: float = math.nan  # this seed's unpruned s@95% over this search's (0: never got there)


def spent_by(trials: list[list[Any]], moment: float) -> float:
    """Training seconds every worker had spent at `moment` (on the workers' clocks)."""
    return sum(max(0.0, min(end, moment) - start) for _, _, start, end, *_ in trials)


def measure(trials: list[list[Any]], budget: int, reference: float,
            reference_seconds: float) -> Outcome:
    by_end = sorted(trials, key=lambda trial: trial[3])
    seconds_to = {}
    for target in TARGETS:
        reached = [t[3] for t in by_end if t[4] >= target * reference > 0]
        seconds_to[target] = spent_by(trials, reached[0]) if reached else math.inf
    best_within = {}
    for fraction in BUDGET_FRACTIONS:
        allowed = fraction * reference_seconds
        scores = [t[4] for t in by_end if spent_by(trials, t[3]) <= allowed]
        best_within[fraction] = max(scores, default=0.0) / reference if reference else 0.0
    first = sorted(trials, key=lambda trial: trial[3])[:budget]
    best = max((t[4] for t in first), default=0.0)
    best_in_seconds = max((t[4] for t in by_end if spent_by(trials, t[3]) <= reference_seconds),
                          default=0.0)
    return Outcome(seconds_to, best_within, best < LOST_BELOW * reference,
                   spent_by(trials, math.inf), sum(t[5] for t in trials) / len(trials),
                   best_in_seconds < LOST_BELOW * reference)


def report(paths: Iterable[Path]) -> None:
    rows = [json.loads(line) for path in paths for line in path.read_text().splitlines()]
    cells: dict[tuple[str, str, int], dict[int, dict[str, Any]]] = {}
    for row in rows:
        cells.setdefault((row["family"], row["half"], row["in_flight"]), {}).setdefault(
            row["seed"], {})[row["method"]] = row
    summary: dict[str, dict[str, tuple[float, int, int]]] = {}
    for (family, half, in_flight), seeds in sorted(cells.items()):
        outcomes: dict[str, list[Outcome]] = {}
        shadows: dict[str, list[ShadowOutcome]] = {}
        for by_method in seeds.values():
            unpruned = by_method.get("ours/none")
            if unpruned is None:
                continue
            reference = max(t[4] for t in unpruned["trials"])
            total = spent_by(unpruned["trials"], math.inf)
            unpruned_to = measure(unpruned["trials"], unpruned["budget"], reference,
                                  total).seconds_to[0.95]
            for method, row in by_method.items():
                outcome = measure(row["trials"], row["budget"], reference, total)
                outcome.x_none = unpruned_to / outcome.seconds_to[0.95]
                outcomes.setdefault(method, []).append(outcome)
            for name, stops in (unpruned["shadow_stops"] or {}).items():
                shadows.setdefault(name, []).append(measure_shadow(unpruned["trials"], stops))
            shadows.setdefault(HINDSIGHT, []).append(
                measure_shadow(unpruned["trials"], hindsight_stops(unpruned["trials"])))
        print(f"\n## {family}, {half} half, {in_flight} in flight "
              f"({len(outcomes.get('ours/none', []))} seeds)")
        _print_outcomes(outcomes)
        _print_shadows(shadows)
        none_95 = _median([o.seconds_to[0.95] for o in outcomes.get("ours/none", [])])
        for method, runs in outcomes.items():
            to_95 = _median([o.seconds_to[0.95] for o in runs])
            summary.setdefault(method, {})[f"{family}/{half[0]}/{in_flight}"] = (
                0.0 if math.isinf(to_95) else none_95 / to_95, sum(o.lost for o in runs),
                len(runs))
    _print_summary(summary)


def _print_summary(summary: dict[str, dict[str, tuple[float, int, int]]]) -> None:
    """What a choice of default reads: per method, x none at 95% in each cell, their geometric
    mean (0 when a cell never got there), and "lost" pooled over the cells' searches."""
    cells = sorted({cell for by_cell in summary.values() for cell in by_cell})
    print("\n## Over the cells: x none at 95% per cell (lost searches / searches), the "
          "geometric mean of x none (0 when any cell is 0), lost pooled over the cells")
    rows = []
    for method, by_cell in summary.items():
        ratios = [by_cell[cell][0] if cell in by_cell else 0.0 for cell in cells]
        mean = math.exp(statistics.mean(map(math.log, ratios))) if all(ratios) else 0.0
        lost, searches = (sum(by_cell[c][i] for c in by_cell) for i in (1, 2))
        rows.append([method, *(f"{by_cell[c][0]:.2f} ({by_cell[c][1]}/{by_cell[c][2]})"
                               if c in by_cell else "" for c in cells),
                     f"{mean:.2f}", f"{lost}/{searches} = {lost / searches:.1%}"])
    _print_table(["method", *cells, "geo x none", "lost"], rows)


@dataclasses.dataclass
class ShadowOutcome:
    """What a pruner would have done to the unpruned search, had it acted."""

    saving: float  # seconds to 95% of B, unpruned over with the pruner's stops
    stopped_best: bool
    lost: bool


HINDSIGHT = "hindsight (knows each final score)"


def hindsight_stops(trials: list[list[Any]]) -> dict[str, float]:
    """The stops of a pruner that knows the future, as a ceiling for any real one: after
    `pruning.MIN_EPOCHS` epochs (before which no rule of ours decides) it stops every trial
    of the unpruned search that will end no better than the best finished before it, so the
    search's best moves exactly as without it. Epochs are taken as equally long (their
    seconds are steady but for rare slow ones)."""
    stops, best = {}, 0.0
    for tid, _, start, end, trial_score, _, epochs in sorted(trials, key=lambda t: t[3]):
        if trial_score <= best and epochs > 0:
            stops[str(tid)] = (end - start) * min(1.0, pruning.MIN_EPOCHS / epochs)
        best = max(best, trial_score)
    return stops


def measure_shadow(trials: list[list[Any]], stops: dict[str, float]) -> ShadowOutcome:
    """Costs summed over the unpruned search's trials in finishing order, each trial costing
    its seconds up to where the pruner would have stopped it."""
    reference = max(t[4] for t in trials)
    by_end = sorted(trials, key=lambda trial: trial[3])
    unpruned_to = pruned_to = None
    unpruned = pruned = 0.0
    for tid, _, start, end, trial_score, *_ in by_end:
        stopped = stops.get(str(tid))
        unpruned += end - start
        pruned += end - start if stopped is None else stopped
        reached = trial_score >= 0.95 * reference
        if reached and unpruned_to is None:
            unpruned_to = unpruned
        if reached and stopped is None and pruned_to is None:
            pruned_to = pruned
    best_tid = max(trials, key=lambda trial: trial[4])[0]
    kept = max((t[4] for t in trials if str(t[0]) not in stops), default=0.0)
    return ShadowOutcome(saving=(unpruned_to or 0.0) / pruned_to if pruned_to else 0.0,
                         stopped_best=str(best_tid) in stops, lost=kept < LOST_BELOW * reference)


def _median(values: list[float]) -> float:
    return statistics.median(values) if values else math.nan


def _seconds(value: float) -> str:
    return "-" if math.isinf(value) else f"{value:.4g}"


def _print_table(header: list[str], rows: list[list[str]]) -> None:
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for row in rows:
        print("| " + " | ".join(row) + " |")
    sys.stdout.flush()


def _print_outcomes(outcomes: dict[str, list[Outcome]]) -> None:
    print("Each search on its own (medians over seeds). s@x: training seconds, pruned trials "
          "included, until the best reached x of B; 'x none': the unpruned search's s@95% "
          "over this one's; 'x redraw': the same for the unpruned search with other random "
          "draws after the same start (free of the reference's advantage of being measured "
          "against its own best); best@f: the best score, as a fraction of B, within f of the "
          "unpruned search's total seconds; lost: the best after as many trials as the "
          "unpruned search ran ended more than 5% below B; lost@s: the same within the "
          "unpruned search's seconds (up to twice its trials). 'reached': seeds whose search got "
          "to 95% of B at all; 'x none/seed': the median over seeds of each seed's own ratio "
          "(0 where it never got there), which does not compare one task's seconds with "
          "another's when the medians fall on different tasks.")
    none_95 = _median([o.seconds_to[0.95] for o in outcomes.get("ours/none", [])])
    redraw_95 = _median([o.seconds_to[0.95] for o in outcomes.get("ours/none-redraw", [])])
    rows = []
    for method, runs in outcomes.items():
        to = {t: _median([o.seconds_to[t] for o in runs]) for t in TARGETS}
        reached = to[0.95] and not math.isinf(to[0.95])
        rows.append([method, *(_seconds(to[t]) for t in TARGETS),
                     f"{none_95 / to[0.95]:.2f}" if reached else "0",
                     f"{redraw_95 / to[0.95]:.2f}" if reached and not math.isnan(redraw_95) else "",
                     f"{sum(not math.isinf(o.seconds_to[0.95]) for o in runs)}/{len(runs)}",
                     f"{_median([o.x_none for o in runs]):.2f}",
                     *(f"{_median([o.best_within[f] for o in runs]):.2f}"
                       for f in BUDGET_FRACTIONS),
                     f"{np.mean([o.lost for o in runs]):.0%}",
                     f"{np.mean([o.lost_at_seconds for o in runs]):.0%}",
                     f"{_median([o.pruned_fraction for o in runs]):.0%}",
                     f"{_median([o.seconds for o in runs]):.4g}"])
    _print_table(["method", *(f"s@{t:.0%}" for t in TARGETS), "x none", "x redraw",
                  "reached", "x none/seed",
                  *(f"best@{f:.0%}" for f in BUDGET_FRACTIONS), "lost", "lost@s", "pruned",
                  "total s"],
                 rows)


def _print_shadows(shadows: dict[str, list[ShadowOutcome]]) -> None:
    if not shadows:
        return
    print("\nEach pruner watching the unpruned search (shadow decisions: what it would have "
          "done, from what it would have known then). 'x none (same trials)': the unpruned "
          "search's seconds to 95% of B over those of the same trials stopped where the "
          "pruner would have stopped them (median over seeds); 'stopped best': how often it "
          "would have stopped the trial that became the unpruned best; 'lost': how often the "
          "best trial it would have let finish is more than 5% below B.")
    _print_table(["pruner", "x none (same trials)", "stopped best", "lost"], [
        [name, f"{_median([o.saving for o in runs]):.2f}",
         f"{np.mean([o.stopped_best for o in runs]):.0%}", f"{np.mean([o.lost for o in runs]):.0%}"]
        for name, runs in shadows.items()])


# What a pruned search proposes --------------------------------------------------------------

def final_score(task: Problem, vals: dict[str, Any]) -> float:
    """The score a replayed trial would have had, trained to its last planned epoch."""
    assert task.curve is not None
    accuracy, seconds = task.curve(hyperopt.space_eval(task.space, vals))
    final = accuracy[task.epochs - 1]
    return 0.0 if final < task.min_accuracy else final / sum(seconds[:task.epochs])


def paths(families: list[str], half: str, seeds: int, in_flight: int, methods: list[str],
          budget: int) -> None:
    """How good the configurations a search proposes are, whatever its pruner did to them:
    each trial replayed to its end, as a fraction of B (the unpruned search's best). Also
    how often the pruner stopped a trial that would have beaten the incumbent of the time,
    or reached 95% of B before the search had."""
    objectives.configure_cpu_threads(1)
    print("| family | method | trials 11-50: mean final / B | >= 0.8 B | stops | stopped a "
          "better trial than the incumbent | stopped a >= 95% B trial before the search had one |")
    print("|---|---|---|---|---|---|---|")
    first_seed = 0 if half == "tuning" else 1000
    for family in families:
        tasks = [problem(family, seed, half == "reporting")
                 for seed in range(first_seed, first_seed + seeds)]
        references = {task.name: max(score(t.result) for t in run_search(
            "ours/none", task, seed, in_flight, budget))
            for seed, task in zip(range(first_seed, first_seed + seeds), tasks, strict=True)}
        for method in methods:
            means, high, stops, beaten, early = [], [], 0, 0, 0
            for seed, task in zip(range(first_seed, first_seed + seeds), tasks, strict=True):
                reference = references[task.name]
                trials = sorted(run_search(method, task, seed, in_flight,
                                           budget * (1 if is_unpruned(method) else 2)),
                                key=lambda trial: trial.end)
                finals = {t.tid: final_score(task, t.vals) for t in trials}
                proposed = [finals[tid] / reference for tid in sorted(finals)[10:budget]]
                means.append(statistics.mean(proposed))
                high.append(statistics.mean(value >= 0.8 for value in proposed))
                incumbent = 0.0
                reached = False
                for t in trials:
                    if t.result.get("pruned"):
                        stops += 1
                        beaten += finals[t.tid] > incumbent
                        early += not reached and finals[t.tid] >= 0.95 * reference
                    incumbent = max(incumbent, score(t.result))
                    reached = reached or incumbent >= 0.95 * reference
            print(f"| {family}/{half[0]}/{in_flight} | {method} | {statistics.mean(means):.3f} | "
                  f"{statistics.mean(high):.1%} | {stops} | {beaten} | {early} |", flush=True)


# The bound's time margin -----------------------------------------------------------------------

def measure_margin(trials: int, epochs: int) -> None:
    """Train random `digits` trials to the end and print how the epochs left compare with the
    fastest epoch so far: the ratio (seconds of the epochs left) / (epochs left x fastest)."""
    objectives.configure_cpu_threads(1)
    graph = spaces.load_space("default").graph
    domain = hyperopt.base.Domain(lambda params: 0.0, graph)
    digits = objectives.resolve_objective("digits")
    ratios: dict[int, list[float]] = {}
    for index in range(trials):
        (document,) = hyperopt.rand.suggest([index], domain, hyperopt.Trials(), 1000 + index)
        vals = {k: v[0] for k, v in document["misc"]["vals"].items() if v}
        settings = objectives.TrialSettings(epochs=epochs, device="cpu", seed=index)
        result = objectives.run_trial(digits, hyperopt.space_eval(graph, vals), settings)
        cumulative = result.get("train_seconds_at_epoch") or []
        if result["status"] != "ok" or len(cumulative) != epochs:
            continue
        durations = np.diff([0.0, *cumulative])
        for epoch in range(1, epochs):
            left = cumulative[-1] - cumulative[epoch - 1]
            ratios.setdefault(epoch, []).append(
                left / ((epochs - epoch) * durations[:epoch].min()))
    print(f"# {trials} digits trials of {epochs} epochs; ratio = seconds of the epochs left / "
          "(epochs left x fastest epoch so far); margin needed = 1 - ratio")
    print("| from epoch | pairs | min | 0.1% | 1% | median |")
    print("|---|---|---|---|---|---|")
    for first in (1, 2, 3):
        values = [r for epoch, rs in ratios.items() if epoch >= first for r in rs]
        q = np.percentile(values, [0.1, 1, 50])
        print(f"| {first} | {len(values)} | {min(values):.3f} | {q[0]:.3f} | {q[1]:.3f} | "
              f"{q[2]:.3f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    run_parser = commands.add_parser("run", help="run searches, appending to --out")
    run_parser.add_argument("--families", nargs="+",
                            default=[*_curves.FAMILIES, "digits"])
    run_parser.add_argument("--half", choices=("tuning", "reporting"), default="reporting")
    run_parser.add_argument("--methods", nargs="+", help=f"of {method_names()}")
    run_parser.add_argument("--seeds", type=int, default=20)
    run_parser.add_argument("--in-flight", type=int, nargs="+", default=[1, 4])
    run_parser.add_argument("--trials", type=int, default=50, help="per unpruned search")
    run_parser.add_argument("--digits-trials", type=int, default=20)
    run_parser.add_argument("--out", type=Path, default=Path("pruning-runs.jsonl"))
    run_parser.add_argument("--shadow-only", action="store_true",
                            help="run the unpruned search only, with the methods as shadows")
    run_parser.add_argument("--kept-evidence", action="store_true",
                            help="each shadow pruner learns only from the trials as it would "
                                 "have left them (see Shadows)")
    report_parser = commands.add_parser("report", help="print the tables of runs")
    report_parser.add_argument("inputs", nargs="+", type=Path)
    paths_parser = commands.add_parser("paths", help="how good the proposed trials are")
    paths_parser.add_argument("--families", nargs="+", default=list(_curves.FAMILIES))
    paths_parser.add_argument("--half", choices=("tuning", "reporting"), default="reporting")
    paths_parser.add_argument("--methods", nargs="+", default=["ours/none-redraw", "ours/curve"])
    paths_parser.add_argument("--seeds", type=int, default=20)
    paths_parser.add_argument("--in-flight", type=int, default=4)
    paths_parser.add_argument("--trials", type=int, default=50, help="per unpruned search")
    margin_parser = commands.add_parser("measure-margin", help="digits per-epoch time noise")
    margin_parser.add_argument("--trials", type=int, default=80)
    margin_parser.add_argument("--epochs", type=int, default=20)
    arguments = parser.parse_args()
    if arguments.command == "paths" and arguments.trials <= 10:
        parser.error("paths scores the trials after the first 10: give --trials above 10")
    if arguments.command == "measure-margin" and arguments.epochs < 4:
        parser.error("measure-margin compares epochs 1-3 with those left: give --epochs 4 or more")
    if arguments.command == "run":
        run(arguments)
    elif arguments.command == "report":
        report(arguments.inputs)
    elif arguments.command == "paths":
        paths(arguments.families, arguments.half, arguments.seeds, arguments.in_flight,
              arguments.methods, arguments.trials)
    else:
        measure_margin(arguments.trials, arguments.epochs)


if __name__ == "__main__":
    main()
