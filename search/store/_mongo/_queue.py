"""Finding a queued job to claim: candidates kept from the last read, reads of the queue, and
(where reads scan) probes of the next job ids.

A read of the queue hands a worker a few candidates (as many as the dialect says), oldest
first; those it does not claim are kept, and a reservation made before the next read is due
claims from them (the process's other threads, on FerretDB, where reads are rationed). A stale
candidate costs one refused claim insert, never a wrong reservation (see MongoStore._claim).

On FerretDB, where that read scans every job, the queue is mostly found by `_id`: the driver
queues tids in order, so the next job is usually `<exp_key>/<one past the last tid seen>`.
The queue is then read whole at most once a second (for requeued, older jobs), and less often
while those reads find nothing the probes would not (up to every eight seconds), so neither an
idle farm nor a busy one keeps the database scanning; a requeue by this process has the next
reservation read it at once. The dialect's QueueReading says how often; on MongoDB every
reservation reads the queue.

The process's threads (a worker and its lookahead, or many simulated workers) find the same
next jobs. An attempt that one of them is claiming, or has claimed or lost, is not tried again
by another: its run claim is taken or about to be, and each such try would be one refused
insert, which on FerretDB contends for the database's single writer.
"""

from __future__ import annotations

import random
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Set
from functools import partial
from typing import Any

from pymongo import ASCENDING
from pymongo.collection import Collection

from search.documents import AVOID_WORKER, JOB_STATE_NEW, JobDoc, has_trial_identity
from search.store._base import Reservation
from search.store._mongo._connection import Connection
from search.store._mongo._dialect import QueueReading
from search.store._mongo._ids import job_id

Claim = Callable[[JobDoc], Reservation | None]
Attempt = tuple[Any, int]  # (job `_id`, attempt)

_TRIED_KEPT = 4096  # attempts remembered as tried by this process (oldest forgotten first)


