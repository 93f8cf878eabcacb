"""Does the configuration a search reports as best hold up? Ours with and without confirmation
runs, Optuna 5's default TPESampler and random search, at equal total trials (repeats
included), on noisy landscapes with an accuracy floor whose truth is known.

For each landscape, algorithm, budget and seed it takes the configuration the search reports
as best after that many trials and prints its *true* score (true mean accuracy / true mean
seconds, 0 when the true mean accuracy is below the floor: `_noisy_landscapes`), how often
that true mean is below the floor, and how many distinct configurations the search tried
(what confirmation costs). The baselines report their best single observation, as Optuna,
Hyperopt and today's `hpsearch best` do; with confirmation the search reports the best
configuration by pooled evidence (`search.configurations`).

- Synthetic training models over the `default` space (`<model>/low`, `/high`: the two ends of
  the measured noise; `/none`: noiseless, for the cost of confirmation).
- The LCBench surrogate on 8 OpenML tasks (`lcbench-<task>/mid`, `/none`).
- `digits` for real (`--landscapes digits`): one epoch of the built-in objective on this
  machine's CPU; the true score of a reported configuration is its mean over 10 fresh runs.

Common random numbers: for a given seed every algorithm starts from the same 10 random
trials and its n-th evaluation draws the same noise. Cases marked `chooses` chose the
settings; the others report them. Results are cached per (landscape, in flight, algorithm,
seed) in `--cache`, so an interrupted run resumes.

    nice -n 10 python benchmarks/confirmed_best.py --seeds 40 --cache /tmp/confirmed.jsonl
    python benchmarks/confirmed_best.py --landscapes digits --seeds 20 --in-flight 1
    python benchmarks/confirmed_best.py --algorithms confirm --settings '{"fraction": 0.2}'

Needs the `bench` extra (Optuna) and onnxruntime (the LCBench surrogate).
"""

from __future__ import annotations

import argparse
import collections
import dataclasses
import datetime
import hashlib
import json
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from hyperopt import rand  # noqa: E402

import search.tpe  # noqa: E402
from benchmarks import _algorithms, _noise, _noisy_landscapes  # noqa: E402
from benchmarks._confirming import ConfirmingSearch  # noqa: E402
from search.configurations import (  # noqa: E402
    DEFAULT_CONFIDENCE,
    DEFAULT_RANKING,
    RANKINGS,
    Confidence,
    configuration_key,
)
from search.confirmation import DISABLED, ConfirmationSettings  # noqa: E402

ALGORITHMS = ("confirm", "ours", "optuna", "random")
Params = dict[str, Any]


@dataclasses.dataclass(frozen=True)
class Report:
    """How a confirming search picks what it reports: a ranking and its confidence."""

    ranking: str = DEFAULT_RANKING
    confidence: Confidence = DEFAULT_CONFIDENCE

    @classmethod
    def parse(cls, text: str) -> Report:
        """`mean`, or `lower_bound:<score z>:<floor z>:<confirmed runs>` (`lower_bound`: the
        defaults)."""
        ranking, *numbers = text.split(":")
        if ranking not in RANKINGS or len(numbers) not in (0, 3):
            raise argparse.ArgumentTypeError(f"a report is 'mean' or 'lower_bound:Z:Z:RUNS', "
                                             f"not {text!r}")
        if numbers:
            return cls(ranking, Confidence(float(numbers[0]), float(numbers[1]),
                                           int(numbers[2])))
        return cls(ranking)

    def label(self) -> str:
        if self.ranking == "mean":
            return "mean"
        confidence = self.confidence
        return f"lb {confidence.score:g}/{confidence.floor:g}/{confidence.confirmed_runs}"


@dataclasses.dataclass(frozen=True)
class Variant:
    """What `confirm` runs: the schedule's settings, whether TPE pools, and the reports (the
    first is `confirm`; the others are printed as `confirm[label]`, from the same searches)."""

    settings: ConfirmationSettings
    pool_in_tpe: bool = True
    reports: tuple[Report, ...] = (Report(),)

    def label(self) -> str:
        text = json.dumps([self.settings.to_document(), self.pool_in_tpe,
                           [dataclasses.asdict(report) for report in self.reports]])
        return "confirm:" + hashlib.sha256(text.encode()).hexdigest()[:10]

    def names(self) -> list[str]:
        return ["confirm"] + [f"confirm[{report.label()}]" for report in self.reports[1:]]


