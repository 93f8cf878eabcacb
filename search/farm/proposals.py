"""Proposals: a Hyperopt algo (ours by default), fed with the jobs a store holds.

This is the step `hyperopt.fmin` performs on each turn of its loop (`algo(new_ids, domain,
trials, seed)` over a `Trials` object); the driver calls it directly because the jobs live in
our stores. One `Trials` is kept for the whole search, and the driver hands the Proposer only
the jobs that changed: a new job is appended to it and a changed one updated in place, so a
proposal costs the algorithm's own work and nothing per trial that did not change (Hyperopt's
`Trials.refresh`, a pass over every trial, runs only if a job leaves Hyperopt's valid states).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
from hyperopt import Trials
from hyperopt.base import JOB_VALID_STATES, Domain

import objectives
from search.algorithms import DEFAULT_ALGO, algorithm
from search.documents import JobDoc, unstorable_reason, utcnow
from search.farm.params import params_for


class Proposer:
    """Proposes one new job at a time for one experiment, from the jobs it was told of."""

    def __init__(self, exp_key: str, space_graph: Any, seed: int, startup_trials: int,
                 algo: str = DEFAULT_ALGO) -> None:
        self._space_graph = space_graph
        self._domain = Domain(_never_called, space_graph)
        self._seed = seed
        self._suggest = algorithm(algo).build(startup_trials)
        self._trials = Trials(exp_key=exp_key)
        self._views: dict[int, JobDoc] = {}
        self._stale = False  # a view left Hyperopt's valid states: refresh before proposing

    def record(self, jobs: Iterable[JobDoc]) -> None:
        """Take in jobs that are new or changed; the others stay as they were told.

        Queued and running jobs count as running (ours treats them as bad trials, which keeps
        parallel proposals apart); failed jobs count as failures, never as good scores.
        """
        for job in jobs:
            view = _hyperopt_view(job)
            known = self._views.get(job["tid"])
            if known is not None:
                known.update(view)
            else:
                self._views[job["tid"]] = view
                self._trials._dynamic_trials.append(view)
                self._trials._trials.append(view)
                self._trials._ids.add(job["tid"])
            self._stale |= view["state"] not in JOB_VALID_STATES

    def propose(self, tid: int) -> JobDoc:
        """A new job for `tid`, chosen by the algorithm from every job recorded; it counts as
        queued in the proposals that follow.

        The random state depends only on the search seed and the tid, so a resumed or
        repeated search proposes from the same stream.
        """
        if self._stale:
            self._trials.refresh()
            self._stale = False
        seed = int(np.random.SeedSequence([self._seed, tid]).generate_state(1)[0] % (2**31 - 1))
        (doc,) = self._suggest([tid], self._domain, self._trials, seed)
        doc = objectives.plain_data(doc, "proposal")
        doc["misc"]["params"] = _storable_params(doc, self._space_graph)
        doc.update(attempt=0, version=0, created=utcnow())
        self.record([doc])
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
    """The fields Hyperopt's Trials expects, whatever our store added. Shallow: the algos
    only read the documents, and copying every job deeply made each proposal O(trials)."""
    view = {key: job[key] for key in ("tid", "spec", "result", "misc", "state", "exp_key")}
    view.update(owner=None, version=0, book_time=None, refresh_time=None)
    return view


def _never_called(params: Any) -> None:
    raise AssertionError("the driver never evaluates the domain; workers run the objective")
