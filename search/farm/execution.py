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
from search.documents import chosen_values, malformed_reason, unstorable_reason
from search.experiment import Experiment
from search.farm.heartbeat import Heartbeat
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

    A job this worker cannot trust or store never reaches the objective, and a result the
    database cannot store is not offered: each becomes a failed trial with its reason
    (`malformed job`, `unstorable parameters`, `unstorable result`), and the worker goes on.
    `on_heartbeat` runs after each successful heartbeat (the worker refreshes its own status
    there). Returns the result and whether the store accepted it (False when another attempt
    of the same trial reported first). `data_dir`, this host's data directory, overrides the
    experiment's.
    """
    result = _run(store, reservation, prepared, heartbeat_interval, on_heartbeat, data_dir)
    result = {**result, "objective": prepared.objective.name, "worker": worker_id,
              "attempt": reservation.attempt}
    return result, store.finish_job(reservation, result)


def _run(store: Store, reservation: Reservation, prepared: PreparedExperiment,
         heartbeat_interval: float, on_heartbeat: Callable[[], None],
         data_dir: str | None) -> dict[str, Any]:
    from hyperopt.fmin import space_eval  # Hyperopt loads only where trials run, not in --help

    experiment = prepared.experiment
    problem = malformed_reason(reservation.job)
    if problem is None:
        try:
            evaluated = space_eval(prepared.space.graph, chosen_values(reservation.job))
        except (KeyError, IndexError, TypeError, ValueError) as error:
            problem = f"its misc.vals do not fit the space: {type(error).__name__}: {error}"
    if problem is not None:
        log.warning("trial %r of %s is malformed: %s", reservation.tid, experiment.exp_key,
                    problem)
        return _failed("malformed job", f"the job document is malformed: {problem}")
    try:
        params = objectives.plain_data(evaluated, "params")
        unstorable = unstorable_reason({"params": params})
    except (TypeError, ValueError) as error:
        unstorable = str(error)
    if unstorable is not None:
        return _failed("unstorable parameters",
                       f"the database cannot store this trial's parameters: {unstorable}")
    settings = objectives.TrialSettings(
        epochs=experiment.epochs,
        min_accuracy=experiment.min_accuracy,
        device=experiment.device,
        seed=reservation.tid,
        data_dir=data_dir or experiment.data_dir,
        torch_compile=experiment.torch_compile,
    )
    log.info("trial %s of %s: %s", reservation.tid, experiment.exp_key, params)
    with Heartbeat(store, reservation, heartbeat_interval, on_heartbeat):
        result = objectives.run_trial(prepared.objective, params, settings)
    unstorable = unstorable_reason(result)
    if unstorable is not None:
        kept = {key: result.get(key) for key in _KEPT_FROM_UNSTORABLE}
        return {**kept, **_failed("unstorable result",
                                  f"the database cannot store the result: {unstorable}")}
    return result


# What an unstorable result keeps: plain numbers and names the objective machinery set.
_KEPT_FROM_UNSTORABLE = ("train_seconds", "epochs", "device", "device_type", "min_accuracy",
                         "seed")


def _failed(reason: str, error: str) -> dict[str, Any]:
    return {"status": "fail", "reason": reason, "loss": None, "accuracy": None, "error": error}
