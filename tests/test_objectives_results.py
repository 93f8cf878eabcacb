"""run_trial turns every outcome of an objective into one plain-data result."""

from __future__ import annotations

import functools
import json
import random
import signal
import sys
import time

import numpy as np
import pytest
import torch

from objectives import (
    Objective,
    PruneDecision,
    Reason,
    TrialContext,
    TrialSettings,
    labelled_result,
    plain_data,
    resolve_objective,
    run_trial,
    stopped_result,
    timing_definition,
)
from tests import objectives_for_tests
from tests.objectives_for_tests import assert_storable

PARAMS = {"lr": 1e-3, "batch_size": 32, "weight_decay": 0.0, "optimizer": {"name": "adamw"}}
CPU = TrialSettings(epochs=1, device="cpu")


def objective_for(function) -> Objective:
    return Objective(name=f"tests:{function.__name__}", description="", run=function)


def test_noop_result_has_every_recorded_field():
    result = run_trial(resolve_objective("noop"), PARAMS, CPU)
    assert result["status"] == "ok"
    assert set(result) >= {
        "status", "loss", "accuracy", "train_seconds", "epochs", "val_accuracy_per_epoch",
        "device", "device_type", "timing", "min_accuracy", "below_accuracy_floor", "seed",
    }
    assert result["device"] == "cpu" and result["device_type"] == "cpu"
    assert result["timing"] == timing_definition()
    assert_storable(result)
    json.dumps(result, allow_nan=False)


def test_noop_accuracy_is_a_deterministic_function_of_params():
    noop = resolve_objective("noop")
    first = run_trial(noop, PARAMS, CPU)["accuracy"]
    assert run_trial(noop, PARAMS, CPU)["accuracy"] == first
    assert run_trial(noop, {**PARAMS, "lr": 2e-3}, CPU)["accuracy"] != first
    assert 0.5 <= first < 0.501


def test_loss_is_minus_accuracy_per_train_second():
    result = run_trial(objective_for(objectives_for_tests.sleeps_outside_timed), PARAMS, CPU)
    assert result["loss"] == pytest.approx(-result["accuracy"] / result["train_seconds"])


def test_accuracy_below_floor_scores_zero_but_keeps_accuracy():
    settings = TrialSettings(epochs=1, device="cpu", min_accuracy=0.9)
    result = run_trial(objective_for(objectives_for_tests.sleeps_outside_timed), PARAMS, settings)
    assert result["status"] == "ok"
    assert result["loss"] == 0.0
    assert result["below_accuracy_floor"] is True
    assert result["accuracy"] == 0.8
    assert result["min_accuracy"] == 0.9


def test_train_seconds_excludes_untimed_evaluation():
    started = time.perf_counter()
    result = run_trial(objective_for(objectives_for_tests.sleeps_outside_timed), PARAMS, CPU)
    wall_seconds = time.perf_counter() - started
    assert result["train_seconds"] >= 0.01
    # Had the untimed sleep been counted, the two would add up to more than the wall time.
    assert result["train_seconds"] + objectives_for_tests.UNTIMED_SLEEP_SECONDS <= wall_seconds


def test_sleeping_objective_is_timed_for_the_configured_seconds(monkeypatch):
    monkeypatch.setenv(objectives_for_tests.SLEEP_ENV_VAR, "0.05")
    started = time.perf_counter()
    result = run_trial(objective_for(objectives_for_tests.sleeps), PARAMS, CPU)
    wall_seconds = time.perf_counter() - started
    assert result["status"] == "ok"
    assert 0.05 <= result["train_seconds"] <= wall_seconds


def test_raising_objective_is_a_failed_result_with_error_and_traceback():
    result = run_trial(objective_for(objectives_for_tests.raises), PARAMS, CPU)
    assert result["status"] == "fail"
    assert result["reason"] == "exception"
    assert result["error"] == "objective failed on purpose"
    assert result["error_type"] == "RuntimeError"
    assert "objectives_for_tests.py" in result["traceback"]
    assert "raise RuntimeError" in result["traceback"]
    assert result["loss"] is None and result["accuracy"] is None
    assert_storable(result)


def test_a_failed_trials_log_line_says_where_in_the_objective_it_raised(caplog):
    def shapes_differ(params, trial):
        with trial.timed():
            torch.zeros(2, 3) @ torch.zeros(2, 3)  # raised inside torch, called from here
        return {"accuracy": 0.5}

    with caplog.at_level("DEBUG", logger="objectives"):
        run_trial(objective_for(shapes_differ), PARAMS, CPU)
    (warning,) = [record for record in caplog.records if record.levelname == "WARNING"]
    line = shapes_differ.__code__.co_firstlineno + 2
    assert f"at {__file__}:{line} in shapes_differ" in warning.getMessage()
    assert any("Traceback (most recent call last)" in record.getMessage()
               for record in caplog.records if record.levelname == "DEBUG")