def run_search(algorithm: str, landscape: Any, seed: int, budgets: list[int], in_flight: int,
               variant: Variant) -> dict[str, dict[str, Any]]:
    """One search of max(budgets) trials; for each way it reports (one, unless it confirms
    under several reports) and each budget, what it reports and how true that is."""
    graph = landscape.graph
    if algorithm == "optuna":
        inner: Any = _algorithms.OptunaAlgo(graph, seed,
                                            startup=_algorithms.startup_vals(graph, seed))
    else:
        suggest = rand.suggest if algorithm == "random" else search.tpe.suggest
        inner = _algorithms.HyperoptAlgo(suggest, graph, seed, _algorithms.startup_seeds(seed))
    confirming = algorithm == "confirm"
    searcher = ConfirmingSearch(inner, graph, landscape.floor,
                                variant.settings if confirming else DISABLED,
                                pool_in_tpe=confirming and variant.pool_in_tpe)
    running: collections.deque = collections.deque()
    finished: list[int] = []
    while len(finished) < max(budgets):
        while len(running) < in_flight and len(searcher.jobs) < max(budgets):
            running.append(searcher.ask()[0])
        tid = running.popleft()
        params = searcher.jobs[tid]["misc"]["params"]
        searcher.tell(tid, landscape.observe(params, seed, tid))
        finished.append(tid)
    outcomes: dict[str, dict[str, Any]] = {}
    names = variant.names() if confirming else [algorithm]
    for index, name in enumerate(names):
        outcome = outcomes[name] = {}
        for budget in budgets:
            tids = finished[:budget]
            if confirming:
                report = variant.reports[index]
                reported = searcher.reported(tids, report.ranking, report.confidence)
            else:
                reported = _best_observation(searcher, tids)
            score, below = landscape.true_score(reported) if reported is not None else (0.0,
                                                                                        True)
            outcome[str(budget)] = {
                "score": score, "below": below,
                "configurations": len({configuration_key(searcher.trials[tid])
                                       for tid in tids}),
                "repeats": sum("repeat_of" in searcher.jobs[tid] for tid in tids)}
    return outcomes


def _best_observation(searcher: ConfirmingSearch, tids: list[int]) -> Params | None:
    """The single run with the lowest loss (the earliest of equals), as a baseline reports."""
    scored = [tid for tid in tids if searcher.trials[tid].loss is not None]
    if not scored:
        return None
    best = min(scored, key=lambda tid: (searcher.trials[tid].loss, tid))
    return searcher.trials[best].params


