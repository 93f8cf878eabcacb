"""Job documents in Hyperopt's `MongoTrials` schema, shared by both stores.

A job document holds `tid`, `spec`, `misc` (`vals`/`idxs` as Hyperopt writes them), `state`,
`owner`, `book_time`, `refresh_time`, `exp_key`, `result` and `version`, so existing Hyperopt
tooling can read our database. We add `attempt` (how many times the job was handed out),
`misc.params` (the hyperparameters as the objective received them, for queries) and, on
MongoDB, `changed` (a timestamp the server sets whenever the job's state, attempt or result
changes, so that a reader can ask for what changed since it last looked).
"""

from __future__ import annotations

import datetime
import math
from collections.abc import Collection, Iterable, Mapping
from typing import Any

import bson
import bson.errors

from objectives import STATUS_OK

# A confirmation run's link to the trial it repeats, the configuration's original
# (search.confirmation writes it; reports and TPE pool the runs it links).
REPEAT_OF = "repeat_of"

JobDoc = dict[str, Any]

# Hyperopt's job states (`hyperopt.JOB_STATE_*`), spelled out so that reading a store does not
# import Hyperopt (and with it scipy): the query commands answer in a fraction of a second.
# A job field naming a worker that should run it only if no other takes it (set on a
# confirmation run: the worker that ran the trial it repeats).
AVOID_WORKER = "avoid_worker"
JOB_STATE_NEW = 0
JOB_STATE_RUNNING = 1
JOB_STATE_DONE = 2
JOB_STATE_ERROR = 3

# The user's names of the job states that say it alone (DONE's depends on its result).
_STATE_NAMES = {JOB_STATE_NEW: "queued", JOB_STATE_RUNNING: "running", JOB_STATE_ERROR: "failed"}
FINISHED_STATES = (JOB_STATE_DONE, JOB_STATE_ERROR)


