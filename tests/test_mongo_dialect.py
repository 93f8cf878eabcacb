"""The MongoDB dialect (MongoDB proper, or FerretDB's by-`_id` paths) is chosen once per store:
from the server's buildInfo, or as HPSEARCH_MONGO_DIALECT forces it."""

from __future__ import annotations

import pymongo
import pytest

from search.store import StoreError, open_store
from search.store._mongo import MongoStore
from search.store._mongo._dialect import DIALECT_VARIABLE


def dialect_of(url: str) -> str:
    store = open_store(url)
    try:
        assert isinstance(store, MongoStore)
        return store.dialect.name
    finally:
        store.close()


def test_a_forced_dialect_is_the_one_the_store_uses(mongo_url: str, mongo_dialect: str) -> None:
    assert dialect_of(mongo_url) == mongo_dialect


def test_auto_chooses_by_the_servers_build_info(mongo_url: str,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(DIALECT_VARIABLE, "auto")
    with pymongo.MongoClient(mongo_url, serverSelectionTimeoutMS=5000) as client:
        ferretdb = "ferretdbVersion" in client.admin.command("buildInfo")
    assert dialect_of(mongo_url) == ("ferretdb" if ferretdb else "mongodb")


def test_an_unknown_dialect_is_one_clear_error(mongo_url: str,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(DIALECT_VARIABLE, "postgres")
    with pytest.raises(StoreError, match="HPSEARCH_MONGO_DIALECT='postgres'.*auto, mongodb "
                                         "or ferretdb"):
        open_store(mongo_url)
