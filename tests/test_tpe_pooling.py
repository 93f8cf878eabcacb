"""TPE sees pooled evidence: the runs of one configuration (confirmation runs) are one point of
its history, with their pooled score."""

from __future__ import annotations

import math
from typing import Any

from hyperopt import JOB_STATE_DONE, JOB_STATE_NEW, hp
from hyperopt.base import Domain

from search.tpe._history import BELOW_FLOOR, FAILED, GOOD_CANDIDATE, IGNORED, PENDING, History
from search.tpe._space import read_space


def history_of(documents: list[dict[str, Any]]) -> History:
    history = History(read_space(Domain(lambda params: 0.0, {"x": hp.uniform("x", 0, 1)})))
    history.update(documents)
    return history


# The original each run repeats: x = 0.25 is trial 0's, x = 0.5 trial 1's, x = 0.75 trial 4's.
ORIGINAL_OF = {0.25: 0, 0.5: 1, 0.75: 4}


def run_document(tid: int, x: float, loss: float | None, *, below: bool = False
                 ) -> dict[str, Any]:
    """A run of x = `x`: finished with `loss` (below the floor when `below`), or pending; a
    repeat of the trial that first ran x."""
    document: dict[str, Any] = {"tid": tid, "misc": {"vals": {"x": [x]}, "idxs": {"x": [tid]}}}
    if ORIGINAL_OF[x] != tid:
        document["repeat_of"] = ORIGINAL_OF[x]
    if loss is None:
        document.update(state=JOB_STATE_NEW, result={"status": "new"})
    else:
        document.update(state=JOB_STATE_DONE, result={"status": "ok", "loss": loss,
                                                      "below_accuracy_floor": below})
    return document


def test_tpe_sees_the_runs_of_one_configuration_as_one_point_with_their_pooled_score() -> None:
    history = history_of([run_document(0, 0.25, -4.0), run_document(1, 0.5, -3.0),
                          run_document(2, 0.25, 0.0, below=True), run_document(3, 0.5, None),
                          run_document(4, 0.75, None), run_document(5, 0.75, None)])
    assert list(history.outcomes) == [GOOD_CANDIDATE, GOOD_CANDIDATE, IGNORED, IGNORED,
                                      PENDING, IGNORED]
    assert history.losses[0] == -2.0  # the run below the floor scores nothing
    assert history.losses[1] == -3.0  # a pending repeat waits for its result
    # Most runs below the floor: the configuration is bad, however good its lucky run.
    history.update([run_document(0, 0.25, -4.0), run_document(1, 0.5, 0.0, below=True),
                    run_document(2, 0.25, 0.0, below=True), run_document(3, 0.5, 0.0, below=True),
                    run_document(4, 0.75, -1.0), run_document(5, 0.75, None),
                    run_document(6, 0.25, 0.0, below=True)])
    assert list(history.outcomes[:3]) == [FAILED, FAILED, IGNORED]
    assert list(history.outcomes[4:]) == [GOOD_CANDIDATE, IGNORED, IGNORED]
    assert history.losses[4] == -1.0


def measured_run(tid: int, x: float, accuracy: float, seconds: float,
                 repeat_of: int | None = None) -> dict[str, Any]:
    """A finished run that reports what the objectives do, with a floor of 0.75."""
    below = accuracy < 0.75
    link = {} if repeat_of is None else {"repeat_of": repeat_of}
    return {"tid": tid, "misc": {"vals": {"x": [x]}, "idxs": {"x": [tid]}}, **link,
            "state": JOB_STATE_DONE,
            "result": {"status": "ok", "loss": 0.0 if below else -accuracy / seconds,
                       "accuracy": accuracy, "train_seconds": seconds, "min_accuracy": 0.75,
                       "below_accuracy_floor": below}}


