"""The one read the dashboard makes of a store per interval, shared by every page.

Everything the pages show comes from `read_store`, so a cheaper way to learn what changed (a
change marker kept by the stores) replaces this function and nothing else.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from functools import partial

from search.documents import JobDoc
from search.experiment import Experiment
from search.store import Store, WorkerStatus

from ._data import DASHBOARD_FIELDS


@dataclasses.dataclass(frozen=True)
class StoreReading:
    """What one read found: every experiment, its jobs (only the fields the pages show), and
    the workers."""

    experiments: list[Experiment]
    jobs: dict[str, list[JobDoc]]
    workers: list[WorkerStatus]


def read_store(store: Store, progress: Callable[[str, int], None] | None = None
               ) -> StoreReading:
    """Read every experiment's jobs and the workers, whole; `progress` hears (experiment, jobs
    read so far) while a long read of one goes on, where the store tells.

    Raises:
        StoreError: the store cannot be read (the caller keeps showing its last reading).
    """
    experiments = store.experiments()
    jobs = {}
    for experiment in experiments:
        heard = None if progress is None else partial(progress, experiment.exp_key)
        jobs[experiment.exp_key] = store.jobs(experiment.exp_key, fields=DASHBOARD_FIELDS,
                                              progress=heard)
    return StoreReading(experiments=experiments, jobs=jobs, workers=store.workers())