class QueuedJobs:
    """The queue as this process finds it, shared by its reserving threads."""

    def __init__(self, connection: Connection, jobs: Collection[JobDoc], reading: QueueReading
                 ) -> None:
        self._call = connection.call
        self._jobs = jobs
        self._reading = reading
        self._lock = threading.Lock()
        self._candidates: list[JobDoc] = []
        self._next_tids: dict[str, int] = {}
        self._next_read_at = float("-inf")
        self._read_wait = reading.read_wait
        self._random = random.Random()
        # Attempts a thread of this process is claiming, has claimed, or lost to a rival.
        self._tried: OrderedDict[Attempt, None] = OrderedDict()

    def reserve(self, wanted: Set[str], claim: Claim, worker_id: str, ahead: bool = False
                ) -> Reservation | None:
        """The first reservation `claim` grants: from a read of the queue when one is due
        (the candidates kept from the last read are stale by then: rivals took most of them,
        and each stale one would cost a refused insert), else from the kept candidates, then
        from probes past the last tids seen. A candidate whose `avoid_worker` is `worker_id`
        (a confirmation run of this worker's trial) is tried last, and not at all `ahead`:
        a worker reserving ahead is busy, so another worker may well take it."""
        claim_first = partial(self._claim_first, claim=claim, worker_id=worker_id, ahead=ahead)
        with self._lock:
            leftovers = [job for job in self._candidates if job["exp_key"] in wanted]
            self._candidates = []
        if time.monotonic() < self._next_read_at:
            return claim_first(leftovers) or claim_first(self._probe(wanted))
        frontier = dict(self._next_tids)
        found = self._read(wanted)
        reservation = claim_first(found)
        if reservation is not None and any(_behind(job, frontier) for job in found):
            self._read_wait = self._reading.read_wait
        else:  # nothing, or only what the probes find anyway: the read can wait longer
            self._read_wait = min(2 * self._read_wait, self._reading.longest_read_wait)
        self._next_read_at = time.monotonic() + self._read_wait
        return reservation or claim_first(self._probe(wanted))

    def requeued(self) -> None:
        """A job went back to the queue: it is older than every kept candidate, so the next
        reservation reads the queue again, to get the oldest queued job first."""
        with self._lock:
            self._candidates = []
            self._next_read_at = float("-inf")
            self._read_wait = self._reading.read_wait

    def _claim_first(self, candidates: list[JobDoc], claim: Claim, worker_id: str | None,
                     ahead: bool = False) -> Reservation | None:
        """Claim the first candidate that no rival has claimed; keep the rest for next time.

        The oldest is tried first; once a rival has won it, the others are tried in random
        order, so that workers that read the queue together do not all race for the next
        one (each lost race costs a refused insert). Those to leave to other workers go last,
        or, `ahead`, are not tried."""
        rest = list(range(1, len(candidates)))
        self._random.shuffle(rest)
        order = [0, *rest] if candidates else []

        def avoided(index: int) -> bool:
            return worker_id is not None and candidates[index].get(AVOID_WORKER) == worker_id

        order.sort(key=avoided)  # stable: the others keep their order
        if ahead:
            order = [index for index in order if not avoided(index)]
        reservation = None
        tried = 0
        while reservation is None and tried < len(order):
            reservation = self._claim_once(candidates[order[tried]], claim)
            tried += 1
        kept = set(range(len(candidates))) - set(order[:tried])  # left for another time
        if reservation is not None or kept:
            with self._lock:
                self._candidates = [job for position, job in enumerate(candidates)
                                    if position in kept] + self._candidates
        return reservation

    def _claim_once(self, job: JobDoc, claim: Claim) -> Reservation | None:
        """`claim(job)`, unless a thread of this process has tried that attempt (None then).
        A claim that raised is forgotten, so that the attempt is tried again."""
        attempt: Attempt = (job["_id"], job.get("attempt", 0))
        with self._lock:
            if attempt in self._tried:
                return None
            self._tried[attempt] = None
            if len(self._tried) > _TRIED_KEPT:
                self._tried.popitem(last=False)
        try:
            return claim(job)
        except BaseException:
            with self._lock:
                self._tried.pop(attempt, None)
            raise

    def _read(self, wanted: Set[str]) -> list[JobDoc]:
        """The oldest queued jobs, oldest first. Workers that read the queue at the same
        moment race for the same jobs; each lost race costs one refused insert."""
        query: dict[str, Any] = {"state": JOB_STATE_NEW, "exp_key": {"$in": sorted(wanted)}}
        limit = self._reading.candidates
        found = self._call(
            lambda: list(self._jobs.find(query).sort("tid", ASCENDING).limit(limit)))
        for job in found:
            self._saw(job)
        return found

    def _probe(self, wanted: Set[str]) -> list[JobDoc]:
        """Queued jobs found by `_id` just past the last tid seen of each experiment (from
        tid 0 for one not seen yet)."""
        found: list[JobDoc] = []
        for exp_key in sorted(wanted):
            tid = self._next_tids.get(exp_key, 0)
            for probe in range(tid, tid + self._reading.probes):
                job = self._call(partial(self._jobs.find_one, {"_id": job_id(exp_key, probe)}))
                if job is None:
                    break  # not queued yet
                self._saw(job)
                if job["state"] == JOB_STATE_NEW:
                    found.append(job)  # and the next ones: a rival may win this one
        return found

    def _saw(self, job: JobDoc) -> None:
        if not has_trial_identity(job):
            return  # a malformed job: the worker that reserves it fails it
        key = job["exp_key"]
        self._next_tids[key] = max(self._next_tids.get(key, 0), job["tid"] + 1)


def _behind(job: JobDoc, frontier: dict[str, int]) -> bool:
    """Whether `job` lies behind the tids probed so far (a requeued job, or one queued out
    of order): a job only a read of the whole queue finds."""
    return has_trial_identity(job) and job["tid"] < frontier.get(job["exp_key"], 0)
