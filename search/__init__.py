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

Names load on first use (PEP 562), so `hpsearch --help` and the queries do not pay for torch
or hyperopt.
"""

import lazy_loader

# The names and their modules are listed once, in __init__.pyi, which type checkers read too.
__getattr__, __dir__, __all__ = lazy_loader.attach_stub(__name__, __file__)
