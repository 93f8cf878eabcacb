"""Shared fixtures.  The test database's logic lives in tests/mongodb_server.py."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pymongo
import pytest
from hpsearch_processes import HpsearchProcesses
from mongodb_server import MongoServer, database_url


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



@pytest.fixture(params=["embedded", "mongodb"])
def store_location(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Each test that uses this runs once on an embedded store and once on MongoDB."""
    if request.param == "embedded":
        return str(tmp_path / "store")
    return request.getfixturevalue("mongo_url")


@pytest.fixture(scope="session")
def hpsearch(tmp_path_factory: pytest.TempPathFactory) -> HpsearchProcesses:
    """Run the real `hpsearch` command in subprocesses, as a user would; workers spool their
    results under the session's temporary directory, not the user's."""
    processes = HpsearchProcesses()
    processes.environment["HPSEARCH_SPOOL_DIR"] = str(tmp_path_factory.mktemp("worker-spool"))
    return processes
