"""TPE sees pooled evidence: the runs of one configuration (confirmation runs) are one point of
its history, with their pooled score."""

from __future__ import annotations

import math
from typing import Any

from hyperopt import JOB_STATE_DONE, JOB_STATE_NEW, hp
from hyperopt.base import Domain

from search.tpe._history import FAILED, GOOD_CANDIDATE, IGNORED, PENDING, History
from search.tpe._space import read_space


def history_of(documents: list[dict[str, Any]]) -> History:
    history = History(read_space(Domain(lambda params: 0.0, {"x": hp.uniform("x", 0, 1)})))
    history.update(documents)
    return history


def run_document(tid: int, x: float, loss: float | None, *, below: bool = False
                 ) -> dict[str, Any]:
    """A run of x = `x`: finished with `loss` (below the floor when `below`), or pending."""
    document: dict[str, Any] = {"tid": tid, "misc": {"vals": {"x": [x]}, "idxs": {"x": [tid]}}}
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


def measured_run(tid: int, x: float, accuracy: float, seconds: float) -> dict[str, Any]:
    """A finished run that reports what the objectives do, with a floor of 0.75."""
    below = accuracy < 0.75
    return {"tid": tid, "misc": {"vals": {"x": [x]}, "idxs": {"x": [tid]}},
            "state": JOB_STATE_DONE,
            "result": {"status": "ok", "loss": 0.0 if below else -accuracy / seconds,
                       "accuracy": accuracy, "train_seconds": seconds, "min_accuracy": 0.75,
                       "below_accuracy_floor": below}}


def test_runs_that_report_accuracy_pool_as_the_reports_do() -> None:
    history = history_of([measured_run(0, 0.25, 0.9, 1.0), measured_run(1, 0.5, 0.8, 2.0),
                          measured_run(2, 0.25, 0.7, 3.0), measured_run(3, 0.5, 0.6, 2.0)])
    # Mean accuracy 0.8 over mean seconds 2.0, though one run was below the floor.
    assert history.outcomes[0] == GOOD_CANDIDATE and history.losses[0] == -0.4
    # Mean accuracy 0.7: below the floor, whatever its better run did.
    assert history.outcomes[1] == FAILED
    assert list(history.outcomes[2:]) == [IGNORED, IGNORED]


def test_without_repeats_the_history_is_unchanged() -> None:
    history = history_of([run_document(0, 0.25, -4.0), run_document(1, 0.5, None)])
    assert list(history.outcomes) == [GOOD_CANDIDATE, PENDING]
    assert list(history.losses) == [-4.0, math.inf]
