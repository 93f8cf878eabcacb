"""How long a trial will train in all, projected from its epochs so far.

Per-epoch time is steady (the same steps over the same data), and what disturbs it (other
processes, preemption, a cold cache) adds time rather than removing it. So the fastest epoch
so far is the estimate of an undisturbed epoch, and the epochs left are projected to take at
least ``1 - margin`` of it each. How small that factor must be was measured on `digits` on a
loaded machine (see `BoundPruner`).
"""

from __future__ import annotations

from objectives import EpochReport


def epoch_seconds(report: EpochReport) -> list[float]:
    """Each reported epoch's own training seconds."""
    cumulative = report.train_seconds_at_epoch
    return [after - before for before, after in zip((0.0, *cumulative), cumulative, strict=False)]


def projected_seconds(report: EpochReport, margin: float = 0.0) -> float:
    """The trial's training seconds at its last planned epoch, with each epoch left taking
    ``1 - margin`` of the fastest epoch so far (``margin`` 1: the seconds so far, a bound that
    holds however fast the epochs left are)."""
    epochs_left = max(report.epochs_planned - report.epoch, 0)
    fastest = min(epoch_seconds(report), default=0.0)
    return report.train_seconds + epochs_left * (1.0 - margin) * max(fastest, 0.0)
