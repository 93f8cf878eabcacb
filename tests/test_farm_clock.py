"""The farm's logic on a clock the test moves, in this process, over the embedded store.

The driver, the reclaimer, the lookahead and the worker take a `search.clock.Clock`; here it
is a FakeClock whose sleeps return at once. What the rest of the farm does meanwhile (workers
reserving, finishing, freezing) is played at each sleep through the same Store calls a worker
makes, on a real embedded store. So polls, back-offs and staleness are checked exactly, with
no process, no database server and no real waiting (the multi-process tests in test_farm.py,
test_fault_tolerance.py and test_lookahead.py check the same paths end to end).
"""

from __future__ import annotations

import logging
import pathlib
from collections.abc import Callable
from itertools import accumulate, takewhile
from typing import Any

import pytest
from fake_clock import FakeClock
from stored_trials import MIN_ACCURACY, result_for

import objectives
import spaces
from search.documents import JOB_STATE_DONE, JOB_STATE_NEW, JOB_STATE_RUNNING, utcnow
from search.experiment import Experiment
from search.farm.driver import DriverOptions, SearchProgress, run_search
from search.farm.lookahead import Lookahead
from search.farm.proposals import Proposer
from search.farm.stopping import StopRequest
from search.farm.worker import Worker, WorkerOptions
from search.policy import Policy
from search.store import Reservation, Store, WorkerStatus
from search.store._embedded import EmbeddedStore

SPACE = spaces.load_space("default")
POLICY = Policy(heartbeat_interval=1.0, stale_after=10.0, max_attempts=3)
OPTIONS = DriverOptions(startup_trials=100, poll_interval=0.25)


def experiment(max_evals: int) -> Experiment:
    return Experiment(exp_key="e", space=SPACE.record, objective="noop", epochs=1,
                      min_accuracy=MIN_ACCURACY, max_evals=max_evals, policy=POLICY)


class PlayedWorker:
    """A worker's side of the store protocol, played by the test: it reports itself live,
    reserves and finishes when the test says (and beats or freezes as the test does)."""

    def __init__(self, store: Store, worker_id: str) -> None:
        self.store = store
        self.worker_id = worker_id

    def report(self) -> None:
        self.store.report_worker(WorkerStatus(worker_id=self.worker_id, host="test",
                                              device="cpu", state="idle", last_seen=utcnow()))

    def reserve(self) -> Reservation:
        reservation = self.store.reserve_next_job(self.worker_id, ["e"])
        assert reservation is not None, f"{self.worker_id} found nothing queued"
        return reservation

    def finish(self, reservation: Reservation, accuracy: float = 0.9) -> bool:
        result = {**result_for((accuracy, 1.0), self.worker_id), "attempt": reservation.attempt}
        return self.store.finish_job(reservation, result)


def queue_a_job_at(seconds: float, store: Store, queued_at: list[float]
                   ) -> Callable[[float], None]:
    """The farm, played at each sleep: a driver queues trial 0 once `seconds` have passed
    (and says when in `queued_at`)."""
    store.record_experiment(experiment(max_evals=1))

    def farm(now: float) -> None:
        if now >= seconds and not queued_at:
            store.queue_jobs([Proposer("e", SPACE.graph, seed=0, startup_trials=10).propose(0)])
            queued_at.append(now)

    return farm


def queued(store: Store) -> int:
    return sum(1 for job in store.jobs("e") if job["state"] == JOB_STATE_NEW)


def job(store: Store, tid: int) -> dict[str, Any]:
    (found,) = store.jobs("e", [tid])
    return found


