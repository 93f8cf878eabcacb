"""The database server's clock: the one clock the MongoDB store's times are stamped with and
judged by.

Processes on many hosts share the database, not a clock: a worker whose wall clock runs five
minutes behind would report from five minutes in the past, and a reader on another host would
call it lost. So every time the store writes (a worker's report, a claim, a job's start, its
result) is the server's, and every age it reads (how long a worker has been silent, the pace of
the results) is measured against the server's time now. No decision or display compares the
clocks of two machines.

The server's time is read with `hello` (its `localTime`, which every server and FerretDB give
to anyone, logged in or not), at most once a minute and again after an outage (the server may
be another one then: a replica set's new primary), and carried forward meanwhile on this
process's monotonic clock: between two reads only an interval is measured here, never a time
compared with another machine's. Half the read's round trip is added, so the estimate is off
by less than half a round trip plus the drift between two reads, a few milliseconds.
"""

from __future__ import annotations

import dataclasses
import datetime
import logging
import time
from collections.abc import Callable
from typing import Any

from pymongo.errors import OperationFailure

from search.documents import utcnow
from search.store._mongo._connection import Connection

log = logging.getLogger(__name__)

REREAD_AFTER = 60.0  # seconds between two reads of the server's clock
# Seconds the wall clock may run apart from the monotonic one between two reads (NTP slews it
# far less) before this process is taken to have been suspended meanwhile.
_SUSPENDED_AFTER = 1.0
_COMMAND_NOT_FOUND = 59


@dataclasses.dataclass(frozen=True)
class _Reading:
    server_time: datetime.datetime  # the server's time at `monotonic`
    monotonic: float  # this process's monotonic clock when it was read
    wall: datetime.datetime  # and its wall clock, to notice a suspend (see `_is_fresh`)
    outages: int  # the connection's outages then: after another one, it is read again


class ServerClock:
    """The database server's time now, as the MongoDB store stamps and judges its times."""

    def __init__(self, connection: Connection,
                 monotonic: Callable[[], float] = time.monotonic,
                 wall: Callable[[], datetime.datetime] = utcnow) -> None:
        self._connection = connection
        self._monotonic = monotonic
        self._wall = wall
        self._reading: _Reading | None = None
        self._told_no_time = False

    def now(self) -> datetime.datetime:
        """The server's time now, to the millisecond (what a BSON date keeps), UTC.

        Reads the server at most once a minute (see the module's docstring); a read waits an
        outage out, as every call of the store does.
        """
        reading = self._reading  # one read of the attribute: threads may replace it meanwhile
        if reading is None or not self._is_fresh(reading):
            reading = self._read()
        now = reading.server_time + datetime.timedelta(
            seconds=self._monotonic() - reading.monotonic)
        return now.replace(microsecond=now.microsecond // 1000 * 1000)

    def _is_fresh(self, reading: _Reading) -> bool:
        """Read within the minute, before the last outage, and with no suspend since: the
        monotonic clock stops while a laptop or a VM sleeps, the wall clock does not, so
        when the two have gone apart the reading is carried forward no further."""
        elapsed = self._monotonic() - reading.monotonic
        walked = (self._wall() - reading.wall).total_seconds()
        return (0 <= elapsed < REREAD_AFTER and abs(walked - elapsed) < _SUSPENDED_AFTER
                and reading.outages == self._connection.outages)

    def _read(self) -> _Reading:
        reply, before, after = self._connection.call(self._hello)
        outages = self._connection.outages  # after the call: one it waited out is behind it
        local_time = reply.get("localTime")
        if not isinstance(local_time, datetime.datetime):
            # Not a server we know (MongoDB and FerretDB say): this machine's clock is all
            # there is, as before hpsearch read the server's.
            if not self._told_no_time:
                self._told_no_time = True
                log.warning("the database server does not tell its time (no localTime in its "
                            "hello reply); judging times by this machine's clock")
            local_time = utcnow()
        elif local_time.tzinfo is None:  # a command's reply is decoded without the client's tz
            local_time = local_time.replace(tzinfo=datetime.UTC)
        # The server read its clock within the round trip: at its middle, at most half of it
        # off. (The try that answered: the retries of an outage before it do not count.)
        half_round_trip = datetime.timedelta(seconds=(after - before) / 2)
        reading = _Reading(server_time=local_time + half_round_trip, monotonic=after,
                           wall=self._wall(), outages=outages)
        self._reading = reading
        return reading

    def _hello(self) -> tuple[dict[str, Any], float, float]:
        """The server's `hello` reply, and this process's monotonic clock before and after."""
        admin = self._connection.database.client.admin
        before = self._monotonic()
        try:
            reply = admin.command("hello")
        except OperationFailure as error:
            if error.code != _COMMAND_NOT_FOUND:
                raise
            before = self._monotonic()
            reply = admin.command("isMaster")  # a server older than MongoDB 4.4.2
        return reply, before, self._monotonic()
