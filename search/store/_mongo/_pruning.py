"""The `pruning` collection: each experiment's pruning evidence, one document by `_id`.

The driver replaces it as results land; workers read it by `_id` (the one filter FerretDB v1
serves without decoding the collection), at most about once a second each. A read is one try:
in an outage the trial goes on unpruned at once instead of waiting out the outage.

FerretDB v1 stores no array inside an array, and the evidence holds lists of learning
curves: each inner list is stored as ``{"items": [...]}`` and unwrapped on reading.
"""

from __future__ import annotations

from typing import Any, cast

import bson
from pymongo.collection import Collection
from pymongo.errors import DocumentTooLarge, OperationFailure, PyMongoError

from search.store._base import EvidenceTooLarge, StoreError
from search.store._mongo._connection import Connection

MAX_DOCUMENT_BYTES = 16 * 1024 * 1024  # MongoDB's maxBsonObjectSize
_TOO_LARGE_CODES = frozenset({10334, 17419, 17420})  # a server's "document too large" errors


class PruningEvidence:
    """Publishes and reads the evidence document of each experiment."""

    def __init__(self, connection: Connection, collection: Collection[dict[str, Any]],
                 location: str) -> None:
        self._connection = connection
        self._collection = collection
        self._location = location

    def publish(self, exp_key: str, document: dict[str, Any]) -> None:
        """Replace the experiment's evidence (an outage is waited out).

        Raises:
            StoreError: the evidence is more than one document can hold (tens of thousands
                of finished curves).
        """
        stored = {"evidence": _wrapped(document)}
        size = len(bson.encode(stored))
        if size > MAX_DOCUMENT_BYTES:  # pymongo sends up to 16 KiB more, which a server refuses
            raise EvidenceTooLarge(f"the pruning evidence of {exp_key!r} is {size:,} bytes, "
                                   f"more than one document of {self._location} holds "
                                   f"({MAX_DOCUMENT_BYTES:,})")
        try:
            self._connection.call(lambda: self._collection.replace_one(
                {"_id": exp_key}, stored, upsert=True))
        except DocumentTooLarge as error:
            raise EvidenceTooLarge(f"the pruning evidence of {exp_key!r} is more than one "
                                   f"document of {self._location} holds: {error}") from None
        except OperationFailure as error:  # a server's own limit, or a write it refused now
            too_large = error.code in _TOO_LARGE_CODES
            raise (EvidenceTooLarge if too_large else StoreError)(
                f"the pruning evidence of {exp_key!r} could not be stored in "
                f"{self._location}: {error}") from None

    def read(self, exp_key: str) -> dict[str, Any] | None:
        try:
            found = self._collection.find_one({"_id": exp_key})
        except PyMongoError as error:
            raise StoreError(f"cannot read the pruning evidence of {exp_key!r} from "
                             f"{self._location}: {type(error).__name__}") from None
        evidence = found.get("evidence") if found is not None else None
        return cast(dict[str, Any], _unwrapped(evidence)) if isinstance(evidence, dict) else None


_ITEMS = "items"


def _wrapped(value: Any, in_list: bool = False) -> Any:
    """`value` with every list that sits in a list stored as ``{"items": list}``."""
    if isinstance(value, dict):
        return {key: _wrapped(item) for key, item in value.items()}
    if isinstance(value, list):
        items = [_wrapped(item, in_list=True) for item in value]
        return {_ITEMS: items} if in_list else items
    return value


def _unwrapped(value: Any) -> Any:
    """What `_wrapped` stored, as it was."""
    if isinstance(value, dict):
        if set(value) == {_ITEMS} and isinstance(value[_ITEMS], list):
            return [_unwrapped(item) for item in value[_ITEMS]]
        return {key: _unwrapped(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_unwrapped(item) for item in value]
    return value