class DigitsLandscape:
    """`digits` for real: each run trains; the truth is the mean of 10 fresh runs."""

    name = "digits"
    chooses = False

    def __init__(self, epochs: int, floor: float, truth_runs: int = 10) -> None:
        import objectives
        import spaces

        objectives.configure_cpu_threads(1)
        self._objectives = objectives
        self._objective = objectives.resolve_objective("digits")
        self.graph = spaces.load_space("default").graph
        self.epochs, self.floor, self.truth_runs = epochs, floor, truth_runs
        self._truths: dict[str, tuple[float, bool]] = {}

    def _run(self, params: Params, seed: int) -> dict[str, Any]:
        settings = self._objectives.TrialSettings(epochs=self.epochs, device="cpu",
                                                  min_accuracy=self.floor, seed=seed)
        result: dict[str, Any] = self._objectives.run_trial(self._objective, params, settings)
        return result

    def observe(self, params: Params, seed: int, evaluation: int) -> dict[str, Any]:
        return self._run(params, seed * 1000 + evaluation)

    def true_score(self, params: Params) -> tuple[float, bool]:
        key = json.dumps(params, sort_keys=True, default=str)
        if key not in self._truths:
            runs = [self._run(params, 10**7 + index) for index in range(self.truth_runs)]
            accuracies = [run["accuracy"] or 0.0 if run["status"] == "ok" else 0.0
                          for run in runs]
            seconds = [run.get("train_seconds") or 0.0 for run in runs]
            accuracy, mean_seconds = float(np.mean(accuracies)), float(np.mean(seconds))
            below = accuracy < self.floor or mean_seconds <= 0
            self._truths[key] = (0.0 if below else accuracy / mean_seconds, below)
        return self._truths[key]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    every = _noisy_landscapes.landscapes()
    noisy = [name for name in every if not name.endswith("/none")]
    parser.add_argument("--landscapes", nargs="+", default=noisy,
                        help=f"of {', '.join(every)} and digits; or 'choosing', 'reporting', "
                             "'noiseless'")
    parser.add_argument("--algorithms", nargs="+", default=list(ALGORITHMS), choices=ALGORITHMS)
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--first-seed", type=int, default=0)
    parser.add_argument("--budgets", type=int, nargs="+", default=[50, 100])
    parser.add_argument("--in-flight", type=int, nargs="+", default=[1])
    parser.add_argument("--settings", type=json.loads, default={},
                        help="confirmation settings as JSON, e.g. '{\"fraction\": 0.2}'")
    parser.add_argument("--reports", type=Report.parse, nargs="+", default=[Report()],
                        help="how confirm reports: 'mean', 'lower_bound' (the defaults) or "
                             "'lower_bound:Z:Z:RUNS' (score z, floor z, runs that confirm); "
                             "the first is 'confirm', the others extra rows")
    parser.add_argument("--no-tpe-pooling", action="store_true",
                        help="TPE sees only each configuration's first run")
    parser.add_argument("--epochs", type=int, default=1, help="digits only")
    parser.add_argument("--digits-floor", type=float, default=0.9, help="digits only")
    parser.add_argument("--cache", type=Path, help="JSON lines of finished runs, to resume")
    arguments = parser.parse_args()
    variant = Variant(ConfirmationSettings(**arguments.settings),
                      not arguments.no_tpe_pooling, tuple(arguments.reports))
    names = _expand(arguments.landscapes, every)
    cache = _read_cache(arguments.cache)

    print(f"# confirmed_best {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC, "
          f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs; "
          f"{' '.join(sys.argv[1:])}")
    print(f"# confirm: {variant.settings}, TPE pooling {variant.pool_in_tpe}, reports "
          f"{', '.join(report.label() for report in variant.reports)} ({variant.label()})",
          flush=True)
    _print_noise_levels(every)
    summary = []
    for name in names:
        landscape: Any = (DigitsLandscape(arguments.epochs, arguments.digits_floor)
                          if name == "digits" else every[name])
        # digits' runs depend on its options too: a cache must not hand one's to the other
        identity = (name if name != "digits" else
                    f"digits/epochs={arguments.epochs}/floor={arguments.digits_floor:g}")
        for in_flight in arguments.in_flight:
            started = time.monotonic()
            outcomes: dict[str, list[dict[str, Any]]] = {}
            for seed in range(arguments.first_seed, arguments.first_seed + arguments.seeds):
                for algorithm in arguments.algorithms:
                    label = variant.label() if algorithm == "confirm" else algorithm
                    key = json.dumps([identity, in_flight, label, seed, arguments.budgets])
                    if key not in cache:
                        cache[key] = run_search(algorithm, landscape, seed, arguments.budgets,
                                                in_flight, variant)
                        _append_cache(arguments.cache, key, cache[key])
                    for report, outcome in cache[key].items():
                        outcomes.setdefault(report, []).append(outcome)
            summary.extend(_print_table(name, landscape.chooses, in_flight, outcomes,
                                        arguments.budgets, time.monotonic() - started))
    _print_summary(summary, arguments.budgets)


def _expand(requested: list[str], every: dict[str, Any]) -> list[str]:
    noisy = {name: landscape for name, landscape in every.items()
             if not name.endswith("/none")}
    groups = {"choosing": [name for name, landscape in noisy.items() if landscape.chooses],
              "reporting": [name for name, landscape in noisy.items() if not landscape.chooses],
              "noiseless": [name for name in every if name not in noisy]}
    names: list[str] = []
    for name in requested:
        for expanded in groups.get(name, [name]):
            if expanded != "digits" and expanded not in every:
                raise SystemExit(f"unknown landscape {expanded!r}; known: {', '.join(every)}, "
                                 "digits, choosing, reporting, noiseless")
            names.append(expanded)
    return names


def _read_cache(path: Path | None) -> dict[str, Any]:
    if path is None or not path.exists():
        return {}
    lines = (json.loads(line) for line in path.read_text().splitlines() if line.strip())
    return {line["key"]: line["outcome"] for line in lines}


def _append_cache(path: Path | None, key: str, outcome: dict[str, Any]) -> None:
    if path is not None:
        with path.open("a") as file:
            file.write(json.dumps({"key": key, "outcome": outcome}) + "\n")


