"""Objectives: what one trial does (build data and model, train, time the training, evaluate).

The objective protocol
======================
An objective is a function ``run(params, trial) -> dict``:

``params``
    The hyperparameters proposed for this trial, as plain data, e.g. for the ``default``
    space ``{"lr": 3e-3, "batch_size": 64, "weight_decay": 1e-6, "optimizer": {"name":
    "adamw"}, "scheduler": {"name": "cosine"}}``.
``trial``
    A :class:`TrialContext`: ``trial.device`` (train there), ``trial.epochs`` (the
    experiment's ``--epochs``, or the params' ``epochs`` when the space searches it),
    ``trial.seed`` (``random``, numpy and torch are already seeded with it),
    ``trial.data_dir`` (``--data-dir``, or None) and ``trial.torch_compile`` (``--compile``).

Mark the training loop, and nothing else, with ``with trial.timed():``. The device is
synchronized on entry and exit; blocks may be entered many times (e.g. once per epoch) and
their times add up to ``train_seconds``. Keep data loading, model construction and the
final evaluation outside; evaluation that steers training (ReduceLROnPlateau) goes inside.
Optionally call ``trial.report_epoch(val_accuracy)`` after each epoch.

Return ``{"accuracy": fraction_correct_on_held_out_data}`` (in [0, 1]), plus any extra keys
of plain data (numbers, strings, booleans, None, flat lists, dicts; keys without "." or "$").

hpsearch scores it as ``loss = -accuracy / train_seconds`` (see :func:`timing_definition`).
If training diverges, stop and raise ``FloatingPointError`` (or return a NaN accuracy); the
trial is then recorded as failed with reason "diverged". Any other exception, out of memory
included, is recorded as a failed trial too; the worker carries on.

Use your own objective as ``package.module:function`` (the worker must be started with
``--allow-objective package.module:function``) or install it under the entry-point group
``hpsearch.objectives``; either may point at a function or at an :class:`Objective` (which
can also carry a ``warm_up(device)`` run once per process before its first timed trial, and a
``check(settings)`` that ``hpsearch search`` calls before any trial, raising ObjectiveError,
e.g. DataMissingError, when no trial could run)::

    def objective(params, trial):
        data, model, optimizer = build(params, trial.device)
        for epoch in range(trial.epochs):
            with trial.timed():
                train_one_epoch(model, optimizer, data)
            trial.report_epoch(evaluate(model, data))
        return {"accuracy": evaluate(model, data)}
"""

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # what the names below resolve to, for type checkers
    from ._context import TrialContext, timing_definition
    from ._device import device_description, resolve_device
    from ._errors import DataMissingError, ObjectiveError
    from ._objective import Objective
    from ._plain import plain_data
    from ._registry import builtin_objective_names, list_objectives, resolve_objective
    from ._settings import TrialSettings
    from ._threads import configure_cpu_threads
    from ._trial import epochs_for, run_trial

__all__ = [
    "DataMissingError",
    "Objective",
    "ObjectiveError",
    "TrialContext",
    "TrialSettings",
    "builtin_objective_names",
    "configure_cpu_threads",
    "epochs_for",
    "device_description",
    "list_objectives",
    "plain_data",
    "resolve_device",
    "resolve_objective",
    "run_trial",
    "timing_definition",
]

# Names load on first use (PEP 562), so that `import objectives` does not import torch:
# the CLI's query commands and `--help` never train anything.
_WHERE = {
    "TrialContext": "._context",
    "timing_definition": "._context",
    "device_description": "._device",
    "resolve_device": "._device",
    "DataMissingError": "._errors",
    "ObjectiveError": "._errors",
    "Objective": "._objective",
    "builtin_objective_names": "._registry",
    "list_objectives": "._registry",
    "resolve_objective": "._registry",
    "TrialSettings": "._settings",
    "configure_cpu_threads": "._threads",
    "epochs_for": "._trial",
    "run_trial": "._trial",
    "plain_data": "._plain",
}


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(_WHERE[name], __name__), name)
    globals()[name] = value  # the next lookup skips this function
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_WHERE])
