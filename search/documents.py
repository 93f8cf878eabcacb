"""Job documents in Hyperopt's `MongoTrials` schema, shared by both stores.

A job document holds `tid`, `spec`, `misc` (`vals`/`idxs` as Hyperopt writes them), `state`,
`owner`, `book_time`, `refresh_time`, `exp_key`, `result` and `version`, so existing Hyperopt
tooling can read our database. We add `attempt` (how many times the job was handed out) and
`misc.params` (the hyperparameters as the objective received them, for queries).
"""

from __future__ import annotations

import datetime
from typing import Any, Iterable, Mapping

from hyperopt import JOB_STATE_DONE, JOB_STATE_ERROR, JOB_STATE_NEW, JOB_STATE_RUNNING

JobDoc = dict[str, Any]

STATE_NAMES = {
    JOB_STATE_NEW: "queued",
    JOB_STATE_RUNNING: "running",
    JOB_STATE_DONE: "done",
    JOB_STATE_ERROR: "failed",
}
FINISHED_STATES = (JOB_STATE_DONE, JOB_STATE_ERROR)


def utcnow() -> datetime.datetime:
    return datetime.datetime.now(datetime.timezone.utc)


def trial_state(job: Mapping[str, Any]) -> str:
    """The state a user reads: queued, running, ok, or failed.

    A job that finished with a `fail` result is failed even though Hyperopt's job state is
    DONE: TPE must see it as a failure (infinite loss), the user as a failed trial.
    """
    if job["state"] == JOB_STATE_DONE:
        return "ok" if job["result"].get("status") == "ok" else "failed"
    return STATE_NAMES.get(job["state"], "cancelled")


def is_finished(job: Mapping[str, Any]) -> bool:
    return job["state"] in FINISHED_STATES


def chosen_values(job: Mapping[str, Any]) -> dict[str, Any]:
    """Hyperopt's `misc.vals` as one value per active label (inactive branches have none)."""
    return {label: values[0] for label, values in job["misc"]["vals"].items() if values}


def flatten(params: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested choices as flat columns: {"optimizer": {"name": "sgd", "momentum": 0.9}} becomes
    {"optimizer": "sgd", "optimizer/momentum": 0.9}, ready for a table or a CSV."""
    flat: dict[str, Any] = {}
    for key, value in params.items():
        column = f"{prefix}{key}"
        if isinstance(value, Mapping):
            if "name" in value:
                flat[column] = value["name"]
            flat.update(flatten({k: v for k, v in value.items() if k != "name"}, f"{column}/"))
        else:
            flat[column] = value
    return flat


def sort_by_tid(jobs: Iterable[JobDoc]) -> list[JobDoc]:
    return sorted(jobs, key=lambda job: job["tid"])
