"""The public names of `search`: read by type checkers, and by `lazy_loader` at run time to
load each name from its module on first use."""

from .configurations import Configuration
from .experiment import Experiment, ExperimentConflict
from .farm.driver import SearchProgress
from .farm.worker import Worker, WorkerOptions
from .launch import (
    InvalidSearchOptions,
    RecordedChoiceKept,
    SearchFailed,
    SearchOptions,
    optimize,
)
from .reports.results import ExperimentResults, results
from .store import Store, StoreError, open_store
from .trial import Trial

__all__ = [
    "Configuration",
    "Experiment",
    "ExperimentConflict",
    "ExperimentResults",
    "InvalidSearchOptions",
    "RecordedChoiceKept",
    "SearchFailed",
    "SearchOptions",
    "SearchProgress",
    "Store",
    "StoreError",
    "Trial",
    "Worker",
    "WorkerOptions",
    "open_store",
    "optimize",
    "results",
]
