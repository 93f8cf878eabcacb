"""Trials with chosen outcomes, for tests of the queries, the export and the report.

`finished_job` builds one job document by hand; `record_trials` puts real TPE proposals in a
store through the store API and finishes them with chosen results, as a worker would.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from hyperopt import JOB_STATE_DONE

import spaces
from search.confirmation import repeat_job
from search.experiment import Experiment
from search.farm.proposals import Proposer
from search.store import open_store

Outcome = tuple[float, float] | None  # (accuracy, train_seconds), or None for a failed trial
MIN_ACCURACY = 0.5


def result_for(outcome: Outcome, worker: str = "worker-a") -> dict[str, Any]:
    """A result as the objectives write it: scored (floored to 0 below MIN_ACCURACY) or failed."""
    common = {"device": "cpu", "worker": worker, "epochs": 1, "min_accuracy": MIN_ACCURACY}
    if outcome is None:
        return {"status": "fail", "reason": "diverged", "loss": None, "accuracy": None,
                "train_seconds": 0.5, **common}
    accuracy, seconds = outcome
    loss = 0.0 if accuracy < MIN_ACCURACY else -accuracy / seconds
    return {"status": "ok", "loss": loss, "accuracy": accuracy, "train_seconds": seconds,
            **common}


def finished_job(tid: int, outcome: Outcome, params: dict[str, Any] | None = None,
                 state: int = JOB_STATE_DONE) -> dict[str, Any]:
    """A bare job document, enough for the pure query and plot functions."""
    return {"tid": tid, "state": state, "result": result_for(outcome) if state == JOB_STATE_DONE
            else {"status": "new"}, "misc": {"params": params or {}}}


def record_trials(location: str, exp_key: str, outcomes: Sequence[Outcome], *,
                  running: int = 0, queued: int = 0,
                  space: spaces.SearchSpace | None = None) -> None:
    """An experiment on the default space (or `space`) whose first trials finished with
    `outcomes`, then `running` reserved and `queued` waiting ones. The proposals are random
    (seed 0), so on the default space trial 2 takes the sgd branch with its conditional
    parameters."""
    space = space or spaces.load_space("default")
    total = len(outcomes) + running + queued
    store = open_store(location)
    try:
        store.record_experiment(Experiment(exp_key=exp_key, space=space.record, objective="noop",
                                           epochs=1, min_accuracy=MIN_ACCURACY, max_evals=total))
        proposer = Proposer(exp_key, space.graph, seed=0, startup_trials=total + 1)
        jobs: list[dict[str, Any]] = []
        for tid in range(total):
            jobs.append(proposer.propose(tid))
        store.queue_jobs(jobs)
        for index, outcome in enumerate(outcomes):
            worker = f"worker-{'ab'[index % 2]}"
            reservation = store.reserve_next_job(worker, [exp_key])
            assert reservation is not None
            assert store.finish_job(reservation, result_for(outcome, worker))
        for _ in range(running):
            assert store.reserve_next_job("worker-c", [exp_key]) is not None
    finally:
        store.close()


def record_repeat(location: str, exp_key: str, original: int, result: dict[str, Any]) -> int:
    """Queue a confirmation run of trial `original` after the experiment's last trial and
    finish it with `result`, as a worker would; returns its tid."""
    store = open_store(location)
    try:
        tid = 1 + max(job["tid"] for job in store.jobs(exp_key))
        store.queue_jobs([repeat_job(store.jobs(exp_key, [original])[0], tid)])
        reservation = store.reserve_next_job(str(result.get("worker", "worker-b")), [exp_key])
        assert reservation is not None and reservation.tid == tid
        assert store.finish_job(reservation, result)
        return tid
    finally:
        store.close()


def stored_jobs(location: str, exp_key: str) -> list[dict[str, Any]]:
    store = open_store(location)
    try:
        return store.jobs(exp_key)
    finally:
        store.close()
