"""The pruners by name, and the bridge to the objective protocol's ``should_prune``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from objectives import EpochReport, PruneDecision, ShouldPrune

from ._bound import BoundPruner
from ._evidence import Evidence
from ._rungs import RungPruner


class Pruner(Protocol):
    """Decides from one epoch report and the evidence whether a trial stops."""

    @property
    def name(self) -> str: ...

    @property
    def grid_factor(self) -> float | None:
        """The rung grid its evidence must be built on (None: it reads no rung records)."""
        ...

    def decide(self, report: EpochReport, evidence: Evidence) -> PruneDecision | None: ...


PRUNER_NAMES = ("none", "bound", "asha")
DEFAULT_PRUNER = "asha"


def make_pruner(name: str, ceiling: float = 1.0) -> Pruner | None:
    """The pruner called ``name`` (None for "none"), with the accuracy ``ceiling``.

    Raises:
        ValueError: Unknown name, or a ceiling outside (0, 1].
    """
    if name == "none":
        return None
    if name == "bound":
        return BoundPruner(ceiling=ceiling)
    if name == "asha":
        return RungPruner(bound=BoundPruner(ceiling=ceiling))
    raise ValueError(f"unknown pruner {name!r}: use one of {', '.join(PRUNER_NAMES)}")


def should_prune(pruner: Pruner, evidence: Callable[[], Evidence | None]) -> ShouldPrune:
    """The objective protocol's ``should_prune`` for one trial: each report is decided from
    the evidence ``evidence()`` returns then (None, e.g. during an outage: never prune)."""

    def decide(report: EpochReport) -> PruneDecision | None:
        current = evidence()
        return None if current is None else pruner.decide(report, current)

    return decide
