"""A multivariate, parallel-aware TPE for Hyperopt spaces: `suggest` is a Hyperopt algo.

    hyperopt.fmin(fn, space, algo=search.tpe.suggest, max_evals=50, trials=Trials())

Labels active together are modelled jointly (so a learning rate that should grow with the
batch size is learned), queued and running trials count as bad ones (a constant liar, so
parallel proposals spread out), and failed or below-floor trials are bad, never good. The
history is kept as arrays beside the `Trials` object and updated incrementally.
For other settings: `functools.partial(search.tpe.suggest, settings=Settings(gamma=0.2))`;
Hyperopt's own keywords (`n_startup_jobs`, `n_EI_candidates`, `prior_weight`, `gamma`,
`verbose`) are taken too, in Hyperopt's meaning, so a `partial` of `hyperopt.tpe.suggest`
keeps working when ours replaces it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from hyperopt import rand
from hyperopt.base import Domain, miscs_update_idxs_vals

from search.tpe._history import IGNORED, PENDING, history_for
from search.tpe._hyperopt_keywords import with_hyperopt_keywords
from search.tpe._parzen import Bandwidth
from search.tpe._sampler import Settings, propose
from search.tpe._space import SearchSpace

DEFAULT_SETTINGS = Settings()


def suggest(new_ids: Sequence[int], domain: Domain, trials: Any, seed: int,
            settings: Settings = DEFAULT_SETTINGS, *, prior_weight: float | None = None,
            n_startup_jobs: int | None = None, n_EI_candidates: int | None = None,
            gamma: float | None = None, verbose: bool = True) -> list[dict[str, Any]]:
    """New trial documents for `new_ids`, proposed by TPE from every trial in `trials`.

    Until the trials number `settings.n_startup_trials` the proposals are Hyperopt's random
    search with the same seed (the very draws `hyperopt.tpe` would make). The same seed and
    history give the same proposals. When several ids are asked for at once, each proposal
    counts the earlier ones as running.

    The keyword-only arguments are `hyperopt.tpe.suggest`'s, in its meaning (see
    `with_hyperopt_keywords`), and override `settings`; `verbose` changes nothing, as this
    TPE logs nothing per proposal.
    """
    settings = with_hyperopt_keywords(settings, prior_weight, n_startup_jobs, n_EI_candidates,
                                      gamma)
    history = history_for(trials, domain)
    space = history.space
    coordinates, losses, outcomes = history.coordinates, history.losses, history.outcomes
    known = int(np.count_nonzero(outcomes != IGNORED))
    startup_ids = list(new_ids[: max(0, settings.n_startup_trials - known)])
    documents = rand.suggest(startup_ids, domain, trials, seed) if startup_ids else []
    modelled_ids = list(new_ids[len(startup_ids):])
    if not modelled_ids:
        return documents
    for document in documents:
        vals = {label: values[0] for label, values in document["misc"]["vals"].items() if values}
        coordinates, losses, outcomes = _with_running(space, coordinates, losses, outcomes, vals)
    rng = np.random.default_rng(seed)
    for new_id in modelled_ids:
        chosen = propose(space, coordinates, losses, outcomes, settings, rng)
        idxs = {d.label: [new_id] if d.label in chosen else [] for d in space.dimensions}
        vals = {d.label: [chosen[d.label]] if d.label in chosen else [] for d in space.dimensions}
        misc = {"tid": new_id, "cmd": domain.cmd, "workdir": domain.workdir}
        miscs_update_idxs_vals([misc], idxs, vals)
        documents.extend(trials.new_trial_docs([new_id], [None], [domain.new_result()], [misc]))
        coordinates, losses, outcomes = _with_running(space, coordinates, losses, outcomes, chosen)
    return documents


def _with_running(space: SearchSpace, coordinates: np.ndarray, losses: np.ndarray,
                  outcomes: np.ndarray, chosen: dict[str, Any]) -> tuple[np.ndarray, ...]:
    """The history plus one running trial at `chosen` (the arrays are copied, not changed)."""
    row = np.array([d.coordinate(chosen[d.label]) if d.label in chosen else np.nan
                    for d in space.dimensions])
    return (np.vstack([coordinates, row]), np.append(losses, np.inf),
            np.append(outcomes, np.int8(PENDING)))


__all__ = ["Bandwidth", "DEFAULT_SETTINGS", "Settings", "suggest"]
