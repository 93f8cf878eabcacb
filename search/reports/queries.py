"""Questions asked of a store: the best configurations, the Pareto front, the status.

Pure functions over `Trial` views, so every command answers the same on both stores. The best
and the front are of configurations, every run of the same hyperparameters pooled
(`search.configurations`): a lucky single run does not head them.
"""

from __future__ import annotations

import dataclasses
import datetime
import heapq
import math
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Protocol, TypeVar

from search.configurations import Configuration, configuration_columns, pool, rank
from search.documents import CANCELLED
from search.experiment import Experiment
from search.store import LateResult, Store, StoreError, WorkerStatus
from search.trial import TRIAL_FIELDS, Trial, trials_of

SORT_KEYS = ("score", "accuracy", "time")
STATES = ("queued", "running", "ok", "pruned", "failed")  # as search.documents.trial_state
# What `trials --state` selects: a cancelled job (only another program writes one) too.
SELECTABLE_STATES = (*STATES, CANCELLED)
FINISHED = ("ok", "pruned", "failed")  # the states that count toward max_evals


def finished_count(counts: dict[str, int]) -> int:
    """How many trials finished, from `count_by_state`'s counts."""
    return sum(counts.get(state, 0) for state in FINISHED)


def spent_train_seconds(trials: Iterable[Trial]) -> float:
    """The training seconds the finished trials spent, pruned and failed ones included: what
    `max_train_seconds` budgets."""
    return math.fsum(trial.train_seconds for trial in trials
                     if trial.state in FINISHED and trial.train_seconds is not None
                     and math.isfinite(trial.train_seconds))


def trials_left(experiment: Experiment, counts: dict[str, int], train_seconds: float) -> int:
    """How many more trials the search finishes, from `count_by_state`'s counts: those up to
    its `max_evals`; once its budget of training seconds is spent, only those queued or
    running then (a farm lets them finish; a stopped embedded search runs none)."""
    finished = finished_count(counts)
    left = max(0, (experiment.max_evals or finished) - finished)
    budget = experiment.max_train_seconds
    if budget is not None and train_seconds >= budget:
        return min(left, counts.get("queued", 0) + counts.get("running", 0))
    return left


def select_trials(trials: Iterable[Trial], states: Sequence[str] = ()) -> list[Trial]:
    """Trials in any of `states` (see STATES), or all of them."""
    return [trial for trial in trials if not states or trial.state in states]


def best_configurations(trials: Iterable[Trial], n: int, floor: float, *,
                        min_accuracy: float | None = None, sort: str = "score",
                        include_pruned: bool = False) -> list[Configuration]:
    """The `n` best configurations of an experiment whose accuracy floor is `floor`.

    By score, the ranking of the evidence: mean accuracy per mean second, discounted by how
    little the runs show (the lower confidence bound), configurations whose mean accuracy is
    below the floor last. By accuracy or training time: their means. `min_accuracy` keeps
    configurations whose mean accuracy reaches it. Pruned runs are left out unless
    `include_pruned`: their accuracy and seconds are those of a run stopped early, not of the
    configuration trained as asked.

    Raises:
        ValueError: `n` is not a whole number of at least 0, `min_accuracy` is not a fraction
            in [0, 1], or `sort` is unknown.
    """
    if isinstance(n, bool) or not isinstance(n, int) or n < 0:
        raise ValueError(f"n counts the configurations to return: a whole number of at least 0, "
                         f"not {n!r}")
    if min_accuracy is not None and (isinstance(min_accuracy, bool)
                                     or not isinstance(min_accuracy, int | float)
                                     or not 0 <= min_accuracy <= 1):
        raise ValueError(f"min_accuracy keeps configurations at least that accurate: a fraction "
                         f"in [0, 1], or None, not {min_accuracy!r}")
    if sort not in SORT_KEYS:
        raise ValueError(f"unknown sort {sort!r}; choose one of {', '.join(SORT_KEYS)}")
    pooled = pool(trials, floor, include_pruned=include_pruned)
    configurations = [configuration for configuration in pooled
                      if configuration.is_scored and (
                          min_accuracy is None or _accuracy(configuration) >= min_accuracy)]
    if sort == "score":
        return rank(configurations)[:n]
    keys: dict[str, Callable[[Configuration], tuple[float, ...]]] = {
        "accuracy": lambda configuration: (-_accuracy(configuration),
                                           _seconds(configuration), configuration.tid),
        "time": lambda configuration: (_seconds(configuration),
                                       -_accuracy(configuration), configuration.tid),
    }
    return sorted(configurations, key=keys[sort])[:n]


