"""Devices, CPU threads, settings and the trial timer."""

from __future__ import annotations

import time

import numpy as np
import pytest
import torch

from objectives import (
    ObjectiveError,
    TrialContext,
    TrialSettings,
    _threads,
    configure_cpu_threads,
    resolve_device,
)


@pytest.fixture
def restore_torch_threads():
    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)


@pytest.mark.parametrize(
    ("cores", "processes", "threads"),
    [(8, 1, 8), (8, 3, 2), (8, 8, 1), (8, 16, 1), (2, 2, 1), (16, 4, 4)],
)
def test_cpu_threads_are_cores_shared_among_processes(
    monkeypatch, restore_torch_threads, cores, processes, threads
):
    monkeypatch.setattr(_threads, "available_cores", lambda: cores)
    assert configure_cpu_threads(processes) == threads
    assert torch.get_num_threads() == threads


def test_cpu_threads_need_at_least_one_process():
    with pytest.raises(ValueError):
        configure_cpu_threads(0)


def test_cpu_and_auto_devices_resolve():
    assert resolve_device("cpu") == torch.device("cpu")
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert resolve_device("auto").type == expected


@pytest.mark.parametrize("device", ["gpu", "cuda:x", "mps", ""])
def test_malformed_device_is_an_objective_error(device):
    with pytest.raises(ObjectiveError, match="unknown device"):
        resolve_device(device)


def test_missing_cuda_device_is_an_objective_error():
    with pytest.raises(ObjectiveError, match="cuda:99"):
        resolve_device("cuda:99")


@pytest.mark.parametrize(
    "settings", [{"epochs": 0}, {"min_accuracy": 1.5}, {"min_accuracy": -0.1}, {"seed": -1}]
)
def test_out_of_range_settings_are_refused(settings):
    with pytest.raises(ObjectiveError):
        TrialSettings(**settings)


def test_timed_blocks_add_up():
    trial = TrialContext(device=torch.device("cpu"), epochs=1, seed=0)
    started = time.perf_counter()
    for _ in range(2):
        with trial.timed():
            time.sleep(0.02)
    both_blocks = time.perf_counter() - started
    time.sleep(0.3)  # untimed, and after the wall-clock reading above
    assert 0.04 <= trial.train_seconds <= both_blocks


def test_timed_blocks_must_not_nest():
    trial = TrialContext(device=torch.device("cpu"), epochs=1, seed=0)
    with trial.timed():
        with pytest.raises(RuntimeError, match="nest"):
            with trial.timed():
                pass


def test_non_finite_epoch_accuracy_stops_training():
    trial = TrialContext(device=torch.device("cpu"), epochs=2, seed=0)
    trial.report_epoch(0.5)
    with pytest.raises(FloatingPointError):
        trial.report_epoch(float("nan"))
    assert trial.val_accuracy_per_epoch == [0.5, None]


@pytest.mark.parametrize("value", [True, False, torch.tensor(True), "0.5", None])
def test_epoch_accuracy_that_the_result_would_refuse_is_refused(value):
    """A bool is no accuracy of 1.0 or 0.0, a string no number: the epoch's accuracy is held
    to the result's own rule, so a curve never shows what the result would have refused."""
    trial = TrialContext(device=torch.device("cpu"), epochs=2, seed=0)
    with pytest.raises(TypeError, match=f"as a number in \\[0, 1\\], not {type(value).__name__}"):
        trial.report_epoch(value)
    assert trial.val_accuracy_per_epoch == []


@pytest.mark.parametrize("value", [0.5, 1, np.float32(0.5), torch.tensor([0.5])])
def test_epoch_accuracy_may_be_any_real_number_the_result_takes(value):
    trial = TrialContext(device=torch.device("cpu"), epochs=2, seed=0)
    trial.report_epoch(value)
    assert trial.val_accuracy_per_epoch == [float(value)]