@pytest.mark.parametrize("code, call", [
    (3, "sys.exit(3)"), ("usage: ...", "sys.exit('usage: ...')"), (None, "sys.exit()"),
])
def test_an_objective_that_calls_sys_exit_is_a_failed_trial_that_says_where(code, call):
    def exits(params, trial):
        with trial.timed():
            pass
        sys.exit(code)

    result = run_trial(objective_for(exits), PARAMS, CPU)
    line = exits.__code__.co_firstlineno + 3
    assert result["status"] == "fail" and result["reason"] == "exception"
    assert result["error"] == f"the objective called {call} at {__file__}:{line} in exits"
    assert result["error_type"] == "SystemExit" and result["train_seconds"] is not None
    assert_storable(result)


@pytest.mark.parametrize("objective, reason, error", [
    (objectives_for_tests.nan_accuracy, "diverged", "nan"),
    (objectives_for_tests.out_of_memory, "out of memory", "simulated"),
])
def test_diverged_and_out_of_memory_trials_are_failures_without_nan(objective, reason, error):
    result = run_trial(objective_for(objective), PARAMS, CPU)
    assert result["status"] == "fail"
    assert result["reason"] == reason
    assert error in result["error"]
    assert result["loss"] is None and result["accuracy"] is None
    assert_storable(result)


def test_objective_that_never_enters_timed_fails_instead_of_scoring_infinitely_fast():
    result = run_trial(objective_for(objectives_for_tests.never_timed), PARAMS, CPU)
    assert result["status"] == "fail"
    assert "trial.timed()" in result["error"]


def test_objective_cannot_overwrite_reserved_keys():
    result = run_trial(objective_for(objectives_for_tests.returns_reserved_key), PARAMS, CPU)
    assert result["status"] == "fail"
    assert "train_seconds" in result["error"]


def keys_hpsearch_writes() -> set[str]:
    """Every key of the results hpsearch builds: scored, failed, pruned, stopped, labelled."""
    def pruned_at_once(params, trial):
        with trial.timed():
            pass
        trial.report_epoch(0.5)

    stopped = PruneDecision(pruner="test", reason="told to", score_bound=0.0)
    results = [
        run_trial(objective_for(objectives_for_tests.sleeps_outside_timed), PARAMS, CPU),
        run_trial(objective_for(objectives_for_tests.raises), PARAMS, CPU),
        run_trial(objective_for(pruned_at_once), PARAMS, TrialSettings(epochs=2, device="cpu"),
                  should_prune=lambda report: stopped),
        stopped_result(Reason.TIMEOUT, "stopped", None, CPU),
        labelled_result({}, objective="noop", worker="host:1:cpu", attempt=0),
    ]
    assert results[2]["pruned"]
    return {key for result in results for key in result}


@pytest.mark.parametrize("key", sorted(keys_hpsearch_writes() - {"accuracy"}))
def test_an_objective_may_return_no_key_that_hpsearch_writes(key):
    def returns_it(params, trial):
        with trial.timed():
            pass
        return {"accuracy": 0.9, key: "mine"}

    result = run_trial(objective_for(returns_it), PARAMS, CPU)
    assert result["status"] == "fail"
    assert f"keys that hpsearch sets itself: {key}; rename" in result["error"]


def test_percentage_accuracy_is_rejected_with_a_hint():
    result = run_trial(objective_for(objectives_for_tests.returns_percentage), PARAMS, CPU)
    assert result["status"] == "fail"
    assert "not a percentage" in result["error"]


def test_percentage_epoch_accuracy_is_rejected_with_a_hint():
    objective = objective_for(objectives_for_tests.reports_percentage_per_epoch)
    result = run_trial(objective, PARAMS, CPU)
    assert result["status"] == "fail"
    assert "report_epoch" in result["error"] and "not a percentage" in result["error"]


def test_a_report_past_the_planned_epochs_fails_the_trial_saying_so():
    """Reported twice per epoch, or trained past `trial.epochs`: the stored epochs, curve and
    the pruner's evidence would disagree."""
    def reports_twice(params, trial):
        for _ in range(trial.epochs):
            with trial.timed():
                pass
            trial.report_epoch(0.5)
            trial.report_epoch(0.5)
        return {"accuracy": 0.5}

    result = run_trial(objective_for(reports_twice), PARAMS, TrialSettings(epochs=3, device="cpu"))
    assert result["status"] == "fail"
    assert "epoch 4 of a trial planned for 3 (trial.epochs)" in result["error"]


def _exits(code, signum, frame):
    sys.exit(code)


class _ExitsOnSignal:
    def __call__(self, signum, frame):
        sys.exit(143)


@pytest.mark.parametrize("handler", [lambda signum, frame: sys.exit(143),
                                     functools.partial(_exits, 143), _ExitsOnSignal()],
                         ids=["function", "partial", "callable object"])
