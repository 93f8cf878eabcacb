"""Hyperopt's keyword arguments to `hyperopt.tpe.suggest`, read into our settings.

A Hyperopt user swaps `hyperopt.tpe.suggest` for ours and keeps the
`functools.partial(..., n_startup_jobs=10)` they had: each keyword means here what it means
there, so the swap changes the model, not the choices the user made.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from search.tpe._sampler import Settings


def with_hyperopt_keywords(settings: Settings, prior_weight: float | None,
                           n_startup_jobs: int | None, n_ei_candidates: int | None,
                           gamma: float | None) -> Settings:
    """`settings` with the keywords given (None: not given) in Hyperopt's meaning.

    `gamma` is Hyperopt's: the good trials number ceil(gamma sqrt(n)), at most 25 (its
    `linear_forgetting` cap), not our fraction of n.

    Raises:
        ValueError: a value no TPE models by: a negative count, gamma or prior weight, or one
            that is not finite.
    """
    changes: dict[str, Any] = {}
    if prior_weight is not None:
        changes["prior_weight"] = float(prior_weight)
    if n_startup_jobs is not None:
        changes["n_startup_trials"] = int(n_startup_jobs)
    if n_ei_candidates is not None:
        changes["n_ei_candidates"] = int(n_ei_candidates)
    if gamma is not None:
        changes.update(gamma=float(gamma), split="sqrt", max_good=25)
    return dataclasses.replace(settings, **changes) if changes else settings
