"""How long a trial will train in all, projected from its epochs so far.

Per-epoch time is steady (the same steps over the same data), and what disturbs it (other
processes, preemption, a cold cache) adds time rather than removing it. So the fastest epoch
so far is the estimate of an undisturbed epoch, and the epochs left are projected to take at
least ``1 - margin`` of it each. How small that factor must be is measured on the experiment's
own finished trials (`speedup_ratio`; see `BoundPruner`).
"""

from __future__ import annotations

from objectives import EpochReport


def epoch_seconds(report: EpochReport) -> list[float]:
    """Each reported epoch's own training seconds."""
    return epoch_seconds_of(report.train_seconds_at_epoch)


def epoch_seconds_of(cumulative: tuple[float, ...]) -> list[float]:
    """Each epoch's own seconds, from the training seconds when each was reported."""
    return [after - before for before, after in zip((0.0, *cumulative), cumulative, strict=False)]


def projected_seconds(report: EpochReport, margin: float = 0.0) -> float:
    """The trial's training seconds at its last planned epoch, with each epoch left taking
    ``1 - margin`` of the fastest epoch so far (``margin`` 1: the seconds so far, a bound that
    holds however fast the epochs left are)."""
    epochs_left = max(report.epochs_planned - report.epoch, 0)
    fastest = min(epoch_seconds(report), default=0.0)
    return report.train_seconds + epochs_left * (1.0 - margin) * max(fastest, 0.0)


def speedup_ratio(train_seconds_at_epoch: tuple[float, ...], from_epoch: int) -> float | None:
    """For a trial that trained to its end: the least, over the epochs e from ``from_epoch``
    on, of (seconds of the epochs after e) / (epochs after e x the fastest epoch up to e).
    Below 1 when its later epochs ran faster than its fastest epoch so far had been; None
    when it had no epoch to project from."""
    durations = epoch_seconds_of(train_seconds_at_epoch)
    total = train_seconds_at_epoch[-1] if train_seconds_at_epoch else 0.0
    ratios = []
    fastest = float("inf")
    for epoch in range(1, len(durations)):
        fastest = min(fastest, durations[epoch - 1])
        if epoch >= from_epoch and fastest > 0.0:
            left = len(durations) - epoch
            ratios.append((total - train_seconds_at_epoch[epoch - 1]) / (left * fastest))
    return min(ratios, default=None)
