"""The public names of `objectives`: read by type checkers, and by `lazy_loader` at run time
to load each name from its module on first use."""

from ._context import TrialContext, timing_definition
from ._device import device_description, resolve_device
from ._device_names import device_setting
from ._errors import DataMissingError, ObjectiveError
from ._objective import Objective, objective_from_function
from ._plain import plain_data
from ._pruning import EpochReport, PruneDecision, ShouldPrune, TrialPruned
from ._reasons import STATUS_FAIL, STATUS_OK, Reason, describe_failure, failed_result
from ._registry import (
    builtin_objective_names,
    is_module_function,
    list_objectives,
    resolve_objective,
)
from ._result import labelled_result, stopped_result
from ._settings import TrialSettings
from ._threads import configure_cpu_threads, every_core_for_this_process
from ._trial import epochs_for, run_trial

__all__ = [
    "STATUS_FAIL",
    "STATUS_OK",
    "DataMissingError",
    "EpochReport",
    "Objective",
    "ObjectiveError",
    "PruneDecision",
    "Reason",
    "ShouldPrune",
    "TrialContext",
    "TrialPruned",
    "TrialSettings",
    "builtin_objective_names",
    "configure_cpu_threads",
    "every_core_for_this_process",
    "device_description",
    "device_setting",
    "epochs_for",
    "describe_failure",
    "failed_result",
    "is_module_function",
    "labelled_result",
    "list_objectives",
    "objective_from_function",
    "plain_data",
    "resolve_device",
    "resolve_objective",
    "run_trial",
    "stopped_result",
    "timing_definition",
]
