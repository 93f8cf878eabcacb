"""The exact bound: a trial that cannot reach the incumbent's score is stopped.

Accuracy is at most ``ceiling`` (1.0, or what the user knows the task allows), so a trial
that will have trained T seconds at its last planned epoch scores at most ``ceiling / T``,
whatever its learning curve does. T is projected from the fastest epoch so far, less a
margin; when even that lower projection makes the bound fall below the incumbent, the trial
cannot win. A stale incumbent is lower, so it prunes less, save where a confirmation run
since pulled the leader's pooled score down (`EvidenceBuilder`).

The margin is measured on the experiment itself: once `TIMED_TRIALS` trials have trained to
their end, the epochs left are assumed to undercut the fastest epoch so far by no more than
the most any of them did (`Evidence.speedup`), with a tenth more for safety. A machine with
steady epochs (a dedicated GPU) then gets a thin margin and an early bound; a shared, noisy
one a wide margin. Until then, `DEFAULT_MARGIN`, from `digits` on the shared 2-core
development machine (benchmarks/pruning.py measure-margin; RESULTS.md): from the second epoch
on, the epochs left took at least 0.43 of the fastest epoch so far in every one of 720
(trial, epoch) pairs of 40 trials at a load of 20, and at least 0.26 in 99.9% of 1,520 pairs
of 80 trials in an earlier run (0.17 at worst, in one trial whose first epochs all ran
during a burst of contention).
"""

from __future__ import annotations

import dataclasses

from objectives import EpochReport, PruneDecision

from ._evidence import MIN_EPOCHS, Evidence
from ._projection import projected_seconds

DEFAULT_MARGIN = 0.75
TIMED_TRIALS = 5  # finished trials that must have measured the speed-up before it is used
SAFETY = 0.9  # the margin allows a tenth more speed-up than any finished trial showed


@dataclasses.dataclass(frozen=True)
class BoundPruner:
    """Stops a trial whose score bound falls below the incumbent.

    Attributes:
        name: The pruner's name, as results record it.
        ceiling: The highest accuracy any trial can reach.
        margin: The fraction of the fastest epoch's time the epochs left may undercut it by
            (0: they take at least as long; 1: no projection, the bound from the seconds so
            far, exact whatever happens next); None: measured on the experiment (above).
        min_epochs: Epochs a trial trains before the bound may stop it.
    """

    name: str = "bound"
    ceiling: float = 1.0
    margin: float | None = None
    min_epochs: int = MIN_EPOCHS

    def __post_init__(self) -> None:
        if not 0.0 < self.ceiling <= 1.0:
            raise ValueError(f"the accuracy ceiling must be in (0, 1], got {self.ceiling!r}")
        if self.margin is not None and not 0.0 <= self.margin <= 1.0:
            raise ValueError(f"the time margin must be in [0, 1], got {self.margin!r}")

    grid = None  # the bound needs no rung records

    def margin_for(self, evidence: Evidence) -> float:
        """The margin in force: the one given, else the one the finished trials measured."""
        if self.margin is not None:
            return self.margin
        if evidence.speedup is None or evidence.timed < TIMED_TRIALS:
            return DEFAULT_MARGIN
        return 1.0 - SAFETY * min(1.0, max(evidence.speedup, 0.0))

    def lowest_seconds(self, report: EpochReport, evidence: Evidence) -> float:
        """The least training seconds the trial will have at its last planned epoch."""
        return projected_seconds(report, self.margin_for(evidence))

    def score_bound(self, report: EpochReport, evidence: Evidence) -> float:
        """The most accuracy per second the trial can reach: ``ceiling`` over the lower
        projection of its final training seconds."""
        return self.ceiling / max(self.lowest_seconds(report, evidence), 1e-12)

    def decide(self, report: EpochReport, evidence: Evidence) -> PruneDecision | None:
        """Stop when the score bound is below the incumbent (never before ``min_epochs``)."""
        if evidence.incumbent is None or report.epoch < self.min_epochs:
            return None
        bound = self.score_bound(report, evidence)
        if bound >= evidence.incumbent:
            return None
        return self.stop(report, evidence, self.name, f"bound: at most {bound:.4g} accuracy/s, "
                         f"below the incumbent's {evidence.incumbent:.4g}")

    def stop(self, report: EpochReport, evidence: Evidence, pruner: str,
             reason: str) -> PruneDecision:
        """The decision to stop a trial, for any pruner: what it records as its score bound
        is always this bound."""
        return PruneDecision(pruner=pruner, reason=reason,
                             score_bound=self.score_bound(report, evidence))
