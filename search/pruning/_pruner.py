"""The pruners by name, and the bridge to the objective protocol's ``should_prune``."""

from __future__ import annotations

import dataclasses
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


@dataclasses.dataclass(frozen=True)
class PrunerKind:
    """A named pruner: what `--pruner NAME` records, says in `--help`, and builds."""

    name: str
    description: str
    # (ceiling, min_accuracy) -> the pruner; None runs every trial to its end
    build: Callable[[float, float], Pruner | None]


PRUNERS = {kind.name: kind for kind in (
    PrunerKind("none", "every trial runs to its end", lambda ceiling, floor: None),
    PrunerKind("bound", "exact: its accuracy-per-second bound fell below the best",
               lambda ceiling, floor: BoundPruner(ceiling=ceiling)),
    PrunerKind("asha", "the bound, then rungs in training seconds",
               lambda ceiling, floor: RungPruner(bound=BoundPruner(ceiling=ceiling),
                                                 grid=RungGrid(min_accuracy=floor))),
    PrunerKind("curve", "the bound, then finished trials' learning curves",
               lambda ceiling, floor: CurvePruner(bound=BoundPruner(ceiling=ceiling),
                                                  min_accuracy=floor)),
)}
PRUNER_NAMES = tuple(PRUNERS)
DEFAULT_PRUNER = "curve"  # chosen on benchmarks/pruning.py's tuning half (RESULTS.md)


def make_pruner(name: str, ceiling: float = 1.0, min_accuracy: float = 0.0) -> Pruner | None:
    """The pruner called ``name`` (None for "none"), for an experiment whose accuracy can reach
    at most ``ceiling`` and whose floor is ``min_accuracy``.

    Raises:
        ValueError: Unknown name, or a ceiling or floor out of range.
    """
    if name not in PRUNERS:
        raise ValueError(f"unknown pruner {name!r}: use one of {', '.join(PRUNER_NAMES)}")
    return PRUNERS[name].build(ceiling, min_accuracy)


def should_prune(pruner: Pruner, evidence: Callable[[], Evidence | None]) -> ShouldPrune:
    """The objective protocol's ``should_prune`` for one trial: each report is decided from
    the evidence ``evidence()`` returns then (None, e.g. during an outage: never prune)."""

    def decide(report: EpochReport) -> PruneDecision | None:
        current = evidence()
        return None if current is None else pruner.decide(report, current)

    return decide
