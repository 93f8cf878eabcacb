"""The Store interface means the same on both stores: one test body, run on each."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

import spaces
from search.experiment import Experiment
from search.farm.proposals import Proposer
from search.store import Store, open_store

SPACE = spaces.load_space("default")


@pytest.fixture
def store(store_location: str) -> Iterator[Store]:
    opened = open_store(store_location)
    try:
        for exp_key in ("a", "b"):
            opened.record_experiment(Experiment(exp_key=exp_key, space=SPACE.record,
                                                objective="noop", epochs=1, min_accuracy=0.0))
            proposer = Proposer(exp_key, SPACE.graph, seed=0, startup_trials=10)
            jobs: list[dict] = []
            for tid in range(3):
                jobs.append(proposer.propose(tid))
            opened.queue_jobs(jobs)
        yield opened
    finally:
        opened.close()


def test_experiments_are_listed_oldest_first(store: Store) -> None:
    assert [experiment.exp_key for experiment in store.experiments()] == ["a", "b"]
    assert store.experiment("a") is not None and store.experiment("missing") is None


def test_reservation_serves_only_the_named_experiments_oldest_job_first(store: Store) -> None:
    first = store.reserve_next_job("w1", ["b"])
    second = store.reserve_next_job("w2", ["b"])
    assert first is not None and second is not None
    assert (first.exp_key, first.tid, second.tid) == ("b", 0, 1)
    assert [job["state"] for job in store.jobs("a")] == [0, 0, 0]
    assert store.reserve_next_job("w3", []) is None


def test_jobs_selects_by_tid_in_tid_order(store: Store) -> None:
    assert [job["tid"] for job in store.jobs("a", [2, 0])] == [0, 2]
    assert [job["tid"] for job in store.jobs("a")] == [0, 1, 2]


RESULT = {"status": "ok", "loss": -1.0, "accuracy": 0.5, "train_seconds": 0.5, "attempt": 0}


def test_a_result_is_accepted_once_and_ends_the_heartbeat(store: Store) -> None:
    reservation = store.reserve_next_job("w1", ["a"])
    assert reservation is not None and store.heartbeat(reservation)
    assert store.finish_job(reservation, RESULT)
    assert store.finish_job(reservation, RESULT)  # the same attempt offered again: harmless
    assert not store.heartbeat(reservation)
    (job,) = store.jobs("a", [reservation.tid])
    assert job["state"] == 2 and job["result"]["loss"] == -1.0
    assert store.late_results("a") == []


def test_a_second_attempts_result_is_kept_as_a_late_result(store: Store) -> None:
    first = store.reserve_next_job("w1", ["a"])
    assert first is not None
    (running,) = store.running_attempts(["a"])
    assert store.give_up(running, max_attempts=3, reason="silent") == "requeue"
    second = store.reserve_next_job("w2", ["a"])
    assert second is not None and (second.tid, second.attempt) == (first.tid, 1)
    assert store.finish_job(first, RESULT)  # the first to arrive is the trial's result
    assert not store.heartbeat(second)
    assert not store.finish_job(second, {**RESULT, "loss": -2.0, "attempt": 1})
    (job,) = store.jobs("a", [first.tid])
    assert job["result"]["loss"] == -1.0
    (late,) = store.late_results("a")
    assert (late.tid, late.attempt, late.worker, late.result["loss"]) == (first.tid, 1, "w2", -2.0)


def test_the_last_attempt_is_abandoned_until_a_real_result_arrives(store: Store) -> None:
    reservation = store.reserve_next_job("w1", ["a"])
    assert reservation is not None
    (running,) = store.running_attempts(["a"])
    assert (running.tid, running.attempt, running.owner) == (reservation.tid, 0, "w1")
    assert store.give_up(running, max_attempts=1, reason="silent") == "abandon"
    assert store.running_attempts(["a"]) == []
    (job,) = store.jobs("a", [reservation.tid])
    assert job["state"] == 2 and job["result"]["reason"] == "abandoned"
    assert "silent" in job["result"]["error"]
    assert store.finish_job(reservation, RESULT)
    (job,) = store.jobs("a", [reservation.tid])
    assert job["result"]["status"] == "ok" and store.late_results("a") == []


def test_a_heartbeat_changes_what_a_reclaimer_watches(store: Store) -> None:
    reservation = store.reserve_next_job("w1", ["a"])
    assert reservation is not None
    (before,) = store.running_attempts(["a"])
    assert store.heartbeat(reservation)
    (after,) = store.running_attempts(["a"])
    assert before.beat != after.beat
    assert store.running_attempts(["b"]) == []


def test_a_released_job_is_queued_again_for_its_next_attempt(store: Store) -> None:
    reservation = store.reserve_next_job("w1", ["a"])
    assert reservation is not None
    store.release_job(reservation)
    again = store.reserve_next_job("w2", ["a"])
    assert again is not None and again.tid == reservation.tid and again.attempt == 1


def give_up_the_running_attempt(store: Store, max_attempts: int) -> str:
    """Give up the one attempt of experiment "a" a worker holds, as a reclaimer would."""
    (running,) = store.running_attempts(["a"])
    return store.give_up(running, max_attempts=max_attempts, reason="silent")


def test_an_attempt_reserved_ahead_and_never_begun_is_requeued_not_abandoned(store: Store
                                                                             ) -> None:
    held = store.reserve_next_job("w1", ["a"], ahead=True)
    assert held is not None and held.ahead
    store.release_job(held)  # a worker stopped while it held the job ahead
    held_again = store.reserve_next_job("w2", ["a"], ahead=True)
    assert held_again is not None and (held_again.tid, held_again.attempt) == (held.tid, 1)
    # Its worker died holding it: it never ran, so it counts for nothing.
    assert give_up_the_running_attempt(store, max_attempts=1) == "requeue"
    third = store.reserve_next_job("w3", ["a"])
    assert third is not None and (third.tid, third.attempt) == (held.tid, 2)
    # The attempt number advanced (a late result tells itself from the current attempt), but
    # this is the first attempt that ran: with max_attempts 1 it is the last.
    assert give_up_the_running_attempt(store, max_attempts=1) == "abandon"
    (job,) = store.jobs("a", [held.tid])
    assert job["state"] == 2 and job["result"]["reason"] == "abandoned"
    assert "after 1 attempts" in job["result"]["error"]


def test_an_attempt_reserved_ahead_counts_once_begun(store: Store) -> None:
    held = store.reserve_next_job("w1", ["a"], ahead=True)
    assert held is not None
    store.begin(held)  # the worker starts running it: from here on it may kill its process
    store.begin(held)  # said twice, it counts once
    assert give_up_the_running_attempt(store, max_attempts=1) == "abandon"
    (job,) = store.jobs("a", [held.tid])
    assert job["result"]["reason"] == "abandoned"
    assert "after 1 attempts" in job["result"]["error"]


def test_an_attempt_not_reserved_ahead_counts_from_its_reservation(store: Store) -> None:
    first = store.reserve_next_job("w1", ["a"])
    assert first is not None and not first.ahead
    store.begin(first)  # nothing more to record: it started when it was reserved
    assert give_up_the_running_attempt(store, max_attempts=2) == "requeue"
    second = store.reserve_next_job("w2", ["a"], ahead=True)
    assert second is not None and (second.tid, second.attempt) == (first.tid, 1)
    store.begin(second)
    assert give_up_the_running_attempt(store, max_attempts=2) == "abandon"
    (job,) = store.jobs("a", [first.tid])
    assert "after 2 attempts" in job["result"]["error"]


def test_pruning_evidence_is_published_and_read_back_whole(store: Store) -> None:
    from search.pruning import Evidence, RungGrid

    assert store.pruning_evidence("never-published") is None
    evidence = Evidence(incumbent=2.5, rung_values={0: (0.4, 0.2)}, grid=RungGrid(),
                        curves=((0.5, 0.7), (0.6, 0.9)), speedup=0.8, timed=2, finished=3)
    store.publish_pruning_evidence("a", Evidence(incumbent=1.0).to_document())
    store.publish_pruning_evidence("a", evidence.to_document())  # replaces the first
    read = store.pruning_evidence("a")
    assert read is not None and Evidence.from_document(read) == evidence
