"""Farming trials out: the stores, the TPE driver, the worker, the queries and the CLI.

The public API fits on a screen:

- `open_store(location)`: a directory (embedded) or a `mongodb://` URL (distributed).
- `run_search(store, experiment, space_graph, options, local_worker=...)`: the driver.
- `Worker(store, worker_id, options).run()`: the worker loop.
- `search.reports.queries`: best trials, Pareto front, status, rows for export.
"""

import importlib
from typing import Any

__all__ = ["Experiment", "SearchOptions", "Store", "StoreError", "Worker", "WorkerOptions",
           "open_store", "run_search"]

# Names load on first use (PEP 562): `hpsearch --help` and the query commands import only
# what they use, never the driver's TPE or the worker's torch.
_WHERE = {
    "Experiment": "search.experiment",
    "SearchOptions": "search.farm.driver",
    "Store": "search.store",
    "StoreError": "search.store",
    "Worker": "search.farm.worker",
    "WorkerOptions": "search.farm.worker",
    "open_store": "search.store",
    "run_search": "search.farm.driver",
}


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(_WHERE[name]), name)
    globals()[name] = value  # the next lookup skips this function
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_WHERE])
