"""Running one reserved job: rebuild it from installed code, heartbeat, train, report.

This is the whole of what a worker does with a job, shared by `hpsearch worker` and by the
embedded search that runs its trials in-process.
"""

from __future__ import annotations

import dataclasses
import logging
from typing import Any, Callable

import objectives
import spaces
from search.experiment import Experiment
from search.farm.heartbeat import Heartbeat
from search.farm.params import params_for
from search.store import Reservation, Store

log = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class PreparedExperiment:
    """An experiment's space and objective, built by name from this machine's own code."""

    experiment: Experiment
    space: spaces.SearchSpace
    objective: objectives.Objective

    @classmethod
    def build(cls, experiment: Experiment, allowed_objectives: tuple[str, ...] = ()
              ) -> "PreparedExperiment":
        """Raises SpaceError or ObjectiveError when this machine cannot or may not run it."""
        return cls(
            experiment=experiment,
            space=spaces.space_from_record(experiment.space),
            objective=objectives.resolve_objective(experiment.objective, allowed_objectives),
        )


def run_job(
    store: Store,
    reservation: Reservation,
    prepared: PreparedExperiment,
    *,
    worker_id: str,
    heartbeat_interval: float,
    on_heartbeat: Callable[[], None] = lambda: None,
    data_dir: str | None = None,
) -> tuple[dict[str, Any], bool]:
    """Run a reserved job to its result and offer the result to the store.

    `on_heartbeat` runs after each successful heartbeat (the worker refreshes its own status
    there). Returns the result and whether the store accepted it (False when another attempt
    of the same trial reported first). `data_dir`, this host's data directory, overrides the
    experiment's.
    """
    experiment = prepared.experiment
    settings = objectives.TrialSettings(
        epochs=experiment.epochs,
        min_accuracy=experiment.min_accuracy,
        device=experiment.device,
        seed=reservation.tid,
        data_dir=data_dir or experiment.data_dir,
        torch_compile=experiment.torch_compile,
    )
    params = params_for(reservation.job, prepared.space.graph)
    log.info("trial %s of %s: %s", reservation.tid, experiment.exp_key, params)
    with Heartbeat(store, reservation, heartbeat_interval, on_heartbeat):
        result = objectives.run_trial(prepared.objective, params, settings)
    result = {**result, "objective": prepared.objective.name, "worker": worker_id,
              "attempt": reservation.attempt}
    return result, store.finish_job(reservation, result)
