"""Proposal algorithms behind one ask/tell interface, for the search benchmarks.

Hyperopt algos (ours, Hyperopt's TPE, anneal, random) propose into a `Trials` object exactly
as `fmin` and our driver do: a proposed trial stays RUNNING in the trials until it is told,
so algorithms that look at running trials see them. Optuna's TPESampler gets the same space
translated into its define-by-run calls (`optuna` is the `bench` extra).

Common random numbers: for a given seed, every algorithm in `ALGORITHMS` starts from the same
`STARTUP_TRIALS` random trials (Hyperopt's random search with seeds drawn from that seed; Optuna
gets them through `study.enqueue_trial`), so differences between algorithms measure how they
model the history, not the luck of their startup draws.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from typing import Any

import numpy as np
from hyperopt import JOB_STATE_DONE, JOB_STATE_RUNNING, Trials, anneal, rand, tpe
from hyperopt.base import Domain

import search.tpe
from search.tpe._space import read_space

Vals = dict[str, Any]  # label -> value as Hyperopt stores it (a choice as its index)
STARTUP_TRIALS = 10


def startup_seeds(seed: int) -> list[int]:
    """The seeds of Hyperopt's random search for the common startup trials of run `seed`."""
    rng = np.random.default_rng([seed, STARTUP_TRIALS])
    return [int(value) for value in rng.integers(2**31 - 1, size=STARTUP_TRIALS)]


def startup_vals(space_graph: Any, seed: int) -> list[Vals]:
    """The common startup trials of run `seed`, as Hyperopt stores their values."""
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
    the `startup` trials, when given, are enqueued to be asked first."""

    def __init__(self, space_graph: Any, seed: int, sampler: Any = None,
                 study: Any = None, startup: list[Vals] | None = None) -> None:
        import optuna

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        self._optuna = optuna
        self._space = read_space(Domain(lambda params: 0.0, space_graph))
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
        loss = result.get("loss")
        if result.get("pruned"):
            self.study.tell(trial, state=self._optuna.trial.TrialState.PRUNED)
        elif result.get("status") != "ok" or loss is None or not math.isfinite(loss):
            self.study.tell(trial, state=self._optuna.trial.TrialState.FAIL)
        else:
            self.study.tell(trial, loss)


def _optuna_value(trial: Any, dimension: Any) -> Any:
    label = dimension.label
    if dimension.categorical:
        return trial.suggest_categorical(label, list(range(dimension.offset,
                                                           dimension.offset + dimension.choices)))
    if not dimension.bounded:
        raise ValueError(f"the Optuna adapter has no normal distributions ({label!r})")
    low, high = (math.exp(dimension.low), math.exp(dimension.high)) if dimension.log else (
        dimension.low, dimension.high)
    if dimension.q is None:
        return trial.suggest_float(label, low, high, log=dimension.log)
    if dimension.log:  # Optuna has no quantized log floats: round its draw as Hyperopt would
        return round(trial.suggest_float(label, low, high, log=True) / dimension.q) * dimension.q
    q = dimension.q
    return trial.suggest_float(label, q * round(low / q + 1e-9), q * round(high / q - 1e-9), step=q)


def hyperopt_algo(suggest: Callable) -> Callable[[Any, int], HyperoptAlgo]:
    """A factory of `suggest` runs that start from the common startup trials."""
    return lambda graph, seed: HyperoptAlgo(suggest, graph, seed, startup_seeds(seed))


ALGORITHMS: dict[str, Callable[[Any, int], Any]] = {
    "ours": hyperopt_algo(search.tpe.suggest),
    "hyperopt-tpe": hyperopt_algo(functools.partial(tpe.suggest, n_startup_jobs=STARTUP_TRIALS)),
    "anneal": hyperopt_algo(anneal.suggest),
    "random": hyperopt_algo(rand.suggest),
    "optuna": lambda graph, seed: OptunaAlgo(graph, seed, startup=startup_vals(graph, seed)),
}
