"""The test database has the properties our job queue relies on.

Run against the real server over TCP (FerretDB by default; see tests/mongodb_server.py).
FerretDB v1's ``update``/``findAndModify`` are a read followed by a separate write, so two
workers can both "win" the same conditional update.  What *is* exact is a unique index: of many
concurrent inserts of the same key, exactly one succeeds.  Job reservation is built on that.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import time
from collections import Counter
from collections.abc import Iterator

import pymongo
import pymongo.errors
import pytest
from mongodb_server import MongoServer, ping
from pymongo.database import Database

N_IDS = 200
N_PROCESSES = 6

# Each racer is a separate Python process with its own connection pool.  All connect first,
# then spin until a common wall-clock instant so their inserts really overlap.
RACER = textwrap.dedent(
    """
    import json, sys, time
    import pymongo, pymongo.errors

    url, collection, me, start_at, n_ids = sys.argv[1:6]
    client = pymongo.MongoClient(url, serverSelectionTimeoutMS=10000)
    col = client.get_default_database()[collection]
    client.admin.command("ping")
    while time.time() < float(start_at):
        pass
    won, lost = [], 0
    for i in range(int(n_ids)):
        try:
            col.insert_one({"_id": i, "owner": me})
            won.append(i)
        except pymongo.errors.DuplicateKeyError:
            lost += 1
    print(json.dumps({"won": won, "lost": lost}))
    """
)


@pytest.fixture
def db(mongo_url: str) -> Iterator[Database]:
    client: pymongo.MongoClient = pymongo.MongoClient(mongo_url, serverSelectionTimeoutMS=5000)
    try:
        yield client.get_default_database()
    finally:
        client.close()


def test_insert_find_round_trip(db: Database) -> None:
    doc = {
        "_id": 7,
        "exp_key": "e",
        "tid": 7,
        "result": {"status": "new"},
        "misc": {"vals": {"lr": [0.1]}},
    }
    db.jobs.insert_one(doc)
    assert db.jobs.find_one({"tid": 7}) == doc
    assert db.jobs.find_one({"tid": 8}) is None
    db.jobs.update_one({"_id": 7}, {"$set": {"result.loss": -0.5, "result.status": "ok"}})
    assert db.jobs.find_one({"_id": 7}) == {**doc, "result": {"status": "ok", "loss": -0.5}}


def test_duplicate_id_raises_duplicate_key_error(db: Database) -> None:
    db.jobs.insert_one({"_id": "job-1", "owner": "a"})
    with pytest.raises(pymongo.errors.DuplicateKeyError):
        db.jobs.insert_one({"_id": "job-1", "owner": "b"})
    assert list(db.jobs.find()) == [{"_id": "job-1", "owner": "a"}]


def test_concurrent_inserts_of_same_id_each_won_exactly_once(db: Database, mongo_url: str) -> None:
    start_at = time.time() + 3.0  # time for every racer to start Python and connect
    racers = [
        subprocess.Popen(
            [sys.executable, "-c", RACER, mongo_url, "race", f"racer{k}", str(start_at)]
            + [str(N_IDS)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for k in range(N_PROCESSES)
    ]
    results = {}
    for k, racer in enumerate(racers):
        out, err = racer.communicate(timeout=120)
        assert racer.returncode == 0, f"racer{k} failed:\n{err}"
        results[f"racer{k}"] = json.loads(out)

    wins = Counter(i for r in results.values() for i in r["won"])
    assert sorted(wins) == list(range(N_IDS)), "some _id was won by nobody"
    assert [i for i, n in wins.items() if n > 1] == [], "some _id was won more than once"
    assert sum(r["lost"] for r in results.values()) == N_IDS * (N_PROCESSES - 1)
    # The stored owner of every _id is the one racer that was told it won.
    owners = {d["_id"]: d["owner"] for d in db.race.find()}
    assert owners == {i: me for me, r in results.items() for i in r["won"]}


def test_unique_compound_index_is_enforced(db: Database) -> None:
    db.jobs.create_index([("exp_key", 1), ("tid", 1)], unique=True)
    db.jobs.insert_many(
        [{"exp_key": "a", "tid": 1}, {"exp_key": "a", "tid": 2}, {"exp_key": "b", "tid": 1}]
    )
    with pytest.raises(pymongo.errors.DuplicateKeyError):
        db.jobs.insert_one({"exp_key": "a", "tid": 1})
    # An update that would create a duplicate is refused too; FerretDB reports it as a generic
    # OperationFailure (SQLite's UNIQUE constraint), mongod as DuplicateKeyError (a subclass).
    with pytest.raises(pymongo.errors.OperationFailure):
        db.jobs.update_one({"exp_key": "b", "tid": 1}, {"$set": {"exp_key": "a"}})
    assert db.jobs.count_documents({"exp_key": "a", "tid": 1}) == 1
    assert db.jobs.count_documents({}) == 3


def test_restart_on_same_data_dir_keeps_data(mongo_server: MongoServer, db: Database) -> None:
    mongo_server.require_restartable()
    url_before = mongo_server.url
    db.jobs.insert_many([{"_id": i, "tid": i} for i in range(50)])
    db.jobs.create_index([("tid", 1)], unique=True)

    mongo_server.stop()
    assert not mongo_server.running
    with pytest.raises(pymongo.errors.PyMongoError):
        ping(url_before, timeout_s=0.5)

    mongo_server.start()
    assert mongo_server.url == url_before
    # The test's client, opened before the outage, reconnects by itself.
    assert db.jobs.count_documents({}) == 50
    assert db.jobs.find_one({"_id": 49}) == {"_id": 49, "tid": 49}
    with pytest.raises(pymongo.errors.DuplicateKeyError):
        db.jobs.insert_one({"tid": 3})
