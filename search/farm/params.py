"""The hyperparameters a trial's objective receives, rebuilt from its job document."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hyperopt.fmin import space_eval

import objectives
from search.documents import chosen_values, malformed_reason, typed


def params_for(job: Mapping[str, Any], space_graph: Any) -> dict[str, Any]:
    """Evaluate the space at the job's `misc.vals`, as plain data the database can store.

    Raises:
        TypeError, ValueError: the space yields something the database cannot store (a
            constant of another type, a nested list); the message says where.
    """
    params: dict[str, Any] = objectives.plain_data(
        space_eval(space_graph, chosen_values(job)), "params")
    return params


def differs_from_recorded(job: Mapping[str, Any], space_graph: Any) -> str | None:
    """How the params this machine's space builds from the job's `misc.vals` differ from
    those the driver recorded in `misc.params`; None when they agree, when none were recorded
    (a job Hyperopt wrote, or params the database could not store), or when the values build
    nothing here (a malformed job: the worker fails it, saying why).

    A worker whose installed space differs from the driver's (another release's built-in
    space, with an option added) turns the same values into other hyperparameters: it would
    train other values than the store shows.
    """
    misc = job.get("misc")
    recorded = misc.get("params") if isinstance(misc, Mapping) else None
    if not isinstance(recorded, Mapping) or not recorded or malformed_reason(job) is not None:
        return None
    try:
        built = params_for(job, space_graph)
    except (KeyError, IndexError, TypeError, ValueError, AttributeError):
        return None
    if typed(built) == typed(recorded):
        return None
    return (f"trial {job.get('tid')}'s values build {built} here; the driver recorded "
            f"{dict(recorded)}")
