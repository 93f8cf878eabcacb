"""The confirmation schedule: which configuration the next trial repeats, within its budget."""

from __future__ import annotations

import dataclasses
import json
import random
from typing import Any

import pytest
from hyperopt.base import JOB_STATE_CANCEL, JOB_STATE_NEW

from search.configurations import configuration_key, pool, rank
from search.confirmation import (
    DISABLED,
    REPEAT_OF,
    ConfirmationSettings,
    is_repeat,
    next_repeat,
    parse_confirm,
    repeat_budget,
)
from search.documents import JobDoc
from search.farm.ledger import SearchLedger
from search.trial import Trial
from tests.evidence_trials import FLOOR, params, run

SETTINGS = ConfirmationSettings(fraction=0.2, leaders=3, runs=3, start_after=4)


def history(count: int = 6) -> list[Trial]:
    """`count` finished configurations; the last one is a lucky leader."""
    trials = [run(tid, params(10.0 ** -(tid + 2)), 0.85, 10.0 + tid) for tid in range(count - 1)]
    return [*trials, run(count - 1, params(0.5), 0.9, 1.0)]


def test_the_lucky_leader_is_repeated_first() -> None:
    trials = history()
    repeat = next_repeat(trials, FLOOR, SETTINGS)
    assert repeat is not None and repeat.tid == 5


def test_confirmation_off_never_repeats() -> None:
    assert next_repeat(history(), FLOOR, DISABLED) is None
    assert next_repeat(history(), FLOOR, parse_confirm("none")) is None


def test_no_repeat_before_enough_configurations_have_finished() -> None:
    assert next_repeat(history(3), FLOOR, SETTINGS) is None
    pending = [*history(3), run(3, params(0.3), None, state="running")]
    assert next_repeat(pending, FLOOR, SETTINGS) is None


def test_pruned_configurations_count_toward_the_start() -> None:
    # Under a pruner most trials are pruned: the lucky leader among the rest is repeated
    # once enough configurations have finished, pruned ones included.
    trials = [run(0, params(0.5), 0.9, 1.0),
              *(run(tid, params(10.0 ** -(tid + 2)), 0.3, 0.5, state="pruned")
                for tid in range(1, 4))]
    repeat = next_repeat(trials, FLOOR, SETTINGS)
    assert repeat is not None and repeat.tid == 0
    assert next_repeat(trials[:3], FLOOR, SETTINGS) is None


def test_a_pending_repeat_counts_as_a_run() -> None:
    settings = dataclasses.replace(SETTINGS, runs=2, leaders=1)
    trials = [*history(), run(6, params(0.5), None, state="running", repeat_of=5)]
    repeat = next_repeat(trials, FLOOR, settings)
    assert repeat is None or repeat.tid != 5


def test_what_the_reports_would_show_gets_its_last_run_before_a_challengers_second() -> None:
    # tid 5 is the lucky leader by mean; tid 6, twice above the floor, is what the reports
    # would show: its third run decides the report, so it goes before 5's second.
    trials = [*history(), run(6, params(0.3), 0.9, 2.0), run(7, params(0.3), 0.91, 2.1,
                                                            repeat_of=6)]
    assert rank(pool(trials, FLOOR), "lower_bound")[0].tid == 6
    repeat = next_repeat(trials, FLOOR, dataclasses.replace(SETTINGS, fraction=0.3))
    assert repeat is not None and repeat.tid == 6
    third = [*trials, run(8, params(0.3), 0.9, 2.0, repeat_of=6)]
    repeat = next_repeat(third, FLOOR, dataclasses.replace(SETTINGS, fraction=0.3))
    assert repeat is not None and repeat.tid == 5  # then the challengers, fewest runs first


def test_configurations_below_the_floor_are_never_repeated() -> None:
    trials = [run(tid, params(10.0 ** -(tid + 2)), 0.7, 1.0) for tid in range(6)]
    assert next_repeat(trials, FLOOR, SETTINGS) is None


