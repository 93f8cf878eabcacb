"""One job reserved ahead: while a trial runs, the worker already holds its next job.

Reserving takes round trips to the database (and, on FerretDB, a scan of the queue); done
between two trials it is GPU time lost. A `Lookahead` reserves the next job from a background
thread while the current trial runs, so the next trial starts the moment the current one is
reported. The held job is RUNNING and owned by this worker like the current one; the worker's
heartbeat renews both. A stop request hands the held job back at once, without waiting for
the running trial to end.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Collection

from search.clock import SYSTEM_CLOCK, Clock
from search.farm.stopping import StopRequest
from search.store import Reservation, Store

log = logging.getLogger(__name__)

_STOP_CHECK_INTERVAL = 0.05  # how soon a held job goes back after a stop request
_FIRST_RETRY = 0.02  # seconds before looking again when nothing was queued
_BACKOFF_AFTER = 1.0  # seconds of finding nothing; then the wait doubles, up to a second
_LONGEST_RETRY = 1.0


class Lookahead:
    """Holds at most one reservation ahead of the running trial."""

    def __init__(self, store: Store, worker_id: str, stop: StopRequest,
                 clock: Clock = SYSTEM_CLOCK) -> None:
        self._store = store
        self._worker_id = worker_id
        self._stop = stop
        self._clock = clock
        self._lock = threading.Lock()
        self._held: Reservation | None = None
        self._done = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self, exp_keys: Collection[str]) -> None:
        """Begin reserving the next job in the background (no-op if one is held or pending)."""
        if self._thread is not None or self._held is not None or self._stop.requested:
            return
        self._done.clear()
        self._thread = threading.Thread(target=self._reserve_and_hold, args=(list(exp_keys),),
                                        name="lookahead", daemon=True)
        self._thread.start()

    def take(self) -> Reservation | None:
        """The held job, now the caller's to run (waits for a reservation in flight)."""
        self._finish_thread()
        with self._lock:
            held, self._held = self._held, None
        return held

    def renew(self) -> None:
        """Heartbeat the held job; called from the running trial's heartbeat."""
        with self._lock:
            held = self._held
        if held is not None and not self._store.heartbeat(held):
            log.warning("trial %s of %s, reserved ahead, was reclaimed by the farm",
                        held.tid, held.exp_key)
            with self._lock:
                if self._held is held:
                    self._held = None

    def release(self) -> None:
        """Hand the held job (if any) back to the queue now."""
        self._finish_thread()
        self._give_back()

    def _finish_thread(self) -> None:
        self._done.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def _give_back(self) -> None:
        with self._lock:
            held, self._held = self._held, None
        if held is not None:
            log.info("handing trial %s of %s, reserved ahead, back to the queue", held.tid,
                     held.exp_key)
            self._store.release_job(held)

    def _reserve_and_hold(self, exp_keys: list[str]) -> None:
        """Reserve a job (looking again, with a backoff, while the queue is empty and the
        trial runs), then hold it until it is taken or a stop is requested."""
        retry = _FIRST_RETRY
        began = self._clock.now()
        while True:
            try:
                reservation = self._store.reserve_next_job(self._worker_id, exp_keys)
            except Exception:  # the main thread reserves again itself; nothing is held
                log.exception("reserving the next job ahead failed")
                return
            if reservation is not None:
                break
            if self._clock.wait(self._done, retry) or self._stop.requested:
                return
            if self._clock.now() - began >= _BACKOFF_AFTER:
                retry = min(2 * retry, _LONGEST_RETRY)
        with self._lock:
            self._held = reservation
        while not self._clock.wait(self._done, _STOP_CHECK_INTERVAL):
            if self._stop.requested:
                try:
                    self._give_back()
                except Exception:  # the job's heartbeat stops, so the farm reclaims it
                    log.exception("handing back trial %s failed", reservation.tid)
                return
