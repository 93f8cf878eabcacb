"""Shared fixtures.  The test database's logic lives in tests/mongodb_server.py."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pymongo
import pytest
from hpsearch_processes import HpsearchProcesses
from mongodb_server import MongoServer, database_url

from search.store._mongo._dialect import DIALECT_VARIABLE, DIALECTS


@pytest.fixture(scope="session")
def mongo_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MongoServer]:
    """One MongoDB-compatible server for the whole session (see tests/mongodb_server.py)."""
    server = MongoServer.from_environment(tmp_path_factory.mktemp("mongodb"))
    server.start()
    try:
        yield server
    finally:
        if server.can_restart:
            server.stop()


@pytest.fixture
def mongo_url(mongo_server: MongoServer) -> Iterator[str]:
    """URL of a fresh, uniquely named database on the session's server; dropped afterwards."""
    mongo_server.ensure_running()  # an earlier test may have left it stopped
    name = f"hpsearch_test_{uuid.uuid4().hex[:8]}"
    yield database_url(mongo_server.url, name)
    mongo_server.ensure_running()
    client: pymongo.MongoClient = pymongo.MongoClient(
        mongo_server.url, serverSelectionTimeoutMS=5000
    )
    with client:
        client.drop_database(name)



@pytest.fixture(params=DIALECTS)
def mongo_dialect(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch,
                  hpsearch: HpsearchProcesses) -> str:
    """Each test that uses this runs once with each MongoDB dialect forced, in this process
    and in the hpsearch processes it starts: the one the test server calls for, and the
    other, which is correct on any server, only slower. So the code a MongoDB deployment
    runs is tested on FerretDB too."""
    return force_dialect(str(request.param), monkeypatch, hpsearch)


@pytest.fixture(params=["embedded", *(f"{dialect}-dialect" for dialect in DIALECTS)])
def store_location(request: pytest.FixtureRequest, tmp_path: Path,
                   monkeypatch: pytest.MonkeyPatch, hpsearch: HpsearchProcesses) -> str:
    """Each test that uses this runs on an embedded store, and on MongoDB with each dialect
    (see mongo_dialect)."""
    if request.param == "embedded":
        return str(tmp_path / "store")
    force_dialect(request.param.removesuffix("-dialect"), monkeypatch, hpsearch)
    return str(request.getfixturevalue("mongo_url"))


def force_dialect(dialect: str, monkeypatch: pytest.MonkeyPatch,
                  hpsearch: HpsearchProcesses) -> str:
    monkeypatch.setenv(DIALECT_VARIABLE, dialect)
    monkeypatch.setitem(hpsearch.environment, DIALECT_VARIABLE, dialect)
    return dialect


@pytest.fixture(scope="session")
def hpsearch(tmp_path_factory: pytest.TempPathFactory) -> HpsearchProcesses:
    """Run the real `hpsearch` command in subprocesses, as a user would; workers spool their
    results under the session's temporary directory, not the user's."""
    processes = HpsearchProcesses()
    processes.environment["HPSEARCH_SPOOL_DIR"] = str(tmp_path_factory.mktemp("worker-spool"))
    return processes
