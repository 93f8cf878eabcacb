"""A trial as every report reads it: a typed view over one job document.

Job documents keep Hyperopt's `MongoTrials` schema, so existing tooling can read them; the
reports, the CLI and the Python API read them through this one view instead of spelling out
`job["result"]["train_seconds"]` by hand.
"""

from __future__ import annotations

import dataclasses
import datetime
import functools
import json
from collections.abc import Iterable, Mapping
from typing import Any

from search.documents import (
    JOB_STATE_NEW,
    JobDoc,
    finite_number,
    flatten,
    has_trial_identity,
    is_finished,
    is_int,
    param_columns,
    trial_state,
)

# What the view reads of a job document: the queries ask a store for no more.
TRIAL_FIELDS = ("tid", "state", "owner", "attempt", "book_time", "refresh_time", "misc.params",
                "misc.vals",  # where params are missing or empty (Trial.params)
                "result.status", "result.loss", "result.accuracy", "result.test_accuracy",
                "result.train_seconds",
                "result.below_accuracy_floor", "result.reason", "result.error", "result.error_type",
                "result.device",
                "result.worker", "result.pruned", "result.prune_reason", "repeat_of")


@dataclasses.dataclass(frozen=True)
class Trial:
    """One trial of an experiment.

    Attributes:
        tid: The trial's id, in the order it was proposed.
        state: `queued`, `running`, `ok`, `pruned` (stopped early by the experiment's pruner:
            finished, with the worst loss, its accuracy and seconds when it stopped) or
            `failed`.
        params: The hyperparameters as the objective received them (nested choices as dicts).
            A job Hyperopt itself wrote has no `misc.params`, and one whose params the
            database could not store has none: its `misc.vals` stand in, one value per
            active label.
        accuracy: Validation accuracy in [0, 1], which the score uses; None unless the trial
            finished `ok`.
        test_accuracy: Accuracy on a test split that chose nothing, for objectives that
            record one (the vision objectives); None otherwise.
        train_seconds: Training time; a failed trial may have one too.
        loss: `-accuracy / train_seconds`, 0.0 below the accuracy floor, None without a score.
        below_floor: The trial finished under the experiment's accuracy floor.
        reason: Why a failed trial failed (`diverged`, `exception`, `abandoned`, ...), or
            why a pruned one was stopped.
        error: The failure's message.
        error_type: The exception's type, for a failure that raised one.
        device: Where it trained.
        worker: The worker that ran it (or holds it).
        attempt: How many times the job was handed out before this attempt.
        started: When its current attempt was reserved.
        finished: When its result was stored.
        job: The underlying document, for anything else.
    """

    tid: int
    state: str
    params: dict[str, Any]
    accuracy: float | None
    test_accuracy: float | None
    train_seconds: float | None
    loss: float | None
    below_floor: bool
    reason: str | None
    error: str | None
    error_type: str | None
    device: str | None
    worker: str | None
    attempt: int
    started: datetime.datetime | None
    finished: datetime.datetime | None
    job: JobDoc = dataclasses.field(repr=False, compare=False)

    @functools.cached_property
    def configuration_key(self) -> str:
        """The canonical form of its params, as sorted JSON (floats written exactly, so a
        repeat that copies its original's values has its key and nothing else does): runs
        with equal keys are one configuration. Kept once made: pooling a growing history
        asks it of every trial again and again."""
        return json.dumps(self.params, sort_keys=True, separators=(",", ":"), default=str)

    @classmethod
    def from_job(cls, job: Mapping[str, Any]) -> Trial:
        state = trial_state(job)
        result: Mapping[str, Any] = job["result"] if isinstance(job.get("result"), Mapping) else {}
        misc: Mapping[str, Any] = job["misc"] if isinstance(job.get("misc"), Mapping) else {}
        scored = state in ("ok", "pruned")
        params = misc.get("params")
        return cls(
            tid=job["tid"],
            state=state,
            params=dict(params) if isinstance(params, Mapping) and params
            else _hyperopt_values(misc),
            accuracy=finite_number(result.get("accuracy")) if scored else None,
            test_accuracy=finite_number(result.get("test_accuracy")) if scored else None,
            train_seconds=finite_number(result.get("train_seconds")),
            loss=finite_number(result.get("loss")) if scored else None,
            below_floor=(bool(result.get("below_accuracy_floor"))
                         or (scored and result.get("loss") == 0)),
            reason=_text(result.get("prune_reason" if state == "pruned" else "reason")),
            error=_text(result.get("error")),
            error_type=_text(result.get("error_type")),
            device=_text(result.get("device")),
            worker=_text(result.get("worker")) or _text(job.get("owner")),
            attempt=job["attempt"] if is_int(job.get("attempt")) else 0,
            started=_time(job.get("book_time")),
            finished=_time(job.get("refresh_time")) if is_finished(job) else None,
            job=dict(job),
        )

    @property
    def score(self) -> float | None:
        """Accuracy per second of training (-loss); None for a trial without a score."""
        if self.loss is None:
            return None
        return 0.0 - self.loss  # not -loss: a floored trial scores 0.0, not -0.0

    @property
    def pruned(self) -> bool:
        """Stopped early by the experiment's pruner (its score is the worst, 0.0)."""
        return self.state == "pruned"

    @property
    def is_scored(self) -> bool:
        """Finished ok with an accuracy and a training time (below the floor included)."""
        return self.score is not None and self.accuracy is not None \
            and self.train_seconds is not None

    def columns(self) -> dict[str, Any]:
        """The hyperparameters as flat columns (`optimizer`, `optimizer/momentum`)."""
        return flatten(self.params)

    def row(self) -> dict[str, Any]:
        """One flat row: identity, outcome, every hyperparameter, provenance."""
        head = {
            "tid": self.tid,
            "state": self.state,
            "score": self.score,
            "accuracy": self.accuracy,
            "test_accuracy": self.test_accuracy,
            "train_seconds": self.train_seconds,
        }
        tail = {
            "reason": self.reason,
            "error": self.error,
            "error_type": self.error_type,
            "device": self.device,
            "worker": self.worker,
            "attempt": self.attempt,
            "repeat_of": self.job.get("repeat_of"),  # a confirmation run's original
            "started": self.started,
            "finished": self.finished,
        }
        return {**head, **param_columns(self.params, {*head, *tail}), **tail}


def trial_columns() -> list[str]:
    """The columns of every trial's row, hyperparameters aside: a table of no trials names
    them, so that a script reading the CSV finds its columns."""
    return list(Trial.from_job({"tid": 0, "state": JOB_STATE_NEW}).row())


def trials_of(jobs: Iterable[Mapping[str, Any]]) -> list[Trial]:
    """Trials for job documents, in tid order. A document without an int tid and state (which
    another program wrote into the database) is not a trial, and is left out."""
    return sorted((Trial.from_job(job) for job in jobs if has_trial_identity(job)),
                  key=lambda trial: trial.tid)


# Jobs reach the reports from a shared database, where another program may have written any
# value: one that is not what hpsearch writes reads as missing, so one bad document cannot
# take every query down (its trial shows, without the value).

def _hyperopt_values(misc: Mapping[str, Any]) -> dict[str, Any]:
    """`misc.vals` as one value per active label (Hyperopt writes `{label: [value]}`, `[]`
    for a label its choice left inactive)."""
    vals = misc.get("vals")
    if not isinstance(vals, Mapping):
        return {}
    return {label: values[0] for label, values in vals.items()
            if isinstance(label, str) and isinstance(values, list) and values}


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _time(value: Any) -> datetime.datetime | None:
    return value if isinstance(value, datetime.datetime) else None