def test_repeats_stop_once_the_objective_is_seen_to_reproduce() -> None:
    settings = dataclasses.replace(SETTINGS, fraction=0.5)
    trials = history()
    trials += [run(6, params(0.5), 0.9, 1.0, repeat_of=5),
               run(7, params(10.0 ** -6), 0.85, 14.0, repeat_of=4)]
    trials += [run(8 + tid, params(0.01 * (tid + 2)), 0.85, 10.0) for tid in range(4)]
    assert next_repeat(trials, FLOOR, settings) is None  # every repeat matched exactly
    noisy = [*trials[:-1], run(11, params(0.05), 0.85, 10.0), run(12, params(0.05), 0.83, 12.0,
                                                                   repeat_of=11)]
    assert next_repeat(noisy, FLOOR, settings) is not None


def test_one_pair_of_runs_that_happened_to_agree_does_not_stop_the_repeats() -> None:
    """Accuracy noise of 0.01 gives a pair 0.002 apart in one search in five or so: within
    the 0.5% a reproducing objective shows, but no evidence that it reproduces."""
    settings = dataclasses.replace(SETTINGS, fraction=0.5)
    agreed = [*history(), run(6, params(0.5), 0.898, 1.0, repeat_of=5)]
    assert next_repeat(agreed, FLOOR, settings) is not None
    exact = [*history(), run(6, params(0.5), 0.9, 1.0, repeat_of=5)]
    assert next_repeat(exact, FLOOR, settings) is None, "runs that agree exactly: one repeat"


def simulate(settings: ConfirmationSettings, trials_wanted: int, seed: int,
             resume_at: int | None = None, in_flight: int = 1) -> list[dict[str, Any]]:
    """A search loop with noisy outcomes and `in_flight` trials running: new configurations
    are random, repeats follow the schedule. With `resume_at`, the jobs are written out as
    JSON and read back there, as a resumed driver reads its store."""
    rng = random.Random(seed)
    jobs: list[dict[str, Any]] = []
    running: list[int] = []
    while len(jobs) < trials_wanted or running:
        if resume_at is not None and len(jobs) == resume_at:
            jobs = json.loads(json.dumps(jobs))
        while len(running) < in_flight and len(jobs) < trials_wanted:
            trials = [Trial.from_job(job) for job in jobs]
            repeat = next_repeat(trials, FLOOR, settings)
            tid = len(jobs)
            job: dict[str, Any] = {"tid": tid, "state": 1}
            if repeat is None:
                job["misc"] = {"params": params(10 ** rng.uniform(-5, -1),
                                                rng.choice([32, 64, 128, 256]))}
            else:
                job["misc"] = {"params": repeat.params}
                job[REPEAT_OF] = repeat.tid
            jobs.append(job)
            running.append(tid)
        finished = jobs[running.pop(0)]
        accuracy = min(1.0, max(0.0, 0.6 + 0.3 * rng.random() + rng.gauss(0, 0.03)))
        seconds = 20.0 / finished["misc"]["params"]["batch_size"] * rng.lognormvariate(0, 0.17)
        below = accuracy < FLOOR
        finished.update(state=2, result={"status": "ok", "accuracy": accuracy,
                                         "train_seconds": seconds, "below_accuracy_floor": below,
                                         "loss": 0.0 if below else -accuracy / seconds})
    return jobs


@pytest.mark.parametrize("in_flight", [1, 4])
def test_repeats_stay_within_the_budget_at_every_point(in_flight: int) -> None:
    jobs = simulate(SETTINGS, 80, seed=1, in_flight=in_flight)
    repeats = 0
    for count, job in enumerate(jobs, start=1):
        repeats += REPEAT_OF in job
        assert repeats <= SETTINGS.fraction * count
    assert repeats >= 0.75 * SETTINGS.fraction * len(jobs)  # and it spends what it may
    for job in jobs:
        if REPEAT_OF in job:
            original = jobs[job[REPEAT_OF]]
            assert REPEAT_OF not in original and original["misc"] == job["misc"]
    trials = [Trial.from_job(job) for job in jobs]
    assert all(c.runs <= SETTINGS.runs for c in pool(trials, FLOOR))
    assert sum(map(is_repeat, trials)) == repeats
    assert repeat_budget(trials, SETTINGS) == int(SETTINGS.fraction * 81) - repeats


