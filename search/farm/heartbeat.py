"""A running trial's heartbeat: the signal by which the farm tells a live trial from a dead one."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from search.store import Reservation, Store

log = logging.getLogger(__name__)


class Heartbeat:
    """Beats for a reservation from a background thread while the trial trains.

    The beating thread is supervised: if it dies (a store call that raised, a bug), the
    supervisor logs why and starts a new one, and the trial goes on. If the store says the
    attempt is no longer ours (it was given up while we were silent, or the trial has a
    result), the beating stops for good; the trial still finishes and offers its result,
    which the store keeps (as the trial's result if none came first, else as a late one).
    """

    def __init__(self, store: Store, reservation: Reservation, interval: float,
                 on_beat: Callable[[], None]) -> None:
        self._store = store
        self._reservation = reservation
        self._interval = interval
        self._on_beat = on_beat
        self._stopped = threading.Event()
        self._supervisor = threading.Thread(target=self._supervise, name="heartbeat",
                                            daemon=True)
        self.restarts = 0

    def __enter__(self) -> Heartbeat:
        self._supervisor.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stopped.set()
        # Joined, so that no beat is in flight when the result is written: on FerretDB a
        # beat's whole-document write could otherwise overwrite the finished view. A beat
        # stuck in an outage returns when the database does, as the result's write would.
        self._supervisor.join()

    def _supervise(self) -> None:
        while not self._stopped.is_set():
            died: list[BaseException] = []
            beating = threading.Thread(target=self._beat_until_stopped, args=(died,),
                                       name="heartbeat-beats", daemon=True)
            beating.start()
            beating.join()
            if not died:
                return  # stopped, or the attempt is no longer ours
            self.restarts += 1
            log.error("the heartbeat of trial %s of %s died (%s: %s); restarting it",
                      self._reservation.tid, self._reservation.exp_key,
                      type(died[0]).__name__, died[0])
            self._stopped.wait(self._interval)

    def _beat_until_stopped(self, died: list[BaseException]) -> None:
        try:
            while not self._stopped.wait(self._interval):
                if not self._store.heartbeat(self._reservation):
                    log.warning("trial %s of %s is no longer this worker's to run (given up, or "
                                "it has a result); finishing it anyway",
                                self._reservation.tid, self._reservation.exp_key)
                    return
                self._on_beat()
        except Exception as error:  # noqa: BLE001 - the supervisor reports it and restarts us
            died.append(error)
