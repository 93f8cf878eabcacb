"""The accuracy-vs-training-time Pareto front: no trial on it is beaten on both at once."""

from __future__ import annotations

import json

from click.testing import CliRunner
from hyperopt import JOB_STATE_NEW, JOB_STATE_RUNNING
from stored_trials import finished_job, record_trials

from search.cli import main
from search.reports.queries import pareto_front
from search.trial import trials_of


def front_tids(outcomes: list, below_floor: bool = False) -> list[int]:
    trials = trials_of(finished_job(tid, outcome) for tid, outcome in enumerate(outcomes))
    return [trial.tid for trial in pareto_front(trials, below_floor=below_floor)]


def test_front_holds_the_undominated_trials_sorted_by_time() -> None:
    outcomes = [(0.95, 4.0), (0.80, 1.0), (0.85, 3.0), (0.90, 2.0), (0.70, 5.0)]
    assert front_tids(outcomes) == [1, 3, 0]


def test_equally_accurate_but_slower_trial_is_dominated() -> None:
    assert front_tids([(0.9, 2.0), (0.9, 1.0)]) == [1]


def test_equally_fast_but_less_accurate_trial_is_dominated() -> None:
    assert front_tids([(0.8, 1.0), (0.9, 1.0)]) == [1]


def test_exact_ties_are_all_on_the_front_in_tid_order() -> None:
    assert front_tids([(0.9, 2.0), (0.8, 1.0), (0.9, 2.0), (0.8, 1.0)]) == [1, 3, 0, 2]


def test_failed_and_unfinished_trials_never_appear() -> None:
    jobs = [finished_job(0, (0.9, 2.0)), finished_job(1, None),
            finished_job(2, None, state=JOB_STATE_RUNNING),
            finished_job(3, None, state=JOB_STATE_NEW)]
    jobs[1]["result"]["train_seconds"] = 0.1  # failed fast: still not on the front
    assert [trial.tid for trial in pareto_front(trials_of(jobs))] == [0]


def test_trials_below_the_accuracy_floor_stay_off_the_front_unless_asked_for() -> None:
    # 18% accuracy in a blink is no trade-off anyone wants, however fast.
    assert front_tids([(0.9, 2.0), (0.18, 0.5)]) == [0]
    assert front_tids([(0.9, 2.0), (0.18, 0.5)], below_floor=True) == [1, 0]


def test_no_successful_trials_make_an_empty_front() -> None:
    assert pareto_front(trials_of([finished_job(0, None)])) == []


def test_pareto_command_lists_the_front_from_either_store(store_location: str) -> None:
    record_trials(store_location, "front",
                  [(0.95, 4.0), None, (0.80, 1.0), (0.85, 3.0), (0.90, 2.0), (0.90, 2.0)],
                  running=1)
    outcome = CliRunner().invoke(main, ["pareto", "--store", store_location, "--exp-key", "front",
                                        "--format", "json"])
    assert outcome.exit_code == 0, outcome.output
    rows = json.loads(outcome.output)
    assert [row["tid"] for row in rows] == [2, 4, 5, 0]
    assert [row["train_seconds"] for row in rows] == [1.0, 2.0, 2.0, 4.0]
    assert all("lr" in row and "batch_size" in row for row in rows)


def test_pareto_command_leaves_out_trials_below_the_floor_unless_asked(tmp_path) -> None:
    location = str(tmp_path / "store")
    record_trials(location, "floor", [(0.95, 4.0), (0.18, 0.5)])
    arguments = ["pareto", "--store", location, "--exp-key", "floor", "--format", "json"]
    default = CliRunner().invoke(main, arguments)
    asked = CliRunner().invoke(main, [*arguments, "--below-floor"])
    assert [row["tid"] for row in json.loads(default.output)] == [0]
    assert [row["tid"] for row in json.loads(asked.output)] == [1, 0]
