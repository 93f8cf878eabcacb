"""TPE proposals: Hyperopt's own algorithm, fed with the jobs a store holds.

This is the step `hyperopt.fmin` performs on each turn of its loop (`tpe.suggest` over a
`Trials` object); the driver calls it directly because the jobs live in our stores, not in
an in-memory `Trials`.
"""

from __future__ import annotations

from typing import Any, Iterable

import numpy as np
from hyperopt import Trials, tpe
from hyperopt.base import Domain

import objectives
from search.documents import JobDoc, unstorable_reason, utcnow
from search.farm.params import params_for


class Proposer:
    """Proposes one new job at a time for one experiment."""

    def __init__(self, exp_key: str, space_graph: Any, seed: int, startup_trials: int) -> None:
        self._exp_key = exp_key
        self._space_graph = space_graph
        self._domain = Domain(_never_called, space_graph)
        self._seed = seed
        self._startup_trials = startup_trials

    def propose(self, tid: int, known_jobs: Iterable[JobDoc]) -> JobDoc:
        """A new job for `tid`, chosen by TPE from every known job.

        Queued and running jobs count as unfinished (TPE gives them an infinite loss, which
        keeps parallel proposals apart); failed jobs count as failures, never as good scores.
        The random state depends only on the search seed and the tid, so a resumed or
        repeated search proposes from the same stream.
        """
        trials = Trials(exp_key=self._exp_key, refresh=False)
        trials._insert_trial_docs([_hyperopt_view(job) for job in known_jobs])
        trials.refresh()
        seed = int(np.random.SeedSequence([self._seed, tid]).generate_state(1)[0] % (2**31 - 1))
        (doc,) = tpe.suggest(
            [tid], self._domain, trials, seed, n_startup_jobs=self._startup_trials, verbose=False
        )
        doc = objectives.plain_data(doc, "proposal")
        doc["misc"]["params"] = _storable_params(doc, self._space_graph)
        doc.update(attempt=0, version=0, created=utcnow())
        return doc


def _storable_params(doc: JobDoc, space_graph: Any) -> dict[str, Any]:
    """The proposal's params for queries, or none when the database cannot store them (a space
    constant beyond 64 bits, say): the worker then fails the trial and says why."""
    try:
        params = params_for(doc, space_graph)
    except (TypeError, ValueError):
        return {}
    return params if unstorable_reason({"params": params}) is None else {}


def _hyperopt_view(job: JobDoc) -> JobDoc:
    """The fields Hyperopt's Trials expects, whatever our store added. Shallow: TPE only
    reads the documents, and copying every job deeply made each proposal O(trials) copies."""
    view = {key: job[key] for key in ("tid", "spec", "result", "misc", "state", "exp_key")}
    view.update(owner=None, version=0, book_time=None, refresh_time=None)
    return view


def _never_called(params: Any) -> None:
    raise AssertionError("the driver never evaluates the domain; workers run the objective")