def test_the_schedule_is_deterministic_and_a_resume_keeps_it() -> None:
    first = simulate(SETTINGS, 60, seed=2)
    assert simulate(SETTINGS, 60, seed=2) == first
    assert simulate(SETTINGS, 60, seed=2, resume_at=30) == first
    assert any(REPEAT_OF in job for job in first[30:])


def test_confirmed_leaders_head_the_ranking_at_the_end_of_a_search() -> None:
    jobs = simulate(SETTINGS, 80, seed=3)
    best = rank(pool([Trial.from_job(job) for job in jobs], FLOOR))[0]
    assert best.runs >= 2
    assert len({configuration_key(trial) for trial in best.trials}) == 1


@pytest.mark.parametrize("text, fraction", [("none", 0.0), ("default", 0.15), ("0.1", 0.1),
                                            (" None ", 0.0)])
def test_confirm_option_is_parsed(text: str, fraction: float) -> None:
    assert parse_confirm(text).fraction == fraction


@pytest.mark.parametrize("text", ["all", "1.5", "-0.1", ""])
def test_a_bad_confirm_option_says_what_is_accepted(text: str) -> None:
    with pytest.raises(ValueError, match="takes 'none', 'default' or a fraction"):
        parse_confirm(text)


def test_settings_round_trip_through_a_document_and_refuse_nonsense() -> None:
    assert ConfirmationSettings.from_document(SETTINGS.to_document()) == SETTINGS
    with pytest.raises(ValueError, match="unknown confirmation settings: leader"):
        ConfirmationSettings.from_document({"leader": 2})
    with pytest.raises(ValueError, match="runs must be a positive integer"):
        ConfirmationSettings(runs=0)


def ledger_job(trial: Trial) -> JobDoc:
    """A finished run as the driver reads it from the store."""
    job: JobDoc = {**trial.job, "exp_key": "progress",
                   "misc": {**trial.job["misc"], "vals": {}, "idxs": {}}}
    return job


def test_the_progress_bar_shows_the_best_configuration_as_best_ranks_it_now() -> None:
    ledger = SearchLedger(FLOOR)
    lucky = params(0.5)
    ledger.record([ledger_job(run(0, params(1e-3), 0.86, 10.0)),
                   ledger_job(run(1, lucky, 0.85, 0.5))])
    first = ledger.best_configuration()
    assert first is not None and first.tid == 1  # one lucky run, not yet repeated
    ledger.record([ledger_job(run(2, lucky, 0.74, 0.5, repeat_of=1))])
    best = ledger.best_configuration()  # the repeat showed it below the floor
    assert best is not None and best.tid == 0 and best.runs == 1
    ledger.record([ledger_job(run(3, params(1e-3), None, state="failed", repeat_of=0))])
    diverged = ledger.best_configuration()  # a failure is news too
    assert diverged is not None and (diverged.tid, diverged.failed, diverged.unstable) == \
        (0, 1, True)


def test_a_job_another_program_cancelled_is_neither_waited_for_nor_counted() -> None:
    """Hyperopt's JOB_STATE_CANCEL: the driver must not wait for it, and it takes no slot of
    max_evals (a replacement is proposed)."""
    ledger = SearchLedger(FLOOR)
    cancelled = {**ledger_job(run(1, params(1e-2), None, state="queued")),
                 "state": JOB_STATE_CANCEL}
    ledger.record([ledger_job(run(0, params(1e-3), 0.86, 10.0)), cancelled])
    assert ledger.unfinished == set() and ledger.cancelled == {1}
    assert (ledger.finished, ledger.counted, ledger.next_tid) == (1, 1, 2)
    ledger.record([{**cancelled, "state": JOB_STATE_NEW}])  # that program queued it again
    assert (ledger.unfinished, ledger.cancelled, ledger.counted) == ({1}, set(), 2)
