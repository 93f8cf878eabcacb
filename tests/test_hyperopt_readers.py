"""Hyperopt's own `MongoTrials` reads a farm's jobs and follows them: a reader that refreshes
re-reads a job only when its `version` went up, as Hyperopt's workers make it go up."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from farm import database
from hyperopt import JOB_STATE_DONE, JOB_STATE_NEW, JOB_STATE_RUNNING, Trials
from hyperopt.mongoexp import MongoTrials

import search
import spaces
from search import SearchOptions
from search.experiment import Experiment, ExperimentConflict
from search.farm.proposals import Proposer
from search.policy import Policy
from search.store import open_store
from search.store._mongo._dialect import DIALECT_VARIABLE, DIALECTS

SPACE = spaces.load_space("default")


def hyperopt_url(mongo_url: str) -> str:
    """Hyperopt's form of the same database's `jobs` collection: mongo://host:port/db/jobs."""
    parts = urlsplit(mongo_url)
    return f"mongo://{parts.netloc}{parts.path}/jobs"


@pytest.mark.parametrize("dialect", sorted(DIALECTS))
def test_hyperopts_mongotrials_follows_every_change_of_a_farms_jobs(
        mongo_url: str, dialect: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(DIALECT_VARIABLE, dialect)
    store = open_store(mongo_url)
    try:
        store.record_experiment(Experiment(exp_key="e", space=SPACE.record, objective="noop",
                                           epochs=1, min_accuracy=0.0,
                                           policy=Policy(stale_after=3600.0)))
        proposer = Proposer("e", SPACE.graph, seed=0, startup_trials=100)
        store.queue_jobs([proposer.propose(tid) for tid in range(3)])
        trials = MongoTrials(hyperopt_url(mongo_url), exp_key="e")  # reads all three, queued
        assert [job["state"] for job in trials.trials] == [JOB_STATE_NEW] * 3

        first = store.reserve_next_job("w1", ["e"])
        second = store.reserve_next_job("w2", ["e"])
        assert first is not None and second is not None
        assert store.finish_job(first, {"status": "ok", "loss": -0.25, "accuracy": 0.5,
                                        "train_seconds": 2.0, "attempt": first.attempt})
        trials.refresh()
        states = {job["tid"]: job["state"] for job in trials.trials}
        assert states == {first.tid: JOB_STATE_DONE, second.tid: JOB_STATE_RUNNING,
                          3 - first.tid - second.tid: JOB_STATE_NEW}
        assert trials.losses()[first.tid] == -0.25
    finally:
        store.close()


def test_a_farms_trials_copy_into_a_plain_trials_as_the_docs_say(mongo_url: str) -> None:
    store = open_store(mongo_url)
    try:
        store.record_experiment(Experiment(exp_key="copied", space=SPACE.record,
                                           objective="noop", epochs=1, min_accuracy=0.0))
        proposer = Proposer("copied", SPACE.graph, seed=0, startup_trials=100)
        store.queue_jobs([proposer.propose(tid) for tid in range(2)])
        reservation = store.reserve_next_job("w1", ["copied"])
        assert reservation is not None and store.finish_job(reservation, {
            "status": "ok", "loss": -0.5, "accuracy": 0.5, "train_seconds": 1.0,
            "attempt": reservation.attempt})
    finally:
        store.close()
    farm = MongoTrials(hyperopt_url(mongo_url), exp_key="copied")
    copied = Trials(exp_key="copied")
    copied.insert_trial_docs([{k: v for k, v in doc.items() if k != "changed"}  # docs/farm.md
                              for doc in farm.trials])
    copied.refresh()
    assert len(copied.trials) == 2 and -0.5 in copied.losses()


def test_a_search_does_not_take_over_jobs_hyperopt_filed_under_its_key(mongo_url: str) -> None:
    """Hyperopt's fmin with MongoTrials writes jobs and no experiment record: counted as a
    new search's trials, they would eat its max_evals and mix into its tables."""
    database(mongo_url).jobs.insert_one({"exp_key": "stock", "tid": 0, "state": 2,
                                         "misc": {"vals": {"x": [0.5]}},
                                         "result": {"status": "ok", "loss": 0.25}})
    with pytest.raises(ExperimentConflict, match="1 jobs under the key 'stock'"):
        search.optimize("noop", "default", SearchOptions(store=mongo_url, exp_key="stock"))