def test_driver_keeps_one_job_queued_per_live_worker_plus_one_and_backs_off_while_idle(
        tmp_path: pathlib.Path) -> None:
    store = EmbeddedStore(tmp_path)
    workers = [PlayedWorker(store, "w1"), PlayedWorker(store, "w2")]
    for worker in workers:
        worker.report()
    turns: list[tuple[float, int]] = []  # (when the driver last queued, jobs then queued)
    finished_at: list[int] = []  # the indexes of the sleeps after which a result landed

    def farm(now: float) -> None:
        turns.append((now - clock.slept[-1], queued(store)))
        if len(turns) == 4:
            workers.append(PlayedWorker(store, "w3"))  # attaches at 0.3 s
        for worker in workers:
            worker.report()
        if now >= 2.0:  # the workers take one job each sleep from here on
            worker = workers[len(finished_at) % len(workers)]
            worker.finish(worker.reserve())
            finished_at.append(len(clock.slept) - 1)

    clock = FakeClock(farm)
    jobs = run_search(store, experiment(max_evals=12), SPACE.graph, OPTIONS, clock=clock)

    # Nothing changes for two seconds: the poll doubles from 20 ms up to poll_interval.
    assert clock.slept[:7] == pytest.approx([0.02, 0.04, 0.08, 0.16, 0.25, 0.25, 0.25])
    # Two live workers: three queued. The third, attached at 0.3 s, is counted at the first
    # turn a second after the last count, and gets its job then.
    before = [depth for when, depth in turns if when < 1.0]
    assert before == [3] * len(before) and len(before) == 7
    assert turns[len(before)][1] == 4
    # A result is answered at the next poll, 20 ms later, with the queue topped up again.
    first = finished_at[0]
    assert clock.slept[first + 1] == pytest.approx(0.02)
    assert turns[first + 1][1] == 4
    # Twelve trials, each once, none queued beyond max_evals.
    assert [j["tid"] for j in jobs] == list(range(12))
    assert all(j["state"] == JOB_STATE_DONE for j in jobs)
    assert len(store.jobs("e")) == 12


def test_a_silent_attempt_is_requeued_after_stale_after_on_the_drivers_clock_and_not_before(
        tmp_path: pathlib.Path) -> None:
    store = EmbeddedStore(tmp_path)
    live, frozen, retrier = (PlayedWorker(store, name) for name in ("live", "frozen", "retrier"))
    held: dict[str, Reservation] = {}
    seen: list[tuple[float, int, int]] = []  # (time, state, attempt) of the frozen one's trial

    def farm(now: float) -> None:
        for worker in (live, frozen, retrier):
            worker.report()
        if not held:
            held["live"], held["frozen"] = live.reserve(), frozen.reserve()  # trials 0 and 1
            seen.append((now, JOB_STATE_RUNNING, 0))
            return
        assert store.heartbeat(held["live"])  # the live one beats at every sleep; the other not
        trial = job(store, 1)
        seen.append((now, trial["state"], trial["attempt"]))
        if trial["state"] == JOB_STATE_NEW:
            retrier.finish(retrier.reserve())
            live.finish(held["live"])

    for worker in (live, frozen, retrier):
        worker.report()
    clock = FakeClock(farm)
    options = DriverOptions(startup_trials=100, poll_interval=1.0)
    jobs = run_search(store, experiment(max_evals=2), SPACE.graph, options, clock=clock)

    reserved = seen[0][0]
    requeued = [(when, attempt) for when, state, attempt in seen if state == JOB_STATE_NEW]
    # Watched from the driver's first look, right after the reservation: not given up before
    # stale_after has passed on the driver's clock, and at most a pass interval (a quarter of
    # stale_after) and two polls after.
    assert all(state == JOB_STATE_RUNNING for when, state, _ in seen
               if when < reserved + POLICY.stale_after)
    assert requeued[0][1] == 1
    assert (reserved + POLICY.stale_after <= requeued[0][0]
            <= reserved + 1.25 * POLICY.stale_after + 2 * options.poll_interval)
    # The live attempt, beating all along, is never given up; the retry runs the other trial.
    assert [(j["attempt"], j["result"]["worker"]) for j in jobs] == [(0, "live"), (1, "retrier")]
    assert store.late_results("e") == []


