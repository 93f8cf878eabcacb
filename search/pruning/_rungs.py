"""Rungs in training seconds (asynchronous successive halving's stopping rule, on the score):
a trial that crosses a rung with a value outside the top of what earlier trials recorded there
is stopped. It catches what the bound cannot: fast trials that learn poorly.

Rungs sit at every power of the grid's factor in seconds, so they fit any time scale without
knowing it in advance. The value compared is the projected score (the accuracy so far over
the projected final seconds, 0 below the floor), so a slow trial and a fast one are compared
on what the search maximises, at equal training spent. The exact bound runs first, and its
bound is what a decision records as ``score_bound``.
"""

from __future__ import annotations

import dataclasses
import math

from objectives import EpochReport, PruneDecision

from ._bound import BoundPruner
from ._evidence import Evidence, RungGrid


@dataclasses.dataclass(frozen=True)
class RungPruner:
    """The exact bound, then rungs in training seconds.

    Attributes:
        name: The pruner's name, as results record it.
        bound: The exact bound, applied first.
        grid: Where rungs sit and how values are scored (the evidence must share it).
        keep_fraction: A trial goes on if its value is within the best ``keep_fraction`` of
            the values recorded at the rung (ASHA's 1 / reduction factor).
        min_trials: Values a rung must hold before it stops anything.
    """

    name: str = "asha"
    bound: BoundPruner = BoundPruner()
    grid: RungGrid = RungGrid()
    keep_fraction: float = 1.0 / 3.0
    min_trials: int = 5

    def __post_init__(self) -> None:
        if not 0.0 < self.keep_fraction <= 1.0 or self.min_trials < 1:
            raise ValueError(f"invalid rung settings: {self}")

    def decide(self, report: EpochReport, evidence: Evidence) -> PruneDecision | None:
        """Stop when the bound does, or when a rung just crossed holds enough values and
        this trial's value is not among the best ``keep_fraction`` of them."""
        decision = self.bound.decide(report, evidence)
        if decision is not None:
            return dataclasses.replace(decision, pruner=self.name)
        k = self.grid.crossed(report)
        if k is None or evidence.grid != self.grid:
            return None
        values = evidence.rung_values.get(k, ())
        if len(values) < self.min_trials:
            return None
        threshold = values[math.ceil(len(values) * self.keep_fraction) - 1]
        value = self.grid.value(report)
        if value >= threshold:
            return None
        return self.bound.stop(
            report, evidence, self.name,
            f"rung at {self.grid.factor ** k:.4g} s: projected {value:.4g} accuracy/s, below "
            f"the best {self.keep_fraction:.0%} of {len(values)} trials there "
            f"(>= {threshold:.4g})")
