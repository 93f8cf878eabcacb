"""The built-in `digits` objective trains what it is told, fast, and reproducibly on the CPU."""

from __future__ import annotations

import json

import pytest

from objectives import TrialSettings, resolve_objective, run_trial
from tests.objectives_for_tests import assert_storable

GOOD_PARAMS = {
    "lr": 3e-3,
    "batch_size": 64,
    "weight_decay": 1e-6,
    "optimizer": {"name": "adamw"},
    "scheduler": {"name": "cosine"},
}
SGD_PLATEAU_PARAMS = {
    "lr": 0.05,
    "batch_size": 128,
    "weight_decay": 1e-5,
    "optimizer": {"name": "sgd", "momentum": 0.9, "nesterov": True},
    "scheduler": {"name": "plateau", "patience": 1, "factor": 0.5},
}


def digits_trial(params: dict, epochs: int = 3, seed: int = 0, min_accuracy: float = 0.0) -> dict:
    settings = TrialSettings(epochs=epochs, device="cpu", seed=seed, min_accuracy=min_accuracy)
    return run_trial(resolve_objective("digits"), params, settings)


@pytest.fixture(scope="module")
def good_result() -> dict:
    return digits_trial(GOOD_PARAMS, epochs=20)


@pytest.mark.slow  # trains a network
def test_good_hyperparameters_reach_ninety_percent_in_twenty_epochs(good_result):
    assert good_result["status"] == "ok"
    assert good_result["accuracy"] >= 0.9


@pytest.mark.slow  # trains a network
def test_result_is_plain_json_with_one_accuracy_per_epoch(good_result):
    assert_storable(good_result)
    assert json.loads(json.dumps(good_result, allow_nan=False)) == good_result
    assert len(good_result["val_accuracy_per_epoch"]) == 20
    assert good_result["val_accuracy_per_epoch"][-1] == good_result["accuracy"]
    assert good_result["epochs"] == 20
    assert good_result["device_type"] == "cpu"
    assert good_result["validation_size"] == 360
    assert good_result["parameter_count"] == 64 * 128 + 128 + 128 * 10 + 10


@pytest.mark.slow  # trains a network
def test_loss_is_minus_accuracy_per_train_second(good_result):
    assert good_result["train_seconds"] > 0
    assert good_result["loss"] == pytest.approx(
        -good_result["accuracy"] / good_result["train_seconds"]
    )


@pytest.mark.slow  # trains a network
def test_same_params_and_seed_give_identical_accuracy_on_cpu():
    first = digits_trial(GOOD_PARAMS, seed=3)
    second = digits_trial(GOOD_PARAMS, seed=3)
    assert first["val_accuracy_per_epoch"] == second["val_accuracy_per_epoch"]
    assert first["accuracy"] == second["accuracy"]


@pytest.mark.slow  # trains a network
def test_different_seeds_train_differently():
    curves = {
        tuple(digits_trial(GOOD_PARAMS, epochs=2, seed=seed)["val_accuracy_per_epoch"])
        for seed in (0, 1, 2)
    }
    assert len(curves) > 1


@pytest.mark.slow  # trains a network
def test_accuracy_floor_scores_zero_and_keeps_accuracy():
    result = digits_trial(GOOD_PARAMS, epochs=1, min_accuracy=1.0)
    assert result["status"] == "ok"
    assert result["loss"] == 0.0
    assert result["below_accuracy_floor"] is True
    assert 0.5 < result["accuracy"] < 1.0


@pytest.mark.slow  # trains a network
def test_sgd_with_plateau_scheduler_trains():
    result = digits_trial(SGD_PLATEAU_PARAMS, epochs=4)
    assert result["status"] == "ok"
    assert result["accuracy"] > 0.8
    assert len(result["val_accuracy_per_epoch"]) == 4


@pytest.mark.slow  # trains a network
def test_huge_learning_rate_is_a_diverged_failure_without_nan():
    params = {**SGD_PLATEAU_PARAMS, "lr": 1e6, "scheduler": {"name": "cosine"}}
    result = digits_trial(params, epochs=5)
    assert result["status"] == "fail"
    assert result["reason"] == "diverged"
    assert result["loss"] is None and result["accuracy"] is None
    assert len(result["val_accuracy_per_epoch"]) < 5  # stopped early
    assert_storable(result)
    json.dumps(result, allow_nan=False)


@pytest.mark.slow  # trains a network
def test_quantised_float_batch_size_is_accepted():
    result = digits_trial({**GOOD_PARAMS, "batch_size": 64.0}, epochs=1)
    assert result["status"] == "ok"


def test_unknown_optimizer_fails_with_a_clear_message():
    result = digits_trial({**GOOD_PARAMS, "optimizer": {"name": "lion"}}, epochs=1)
    assert result["status"] == "fail"
    assert result["reason"] == "exception"
    assert "unknown optimizer 'lion'" in result["error"]


def test_missing_hyperparameter_fails_with_a_clear_message():
    params = {key: value for key, value in GOOD_PARAMS.items() if key != "lr"}
    result = digits_trial(params, epochs=1)
    assert result["status"] == "fail"
    assert "params lack lr" in result["error"]