def utcnow() -> datetime.datetime:
    """Now, to the millisecond: what a BSON date (and so either store) keeps of a time, so a
    document reads back the same from memory and from the store."""
    now = datetime.datetime.now(datetime.UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


# Any other Hyperopt job state (JOB_STATE_CANCEL, which SparkTrials writes): not run, never
# counted toward max_evals.
CANCELLED = "cancelled"


def trial_state(job: Mapping[str, Any]) -> str:
    """The state a user reads: queued, running, ok, pruned, or failed.

    A job that finished with a `fail` result is failed even though Hyperopt's job state is
    DONE: TPE must see it as a failure (infinite loss), the user as a failed trial. A pruned
    trial finished `ok` for Hyperopt (it counts toward max_evals, with the worst loss); the
    user sees it as pruned.
    """
    if job["state"] == JOB_STATE_DONE:
        result = job.get("result")
        if not isinstance(result, Mapping) or result.get("status") != STATUS_OK:
            return "failed"
        return "pruned" if result.get("pruned") is True else "ok"
    return _STATE_NAMES.get(job["state"], CANCELLED)


def is_finished(job: Mapping[str, Any]) -> bool:
    return job["state"] in FINISHED_STATES


def chosen_values(job: Mapping[str, Any]) -> dict[str, Any]:
    """Hyperopt's `misc.vals` as one value per active label (inactive branches have none)."""
    return {label: values[0] for label, values in job["misc"]["vals"].items() if values}


def typed(value: Any) -> Any:
    """`value` with each scalar paired with its type: Python's `1 == 1.0 == True` would let a
    space whose `max: 4` became `max: 4.0` (integers to floats) or whose `[true, false]`
    became `[1, 0]` pass for the same, though its trials draw other values."""
    if isinstance(value, Mapping):
        return {key: typed(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [typed(item) for item in value]
    # By kind, not by class: pymongo reads a 64-bit integer back as bson.Int64, an int.
    for kind in (bool, int, float, str):
        if isinstance(value, kind):
            return kind.__name__, value
    return type(value).__name__, value


def flatten(params: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested choices as flat columns: {"optimizer": {"name": "sgd", "momentum": 0.9}} becomes
    {"optimizer": "sgd", "optimizer/momentum": 0.9}, ready for a table or a CSV."""
    flat: dict[str, Any] = {}
    for key, value in params.items():
        column = f"{prefix}{key}"
        if isinstance(value, Mapping) and value:  # an empty one is a value of its own
            if "name" in value:
                flat[column] = value["name"]
            flat.update(flatten({k: v for k, v in value.items() if k != "name"}, f"{column}/"))
        else:
            flat[column] = value
    return flat


def param_columns(params: Mapping[str, Any], taken: Collection[str]) -> dict[str, Any]:
    """`flatten(params)` for a row whose other columns are `taken`: a hyperparameter named like
    one of them (`state`, `rank`) becomes `params.NAME`, a name no label can have (labels hold
    no dot), so neither value is lost."""
    return {(f"params.{column}" if column in taken else column): value
            for column, value in flatten(params).items()}


def sort_by_tid(jobs: Iterable[JobDoc]) -> list[JobDoc]:
    return sorted(jobs, key=lambda job: job["tid"])


# A document MongoDB stores must encode to BSON within 16 MiB; a result leaves room for the
# rest of its job document (spec, misc, claims) beside it.
MAX_RESULT_BYTES = 15 * 1024 * 1024


def unstorable_reason(document: Mapping[str, Any], limit: int = MAX_RESULT_BYTES) -> str | None:
    """Why MongoDB could not store `document` (an int beyond 64 bits, a NUL in a key, a string
    that is not valid Unicode, too large), or None. Checked before a write, so the value fails
    one trial, not the worker."""
    try:
        size = len(bson.encode(document))
    except (OverflowError, UnicodeEncodeError, bson.errors.InvalidDocument) as error:
        return str(error)
    if size > limit:
        return f"it encodes to {size} bytes, over the limit of {limit}"
    return None


# Whether a job document can be used, decided here for every reader. Jobs reach us from a
# shared database, where any program may have written them, so there are two bars:
# - `has_trial_identity`: an int tid and an int state. A store indexes such a document and
#   the queries show it as a trial (a worker fails a malformed one, and the failure shows).
# - `malformed_reason` is None: every field a worker and TPE read is as Hyperopt writes it.
#   Only such a job is run, or fed to the proposals.


def is_int(value: Any) -> bool:
    """An int, and not a bool (which Python counts as one)."""
    return isinstance(value, int) and not isinstance(value, bool)


def finite_number(value: Any) -> float | None:
    """A stored number as it is (an int stays one: `1`, not `1.0`, in an export); None for
    anything else (a bool, text, NaN, infinity), which any program writing to a shared
    database may have left in a field."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    number: float = value
    return number


def has_trial_identity(document: Any) -> bool:
    """Whether a document names a trial: a document with an int `tid` and an int `state`."""
    return (isinstance(document, Mapping) and is_int(document.get("tid"))
            and is_int(document.get("state")))


def malformed_reason(job: Any) -> str | None:
    """What makes a job document unusable (a tid that is not an int, a missing field, `misc.vals`
    that are not Hyperopt's), or None: a worker checks before it trusts a job."""
    if not isinstance(job, Mapping):
        return f"a job must be a document, not {type(job).__name__}"
    expected = {"tid": int, "state": int, "exp_key": str, "misc": Mapping}
    for field, kind in expected.items():
        if not isinstance(job.get(field), kind) or isinstance(job.get(field), bool):
            return f"field {field!r} is {job.get(field)!r}, not {kind.__name__}"
    attempt = job.get("attempt", 0)
    if not is_int(attempt) or attempt < 0:
        return f"field 'attempt' is {attempt!r}, not a count"
    for part in ("vals", "idxs"):
        entries = job["misc"].get(part)
        if not isinstance(entries, Mapping) or not all(
                isinstance(label, str) and isinstance(values, list) and len(values) <= 1
                and all(isinstance(v, int | float) and not isinstance(v, bool) for v in values)
                for label, values in entries.items()):
            return f"misc.{part} is {entries!r}, not labels with at most one number each"
    if set(job["misc"]["vals"]) != set(job["misc"]["idxs"]):
        return "misc.vals and misc.idxs name different labels"
    return None
