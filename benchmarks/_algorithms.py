"""Proposal algorithms behind one ask/tell interface, for the search benchmarks.

Hyperopt algos (ours, Hyperopt's TPE, anneal, random) propose into a `Trials` object exactly
as `fmin` and our driver do: a proposed trial stays RUNNING in the trials until it is told,
so algorithms that look at running trials see them. Optuna's TPESampler gets the same space
translated into its define-by-run calls (`optuna` is the `bench` extra).

Common random numbers: for a given seed, every algorithm in `ALGORITHMS` starts from the same
`STARTUP_TRIALS` random trials (Hyperopt's random search with seeds drawn from that seed; Optuna
gets them through `study.enqueue_trial`), so differences between algorithms measure how they
model the history, not the luck of their startup draws. With `COMMON_STARTUP` off (the
benchmarks' `--own-startup`), each algorithm draws its own, as a user's search does: that
measures how each one starts too.
"""

from __future__ import annotations

import functools
import importlib
import math
import subprocess
import sys
import tempfile
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from hyperopt import JOB_STATE_DONE, JOB_STATE_RUNNING, Trials, anneal, rand, tpe
from hyperopt.base import Domain

import search.tpe
from search.tpe._space import read_space

Vals = dict[str, Any]  # label -> value as Hyperopt stores it (a choice as its index)
STARTUP_TRIALS = 10
COMMON_STARTUP = True  # read whenever a run starts, so a benchmark may turn it off first


def startup_seeds(seed: int) -> list[int]:
    """The seeds of Hyperopt's random search for the common startup trials of run `seed`."""
    rng = np.random.default_rng([seed, STARTUP_TRIALS])
    return [int(value) for value in rng.integers(2**31 - 1, size=STARTUP_TRIALS)]


def startup_vals(space_graph: Any, seed: int) -> list[Vals]:
    """The common startup trials of run `seed`, as Hyperopt stores their values (none with
    `COMMON_STARTUP` off)."""
    if not COMMON_STARTUP:
        return []
    domain = Domain(lambda params: 0.0, space_graph)
    return [_vals(rand.suggest([tid], domain, Trials(), startup_seed)[0])
            for tid, startup_seed in enumerate(startup_seeds(seed))]


def _vals(document: dict[str, Any]) -> Vals:
    return {label: values[0] for label, values in document["misc"]["vals"].items() if values}


class HyperoptAlgo:
    """Any `suggest(new_ids, domain, trials, seed)`, asked one trial at a time; the first
    trials come from Hyperopt's random search with `startup` seeds, when given."""

    def __init__(self, suggest: Callable, space_graph: Any, seed: int,
                 startup: list[int] | None = None) -> None:
        self.suggest = suggest
        self._domain = Domain(lambda params: 0.0, space_graph)
        self._rng = np.random.default_rng(seed)
        self._startup = startup or []
        self.trials = Trials()

    def ask(self) -> tuple[int, Vals]:
        tid = len(self.trials._dynamic_trials)
        seed = int(self._rng.integers(2**31 - 1))  # drawn on every ask: same later seeds
        if tid < len(self._startup):
            (document,) = rand.suggest([tid], self._domain, self.trials, self._startup[tid])
        else:
            (document,) = self.suggest([tid], self._domain, self.trials, seed)
        document["state"] = JOB_STATE_RUNNING
        self.trials.insert_trial_docs([document])
        self.trials.refresh()
        return tid, _vals(document)

    def tell(self, tid: int, result: dict[str, Any]) -> None:
        document = self.trials._dynamic_trials[tid]
        document["result"] = result
        document["state"] = JOB_STATE_DONE
        self.trials.refresh()


class OptunaAlgo:
    """Optuna's TPESampler (its defaults unless `sampler` is given) over a Hyperopt space;
    the `startup` trials, when given, are enqueued to be asked first. With `constrained`, the
    sampler also gets `constraints_func`: a trial below the accuracy floor is infeasible by
    how far its accuracy falls short (its `min_accuracy - accuracy`)."""

    def __init__(self, space_graph: Any, seed: int, sampler: Any = None,
                 study: Any = None, startup: list[Vals] | None = None,
                 constrained: bool = False) -> None:
        import optuna

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        self._optuna = optuna
        self._space = read_space(Domain(lambda params: 0.0, space_graph))
        if constrained:
            with warnings.catch_warnings():  # constraints_func is deprecated in Optuna 5
                warnings.simplefilter("ignore", FutureWarning)
                sampler = optuna.samplers.TPESampler(seed=seed, constraints_func=_floor_violation)
        sampler = sampler or optuna.samplers.TPESampler(seed=seed)
        self.study = study or optuna.create_study(sampler=sampler)
        self._running: dict[int, Any] = {}
        for vals in startup or []:
            self.study.enqueue_trial(vals)

    def ask(self) -> tuple[int, Vals]:
        trial = self.study.ask()
        vals: Vals = {}
        for group in self._space.groups:
            if group.active(vals):
                for dimension in group.dimensions:
                    vals[dimension.label] = _optuna_value(trial, dimension)
        self._running[trial.number] = trial
        return trial.number, vals

    def running_trial(self, tid: int) -> Any:
        """The Optuna trial behind a running `tid` (its pruner reads what is reported to it)."""
        return self._running[tid]

    def tell(self, tid: int, result: dict[str, Any]) -> None:
        trial = self._running.pop(tid)
        if result.get("accuracy") is not None and result.get("min_accuracy") is not None:
            trial.set_user_attr("floor_violation", result["min_accuracy"] - result["accuracy"])
        loss = result.get("loss")
        if result.get("pruned"):
            self.study.tell(trial, state=self._optuna.trial.TrialState.PRUNED)
        elif result.get("status") != "ok" or loss is None or not math.isfinite(loss):
            self.study.tell(trial, state=self._optuna.trial.TrialState.FAIL)
        else:
            self.study.tell(trial, loss)


