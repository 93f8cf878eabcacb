"""Connecting to MongoDB and living through outages, in one place.

Every call the MongoDB store makes goes through `Connection.call`: a database that goes away
(a restart, a failover, a network blip, an afternoon's maintenance) is retried with capped
exponential backoff for as long as it is away, and logged when it goes, every few minutes
while it stays away, and when it returns: a search or a worker waits an outage out, and
Ctrl-C stops it meanwhile. An operation the server cuts short (as it shuts down, or when it
loses its own network) is part of the same outage, not a failed call.
Connecting at start-up, in contrast, fails fast with one clear message, because then the
likeliest cause is a wrong URL.

Retries come at least once a second, so that a process notices at once that the database is
back: a worker's heartbeat that lags the driver's return by more than `stale_after` would make
a live trial look dead.

`Connection.insert_once` is the one primitive the store's exactness rests on: a document
inserted under a chosen `_id` is created by exactly one caller, retries included.

Every socket has a timeout, so a connection that goes silent (a black-holed network path,
a frozen server) becomes a retried outage instead of a call that hangs forever. Timeouts set
in the URL (`socketTimeoutMS`, `connectTimeoutMS`, `serverSelectionTimeoutMS`) win over ours.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import unquote

import pymongo
from pymongo.collection import Collection
from pymongo.database import Database
from pymongo.errors import (
    ConfigurationError,
    ConnectionFailure,
    DuplicateKeyError,
    InvalidURI,
    OperationFailure,
    PyMongoError,
)

from search.store._base import StoreError, StoreUnreachable
from search.store._mongo._operations import OperationCounter
from search.store.outages import OutageLog
from search.urls import redact_location, scrub, secrets_of

log = logging.getLogger(__name__)
T = TypeVar("T")

DEFAULT_DATABASE = "hpsearch"
_UNAUTHORIZED = 13  # MongoDB's error code for an operation the user's roles do not allow

# Replies that mean an operation was cut short by the server's own trouble, not refused. A
# server shutting down or stepping down answers with codes that pymongo raises as
# NotPrimaryError, a ConnectionFailure, so those are outages already. These come as a plain
# OperationFailure: a network error between a router and its shards (HostUnreachable,
# HostNotFound, NetworkTimeout, SocketException, ExceededTimeLimit,
# ReadConcernMajorityNotAvailableYet), which pymongo retries once and then raises; and
# CursorNotFound, a cursor that a restarted server has forgotten (every call reads its cursor
# to the end, so the retry reads it all again).
_INTERRUPTED = frozenset({6, 7, 43, 89, 134, 262, 9001})
_INTERNAL_ERROR = 1


class Connection:
    """A MongoDB database reached through a URL, with retries that outlast short outages."""

    def __init__(
        self,
        url: str,
        *,
        connect_timeout: float = 2.0,
        socket_timeout: float = 30.0,
        max_backoff: float = 1.0,
    ) -> None:
        self.location = redact_location(url)
        self._secrets = secrets_of(url)
        self._max_backoff = max_backoff
        self._outage = OutageLog(self.location)
        self.operations = OperationCounter()  # what this connection asked of the database
        timeouts: dict[str, Any] = {
            # Also how long one call waits for a vanished server before `call` logs the
            # outage and starts its backoff: short, so that outages are seen and said.
            "serverSelectionTimeoutMS": int(connect_timeout * 1000),
            "connectTimeoutMS": int(connect_timeout * 1000),
            # Longer than any one query of ours takes, even on FerretDB's collection scans.
            "socketTimeoutMS": int(socket_timeout * 1000),
        }
        try:
            self._client: pymongo.MongoClient[dict[str, Any]] = pymongo.MongoClient(
                url,
                tz_aware=True,
                appname="hpsearch",
                event_listeners=[self.operations],
                **_not_set_in(url, timeouts),
            )
            database = self._client.get_default_database(default=DEFAULT_DATABASE)
        except (InvalidURI, ConfigurationError, ValueError, TypeError) as error:
            # The hint goes on lines of its own: redaction takes a line's URL to its last `@`.
            raise StoreError(
                f"invalid MongoDB URL {self.location}: {self._scrub(error).rstrip('.')}.\n"
                "Expected mongodb://host[:port][/database][?options]; a login goes before the "
                "host,\nas user:password@, each percent-escaped (urllib.parse.quote_plus)."
            ) from None
        except OSError as error:  # a file the URL's TLS options name, missing or unreadable
            raise StoreError(f"cannot use the MongoDB URL {self.location}: "
                             f"{self._scrub(error)} (a file named in its tls options)") from None
        _check_database_name(url, self.location)
        self.database: Database[dict[str, Any]] = database
        self._check_reachable()

    def call(self, operation: Callable[[], T]) -> T:
        """Run one database operation, retrying through an outage however long it lasts."""
        backoff = 0.2
        while True:
            try:
                result = operation()
            except OperationFailure as error:
                if error.code == _UNAUTHORIZED:
                    raise StoreError(
                        f"MongoDB at {self.location} refused an operation: {self._scrub(error)}. "
                        "`hpsearch search` and `hpsearch worker` need a user with the readWrite "
                        "role on the database; the other commands only read."
                    ) from None
                if not _interrupted(error):
                    raise
                failure: PyMongoError = error
            except ConnectionFailure as error:
                failure = error
            else:
                self._outage.answered()
                return result
            self._outage.failed(f"database {self.location} unreachable "
                                f"({self._scrub(failure)})")
            time.sleep(backoff)
            backoff = min(backoff * 2, self._max_backoff)

    @property
    def outages(self) -> int:
        """Outages lived through: heartbeats could not reach us meanwhile."""
        return self._outage.outages

    def insert_once(self, collection: Collection[dict[str, Any]], document: dict[str, Any]
                    ) -> bool:
        """Insert a document with a chosen `_id`; True if this call created it.

        A retried insert whose first try reached the server sees its own document as a
        duplicate: the nonce tells our own document from a rival's.
        """
        document = {**document, "nonce": uuid.uuid4().hex}
        tries = 0

        def insert() -> None:
            nonlocal tries
            tries += 1
            collection.insert_one(document)

        try:
            self.call(insert)
            return True
        except DuplicateKeyError:
            if tries == 1:
                return False  # refused at the first try: the document is a rival's
            existing = self.call(
                lambda: collection.find_one({"_id": document["_id"]}, {"nonce": 1}))
            return existing is not None and existing.get("nonce") == document["nonce"]

    def close(self) -> None:
        self._client.close()

    def _check_reachable(self) -> None:
        try:
            self._client.admin.command("ping")
            self.database.list_collection_names()
        except ConnectionFailure as error:
            self.close()
            raise StoreUnreachable(
                f"cannot reach MongoDB at {self.location}: {self._scrub(error)}. "
                "Check the host and port, and that the server is running (in a checkout of "
                "hpsearch, `make db` starts a local one)."
            ) from None
        except OperationFailure as error:
            self.close()
            raise StoreError(
                f"MongoDB at {self.location} refused access: {self._scrub(error).rstrip('.')}. "
                "Check the user name and password in the URL (and authSource)."
            ) from None
        except ConfigurationError as error:  # found only on logging in: a mechanism's module
            self.close()
            raise StoreError(
                f"cannot log in to MongoDB at {self.location}: "
                f"{self._scrub(error).rstrip('.')}. Install what it names, or choose another "
                "authMechanism in the URL."
            ) from None

    def _scrub(self, error: object) -> str:
        text = error.details.get("errmsg", str(error)) if isinstance(
            error, OperationFailure) and error.details else str(error)
        return scrub(text, self._secrets).split(", Timeout:")[0]


def _interrupted(error: OperationFailure) -> bool:
    """Whether the server cut the operation short for trouble of its own, rather than refused it.

    FerretDB says so with an internal error: it cancels a connection's operations three
    seconds after it begins to shut down ("context canceled after delay").
    """
    if error.code in _INTERRUPTED:
        return True
    message = (error.details or {}).get("errmsg", str(error))
    return error.code == _INTERNAL_ERROR and "context canceled" in str(message)


def _check_database_name(url: str, location: str) -> None:
    """Refuse a database name with a dot. MongoDB allows none, and pymongo reads `/team.p1` as
    database `team`, collection `p1`, so `team.p1` and `team.p2` would silently be one store."""
    name = unquote(url.partition("?")[0].split("/", 3)[3] if url.count("/") >= 3 else "")
    if "." in name:
        before = name.partition(".")[0] or DEFAULT_DATABASE
        raise StoreError(
            f"invalid MongoDB URL {location}: the database name {name!r} has a '.', which "
            "MongoDB does not allow in a database name.\nName it without dots, such as "
            f"{name.replace('.', '_')!r}. (hpsearch releases before 2026-12-07 used the "
            f"database {before!r} for this URL: its experiments are there.)"
        )


def _not_set_in(url: str, options: dict[str, Any]) -> dict[str, Any]:
    """`options` less those the URL's query string sets (MongoDB options ignore case)."""
    query = url.partition("?")[2]
    in_url = {name.lower() for name, _, _ in (part.partition("=") for part in query.split("&"))}
    return {name: value for name, value in options.items() if name.lower() not in in_url}
