"""Where trials live: an embedded directory or a MongoDB database, behind one interface."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

from search.store._base import (
    EvidenceTooLarge,
    JobChanges,
    LateResult,
    Reservation,
    RunningAttempt,
    Store,
    StoreError,
    StoreUnreachable,
    WorkerStatus,
    check_exp_key,
    exp_key_problem,
)
from search.urls import (
    is_mongodb_url,
    looks_like_credentials,
    redact_location,
    redact_message,
)

__all__ = ["EvidenceTooLarge", "JobChanges", "LateResult", "Reservation", "RunningAttempt",
           "Store", "StoreError", "StoreUnreachable", "WorkerStatus", "check_exp_key",
           "exp_key_problem", "open_store", "opened_store"]

DEFAULT_LOCATION = "./hpsearch-runs"


def open_store(location: str | os.PathLike[str]) -> Store:
    """The store a `--store` value names: `mongodb://…` for MongoDB, anything else a directory.

    Raises:
        StoreError: a malformed URL, or a database that refuses us.
        StoreUnreachable: a database that cannot be reached.
    """
    if isinstance(location, os.PathLike):
        location = os.fspath(location)
    if not isinstance(location, str) or not location:
        raise StoreError(redact_message(
            f"a store is a directory path or a mongodb:// URL, not {location!r}"))
    # Each backend is imported only when chosen: pymongo costs a query on a directory store
    # a tenth of a second for nothing.
    if is_mongodb_url(location):
        from search.store._mongo import MongoStore

        return MongoStore(location)
    if looks_like_credentials(location):
        raise StoreError(
            f"store {redact_location(location)} looks like a MongoDB address, but not a "
            "URL: start it with mongodb:// (or mongodb+srv://)"
        )
    if "://" in location:
        raise StoreError(
            f"unsupported store {redact_location(location)}: use a directory path or a "
            "mongodb:// URL"
        )
    from search.store._embedded import EmbeddedStore

    return EmbeddedStore(location)


@contextlib.contextmanager
def opened_store(location: str | os.PathLike[str]) -> Iterator[Store]:
    """`open_store(location)`, closed when the block ends."""
    store = open_store(location)
    try:
        yield store
    finally:
        store.close()
