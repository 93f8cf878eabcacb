"""Learning curves as evidence: a trial is stopped when finished trials whose curves looked
like its own so far all ended below the accuracy it needs in order to win. It catches what
the bound cannot: trials fast enough to win on time that will not reach the accuracy floor,
or the accuracy their time demands.

A trial that will train T seconds (projected as for the bound) must end with an accuracy of
at least ``incumbent * T`` to beat the incumbent, and at least the floor to score at all.
Curves are compared stage by stage (after each twentieth of the planned epochs): the finished
curves within ``tolerance`` of this one over its last ``window`` stages are its neighbours,
and the trial goes on if any of them ended (plus ``tolerance``) at the accuracy it needs. A
curve unlike any finished one is never stopped by them, so a new kind of learner (a late
bloomer the search has not seen finish) trains to its end and becomes evidence itself.

Without that evidence (fewer than ``min_neighbours`` similar finished curves), a curve that
is bending over (concave from here: its slope no steeper than before) is stopped when even
its current slope, kept to the end, falls short of what it needs: the tangent of a concave
curve lies above it. A curve still speeding up is never stopped that way, and one whose
similar finished curves got there (a plateau before a late rise) is never stopped by its
shape. The exact bound runs first, and its bound is what a decision records
as ``score_bound``.
"""

from __future__ import annotations

import dataclasses

from objectives import EpochReport, PruneDecision

from ._bound import BoundPruner
from ._evidence import Evidence, binned_curve


@dataclasses.dataclass(frozen=True)
class CurvePruner:
    """The exact bound, then the accuracy still needed against similar finished curves.

    Attributes:
        name: The pruner's name, as results record it.
        bound: The exact bound, applied first (its margin also projects T here).
        min_accuracy: The experiment's accuracy floor.
        tolerance: How far (in accuracy) a finished curve may be from this one at each
            compared stage to count as similar; also added to the neighbours' final accuracy.
        window: The stages compared, the last ones reached.
        min_neighbours: Similar finished curves needed before any is trusted.
        tangent: Also stop a curve that is bending over (its slope over the last tenth of the
            planned epochs no steeper than over the tenth before) when even its current slope,
            kept to the end, falls short: the tangent of a concave curve lies above it.
    """

    name: str = "curve"
    bound: BoundPruner = BoundPruner()
    min_accuracy: float = 0.0
    tolerance: float = 0.04
    window: int = 3
    min_neighbours: int = 3
    tangent: bool = True

    def __post_init__(self) -> None:
        if self.tolerance < 0.0 or self.window < 1 or self.min_neighbours < 1:
            raise ValueError(f"invalid curve settings: {self}")

    grid = None  # reads no rung records

    def needed_accuracy(self, report: EpochReport, evidence: Evidence) -> float:
        """The final accuracy the trial needs to score and to beat the incumbent."""
        incumbent = evidence.incumbent or 0.0
        return max(self.min_accuracy, incumbent * self.bound.lowest_seconds(report, evidence))

    def decide(self, report: EpochReport, evidence: Evidence) -> PruneDecision | None:
        """Stop when the bound does, or when enough similar finished curves exist and none of
        them ended at the accuracy this trial needs."""
        decision = self.bound.decide(report, evidence)
        if decision is not None:
            return dataclasses.replace(decision, pruner=self.name)
        stages = binned_curve(report.val_accuracy_per_epoch, report.epochs_planned)
        finals = []
        if stages and evidence.curves:
            window = range(max(0, len(stages) - self.window), len(stages))
            finals = [curve[-1] for curve in evidence.curves
                      if all(abs(curve[s] - stages[s]) <= self.tolerance for s in window)]
        if len(finals) < self.min_neighbours:  # too few like it to judge by: its own shape
            return self._tangent(report, evidence) if self.tangent else None
        needed = self.needed_accuracy(report, evidence)
        if max(finals) + self.tolerance >= needed:
            return None  # one like it got there: its shape is no reason to stop
        return self.bound.stop(
            report, evidence, self.name,
            f"curve: needs accuracy {needed:.4g}; the {len(finals)} finished trials whose "
            f"curves were like it after epoch {report.epoch} of {report.epochs_planned} ended "
            f"at most at {max(finals):.4g}")

    def _tangent(self, report: EpochReport, evidence: Evidence) -> PruneDecision | None:
        curve, epoch = report.val_accuracy_per_epoch, report.epoch
        span = max(1, report.epochs_planned // 10)
        if epoch <= 2 * span:
            return None
        recent = (curve[-1] - curve[-1 - span]) / span
        before = (curve[-1 - span] - curve[-1 - 2 * span]) / span
        if recent > before:
            return None  # still speeding up: a late bloomer's rise may be to come
        reachable = curve[-1] + (report.epochs_planned - epoch) * max(recent, 0.0)
        needed = self.needed_accuracy(report, evidence)
        if reachable + self.tolerance >= needed:
            return None
        return self.bound.stop(
            report, evidence, self.name, f"curve: needs accuracy {needed:.4g}; bending over at "
            f"{recent:.3g} per epoch after epoch {epoch}, it reaches at most {reachable:.4g}")
