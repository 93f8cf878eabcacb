"""Running one reserved job: rebuild it from installed code, heartbeat, train, report.

This is the whole of what a worker does with a job, shared by `hpsearch worker` and by the
embedded search that runs its trials in-process.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
from typing import Any, Callable

import objectives
import spaces
from search.documents import params_for, plain
from search.experiment import Experiment
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


class Heartbeat:
    """Renews a reservation's `refresh_time` from a background thread while the trial trains.

    If the store says the job is no longer ours (it was reclaimed while we were silent), the
    heartbeat stops; the trial still finishes and offers its result, which the store accepts
    only if no other attempt has reported first.
    """

    def __init__(self, store: Store, reservation: Reservation, interval: float,
                 on_beat: Callable[[], None]) -> None:
        self._store = store
        self._reservation = reservation
        self._interval = interval
        self._on_beat = on_beat
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, name="heartbeat", daemon=True)

    def __enter__(self) -> "Heartbeat":
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stopped.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stopped.wait(self._interval):
            try:
                if not self._store.heartbeat(self._reservation):
                    log.warning("trial %s of %s was reclaimed by the farm; finishing it anyway",
                                self._reservation.tid, self._reservation.exp_key)
                    return
                self._on_beat()
            except Exception:  # the main thread decides what a store failure means
                log.exception("heartbeat for trial %s failed", self._reservation.tid)
                return


def run_job(
    store: Store,
    reservation: Reservation,
    prepared: PreparedExperiment,
    *,
    worker_id: str,
    heartbeat_interval: float,
    on_heartbeat: Callable[[], None] = lambda: None,
) -> tuple[dict[str, Any], bool]:
    """Run a reserved job to its result and offer the result to the store.

    `on_heartbeat` runs after each successful heartbeat (the worker refreshes its own status
    there). Returns the result and whether the store accepted it (False when another attempt
    of the same trial reported first).
    """
    experiment = prepared.experiment
    settings = objectives.TrialSettings(
        epochs=experiment.epochs,
        min_accuracy=experiment.min_accuracy,
        device=experiment.device,
        seed=reservation.tid,
    )
    params = params_for(reservation.job, prepared.space.graph)
    log.info("trial %s of %s: %s", reservation.tid, experiment.exp_key, params)
    with Heartbeat(store, reservation, heartbeat_interval, on_heartbeat):
        result = objectives.run_trial(prepared.objective, params, settings)
    result = plain({**result, "objective": prepared.objective.name, "worker": worker_id,
                    "attempt": reservation.attempt})
    return result, store.finish_job(reservation, result)
