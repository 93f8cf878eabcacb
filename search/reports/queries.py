"""Questions asked of a store: trials as rows, the best, the Pareto front, the status.

Pure functions over job documents, so every command answers the same on both stores.
"""

from __future__ import annotations

import dataclasses
import datetime
from typing import Any, Iterable, Sequence

from search.documents import JobDoc, flatten, is_finished, trial_state, utcnow
from search.store import Store, StoreError, WorkerStatus

SORT_KEYS = ("score", "accuracy", "time")
# What trial_row, the rankings and the status read of a job: a query asks the store for no more.
ROW_FIELDS = ("tid", "state", "owner", "attempt", "book_time", "refresh_time", "misc.params",
              "result.status", "result.loss", "result.accuracy", "result.train_seconds",
              "result.reason", "result.device", "result.worker")


def score(job: JobDoc) -> float | None:
    """Accuracy per second of training (-loss); None for a trial without a score."""
    if trial_state(job) != "ok" or job["result"].get("loss") is None:
        return None
    return 0.0 - job["result"]["loss"]  # not -loss: a floored trial scores 0.0, not -0.0


def trial_row(job: JobDoc) -> dict[str, Any]:
    """One flat row per trial: identity, outcome, every hyperparameter, provenance."""
    result = job.get("result") or {}
    return {
        "tid": job["tid"],
        "state": trial_state(job),
        "score": score(job),
        "accuracy": result.get("accuracy"),
        "train_seconds": result.get("train_seconds"),
        **flatten(job["misc"].get("params", {})),
        "reason": result.get("reason"),
        "device": result.get("device"),
        "worker": result.get("worker") or job.get("owner"),
        "attempt": job.get("attempt", 0),
        "started": job.get("book_time"),
        "finished": job.get("refresh_time") if is_finished(job) else None,
    }


def select_trials(jobs: Iterable[JobDoc], states: Sequence[str] = ()) -> list[JobDoc]:
    """Jobs in any of `states` (queued, running, ok, failed), or all of them."""
    return [job for job in jobs if not states or trial_state(job) in states]


def best_trials(
    jobs: Iterable[JobDoc], n: int, *, min_accuracy: float | None = None, sort: str = "score"
) -> list[JobDoc]:
    """The `n` best scored trials: by score (accuracy per second), accuracy, or training time.

    Ties go to the earlier trial, so the answer is stable.
    """
    scored = [job for job in jobs if score(job) is not None]  # so -score(job) below is a float
    if min_accuracy is not None:
        scored = [job for job in scored if job["result"]["accuracy"] >= min_accuracy]
    keys = {
        "score": lambda job: (-score(job), job["tid"]),
        "accuracy": lambda job: (-job["result"]["accuracy"], job["result"]["train_seconds"], job["tid"]),
        "time": lambda job: (job["result"]["train_seconds"], -job["result"]["accuracy"], job["tid"]),
    }
    return sorted(scored, key=keys[sort])[:n]


def count_by_state(jobs: Iterable[JobDoc]) -> dict[str, int]:
    """Trials per user-facing state; the four usual states are always present."""
    counts = dict.fromkeys(("ok", "failed", "running", "queued"), 0)
    for job in jobs:
        counts[trial_state(job)] = counts.get(trial_state(job), 0) + 1
    return counts


def pareto_front(jobs: Iterable[JobDoc]) -> list[JobDoc]:
    """Successful trials that no other trial beats on both accuracy and training time.

    A trial is dominated when another is at least as accurate and at least as fast, and
    strictly better in one. Failed and unfinished trials never appear. Sorted by time.
    """
    candidates = [job for job in jobs if trial_state(job) == "ok"]
    candidates.sort(key=lambda job: (job["result"]["train_seconds"], -job["result"]["accuracy"],
                                     job["tid"]))
    front: list[JobDoc] = []
    best_accuracy = float("-inf")
    for job in candidates:
        accuracy, seconds = job["result"]["accuracy"], job["result"]["train_seconds"]
        if accuracy > best_accuracy:
            front.append(job)
            best_accuracy = accuracy
        elif front and accuracy == best_accuracy and seconds == front[-1]["result"]["train_seconds"]:
            front.append(job)  # an exact tie with a front member is not dominated either
    return front


@dataclasses.dataclass(frozen=True)
class ExperimentStatus:
    exp_key: str
    objective: str
    space: str
    counts: dict[str, int]
    max_evals: int | None
    best: JobDoc | None
    trials_per_minute: float | None
    seconds_left: float | None
    workers: list[WorkerStatus]


def experiment_status(store: Store, exp_key: str) -> ExperimentStatus:
    """Counts by state, the best trial, the pace, and the workers serving the experiment."""
    experiment = store.experiment(exp_key)
    if experiment is None:
        raise unknown_experiment(store, exp_key)
    jobs = store.jobs(exp_key, fields=ROW_FIELDS)
    counts = count_by_state(jobs)
    finished_times = sorted(job["refresh_time"] for job in jobs if is_finished(job)
                            and job.get("refresh_time"))
    rate = _trials_per_minute(finished_times)
    finished = counts["ok"] + counts["failed"]
    remaining = max(0, (experiment.max_evals or finished) - finished)
    seconds_left = remaining / rate * 60 if rate else (0.0 if not remaining else None)
    best = best_trials(jobs, 1)
    return ExperimentStatus(
        exp_key=exp_key,
        objective=experiment.objective,
        space=space_name(experiment.space),
        counts=counts,
        max_evals=experiment.max_evals,
        best=best[0] if best else None,
        trials_per_minute=rate,
        seconds_left=seconds_left,
        workers=[w for w in store.workers() if w.exp_key in (None, exp_key)],
    )


def _trials_per_minute(finished_times: list[datetime.datetime]) -> float | None:
    """The finishing rate over the last (up to) 20 trials, which follows workers coming and
    going better than the average since the start."""
    recent = finished_times[-20:]
    if len(recent) < 2:
        return None
    span = (recent[-1] - recent[0]).total_seconds()
    return (len(recent) - 1) / span * 60 if span > 0 else None


def live(worker: WorkerStatus, stale_after: float) -> bool:
    return worker.state != "stopped" and (utcnow() - worker.last_seen).total_seconds() <= stale_after


def space_name(record: dict[str, Any]) -> str:
    return record.get("builtin") or record.get("file") or "?"


def unknown_experiment(store: Store, exp_key: str) -> StoreError:
    known = [experiment.exp_key for experiment in store.experiments()]
    listing = ", ".join(known) if known else "none yet"
    return StoreError(f"no experiment {exp_key!r} in {store.location} (experiments: {listing})")
