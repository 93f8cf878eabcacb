"""The one read the dashboard makes of a store per interval, shared by every page.

Everything the pages show comes from `read_store`, so a cheaper way to learn what changed (a
change marker kept by the stores) replaces this function and nothing else.
"""

from __future__ import annotations

import dataclasses

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


def read_store(store: Store) -> StoreReading:
    """Read every experiment's jobs and the workers, whole.

    Raises:
        StoreError: the store cannot be read (the caller keeps showing its last reading).
    """
    experiments = store.experiments()
    jobs = {experiment.exp_key: store.jobs(experiment.exp_key, fields=DASHBOARD_FIELDS)
            for experiment in experiments}
    return StoreReading(experiments=experiments, jobs=jobs, workers=store.workers())
