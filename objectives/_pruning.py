"""The pruning half of the objective protocol: what an epoch report tells a pruner, what the
pruner answers, and the exception that stops a trial.

`objectives` decides nothing itself: the trial context carries the decision as a callable
(`ShouldPrune`), which the worker builds from the experiment's pruner (`search.pruning`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class EpochReport:
    """What a trial has done so far, as a pruner sees it after each reported epoch.

    Attributes:
        epoch: Epochs reported so far (1 after the first).
        epochs_planned: The epochs the trial would train if nothing stopped it.
        train_seconds: Seconds inside ``trial.timed()`` so far.
        val_accuracy_per_epoch: Every reported validation accuracy, the last one this epoch's.
        train_seconds_at_epoch: ``train_seconds`` when each of those epochs was reported
            (cumulative, so per-epoch times are the differences).
    """

    epoch: int
    epochs_planned: int
    train_seconds: float
    val_accuracy_per_epoch: tuple[float, ...]
    train_seconds_at_epoch: tuple[float, ...]

    @property
    def val_accuracy(self) -> float:
        """This epoch's validation accuracy."""
        return self.val_accuracy_per_epoch[-1]


@dataclass(frozen=True)
class PruneDecision:
    """A pruner's answer "stop this trial", with what the result records about it.

    Attributes:
        pruner: The pruner's name, as chosen for the experiment.
        reason: One line a user can read ("bound: at most 0.41/s < incumbent 0.52/s").
        score_bound: An upper bound on the score (accuracy per second) the trial could have
            reached had it trained to its last planned epoch, under the pruner's time model;
            TPE and users may treat the trial as censored there.
    """

    pruner: str
    reason: str
    score_bound: float


ShouldPrune = Callable[[EpochReport], PruneDecision | None]
"""Asked after each reported epoch but the last planned one; None lets the trial go on."""


class TrialPruned(Exception):
    """Raised by ``trial.report_epoch`` when the experiment's pruner stops the trial.

    Let it propagate out of the objective, as ``FloatingPointError``: the trial is then
    recorded as pruned, with its partial curve, accuracy and training seconds so far.
    """

    def __init__(self, decision: PruneDecision, epoch: int) -> None:
        super().__init__(f"pruned after epoch {epoch}: {decision.reason}")
        self.decision = decision
        self.epoch = epoch

    def __reduce__(self) -> tuple[type[TrialPruned], tuple[PruneDecision, int]]:
        """Pickled and copied by what it was made of (an objective's worker processes, a
        copy.copy), not by its message, which __init__ does not take."""
        return type(self), (self.decision, self.epoch)