@pytest.mark.parametrize("late_lands", ["after the retry's result", "before the retry's result"])
def test_a_result_landing_after_its_attempt_was_given_up_counts_once_and_is_kept(
        tmp_path: pathlib.Path, late_lands: str) -> None:
    store = EmbeddedStore(tmp_path)
    frozen, retrier, other = (PlayedWorker(store, name) for name in ("frozen", "retrier", "other"))
    progress: list[SearchProgress] = []
    script: dict[str, Any] = {}

    def farm(now: float) -> None:
        for worker in (frozen, retrier, other):
            worker.report()
        if "frozen" not in script:
            script["frozen"] = frozen.reserve()  # trial 0, which it finishes too late
        elif "retry" not in script:
            if job(store, 0)["state"] == JOB_STATE_NEW:  # given up on "frozen"
                script["retry"] = retrier.reserve()  # attempt 1 of trial 0
        elif "accepted" not in script:
            landing = [(script["retry"], retrier), (script["frozen"], frozen)]
            if late_lands == "before the retry's result":
                landing.reverse()
            script["accepted"] = [worker.finish(reservation, 0.6 + 0.1 * reservation.attempt)
                                  for reservation, worker in landing]
        elif "other" not in script:
            script["other"] = other.finish(other.reserve())  # trial 1: the search needs it

    clock = FakeClock(farm)
    options = DriverOptions(startup_trials=100, poll_interval=1.0, max_queue=1)
    jobs = run_search(store, experiment(max_evals=2), SPACE.graph, options, clock=clock,
                      on_progress=progress.append)

    # The first result to land is the trial's; the other is kept as a late result.
    assert script["accepted"] == [True, False]
    winner = 1 if late_lands == "after the retry's result" else 0
    assert jobs[0]["result"]["attempt"] == winner
    (late,) = store.late_results("e")
    assert (late.tid, late.attempt) == (0, 1 - winner)
    assert late.result["accuracy"] == pytest.approx(0.6 + 0.1 * (1 - winner))
    # Counted once: the search went on until trial 1 finished too, and never counted more
    # trials finished than there were.
    assert script["other"] is True
    assert [j["state"] for j in jobs] == [JOB_STATE_DONE, JOB_STATE_DONE]
    assert [p.finished for p in progress] == sorted(p.finished for p in progress)
    assert progress[-1].finished == 2 and progress[-2].finished == 1


def test_lookahead_polls_every_20_ms_for_a_second_then_backs_off_and_holds_what_it_reserved(
        tmp_path: pathlib.Path) -> None:
    store = EmbeddedStore(tmp_path)
    queued_at: list[float] = []
    clock = FakeClock(queue_a_job_at(3.0, store, queued_at), until=10.0)
    lookahead = Lookahead(store, "w1", StopRequest(), clock)
    lookahead.start(["e"])
    assert clock.parked.wait(60), "the lookahead never settled to hold its job"
    reservation = lookahead.take()

    assert reservation is not None and (reservation.tid, reservation.worker_id) == (0, "w1")
    assert job(store, 0)["state"] == JOB_STATE_RUNNING
    # The waits until the job was queued: 20 ms for a second, then doubling up to a second.
    retries = clock.slept[:list(accumulate(clock.slept)).index(queued_at[0]) + 1]
    first_second = polls_of(retries, 0.02)
    assert 50 <= first_second <= 51
    assert retries[first_second:] == pytest.approx([0.04, 0.08, 0.16, 0.32, 0.64, 1.0])
    # Then it only holds the job, looking for a stop request every 50 ms.
    holding = clock.slept[len(retries):]
    assert holding and all(wait == pytest.approx(0.05) for wait in holding)


def test_lookahead_backs_off_to_the_longest_retry_it_is_given(tmp_path: pathlib.Path) -> None:
    """A worker gives its heartbeat interval: a job held ahead is needed only when the running
    trial ends, so an empty queue is looked at less often than an idle worker looks."""
    store = EmbeddedStore(tmp_path)
    queued_at: list[float] = []
    clock = FakeClock(queue_a_job_at(12.0, store, queued_at), until=30.0)
    lookahead = Lookahead(store, "w1", StopRequest(), clock)
    lookahead.start(["e"], longest_retry=4.0)
    assert clock.parked.wait(60), "the lookahead never settled to hold its job"
    reservation = lookahead.take()

    assert reservation is not None and reservation.tid == 0
    retries = clock.slept[:list(accumulate(clock.slept)).index(queued_at[0]) + 1]
    first_second = polls_of(retries, 0.02)
    assert retries[first_second:] == pytest.approx(
        [0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 4.0, 4.0][:len(retries) - first_second])
    assert retries[-1] == pytest.approx(4.0)


