"""Sharing a machine's CPU cores among several worker processes."""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator

import torch

logger = logging.getLogger(__name__)


def available_cores() -> int:
    """Cores this process may run on (its CPU affinity, which containers narrow), at least 1."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)


def configure_cpu_threads(processes_per_machine: int, threads: int | None = None) -> int:
    """Give this process its share of the CPU cores: ``max(1, cores // processes_per_machine)``.

    Without this every worker process starts one torch thread per core, N processes
    oversubscribe the machine, and a 50 ms trial slows down tenfold.

    Args:
        processes_per_machine: How many CPU worker processes share this machine.
        threads: An explicit count that overrides the share (an operator who knows that
            other processes share the machine too).

    Returns:
        The number of intra-op threads now set.

    Raises:
        ValueError: ``processes_per_machine`` is below 1.
    """
    if processes_per_machine < 1:
        raise ValueError(f"processes_per_machine must be at least 1, got {processes_per_machine}")
    if threads is None:
        threads = max(1, available_cores() // processes_per_machine)
    torch.set_num_threads(threads)
    try:
        # Inter-op threads can be set only once per process, before any parallel work; after
        # that torch raises, and the first setting stands.
        torch.set_num_interop_threads(threads)
    except RuntimeError:
        logger.debug("inter-op threads already fixed at %d", torch.get_num_interop_threads())
    return threads


@contextlib.contextmanager
def every_core_for_this_process() -> Iterator[int]:
    """Every core for the trials this process runs (an embedded search), and the caller's
    intra-op thread count back afterwards: a notebook that chose its own keeps it."""
    before = torch.get_num_threads()
    try:
        yield configure_cpu_threads(1)
    finally:
        torch.set_num_threads(before)