def _floor_violation(trial: Any) -> list[float]:
    return [trial.user_attrs.get("floor_violation", 0.0)]


def _optuna_value(trial: Any, dimension: Any) -> Any:
    label = dimension.label
    if dimension.kind == "randint":  # an integer range, ordered: Optuna's suggest_int
        return trial.suggest_int(label, dimension.offset, dimension.offset + dimension.choices - 1)
    if dimension.categorical:
        return trial.suggest_categorical(label, list(range(dimension.offset,
                                                           dimension.offset + dimension.choices)))
    if not dimension.bounded:
        raise ValueError(f"the Optuna adapter has no normal distributions ({label!r})")
    low, high = (math.exp(dimension.low), math.exp(dimension.high)) if dimension.log else (
        dimension.low, dimension.high)
    if dimension.q is None:
        return trial.suggest_float(label, low, high, log=dimension.log)
    q = dimension.q
    if dimension.log:  # Optuna has no quantized log floats: round its draw as Hyperopt would,
        # over bounds that hold Hyperopt's rounded values (the startup trials are those)
        low, high = min(low, q * round(low / q)) or low, max(high, q * round(high / q))
        return round(trial.suggest_float(label, low, high, log=True) / q) * q
    return trial.suggest_float(label, q * round(low / q + 1e-9), q * round(high / q - 1e-9), step=q)


def commit_of(ref: str) -> str:
    """The commit a git `ref` names now (its full hash)."""
    root = Path(__file__).resolve().parents[1]
    return subprocess.run(["git", "rev-parse", f"{ref}^{{commit}}"], cwd=root,
                          check=True, capture_output=True, text=True).stdout.strip()


def suggest_at(ref: str) -> Callable:
    """Our `suggest` as it was at git `ref`, loaded under another module name, so a benchmark
    can run it beside today's (nothing of it is written into the repository)."""
    root = Path(__file__).resolve().parents[1]
    package = Path(tempfile.mkdtemp(prefix="tpe-at-")) / "tpe_at_ref"
    package.mkdir()
    listing = subprocess.run(["git", "ls-tree", "--name-only", f"{ref}:search/tpe"], cwd=root,
                             check=True, capture_output=True, text=True).stdout.split()
    for name in listing:
        if name.endswith(".py"):
            text = subprocess.run(["git", "show", f"{ref}:search/tpe/{name}"], cwd=root,
                                  check=True, capture_output=True, text=True).stdout
            (package / name).write_text(text.replace("search.tpe", "tpe_at_ref"))
    sys.path.insert(0, str(package.parent))
    module = importlib.import_module("tpe_at_ref")
    return module.suggest


def hyperopt_algo(suggest: Callable) -> Callable[[Any, int], HyperoptAlgo]:
    """A factory of `suggest` runs that start from the common startup trials (or, with
    `COMMON_STARTUP` off, from their own)."""
    return lambda graph, seed: HyperoptAlgo(suggest, graph, seed,
                                            startup_seeds(seed) if COMMON_STARTUP else None)


ALGORITHMS: dict[str, Callable[[Any, int], Any]] = {
    "ours": hyperopt_algo(search.tpe.suggest),
    "hyperopt-tpe": hyperopt_algo(functools.partial(tpe.suggest, n_startup_jobs=STARTUP_TRIALS)),
    "anneal": hyperopt_algo(anneal.suggest),
    "random": hyperopt_algo(rand.suggest),
    "optuna": lambda graph, seed: OptunaAlgo(graph, seed, startup=startup_vals(graph, seed)),
    "optuna-constrained": lambda graph, seed: OptunaAlgo(
        graph, seed, startup=startup_vals(graph, seed), constrained=True),
}
