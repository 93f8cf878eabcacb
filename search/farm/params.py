"""The hyperparameters a trial's objective receives, rebuilt from its job document."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hyperopt.fmin import space_eval

import objectives
from search.documents import chosen_values


def params_for(job: Mapping[str, Any], space_graph: Any) -> dict[str, Any]:
    """Evaluate the space at the job's `misc.vals`, as plain data the database can store.

    Raises:
        TypeError, ValueError: the space yields something the database cannot store (a
            constant of another type, a nested list); the message says where.
    """
    params: dict[str, Any] = objectives.plain_data(
        space_eval(space_graph, chosen_values(job)), "params")
    return params
