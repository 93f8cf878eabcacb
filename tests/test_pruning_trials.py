"""Pruning in the objective protocol: `report_epoch` asks, `TrialPruned` stops, `run_trial`
records a pruned trial as a finished one with its partial curve."""

from __future__ import annotations

import copy
import gc
import json
import pickle
import weakref
from typing import Any

import pytest
import torch

from objectives import (
    EpochReport,
    Objective,
    PruneDecision,
    TrialContext,
    TrialPruned,
    TrialSettings,
    resolve_objective,
    run_trial,
)
from search.pruning import BoundPruner, Evidence, should_prune
from tests.objectives_for_tests import assert_storable

EPOCH_SECONDS = 2.0
CURVE = (0.3, 0.5, 0.6, 0.65, 0.7, 0.72, 0.74, 0.75)


class VirtualClock:
    """A clock that moves only when told: training on it takes exactly what it is told."""

    def __init__(self) -> None:
        self.seconds = 0.0

    def __call__(self) -> float:
        return self.seconds


def user_objective(clock: VirtualClock):
    """A user's objective: trains, reports each epoch, and has no pruning code of its own."""

    def run(params: dict[str, Any], trial: TrialContext) -> dict[str, Any]:
        for epoch in range(trial.epochs):
            with trial.timed():
                clock.seconds += EPOCH_SECONDS
            trial.report_epoch(CURVE[epoch])
        return {"accuracy": CURVE[trial.epochs - 1]}

    return Objective(name="tests:reports_epochs", description="", run=run)


def stop_after(epoch: int, asked: list[EpochReport] | None = None):
    def decide(report: EpochReport) -> PruneDecision | None:
        if asked is not None:
            asked.append(report)
        if report.epoch < epoch:
            return None
        return PruneDecision(pruner="test", reason="told to", score_bound=0.25)

    return decide


def settings(epochs: int = len(CURVE)) -> TrialSettings:
    return TrialSettings(epochs=epochs, device="cpu", min_accuracy=0.4)


def test_user_objective_that_reports_epochs_is_pruned_with_no_code_of_its_own():
    clock = VirtualClock()
    asked: list[EpochReport] = []
    result = run_trial(user_objective(clock), {}, settings(), should_prune=stop_after(3, asked),
                       clock=clock)
    assert result["status"] == "ok" and result["pruned"] is True
    assert [report.epoch for report in asked] == [1, 2, 3]
    assert asked[-1] == EpochReport(
        epoch=3, epochs_planned=8, train_seconds=6.0, val_accuracy_per_epoch=CURVE[:3],
        train_seconds_at_epoch=(2.0, 4.0, 6.0))


def test_pruned_result_carries_its_partial_curve_and_scores_the_worst():
    clock = VirtualClock()
    result = run_trial(user_objective(clock), {}, settings(), should_prune=stop_after(3),
                       clock=clock)
    assert result["loss"] == 0.0 and result["accuracy"] == CURVE[2]
    assert result["val_accuracy_per_epoch"] == list(CURVE[:3])
    assert result["train_seconds_at_epoch"] == [2.0, 4.0, 6.0]
    assert result["train_seconds"] == 6.0
    assert result["epochs"] == 3 and result["epochs_planned"] == 8
    assert result["pruner"] == "test" and result["prune_reason"] == "told to"
    assert result["score_bound"] == 0.25 and result["below_accuracy_floor"] is False
    assert_storable(result)
    json.dumps(result, allow_nan=False)


def test_unpruned_result_records_seconds_at_each_epoch():
    clock = VirtualClock()
    result = run_trial(user_objective(clock), {}, settings(4), should_prune=stop_after(99),
                       clock=clock)
    assert "pruned" not in result and result["loss"] == pytest.approx(-CURVE[3] / 8.0)
    assert result["train_seconds_at_epoch"] == [2.0, 4.0, 6.0, 8.0]


def test_the_last_planned_epoch_is_never_put_to_the_pruner():
    clock = VirtualClock()
    asked: list[EpochReport] = []
    result = run_trial(user_objective(clock), {}, settings(2), should_prune=stop_after(3, asked),
                       clock=clock)
    assert "pruned" not in result and [report.epoch for report in asked] == [1]


def test_objective_that_swallows_the_stop_is_still_recorded_as_pruned():
    def swallows(params: dict[str, Any], trial: TrialContext) -> dict[str, Any]:
        for epoch in range(trial.epochs):
            with trial.timed():
                pass
            try:
                trial.report_epoch(CURVE[epoch])
            except Exception:
                return {"accuracy": CURVE[epoch]}
        return {"accuracy": CURVE[-1]}

    objective = Objective(name="tests:swallows", description="", run=swallows)
    result = run_trial(objective, {}, settings(), should_prune=stop_after(2))
    assert result["pruned"] is True and result["loss"] == 0.0 and result["epochs"] == 2


