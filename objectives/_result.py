"""The result dict of a trial (succeeded, failed, stopped or pruned), built in one place, as plain
JSON data safe for MongoDB."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from ._context import TrialContext, timing_definition
from ._device import device_description
from ._plain import plain_data, real_number
from ._pruning import TrialPruned
from ._reasons import STATUS_OK, Reason, failed_result
from ._settings import TrialSettings

# A timed region can measure 0.0 s on a coarse clock; dividing by this instead keeps the loss
# finite. One microsecond is below anything a real training loop takes.
MIN_TRAIN_SECONDS = 1e-6

# Every key hpsearch writes into a result, here or in `labelled_result`: an objective that
# returned one would have its value overwritten, or overwrite hpsearch's.
RESERVED_KEYS = frozenset(
    {
        "status", "loss", "accuracy", "train_seconds", "epochs", "val_accuracy_per_epoch",
        "device", "device_type", "timing", "min_accuracy", "below_accuracy_floor", "seed",
        "reason", "error", "error_type", "traceback", "train_seconds_at_epoch",
        "pruned", "epochs_planned", "pruner", "prune_reason", "score_bound",
        "objective", "worker", "attempt",
    }
)


NEVER_TIMED = ("the objective never entered `with trial.timed():`, so it has no training time; "
               "wrap its training loop in that block")

def success_result(
    returned: Any, trial: TrialContext, settings: TrialSettings, device_name: str
) -> dict[str, Any]:
    """Score what an objective returned.

    Raises:
        FloatingPointError: The accuracy is NaN or infinite (the trial diverged).
        TypeError, ValueError: The objective broke the protocol; the message says how.
    """
    if not isinstance(returned, Mapping) or "accuracy" not in returned:
        raise TypeError(
            "an objective must return a dict with an 'accuracy' key (a fraction in [0, 1]), "
            f"got {_describe(returned)}"
        )
    accuracy = _accuracy_value(returned["accuracy"])
    if not trial.entered_timed:
        raise ValueError(NEVER_TIMED)
    clashes = sorted(RESERVED_KEYS & set(returned) - {"accuracy"})
    if clashes:
        raise ValueError(
            f"the objective returned keys that hpsearch sets itself: {', '.join(clashes)}; "
            "rename them"
        )
    extras = {key: value for key, value in returned.items() if key != "accuracy"}
    train_seconds = trial.train_seconds
    below_floor = accuracy < settings.min_accuracy
    # The division is safe: train_seconds is clamped to MIN_TRAIN_SECONDS (see above).
    loss = 0.0 if below_floor else -accuracy / max(train_seconds, MIN_TRAIN_SECONDS)
    result = {
        "status": STATUS_OK,
        "loss": loss,
        "accuracy": accuracy,
        "train_seconds": train_seconds,
        "below_accuracy_floor": below_floor,
        **_common(trial, settings, device_name),
        **plain_data(extras, "result"),
    }
    return result


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


def labelled_result(result: Mapping[str, Any], *, objective: str, worker: str,
                    attempt: int) -> dict[str, Any]:
    """`result` labelled with what produced it: the objective's name, the worker that ran it
    and the attempt (keys an objective may not return)."""
    return {**result, "objective": objective, "worker": worker, "attempt": attempt}


def exception_result(
    reason: Reason,
    trial: TrialContext | None,
    settings: TrialSettings,
    device_name: str | None,
    error: BaseException,
    traceback_text: str | None = None,
    message: str | None = None,
) -> dict[str, Any]:
    """A trial that ended in an exception: what `_failed_so_far` holds, with the exception's
    type and (optionally) its traceback. The error is `message`, else the exception's own."""
    result = _failed_so_far(reason, str(error) if message is None else message, trial, settings,
                            device_name)
    result["error_type"] = type(error).__name__
    if traceback_text is not None:
        result["traceback"] = traceback_text
    return result


def stopped_result(reason: Reason, error: str, trial: TrialContext | None,
                   settings: TrialSettings) -> dict[str, Any]:
    """A trial stopped from outside, as its timeout stops it: a failed result that keeps what
    the trial did until then, as an exception's does (the training seconds count toward a
    search's budget). `trial` is the context `run_trial` gave its `on_start`, None if the
    trial was stopped before it had one."""
    device_name = device_description(trial.device) if trial is not None else None
    return _failed_so_far(reason, error, trial, settings, device_name)


def _failed_so_far(reason: Reason, error: str, trial: TrialContext | None,
                   settings: TrialSettings, device_name: str | None) -> dict[str, Any]:
    """What `failed_result` holds, with the training time so far (None if the objective never
    timed any), the curve reported so far and where the trial ran."""
    seconds = trial.train_seconds if trial is not None and trial.entered_timed else None
    return failed_result(reason, error, train_seconds=seconds,
                         **_common(trial, settings, device_name))


def _common(
    trial: TrialContext | None, settings: TrialSettings, device_name: str | None
) -> dict[str, Any]:
    device_type = trial.device.type if trial is not None else None
    return {
        # The epochs trained: the params' own when the space searches epochs (see run_trial).
        "epochs": trial.epochs if trial is not None else settings.epochs,
        "val_accuracy_per_epoch": trial.val_accuracy_per_epoch if trial is not None else [],
        "train_seconds_at_epoch": trial.train_seconds_at_epoch if trial is not None else [],
        "device": device_name,
        "device_type": device_type,
        "timing": timing_definition(),
        "min_accuracy": settings.min_accuracy,
        "seed": settings.seed,
    }


def _accuracy_value(value: Any) -> float:
    accuracy = real_number(value)
    if accuracy is None:
        raise TypeError(f"'accuracy' must be a number in [0, 1], got {_describe(value)}")
    if not math.isfinite(accuracy):
        raise FloatingPointError(f"the objective returned accuracy {accuracy}")
    if not 0.0 <= accuracy <= 1.0:
        raise ValueError(
            f"'accuracy' must be a fraction in [0, 1], got {accuracy} "
            "(return correct / total, not a percentage)"
        )
    return accuracy


def _describe(value: Any) -> str:
    text = repr(value)
    return f"{type(value).__name__} {text[:80]}{'...' if len(text) > 80 else ''}"
