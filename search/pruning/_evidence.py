"""What pruners decide from: the experiment's incumbent, its rung records and its finished
learning curves, as of one read.

Both are a pure function of the finished trials' results (`evidence_from_results`), pruned
ones included: every result keeps its curve (``val_accuracy_per_epoch``) and the training
seconds at each epoch (``train_seconds_at_epoch``). So one process and a farm decide alike:
on a farm the evidence is computed from the same results, only later by the time it takes to
reach the workers. A running trial's rung values count once it finishes.

Rungs are measured in training seconds, not epochs, on a geometric grid (a rung at every
power of the grid's factor in seconds, at any time scale): a trial records, at each rung it
crosses, its projected score so far (what it would score if its accuracy stayed where it is).

Finished curves are the learning curves of the trials that trained to their end, each as its
accuracy after every twentieth of its planned epochs (`binned_curve`), so curves of trials
with different epochs compare at the same stage of training.
"""

from __future__ import annotations

import bisect
import contextlib
import dataclasses
import math
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from objectives import EpochReport
from search.documents import finite_number
from search.means import pooled_mean

from ._projection import projected_seconds, speedup_ratio

MIN_EPOCHS = 2  # one epoch alone is no rate: the first may carry a cold cache or set-up

STAGES = 20  # curves are compared after each twentieth of the planned epochs


