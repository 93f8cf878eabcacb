"""A running trial's heartbeat: the signal by which the farm tells a live trial from a dead one."""

from __future__ import annotations

import logging
import threading
from typing import Callable

from search.store import Reservation, Store

log = logging.getLogger(__name__)


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
