"""Running one reserved job: rebuild it from installed code, heartbeat, train, score.

This is the whole of what a worker does with a job, shared by `hpsearch worker` and by the
embedded search that runs its trials in-process.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from typing import Any

import objectives
import spaces
from objectives import Reason
from search.documents import chosen_values, malformed_reason, unstorable_reason
from search.experiment import Experiment
from search.farm.deadline import TrialTimedOut, deadline
from search.farm.evidence import experiment_pruner
from search.farm.heartbeat import Heartbeat
from search.pruning import Pruner
from search.store import Reservation, Store

log = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class PreparedExperiment:
    """An experiment's space, objective and pruner, built by name from this machine's own
    code."""

    experiment: Experiment
    space: spaces.SearchSpace
    objective: objectives.Objective
    pruner: Pruner | None = None

    @classmethod
    def build(cls, experiment: Experiment, allowed_objectives: tuple[str, ...] = (),
              objective: objectives.Objective | None = None) -> PreparedExperiment:
        """The experiment with its objective (`objective` when given in this process, else
        resolved by name) and its space.

        Raises SpaceError or ObjectiveError when this machine cannot or may not run it."""
        return cls(
            experiment=experiment,
            space=spaces.space_from_record(experiment.space),
            objective=objective or objectives.resolve_objective(experiment.objective,
                                                                allowed_objectives),
            pruner=experiment_pruner(experiment),
        )


def run_job(
    reservation: Reservation,
    prepared: PreparedExperiment,
    store: Store,
    *,
    worker_id: str,
    on_heartbeat: Callable[[], None] = lambda: None,
    on_result: Callable[[dict[str, Any]], None] = lambda result: None,
    on_stuck: Callable[[dict[str, Any]], None] | None = None,
    data_dir: str | None = None,
    should_prune: objectives.ShouldPrune | None = None,
) -> dict[str, Any]:
    """Run a reserved job to its result, heartbeating through `store` while it trains.

    A job this worker cannot trust or store never reaches the objective, and a result the
    database cannot store is not returned as is: each becomes a failed trial with its reason
    (`malformed job`, `unstorable parameters`, `unstorable result`). A trial that runs past
    the experiment's `trial_timeout` is stopped and fails with reason `timeout`, keeping the
    seconds it trained (they count toward the search's budget); one stuck in native code past
    that is handed, as that failure, to `on_stuck`, which ends the process (without one, the
    process is the caller's: the trial fails once the call returns).
    `on_result` gets the result the moment the trial ends, before the heartbeat stops (the
    worker spools it there); `on_heartbeat` runs after each successful heartbeat (the worker
    refreshes its own status there). `data_dir`, this host's data directory, overrides the
    experiment's. `should_prune` decides at each epoch the trial reports whether it stops
    (search.farm.evidence.trial_pruning). Returns the result.
    """
    def labelled(result: dict[str, Any]) -> dict[str, Any]:
        return objectives.labelled_result(result, objective=prepared.objective.name,
                                          worker=worker_id, attempt=reservation.attempt)

    return labelled(_run(store, reservation, prepared, on_heartbeat,
                         lambda result: on_result(labelled(result)),
                         None if on_stuck is None else lambda result: on_stuck(labelled(result)),
                         data_dir, should_prune))


def _run(store: Store, reservation: Reservation, prepared: PreparedExperiment,
         on_heartbeat: Callable[[], None], on_result: Callable[[dict[str, Any]], None],
         on_stuck: Callable[[dict[str, Any]], None] | None, data_dir: str | None,
         should_prune: objectives.ShouldPrune | None) -> dict[str, Any]:
    from hyperopt.fmin import space_eval  # Hyperopt loads only where trials run, not in --help

    experiment = prepared.experiment
    problem = malformed_reason(reservation.job)
    if problem is None:
        try:
            evaluated = space_eval(prepared.space.graph, chosen_values(reservation.job))
        except (KeyError, IndexError, TypeError, ValueError) as error:
            problem = f"its misc.vals do not fit the space: {type(error).__name__}: {error}"
            recorded = reservation.job["misc"].get("params")
            if recorded:  # the driver's space built them: perhaps another release's
                problem += (f"; the driver built {recorded} from them: if it runs another "
                            "hpsearch release, install that one on this worker")
    if problem is not None:
        log.warning("trial %r of %s is malformed: %s", reservation.tid, experiment.exp_key,
                    problem)
        return objectives.failed_result(Reason.MALFORMED_JOB,
                                        f"the job document is malformed: {problem}")
    try:
        params = objectives.plain_data(evaluated, "params")
        unstorable = unstorable_reason({"params": params})
    except (TypeError, ValueError) as error:
        unstorable = str(error)
    if unstorable is not None:
        return objectives.failed_result(
            Reason.UNSTORABLE_PARAMETERS,
            f"the database cannot store this trial's parameters: {unstorable}")
    settings = experiment.trial_settings(seed=reservation.tid, data_dir=data_dir)
    log.info("trial %s of %s: %s", reservation.tid, experiment.exp_key, params)
    policy = experiment.policy
    started: list[objectives.TrialContext] = []  # the trial's context, once run_trial has one

    def timed_out() -> dict[str, Any]:
        return objectives.stopped_result(
            Reason.TIMEOUT, f"the trial ran past the experiment's trial timeout of "
                            f"{policy.trial_timeout:g} s and was stopped",
            started[0] if started else None, settings)

    with Heartbeat(store, reservation, policy.heartbeat_interval, on_heartbeat):
        try:
            with deadline(policy.trial_timeout,
                          None if on_stuck is None else lambda: on_stuck(timed_out())):
                result = _storable(objectives.run_trial(prepared.objective, params, settings,
                                                        should_prune=should_prune,
                                                        on_start=started.append,
                                                        name=f"trial {reservation.tid} of "
                                                             f"{experiment.exp_key}"))
        except TrialTimedOut:
            log.warning("trial %s of %s ran past its %g s timeout; stopped", reservation.tid,
                        experiment.exp_key, policy.trial_timeout)
            result = timed_out()
        on_result(result)
    return result


def _storable(result: dict[str, Any]) -> dict[str, Any]:
    """The result, or a failure that keeps what can be stored of it."""
    unstorable = unstorable_reason(result)
    if unstorable is None:
        return result
    kept = {key: result.get(key) for key in _KEPT_FROM_UNSTORABLE}
    return objectives.failed_result(Reason.UNSTORABLE_RESULT,
                                    f"the database cannot store the result: {unstorable}", **kept)


# What an unstorable result keeps: plain numbers and names the objective machinery set.
_KEPT_FROM_UNSTORABLE = ("train_seconds", "epochs", "device", "device_type", "min_accuracy",
                         "seed")