def configuration_rows(trials: Iterable[Trial], floor: float, *,
                       include_pruned: bool = False) -> list[dict[str, Any]]:
    """Every configuration of an experiment as one flat row (`hpsearch export --by
    configuration`).

    The scored ones first, ranked as `best_configurations` ranks them by score (`rank` 1, 2,
    ...), then those without a score yet (every run failed, queued or running; `rank` None)
    in the order of their first run. Each row is `Configuration.row()` (the runs, their means
    and spreads, the pooled score and its lower bound, below the floor by mean accuracy,
    every hyperparameter, the `tids` of the runs) with the spread of the runs' own scores,
    the runs still pending, and `pruned` (every scored run was stopped early: only with
    `include_pruned`, which pools pruned runs too).
    """
    trials = list(trials)
    pooled = pool(trials, floor, include_pruned=include_pruned)
    ranked = rank(pooled)
    unscored = [configuration for configuration in pooled if not configuration.is_scored]
    # Configurations whose every run was pruned have no score of their own, but are listed.
    kept = {configuration.key for configuration in pooled}
    only_pruned = [] if include_pruned else [
        configuration for configuration in pool(trials, floor, include_pruned=True)
        if configuration.key not in kept]
    listed = [*((index + 1, configuration) for index, configuration in enumerate(ranked)),
              *((None, configuration) for configuration in [*unscored, *only_pruned])]
    return [{"rank": position, **configuration.row(taken=_RANKED_EXTRA,
                                                   pruned_runs=include_pruned),
             "score_spread": configuration.score_spread, "pending": configuration.pending,
             "pruned": configuration.pruned or configuration.key not in kept}
            for position, configuration in listed]


_RANKED_EXTRA = ("rank", "score_spread", "pending", "pruned")


def configuration_row_columns() -> list[str]:
    """The columns of `configuration_rows`, hyperparameters aside (an empty export's)."""
    return [_RANKED_EXTRA[0], *configuration_columns(), *_RANKED_EXTRA[1:]]


def count_by_state(trials: Iterable[Trial]) -> dict[str, int]:
    """Trials per user-facing state; every state of STATES is present."""
    counts = dict.fromkeys(STATES, 0)
    for trial in trials:
        counts[trial.state] = counts.get(trial.state, 0) + 1
    return counts


class _Point(Protocol):
    """A trial or a configuration, as the Pareto front sees it."""

    @property
    def tid(self) -> int: ...
    @property
    def is_scored(self) -> bool: ...
    @property
    def below_floor(self) -> bool: ...
    @property
    def accuracy(self) -> float | None: ...
    @property
    def train_seconds(self) -> float | None: ...
    @property
    def pruned(self) -> bool: ...


_PointT = TypeVar("_PointT", bound=_Point)


def pareto_front(points: Iterable[_PointT], *, below_floor: bool = False,
                 include_pruned: bool = False) -> list[_PointT]:
    """Scored trials (or configurations, by their means) that no other beats on both accuracy
    and training time.

    A point is dominated when another is at least as accurate and at least as fast, and
    strictly better in one. Failed and unfinished trials never appear, and those below the
    accuracy floor only when `below_floor` asks for them: a model that learnt nothing is not a
    trade-off anyone wants. Pruned trials only when `include_pruned` asks for them (see
    `best_configurations`). Sorted by time.
    """
    candidates = [point for point in points
                  if point.is_scored and (below_floor or not point.below_floor)
                  and (include_pruned or not point.pruned)]
    candidates.sort(key=lambda point: (_seconds(point), -_accuracy(point), point.tid))
    front: list[_PointT] = []
    best_accuracy = float("-inf")
    for point in candidates:
        accuracy, seconds = _accuracy(point), _seconds(point)
        if accuracy > best_accuracy:
            front.append(point)
            best_accuracy = accuracy
        elif front and accuracy == best_accuracy and seconds == _seconds(front[-1]):
            front.append(point)  # an exact tie with a front member is not dominated either
    return front


def configuration_front(trials: Iterable[Trial], floor: float, *, below_floor: bool = False,
                        include_pruned: bool = False) -> list[Configuration]:
    """The Pareto front of the configurations (mean accuracy, mean training time), below
    the floor by mean accuracy; pruned runs only if `include_pruned`."""
    return pareto_front(pool(trials, floor, include_pruned=include_pruned),
                        below_floor=below_floor, include_pruned=include_pruned)


def _accuracy(point: _Point) -> float:
    assert point.accuracy is not None, "only scored points are ranked"
    return point.accuracy


def _seconds(point: _Point) -> float:
    assert point.train_seconds is not None, "only scored points are ranked"
    return point.train_seconds


@dataclasses.dataclass(frozen=True)
class ExperimentStatus:
    exp_key: str
    objective: str
    space: str
    counts: dict[str, int]
    max_evals: int | None
    train_seconds: float  # spent by the finished trials
    max_train_seconds: float | None  # the budget of training seconds, if any
    best: Configuration | None  # by the evidence: every run of its params pooled
    trials_per_minute: float | None
    seconds_left: float | None
    workers: list[WorkerStatus]
    stale_after: float  # the experiment's: a worker silent this long is shown as lost
    late_results: int
    read_at: datetime.datetime  # the store's time (Store.now) when read: workers age to it