def test_a_sigterm_handler_that_exits_stops_the_search_not_the_trial(handler):
    """A program's own `signal.signal(SIGTERM, ... sys.exit(143))`: a stop from outside,
    which must reach the caller (the trial goes back to the queue), unlike the objective's
    own sys.exit."""
    def signalled(params, trial):
        with trial.timed():
            signal.raise_signal(signal.SIGTERM)
        return {"accuracy": 0.5}

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        with pytest.raises(SystemExit) as stopped:
            run_trial(objective_for(signalled), PARAMS, CPU)
    finally:
        signal.signal(signal.SIGTERM, previous)
    assert stopped.value.code == 143


def test_a_failure_is_placed_in_the_objectives_code_never_in_the_protocols(caplog):
    """A bad epoch report is where the objective called report_epoch; a bad result, in what
    the objective returned: never a line of hpsearch's checks."""
    def reports_a_percentage(params, trial):
        with trial.timed():
            pass
        trial.report_epoch(97.0)
        return {"accuracy": 0.97}

    def returns_too_much(params, trial):
        with trial.timed():
            pass
        return {"accuracy": 1.5}

    with caplog.at_level("WARNING", logger="objectives"):
        run_trial(objective_for(reports_a_percentage), PARAMS, CPU)
        run_trial(objective_for(returns_too_much), PARAMS, CPU, name="trial 7 of mnist")
    reported, returned = (record.getMessage() for record in caplog.records
                          if " failed: " in record.getMessage())
    assert reported.startswith("trial failed: ")  # which trial: its caller's name for it
    assert returned.startswith("trial 7 of mnist failed: ")
    line = reports_a_percentage.__code__.co_firstlineno + 3
    assert f"at {__file__}:{line} in reports_a_percentage" in reported
    assert "in what the objective returned" in returned and "_result.py" not in returned


def test_numpy_and_torch_extras_become_plain_data():
    objective = objective_for(objectives_for_tests.returns_numpy_and_torch_extras)
    result = run_trial(objective, PARAMS, CPU)
    assert result["status"] == "ok"
    assert result["accuracy"] == 0.75 and type(result["accuracy"]) is float
    assert result["steps"] == 3 and type(result["steps"]) is int
    assert result["final_loss"] == 0.25 and result["mean_loss"] == 0.5
    assert result["curve"] == [0.5, None]
    assert result["details"] == {"layers": 2}
    assert_storable(result)


def test_minus_zero_is_stored_as_zero_so_it_is_one_configuration_with_zero():
    """A quantized draw just below zero rounds to -0.0; as params it must equal 0.0 in
    every form, the canonical JSON that pools repeats included."""
    plain = plain_data({"shift": -0.0, "steps": [np.float64(-0.0)]}, "params")
    assert json.dumps(plain) == json.dumps({"shift": 0.0, "steps": [0.0]})


def test_a_trial_leaves_the_callers_random_generators_as_it_found_them():
    """Embedded, trials run in the caller's process: its draws go on as if none had run."""
    random.seed(1), np.random.seed(1), torch.manual_seed(1)
    expected = (random.random(), np.random.rand(), torch.rand(1).item())
    random.seed(1), np.random.seed(1), torch.manual_seed(1)
    result = run_trial(objective_for(objectives_for_tests.reports_random_draws), PARAMS, CPU)
    assert result["status"] == "ok"
    assert (random.random(), np.random.rand(), torch.rand(1).item()) == expected


def test_unknown_device_is_a_failed_result_not_an_exception():
    result = run_trial(resolve_objective("noop"), PARAMS, TrialSettings(device="tpu"))
    assert result["status"] == "fail"
    assert "unknown device 'tpu'" in result["error"]
    assert_storable(result)


def test_same_seed_gives_same_random_draws_and_other_seeds_differ():
    objective = objective_for(objectives_for_tests.reports_random_draws)
    draws = ("python_draw", "numpy_draw", "torch_draw")

    def run(seed: int) -> tuple[float, ...]:
        result = run_trial(objective, PARAMS, TrialSettings(epochs=1, device="cpu", seed=seed))
        return tuple(result[key] for key in draws)

    assert run(7) == run(7)
    assert all(a != b for a, b in zip(run(7), run(8), strict=False))


def test_warm_up_runs_once_per_process_and_device():
    calls = []
    objective = Objective(
        name="tests:warm-up-counter",
        description="",
        run=objectives_for_tests.sleeps_outside_timed,
        warm_up=calls.append,
    )
    run_trial(objective, PARAMS, CPU)
    run_trial(objective, PARAMS, CPU)
    assert [device.type for device in calls] == ["cpu"]


def test_objective_receives_a_copy_of_params():
    def mutates(params, trial):
        params["lr"] = "changed"
        with trial.timed():
            pass
        return {"accuracy": 0.5}

    params = dict(PARAMS)
    run_trial(objective_for(mutates), params, CPU)
    assert params == PARAMS


def test_an_accuracy_in_a_one_element_array_is_taken_as_a_tensors_is() -> None:
    def returns_an_array(params: dict, trial: TrialContext) -> dict:
        with trial.timed():
            pass
        return {"accuracy": np.array(0.9)}

    result = run_trial(objective_for(returns_an_array), PARAMS, CPU)
    assert result["status"] == "ok" and result["accuracy"] == 0.9
