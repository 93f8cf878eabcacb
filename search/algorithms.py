"""The proposal algorithms a search may use, by the name an experiment records.

One registry: the CLI's `--algo` choices, the check of a stored experiment and the driver's
proposals all read it. Each algorithm is a Hyperopt algo (`suggest(new_ids, domain, trials,
seed)`), built for the number of random startup trials; Hyperopt and our TPE load only when
one is built, so reading an experiment or `hpsearch --help` does not import them.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from hyperopt import Trials
    from hyperopt.base import Domain

Algo = Callable[[list[int], "Domain", "Trials", int], list[dict[str, Any]]]

DEFAULT_ALGO = "tpe"
# An experiment recorded before experiments recorded their algorithm ran Hyperopt's TPE.
ALGO_OF_OLD_EXPERIMENTS = "hyperopt-tpe"


@dataclasses.dataclass(frozen=True)
class Algorithm:
    """A named way of proposing trials."""

    name: str
    description: str
    build: Callable[[int], Algo]  # startup trials -> the Hyperopt algo


def _our_tpe(startup_trials: int) -> Algo:
    import search.tpe

    return functools.partial(search.tpe.suggest,
                             settings=search.tpe.Settings(n_startup_trials=startup_trials))


def _hyperopt_tpe(startup_trials: int) -> Algo:
    from hyperopt import tpe

    return functools.partial(tpe.suggest, n_startup_jobs=startup_trials, verbose=False)


def _anneal(startup_trials: int) -> Algo:
    from hyperopt import anneal

    return _after_random_startup(anneal.suggest, startup_trials)


def _random(startup_trials: int) -> Algo:
    from hyperopt import rand

    suggest: Algo = rand.suggest
    return suggest


def _after_random_startup(algo: Algo, startup_trials: int) -> Algo:
    """`algo`, with random proposals until the search holds `startup_trials` trials."""
    from hyperopt import rand

    def suggest(new_ids: list[int], domain: Domain, trials: Trials, seed: int
                ) -> list[dict[str, Any]]:
        chosen = rand.suggest if len(trials.trials) < startup_trials else algo
        proposals: list[dict[str, Any]] = chosen(new_ids, domain, trials, seed)
        return proposals
    return suggest


ALGORITHMS: dict[str, Algorithm] = {algorithm.name: algorithm for algorithm in (
    Algorithm("tpe", "ours: multivariate, counts running trials", _our_tpe),
    Algorithm("hyperopt-tpe", "Hyperopt's TPE", _hyperopt_tpe),
    Algorithm("anneal", "Hyperopt's annealing", _anneal),
    Algorithm("random", "random search", _random),
)}


class UnknownAlgorithm(ValueError):
    """A name that is not in ALGORITHMS."""


def algorithm(name: str) -> Algorithm:
    """The algorithm `name` names.

    Raises:
        UnknownAlgorithm: no such algorithm; the message lists the known ones.
    """
    if name not in ALGORITHMS:
        raise UnknownAlgorithm(f"unknown proposal algorithm {name!r}; known: "
                               f"{', '.join(ALGORITHMS)}")
    return ALGORITHMS[name]
