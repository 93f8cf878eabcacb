"""The shape of an objective: a named function from hyperparameters to a result."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import torch

from ._context import TrialContext
from ._settings import TrialSettings


@dataclass(frozen=True)
class Objective:
    """A named objective.

    Attributes:
        name: How workers and experiments refer to it (built-in name, entry-point name or
            ``package.module:function``).
        description: One line for listings.
        run: ``run(params, trial) -> {"accuracy": float, ...}``; see the package docstring.
        warm_up: Called once per process and device before the first timed trial (cudnn
            autotuning, allocator growth, lazy initialisation), or None.
        check: Called with the trial settings by ``hpsearch search`` before any trial, and
            by ``run_trial`` before warming up; raises ObjectiveError (e.g.
            DataMissingError) when trials could not run, so the user hears it once, up
            front, and a worker fails such a trial fast. None: nothing to check.
        check_params: Called by ``hpsearch search`` with draws of the search's space before
            any trial; raises ValueError when the objective could not read such params (a
            misspelt or missing hyperparameter, a value out of range), so a search on a space
            that does not fit stops at once instead of failing every trial. None: reads any.
    """

    name: str
    description: str
    run: Callable[[dict[str, Any], TrialContext], Mapping[str, Any]]
    warm_up: Callable[[torch.device], None] | None = None
    check: Callable[[TrialSettings], None] | None = None
    check_params: Callable[[dict[str, Any]], object] | None = None


def objective_from_function(name: str, function: Callable[..., Any]) -> Objective:
    """Wrap a plain ``(params, trial) -> dict`` function; its docstring's first line
    describes it.
    """
    doc = (getattr(function, "__doc__", None) or "").strip()
    description = doc.splitlines()[0] if doc else ""
    return Objective(name=name, description=description, run=function)
