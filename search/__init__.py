"""Farming trials out: the stores, the TPE driver, the worker, the queries and the CLI.

The public API fits on a screen:

- `open_store(location)`: a directory (embedded) or a `mongodb://` URL (distributed).
- `run_search(store, experiment, space_graph, options, local_worker=...)`: the driver.
- `Worker(store, worker_id, options).run()`: the worker loop.
- `search.reports.queries`: best trials, Pareto front, status, rows for export.
"""

from search.farm.driver import SearchOptions, run_search
from search.experiment import Experiment
from search.store import Store, StoreError, open_store
from search.farm.worker import Worker, WorkerOptions

__all__ = ["Experiment", "SearchOptions", "Store", "StoreError", "Worker", "WorkerOptions",
           "open_store", "run_search"]
