"""Job documents in Hyperopt's `MongoTrials` schema, shared by both stores.

A job document holds `tid`, `spec`, `misc` (`vals`/`idxs` as Hyperopt writes them), `state`,
`owner`, `book_time`, `refresh_time`, `exp_key`, `result` and `version`, so existing Hyperopt
tooling can read our database. We add `attempt` (how many times the job was handed out) and
`misc.params` (the hyperparameters as the objective received them, for queries).
"""

from __future__ import annotations

import datetime
import math
from typing import Any, Iterable, Mapping

JobDoc = dict[str, Any]

# Hyperopt's job states (`hyperopt.JOB_STATE_*`), spelled out so that reading a store does not
# import Hyperopt (and with it scipy): the query commands answer in a fraction of a second.
JOB_STATE_NEW = 0
JOB_STATE_RUNNING = 1
JOB_STATE_DONE = 2
JOB_STATE_ERROR = 3

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


def params_for(job: Mapping[str, Any], space_graph: Any) -> dict[str, Any]:
    """The hyperparameters the objective receives, rebuilt from the space and `misc.vals`."""
    from hyperopt.fmin import space_eval  # only workers and the driver build parameters

    return plain(space_eval(space_graph, chosen_values(job)))


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


def plain(value: Any) -> Any:
    """Turn a result or a parameter set into data that MongoDB and FerretDB both store.

    NaN and infinities become None (callers record the reason), numpy and torch scalars become
    Python numbers, tuples become lists, and nested lists are refused by being flattened to
    strings: FerretDB v1 stores none of those.
    """
    if isinstance(value, Mapping):
        return {_key(key): plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_scalar_in_list(item) for item in value]
    return _scalar(value)


def _key(key: Any) -> str:
    text = str(key)
    if "." in text or text.startswith("$"):
        raise ValueError(f"key {text!r} cannot be stored: keys may not contain '.' or start with '$'")
    return text


def _scalar_in_list(item: Any) -> Any:
    if isinstance(item, (list, tuple)):
        return str(list(item))
    return plain(item)


def _scalar(value: Any) -> Any:
    if value is None or isinstance(value, (bool, str, datetime.datetime)):
        return value
    if hasattr(value, "item") and callable(value.item):
        value = value.item()
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    return str(value)


def sort_by_tid(jobs: Iterable[JobDoc]) -> list[JobDoc]:
    return sorted(jobs, key=lambda job: job["tid"])
