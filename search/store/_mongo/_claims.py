"""The `claims` collection: every decision about a job, inserted once under the id that names it.

- run claim `<job>/run/<attempt>`: who runs that attempt of the job. Exactly one worker wins it.
  One marked `ahead` was reserved by a worker's lookahead while another trial ran: that attempt
  starts only when its start claim `<job>/start/<attempt>` is inserted, as the worker begins
  it. Only attempts that started count toward the experiment's `max_attempts`.
- requeue claim `<job>/requeue/<attempt>`: who gave that attempt up (its heartbeat stopped, or
  its worker was stopping), and the decision taken: requeue the job, or abandon it after its
  last attempt. A later process that gives the same attempt up applies the recorded decision.
- result claim `<job>/result`: the result, committed once. A result from a worker presumed
  dead is the trial's if it comes first. An abandoned trial has no result claim, so a real
  result that arrives later still takes it.

A claim's `time` is the server's (ServerClock), whatever the clock of the host that made it:
the result claim's is when the trial finished, which the pace of a search is measured by.
"""

from __future__ import annotations

from typing import Any

from pymongo.collection import Collection

from search.store._mongo._connection import Connection
from search.store._mongo._dialect import Dialect
from search.store._mongo._ids import (
    requeue_claim_id,
    result_claim_id,
    run_claim_id,
    start_claim_id,
)
from search.store._mongo._server_clock import ServerClock

Claim = dict[str, Any]


class Claims:
    """Inserts and reads claims; the job views follow what they decide."""

    def __init__(self, connection: Connection, claims: Collection[Claim], dialect: Dialect,
                 clock: ServerClock) -> None:
        self._connection = connection
        self._call = connection.call
        self._claims = claims
        self._dialect = dialect
        self._clock = clock

    def claim_run(self, job: Any, attempt: int, worker_id: str, ahead: bool = False) -> bool:
        """Claim `attempt` of the job for `worker_id` (`ahead`: it starts only at its start
        claim); whether this call won it."""
        claim = {"_id": run_claim_id(job, attempt), "job": job, "owner": worker_id,
                 "time": self._clock.now()}
        if ahead:
            claim["ahead"] = True
        return self._connection.insert_once(self._claims, claim)

    def claim_start(self, job: Any, attempt: int) -> None:
        """Record that `attempt` of the job, claimed ahead, started running (once)."""
        self._connection.insert_once(self._claims, {
            "_id": start_claim_id(job, attempt), "job": job, "time": self._clock.now()})

    def started_attempts(self, job: Any, last: int) -> list[int]:
        """Which of the attempts 0..`last` of the job started running: one claimed ahead once
        its start claim is in, any other at its run claim (one with no run claim too: a
        worker that keeps no claims, such as Hyperopt's own, started what it reserved)."""
        attempts = range(last + 1)
        runs = self.run_claims([(job, attempt) for attempt in attempts])
        ahead = [attempt for (_, attempt), claim in runs.items() if claim.get("ahead")]
        if not ahead:
            return list(attempts)
        begun = {claim["_id"] for claim in self._dialect.find_by_ids(
            self._claims, [start_claim_id(job, attempt) for attempt in ahead], {"_id": 1})}
        return [attempt for attempt in attempts
                if attempt not in ahead or start_claim_id(job, attempt) in begun]

    def run_claims(self, jobs_and_attempts: list[tuple[Any, int]]) -> dict[tuple[Any, int], Claim]:
        """The run claims of these attempts that someone holds, by (job, attempt)."""
        wanted = {run_claim_id(job, attempt): (job, attempt) for job, attempt in jobs_and_attempts}
        found = self._dialect.find_by_ids(self._claims, list(wanted)) if wanted else []
        return {wanted[claim["_id"]]: claim for claim in found}

    def commit_result(self, job: Any, attempt: int, worker_id: str, result: dict[str, Any]
                      ) -> tuple[bool, Claim | None]:
        """Commit the result of `attempt`, unless the job has one: whether this call did, and
        the committed claim (ours, or the one that came first)."""
        claim = {"_id": result_claim_id(job), "job": job, "owner": worker_id,
                 "attempt": attempt, "result": result, "time": self._clock.now()}
        if self._connection.insert_once(self._claims, claim):
            return True, claim
        return False, self.result(job)

    def result(self, job: Any) -> Claim | None:
        """The job's committed result claim, or None."""
        return self._call(lambda: self._claims.find_one({"_id": result_claim_id(job)}))

    def results(self, jobs: list[Any]) -> list[Claim]:
        """The committed result claims of these jobs (those that have one)."""
        return self._dialect.find_by_ids(self._claims, [result_claim_id(job) for job in jobs])

    def still_running(self, job: Any, attempt: int) -> bool:
        """Whether the claims leave `attempt` of the job running: not given up, no result."""
        decided = [requeue_claim_id(job, attempt), result_claim_id(job)]
        return not self._dialect.find_by_ids(self._claims, decided, {"_id": 1})

    def give_up(self, job: Any, attempt: int, decision: str, reason: str) -> tuple[str, str]:
        """Record that `attempt` of the job was given up, with `decision` (requeue or
        abandon) and `reason`; the decision and reason that hold: ours, or those a process
        recorded first."""
        claim_id = requeue_claim_id(job, attempt)
        if self._connection.insert_once(self._claims, {
                "_id": claim_id, "job": job, "reason": reason, "decision": decision,
                "time": self._clock.now()}):
            return decision, reason
        recorded = self._call(lambda: self._claims.find_one({"_id": claim_id}))
        if recorded is None:
            return decision, reason
        return recorded.get("decision", "requeue"), recorded.get("reason", reason)