def experiment_status(store: Store, exp_key: str) -> ExperimentStatus:
    """Counts by state, the best trial, the pace, and the workers serving the experiment."""
    experiment = store.experiment(exp_key)
    if experiment is None:
        raise unknown_experiment(store, exp_key)
    trials = trials_of(store.jobs(exp_key, fields=TRIAL_FIELDS))
    workers = [w for w in store.workers() if w.serves_experiment(exp_key)]
    # Times in a store are by its clock, which may not be this machine's: read after the
    # workers, so that their ages are not negative.
    now = store.now()
    counts = count_by_state(trials)
    rate, seconds_left = time_left(experiment, trials, counts, now)
    return ExperimentStatus(
        exp_key=exp_key,
        objective=experiment.objective,
        space=space_name(experiment.space),
        counts=counts,
        max_evals=experiment.max_evals,
        train_seconds=spent_train_seconds(trials),
        max_train_seconds=experiment.max_train_seconds,
        best=next(iter(best_configurations(trials, 1, experiment.min_accuracy)), None),
        trials_per_minute=rate,
        seconds_left=seconds_left,
        workers=workers,
        stale_after=experiment.policy.stale_after,
        late_results=len(store.late_results(exp_key)),
        read_at=now,
    )


def pace(trials: Iterable[Trial], remaining: int, now: datetime.datetime,
         budget_left: float | None = None) -> tuple[float | None, float | None]:
    """Trials finished per minute, and the seconds left at that pace for `remaining` trials;
    with `budget_left` (training seconds left of a budget), at most the time the recent
    trials' pace of training takes to spend it. (A search's own progress bar takes the
    sooner of the two as well, but at its run's average pace: it sees only its own run.)
    `now` is the time by the store's clock (Store.now), which the finish times are on.

    The rate is that of the last (up to) 20 trials, which follows workers coming and going
    better than the average since the start. While trials remain, a farm gone quiet slows it:
    the time since the last finish counts once it is longer than the usual gap between two,
    so a stalled search shows its pace falling instead of its last one.
    """
    recent = sorted(heapq.nlargest(20, (trial for trial in trials if trial.finished is not None),
                                   key=_finished), key=_finished)
    if len(recent) < 2:
        return None, (0.0 if not remaining else None)
    span = (_finished(recent[-1]) - _finished(recent[0])).total_seconds()
    if remaining:
        gap = span / (len(recent) - 1)
        span = max(span, (now - _finished(recent[0])).total_seconds() - gap)
    if span <= 0:
        return None, (0.0 if not remaining else None)
    rate = (len(recent) - 1) / span * 60
    left = remaining / rate * 60
    trained = spent_train_seconds(recent[1:])  # in the span, as the rate counts its trials
    if remaining and budget_left is not None and trained > 0:
        left = min(left, budget_left / trained * span)
    return rate, left


def time_left(experiment: Experiment, trials: Sequence[Trial], counts: dict[str, int],
              now: datetime.datetime) -> tuple[float | None, float | None]:
    """The pace and the time left (see `pace`) to the experiment's `max_evals`, or to its
    budget of training seconds where that comes first (spent, to the trials it still
    finishes: see `trials_left`)."""
    spent = spent_train_seconds(trials)
    budget = experiment.max_train_seconds
    return pace(trials, trials_left(experiment, counts, spent), now,
                None if budget is None or spent >= budget else budget - spent)


def _finished(trial: Trial) -> datetime.datetime:
    assert trial.finished is not None
    return trial.finished


LATE_RESULT_COLUMNS = ("tid", "attempt", "worker", "status", "reason", "accuracy",
                       "train_seconds", "arrived")


def late_result_row(late: LateResult) -> dict[str, Any]:
    """A late result as a row of `hpsearch trials --late`, in LATE_RESULT_COLUMNS."""
    result = late.result
    return dict(zip(LATE_RESULT_COLUMNS, (
        late.tid, late.attempt, late.worker, result.get("status"), result.get("reason"),
        result.get("accuracy"), result.get("train_seconds"),
        late.arrived.isoformat(timespec="seconds")), strict=True))


def space_name(record: dict[str, Any]) -> str:
    return record.get("builtin") or record.get("file") or "?"


def unknown_experiment(store: Store, exp_key: str) -> StoreError:
    if store.absent:
        return StoreError(store.absent)
    known = [experiment.exp_key for experiment in store.experiments()]
    listing = ", ".join(known) if known else "none yet"
    return StoreError(f"no experiment {exp_key!r} in {store.location} (experiments: {listing})")
