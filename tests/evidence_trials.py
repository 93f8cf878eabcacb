"""Runs of chosen configurations as `Trial` views, for the tests of pooling and confirmation."""

from __future__ import annotations

from typing import Any

from search.documents import JOB_STATE_DONE, JOB_STATE_NEW, JOB_STATE_RUNNING
from search.trial import Trial

FLOOR = 0.8


def params(lr: float, batch_size: int = 64, optimizer: str = "adamw") -> dict[str, Any]:
    """The hyperparameters of one configuration of a small nested space."""
    return {"lr": lr, "batch_size": batch_size, "optimizer": {"name": optimizer}}


def run(tid: int, configuration: dict[str, Any], accuracy: float | None, seconds: float = 1.0,
        *, repeat_of: int | None = None, state: str = "ok", reason: str = "diverged",
        floor: float = FLOOR) -> Trial:
    """One run: `ok` (scored, floored below `floor`), `pruned` (at `accuracy` after `seconds`),
    `failed` (for `reason`), `running` or `queued`."""
    job: dict[str, Any] = {"tid": tid, "misc": {"params": configuration}}
    if repeat_of is not None:
        job["repeat_of"] = repeat_of
    if state == "ok":
        assert accuracy is not None
        below = accuracy < floor
        job.update(state=JOB_STATE_DONE, result={
            "status": "ok", "loss": 0.0 if below else -accuracy / seconds,
            "accuracy": accuracy, "train_seconds": seconds, "below_accuracy_floor": below})
    elif state == "pruned":
        job.update(state=JOB_STATE_DONE, result={
            "status": "ok", "pruned": True, "loss": 0.0, "accuracy": accuracy,
            "train_seconds": seconds})
    elif state == "failed":
        job.update(state=JOB_STATE_DONE, result={"status": "fail", "reason": reason,
                                                 "loss": None, "accuracy": None})
    else:
        job.update(state=JOB_STATE_RUNNING if state == "running" else JOB_STATE_NEW,
                   result={"status": "new"})
    return Trial.from_job(job)
