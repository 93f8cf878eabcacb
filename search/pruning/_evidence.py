"""What pruners decide from: the experiment's incumbent and its rung records, as of one read.

Both are a pure function of the finished trials' results (`evidence_from_results`), pruned
ones included: every result keeps its curve (``val_accuracy_per_epoch``) and the training
seconds at each epoch (``train_seconds_at_epoch``). So one process and a farm decide alike:
on a farm the evidence is computed from the same results, only later by the time it takes to
reach the workers. A running trial's rung values count once it finishes.

Rungs are measured in training seconds, not epochs, on a geometric grid (a rung at every
power of ``grid_factor`` seconds, at any time scale): a trial records, at each rung it
crosses, its projected score so far (its accuracy over its projected final seconds).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from objectives import EpochReport

from ._projection import projected_seconds


@dataclasses.dataclass(frozen=True)
class Evidence:
    """The incumbent and the rung records, as of one read.

    Attributes:
        incumbent: The best score (accuracy per second) of a trial that trained to its end,
            or None before any did. A stale one is lower, so the bound prunes less.
        rung_values: Rung index k (the rung at ``grid_factor ** k`` seconds) -> the projected
            scores recorded there, highest first.
        grid_factor: The rungs' spacing, a ratio of seconds (None: no rung records).
        finished: How many finished trials it summarises.
    """

    incumbent: float | None = None
    rung_values: Mapping[int, tuple[float, ...]] = dataclasses.field(default_factory=dict)
    grid_factor: float | None = None
    finished: int = 0

    def to_document(self) -> dict[str, Any]:
        """Plain data for the store (MongoDB keys are strings)."""
        return {
            "incumbent": self.incumbent,
            "rung_values": {str(k): list(values) for k, values in self.rung_values.items()},
            "grid_factor": self.grid_factor,
            "finished": self.finished,
        }

    @classmethod
    def from_document(cls, document: Mapping[str, Any]) -> Evidence:
        """The evidence a store document holds.

        Raises:
            ValueError: The document is not one `to_document` wrote.
        """
        try:
            incumbent = document["incumbent"]
            rung_values = {
                int(k): tuple(sorted((float(v) for v in values), reverse=True))
                for k, values in document["rung_values"].items()
            }
            grid_factor = document["grid_factor"]
            return cls(
                incumbent=None if incumbent is None else float(incumbent),
                rung_values=rung_values,
                grid_factor=None if grid_factor is None else float(grid_factor),
                finished=int(document["finished"]),
            )
        except (KeyError, TypeError, ValueError, AttributeError) as error:
            raise ValueError(f"not a pruning evidence document: {error}") from error


NO_EVIDENCE = Evidence()


def rung_index(seconds: float, grid_factor: float) -> int:
    """The highest rung at or below ``seconds`` (> 0)."""
    return math.floor(math.log(seconds) / math.log(grid_factor))


def rung_crossed(report: EpochReport, grid_factor: float) -> int | None:
    """The highest rung this epoch crossed (None if it crossed none since the previous one)."""
    seconds = report.train_seconds
    if seconds <= 0.0:
        return None
    k = rung_index(seconds, grid_factor)
    previous = report.train_seconds_at_epoch[-2] if report.epoch > 1 else 0.0
    if previous > 0.0 and rung_index(previous, grid_factor) >= k:
        return None
    return k


def projected_score(report: EpochReport) -> float:
    """Accuracy per second if the accuracy stayed where it is and the epochs left ran at the
    fastest epoch's pace: what a trial records at a rung."""
    return report.val_accuracy / max(projected_seconds(report), 1e-12)


def reports_of(result: Mapping[str, Any]) -> list[EpochReport]:
    """The epoch reports a finished trial's result replays (none without a full record)."""
    curve = result.get("val_accuracy_per_epoch") or []
    seconds = result.get("train_seconds_at_epoch") or []
    planned = result.get("epochs_planned", result.get("epochs"))
    if (len(curve) != len(seconds) or not isinstance(planned, int)
            or any(not isinstance(value, int | float) for value in curve)):
        return []
    return [
        EpochReport(epoch, planned, float(seconds[epoch - 1]), tuple(curve[:epoch]),
                    tuple(seconds[:epoch]))
        for epoch in range(1, len(curve) + 1)
    ]


def trial_score(result: Mapping[str, Any]) -> float | None:
    """The score of a trial that trained to its end (None if pruned, failed or unscored)."""
    loss = result.get("loss")
    if (result.get("status") != "ok" or result.get("pruned")
            or not isinstance(loss, int | float) or not math.isfinite(loss) or loss >= 0.0):
        return None
    return -float(loss)


def evidence_from_results(
    results: Iterable[Mapping[str, Any]], grid_factor: float | None
) -> Evidence:
    """The evidence the finished trials' ``results`` hold (pruned ones included; failed ones
    give no rung records). The same results give the same evidence, in any order."""
    scores: list[float] = []
    rung_values: dict[int, list[float]] = {}
    finished = 0
    for result in results:
        if result.get("status") != "ok":
            continue
        finished += 1
        score = trial_score(result)
        if score is not None:
            scores.append(score)
        if grid_factor is not None:
            for report in reports_of(result):
                k = rung_crossed(report, grid_factor)
                if k is not None:
                    rung_values.setdefault(k, []).append(projected_score(report))
    return Evidence(
        incumbent=max(scores, default=None),
        rung_values={k: _descending(values) for k, values in rung_values.items()},
        grid_factor=grid_factor,
        finished=finished,
    )


def _descending(values: Sequence[float]) -> tuple[float, ...]:
    return tuple(sorted(values, reverse=True))