def stage_epoch(stage: int, epochs_planned: int) -> int:
    """The epoch that ends stage ``stage`` (0 to 19) of a trial's planned epochs."""
    return max(1, -(-(stage + 1) * epochs_planned // STAGES))


def binned_curve(curve: tuple[float, ...], epochs_planned: int) -> tuple[float, ...]:
    """The accuracy after each stage reached so far (all ``STAGES`` once trained to its end)."""
    return tuple(curve[stage_epoch(stage, epochs_planned) - 1] for stage in range(STAGES)
                 if stage_epoch(stage, epochs_planned) <= len(curve))


@dataclasses.dataclass(frozen=True)
class RungGrid:
    """Where rung records are taken, and how a value is scored there.

    Attributes:
        factor: The ratio of one rung's seconds to the previous one's (rung k at
            ``factor ** k`` seconds).
        min_accuracy: The experiment's accuracy floor: a value below it records as 0, the
            score the trial would get if its accuracy stayed there.
    """

    factor: float = 2.0
    min_accuracy: float = 0.0

    def __post_init__(self) -> None:
        if self.factor <= 1.0 or not 0.0 <= self.min_accuracy <= 1.0:
            raise ValueError(f"invalid rung grid: {self}")

    def rung(self, seconds: float) -> int:
        """The highest rung at or below ``seconds`` (> 0)."""
        return math.floor(math.log(seconds) / math.log(self.factor))

    def crossed(self, report: EpochReport) -> int | None:
        """The highest rung this epoch crossed (None if none since the previous epoch)."""
        seconds = report.train_seconds
        if seconds <= 0.0:
            return None
        k = self.rung(seconds)
        previous = report.train_seconds_at_epoch[-2] if report.epoch > 1 else 0.0
        if previous > 0.0 and self.rung(previous) >= k:
            return None
        return k

    def value(self, report: EpochReport) -> float:
        """What a trial records at a rung: its projected score, 0 below the floor."""
        if report.val_accuracy < self.min_accuracy:
            return 0.0
        return projected_score(report)


@dataclasses.dataclass(frozen=True)
class Evidence:
    """The incumbent and the rung records, as of one read.

    Attributes:
        incumbent: The best pooled score (accuracy per second) of a configuration, over the
            runs that trained to their end, or None before any did (`EvidenceBuilder`). A
            stale one is lower, so the bound prunes less, save in the moment after a repeat
            showed the leader lucky.
        rung_values: Rung index k -> the values recorded there, highest first.
        grid: The grid they were recorded on (None: no rung records).
        curves: The `binned_curve` of each trial that trained to its end.
        speedup: The least `speedup_ratio` of the trials that trained to their end: how much
            faster than their fastest epoch so far their epochs left ever ran (None: none yet).
        timed: How many finished trials measured it.
        finished: How many finished trials it summarises.
    """

    incumbent: float | None = None
    rung_values: Mapping[int, tuple[float, ...]] = dataclasses.field(default_factory=dict)
    grid: RungGrid | None = None
    curves: tuple[tuple[float, ...], ...] = ()
    speedup: float | None = None
    timed: int = 0
    finished: int = 0

    def to_document(self) -> dict[str, Any]:
        """Plain data for the store (MongoDB keys are strings)."""
        return {
            "incumbent": self.incumbent,
            "rung_values": {str(k): list(values) for k, values in self.rung_values.items()},
            "grid": dataclasses.asdict(self.grid) if self.grid is not None else None,
            "curves": [list(curve) for curve in self.curves],
            "speedup": self.speedup,
            "timed": self.timed,
            "finished": self.finished,
        }

    @classmethod
    def from_document(cls, document: Mapping[str, Any]) -> Evidence:
        """The evidence a store document holds.

        Raises:
            ValueError: The document is not one `to_document` wrote.
        """
        with _reading("pruning evidence"):
            grid = document["grid"]
            return cls(
                incumbent=_optional_float(document["incumbent"]),
                rung_values=_descending_lists(document["rung_values"]),
                grid=None if grid is None else RungGrid(float(grid["factor"]),
                                                        float(grid["min_accuracy"])),
                curves=tuple(tuple(float(v) for v in curve) for curve in document["curves"]),
                speedup=_optional_float(document["speedup"]),
                timed=int(document["timed"]),
                finished=int(document["finished"]),
            )


NO_EVIDENCE = Evidence()


@contextlib.contextmanager
def _reading(kind: str) -> Iterator[None]:
    """Turn whatever a malformed document raises into one ValueError naming what it is not."""
    try:
        yield
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        raise ValueError(f"not a {kind} document: {error!r}") from error


def _optional_float(value: Any) -> float | None:
    return None if value is None else float(value)


def _descending_lists(lists: Mapping[str, Any]) -> dict[int, tuple[float, ...]]:
    return {int(key): tuple(sorted((float(v) for v in values), reverse=True))
            for key, values in lists.items()}


def projected_score(report: EpochReport) -> float:
    """Accuracy per second if the accuracy stayed where it is and the epochs left ran at the
    fastest epoch's pace."""
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


def pruned_estimate(result: Mapping[str, Any]) -> float | None:
    """What a pruned trial is taken to score: its projected score when it stopped (its last
    accuracy over its projected final seconds), near what it would have recorded had it
    trained on, and below what it needed to win. None for a trial not pruned, or without its
    partial curve."""
    reports = reports_of(result) if result.get("pruned") else []
    return projected_score(reports[-1]) if reports else None


def trial_score(result: Mapping[str, Any]) -> float | None:
    """The score of a trial that trained to its end (None if pruned, failed or unscored)."""
    loss = finite_number(result.get("loss"))
    if result.get("status") != "ok" or result.get("pruned") or loss is None or loss >= 0.0:
        return None
    return -float(loss)


@dataclasses.dataclass(frozen=True)
class TrialEvidence:
    """What one finished trial adds to the evidence: a record that never changes, so a farm
    can store records once and every reader folds them alike.

    Attributes:
        score: Its score if it trained to its end and scored (it may be the incumbent).
        rung_values: (rung index, value) for each rung it crossed.
        curve: Its `binned_curve` if it trained to its end, else None.
        speedup: Its `speedup_ratio` if it trained to its end, else None.
        configuration: The key of its hyperparameters, whose runs are pooled for the
            incumbent; None: a configuration of its own.
        run: (accuracy, training seconds) if it trained to its end, for that pooling.
    """

    score: float | None
    rung_values: tuple[tuple[int, float], ...]
    curve: tuple[float, ...] | None
    speedup: float | None = None
    configuration: str | None = None
    run: tuple[float, float] | None = None

    def to_document(self) -> dict[str, Any]:
        """Plain data for the store."""
        return {"score": self.score, "rung_values": [list(pair) for pair in self.rung_values],
                "curve": None if self.curve is None else list(self.curve),
                "speedup": self.speedup, "configuration": self.configuration,
                "run": None if self.run is None else list(self.run)}

    @classmethod
    def from_document(cls, document: Mapping[str, Any]) -> TrialEvidence:
        """The record a store document holds.

        Raises:
            ValueError: The document is not one `to_document` wrote.
        """
        with _reading("trial evidence"):
            curve, run = document["curve"], document.get("run")
            configuration = document.get("configuration")
            return cls(
                score=_optional_float(document["score"]),
                rung_values=tuple((int(k), float(v)) for k, v in document["rung_values"]),
                curve=None if curve is None else tuple(float(v) for v in curve),
                speedup=_optional_float(document["speedup"]),
                configuration=None if configuration is None else str(configuration),
                run=None if run is None else (float(run[0]), float(run[1])),
            )


def trial_evidence(result: Mapping[str, Any], grid: RungGrid | None,
                   configuration: str | None = None) -> TrialEvidence | None:
    """The record a finished trial's result adds (None for a failed trial: it adds none);
    ``configuration`` keys its hyperparameters, so that its runs pool (None: it is alone)."""
    if result.get("status") != "ok":
        return None
    reports = reports_of(result)
    rung_values = []
    if grid is not None:
        for report in reports:
            k = grid.crossed(report)
            if k is not None:
                rung_values.append((k, grid.value(report)))
    curve = speedup = None
    if reports and not result.get("pruned") and len(reports) == reports[-1].epochs_planned:
        last = reports[-1]
        curve = binned_curve(last.val_accuracy_per_epoch, last.epochs_planned)
        speedup = speedup_ratio(last.train_seconds_at_epoch, MIN_EPOCHS)
    return TrialEvidence(trial_score(result), tuple(rung_values), curve, speedup,
                         configuration, _full_run(result))


def _full_run(result: Mapping[str, Any]) -> tuple[float, float] | None:
    """(accuracy, training seconds) of a run that trained to its end, else None."""
    accuracy = finite_number(result.get("accuracy"))
    seconds = finite_number(result.get("train_seconds"))
    if result.get("pruned") or accuracy is None or seconds is None or seconds <= 0.0:
        return None
    return float(accuracy), float(seconds)


class EvidenceBuilder:
    """Evidence kept up to date one finished trial at a time (results are final, so each is
    added once), for a driver or a benchmark that sees results arrive, or a worker folding
    the records a driver stored.

    The incumbent pools the runs of one configuration as `hpsearch best` does: mean accuracy
    over mean seconds, none when the mean accuracy is below ``min_accuracy``. So once a
    confirmation run shows the leader's first run lucky, trials are judged against what the
    leader holds up to, not against its luckiest draw. Without repeats it is the best score.
    """

    def __init__(self, grid: RungGrid | None, min_accuracy: float = 0.0) -> None:
        self.grid = grid
        self._min_accuracy = min_accuracy
        self._alone: float | None = None  # the best score of runs with no configuration key
        self._runs: dict[str, list[tuple[float, float]]] = {}  # key -> (accuracy, seconds)
        self._pooled: dict[str, float] = {}  # key -> pooled score, if above the floor
        self._rung_values: dict[int, list[float]] = {}  # ascending
        self._curves: list[tuple[float, ...]] = []
        self._speedup: float | None = None
        self._timed = 0
        self._finished = 0
        self._evidence: Evidence | None = None

    def add(self, result: Mapping[str, Any], configuration: str | None = None) -> None:
        """Count one finished trial's result (failed ones give no evidence); runs with the
        same ``configuration`` key pool for the incumbent."""
        record = trial_evidence(result, self.grid, configuration)
        if record is not None:
            self.add_record(record)

    def add_record(self, record: TrialEvidence) -> None:
        """Count one finished trial's record (built on this builder's grid)."""
        self._finished += 1
        self._evidence = None
        if record.configuration is not None and record.run is not None:
            runs = self._runs.setdefault(record.configuration, [])
            runs.append(record.run)
            self._pool(record.configuration, runs)
        elif record.score is not None and (self._alone is None or record.score > self._alone):
            self._alone = record.score
        for k, value in record.rung_values:
            bisect.insort(self._rung_values.setdefault(k, []), value)
        if record.curve is not None:
            self._curves.append(record.curve)
        if record.speedup is not None:
            self._timed += 1
            self._speedup = min(record.speedup, self._speedup or record.speedup)

    def evidence(self) -> Evidence:
        """The evidence of every result added so far."""
        if self._evidence is None:
            self._evidence = Evidence(
                incumbent=self._incumbent(),
                rung_values={k: tuple(reversed(values)) for k, values in self._rung_values.items()},
                grid=self.grid,
                curves=tuple(sorted(self._curves)),
                speedup=self._speedup,
                timed=self._timed,
                finished=self._finished,
            )
        return self._evidence

    def _pool(self, key: str, runs: list[tuple[float, float]]) -> None:
        """Pool one configuration's runs again, its means taken as `best` takes them (equal
        runs mean exactly their value, on the floor's side each is on; any order alike)."""
        accuracy, seconds = (pooled_mean(column) for column in zip(*runs, strict=True))
        if accuracy > 0.0 and accuracy >= self._min_accuracy:
            self._pooled[key] = accuracy / seconds
        else:
            self._pooled.pop(key, None)

    def _incumbent(self) -> float | None:
        alone = () if self._alone is None else (self._alone,)
        return max((*self._pooled.values(), *alone), default=None)


def evidence_from_results(
    results: Iterable[Mapping[str, Any]], grid: RungGrid | None
) -> Evidence:
    """The evidence the finished trials' ``results`` hold (pruned ones included; failed ones
    give no rung records). The same results give the same evidence, in any order."""
    builder = EvidenceBuilder(grid)
    for result in results:
        builder.add(result)
    return builder.evidence()
