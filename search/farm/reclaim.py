"""Telling a dead trial from a live one by watching it, on this process's own clock.

A trial's heartbeat is a value that changes while it lives. The Reclaimer remembers, for each
running attempt, the heartbeat it last saw and when (by its own monotonic clock) it first saw
that value. An attempt whose heartbeat it has watched stay the same for the experiment's
`stale_after` is given up. Nothing compares the clocks of two machines, so clock skew between
hosts neither requeues a live trial nor keeps a dead one.

When the Reclaimer's own store loses the database, heartbeats could not arrive either: the
store then shows every beat changed (see RunningAttempt), so the watch starts afresh once the
database is back. An outage longer than `stale_after` therefore never requeues the trials
that ran through it.
"""

from __future__ import annotations

import logging
from collections.abc import Hashable, Mapping

from search.clock import SYSTEM_CLOCK, Clock
from search.policy import Policy
from search.store import RunningAttempt, Store, StoreError

log = logging.getLogger(__name__)

_Key = tuple[str, int, int]  # exp_key, tid, attempt


class Reclaimer:
    """Watches the running attempts of some experiments and gives up those that stop beating."""

    def __init__(self, store: Store, clock: Clock = SYSTEM_CLOCK,
                 passes_per_stale_after: int = 4) -> None:
        self._store = store
        self._clock = clock
        self._passes_per_stale_after = passes_per_stale_after
        self._watched: dict[_Key, tuple[Hashable, float]] = {}
        self._last_pass = float("-inf")

    def due(self, policies: Mapping[str, Policy]) -> bool:
        """Whether a pass is due: `passes_per_stale_after` per shortest `stale_after` (with
        four, a dead attempt is given up at most a quarter of `stale_after` late)."""
        if not policies:
            return False
        shortest = min(policy.stale_after for policy in policies.values())
        interval = shortest / self._passes_per_stale_after
        return self._clock.now() - self._last_pass >= interval

    def run_pass(self, policies: Mapping[str, Policy]) -> list[int]:
        """Look at every running attempt of the experiments in `policies` once; give up those
        watched unchanged for their experiment's `stale_after`. Returns their tids."""
        self._last_pass = self._clock.now()
        try:
            attempts = self._store.running_attempts(list(policies))
        except StoreError as error:
            log.warning("cannot look for dead trials: %s", error)
            self._watched.clear()
            return []
        now = self._clock.now()
        watched: dict[_Key, tuple[Hashable, float]] = {}
        given_up = []
        for attempt in attempts:
            key = (attempt.exp_key, attempt.tid, attempt.attempt)
            beat, since = self._watched.get(key, (None, None))
            if since is None or beat != attempt.beat:
                watched[key] = (attempt.beat, now)
                continue
            silent_for = now - since
            policy = policies[attempt.exp_key]
            if silent_for < policy.stale_after:
                watched[key] = (beat, since)
                continue
            self._give_up(attempt, policy, silent_for)
            given_up.append(attempt.tid)
        self._watched = watched
        return given_up

    def _give_up(self, attempt: RunningAttempt, policy: Policy, silent_for: float) -> None:
        owner = attempt.owner or "a worker that never started it"
        reason = f"the heartbeat of {owner} did not change for {silent_for:.1f} s"
        try:
            self._store.give_up(attempt, policy.max_attempts, reason)
        except StoreError as error:
            log.warning("cannot give up trial %s of %s: %s", attempt.tid, attempt.exp_key, error)
