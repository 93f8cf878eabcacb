"""`hpsearch worker` on a machine: which processes, which GPU each, how many threads."""

from __future__ import annotations

import signal
import types

import pytest
import torch

import objectives
from search.farm.processes import (
    GpuSpecError,
    ProcessPlan,
    _say_how_it_ended,
    parse_gpus,
    plan_processes,
    visible_device,
)


def test_gpus_all_none_and_lists_name_the_visible_devices() -> None:
    assert parse_gpus("all", 4) == ["0", "1", "2", "3"]
    assert parse_gpus("none", 4) == []
    assert parse_gpus("2,0", 4) == ["2", "0"]


@pytest.mark.parametrize("spec, available, message", [
    ("all", 0, "no CUDA GPU"),
    ("1,1", 2, "distinct"),
    ("a,b", 2, "indices"),
    ("3", 2, "no GPU 3"),
])
def test_bad_gpu_lists_are_explained(spec: str, available: int, message: str) -> None:
    with pytest.raises(GpuSpecError, match=message):
        parse_gpus(spec, available)


def test_one_process_per_gpu_or_cpu_workers_sharing_the_cores() -> None:
    assert plan_processes(["0", "1"], cpu_workers=3, threads_per_worker=None) == [
        ProcessPlan(gpu="0", processes_on_machine=2), ProcessPlan(gpu="1", processes_on_machine=2)]
    assert plan_processes([], cpu_workers=3, threads_per_worker=1) == [
        ProcessPlan(gpu=None, processes_on_machine=3, threads=1)] * 3


def test_explicit_thread_count_overrides_the_share_of_the_cores() -> None:
    before = torch.get_num_threads()
    try:
        assert objectives.configure_cpu_threads(1, threads=1) == 1
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)


@pytest.mark.parametrize(("visible", "gpu", "shown"), [
    (None, "1", "1"), ("", "0", "0"), ("2,3", "0", "2"), ("2,3", "1", "3"),
    (" 4 , 5 ", "1", "5"), ("GPU-8a3c0f1e", "0", "GPU-8a3c0f1e"),
    ("MIG-GPU-8a3c0f1e/1/0,MIG-GPU-8a3c0f1e/2/0", "1", "MIG-GPU-8a3c0f1e/2/0")])
def test_a_child_sees_the_gpu_it_was_given_among_those_the_command_sees(
        monkeypatch: pytest.MonkeyPatch, visible: str | None, gpu: str, shown: str) -> None:
    """GPU 0 of a command under CUDA_VISIBLE_DEVICES=2,3 (a scheduler's) is physical GPU 2."""
    if visible is None:
        monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    else:
        monkeypatch.setenv("CUDA_VISIBLE_DEVICES", visible)
    assert visible_device(gpu) == shown


def test_a_worker_process_that_exits_with_an_error_is_said_to_have(
        caplog: pytest.LogCaptureFixture) -> None:
    """An objective's `os._exit(7)` leaves the process no chance to log why."""
    child = types.SimpleNamespace(exitcode=7, name="hpsearch-worker-cpu", pid=4242)
    _say_how_it_ended(child, 1, set())  # type: ignore[arg-type]
    assert "worker process hpsearch-worker-cpu (pid 4242) ended with exit code 7; 1 other " \
        "worker process(es) go on" in caplog.text


def test_a_worker_process_the_commands_own_stop_ended_is_not_reported(
        caplog: pytest.LogCaptureFixture) -> None:
    """A second forwarded SIGTERM ends a child with 128 + 15, as the stop asked."""
    for code in (143, -15):
        child = types.SimpleNamespace(exitcode=code, name="hpsearch-worker-cpu", pid=4242)
        _say_how_it_ended(child, 1, {signal.SIGTERM})  # type: ignore[arg-type]
    assert caplog.text == ""
