"""`hpsearch worker` on a machine: which processes, which GPU each, how many threads."""

from __future__ import annotations

import pytest
import torch

import objectives
from search.farm.processes import GpuSpecError, ProcessPlan, parse_gpus, plan_processes


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