def _print_noise_levels(every: dict[str, Any]) -> None:
    model = _noisy_landscapes.landscapes()["linear/low"]
    from hyperopt import Trials
    from hyperopt.base import Domain
    from hyperopt.fmin import space_eval

    documents = rand.suggest(list(range(2000)), Domain(lambda params: 0.0, model.graph),
                             Trials(), 1)
    params = [space_eval(model.graph, _algorithms._vals(document)) for document in documents]
    configurations = [(*model.truth(p), p) for p in params]
    for label, noise in (("low", _noise.LOW), ("mid", _noisy_landscapes.MID),
                         ("high", _noise.HIGH)):
        levels = _noise.measured_levels(noise, configurations)
        print(f"# noise {label}: change between two seeds, accuracy median "
              f"{levels['accuracy_median']:.4f} p90 {levels['accuracy_p90']:.4f}; time median "
              f"{levels['time_median']:.1%} p90 {levels['time_p90']:.1%}")


def _print_table(name: str, chooses: bool, in_flight: int,
                 outcomes: dict[str, list[dict[str, Any]]], budgets: list[int],
                 seconds: float) -> list[dict[str, Any]]:
    role = "chooses" if chooses else "reports"
    print(f"\n## {name} ({role}), {in_flight} in flight, {len(next(iter(outcomes.values())))} "
          f"seeds ({seconds:.0f} s)")
    print(f"{'algorithm':<18}" + "".join(
        f"{f'true score @{b} median [q1, q3]':>36}{'below':>7}{'configs':>8}" for b in budgets))
    for algorithm, runs in outcomes.items():
        cells = []
        for budget in budgets:
            scores = [run[str(budget)]["score"] for run in runs]
            q1, median, q3 = np.percentile(scores, [25, 50, 75])
            below = np.mean([run[str(budget)]["below"] for run in runs])
            configurations = np.median([run[str(budget)]["configurations"] for run in runs])
            cells.append(f"{median:>15.4g} [{q1:.4g}, {q3:.4g}]".rjust(36)
                         + f"{below:>7.0%}{configurations:>8.0f}")
        print(f"{algorithm:<18}" + "".join(cells))
    rows = []
    if "confirm" in outcomes:
        for other in ("ours", "optuna"):
            if other not in outcomes:
                continue
            parts = []
            for budget in budgets:
                ours = [run[str(budget)]["score"] for run in outcomes["confirm"]]
                theirs = [run[str(budget)]["score"] for run in outcomes[other]]
                ratio = _ratio(float(np.median(ours)), float(np.median(theirs)))
                ahead = np.mean([a >= b for a, b in zip(ours, theirs, strict=True)])
                parts.append(f"@{budget}: {ratio:.2f}x (at least as good in {ahead:.0%})")
                rows.append({"landscape": name, "chooses": chooses, "in_flight": in_flight,
                             "other": other, "budget": budget, "ratio": ratio,
                             "below": float(np.mean([run[str(budget)]["below"]
                                                     for run in outcomes["confirm"]]))})
            print(f"confirm / {other}: " + ", ".join(parts) + "  (median true scores)")
    return rows


def _ratio(ours: float, theirs: float) -> float:
    if theirs <= 0:
        return float("inf") if ours > 0 else 1.0
    return ours / theirs


def _print_summary(rows: list[dict[str, Any]], budgets: list[int]) -> None:
    if not rows:
        return
    print("\n## Summary: confirm's median true score over the other's, and confirm's share "
          "of seeds whose reported best is truly below the floor")
    for chooses in (True, False):
        selected = [row for row in rows if row["chooses"] == chooses]
        if not selected:
            continue
        print(f"### cases that {'chose' if chooses else 'did not choose'} the settings")
        keys = sorted({(row["landscape"], row["in_flight"]) for row in selected})
        for landscape, in_flight in keys:
            cells = []
            for budget in budgets:
                found = {row["other"]: row for row in selected if row["landscape"] == landscape
                         and row["in_flight"] == in_flight and row["budget"] == budget}
                ratios = " ".join(f"{other} {row['ratio']:.2f}x" for other, row in found.items())
                below = next(iter(found.values()))["below"] if found else float("nan")
                cells.append(f"@{budget}: {ratios}, below {below:.0%}")
            print(f"{landscape:<22} {in_flight} in flight  " + "; ".join(cells))


if __name__ == "__main__":
    main()