def test_runs_that_report_accuracy_pool_as_the_reports_do() -> None:
    history = history_of([measured_run(0, 0.25, 0.9, 1.0), measured_run(1, 0.5, 0.8, 2.0),
                          measured_run(2, 0.25, 0.7, 3.0, repeat_of=0),
                          measured_run(3, 0.5, 0.6, 2.0, repeat_of=1)])
    # Mean accuracy 0.8 over mean seconds 2.0, though one run was below the floor.
    assert history.outcomes[0] == GOOD_CANDIDATE and history.losses[0] == -0.4
    # Mean accuracy 0.7: below the floor, whatever its better run did.
    assert history.outcomes[1] == BELOW_FLOOR and math.isclose(history.losses[1], -0.7)
    assert list(history.outcomes[2:]) == [IGNORED, IGNORED]


def test_without_repeats_the_history_is_unchanged() -> None:
    history = history_of([run_document(0, 0.25, -4.0), run_document(1, 0.5, None)])
    assert list(history.outcomes) == [GOOD_CANDIDATE, PENDING]
    assert list(history.losses) == [-4.0, math.inf]


def test_equal_draws_that_are_not_repeats_stay_separate_points() -> None:
    """In a discrete space many trials draw the same values; each is evidence of its own."""
    history = history_of([measured_run(0, 0.25, 0.9, 1.0), measured_run(1, 0.25, 0.6, 1.0)])
    assert list(history.outcomes) == [GOOD_CANDIDATE, BELOW_FLOOR]
    assert list(history.losses) == [-0.9, -0.6]


def pruned_run(tid: int, x: float, curve: list[float], below: bool) -> dict[str, Any]:
    """A trial pruned after len(curve) of 10 planned one-second epochs (loss 0.0 stored)."""
    seconds = [float(epoch) for epoch in range(1, len(curve) + 1)]
    return {"tid": tid, "misc": {"vals": {"x": [x]}, "idxs": {"x": [tid]}},
            "state": JOB_STATE_DONE,
            "result": {"status": "ok", "loss": 0.0, "pruned": True, "accuracy": curve[-1],
                       "val_accuracy_per_epoch": curve, "train_seconds_at_epoch": seconds,
                       "epochs": len(curve), "epochs_planned": 10, "train_seconds": seconds[-1],
                       "below_accuracy_floor": below}}


def test_a_pruned_trial_is_read_at_its_projected_score_not_the_worst_it_stores() -> None:
    history = history_of([pruned_run(0, 0.25, [0.5, 0.8], below=False),
                          pruned_run(1, 0.5, [0.1, 0.2], below=True),
                          measured_run(2, 0.75, 0.9, 1.0)])
    # 0.8 accuracy, 2 seconds so far and 8 epochs left of at least 1 s: 0.8 / 10.
    assert history.outcomes[0] == GOOD_CANDIDATE and math.isclose(history.losses[0], -0.08)
    # Below the floor it stays below the floor, whatever its projection.
    assert history.outcomes[1] == BELOW_FLOOR and math.isclose(history.losses[1], -0.2)
    assert history.outcomes[2] == GOOD_CANDIDATE and history.losses[2] == -0.9


def test_two_documents_of_one_tid_are_two_points_not_a_configuration_and_its_repeat() -> None:
    """Two Trials merged (insert_trial_docs) repeat tids: no repeat_of links them."""
    def document(tid: int, x: float, loss: float) -> dict[str, Any]:
        return {"tid": tid, "misc": {"vals": {"x": [x]}, "idxs": {"x": [tid]}},
                "state": JOB_STATE_DONE, "result": {"status": "ok", "loss": loss}}

    documents = [document(0, 0.1, 0.0), document(1, 0.2, 1.0), document(0, 0.9, 25.0)]
    history = history_of(documents)
    assert list(history.outcomes) == [GOOD_CANDIDATE] * 3
    assert list(history.losses) == [0.0, 1.0, 25.0]
    history.update(documents[::-1])  # reordered: rebuilt, each still a point of its own
    assert sorted(history.losses) == [0.0, 1.0, 25.0]