def test_the_job_held_ahead_is_renewed_at_most_once_per_period_it_is_given(
        tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Renewed three times per stale_after (the worker's period), not on every beat of the
    running trial: a held job's beats cost writes on every busy worker."""
    store = EmbeddedStore(tmp_path)
    clock = FakeClock(queue_a_job_at(0.0, store, []), until=0.1)
    lookahead = Lookahead(store, "w1", StopRequest(), clock)
    lookahead.start(["e"])
    assert clock.parked.wait(60), "the lookahead never settled to hold its job"
    held_at = clock.now()
    renewed: list[float] = []
    heartbeat = store.heartbeat
    monkeypatch.setattr(store, "heartbeat",
                        lambda held: renewed.append(clock.now()) or heartbeat(held))
    for _ in range(6):  # the running trial beats every 2 s; the period is 3 s
        clock.advance(2.0)
        lookahead.renew(every=3.0)
    lookahead.release()

    assert renewed == pytest.approx([held_at + 4.0, held_at + 8.0, held_at + 12.0])


def test_idle_worker_backs_off_runs_a_job_when_one_comes_and_exits_after_idle_timeout(
        tmp_path: pathlib.Path) -> None:
    store = EmbeddedStore(tmp_path)
    queued_at: list[float] = []
    clock = FakeClock(queue_a_job_at(12.0, store, queued_at))
    worker = Worker(store, "w1", WorkerOptions(idle_timeout=30.0, poll_interval=4.0),
                    clock=clock)
    exit = worker.run()

    assert (exit.jobs_done, exit.reason) == (1, "no job for --idle-timeout 30 s")
    assert job(store, 0)["result"]["worker"] == "w1"
    # Idle from the start: 20 ms polls for a second, then doubling up to poll_interval.
    waits = clock.slept
    first_second = polls_of(waits, 0.02)
    assert 50 <= first_second <= 52
    assert waits[first_second:first_second + 9] == pytest.approx(
        [0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 4.0, 4.0])
    # The job resets the back-off, and the idle timeout counts from when it finished.
    after_the_job = list(accumulate(waits)).index(queued_at[0]) + 1
    assert 50 <= polls_of(waits[after_the_job:], 0.02) <= 52
    assert queued_at[0] + 30.0 <= clock.now() < queued_at[0] + 30.0 + 4.0


def test_idle_timeout_counts_from_the_first_poll_not_from_the_start_up(
        tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = EmbeddedStore(tmp_path)
    queued_at: list[float] = []
    clock = FakeClock(queue_a_job_at(1.0, store, queued_at))
    resolve = objectives.resolve_objective

    def imported_slowly(*args: Any, **kwargs: Any) -> objectives.Objective:
        clock.advance(45.0)  # the first poll imports the objective, on a loaded machine
        return resolve(*args, **kwargs)

    monkeypatch.setattr(objectives, "resolve_objective", imported_slowly)
    worker = Worker(store, "w1", WorkerOptions(idle_timeout=30.0), clock=clock)
    exit = worker.run()

    # Ready at 45 s, the worker waits there for the job queued meanwhile, and runs it.
    assert (exit.jobs_done, exit.reason) == (1, "no job for --idle-timeout 30 s")
    assert queued_at[0] >= 45.0


def test_a_worker_says_once_that_the_experiments_it_serves_are_not_in_the_store_yet(
        tmp_path: pathlib.Path, caplog: pytest.LogCaptureFixture) -> None:
    store = EmbeddedStore(tmp_path)
    store.record_experiment(experiment(max_evals=1))
    clock = FakeClock()
    worker = Worker(store, "w1", WorkerOptions(exp_keys=("e", "later", "other"),
                                               idle_timeout=30.0), clock=clock)
    with caplog.at_level(logging.INFO, logger="search.farm.worker"):
        worker.run()

    assert len(clock.slept) > 50  # it polled on and on
    waiting = [record.getMessage() for record in caplog.records if "waiting for" in
               record.getMessage()]
    assert waiting == [f"waiting for experiments not in {store.location} yet: 'later', 'other'"]


def test_a_worker_stopped_while_idle_says_so_not_that_it_finished_a_trial(
        tmp_path: pathlib.Path) -> None:
    store = EmbeddedStore(tmp_path)
    store.record_experiment(experiment(max_evals=1))
    stop = StopRequest()
    clock = FakeClock(lambda now: stop.request() if now >= 2.0 else None)
    worker = Worker(store, "w1", WorkerOptions(), stop=stop, clock=clock)
    exit = worker.run()

    assert (exit.jobs_done, exit.reason) == (0, "stopped by signal while waiting for a job")


def polls_of(waits: list[float], seconds: float) -> int:
    """How many of the first waits last `seconds`."""
    return len(list(takewhile(lambda wait: wait == pytest.approx(seconds), waits)))
