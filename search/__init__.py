"""Farming trials out: the stores, the TPE driver, the worker, the queries and the CLI.

The public API fits on a screen:

- `optimize(objective, space, SearchOptions(...))`: run or resume a search, on either store,
  and return its results (the counterpart of Optuna's `study.optimize` and Hyperopt's `fmin`).
- `results(store, exp_key)`: an experiment's trials for a notebook: `.best()` and
  `.pareto_front()` (each a `Configuration`: the runs of one set of hyperparameters, pooled),
  `.trials` (each a typed `Trial`), `.trials_dataframe()`.
- `open_store(location)`: a directory (embedded) or a `mongodb://` URL (distributed).
- `Worker(store, worker_id, options).run()`: the worker loop.
- `search.tpe.suggest`: our TPE, a Hyperopt algo (`hyperopt.fmin(..., algo=search.tpe.suggest)`).

Names load on first use, so `hpsearch --help` and the queries do not pay for torch or hyperopt.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "Configuration": "search.reports.evidence",
    "Experiment": "search.experiment",
    "ExperimentConflict": "search.experiment",
    "ExperimentResults": "search.reports.results",
    "InvalidSearchOptions": "search.launch",
    "SearchFailed": "search.launch",
    "SearchOptions": "search.launch",
    "SearchProgress": "search.farm.driver",
    "Store": "search.store",
    "StoreError": "search.store",
    "Trial": "search.trial",
    "Worker": "search.farm.worker",
    "WorkerOptions": "search.farm.worker",
    "open_store": "search.store",
    "optimize": "search.launch",
    "results": "search.reports.results",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'search' has no attribute {name!r}")
    return getattr(importlib.import_module(_EXPORTS[name]), name)


def __dir__() -> list[str]:
    """The public names too, loaded or not: tab completion and help() show them."""
    return sorted({*globals(), *_EXPORTS})
