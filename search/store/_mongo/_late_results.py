"""The `late_results` collection: results that arrived after their trial had one, kept."""

from __future__ import annotations

import datetime
from typing import Any

from pymongo.collection import Collection

from search.documents import is_int
from search.store._base import LateResult, Reservation
from search.store._mongo._connection import Connection
from search.store._mongo._ids import late_result_id
from search.store._mongo._server_clock import ServerClock


class LateResults:
    """Keeps late results, one per attempt, and lists them."""

    def __init__(self, connection: Connection, late_results: Collection[dict[str, Any]],
                 clock: ServerClock) -> None:
        self._connection = connection
        self._late_results = late_results
        self._clock = clock  # a late result's `time` is when it arrived, by the server's clock

    def keep(self, reservation: Reservation, result: dict[str, Any]) -> None:
        """Keep the result of `reservation`'s attempt (once: a resubmission is refused)."""
        self._connection.insert_once(self._late_results, {
            "_id": late_result_id(reservation.job["_id"], reservation.attempt),
            "exp_key": reservation.exp_key, "tid": reservation.tid,
            "attempt": reservation.attempt, "worker": reservation.worker_id,
            "result": result, "time": self._clock.now()})

    def of(self, exp_key: str) -> list[LateResult]:
        """The experiment's late results, by tid then attempt; malformed documents left out."""
        found = self._connection.call(
            lambda: list(self._late_results.find({"exp_key": exp_key})))
        late = [LateResult(exp_key=exp_key, tid=document["tid"], attempt=document["attempt"],
                           worker=document.get("worker"), result=document["result"],
                           arrived=document["time"])
                for document in found if _is_late_result(document)]
        return sorted(late, key=lambda result: (result.tid, result.attempt))


def _is_late_result(document: dict[str, Any]) -> bool:
    return (is_int(document.get("tid")) and is_int(document.get("attempt"))
            and isinstance(document.get("result"), dict)
            and isinstance(document.get("time"), datetime.datetime))
