"""Our TPE with the confirmation schedule, behind the ask/tell interface of `_algorithms`, and
the configuration each search reports as best.

`ConfirmingSearch` keeps the search's trials as job documents and their standings, as the
driver does: before each new trial it asks `search.confirmation.next_repeat` whether to run a
leading configuration
again; a repeat copies the original's values, gets its own tid (and so its own noise draw)
and links to the original with `repeat_of`. Otherwise the inner algorithm proposes.

TPE sees pooled evidence: the inner algorithm holds one trial per configuration, and each run
that finishes re-tells that trial the configuration's pooled result (mean accuracy / mean
seconds, below the floor by mean accuracy), so repeats sharpen one point instead of piling
several on one spot. With `pool_in_tpe=False` the inner algorithm sees only the first run.
"""

from __future__ import annotations

from typing import Any

import hyperopt

from benchmarks._algorithms import Vals
from search.configurations import Confidence, Configuration, configuration_key, pool, rank
from search.confirmation import (
    DISABLED,
    REPEAT_OF,
    ConfirmationSettings,
    next_repeat_from,
    standings,
)
from search.documents import JOB_STATE_DONE, JOB_STATE_RUNNING
from search.trial import Trial

Params = dict[str, Any]


class ConfirmingSearch:
    """An ask/tell algorithm (`inner`) with confirmation runs scheduled around it."""

    def __init__(self, inner: Any, space_graph: Any, min_accuracy: float,
                 settings: ConfirmationSettings = DISABLED, pool_in_tpe: bool = True) -> None:
        self.inner = inner
        self.min_accuracy = min_accuracy
        self.settings = settings
        self.pool_in_tpe = pool_in_tpe
        self._graph = space_graph
        self.jobs: list[dict[str, Any]] = []
        self.trials: list[Trial] = []
        self._standings = standings((), min_accuracy)
        self._vals: list[Vals] = []
        self._keys: list[str] = []
        self._inner_tid: dict[int, int] = {}  # tid of a proposed (not repeated) trial -> inner

    def ask(self) -> tuple[int, Vals]:
        tid = len(self.jobs)
        repeat = next_repeat_from(self._standings, self.settings)
        job: dict[str, Any] = {"tid": tid, "state": JOB_STATE_RUNNING}
        if repeat is not None:
            vals = self._vals[repeat.tid]
            job[REPEAT_OF] = repeat.tid
        else:
            self._inner_tid[tid], vals = self.inner.ask()
        job["misc"] = {"vals": {label: [value] for label, value in vals.items()},
                       "params": hyperopt.space_eval(self._graph, vals)}
        self.jobs.append(job)
        self._vals.append(vals)
        self.trials.append(Trial.from_job(job))
        self._standings.update(self.trials[tid])
        self._keys.append(configuration_key(self.trials[tid]))
        return tid, vals

    def tell(self, tid: int, result: dict[str, Any]) -> None:
        job = self.jobs[tid]
        job.update(state=JOB_STATE_DONE, result=result)
        self.trials[tid] = Trial.from_job(job)
        self._standings.update(self.trials[tid])
        if not self.pool_in_tpe:
            if tid in self._inner_tid:
                self.inner.tell(self._inner_tid[tid], result)
            return
        runs = [trial for trial, key in zip(self.trials, self._keys, strict=True)
                if key == self._keys[tid]]
        (configuration,) = pool(runs, self.min_accuracy)
        told = pooled_result(configuration) or result
        for run in runs:  # every proposed run of it that has finished, this one included
            if run.tid in self._inner_tid and run.state != "running":
                self.inner.tell(self._inner_tid[run.tid], told)

    def reported(self, finished_tids: list[int], ranking: str,
                 confidence: Confidence) -> Params | None:
        """The best configuration's params by `ranking`, from the runs in `finished_tids`."""
        trials = [self.trials[tid] for tid in finished_tids]
        ranked = rank(pool(trials, self.min_accuracy, confidence=confidence), ranking,
                      confidence)
        return ranked[0].params if ranked else None


def pooled_result(configuration: Configuration) -> dict[str, Any] | None:
    """The result TPE is told for a configuration: its pooled score as a loss."""
    if configuration.score is None:
        return None
    return {"status": "ok", "loss": -configuration.score, "accuracy": configuration.accuracy,
            "train_seconds": configuration.train_seconds,
            "below_accuracy_floor": configuration.below_floor}
