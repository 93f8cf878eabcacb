"""The exact bound: a trial that cannot reach the incumbent's score is stopped.

Accuracy is at most ``ceiling`` (1.0, or what the user knows the task allows), so a trial
that will have trained T seconds at its last planned epoch scores at most ``ceiling / T``,
whatever its learning curve does. T is projected from the fastest epoch so far, less a
margin; when even that lower projection makes the bound fall below the incumbent, the trial
cannot win. A stale incumbent is lower, so it prunes less, never more.
"""

from __future__ import annotations

import dataclasses

from objectives import EpochReport, PruneDecision

from ._evidence import Evidence
from ._projection import projected_seconds

# Measured (benchmarks/pruning.py --measure-margin) on `digits` on the loaded 2-core
# development machine, 80 trials of 20 epochs: from the second epoch on, the epochs left took
# at least 0.26 of the fastest epoch so far in 99.9% of (trial, epoch) pairs, and at least
# 0.90 in 99%. Preemption and contention there made per-epoch times swing by 100% and more;
# on a dedicated GPU they swing by a few percent, so this margin is generous there.
MEASURED_MARGIN = 0.75
MIN_EPOCHS = 2  # one epoch alone is no rate: the first may carry a cold cache or set-up


@dataclasses.dataclass(frozen=True)
class BoundPruner:
    """Stops a trial whose score bound falls below the incumbent.

    Attributes:
        name: The pruner's name, as results record it.
        ceiling: The highest accuracy any trial can reach.
        margin: The fraction of the fastest epoch's time the epochs left may undercut it by
            (0: they take at least as long; 1: no projection, the bound from the seconds so
            far, exact whatever happens next).
        min_epochs: Epochs a trial trains before the bound may stop it.
    """

    name: str = "bound"
    ceiling: float = 1.0
    margin: float = MEASURED_MARGIN
    min_epochs: int = MIN_EPOCHS

    def __post_init__(self) -> None:
        if not 0.0 < self.ceiling <= 1.0:
            raise ValueError(f"the accuracy ceiling must be in (0, 1], got {self.ceiling!r}")
        if not 0.0 <= self.margin <= 1.0:
            raise ValueError(f"the time margin must be in [0, 1], got {self.margin!r}")

    grid = None  # the bound needs no rung records

    def score_bound(self, report: EpochReport) -> float:
        """The most accuracy per second the trial can reach: ``ceiling`` over the lower
        projection of its final training seconds."""
        return self.ceiling / max(projected_seconds(report, self.margin), 1e-12)

    def decide(self, report: EpochReport, evidence: Evidence) -> PruneDecision | None:
        """Stop when the score bound is below the incumbent (never before ``min_epochs``)."""
        if evidence.incumbent is None or report.epoch < self.min_epochs:
            return None
        bound = self.score_bound(report)
        if bound >= evidence.incumbent:
            return None
        return self.stop(report, self.name, f"bound: at most {bound:.4g} accuracy/s, below the "
                         f"incumbent's {evidence.incumbent:.4g}")

    def stop(self, report: EpochReport, pruner: str, reason: str) -> PruneDecision:
        """The decision to stop a trial, for any pruner: what it records as its score bound
        is always this bound."""
        return PruneDecision(pruner=pruner, reason=reason, score_bound=self.score_bound(report))
