"""The result of a pruned trial: a finished trial that scores the worst, and says why."""

from __future__ import annotations

from typing import Any

from ._context import TrialContext
from ._pruning import TrialPruned
from ._reasons import STATUS_OK
from ._result import _common
from ._settings import TrialSettings


def pruned_result(
    pruned: TrialPruned, trial: TrialContext, settings: TrialSettings, device_name: str
) -> dict[str, Any]:
    """A pruned trial as Hyperopt and every reader of results can take it.

    ``status`` is "ok" (the trial finished: it counts toward ``max_evals`` and the stock
    ``MongoTrials`` reads it) and ``loss`` is 0.0, the worst score, as for a trial below the
    accuracy floor: a reader that knows nothing of pruning never takes it for a good trial.
    ``pruned`` marks it; ``accuracy`` is the last reported validation accuracy, with the
    partial curve, ``train_seconds`` so far, ``epochs`` done and ``epochs_planned``, the
    ``pruner``, its ``prune_reason`` and ``score_bound`` (the most accuracy per second the
    trial could have reached; see `PruneDecision`).
    """
    curve = trial.val_accuracy_per_epoch
    accuracy = curve[-1] if curve else None  # report_epoch raised: the last value is finite
    return {
        "status": STATUS_OK,
        "loss": 0.0,
        "pruned": True,
        "accuracy": accuracy,
        "train_seconds": trial.train_seconds,
        "below_accuracy_floor": accuracy is not None and accuracy < settings.min_accuracy,
        **_common(trial, settings, device_name),
        "epochs": len(curve),
        "epochs_planned": trial.epochs,
        "pruner": pruned.decision.pruner,
        "prune_reason": pruned.decision.reason,
        "score_bound": pruned.decision.score_bound,
    }
