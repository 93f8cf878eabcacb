"""One job reserved ahead: while a trial runs, the worker already holds its next job.

Reserving takes round trips to the database (and, on FerretDB, a scan of the queue); done
between two trials it is GPU time lost. A `Lookahead` reserves the next job from a background
thread while the current trial runs, so the next trial starts the moment the current one is
reported. The held job is RUNNING and owned by this worker like the current one; the worker's
heartbeat renews both. A stop request hands the held job back at once, without waiting for
the running trial to end. It is reserved `ahead`: its attempt starts, and counts toward the
experiment's `max_attempts`, only when the worker begins it (Store.begin), so a job held by
a worker that stops or dies before running it is requeued, never abandoned.
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
_BACKOFF_AFTER = 1.0  # seconds of finding nothing; then the wait doubles, up to longest_retry


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
        self._renewed_at = float("-inf")  # when the held job was reserved or last renewed
        self._done = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self, exp_keys: Collection[str], longest_retry: float = 1.0) -> None:
        """Begin reserving the next job in the background (no-op if one is held or pending).

        While the queue is empty it looks again every 20 ms for a second, then backs off to
        `longest_retry`: a job held ahead is needed only when the running trial ends, and a
        trial that ends first stops the looking (the worker reserves for itself), so waiting
        longer delays nothing but saves the queue a read per wait on every busy worker."""
        if self._thread is not None or self._held is not None or self._stop.requested:
            return
        self._done.clear()
        self._thread = threading.Thread(target=self._reserve_and_hold,
                                        args=(list(exp_keys), longest_retry),
                                        name="lookahead", daemon=True)
        self._thread.start()

    def take(self) -> Reservation | None:
        """The held job, now the caller's to run (waits for a reservation in flight)."""
        self._finish_thread()
        with self._lock:
            held, self._held = self._held, None
        return held

    def renew(self, every: float = 0.0) -> None:
        """Heartbeat the held job, unless it was renewed (or reserved) less than `every`
        seconds ago; called from the running trial's heartbeat. A worker renews it three
        times per `stale_after`, as often as it reports itself live: enough that no reclaimer
        takes it for dead, and half the beats saved at the default policy (a beat every
        `stale_after`/5)."""
        with self._lock:
            held = self._held
            now = self._clock.now()
            if held is None or now - self._renewed_at < every:
                return
            self._renewed_at = now
        if not self._store.heartbeat(held):
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

    def _reserve_and_hold(self, exp_keys: list[str], longest_retry: float) -> None:
        """Reserve a job (looking again, with a backoff, while the queue is empty and the
        trial runs), then hold it until it is taken or a stop is requested."""
        retry = _FIRST_RETRY
        began = self._clock.now()
        while True:
            try:
                reservation = self._store.reserve_next_job(self._worker_id, exp_keys,
                                                           ahead=True)
            except Exception:  # the main thread reserves again itself; nothing is held
                log.exception("reserving the next job ahead failed")
                return
            if reservation is not None:
                break
            if self._clock.wait(self._done, retry) or self._stop.requested:
                return
            if self._clock.now() - began >= _BACKOFF_AFTER:
                retry = min(2 * retry, longest_retry)
        with self._lock:
            self._held = reservation
            self._renewed_at = self._clock.now()
        while not self._clock.wait(self._done, _STOP_CHECK_INTERVAL):
            if self._stop.requested:
                try:
                    self._give_back()
                except Exception:  # the job's heartbeat stops, so the farm reclaims it
                    log.exception("handing back trial %s failed", reservation.tid)
                return
