"""The pruners by name, and the bridge to the objective protocol's ``should_prune``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from objectives import EpochReport, PruneDecision, ShouldPrune

from ._bound import BoundPruner
from ._curve import CurvePruner
from ._evidence import Evidence, RungGrid
from ._rungs import RungPruner


class Pruner(Protocol):
    """Decides from one epoch report and the evidence whether a trial stops."""

    @property
    def name(self) -> str: ...

    @property
    def grid(self) -> RungGrid | None:
        """The rung grid its evidence must be built on (None: it reads no rung records)."""
        ...

    def decide(self, report: EpochReport, evidence: Evidence) -> PruneDecision | None: ...


PRUNER_NAMES = ("none", "bound", "asha", "curve")
DEFAULT_PRUNER = "curve"  # chosen on benchmarks/pruning.py's tuning half (RESULTS.md)


def make_pruner(name: str, ceiling: float = 1.0, min_accuracy: float = 0.0) -> Pruner | None:
    """The pruner called ``name`` (None for "none"), for an experiment whose accuracy can reach
    at most ``ceiling`` and whose floor is ``min_accuracy``.

    Raises:
        ValueError: Unknown name, or a ceiling or floor out of range.
    """
    if name == "none":
        return None
    if name == "bound":
        return BoundPruner(ceiling=ceiling)
    if name == "asha":
        return RungPruner(bound=BoundPruner(ceiling=ceiling),
                          grid=RungGrid(min_accuracy=min_accuracy))
    if name == "curve":
        return CurvePruner(bound=BoundPruner(ceiling=ceiling), min_accuracy=min_accuracy)
    raise ValueError(f"unknown pruner {name!r}: use one of {', '.join(PRUNER_NAMES)}")


def should_prune(pruner: Pruner, evidence: Callable[[], Evidence | None]) -> ShouldPrune:
    """The objective protocol's ``should_prune`` for one trial: each report is decided from
    the evidence ``evidence()`` returns then (None, e.g. during an outage: never prune)."""

    def decide(report: EpochReport) -> PruneDecision | None:
        current = evidence()
        return None if current is None else pruner.decide(report, current)

    return decide