@pytest.mark.parametrize("raised", [RuntimeError("wrapped"), FloatingPointError("clean-up")])
def test_objective_that_raises_another_error_once_stopped_is_still_recorded_as_pruned(
        raised: Exception) -> None:
    """Said stop, the trial is pruned whatever the objective raises then (the stop wrapped
    in its own error, a failure of its clean-up): not failed, its curve and seconds kept."""
    clock = VirtualClock()

    def wraps(params: dict[str, Any], trial: TrialContext) -> dict[str, Any]:
        try:
            return user_objective(clock).run(params, trial)
        except Exception as error:
            raise raised from error

    objective = Objective(name="tests:wraps", description="", run=wraps)
    result = run_trial(objective, {}, settings(), should_prune=stop_after(2), clock=clock)
    assert result["status"] == "ok" and result["pruned"] is True and result["loss"] == 0.0
    assert result["val_accuracy_per_epoch"] == list(CURVE[:2])
    assert result["train_seconds"] == 4.0 and result["epochs"] == 2


def test_a_pruned_trial_frees_its_model_when_it_returns_not_at_the_next_collection() -> None:
    """On a GPU a pruned trial's model, optimizer and data would hold device memory until
    Python's cycle collector ran; the default pruner stops many trials."""
    alive: list[weakref.ref[torch.Tensor]] = []

    def trains(params: dict[str, Any], trial: TrialContext) -> dict[str, Any]:
        weights = torch.zeros(64, 64)
        alive.append(weakref.ref(weights))
        for epoch in range(trial.epochs):
            with trial.timed():
                weights += 1.0
            trial.report_epoch(CURVE[epoch])
        return {"accuracy": CURVE[-1]}

    objective = Objective(name="tests:trains", description="", run=trains)
    gc.disable()
    try:
        result = run_trial(objective, {}, settings(), should_prune=stop_after(2))
        assert result["pruned"] is True
        assert alive[0]() is None
    finally:
        gc.enable()


def test_an_objective_that_never_times_its_training_fails_even_when_pruned():
    # Pruned or not, the protocol's failure: a pruned result without training time would
    # count as a finished trial that spent none of the budget.
    def untimed(params: dict[str, Any], trial: TrialContext) -> dict[str, Any]:
        for epoch in range(trial.epochs):
            trial.report_epoch(CURVE[epoch])
        return {"accuracy": CURVE[-1]}

    objective = Objective(name="tests:untimed", description="", run=untimed)
    for should in (stop_after(2), stop_after(99)):
        result = run_trial(objective, {}, settings(), should_prune=should)
        assert result["status"] == "fail" and "never entered" in result["error"], result
        assert "pruned" not in result


def test_a_failing_pruner_never_fails_the_trial():
    def broken(report: EpochReport) -> PruneDecision | None:
        raise ConnectionError("store unreachable")

    clock = VirtualClock()
    result = run_trial(user_objective(clock), {}, settings(), should_prune=broken, clock=clock)
    assert result["status"] == "ok" and "pruned" not in result
    assert result["accuracy"] == CURVE[-1]


def test_trial_pruned_names_the_epoch_and_reason():
    error = TrialPruned(PruneDecision(pruner="bound", reason="cannot win", score_bound=0.1), 4)
    assert "epoch 4" in str(error) and "cannot win" in str(error)
    for again in (pickle.loads(pickle.dumps(error)), copy.copy(error)):  # a worker process's
        assert (again.decision, again.epoch, str(again)) == (error.decision, 4, str(error))


def test_open_timed_block_counts_in_train_seconds():
    clock = VirtualClock()
    trial = TrialContext(torch.device("cpu"), epochs=2, seed=0, clock=clock)
    with trial.timed():
        clock.seconds += 3.0
        assert trial.train_seconds == 3.0
    assert trial.train_seconds == 3.0


def test_builtin_digits_is_pruned_by_the_exact_bound():
    unbeatable = Evidence(incumbent=1e9)  # no trial trains fast enough to reach this score
    result = run_trial(resolve_objective("digits"),
                       {"lr": 3e-3, "batch_size": 64, "weight_decay": 1e-6,
                        "optimizer": {"name": "adamw"}, "scheduler": {"name": "cosine"}},
                       TrialSettings(epochs=6, device="cpu"),
                       should_prune=should_prune(BoundPruner(), lambda: unbeatable))
    assert result["pruned"] is True and result["pruner"] == "bound"
    assert result["epochs"] == BoundPruner().min_epochs == 2
    assert len(result["val_accuracy_per_epoch"]) == 2 and result["epochs_planned"] == 6
    assert 0.0 < result["score_bound"] < 1e9
